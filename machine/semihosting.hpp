// Arm semihosting 2.0 for AArch64 guests (-semihosting): HLT #0xF000 with
// the operation in W0 and a parameter block at X1, the result in X0, as
// QEMU's "native" target gives it: the console on stderr (or a chardev),
// host files by path, the command line (-kernel and -append, or the
// config's arg= words), the heap/stack layout, the clocks, system(), and
// SYS_EXIT/SYS_EXIT_EXTENDED ending armvm with the guest's status. The
// newlib/picolibc runtimes of bare-metal programs rely on it.
//
// Calls come from vCPU threads (outside the guest, without the machine
// lock); the file table has its own lock.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace armvm {

class Cpu;

class Semihosting {
public:
    struct Config {
        std::string cmdline;         // what SYS_GET_CMDLINE gives
        uint64_t heap_base = 0, heap_limit = 0, stack_base = 0, stack_limit = 0;
        bool userspace = false;      // calls from EL0 too
        // The console (SYS_WRITE0/WRITEC, ":tt" for errors); null: stderr.
        std::function<void(const std::string&)> console;
        // SYS_EXIT: the machine ends with this status (called once).
        std::function<void(int status)> exit;
    };
    explicit Semihosting(Config cfg);
    ~Semihosting();
    Semihosting(const Semihosting&) = delete;
    Semihosting& operator=(const Semihosting&) = delete;

    // One call from `c` (HLT #0xF000); false leaves the HLT UNDEFINED
    // (a call from EL0 without userspace=on).
    bool call(Cpu& c);
    void set_heap(uint64_t base, uint64_t limit, uint64_t stack_base, uint64_t stack_limit);

private:
    int64_t dispatch(Cpu& c, uint32_t op, uint64_t arg, bool& fault);
    void out(const std::string& s);

    Config cfg_;
    std::mutex m_;
    struct File {
        int fd = -1;
        enum Kind { Host, Tty, Features } kind = Host;
        uint64_t pos = 0;  // (features: the read position)
    };
    std::vector<File> files_;  // handle = index + 1
    int errno_ = 0;
    uint64_t start_ns_ = 0;
    bool exiting_ = false;
};

}  // namespace armvm
