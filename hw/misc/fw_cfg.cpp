#include "hw/misc/fw_cfg.hpp"

#include <cinttypes>
#include <cstring>
#include <iterator>

#include "base/trace.hpp"

namespace armvm {

namespace {

constexpr uint16_t kEntryMask = 0x3fff, kArchLocal = 0x8000;
// DMA control bits (struct FWCfgDmaAccess: be32 control, be32 length,
// be64 address).
constexpr uint32_t kDmaError = 1, kDmaRead = 2, kDmaSkip = 4, kDmaSelect = 8, kDmaWrite = 0x10;
constexpr uint64_t kDmaSignature = 0x51454d5520434647ull;  // "QEMU CFG"

uint64_t bswap(uint64_t v, unsigned size) {
    switch (size) {
    case 2: return __builtin_bswap16(static_cast<uint16_t>(v));
    case 4: return __builtin_bswap32(static_cast<uint32_t>(v));
    case 8: return __builtin_bswap64(v);
    default: return v & 0xff;
    }
}

}  // namespace

void FwCfg::add_item(uint16_t key, std::vector<uint8_t> data) { items_[key] = std::move(data); }

void FwCfg::add_u16(uint16_t key, uint16_t v) {
    add_item(key, {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)});
}

void FwCfg::add_u32(uint16_t key, uint32_t v) {
    std::vector<uint8_t> d(4);
    std::memcpy(d.data(), &v, 4);  // little-endian, as fw_cfg_add_i32
    add_item(key, std::move(d));
}

void FwCfg::add_file(const std::string& name, std::vector<uint8_t> data) {
    files_[name] = std::move(data);
    rebuild_directory();
}

// FW_CFG_FILE_DIR: be32 count, then per file be32 size, be16 select,
// be16 reserved, char name[56].
void FwCfg::rebuild_directory() {
    by_key_.clear();
    names_by_key_.clear();
    std::vector<uint8_t> dir(4 + 64 * files_.size(), 0);
    uint32_t n = __builtin_bswap32(static_cast<uint32_t>(files_.size()));
    std::memcpy(dir.data(), &n, 4);
    uint16_t key = kFileFirst;
    size_t at = 4;
    for (auto& [name, data] : files_) {
        uint32_t size = __builtin_bswap32(static_cast<uint32_t>(data.size()));
        uint16_t sel = __builtin_bswap16(key);
        std::memcpy(dir.data() + at, &size, 4);
        std::memcpy(dir.data() + at + 4, &sel, 2);
        std::memcpy(dir.data() + at + 8, name.data(), std::min(name.size(), kMaxName - 1));
        by_key_.push_back(&data);  // (map nodes stay put: no copy of the data)
        names_by_key_.push_back(name);
        ++key;
        at += 64;
    }
    items_[kFileDir] = std::move(dir);
}

void FwCfg::select(uint16_t key) {
    key_ = key;
    offset_ = 0;
    if (trace::fw_cfg_select.on.load(std::memory_order_relaxed)) {
        // QEMU's names of the well-known keys, a file's name for the others.
        static const char* const kNames[] = {
            "signature", "id", "uuid", "ram_size", "nographic", "nb_cpus", "machine_id", "kernel_addr",
            "kernel_size", "kernel_cmdline", "initrd_addr", "initrd_size", "boot_device", "numa", "boot_menu",
            "max_cpus", "kernel_entry", "kernel_data", "initrd_data", "cmdline_addr", "cmdline_size",
            "cmdline_data", "setup_addr", "setup_size", "setup_data", "file_dir"};
        unsigned k = key & kEntryMask;
        const char* name = "(null)";
        if (k < std::size(kNames)) name = kNames[k];
        else if (k >= kFileFirst && k - kFileFirst < names_by_key_.size()) name = names_by_key_[k - kFileFirst].c_str();
        int ret = k < kFileFirst + kFileSlots ? 1 : 0;
        ARMVM_TRACE(fw_cfg_select, "%p key 0x%04" PRIx16 " '%s', ret: %d", static_cast<void*>(this), key, name, ret);
    }
}

const std::vector<uint8_t>* FwCfg::current() const {
    if (key_ & kArchLocal) return nullptr;  // (no architecture-specific items on arm)
    unsigned k = key_ & kEntryMask;
    if (k >= kFileFirst) return k - kFileFirst < by_key_.size() ? by_key_[k - kFileFirst] : nullptr;
    auto it = items_.find(static_cast<uint16_t>(k));
    return it == items_.end() ? nullptr : &it->second;
}

uint64_t FwCfg::read(uint64_t off, unsigned size) {
    if (off < 8 && off + size <= 8) {
        // The data register: `size` bytes of the item, in order (bytes
        // past its end read as zero).
        const auto* d = current();
        uint64_t v = 0;
        for (unsigned i = 0; i < size; ++i) {
            uint8_t b = 0;
            if (d && offset_ < d->size()) b = (*d)[offset_++];
            v |= static_cast<uint64_t>(b) << (8 * i);
        }
        // (QEMU's value: the bytes read as a big-endian number)
        ARMVM_TRACE(fw_cfg_read, "%p = 0x%" PRIx64, static_cast<void*>(this), bswap(v, size));
        return v;
    }
    if (off >= 16 && off + size <= 24) {
        // The DMA register reads as the "QEMU CFG" signature (big-endian).
        uint64_t part = kDmaSignature >> (8 * (24 - off - size));
        return bswap(size == 8 ? part : part & ((1ull << (8 * size)) - 1), size);
    }
    return 0;  // (the selector is write-only)
}

void FwCfg::write(uint64_t off, unsigned size, uint64_t value) {
    if (off == 8 && size == 2) {
        select(static_cast<uint16_t>(bswap(value, 2)));
        return;
    }
    if (off == 16 && size == 8) {
        dma(bswap(value, 8));
        return;
    }
    if (off == 16 && size == 4) {
        dma_addr_ = (bswap(value, 4) << 32) | (dma_addr_ & 0xffffffffull);
        return;
    }
    if (off == 20 && size == 4) {
        uint64_t a = (dma_addr_ & ~0xffffffffull) | bswap(value, 4);
        dma_addr_ = 0;
        dma(a);
        return;
    }
    // (writes to the data register are ignored, as QEMU since 2.4)
}

// One DMA request: the guest's FWCfgDmaAccess at `addr`. Its control word
// is rewritten to 0 when done, or to the error bit.
void FwCfg::dma(uint64_t addr) {
    uint8_t* req = as_.ram_ptr(addr, 16);
    if (!req) return;  // (no request to answer: nothing the guest can see)
    uint32_t control, length;
    uint64_t address;
    std::memcpy(&control, req, 4);
    std::memcpy(&length, req + 4, 4);
    std::memcpy(&address, req + 8, 8);
    control = __builtin_bswap32(control);
    length = __builtin_bswap32(length);
    address = __builtin_bswap64(address);
    if (control & kDmaSelect) select(static_cast<uint16_t>(control >> 16));
    const auto* d = current();
    uint32_t result = 0;
    if (control & kDmaRead) {
        uint8_t* dst = length ? as_.ram_ptr(address, length) : nullptr;
        if (length && !dst) {
            result = kDmaError;
        } else {
            // The item's bytes from the current offset, zeros past its end.
            uint32_t avail = d && offset_ < d->size() ? static_cast<uint32_t>(d->size() - offset_) : 0;
            uint32_t n = std::min(avail, length);
            if (n) std::memcpy(dst, d->data() + offset_, n);
            if (length > n) std::memset(dst + n, 0, length - n);
            as_.device_wrote(dst, length);  // (firmware loads kernels this way)
            offset_ += n;
        }
    } else if (control & kDmaWrite) {
        result = kDmaError;  // no item here is writable
    } else if (control & kDmaSkip) {
        uint32_t avail = d && offset_ < d->size() ? static_cast<uint32_t>(d->size() - offset_) : 0;
        offset_ += std::min(avail, length);
    }
    uint32_t done = __builtin_bswap32(result);
    std::memcpy(req, &done, 4);
}

void FwCfg::reset_enter() {
    key_ = 0;
    offset_ = 0;
    dma_addr_ = 0;
}

}  // namespace armvm
