// -sandbox on: a seccomp filter (libseccomp), QEMU's sets of denied system
// calls. Applied once, after daemonizing and before the machine (and any
// thread) exists, to every thread (TSYNC).
#pragma once
#include "base/result.hpp"
#include "machine/config.hpp"

namespace armvm {

Status apply_sandbox(const SandboxConfig& cfg);

}  // namespace armvm
