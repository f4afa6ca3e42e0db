// ARM PrimeCell UART PL011 (ARM DDI 0183G), as on QEMU's virt board:
// register names from the TRM, transmit straight to the chardev, a receive
// FIFO fed by the chardev, the RX/TX/RT interrupts on one line.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>

#include "hw/core/mmio.hpp"

namespace armvm {

class Chardev;

class Pl011 : public MmioDevice {
public:
    // `chr` may be null (no backend: output is dropped, nothing arrives).
    Pl011(Chardev* chr, IrqLine irq);
    // Attach to the chardev; call with the machine lock held.
    void start();

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void reset_enter() override;
    void reset_hold() override;
    // UARTFR, which firmware and earlycon poll before every character.
    const PolledReg* polled_reg(uint64_t offset, unsigned size) override;

    // Registers (offsets, TRM table 3-1).
    enum : uint64_t {
        UARTDR = 0x000, UARTRSR = 0x004, UARTFR = 0x018, UARTILPR = 0x020, UARTIBRD = 0x024,
        UARTFBRD = 0x028, UARTLCR_H = 0x02c, UARTCR = 0x030, UARTIFLS = 0x034, UARTIMSC = 0x038,
        UARTRIS = 0x03c, UARTMIS = 0x040, UARTICR = 0x044, UARTDMACR = 0x048,
    };
    // Interrupt bits (RIS/MIS/IMSC/ICR).
    static constexpr uint32_t kIntRx = 1u << 4, kIntTx = 1u << 5, kIntRt = 1u << 6;

private:
    void receive(const char* data, size_t len);
    void update_irq();
    uint64_t read_reg(uint64_t offset, unsigned size);
    void update_flags();  // after a change of rx_ or the FIFO's depth
    unsigned fifo_depth() const { return (lcr_h_ & 0x10) ? 16 : 1; }

    Chardev* chr_;
    IrqLine irq_;
    std::deque<uint16_t> rx_;
    std::deque<char> backlog_;  // arrived while the FIFO was full
    uint32_t rsr_ = 0, ilpr_ = 0, ibrd_ = 0, fbrd_ = 0, lcr_h_ = 0, cr_ = 0x300, ifls_ = 0x12;
    uint32_t imsc_ = 0, ris_ = 0, dmacr_ = 0;
    // UARTFR, kept as rx_ changes (under the machine lock) and read
    // without it.
    struct Flags final : PolledReg {
        std::atomic<uint32_t> v;
        uint64_t read() const override;
    } fr_;
};

}  // namespace armvm
