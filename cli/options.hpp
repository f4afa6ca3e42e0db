// argv -> MachineConfig. Boost.Program_options tokenises QEMU's single-dash
// long options (and knows which take an argument); each option's argument
// is then parsed with keyval.hpp in command-line order.
#pragma once
#include <string>
#include <vector>

#include "base/result.hpp"
#include "hw/char/chardev_opts.hpp"
#include "machine/config.hpp"

namespace armvm {

struct CliOutcome {
    bool exit_now = false;      // -version, -help, "help" listings
    int exit_code = 0;
    std::string output;         // printed on stdout before exiting
    MachineConfig config;
    bool nographic = false;
    bool nodefaults = false;
};

// Errors carry QEMU's shape without the program name:
// "-machine virt,gic-version=5: gic-version must be 2, 3, host or max".
Result<CliOutcome> parse_command_line(const std::vector<std::string>& args);

// The option names armvm accepts, with whether each takes an argument
// (query-command-line-options and the help text use this too).
struct OptionInfo {
    const char* name;
    bool has_arg;
    const char* help;
};
const std::vector<OptionInfo>& option_table();

}  // namespace armvm
