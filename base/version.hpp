#pragma once

namespace armvm {

// armvm's own version, reported in query-version's "package".
inline constexpr const char* kArmvmVersion = "0.1.0";
// The QEMU release whose QMP and command line armvm follows.
inline constexpr int kQemuMajor = 7, kQemuMinor = 2, kQemuMicro = 0;

}  // namespace armvm
