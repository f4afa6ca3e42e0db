#include "monitor/dispatch.hpp"

namespace armvm {

void CommandTable::add(const std::string& name, const std::string& arg_type, const std::string& ret_type,
                       CommandHandler h, std::vector<std::string> features) {
    schema_.command(name, arg_type, ret_type, std::move(features));
    handlers_[name] = std::move(h);
}

const CommandHandler* CommandTable::find(const std::string& name) const {
    auto it = handlers_.find(name);
    return it == handlers_.end() ? nullptr : &it->second;
}

const CommandTable& command_table() {
    static const CommandTable table = [] {
        CommandTable t;
        register_core_commands(t);
        register_machine_commands(t);
        register_qom_commands(t);
        register_misc_commands(t);
        register_pci_commands(t);
        register_input_commands(t);
        return t;
    }();
    return table;
}

Json qmp_error_reply(const std::string& cls, const std::string& desc) {
    return Json{{"error", {{"class", cls}, {"desc", desc}}}};
}

Json qmp_dispatch(QmpContext& ctx, QmpSession& session, const Json& request) {
    if (!request.is_object()) return qmp_error_reply("GenericError", "QMP input must be a JSON object");
    std::string command;
    bool have_command = false;
    Json args = Json::object();
    for (auto it = request.begin(); it != request.end(); ++it) {
        const std::string& k = it.key();
        if (k == "execute") {
            if (!it.value().is_string())
                return qmp_error_reply("GenericError", "QMP input member 'execute' must be a string");
            command = it.value().get<std::string>();
            have_command = true;
        } else if (k == "arguments") {
            if (!it.value().is_object())
                return qmp_error_reply("GenericError", "QMP input member 'arguments' must be an object");
            args = it.value();
        } else if (k != "id") {
            // "exec-oob" too: armvm does not offer the oob capability.
            return qmp_error_reply("GenericError", "QMP input member '" + k + "' is unexpected");
        }
    }
    auto with_id = [&](Json reply) {
        if (request.contains("id")) reply["id"] = request["id"];
        return reply;
    };
    if (!have_command) return with_id(qmp_error_reply("GenericError", "QMP input lacks member 'execute'"));

    if (!session.negotiated) {
        if (command != "qmp_capabilities")
            return with_id(qmp_error_reply("CommandNotFound",
                                           "Expecting capabilities negotiation with 'qmp_capabilities'"));
    } else if (command == "qmp_capabilities") {
        return with_id(qmp_error_reply("CommandNotFound",
                                       "Capabilities negotiation is already complete, command ignored"));
    }

    const CommandHandler* h = ctx.table.find(command);
    if (!h) return with_id(qmp_error_reply("CommandNotFound", "The command " + command + " has not been found"));
    if (auto st = ctx.table.schema().check_args(ctx.table.schema().command_arg_type(command), args); !st)
        return with_id(qmp_error_reply(st.error().cls, st.error().msg));

    auto r = (*h)(ctx, args);
    if (!r) return with_id(qmp_error_reply(r.error().cls, r.error().msg));
    if (command == "qmp_capabilities") session.negotiated = true;
    return with_id(Json{{"return", std::move(r.value())}});
}

}  // namespace armvm
