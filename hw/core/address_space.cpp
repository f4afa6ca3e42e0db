#include "hw/core/address_space.hpp"

#include <cstring>

namespace armvm {

void AddressSpace::add_ram(uint64_t base, uint8_t* host, uint64_t size) {
    ram_base_ = base;
    ram_ = host;
    ram_size_ = size;
}

void AddressSpace::add_mmio(uint64_t base, uint64_t size, MmioDevice* dev, std::string name) {
    mmio_.push_back({base, size, dev, std::move(name)});
}

const AddressSpace::Region* AddressSpace::find(uint64_t pa) const {
    for (const auto& r : mmio_)
        if (pa - r.base < r.size) return &r;
    return nullptr;
}

uint8_t* AddressSpace::ram_ptr(uint64_t pa, uint64_t len) const {
    if (pa < ram_base_ || len > ram_size_ || pa - ram_base_ > ram_size_ - len) return nullptr;
    return ram_ + (pa - ram_base_);
}

bool AddressSpace::read(uint64_t pa, unsigned size, uint64_t& value) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        value = 0;
        std::memcpy(&value, p, size);  // little-endian host
        return true;
    }
    const Region* r = find(pa);
    if (!r || pa - r->base + size > r->size) return false;
    std::lock_guard<std::mutex> g(lock_);
    value = r->dev->read(pa - r->base, size);
    return true;
}

bool AddressSpace::write(uint64_t pa, unsigned size, uint64_t value) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        std::memcpy(p, &value, size);
        return true;
    }
    const Region* r = find(pa);
    if (!r || pa - r->base + size > r->size) return false;
    std::lock_guard<std::mutex> g(lock_);
    r->dev->write(pa - r->base, size, value);
    return true;
}

}  // namespace armvm
