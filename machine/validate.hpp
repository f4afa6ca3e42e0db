#pragma once
#include "base/result.hpp"
#include "machine/config.hpp"

namespace armvm {

// The one place that turns a parsed MachineConfig into a valid one (fills
// defaults, checks every cross-option rule) and produces the user-facing
// messages, already prefixed with the option they are about.
Status validate_config(MachineConfig& c);

}  // namespace armvm
