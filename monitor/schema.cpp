#include "monitor/schema.hpp"

#include <set>

namespace armvm {

Schema::Schema() {
    builtin("str", "string");
    builtin("int", "int");
    builtin("number", "number");
    builtin("bool", "boolean");
    builtin("null", "null");
    builtin("any", "value");
    // QEMU's empty argument object.
    object("q_empty", {});
}

void Schema::builtin(const std::string& name, const std::string& json_type) {
    Type t;
    t.meta = "builtin";
    t.json_type = json_type;
    types_[name] = t;
    type_order_.push_back(name);
}

void Schema::ensure_array(const std::string& type) {
    if (type.size() > 2 && type.front() == '[' && !types_.count(type)) {
        Type t;
        t.meta = "array";
        t.element = type.substr(1, type.size() - 2);
        types_[type] = t;
        type_order_.push_back(type);
    }
}

void Schema::enumeration(const std::string& name, std::vector<std::string> values) {
    Type t;
    t.meta = "enum";
    t.values = std::move(values);
    types_[name] = t;
    type_order_.push_back(name);
}

void Schema::object(const std::string& name, const Members& members, bool open) {
    Type t;
    t.meta = "object";
    t.open = open;
    for (const auto& [n, ty] : members) {
        bool opt = !n.empty() && n[0] == '*';
        t.members.push_back({opt ? n.substr(1) : n, ty, opt});
        ensure_array(ty);
    }
    types_[name] = t;
    type_order_.push_back(name);
}

void Schema::alternate(const std::string& name, std::vector<std::string> alts) {
    Type t;
    t.meta = "alternate";
    t.alternatives = std::move(alts);
    types_[name] = t;
    type_order_.push_back(name);
}

void Schema::command(const std::string& name, const std::string& arg_type, const std::string& ret_type,
                     std::vector<std::string> features) {
    ensure_array(ret_type);
    commands_[name] = Command{arg_type.empty() ? "q_empty" : arg_type, ret_type.empty() ? "q_empty" : ret_type,
                              std::move(features)};
    command_order_.push_back(name);
}

void Schema::event(const std::string& name, const std::string& data_type) {
    events_[name] = data_type.empty() ? "q_empty" : data_type;
    event_order_.push_back(name);
}

std::vector<std::string> Schema::command_names() const { return command_order_; }
std::vector<std::string> Schema::event_names() const { return event_order_; }

Json Schema::introspect() const {
    Json out = Json::array();
    for (const auto& name : command_order_) {
        const auto& c = commands_.at(name);
        Json e = {{"name", name}, {"meta-type", "command"}, {"arg-type", c.arg_type}, {"ret-type", c.ret_type}};
        if (!c.features.empty()) e["features"] = c.features;
        out.push_back(e);
    }
    for (const auto& name : event_order_)
        out.push_back({{"name", name}, {"meta-type", "event"}, {"arg-type", events_.at(name)}});
    for (const auto& name : type_order_) {
        const Type& t = types_.at(name);
        Json e = {{"name", name}, {"meta-type", t.meta}};
        if (t.meta == "builtin") {
            e["json-type"] = t.json_type;
        } else if (t.meta == "enum") {
            Json members = Json::array();
            for (const auto& v : t.values) members.push_back({{"name", v}});
            e["members"] = members;
            e["values"] = t.values;
        } else if (t.meta == "object") {
            Json members = Json::array();
            for (const auto& m : t.members) {
                Json jm = {{"name", m.name}, {"type", m.type}};
                if (m.optional) jm["default"] = nullptr;
                members.push_back(jm);
            }
            e["members"] = members;
        } else if (t.meta == "array") {
            e["element-type"] = t.element;
        } else if (t.meta == "alternate") {
            Json members = Json::array();
            for (const auto& a : t.alternatives) members.push_back({{"type", a}});
            e["members"] = members;
        }
        out.push_back(e);
    }
    return out;
}

std::string Schema::expected_name(const Type& t) {
    if (t.meta == "builtin") {
        if (t.json_type == "int") return "integer";
        return t.json_type;
    }
    if (t.meta == "enum") return "string";
    if (t.meta == "array") return "array";
    return "object";
}

std::optional<std::string> Schema::check(const std::string& type, const Json& v, const std::string& path,
                                         bool args) const {
    auto it = types_.find(type);
    if (it == types_.end()) return "unknown type '" + type + "'";
    const Type& t = it->second;
    auto bad_type = [&]() -> std::string {
        return "Invalid parameter type for '" + (path.empty() ? std::string("arguments") : path) +
               "', expected: " + expected_name(t);
    };
    if (t.meta == "builtin") {
        const auto& j = t.json_type;
        bool ok = (j == "value") || (j == "string" && v.is_string()) ||
                  (j == "int" && v.is_number_integer()) || (j == "number" && v.is_number()) ||
                  (j == "boolean" && v.is_boolean()) || (j == "null" && v.is_null());
        if (!ok) return bad_type();
        return std::nullopt;
    }
    if (t.meta == "enum") {
        if (!v.is_string()) return bad_type();
        for (const auto& val : t.values)
            if (val == v.get_ref<const std::string&>()) return std::nullopt;
        return "Parameter '" + path + "' does not accept value '" + v.get<std::string>() + "'";
    }
    if (t.meta == "array") {
        if (!v.is_array()) return bad_type();
        for (size_t i = 0; i < v.size(); ++i)
            if (auto e = check(t.element, v[i], path + "[" + std::to_string(i) + "]", args)) return e;
        return std::nullopt;
    }
    if (t.meta == "alternate") {
        for (const auto& a : t.alternatives)
            if (!check(a, v, path, args)) return std::nullopt;
        return bad_type();
    }
    // object
    if (!v.is_object()) return bad_type();
    std::string prefix = path.empty() ? "" : path + ".";
    for (const auto& m : t.members) {
        if (!v.contains(m.name)) {
            if (!m.optional) return "Parameter '" + prefix + m.name + "' is missing";
            continue;
        }
        if (auto e = check(m.type, v.at(m.name), prefix + m.name, args)) return e;
    }
    if (!t.open) {
        for (auto it2 = v.begin(); it2 != v.end(); ++it2) {
            bool known = false;
            for (const auto& m : t.members) known = known || m.name == it2.key();
            if (!known) return "Parameter '" + prefix + it2.key() + "' is unexpected";
        }
    }
    return std::nullopt;
}

Status Schema::check_args(const std::string& type, const Json& args) const {
    if (auto e = check(type, args, "", true)) return make_error(*e);
    return ok_status();
}

std::optional<std::string> Schema::check_value(const std::string& type, const Json& v,
                                               const std::string& path) const {
    return check(type, v, path, false);
}

std::optional<std::string> Schema::self_check() const {
    std::set<std::string> names;
    for (const auto& n : command_order_)
        if (!names.insert(n).second) return "duplicate name " + n;
    for (const auto& n : event_order_)
        if (!names.insert(n).second) return "duplicate name " + n;
    for (const auto& n : type_order_)
        if (!names.insert(n).second) return "duplicate name " + n;
    auto defined = [&](const std::string& t) { return types_.count(t) != 0; };
    for (const auto& [n, c] : commands_) {
        if (!defined(c.arg_type)) return n + ": undefined arg-type " + c.arg_type;
        if (!defined(c.ret_type)) return n + ": undefined ret-type " + c.ret_type;
    }
    for (const auto& [n, t] : types_) {
        for (const auto& m : t.members)
            if (!defined(m.type)) return n + "." + m.name + ": undefined type " + m.type;
        if (t.meta == "array" && !defined(t.element)) return n + ": undefined element " + t.element;
        for (const auto& a : t.alternatives)
            if (!defined(a)) return n + ": undefined alternative " + a;
    }
    return std::nullopt;
}

}  // namespace armvm
