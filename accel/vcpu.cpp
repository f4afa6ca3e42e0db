#include "accel/vcpu.hpp"

#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <sys/syscall.h>

namespace armvm {

namespace {
// Guest instructions per slice between looks at the queue, the state and
// the timers (and, on a shared lane, before the next vCPU's turn).
constexpr uint64_t kSlice = 100000;

uint64_t mono_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

void Lane::watch(uint64_t deadline) {
    if (deadline == requested) return;
    requested = deadline;
    if (deadline != UINT64_MAX && !watch_thr.joinable()) {
        watch_thr = std::thread([this] {
            pthread_setname_np(pthread_self(), "timer-watch");
            ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake at the deadline, not up to 50 us after
            std::unique_lock<std::mutex> lk(wm);
            while (!watch_stop) {
                if (watch_deadline == UINT64_MAX) {
                    wcv.wait(lk);
                    continue;
                }
                uint64_t d = watch_deadline;
                wcv.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(d)));
                if (watch_deadline == d && mono_ns() >= d) {
                    watch_deadline = UINT64_MAX;  // (one kick per deadline: the lane gives the next)
                    exit_request.store(true);
                }
            }
        });
    }
    std::lock_guard<std::mutex> g(wm);
    watch_deadline = deadline;
    wcv.notify_all();
}

namespace {
constexpr uint64_t kHaltPollNs = 50000;

inline void cpu_relax() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
}  // namespace

void lane_loop(Lane& lane) {
    lane.tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    pthread_setname_np(pthread_self(), lane.name.substr(0, 15).c_str());
    std::unique_lock<std::mutex> lk(lane.m);
    for (Vcpu* v : lane.vcpus) v->state_ = Vcpu::State::Paused;
    lane.notify();
    while (!lane.stop) {
        uint64_t gen = lane.gen;
        bool ran = false;
        for (Vcpu* v : lane.vcpus) {
            if (lane.stop) break;
            ran |= v->turn(lk);
        }
        if (ran) {  // the earliest timer of a running vCPU: the watcher kicks then
            uint64_t next = UINT64_MAX;
            for (Vcpu* v : lane.vcpus)
                if (v->want_run_ && !v->wfi_) next = std::min(next, v->cpu_.timer_deadline_ns());
            lane.watch(next);
        }
        if (ran || lane.stop || lane.gen != gen) continue;
        // Nothing can run: sleep until something happens, or until the
        // earliest timer deadline of a vCPU waiting in WFI.
        uint64_t deadline = UINT64_MAX;
        bool waiting = false;
        for (Vcpu* v : lane.vcpus)
            if (v->want_run_ && v->wfi_) {
                waiting = true;
                deadline = std::min({deadline, v->cpu_.timer_deadline_ns(), v->cpu_.wfe_deadline_ns()});
            }
        auto pred = [&] { return lane.stop || lane.gen != gen; };
        if (waiting) {
            // Halt polling (as KVM's): an interrupt often comes within
            // microseconds of a WFI (the answer to an IPI, a device's
            // completion); waking from a sleep costs the host scheduler's
            // latency, several times that. Every change sets exit_request.
            lk.unlock();
            uint64_t now = mono_ns(), end = std::min(now + kHaltPollNs, deadline);
            while (!lane.exit_request.load(std::memory_order_relaxed) && now < end) {
                cpu_relax();
                now = mono_ns();
            }
            lk.lock();
            if (pred() || now >= deadline) continue;
        }
        if (deadline == UINT64_MAX) {
            lane.cv.wait(lk, pred);
        } else {
            uint64_t now = mono_ns();
            if (deadline > now) lane.cv.wait_for(lk, std::chrono::nanoseconds(deadline - now), pred);
        }
    }
    for (Vcpu* v : lane.vcpus) v->state_ = Vcpu::State::Stopped;
    lane.notify();
    if (lane.watch_thr.joinable()) {
        {
            std::lock_guard<std::mutex> g(lane.wm);
            lane.watch_stop = true;
            lane.wcv.notify_all();
        }
        lk.unlock();
        lane.watch_thr.join();
        lk.lock();
    }
}

bool Vcpu::turn(std::unique_lock<std::mutex>& lk) {
    while (!work_.empty()) {
        auto w = work_.front();
        work_.pop_front();
        lk.unlock();
        w->fn(cpu_);
        lk.lock();
        w->done = true;
        lane_->notify();
    }
    if (!want_run_) {
        if (state_ != State::Paused) {
            state_ = State::Paused;
            lane_->notify();
        }
        return false;
    }
    state_ = State::Running;
    if (wfi_) {
        // WFI ends with an interrupt (wake()) or a timer output.
        lk.unlock();
        update_timers();
        lk.lock();
        // A WFE also ends with an event or its event-stream tick.
        bool wfe_over = cpu_.in_wfe() && (cpu_.event_pending() || mono_ns() >= cpu_.wfe_deadline_ns());
        if (!cpu_.irq_line.load() && !timer_levels_ && !wfe_over) return false;
        wfi_ = false;
    }
    lane_->exit_request.store(false);
    uint64_t seq = wake_seq_;
    lk.unlock();
    uint64_t before = cpu_.insn_count;
    Cpu::Stop r = cpu_.run(kSlice);
    insns_.fetch_add(cpu_.insn_count - before, std::memory_order_relaxed);
    update_timers();
    lk.lock();
    if (cpu_.debug_stopped()) {  // a gdbstub breakpoint, watchpoint or step
        want_run_ = false;
        if (debug_hook) {
            lk.unlock();
            debug_hook(index_);
            lk.lock();
        }
        return true;
    }
    // WFI completes at once if an interrupt is already pending.
    if (r == Cpu::Stop::Wfi && wake_seq_ == seq && !cpu_.irq_line.load()) wfi_ = true;
    return true;
}

void Vcpu::update_timers() {
    uint32_t levels = cpu_.timer_output();
    if (levels != timer_levels_) {
        timer_levels_ = levels;
        if (timer_hook) timer_hook(index_, levels);
    }
}

Vcpu::Vcpu(unsigned index, Bus& bus, std::mutex& bql, std::string thread_name, std::shared_ptr<Lane> lane)
    : index_(index), cpu_(bus), bql_(bql), lane_(lane ? std::move(lane) : std::make_shared<Lane>()) {
    if (lane_->name.empty()) lane_->name = std::move(thread_name);
    lane_->vcpus.push_back(this);
    cpu_.exit_request = &lane_->exit_request;
    cpu_.wake_hook = [this] { wake(); };
}

Vcpu::~Vcpu() {
    if (lane_->thr.joinable() && !on_lane_thread()) {
        {
            std::lock_guard<std::mutex> g(lane_->m);
            lane_->stop = true;
            lane_->notify();
        }
        lane_->exit_request.store(true);
        lane_->thr.join();
    }
}

void Vcpu::start() {
    if (lane_->thr.joinable() || lane_->vcpus.front() != this) return;
    lane_->thr = std::thread([l = lane_.get()] { lane_loop(*l); });
    // Until the thread is there (paused), its id is unknown: a QMP
    // query-cpus-fast answered at once must not report thread-id 0.
    std::unique_lock<std::mutex> lk(lane_->m);
    lane_->cv.wait(lk, [&] { return state_ != State::Created; });
}

Vcpu::State Vcpu::state() const {
    std::lock_guard<std::mutex> g(lane_->m);
    return state_;
}

// Every change a lane must see: made under its mutex, then the lane is
// woken and its running vCPU leaves its slice (set after the change, so a
// lane that starts a slice concurrently cannot miss it).
void Vcpu::kick() {
    std::lock_guard<std::mutex> g(lane_->m);
    lane_->notify();
    lane_->exit_request.store(true);
}

void Vcpu::wake() {
    std::lock_guard<std::mutex> g(lane_->m);
    wfi_ = false;
    ++wake_seq_;
    lane_->notify();
    lane_->exit_request.store(true);
}

template <typename Pred>
void Vcpu::wait_with_bql_released(std::unique_lock<std::mutex>& lk, Pred pred) {
    while (!pred()) {
        lk.unlock();
        bql_.unlock();
        lk.lock();
        lane_->cv.wait(lk, [&] { return pred(); });
        lk.unlock();
        bql_.lock();
        lk.lock();
    }
}

void Vcpu::resume() {
    std::lock_guard<std::mutex> g(lane_->m);
    want_run_ = true;
    lane_->notify();
}

void Vcpu::pause() {
    std::unique_lock<std::mutex> lk(lane_->m);
    want_run_ = false;
    lane_->notify();
    lane_->exit_request.store(true);
    if (on_lane_thread()) return;
    wait_with_bql_released(lk, [&] { return state_ == State::Paused || state_ == State::Stopped; });
}

void Vcpu::self_pause() {
    std::lock_guard<std::mutex> g(lane_->m);
    want_run_ = false;
    lane_->notify();
    lane_->exit_request.store(true);
}

void Vcpu::run_on(std::function<void(Cpu&)> fn) {
    if (on_lane_thread()) {
        fn(cpu_);  // the lane runs one vCPU at a time: this one is not running
        return;
    }
    auto w = std::make_shared<Work>();
    w->fn = std::move(fn);
    std::unique_lock<std::mutex> lk(lane_->m);
    if (state_ == State::Stopped || !lane_->thr.joinable()) {
        lk.unlock();
        w->fn(cpu_);  // no thread to run it: the caller owns the state now
        return;
    }
    work_.push_back(w);
    lane_->notify();
    lane_->exit_request.store(true);
    wait_with_bql_released(lk, [&] { return w->done; });
}

void Vcpu::async_run_on(std::function<void(Cpu&)> fn) {
    auto w = std::make_shared<Work>();
    w->fn = std::move(fn);
    std::lock_guard<std::mutex> g(lane_->m);
    work_.push_back(std::move(w));
    lane_->notify();
    lane_->exit_request.store(true);
}

void Vcpu::stop_and_join() {
    {
        std::lock_guard<std::mutex> g(lane_->m);
        lane_->stop = true;
        lane_->notify();
        lane_->exit_request.store(true);
    }
    if (lane_->thr.joinable() && !on_lane_thread()) {
        bql_.unlock();
        lane_->thr.join();
        bql_.lock();
    }
}

}  // namespace armvm
