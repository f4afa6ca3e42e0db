// The GIC's register banking through its MMIO interfaces.
#include <catch2/catch.hpp>

#include <vector>

#include "hw/intc/gic.hpp"

using namespace armvm;

namespace {
struct Rig {
    std::vector<bool> irq = std::vector<bool>(2, false);
    unsigned current = 0;  // the CPU that makes the accesses below
    Gic gic;
    explicit Rig(unsigned version) : gic(2, [this](unsigned c, bool l) { irq[c] = l; }, version) {}
    // A GIC frame as CPU `current` sees it.
    struct Frame {
        MmioDevice& d;
        const unsigned& cpu;
        uint64_t read(uint64_t off, unsigned size) { return d.read_by(off, size, MemAttrs{static_cast<int>(cpu), -1}); }
        void write(uint64_t off, unsigned size, uint64_t v) { d.write_by(off, size, v, MemAttrs{static_cast<int>(cpu), -1}); }
    };
    Frame dist() { return {gic.distributor(), current}; }
    Frame cpuif() { return {gic.cpu_interface(), current}; }
    Frame redist() { return {gic.redistributors(), current}; }
};
}  // namespace

TEST_CASE("gic v3: SPI registers are the distributor's, private ones the redistributors'", "[gic]") {
    Rig r(3);
    auto d = r.dist();
    auto rd = r.redist();
    // Every SPI priority is writable, including INTIDs whose offset has low
    // bits like a private register's (0x480 = INTID 128).
    for (unsigned id : {32u, 128u, 131u, 256u, 287u}) {
        d.write(0x400 + id, 1, 0x50);
        INFO(id);
        CHECK(d.read(0x400 + id, 1) == 0x50);
    }
    // The distributor's copies of the private registers are RAZ/WI...
    d.write(0x100, 4, 0xffffffff);
    CHECK(d.read(0x100, 4) == 0);
    d.write(0x41b, 1, 0x40);
    CHECK(d.read(0x41b, 1) == 0);
    // ...and each redistributor's SGI frame holds its own CPU's.
    rd.write(0x10000 + 0x100, 4, 1u << 27);
    CHECK(rd.read(0x10000 + 0x100, 4) == (0xffffu | (1u << 27)));  // SGIs always enabled
    CHECK(rd.read(0x30000 + 0x100, 4) == 0xffffu);                 // CPU 1's PPI 27 not
    CHECK((rd.read(0x08, 8) >> 4 & 1) == 0);   // GICR_TYPER.Last: CPU 0 is not the last
    CHECK((rd.read(0x20008, 8) >> 4 & 1) == 1);
}

TEST_CASE("gic v2: a pending enabled PPI reaches only its own CPU", "[gic]") {
    Rig r(2);
    auto d = r.dist();
    auto c = r.cpuif();
    d.write(0x000, 4, 1);  // GICD_CTLR
    for (unsigned cpu : {0u, 1u}) {
        r.current = cpu;
        c.write(0x00, 4, 1);      // GICC_CTLR
        c.write(0x04, 4, 0xff);   // GICC_PMR
        d.write(0x100, 4, 1u << 27);
        d.write(0x400 + 27, 1, 0x80);
    }
    r.gic.set_ppi(1, 27, true);
    CHECK(!r.irq[0]);
    CHECK(r.irq[1]);
    r.current = 1;
    CHECK(c.read(0x0c, 4) == 27);  // GICC_IAR
    CHECK(!r.irq[1]);              // active now, and level: no new signal
    c.write(0x10, 4, 27);          // GICC_EOIR
    CHECK(r.irq[1]);               // still asserted: pending again
    r.gic.set_ppi(1, 27, false);
    CHECK(!r.irq[1]);
}

// ---------------------------------------------------------------------------
// LPIs and the ITS, with a buffer as guest RAM at 0x4000_0000.
#include "cpu-arm64/sysregs/sysregs.hpp"
#include "hw/intc/gicv3_its.hpp"

#include <cstring>

namespace {
struct ItsRig {
    static constexpr uint64_t kRam = 0x40000000, kProp = kRam + 0x10000, kPend0 = kRam + 0x20000,
                              kPend1 = kRam + 0x30000, kDevTable = kRam + 0x40000, kCollTable = kRam + 0x50000,
                              kQueue = kRam + 0x60000, kItt = kRam + 0x70000, kL2 = kRam + 0x80000;
    std::vector<uint8_t> ram = std::vector<uint8_t>(1 << 20);
    Rig r{3};
    Gic::GuestMem mem = [this](uint64_t pa, uint64_t len) -> uint8_t* {
        if (pa < kRam || pa + len > kRam + ram.size()) return nullptr;
        return ram.data() + (pa - kRam);
    };
    GicIts its{r.gic, mem};
    uint64_t wr = 0;  // the queue's write offset

    explicit ItsRig(bool indirect = false) {
        r.gic.enable_lpis(mem);
        auto d = r.dist();
        auto rd = r.redist();
        d.write(0x000, 4, 0x12);  // ARE, EnableGrp1
        for (unsigned cpu = 0; cpu < 2; ++cpu) {
            uint64_t v = 0xff;
            r.gic.icc_access(cpu, sysreg_key(3, 0, 4, 6, 0), true, v);    // ICC_PMR_EL1
            v = 1;
            r.gic.icc_access(cpu, sysreg_key(3, 0, 12, 12, 7), true, v);  // ICC_IGRPEN1_EL1
            rd.write(cpu * 0x20000 + 0x70, 8, kProp | 15);  // GICR_PROPBASER: 16 ID bits
            rd.write(cpu * 0x20000 + 0x78, 8, cpu ? kPend1 : kPend0);
            rd.write(cpu * 0x20000 + 0x00, 4, 1);  // GICR_CTLR.EnableLPIs
        }
        // GITS_BASER0 (devices), 4 KiB pages, one page; GITS_BASER1 (collections).
        its.write(0x100, 8, (1ull << 63) | (indirect ? 1ull << 62 : 0) | kDevTable);
        its.write(0x108, 8, (1ull << 63) | kCollTable);
        its.write(0x080, 8, (1ull << 63) | kQueue);  // GITS_CBASER: one 4 KiB page
        its.write(0x000, 4, 1);                      // GITS_CTLR.Enabled
        if (indirect) {  // level-1 entry 1 (DeviceIDs 512..1023) names the page at kL2
            uint64_t l1 = (1ull << 63) | kL2;
            std::memcpy(&ram[kDevTable - kRam + 8], &l1, 8);
        }
    }
    void config(uint32_t intid, uint8_t prio, bool enable) { ram[kProp - kRam + intid - 8192] = prio | 2 | enable; }
    void cmd(uint64_t d0, uint64_t d1 = 0, uint64_t d2 = 0, uint64_t d3 = 0) {
        uint64_t c[4] = {d0, d1, d2, d3};
        std::memcpy(&ram[kQueue - kRam + wr], c, 32);
        wr = (wr + 32) % 4096;
        its.write(0x088, 8, wr);  // GITS_CWRITER
    }
    uint64_t iar(unsigned cpu) {
        uint64_t v = 0;
        r.gic.icc_access(cpu, sysreg_key(3, 0, 12, 12, 0), false, v);
        return v;
    }
    void eoi(unsigned cpu, uint64_t id) { r.gic.icc_access(cpu, sysreg_key(3, 0, 12, 12, 1), true, id); }
    static uint64_t dev(uint32_t id) { return uint64_t{id} << 32; }
};
}  // namespace

TEST_CASE("gic v3 ITS: MSIs become LPIs through the guest's tables and commands", "[gic][its]") {
    for (bool indirect : {false, true}) {
        INFO("two-level device table: " << indirect);
        ItsRig t(indirect);
        CHECK((t.r.gic.distributor().read(0x004, 4) >> 17 & 1) == 1);  // GICD_TYPER.LPIS
        CHECK((t.its.read(0x008, 8) & 1) == 1);                          // GITS_TYPER.Physical
        CHECK(t.its.read(0xffe8, 4) == 0x3b);
        t.config(8192, 0xa0, true);
        t.config(8193, 0xa0, true);
        uint32_t device = indirect ? 600 : 8;  // (600 lands in the level-2 page: 512 entries per 4 KiB page)
        t.cmd(0x08 | t.dev(device), 4, (1ull << 63) | t.kItt);   // MAPD: 5 EventID bits
        t.cmd(0x09, 0, (1ull << 63) | (0ull << 16) | 0);         // MAPC ICID 0 -> CPU 0
        t.cmd(0x09, 0, (1ull << 63) | (1ull << 16) | 1);         // MAPC ICID 1 -> CPU 1
        t.cmd(0x0a | t.dev(device), 3 | (8192ull << 32), 0);     // MAPTI event 3 -> LPI 8192, ICID 0
        t.cmd(0x0a | t.dev(device), 4 | (8193ull << 32), 1);     // MAPTI event 4 -> LPI 8193, ICID 1
        t.cmd(0x05, 0, 0);                                       // SYNC
        CHECK(t.its.read(0x090, 8) == t.wr);                     // GITS_CREADR caught up, not stalled
        CHECK(t.its.errors() == 0);

        t.its.translate(device, 3);
        CHECK(t.r.irq[0]);
        CHECK(!t.r.irq[1]);
        CHECK(t.iar(0) == 8192);
        CHECK(!t.r.irq[0]);
        t.eoi(0, 8192);
        t.its.translate(device, 4);
        CHECK(t.r.irq[1]);
        CHECK(t.iar(1) == 8193);
        t.eoi(1, 8193);

        // Unmapped events, devices and out-of-range events do nothing.
        t.its.translate(device, 5);
        t.its.translate(device + 1, 3);
        t.its.translate(device, 40);
        CHECK(!t.r.irq[0]);
        CHECK(!t.r.irq[1]);

        // A disabled LPI stays pending, unsignalled, until enabled.
        t.config(8192, 0xa0, false);
        t.cmd(0x0c | t.dev(device), 3);  // INV
        t.its.translate(device, 3);
        CHECK(!t.r.irq[0]);
        t.config(8192, 0xa0, true);
        t.cmd(0x0d, 0, 0);  // INVALL ICID 0
        CHECK(t.r.irq[0]);
        // MOVI moves the pending LPI to the other collection's CPU.
        t.cmd(0x01 | t.dev(device), 3, 1);
        CHECK(!t.r.irq[0]);
        CHECK(t.r.irq[1]);
        // CLEAR takes it back; INT sets it again; MOVALL moves CPU 1's to CPU 0.
        t.cmd(0x04 | t.dev(device), 3);
        CHECK(!t.r.irq[1]);
        t.cmd(0x03 | t.dev(device), 3);
        CHECK(t.r.irq[1]);
        t.cmd(0x0e, 0, 1ull << 16, 0ull << 16);
        CHECK(t.r.irq[0]);
        CHECK(!t.r.irq[1]);
        CHECK(t.iar(0) == 8192);
        t.eoi(0, 8192);
        // DISCARD: the mapping is gone.
        t.cmd(0x0f | t.dev(device), 3);
        t.its.translate(device, 3);
        CHECK(!t.r.irq[0]);
        CHECK(!t.r.irq[1]);
        CHECK(t.its.errors() == 0);

        // Wrong parameters: ignored, counted, the queue goes on.
        t.cmd(0x0a | t.dev(device), 6 | (100ull << 32), 0);   // MAPTI to an INTID that is no LPI
        t.cmd(0x09, 0, (1ull << 63) | (7ull << 16) | 2);      // MAPC to a CPU that does not exist
        t.cmd(0x0a | t.dev(device + 1), 1 | (8200ull << 32), 0);  // MAPTI on an unmapped device
        t.cmd(0x0a | t.dev(device), 32 | (8200ull << 32), 0);  // EventID beyond the device's 5 bits
        t.cmd(0xff);                                           // no such command
        CHECK(t.its.errors() == 5);
        CHECK(t.its.read(0x090, 8) == t.wr);
    }
}

TEST_CASE("gic v3 ITS: a queue outside RAM stalls; pending LPIs survive disabling", "[gic][its]") {
    ItsRig t;
    t.config(8200, 0x80, true);
    t.cmd(0x08 | t.dev(1), 0, (1ull << 63) | t.kItt);
    t.cmd(0x09, 0, (1ull << 63) | 0);
    t.cmd(0x0b | t.dev(1), 0, 0);  // MAPI: event 0 would be LPI 0, which is no LPI: refused
    CHECK(t.its.errors() == 1);
    t.cmd(0x0a | t.dev(1), 0 | (8200ull << 32), 0);
    // Disable LPIs on CPU 0 with 8200 pending: its bit goes to the pending
    // table, and comes back when they are enabled again.
    t.its.translate(1, 0);
    CHECK(t.r.irq[0]);
    auto& rd = t.r.gic.redistributors();
    rd.write(0x00, 4, 0);
    CHECK(!t.r.irq[0]);
    CHECK((t.ram[t.kPend0 - t.kRam + 8200 / 8] >> (8200 % 8) & 1) == 1);
    rd.write(0x00, 4, 1);
    CHECK(t.r.irq[0]);
    CHECK(t.iar(0) == 8200);
    // The command queue moved where there is no RAM: CREADR stalls.
    t.its.write(0x000, 4, 0);
    t.its.write(0x080, 8, (1ull << 63) | 0x1000);
    t.its.write(0x000, 4, 1);
    t.its.write(0x088, 8, 32);
    CHECK((t.its.read(0x090, 8) & 1) == 1);
}
