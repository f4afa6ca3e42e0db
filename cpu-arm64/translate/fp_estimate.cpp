// The FP estimate instructions and round-to-odd conversion, computed as
// the ARM ARM pseudocode defines them (bit for bit: software using
// FRECPE/FRSQRTE seeds Newton-Raphson iterations with them, and their
// results are architecturally exact, not "any good estimate").
#include "cpu-arm64/translate/fp_core.hpp"  // first: it sets the FP code-generation options

namespace armvm::a64::fpcore {

namespace {

// RecipEstimate: `a` in [256, 512) is a fixed-point value in [0.5, 1);
// the result in [256, 512) is 1/a in [1, 2), 8 fraction bits.
unsigned recip_table(unsigned a) {
    a = a * 2 + 1;                 // to the middle of the interval
    unsigned b = (1u << 19) / a;
    return (b + 1) / 2;            // rounded to nearest
}

// RecipSqrtEstimate: `a` in [128, 512) is a fixed-point value in
// [0.25, 1); the result in [256, 512) is 1/sqrt(a) in [1, 2).
unsigned rsqrt_table(unsigned a) {
    if (a < 256) {
        a = a * 2 + 1;                 // units of 1/512, to the middle
    } else {
        a = (a >> 1) << 1;             // units of 1/256
        a = (a + 1) * 2;
    }
    uint64_t b = 512;
    while (static_cast<uint64_t>(a) * (b + 1) * (b + 1) < (1ull << 28)) ++b;
    return static_cast<unsigned>((b + 1) / 2);
}

// The fraction of a half, single or double widened to double's 52 bits, and
// its biased exponent.
template <typename F>
uint64_t fraction52(typename Bits<F>::U u) {
    return static_cast<uint64_t>(u & Bits<F>::kMantMask) << (52 - Bits<F>::kMant);
}
template <typename F>
int exponent(typename Bits<F>::U u) {
    return static_cast<int>((u & Bits<F>::kExpMask) >> Bits<F>::kMant);
}
template <typename F>
typename Bits<F>::U pack(typename Bits<F>::U sign, int exp, uint64_t frac52) {
    using U = typename Bits<F>::U;
    return sign | (static_cast<U>(exp) << Bits<F>::kMant) | static_cast<U>(frac52 >> (52 - Bits<F>::kMant));
}

template <typename F>
typename Bits<F>::U recpe(Cpu& c, typename Bits<F>::U a) {
    using B = Bits<F>;
    using U = typename B::U;
    constexpr int kMaxExp = (1 << B::kExpBits) - 1, kBias = kMaxExp / 2;
    Ctx x(c);
    a = x.flush_in<F>(a);
    U out, sign = a & B::kSign, mag = a & ~B::kSign;
    if (x.nans<F>({a}, out)) return out;
    if (mag == B::kExpMask) return sign;  // 1/inf: a zero
    if (mag == 0) {
        x.flags |= kDZC;
        return sign | B::kExpMask;
    }
    // Too small for the reciprocal to be finite: below 2^-16 (half),
    // 2^-128 (single), 2^-1024 (double), a denormal with its top two
    // fraction bits clear.
    if (mag < (U(1) << (B::kMant - 2))) {
        bool to_inf = x.rmode == 0 || (x.rmode == 1 && !sign) || (x.rmode == 2 && sign);
        x.flags |= kOFC | kIXC;
        return sign | (to_inf ? B::kExpMask : B::kExpMask - 1);
    }
    // With FZ (FZ16), a reciprocal below the normals is flushed: a >= 2^14
    // (2^126, 2^1022).
    if ((kIsHalf<F> ? x.fz16 : x.fz) && exponent<F>(a) >= kMaxExp - 2) {
        x.flags |= kUFC;
        return sign;
    }
    uint64_t frac = fraction52<F>(a);
    int exp = exponent<F>(a);
    if (exp == 0) {  // a denormal: normalise by one or two places
        if (!((frac >> 51) & 1)) {
            exp = -1;
            frac = (frac << 2) & ((1ull << 52) - 1);
        } else {
            frac = (frac << 1) & ((1ull << 52) - 1);
        }
    }
    unsigned scaled = 256 | static_cast<unsigned>((frac >> 44) & 0xff);
    int result_exp = 2 * kBias - 1 - exp;
    unsigned est = recip_table(scaled);
    uint64_t rfrac = static_cast<uint64_t>(est & 0xff) << 44;
    if (result_exp == 0) {
        rfrac = (1ull << 51) | (rfrac >> 1);
    } else if (result_exp == -1) {
        rfrac = (1ull << 50) | (rfrac >> 2);
        result_exp = 0;
    }
    return pack<F>(sign, result_exp, rfrac);
}

template <typename F>
typename Bits<F>::U rsqrte(Cpu& c, typename Bits<F>::U a) {
    using B = Bits<F>;
    using U = typename B::U;
    constexpr int kBias = (1 << (B::kExpBits - 1)) - 1;
    Ctx x(c);
    a = x.flush_in<F>(a);
    U out, sign = a & B::kSign, mag = a & ~B::kSign;
    if (x.nans<F>({a}, out)) return out;
    if (mag == 0) {
        x.flags |= kDZC;
        return sign | B::kExpMask;
    }
    if (sign) {
        x.flags |= kIOC;
        return B::kDefaultNaN;
    }
    if (mag == B::kExpMask) return 0;
    uint64_t frac = fraction52<F>(a);
    int exp = exponent<F>(a);
    if (exp == 0) {  // a denormal: normalise
        while (!((frac >> 51) & 1)) {
            frac <<= 1;
            --exp;
        }
        frac = (frac << 1) & ((1ull << 52) - 1);
    }
    // Scaled into [0.25, 1) keeping the exponent's parity.
    // (the biases are odd: an even biased exponent is an odd power of 2)
    unsigned scaled = (exp & 1) ? 128 | static_cast<unsigned>((frac >> 45) & 0x7f)
                                : 256 | static_cast<unsigned>((frac >> 44) & 0xff);
    int result_exp = (3 * kBias - 1 - exp) / 2;  // (positive: truncation is the floor)
    unsigned est = rsqrt_table(scaled);
    return pack<F>(0, result_exp, static_cast<uint64_t>(est & 0xff) << 44);
}

template <typename F>
typename Bits<F>::U recpx(Cpu& c, typename Bits<F>::U a) {
    using B = Bits<F>;
    using U = typename B::U;
    Ctx x(c);
    a = x.flush_in<F>(a);
    U out;
    if (x.nans<F>({a}, out)) return out;
    U sign = a & B::kSign, exp = (a & B::kExpMask) >> B::kMant, ones = (U(1) << B::kExpBits) - 1;
    U r = exp == 0 ? ones - 1 : (~exp & ones);  // zeros and denormals: the largest finite exponent
    return sign | (r << B::kMant);
}

}  // namespace

uint64_t recip_estimate(Cpu& c, uint64_t a, Fmt f) {
    return by_fmt(f, [&]<typename F>() -> uint64_t { return recpe<F>(c, static_cast<typename Bits<F>::U>(a)); });
}

uint64_t rsqrt_estimate(Cpu& c, uint64_t a, Fmt f) {
    return by_fmt(f, [&]<typename F>() -> uint64_t { return rsqrte<F>(c, static_cast<typename Bits<F>::U>(a)); });
}

uint64_t recip_exponent(Cpu& c, uint64_t a, Fmt f) {
    return by_fmt(f, [&]<typename F>() -> uint64_t { return recpx<F>(c, static_cast<typename Bits<F>::U>(a)); });
}

uint32_t unsigned_recip_estimate(uint32_t a) {
    if (!(a >> 31)) return 0xffffffffu;  // below 0.5
    return recip_table(a >> 23) << 23;
}

uint32_t unsigned_rsqrt_estimate(uint32_t a) {
    if (!(a >> 30)) return 0xffffffffu;  // below 0.25
    return rsqrt_table(a >> 23) << 23;
}

// FCVTXN: double to single, rounding to odd (truncate; an inexact result
// gets its lowest bit set), so that a second rounding to a narrower
// format is correct. NaNs convert as FCVT's do.
uint32_t convert_round_odd(Cpu& c, uint64_t a) {
    using B = Bits<double>;
    Ctx x(c);
    uint64_t u = x.flush_in<double>(a);
    uint64_t out;
    if (x.nans<double>({u}, out)) {
        if (x.dn) return Bits<float>::kDefaultNaN;
        return static_cast<uint32_t>(((u >> 63) << 31) | 0x7fc00000u | ((u >> 29) & 0x003fffffu));
    }
    if ((u & ~B::kSign) == B::kExpMask) return static_cast<uint32_t>((u >> 63) << 31) | 0x7f800000u;
    double d = from_bits<double>(u);
    x.rmode = 3;  // toward zero, then the sticky bit
    uint32_t before = x.flags;
    x.flags = 0;
    uint32_t r = arith<float>(x, [&] { return static_cast<float>(d); });
    if (x.flags & kIXC) r |= 1;
    x.flags |= before;
    return r;
}

}  // namespace armvm::a64::fpcore
