#include "base/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
    std::unique_ptr<EventLoop> loop(new EventLoop(ep, ev));
    ARMVM_TRY(loop->add(ev, EPOLLIN, [l = loop.get()](uint32_t) { l->drain_posted(); }));
    return loop;
}

EventLoop::~EventLoop() {
    ::close(evfd_);
    ::close(epfd_);
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
