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
    add_bar(0, 0x1000, BarKind::Mem32, &msix_);
    msix_cap_ = add_capability(PCI_CAP_ID_MSIX, 12);
    set16(msix_cap_ + 2, 0);  // one vector
    set_wmask16(msix_cap_ + 2, 0xc000);
    set32(msix_cap_ + 4, 0);      // table at offset 0 of BAR 0
    set32(msix_cap_ + 8, 0x800);  // PBA at 0x800
    msix_.init(*this, msix_cap_, 1, 0, 0x800);
    unsigned c = add_pcie_capability(PcieType::RootPort);
    set32(c + 0xc, get32(c + 0xc) | static_cast<uint32_t>(port) << 24);  // LnkCap: port number
    set32(c + 0x14, get32(c + 0x14) | static_cast<uint32_t>(slot) << 19);  // SltCap: physical slot
    set16(c + 0x1a, 0);  // SltSta: nothing present until a device is plugged
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
    snapshot_reset_state();
}

void PcieRootPort::set_presence(bool present) {
    // Slot status: presence detect; slot control: the power indicator on
    // while a device is there (PCIe Base 4.0 section 7.5.3.10-11).
    unsigned sltsta = pcie_cap() + 0x1a, sltctl = pcie_cap() + 0x18;
    uint16_t v = static_cast<uint16_t>(present ? get16(sltsta) | 0x0040 : get16(sltsta) & ~0x0040);
    set16(sltsta, v);
    uint16_t c = static_cast<uint16_t>((get16(sltctl) & ~0x0300) | (present ? 0x0100 : 0x0300));
    set16(sltctl, c);
    for (unsigned i = 0; i < 2; ++i) {
        reset_cfg_[sltsta + i] = cfg_[sltsta + i];
        reset_cfg_[sltctl + i] = cfg_[sltctl + i];
    }
}

void PcieRootPort::config_write(unsigned off, unsigned size, uint32_t value) {
    uint16_t old = get16(msix_cap_ + 2);
    PciDevice::config_write(off, size, value);
    if (get16(msix_cap_ + 2) != old) msix_.control_written();
}

}  // namespace armvm
