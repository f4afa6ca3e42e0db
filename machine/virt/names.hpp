// Names the virt board gives things as QEMU does: property values,
// OpenFirmware paths (fw_cfg bootorder), qdev device paths. Shared by the
// board and its device factories.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "hw/pci/pci.hpp"

namespace armvm::virt {

// A boolean property's value as QEMU takes it (-device's on/off, JSON's true).
inline bool is_on(const std::string& v) { return v == "on" || v == "true" || v == "yes"; }

// "slot" or "slot,function" in hex, as OpenFirmware paths write a devfn.
inline std::string slot_fn(uint8_t devfn) {
    char b[16];
    if (devfn & 7) std::snprintf(b, sizeof b, "%x,%x", devfn >> 3, devfn & 7);
    else std::snprintf(b, sizeof b, "%x", devfn >> 3);
    return b;
}

// The OpenFirmware path of a PCI bus (QEMU's bootorder names): the host
// bridge, then the bridges down to it.
inline std::string ofw_bus_path(const PciBus* bus) {
    std::string path;
    for (const PciBus* b = bus; b->bridge(); b = b->bridge()->bus()) path = "/pci-bridge@" + slot_fn(b->bridge()->devfn()) + path;
    return "/pci@ffffffffffffffff" + path;
}

// A PCI function's device path as QEMU's qdev_get_dev_path gives it:
// "0000:00" then slot.function of each device from the root bus down
// ("0000:00:01.1:00.0" behind the root port at 00:01.1).
inline std::string pci_dev_path(const PciDevice& d) {
    std::vector<const PciDevice*> chain;
    for (const PciDevice* t = &d; t && t->bus(); t = t->bus()->bridge()) chain.push_back(t);
    std::string p = "0000:00";
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        char b[16];
        std::snprintf(b, sizeof b, ":%02x.%x", (*it)->devfn() >> 3, (*it)->devfn() & 7);
        p += b;
    }
    return p;
}

}  // namespace armvm::virt
