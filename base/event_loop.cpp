#include "base/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace armvm {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return make_error(std::string("epoll_create1: ") + std::strerror(errno));
    int ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ev < 0) {
        ::close(ep);
        return make_error(std::string("eventfd: ") + std::strerror(errno));
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (tfd < 0) {
        ::close(ev);
        ::close(ep);
        return make_error(std::string("timerfd_create: ") + std::strerror(errno));
    }
    std::unique_ptr<EventLoop> loop(new EventLoop(ep, ev, tfd));
    ARMVM_TRY(loop->add(ev, EPOLLIN, [l = loop.get()](uint32_t) { l->drain_posted(); }));
    ARMVM_TRY(loop->add(tfd, EPOLLIN, [l = loop.get()](uint32_t) { l->run_timers(); }));
    return loop;
}

EventLoop::~EventLoop() {
    ::close(tfd_);
    ::close(evfd_);
    ::close(epfd_);
}

uint64_t EventLoop::now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

EventLoop::TimerId EventLoop::add_timer(uint64_t deadline_ns, std::function<void()> fn) {
    TimerId id = next_timer_++;
    bool earliest = timers_.empty() || deadline_ns < timers_.begin()->first.first;
    timers_.emplace(std::make_pair(deadline_ns, id), std::move(fn));
    timer_deadline_[id] = deadline_ns;
    if (earliest) rearm();
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    auto it = timer_deadline_.find(id);
    if (it == timer_deadline_.end()) return;
    timers_.erase({it->second, id});
    timer_deadline_.erase(it);
    // (a timerfd that fires early finds nothing due and re-arms)
}

void EventLoop::rearm() {
    itimerspec its{};
    if (!timers_.empty()) {
        uint64_t d = std::max<uint64_t>(timers_.begin()->first.first, 1);  // 0 would disarm
        its.it_value.tv_sec = static_cast<time_t>(d / 1000000000ull);
        its.it_value.tv_nsec = static_cast<long>(d % 1000000000ull);
    }
    timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void EventLoop::run_timers() {
    uint64_t expirations;
    ssize_t n = ::read(tfd_, &expirations, sizeof expirations);
    (void)n;
    uint64_t now = now_ns();
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
        auto it = timers_.begin();
        std::function<void()> fn = std::move(it->second);
        timer_deadline_.erase(it->first.second);
        timers_.erase(it);
        fn();
    }
    rearm();
}

Status EventLoop::add(int fd, uint32_t events, Handler h) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0)
        return make_error(std::string("epoll_ctl: ") + std::strerror(errno));
    handlers_[fd] = std::make_shared<Handler>(std::move(h));
    return ok_status();
}

Status EventLoop::modify(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0)
        return make_error(std::string("epoll_ctl: ") + std::strerror(errno));
    return ok_status();
}

void EventLoop::remove(int fd) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
}

void EventLoop::post(std::function<void()> fn) {
    {
        std::lock_guard<std::mutex> g(posted_lock_);
        posted_.push_back(std::move(fn));
    }
    uint64_t one = 1;
    ssize_t n = ::write(evfd_, &one, sizeof one);
    (void)n;  // EAGAIN means the counter is already non-zero: woken anyway
}

void EventLoop::drain_posted() {
    uint64_t v;
    ssize_t n = ::read(evfd_, &v, sizeof v);
    (void)n;
    std::vector<std::function<void()>> work;
    {
        std::lock_guard<std::mutex> g(posted_lock_);
        work.swap(posted_);
    }
    for (auto& fn : work) fn();
}

void EventLoop::run() {
    running_ = true;
    epoll_event evs[32];
    while (running_) {
        for (auto& fn : prepare_) fn();
        bql_.unlock();
        int n = epoll_wait(epfd_, evs, 32, -1);
        bql_.lock();
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < n && running_; ++i) {
            auto it = handlers_.find(evs[i].data.fd);
            if (it == handlers_.end()) continue;  // removed by an earlier handler
            auto h = it->second;                  // keep alive while it runs
            (*h)(evs[i].events);
        }
    }
}

}  // namespace armvm
