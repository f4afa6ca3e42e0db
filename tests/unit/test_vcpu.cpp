// The vCPU machinery on real threads: run_on() reaches a vCPU that is
// busy in guest code, asleep in WFI, or paused; pause/resume; a shared
// (thread=single) lane runs several vCPUs.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "accel/vcpu.hpp"
#include "fake_bus.hpp"

using namespace armvm;

namespace {

using Ram = FakeBus;

// 0x1000: busy loop (x0++); 0x2000: wfi loop.
void load_programs(Ram& ram) {
    ram.put(0x1000, {0x91000400, 0x17ffffff});  // add x0, x0, #1; b .-4
    ram.put(0x2000, {0xd503207f, 0x17ffffff});  // wfi; b .-4
}

}  // namespace

TEST_CASE("vcpu: run_on reaches a busy, a sleeping (WFI) and a paused vCPU", "[vcpu]") {
    Ram ram;
    load_programs(ram);
    std::mutex bql;
    std::unique_lock<std::mutex> lk(bql);
    Vcpu busy(0, ram, bql, "test busy"), sleeper(1, ram, bql, "test wfi");
    busy.cpu().s.pc = 0x1000;
    sleeper.cpu().s.pc = 0x2000;
    busy.start();
    sleeper.start();
    busy.resume();
    sleeper.resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int i = 0; i < 50; ++i) {
        uint64_t seen = 0;
        busy.run_on([&](Cpu& c) { seen = c.s.x[0]; });
        CHECK(seen > 0);
        bool ran = false;
        sleeper.run_on([&](Cpu& c) { ran = c.s.pc >= 0x2000 && c.s.pc < 0x2008; });
        CHECK(ran);
    }
    CHECK(busy.thread_id() != sleeper.thread_id());
    busy.pause();
    CHECK(busy.state() == Vcpu::State::Paused);
    uint64_t a = 0, b = 0;
    busy.run_on([&](Cpu& c) { a = c.s.x[0]; });
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    busy.run_on([&](Cpu& c) { b = c.s.x[0]; });
    CHECK(a == b);  // paused: no guest code ran in between
    busy.resume();
    busy.stop_and_join();
    sleeper.stop_and_join();
    CHECK(busy.state() == Vcpu::State::Stopped);
}

TEST_CASE("vcpu: a shared lane (thread=single) runs every vCPU on one thread", "[vcpu]") {
    Ram ram;
    load_programs(ram);
    std::mutex bql;
    std::unique_lock<std::mutex> lk(bql);
    auto lane = std::make_shared<Lane>();
    lane->name = "test lane";
    Vcpu a(0, ram, bql, "", lane), b(1, ram, bql, "", lane), c(2, ram, bql, "", lane);
    for (Vcpu* v : {&a, &b}) v->cpu().s.pc = 0x1000;
    c.cpu().s.pc = 0x2000;
    for (Vcpu* v : {&a, &b, &c}) {
        v->start();
        v->resume();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    uint64_t xa = 0, xb = 0;
    a.run_on([&](Cpu& cpu) { xa = cpu.s.x[0]; });
    b.run_on([&](Cpu& cpu) { xb = cpu.s.x[0]; });
    CHECK(xa > 0);
    CHECK(xb > 0);  // both make progress: round-robin
    c.run_on([](Cpu&) {});
    CHECK(a.thread_id() == b.thread_id());
    CHECK(b.thread_id() == c.thread_id());
    a.pause();
    CHECK(a.state() == Vcpu::State::Paused);
    CHECK(b.state() == Vcpu::State::Running);
    a.stop_and_join();
    b.stop_and_join();
    c.stop_and_join();
    CHECK(c.state() == Vcpu::State::Stopped);
}
