// vCPUs with explicit states and a work queue (DESIGN.md "Threads and
// locks", INCIDENTS.md #5), run by lanes: a lane is one host thread that
// runs its vCPUs round-robin. `-accel tcg,thread=multi` (the default) gives
// every vCPU its own lane; `thread=single` puts them all on one.
//
// A lane's loop is short: for each of its vCPUs, drain queued work, skip
// it while paused or in WFI, otherwise run guest code for a slice; sleep
// when none can run, until something changes or the next timer deadline.
// Another thread reaches a vCPU only through run_on() (waits) and
// async_run_on() (does not); both kick the lane. pause()/run_on() called
// with the machine lock held release it while they wait, so a vCPU blocked
// on the lock (MMIO) can finish.
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
#include <vector>

#include "cpu-arm64/cpu.hpp"

namespace armvm {

class Vcpu;
struct Lane;
void lane_loop(Lane& lane);

// One host thread and the vCPUs it runs. Its mutex guards the vCPUs'
// scheduling state (states, queues, WFI); `gen` counts every event that
// may let a sleeping lane do something.
struct Lane {
    std::mutex m;
    std::condition_variable cv;
    std::vector<Vcpu*> vcpus;
    std::thread thr;
    std::string name;
    bool stop = false;
    uint64_t gen = 0;
    std::atomic<bool> exit_request{false};  // the running vCPU leaves its slice
    std::atomic<pid_t> tid{0};
    // The timer watcher: a thread (started when first needed) that kicks
    // the running vCPU when the earliest timer deadline of the lane's
    // running vCPUs passes, so a guest busy-polling the counter sees its
    // timer interrupt as the counter passes CVAL, not at the slice's end.
    std::thread watch_thr;
    std::mutex wm;
    std::condition_variable wcv;
    uint64_t watch_deadline = UINT64_MAX;  // (wm) host ns; UINT64_MAX: none
    bool watch_stop = false;               // (wm)
    uint64_t requested = UINT64_MAX;       // (the lane thread's) the deadline last given to the watcher
    void watch(uint64_t deadline);         // on the lane thread
    void notify() {  // with m held
        ++gen;
        cv.notify_all();
    }
};

class Vcpu {
public:
    enum class State { Created, Running, Paused, Stopped };

    // `lane`: shared by the vCPUs of a single-threaded TCG; null gives the
    // vCPU a lane (and a thread) of its own named `thread_name`.
    Vcpu(unsigned index, Bus& bus, std::mutex& bql, std::string thread_name, std::shared_ptr<Lane> lane = nullptr);
    ~Vcpu();
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    unsigned index() const { return index_; }
    // Only from the lane's thread, or while the vCPU is paused.
    Cpu& cpu() { return cpu_; }

    void start();                   // creates the lane's thread (once), paused
    void resume();                  // caller holds the BQL
    void pause();                   // caller holds the BQL; returns once paused
    void run_on(std::function<void(Cpu&)> fn);        // caller holds the BQL; waits
    void async_run_on(std::function<void(Cpu&)> fn);  // any thread
    void kick();                    // make the lane look at this vCPU's queue/state
    void wake();                    // an interrupt or event: also ends WFI
    // From the lane's own thread (PSCI CPU_OFF/SYSTEM_OFF): stop running
    // guest code after the current instruction.
    void self_pause();
    void stop_and_join();           // caller holds the BQL

    State state() const;
    // Called on the lane's thread, without the BQL, when the CPU's timer
    // outputs change (bit 0 physical, bit 1 virtual, bit 2 PMU).
    std::function<void(unsigned index, uint32_t levels)> timer_hook;
    // Called on the lane's thread, without the BQL, when the CPU stopped
    // for the debugger (Cpu::debug_stopped()); the vCPU is paused by then.
    std::function<void(unsigned index)> debug_hook;
    pid_t thread_id() const { return lane_->tid.load(); }
    uint64_t insns() const { return insns_.load(std::memory_order_relaxed); }

private:
    friend void lane_loop(Lane& lane);
    struct Work {
        std::function<void(Cpu&)> fn;
        bool done = false;
    };
    // One turn of the lane loop for this vCPU (lane mutex held on entry
    // and exit); returns true if it ran guest code.
    bool turn(std::unique_lock<std::mutex>& lk);
    void update_timers();
    bool on_lane_thread() const { return std::this_thread::get_id() == lane_->thr.get_id(); }
    uint32_t timer_levels_ = 0;
    // Waits on the lane's cv until pred() with the BQL released (lock
    // order: BQL, then the lane mutex).
    template <typename Pred>
    void wait_with_bql_released(std::unique_lock<std::mutex>& lk, Pred pred);

    unsigned index_;
    Cpu cpu_;
    std::mutex& bql_;
    std::shared_ptr<Lane> lane_;
    std::deque<std::shared_ptr<Work>> work_;
    bool want_run_ = false;
    bool wfi_ = false;
    uint64_t wake_seq_ = 0;  // bumped by wake(): a wake during a slice ends the coming WFI
    State state_ = State::Created;
    std::atomic<uint64_t> insns_{0};
};

}  // namespace armvm
