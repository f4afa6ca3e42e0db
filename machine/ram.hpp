// Guest RAM: one host mapping, shared later by TCG (direct access) and KVM
// (memory slots). Anonymous by default; a memory-backend-file object maps
// its file (shared or private), as QEMU's -object memory-backend-file does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/result.hpp"
#include "machine/config.hpp"

namespace armvm {

class GuestRam {
public:
    // `backend` is the -object named by -machine memory-backend=, or null.
    static Result<std::unique_ptr<GuestRam>> create(uint64_t size, const ObjectConfig* backend);
    ~GuestRam();
    GuestRam(const GuestRam&) = delete;
    GuestRam& operator=(const GuestRam&) = delete;

    uint8_t* host() const { return base_; }
    uint64_t size() const { return size_; }

private:
    GuestRam(uint8_t* base, uint64_t size) : base_(base), size_(size) {}
    uint8_t* base_;
    uint64_t size_;
};

}  // namespace armvm
