#include "cli/help.hpp"

#include <cstdio>

#include "accel/accelerator.hpp"
#include "base/version.hpp"
#include "cli/options.hpp"
#include "cpu-arm64/models.hpp"
#include "machine/devices.hpp"
#include "machine/objects.hpp"
#include "machine/registry.hpp"

namespace armvm {

std::string version_text() {
    char buf[160];
    std::snprintf(buf, sizeof buf, "QEMU emulator version %d.%d.%d (armvm %s)\n", kQemuMajor, kQemuMinor,
                  kQemuMicro, kArmvmVersion);
    return std::string(buf) + "armvm: a QEMU-compatible arm64 machine emulator\n";
}

std::string usage_text() {
    std::string s = "usage: armvm [options]\n\nOptions (QEMU spelling, one dash):\n";
    for (const auto& o : option_table()) {
        std::string left = std::string("-") + o.name + (o.has_arg ? " ARG" : "");
        char buf[256];
        std::snprintf(buf, sizeof buf, "  %-20s %s\n", left.c_str(), o.help);
        s += buf;
    }
    return s;
}

std::string machine_help() {
    std::string s = "Supported machines are:\n";
    for (const auto& m : machine_types()) {
        char buf[256];
        if (!m.alias.empty()) {
            std::snprintf(buf, sizeof buf, "%-20s %s (alias of %s)\n", m.alias.c_str(), m.desc.c_str(),
                          m.name.c_str());
            s += buf;
        }
        std::snprintf(buf, sizeof buf, "%-20s %s%s\n", m.name.c_str(), m.desc.c_str(),
                      m.is_default ? " (default)" : "");
        s += buf;
    }
    return s;
}

std::string cpu_help() {
    std::string s = "Available CPUs:\n";
    for (const auto& m : cpu_models()) s += "  " + m.name + "\n";
    return s;
}

std::string accel_help() {
    std::string s = "Accelerators supported in armvm binary:\n";
    for (const auto& a : accel_types()) s += a.name + "\n";
    return s;
}

// QEMU's -device help shape: categories, a blank line between them.
std::string device_help() { return device_types_help(); }

std::string object_help() {
    std::string s = "List of user creatable objects:\n";
    for (const auto& t : object_types()) s += "  " + t.name + "\n";
    return s;
}

bool is_known_qemu_device(const std::string& name) {
    static const char* known[] = {
        "virtio-blk-device", "virtio-net-device", "virtio-rng-device", "virtio-serial-device",
        "virtio-balloon-device", "virtio-gpu-device", "virtio-keyboard-device", "virtio-mouse-device",
        "virtio-blk-pci", "virtio-net-pci", "virtio-rng-pci", "virtio-serial-pci", "virtio-balloon-pci",
        "virtio-gpu-pci", "virtio-scsi-pci", "virtio-scsi-device", "virtconsole", "virtserialport",
        "pcie-root-port", "qemu-xhci", "usb-tablet", "usb-kbd", "usb-host", "scsi-hd", "ide-hd",
        "e1000", "e1000e", "rtl8139", "VGA", "ramfb", "pl011", "nvme", "vhost-vsock-pci",
        "virtio-iommu-pci", "pci-bridge", "i6300esb", "tpm-tis-device",
    };
    for (const char* k : known)
        if (name == k) return true;
    return false;
}

}  // namespace armvm
