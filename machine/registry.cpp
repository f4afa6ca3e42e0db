#include "machine/registry.hpp"

namespace armvm {

const std::vector<std::string>& common_machine_properties() {
    static const std::vector<std::string> props = {
        "type", "accel", "usb", "dump-guest-core", "dumpdtb", "memory-backend",
        "graphics", "mem-merge", "kernel", "initrd", "append", "dtb",
    };
    return props;
}

const std::vector<MachineType>& machine_types() {
    // The virt board follows QEMU 7.2's versioned "virt-7.2" with the "virt"
    // alias (libvirt canonicalises virt to the versioned name). cpu-max is
    // what armvm's GIC emulation supports, not QEMU's 512. The default CPU
    // is a 64-bit model (QEMU's cortex-a15 is 32-bit; libvirt copies the
    // default into <cpu>, LIBVIRT.md §3).
    static const std::vector<MachineType> types = {
        {"virt-7.2", "virt", "QEMU 7.2 ARM Virtual Machine", true, 8,
         "cortex-a57-arm-cpu", "mach-virt.ram", true,
         {"gic-version", "highmem", "virtualization", "secure", "its", "iommu",
          "ras", "mte", "acpi", "pflash0", "pflash1"}},
        {"none", "", "empty machine", false, 1, "", "ram", false, {}},
    };
    return types;
}

const MachineType* find_machine_type(std::string_view name) {
    for (const auto& t : machine_types())
        if (t.name == name || (!t.alias.empty() && t.alias == name)) return &t;
    return nullptr;
}

}  // namespace armvm
