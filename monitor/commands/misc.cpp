// The rest of libvirt's probe and start-up set: TPM, command-line options,
// migration capabilities, chardevs, block nodes, and the hot-plug commands
// whose schema entries switch libvirt to JSON -device/-object/-netdev.
#include "base/trace.hpp"
#include "hw/char/chardev.hpp"
#include "hw/virtio/virtio_balloon.hpp"
#include "machine/devices.hpp"
#include "machine/machine.hpp"
#include "machine/virt/board.hpp"
#include "monitor/dispatch.hpp"

namespace armvm {

namespace {

// query-command-line-options: the QemuOpts groups and their parameters.
// "sandbox" is listed: libvirt then passes -sandbox on,... (cli/sandbox.cpp).
struct OptGroup {
    const char* option;
    std::vector<std::pair<const char*, const char*>> params;  // name, type
};

const std::vector<OptGroup>& opt_groups() {
    static const std::vector<OptGroup> g = {
        {"machine", {{"type", "string"}, {"accel", "string"}, {"gic-version", "string"}, {"dumpdtb", "string"},
                     {"highmem", "boolean"}, {"usb", "boolean"}, {"dump-guest-core", "boolean"},
                     {"memory-backend", "string"}}},
        {"accel", {{"accel", "string"}, {"thread", "string"}}},
        {"smp-opts", {{"cpus", "number"}, {"sockets", "number"}, {"cores", "number"}, {"threads", "number"},
                      {"maxcpus", "number"}}},
        {"memory", {{"size", "size"}, {"slots", "number"}, {"maxmem", "size"}}},
        {"name", {{"guest", "string"}, {"process", "string"}, {"debug-threads", "boolean"}}},
        {"chardev", {{"backend", "string"}, {"id", "string"}, {"path", "string"}, {"host", "string"},
                     {"port", "string"}, {"fd", "string"}, {"server", "boolean"}, {"wait", "boolean"},
                     {"mux", "boolean"}, {"append", "boolean"}}},
        {"mon", {{"mode", "string"}, {"chardev", "string"}, {"pretty", "boolean"}}},
        {"rtc", {{"base", "string"}, {"clock", "string"}, {"driftfix", "string"}}},
        {"boot-opts", {{"order", "string"}, {"once", "string"}, {"menu", "boolean"}, {"strict", "boolean"},
                       {"splash", "string"}, {"splash-time", "number"}, {"reboot-timeout", "number"}}},
        {"msg", {{"timestamp", "boolean"}, {"guest-name", "boolean"}}},
        {"overcommit", {{"mem-lock", "boolean"}, {"cpu-pm", "boolean"}}},
        {"add-fd", {{"fd", "number"}, {"set", "number"}, {"opaque", "string"}}},
        {"trace", {{"enable", "string"}, {"events", "string"}, {"file", "string"}}},
        {"sandbox", {{"enable", "boolean"}, {"obsolete", "string"}, {"elevateprivileges", "string"},
                     {"spawn", "string"}, {"resourcecontrol", "string"}}},
    };
    return g;
}

}  // namespace

void register_misc_commands(CommandTable& t) {
    Schema& s = t.schema();
    s.enumeration("TpmModel", {"tpm-tis", "tpm-crb", "tpm-spapr"});
    s.enumeration("TpmType", {"passthrough", "emulator"});
    // What armvm can give a guest: a TIS TPM (tpm-tis-device) on an
    // emulator backend (swtpm); no passthrough of a host TPM.
    t.add("query-tpm-models", "", "[TpmModel]", [](QmpContext&, const Json&) -> Result<Json> {
        return Json::array({"tpm-tis"});
    });
    t.add("query-tpm-types", "", "[TpmType]", [](QmpContext&, const Json&) -> Result<Json> {
        return Json::array({"emulator"});
    });
    s.object("TPMEmulatorOptions", {{"chardev", "str"}});
    s.object("TpmTypeOptions", {{"type", "TpmType"}, {"data", "TPMEmulatorOptions"}});
    s.object("TPMInfo", {{"id", "str"}, {"model", "TpmModel"}, {"options", "TpmTypeOptions"}});
    t.add("query-tpm", "", "[TPMInfo]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json r = Json::array();
        if (const virt::Board* b = ctx.machine.board())
            if (const auto* td = b->tpmdev())
                r.push_back({{"id", td->id},
                             {"model", "tpm-tis"},
                             {"options", {{"type", "emulator"}, {"data", {{"chardev", td->chardev}}}}}});
        return r;
    });

    s.enumeration("CommandLineParameterType", {"string", "boolean", "number", "size"});
    s.object("CommandLineParameterInfo",
             {{"name", "str"}, {"type", "CommandLineParameterType"}, {"*help", "str"}, {"*default", "str"}});
    s.object("CommandLineOptionInfo", {{"option", "str"}, {"parameters", "[CommandLineParameterInfo]"}});
    s.object("q_obj_query-command-line-options-arg", {{"*option", "str"}});
    t.add("query-command-line-options", "q_obj_query-command-line-options-arg", "[CommandLineOptionInfo]",
          [](QmpContext&, const Json& a) -> Result<Json> {
              std::string want = a.value("option", "");
              Json out = Json::array();
              for (const auto& g : opt_groups()) {
                  if (!want.empty() && want != g.option) continue;
                  Json params = Json::array();
                  for (const auto& [n, ty] : g.params) params.push_back({{"name", n}, {"type", ty}});
                  out.push_back({{"parameters", params}, {"option", g.option}});
              }
              if (!want.empty() && out.empty()) return make_error("invalid option name: " + want);
              return out;
          });

    // Trace events (base/trace.hpp), as QEMU's: a name or a pattern.
    s.enumeration("TraceEventState", {"unavailable", "disabled", "enabled"});
    s.object("TraceEventInfo", {{"name", "str"}, {"state", "TraceEventState"}, {"vcpu", "bool"}});
    s.object("q_obj_trace-event-get-state-arg", {{"name", "str"}, {"*vcpu", "int"}});
    t.add("trace-event-get-state", "q_obj_trace-event-get-state-arg", "[TraceEventInfo]",
          [](QmpContext&, const Json& a) -> Result<Json> {
              std::string name = a["name"].get<std::string>();
              auto events = trace::query(name);
              if (!events) return make_error(trace::unknown_event(name));
              Json out = Json::array();
              for (const trace::Event* e : *events)
                  out.push_back({{"name", e->name}, {"vcpu", false}, {"state", e->on.load() ? "enabled" : "disabled"}});
              return out;
          });
    s.object("q_obj_trace-event-set-state-arg",
             {{"name", "str"}, {"enable", "bool"}, {"*ignore-unavailable", "bool"}, {"*vcpu", "int"}});
    t.add("trace-event-set-state", "q_obj_trace-event-set-state-arg", "",
          [](QmpContext&, const Json& a) -> Result<Json> {
              std::string name = a["name"].get<std::string>();
              if (!trace::enable(name, a["enable"].get<bool>())) return make_error(trace::unknown_event(name));
              return Json::object();
          });

    s.enumeration("MigrationCapability", {"events"});
    s.object("MigrationCapabilityStatus", {{"capability", "MigrationCapability"}, {"state", "bool"}});
    t.add("query-migrate-capabilities", "", "[MigrationCapabilityStatus]",
          [](QmpContext& ctx, const Json&) -> Result<Json> {
              Json out = Json::array();
              for (const auto& [k, v] : ctx.machine.migration_caps) out.push_back({{"state", v}, {"capability", k}});
              return out;
          });
    s.object("q_obj_migrate-set-capabilities-arg", {{"capabilities", "[MigrationCapabilityStatus]"}});
    t.add("migrate-set-capabilities", "q_obj_migrate-set-capabilities-arg", "",
          [](QmpContext& ctx, const Json& a) -> Result<Json> {
              for (const auto& c : a["capabilities"])
                  ctx.machine.migration_caps[c["capability"].get<std::string>()] = c["state"].get<bool>();
              return Json::object();
          });

    s.object("ChardevInfo", {{"label", "str"}, {"filename", "str"}, {"frontend-open", "bool"}});
    t.add("query-chardev", "", "[ChardevInfo]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json out = Json::array();
        for (const auto& c : ctx.machine.chardevs()) {
            out.push_back({{"frontend-open", c->frontend_attached() && c->connected()},
                           {"filename", c->filename()},
                           {"label", c->id()}});
            if (const Chardev* base = c->mux_base())
                out.push_back({{"frontend-open", base->connected()}, {"filename", base->filename()},
                               {"label", c->id() + "-base"}});
        }
        return out;
    });

    s.object("ImageInfo", {{"filename", "str"}, {"format", "str"}, {"virtual-size", "int"}});
    s.object("BlockDeviceInfo", {{"file", "str"}, {"*node-name", "str"}, {"ro", "bool"}, {"drv", "str"},
                                 {"image", "ImageInfo"}});
    s.object("q_obj_query-named-block-nodes-arg", {{"*flat", "bool"}});
    t.add("query-named-block-nodes", "q_obj_query-named-block-nodes-arg", "[BlockDeviceInfo]",
          [](QmpContext& ctx, const Json&) -> Result<Json> {
              Json out = Json::array();
              if (const virt::Board* b = ctx.machine.board())
                  for (const auto& d : b->block().devs()) {
                      if (!d->format_node().empty()) out.push_back(d->node_info(true));
                      out.push_back(d->node_info(false));
                  }
              return out;
          });
    s.object("BlockInfo", {{"device", "str"}, {"*qdev", "str"}, {"type", "str"}, {"removable", "bool"},
                           {"locked", "bool"}, {"*inserted", "BlockDeviceInfo"}});
    t.add("query-block", "", "[BlockInfo]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        // The block backends: every -drive, and each disk a device uses.
        Json out = Json::array();
        if (const virt::Board* b = ctx.machine.board())
            for (const auto& d : b->block().devs()) {
                if (d->device_name().empty() && d->qdev.empty()) continue;  // a node nobody uses
                Json e = Json::object();
                e["device"] = d->device_name();
                e["locked"] = false;
                e["removable"] = d->qdev.empty();  // (QEMU: a drive no device uses could take any medium)
                e["inserted"] = d->node_info(!d->format_node().empty(), true);
                e["type"] = "unknown";
                if (!d->qdev.empty()) {
                    e["qdev"] = d->qdev;
                    e["io-status"] = "ok";
                }
                out.push_back(std::move(e));
            }
        return out;
    });

    // The devices' block accounting (libvirt's domblkstat, domstats --block).
    s.object("BlockStats", {{"*device", "str"}, {"*qdev", "str"}, {"*node-name", "str"}, {"stats", "any"},
                            {"*parent", "BlockStats"}, {"*backing", "BlockStats"}});
    s.object("q_obj_query-blockstats-arg", {{"*query-nodes", "bool"}});
    t.add("query-blockstats", "q_obj_query-blockstats-arg", "[BlockStats]",
          [](QmpContext& ctx, const Json& a) -> Result<Json> {
              Json out = Json::array();
              const virt::Board* b = ctx.machine.board();
              if (!b) return out;
              const auto& devs = b->block().devs();
              if (a.value("query-nodes", false)) {  // every node, as it was made
                  for (const auto& d : devs) d->node_blockstats(out);
                  return out;
              }
              for (const auto& d : devs) {
                  if (d->device_name().empty() && d->qdev.empty()) continue;  // no backend: a node nobody uses
                  Json e = d->blockstats(true);
                  e["device"] = d->device_name();
                  if (!d->qdev.empty()) e["qdev"] = d->qdev;
                  // A backing image that is a node of its own (-blockdev backing=NODE).
                  for (const auto& o : devs)
                      if (o.get() != d.get() && b->block().backs(*d, *o)) e["backing"] = o->blockstats(false);
                  out.push_back(std::move(e));
              }
              return out;
          });

    // NMIs: the virt board has no way to deliver one (QEMU's answer).
    t.add("inject-nmi", "", "", [](QmpContext&, const Json&) -> Result<Json> {
        return make_error("this feature or command is not currently supported");
    });
    t.add("query-hotpluggable-cpus", "", "[any]", [](QmpContext&, const Json&) -> Result<Json> {
        return make_error("The feature 'query-hotpluggable-cpus' is not enabled");
    });

    // Hot-plug. The schema entries matter to libvirt even before hot-plug
    // does: "json-cli-hotplug", ObjectType with "secret" and NetClientDriver
    // with "dgram" make it use the JSON forms of -device/-object/-netdev.
    s.object("q_obj_device_add-arg", {{"driver", "str"}, {"*bus", "str"}, {"*id", "str"}}, true);
    t.add("device_add", "q_obj_device_add-arg", "",
          [](QmpContext& ctx, const Json& a) -> Result<Json> {
              std::string driver = a["driver"].get<std::string>();
              virt::Board* b = ctx.machine.board();
              if (!b) return make_error("Device '" + driver + "' cannot be hot-plugged on this machine");
              DeviceConfig d;
              const DeviceType* type = find_device_type(driver);
              d.driver = type ? type->name : driver;  // (QEMU's aliases: virtio-blk is virtio-blk-pci)
              d.id = a.value("id", "");
              for (auto it = a.begin(); it != a.end(); ++it)
                  if (it.key() != "driver" && it.key() != "id") d.props[it.key()] = it.value();
              Status st = b->hotplug(d);
              if (!st) return st.error();
              return Json::object();
          },
          {"json-cli", "json-cli-hotplug"});
    s.object("q_obj_device_del-arg", {{"id", "str"}});
    t.add("device_del", "q_obj_device_del-arg", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::string id = a["id"].get<std::string>();
        virt::Board* b = ctx.machine.board();
        if (!b) return make_error("Device '" + id + "' not found", "DeviceNotFound");
        Status st = b->request_unplug(id);
        if (!st) {
            Error e = st.error();
            if (e.msg == "Device '" + id + "' not found") e.cls = "DeviceNotFound";
            return e;
        }
        return Json::object();
    });
    s.object("q_obj_DEVICE_DELETED-arg", {{"*device", "str"}, {"path", "str"}});
    s.event("DEVICE_DELETED", "q_obj_DEVICE_DELETED-arg");
    // The virtio balloon: its target, its size, the driver's statistics
    // through QOM (libvirt's dommemstat: qom-set the polling interval,
    // then qom-get guest-stats).
    s.object("BalloonInfo", {{"actual", "int"}});
    s.event("BALLOON_CHANGE", "BalloonInfo");
    s.object("q_obj_VSERPORT_CHANGE-arg", {{"id", "str"}, {"open", "bool"}});
    s.event("VSERPORT_CHANGE", "q_obj_VSERPORT_CHANGE-arg");
    auto no_balloon = [] { return make_error("No balloon device has been activated", "DeviceNotActive"); };
    t.add("query-balloon", "", "BalloonInfo", [no_balloon](QmpContext& ctx, const Json&) -> Result<Json> {
        virt::Board* b = ctx.machine.board();
        if (!b || !b->balloon()) return no_balloon();
        return Json{{"actual", b->balloon()->actual()}};
    });
    s.object("q_obj_balloon-arg", {{"value", "int"}});
    t.add("balloon", "q_obj_balloon-arg", "", [no_balloon](QmpContext& ctx, const Json& a) -> Result<Json> {
        virt::Board* b = ctx.machine.board();
        if (!b || !b->balloon()) return no_balloon();
        int64_t v = a["value"].get<int64_t>();
        if (v <= 0) return make_error("Parameter 'target' expects a size");
        b->balloon()->set_target(static_cast<uint64_t>(v));
        return Json::object();
    });
    s.object("q_obj_qom-get-arg", {{"path", "str"}, {"property", "str"}});
    t.add("qom-get", "q_obj_qom-get-arg", "any", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::string path = a["path"].get<std::string>(), prop = a["property"].get<std::string>();
        virt::Board* b = ctx.machine.board();
        if (!b || !b->balloon() || path != b->balloon_path())
            return make_error("Device '" + path + "' not found", "DeviceNotFound");
        if (prop == "guest-stats-polling-interval") return Json(b->balloon_stats_interval());
        if (prop != "guest-stats") return make_error("Property 'virtio-balloon." + prop + "' not found");
        static const char* const kNames[] = {"stat-swap-in", "stat-swap-out", "stat-major-faults",
                                             "stat-minor-faults", "stat-free-memory", "stat-total-memory",
                                             "stat-available-memory", "stat-disk-caches", "stat-htlb-pgalloc",
                                             "stat-htlb-pgfail"};
        Json stats = Json::object();
        for (const char* n : kNames) {  // (-1: the driver did not report it)
            auto it = b->balloon()->stats().find(n);
            stats[n] = it == b->balloon()->stats().end() ? Json(-1) : Json(it->second);
        }
        return Json{{"stats", stats}, {"last-update", b->balloon()->stats_last_update()}};
    });
    s.object("q_obj_qom-set-arg", {{"path", "str"}, {"property", "str"}, {"value", "any"}});
    t.add("qom-set", "q_obj_qom-set-arg", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::string path = a["path"].get<std::string>(), prop = a["property"].get<std::string>();
        virt::Board* b = ctx.machine.board();
        if (!b || !b->balloon() || path != b->balloon_path())
            return make_error("Device '" + path + "' not found", "DeviceNotFound");
        if (prop != "guest-stats-polling-interval")
            return make_error("Property 'virtio-balloon." + prop + "' not found");
        const Json& v = a["value"];
        if (!v.is_number_integer()) return make_error("Invalid parameter type for 'value', expected: integer");
        int64_t secs = v.get<int64_t>();
        if (secs < 0) return make_error("timer value must be greater than zero");
        if (secs > 0xffffffffll) return make_error("timer value is too big");
        b->set_balloon_stats_interval(secs);
        return Json::object();
    });
    // Block nodes while the machine runs (file, raw and qcow2, as -blockdev takes).
    s.enumeration("BlockdevDriver", {"file", "host_device", "qcow2", "raw"});
    s.object("BlockdevOptions", {{"driver", "BlockdevDriver"}, {"*node-name", "str"}}, true);
    t.add("blockdev-add", "BlockdevOptions", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        virt::Board* b = ctx.machine.board();
        if (!b) return make_error("block devices need a machine");
        Status st = b->block_layer().add_node(a);
        if (!st) return st.error();
        return Json::object();
    });
    s.object("q_obj_blockdev-del-arg", {{"node-name", "str"}});
    t.add("blockdev-del", "q_obj_blockdev-del-arg", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::string node = a["node-name"].get<std::string>();
        virt::Board* b = ctx.machine.board();
        if (!b) return make_error("Failed to find node with node-name='" + node + "'");
        Status st = b->block_layer().del_node(node);
        if (!st) return st.error();
        return Json::object();
    });
    s.enumeration("ObjectType", {"memory-backend-file", "memory-backend-ram", "secret"});
    s.object("ObjectOptions", {{"qom-type", "ObjectType"}, {"id", "str"}}, true);
    t.add("object-add", "ObjectOptions", "", [](QmpContext&, const Json& a) -> Result<Json> {
        return make_error("object-add of '" + a["qom-type"].get<std::string>() + "' at run time is not supported");
    });
    s.enumeration("NetClientDriver", {"none", "nic", "user", "tap", "l2tpv3", "socket", "stream", "dgram",
                                      "vde", "bridge", "hubport", "netmap", "vhost-user", "vhost-vdpa"});
    s.object("Netdev", {{"id", "str"}, {"type", "NetClientDriver"}}, true);
    t.add("netdev_add", "Netdev", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::string type = a["type"].get<std::string>();
        virt::Board* b = ctx.machine.board();
        if (type != "user" && type != "tap") return make_error("network backend '" + type + "' is not supported");
        if (!b) return make_error("netdev_add needs a machine: -machine none has no network");
        // (The backends read -netdev's string values: QMP's numbers and
        // booleans are given to them as the option text would be.)
        Json o = Json::object();
        for (auto it = a.begin(); it != a.end(); ++it)
            o[it.key()] = it.value().is_string() ? it.value() : Json(it.value().dump());
        Status st = b->add_netdev(o);
        if (!st) return st.error();
        return Json::object();
    });
    s.object("q_obj_netdev_del-arg", {{"id", "str"}});
    t.add("netdev_del", "q_obj_netdev_del-arg", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::string id = a["id"].get<std::string>();
        virt::Board* b = ctx.machine.board();
        if (!b) return make_error("Device '" + id + "' not found", "DeviceNotFound");
        Status st = b->del_netdev(id);
        if (!st) return st.error();
        return Json::object();
    });
}

}  // namespace armvm
