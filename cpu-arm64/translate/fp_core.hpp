// The FP core shared by the scalar and vector FP executors: the bit
// layouts of single and double precision, the per-instruction FP context
// (FPCR's controls in, FPSR's cumulative flags out) and host arithmetic with
// Arm's rules applied on top (see fp.cpp's header comment).
//
// Include it first in a file: the pragmas below must precede every
// function that does FP arithmetic.
#pragma once

#include <cfenv>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <type_traits>

// The host's rounding mode and exception flags are used here: no constant
// folding or reordering that assumes round-to-nearest and no traps.
#if defined(__clang__)
#pragma STDC FENV_ACCESS ON
#else
#pragma GCC optimize("rounding-math", "signaling-nans")
#endif

#include "cpu-arm64/cpu.hpp"

namespace armvm::a64::fpcore {

constexpr uint32_t kIOC = 1, kDZC = 2, kOFC = 4, kUFC = 8, kIXC = 16, kIDC = 128;

// The formats: F names one (float, double, or Half, FEAT_FP16's half
// precision); Bits<F>::U holds its bits and Bits<F>::Host is the host type
// its values are computed in (Half's in float: each half is exactly a
// float, and arith() rounds a float result to half precision correctly).
struct Half {};

template <typename F>
struct Bits;
template <>
struct Bits<Half> {
    using U = uint16_t;
    using Host = float;
    static constexpr unsigned kMant = 10, kExpBits = 5;
    static constexpr U kSign = 0x8000, kQuiet = 0x0200, kDefaultNaN = 0x7e00;
    static constexpr U kExpMask = 0x7c00, kMantMask = 0x03ff;
};
template <>
struct Bits<float> {
    using U = uint32_t;
    using Host = float;
    static constexpr unsigned kMant = 23, kExpBits = 8;
    static constexpr U kSign = 0x80000000u, kQuiet = 0x00400000u, kDefaultNaN = 0x7fc00000u;
    static constexpr U kExpMask = 0x7f800000u, kMantMask = 0x007fffffu;
};
template <>
struct Bits<double> {
    using U = uint64_t;
    using Host = double;
    static constexpr unsigned kMant = 52, kExpBits = 11;
    static constexpr U kSign = 0x8000000000000000ull, kQuiet = 0x0008000000000000ull,
                       kDefaultNaN = 0x7ff8000000000000ull;
    static constexpr U kExpMask = 0x7ff0000000000000ull, kMantMask = 0x000fffffffffffffull;
};

template <typename F>
using Host = typename Bits<F>::Host;
template <typename F>
constexpr bool kIsHalf = std::is_same_v<F, Half>;

// The value of a number's bits, and the bits of a value (for Half: one
// that is exactly a half: an integer, a constant, an operand).
template <typename F>
Host<F> from_bits(typename Bits<F>::U u) {
    if constexpr (kIsHalf<F>) {
        unsigned exp = (u >> 10) & 0x1f, mant = u & 0x3ff;
        float v = exp == 31 ? (mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity())
                  : exp == 0 ? std::ldexp(static_cast<float>(mant), -24)
                             : std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
        return (u & 0x8000) ? -v : v;
    } else {
        Host<F> f;
        std::memcpy(&f, &u, sizeof f);
        return f;
    }
}
template <typename F>
typename Bits<F>::U to_bits(Host<F> f) {
    if constexpr (kIsHalf<F>) {
        uint16_t sign = std::signbit(f) ? 0x8000 : 0;
        float a = std::fabs(f);
        if (std::isnan(f)) return sign | 0x7e00;
        if (std::isinf(f)) return sign | 0x7c00;
        if (a < 0x1p-14f) return sign | static_cast<uint16_t>(std::ldexp(a, 24));  // (a denormal or zero)
        int e;
        std::frexp(a, &e);  // a = m * 2^e, 0.5 <= m < 1
        return sign | static_cast<uint16_t>((e + 14) << 10) | (static_cast<uint16_t>(std::ldexp(a, 11 - e)) & 0x3ff);
    } else {
        typename Bits<F>::U u;
        std::memcpy(&u, &f, sizeof u);
        return u;
    }
}

// A format as the scalar FP instructions' type field encodes it.
enum class Fmt : unsigned { S = 0, D = 1, H = 3 };
constexpr unsigned fmt_bits(Fmt f) { return f == Fmt::D ? 64 : f == Fmt::H ? 16 : 32; }

// fn.template operator()<F>() with the format's F.
template <typename Fn>
decltype(auto) by_fmt(Fmt f, Fn&& fn) {
    switch (f) {
    case Fmt::D: return fn.template operator()<double>();
    case Fmt::H: return fn.template operator()<Half>();
    default: return fn.template operator()<float>();
    }
}

template <typename F>
bool is_nan(typename Bits<F>::U u) {
    return (u & Bits<F>::kExpMask) == Bits<F>::kExpMask && (u & Bits<F>::kMantMask);
}
template <typename F>
bool is_snan(typename Bits<F>::U u) {
    return is_nan<F>(u) && !(u & Bits<F>::kQuiet);
}
template <typename F>
bool is_denormal(typename Bits<F>::U u) {
    return !(u & Bits<F>::kExpMask) && (u & Bits<F>::kMantMask);
}

// The FP context of one instruction: FPCR's controls and the flags it
// raises (merged into FPSR at the end).
struct Ctx {
    Cpu& c;
    bool fz, dn, fz16;
    unsigned rmode;
    uint32_t flags = 0;
    explicit Ctx(Cpu& cpu)
        : c(cpu), fz((cpu.s.fpcr >> 24) & 1), dn((cpu.s.fpcr >> 25) & 1), fz16((cpu.s.fpcr >> 19) & 1),
          rmode((cpu.s.fpcr >> 22) & 3) {}
    ~Ctx() { c.s.fpsr |= flags; }

    // Flush-to-zero of a denormal input: FZ's with Input Denormal; for
    // halves FZ16's, which raises nothing.
    template <typename F>
    typename Bits<F>::U flush_in(typename Bits<F>::U u) {
        if constexpr (kIsHalf<F>) return fz16 && is_denormal<F>(u) ? u & Bits<F>::kSign : u;
        if (fz && is_denormal<F>(u)) {
            flags |= kIDC;
            return u & Bits<F>::kSign;
        }
        return u;
    }
    template <typename F>
    typename Bits<F>::U quiet(typename Bits<F>::U u) {
        return dn ? Bits<F>::kDefaultNaN : (u | Bits<F>::kQuiet);
    }
    // FPProcessNaNs over 1..3 operands: true with the result if any is a NaN.
    template <typename F>
    bool nans(std::initializer_list<typename Bits<F>::U> ops, typename Bits<F>::U& out) {
        for (auto u : ops)
            if (is_snan<F>(u)) {
                flags |= kIOC;
                out = quiet<F>(u);
                return true;
            }
        for (auto u : ops)
            if (is_nan<F>(u)) {
                out = quiet<F>(u);
                return true;
            }
        return false;
    }
};

inline int host_round(unsigned rmode) {
    switch (rmode) {
    case 1: return FE_UPWARD;
    case 2: return FE_DOWNWARD;
    case 3: return FE_TOWARDZERO;
    default: return FE_TONEAREST;
    }
}

// Runs op() on the host in `rmode`; returns the host flags in Arm terms.
// op must compute in float or double (on x86-64: SSE, whose control and
// status are MXCSR; the x87 unit, long double, is not set up).
template <typename Op>
uint32_t host_op(unsigned rmode, Op op) {
#if defined(__x86_64__)
    // MXCSR directly: glibc's fenv functions also save and restore the x87
    // environment, which made them most of the time of an FP instruction.
    // The host runs in round-to-nearest and reads no MXCSR flags, so after
    // an operation in that mode its flags are simply left set: one MXCSR
    // load per operation (to clear them), not two.
    static constexpr unsigned kRc[4] = {0u << 13, 2u << 13, 1u << 13, 3u << 13};  // RN, RP, RM, RZ
    unsigned saved = __builtin_ia32_stmxcsr() & ~0x603fu;  // the host's mode (RN), no flags
    __builtin_ia32_ldmxcsr(saved | kRc[rmode & 3]);       // the rounding mode, no flags
#else
    int saved = std::fegetround();
    std::fesetround(host_round(rmode));
    std::feclearexcept(FE_ALL_EXCEPT);
#endif
    // GCC does not treat the rounding mode as an input of FP arithmetic
    // (not even with -frounding-math): it would evaluate op's expression
    // before the mode is set, or reuse it from an earlier host_op. Reaching
    // op through a pointer the compiler cannot see through makes it load
    // the operands, and compute, here.
    Op* p = &op;
    __asm__ volatile("" : "+r"(p) : : "memory");
    (*p)();
    __asm__ volatile("" : : : "memory");
#if defined(__x86_64__)
    unsigned ex = __builtin_ia32_stmxcsr();
    if (rmode & 3) __builtin_ia32_ldmxcsr(saved);
    // MXCSR flags: IE 0, DE 1 (denormal operand: no Arm equivalent), ZE 2, OE 3, UE 4, PE 5
    return (ex & 1 ? kIOC : 0) | (ex & 4 ? kDZC : 0) | (ex & 8 ? kOFC : 0) | (ex & 16 ? kUFC : 0) |
           (ex & 32 ? kIXC : 0);
#else
    int ex = std::fetestexcept(FE_ALL_EXCEPT);
    std::fesetround(saved);
    return (ex & FE_INVALID ? kIOC : 0) | (ex & FE_DIVBYZERO ? kDZC : 0) | (ex & FE_OVERFLOW ? kOFC : 0) |
           (ex & FE_UNDERFLOW ? kUFC : 0) | (ex & FE_INEXACT ? kIXC : 0);
#endif
}

uint16_t round_to_half(Ctx& x, double v, bool ahp, bool fz16 = false);  // fp.cpp

// A half-precision result (FEAT_FP16) of `op`, which computes it in float
// from halves: once toward zero, the inexact flag then setting the last
// bit (round to odd: 24 bits for 11 keep every rounding of the exact
// value to half precision right), and that rounded to half precision in
// FPCR's mode (with FZ16's flush of a tiny result). An exact zero is
// computed again in FPCR's mode, which decides its sign.
template <typename Op>
uint16_t arith_half(Ctx& x, Op op) {
    volatile float r = 0;
    uint32_t fl = host_op(3, [&] { r = op(); });
    float v = r;
    if (std::isnan(v)) {  // an invalid operation
        x.flags |= fl & kIOC;
        return Bits<Half>::kDefaultNaN;
    }
    x.flags |= fl & (kIOC | kDZC);
    if (std::isinf(v)) return std::signbit(v) ? 0xfc00 : 0x7c00;  // (exact: from an infinity, or a division by zero)
    if (v == 0 && !(fl & kIXC)) {
        host_op(x.rmode, [&] { r = op(); });
        return std::signbit(r) ? 0x8000 : 0;
    }
    if (fl & kIXC) {
        uint32_t u = to_bits<float>(v) | 1;
        v = from_bits<float>(u);
    }
    return round_to_half(x, v, false, x.fz16);
}

// The result of an arithmetic operation computed by `op(rmode)` (which
// returns the host result), with Arm's treatment of invalid results,
// tininess and flush-to-zero.
template <typename F, typename Op>
typename Bits<F>::U arith(Ctx& x, Op op) {
    using B = Bits<F>;
    if constexpr (kIsHalf<F>) return arith_half(x, op);
    volatile Host<F> r = 0;
    uint32_t fl = host_op(x.rmode, [&] { r = op(); });
    typename B::U u = to_bits<F>(r);
    if (is_nan<F>(u)) {  // an invalid operation: Arm's default NaN is positive
        x.flags |= fl;
        return B::kDefaultNaN;
    }
    constexpr typename B::U min_normal = typename B::U(1) << B::kMant;
    typename B::U mag = u & ~B::kSign;
    // Tininess before rounding: a result rounded up to the smallest normal
    // was tiny if rounding toward zero leaves it below.
    // (a result that rounded to zero was tiny too, unless it was exact)
    bool tiny = mag < min_normal && (mag != 0 || (fl & kIXC));
    if (mag == min_normal && (fl & kIXC)) {
        volatile Host<F> rz = 0;
        host_op(3, [&] { rz = op(); });
        tiny = (to_bits<F>(rz) & ~B::kSign) < min_normal;
    }
    if (x.fz && tiny) {
        x.flags |= (fl & ~(kUFC | kIXC)) | kUFC;  // flushed: underflow, not inexact
        return u & B::kSign;
    }
    fl &= ~kUFC;
    if (tiny && (fl & kIXC)) fl |= kUFC;
    x.flags |= fl;
    return u;
}

}  // namespace armvm::a64::fpcore

namespace armvm::a64::fpcore {

// fp_estimate.cpp: the estimate instructions (ARM ARM FPRecipEstimate,
// FPRSqrtEstimate, UnsignedRecipEstimate, UnsignedRSqrtEstimate, FPRecpX)
// and FCVTXN's double-to-single conversion rounding to odd; `a` in the
// format's low bits.
uint64_t recip_estimate(Cpu& c, uint64_t a, Fmt f);
uint64_t rsqrt_estimate(Cpu& c, uint64_t a, Fmt f);
uint32_t unsigned_recip_estimate(uint32_t a);
uint32_t unsigned_rsqrt_estimate(uint32_t a);
uint64_t recip_exponent(Cpu& c, uint64_t a, Fmt f);
uint32_t convert_round_odd(Cpu& c, uint64_t a);

}  // namespace armvm::a64::fpcore
