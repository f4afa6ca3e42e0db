// Scalar floating point, single and double precision (ARM ARM C4.1.95,
// the FP pseudocode of J1): data processing with 1, 2 and 3 sources,
// compares, conditional compare and select, immediate moves, and the
// conversions to and from integers.
//
// The arithmetic runs on the host FPU in the rounding mode FPCR.RMode
// names, and everything where the host and the architecture differ is done
// here explicitly: NaN propagation (an SNaN operand first, then a QNaN,
// in operand order; FPCR.DN's default NaN), the default NaN of an invalid
// operation (positive on Arm), flush-to-zero of inputs (IDC) and outputs
// (UFC without IXC), and tininess detected before rounding (the host
// detects it after).
#include "cpu-arm64/translate/fp_core.hpp"  // first: it sets the FP code-generation options

#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"

namespace armvm::a64 {

using namespace fpcore;

namespace {

template <typename F>
typename Bits<F>::U bin(Cpu& c, unsigned opcode, typename Bits<F>::U a, typename Bits<F>::U b) {
    using B = Bits<F>;
    Ctx x(c);
    a = x.flush_in<F>(a);
    b = x.flush_in<F>(b);
    typename B::U out;
    bool nm = opcode == 6 || opcode == 7;  // FMAXNM/FMINNM: a quiet NaN loses to a number
    if (nm && !is_snan<F>(a) && !is_snan<F>(b)) {
        if (is_nan<F>(a) && !is_nan<F>(b)) a = b;
        else if (is_nan<F>(b) && !is_nan<F>(a)) b = a;
    }
    if (x.nans<F>({a, b}, out)) return opcode == 8 ? out ^ B::kSign : out;  // FNMUL negates even a NaN
    Host<F> fa = from_bits<F>(a), fb = from_bits<F>(b);
    switch (opcode) {
    case 0: return arith<F>(x, [&] { return fa * fb; });   // FMUL
    case 1: return arith<F>(x, [&] { return fa / fb; });   // FDIV
    case 2: return arith<F>(x, [&] { return fa + fb; });   // FADD
    case 3: return arith<F>(x, [&] { return fa - fb; });   // FSUB
    case 8:  // FNMUL: the rounded product, negated (a default NaN too)
        return arith<F>(x, [&] { return fa * fb; }) ^ B::kSign;
    default: {  // FMAX, FMIN, FMAXNM, FMINNM: +0 > -0
        bool max = !(opcode & 1);
        if (fa == fb) return max ? (a & b) : (a | b);  // equal: the zero signs decide
        return (fa > fb) == max ? a : b;
    }
    }
}

template <typename F>
typename Bits<F>::U muladd(Cpu& c, typename Bits<F>::U addend, typename Bits<F>::U n, typename Bits<F>::U m,
                           bool neg_product, bool neg_addend) {
    using B = Bits<F>;
    Ctx x(c);
    addend = x.flush_in<F>(addend);
    n = x.flush_in<F>(n);
    m = x.flush_in<F>(m);
    // The negations are of the operands (ARM ARM FMSUB: FPNeg(operand1)),
    // so a NaN among them comes out with its sign flipped.
    if (neg_product) n ^= B::kSign;
    if (neg_addend) addend ^= B::kSign;
    typename B::U out;
    bool inf_zero = ((n & ~B::kSign) == B::kExpMask && !(m & ~B::kSign)) ||
                    ((m & ~B::kSign) == B::kExpMask && !(n & ~B::kSign));
    if (x.nans<F>({addend, n, m}, out)) {
        // A quiet NaN addend with inf * 0 is still an invalid operation.
        if (inf_zero && is_nan<F>(addend) && !is_snan<F>(addend)) {
            x.flags |= kIOC;
            return B::kDefaultNaN;
        }
        return out;
    }
    Host<F> fa = from_bits<F>(addend), fn = from_bits<F>(n), fm = from_bits<F>(m);
    return arith<F>(x, [&] { return std::fma(fn, fm, fa); });
}

template <typename F>
typename Bits<F>::U unary(Cpu& c, unsigned opcode, typename Bits<F>::U a) {
    using B = Bits<F>;
    switch (opcode) {
    case 0: return a;                 // FMOV
    case 1: return a & ~B::kSign;     // FABS
    case 2: return a ^ B::kSign;      // FNEG
    default: break;
    }
    Ctx x(c);
    a = x.flush_in<F>(a);
    if (opcode >= 16 && opcode <= 19) {  // FRINT32Z, FRINT32X, FRINT64Z, FRINT64X (FEAT_FRINTTS)
        // Rounded toward zero (Z) or as FPCR says (X), to a value of a
        // signed 32/64-bit integer; NaNs, infinities and values out of
        // that range give its most negative value, Invalid Operation.
        Host<F> lim = std::ldexp(Host<F>(1), opcode < 18 ? 31 : 63), fa = from_bits<F>(a);
        if (std::isnan(fa) || std::isinf(fa)) {
            x.flags |= kIOC;
            return to_bits<F>(-lim);
        }
        volatile Host<F> r = 0;
        host_op(opcode & 1 ? x.rmode : 3, [&] { r = std::nearbyint(fa); });
        Host<F> rr = r;
        if (rr >= lim || rr < -lim) {
            x.flags |= kIOC;
            return to_bits<F>(-lim);
        }
        if (rr != fa) x.flags |= kIXC;
        return to_bits<F>(rr == 0 ? std::copysign(Host<F>(0), fa) : rr);
    }
    typename B::U out;
    if (x.nans<F>({a}, out)) return out;
    Host<F> fa = from_bits<F>(a);
    if (opcode == 3) return arith<F>(x, [&] { return std::sqrt(fa); });  // FSQRT
    // FRINT{N,P,M,Z,A,X,I}: round to an integral value.
    unsigned mode = opcode == 8 ? 0 : opcode == 9 ? 1 : opcode == 10 ? 2 : opcode == 11 ? 3 : x.rmode;
    if (opcode == 12) {  // FRINTA: ties away from zero
        Host<F> r = std::round(fa);
        return to_bits<F>(r == 0 ? std::copysign(Host<F>(0), fa) : r);
    }
    volatile Host<F> r = 0;
    host_op(mode, [&] { r = std::nearbyint(fa); });
    Host<F> rr = r;
    if (opcode == 14 && rr != fa) x.flags |= kIXC;  // FRINTX signals inexact
    return to_bits<F>(rr == 0 ? std::copysign(Host<F>(0), fa) : rr);
}

// FCVT between single and double.
uint64_t convert_fp(Cpu& c, uint64_t a, bool from_double) {
    Ctx x(c);
    if (from_double) {
        uint64_t u = x.flush_in<double>(a);
        uint64_t out;
        if (x.nans<double>({u}, out)) {
            if (x.dn) return Bits<float>::kDefaultNaN;
            // The NaN's sign and top fraction bits carry over.
            return static_cast<uint32_t>(((u >> 63) << 31) | 0x7fc00000u | ((u >> 29) & 0x003fffffu));
        }
        double d = from_bits<double>(u);
        return arith<float>(x, [&] { return static_cast<float>(d); });
    }
    uint32_t u = x.flush_in<float>(static_cast<uint32_t>(a));
    uint32_t out;
    if (x.nans<float>({u}, out)) {
        if (x.dn) return Bits<double>::kDefaultNaN;
        return (static_cast<uint64_t>(u >> 31) << 63) | 0x7ff8000000000000ull |
               (static_cast<uint64_t>(u & 0x003fffffu) << 29);
    }
    return to_bits<double>(static_cast<double>(from_bits<float>(u)));
}

// ---- half precision conversions (base Armv8.0: FCVT to and from H,
// FCVTL/FCVTN with halves). FPCR.AHP selects the alternative format (no
// infinities or NaNs); half inputs are never flushed (that is FZ16's, with
// FEAT_FP16).

}  // namespace

// A finite double rounded to half precision in FPCR's mode; `ahp`: to the
// alternative format; `fz16`: a result tiny before rounding is flushed to
// zero (Underflow, not Inexact).
uint16_t fpcore::round_to_half(Ctx& x, double v, bool ahp, bool fz16) {
    uint16_t sign = std::signbit(v) ? 0x8000 : 0;
    double a = std::fabs(v);
    if (a == 0) return sign;
    if (fz16 && a < 0x1p-14) {
        x.flags |= kUFC;
        return sign;
    }
    int e;
    std::frexp(a, &e);  // a = m * 2^e, 0.5 <= m < 1: the leading bit is 2^(e-1)
    int lead = e - 1;
    int q = std::max(lead, -14) - 10;  // the quantum's exponent (denormals share -24)
    double scaled = std::ldexp(a, -q);
    unsigned rm = x.rmode;
    if (sign && (rm == 1 || rm == 2)) rm ^= 3;  // rounding the magnitude: +inf and -inf swap
    volatile double r = 0;
    host_op(rm, [&] { r = std::nearbyint(scaled); });
    double rounded = std::ldexp(static_cast<double>(r), q);
    bool inexact = rounded != a;
    double max = ahp ? 131008.0 : 65504.0;
    if (rounded > max) {
        if (ahp) {
            x.flags |= kIOC;
            return sign | 0x7fff;
        }
        x.flags |= kOFC | kIXC;
        // Round to nearest and away-from-zero directions overflow to infinity.
        bool to_inf = x.rmode == 0 || (x.rmode == 1 && !sign) || (x.rmode == 2 && sign);
        return sign | (to_inf ? 0x7c00 : 0x7bff);
    }
    if (inexact) x.flags |= kIXC | (a < std::ldexp(1.0, -14) ? kUFC : 0);
    int re;
    std::frexp(rounded, &re);
    if (rounded < std::ldexp(1.0, -14))  // denormal (or rounded to zero)
        return sign | static_cast<uint16_t>(std::ldexp(rounded, 24));
    int exp = re - 1;
    uint16_t mant = static_cast<uint16_t>(std::ldexp(rounded, -exp) * 1024.0) & 0x3ff;
    return sign | static_cast<uint16_t>((exp + 15) << 10) | mant;
}

namespace {

uint16_t to_half(Cpu& c, uint64_t a, bool from_double) {
    Ctx x(c);
    bool ahp = (c.s.fpcr >> 26) & 1;
    double v;
    bool nan, snan, inf;
    uint64_t top;  // the NaN's fraction, top bits first, 52 bits
    uint16_t sign;
    if (from_double) {
        uint64_t u = x.flush_in<double>(a);
        nan = is_nan<double>(u), snan = is_snan<double>(u), inf = (u & ~Bits<double>::kSign) == Bits<double>::kExpMask;
        top = u & Bits<double>::kMantMask;
        sign = (u >> 63) ? 0x8000 : 0;
        v = from_bits<double>(u);
    } else {
        uint32_t u = x.flush_in<float>(static_cast<uint32_t>(a));
        nan = is_nan<float>(u), snan = is_snan<float>(u), inf = (u & ~Bits<float>::kSign) == Bits<float>::kExpMask;
        top = static_cast<uint64_t>(u & Bits<float>::kMantMask) << 29;
        sign = (u >> 31) ? 0x8000 : 0;
        v = from_bits<float>(u);
    }
    if (nan || inf) {
        if (ahp) {  // no NaN or infinity in the alternative format
            x.flags |= kIOC;
            return nan ? sign : (sign | 0x7fff);  // a NaN becomes a zero of its sign
        }
        if (inf) return sign | 0x7c00;
        if (snan) x.flags |= kIOC;
        if (x.dn) return 0x7e00;
        return sign | 0x7e00 | static_cast<uint16_t>((top >> 42) & 0x1ff);
    }
    return round_to_half(x, v, ahp);
}

uint64_t from_half(Cpu& c, uint16_t h, bool to_double) {
    Ctx x(c);
    bool ahp = (c.s.fpcr >> 26) & 1;
    bool neg = h >> 15;
    unsigned exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 31 && !ahp) {
        if (mant == 0)
            return to_double ? (neg ? 0xfff0000000000000ull : 0x7ff0000000000000ull) : (neg ? 0xff800000u : 0x7f800000u);
        if (!(mant & 0x200)) x.flags |= kIOC;  // signalling
        if (x.dn) return to_double ? Bits<double>::kDefaultNaN : Bits<float>::kDefaultNaN;
        uint64_t frac = static_cast<uint64_t>(mant | 0x200);
        return to_double ? (static_cast<uint64_t>(neg) << 63) | 0x7ff0000000000000ull | (frac << 42)
                         : (static_cast<uint64_t>(neg) << 31) | 0x7f800000u | (frac << 13);
    }
    double v = exp == 0 ? std::ldexp(static_cast<double>(mant), -24) : std::ldexp(static_cast<double>(mant | 0x400), static_cast<int>(exp) - 25);
    if (neg) v = -v;
    return to_double ? to_bits<double>(v) : to_bits<float>(static_cast<float>(v));
}

// FCVT{N,P,M,Z,A}{S,U}: to an `ibits` (16, 32, 64) integer, saturating;
// NaN gives 0. `fbits`: the fixed-point forms scale by 2^fbits first
// (exactly).
uint64_t to_int(Cpu& c, uint64_t a, Fmt fmt, unsigned mode, bool ties_away, bool is_unsigned, unsigned ibits,
                int fbits = 0) {
    Ctx x(c);
    bool nan = false;
    double v = by_fmt(fmt, [&]<typename F>() -> double {
        auto u = x.flush_in<F>(static_cast<typename Bits<F>::U>(a));
        nan = is_nan<F>(u);
        return nan ? 0.0 : static_cast<double>(from_bits<F>(u));
    });
    if (nan) {
        x.flags |= kIOC;
        return 0;
    }
    // Scaling by 2^fbits (fbits >= 0) is exact in double unless it
    // overflows, and then the result saturates anyway.
    double lv = std::ldexp(v, fbits);
    double r;
    if (ties_away) {
        r = std::round(lv);
    } else {
        volatile double t = 0;
        host_op(mode, [&] { t = std::nearbyint(lv); });
        r = t;
    }
    // The range as exactly representable bounds: lo <= r < hi_excl.
    int top = static_cast<int>(ibits) - (is_unsigned ? 0 : 1);
    double lo = is_unsigned ? 0.0 : -std::ldexp(1.0, top), hi_excl = std::ldexp(1.0, top);
    uint64_t res;
    if (std::isnan(r) || r < lo || r >= hi_excl) {  // (NaN: an infinite scaled input cannot be; kept safe)
        x.flags |= kIOC;
        if (r < lo)
            res = is_unsigned ? 0 : ~0ull << top;  // the most negative
        else
            res = is_unsigned ? ~0ull : (1ull << top) - 1;
    } else {
        if (r != lv) x.flags |= kIXC;
        res = is_unsigned ? static_cast<uint64_t>(r) : static_cast<uint64_t>(static_cast<int64_t>(r));
    }
    return ibits == 64 ? res : res & ((1ull << ibits) - 1);
}

// `fbits`: the fixed-point forms divide by 2^fbits after the (one)
// rounding, which is exact: |result| >= 2^-64 is far from the denormals.
// A half's result can be a denormal: there, the integer is converted and
// scaled in float (exactly, but for the conversion's rounding to odd),
// then rounded once.
// `v`: an `ibits` (16, 32, 64) integer.
uint64_t from_int(Cpu& c, uint64_t v, Fmt fmt, bool is_unsigned, unsigned ibits, int fbits = 0) {
    bool dbl = fmt == Fmt::D;
    if (ibits < 64) {
        v &= (1ull << ibits) - 1;
        if (!is_unsigned && ((v >> (ibits - 1)) & 1)) v |= ~0ull << ibits;  // sign-extended
    }
    if (fmt == Fmt::H) {
        Ctx x(c);
        float scale = std::ldexp(1.0f, -fbits);
        return is_unsigned ? arith<Half>(x, [&] { return static_cast<float>(v) * scale; })
                           : arith<Half>(x, [&] { return static_cast<float>(static_cast<int64_t>(v)) * scale; });
    }
    if (fbits) {
        uint64_t r = from_int(c, v, fmt, is_unsigned, 64, 0);
        return dbl ? to_bits<double>(std::ldexp(from_bits<double>(r), -fbits))
                   : to_bits<float>(std::ldexp(from_bits<float>(static_cast<uint32_t>(r)), -fbits));
    }
    Ctx x(c);
    if (dbl)
        return is_unsigned ? arith<double>(x, [&] { return static_cast<double>(v); })
                           : arith<double>(x, [&] { return static_cast<double>(static_cast<int64_t>(v)); });
    return is_unsigned ? arith<float>(x, [&] { return static_cast<float>(v); })
                       : arith<float>(x, [&] { return static_cast<float>(static_cast<int64_t>(v)); });
}

uint64_t fmt_mask(Fmt f) { return f == Fmt::D ? ~0ull : (1ull << fmt_bits(f)) - 1; }

// Scalar register access: H, S or D in the low bits of V, the rest zeroed.
uint64_t sreg(const Cpu& c, unsigned r, Fmt f) { return c.s.v[r][0] & fmt_mask(f); }
void set_sreg(Cpu& c, unsigned r, uint64_t v, Fmt f) {
    c.s.v[r][0] = v & fmt_mask(f);
    c.s.v[r][1] = 0;
}

// Lane e of a vector held as two 64-bit halves.
uint64_t fp_lane(const uint64_t* v, unsigned e, Fmt f) {
    unsigned w = fmt_bits(f), per = 64 / w;
    return (v[e / per] >> (w * (e % per))) & fmt_mask(f);
}
void put_fp_lane(uint64_t* out, unsigned e, uint64_t r, Fmt f) {
    unsigned w = fmt_bits(f), per = 64 / w;
    out[e / per] |= (r & fmt_mask(f)) << (w * (e % per));
}

// FCMP/FCMPE flags: equal 0110, less 1000, greater 0010, unordered 0011.
template <typename F>
uint32_t compare(Cpu& c, typename Bits<F>::U a, typename Bits<F>::U b, bool signal_all) {
    Ctx x(c);
    a = x.flush_in<F>(a);
    b = x.flush_in<F>(b);
    if (is_nan<F>(a) || is_nan<F>(b)) {
        if (is_snan<F>(a) || is_snan<F>(b) || signal_all) x.flags |= kIOC;
        return kC | kV;
    }
    auto fa = from_bits<F>(a), fb = from_bits<F>(b);
    if (fa == fb) return kZ | kC;
    return fa < fb ? kN : kC;
}

// The scalar forms' type field: single, double, or half with FEAT_FP16.
bool type_ok(const Cpu& c, unsigned type) { return type <= 1 || (type == 3 && c.has_fp16()); }

}  // namespace

void exec_FP_2SRC(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22), opcode = bits(i, 15, 12);
    if (!type_ok(c, type) || opcode > 8) return c.undefined();
    {  // (FADD, FSUB, FMUL, FDIV of S and D: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        if (sem::fp_arith(b, i, false) != sem::Outcome::Uncovered) return;
    }
    if (!c.fp_enabled()) return;
    Fmt f = Fmt(type);
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), rd = bits(i, 4, 0);
    set_sreg(c, rd, by_fmt(f, [&]<typename F>() -> uint64_t {
                 using U = typename Bits<F>::U;
                 return bin<F>(c, opcode, static_cast<U>(sreg(c, rn, f)), static_cast<U>(sreg(c, rm, f)));
             }), f);
}

// ---- BFloat16 (FEAT_BF16), as QEMU 7.2 computes it.
namespace {

// BFCVT: single to BFloat16 under FPCR (rounding mode, FZ, DN; flags).
uint16_t bfcvt(Cpu& c, uint32_t a) {
    Ctx x(c);
    a = x.flush_in<float>(a);
    if (is_nan<float>(a)) {
        if (is_snan<float>(a)) x.flags |= kIOC;
        return static_cast<uint16_t>(x.quiet<float>(a) >> 16);
    }
    uint32_t low = a & 0xffff, r = a >> 16;
    if (!low) return static_cast<uint16_t>(r);
    bool neg = a >> 31, up;
    switch (x.rmode) {
    case 0: up = low > 0x8000 || (low == 0x8000 && (r & 1)); break;
    case 1: up = !neg; break;
    case 2: up = neg; break;
    default: up = false; break;
    }
    x.flags |= kIXC;
    if (!(a & 0x7f800000)) x.flags |= kUFC;  // (tiny before rounding, and inexact)
    r += up;
    if ((r & 0x7f80) == 0x7f80) x.flags |= kOFC;
    return static_cast<uint16_t>(r);
}

// BFDOT's and BFMMLA's step: sum + e1.lo * e2.lo + e1.hi * e2.hi (the
// BFloat16 halves of each), FPCR ignored: each product and sum rounded to
// odd (overflow to infinity), denormals flushed in and out, NaNs the
// default NaN, no flags.
uint32_t bf_narrow(double d, bool sticky) {
    uint32_t sign = std::signbit(d) ? 0x80000000u : 0;
    double m = std::fabs(d);
    if (m >= 0x1p128) return sign | 0x7f800000u;
    if (m < 0x1p-126) return sign;
    volatile float f = 0;
    uint32_t fl = host_op(3, [&] { f = static_cast<float>(d); });
    return to_bits<float>(f) | ((sticky || (fl & kIXC)) ? 1u : 0u);
}
uint32_t bf_op(uint32_t a, uint32_t b, bool mul) {
    auto ftz = [](uint32_t u) { return (u & 0x7f800000u) ? u : u & 0x80000000u; };
    a = ftz(a), b = ftz(b);
    if (is_nan<float>(a) || is_nan<float>(b)) return Bits<float>::kDefaultNaN;
    double fa = from_bits<float>(a), fb = from_bits<float>(b);
    if (mul) {
        double p = fa * fb;  // (exact)
        return std::isnan(p) ? Bits<float>::kDefaultNaN : bf_narrow(p, false);
    }
    volatile double s = 0;
    uint32_t fl = host_op(3, [&] { s = fa + fb; });
    return std::isnan(s) ? Bits<float>::kDefaultNaN : bf_narrow(s, fl & kIXC);
}
uint32_t bfdotadd(uint32_t sum, uint32_t e1, uint32_t e2) {
    uint32_t t1 = bf_op(e1 << 16, e2 << 16, true), t2 = bf_op(e1 & 0xffff0000u, e2 & 0xffff0000u, true);
    return bf_op(sum, bf_op(t1, t2, false), false);
}

}  // namespace

// FJCVTZS (FEAT_JSCVT): Dn to a 32-bit integer as JavaScript's ToInt32
// does (toward zero, modulo 2^32); Z set when the conversion was exact
// and in range (not for -0). A positive denormal flushed to zero (FZ) sets
// Z as QEMU does; the ARM ARM's pseudocode clears it.
void fjcvtzs(Cpu& c, unsigned rn, unsigned rd) {
    Ctx x(c);
    uint64_t u = x.flush_in<double>(c.s.v[rn][0]);
    unsigned exp = static_cast<unsigned>(u >> 52) & 0x7ff;
    bool neg = u >> 63, z = true;
    uint64_t ipart = 0;
    if (exp == 0x7ff) {  // NaN, infinity: 0
        x.flags |= kIOC;
        z = false;
    } else if ((u & ~Bits<double>::kSign) == 0) {
        z = !neg;
    } else {
        uint64_t mant = (u & Bits<double>::kMantMask) | (exp ? 1ull << 52 : 0);
        int e = (exp ? static_cast<int>(exp) : 1) - 1075;  // value = mant * 2^e
        bool inexact;
        if (e >= 0) {
            ipart = e >= 64 ? 0 : mant << e;
            inexact = false;
        } else if (e <= -64) {
            inexact = true;
        } else {
            ipart = mant >> -e;
            inexact = (mant & ((1ull << -e) - 1)) != 0;
        }
        double t = std::trunc(from_bits<double>(u));
        if (t > 2147483647.0 || t < -2147483648.0) {
            x.flags |= kIOC;
            z = false;
        } else if (inexact) {
            x.flags |= kIXC;
            z = false;
        }
    }
    uint32_t r = static_cast<uint32_t>(neg ? 0 - ipart : ipart);
    c.set_x(rd, r);
    c.s.nzcv = z ? 4u << 28 : 0;
}

void exec_FP_1SRC(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22), opcode = bits(i, 20, 15);
    unsigned hrn = bits(i, 9, 5), hrd = bits(i, 4, 0);
    if (type == 3 && (opcode == 4 || opcode == 5)) {  // FCVT Sd/Dd, Hn
        if (!c.fp_enabled()) return;
        bool dbl = opcode == 5;
        set_sreg(c, hrd, from_half(c, static_cast<uint16_t>(c.s.v[hrn][0]), dbl), Fmt(dbl));
        return;
    }
    if (type <= 1 && opcode == 7) {  // FCVT Hd, Sn/Dn
        if (!c.fp_enabled()) return;
        uint16_t h = to_half(c, sreg(c, hrn, Fmt(type)), type == 1);
        c.s.v[hrd][0] = h;
        c.s.v[hrd][1] = 0;
        return;
    }
    if (type == 3) {  // FMOV, FABS, FNEG, FSQRT, FRINT* (FEAT_FP16)
        if (!c.has_fp16() || !(opcode <= 3 || (opcode >= 8 && opcode <= 15 && opcode != 13))) return c.undefined();
        if (!c.fp_enabled()) return;
        set_sreg(c, hrd, unary<Half>(c, opcode, static_cast<uint16_t>(c.s.v[hrn][0])), Fmt::H);
        return;
    }
    if (type == 1 && opcode == 6 && c.has_bf16()) {  // BFCVT Hd, Sn
        if (!c.fp_enabled()) return;
        c.s.v[hrd][0] = bfcvt(c, static_cast<uint32_t>(c.s.v[hrn][0]));
        c.s.v[hrd][1] = 0;
        return;
    }
    if (type > 1) return c.undefined();
    bool dbl = type == 1;
    bool ok = opcode <= 3 || (opcode == 4 && dbl) || (opcode == 5 && !dbl) ||
              (opcode >= 8 && opcode <= 15 && opcode != 13) || (opcode >= 16 && opcode <= 19 && c.has_frintts());
    if (!ok) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (opcode == 4 || opcode == 5) {
        set_sreg(c, rd, convert_fp(c, sreg(c, rn, Fmt(dbl)), dbl), Fmt(!dbl));
        return;
    }
    uint64_t r = dbl ? unary<double>(c, opcode, sreg(c, rn, Fmt::D))
                     : unary<float>(c, opcode, static_cast<uint32_t>(sreg(c, rn, Fmt::S)));
    set_sreg(c, rd, r, Fmt(type));
}

void exec_FP_3SRC(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22), o1 = bit(i, 21), o0 = bit(i, 15);
    if (!type_ok(c, type)) return c.undefined();
    {  // (FMADD, FMSUB of S and D: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        if (sem::fp_arith(b, i, true) != sem::Outcome::Uncovered) return;
    }
    if (!c.fp_enabled()) return;
    Fmt f = Fmt(type);
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), ra = bits(i, 14, 10), rd = bits(i, 4, 0);
    // FMADD (0,0), FMSUB (0,1): negate the product; FNMADD (1,0): negate
    // both; FNMSUB (1,1): negate the addend.
    bool neg_product = o1 != o0, neg_addend = o1;
    set_sreg(c, rd, by_fmt(f, [&]<typename F>() -> uint64_t {
                 using U = typename Bits<F>::U;
                 return muladd<F>(c, static_cast<U>(sreg(c, ra, f)), static_cast<U>(sreg(c, rn, f)),
                                  static_cast<U>(sreg(c, rm, f)), neg_product, neg_addend);
             }), f);
}

namespace {
uint32_t compare_regs(Cpu& c, Fmt f, unsigned rn, uint64_t b, bool signal_all) {
    return by_fmt(f, [&]<typename F>() -> uint32_t {
        using U = typename Bits<F>::U;
        return compare<F>(c, static_cast<U>(sreg(c, rn, f)), static_cast<U>(b), signal_all);
    });
}
}  // namespace

void exec_FP_CMP(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22), op2 = bits(i, 4, 0), op = bits(i, 15, 14);
    if (!type_ok(c, type) || op != 0 || (op2 & 7)) return c.undefined();
    if (!c.fp_enabled()) return;
    Fmt f = Fmt(type);
    bool with_zero = op2 & 8, signal_all = op2 & 16;
    uint64_t b = with_zero ? 0 : sreg(c, bits(i, 20, 16), f);
    c.s.nzcv = compare_regs(c, f, bits(i, 9, 5), b, signal_all);
}

void exec_FP_CCMP(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22);
    if (!type_ok(c, type)) return c.undefined();
    if (!c.fp_enabled()) return;
    Fmt f = Fmt(type);
    if (condition_holds(bits(i, 15, 12), c.s.nzcv))
        c.s.nzcv = compare_regs(c, f, bits(i, 9, 5), sreg(c, bits(i, 20, 16), f), bit(i, 4));
    else
        c.s.nzcv = bits(i, 3, 0) << 28;
}

void exec_FP_CSEL(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22);
    if (!type_ok(c, type)) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned src = condition_holds(bits(i, 15, 12), c.s.nzcv) ? bits(i, 9, 5) : bits(i, 20, 16);
    set_sreg(c, bits(i, 4, 0), sreg(c, src, Fmt(type)), Fmt(type));
}

// VFPExpandImm: imm8 as a single, double or half (`type` as the scalar
// forms encode it: 0, 1, 3).
uint64_t fp_expand_imm(unsigned imm8, unsigned type) {
    uint64_t a = imm8 >> 7, b = (imm8 >> 6) & 1, low6 = imm8 & 0x3f;
    switch (Fmt(type)) {
    case Fmt::D: return (a << 63) | ((b ? 0xffull : 0x100ull) << 54) | (low6 << 48);
    case Fmt::H: return (a << 15) | ((b ? 0x3ull : 0x4ull) << 12) | (low6 << 6);
    default: return (a << 31) | ((b ? 0x1full : 0x20ull) << 25) | (low6 << 19);
    }
}

void exec_FP_IMM(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22);
    if (!type_ok(c, type) || bits(i, 9, 5)) return c.undefined();
    if (!c.fp_enabled()) return;
    set_sreg(c, bits(i, 4, 0), fp_expand_imm(bits(i, 20, 13), type), Fmt(type));
}

namespace {

// FMULX, FRECPS, FRSQRTS (ARM ARM FPMulX, FPRecipStepFused,
// FPRSqrtStepFused): infinity times zero gives 2.0 (FMULX: signed),
// 2.0 and 1.5; otherwise FMULX is FMUL, the steps are fused 2 - a*b and
// (3 - a*b) / 2 with a single rounding.
template <typename F>
typename Bits<F>::U step_op(Cpu& c, unsigned kind, typename Bits<F>::U a, typename Bits<F>::U b) {
    using B = Bits<F>;
    Ctx x(c);
    a = x.flush_in<F>(a);
    b = x.flush_in<F>(b);
    if (kind != 0) a ^= B::kSign;  // the steps negate the first operand, NaN included
    typename B::U out;
    if (x.nans<F>({a, b}, out)) return out;
    bool inf_a = (a & ~B::kSign) == B::kExpMask, inf_b = (b & ~B::kSign) == B::kExpMask;
    bool zero_a = !(a & ~B::kSign), zero_b = !(b & ~B::kSign);
    typename B::U sign = (a ^ b) & B::kSign;
    if ((inf_a && zero_b) || (zero_a && inf_b)) {
        Host<F> v = kind == 2 ? Host<F>(1.5) : Host<F>(2.0);
        return to_bits<F>(v) | (kind == 0 ? sign : 0);
    }
    Host<F> fa = from_bits<F>(a), fb = from_bits<F>(b);
    if (kind == 0) return arith<F>(x, [&] { return fa * fb; });
    if (inf_a || inf_b) return B::kExpMask | sign;
    if (kind == 1) return arith<F>(x, [&] { return std::fma(fa, fb, Host<F>(2.0)); });
    // (3 + a*b) / 2 rounded once: halve an operand whose halving is exact
    // (a normal above the smallest binade); with both that small the
    // product is tiny and halving the rounded 3 + a*b is exact instead.
    constexpr typename B::U two_min = typename B::U(2) << B::kMant;
    if ((a & B::kExpMask) >= two_min) return arith<F>(x, [&] { return std::fma(fa * Host<F>(0.5), fb, Host<F>(1.5)); });
    if ((b & B::kExpMask) >= two_min) return arith<F>(x, [&] { return std::fma(fa, fb * Host<F>(0.5), Host<F>(1.5)); });
    return arith<F>(x, [&] { return std::fma(fa, fb, Host<F>(3.0)) * Host<F>(0.5); });
}

// FP compares for the vector forms: all ones or zero. EQ signals only for
// signalling NaNs; GE/GT (and the absolute forms) for any NaN.
template <typename F>
typename Bits<F>::U fp_cmp_mask(Cpu& c, unsigned kind, typename Bits<F>::U a, typename Bits<F>::U b) {
    using B = Bits<F>;
    Ctx x(c);
    a = x.flush_in<F>(a);
    b = x.flush_in<F>(b);
    if (kind >= 3) {  // FACGE, FACGT: magnitudes
        a &= ~B::kSign;
        b &= ~B::kSign;
    }
    if (is_nan<F>(a) || is_nan<F>(b)) {
        if (kind != 0 || is_snan<F>(a) || is_snan<F>(b)) x.flags |= kIOC;
        return 0;
    }
    Host<F> fa = from_bits<F>(a), fb = from_bits<F>(b);
    bool r = kind == 0 ? fa == fb : (kind == 1 || kind == 3) ? fa >= fb : fa > fb;
    return r ? ~typename B::U(0) : 0;
}

// One lane of the AdvSIMD three-same FP group; `key` is U:a:opcode<2:0>.
template <typename F>
typename Bits<F>::U fp3_lane(Cpu& c, unsigned key, typename Bits<F>::U a, typename Bits<F>::U b,
                             typename Bits<F>::U d) {
    using B = Bits<F>;
    switch (key) {
    case 0x0: return bin<F>(c, 6, a, b);                    // FMAXNM
    case 0x8: return bin<F>(c, 7, a, b);                    // FMINNM
    case 0x1: return muladd<F>(c, d, a, b, false, false);   // FMLA
    case 0x9: return muladd<F>(c, d, a, b, true, false);    // FMLS
    case 0x2: return bin<F>(c, 2, a, b);                    // FADD
    case 0xa: return bin<F>(c, 3, a, b);                    // FSUB
    case 0x4: return fp_cmp_mask<F>(c, 0, a, b);            // FCMEQ
    case 0x6: return bin<F>(c, 4, a, b);                    // FMAX
    case 0xe: return bin<F>(c, 5, a, b);                    // FMIN
    case 0x13: return bin<F>(c, 0, a, b);                   // FMUL
    case 0x14: return fp_cmp_mask<F>(c, 1, a, b);           // FCMGE
    case 0x15: return fp_cmp_mask<F>(c, 3, a, b);           // FACGE
    case 0x17: return bin<F>(c, 1, a, b);                   // FDIV
    case 0x1a: {                                            // FABD: |a - b|, a NaN's sign too
        typename B::U r = bin<F>(c, 3, a, b);
        return r & ~B::kSign;
    }
    case 0x3: return step_op<F>(c, 0, a, b);               // FMULX
    case 0x7: return step_op<F>(c, 1, a, b);               // FRECPS
    case 0xf: return step_op<F>(c, 2, a, b);               // FRSQRTS
    case 0x1c: return fp_cmp_mask<F>(c, 2, a, b);           // FCMGT
    case 0x1d: return fp_cmp_mask<F>(c, 4, a, b);           // FACGT
    default: return 0;
    }
}

// The common case of the vector arithmetic (FADD, FSUB, FMUL, FDIV,
// FMLA, FMLS) for all lanes at once: every operand a normal number or
// zero, the host's rounding mode set and its flags read once for the
// instruction instead of once per lane. A lane that needs Arm's rules
// (a NaN or infinity in, an invalid operation, a tiny or underflowing
// result) sends the whole instruction down the per-lane path, which
// computes it again from the same operands (nothing is written before).
template <typename F>
bool fp3_fast(Cpu& c, unsigned key, unsigned lanes, const uint64_t* n, const uint64_t* m, const uint64_t* d,
              uint64_t* out) {
    using B = Bits<F>;
    using U = typename B::U;
    constexpr Fmt fmt = sizeof(F) == 8 ? Fmt::D : Fmt::S;
    U a[4], b[4], acc[4];
    auto plain = [](U u) {
        U e = u & B::kExpMask;
        return e != B::kExpMask && (e != 0 || (u & B::kMantMask) == 0);
    };
    for (unsigned e = 0; e < lanes; ++e) {
        a[e] = static_cast<U>(fp_lane(n, e, fmt));
        b[e] = static_cast<U>(fp_lane(m, e, fmt));
        acc[e] = static_cast<U>(fp_lane(d, e, fmt));
        if (!plain(a[e]) || !plain(b[e]) || ((key == 0x1 || key == 0x9) && !plain(acc[e]))) return false;
        if (key == 0x9) a[e] ^= B::kSign;  // FMLS: the product of the negated operand
    }
    volatile F r[4];
    unsigned rmode = (c.s.fpcr >> 22) & 3;
    auto lanes_op = [&] {
        for (unsigned e = 0; e < lanes; ++e) {
            F x = from_bits<F>(a[e]), y = from_bits<F>(b[e]);
            switch (key) {
            case 0x2: r[e] = x + y; break;
            case 0xa: r[e] = x - y; break;
            case 0x13: r[e] = x * y; break;
            case 0x17: r[e] = x / y; break;
            default: r[e] = std::fma(x, y, from_bits<F>(acc[e])); break;  // FMLA, FMLS
            }
        }
    };
    uint32_t fl;
#if defined(__x86_64__)
    if (rmode == 0) {
        // Round to nearest is the host's mode: MXCSR need not change, and its
        // flags need clearing only if they hold more than FPSR already has
        // (OR-ing those in again changes nothing) or anything this path
        // must see fresh (invalid, underflow, denormal operand).
        auto arm = [](unsigned mx) {
            return (mx & 4 ? kDZC : 0) | (mx & 8 ? kOFC : 0) | (mx & 32 ? kIXC : 0);
        };
        unsigned before = __builtin_ia32_stmxcsr();
        if ((before & 0x13) || (arm(before) & ~c.s.fpsr)) __builtin_ia32_ldmxcsr(before & ~0x3fu);
        auto* p = &lanes_op;
        __asm__ volatile("" : "+r"(p) : : "memory");
        (*p)();
        __asm__ volatile("" : : : "memory");
        unsigned ex = __builtin_ia32_stmxcsr();
        fl = (ex & 1 ? kIOC : 0) | (ex & 16 ? kUFC : 0) | arm(ex);
    } else {
        fl = host_op(rmode, lanes_op);
    }
#else
    fl = host_op(rmode, lanes_op);
#endif
    if (fl & (kIOC | kUFC)) return false;
    constexpr U min_normal = U(1) << B::kMant;
    U res[4];
    for (unsigned e = 0; e < lanes; ++e) {
        res[e] = to_bits<F>(r[e]);
        U mag = res[e] & ~B::kSign;
        if ((mag & B::kExpMask) == B::kExpMask && (mag & B::kMantMask)) return false;  // a NaN
        if (mag != 0 ? mag <= min_normal : (fl & kIXC) != 0) return false;  // tiny: tininess and FZ rules
    }
    for (unsigned e = 0; e < lanes; ++e) put_fp_lane(out, e, res[e], fmt);
    c.s.fpsr |= fl;
    return true;
}

}  // namespace

namespace {
// The first `lanes` lanes of form `key` (fp3_lane's; pairwise: of
// adjacent pairs of n, then of m) of n, m and the accumulator d in format
// `f`, the rest zero.
ir::V128 fp3_lanes(Cpu& c, unsigned key, Fmt f, unsigned lanes, ir::V128 nv, ir::V128 mv, ir::V128 dv) {
    bool pairwise = key == 0x10 || key == 0x18 || key == 0x12 || key == 0x16 || key == 0x1e;  // (MAX|MIN)(NM)P, ADDP
    bool q = lanes * fmt_bits(f) > 64;
    uint64_t n[2] = {nv.lo, nv.hi}, m[2] = {mv.lo, mv.hi}, d[2] = {dv.lo, dv.hi};
    auto lane = [&](const uint64_t* v, unsigned e) { return fp_lane(v, e, f); };
    uint64_t out[2] = {0, 0};
    if ((key == 0x1 || key == 0x9 || key == 0x2 || key == 0xa || key == 0x13 || key == 0x17) && f != Fmt::H &&
        (f == Fmt::D ? fp3_fast<double>(c, key, lanes, n, m, d, out) : fp3_fast<float>(c, key, lanes, n, m, d, out)))
        return {out[0], q ? out[1] : 0};
    for (unsigned e = 0; e < lanes; ++e) {
        uint64_t x, y;
        unsigned k = key;
        if (pairwise) {  // adjacent pairs of n, then of m
            const uint64_t* src = e < lanes / 2 ? n : m;
            unsigned p = (e % (lanes / 2)) * 2;
            x = lane(src, p);
            y = lane(src, p + 1);
            k = key == 0x10 ? 0x0 : key == 0x18 ? 0x8 : key == 0x12 ? 0x2 : key == 0x16 ? 0x6 : 0xe;
        } else {
            x = lane(n, e);
            y = lane(m, e);
        }
        uint64_t acc = lane(d, e);
        uint64_t r = by_fmt(f, [&]<typename F>() -> uint64_t {
            using U = typename Bits<F>::U;
            return fp3_lane<F>(c, k, static_cast<U>(x), static_cast<U>(y), static_cast<U>(acc));
        });
        put_fp_lane(out, e, r, f);
    }
    return {out[0], q ? out[1] : 0};
}

// AdvSIMD three same, FP forms in format `f`: the single and double ones
// (opcode 0b11xxx; FADD, FSUB, FMUL, FDIV, FMLA, FMLS: ir/sem.hpp's) and
// the half-precision ones (FEAT_FP16's group, the same U:a:opcode<2:0>);
// false if unallocated.
bool fp_3same(Cpu& c, uint32_t i, Fmt f) {
    unsigned q = bit(i, 30), u = bit(i, 29), a = bit(i, 23), op = bits(i, 13, 11);
    unsigned key = (u << 4) | (a << 3) | op;
    bool sz = f == Fmt::D;
    static constexpr unsigned kKnown[] = {0x0, 0x8, 0x1, 0x9, 0x2, 0xa, 0x3, 0x4, 0x6, 0x7, 0xe, 0xf, 0x13, 0x14,
                                          0x15, 0x17, 0x1a, 0x1c, 0x1d, 0x10, 0x18, 0x12, 0x16, 0x1e};
    bool known = false;
    for (unsigned k : kKnown) known |= k == key;
    if (!known || (sz && !q)) return false;
    if (!c.fp_enabled()) return true;
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), rd = bits(i, 4, 0);
    auto v = [&](unsigned r) { return ir::V128{c.s.v[r][0], c.s.v[r][1]}; };
    ir::V128 r = fp3_lanes(c, key, f, (q ? 128 : 64) / fmt_bits(f), v(rn), v(rm), v(rd));
    c.s.v[rd][0] = r.lo;
    c.s.v[rd][1] = r.hi;
    return true;
}
}  // namespace

// (InterpBuilder::vfp: the single and double forms)
ir::V128 fp3_vector(Cpu& c, unsigned key, bool dbl, bool q, bool scalar, ir::V128 n, ir::V128 m, ir::V128 d) {
    return fp3_lanes(c, key, dbl ? Fmt::D : Fmt::S, scalar ? 1 : (q ? 4 : 2) / (dbl ? 2 : 1), n, m, d);
}

bool simd_fp_3same(Cpu& c, uint32_t i) { return fp_3same(c, i, Fmt(bit(i, 22))); }

// AdvSIMD three same (FP16) and its scalar form (FEAT_FP16).
void exec_SIMD_3SAME_FP16(Cpu& c, uint32_t i) {
    if (!c.has_fp16() || !fp_3same(c, i, Fmt::H)) c.undefined();
}

void exec_SIMDS_3SAME_FP16(Cpu& c, uint32_t i) {
    // FMULX, FCMEQ, FRECPS, FRSQRTS, FCMGE, FACGE, FABD, FCMGT, FACGT
    unsigned key = (bit(i, 29) << 4) | (bit(i, 23) << 3) | bits(i, 13, 11);
    bool ok = key == 0x03 || key == 0x04 || key == 0x07 || key == 0x0f || key == 0x14 || key == 0x15 ||
              key == 0x1a || key == 0x1c || key == 0x1d;
    if (!c.has_fp16() || !ok) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), rd = bits(i, 4, 0);
    auto h = [&](unsigned r) { return static_cast<uint16_t>(c.s.v[r][0]); };
    set_sreg(c, rd, fp3_lane<Half>(c, key, h(rn), h(rm), h(rd)), Fmt::H);
}

// AdvSIMD two-register misc, FP forms: compares with zero, FABS/FNEG/
// FSQRT, FRINT*, conversions to and from integers of the same size,
// FCVTL/FCVTN between single and double (and halves), FCVTXN, and the
// estimates. `scalar`: the AdvSIMD scalar form (lane 0 only, the rest of
// the destination zeroed), which also has FRECPX; half precision is
// FEAT_FP16's groups (fp_2misc's `half`). False if unallocated.
namespace {
// The four singles of Vn, each made 16 bits by `conv`, into the low half
// of Vd (the high half zeroed) or, with `high` (the "2" forms), its high
// half.
template <typename Conv>
void narrow4(Cpu& c, unsigned rd, unsigned rn, bool high, Conv conv) {
    uint64_t n0 = c.s.v[rn][0], n1 = c.s.v[rn][1], packed = 0;
    for (unsigned k = 0; k < 4; ++k)
        packed |= static_cast<uint64_t>(conv(static_cast<uint32_t>((k < 2 ? n0 : n1) >> (32 * (k % 2))))) << (16 * k);
    if (high) {
        c.s.v[rd][1] = packed;
    } else {
        c.s.v[rd][0] = packed;
        c.s.v[rd][1] = 0;
    }
}
}  // namespace

namespace {
// `half`: FEAT_FP16's groups (two-register misc (FP16), its scalar form),
// which have the same U:a:opcode as the single/double forms here.
bool fp_2misc(Cpu& c, uint32_t i, bool scalar, bool half) {
    unsigned q = bit(i, 30), u = bit(i, 29), a = bit(i, 23), sz = half ? 0 : bit(i, 22), op = bits(i, 16, 12);
    unsigned key = (u << 6) | (a << 5) | op;
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    enum Kind { None, CmpZero, Abs, Neg, Sqrt, Rint, ToInt, FromInt, Cvtl, Cvtn, Cvtxn, Recpe, Rsqrte, URecpe,
                URsqrte, Recpx };
    Kind kind = None;
    unsigned arg = 0;  // compare: 0 GT 1 EQ 2 LT 3 GE 4 LE; rint: unary opcode; to-int: rounding mode (4: ties away)
    bool uns = u;
    switch (key) {
    case 0x2c: kind = CmpZero; arg = 0; break;  // FCMGT #0
    case 0x2d: kind = CmpZero; arg = 1; break;  // FCMEQ #0
    case 0x2e: kind = CmpZero; arg = 2; break;  // FCMLT #0
    case 0x6c: kind = CmpZero; arg = 3; break;  // FCMGE #0
    case 0x6d: kind = CmpZero; arg = 4; break;  // FCMLE #0
    case 0x2f: kind = Abs; break;
    case 0x6f: kind = Neg; break;
    case 0x7f: kind = Sqrt; break;
    case 0x18: kind = Rint; arg = 8; break;   // FRINTN
    case 0x19: kind = Rint; arg = 10; break;  // FRINTM
    case 0x38: kind = Rint; arg = 9; break;   // FRINTP
    case 0x39: kind = Rint; arg = 11; break;  // FRINTZ
    case 0x58: kind = Rint; arg = 12; break;  // FRINTA
    case 0x59: kind = Rint; arg = 14; break;  // FRINTX
    case 0x79: kind = Rint; arg = 15; break;  // FRINTI
    case 0x36:  // BFCVTN(2) (FEAT_BF16): four singles to BFloat16 in the low (high) half
        if (!c.has_bf16() || sz || scalar || half) return false;
        if (c.fp_enabled()) narrow4(c, rd, rn, q, [&](uint32_t s32) { return bfcvt(c, s32); });
        return true;
    case 0x1e: case 0x5e: case 0x1f: case 0x5f:  // FRINT32Z/X, FRINT64Z/X (FEAT_FRINTTS)
        if (!c.has_frintts() || half) return false;
        kind = Rint;
        arg = 16 + ((op & 1) << 1) + u;
        break;
    case 0x1a: case 0x5a: kind = ToInt; arg = 0; break;  // FCVTNS/NU
    case 0x1b: case 0x5b: kind = ToInt; arg = 2; break;  // FCVTMS/MU
    case 0x1c: case 0x5c: kind = ToInt; arg = 4; break;  // FCVTAS/AU
    case 0x3a: case 0x7a: kind = ToInt; arg = 1; break;  // FCVTPS/PU
    case 0x3b: case 0x7b: kind = ToInt; arg = 3; break;  // FCVTZS/ZU
    case 0x1d: case 0x5d: kind = FromInt; break;         // SCVTF/UCVTF
    case 0x17: kind = Cvtl; break;
    case 0x16: kind = Cvtn; break;
    case 0x56: kind = Cvtxn; break;
    case 0x3d: kind = Recpe; break;
    case 0x7d: kind = Rsqrte; break;
    case 0x3c: kind = URecpe; break;
    case 0x7c: kind = URsqrte; break;
    case 0x3f: kind = Recpx; break;
    default: return false;
    }
    // Which forms exist as scalars, and which only as vectors.
    bool scalar_ok = kind == CmpZero || kind == ToInt || kind == FromInt || kind == Cvtxn || kind == Recpe ||
                     kind == Rsqrte || kind == Recpx;
    if (scalar ? !scalar_ok : kind == Recpx) return false;
    if ((kind == Cvtxn && !sz) || ((kind == URecpe || kind == URsqrte) && sz)) return false;
    if (half && (kind == Cvtl || kind == Cvtn || kind == Cvtxn || kind == URecpe || kind == URsqrte)) return false;
    if (kind == Cvtl || kind == Cvtn) {
        if (!sz) {  // halves <-> singles
            if (!c.fp_enabled()) return true;
            uint64_t n0 = c.s.v[rn][0], n1 = c.s.v[rn][1];
            if (kind == Cvtl) {  // four halves of the low (high) half to singles
                uint64_t src = q ? n1 : n0, out[2];
                for (unsigned k = 0; k < 4; ++k) {
                    uint64_t f = from_half(c, static_cast<uint16_t>(src >> (16 * k)), false);
                    if (k % 2 == 0) out[k / 2] = f; else out[k / 2] |= f << 32;
                }
                c.s.v[rd][0] = out[0];
                c.s.v[rd][1] = out[1];
            } else {  // four singles to halves in the low (high) half
                narrow4(c, rd, rn, q, [&](uint32_t s32) { return to_half(c, s32, false); });
            }
            return true;
        }
    } else if (sz && !q && !scalar && kind != Cvtxn) {
        return false;
    }
    if (!c.fp_enabled()) return true;
    uint64_t n[2] = {c.s.v[rn][0], c.s.v[rn][1]};
    if (kind == Cvtxn && scalar) {  // Sd = round-to-odd(Dn)
        c.s.v[rd][0] = convert_round_odd(c, n[0]);
        c.s.v[rd][1] = 0;
        return true;
    }
    if (kind == Cvtl) {  // FCVTL(2): two singles of the low (high) half to doubles
        uint64_t src = n[q];
        uint64_t r0 = convert_fp(c, static_cast<uint32_t>(src), false), r1 = convert_fp(c, src >> 32, false);
        c.s.v[rd][0] = r0;
        c.s.v[rd][1] = r1;
        return true;
    }
    if (kind == Cvtn || kind == Cvtxn) {  // FCVT(X)N(2): two doubles to singles in the low (high) half
        auto narrow = [&](uint64_t v) -> uint64_t {
            return kind == Cvtxn ? convert_round_odd(c, v) : static_cast<uint32_t>(convert_fp(c, v, true));
        };
        uint64_t lo = narrow(n[0]);
        uint64_t hi = narrow(n[1]);
        uint64_t packed = lo | (hi << 32);
        if (q) {
            c.s.v[rd][1] = packed;
        } else {
            c.s.v[rd][0] = packed;
            c.s.v[rd][1] = 0;
        }
        return true;
    }
    Fmt f = half ? Fmt::H : Fmt(sz);
    unsigned w = fmt_bits(f), lanes = scalar ? 1 : (q ? 128 : 64) / w;
    uint64_t out[2] = {0, 0};
    for (unsigned e = 0; e < lanes; ++e) {
        uint64_t v = fp_lane(n, e, f);
        uint64_t r = 0;
        switch (kind) {
        case CmpZero: {
            unsigned k = arg == 1 ? 0 : (arg == 0 || arg == 2) ? 2 : 1;  // EQ, GT, GE
            bool swap = arg == 2 || arg == 4;                                // LT, LE: 0 > x, 0 >= x
            r = by_fmt(f, [&]<typename F>() -> uint64_t {
                using U = typename Bits<F>::U;
                return fp_cmp_mask<F>(c, k, static_cast<U>(swap ? 0 : v), static_cast<U>(swap ? v : 0));
            });
            break;
        }
        case Abs: case Neg: case Sqrt: case Rint: {
            unsigned opcode = kind == Abs ? 1 : kind == Neg ? 2 : kind == Sqrt ? 3 : arg;
            r = by_fmt(f, [&]<typename F>() -> uint64_t {
                return unary<F>(c, opcode, static_cast<typename Bits<F>::U>(v));
            });
            break;
        }
        case ToInt: r = to_int(c, v, f, arg == 4 ? 0 : arg, arg == 4, uns, w); break;
        case Recpe: r = recip_estimate(c, v, f); break;
        case Rsqrte: r = rsqrt_estimate(c, v, f); break;
        case Recpx: r = recip_exponent(c, v, f); break;
        case URecpe: r = unsigned_recip_estimate(static_cast<uint32_t>(v)); break;
        case URsqrte: r = unsigned_rsqrt_estimate(static_cast<uint32_t>(v)); break;
        default: r = from_int(c, v, f, uns, w); break;  // FromInt
        }
        put_fp_lane(out, e, r, f);
    }
    c.s.v[rd][0] = out[0];
    c.s.v[rd][1] = q && !scalar ? out[1] : 0;
    return true;
}
}  // namespace

bool simd_fp_2misc(Cpu& c, uint32_t i, bool scalar) { return fp_2misc(c, i, scalar, false); }

// AdvSIMD two-register misc (FP16) and its scalar form (FEAT_FP16).
void exec_SIMD_2MISC_FP16(Cpu& c, uint32_t i) {
    if (!c.has_fp16() || !fp_2misc(c, i, false, true)) c.undefined();
}
void exec_SIMDS_2MISC_FP16(Cpu& c, uint32_t i) {
    if (!c.has_fp16() || !fp_2misc(c, i, true, true)) c.undefined();
}

// FCMLA (rotations 0, 90, 180, 270) and FCADD (90, 270) (FEAT_FCMA; the
// three-same extra forms): complex numbers as (real, imaginary) lane
// pairs, single or double precision, or half with FEAT_FP16. The
// rotation negates operands of Vm (FPNeg: a NaN's sign too) before the
// fused multiply-add or the add. False if unallocated.
bool simd_fcma(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), size = bits(i, 23, 22), op = bits(i, 14, 11);
    bool cadd = op >= 12;
    bool sized = size >= 2 || (size == 1 && c.has_fp16());
    if (!c.has_fcma() || !sized || (size == 3 && !q) || (cadd && (op & 1))) return false;
    if (!c.fp_enabled()) return true;
    Fmt f = size == 3 ? Fmt::D : size == 2 ? Fmt::S : Fmt::H;
    unsigned rd = bits(i, 4, 0);
    uint64_t n[2] = {c.s.v[bits(i, 9, 5)][0], c.s.v[bits(i, 9, 5)][1]};
    uint64_t m[2] = {c.s.v[bits(i, 20, 16)][0], c.s.v[bits(i, 20, 16)][1]};
    uint64_t d[2] = {c.s.v[rd][0], c.s.v[rd][1]}, out[2] = {0, 0};
    uint64_t sign = 1ull << (fmt_bits(f) - 1);
    auto add = [&](uint64_t a, uint64_t b) {
        return by_fmt(f, [&]<typename F>() -> uint64_t {
            using U = typename Bits<F>::U;
            return bin<F>(c, 2, static_cast<U>(a), static_cast<U>(b));
        });
    };
    auto fma = [&](uint64_t acc, uint64_t a, uint64_t b) {
        return by_fmt(f, [&]<typename F>() -> uint64_t {
            using U = typename Bits<F>::U;
            return muladd<F>(c, static_cast<U>(acc), static_cast<U>(a), static_cast<U>(b), false, false);
        });
    };
    unsigned pairs = (q ? 128 : 64) / fmt_bits(f) / 2;
    for (unsigned p = 0; p < pairs; ++p) {
        unsigned re = 2 * p, im = 2 * p + 1;
        uint64_t m_re = fp_lane(m, re, f), m_im = fp_lane(m, im, f);
        uint64_t r_re, r_im;
        if (cadd) {  // 90: (n_re - m_im, n_im + m_re); 270: (n_re + m_im, n_im - m_re)
            bool r270 = op == 14;
            r_re = add(fp_lane(n, re, f), m_im ^ (r270 ? 0 : sign));
            r_im = add(fp_lane(n, im, f), m_re ^ (r270 ? sign : 0));
        } else {
            unsigned rot = op & 3;
            uint64_t nx = fp_lane(n, rot & 1 ? im : re, f);  // (the real or imaginary part of Vn)
            uint64_t e1 = rot & 1 ? m_im : m_re, e3 = rot & 1 ? m_re : m_im;
            if (rot == 1 || rot == 2) e1 ^= sign;
            if (rot >= 2) e3 ^= sign;
            r_re = fma(fp_lane(d, re, f), nx, e1);
            r_im = fma(fp_lane(d, im, f), nx, e3);
        }
        put_fp_lane(out, re, r_re, f);
        put_fp_lane(out, im, r_im, f);
    }
    c.s.v[rd][0] = out[0];
    c.s.v[rd][1] = q ? out[1] : 0;
    return true;
}


// ---- BFloat16 (FEAT_BF16): BFDOT, BFMMLA, BFMLALB/T (the three-same extra
// forms, U 1), with the helpers above. False if
// unallocated.
bool simd_bf16(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), size = bits(i, 23, 22), op = bits(i, 14, 11);
    bool dot = size == 1 && op == 15, mmla = size == 1 && op == 13 && q, mlal = size == 3 && op == 15;
    if (!c.has_bf16() || (!dot && !mmla && !mlal)) return false;
    if (!c.fp_enabled()) return true;
    unsigned rd = bits(i, 4, 0);
    uint32_t n[4], m[4], d[4];
    for (unsigned k = 0; k < 4; ++k) {
        n[k] = static_cast<uint32_t>(c.s.v[bits(i, 9, 5)][k / 2] >> (32 * (k % 2)));
        m[k] = static_cast<uint32_t>(c.s.v[bits(i, 20, 16)][k / 2] >> (32 * (k % 2)));
        d[k] = static_cast<uint32_t>(c.s.v[rd][k / 2] >> (32 * (k % 2)));
    }
    uint32_t r[4] = {};
    unsigned lanes = q || mlal ? 4 : 2;
    for (unsigned k = 0; k < lanes; ++k) {
        if (dot) {
            r[k] = bfdotadd(d[k], n[k], m[k]);
        } else if (mmla) {  // (2x4 by 4x2 into 2x2: row k / 2 of Vn, row k % 2 of Vm)
            unsigned row = 2 * (k / 2), col = 2 * (k % 2);
            r[k] = bfdotadd(bfdotadd(d[k], n[row], m[col]), n[row + 1], m[col + 1]);
        } else {  // the even (B) or odd (T) BFloat16 of each pair, widened; a fused multiply-add under FPCR
            unsigned sh = q ? 16 : 0;
            r[k] = static_cast<uint32_t>(muladd<float>(c, d[k], (n[k] >> sh) << 16, (m[k] >> sh) << 16, false, false));
        }
    }
    c.s.v[rd][0] = r[0] | (static_cast<uint64_t>(r[1]) << 32);
    c.s.v[rd][1] = lanes == 4 ? r[2] | (static_cast<uint64_t>(r[3]) << 32) : 0;
    return true;
}

// FMAXNMP, FADDP, FMAXP, FMINNMP, FMINP (scalar): the two lanes of the
// low 32 (half: U 0, FEAT_FP16), 64 (single) or 128 (double) bits of Vn.
// False if unallocated.
bool simd_fp_pair_scalar(Cpu& c, uint32_t i) {
    unsigned a = bit(i, 23), sz = bit(i, 22), op = bits(i, 16, 12);
    bool half = !bit(i, 29);
    if (half && (sz || !c.has_fp16())) return false;
    unsigned opcode;  // as FP_2SRC's
    switch ((a << 5) | op) {
    case 0x0c: opcode = 6; break;  // FMAXNMP
    case 0x2c: opcode = 7; break;  // FMINNMP
    case 0x0d: opcode = 2; break;  // FADDP
    case 0x0f: opcode = 4; break;  // FMAXP
    case 0x2f: opcode = 5; break;  // FMINP
    default: return false;
    }
    if (!c.fp_enabled()) return true;
    const uint64_t* n = c.s.v[bits(i, 9, 5)];
    Fmt f = half ? Fmt::H : Fmt(sz);
    uint64_t r = by_fmt(f, [&]<typename F>() -> uint64_t {
        using U = typename Bits<F>::U;
        return bin<F>(c, opcode, static_cast<U>(fp_lane(n, 0, f)), static_cast<U>(fp_lane(n, 1, f)));
    });
    set_sreg(c, bits(i, 4, 0), r, f);
    return true;
}

// FMLAL, FMLSL, FMLAL2, FMLSL2 (FEAT_FHM): halves of the low (the "2"
// forms: the next) half of the operand width, widened exactly (a NaN keeps
// its payload and signalling; FZ16 flushes a denormal, raising nothing),
// multiplied and added to the single lanes of Vd with one rounding; the
// FMLSL forms negate the Vn half (a NaN's sign too). `index` < 0: the
// vector form (the three-same group, FMLSL with size<1>); else by
// element, the half at `index` of V0-V15 (opcode<2> for FMLSL). False if
// unallocated.
bool simd_fhm(Cpu& c, uint32_t i, int index) {
    if (!c.has_fhm()) return false;
    if (!c.fp_enabled()) return true;
    unsigned q = bit(i, 30), part2 = bit(i, 29), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    bool sub = index < 0 ? bit(i, 23) : bit(i, 14);
    auto part = [&](unsigned r) -> uint64_t {  // Vpart[r, part2] of half the operand width
        return q ? c.s.v[r][part2] : (c.s.v[r][0] >> (part2 ? 32 : 0)) & 0xffffffffu;
    };
    bool fz16 = (c.s.fpcr >> 19) & 1;
    auto widen = [&](uint16_t h) -> uint32_t {
        uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
        if (exp == 31) return sign | 0x7f800000u | (mant << 13);
        if (exp == 0 && (mant == 0 || fz16)) return sign;
        return sign | to_bits<float>(std::fabs(from_bits<Half>(h)));
    };
    uint64_t n = part(rn), m = 0;
    if (index < 0) {
        m = part(bits(i, 20, 16));
    } else {
        uint64_t e = fp_lane(c.s.v[bits(i, 19, 16)], static_cast<unsigned>(index), Fmt::H);
        m = e * 0x0001000100010001ull;
    }
    uint64_t d[2] = {c.s.v[rd][0], c.s.v[rd][1]}, out[2] = {0, 0};
    unsigned lanes = q ? 4 : 2;
    for (unsigned e = 0; e < lanes; ++e) {
        uint16_t hn = static_cast<uint16_t>(n >> (16 * e)), hm = static_cast<uint16_t>(m >> (16 * e));
        if (sub) hn ^= 0x8000;
        uint32_t acc = static_cast<uint32_t>(fp_lane(d, e, Fmt::S));
        put_fp_lane(out, e, muladd<float>(c, acc, widen(hn), widen(hm), false, false), Fmt::S);
    }
    c.s.v[rd][0] = out[0];
    c.s.v[rd][1] = q ? out[1] : 0;
    return true;
}

// FMAXNMV, FMAXV, FMINNMV, FMINV: the lanes reduced as the ARM ARM's
// Reduce() pairs them (op(lower half, upper half), recursively). Singles
// (U 1, 4S) or halves (U 0, 4H/8H: FEAT_FP16). False if unallocated.
bool simd_fp_across(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), o1 = bit(i, 23), sz = bit(i, 22), op = bits(i, 16, 12);
    if (sz || (u ? !q : !c.has_fp16())) return false;
    if (!c.fp_enabled()) return true;
    unsigned opcode = (op == 0x0c ? 6 : 4) + o1;  // bin()'s: FMAXNM, FMINNM, FMAX, FMIN
    Fmt f = u ? Fmt::S : Fmt::H;
    const uint64_t* n = c.s.v[bits(i, 9, 5)];
    uint64_t r = by_fmt(f, [&]<typename F>() -> uint64_t {
        using U = typename Bits<F>::U;
        auto reduce = [&](auto& self, unsigned lo, unsigned count) -> U {
            if (count == 1) return static_cast<U>(fp_lane(n, lo, f));
            U hi = self(self, lo + count / 2, count / 2);
            U low = self(self, lo, count / 2);
            return bin<F>(c, opcode, low, hi);
        };
        return reduce(reduce, 0, (q ? 128 : 64) / fmt_bits(f));
    });
    set_sreg(c, bits(i, 4, 0), r, f);
    return true;
}

// FMLA, FMLS, FMUL, FMULX (scalar, by element; size 0: half precision,
// FEAT_FP16, the element at H:L:M of V0-V15). False if unallocated.
bool simd_fp_elem_scalar(Cpu& c, uint32_t i) {
    unsigned u = bit(i, 29), size = bits(i, 23, 22), l = bit(i, 21), op = bits(i, 15, 12), h = bit(i, 11);
    if (size == 1 || (size == 0 && !c.has_fp16()) || (size == 3 && l)) return false;
    if (!c.fp_enabled()) return true;
    Fmt f = size == 3 ? Fmt::D : size == 2 ? Fmt::S : Fmt::H;
    unsigned index = size == 3 ? h : size == 2 ? (h << 1) | l : (h << 2) | (l << 1) | bit(i, 20);
    unsigned rm = size == 0 ? bits(i, 19, 16) : bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned key = u ? 0x3 : op == 1 ? 0x1 : op == 5 ? 0x9 : 0x13;  // fp3_lane's: FMULX, FMLA, FMLS, FMUL
    uint64_t m[2] = {c.s.v[rm][0], c.s.v[rm][1]};
    uint64_t e = fp_lane(m, index, f), n = sreg(c, rn, f), d = sreg(c, rd, f);
    uint64_t r = by_fmt(f, [&]<typename F>() -> uint64_t {
        using U = typename Bits<F>::U;
        return fp3_lane<F>(c, key, static_cast<U>(n), static_cast<U>(e), static_cast<U>(d));
    });
    set_sreg(c, rd, r, f);
    return true;
}

// SCVTF/UCVTF (opcode 0x1c) and FCVTZS/FCVTZU (0x1f), vector fixed-point
// (AdvSIMD shift by immediate; immh 001x: half precision, FEAT_FP16);
// false if unallocated.
bool simd_fp_fixed(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), immh = bits(i, 22, 19), immb = bits(i, 18, 16), op = bits(i, 15, 11);
    if (immh < 2 || (immh < 4 && !c.has_fp16()) || (immh >= 8 && !q)) return false;
    if (!c.fp_enabled()) return true;
    Fmt f = immh >= 8 ? Fmt::D : immh >= 4 ? Fmt::S : Fmt::H;
    unsigned w = fmt_bits(f);
    int fbits = static_cast<int>(2 * w) - static_cast<int>((immh << 3) | immb);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0), lanes = (q ? 128 : 64) / w;
    uint64_t n[2] = {c.s.v[rn][0], c.s.v[rn][1]}, out[2] = {0, 0};
    for (unsigned e = 0; e < lanes; ++e) {
        uint64_t v = fp_lane(n, e, f);
        uint64_t r = op == 0x1c ? from_int(c, v, f, u, w, fbits) : to_int(c, v, f, 3, false, u, w, fbits);
        put_fp_lane(out, e, r, f);
    }
    c.s.v[rd][0] = out[0];
    c.s.v[rd][1] = q ? out[1] : 0;
    return true;
}

// SCVTF/UCVTF/FCVTZS/FCVTZU (scalar, fixed-point): fbits = 64 - scale.
void exec_FP_FIXED_CONV(Cpu& c, uint32_t i) {
    unsigned sf = bit(i, 31), type = bits(i, 23, 22), rmode = bits(i, 20, 19), opcode = bits(i, 18, 16);
    unsigned scale = bits(i, 15, 10), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned key = (rmode << 3) | opcode;
    if (!type_ok(c, type) || bit(i, 29) || (!sf && scale < 32) ||
        (key != 0x02 && key != 0x03 && key != 0x18 && key != 0x19))
        return c.undefined();
    if (!c.fp_enabled()) return;
    Fmt f = Fmt(type);
    int fbits = 64 - static_cast<int>(scale);
    if (rmode == 0)
        set_sreg(c, rd, from_int(c, c.x(rn), f, opcode == 3, sf ? 64 : 32, fbits), f);
    else
        c.set_x(rd, to_int(c, sreg(c, rn, f), f, 3, false, opcode & 1, sf ? 64 : 32, fbits));
}

// The conversions of the FP<->integer group (FMOV is in simd.cpp).
bool fp_int_convert(Cpu& c, uint32_t i) {
    unsigned sf = bit(i, 31), type = bits(i, 23, 22), rmode = bits(i, 20, 19), opcode = bits(i, 18, 16);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (!type_ok(c, type) || opcode > 5 || (opcode >= 2 && opcode <= 3 && rmode != 0) || (opcode >= 4 && rmode != 0))
        return false;
    if (!c.fp_enabled()) return true;
    Fmt f = Fmt(type);
    if (opcode == 2 || opcode == 3) {  // SCVTF, UCVTF
        set_sreg(c, rd, from_int(c, c.x(rn), f, opcode == 3, sf ? 64 : 32), f);
        return true;
    }
    // FCVTN/P/M/Z (rmode 0..3) S/U, FCVTA (opcode 4/5, ties away) S/U
    bool ties_away = opcode >= 4;
    unsigned mode = ties_away ? 0 : rmode;  // 0 N, 1 P, 2 M, 3 Z
    c.set_x(rd, to_int(c, sreg(c, rn, f), f, mode, ties_away, opcode & 1, sf ? 64 : 32));
    return true;
}

}  // namespace armvm::a64
