#include "accel/vcpu.hpp"

#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <sys/syscall.h>

namespace armvm {

namespace {
// Guest instructions per slice between looks at the queue, the state and
// the timers.
constexpr uint64_t kSlice = 100000;
thread_local int t_current_vcpu = -1;
}  // namespace

int current_vcpu_index() { return t_current_vcpu; }

void Vcpu::update_timers() {
    uint32_t levels = cpu_.timer_output();
    if (levels != timer_levels_) {
        timer_levels_ = levels;
        if (timer_hook) timer_hook(index_, levels);
    }
}

Vcpu::Vcpu(unsigned index, Bus& bus, std::mutex& bql, std::string thread_name)
    : index_(index), cpu_(bus), bql_(bql), name_(std::move(thread_name)) {
    cpu_.exit_request = &exit_request_;
}

Vcpu::~Vcpu() {
    if (thr_.joinable()) {
        {
            std::lock_guard<std::mutex> g(m_);
            stop_ = true;
        }
        kick();
        thr_.join();
    }
}

void Vcpu::start() { thr_ = std::thread([this] { loop(); }); }

Vcpu::State Vcpu::state() const {
    std::lock_guard<std::mutex> g(m_);
    return state_;
}

void Vcpu::kick() {
    exit_request_.store(true);
    std::lock_guard<std::mutex> g(m_);
    cv_.notify_all();
}

void Vcpu::wake() {
    {
        std::lock_guard<std::mutex> g(m_);
        wfi_ = false;
        ++wake_seq_;
    }
    kick();
}

template <typename Pred>
void Vcpu::wait_with_bql_released(std::unique_lock<std::mutex>& lk, Pred pred) {
    while (!pred()) {
        lk.unlock();
        bql_.unlock();
        lk.lock();
        cv_.wait(lk, [&] { return pred(); });
        lk.unlock();
        bql_.lock();
        lk.lock();
    }
}

void Vcpu::resume() {
    std::unique_lock<std::mutex> lk(m_);
    want_run_ = true;
    cv_.notify_all();
}

void Vcpu::pause() {
    exit_request_.store(true);
    std::unique_lock<std::mutex> lk(m_);
    want_run_ = false;
    cv_.notify_all();
    if (std::this_thread::get_id() == thr_.get_id()) return;
    wait_with_bql_released(lk, [&] { return state_ == State::Paused || state_ == State::Stopped; });
}

void Vcpu::self_pause() {
    std::lock_guard<std::mutex> g(m_);
    want_run_ = false;
    exit_request_.store(true);
}

void Vcpu::run_on(std::function<void(Cpu&)> fn) {
    if (std::this_thread::get_id() == thr_.get_id()) {
        fn(cpu_);
        return;
    }
    auto w = std::make_shared<Work>();
    w->fn = std::move(fn);
    exit_request_.store(true);
    std::unique_lock<std::mutex> lk(m_);
    if (state_ == State::Stopped || !thr_.joinable()) {
        lk.unlock();
        w->fn(cpu_);  // no thread to run it: the caller owns the state now
        return;
    }
    work_.push_back(w);
    cv_.notify_all();
    wait_with_bql_released(lk, [&] { return w->done; });
}

void Vcpu::async_run_on(std::function<void(Cpu&)> fn) {
    auto w = std::make_shared<Work>();
    w->fn = std::move(fn);
    exit_request_.store(true);
    std::lock_guard<std::mutex> g(m_);
    work_.push_back(std::move(w));
    cv_.notify_all();
}

void Vcpu::stop_and_join() {
    {
        std::lock_guard<std::mutex> g(m_);
        stop_ = true;
        cv_.notify_all();
    }
    exit_request_.store(true);
    if (thr_.joinable()) {
        bql_.unlock();
        thr_.join();
        bql_.lock();
    }
}

void Vcpu::loop() {
    tid_.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    t_current_vcpu = static_cast<int>(index_);
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    std::unique_lock<std::mutex> lk(m_);
    state_ = State::Paused;
    cv_.notify_all();
    for (;;) {
        while (!work_.empty()) {
            auto w = work_.front();
            work_.pop_front();
            lk.unlock();
            w->fn(cpu_);
            lk.lock();
            w->done = true;
            cv_.notify_all();
        }
        if (stop_) break;
        if (!want_run_) {
            state_ = State::Paused;
            cv_.notify_all();
            cv_.wait(lk, [&] { return stop_ || !work_.empty() || want_run_; });
            continue;
        }
        if (wfi_) {
            // WFI: sleep until an interrupt (wake()), queued work, a state
            // change, or the next timer deadline.
            state_ = State::Running;
            uint64_t deadline = cpu_.timer_deadline_ns();
            auto pred = [&] { return stop_ || !work_.empty() || !want_run_ || !wfi_; };
            if (deadline == UINT64_MAX) {
                cv_.wait(lk, pred);
            } else {
                timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
                if (deadline > now) cv_.wait_for(lk, std::chrono::nanoseconds(deadline - now), pred);
            }
            lk.unlock();
            update_timers();
            lk.lock();
            if (cpu_.irq_line.load() || cpu_.timer_output()) wfi_ = false;
            continue;
        }
        state_ = State::Running;
        exit_request_.store(false);
        uint64_t seq = wake_seq_;
        lk.unlock();
        uint64_t before = cpu_.insn_count;
        Cpu::Stop r = cpu_.run(kSlice);
        insns_.fetch_add(cpu_.insn_count - before, std::memory_order_relaxed);
        update_timers();
        lk.lock();
        // WFI completes at once if an interrupt is already pending.
        if (r == Cpu::Stop::Wfi && wake_seq_ == seq && !cpu_.irq_line.load()) wfi_ = true;
    }
    state_ = State::Stopped;
    cv_.notify_all();
}

}  // namespace armvm
