// The main loop's timers: run in deadline order on the loop thread, a
// cancelled one never runs, a handler may add timers, and a timer added
// from another thread (holding the BQL) wakes a loop blocked in epoll.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "base/event_loop.hpp"

using namespace armvm;

TEST_CASE("event loop: timers fire in order, cancelled ones do not", "[loop]") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    EventLoop& l = **loop;
    std::vector<int> order;
    std::lock_guard<std::mutex> g(l.lock());
    uint64_t now = EventLoop::now_ns();
    l.add_timer(now + 30'000'000, [&] { order.push_back(3); });
    l.add_timer(now + 10'000'000, [&] {
        order.push_back(1);
        l.add_timer(EventLoop::now_ns() + 5'000'000, [&] { order.push_back(2); });  // added by a handler
    });
    auto dead = l.add_timer(now + 20'000'000, [&] { order.push_back(99); });
    l.cancel_timer(dead);
    l.cancel_timer(dead);  // twice: harmless
    l.add_timer(now + 40'000'000, [&] { l.stop(); });
    l.run();
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(EventLoop::now_ns() >= now + 40'000'000);
}

TEST_CASE("event loop: a timer added from another thread wakes the loop", "[loop]") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    EventLoop& l = **loop;
    bool fired = false;
    std::thread t([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::lock_guard<std::mutex> g(l.lock());  // as a vCPU thread in device code
        l.add_timer(EventLoop::now_ns() + 1'000'000, [&] {
            fired = true;
            l.stop();
        });
    });
    {
        std::lock_guard<std::mutex> g(l.lock());
        l.run();
    }
    t.join();
    CHECK(fired);
}
