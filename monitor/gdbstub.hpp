// The gdbstub (-s, -gdb DEV, HMP gdbserver): GDB's remote serial protocol
// on a chardev, in all-stop mode, as QEMU's system emulator speaks it to
// gdb-multiarch: the aarch64 target description (core and FP/SIMD
// registers), one process whose threads are the vCPUs (p01.01 is CPU 0),
// vCont with per-thread step, breakpoints (Z0/Z1) and watchpoints (Z2-Z4)
// kept by the emulator, memory by virtual address through the selected
// CPU's MMU or by physical address (Qqemu.PhyMemMode), `monitor` commands
// run by the human monitor, Ctrl-C, detach and kill.
//
// Everything runs on the main loop with the BQL held. A vCPU that stops
// for the debugger pauses itself and the board's hook posts to the main
// loop; the Machine then stops the VM (run state "debug") and calls
// stopped(). Connecting stops the VM as QEMU does; a dropped connection
// takes its breakpoints and watchpoints with it (QEMU leaves them armed,
// and a VM that hits one stops for a debugger that is gone).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

class Chardev;
class Machine;

class GdbStub {
public:
    GdbStub(Machine& m, Chardev& ch);
    ~GdbStub();  // detaches from the chardev (a connected gdb hears "W00": the VM is gone)
    GdbStub(const GdbStub&) = delete;
    GdbStub& operator=(const GdbStub&) = delete;

    void start();
    // The VM stopped: for the debugger on `cpu` (a breakpoint, watchpoint
    // or step; debug = true) or otherwise (QMP/HMP stop, Ctrl-C, a
    // shutdown with -no-shutdown). gdb hears of it if it waits for a stop.
    void vm_stopped(int cpu, bool debug, bool shutdown = false);
    bool connected() const { return connected_; }

private:
    void on_open();
    void on_read(std::string_view data);
    void on_close();
    void handle(const std::string& pkt);
    void send(const std::string& payload);
    std::string thread_id(unsigned cpu) const;
    // "p1.2", "p01.02", "-1", "2", "0": the CPU (-1: all, -2: none/invalid).
    int parse_thread(std::string_view s) const;
    std::string read_reg(Cpu& c, unsigned n) const;  // the core's and the FPU's (0-67)
    std::string read_sysreg(unsigned n);               // a system register (68-) of the Hg thread
    bool write_reg(Cpu& c, unsigned n, std::string_view hex);
    bool read_memory(uint64_t addr, uint64_t len, std::string& hex);
    bool write_memory(uint64_t addr, const std::vector<uint8_t>& bytes);
    bool translate(uint64_t va, uint64_t& pa);
    void resume(const std::vector<char>& actions);  // per CPU: 0 stay, 'c', 's'
    void vcont(std::string_view args);
    void remove_all();
    std::string xfer_features(std::string_view args);
    // The system registers offered (org.qemu.gdb.arm.sys.regs, regnums
    // from 68): those the CPU model has, found at the first look.
    const std::vector<const GdbSysReg*>& sysregs();
    std::optional<std::vector<const GdbSysReg*>> sysregs_;
    std::string query(const std::string& pkt);
    std::string monitor_command(std::string_view hex);

    Machine& machine_;
    Chardev& chardev_;
    unsigned cpus_ = 1;
    bool connected_ = false;
    enum class Rx { Idle, Data, Sum1, Sum2 } rx_ = Rx::Idle;
    std::string pkt_;
    unsigned sum_ = 0, got_sum_ = 0;
    std::string last_sent_;
    bool multiprocess_ = false;
    unsigned g_cpu_ = 0, c_cpu_ = 0;  // Hg (registers, memory) and Hc (legacy c/s) threads
    unsigned thread_list_pos_ = 0;     // qsThreadInfo's cursor
    bool waiting_ = false;             // a resume is outstanding: gdb waits for a stop reply
    bool phys_mode_ = false;           // Qqemu.PhyMemMode:1
    unsigned sstep_flags_ = 7;         // qqemu.sstep (ENABLE|NOIRQ|NOTIMER)
    std::vector<uint64_t> breakpoints_;
    std::vector<Cpu::Watchpoint> watchpoints_;
};

}  // namespace armvm
