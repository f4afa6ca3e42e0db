// The main loop: epoll over file descriptors, plus a thread-safe queue of
// callbacks (post()) woken through an eventfd. Runs on the main thread; all
// device emulation and monitor work happens inside its callbacks.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "base/result.hpp"

namespace armvm {

class EventLoop {
public:
    using Handler = std::function<void(uint32_t events)>;

    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watch fd for EPOLLIN/EPOLLOUT/...; the handler runs on the loop thread.
    Status add(int fd, uint32_t events, Handler h);
    Status modify(int fd, uint32_t events);
    // Safe to call from inside the fd's own handler.
    void remove(int fd);

    // Thread-safe: run fn on the loop thread soon.
    void post(std::function<void()> fn);

    // Timers on CLOCK_MONOTONIC: fn runs on the loop thread (with the BQL)
    // at or after `deadline_ns`. Call with the BQL held (device code and
    // loop handlers do); fn may add and cancel timers. Cancelling an id
    // that has fired or was cancelled is harmless.
    // Called on the loop thread, with the BQL, before each wait (a
    // backend with its own poll set, such as slirp, refreshes its fds).
    void add_prepare_hook(std::function<void()> fn) { prepare_.push_back(std::move(fn)); }

    using TimerId = uint64_t;
    TimerId add_timer(uint64_t deadline_ns, std::function<void()> fn);
    void cancel_timer(TimerId id);
    static uint64_t now_ns();

    // Run until stop() (loop thread) is called. The caller holds lock();
    // run() releases it only while it waits for events.
    void run();
    // The machine lock ("BQL"): held by the loop thread while it runs
    // handlers; vCPU threads take it for device access.
    std::mutex& lock() { return bql_; }
    void stop() { running_ = false; }

private:
    EventLoop(int epfd, int evfd, int tfd) : epfd_(epfd), evfd_(evfd), tfd_(tfd) {}
    void drain_posted();
    void run_timers();
    void rearm();

    int epfd_;
    int evfd_;
    int tfd_;  // a timerfd set to the earliest timer
    std::map<std::pair<uint64_t, TimerId>, std::function<void()>> timers_;
    std::map<TimerId, uint64_t> timer_deadline_;
    TimerId next_timer_ = 1;
    std::vector<std::function<void()>> prepare_;
    bool running_ = false;
    std::map<int, std::shared_ptr<Handler>> handlers_;
    std::mutex bql_;
    std::mutex posted_lock_;
    std::vector<std::function<void()>> posted_;
};

}  // namespace armvm
