#include "hw/core/address_space.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
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

void AddressSpace::add_rom_device(uint64_t base, uint64_t size, MmioDevice* dev, uint8_t* host, std::string name) {
    mmio_.push_back({base, size, dev, std::move(name), host, true});
}

void AddressSpace::set_romd(MmioDevice* dev, bool on) {
    for (auto& r : mmio_) {
        if (r.dev != dev || !r.rom) continue;
        std::atomic_ref<bool> romd(r.romd);
        if (romd.load() == on) continue;
        romd.store(on);
        for (MemoryListener* l : listeners_) l->romd_changed(r.base, r.size, r.rom, on);
        if (code_) code_->flush_tlbs();  // (the CPUs' TLBs hold ROM pages' host addresses)
    }
}

void AddressSpace::add_eventfd(uint64_t addr, int fd, std::optional<uint32_t> match) {
    eventfds_.push_back({addr, fd, match});
    for (MemoryListener* l : listeners_) l->eventfd_changed(addr, fd, match, true);
}

void AddressSpace::del_eventfd(uint64_t addr, int fd, std::optional<uint32_t> match) {
    auto it = std::find(eventfds_.begin(), eventfds_.end(), Doorbell{addr, fd, match});
    if (it == eventfds_.end()) return;
    eventfds_.erase(it);
    for (MemoryListener* l : listeners_) l->eventfd_changed(addr, fd, match, false);
}

const uint8_t* AddressSpace::rom_bytes(const Region* r, uint64_t pa, unsigned size) const {
    if (!r->rom || !std::atomic_ref<bool>(const_cast<bool&>(r->romd)).load(std::memory_order_acquire)) return nullptr;
    if (pa - r->base + size > r->size) return nullptr;
    return r->rom + (pa - r->base);
}

const uint8_t* AddressSpace::rom_page(uint64_t pa_page) {
    const Region* r = find(pa_page);
    return r ? rom_bytes(r, pa_page, 0x1000) : nullptr;
}

namespace {
uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }
}  // namespace

uint64_t AddressSpace::dev_read(MmioDevice* dev, uint64_t off, unsigned size, MemAttrs who) {
    AccessSizes a = dev->access_sizes(off);
    if (a.max && size > a.max) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i += a.max) v |= dev_read(dev, off + i, a.max, who) << (8 * i);
        return v;
    }
    return dev->read_by(off, std::max(size, a.min), who) & size_mask(size);
}

void AddressSpace::dev_write(MmioDevice* dev, uint64_t off, unsigned size, uint64_t value, MemAttrs who) {
    AccessSizes a = dev->access_sizes(off);
    if (a.max && size > a.max) {
        for (unsigned i = 0; i < size; i += a.max)
            dev_write(dev, off + i, a.max, (value >> (8 * i)) & size_mask(a.max), who);
        return;
    }
    dev->write_by(off, std::max(size, a.min), value & size_mask(size), who);
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

bool AddressSpace::read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        value = 0;
        std::memcpy(&value, p, size);  // little-endian host
        return true;
    }
    const Region* r = find(pa);
    if (!r || pa - r->base + size > r->size) return false;
    if (const uint8_t* p = rom_bytes(r, pa, size)) {
        value = 0;
        std::memcpy(&value, p, size);
        return true;
    }
    std::lock_guard<std::mutex> g(lock_);
    if (!r->dev->decodes(pa - r->base, size)) return false;
    value = dev_read(r->dev, pa - r->base, size, who);
    return true;
}

bool AddressSpace::read_locked(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        value = 0;
        std::memcpy(&value, p, size);
        return true;
    }
    const Region* r = find(pa);
    if (!r || pa - r->base + size > r->size || !r->dev->decodes(pa - r->base, size)) return false;
    value = dev_read(r->dev, pa - r->base, size, who);
    return true;
}

bool AddressSpace::write(uint64_t pa, unsigned size, uint64_t value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        std::memcpy(p, &value, size);
        return true;
    }
    std::lock_guard<std::mutex> g(lock_);
    return write_locked(pa, size, value, who);
}

bool AddressSpace::write_locked(uint64_t pa, unsigned size, uint64_t value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        std::memcpy(p, &value, size);
        return true;
    }
    for (const Doorbell& d : eventfds_) {
        if (d.addr != pa || (d.match && (size != 4 || value != *d.match))) continue;
        uint64_t one = 1;
        ssize_t n = ::write(d.fd, &one, sizeof one);  // (a full counter means pending anyway)
        (void)n;
        eventfd_writes_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    const Region* r = find(pa);
    if (!r || pa - r->base + size > r->size || !r->dev->decodes(pa - r->base, size)) return false;
    dev_write(r->dev, pa - r->base, size, value, who);
    return true;
}

}  // namespace armvm

namespace armvm {

namespace {
template <typename T>
bool cas(uint8_t* p, uint64_t expected, uint64_t desired) {
    T e = static_cast<T>(expected);
    return __atomic_compare_exchange_n(reinterpret_cast<T*>(p), &e, static_cast<T>(desired), false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
}  // namespace

bool AddressSpace::cmpxchg(uint64_t pa, unsigned size, uint64_t expected, uint64_t desired, bool& swapped,
                           uint64_t expected_hi, uint64_t desired_hi, MemAttrs who) {
    uint8_t* p = ram_ptr(pa, size);
    if (!p || (pa & (size - 1)) != 0)
        return Bus::cmpxchg(pa, size, expected, desired, swapped, expected_hi, desired_hi, who);
    switch (size) {
    case 1: swapped = cas<uint8_t>(p, expected, desired); return true;
    case 2: swapped = cas<uint16_t>(p, expected, desired); return true;
    case 4: swapped = cas<uint32_t>(p, expected, desired); return true;
    case 8: swapped = cas<uint64_t>(p, expected, desired); return true;
    default: {
        std::lock_guard<std::mutex> g(pair_lock_);
        uint64_t lo, hi;
        std::memcpy(&lo, p, 8);
        std::memcpy(&hi, p + 8, 8);
        swapped = lo == expected && hi == expected_hi;
        if (swapped) {
            std::memcpy(p, &desired, 8);
            std::memcpy(p + 8, &desired_hi, 8);
        }
        return true;
    }
    }
}

}  // namespace armvm
