// Accelerators: the one seam between boards/devices and KVM or TCG.
// This part: which accelerators exist and which can run here.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace armvm {

struct AccelInfo {
    std::string name;   // "kvm", "tcg"
    std::string desc;
};

const std::vector<AccelInfo>& accel_types();
bool is_accel_name(std::string_view name);

// Whether KVM can create an arm64 VM on this host. On non-arm64 hosts it
// never can (/dev/kvm there runs only the host's own architecture).
Status kvm_arm64_available();

}  // namespace armvm
