#include "machine/validate.hpp"

#include <algorithm>
#include <set>

#include "base/keyval.hpp"
#include "cpu-arm64/models.hpp"
#include "machine/registry.hpp"

namespace armvm {

namespace {

Error with_origin(const std::string& opt, const std::string& origin, const std::string& msg) {
    return make_error("-" + opt + " " + origin + ": " + msg);
}

constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;

Status validate_machine(MachineConfig& c, const MachineType& mt) {
    OptReader r(c.machine_props);
    auto E = [&](const std::string& m) { return with_origin("machine", c.machine_origin, m); };
    (void)r.str("type");
    (void)r.str("accel");  // handled by the command-line parser
    // Only properties this machine type has are accepted (QEMU's wording).
    std::set<std::string> allowed(common_machine_properties().begin(), common_machine_properties().end());
    allowed.insert(mt.properties.begin(), mt.properties.end());
    for (auto it = c.machine_props.begin(); it != c.machine_props.end(); ++it)
        if (!allowed.count(it.key()))
            return E("Property '" + mt.qom_typename() + "." + it.key() + "' not found");

    auto boolean = [&](const char* k, bool& dst) -> Status {
        auto b = r.boolean(k);
        if (!b) return E(b.error().msg);
        if (*b) dst = **b;
        return ok_status();
    };
    ARMVM_TRY(boolean("usb", c.usb));
    ARMVM_TRY(boolean("dump-guest-core", c.dump_guest_core));
    bool scratch = false;
    ARMVM_TRY(boolean("graphics", scratch));
    ARMVM_TRY(boolean("mem-merge", scratch));
    c.dumpdtb = r.str("dumpdtb");
    c.memory_backend = r.str("memory-backend");
    c.pflash_node[0] = r.str("pflash0");
    c.pflash_node[1] = r.str("pflash1");
    if (auto v = r.str("kernel")) c.kernel = v;
    if (auto v = r.str("initrd")) c.initrd = v;
    if (auto v = r.str("append")) c.append = v;
    if (auto v = r.str("dtb")) c.dtb = v;

    if (auto g = r.str("gic-version")) {
        if (*g != "2" && *g != "3" && *g != "host" && *g != "max")
            return E("gic-version must be 2, 3, host or max");
        c.gic_version = *g;
    }
    ARMVM_TRY(boolean("highmem", c.highmem));
    ARMVM_TRY(boolean("virtualization", c.virtualization));
    ARMVM_TRY(boolean("secure", c.secure));
    ARMVM_TRY(boolean("its", c.its));
    scratch = false;
    ARMVM_TRY(boolean("ras", scratch));
    if (scratch) return E("RAS is not supported");
    bool mte = false;
    ARMVM_TRY(boolean("mte", mte));
    if (mte) return E("MTE is not supported");
    if (auto io = r.str("iommu"); io && *io != "none") return E("iommu '" + *io + "' is not supported");
    if (auto acpi = r.str("acpi")) {
        if (*acpi != "off" && *acpi != "auto" && *acpi != "on")
            return E("Parameter 'acpi' does not accept value '" + *acpi + "'");
        c.acpi = *acpi == "auto" ? std::nullopt : std::optional<bool>(*acpi == "on");
    }
    if (c.virtualization) return E("virtualization=on (EL2) is not supported yet");
    if (c.append && !c.kernel) return make_error("-append: only allowed with -kernel option");
    if (c.initrd && !c.kernel) return make_error("-initrd: only allowed with -kernel option");
    if (c.secure) return E("secure=on (EL3) is not supported yet");
    return ok_status();
}

Status validate_cpu(MachineConfig& c, const MachineType& mt) {
    if (c.cpu.model.empty()) {
        if (const CpuModel* d = find_cpu_model(mt.default_cpu_type)) c.cpu.model = d->name;
        return ok_status();
    }
    const CpuModel* m = find_cpu_model(c.cpu.model);
    if (!m) return with_origin("cpu", c.cpu.origin, "unable to find CPU model '" + c.cpu.model + "'");
    c.cpu.model = m->name;
    if (c.cpu.pmu.value_or(false) && !m->has_pmu)
        return with_origin("cpu", c.cpu.origin, "'pmu' feature not supported by CPU model " + m->name);
    return ok_status();
}

Status validate_memory(MachineConfig& c, const MachineType& mt) {
    uint64_t size = c.memory.size;
    if (c.memory_backend) {
        auto it = std::find_if(c.objects.begin(), c.objects.end(),
                               [&](const ObjectConfig& o) { return o.id == *c.memory_backend; });
        if (it == c.objects.end() || it->qom_type.rfind("memory-backend", 0) != 0)
            return with_origin("machine", c.machine_origin,
                               "Memory backend '" + *c.memory_backend + "' not found");
        uint64_t bsize = it->props.value("size", uint64_t{0});
        if (size && size != bsize)
            return make_error("-m: memory size (" + std::to_string(size) +
                              ") does not match the size of memory-backend '" + it->id + "' (" +
                              std::to_string(bsize) + ")");
        size = bsize;
    }
    if (!size) size = 128 * kMiB;  // QEMU's default RAM size
    if (size % (64 * 1024)) size = (size + 0xffff) & ~uint64_t{0xffff};
    if (mt.runs_cpus) {
        // RAM starts at 1 GiB; without highmem it must end below 4 GiB.
        uint64_t limit = c.highmem ? 255 * kGiB : 3 * kGiB;
        if (size > limit)
            return make_error(std::string("-m: mach-virt: cannot model more than ") +
                              (c.highmem ? "255" : "3") + "GB RAM");
    }
    c.memory.size = size;
    return ok_status();
}

Status validate_smp(MachineConfig& c, const MachineType& mt) {
    if (!c.smp_given) c.smp = SmpConfig{};
    if (c.smp.maxcpus > mt.max_cpus) {
        if (!mt.runs_cpus)
            return make_error("-smp: Invalid SMP CPUs " + std::to_string(c.smp.maxcpus) +
                              ". The max CPUs supported by machine '" + mt.name + "' is " +
                              std::to_string(mt.max_cpus));
        return make_error("-smp: Number of SMP CPUs requested (" + std::to_string(c.smp.maxcpus) +
                          ") exceeds max CPUs supported by machine '" + mt.name + "' (" +
                          std::to_string(mt.max_cpus) + ")");
    }
    return ok_status();
}

Status validate_chardevs(MachineConfig& c) {
    std::set<std::string> ids;
    for (const auto& ch : c.chardevs) {
        if (!ids.insert(ch.id).second)
            return make_error("-chardev " + ch.origin + ": attempt to add duplicate property '" + ch.id +
                              "' to object");
        if (c.daemonize && ch.backend == "stdio")
            return make_error("-chardev " + ch.origin + ": cannot use stdio with -daemonize");
    }
    for (const auto& m : c.monitors)
        if (!ids.count(m.chardev)) return make_error("-mon " + m.origin + ": chardev \"" + m.chardev + "\" not found");
    for (const auto& s : c.serials)
        if (!ids.count(s)) return make_error("-serial chardev:" + s + ": chardev \"" + s + "\" not found");
    // (as QEMU: unless the serial port, the monitor and the parallel port
    // all went elsewhere, -nographic puts one of them on the terminal)
    if (c.daemonize && c.nographic && !c.nodefaults && (!c.serial_given || !c.monitor_given || !c.parallel_given))
        return make_error("-nographic cannot be used with -daemonize");
    return ok_status();
}

}  // namespace

Status validate_config(MachineConfig& c) {
    std::string type = OptReader(c.machine_props).str("type").value_or("");
    const MachineType* mt = nullptr;
    if (type.empty()) {
        for (const auto& t : machine_types())
            if (t.is_default) mt = &t;
    } else {
        mt = find_machine_type(type);
        if (!mt) return with_origin("machine", c.machine_origin,
                                    "unsupported machine type (use -machine help to list supported machines)");
    }
    c.machine_type = mt->name;
    if (c.accels.empty()) c.accels = {"tcg"};
    ARMVM_TRY(validate_machine(c, *mt));
    ARMVM_TRY(validate_cpu(c, *mt));
    ARMVM_TRY(validate_memory(c, *mt));
    ARMVM_TRY(validate_smp(c, *mt));
    ARMVM_TRY(validate_chardevs(c));
    return ok_status();
}



bool MachineConfig::firmware_loaded() const {
    if (bios || pflash_node[0]) return true;
    for (const auto& b : block_opts) {
        if (!b.is_drive || !b.opts.is_object() || b.opts.value("if", "") != "pflash") continue;
        // (a -drive if=pflash without unit= takes the next free bank: the
        // first one is bank 0)
        auto u = b.opts.find("unit");
        if (u == b.opts.end()) return true;
        if (u->is_string() ? u->get<std::string>() == "0" : (u->is_number() && u->get<int64_t>() == 0)) return true;
    }
    return false;
}

}  // namespace armvm
