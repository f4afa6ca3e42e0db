// pcie-root-port (QEMU's generic root port, 1b36:000c): a PCI-to-PCI
// bridge with a PCIe root port capability and one slot behind it, MSI-X
// with one vector in BAR 0, the subsystem ID capability, AER and ACS, as
// QEMU 7.2 lays its configuration space out. libvirt gives every device
// of its default aarch64 domain one of these.
#pragma once
#include <string>

#include "hw/pci/pci.hpp"

namespace armvm {

class PcieRootPort : public PciDevice {
public:
    // `name`: the bus behind it (the device's id); `port`: the link's port
    // number; `chassis`/`slot`: the slot's physical numbering.
    PcieRootPort(PciRoot& root, std::string name, uint8_t port, uint8_t chassis, uint16_t slot);
    std::string type_name() const override { return "pcie-root-port"; }
    PciBus* secondary() override { return &bus_; }
    uint8_t chassis() const { return chassis_; }
    uint16_t slot() const { return slot_; }
    void config_write(unsigned off, unsigned size, uint32_t value) override;
    // A device is in the slot: the slot status says so (presence detect).
    void set_presence(bool present);

private:
    PciBus bus_;
    Msix msix_;
    unsigned msix_cap_ = 0;
    uint8_t chassis_;
    uint16_t slot_;
};

}  // namespace armvm
