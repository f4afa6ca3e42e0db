// Loading what -kernel names into guest RAM, as QEMU's virt board does.
#pragma once
#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "hw/core/address_space.hpp"

namespace armvm {

struct BootImage {
    uint64_t entry = 0;
    uint64_t low = 0, high = 0;   // guest physical range written
    bool is_elf = false;
};

// An AArch64 ELF: each PT_LOAD segment at its physical address, which
// must lie in RAM. (Linux Image files arrive with the Linux-boot work.)
Result<BootImage> load_kernel(AddressSpace& as, const std::string& path);

}  // namespace armvm
