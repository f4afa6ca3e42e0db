// A vCPU thread with explicit states and a work queue (DESIGN.md
// "Threads and locks", INCIDENTS.md #5).
//
// The thread's loop is short: drain queued work, sleep while paused or in
// WFI, otherwise run guest code in slices. Another thread reaches the CPU
// only through run_on() (waits) and async_run_on() (does not); both always
// kick the vCPU. pause()/run_on() called with the machine lock held release
// it while they wait, so a vCPU blocked on the lock (MMIO) can finish.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>

#include "cpu-arm64/cpu.hpp"

namespace armvm {

// The index of the vCPU whose thread is running, or -1 elsewhere: the one
// "current CPU" there is, for banked device registers (GIC CPU interface).
int current_vcpu_index();

class Vcpu {
public:
    enum class State { Created, Running, Paused, Stopped };

    Vcpu(unsigned index, Bus& bus, std::mutex& bql, std::string thread_name);
    ~Vcpu();
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    unsigned index() const { return index_; }
    // Only from the vCPU's own thread, or while it is paused.
    Cpu& cpu() { return cpu_; }

    void start();                   // creates the thread, paused
    void resume();                  // caller holds the BQL
    void pause();                   // caller holds the BQL; returns once paused
    void run_on(std::function<void(Cpu&)> fn);        // caller holds the BQL; waits
    void async_run_on(std::function<void(Cpu&)> fn);  // any thread
    void kick();                    // make the vCPU look at its queue/state
    void wake();                    // an interrupt or event: also ends WFI
    // From the vCPU's own thread (PSCI CPU_OFF/SYSTEM_OFF): stop running
    // guest code after the current instruction.
    void self_pause();
    void stop_and_join();           // caller holds the BQL

    State state() const;
    // Called on the vCPU thread, without the BQL, when the CPU's timer
    // outputs change (bit 0 physical, bit 1 virtual).
    std::function<void(unsigned index, uint32_t levels)> timer_hook;
    pid_t thread_id() const { return tid_.load(); }
    uint64_t insns() const { return insns_.load(std::memory_order_relaxed); }

private:
    struct Work {
        std::function<void(Cpu&)> fn;
        bool done = false;
    };
    void loop();
    void update_timers();
    uint32_t timer_levels_ = 0;
    // Waits on cv_ until pred() with the BQL released (lock order: BQL, then m_).
    template <typename Pred>
    void wait_with_bql_released(std::unique_lock<std::mutex>& lk, Pred pred);

    unsigned index_;
    Cpu cpu_;
    std::mutex& bql_;
    std::string name_;
    std::thread thr_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Work>> work_;
    bool want_run_ = false;
    bool stop_ = false;
    bool wfi_ = false;
    uint64_t wake_seq_ = 0;  // bumped by wake(): a wake during a slice ends the coming WFI
    State state_ = State::Created;
    std::atomic<bool> exit_request_{false};
    std::atomic<pid_t> tid_{0};
    std::atomic<uint64_t> insns_{0};
};

}  // namespace armvm
