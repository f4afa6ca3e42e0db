#include "machine/objects.hpp"

#include "base/keyval.hpp"

namespace armvm {

const std::vector<ObjectTypeInfo>& object_types() {
    static const std::vector<ObjectTypeInfo> types = {
        {"secret", "secret_common",
         {{"format", "QCryptoSecretFormat", "the data format: raw or base64"},
          {"file", "string", "a file holding the secret"},
          {"data", "string", "the secret itself"},
          {"keyid", "string", "the id of a secret that encrypts this one"},
          {"iv", "string", "the AES-CBC initialisation vector"},
          {"loaded", "bool", ""}}},
        {"rng-random", "rng-backend", {{"filename", "string", "the file entropy is read from"}}},
        {"rng-builtin", "rng-backend", {}},
        {"memory-backend-ram", "memory-backend",
         {{"size", "int", "size of the memory region in bytes"},
          {"share", "bool", "mark the memory as private or shared"},
          {"merge", "bool", "mark the memory as mergeable"},
          {"dump", "bool", "include the memory in core dumps"},
          {"prealloc", "bool", "preallocate the memory"},
          {"x-use-canonical-path-for-ramblock-id", "bool", ""},
          {"reserve", "bool", "reserve swap space"}}},
        {"memory-backend-file", "memory-backend",
         {{"size", "int", "size of the memory region in bytes"},
          {"mem-path", "string", "the file that backs the memory"},
          {"share", "bool", "mark the memory as private or shared"},
          {"merge", "bool", "mark the memory as mergeable"},
          {"dump", "bool", "include the memory in core dumps"},
          {"prealloc", "bool", "preallocate the memory"},
          {"discard-data", "bool", "discard the file's contents on exit"},
          {"align", "int", "the mapping's alignment"},
          {"readonly", "bool", "map read-only"},
          {"x-use-canonical-path-for-ramblock-id", "bool", ""},
          {"reserve", "bool", "reserve swap space"}}},
    };
    return types;
}

Result<ObjectConfig> parse_object(const Json& dict, const std::string& origin) {
    OptReader r(dict);
    ObjectConfig o;
    o.origin = origin;
    o.qom_type = r.str("qom-type").value_or("");
    o.id = r.str("id").value_or("");
    if (o.qom_type.empty()) return make_error("Parameter 'qom-type' is missing");
    const ObjectTypeInfo* info = nullptr;
    for (const auto& t : object_types())
        if (t.name == o.qom_type) info = &t;
    if (!info) return make_error("Parameter 'qom-type' does not accept value '" + o.qom_type + "'");
    if (o.id.empty()) return make_error("Parameter 'id' is missing");
    for (const auto& p : info->props) {
        auto v = r.raw(p[0]);
        if (!v) continue;
        if (p[1] == "bool") {
            auto b = parse_bool_value(p[0], *v);
            if (!b) return b.error();
            o.props[p[0]] = *b;
        } else if (p[1] == "int") {
            auto n = parse_size_value(p[0], *v);
            if (!n) return n.error();
            o.props[p[0]] = *n;
        } else {
            if (!v->is_string()) return make_error("Invalid parameter type for '" + p[0] + "', expected: string");
            o.props[p[0]] = *v;
        }
    }
    if (auto k = r.unused()) return make_error("Property '" + o.qom_type + "." + *k + "' not found");
    if (o.qom_type.rfind("memory-backend", 0) == 0) {
        if (o.props.value("size", uint64_t{0}) == 0) return make_error("can't create backend with size 0");
        if (o.qom_type == "memory-backend-file" && !o.props.contains("mem-path"))
            return make_error("mem-path property not set");
    }
    if (o.qom_type == "secret" && o.props.contains("file") == o.props.contains("data"))
        return make_error("'file' and 'data' are mutually exclusive, and one is required");
    return o;
}

}  // namespace armvm
