// Machine, CPU and accelerator queries: query-target, query-kvm,
// query-machines, query-cpu-definitions, query-cpu-model-expansion,
// query-gic-capabilities, query-cpus-fast.
#include "accel/accelerator.hpp"
#include "accel/kvm/arm64.hpp"
#include "cpu-arm64/models.hpp"
#include "machine/machine.hpp"
#include "machine/registry.hpp"
#include "machine/virt/board.hpp"
#include "monitor/dispatch.hpp"

namespace armvm {

void register_machine_commands(CommandTable& t) {
    Schema& s = t.schema();
    s.enumeration("SysEmuTarget", {"aarch64"});
    s.object("TargetInfo", {{"arch", "SysEmuTarget"}});
    t.add("query-target", "", "TargetInfo", [](QmpContext&, const Json&) -> Result<Json> {
        return Json{{"arch", "aarch64"}};
    });

    s.object("KvmInfo", {{"enabled", "bool"}, {"present", "bool"}});
    t.add("query-kvm", "", "KvmInfo", [](QmpContext& ctx, const Json&) -> Result<Json> {
        return Json{{"enabled", ctx.machine.kvm_enabled()}, {"present", kvm_arm64_available().ok()}};
    });

    s.object("MachineInfo", {{"name", "str"}, {"*alias", "str"}, {"*is-default", "bool"}, {"cpu-max", "int"},
                             {"hotpluggable-cpus", "bool"}, {"numa-mem-supported", "bool"},
                             {"deprecated", "bool"}, {"*default-cpu-type", "str"}, {"*default-ram-id", "str"},
                             {"acpi", "bool"}});
    s.object("q_obj_query-machines-arg", {{"*compat-props", "bool"}});
    t.add("query-machines", "q_obj_query-machines-arg", "[MachineInfo]", [](QmpContext&, const Json&) -> Result<Json> {
        Json out = Json::array();
        for (const auto& m : machine_types()) {
            Json e = {{"name", m.name}};
            if (!m.alias.empty()) e["alias"] = m.alias;
            if (m.is_default) e["is-default"] = true;
            e["cpu-max"] = m.max_cpus;
            e["hotpluggable-cpus"] = false;
            e["numa-mem-supported"] = false;
            e["deprecated"] = false;
            if (!m.default_cpu_type.empty()) e["default-cpu-type"] = m.default_cpu_type;
            if (!m.default_ram_id.empty()) e["default-ram-id"] = m.default_ram_id;
            e["acpi"] = false;  // armvm builds no ACPI tables: the guest uses the device tree
            out.push_back(e);
        }
        return out;
    });

    s.object("CpuDefinitionInfo", {{"name", "str"}, {"*migration-safe", "bool"}, {"static", "bool"},
                                   {"*unavailable-features", "[str]"}, {"typename", "str"},
                                   {"*alias-of", "str"}, {"deprecated", "bool"}});
    t.add("query-cpu-definitions", "", "[CpuDefinitionInfo]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json out = Json::array();
        for (const auto& m : cpu_models()) {
            Json unavailable = Json::array();
            // "host" needs KVM; QEMU names the blocking property this way.
            if (m.needs_kvm && !ctx.machine.kvm_enabled()) unavailable.push_back("kvm");
            out.push_back({{"name", m.name}, {"typename", m.qom_typename()}, {"unavailable-features", unavailable},
                           {"static", false}, {"deprecated", false}});
        }
        return out;
    });

    s.enumeration("CpuModelExpansionType", {"static", "full"});
    s.object("CpuModelInfo", {{"name", "str"}, {"*props", "any"}});
    s.object("q_obj_query-cpu-model-expansion-arg", {{"type", "CpuModelExpansionType"}, {"model", "CpuModelInfo"}});
    s.object("CpuModelExpansionInfo", {{"model", "CpuModelInfo"}});
    t.add("query-cpu-model-expansion", "q_obj_query-cpu-model-expansion-arg", "CpuModelExpansionInfo",
          [](QmpContext& ctx, const Json& a) -> Result<Json> {
              if (a["type"] != "full") return make_error("The requested expansion type is not supported");
              std::string name = a["model"]["name"].get<std::string>();
              const CpuModel* m = find_cpu_model(name);
              if (!m) return make_error("The CPU type '" + name + "' is not a recognized ARM CPU type");
              if (m->needs_kvm && !ctx.machine.kvm_enabled())
                  return make_error("The CPU type '" + m->name + "' requires KVM");
              // Under KVM the running CPU's PMU is what the host allowed
              // (INCIDENTS.md #4: off where its version is unsafe).
              const CpuConfig& run = ctx.machine.config().cpu;
              bool pmu = ctx.machine.kvm_enabled() && run.model == m->name ? run.pmu.value_or(m->has_pmu)
                                                                          : m->has_pmu;
              Json props = {{"aarch64", true}, {"pmu", pmu}};
              if (m->name == std::string("max") && !ctx.machine.kvm_enabled()) {  // (TCG's pointer authentication)
                  bool running = run.model == "max";
                  props["pauth"] = running ? run.pauth.value_or(true) : true;
                  props["pauth-impdef"] = running ? run.pauth_impdef.value_or(false) : false;
                  props["lpa2"] = running ? run.lpa2.value_or(true) : true;
              }
              if (ctx.machine.kvm_enabled()) {
                  // QEMU's KVM vCPU properties, as this VM has them
                  props["kvm-no-adjvtime"] = run.kvm_no_adjvtime.value_or(false);
                  props["kvm-steal-time"] = run.kvm_steal_time.value_or(false);
                  if (run.sve) props["sve"] = *run.sve;  // (where the host has SVE)
              }
              if (a["model"].contains("props")) {
                  const Json& p = a["model"]["props"];
                  if (!p.is_object()) return make_error("Invalid parameter type for 'props', expected: object");
                  for (auto it = p.begin(); it != p.end(); ++it) {
                      if (!props.contains(it.key()))
                          return make_error("Property '" + m->qom_typename() + "." + it.key() + "' not found");
                      if (!it.value().is_boolean())
                          return make_error("Invalid parameter type for '" + it.key() + "', expected: boolean");
                      if (it.key() == "aarch64" && !it.value().get<bool>())
                          return make_error("'aarch64' feature cannot be disabled unless KVM is enabled and 32-bit EL1 is supported");
                      props[it.key()] = it.value();
                  }
              }
              return Json{{"model", {{"name", m->name}, {"props", props}}}};
          });

    s.object("GICCapability", {{"version", "int"}, {"emulated", "bool"}, {"kernel", "bool"}});
    t.add("query-gic-capabilities", "", "[GICCapability]", [](QmpContext&, const Json&) -> Result<Json> {
        // Both GICs are emulated; the in-kernel ones are what this host's
        // KVM can create (none where KVM cannot run arm64 guests).
        kvm::ArmHost host;
        if (auto h = kvm::probe_arm_host()) host = *h;
        return Json::array({{{"version", 3}, {"emulated", true}, {"kernel", host.gic_v3}},
                            {{"version", 2}, {"emulated", true}, {"kernel", host.gic_v2}}});
    });

    // armvm's own (QEMU has no such command): how many times the machine,
    // each device and each CPU were reset, for the reset tests.
    s.object("ArmvmDeviceResets", {{"device", "str"}, {"resets", "int"}});
    s.object("ArmvmResetCounts", {{"machine", "int"}, {"devices", "[ArmvmDeviceResets]"}, {"cpus", "[int]"}});
    t.add("x-armvm-query-resets", "", "ArmvmResetCounts", [](QmpContext& ctx, const Json&) -> Result<Json> {
        const virt::Board* b = ctx.machine.board();
        if (!b) return make_error("this machine has no board to reset");
        Json devs = Json::array();
        for (const auto& [name, n] : b->device_reset_counts()) devs.push_back({{"device", name}, {"resets", n}});
        return Json{{"machine", b->resets()}, {"devices", devs}, {"cpus", b->cpu_reset_counts()}};
    });

    s.enumeration("CpuS390State", {"uninitialized", "stopped", "check-stop", "operating", "load"});
    s.object("CpuInstanceProperties", {{"*node-id", "int"}, {"*socket-id", "int"}, {"*die-id", "int"},
                                       {"*cluster-id", "int"}, {"*core-id", "int"}, {"*thread-id", "int"}});
    s.object("CpuInfoFast", {{"cpu-index", "int"}, {"qom-path", "str"}, {"thread-id", "int"},
                             {"*props", "CpuInstanceProperties"}, {"target", "SysEmuTarget"}});
    t.add("query-cpus-fast", "", "[CpuInfoFast]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json out = Json::array();
        const virt::Board* b = ctx.machine.board();
        if (!b) return out;  // "none" has no CPU
        const SmpConfig& smp = ctx.machine.config().smp;
        for (unsigned i = 0; i < b->cpu_count(); ++i) {
            Json props = {{"core-id", (i / smp.threads) % smp.cores}, {"thread-id", i % smp.threads},
                          {"socket-id", i / (smp.threads * smp.cores)}, {"cluster-id", 0}};
            out.push_back({{"thread-id", b->cpu_thread_id(i)},
                           {"props", props},
                           {"qom-path", "/machine/unattached/device[" + std::to_string(i) + "]"},
                           {"cpu-index", i},
                           {"target", "aarch64"}});
        }
        return out;
    });
}

}  // namespace armvm
