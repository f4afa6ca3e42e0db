// QMP protocol and run-state commands: qmp_capabilities, query-version,
// query-commands, query-qmp-schema, query-events, query-status, stop, cont,
// quit, query-jobs, query-name, query-uuid, human-monitor-command.
#include "machine/machine.hpp"
#include "monitor/dispatch.hpp"
#include "monitor/hmp.hpp"
#include "monitor/qmp_server.hpp"

namespace armvm {

void register_core_commands(CommandTable& t) {
    Schema& s = t.schema();
    s.enumeration("QMPCapability", {"oob"});
    s.object("q_obj_qmp_capabilities-arg", {{"*enable", "[QMPCapability]"}});
    t.add("qmp_capabilities", "q_obj_qmp_capabilities-arg", "", [](QmpContext&, const Json& a) -> Result<Json> {
        if (a.contains("enable") && !a["enable"].empty())
            return make_error("Capability '" + a["enable"][0].get<std::string>() + "' not available");
        return Json::object();
    });

    s.object("VersionTriple", {{"major", "int"}, {"minor", "int"}, {"micro", "int"}});
    s.object("VersionInfo", {{"qemu", "VersionTriple"}, {"package", "str"}});
    t.add("query-version", "", "VersionInfo", [](QmpContext&, const Json&) -> Result<Json> {
        return qmp_version_info();
    });

    s.object("CommandInfo", {{"name", "str"}});
    t.add("query-commands", "", "[CommandInfo]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json out = Json::array();
        for (const auto& n : ctx.table.schema().command_names()) out.push_back({{"name", n}});
        return out;
    });

    t.add("query-qmp-schema", "", "[any]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        return ctx.table.schema().introspect();
    });

    s.object("EventInfo", {{"name", "str"}});
    t.add("query-events", "", "[EventInfo]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json out = Json::array();
        for (const auto& n : ctx.table.schema().event_names()) out.push_back({{"name", n}});
        return out;
    });
    s.enumeration("ShutdownCause", {"none", "host-error", "host-qmp-quit", "host-qmp-system-reset",
                                    "host-signal", "host-ui", "guest-shutdown", "guest-reset", "guest-panic",
                                    "subsystem-reset", "snapshot-load"});
    s.object("q_obj_SHUTDOWN-arg", {{"guest", "bool"}, {"reason", "ShutdownCause"}});
    s.event("SHUTDOWN", "q_obj_SHUTDOWN-arg");
    s.object("q_obj_RESET-arg", {{"guest", "bool"}, {"reason", "ShutdownCause"}});
    s.event("RESET", "q_obj_RESET-arg");
    s.event("STOP", "");
    s.event("RESUME", "");
    s.event("POWERDOWN", "");

    s.enumeration("RunState", {"debug", "inmigrate", "internal-error", "io-error", "paused", "postmigrate",
                               "prelaunch", "finish-migrate", "restore-vm", "running", "save-vm", "shutdown",
                               "suspended", "watchdog", "guest-panicked", "colo"});
    s.object("StatusInfo", {{"running", "bool"}, {"singlestep", "bool"}, {"status", "RunState"}});
    t.add("query-status", "", "StatusInfo", [](QmpContext& ctx, const Json&) -> Result<Json> {
        return Json{{"status", run_state_name(ctx.machine.state())},
                    {"singlestep", false},
                    {"running", ctx.machine.running()}};
    });

    t.add("stop", "", "", [](QmpContext& ctx, const Json&) -> Result<Json> {
        ARMVM_TRY(ctx.machine.stop());
        return Json::object();
    });
    t.add("cont", "", "", [](QmpContext& ctx, const Json&) -> Result<Json> {
        ARMVM_TRY(ctx.machine.cont());
        return Json::object();
    });
    t.add("system_reset", "", "", [](QmpContext& ctx, const Json&) -> Result<Json> {
        ARMVM_TRY(ctx.machine.system_reset(false, "host-qmp-system-reset"));
        return Json::object();
    });
    t.add("system_powerdown", "", "", [](QmpContext& ctx, const Json&) -> Result<Json> {
        ctx.machine.system_powerdown();
        return Json::object();
    });
    t.add("quit", "", "", [](QmpContext& ctx, const Json&) -> Result<Json> {
        ctx.machine.request_quit(false, "host-qmp-quit");
        return Json::object();
    });

    s.enumeration("JobType", {"commit", "stream", "mirror", "backup", "create", "amend", "snapshot-load",
                              "snapshot-save", "snapshot-delete"});
    s.enumeration("JobStatus", {"undefined", "created", "running", "paused", "ready", "standby", "waiting",
                                "pending", "aborting", "concluded", "null"});
    s.object("JobInfo", {{"id", "str"}, {"type", "JobType"}, {"status", "JobStatus"},
                         {"current-progress", "int"}, {"total-progress", "int"}, {"*error", "str"}});
    t.add("query-jobs", "", "[JobInfo]", [](QmpContext&, const Json&) -> Result<Json> {
        return Json::array();  // armvm runs no block jobs
    });

    s.object("NameInfo", {{"*name", "str"}});
    t.add("query-name", "", "NameInfo", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json out = Json::object();
        if (!ctx.machine.config().name.empty()) out["name"] = ctx.machine.config().name;
        return out;
    });
    s.object("UuidInfo", {{"UUID", "str"}});
    t.add("query-uuid", "", "UuidInfo", [](QmpContext& ctx, const Json&) -> Result<Json> {
        return Json{{"UUID", ctx.machine.config().uuid.value_or("00000000-0000-0000-0000-000000000000")}};
    });

    s.object("q_obj_human-monitor-command-arg", {{"command-line", "str"}, {"*cpu-index", "int"}});
    t.add("human-monitor-command", "q_obj_human-monitor-command-arg", "str",
          [](QmpContext& ctx, const Json& a) -> Result<Json> {
              return Json(hmp_execute(ctx, a["command-line"].get<std::string>()));
          });
}

}  // namespace armvm
