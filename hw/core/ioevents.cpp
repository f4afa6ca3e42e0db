#include "hw/core/ioevents.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/event_loop.hpp"

namespace armvm {

IoEventHub::~IoEventHub() {
    while (!bound_.empty()) unbind(bound_.begin()->first, false);
}

uint64_t IoEventHub::bind(uint64_t pa, std::function<void()> fn, std::optional<DoorbellMatch> match) {
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return 0;
    auto st = loop_.add(fd, EPOLLIN, [this, fd, fn](uint32_t) {
        uint64_t n;
        if (::read(fd, &n, sizeof n) != sizeof n) return;  // (another wake-up took it)
        ++signals_;
        fn();  // (several kicks since the last run are one: the queue is read to its end)
    });
    if (!st) {
        ::close(fd);
        return 0;
    }
    uint64_t id = next_++;
    bound_[id] = {pa, fd, std::move(fn), match};
    as_.add_eventfd(pa, fd, match);
    return id;
}

void IoEventHub::unbind(uint64_t id, bool drain) {
    auto it = bound_.find(id);
    if (it == bound_.end()) return;
    Bound b = std::move(it->second);
    bound_.erase(it);
    as_.del_eventfd(b.pa, b.fd, b.match);
    loop_.remove(b.fd);
    uint64_t n;
    bool pending = ::read(b.fd, &n, sizeof n) == sizeof n;
    ::close(b.fd);
    if (drain && pending) {
        ++signals_;
        b.fn();
    }
}

}  // namespace armvm
