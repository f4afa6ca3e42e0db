#include "hw/rtc/pl031.hpp"

#include <time.h>

#include "base/trace.hpp"

namespace armvm {

namespace {

// The host's UTC time, in nanoseconds.
uint64_t utc_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// PrimeCell identification (0xfe0..0xffc): PL031 revision r1p0.
constexpr uint8_t kIds[8] = {0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

}  // namespace

Pl031::Pl031(EventLoop& loop, IrqLine irq) : loop_(loop), irq_(std::move(irq)), offset_(0) {}

Pl031::~Pl031() { loop_.cancel_timer(match_timer_); }

uint32_t Pl031::count() const { return static_cast<uint32_t>(static_cast<int64_t>(utc_ns() / 1000000000ull) + offset_); }

void Pl031::update_irq() {
    ARMVM_TRACE(pl031_irq_state, "irq state %d", (ris_ & imsc_ & 1) ? 1 : 0);
    irq_.set(ris_ & imsc_ & 1);
}

uint64_t Pl031::read(uint64_t off, unsigned size) {
    uint64_t v = read_reg(off, size);
    ARMVM_TRACE(pl031_read, "addr 0x%08x value 0x%08x", static_cast<uint32_t>(off), static_cast<uint32_t>(v));
    return v;
}

uint64_t Pl031::read_reg(uint64_t off, unsigned) {
    if (off >= 0xfe0 && off < 0x1000) return kIds[(off - 0xfe0) >> 2];
    switch (off) {
    case RTCDR: return count();
    case RTCMR: return mr_;
    case RTCLR: return lr_;      // the last value loaded (the TRM; QEMU 7.2 reads 0: it never records it)
    case RTCCR: return 1;        // always started
    case RTCIMSC: return imsc_;
    case RTCRIS: return ris_;
    case RTCMIS: return ris_ & imsc_;
    default: return 0;           // (reserved: read as zero)
    }
}

void Pl031::write(uint64_t off, unsigned, uint64_t value) {
    uint32_t v = static_cast<uint32_t>(value);
    ARMVM_TRACE(pl031_write, "addr 0x%08x value 0x%08x", static_cast<uint32_t>(off), v);
    switch (off) {
    case RTCLR:
        lr_ = v;
        offset_ = static_cast<int64_t>(v) - static_cast<int64_t>(utc_ns() / 1000000000ull);
        arm_match();
        break;
    case RTCMR:
        mr_ = v;
        arm_match();
        break;
    case RTCIMSC:
        imsc_ = v & 1;
        update_irq();
        break;
    case RTCICR:
        ris_ &= ~(v & 1);
        update_irq();
        break;
    default:  // RTCCR (the counter cannot be stopped), read-only and reserved registers
        break;
    }
}

// The match interrupt: when the counter reaches MR (within the 32-bit
// wrap: a match in the past is 2^32 seconds away).
void Pl031::arm_match() {
    loop_.cancel_timer(match_timer_);
    match_timer_ = 0;
    uint32_t ticks = mr_ - count();
    if (ticks == 0) {
        ris_ |= 1;
        update_irq();
        return;
    }
    uint64_t now = utc_ns();
    uint64_t to_next_second = 1000000000ull - now % 1000000000ull;
    uint64_t delay = to_next_second + (static_cast<uint64_t>(ticks) - 1) * 1000000000ull;
    match_timer_ = loop_.add_timer(EventLoop::now_ns() + delay, [this] {
        match_timer_ = 0;
        ris_ |= 1;
        update_irq();
    });
}

void Pl031::reset_enter() {
    loop_.cancel_timer(match_timer_);
    match_timer_ = 0;
    mr_ = lr_ = imsc_ = ris_ = 0;
}

void Pl031::reset_hold() { irq_.set(false); }

}  // namespace armvm
