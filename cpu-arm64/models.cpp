#include "cpu-arm64/models.hpp"

namespace armvm {

const std::vector<CpuModel>& cpu_models() {
    static const std::vector<CpuModel> models = {
        {"cortex-a53", "ARM Cortex-A53", false, true},
        {"cortex-a57", "ARM Cortex-A57", false, true},
        {"cortex-a72", "ARM Cortex-A72", false, true},
        {"neoverse-n1", "ARM Neoverse-N1", false, true},
        {"max", "Every feature armvm's TCG implements", false, true},
        {"host", "The host's CPU (KVM only)", true, true},
    };
    return models;
}

const CpuModel* find_cpu_model(std::string_view name) {
    for (const auto& m : cpu_models())
        if (m.name == name || m.qom_typename() == name) return &m;
    return nullptr;
}

}  // namespace armvm
