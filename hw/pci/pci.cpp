#include "hw/pci/pci.hpp"

#include <cinttypes>
#include <cstring>

#include "base/trace.hpp"

namespace armvm {

PciDevice::PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision, uint8_t header_type) {
    set16(PCI_VENDOR_ID, vendor);
    set16(PCI_DEVICE_ID, device);
    set8(PCI_REVISION_ID, revision);
    set8(PCI_CLASS_PROG, static_cast<uint8_t>(class_code));
    set16(PCI_CLASS_PROG + 1, static_cast<uint16_t>(class_code >> 8));
    set8(PCI_HEADER_TYPE, header_type);
    // Command: I/O, memory, bus master, SERR#, INTx disable (what QEMU lets
    // a guest write); the status error bits are write-1-to-clear.
    set_wmask16(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
                                 PCI_COMMAND_INTX_DISABLE);
    set_w1c16(PCI_STATUS, 0xf900);
    wmask_[PCI_CACHE_LINE_SIZE] = 0xff;
    wmask_[PCI_INTERRUPT_LINE] = 0xff;
    if (header_type == 1) {
        wmask_[PCI_PRIMARY_BUS] = wmask_[PCI_SECONDARY_BUS] = wmask_[PCI_SUBORDINATE_BUS] = 0xff;
        wmask_[PCI_LATENCY_TIMER + 0x0e] = 0xff;  // secondary latency timer (0x1b)
        // I/O window: 16-bit addressing, 4 KiB granules (as QEMU's ports).
        wmask_[PCI_IO_BASE] = wmask_[PCI_IO_LIMIT] = 0xf0;
        set_w1c16(PCI_SEC_STATUS, 0xf900);
        set_wmask16(PCI_MEMORY_BASE, 0xfff0);
        set_wmask16(PCI_MEMORY_LIMIT, 0xfff0);
        // Prefetchable window: 64-bit (low nibble 1).
        set_wmask16(PCI_PREF_MEMORY_BASE, 0xfff0);
        set_wmask16(PCI_PREF_MEMORY_LIMIT, 0xfff0);
        set16(PCI_PREF_MEMORY_BASE, 0x0001);
        set16(PCI_PREF_MEMORY_LIMIT, 0x0001);
        set_wmask32(PCI_PREF_BASE_UPPER32, 0xffffffff);
        set_wmask32(PCI_PREF_LIMIT_UPPER32, 0xffffffff);
        set_wmask16(PCI_BRIDGE_CONTROL, 0x0fff & ~0x0080u);  // (no fast back-to-back)
    }
    for (unsigned i = 0; i < 0x40; ++i) used_[i] = true;
}

uint16_t PciDevice::requester_id() const { return static_cast<uint16_t>((bus_ ? bus_->number() : 0) << 8 | devfn_); }

void PciDevice::set_multifunction(bool on) {
    cfg_[PCI_HEADER_TYPE] = static_cast<uint8_t>((cfg_[PCI_HEADER_TYPE] & 0x7f) | (on ? 0x80 : 0));
    reset_cfg_[PCI_HEADER_TYPE] = cfg_[PCI_HEADER_TYPE];
}

void PciDevice::add_bar(unsigned i, uint64_t size, BarKind kind, MmioDevice* dev, std::vector<BarPart> parts,
                        std::string name) {
    Bar& b = bars_[i];
    b.size = size;
    b.kind = kind;
    b.dev = dev;
    b.parts = std::move(parts);
    b.name = std::move(name);
    unsigned off = PCI_BAR0 + 4 * i;
    set32(off, static_cast<uint8_t>(kind));
    uint64_t mask = ~(size - 1) & (kind == BarKind::Io ? ~3ull : ~15ull);
    set_wmask32(off, static_cast<uint32_t>(mask));
    if (b.is64()) set_wmask32(off + 4, static_cast<uint32_t>(mask >> 32));
}

unsigned PciDevice::add_capability(uint8_t id, unsigned len, unsigned at) {
    unsigned off = at ? at : 0x40;
    for (; off + len <= 256; off += 4) {
        bool free = true;
        for (unsigned i = 0; i < len && free; ++i) free = !used_[off + i];
        if (free) break;
    }
    if (off + len > 256) return 0;  // (device construction bug: asserted by callers)
    for (unsigned i = 0; i < len; ++i) used_[off + i] = true;
    set8(off, id);
    set8(off + 1, get8(PCI_CAPABILITY_LIST));
    set8(PCI_CAPABILITY_LIST, static_cast<uint8_t>(off));
    set16(PCI_STATUS, get16(PCI_STATUS) | PCI_STATUS_CAP_LIST);
    return off;
}

unsigned PciDevice::add_ext_capability(uint16_t id, uint8_t version, unsigned len) {
    unsigned off = next_ext_;
    if (last_ext_cap_) set32(last_ext_cap_, get32(last_ext_cap_) | (off << 20));
    set32(off, id | static_cast<uint32_t>(version) << 16);
    last_ext_cap_ = off;
    next_ext_ = (off + len + 3) & ~3u;
    return off;
}

// PCIe Base 4.0 section 7.5.3, with the values QEMU 7.2 gives (read from
// its guests' configuration space): an endpoint at 2.5 GT/s x1; a root
// port advertising 16 GT/s x32 with a hot-plug slot.
unsigned PciDevice::add_pcie_capability(PcieType type, unsigned at) {
    unsigned c = add_capability(PCI_CAP_ID_EXP, 0x3c, at);
    bool port = type == PcieType::RootPort;
    set16(c + 2, static_cast<uint16_t>(2 | static_cast<unsigned>(type) << 4 | (port ? 0x100 : 0)));  // v2, slot
    set32(c + 4, port ? 0x00008000 : 0x10008000);  // DevCap: role-based errors (+ FLR for endpoints)
    set_wmask16(c + 8, 0x7cff);                    // DevCtl
    set_w1c16(c + 0xa, 0x000f);                    // DevSta: error bits
    if (port) {
        set32(c + 0xc, 0x00300604);  // LnkCap: 16 GT/s x32, DLL active reporting, bandwidth notification
        set16(c + 0x12, 0x2011);     // LnkSta: 2.5 GT/s x1, DLL link active
        set_wmask16(c + 0x10, 0x0fdf);  // LnkCtl (Retrain Link reads as 0)
        // SltCap: attention button, power controller, attention and power
        // indicators, surprise removal, hot-plug capable, interlock.
        set32(c + 0x14, 0x0002007b);
        // SltCtl: indicators, power control and the hot-plug interrupt
        // enables (not the link-state one); both indicators off.
        set_wmask16(c + 0x18, 0x07f9);
        set16(c + 0x18, 0x03c0);
        set_w1c16(c + 0x1a, 0x011f);
        set_wmask16(c + 0x1c, 0x0007);  // RootCtl: system error enables
        set32(c + 0x24, 0x00300020);    // DevCap2: ARI forwarding, extended fmt, end-end prefixes
        set_wmask16(c + 0x28, 0x0020);  // DevCtl2: ARI forwarding enable
        set32(c + 0x2c, 0x0000001e);    // LnkCap2: 2.5 to 16 GT/s
        set16(c + 0x30, 0x0004);        // LnkCtl2: target 16 GT/s
        set_wmask16(c + 0x30, 0x000f);
    } else {
        set32(c + 0xc, 0x00000411);  // LnkCap: 2.5 GT/s x1, L0s
        set16(c + 0x12, 0x0011);     // LnkSta: 2.5 GT/s x1
        set_wmask16(c + 0x10, 0x01c3);
        set32(c + 0x24, 0x00300000);  // DevCap2: extended fmt, end-end prefixes
    }
    pcie_cap_ = c;
    return c;
}

void PciDevice::snapshot_reset_state() { reset_cfg_ = cfg_; }

uint32_t PciDevice::config_read(unsigned off, unsigned size) {
    if (off >= kConfigSize || size > kConfigSize - off) return ~0u;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= static_cast<uint32_t>(cfg_[off + i]) << (8 * i);
    return v;
}

void PciDevice::config_write(unsigned off, unsigned size, uint32_t value) {
    if (off >= kConfigSize || size > kConfigSize - off) return;
    uint16_t old_cmd = command();
    bool touches_bars = false;
    for (unsigned i = 0; i < size; ++i) {
        unsigned o = off + i;
        uint8_t b = static_cast<uint8_t>(value >> (8 * i));
        cfg_[o] = static_cast<uint8_t>((cfg_[o] & ~wmask_[o]) | (b & wmask_[o]));
        cfg_[o] &= static_cast<uint8_t>(~(b & w1cmask_[o]));
        unsigned rom = is_bridge() ? PCI_ROM_ADDRESS1 : PCI_ROM_ADDRESS;
        if ((o >= PCI_BAR0 && o < PCI_BAR0 + 24) || (is_bridge() && o >= PCI_IO_BASE && o < PCI_ROM_ADDRESS1) ||
            (o >= rom && o < rom + 4))
            touches_bars = true;
    }
    if (command() != old_cmd) {
        // INTx disable: the line follows the bit.
        if ((command() ^ old_cmd) & PCI_COMMAND_INTX_DISABLE) {
            // The pin shows the device's line (the status bit) unless disabled.
            bool want = (get16(PCI_STATUS) & PCI_STATUS_INTERRUPT) && !(command() & PCI_COMMAND_INTX_DISABLE);
            if (want != intx_level_ && get8(PCI_INTERRUPT_PIN)) {
                intx_level_ = want;
                if (bus_) bus_->intx(devfn_, get8(PCI_INTERRUPT_PIN) - 1u, want);
            }
        }
        touches_bars = touches_bars || ((command() ^ old_cmd) & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    }
    if (touches_bars) bars_changed();
}

uint64_t PciDevice::decode_bar(unsigned i) const {
    const Bar& b = bars_[i];
    if (!b.size) return kUnmapped;
    if (i == 6) {  // the ROM: its enable bit and the memory space
        uint32_t r = get32(is_bridge() ? PCI_ROM_ADDRESS1 : PCI_ROM_ADDRESS);
        if (!(r & 1) || !(command() & PCI_COMMAND_MEMORY)) return kUnmapped;
        return r & ~static_cast<uint32_t>(b.size - 1) & ~1u;
    }
    if (!(command() & (b.io() ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY))) return kUnmapped;
    unsigned off = PCI_BAR0 + 4 * i;
    uint64_t a = get32(off) & (b.io() ? ~3u : ~15u);
    if (b.is64()) a |= static_cast<uint64_t>(get32(off + 4)) << 32;
    // All-ones from sizing (it wraps): not decoded. Address 0 is a real
    // one on the virt board, whose I/O window starts at bus address 0
    // (QEMU's virt allows it; UEFI puts the first I/O BAR there).
    if (a + b.size - 1 < a) return kUnmapped;
    if (b.io() && a + b.size > 0x10000) return kUnmapped;
    if (a & (b.size - 1)) return kUnmapped;
    return a;
}

// The ROM's bytes, read-only (writes are dropped), any size.
class PciDevice::RomBar : public MmioDevice {
public:
    explicit RomBar(std::vector<uint8_t> b) : bytes(std::move(b)) {}
    AccessSizes access_sizes(uint64_t) override { return {1, 8}; }  // (memory)
    uint64_t read(uint64_t off, unsigned size) override {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && i < 8; ++i)
            if (off + i < bytes.size()) v |= static_cast<uint64_t>(bytes[off + i]) << (8 * i);
        return v;
    }
    void write(uint64_t, unsigned, uint64_t) override {}
    std::vector<uint8_t> bytes;
};

void PciDevice::set_rom(std::vector<uint8_t> bytes) {
    rom_ = std::make_shared<RomBar>(std::move(bytes));
    uint64_t size = rom_->bytes.size();
    bars_[6] = Bar{size, BarKind::Mem32, rom_.get(), {}, type_name() + ".rom"};
    unsigned reg = is_bridge() ? PCI_ROM_ADDRESS1 : PCI_ROM_ADDRESS;
    set32(reg, 0);
    set_wmask32(reg, ~static_cast<uint32_t>(size - 1) | 1u);  // address bits and the enable bit
    snapshot_reset_state();
}

PciRoot* PciDevice::root() const { return bus_ ? &bus_->root() : nullptr; }

void PciDevice::bars_changed() {
    for (unsigned i = 0; i < bars_.size(); ++i) {
        uint64_t now = decode_bar(i);
        Bar& b = bars_[i];
        if (now == b.addr) continue;
        unsigned bus = bus_ ? bus_->number() : 0;
        if (b.addr != kUnmapped)
            ARMVM_TRACE(pci_update_mappings_del, "%s %02x:%02x.%x %d,0x%" PRIx64 "+0x%" PRIx64, type_name().c_str(),
                        bus, devfn_ >> 3, devfn_ & 7, i, b.addr, b.size);
        if (now != kUnmapped)
            ARMVM_TRACE(pci_update_mappings_add, "%s %02x:%02x.%x %d,0x%" PRIx64 "+0x%" PRIx64, type_name().c_str(),
                        bus, devfn_ >> 3, devfn_ & 7, i, now, b.size);
        b.addr = now;
    }
    if (bus_) bus_->root().remap();
    bars_moved();
}

void PciDevice::reset() {
    bool was_mapped = false;
    for (auto& b : bars_) was_mapped = was_mapped || b.addr != kUnmapped;
    cfg_ = reset_cfg_;
    if (intx_level_ && bus_) bus_->intx(devfn_, get8(PCI_INTERRUPT_PIN) - 1u, false);
    intx_level_ = false;
    for (auto& b : bars_) b.addr = kUnmapped;
    if (was_mapped && bus_) bus_->root().remap();
    if (was_mapped) bars_moved();
}

void PciDevice::set_intx(bool level) {
    if (level) set16(PCI_STATUS, get16(PCI_STATUS) | PCI_STATUS_INTERRUPT);
    else set16(PCI_STATUS, get16(PCI_STATUS) & ~PCI_STATUS_INTERRUPT);
    if (command() & PCI_COMMAND_INTX_DISABLE) level = false;
    if (level == intx_level_ || !get8(PCI_INTERRUPT_PIN)) return;
    intx_level_ = level;
    if (bus_) bus_->intx(devfn_, get8(PCI_INTERRUPT_PIN) - 1u, level);
}

void PciDevice::msi_write(uint64_t addr, uint32_t data) {
    if (!(command() & PCI_COMMAND_MASTER) || !bus_) return;  // (no bus mastering: the write is not made)
    bus_->root().msi(addr, data, requester_id());
}

// --- the bus ---

unsigned PciBus::number() const { return bridge_ ? bridge_->get8(PCI_SECONDARY_BUS) : 0; }

int PciBus::free_devfn() const {
    for (unsigned s = 0; s < 32; ++s) {
        bool empty = true;
        for (unsigned f = 0; f < 8; ++f) empty = empty && !slots_[s * 8 + f];
        if (empty) return static_cast<int>(s * 8);
    }
    return -1;
}

bool PciBus::plug(PciDevice* d, uint8_t devfn) {
    if (slots_[devfn]) return false;
    slots_[devfn] = d;
    d->attach(this, devfn);
    return true;
}

void PciBus::intx(uint8_t devfn, unsigned pin, bool level) {
    // The standard swizzle (PCI-to-PCI Bridge 1.2 section 9.1): a device's
    // pin appears at the bridge as pin + slot, modulo 4.
    unsigned p = (pin + (devfn >> 3)) & 3;
    if (!bridge_) return root_.intx(p, level);
    bridge_->bus()->intx(bridge_->devfn(), p, level);
}

// --- MSI-X ---

namespace {
constexpr uint16_t kMsixEnable = 0x8000, kMsixFunctionMask = 0x4000;
}

void Msix::init(PciDevice& dev, unsigned cap, unsigned vectors, uint32_t table_off, uint32_t pba_off) {
    dev_ = &dev;
    cap_ = cap;
    vectors_ = vectors;
    table_off_ = table_off;
    pba_off_ = pba_off;
    table_.assign(16ull * vectors, 0);
    pba_.assign((vectors + 63) / 64, 0);
    reset_vectors();
}

std::vector<BarPart> Msix::parts(unsigned vectors, uint32_t table_off, uint32_t pba_off) {
    return {{"msix-table", table_off, 16ull * vectors}, {"msix-pba", pba_off, 8ull * ((vectors + 63) / 64)}};
}

void Msix::reset_vectors() {
    std::fill(table_.begin(), table_.end(), 0);
    for (unsigned v = 0; v < vectors_; ++v) table_[16ull * v + 12] = 1;  // vector control: masked
    std::fill(pba_.begin(), pba_.end(), 0);
}

bool Msix::enabled() const { return dev_ && (dev_->get16(cap_ + 2) & kMsixEnable); }

bool Msix::masked(unsigned v) const {
    return (dev_->get16(cap_ + 2) & kMsixFunctionMask) || (table_[16ull * v + 12] & 1);
}

void Msix::notify(unsigned v) {
    if (v >= vectors_ || !enabled()) return;
    if (masked(v)) {
        pba_[v / 64] |= 1ull << (v % 64);
        return;
    }
    uint64_t addr;
    uint32_t data;
    std::memcpy(&addr, &table_[16ull * v], 8);
    std::memcpy(&data, &table_[16ull * v + 8], 4);
    dev_->msi_write(addr, data);
}

void Msix::deliver_pending() {
    if (!enabled()) return;
    for (unsigned v = 0; v < vectors_; ++v)
        if ((pba_[v / 64] >> (v % 64) & 1) && !masked(v)) {
            pba_[v / 64] &= ~(1ull << (v % 64));
            notify(v);
        }
}

void Msix::control_written() { deliver_pending(); }

uint64_t Msix::read(uint64_t off, unsigned size) {
    uint64_t v = 0;
    if (off >= table_off_ && off - table_off_ + size <= table_.size()) {
        std::memcpy(&v, &table_[off - table_off_], size);
    } else if (off >= pba_off_ && off - pba_off_ + size <= 8 * pba_.size()) {
        std::memcpy(&v, reinterpret_cast<uint8_t*>(pba_.data()) + (off - pba_off_), size);
    }
    return v;
}

void Msix::write(uint64_t off, unsigned size, uint64_t value) {
    if (off < table_off_ || off - table_off_ + size > table_.size()) return;  // (the PBA is read-only)
    uint64_t o = off - table_off_;
    std::memcpy(&table_[o], &value, size);
    // An unmasked vector with its pending bit set fires now.
    if ((o % 16) + size > 12) deliver_pending();
}

const char* pci_class_name(uint16_t cls) {
    switch (cls) {
    case 0x0100: return "SCSI controller";
    case 0x0200: return "Ethernet controller";
    case 0x0600: return "Host bridge";
    case 0x0604: return "PCI bridge";
    case 0x0c03: return "USB controller";
    default: return nullptr;
    }
}

}  // namespace armvm
