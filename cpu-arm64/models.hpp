// The CPU models armvm implements (-cpu help, query-cpu-definitions).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace armvm {

struct CpuModel {
    std::string name;           // "cortex-a57"
    std::string desc;
    bool needs_kvm = false;     // "host"
    bool has_pmu = true;        // PMUv3 present by default (pmu=on)
    // PMU version advertised in ID_AA64DFR0_EL1.PMUVer (INCIDENTS.md #4:
    // never more than what the emulation implements). 0: none; 1: PMUv3;
    // 4: PMUv3p1.
    unsigned pmu_version = 1;

    std::string qom_typename() const { return name + "-arm-cpu"; }
};

const std::vector<CpuModel>& cpu_models();
// Accepts a model name or its QOM typename.
const CpuModel* find_cpu_model(std::string_view name);

}  // namespace armvm
