// The ACPI Generic Event Device (ACPI 6.4 §5.6.9; QEMU's "acpi-ged"): an
// interrupt and a 32-bit event selector. The board raises an event (the
// power button); the guest's _EVT method, run on the interrupt, reads the
// selector (which clears it) and notifies the device the event is for.
// QEMU's virt board has it instead of the PL061 GPIO when it boots
// firmware with ACPI.
#pragma once
#include <cstdint>

#include "hw/core/mmio.hpp"

namespace armvm {

class AcpiGed : public MmioDevice {
public:
    static constexpr uint32_t kPowerDownEvent = 1u << 1;  // QEMU's ACPI_GED_PWR_DOWN_EVT
    static constexpr uint64_t kSize = 4;

    explicit AcpiGed(IrqLine irq) : irq_(std::move(irq)) {}
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t, unsigned, uint64_t) override {}  // (the selector is read-only)
    void reset_enter() override { selector_ = 0; }
    void reset_hold() override { irq_.set(false); }

    // Latches `events` and pulses the (edge-triggered) interrupt.
    void raise(uint32_t events);

private:
    IrqLine irq_;
    uint32_t selector_ = 0;
};

}  // namespace armvm
