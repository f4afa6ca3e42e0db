// QOM introspection: qom-list-types, device-list-properties,
// qom-list-properties, qom-list. Every type listed is one armvm implements.
#include "cpu-arm64/models.hpp"
#include "machine/devices.hpp"
#include "machine/machine.hpp"
#include "machine/virt/board.hpp"
#include "machine/objects.hpp"
#include "machine/registry.hpp"
#include "monitor/dispatch.hpp"

namespace armvm {

namespace {

struct QomType {
    std::string name, parent;
    bool abstract = false;
};

std::vector<QomType> qom_types() {
    std::vector<QomType> t = {
        {"object", "", true},
        {"accel", "object", true},
        {"tcg-accel", "accel"},
        {"machine", "object", true},
        {"virt-machine", "machine", true},
        {"device", "object", true},
        {"cpu", "device", true},
        {"arm-cpu", "cpu", true},
        {"memory-backend", "object", true},
        {"secret_common", "object", true},
        // The devices of the virt board (libvirt reads its capabilities
        // from these names: gpex-pcihost and pcie-root-port make it put a
        // domain's devices on PCIe, behind root ports; virtio-mmio is
        // there for the domains that ask for it), then -device's
        // (machine/devices.cpp).
        {"sys-bus-device", "device", true},
        {"pci-device", "device", true},
        {"virtio-pci", "pci-device", true},
        {"pcie-root-port-base", "pci-device", true},
        {"virtio-device", "device", true},
        {"virtio-serial-port", "device", true},
        {"pci-xhci", "pci-device", true},
        {"usb-device", "device", true},
        {"usb-hid", "usb-device", true},
        {"usb-storage-dev", "usb-device", true},
        {"virtio-mmio", "sys-bus-device"},
        {"gpex-pcihost", "sys-bus-device"},
        {"pl011", "sys-bus-device"},
        {"pl031", "sys-bus-device"},
        {"pl061", "sys-bus-device"},
        {"fw_cfg_mem", "sys-bus-device"},
    };
    for (const auto& d : device_types()) t.push_back({d.name, d.parent});
#if defined(__aarch64__)
    t.push_back({"kvm-accel", "accel"});
#endif
    for (const auto& m : machine_types())
        t.push_back({m.qom_typename(), m.runs_cpus ? "virt-machine" : "machine"});
    for (const auto& c : cpu_models()) t.push_back({c.qom_typename(), "arm-cpu"});
    for (const auto& o : object_types()) t.push_back({o.name, o.parent});
    return t;
}

const QomType* find_qom_type(const std::vector<QomType>& all, const std::string& name) {
    for (const auto& t : all)
        if (t.name == name) return &t;
    return nullptr;
}

bool implements(const std::vector<QomType>& all, const QomType& t, const std::string& iface) {
    for (const QomType* p = &t; p; p = p->parent.empty() ? nullptr : find_qom_type(all, p->parent))
        if (p->name == iface) return true;
    return false;
}

Json prop(const std::string& name, const std::string& type, const std::string& desc = "") {
    Json p = {{"name", name}, {"type", type}};
    if (!desc.empty()) p["description"] = desc;
    return p;
}

// Properties of a class, or nullopt if armvm has no such class.
std::optional<Json> class_properties(const std::string& name) {
    Json out = Json::array();
    if (const CpuModel* c = find_cpu_model(name); c && c->qom_typename() == name) {
        out.push_back(prop("pmu", "bool", "the PMUv3 performance monitors"));
        out.push_back(prop("aarch64", "bool", "AArch64 at EL1 (always on)"));
        if (c->name == std::string("max")) {
            out.push_back(prop("pauth", "bool", "pointer authentication (on)"));
            out.push_back(prop("pauth-impdef", "bool", "the implementation-defined PAC algorithm (off: QARMA5)"));
            out.push_back(prop("lpa2", "bool", "52-bit addresses with 4K and 16K pages (FEAT_LPA2, on)"));
        }
        return out;
    }
    for (const auto& m : machine_types()) {
        if (m.qom_typename() != name) continue;
        for (const auto& p : common_machine_properties())
            if (p != "type") out.push_back(prop(p, p == "usb" || p == "dump-guest-core" || p == "graphics" ||
                                                            p == "mem-merge" ? "bool" : "string"));
        for (const auto& p : m.properties)
            out.push_back(prop(p, p == "gic-version" || p == "iommu" || p == "acpi" ? "string" : "bool"));
        return out;
    }
    for (const auto& o : object_types()) {
        if (o.name != name) continue;
        for (const auto& p : o.props) out.push_back(prop(p[0], p[1], p[2]));
        return out;
    }
    // The -device models: their registry entries.
    if (const DeviceType* d = find_device_type(name); d && name == d->name) {
        for (const auto& p : d->props) {
            Json e = prop(p.name, p.type, p.desc);
            if (p.def) e["default-value"] = Json::parse(p.def, nullptr, false);  // (QEMU's JSON of the default)
            out.push_back(std::move(e));
        }
        return out;
    }
    // The board's own devices.
    static const std::vector<std::pair<const char*, std::vector<std::pair<const char*, const char*>>>> devices = {
        {"virtio-mmio", {{"force-legacy", "bool"}}},
        {"gpex-pcihost", {}},
        {"pl011", {{"chardev", "str"}}},
        {"pl031", {}},
        {"pl061", {}},
        {"fw_cfg_mem", {}},
    };
    for (const auto& [dev, props] : devices) {
        if (name != dev) continue;
        for (const auto& [n, ty] : props) out.push_back(prop(n, ty));
        return out;
    }
    return std::nullopt;
}

}  // namespace

void register_qom_commands(CommandTable& t) {
    Schema& s = t.schema();
    s.object("ObjectTypeInfo", {{"name", "str"}, {"*abstract", "bool"}, {"*parent", "str"}});
    s.object("q_obj_qom-list-types-arg", {{"*implements", "str"}, {"*abstract", "bool"}});
    t.add("qom-list-types", "q_obj_qom-list-types-arg", "[ObjectTypeInfo]",
          [](QmpContext&, const Json& a) -> Result<Json> {
              auto all = qom_types();
              bool want_abstract = a.value("abstract", false);
              std::string iface = a.value("implements", "");
              Json out = Json::array();
              for (const auto& ty : all) {
                  if (ty.abstract && !want_abstract) continue;
                  if (!iface.empty() && !implements(all, ty, iface)) continue;
                  Json e = {{"name", ty.name}};
                  if (ty.abstract) e["abstract"] = true;
                  if (!ty.parent.empty()) e["parent"] = ty.parent;
                  out.push_back(e);
              }
              return out;
          });

    s.object("ObjectPropertyInfo", {{"name", "str"}, {"type", "str"}, {"*description", "str"},
                                    {"*default-value", "any"}});
    s.object("q_obj_device-list-properties-arg", {{"typename", "str"}});
    t.add("device-list-properties", "q_obj_device-list-properties-arg", "[ObjectPropertyInfo]",
          [](QmpContext&, const Json& a) -> Result<Json> {
              std::string name = a["typename"].get<std::string>();
              auto all = qom_types();
              const QomType* ty = find_qom_type(all, name);
              if (!ty) return make_error("Device '" + name + "' not found", "DeviceNotFound");
              if (!implements(all, *ty, "device"))
                  return make_error("Parameter 'typename' expects device", "GenericError");
              if (ty->abstract) return make_error("Parameter 'typename' expects a non-abstract device type");
              return class_properties(name).value_or(Json::array());
          });

    s.object("q_obj_qom-list-properties-arg", {{"typename", "str"}});
    t.add("qom-list-properties", "q_obj_qom-list-properties-arg", "[ObjectPropertyInfo]",
          [](QmpContext&, const Json& a) -> Result<Json> {
              std::string name = a["typename"].get<std::string>();
              if (auto p = class_properties(name)) return *p;
              auto all = qom_types();
              if (find_qom_type(all, name)) return Json::array();  // abstract: no own properties
              // Note: libvirt 9.0 crashes on DeviceNotFound here for a class
              // it asks about unconditionally (memory-backend-file); armvm
              // implements that class, so the answer above is an array.
              return make_error("Class '" + name + "' not found", "DeviceNotFound");
          });

    s.object("q_obj_qom-list-arg", {{"path", "str"}});
    t.add("qom-list", "q_obj_qom-list-arg", "[ObjectPropertyInfo]", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::string path = a["path"].get<std::string>();
        const Machine& m = ctx.machine;
        if (path == "/") return Json::array({prop("type", "string"), prop("machine", "child<" + m.type().qom_typename() + ">"),
                                             prop("objects", "child<container>")});
        if (const virt::Board* b = m.board()) {  // (the tree HMP's info qom-tree prints)
            auto tree = b->qom_tree(m.type().qom_typename());
            if (const auto* n = virt::Board::qom_find(tree, path)) {
                Json out = Json::array({prop("type", "string")});
                for (const auto& c : n->children) out.push_back(prop(c.name, "child<" + c.type + ">"));
                return out;
            }
        } else if (path == "/machine" || path == "/machine/peripheral" || path == "/machine/peripheral-anon" ||
                   path == "/machine/unattached") {
            return Json::array({prop("type", "string")});  // (-machine none: empty containers)
        }
        if (path == "/objects") {
            Json out = Json::array({prop("type", "string")});
            for (const auto& o : m.config().objects) out.push_back(prop(o.id, "child<" + o.qom_type + ">"));
            return out;
        }
        return make_error("Device '" + path + "' not found", "DeviceNotFound");
    });
}

}  // namespace armvm
