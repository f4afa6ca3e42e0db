#include "hw/usb/xhci.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace armvm {
namespace {

// The BAR's layout (QEMU's).
constexpr uint64_t kOper = 0x40, kPorts = 0x440, kRuntime = 0x1000, kDoorbells = 0x2000, kMsixTable = 0x3000,
                   kMsixPba = 0x3800;
constexpr unsigned kMsixVectors = 16;

// USBCMD and USBSTS bits (xHCI 1.1 §5.4.1, §5.4.2).
enum : uint32_t {
    kCmdRun = 1u << 0, kCmdReset = 1u << 1, kCmdInte = 1u << 2, kCmdHsee = 1u << 3, kCmdLightReset = 1u << 7,
    kCmdSave = 1u << 8, kCmdRestore = 1u << 9, kCmdEwe = 1u << 10, kCmdEu3s = 1u << 11,
    kStsHalted = 1u << 0, kStsHse = 1u << 2, kStsEint = 1u << 3, kStsPcd = 1u << 4, kStsSre = 1u << 10,
};
// PORTSC bits (§5.4.8).
enum : uint32_t {
    kPortPower = 1u << 9, kPortLinkRxDetect = 5u << 5, kPortConnectChange = 1u << 17, kPortChangeBits = 0x7fu << 17,
    kPortRwBits = (3u << 14) | (7u << 25),  // indicator control, wake on connect/disconnect/over-current
};
// TRB types and completion codes (§6.4.6, §6.4.5).
enum : uint32_t {
    kTrbLink = 6, kTrbEnableSlot = 9, kTrbDisableSlot = 10, kTrbAddressDevice = 11, kTrbResetDevice = 17,
    kTrbNoOp = 23, kTrbCommandCompletion = 33,
    kCcSuccess = 1, kCcTrbError = 5, kCcNoSlots = 9, kCcSlotNotEnabled = 11, kCcContextState = 19,
};

uint64_t le64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
uint32_t le32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

uint64_t now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

}  // namespace

Xhci::Xhci(AddressSpace& as, Options o) : PciDevice(kPciVendorRedHat, 0x000d, 0x0c0330, 1), as_(as), o_(o) {
    o_.p2 = std::min(o_.p2, 15u);
    o_.p3 = std::min(o_.p3, 15u);
    set16(PCI_SUBSYSTEM_VENDOR_ID, kPciVendorVirtio);  // (QEMU's default subsystem)
    set16(PCI_SUBSYSTEM_ID, 0x1100);
    set8(PCI_INTERRUPT_PIN, 1);
    set8(0x60, 0x30);  // SBRN: USB 3.0
    add_bar(0, kBarSize, BarKind::Mem64, &regs_);
    if (o_.express) {
        unsigned c = add_pcie_capability(o_.root_complex ? PcieType::RcEndpoint : PcieType::Endpoint, 0xa0);
        set32(c + 4, 0x00008000);  // DevCap: role-based errors (no FLR, as QEMU's)
    }
    msix_cap_ = add_capability(PCI_CAP_ID_MSIX, 12, 0x90);
    set16(msix_cap_ + 2, kMsixVectors - 1);  // table size - 1
    set_wmask16(msix_cap_ + 2, 0xc000);      // enable, function mask
    set32(msix_cap_ + 4, kMsixTable);        // in BAR 0
    set32(msix_cap_ + 8, kMsixPba);
    msix_.init(*this, msix_cap_, kMsixVectors, kMsixTable, kMsixPba);
    portsc_.assign(ports(), 0);
    portpmsc_.assign(ports(), 0);
    portli_.assign(ports(), 0);
    porthlpmc_.assign(ports(), 0);
    hc_reset();
    snapshot_reset_state();
}

void Xhci::config_write(unsigned off, unsigned size, uint32_t value) {
    uint16_t old = get16(msix_cap_ + 2);
    PciDevice::config_write(off, size, value);
    if (get16(msix_cap_ + 2) != old) msix_.control_written();
    update_interrupt(0);  // (INTx disable, MSI-X enable)
}

void Xhci::reset() {
    PciDevice::reset();
    msix_.reset_vectors();
    hc_reset();
}

void Xhci::hc_reset() {
    usbcmd_ = 0;
    usbsts_ = kStsHalted;
    dnctrl_ = config_ = 0;
    crcr_ = dcbaap_ = cmd_dequeue_ = 0;
    cmd_cycle_ = false;
    for (unsigned p = 0; p < ports(); ++p) {
        // powered, nothing connected, the connect status changed (as QEMU's)
        portsc_[p] = kPortPower | kPortLinkRxDetect | kPortConnectChange;
        portpmsc_[p] = portli_[p] = porthlpmc_[p] = 0;
    }
    intr_ = {};
    slot_enabled_ = {};
    mfindex_start_ns_ = now_ns();
    set_intx(false);
}

bool Xhci::dma_read(uint64_t pa, void* out, size_t len) {
    if (!(command() & PCI_COMMAND_MASTER)) return false;
    const uint8_t* p = as_.ram_ptr(pa, len);
    if (!p) return false;
    std::memcpy(out, p, len);
    return true;
}

bool Xhci::dma_write(uint64_t pa, const void* in, size_t len) {
    if (!(command() & PCI_COMMAND_MASTER)) return false;
    uint8_t* p = as_.ram_ptr(pa, len);
    if (!p) return false;
    std::memcpy(p, in, len);
    as_.device_wrote(p, len);
    return true;
}

uint32_t Xhci::mfindex() const {
    return static_cast<uint32_t>((now_ns() - mfindex_start_ns_) / 125'000) & 0x3fff;  // microframes since reset
}

uint64_t Xhci::Regs::read(uint64_t off, unsigned size) {
    if (off >= kMsixTable) return x_.msix_.read(off, size);
    if (size == 8) return x_.read_reg(off) | static_cast<uint64_t>(x_.read_reg(off + 4)) << 32;
    uint32_t v = x_.read_reg(off & ~3ull) >> (8 * (off & 3));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

void Xhci::Regs::write(uint64_t off, unsigned size, uint64_t value) {
    if (off >= kMsixTable) return x_.msix_.write(off, size, value);
    if (off & 3) return;  // (registers are dwords and qwords)
    if (size == 8) {
        x_.write_reg(off, static_cast<uint32_t>(value));
        x_.write_reg(off + 4, static_cast<uint32_t>(value >> 32));
    } else if (size == 4) {
        x_.write_reg(off, static_cast<uint32_t>(value));
    }
}

uint32_t Xhci::read_reg(uint64_t off) {
    switch (off) {
    // Capability registers (§5.3)
    case 0x00: return 0x01000000 | static_cast<uint32_t>(kOper);  // HCIVERSION 1.0, CAPLENGTH
    case 0x04: return ports() << 24 | kInterrupters << 8 | kSlots;
    case 0x08: return 0x0000000f;  // IST: 15 frames; no scratchpad buffers
    case 0x0c: return 0;           // no U1/U2 exit latencies
    case 0x10: return 0x00087001;  // 64-bit addresses, 7 primary stream array bits, extended capabilities at 0x20
    case 0x14: return static_cast<uint32_t>(kDoorbells);
    case 0x18: return static_cast<uint32_t>(kRuntime);
    case 0x1c: return 0;
    // Extended capabilities: supported protocols, USB 2 then USB 3 (§7.2)
    case 0x20: return 0x02000402;
    case 0x24: case 0x34: return 0x20425355;  // "USB "
    case 0x28: return o_.p2 << 8 | (o_.p3 + 1);
    case 0x30: return 0x03000002;
    case 0x38: return o_.p3 << 8 | 1;
    // Operational registers (§5.4)
    case kOper + 0x00: return usbcmd_;
    case kOper + 0x04: return usbsts_;
    case kOper + 0x08: return 1;  // 4 KiB pages
    case kOper + 0x14: return dnctrl_;
    case kOper + 0x18: return 0;  // CRCR: the ring pointer reads 0; the ring never stays running
    case kOper + 0x1c: return 0;
    case kOper + 0x30: return static_cast<uint32_t>(dcbaap_);
    case kOper + 0x34: return static_cast<uint32_t>(dcbaap_ >> 32);
    case kOper + 0x38: return config_;
    default: break;
    }
    if (off >= kPorts && off < kPorts + 0x10ull * ports()) {
        unsigned p = static_cast<unsigned>((off - kPorts) / 0x10);
        switch ((off - kPorts) % 0x10) {
        case 0x0: return portsc_[p];
        case 0x4: return portpmsc_[p];
        case 0x8: return portli_[p];
        default: return porthlpmc_[p];
        }
    }
    if (off == kRuntime) return mfindex();
    if (off >= kRuntime + 0x20 && off < kRuntime + 0x20 + 0x20ull * kInterrupters) {
        const Interrupter& in = intr_[(off - kRuntime - 0x20) / 0x20];
        switch ((off - kRuntime - 0x20) % 0x20) {
        case 0x00: return in.iman;
        case 0x04: return in.imod;
        case 0x08: return in.erstsz;
        case 0x10: return static_cast<uint32_t>(in.erstba);
        case 0x14: return static_cast<uint32_t>(in.erstba >> 32);
        case 0x18: return static_cast<uint32_t>(in.erdp);
        case 0x1c: return static_cast<uint32_t>(in.erdp >> 32);
        default: return 0;
        }
    }
    return 0;  // (doorbells read 0; reserved space)
}

void Xhci::write_reg(uint64_t off, uint32_t v) {
    auto lo = [](uint64_t& r, uint32_t v, uint64_t mask) { r = (r & ~0xffffffffull) | (v & mask); };
    auto hi = [](uint64_t& r, uint32_t v) { r = (r & 0xffffffffull) | static_cast<uint64_t>(v) << 32; };
    switch (off) {
    case kOper + 0x00: return write_usbcmd(v);
    case kOper + 0x04:
        usbsts_ &= ~(v & (kStsHse | kStsEint | kStsPcd | kStsSre));
        return;
    case kOper + 0x14: dnctrl_ = v & 0xffff; return;
    case kOper + 0x18:
        lo(crcr_, v, ~0x3full);
        cmd_dequeue_ = crcr_;
        cmd_cycle_ = v & 1;
        return;
    case kOper + 0x1c:
        hi(crcr_, v);
        cmd_dequeue_ = crcr_;
        return;
    case kOper + 0x30: lo(dcbaap_, v, ~0x3full); return;
    case kOper + 0x34: hi(dcbaap_, v); return;
    case kOper + 0x38: config_ = v & 0x3ff; return;
    default: break;
    }
    if (off >= kPorts && off < kPorts + 0x10ull * ports()) {
        unsigned p = static_cast<unsigned>((off - kPorts) / 0x10);
        switch ((off - kPorts) % 0x10) {
        case 0x0: return write_portsc(p, v);
        case 0x4: portpmsc_[p] = v; return;
        case 0x8: return;  // PORTLI: read-only
        default: porthlpmc_[p] = v; return;
        }
    }
    if (off >= kRuntime + 0x20 && off < kRuntime + 0x20 + 0x20ull * kInterrupters) {
        unsigned i = static_cast<unsigned>((off - kRuntime - 0x20) / 0x20);
        return write_runtime(i, static_cast<unsigned>((off - kRuntime - 0x20) % 0x20), v);
    }
    if (off == kDoorbells) {
        // The host controller's doorbell: commands (target 0).
        if ((v & 0xff) == 0) run_command_ring();
        return;
    }
    // (device slots' doorbells: no slot has a device; reserved space)
}

void Xhci::write_usbcmd(uint32_t v) {
    if (v & kCmdReset) {
        hc_reset();  // (the bit reads 0 at once: the reset is done)
        return;
    }
    bool was_running = usbcmd_ & kCmdRun;
    usbcmd_ = v & (kCmdRun | kCmdInte | kCmdHsee | kCmdEwe | kCmdEu3s);
    if ((v & kCmdRun) && !was_running) {
        usbsts_ &= ~kStsHalted;
    } else if (!(v & kCmdRun)) {
        usbsts_ |= kStsHalted;
    }
    // (CSS/CRS, save and restore state: done at once, SSS/RSS never read 1;
    // light reset is not offered by HCCPARAMS1)
    update_interrupt(0);
}

void Xhci::write_portsc(unsigned p, uint32_t v) {
    uint32_t s = portsc_[p];
    s &= ~(v & kPortChangeBits);  // change bits: write 1 to clear
    s = (s & ~(kPortRwBits | kPortPower)) | (v & (kPortRwBits | kPortPower));
    // (port reset, warm reset, enable and link state writes: nothing is
    // connected, so there is nothing to reset or enable)
    portsc_[p] = s;
}

void Xhci::write_runtime(unsigned i, unsigned reg, uint32_t v) {
    Interrupter& in = intr_[i];
    auto ring_reset = [&] {
        in.seg = in.idx = 0;
        in.pcs = true;
    };
    switch (reg) {
    case 0x00:
        in.iman = (in.iman & ~2u & ~(v & 1u)) | (v & 2u);  // IP: write 1 to clear; IE
        update_interrupt(i);
        return;
    case 0x04: in.imod = v; return;
    case 0x08: in.erstsz = v & 0xffff; return;
    case 0x10:
        in.erstba = (in.erstba & ~0xffffffffull) | (v & ~0x3fu);
        ring_reset();
        return;
    case 0x14:
        in.erstba = (in.erstba & 0xffffffffull) | static_cast<uint64_t>(v) << 32;
        ring_reset();
        return;
    case 0x18: {
        uint32_t ehb = (in.erdp & 8) && !(v & 8) ? 8 : 0;  // EHB: write 1 to clear
        in.erdp = (in.erdp & ~0xffffffffull) | (v & ~0xfu) | (v & 7) | ehb;
        return;
    }
    case 0x1c: in.erdp = (in.erdp & 0xffffffffull) | static_cast<uint64_t>(v) << 32; return;
    default: return;
    }
}

void Xhci::run_command_ring() {
    if (usbsts_ & kStsHalted) return;
    // (a bound on the TRBs looked at: a ring of links is the guest's bug,
    // not a reason to hang)
    for (unsigned n = 0; n < 4096; ++n) {
        uint8_t trb[16];
        if (!dma_read(cmd_dequeue_, trb, sizeof trb)) {
            usbsts_ |= kStsHse;
            return;
        }
        uint32_t control = le32(trb + 12);
        if ((control & 1) != static_cast<uint32_t>(cmd_cycle_)) return;  // the ring is empty
        uint32_t type = (control >> 10) & 0x3f;
        if (type == kTrbLink) {
            cmd_dequeue_ = le64(trb) & ~0xfull;
            if (control & 2) cmd_cycle_ = !cmd_cycle_;
            continue;
        }
        unsigned slot = control >> 24;
        uint32_t code = kCcTrbError;
        if (type == kTrbNoOp) {
            code = kCcSuccess;
        } else if (type == kTrbEnableSlot) {
            unsigned max = std::min<unsigned>(config_ & 0xff, kSlots);
            slot = 0;
            for (unsigned s = 1; s <= max && !slot; ++s)
                if (!slot_enabled_[s]) slot = s;
            code = slot ? kCcSuccess : kCcNoSlots;
            if (slot) slot_enabled_[slot] = true;
        } else if (type == kTrbDisableSlot) {
            code = slot >= 1 && slot <= kSlots && slot_enabled_[slot] ? kCcSuccess : kCcSlotNotEnabled;
            if (code == kCcSuccess) slot_enabled_[slot] = false;
        } else if (type >= kTrbAddressDevice && type <= kTrbResetDevice) {
            // (a slot's device commands: no slot has a device behind it)
            code = slot >= 1 && slot <= kSlots && slot_enabled_[slot] ? kCcContextState : kCcSlotNotEnabled;
        }
        post_event(0, cmd_dequeue_, code << 24, kTrbCommandCompletion << 10 | slot << 24);
        cmd_dequeue_ += 16;
    }
}

void Xhci::post_event(unsigned i, uint64_t param, uint32_t status, uint32_t control) {
    Interrupter& in = intr_[i];
    if (in.erstsz == 0) return;
    auto segment = [&](unsigned seg, uint64_t& base, uint32_t& size) {
        uint8_t e[16];
        if (!dma_read(in.erstba + 16ull * seg, e, sizeof e)) return false;
        base = le64(e) & ~0x3full;
        size = le32(e + 8) & 0xffff;
        return size != 0;
    };
    uint64_t base;
    uint32_t size;
    if (in.seg >= in.erstsz) in.seg = 0;
    if (!segment(in.seg, base, size)) {
        usbsts_ |= kStsHse;
        return;
    }
    if (in.idx >= size) in.idx = 0;
    // Full when the slot after this one is where the driver will read
    // next: the event is dropped (the guest has not kept up).
    unsigned nseg = in.seg, nidx = in.idx + 1;
    if (nidx >= size) nidx = 0, nseg = (nseg + 1) % in.erstsz;
    uint64_t nbase = base;
    uint32_t nsize = size;
    if (nseg != in.seg && !segment(nseg, nbase, nsize)) return;
    if (nbase + 16ull * nidx == (in.erdp & ~0xfull)) return;
    uint8_t trb[16];
    std::memcpy(trb, &param, 8);
    std::memcpy(trb + 8, &status, 4);
    uint32_t c = (control & ~1u) | (in.pcs ? 1 : 0);
    std::memcpy(trb + 12, &c, 4);
    if (!dma_write(base + 16ull * in.idx, trb, sizeof trb)) {
        usbsts_ |= kStsHse;
        return;
    }
    if (nseg == 0 && nidx == 0) in.pcs = !in.pcs;  // wrapped to the first segment
    in.seg = nseg;
    in.idx = nidx;
    in.iman |= 1;     // IP
    in.erdp |= 8;     // EHB
    usbsts_ |= kStsEint;
    if ((in.iman & 2) && (usbcmd_ & kCmdInte) && msix_.enabled()) msix_.notify(i);
    update_interrupt(i);
}

void Xhci::update_interrupt(unsigned i) {
    if (i != 0) return;
    if (msix_.enabled()) return set_intx(false);  // (MSI-X messages are sent as events come)
    const Interrupter& in = intr_[0];
    set_intx((in.iman & 1) && (in.iman & 2) && (usbcmd_ & kCmdInte));
}

}  // namespace armvm
