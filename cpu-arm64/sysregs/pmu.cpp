#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

std::span<const SysRegDesc> pmu_sysregs() { return {}; }

}  // namespace armvm
