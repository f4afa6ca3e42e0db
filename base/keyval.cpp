#include "base/keyval.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <vector>

namespace armvm {

std::string format1(const std::string& fmt, const std::string& arg) {
    auto pos = fmt.find("%s");
    if (pos == std::string::npos) return fmt;
    return fmt.substr(0, pos) + arg + fmt.substr(pos + 2);
}

namespace {

// Split on single commas; ",," is a literal comma inside an element.
std::vector<std::string> split_elements(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ',') {
            if (i + 1 < text.size() && text[i + 1] == ',') {
                cur += ',';
                ++i;
                continue;
            }
            out.push_back(std::move(cur));
            cur.clear();
            continue;
        }
        cur += c;
    }
    out.push_back(std::move(cur));
    return out;
}

Result<OptDict> parse_json_form(std::string_view text) {
    auto j = parse_json(text);
    if (!j) return j.error();
    if (!j->is_object()) return make_error("JSON parse error, expected an object");
    OptDict d;
    d.dict = std::move(j.value());
    return d;
}

}  // namespace

Result<OptDict> parse_keyval(std::string_view text, const KeyvalSpec& spec) {
    if (spec.allow_json && !text.empty() && text.front() == '{') return parse_json_form(text);

    OptDict d;
    auto elems = split_elements(text);
    for (size_t i = 0; i < elems.size(); ++i) {
        const std::string& e = elems[i];
        if (e == "help" || e == "?") {
            d.help = true;
            continue;
        }
        auto eq = e.find('=');
        if (eq == std::string::npos) {
            if (i == 0 && !spec.implied_key.empty()) {
                d.dict[spec.implied_key] = e;
                continue;
            }
            if (e.empty()) {
                // "a,,"-style trailing separators are escapes; a truly empty
                // element (",x" or "x,") is QEMU's "Invalid parameter ''".
                if (elems.size() == 1 && spec.implied_key.empty()) continue;  // empty argument
                return make_error("Invalid parameter ''");
            }
            // Legacy QemuOpts short forms: "flag" = on, "noflag" = off.
            if (e.size() > 2 && e.compare(0, 2, "no") == 0)
                d.dict[e.substr(2)] = "off";
            else
                d.dict[e] = "on";
            continue;
        }
        std::string key = e.substr(0, eq);
        if (key.empty()) return make_error("Invalid parameter ''");
        d.dict[key] = e.substr(eq + 1);
    }
    return d;
}

Result<bool> parse_bool_value(const std::string& key, const Json& v) {
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s == "on" || s == "yes" || s == "true" || s == "y") return true;
        if (s == "off" || s == "no" || s == "false" || s == "n") return false;
    }
    return make_error("Parameter '" + key + "' expects 'on' or 'off'");
}

Result<uint64_t> parse_uint_value(const std::string& key, const Json& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (!s.empty() && s.size() <= 20) {
            bool digits = true;
            for (char c : s) digits = digits && std::isdigit(static_cast<unsigned char>(c));
            if (digits) {
                errno = 0;
                char* end = nullptr;
                unsigned long long n = std::strtoull(s.c_str(), &end, 10);
                if (errno == 0 && *end == '\0') return static_cast<uint64_t>(n);
            }
        }
    }
    return make_error("Parameter '" + key + "' expects a number");
}

Result<uint64_t> parse_size_value(const std::string& key, const Json& v, char default_suffix) {
    auto err = [&] {
        return make_error("Parameter '" + key +
                          "' expects a non-negative number below 2^64 "
                          "(optional suffix k, M, G, T, P or E)");
    };
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (!v.is_string()) return err();
    const auto& s = v.get_ref<const std::string&>();
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return err();
    std::string num = s.substr(0, i);
    std::string suf = s.substr(i);
    char unit = suf.empty() ? default_suffix : suf[0];
    if (suf.size() > 1 && !(suf.size() == 2 && (suf[1] == 'B' || suf[1] == 'b'))) return err();
    int shift = 0;
    switch (unit) {
    case 0: case 'b': case 'B': shift = 0; break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    case 'p': case 'P': shift = 50; break;
    case 'e': case 'E': shift = 60; break;
    default: return err();
    }
    // Fractions are allowed with a unit ("1.5G"), as in QEMU.
    char* end = nullptr;
    errno = 0;
    long double val = std::strtold(num.c_str(), &end);
    if (errno != 0 || *end != '\0' || val < 0) return err();
    long double bytes = val * static_cast<long double>(1ULL << shift);
    if (bytes >= 18446744073709551616.0L) return err();
    if (num.find('.') != std::string::npos && shift == 0) return err();
    return static_cast<uint64_t>(bytes);
}

std::optional<std::string> OptReader::str(const std::string& key) {
    if (!dict_.contains(key)) return std::nullopt;
    used_.insert(key);
    const Json& v = dict_.at(key);
    if (v.is_string()) return v.get<std::string>();
    return to_qmp_text(v);  // JSON scalars read as their text
}

Result<std::optional<bool>> OptReader::boolean(const std::string& key) {
    if (!dict_.contains(key)) return std::optional<bool>{};
    used_.insert(key);
    auto r = parse_bool_value(key, dict_.at(key));
    if (!r) return r.error();
    return std::optional<bool>{*r};
}

Result<std::optional<uint64_t>> OptReader::uint(const std::string& key) {
    if (!dict_.contains(key)) return std::optional<uint64_t>{};
    used_.insert(key);
    auto r = parse_uint_value(key, dict_.at(key));
    if (!r) return r.error();
    return std::optional<uint64_t>{*r};
}

Result<std::optional<uint64_t>> OptReader::size(const std::string& key, char default_suffix) {
    if (!dict_.contains(key)) return std::optional<uint64_t>{};
    used_.insert(key);
    auto r = parse_size_value(key, dict_.at(key), default_suffix);
    if (!r) return r.error();
    return std::optional<uint64_t>{*r};
}

std::optional<Json> OptReader::raw(const std::string& key) {
    if (!dict_.contains(key)) return std::nullopt;
    used_.insert(key);
    return dict_.at(key);
}

std::optional<std::string> OptReader::unused() const {
    for (auto it = dict_.begin(); it != dict_.end(); ++it)
        if (!used_.count(it.key())) return it.key();
    return std::nullopt;
}

Status OptReader::finish(const std::string& unknown_fmt) const {
    if (auto k = unused()) return make_error(format1(unknown_fmt, *k));
    return ok_status();
}

}  // namespace armvm
