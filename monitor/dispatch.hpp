// QMP command dispatch: the one command table (schema + handlers), request
// validation with QEMU's messages and error classes, reply building.
#pragma once
#include <functional>
#include <map>
#include <string>

#include "base/json.hpp"
#include "base/result.hpp"
#include "monitor/schema.hpp"

namespace armvm {

class Machine;
class CommandTable;

struct QmpContext {
    Machine& machine;
    const CommandTable& table;
};

using CommandHandler = std::function<Result<Json>(QmpContext&, const Json& args)>;

class CommandTable {
public:
    // Declares the command in the schema and binds its handler.
    void add(const std::string& name, const std::string& arg_type, const std::string& ret_type,
             CommandHandler h, std::vector<std::string> features = {});
    const CommandHandler* find(const std::string& name) const;

    Schema& schema() { return schema_; }
    const Schema& schema() const { return schema_; }

private:
    Schema schema_;
    std::map<std::string, CommandHandler> handlers_;
};

// Builds the table with every command armvm implements (monitor/commands/).
const CommandTable& command_table();

// Per-connection protocol state.
struct QmpSession {
    bool negotiated = false;
};

// Handles one parsed request; returns the reply object.
Json qmp_dispatch(QmpContext& ctx, QmpSession& session, const Json& request);

Json qmp_error_reply(const std::string& cls, const std::string& desc);

// Registration functions, one per file under monitor/commands/.
void register_core_commands(CommandTable& t);
void register_machine_commands(CommandTable& t);
void register_qom_commands(CommandTable& t);
void register_misc_commands(CommandTable& t);
void register_pci_commands(CommandTable& t);
void register_input_commands(CommandTable& t);

}  // namespace armvm
