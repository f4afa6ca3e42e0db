#include "hw/pci/gpex.hpp"

#include <algorithm>

#include "base/trace.hpp"

namespace armvm {

// 00:00.0, the host bridge itself (QEMU's gpex-root: 1b36:0008, class
// 0x060000, no BARs).
class PciHost::HostBridge : public PciDevice {
public:
    HostBridge() : PciDevice(kPciVendorRedHat, 0x0008, 0x060000, 0) {
        set16(PCI_SUBSYSTEM_VENDOR_ID, 0x1af4);
        set16(PCI_SUBSYSTEM_ID, 0x1100);
        snapshot_reset_state();
    }
    std::string type_name() const override { return "gpex-root"; }
};

PciHost::PciHost(std::array<IrqLine, 4> intx, std::function<void(uint64_t, uint32_t, uint16_t)> msi)
    : root_bus_(*this, "pcie.0", nullptr, true),
      host_bridge_(std::make_unique<HostBridge>()),
      ecam_(*this),
      intx_lines_(std::move(intx)),
      msi_(std::move(msi)) {
    root_bus_.plug(host_bridge_.get(), 0);
}

PciHost::~PciHost() = default;

void PciHost::add_mmio_window(AddressSpace& as, uint64_t cpu_base, uint64_t size, std::string name) {
    as_ = &as;
    windows_.push_back(std::make_unique<Window>(false, cpu_base, cpu_base, size));
    as.add_mmio(cpu_base, size, windows_.back().get(), std::move(name), {.shown_offset = cpu_base});
}

void PciHost::add_pio_window(AddressSpace& as, uint64_t cpu_base, uint64_t size, std::string name) {
    as_ = &as;
    windows_.push_back(std::make_unique<Window>(true, cpu_base, 0, size));
    as.add_mmio(cpu_base, size, windows_.back().get(), std::move(name));
}

uint64_t PciHost::cpu_address(bool io, uint64_t addr) const {
    for (const auto& w : windows_)
        if (w->io == io && addr >= w->bus_base && addr - w->bus_base < w->size)
            return w->cpu_base + (addr - w->bus_base);
    return PciDevice::kUnmapped;
}

PciBus* PciHost::find_bus(unsigned number) {
    if (number == 0) return &root_bus_;
    PciBus* b = &root_bus_;
    // Down the bridges whose bus range holds the number.
    for (;;) {
        PciBus* next = nullptr;
        b->for_each([&](PciDevice& d) {
            PciBus* s = d.secondary();
            if (!s || next) return;
            unsigned sec = d.get8(PCI_SECONDARY_BUS), sub = d.get8(PCI_SUBORDINATE_BUS);
            if (sec != 0 && sec <= number && number <= sub) next = s;
        });
        if (!next) return nullptr;
        if (next->number() == number) return next;
        b = next;
    }
}

std::vector<PciBus*> PciHost::buses() {
    std::vector<PciBus*> out{&root_bus_};
    for (size_t i = 0; i < out.size(); ++i)
        out[i]->for_each([&](PciDevice& d) {
            if (PciBus* s = d.secondary()) out.push_back(s);
        });
    return out;
}

PciDevice* PciHost::function_at(uint64_t off) {
    PciBus* b = find_bus(static_cast<unsigned>(off >> 20) & 0xff);
    return b ? b->device(static_cast<uint8_t>(off >> 12)) : nullptr;
}

// ECAM (PCIe Base 4.0 section 7.2.2): bus[27:20] device[19:15]
// function[14:12] register[11:0]. An absent function reads all-ones;
// writes to it are dropped.
uint64_t PciHost::Ecam::read(uint64_t off, unsigned size) {
    PciDevice* d = h_.function_at(off);
    unsigned reg = off & 0xfff;
    if (!d || (size != 1 && size != 2 && size != 4) || (reg & (size - 1)))
        return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    uint32_t v = d->config_read(reg, size);
    ARMVM_TRACE(pci_cfg_read, "%s %02d:%02d.%d @0x%x -> 0x%x", d->type_name().c_str(),
                d->bus() ? d->bus()->number() : 0, d->devfn() >> 3, d->devfn() & 7, reg, v);
    return v;
}

void PciHost::Ecam::write(uint64_t off, unsigned size, uint64_t value) {
    PciDevice* d = h_.function_at(off);
    unsigned reg = off & 0xfff;
    if (!d || (size != 1 && size != 2 && size != 4) || (reg & (size - 1))) return;
    ARMVM_TRACE(pci_cfg_write, "%s %02d:%02d.%d @0x%x <- 0x%x", d->type_name().c_str(),
                d->bus() ? d->bus()->number() : 0, d->devfn() >> 3, d->devfn() & 7, reg,
                static_cast<uint32_t>(value));
    d->config_write(reg, size, static_cast<uint32_t>(value));
}

void PciHost::intx(unsigned line, bool level) {
    // Several functions share a line: it is high while any of them is.
    unsigned& n = intx_count_[line & 3];
    n = level ? n + 1 : (n ? n - 1 : 0);
    intx_lines_[line & 3].set(n != 0);
}

// Every decoded BAR of every function, clipped to each window it falls in,
// becomes a region over the windows; regions that stay are left alone.
// (Bridge windows are not checked: a guest that programs its BARs and
// windows consistently, as firmware and Linux do, sees the same.)
void PciHost::remap() {
    if (!as_) return;
    std::vector<Map> want;
    for (PciBus* b : buses())
        b->for_each([&](PciDevice& d) {
            for (unsigned i = 0; i < 7; ++i) {
                const PciDevice::Bar& bar = d.bar(i);
                if (bar.addr == PciDevice::kUnmapped || !bar.dev) continue;
                // A BAR without blocks is one (QEMU shows it at priority 1,
                // the blocks of a container at 0; both cover the window).
                std::vector<BarPart> parts = bar.parts;
                bool leaf = parts.empty();
                if (leaf) parts.push_back({bar.name, 0, bar.size});
                for (const BarPart& p : parts)
                    for (const auto& w : windows_) {
                        if (w->io != bar.io()) continue;
                        uint64_t at = bar.addr + p.offset;
                        uint64_t lo = std::max(at, w->bus_base);
                        uint64_t hi = std::min(at + p.size, w->bus_base + w->size);
                        if (lo >= hi) continue;
                        want.push_back({w->cpu_base + (lo - w->bus_base), hi - lo, bar.dev, lo - bar.addr, p.name,
                                        leaf ? 1 : 0, lo - at});
                    }
            }
        });
    AddressSpace::Batch batch(*as_);
    for (Map& m : maps_)
        if (std::find(want.begin(), want.end(), m) == want.end()) as_->del_region(m.id);
    std::vector<Map> now;
    for (Map& w : want) {
        auto it = std::find(maps_.begin(), maps_.end(), w);
        if (it != maps_.end()) w.id = it->id;
        else
            w.id = as_->add_mmio(w.cpu_base, w.size, w.dev, w.name,
                                 {.priority = 1, .dev_offset = w.dev_offset, .shown_priority = w.shown_priority,
                                  .shown_offset = w.shown_offset});
        now.push_back(std::move(w));
    }
    maps_ = std::move(now);
}

void PciHost::reset() {
    for (PciBus* b : buses()) b->for_each([](PciDevice& d) { d.reset(); });
    intx_count_ = {};
    for (auto& l : intx_lines_) l.set(false);
    remap();
}

}  // namespace armvm
