#include "hw/char/pl011.hpp"

#include <string_view>

#include "base/trace.hpp"
#include "hw/char/chardev.hpp"

namespace armvm {

namespace {
// UARTPeriphID0-3 and UARTPCellID0-3 at 0xfe0..0xffc (TRM 3.3.14-15).
constexpr uint8_t kId[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
constexpr uint32_t FR_RXFE = 1u << 4, FR_RXFF = 1u << 6, FR_TXFE = 1u << 7;  // TXFF: never full
}  // namespace

Pl011::Pl011(Chardev* chr, IrqLine irq) : chr_(chr), irq_(std::move(irq)) { update_flags(); }

void Pl011::update_flags() {
    uint32_t fr = FR_TXFE;  // transmission is immediate
    if (rx_.empty()) fr |= FR_RXFE;
    if (rx_.size() >= fifo_depth()) fr |= FR_RXFF;
    fr_.v.store(fr, std::memory_order_relaxed);
}

uint64_t Pl011::Flags::read() const {
    uint32_t fr = v.load(std::memory_order_relaxed);
    ARMVM_TRACE(pl011_read, "addr 0x%08x value 0x%08x", static_cast<uint32_t>(UARTFR), fr);
    return fr;
}

const PolledReg* Pl011::polled_reg(uint64_t offset, unsigned size) {
    return offset == UARTFR && size == 4 ? &fr_ : nullptr;
}

void Pl011::start() {
    if (!chr_) return;
    Chardev::Frontend fe;
    fe.on_read = [this](std::string_view d) { receive(d.data(), d.size()); };
    chr_->attach(std::move(fe));
}

void Pl011::reset_enter() {
    rx_.clear();
    backlog_.clear();
    rsr_ = ilpr_ = ibrd_ = fbrd_ = lcr_h_ = imsc_ = ris_ = dmacr_ = 0;
    cr_ = 0x300;
    ifls_ = 0x12;
    update_flags();
}

void Pl011::reset_hold() { irq_.set(false); }

void Pl011::update_irq() {
    bool level = (ris_ & imsc_) != 0;
    ARMVM_TRACE(pl011_irq_state, "irq state %d", level ? 1 : 0);
    irq_.set(level);
}

void Pl011::receive(const char* data, size_t len) {
    for (size_t i = 0; i < len; ++i) backlog_.push_back(data[i]);
    while (!backlog_.empty() && rx_.size() < fifo_depth()) {
        rx_.push_back(static_cast<uint8_t>(backlog_.front()));
        backlog_.pop_front();
        ARMVM_TRACE(pl011_put_fifo, "new char 0x%x read_count now %d", rx_.back(), static_cast<int>(rx_.size()));
        if (rx_.size() == fifo_depth()) ARMVM_TRACE(pl011_put_fifo_full, "FIFO now full, RXFF set");
    }
    if (!backlog_.empty() && backlog_.size() > 4096) backlog_.resize(4096);  // the guest is not reading
    if (!rx_.empty()) ris_ |= kIntRx | kIntRt;
    update_flags();
    update_irq();
}

uint64_t Pl011::read(uint64_t off, unsigned size) {
    uint64_t v = read_reg(off, size);
    ARMVM_TRACE(pl011_read, "addr 0x%08x value 0x%08x", static_cast<uint32_t>(off), static_cast<uint32_t>(v));
    return v;
}

uint64_t Pl011::read_reg(uint64_t off, unsigned) {
    if (off >= 0xfe0 && off < 0x1000) return kId[(off - 0xfe0) >> 2];
    switch (off & ~3ull) {  // (a narrower access reaches its word's register, as on QEMU)
    case UARTDR: {
        if (rx_.empty()) return 0;
        uint16_t c = rx_.front();
        rx_.pop_front();
        ARMVM_TRACE(pl011_read_fifo, "FIFO read, read_count now %d", static_cast<int>(rx_.size()));
        rsr_ = c >> 8;
        receive(nullptr, 0);  // refill from the backlog
        if (rx_.empty()) ris_ &= ~(kIntRx | kIntRt);
        update_irq();
        return c;
    }
    case UARTRSR: return rsr_;
    case UARTFR: return fr_.v.load(std::memory_order_relaxed);
    case UARTILPR: return ilpr_;
    case UARTIBRD: return ibrd_;
    case UARTFBRD: return fbrd_;
    case UARTLCR_H: return lcr_h_;
    case UARTCR: return cr_;
    case UARTIFLS: return ifls_;
    case UARTIMSC: return imsc_;
    case UARTRIS: return ris_;
    case UARTMIS: return ris_ & imsc_;
    case UARTDMACR: return dmacr_;
    default: return 0;  // reserved: read-as-zero
    }
}

void Pl011::write(uint64_t off, unsigned, uint64_t value) {
    uint32_t v = static_cast<uint32_t>(value);
    ARMVM_TRACE(pl011_write, "addr 0x%08x value 0x%08x", static_cast<uint32_t>(off), v);
    switch (off & ~3ull) {
    case UARTDR: {
        char ch = static_cast<char>(v & 0xff);
        if (chr_) chr_->write(std::string_view(&ch, 1));
        ris_ |= kIntTx;
        update_irq();
        break;
    }
    case UARTRSR: rsr_ = 0; break;  // UARTECR: clear errors
    case UARTILPR: ilpr_ = v & 0xff; break;
    case UARTIBRD: ibrd_ = v & 0xffff; break;
    case UARTFBRD: fbrd_ = v & 0x3f; break;
    case UARTLCR_H:
        // Turning the FIFO on or off flushes it (TRM 3.3.7).
        if ((lcr_h_ ^ v) & 0x10) rx_.clear();
        lcr_h_ = v & 0xff;
        update_flags();
        break;
    case UARTCR: cr_ = v & 0xffff; break;
    case UARTIFLS: ifls_ = v & 0x3f; break;
    case UARTIMSC:
        imsc_ = v & 0x7ff;
        update_irq();
        break;
    case UARTICR:
        ris_ &= ~v;
        update_irq();
        break;
    case UARTDMACR: dmacr_ = v & 7; break;
    default: break;  // read-only or reserved: ignored
    }
}

}  // namespace armvm
