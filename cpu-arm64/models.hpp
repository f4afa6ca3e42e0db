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
    bool has_pmu = true;        // pmu=on by default (the ID registers,
                                // cpu-arm64/sysregs/, say what is emulated)

    std::string qom_typename() const { return name + "-arm-cpu"; }
};

const std::vector<CpuModel>& cpu_models();
// Accepts a model name or its QOM typename.
const CpuModel* find_cpu_model(std::string_view name);

}  // namespace armvm
