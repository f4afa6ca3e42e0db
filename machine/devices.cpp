#include "machine/devices.hpp"

#include <algorithm>
#include <cstring>

namespace armvm {

bool DeviceType::has_prop(const std::string& p) const {
    return std::any_of(props.begin(), props.end(), [&](const DeviceProp& d) { return p == d.name; });
}

const DeviceProp* DeviceType::prop(const std::string& p) const {
    auto it = std::find_if(props.begin(), props.end(), [&](const DeviceProp& d) { return p == d.name; });
    return it == props.end() ? nullptr : &*it;
}

const std::vector<DeviceType>& device_types() {
    // name, QOM parent, bus, help section, alias, description, virtio model,
    // hot-pluggable, properties
    static const std::vector<DeviceType> types = [] {
    std::vector<DeviceType> t = {
    {"pcie-root-port", "pcie-root-port-base", "PCI", "Controller/Bridge/Hub devices", "", "PCI Express Root Port", "", false,
         {{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
          {"bus-reserve", "uint32", "", "4294967295"},
          {"chassis", "uint8", "", "0"},
          {"hotplug", "bool", "", "true"},
          {"io-reserve", "size", "", "18446744073709551615"},
          {"mem-reserve", "size", "", "18446744073709551615"},
          {"multifunction", "bool", "on/off", "false"},
          {"port", "uint8", "", "0"},
          {"pref64-reserve", "size", "", "18446744073709551615"},
          {"rombar", "uint32", "", "1"},
          {"romfile", "str", "", nullptr},
          {"romsize", "uint32", "", "4294967295"},
          {"slot", "uint16", "", "0"},
          {"x-speed", "PCIELinkSpeed", "2_5/5/8/16", "\"16\""},
          {"x-width", "PCIELinkWidth", "1/2/4/8/12/16/32", "\"32\""}}},
    {"qemu-xhci", "pci-xhci", "PCI", "USB devices", "", "", "", false,
         {{"acpi-index", "uint32", "", "0"},
          {"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
          {"failover_pair_id", "str", "", nullptr},
          {"multifunction", "bool", "on/off", "false"},
          {"p2", "uint32", "", "4"},
          {"p3", "uint32", "", "4"},
          {"rombar", "uint32", "", "1"},
          {"romfile", "str", "", nullptr},
          {"romsize", "uint32", "", "4294967295"},
          {"streams", "bool", "on/off", "true"},
          {"x-pcie-extcap-init", "bool", "on/off", "true"},
          {"x-pcie-lnksta-dllla", "bool", "on/off", "true"}}},
    {"tpm-tis-device", "sys-bus-device", "System", "Misc devices", "", "", "", false,
         {{"irq", "uint32", "", "5"},
          {"tpmdev", "str", "ID of a tpm to use as a backend", nullptr}}},
    {"usb-kbd", "usb-hid", "usb-bus", "Input devices", "", "", "", true,
         {{"port", "str", "", nullptr},
          {"serial", "str", "", nullptr}}},
    {"usb-storage", "usb-storage-dev", "usb-bus", "Storage devices", "", "", "", true,
         {{"bootindex", "int32", "", nullptr},
          {"drive", "str", "Node name or ID of a block device to use as a backend", nullptr},
          {"port", "str", "", nullptr},
          {"removable", "bool", "", "false"},
          {"serial", "str", "", nullptr}}},
    {"usb-tablet", "usb-hid", "usb-bus", "Input devices", "", "", "", true,
         {{"port", "str", "", nullptr},
          {"serial", "str", "", nullptr}}},
    {"virtconsole", "virtserialport", "virtio-serial-bus", "Input devices", "", "", "", false,
         {{"chardev", "str", "ID of a chardev to use as a backend", nullptr},
          {"name", "str", "", nullptr},
          {"nr", "uint32", "", "4294967295"}}},
    {"virtio-balloon-device", "virtio-device", "virtio-bus", "Misc devices", "", "", "", false,
         {{"deflate-on-oom", "bool", "on/off", "false"},
          {"free-page-hint", "bool", "on/off", "false"},
          {"free-page-reporting", "bool", "on/off", "false"},
          {"page-poison", "bool", "on/off", "true"}}},
    {"virtio-balloon-pci", "virtio-pci", "PCI", "Misc devices", "virtio-balloon", "", "virtio-balloon-device", true,
         {{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
          {"deflate-on-oom", "bool", "on/off", "false"},
          {"disable-legacy", "OnOffAuto", "on/off/auto", "\"auto\""},
          {"disable-modern", "bool", "", "false"},
          {"free-page-hint", "bool", "on/off", "false"},
          {"free-page-reporting", "bool", "on/off", "false"},
          {"multifunction", "bool", "on/off", "false"},
          {"page-poison", "bool", "on/off", "true"},
          {"rombar", "uint32", "", "1"},
          {"romfile", "str", "", nullptr},
          {"romsize", "uint32", "", "4294967295"},
          {"x-pcie-lnksta-dllla", "bool", "on/off", "true"}}},
    {"virtio-blk-device", "virtio-device", "virtio-bus", "Storage devices", "", "", "", false,
         {{"bootindex", "int32", "", nullptr},
          {"discard", "bool", "on/off", "true"},
          {"discard_granularity", "size", "", "4294967295"},
          {"drive", "str", "Node name or ID of a block device to use as a backend", nullptr},
          {"logical_block_size", "size", "A power of two between 512 B and 2 MiB", "0"},
          {"num-queues", "uint16", "", "65535"},
          {"physical_block_size", "size", "A power of two between 512 B and 2 MiB", "0"},
          {"queue-size", "uint16", "", "256"},
          {"serial", "str", "", nullptr},
          {"write-cache", "OnOffAuto", "on/off/auto", "\"auto\""},
          {"write-zeroes", "bool", "on/off", "true"}}},
    {"virtio-blk-pci", "virtio-pci", "PCI", "Storage devices", "virtio-blk", "", "virtio-blk-device", true,
         {{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
          {"bootindex", "int32", "", nullptr},
          {"disable-legacy", "OnOffAuto", "on/off/auto", "\"auto\""},
          {"disable-modern", "bool", "", "false"},
          {"discard", "bool", "on/off", "true"},
          {"discard_granularity", "size", "", "4294967295"},
          {"drive", "str", "Node name or ID of a block device to use as a backend", nullptr},
          {"ioeventfd", "bool", "on/off", "true"},
          {"logical_block_size", "size", "A power of two between 512 B and 2 MiB", "0"},
          {"multifunction", "bool", "on/off", "false"},
          {"num-queues", "uint16", "", "65535"},
          {"physical_block_size", "size", "A power of two between 512 B and 2 MiB", "0"},
          {"queue-size", "uint16", "", "256"},
          {"rombar", "uint32", "", "1"},
          {"romfile", "str", "", nullptr},
          {"romsize", "uint32", "", "4294967295"},
          {"serial", "str", "", nullptr},
          {"vectors", "uint32", "", "4294967295"},
          {"write-cache", "OnOffAuto", "on/off/auto", "\"auto\""},
          {"write-zeroes", "bool", "on/off", "true"},
          {"x-pcie-lnksta-dllla", "bool", "on/off", "true"}}},
    {"virtio-net-device", "virtio-device", "virtio-bus", "Network devices", "", "", "", false,
         {{"bootindex", "int32", "", nullptr},
          {"mac", "str", "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56", nullptr},
          {"netdev", "str", "ID of a netdev to use as a backend", nullptr}}},
    {"virtio-net-pci", "virtio-pci", "PCI", "Network devices", "virtio-net", "", "virtio-net-device", true,
         {{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
          {"bootindex", "int32", "", nullptr},
          {"disable-legacy", "OnOffAuto", "on/off/auto", "\"auto\""},
          {"disable-modern", "bool", "", "false"},
          {"ioeventfd", "bool", "on/off", "true"},
          {"mac", "str", "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56", nullptr},
          {"multifunction", "bool", "on/off", "false"},
          {"netdev", "str", "ID of a netdev to use as a backend", nullptr},
          {"rombar", "uint32", "", "1"},
          {"romfile", "str", "", nullptr},
          {"romsize", "uint32", "", "4294967295"},
          {"vectors", "uint32", "", "4294967295"},
          {"x-pcie-lnksta-dllla", "bool", "on/off", "true"}}},
    {"virtio-rng-device", "virtio-device", "virtio-bus", "Misc devices", "", "", "", false,
         {{"max-bytes", "uint64", "", "9223372036854775807"},
          {"period", "uint32", "", "65536"},
          {"rng", "link<rng-backend>", "", nullptr}}},
    {"virtio-rng-pci", "virtio-pci", "PCI", "Misc devices", "virtio-rng", "", "virtio-rng-device", true,
         {{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
          {"disable-legacy", "OnOffAuto", "on/off/auto", "\"auto\""},
          {"disable-modern", "bool", "", "false"},
          {"ioeventfd", "bool", "on/off", "true"},
          {"max-bytes", "uint64", "", "9223372036854775807"},
          {"multifunction", "bool", "on/off", "false"},
          {"period", "uint32", "", "65536"},
          {"rng", "link<rng-backend>", "", nullptr},
          {"rombar", "uint32", "", "1"},
          {"romfile", "str", "", nullptr},
          {"romsize", "uint32", "", "4294967295"},
          {"vectors", "uint32", "", "4294967295"},
          {"x-pcie-lnksta-dllla", "bool", "on/off", "true"}}},
    {"virtio-serial-device", "virtio-device", "virtio-bus", "Input devices", "", "", "", false,
         {{"emergency-write", "bool", "on/off", "true"},
          {"max_ports", "uint32", "", "31"}}},
    {"virtio-serial-pci", "virtio-pci", "PCI", "Input devices", "virtio-serial", "", "virtio-serial-device", true,
         {{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
          {"disable-legacy", "OnOffAuto", "on/off/auto", "\"auto\""},
          {"disable-modern", "bool", "", "false"},
          {"emergency-write", "bool", "on/off", "true"},
          {"ioeventfd", "bool", "on/off", "true"},
          {"max_ports", "uint32", "", "31"},
          {"multifunction", "bool", "on/off", "false"},
          {"rombar", "uint32", "", "1"},
          {"romfile", "str", "", nullptr},
          {"romsize", "uint32", "", "4294967295"},
          {"vectors", "uint32", "", "2"},
          {"x-pcie-lnksta-dllla", "bool", "on/off", "true"}}},
    {"virtserialport", "virtio-serial-port", "virtio-serial-bus", "Input devices", "", "", "", false,
         {{"chardev", "str", "ID of a chardev to use as a backend", nullptr},
          {"name", "str", "", nullptr},
          {"nr", "uint32", "", "4294967295"}}},
    };
    // Each virtio-X-pci has QEMU's -transitional and -non-transitional
    // forms: the same device with disable-legacy fixed (off / on), so
    // without the disable-legacy and disable-modern properties.
    for (size_t i = 0, n = t.size(); i < n; ++i) {
        if (!*t[i].virtio) continue;
        for (const char* legacy : {"on", "off"}) {
            DeviceType v = t[i];
            v.name += !strcmp(legacy, "on") ? "-non-transitional" : "-transitional";
            v.alias = "";
            v.disable_legacy = legacy;
            v.props.erase(std::remove_if(v.props.begin(), v.props.end(),
                                         [](const DeviceProp& p) {
                                             return !strcmp(p.name, "disable-legacy") || !strcmp(p.name, "disable-modern");
                                         }),
                          v.props.end());
            t.push_back(std::move(v));
        }
    }
    std::sort(t.begin(), t.end(), [](const DeviceType& a, const DeviceType& b) { return a.name < b.name; });
    return t;
    }();
    return types;
}

const DeviceType* find_device_type(const std::string& name) {
    for (const auto& t : device_types())
        if (name == t.name || (*t.alias && name == t.alias)) return &t;
    return nullptr;
}

std::string device_types_help() {
    static const char* const kSections[] = {"Controller/Bridge/Hub devices", "USB devices", "Storage devices",
                                            "Network devices", "Input devices", "Display devices", "Sound devices",
                                            "Misc devices", "CPU devices", "Watchdog devices", "Uncategorized devices"};
    std::string out;
    for (const char* section : kSections) {
        std::string lines;
        for (const auto& t : device_types()) {
            if (std::string(t.category) != section) continue;
            lines += "name \"" + t.name + "\", bus " + t.bus;
            if (*t.alias) lines += ", alias \"" + std::string(t.alias) + "\"";
            if (*t.desc) lines += ", desc \"" + std::string(t.desc) + "\"";
            lines += "\n";
        }
        if (lines.empty()) continue;
        if (!out.empty()) out += "\n";
        out += std::string(section) + ":\n" + lines;
    }
    return out;
}

std::string device_props_help(const DeviceType& t) {
    std::string out = t.name + " options:\n";
    for (const auto& p : t.props) {
        std::string left = std::string(p.name) + "=<" + p.type + ">";
        std::string line = "  " + left;
        if (*p.desc || p.def) {
            if (left.size() < 22) line += std::string(22 - left.size(), ' ');
            line += " - " + std::string(p.desc);
            if (p.def) line += std::string(" (default: ") + p.def + ")";
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace armvm
