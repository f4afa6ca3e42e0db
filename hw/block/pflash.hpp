// CFI parallel flash with the Intel/Sharp command set, as QEMU's virt
// board wires it ("cfi.pflash01"): a 64 MiB bank, 32 bits wide, made of
// two 16-bit devices side by side (so commands, status and query answers
// come in both halves of a word), 256 KiB sectors, Intel's ids (0x89,
// 0x18). Commands: read array (0xff / 0x00), read status (0x70), clear
// status (0x50), read identifier (0x90), CFI query (0x98), word program
// (0x40 / 0x10), buffered program (0xe8, count, data, 0xd0), block erase
// (0x20 / 0x28, then 0xd0), block lock / unlock (0x60, then 0x01 / 0xd0:
// accepted, nothing is locked). Programmed and erased bytes are written
// back to the backing file at once (the variable store of UEFI survives
// a poweroff); a read-only bank reports program / erase errors in its
// status and never changes.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "block/block.hpp"
#include "hw/core/mmio.hpp"

namespace armvm {

class PFlash : public MmioDevice {
public:
    static constexpr uint64_t kBankSize = 64ull << 20, kSector = 256ull << 10;

    // `backing`: the disk whose bytes are the bank's (exactly kBankSize
    // long; programmed bytes are written back to it), or null for a bank
    // of zeros kept in memory only.
    static Result<std::unique_ptr<PFlash>> create(BlockDev* backing);
    ~PFlash() override;

    uint64_t read(uint64_t off, unsigned size) override;
    void write(uint64_t off, unsigned size, uint64_t value) override;
    void reset_enter() override;

    // A ROM device (AddressSpace::add_rom_device): in read-array mode its
    // bytes are read directly; `hook` hears each change of that mode.
    uint8_t* host() { return mem_; }
    void set_romd_hook(std::function<void(bool)> hook) { romd_hook_ = std::move(hook); }

private:
    PFlash() = default;
    uint32_t query(uint64_t off) const;   // CFI query answer, both devices
    uint32_t ident(uint64_t off) const;   // identifier answer, both devices
    uint32_t status_word() const { return status_ | (uint32_t{status_} << 16); }
    void store(uint64_t off, unsigned size, uint64_t value);  // program
    void write_back(uint64_t off, uint64_t len);
    void to_read_array() { cmd_ = 0, wcycle_ = 0; }
    void command(uint64_t off, unsigned size, uint64_t value);
    void sync_romd();  // tells the hook when read-array mode was entered or left

    uint8_t* mem_ = nullptr;  // the bank's bytes (an mmap of kBankSize)
    BlockDev* backing_ = nullptr;
    bool ro_ = false;
    bool write_failed_ = false;
    uint8_t cmd_ = 0, wcycle_ = 0, status_ = 0x80;
    uint32_t counter_ = 0;      // buffered program: words still to come
    uint64_t buffer_base_ = 0;  // and where they went
    uint8_t cfi_[0x52] = {};
    bool romd_ = true;
    std::function<void(bool)> romd_hook_;
};

}  // namespace armvm
