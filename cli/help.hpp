// Texts printed by -help, -version and the "help" listings.
#pragma once
#include <string>

namespace armvm {

std::string version_text();
std::string usage_text();
std::string machine_help();
std::string cpu_help();
std::string accel_help();
std::string device_help();
std::string object_help();
// A device model QEMU has but armvm does not (yet) implement.
bool is_known_qemu_device(const std::string& name);

}  // namespace armvm
