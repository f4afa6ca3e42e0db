// pcie-root-port (QEMU's generic root port, 1b36:000c): a PCI-to-PCI
// bridge with a PCIe root port capability and one slot behind it, MSI-X
// with one vector in BAR 0, the subsystem ID capability, AER and ACS, as
// QEMU 7.2 lays its configuration space out. libvirt gives every device
// of its default aarch64 domain one of these.
#pragma once
#include <functional>
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
    void reset() override;
    // A device is in the slot: the slot status says so (presence detect).
    void set_presence(bool present);

    // Native hot-plug (PCIe Base 4.0 section 6.7.3), as QEMU's ports do it:
    // a device plugged while the machine runs makes the presence detect
    // change and presses the attention button; an unplug request presses
    // the button (or, in a slot already powered off, unplugs at once); the
    // guest turning the power and the power indicator off with a device
    // present removes it (`on_power_off` does). Each write of the slot
    // control register completes a command. The events interrupt through
    // MSI-X vector 0 or INTx when the guest enabled them.
    void hot_plugged();
    // "" or why the request is refused now.
    std::string request_unplug();
    std::function<void()> on_power_off;  // remove the device behind: it is unplugged

private:
    void slot_event(uint16_t status_bits);
    void update_hotplug_irq();
    bool powered_off(uint16_t sltctl) const { return (sltctl & 0x0700) == 0x0700; }  // PCC off, PIC off
    bool hp_notified_ = false;

    PciBus bus_;
    Msix msix_;
    unsigned msix_cap_ = 0;
    uint8_t chassis_;
    uint16_t slot_;
};

}  // namespace armvm
