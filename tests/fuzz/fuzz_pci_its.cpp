// libFuzzer target: what a guest can do to the PCIe and interrupt side of
// the virt board — configuration space through ECAM, BARs through the
// windows, MSI-X tables, virtio-pci registers and rings, a root port's hot-
// plug slot, the GICv3 redistributors' LPI registers and the ITS (its
// registers, a command queue and tables full of the fuzzer's bytes, MSIs
// from any requester) — on the real device models over 1 MiB of guest RAM.
//
// Input: a sequence of operations, each an opcode byte and its operands.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "cpu-arm64/sysregs/sysregs.hpp"
#include "hw/core/address_space.hpp"
#include "hw/intc/gic.hpp"
#include "hw/intc/gicv3_its.hpp"
#include "hw/pci/gpex.hpp"
#include "hw/pci/root_port.hpp"
#include "hw/virtio/virtio_blk.hpp"
#include "hw/virtio/virtio_pci.hpp"

#include "fuzz_input.hpp"

using namespace armvm;

namespace {

constexpr uint64_t kRam = 0x40000000, kRamSize = 1 << 20;
constexpr uint64_t kMmio = 0x10000000, kMmioSize = 0x2eff0000, kPio = 0x3eff0000;

struct Rig {
    std::mutex bql;
    std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize);
    AddressSpace as{bql};
    std::vector<bool> irq = std::vector<bool>(2, false);
    Gic gic{2, [this](unsigned c, bool l) { irq[c] = l; }, 3};
    Gic::GuestMem mem = [this](uint64_t pa, uint64_t len) { return as.ram_ptr(pa, len); };
    GicIts its{gic, mem};
    std::unique_ptr<PciHost> host;
    std::unique_ptr<PcieRootPort> port;
    std::vector<std::unique_ptr<VirtioPci>> fns;

    Rig() {
        as.add_ram(kRam, ram.data(), kRamSize);
        gic.enable_lpis(mem);
        std::array<IrqLine, 4> intx;
        for (unsigned i = 0; i < 4; ++i) intx[i] = IrqLine([this, i](bool l) { gic.set_spi(35 + i, l); });
        host = std::make_unique<PciHost>(std::move(intx), [this](uint64_t a, uint32_t d, uint16_t rid) {
            if (a == 0x08080000 + GicIts::kTranslater) its.translate(rid, d);
        });
        host->add_mmio_window(as, kMmio, kMmioSize, "pcie-mmio");
        host->add_pio_window(as, kPio, 0x10000, "pcie-pio");
        port = std::make_unique<PcieRootPort>(*host, "rp1", 16, 1, 0);
        host->root_bus().plug(port.get(), 2 << 3);
        port->on_power_off = [this] { port->secondary()->unplug(0); };
        VirtioPci::Options legacy;
        legacy.vectors = 2;
        fns.push_back(std::make_unique<VirtioPci>(as, std::make_unique<VirtioRng>(), legacy));
        host->root_bus().plug(fns.back().get(), 1 << 3);
        VirtioPci::Options modern;
        modern.vectors = 3;
        modern.modern_only = modern.express = true;
        fns.push_back(std::make_unique<VirtioPci>(as, std::make_unique<VirtioRng>(), modern));
        port->secondary()->plug(fns.back().get(), 0);
        port->hot_plugged();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // One machine, reset before each input as the board resets (RAM
    // cleared, the function behind the port plugged again if the last
    // input unplugged it): nothing leaks from one input into the next.
    static Rig r;
    std::lock_guard<std::mutex> g(r.bql);
    std::memset(r.ram.data(), 0, r.ram.size());
    if (!r.port->secondary()->device(0)) r.port->secondary()->plug(r.fns.back().get(), 0);
    r.gic.reset();
    r.its.reset_enter();
    r.host->reset();
    r.port->set_presence(true);
    FuzzReader in{data, size};
    static const unsigned kSizes[4] = {1, 2, 4, 8};
    while (in.n) {
        uint8_t op = in.get<uint8_t>();
        unsigned sz = kSizes[op >> 6];
        switch (op & 0x0f) {
        case 0: {  // ECAM write: bus 0..2, devfn, register
            uint32_t off = in.get<uint32_t>() & 0x2fffff;
            r.host->ecam().write(off, sz > 4 ? 4 : sz, in.get<uint32_t>());
            break;
        }
        case 1: r.host->ecam().read(in.get<uint32_t>() & 0x2fffff, sz > 4 ? 4 : sz); break;
        case 2: {  // a BAR access somewhere in the 32-bit window
            uint64_t off = in.get<uint32_t>() % kMmioSize;
            uint64_t v = in.get<uint64_t>();
            if (op & 0x10) r.as.write_locked(kMmio + off, sz, v);
            else r.as.read_locked(kMmio + off, sz, v);
            break;
        }
        case 3: r.as.write_locked(kPio + in.get<uint16_t>(), sz > 4 ? 4 : sz, in.get<uint32_t>()); break;
        case 4: {  // guest RAM: rings, tables, commands
            uint32_t off = in.get<uint32_t>() % (kRamSize - 8);
            uint64_t v = in.get<uint64_t>();
            std::memcpy(&r.ram[off], &v, 8);
            break;
        }
        case 5: {  // ITS registers
            uint32_t off = in.get<uint16_t>() & 0x1fff8;
            uint64_t v = in.get<uint64_t>();
            if (op & 0x10) r.its.write(off, sz >= 4 ? sz : 4, v);
            else r.its.read(off, sz >= 4 ? sz : 4);
            break;
        }
        case 6: {  // a whole ITS command at the queue's write pointer
            uint64_t cmd[4];
            for (auto& w : cmd) w = in.get<uint64_t>();
            uint64_t base = (in.get<uint16_t>() % 240) * 4096;
            std::memcpy(&r.ram[base], cmd, 32);
            r.its.write(0x80, 8, (1ull << 63) | (kRam + base) | 0);  // (ignored while enabled)
            r.its.write(0x88, 8, 32);
            break;
        }
        case 7: r.its.translate(in.get<uint16_t>(), in.get<uint32_t>()); break;
        case 8: {  // redistributor registers (LPI tables, EnableLPIs)
            uint32_t off = in.get<uint32_t>() % 0x40000;
            uint64_t v = in.get<uint64_t>();
            if ((off & 0xffff) == 0x70 || (off & 0xffff) == 0x78)
                v = (v & ~0x000ffffffffff000ull) | (kRam + (v & 0xff000));  // (point the tables into RAM mostly)
            if (op & 0x10) r.gic.redistributors().write(off, sz >= 4 ? sz : 4, v);
            else r.gic.redistributors().read(off, sz >= 4 ? sz : 4);
            break;
        }
        case 9: {  // the CPU interface: acknowledge and end what is pending
            uint64_t v = 0;
            unsigned cpu = op & 0x10 ? 1 : 0;
            r.gic.icc_access(cpu, sysreg_key(3, 0, 12, 12, 0), false, v);
            r.gic.icc_access(cpu, sysreg_key(3, 0, 12, 12, 1), true, v);
            break;
        }
        case 10: r.gic.distributor().write(in.get<uint16_t>() & 0xfffc, 4, in.get<uint32_t>()); break;
        case 11: (void)r.port->request_unplug(); break;
        default: break;
        }
    }
    return 0;
}
