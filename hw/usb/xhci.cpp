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
    kPortCcs = 1u << 0, kPortPed = 1u << 1, kPortReset = 1u << 4, kPortPlsShift = 5, kPortPlsMask = 0xfu << 5,
    kPortPower = 1u << 9, kPortSpeedShift = 10, kPortLws = 1u << 16, kPortConnectChange = 1u << 17,
    kPortWarmResetChange = 1u << 19, kPortResetChange = 1u << 21, kPortLinkChange = 1u << 22,
    kPortChangeBits = 0x7fu << 17, kPortWarmReset = 1u << 31,
    kPortRwBits = (3u << 14) | (7u << 25),  // indicator control, wake on connect/disconnect/over-current
};
// Port link states.
enum : uint32_t { kPlsU0 = 0, kPlsU3 = 3, kPlsRxDetect = 5, kPlsPolling = 7 };
// TRB types and completion codes (§6.4.6, §6.4.5).
enum : uint32_t {
    kTrbNormal = 1, kTrbSetup = 2, kTrbData = 3, kTrbStatus = 4, kTrbLink = 6, kTrbEventData = 7, kTrbTrNoOp = 8,
    kTrbEnableSlot = 9, kTrbDisableSlot = 10, kTrbAddressDevice = 11, kTrbConfigureEndpoint = 12,
    kTrbEvaluateContext = 13, kTrbResetEndpoint = 14, kTrbStopEndpoint = 15, kTrbSetTrDequeue = 16,
    kTrbResetDevice = 17, kTrbNoOp = 23, kTrbTransferEvent = 32, kTrbCommandCompletion = 33,
    kTrbPortStatusChange = 34,
    kCcSuccess = 1, kCcTransactionError = 4, kCcTrbError = 5, kCcStall = 6, kCcNoSlots = 9,
    kCcSlotNotEnabled = 11, kCcEpNotEnabled = 12, kCcShortPacket = 13, kCcParameter = 17, kCcContextState = 19,
};
// TRB control bits.
enum : uint32_t { kTrbCycle = 1, kTrbToggle = 2, kTrbIsp = 1u << 2, kTrbChain = 1u << 4, kTrbIoc = 1u << 5,
                  kTrbIdt = 1u << 6 };
constexpr unsigned kMaxTdTrbs = 1024;  // (a longer TD is the guest's bug)

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
    // The register blocks as QEMU's (the rest of the BAR is a hole).
    std::vector<BarPart> parts = {{"capabilities", 0, kOper}, {"operational", kOper, 0x400}};
    for (unsigned i = 0; i < ports(); ++i)
        parts.push_back({std::string(i < o_.p3 ? "usb3" : "usb2") + " port #" +
                             std::to_string(i < o_.p3 ? i + 1 : i - o_.p3 + 1),
                         kPorts + 0x10ull * i, 0x10});
    parts.push_back({"runtime", kRuntime, 0x20 + 0x20ull * kInterrupters});
    parts.push_back({"doorbell", kDoorbells, 0x20ull * (kSlots + 1)});
    for (BarPart& p : Msix::parts(kMsixVectors, kMsixTable, kMsixPba)) parts.push_back(std::move(p));
    add_bar(0, kBarSize, BarKind::Mem64, &regs_, std::move(parts), "xhci");
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
    port_dev_.assign(ports(), nullptr);
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
    for (UsbDevice* d : port_dev_)
        if (d) d->reset();
    hc_reset();
}

void Xhci::hc_reset() {
    usbcmd_ = 0;
    usbsts_ = kStsHalted;
    dnctrl_ = config_ = 0;
    crcr_ = dcbaap_ = cmd_dequeue_ = 0;
    cmd_cycle_ = false;
    intr_ = {};
    slots_ = {};
    for (unsigned p = 0; p < ports(); ++p) {
        portpmsc_[p] = portli_[p] = porthlpmc_[p] = 0;
        port_update(p);  // powered; the device's connection (as QEMU's: the connect status changed)
    }
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
    if (off > kDoorbells && off <= kDoorbells + 4ull * kSlots) {
        unsigned slot = static_cast<unsigned>((off - kDoorbells) / 4), dci = v & 0xff;
        if (dci >= 1 && dci <= 31 && !(usbsts_ & kStsHalted)) run_endpoint(slot, dci);
    }
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
    if (v & kPortWarmReset) return port_reset(p, true);
    if (v & kPortReset) return port_reset(p, false);
    uint32_t s = portsc_[p];
    s &= ~(v & kPortChangeBits);  // change bits: write 1 to clear
    uint32_t notify = 0;
    if (v & kPortLws) {  // a link state the driver asks for: U0 (resume) or U3 (suspend)
        uint32_t old_pls = (s & kPortPlsMask) >> kPortPlsShift, pls = (v & kPortPlsMask) >> kPortPlsShift;
        if (pls == kPlsU0 && old_pls != kPlsU0) {
            s = (s & ~kPortPlsMask) | pls << kPortPlsShift;
            notify = kPortLinkChange;
        } else if (pls == kPlsU3 && old_pls < kPlsU3) {
            s = (s & ~kPortPlsMask) | pls << kPortPlsShift;
        }
    }
    s = (s & ~(kPortRwBits | kPortPower)) | (v & (kPortRwBits | kPortPower));
    portsc_[p] = s;
    if (notify) port_notify(p, notify);
}

void Xhci::port_update(unsigned p) {
    uint32_t s = kPortPower, pls = kPlsRxDetect;
    if (UsbDevice* d = port_dev_[p]) {
        s |= kPortCcs | static_cast<uint32_t>(d->speed) << kPortSpeedShift;
        if (d->speed == UsbSpeed::Super) {
            s |= kPortPed;  // (a USB 3 port trains its link by itself)
            pls = kPlsU0;
        } else {
            pls = kPlsPolling;  // (a USB 2 port waits for the driver's reset)
        }
    }
    portsc_[p] = s | pls << kPortPlsShift;
    port_notify(p, kPortConnectChange);
}

void Xhci::port_reset(unsigned p, bool warm) {
    UsbDevice* d = port_dev_[p];
    if (!d) return;
    d->reset();
    if (warm && d->speed == UsbSpeed::Super) portsc_[p] |= kPortWarmResetChange;
    portsc_[p] = (portsc_[p] & ~(kPortPlsMask | kPortReset)) | kPortPed | kPlsU0 << kPortPlsShift;
    port_notify(p, kPortResetChange);
}

void Xhci::detach(UsbDevice* dev) {
    for (unsigned p = 0; p < ports(); ++p) {
        if (port_dev_[p] != dev) continue;
        port_dev_[p] = nullptr;
        dev->wakeup = nullptr;
        // (the slot stays until the driver disables it; its rings go quiet)
        for (auto& s : slots_)
            if (s.port == p + 1)
                for (auto& ep : s.ep) ep.waiting = false;
        port_update(p);
    }
}

unsigned Xhci::address_of(const UsbDevice* dev) const {
    for (unsigned s = 1; s <= kSlots; ++s)
        if (slots_[s].enabled && slots_[s].addressed && slot_device(s) == dev) return s;
    return 0;
}

void Xhci::port_notify(unsigned p, uint32_t bits) {
    if ((portsc_[p] & bits) == bits) return;
    portsc_[p] |= bits;
    if (usbsts_ & kStsHalted) return;
    usbsts_ |= kStsPcd;
    post_event(0, static_cast<uint64_t>(p + 1) << 24, kCcSuccess << 24, kTrbPortStatusChange << 10);
}

bool Xhci::port_used(unsigned port) const {
    if (port == 0 || port > user_ports()) return false;
    unsigned i = port - 1;
    return (i < o_.p3 && port_dev_[i]) || (i < o_.p2 && port_dev_[o_.p3 + i]);
}

Status Xhci::attach(UsbDevice* dev, unsigned port) {
    unsigned i = port - 1;
    // SuperSpeed on the USB 3 port if both can; else the USB 2 port.
    if (i < o_.p3 && dev->supports(UsbSpeed::Super)) {
        dev->speed = UsbSpeed::Super;
        port_dev_[i] = dev;
    } else if (i < o_.p2 && (dev->supports(UsbSpeed::High) || dev->supports(UsbSpeed::Full))) {
        dev->speed = dev->supports(UsbSpeed::High) ? UsbSpeed::High : UsbSpeed::Full;
        port_dev_[o_.p3 + i] = dev;
    } else {
        return make_error("speed mismatch trying to attach usb device \"" + std::string(dev->type_name()) +
                          "\" to port \"" + std::to_string(port) + "\"");
    }
    dev->wakeup = [this, dev] { wake(dev); };
    port_update(i < o_.p3 && dev->speed == UsbSpeed::Super ? i : o_.p3 + i);
    return ok_status();
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
                if (!slots_[s].enabled) slot = s;
            code = slot ? kCcSuccess : kCcNoSlots;
            if (slot) {
                slots_[slot] = Slot{};
                slots_[slot].enabled = true;
            }
        } else if (type >= kTrbDisableSlot && type <= kTrbResetDevice) {
            Trb t{cmd_dequeue_, le64(trb), le32(trb + 8), control};
            code = slot >= 1 && slot <= kSlots && slots_[slot].enabled ? slot_command(type, slot, t)
                                                                        : kCcSlotNotEnabled;
        }
        post_event(0, cmd_dequeue_, code << 24, kTrbCommandCompletion << 10 | slot << 24);
        cmd_dequeue_ += 16;
    }
}

// Contexts are 32 bytes (HCCPARAMS1.CSZ = 0): the device context is the
// slot context then endpoint contexts 1-31; the input context has the
// input control context first.
uint32_t Xhci::slot_command(unsigned type, unsigned slot, const Trb& t) {
    Slot& s = slots_[slot];
    unsigned dci = (t.control >> 16) & 0x1f;
    switch (type) {
    case kTrbDisableSlot:
        s = Slot{};
        return kCcSuccess;
    case kTrbAddressDevice: return address_device(slot, t.param & ~0xfull, t.control & (1u << 9));
    case kTrbConfigureEndpoint: return configure_endpoints(slot, t.param & ~0xfull, t.control & (1u << 9));
    case kTrbEvaluateContext: return evaluate_context(slot, t.param & ~0xfull);
    case kTrbResetEndpoint:
        if (dci < 1 || s.ep[dci].state == kEpDisabled) return kCcEpNotEnabled;
        if (s.ep[dci].state != kEpHalted) return kCcContextState;
        set_ep_state(slot, dci, kEpStopped);
        return kCcSuccess;
    case kTrbStopEndpoint:
        if (dci < 1 || s.ep[dci].state == kEpDisabled) return kCcEpNotEnabled;
        set_ep_state(slot, dci, kEpStopped);
        return kCcSuccess;
    case kTrbSetTrDequeue:
        if (dci < 1 || s.ep[dci].state == kEpDisabled) return kCcEpNotEnabled;
        if (s.ep[dci].state != kEpStopped) return kCcContextState;
        s.ep[dci].dequeue = t.param & ~0xfull;
        s.ep[dci].cycle = t.param & 1;
        s.ep[dci].waiting = false;
        set_ep_state(slot, dci, kEpStopped);
        return kCcSuccess;
    case kTrbResetDevice: {
        if (!s.ctx) return kCcContextState;
        for (unsigned i = 2; i < 32; ++i) s.ep[i] = Endpoint{};
        uint8_t sc[16];
        if (!dma_read(s.ctx, sc, sizeof sc)) return kCcTrbError;
        uint32_t dw0 = le32(sc), dw3 = 1u << 27;  // default state, address 0
        dw0 = (dw0 & ~(0x1fu << 27)) | 1u << 27;  // context entries: EP 0
        std::memcpy(sc, &dw0, 4);
        std::memcpy(sc + 12, &dw3, 4);
        dma_write(s.ctx, sc, sizeof sc);
        for (unsigned i = 2; i < 32; ++i) {
            uint32_t z = 0;
            dma_write(s.ctx + 32ull * i, &z, 4);
        }
        return kCcSuccess;
    }
    default: return kCcTrbError;
    }
}

uint32_t Xhci::address_device(unsigned slot, uint64_t input, bool bsr) {
    uint8_t in[32 * 3];
    if (!dma_read(input, in, sizeof in)) return kCcTrbError;
    if ((le32(in + 4) & 3) != 3) return kCcParameter;  // the slot and EP 0 contexts are added
    unsigned port = (le32(in + 32 + 4) >> 16) & 0xff;
    if (port < 1 || port > ports() || !port_dev_[port - 1] || !(portsc_[port - 1] & kPortPed))
        return kCcTransactionError;
    uint64_t ctx;
    if (!dma_read(dcbaap_ + 8ull * slot, &ctx, 8)) return kCcTrbError;
    ctx &= ~0x3full;
    Slot& s = slots_[slot];
    s.port = port;
    s.ctx = ctx;
    s.addressed = !bsr;
    uint8_t out[64];
    std::memcpy(out, in + 32, 64);  // the slot and EP 0 contexts
    uint32_t dw3 = bsr ? 1u << 27 : (2u << 27 | slot);  // default (address 0), or addressed
    std::memcpy(out + 12, &dw3, 4);
    uint32_t ep0 = (le32(out + 32) & ~7u) | kEpRunning;
    std::memcpy(out + 32, &ep0, 4);
    if (!dma_write(ctx, out, sizeof out)) return kCcTrbError;
    uint64_t deq = le64(out + 32 + 8);
    s.ep[1] = Endpoint{kEpRunning, deq & ~0xfull, static_cast<bool>(deq & 1), false};
    return kCcSuccess;
}

uint32_t Xhci::evaluate_context(unsigned slot, uint64_t input) {
    Slot& s = slots_[slot];
    if (!s.ctx) return kCcContextState;
    uint8_t in[32 * 3], out[64];
    if (!dma_read(input, in, sizeof in) || !dma_read(s.ctx, out, sizeof out)) return kCcTrbError;
    uint32_t add = le32(in + 4);
    if (add & 1) {  // slot: max exit latency, interrupter target
        uint32_t dw1 = (le32(out + 4) & ~0xffffu) | (le32(in + 32 + 4) & 0xffff);
        uint32_t dw2 = (le32(out + 8) & 0x3fffff) | (le32(in + 32 + 8) & ~0x3fffffu);
        std::memcpy(out + 4, &dw1, 4);
        std::memcpy(out + 8, &dw2, 4);
    }
    if (add & 2) {  // EP 0: max packet size
        uint32_t dw1 = (le32(out + 32 + 4) & 0xffff) | (le32(in + 64 + 4) & 0xffff0000u);
        std::memcpy(out + 32 + 4, &dw1, 4);
    }
    return dma_write(s.ctx, out, sizeof out) ? kCcSuccess : kCcTrbError;
}

uint32_t Xhci::configure_endpoints(unsigned slot, uint64_t input, bool deconfigure) {
    Slot& s = slots_[slot];
    if (!s.ctx) return kCcContextState;
    uint8_t sc[32];
    if (!dma_read(s.ctx, sc, sizeof sc)) return kCcTrbError;
    if (deconfigure) {
        for (unsigned i = 2; i < 32; ++i)
            if (s.ep[i].state != kEpDisabled) set_ep_state(slot, i, kEpDisabled);
        uint32_t dw3 = (le32(sc + 12) & 0xff) | 2u << 27;
        std::memcpy(sc + 12, &dw3, 4);
        return dma_write(s.ctx, sc, sizeof sc) ? kCcSuccess : kCcTrbError;
    }
    std::vector<uint8_t> in(32 * 33);
    if (!dma_read(input, in.data(), in.size())) return kCcTrbError;
    uint32_t drop = le32(in.data()), add = le32(in.data() + 4);
    if ((drop & 3) || (add & 3) != 1) return kCcTrbError;  // (the slot context added, EP 0 neither added nor dropped)
    for (unsigned i = 2; i < 32; ++i) {
        if (drop & (1u << i)) {
            set_ep_state(slot, i, kEpDisabled);
            s.ep[i] = Endpoint{};
        }
        if (add & (1u << i)) {
            uint8_t ep[32];
            std::memcpy(ep, in.data() + 32 * (i + 1), 32);
            uint32_t dw0 = (le32(ep) & ~7u) | kEpRunning;
            std::memcpy(ep, &dw0, 4);
            if (!dma_write(s.ctx + 32ull * i, ep, sizeof ep)) return kCcTrbError;
            uint64_t deq = le64(ep + 8);
            s.ep[i] = Endpoint{kEpRunning, deq & ~0xfull, static_cast<bool>(deq & 1), false};
        }
    }
    unsigned last = 1;
    for (unsigned i = 2; i < 32; ++i)
        if (s.ep[i].state != kEpDisabled) last = i;
    uint32_t dw0 = (le32(sc) & ~(0x1fu << 27)) | last << 27;
    uint32_t dw3 = (le32(sc + 12) & 0xff) | (last > 1 ? 3u : 2u) << 27;  // configured, or addressed
    std::memcpy(sc, &dw0, 4);
    std::memcpy(sc + 12, &dw3, 4);
    return dma_write(s.ctx, sc, sizeof sc) ? kCcSuccess : kCcTrbError;
}

void Xhci::set_ep_state(unsigned slot, unsigned dci, unsigned state) {
    Slot& s = slots_[slot];
    Endpoint& ep = s.ep[dci];
    ep.state = state;
    if (!s.ctx) return;
    uint8_t c[16];
    if (!dma_read(s.ctx + 32ull * dci, c, sizeof c)) return;
    uint32_t dw0 = (le32(c) & ~7u) | state;
    uint64_t deq = ep.dequeue | (ep.cycle ? 1 : 0);
    std::memcpy(c, &dw0, 4);
    std::memcpy(c + 8, &deq, 8);  // (the dequeue pointer where the ring stopped)
    dma_write(s.ctx + 32ull * dci, c, sizeof c);
}

UsbDevice* Xhci::slot_device(unsigned slot) const {
    if (slot < 1 || slot > kSlots || !slots_[slot].enabled || !slots_[slot].port) return nullptr;
    return port_dev_[slots_[slot].port - 1];
}

bool Xhci::read_trb(uint64_t addr, Trb& t) {
    uint8_t b[16];
    if (!dma_read(addr, b, sizeof b)) return false;
    t = Trb{addr, le64(b), le32(b + 8), le32(b + 12)};
    return true;
}

bool Xhci::fetch_td(Endpoint& ep, bool control, std::vector<Trb>& td, uint64_t& next, bool& next_cycle) {
    td.clear();
    uint64_t addr = ep.dequeue;
    bool cycle = ep.cycle;
    // A control transfer is its setup TRB, the data stage's TD if any, and
    // the status stage; anything else, the TRBs up to one without chain.
    bool in_control = false;
    for (unsigned n = 0; n < kMaxTdTrbs; ++n) {
        Trb t;
        if (!read_trb(addr, t) || (t.control & kTrbCycle) != static_cast<uint32_t>(cycle)) return false;
        if (t.type() == kTrbLink) {
            addr = t.param & ~0xfull;
            if (t.control & kTrbToggle) cycle = !cycle;
            continue;
        }
        td.push_back(t);
        addr += 16;
        if (control && td.size() == 1 && t.type() == kTrbSetup) in_control = true;
        bool end = in_control ? t.type() == kTrbStatus : !(t.control & kTrbChain);
        if (end) {
            next = addr;
            next_cycle = cycle;
            return true;
        }
    }
    return false;
}

void Xhci::transfer_event(unsigned slot, unsigned dci, const Trb& t, uint32_t code, uint32_t residual, bool ed) {
    unsigned intr = (t.status >> 22) & 0x3ff;
    if (intr >= kInterrupters) intr = 0;
    post_event(intr, ed ? t.param : t.addr, code << 24 | (residual & 0xffffff),
               kTrbTransferEvent << 10 | (ed ? 4u : 0u) | dci << 16 | slot << 24);
}

void Xhci::complete_td(unsigned slot, unsigned dci, const std::vector<Trb>& td, size_t moved) {
    size_t left = moved, edtla = 0;
    bool shorted = false;
    for (size_t i = 0; i < td.size(); ++i) {
        const Trb& t = td[i];
        switch (t.type()) {
        case kTrbSetup:
            if (t.control & kTrbIoc) transfer_event(slot, dci, t, kCcSuccess, 0);
            break;
        case kTrbData:
        case kTrbNormal: {
            if (shorted) break;  // (the rest of a short TD moves nothing)
            size_t len = t.status & 0x1ffff, chunk = std::min(len, left);
            left -= chunk;
            edtla += chunk;
            if (chunk < len) {
                shorted = true;
                // The event of a short packet: at this TRB if it asks, or
                // else at the TD's last TRB that asks for one.
                const Trb* at = &t;
                if (!(t.control & (kTrbIsp | kTrbIoc)))
                    for (size_t j = i + 1; j < td.size() && td[j].type() != kTrbStatus; ++j)
                        if (td[j].control & kTrbIoc) at = &td[j];
                if (at->control & (kTrbIsp | kTrbIoc))
                    transfer_event(slot, dci, *at, kCcShortPacket, static_cast<uint32_t>(len - chunk));
            } else if (t.control & kTrbIoc) {
                transfer_event(slot, dci, t, kCcSuccess, 0);
            }
            break;
        }
        case kTrbEventData:
            if (!shorted && (t.control & kTrbIoc))
                transfer_event(slot, dci, t, kCcSuccess, static_cast<uint32_t>(edtla), true);
            break;
        case kTrbStatus:
            if (t.control & kTrbIoc) transfer_event(slot, dci, t, kCcSuccess, 0);
            break;
        default:  // (No Op)
            if (t.control & kTrbIoc) transfer_event(slot, dci, t, kCcSuccess, 0);
            break;
        }
    }
}

void Xhci::run_endpoint(unsigned slot, unsigned dci) {
    UsbDevice* dev = slot_device(slot);
    if (!dev) return;
    Endpoint& ep = slots_[slot].ep[dci];
    if (ep.state == kEpStopped) ep.state = kEpRunning;  // (a doorbell restarts a stopped ring)
    if (ep.state != kEpRunning) return;
    bool control = dci == 1;
    unsigned epnum = dci / 2;
    bool in = dci & 1;
    std::vector<Trb> td;
    std::vector<uint8_t> buf;
    for (unsigned n = 0; n < 4096; ++n) {
        uint64_t next;
        bool next_cycle;
        if (!fetch_td(ep, control, td, next, next_cycle)) return;
        // The TD's data buffers, in order (an immediate-data TRB carries
        // its bytes in its parameter).
        auto data_trbs = [&](auto&& f) {
            for (const Trb& t : td)
                if (t.type() == kTrbNormal || t.type() == kTrbData) f(t);
        };
        size_t total = 0;
        data_trbs([&](const Trb& t) { total += t.status & 0x1ffff; });
        auto gather = [&] {
            buf.clear();
            bool ok = true;
            data_trbs([&](const Trb& t) {
                size_t len = t.status & 0x1ffff, at = buf.size();
                buf.resize(at + len);
                if (t.control & kTrbIdt)
                    std::memcpy(buf.data() + at, &t.param, std::min<size_t>(len, 8));
                else if (len && !dma_read(t.param, buf.data() + at, len))
                    ok = false;
            });
            return ok;
        };
        auto scatter = [&] {
            size_t off = 0;
            data_trbs([&](const Trb& t) {
                size_t len = std::min<size_t>(t.status & 0x1ffff, buf.size() - off);
                if (len) dma_write(t.param, buf.data() + off, len);
                off += len;
            });
        };
        UsbDevice::Result r;
        size_t moved = 0;
        if (control && td.front().type() == kTrbSetup) {
            const Trb& st = td.front();
            UsbSetup s{static_cast<uint8_t>(st.param), static_cast<uint8_t>(st.param >> 8),
                       static_cast<uint16_t>(st.param >> 16), static_cast<uint16_t>(st.param >> 32),
                       static_cast<uint16_t>(st.param >> 48)};
            buf.clear();
            if (!s.in() && !gather()) return;
            r = dev->control(s, buf);
            if (r == UsbDevice::Result::Ok && s.in()) {
                if (buf.size() > total) buf.resize(total);
                scatter();
            }
            moved = s.in() ? buf.size() : total;
        } else if (in) {
            buf.clear();
            r = dev->transfer(epnum, true, buf, total);
            if (r == UsbDevice::Result::Ok) {
                if (buf.size() > total) buf.resize(total);
                scatter();
                moved = buf.size();
            }
        } else {
            if (!gather()) return;
            r = dev->transfer(epnum, false, buf, total);
            moved = total;
        }
        if (r == UsbDevice::Result::Nak) {
            ep.waiting = true;  // (the device wakes the ring when it has data)
            return;
        }
        ep.waiting = false;
        ep.dequeue = next;
        ep.cycle = next_cycle;
        if (r == UsbDevice::Result::Stall) {
            // The endpoint halts; the event names the TD's data (or last) TRB.
            const Trb* at = &td.back();
            for (const Trb& t : td)
                if (t.type() == kTrbData || t.type() == kTrbNormal) {
                    at = &t;
                    break;
                }
            set_ep_state(slot, dci, kEpHalted);
            transfer_event(slot, dci, *at, kCcStall, at->status & 0x1ffff);
            return;
        }
        complete_td(slot, dci, td, moved);
    }
}

void Xhci::wake(UsbDevice* dev) {
    for (unsigned s = 1; s <= kSlots; ++s) {
        if (slot_device(s) != dev) continue;
        for (unsigned dci = 3; dci < 32; dci += 2)
            if (slots_[s].ep[dci].waiting) run_endpoint(s, dci);
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
