// One JSON type for the whole emulator: insertion-ordered, so replies list
// their members in the order the code builds them (as QEMU's do).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace armvm {

using Json = nlohmann::ordered_json;

// Serialise the way QEMU's QMP does: one line, ", " and ": " separators,
// non-ASCII escaped as \uXXXX. Invalid UTF-8 is replaced, never thrown.
std::string to_qmp_text(const Json& j);

// Parses one JSON text; the error reads "JSON parse error, <detail>" as
// QEMU's does.
Result<Json> parse_json(std::string_view text);

}  // namespace armvm
