// ARM PrimeCell Real Time Clock PL031 (ARM DDI 0224): a 32-bit seconds
// counter that starts at the host's UTC time (QEMU's -rtc base=utc,
// clock=host), a match register raising the interrupt when the counter
// reaches it, and the PrimeCell ID registers.
#pragma once
#include <cstdint>

#include "base/event_loop.hpp"
#include "hw/core/mmio.hpp"

namespace armvm {

class Pl031 : public MmioDevice {
public:
    Pl031(EventLoop& loop, IrqLine irq);
    ~Pl031() override;

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void reset_enter() override;
    void reset_hold() override;

    enum : uint64_t { RTCDR = 0x00, RTCMR = 0x04, RTCLR = 0x08, RTCCR = 0x0c, RTCIMSC = 0x10, RTCRIS = 0x14,
                      RTCMIS = 0x18, RTCICR = 0x1c };

private:
    uint32_t count() const;
    void arm_match();
    void update_irq();
    uint64_t read_reg(uint64_t offset, unsigned size);

    EventLoop& loop_;
    IrqLine irq_;
    int64_t offset_;  // guest seconds - host UTC seconds
    uint32_t mr_ = 0, lr_ = 0, imsc_ = 0, ris_ = 0;
    EventLoop::TimerId match_timer_ = 0;
};

}  // namespace armvm
