#include "hw/pci/root_port.hpp"

namespace armvm {

PcieRootPort::PcieRootPort(PciRoot& root, std::string name, uint8_t port, uint8_t chassis, uint16_t slot)
    : PciDevice(kPciVendorRedHat, 0x000c, 0x060400, 0, 1),
      bus_(root, std::move(name), this, true),
      chassis_(chassis),
      slot_(slot) {
    set8(PCI_INTERRUPT_PIN, 1);
    // Subsystem vendor ID capability (bridges have no subsystem fields).
    unsigned ssvid = add_capability(0x0d, 8);
    set16(ssvid + 4, kPciVendorRedHat);
    add_bar(0, 0x1000, BarKind::Mem32, &msix_, Msix::parts(1, 0, 0x800));
    msix_cap_ = add_capability(PCI_CAP_ID_MSIX, 12);
    set16(msix_cap_ + 2, 0);  // one vector
    set_wmask16(msix_cap_ + 2, 0xc000);
    set32(msix_cap_ + 4, 0);      // table at offset 0 of BAR 0
    set32(msix_cap_ + 8, 0x800);  // PBA at 0x800
    msix_.init(*this, msix_cap_, 1, 0, 0x800);
    unsigned c = add_pcie_capability(PcieType::RootPort);
    set32(c + 0xc, get32(c + 0xc) | static_cast<uint32_t>(port) << 24);  // LnkCap: port number
    set32(c + 0x14, get32(c + 0x14) | static_cast<uint32_t>(slot) << 19);  // SltCap: physical slot
    // Nothing in the slot until a device is plugged: no presence, the link
    // down, the slot's power and power indicator off (QEMU's reset state
    // of an empty port: the guest's pciehp then powers it on when a device
    // arrives).
    set16(c + 0x1a, 0);
    set16(c + 0x12, get16(c + 0x12) & ~0x2000);  // LnkSta.DLLLA
    set16(c + 0x18, get16(c + 0x18) | 0x0700);   // SltCtl: PCC off, PIC off
    // AER (PCIe Base 4.0 section 7.8.4) and ACS (7.7.7), where QEMU puts them.
    unsigned aer = add_ext_capability(0x0001, 2, 0x48);
    set_wmask32(aer + 0x08, 0x03fff030);  // uncorrectable error mask
    set_wmask32(aer + 0x0c, 0x03fff030);  // severity
    set32(aer + 0x0c, 0x00462030);
    set_wmask32(aer + 0x14, 0x0000f1c1);  // correctable error mask
    set32(aer + 0x14, 0x00006000);
    set_wmask32(aer + 0x2c, 0x00000007);  // root error command
    unsigned acs = add_ext_capability(0x000d, 1, 8);
    set16(acs + 4, 0x001f);  // source validation, translation blocking, P2P redirects, upstream forwarding
    set_wmask16(acs + 6, 0x001f);
    // The windows start closed (base above limit), as QEMU's root port
    // resets them: nothing is forwarded until firmware or the OS opens them.
    set8(PCI_IO_BASE, 0xf0);
    set8(PCI_IO_LIMIT, 0x00);
    set16(PCI_MEMORY_BASE, 0xfff0);
    set16(PCI_MEMORY_LIMIT, 0x0000);
    set16(PCI_PREF_MEMORY_BASE, 0xfff1);
    set16(PCI_PREF_MEMORY_LIMIT, 0x0001);
    snapshot_reset_state();
}

void PcieRootPort::set_presence(bool present) {
    // Slot status: presence detect; slot control: the power and the power
    // indicator on while a device is there (PCIe Base 4.0 section
    // 7.5.3.10-11); link status: the data link layer up with it.
    unsigned sltsta = pcie_cap() + 0x1a, sltctl = pcie_cap() + 0x18, lnksta = pcie_cap() + 0x12;
    set16(sltsta, static_cast<uint16_t>(present ? get16(sltsta) | 0x0040 : get16(sltsta) & ~0x0040));
    set16(sltctl, static_cast<uint16_t>((get16(sltctl) & ~0x0700) | (present ? 0x0100 : 0x0700)));
    set16(lnksta, static_cast<uint16_t>(present ? get16(lnksta) | 0x2000 : get16(lnksta) & ~0x2000));
    for (unsigned off : {sltsta, sltctl, lnksta})
        for (unsigned i = 0; i < 2; ++i) reset_cfg_[off + i] = cfg_[off + i];
}

namespace {
// Slot status bits (PCIe Base 4.0 section 7.5.3.11) and the slot control
// bits that enable their interrupts (7.5.3.10).
constexpr uint16_t kAbp = 0x0001, kPfd = 0x0002, kMrlsc = 0x0004, kPdc = 0x0008, kCc = 0x0010, kPds = 0x0040,
                   kDllsc = 0x0100;
constexpr uint16_t kHpie = 0x0020, kPicMask = 0x0300, kPicBlink = 0x0200;
}  // namespace

void PcieRootPort::config_write(unsigned off, unsigned size, uint32_t value) {
    uint16_t old = get16(msix_cap_ + 2);
    unsigned sltctl = pcie_cap() + 0x18;
    uint16_t old_ctl = get16(sltctl);
    PciDevice::config_write(off, size, value);
    if (get16(msix_cap_ + 2) != old) msix_.control_written();
    if (off < sltctl + 2 && off + size > sltctl) {
        uint16_t ctl = get16(sltctl);
        // The power and its indicator off with a device in the slot: the
        // guest is done with it (a powered-off slot written again is not).
        if ((get16(pcie_cap() + 0x1a) & kPds) && powered_off(ctl) && !powered_off(old_ctl) && on_power_off) {
            on_power_off();
            set16(pcie_cap() + 0x1a, static_cast<uint16_t>((get16(pcie_cap() + 0x1a) & ~kPds) | kPdc));
        }
        slot_event(kCc);  // every slot control write is a completed command
        return;
    }
    update_hotplug_irq();  // (a status bit cleared, MSI-X enabled, ...)
}

void PcieRootPort::reset() {
    PciDevice::reset();
    hp_notified_ = false;
}

void PcieRootPort::hot_plugged() {
    uint16_t ctl = get16(pcie_cap() + 0x18);
    set_presence(true);              // (a reset finds the slot populated and powered)
    set16(pcie_cap() + 0x18, ctl);   // but powering it on now is the guest's call
    slot_event(kPdc | kAbp);
}

std::string PcieRootPort::request_unplug() {
    uint16_t ctl = get16(pcie_cap() + 0x18);
    if ((ctl & kPicMask) == kPicBlink) return "Hot-unplug failed: guest is busy (power indicator blinking)";
    if (powered_off(ctl)) {  // nobody to ask: the slot is off
        if (on_power_off) on_power_off();
        set16(pcie_cap() + 0x1a, static_cast<uint16_t>((get16(pcie_cap() + 0x1a) & ~kPds) | kPdc));
        update_hotplug_irq();
        return "";
    }
    slot_event(kAbp);
    return "";
}

void PcieRootPort::slot_event(uint16_t bits) {
    unsigned sltsta = pcie_cap() + 0x1a;
    set16(sltsta, static_cast<uint16_t>(get16(sltsta) | bits));
    update_hotplug_irq();
}

// The hot-plug interrupt is the OR of the enabled event bits; a message
// goes out when it rises (PCIe Base 4.0 section 6.7.3.4).
void PcieRootPort::update_hotplug_irq() {
    uint16_t ctl = get16(pcie_cap() + 0x18), sta = get16(pcie_cap() + 0x1a);
    uint16_t enabled = static_cast<uint16_t>((ctl & 1 ? kAbp : 0) | (ctl & 2 ? kPfd : 0) | (ctl & 4 ? kMrlsc : 0) |
                                             (ctl & 8 ? kPdc : 0) | (ctl & 0x10 ? kCc : 0) |
                                             (ctl & 0x1000 ? kDllsc : 0));
    bool notify = (ctl & kHpie) && (sta & enabled);
    if (notify == hp_notified_) return;
    hp_notified_ = notify;
    if (msix_.enabled()) {
        if (notify) msix_.notify(0);
    } else {
        set_intx(notify);
    }
}

}  // namespace armvm
