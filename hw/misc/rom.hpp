// A read-only memory region (the virt board's first flash bank holding
// -bios): reads return its bytes (zeros past the image), writes are
// ignored, as flash in read-array mode that is never programmed.
#pragma once
#include <cstring>
#include <vector>

#include "hw/core/mmio.hpp"

namespace armvm {

class Rom : public MmioDevice {
public:
    explicit Rom(std::vector<uint8_t> data) : data_(std::move(data)) {}
    uint64_t read(uint64_t off, unsigned size) override {
        uint64_t v = 0;
        if (off < data_.size()) std::memcpy(&v, data_.data() + off, std::min<uint64_t>(size, data_.size() - off));
        return v;
    }
    void write(uint64_t, unsigned, uint64_t) override {}

private:
    std::vector<uint8_t> data_;
};

}  // namespace armvm
