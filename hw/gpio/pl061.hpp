// ARM PrimeCell GPIO PL061 (ARM DDI 0190): 8 lines, direction, data through
// the address-masked window, and the interrupt logic (level or edge, one
// or both edges). On the virt board line 3 is the power button
// (gpio-keys, KEY_POWER): QMP system_powerdown pulses it.
#pragma once
#include <cstdint>

#include "hw/core/mmio.hpp"

namespace armvm {

class Pl061 : public MmioDevice {
public:
    explicit Pl061(IrqLine irq) : irq_(std::move(irq)) {}

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void reset_enter() override;
    void reset_hold() override;

    // An external input's level (a line configured as an input).
    void set_input(unsigned line, bool level);

private:
    uint8_t levels() const { return static_cast<uint8_t>((in_ & ~dir_) | (data_ & dir_)); }
    void update_irq() { irq_.set((ris_ & ie_) != 0); }

    IrqLine irq_;
    uint8_t in_ = 0, data_ = 0, dir_ = 0, is_ = 0, ibe_ = 0, iev_ = 0, ie_ = 0, ris_ = 0, afsel_ = 0;
};

}  // namespace armvm
