// The machine types armvm offers. Registration is explicit: this file's
// table is the whole list (DESIGN.md habit 6).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace armvm {

struct MachineType {
    std::string name;               // canonical: "virt-7.2"
    std::string alias;              // "virt" or ""
    std::string desc;
    bool is_default = false;
    unsigned max_cpus = 1;
    std::string default_cpu_type;   // QOM typename, "" for none
    std::string default_ram_id;
    bool runs_cpus = false;         // "none" never runs a vCPU
    // -machine properties this type accepts beyond the common ones.
    std::vector<std::string> properties;

    std::string qom_typename() const { return name + "-machine"; }
};

const std::vector<MachineType>& machine_types();
// By name or alias; nullptr if unknown.
const MachineType* find_machine_type(std::string_view name);
// -machine properties every type accepts.
const std::vector<std::string>& common_machine_properties();

}  // namespace armvm
