// The QMP schema, declared once in QAPI's own conventions, and used three
// ways: to validate command arguments (with QEMU's error messages), to
// answer query-qmp-schema (QEMU's introspection format) and query-commands,
// and, in tests, to check that every reply has the declared shape.
//
// Declarations:   schema.object("VersionInfo", {{"qemu", "VersionTriple"},
//                                              {"package", "str"},
//                                              {"*flat", "bool"}});
// A leading '*' marks an optional member; "[T]" is an array of T.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/json.hpp"
#include "base/result.hpp"

namespace armvm {

class Schema {
public:
    using Members = std::vector<std::pair<std::string, std::string>>;

    Schema();

    void enumeration(const std::string& name, std::vector<std::string> values);
    // `open`: members not listed are accepted too (device_add's properties).
    void object(const std::string& name, const Members& members, bool open = false);
    void alternate(const std::string& name, std::vector<std::string> types);
    void command(const std::string& name, const std::string& arg_type, const std::string& ret_type,
                 std::vector<std::string> features = {});
    void event(const std::string& name, const std::string& data_type);

    bool has_command(const std::string& name) const { return commands_.count(name) != 0; }
    std::vector<std::string> command_names() const;
    std::vector<std::string> event_names() const;
    const std::string& command_arg_type(const std::string& cmd) const { return commands_.at(cmd).arg_type; }
    const std::string& command_ret_type(const std::string& cmd) const { return commands_.at(cmd).ret_type; }
    const std::string& event_data_type(const std::string& ev) const { return events_.at(ev); }

    // query-qmp-schema's reply.
    Json introspect() const;

    // Validates QMP arguments against an object type. Errors use QEMU's
    // wording: "Parameter 'x' is missing", "Invalid parameter type for 'x',
    // expected: string", "Parameter 'x' is unexpected".
    Status check_args(const std::string& type, const Json& args) const;

    // Checks that a value (a reply) has the declared type; the message names
    // the path of the first mismatch. Used by tests.
    std::optional<std::string> check_value(const std::string& type, const Json& v,
                                           const std::string& path = "") const;

    // Every type referenced is defined, every name unique.
    std::optional<std::string> self_check() const;

private:
    struct Member {
        std::string name, type;
        bool optional;
    };
    struct Type {
        std::string meta;           // builtin enum object array alternate
        std::string json_type;      // builtin
        std::vector<std::string> values;
        std::vector<Member> members;
        std::vector<std::string> alternatives;
        std::string element;
        bool open = false;
    };
    struct Command {
        std::string arg_type, ret_type;
        std::vector<std::string> features;
    };

    void builtin(const std::string& name, const std::string& json_type);
    void ensure_array(const std::string& type);
    std::optional<std::string> check(const std::string& type, const Json& v, const std::string& path,
                                     bool args) const;
    static std::string expected_name(const Type& t);

    std::map<std::string, Type> types_;
    std::vector<std::string> type_order_;
    std::map<std::string, Command> commands_;
    std::vector<std::string> command_order_;
    std::map<std::string, std::string> events_;
    std::vector<std::string> event_order_;
};

}  // namespace armvm
