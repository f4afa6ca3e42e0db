#include "base/json.hpp"

namespace armvm {

namespace {

void put_string(std::string& out, const std::string& s) {
    // nlohmann escapes control characters and (with ensure_ascii) non-ASCII;
    // error_handler::replace turns invalid UTF-8 into U+FFFD instead of
    // throwing, so a guest- or user-supplied string can never kill a reply.
    out += Json(s).dump(-1, ' ', true, Json::error_handler_t::replace);
}

void put(std::string& out, const Json& j) {
    switch (j.type()) {
    case Json::value_t::object: {
        out += '{';
        bool first = true;
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (!first) out += ", ";
            first = false;
            put_string(out, it.key());
            out += ": ";
            put(out, it.value());
        }
        out += '}';
        break;
    }
    case Json::value_t::array: {
        out += '[';
        bool first = true;
        for (const auto& e : j) {
            if (!first) out += ", ";
            first = false;
            put(out, e);
        }
        out += ']';
        break;
    }
    case Json::value_t::string:
        put_string(out, j.get_ref<const std::string&>());
        break;
    default:
        out += j.dump(-1, ' ', true, Json::error_handler_t::replace);
    }
}

}  // namespace

Result<Json> parse_json(std::string_view text) {
    try {
        return Json::parse(text);
    } catch (const Json::exception& e) {
        std::string w = e.what();
        auto pos = w.find("syntax error");
        return make_error("JSON parse error, " + (pos == std::string::npos ? w : w.substr(pos)));
    }
}

std::string to_qmp_text(const Json& j) {
    std::string out;
    put(out, j);
    return out;
}

}  // namespace armvm
