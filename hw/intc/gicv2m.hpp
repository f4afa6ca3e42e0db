// The GICv2m MSI frame (ARM Server Base System Architecture, appendix
// "GICv2m"): a write of an SPI number to MSI_SETSPI_NS raises that SPI as
// an edge. QEMU's virt board gives it SPIs 48..111 (INTIDs 80..143).
#pragma once
#include <cstdint>
#include <functional>

#include "hw/core/mmio.hpp"

namespace armvm {

class GicV2m : public MmioDevice {
public:
    static constexpr uint64_t kSetSpiNs = 0x040;
    // `pulse(intid)`: an edge on the SPI with that INTID.
    GicV2m(unsigned first_intid, unsigned count, std::function<void(unsigned)> pulse)
        : first_(first_intid), count_(count), pulse_(std::move(pulse)) {}

    uint64_t read(uint64_t off, unsigned size) override {
        if (size != 4) return 0;
        switch (off) {
        case 0x008: return (first_ << 16) | count_;  // MSI_TYPER: base INTID, number of SPIs
        case 0xfcc: return 0x51u << 20;              // MSI_IIDR: QEMU's product ID ('Q')
        default: return 0;
        }
    }
    void write(uint64_t off, unsigned size, uint64_t value) override {
        if (off != kSetSpiNs || (size != 4 && size != 2)) return;
        unsigned intid = static_cast<unsigned>(value & 0x3ff);
        if (intid >= first_ && intid < first_ + count_) pulse_(intid);  // (others are ignored)
    }

private:
    unsigned first_, count_;
    std::function<void(unsigned)> pulse_;
};

}  // namespace armvm
