#pragma once
#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "machine/config.hpp"

namespace armvm::virt {

// The GIC version the board uses for this configuration (2 or 3):
// gic-version unset means 2, as QEMU's virt-7.2 under TCG; max means 3.
Result<unsigned> resolve_gic_version(const MachineConfig& c, bool kvm);

// The device tree the guest is given, in QEMU's node and property names.
// kvm: the CPUs are KVM's ("host", or "max" under KVM: arm,arm-v8).
Result<std::vector<uint8_t>> build_fdt(const MachineConfig& c, unsigned gic_version, bool kvm = false);

}  // namespace armvm::virt
