// PCI expansion ROMs (PCI Local Bus 3.0 section 6.3): the `romfile`,
// `rombar` and `romsize` properties every PCI device has, as QEMU reads
// them. A ROM file is found as given or in QEMU's firmware directories
// (virtio-net-pci's default is iPXE's efi-virtio.rom), padded to a power
// of two, and, when it is the default ROM, its PCI data structure's IDs
// set to the device's (one image serves several devices); the device
// shows it through its expansion ROM BAR.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace armvm {

class PciDevice;

// `name` as given when readable, else in QEMU's firmware directories
// (`qemu-system-aarch64 -L help`); empty when found nowhere.
std::string find_firmware_file(const std::string& name);

// The ROM of a device with the -device properties `props`
// (romfile, rombar, romsize; `default_romfile` when romfile is not
// given), for `dev` (whose vendor and device IDs it takes): nothing
// without a file, with rombar=0, or when the default file is not
// installed; QEMU's messages for a file given that is missing, empty, too
// large, or a size that is not a power of two.
Status attach_option_rom(PciDevice& dev, const std::map<std::string, std::string>& props,
                         const std::string& default_romfile = "");

}  // namespace armvm
