// The GIC's register banking through its MMIO interfaces.
#include <catch2/catch.hpp>

#include <vector>

#include "hw/intc/gic.hpp"

using namespace armvm;

namespace {
struct Rig {
    std::vector<bool> irq = std::vector<bool>(2, false);
    unsigned current = 0;
    Gic gic;
    explicit Rig(unsigned version)
        : gic(2, [this](unsigned c, bool l) { irq[c] = l; }, [this] { return current; }, version) {}
};
}  // namespace

TEST_CASE("gic v3: SPI registers are the distributor's, private ones the redistributors'", "[gic]") {
    Rig r(3);
    auto& d = r.gic.distributor();
    auto& rd = r.gic.redistributors();
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
    auto& d = r.gic.distributor();
    auto& c = r.gic.cpu_interface();
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
