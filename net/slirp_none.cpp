// -netdev user in a build without libslirp (meson -Dslirp=disabled, as the
// static arm64 build for the KVM rig is): a clear refusal.
#include "net/slirp.hpp"

namespace armvm {

Result<std::unique_ptr<SlirpNet>> SlirpNet::create(const Json&, const std::string& origin, EventLoop&) {
    return make_error("-netdev " + origin + ": this armvm was built without user-mode networking (libslirp)");
}

bool SlirpNet::available() { return false; }

SlirpNet::~SlirpNet() = default;

void SlirpNet::send(const uint8_t*, size_t) {}

}  // namespace armvm

namespace armvm {

std::string SlirpNet::connections() const { return ""; }
Status SlirpNet::hostfwd_add(const std::string&) { return make_error("user-mode networking is not in this build"); }
Status SlirpNet::hostfwd_remove(const std::string&) { return make_error("user-mode networking is not in this build"); }

}  // namespace armvm
