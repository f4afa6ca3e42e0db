// A read-only memory region (the virt board's first flash bank holding
// -bios): reads return its bytes (zeros past the image), writes are
// ignored, as flash in read-array mode that is never programmed. A ROM
// device always in ROM mode (AddressSpace::add_rom_device): its bytes are
// a page-aligned mapping of the whole region, so the TCG reads them at
// RAM speed and KVM maps them as a read-only slot.
#pragma once
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "hw/core/mmio.hpp"

namespace armvm {

class Rom : public MmioDevice {
public:
    // `data` at the start of a region of `size` bytes (data.size() <= size).
    static Result<std::unique_ptr<Rom>> create(const std::vector<uint8_t>& data, uint64_t size) {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return make_error(std::string("cannot map a ROM: ") + std::strerror(errno));
        std::unique_ptr<Rom> r(new Rom());
        r->mem_ = static_cast<uint8_t*>(p);
        r->size_ = size;
        std::memcpy(r->mem_, data.data(), std::min<uint64_t>(data.size(), size));
        return r;
    }
    ~Rom() override {
        if (mem_) ::munmap(mem_, size_);
    }
    uint64_t read(uint64_t off, unsigned size) override {
        uint64_t v = 0;
        if (off < size_) std::memcpy(&v, mem_ + off, std::min<uint64_t>(size, size_ - off));
        return v;
    }
    void write(uint64_t, unsigned, uint64_t) override {}
    uint8_t* host() { return mem_; }

private:
    Rom() = default;
    uint8_t* mem_ = nullptr;
    uint64_t size_ = 0;
};

}  // namespace armvm
