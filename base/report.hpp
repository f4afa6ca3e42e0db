// Messages for the user on stderr, in QEMU's shape ("armvm: ...").
// Only cli/main decides to exit; subsystems return errors and may warn.
#pragma once
#include <string>

namespace armvm {

void report_warning(const std::string& msg);   // "armvm: warning: msg"
void report_info(const std::string& msg);      // "armvm: msg"
void set_report_timestamps(bool on);           // -msg timestamp=on

}  // namespace armvm
