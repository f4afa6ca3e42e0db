// User-creatable objects (-object and QMP object-add share this path):
// secret, memory-backend-ram, memory-backend-file.
#pragma once
#include <string>
#include <vector>

#include "base/json.hpp"
#include "base/result.hpp"
#include "machine/config.hpp"

namespace armvm {

struct ObjectTypeInfo {
    std::string name;
    std::string parent;
    // Properties as (name, QAPI type, description).
    std::vector<std::vector<std::string>> props;
};

const std::vector<ObjectTypeInfo>& object_types();

// From an option dict ({"qom-type":..., "id":..., props...}); values may be
// strings (key=value form) or typed (JSON form, QMP).
Result<ObjectConfig> parse_object(const Json& dict, const std::string& origin);

}  // namespace armvm
