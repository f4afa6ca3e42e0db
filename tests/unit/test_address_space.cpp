// The address space's published map: overlapping regions by priority,
// regions that come and go, accesses across ranges, and the grace period
// that lets vCPUs read the map without the machine lock.
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "hw/core/address_space.hpp"

using namespace armvm;

namespace {

// Registers that read back their offset plus a tag, and log writes.
struct Tagged : MmioDevice {
    explicit Tagged(uint64_t tag, AccessSizes s = {1, 8}) : tag(tag), sizes(s) {}
    AccessSizes access_sizes(uint64_t) override { return sizes; }
    uint64_t read(uint64_t off, unsigned) override { return tag + off; }
    void write(uint64_t off, unsigned size, uint64_t v) override { writes.push_back({off, size, v}); }
    struct W {
        uint64_t off;
        unsigned size;
        uint64_t v;
    };
    uint64_t tag;
    AccessSizes sizes;
    std::vector<W> writes;
};

// Counts writes (under the machine lock).
struct Sink : MmioDevice {
    uint64_t read(uint64_t, unsigned) override { return 0; }
    void write(uint64_t, unsigned, uint64_t) override { ++writes; }
    uint64_t writes = 0;
};

uint64_t rd(AddressSpace& as, uint64_t pa, unsigned size) {
    uint64_t v = 0;
    REQUIRE(as.read(pa, size, v, {}));
    return v;
}

}  // namespace

TEST_CASE("address space: a higher-priority region covers a window and goes again", "[memory]") {
    std::mutex bql;
    AddressSpace as(bql);
    Tagged window(0x1000000), bar(0x2000000);
    as.add_mmio(0x10000000, 0x100000, &window, "window");
    uint64_t gen = as.generation();
    AddressSpace::RegionId id = as.add_mmio(0x10004000, 0x1000, &bar, "bar", {.priority = 1, .dev_offset = 0x800});
    CHECK(as.generation() == gen + 1);
    CHECK(rd(as, 0x10003ff8, 4) == 0x1000000 + 0x3ff8);  // the window below
    CHECK(rd(as, 0x10004000, 4) == 0x2000000 + 0x800);   // the BAR, from its offset
    CHECK(rd(as, 0x10004ff8, 4) == 0x2000000 + 0x800 + 0xff8);
    CHECK(rd(as, 0x10005000, 4) == 0x1000000 + 0x5000);  // the window above, at its own offset
    auto flat = as.flat_view();
    REQUIRE(flat.size() == 3);
    CHECK(flat[0].name == "window");
    CHECK(flat[1].name == "bar");
    CHECK(flat[1].base == 0x10004000);
    CHECK(flat[1].dev_offset == 0x800);
    CHECK(flat[2].base == 0x10005000);
    CHECK(flat[2].dev_offset == 0x5000);
    // Writes go to the region seen.
    REQUIRE(as.write(0x10004010, 4, 0xabcd, {}));
    REQUIRE(bar.writes.size() == 1);
    CHECK(bar.writes[0].off == 0x810);
    CHECK(window.writes.empty());
    // Gone: the window answers there again.
    as.del_region(id);
    CHECK(rd(as, 0x10004000, 4) == 0x1000000 + 0x4000);
    CHECK(as.flat_view().size() == 1);
    // Nothing at all: the access fails (the CPU takes an external abort).
    uint64_t v;
    CHECK_FALSE(as.read(0x20000000, 4, v, {}));
    CHECK_FALSE(as.write(0x20000000, 4, 0, {}));
}

TEST_CASE("address space: an access across two ranges goes as aligned pieces", "[memory]") {
    std::mutex bql;
    AddressSpace as(bql);
    Tagged a(0x100), b(0x200);
    as.add_mmio(0x1000, 0x1000, &a, "a");
    as.add_mmio(0x2000, 0x1000, &b, "b");
    // 8 bytes at 0x1ffc: 4 from a's last word, 4 from b's first.
    uint64_t v = rd(as, 0x1ffc, 8);
    CHECK((v & 0xffffffff) == 0x100 + 0xffc);
    CHECK((v >> 32) == 0x200);
    REQUIRE(as.write(0x1ffe, 4, 0x11223344, {}));
    REQUIRE(a.writes.size() == 1);
    CHECK(a.writes[0].off == 0xffe);
    CHECK(a.writes[0].size == 2);
    CHECK(a.writes[0].v == 0x3344);
    REQUIRE(b.writes.size() == 1);
    CHECK(b.writes[0].off == 0);
    CHECK(b.writes[0].v == 0x1122);
    // Into nothing: fails.
    uint64_t x;
    CHECK_FALSE(as.read(0x2ffc, 8, x, {}));
}

TEST_CASE("address space: a doorbell rings without the lock, and not once it is gone", "[memory]") {
    std::mutex bql;
    AddressSpace as(bql);
    Sink reg;
    std::vector<uint8_t> rom(0x1000, 0x5a);
    as.add_mmio(0x9000000, 0x1000, &reg, "reg");
    as.add_rom_device(0x0, 0x1000, &reg, rom.data(), "rom");
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> rom_reads{0}, bad{0};
    std::vector<std::thread> vcpus;
    for (int t = 0; t < 2; ++t)
        vcpus.emplace_back([&] {
            while (!stop.load()) {
                uint64_t v = 0;
                if (as.read(0x10, 4, v, {}) && v == 0x5a5a5a5a) rom_reads.fetch_add(1);
                else bad.fetch_add(1);
                if (!as.write(0x9000040, 4, 1, {})) bad.fetch_add(1);
            }
        });
    // Add and remove the doorbell many times, as a device that moves its
    // BAR does; after del_eventfd no vCPU may still ring the old fd.
    unsigned late = 0, rung = 0;
    for (int i = 0; i < 1000; ++i) {
        int fd = ::eventfd(0, EFD_NONBLOCK);
        REQUIRE(fd >= 0);
        {
            std::lock_guard<std::mutex> g(bql);
            as.add_eventfd(0x9000040, fd);
        }
        std::this_thread::yield();
        {
            std::lock_guard<std::mutex> g(bql);
            as.del_eventfd(0x9000040, fd);
        }
        uint64_t n;
        if (::read(fd, &n, sizeof n) == sizeof n) ++rung;
        for (int k = 0; k < 20; ++k) std::this_thread::yield();
        if (::read(fd, &n, sizeof n) == sizeof n) ++late;
        ::close(fd);
        // And a region that comes and goes under them.
        std::lock_guard<std::mutex> g(bql);
        AddressSpace::RegionId id = as.add_mmio(0x9000000, 0x100, &reg, "over", {.priority = 1});
        as.del_region(id);
    }
    stop = true;
    for (auto& t : vcpus) t.join();
    CHECK(late == 0);
    CHECK(rung > 0);              // (the doorbell was reached without the lock)
    CHECK(as.eventfd_writes_unlocked() > 0);
    CHECK(rom_reads.load() > 0);
    CHECK(bad.load() == 0);  // no read or write failed or saw anything else
    CHECK(reg.writes > 0);   // (the rest reached the device under the lock)
}

TEST_CASE("address space: a doorbell with a data match rings only for a write of its size and value", "[memory]") {
    // (virtio-pci's legacy notify: 2 bytes, the queue's index; virtio-mmio's
    // QueueNotify: 4 bytes)
    std::mutex bql;
    AddressSpace as(bql);
    Tagged reg(0);
    as.add_mmio(0x3eff0000, 0x100, &reg, "io");
    int q1 = ::eventfd(0, EFD_NONBLOCK), any = ::eventfd(0, EFD_NONBLOCK);
    REQUIRE((q1 >= 0 && any >= 0));
    {
        std::lock_guard<std::mutex> g(bql);
        as.add_eventfd(0x3eff0010, q1, DoorbellMatch{1, 2});
        as.add_eventfd(0x3eff0020, any);
    }
    auto rung = [](int fd) {
        uint64_t n = 0;
        return ::read(fd, &n, sizeof n) == sizeof n ? n : 0;
    };
    REQUIRE(as.write(0x3eff0010, 2, 1, {}));  // rings
    CHECK(rung(q1) == 1);
    REQUIRE(as.write(0x3eff0010, 2, 0, {}));  // another queue: the device takes it
    REQUIRE(as.write(0x3eff0010, 4, 1, {}));  // another size: the device takes it
    CHECK(rung(q1) == 0);
    REQUIRE(reg.writes.size() == 2);
    CHECK((reg.writes[0].off == 0x10 && reg.writes[0].size == 2 && reg.writes[0].v == 0));
    CHECK((reg.writes[1].off == 0x10 && reg.writes[1].size == 4 && reg.writes[1].v == 1));
    REQUIRE(as.write(0x3eff0020, 1, 7, {}));  // no match: any write rings
    REQUIRE(as.write(0x3eff0020, 8, 7, {}));
    CHECK(rung(any) == 2);
    CHECK(reg.writes.size() == 2);
    {
        std::lock_guard<std::mutex> g(bql);
        as.del_eventfd(0x3eff0010, q1, DoorbellMatch{1, 2});
        as.del_eventfd(0x3eff0020, any);
    }
    REQUIRE(as.write(0x3eff0010, 2, 1, {}));
    CHECK(rung(q1) == 0);
    CHECK(reg.writes.size() == 3);
    ::close(q1);
    ::close(any);
}
