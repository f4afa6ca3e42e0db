// The architecture-neutral KVM core: /dev/kvm, a VM with its memory slots,
// and vCPUs each running KVM_RUN on its own thread with the mmap'ed
// kvm_run. MMIO exits go to the machine's Bus (as TCG's accesses do);
// everything else an architecture needs (port I/O on x86 test guests,
// PSCI system events on arm64, register transfer) comes through Hooks.
//
// The kick: a flag, kvm_run.immediate_exit and a signal. Work is queued
// before immediate_exit is set and the vCPU clears immediate_exit before
// it looks at its queue, so a kick is never lost whether the vCPU is about
// to enter KVM_RUN, inside it, or paused.
//
// Every ioctl goes through kvm_ioctl(): in test builds (fault injection
// on), ARMVM_FAULT=kvm:NAME makes the call named NAME fail with EINVAL.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "cpu-arm64/cpu.hpp"  // Bus

struct kvm_run;

namespace armvm::kvm {

// CLOCK_MONOTONIC (ns) when a vCPU of this process first entered KVM_RUN
// (0: none yet), for the exec-to-first-instruction benchmark.
int64_t first_run_ns();

// ioctl(fd, req, arg) with the test seam; -1 and errno on failure.
int kvm_ioctl(int fd, unsigned long req, unsigned long arg, const char* name);

class Kvm {
public:
    static Result<std::unique_ptr<Kvm>> open(const char* path = "/dev/kvm");
    ~Kvm();
    int check_extension(long cap) const;  // 0 if absent
    int fd() const { return fd_; }
    size_t run_size() const { return run_size_; }

private:
    int fd_ = -1;
    size_t run_size_ = 0;
};

class Vm {
public:
    static Result<std::unique_ptr<Vm>> create(Kvm& kvm, unsigned long type = 0);
    ~Vm();
    // A RAM region as memory slot `slot` (dirty logging optional).
    Status add_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host, bool log_dirty = false);
    // The 4K pages of a slot added with log_dirty written since the last
    // call, one bit each (bit i of word i/64: page i). With manual protect
    // the pages read are cleared (write-protected again) explicitly; the
    // first call then reports every page (KVM_DIRTY_LOG_INITIALLY_SET).
    Result<std::vector<uint64_t>> dirty_pages(uint32_t slot, uint64_t size);
    // KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 was found and enabled (else the
    // classic dirty log, which clears as it reads).
    bool manual_dirty_protect() const { return manual_protect_; }
    // An ioeventfd: a guest write of any length to MMIO address `addr`
    // (with `match`: a write of `match_size` bytes of that value) signals eventfd `fd`
    // inside the kernel instead of exiting (assign), or no longer (!assign).
    Status set_ioeventfd(uint64_t addr, int fd, std::optional<uint32_t> match, unsigned match_size, bool assign);
    Kvm& kvm() { return kvm_; }
    int fd() const { return fd_; }

private:
    Vm(Kvm& k) : kvm_(k) {}
    Kvm& kvm_;
    int fd_ = -1;
    bool manual_protect_ = false;
};

class Vcpu {
public:
    enum class State { Created, Paused, Running, Stopped };
    struct Hooks {
        // An exit the core does not handle (port I/O, system events...):
        // true if handled; false pauses the vCPU and reports it.
        std::function<bool(Vcpu&, kvm_run&)> exit;
        // Register transfer, on the vCPU thread: the guest's registers into
        // the machine's copy, and back before the next KVM_RUN.
        std::function<void(Vcpu&)> get_state, put_state;
        // A vCPU that cannot go on (KVM_RUN failed, an internal error).
        std::function<void(Vcpu&, const std::string&)> failed;
    };
    // `bql`: the machine lock. If given, pause() and run_on() must be
    // called with it held (as the machine's main loop holds it); they
    // release it while they wait, since an MMIO exit needs it.
    static Result<std::unique_ptr<Vcpu>> create(Vm& vm, unsigned index, Bus& bus, Hooks hooks,
                                                std::mutex* bql = nullptr);
    ~Vcpu();  // stops and joins the thread

    void start();  // the thread; the vCPU begins paused
    void resume();
    void pause();  // returns when the vCPU is out of KVM_RUN and paused
    // Runs fn on the vCPU's thread (out of KVM_RUN) and waits for it.
    void run_on(const std::function<void(Vcpu&)>& fn);
    void async_run_on(std::function<void(Vcpu&)> fn);
    void kick();

    // cpu_synchronize_state: the registers from KVM, once per exit (later
    // calls before the next KVM_RUN do nothing). On the vCPU thread.
    void synchronize_state();
    // The machine's copy was changed: put it back before the next KVM_RUN.
    void mark_state_dirty() { state_dirty_ = true; }

    int fd() const { return fd_; }
    kvm_run& run() { return *run_; }
    unsigned index() const { return index_; }
    pid_t thread_id() const { return tid_.load(); }
    State state() const;
    // For tests: exits seen, and register transfers made.
    uint64_t exits() const { return exits_.load(); }
    uint64_t mmio_exits() const { return mmio_exits_.load(); }
    uint64_t state_gets() const { return gets_.load(); }
    uint64_t state_puts() const { return puts_.load(); }

private:
    Vcpu(unsigned index, Bus& bus, Hooks hooks, std::mutex* bql)
        : index_(index), bus_(bus), hooks_(std::move(hooks)), bql_(bql) {}
    void loop();
    bool handle_exit();
    template <typename Pred>
    void wait(std::unique_lock<std::mutex>& lk, Pred pred);

    unsigned index_;
    Bus& bus_;
    Hooks hooks_;
    std::mutex* bql_;
    int fd_ = -1;
    kvm_run* run_ = nullptr;
    size_t run_size_ = 0;
    std::thread thr_;
    std::atomic<pid_t> tid_{0};
    mutable std::mutex m_;
    std::condition_variable cv_;
    struct Work {
        std::function<void(Vcpu&)> fn;
        bool done = false;
    };
    std::deque<std::shared_ptr<Work>> work_;
    bool want_run_ = false, stop_ = false, halted_ = false;
    State state_ = State::Created;
    bool state_synced_ = false, state_dirty_ = false;
    std::atomic<uint64_t> exits_{0}, mmio_exits_{0}, gets_{0}, puts_{0};
};

}  // namespace armvm::kvm
