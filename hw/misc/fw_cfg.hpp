// fw_cfg (QEMU's firmware configuration device, docs/specs/fw_cfg.txt):
// numbered items and named files a guest reads through a selector and a
// data register or by DMA. On the virt board it is memory-mapped at
// 0x09020000: data at +0 (1 to 8 bytes, in item order), selector at +8
// (16-bit big-endian), DMA address at +16 (64-bit big-endian; writing its
// low half, or all of it, starts the transfer).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hw/core/address_space.hpp"
#include "hw/core/mmio.hpp"

namespace armvm {

class FwCfg : public MmioDevice {
public:
    // Selector keys (fw_cfg.txt "Selector Reg. Values").
    enum : uint16_t {
        kSignature = 0x00, kId = 0x01, kUuid = 0x02, kNoGraphic = 0x04, kNbCpus = 0x05, kKernelSize = 0x08,
        kInitrdSize = 0x0b, kBootMenu = 0x0e, kMaxCpus = 0x0f, kKernelData = 0x11, kInitrdData = 0x12,
        kCmdlineSize = 0x14, kCmdlineData = 0x15, kFileDir = 0x19, kFileFirst = 0x20,
    };
    static constexpr size_t kMaxName = 56;  // with the terminating NUL
    static constexpr unsigned kFileSlots = 32;  // QEMU's x-file-slots: the keys a select accepts

    explicit FwCfg(AddressSpace& as) : as_(as) {}
    void add_item(uint16_t key, std::vector<uint8_t> data);
    void add_u16(uint16_t key, uint16_t v);
    void add_u32(uint16_t key, uint32_t v);
    // A named file (name shorter than 56 bytes); files get keys from 0x20
    // in name order, as QEMU gives them.
    void add_file(const std::string& name, std::vector<uint8_t> data);
    bool has_file(const std::string& name) const { return files_.count(name) != 0; }

    AccessSizes access_sizes(uint64_t) override { return {1, 8}; }  // (the data and DMA registers are 64-bit)
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void reset_enter() override;

private:
    void rebuild_directory();
    void select(uint16_t key);
    const std::vector<uint8_t>* current() const;
    void dma(uint64_t addr);

    AddressSpace& as_;
    std::map<uint16_t, std::vector<uint8_t>> items_;
    std::map<std::string, std::vector<uint8_t>> files_;
    std::vector<const std::vector<uint8_t>*> by_key_;  // files by key - kFileFirst
    std::vector<std::string> names_by_key_;            // their names (trace events)
    uint16_t key_ = 0;
    uint32_t offset_ = 0;
    uint64_t dma_addr_ = 0;
};

}  // namespace armvm
