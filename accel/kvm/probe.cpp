#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "accel/accelerator.hpp"
#include "accel/kvm/kvm.hpp"

#if defined(__aarch64__) && __has_include(<linux/kvm.h>)
#include <linux/kvm.h>
#define ARMVM_KVM_ARM64 1
#endif

namespace armvm {

const std::vector<AccelInfo>& accel_types() {
    static const std::vector<AccelInfo> types = {
        {"kvm", "Linux KVM (arm64 hosts)"},
        {"tcg", "armvm's AArch64 emulator"},
    };
    return types;
}

bool is_accel_name(std::string_view name) {
    for (const auto& a : accel_types())
        if (a.name == name) return true;
    return false;
}

Status kvm_arm64_available() {
#ifdef ARMVM_KVM_ARM64
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return make_error(std::string("Could not access KVM kernel module: ") + std::strerror(errno));
    int vm = kvm::kvm_ioctl(fd, KVM_CREATE_VM, 0, "KVM_CREATE_VM");  // (the test seam)
    int err = errno;
    ::close(fd);
    if (vm < 0) return make_error(std::string("failed to create an arm64 KVM VM: ") + std::strerror(err));
    ::close(vm);
    return ok_status();
#else
    return make_error("KVM cannot run arm64 guests on this host");
#endif
}

}  // namespace armvm
