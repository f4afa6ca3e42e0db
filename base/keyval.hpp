// QEMU's option-argument syntaxes, parsed into one shape.
//
//   drv,key=value,flag       the "key=value" form (QemuOpts / keyval):
//                            an implied first key, ",," for a literal comma,
//                            bare "flag" = flag=on and "noflag" = flag=off
//                            (the legacy spelling libvirt's probe still uses:
//                            "server,nowait"), "help" or "?" anywhere.
//   {"driver": ..., ...}     the JSON form (-device, -object, -blockdev, ...).
//
// Both give a Json object. Values from the key=value form are strings;
// values from the JSON form keep their JSON types. OptReader converts either
// to typed values, so -device drv,k=v, -device {...} and QMP share a path
// (DESIGN.md habit 5).
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/json.hpp"
#include "base/result.hpp"

namespace armvm {

struct KeyvalSpec {
    std::string implied_key;    // e.g. "type" for -machine; empty: none
    bool allow_json = false;    // accept the {...} form
};

struct OptDict {
    Json dict = Json::object();
    bool help = false;          // "help" or "?" was given
};

Result<OptDict> parse_keyval(std::string_view text, const KeyvalSpec& spec);

// Strict conversions shared by every option and by QMP arguments.
Result<bool> parse_bool_value(const std::string& key, const Json& v);
// Sizes: plain bytes or with a k/M/G/T/P/E suffix (powers of 1024).
// `default_suffix` applies to a bare number (-m uses 'M').
Result<uint64_t> parse_size_value(const std::string& key, const Json& v,
                                  char default_suffix = 0);
Result<uint64_t> parse_uint_value(const std::string& key, const Json& v);

// Typed, consuming reader over an OptDict. Every key that is read is marked
// used; finish() turns the first unused one into the option's own
// "unknown parameter" message.
class OptReader {
public:
    explicit OptReader(const Json& dict) : dict_(dict) {}

    bool has(const std::string& key) const { return dict_.contains(key); }
    std::optional<std::string> str(const std::string& key);
    Result<std::optional<bool>> boolean(const std::string& key);
    Result<std::optional<uint64_t>> uint(const std::string& key);
    Result<std::optional<uint64_t>> size(const std::string& key, char default_suffix = 0);
    // Raw access (for nested JSON values); marks the key used.
    std::optional<Json> raw(const std::string& key);

    // The first key not read, if any.
    std::optional<std::string> unused() const;
    // "Invalid parameter 'k'" (QemuOpts wording) unless a formatter is given.
    Status finish(const std::string& unknown_fmt = "Invalid parameter '%s'") const;

private:
    const Json& dict_;
    std::set<std::string> used_;
};

// Replace the first "%s" in fmt with arg.
std::string format1(const std::string& fmt, const std::string& arg);

}  // namespace armvm
