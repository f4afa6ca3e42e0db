// The architecture-neutral KVM core against the real /dev/kvm of these
// x86-64 machines, with a tiny real-mode x86 guest: port I/O and MMIO
// exits, a guest spinning inside KVM_RUN reached by the kick and by
// run_on(), stop/cont, 100 reset cycles, register synchronisation once per
// exit, and the ioctl failure seam.
#include <catch2/catch.hpp>

#if defined(__x86_64__)
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "accel/kvm/kvm.hpp"
#include "hw/core/address_space.hpp"

using namespace armvm;

namespace {

// At 0x1000, real mode:  mov dx,0x10; mov al,0x42; out dx,al;
// mov byte [0x9000],0x55; mov al,[0x9000]; out dx,al;
// loop: inc word [0x500]; jmp loop
const uint8_t kGuest[] = {0xba, 0x10, 0x00, 0xb0, 0x42, 0xee, 0xc6, 0x06, 0x00, 0x90, 0x55,
                          0xa0, 0x00, 0x90, 0xee, 0xff, 0x06, 0x00, 0x05, 0xeb, 0xfa};
constexpr uint64_t kRamSize = 0x8000, kMmio = 0x9000;

// An MMIO device at 0x9000: remembers the last write, reads it back + 1.
struct Reg : MmioDevice {
    std::atomic<uint64_t> last{0}, reads{0}, writes{0};
    uint64_t read(uint64_t, unsigned) override {
        reads++;
        return last.load() + 1;
    }
    void write(uint64_t, unsigned, uint64_t v) override {
        writes++;
        last = v;
    }
};

struct Rig {
    std::unique_ptr<kvm::Kvm> kvm;
    std::unique_ptr<kvm::Vm> vm;
    std::unique_ptr<kvm::Vcpu> vcpu;
    uint8_t* ram = nullptr;
    std::mutex bql;
    AddressSpace as{bql};
    Reg reg;
    std::mutex io_m;
    std::vector<uint8_t> port_out;
    std::string failure;

    bool log_dirty = false;

    bool open() {
        auto k = kvm::Kvm::open();
        if (!k) return false;
        kvm = std::move(k.value());
        auto v = kvm::Vm::create(*kvm);
        REQUIRE(v);
        vm = std::move(v.value());
        ram = static_cast<uint8_t*>(::mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        REQUIRE(ram != MAP_FAILED);
        REQUIRE(vm->add_memory(0, 0, kRamSize, ram, log_dirty));
        as.add_mmio(kMmio, 0x1000, &reg, "reg");
        kvm::Vcpu::Hooks h;
        h.exit = [this](kvm::Vcpu&, kvm_run& r) {
            if (r.exit_reason != KVM_EXIT_IO || r.io.direction != KVM_EXIT_IO_OUT || r.io.port != 0x10) return false;
            std::lock_guard<std::mutex> g(io_m);
            port_out.push_back(*(reinterpret_cast<uint8_t*>(&r) + r.io.data_offset));
            return true;
        };
        h.failed = [this](kvm::Vcpu&, const std::string& m) { failure = m; };
        auto c = kvm::Vcpu::create(*vm, 0, as, h, &bql);
        REQUIRE(c);
        vcpu = std::move(c.value());
        load();
        vcpu->start();
        locked([&] { vcpu->run_on([](kvm::Vcpu& v) { reset_regs(v); }); });
        return true;
    }
    // pause() and run_on() are called with the machine lock held, as the
    // machine's main loop does (they release it while they wait).
    template <typename F>
    void locked(F f) {
        std::lock_guard<std::mutex> g(bql);
        f();
    }
    ~Rig() {
        vcpu.reset();
        if (ram) ::munmap(ram, kRamSize);
    }
    void load() {
        std::memset(ram, 0xf4, kRamSize);  // hlt everywhere else
        std::memcpy(ram + 0x1000, kGuest, sizeof kGuest);
        ram[0x500] = ram[0x501] = 0;
    }
    static void reset_regs(kvm::Vcpu& v) {
        kvm_sregs s{};
        REQUIRE(::ioctl(v.fd(), KVM_GET_SREGS, &s) == 0);
        s.cs.base = 0;
        s.cs.selector = 0;
        s.ds.base = 0;
        s.ds.selector = 0;
        REQUIRE(::ioctl(v.fd(), KVM_SET_SREGS, &s) == 0);
        kvm_regs r{};
        r.rip = 0x1000;
        r.rflags = 2;
        REQUIRE(::ioctl(v.fd(), KVM_SET_REGS, &r) == 0);
    }
    uint16_t counter() const {
        uint16_t c;
        std::memcpy(&c, ram + 0x500, 2);
        return c;
    }
    size_t outs() {
        std::lock_guard<std::mutex> g(io_m);
        return port_out.size();
    }
    template <typename Pred>
    bool eventually(Pred p, int ms = 5000) {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (std::chrono::steady_clock::now() < end) {
            if (p()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return p();
    }
};

}  // namespace

TEST_CASE("KVM core: port I/O and MMIO exits reach their handlers, the guest spins in KVM_RUN", "[kvm]") {
    Rig rig;
    if (!rig.open()) {
        WARN("no usable /dev/kvm here: skipped");
        return;
    }
    rig.vcpu->resume();
    bool spun = rig.eventually([&] { return rig.counter() > 1000; });
    INFO("failure: " << rig.failure << " exits " << rig.vcpu->exits() << " outs " << rig.outs() << " ctr " << rig.counter());
    REQUIRE(spun);
    CHECK(rig.failure.empty());
    std::lock_guard<std::mutex> g(rig.io_m);
    REQUIRE(rig.port_out == std::vector<uint8_t>{0x42, 0x56});  // the MMIO read gave 0x55 + 1
    CHECK(rig.reg.writes == 1);
    CHECK(rig.reg.reads == 1);
    CHECK(rig.vcpu->mmio_exits() == 2);
    CHECK(rig.vcpu->thread_id() != 0);
}

TEST_CASE("KVM core: run_on reaches a vCPU spinning inside KVM_RUN; stop and cont", "[kvm]") {
    Rig rig;
    if (!rig.open()) {
        WARN("no usable /dev/kvm here: skipped");
        return;
    }
    rig.vcpu->resume();
    REQUIRE(rig.eventually([&] { return rig.counter() > 100; }));
    for (int i = 0; i < 50; ++i) {
        pid_t on = 0;
        rig.locked([&] { rig.vcpu->run_on([&](kvm::Vcpu&) { on = static_cast<pid_t>(::gettid()); }); });
        CHECK(on == rig.vcpu->thread_id());  // on the vCPU's own thread, which was inside KVM_RUN
    }
    rig.locked([&] { rig.vcpu->pause(); });
    CHECK(rig.vcpu->state() == kvm::Vcpu::State::Paused);
    uint16_t a = rig.counter();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(rig.counter() == a);  // stopped
    rig.vcpu->resume();
    CHECK(rig.eventually([&] { return rig.counter() != a; }));
}

TEST_CASE("KVM core: 100 reset cycles without a hang; registers synchronised once per exit", "[kvm]") {
    Rig rig;
    if (!rig.open()) {
        WARN("no usable /dev/kvm here: skipped");
        return;
    }
    rig.vcpu->resume();
    for (int i = 0; i < 100; ++i) {
        REQUIRE(rig.eventually([&] { return rig.outs() == static_cast<size_t>(2 * (i + 1)); }));
        rig.locked([&] {
            rig.vcpu->pause();
            rig.load();
            rig.vcpu->run_on([](kvm::Vcpu& v) { Rig::reset_regs(v); });
            rig.vcpu->resume();
        });
    }
    REQUIRE(rig.eventually([&] { return rig.outs() == 202; }));
    CHECK(rig.reg.writes == 101);
    CHECK(rig.failure.empty());
    uint64_t before = rig.vcpu->state_gets();
    rig.locked([&] {
        rig.vcpu->run_on([](kvm::Vcpu& v) {
            v.synchronize_state();
            v.synchronize_state();  // (the second is a no-op until the next KVM_RUN)
            v.mark_state_dirty();
        });
    });
    CHECK(rig.vcpu->state_gets() == before + 1);
    CHECK(rig.eventually([&] { return rig.vcpu->state_puts() >= 1; }));
}

TEST_CASE("KVM core: the dirty log names the pages the guest writes", "[kvm]") {
    Rig rig;
    rig.log_dirty = true;
    if (!rig.open()) {
        WARN("no usable /dev/kvm here: skipped");
        return;
    }
    rig.locked([&] { rig.vcpu->resume(); });
    REQUIRE(rig.eventually([&] { return rig.counter() > 100; }));
    auto first = rig.vm->dirty_pages(0, kRamSize);  // (everything, if the log starts set)
    REQUIRE(first);
    CHECK(((*first)[0] & 1) == 1);  // page 0 holds the counter
    for (int round = 0; round < 3; ++round) {
        uint16_t before = rig.counter();
        REQUIRE(rig.eventually([&] { return rig.counter() != before; }));
        auto d = rig.vm->dirty_pages(0, kRamSize);
        REQUIRE(d);
        // only the counter's page: the code page and the rest are only read
        CHECK((*d)[0] == 1);
        for (size_t i = 1; i < d->size(); ++i) CHECK((*d)[i] == 0);
    }
    rig.locked([&] { rig.vcpu->pause(); });
    (void)rig.vm->dirty_pages(0, kRamSize);
    auto quiet = rig.vm->dirty_pages(0, kRamSize);  // paused: nothing written since
    REQUIRE(quiet);
    for (uint64_t w : *quiet) CHECK(w == 0);
}

#if ARMVM_FAULT_INJECTION
TEST_CASE("KVM core: a failing ioctl is an error, not an abort", "[kvm]") {
    if (::access("/dev/kvm", R_OK | W_OK) != 0) {
        WARN("no /dev/kvm here: skipped");
        return;
    }
    ::setenv("ARMVM_FAULT", "kvm:KVM_CREATE_VCPU", 1);
    auto k = kvm::Kvm::open();
    REQUIRE(k);
    auto vm = kvm::Vm::create(**k);
    REQUIRE(vm);
    std::mutex bql;
    AddressSpace as{bql};
    auto v = kvm::Vcpu::create(**vm, 0, as, {});
    ::unsetenv("ARMVM_FAULT");
    REQUIRE(!v);
    CHECK(v.error().msg == "kvm_init_vcpu: KVM_CREATE_VCPU failed: Invalid argument");
}
#endif

#endif  // __x86_64__
