#include "hw/gpio/pl061.hpp"

namespace armvm {

namespace {
enum : uint64_t { GPIODIR = 0x400, GPIOIS = 0x404, GPIOIBE = 0x408, GPIOIEV = 0x40c, GPIOIE = 0x410,
                  GPIORIS = 0x414, GPIOMIS = 0x418, GPIOIC = 0x41c, GPIOAFSEL = 0x420 };
constexpr uint8_t kIds[8] = {0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
}  // namespace

uint64_t Pl061::read(uint64_t off, unsigned) {
    if (off < 0x400) return levels() & ((off >> 2) & 0xff);  // GPIODATA: address bits [9:2] mask it
    if (off >= 0xfe0 && off < 0x1000) return kIds[(off - 0xfe0) >> 2];
    switch (off) {
    case GPIODIR: return dir_;
    case GPIOIS: return is_;
    case GPIOIBE: return ibe_;
    case GPIOIEV: return iev_;
    case GPIOIE: return ie_;
    case GPIORIS: return ris_;
    case GPIOMIS: return ris_ & ie_;
    case GPIOAFSEL: return afsel_;
    default: return 0;
    }
}

void Pl061::write(uint64_t off, unsigned, uint64_t value) {
    uint8_t v = static_cast<uint8_t>(value);
    if (off < 0x400) {
        uint8_t mask = static_cast<uint8_t>((off >> 2) & 0xff) & dir_;
        data_ = static_cast<uint8_t>((data_ & ~mask) | (v & mask));
        return;
    }
    switch (off) {
    case GPIODIR: dir_ = v; break;
    case GPIOIS: is_ = v; break;
    case GPIOIBE: ibe_ = v; break;
    case GPIOIEV: iev_ = v; break;
    case GPIOIE: ie_ = v; break;
    case GPIOIC: ris_ = static_cast<uint8_t>(ris_ & ~v); break;
    case GPIOAFSEL: afsel_ = v; break;
    default: return;
    }
    // Level-sensitive lines follow their level.
    uint8_t lv = levels();
    uint8_t active = static_cast<uint8_t>(~(lv ^ iev_));  // a level matching GPIOIEV
    ris_ = static_cast<uint8_t>((ris_ & ~is_) | (active & is_));
    update_irq();
}

void Pl061::set_input(unsigned line, bool level) {
    if (line > 7) return;
    uint8_t bit = static_cast<uint8_t>(1u << line);
    uint8_t before = levels();
    in_ = static_cast<uint8_t>(level ? in_ | bit : in_ & ~bit);
    uint8_t after = levels();
    if (is_ & bit) {  // level sensitive
        bool match = ((after ^ ~iev_) & bit) != 0;
        ris_ = static_cast<uint8_t>(match ? ris_ | bit : ris_ & ~bit);
    } else if ((before ^ after) & bit) {  // an edge: both, or the one GPIOIEV picks
        bool rising = after & bit;
        if ((ibe_ & bit) || rising == static_cast<bool>(iev_ & bit)) ris_ |= bit;
    }
    update_irq();
}

void Pl061::reset_enter() { data_ = dir_ = is_ = ibe_ = iev_ = ie_ = ris_ = afsel_ = 0; }

void Pl061::reset_hold() { irq_.set(false); }

}  // namespace armvm
