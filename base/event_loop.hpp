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

    // Run until stop() (loop thread) is called. The caller holds lock();
    // run() releases it only while it waits for events.
    void run();
    // The machine lock ("BQL"): held by the loop thread while it runs
    // handlers; vCPU threads take it for device access.
    std::mutex& lock() { return bql_; }
    void stop() { running_ = false; }

private:
    EventLoop(int epfd, int evfd) : epfd_(epfd), evfd_(evfd) {}
    void drain_posted();

    int epfd_;
    int evfd_;
    bool running_ = false;
    std::map<int, std::shared_ptr<Handler>> handlers_;
    std::mutex bql_;
    std::mutex posted_lock_;
    std::vector<std::function<void()>> posted_;
};

}  // namespace armvm
