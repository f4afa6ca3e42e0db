// Chardev specs as options and monitors write them, into ChardevConfig:
// -chardev's keyval form and the compat spelling of -qmp, -serial,
// -monitor, -gdb and HMP gdbserver.
#pragma once
#include <string>

#include "base/result.hpp"
#include "machine/config.hpp"

namespace armvm {

// The compat spelling ("unix:PATH,server=on,wait=off", "tcp:HOST:PORT,...",
// "stdio", "null", "pty", "file:PATH", "mon:SPEC"). `id` names the chardev.
Result<ChardevConfig> parse_chardev_compat(const std::string& spec, const std::string& id);
// A -chardev argument.
Result<ChardevConfig> parse_chardev(const std::string& text);

}  // namespace armvm
