// The device types a user can create on the virt board (-device, QMP
// device_add): one entry per type, read by everything that names devices
// or their properties — the command line (`-device help`, `-device
// NAME,help`, QEMU's aliases), the board (which properties a device
// takes), and QMP (qom-list-types, device-list-properties). Property
// names, types, descriptions and defaults are QEMU 7.2's for the
// properties armvm implements; the board's Board::add_device makes the
// devices.
#pragma once
#include <string>
#include <vector>

namespace armvm {

struct DeviceProp {
    const char* name;
    const char* type;  // QOM's: "str", "bool", "uint32", "OnOffAuto", ...
    const char* desc;  // "" for none
    const char* def;   // the default as QEMU prints it, or null
};

struct DeviceType {
    std::string name;
    const char* parent;    // the QOM parent type
    const char* bus;       // the bus it plugs into, as -device help names it
    const char* category;  // its -device help section
    const char* alias;     // QEMU's short name ("virtio-blk"), or ""
    const char* desc;      // or ""
    const char* virtio;    // a virtio-X-pci: the virtio-X-device it carries; or ""
    bool hotpluggable;     // QMP device_add while the machine runs (into a PCIe port)
    std::vector<DeviceProp> props;  // by name (QEMU lists them so)
    // virtio-X-pci-non-transitional / -transitional: disable-legacy fixed
    // to "on" / "off"; "" for the others.
    const char* disable_legacy = "";

    bool has_prop(const std::string& p) const;
    const DeviceProp* prop(const std::string& p) const;  // null if it has none of that name
};

// Every type, in name order.
const std::vector<DeviceType>& device_types();
// By name or alias; null if the virt board has no such device.
const DeviceType* find_device_type(const std::string& name_or_alias);
// `-device help`: QEMU's listing, its sections in QEMU's order.
std::string device_types_help();
// `-device NAME,help`: "NAME options:" and a line per property.
std::string device_props_help(const DeviceType& t);

}  // namespace armvm
