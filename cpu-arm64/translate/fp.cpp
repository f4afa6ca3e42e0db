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

#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"

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
    F fa = from_bits<F>(a), fb = from_bits<F>(b);
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
    F fa = from_bits<F>(addend), fn = from_bits<F>(n), fm = from_bits<F>(m);
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
        F lim = std::ldexp(F(1), opcode < 18 ? 31 : 63), fa = from_bits<F>(a);
        if (std::isnan(fa) || std::isinf(fa)) {
            x.flags |= kIOC;
            return to_bits<F>(-lim);
        }
        volatile F r = 0;
        host_op(opcode & 1 ? x.rmode : 3, [&] { r = std::nearbyint(fa); });
        F rr = r;
        if (rr >= lim || rr < -lim) {
            x.flags |= kIOC;
            return to_bits<F>(-lim);
        }
        if (rr != fa) x.flags |= kIXC;
        return to_bits<F>(rr == 0 ? std::copysign(F(0), fa) : rr);
    }
    typename B::U out;
    if (x.nans<F>({a}, out)) return out;
    F fa = from_bits<F>(a);
    if (opcode == 3) return arith<F>(x, [&] { return std::sqrt(fa); });  // FSQRT
    // FRINT{N,P,M,Z,A,X,I}: round to an integral value.
    unsigned mode = opcode == 8 ? 0 : opcode == 9 ? 1 : opcode == 10 ? 2 : opcode == 11 ? 3 : x.rmode;
    if (opcode == 12) {  // FRINTA: ties away from zero
        F r = std::round(fa);
        return to_bits<F>(r == 0 ? std::copysign(F(0), fa) : r);
    }
    volatile F r = 0;
    host_op(mode, [&] { r = std::nearbyint(fa); });
    F rr = r;
    if (opcode == 14 && rr != fa) x.flags |= kIXC;  // FRINTX signals inexact
    return to_bits<F>(rr == 0 ? std::copysign(F(0), fa) : rr);
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

// A finite non-zero double rounded to half precision in `rmode`.
uint16_t round_to_half(Ctx& x, double v, bool ahp) {
    uint16_t sign = std::signbit(v) ? 0x8000 : 0;
    double a = std::fabs(v);
    if (a == 0) return sign;
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

// FCVT{N,P,M,Z,A}{S,U}: to a 32/64-bit integer, saturating; NaN gives 0.
// `fbits`: the fixed-point forms scale by 2^fbits first (exactly).
uint64_t to_int(Cpu& c, uint64_t a, bool dbl, unsigned mode, bool ties_away, bool is_unsigned, bool to64,
                int fbits = 0) {
    Ctx x(c);
    double v;
    if (dbl) {
        uint64_t u = x.flush_in<double>(a);
        if (is_nan<double>(u)) {
            x.flags |= kIOC;
            return 0;
        }
        v = from_bits<double>(u);
    } else {
        uint32_t u = x.flush_in<float>(static_cast<uint32_t>(a));
        if (is_nan<float>(u)) {
            x.flags |= kIOC;
            return 0;
        }
        v = from_bits<float>(u);
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
    double lo = is_unsigned ? 0.0 : (to64 ? -0x1p63 : -0x1p31);
    double hi_excl = is_unsigned ? (to64 ? 0x1p64 : 0x1p32) : (to64 ? 0x1p63 : 0x1p31);
    uint64_t res;
    if (std::isnan(r) || r < lo || r >= hi_excl) {  // (NaN: an infinite scaled input cannot be; kept safe)
        x.flags |= kIOC;
        if (r < lo)
            res = is_unsigned ? 0 : (to64 ? 0x8000000000000000ull : 0xffffffff80000000ull);
        else
            res = is_unsigned ? ~0ull : (to64 ? 0x7fffffffffffffffull : 0x7fffffffull);
    } else {
        if (r != lv) x.flags |= kIXC;
        res = is_unsigned ? static_cast<uint64_t>(r) : static_cast<uint64_t>(static_cast<int64_t>(r));
    }
    return to64 ? res : static_cast<uint32_t>(res);
}

// `fbits`: the fixed-point forms divide by 2^fbits after the (one)
// rounding, which is exact: |result| >= 2^-64 is far from the denormals.
uint64_t from_int(Cpu& c, uint64_t v, bool dbl, bool is_unsigned, bool from64, int fbits = 0) {
    if (fbits) {
        uint64_t r = from_int(c, v, dbl, is_unsigned, from64, 0);
        return dbl ? to_bits<double>(std::ldexp(from_bits<double>(r), -fbits))
                   : to_bits<float>(std::ldexp(from_bits<float>(static_cast<uint32_t>(r)), -fbits));
    }
    Ctx x(c);
    if (!from64) v = is_unsigned ? static_cast<uint32_t>(v) : static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
    if (dbl)
        return is_unsigned ? arith<double>(x, [&] { return static_cast<double>(v); })
                           : arith<double>(x, [&] { return static_cast<double>(static_cast<int64_t>(v)); });
    return is_unsigned ? arith<float>(x, [&] { return static_cast<float>(v); })
                       : arith<float>(x, [&] { return static_cast<float>(static_cast<int64_t>(v)); });
}

// Scalar register access: S or D in the low bits of V, the rest zeroed.
uint64_t sreg(const Cpu& c, unsigned r, bool dbl) { return dbl ? c.s.v[r][0] : static_cast<uint32_t>(c.s.v[r][0]); }
void set_sreg(Cpu& c, unsigned r, uint64_t v, bool dbl) {
    c.s.v[r][0] = dbl ? v : static_cast<uint32_t>(v);
    c.s.v[r][1] = 0;
}

// Lane e of a vector held as two 64-bit halves: doubles, or singles two
// per half.
uint64_t fp_lane(const uint64_t* v, unsigned e, bool dbl) {
    return dbl ? v[e] : static_cast<uint32_t>(v[e / 2] >> (32 * (e % 2)));
}
void put_fp_lane(uint64_t* out, unsigned e, uint64_t r, bool dbl) {
    if (dbl)
        out[e] = r;
    else
        out[e / 2] |= static_cast<uint64_t>(static_cast<uint32_t>(r)) << (32 * (e % 2));
}

// FCMP/FCMPE flags: equal 0110, less 1000, greater 0010, unordered 0011.
uint32_t compare(Cpu& c, uint64_t a, uint64_t b, bool dbl, bool signal_all) {
    Ctx x(c);
    bool na, nb, sa, sb;
    double fa, fb;
    if (dbl) {
        a = x.flush_in<double>(a);
        b = x.flush_in<double>(b);
        na = is_nan<double>(a), nb = is_nan<double>(b), sa = is_snan<double>(a), sb = is_snan<double>(b);
        fa = from_bits<double>(a), fb = from_bits<double>(b);
    } else {
        uint32_t ua = x.flush_in<float>(static_cast<uint32_t>(a)), ub = x.flush_in<float>(static_cast<uint32_t>(b));
        na = is_nan<float>(ua), nb = is_nan<float>(ub), sa = is_snan<float>(ua), sb = is_snan<float>(ub);
        fa = from_bits<float>(ua), fb = from_bits<float>(ub);
    }
    if (na || nb) {
        if (sa || sb || signal_all) x.flags |= kIOC;
        return kC | kV;
    }
    if (fa == fb) return kZ | kC;
    return fa < fb ? kN : kC;
}

}  // namespace

void exec_FP_2SRC(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22), opcode = bits(i, 15, 12);
    if (type > 1 || opcode > 8) return c.undefined();  // (half precision: FP16)
    if (!c.fp_enabled()) return;
    bool dbl = type == 1;
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), rd = bits(i, 4, 0);
    uint64_t r = dbl ? bin<double>(c, opcode, sreg(c, rn, true), sreg(c, rm, true))
                     : bin<float>(c, opcode, static_cast<uint32_t>(sreg(c, rn, false)),
                                  static_cast<uint32_t>(sreg(c, rm, false)));
    set_sreg(c, rd, r, dbl);
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
        set_sreg(c, hrd, from_half(c, static_cast<uint16_t>(c.s.v[hrn][0]), dbl), dbl);
        return;
    }
    if (type <= 1 && opcode == 7) {  // FCVT Hd, Sn/Dn
        if (!c.fp_enabled()) return;
        uint16_t h = to_half(c, sreg(c, hrn, type == 1), type == 1);
        c.s.v[hrd][0] = h;
        c.s.v[hrd][1] = 0;
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
    if (!ok) return c.undefined();  // (FCVT to half: FP16)
    if (!c.fp_enabled()) return;
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (opcode == 4 || opcode == 5) {
        set_sreg(c, rd, convert_fp(c, sreg(c, rn, dbl), dbl), !dbl);
        return;
    }
    uint64_t r = dbl ? unary<double>(c, opcode, sreg(c, rn, true))
                     : unary<float>(c, opcode, static_cast<uint32_t>(sreg(c, rn, false)));
    set_sreg(c, rd, r, dbl);
}

void exec_FP_3SRC(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22), o1 = bit(i, 21), o0 = bit(i, 15);
    if (type > 1) return c.undefined();
    if (!c.fp_enabled()) return;
    bool dbl = type == 1;
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), ra = bits(i, 14, 10), rd = bits(i, 4, 0);
    // FMADD (0,0), FMSUB (0,1): negate the product; FNMADD (1,0): negate
    // both; FNMSUB (1,1): negate the addend.
    bool neg_product = o1 != o0, neg_addend = o1;
    uint64_t r = dbl ? muladd<double>(c, sreg(c, ra, true), sreg(c, rn, true), sreg(c, rm, true), neg_product,
                                      neg_addend)
                     : muladd<float>(c, static_cast<uint32_t>(sreg(c, ra, false)),
                                     static_cast<uint32_t>(sreg(c, rn, false)),
                                     static_cast<uint32_t>(sreg(c, rm, false)), neg_product, neg_addend);
    set_sreg(c, rd, r, dbl);
}

void exec_FP_CMP(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22), op2 = bits(i, 4, 0), op = bits(i, 15, 14);
    if (type > 1 || op != 0 || (op2 & 7)) return c.undefined();
    if (!c.fp_enabled()) return;
    bool dbl = type == 1, with_zero = op2 & 8, signal_all = op2 & 16;
    uint64_t b = with_zero ? 0 : sreg(c, bits(i, 20, 16), dbl);
    c.s.nzcv = compare(c, sreg(c, bits(i, 9, 5), dbl), b, dbl, signal_all);
}

void exec_FP_CCMP(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22);
    if (type > 1) return c.undefined();
    if (!c.fp_enabled()) return;
    bool dbl = type == 1;
    if (condition_holds(bits(i, 15, 12), c.s.nzcv))
        c.s.nzcv = compare(c, sreg(c, bits(i, 9, 5), dbl), sreg(c, bits(i, 20, 16), dbl), dbl, bit(i, 4));
    else
        c.s.nzcv = bits(i, 3, 0) << 28;
}

void exec_FP_CSEL(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22);
    if (type > 1) return c.undefined();
    if (!c.fp_enabled()) return;
    bool dbl = type == 1;
    unsigned src = condition_holds(bits(i, 15, 12), c.s.nzcv) ? bits(i, 9, 5) : bits(i, 20, 16);
    set_sreg(c, bits(i, 4, 0), sreg(c, src, dbl), dbl);
}

void exec_FP_IMM(Cpu& c, uint32_t i) {
    unsigned type = bits(i, 23, 22);
    if (type > 1 || bits(i, 9, 5)) return c.undefined();
    if (!c.fp_enabled()) return;
    uint64_t imm8 = bits(i, 20, 13), a = imm8 >> 7, b = (imm8 >> 6) & 1;
    uint64_t v = type == 1 ? (a << 63) | ((b ? 0xffull : 0x100ull) << 54) | ((imm8 & 0x3f) << 48)
                           : (a << 31) | ((b ? 0x1full : 0x20ull) << 25) | ((imm8 & 0x3f) << 19);
    set_sreg(c, bits(i, 4, 0), v, type == 1);
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
        F v = kind == 2 ? F(1.5) : F(2.0);
        return to_bits<F>(v) | (kind == 0 ? sign : 0);
    }
    F fa = from_bits<F>(a), fb = from_bits<F>(b);
    if (kind == 0) return arith<F>(x, [&] { return fa * fb; });
    if (inf_a || inf_b) return B::kExpMask | sign;
    if (kind == 1) return arith<F>(x, [&] { return std::fma(fa, fb, F(2.0)); });
    // (3 + a*b) / 2 rounded once: halve an operand whose halving is exact
    // (a normal above the smallest binade); with both that small the
    // product is tiny and halving the rounded 3 + a*b is exact instead.
    constexpr typename B::U two_min = typename B::U(2) << B::kMant;
    if ((a & B::kExpMask) >= two_min) return arith<F>(x, [&] { return std::fma(fa * F(0.5), fb, F(1.5)); });
    if ((b & B::kExpMask) >= two_min) return arith<F>(x, [&] { return std::fma(fa, fb * F(0.5), F(1.5)); });
    return arith<F>(x, [&] { return std::fma(fa, fb, F(3.0)) * F(0.5); });
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
    F fa = from_bits<F>(a), fb = from_bits<F>(b);
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
    constexpr bool dbl = sizeof(F) == 8;
    U a[4], b[4], acc[4];
    auto plain = [](U u) {
        U e = u & B::kExpMask;
        return e != B::kExpMask && (e != 0 || (u & B::kMantMask) == 0);
    };
    for (unsigned e = 0; e < lanes; ++e) {
        a[e] = static_cast<U>(fp_lane(n, e, dbl));
        b[e] = static_cast<U>(fp_lane(m, e, dbl));
        acc[e] = static_cast<U>(fp_lane(d, e, dbl));
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
    for (unsigned e = 0; e < lanes; ++e) put_fp_lane(out, e, res[e], dbl);
    c.s.fpsr |= fl;
    return true;
}

}  // namespace

// AdvSIMD three same, FP forms (opcode 0b11xxx); false if unallocated.
bool simd_fp_3same(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), a = bit(i, 23), sz = bit(i, 22), op = bits(i, 13, 11);
    unsigned key = (u << 4) | (a << 3) | op;
    bool pairwise = key == 0x10 || key == 0x18 || key == 0x12 || key == 0x16 || key == 0x1e;  // (MAX|MIN)(NM)P, ADDP
    static constexpr unsigned kKnown[] = {0x0, 0x8, 0x1, 0x9, 0x2, 0xa, 0x3, 0x4, 0x6, 0x7, 0xe, 0xf, 0x13, 0x14,
                                          0x15, 0x17, 0x1a, 0x1c, 0x1d, 0x10, 0x18, 0x12, 0x16, 0x1e};
    bool known = false;
    for (unsigned k : kKnown) known |= k == key;
    if (!known || (sz && !q)) return false;
    if (!c.fp_enabled()) return true;
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), rd = bits(i, 4, 0);
    unsigned esize = sz ? 8 : 4, lanes = (q ? 16 : 8) / esize;
    uint64_t n[2] = {c.s.v[rn][0], c.s.v[rn][1]}, m[2] = {c.s.v[rm][0], c.s.v[rm][1]}, d[2] = {c.s.v[rd][0], c.s.v[rd][1]};
    auto lane = [&](const uint64_t* v, unsigned e) { return fp_lane(v, e, sz); };
    uint64_t out[2] = {0, 0};
    if ((key == 0x1 || key == 0x9 || key == 0x2 || key == 0xa || key == 0x13 || key == 0x17) &&
        (sz ? fp3_fast<double>(c, key, lanes, n, m, d, out) : fp3_fast<float>(c, key, lanes, n, m, d, out))) {
        c.s.v[rd][0] = out[0];
        c.s.v[rd][1] = q ? out[1] : 0;
        return true;
    }
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
        uint64_t r = sz ? fp3_lane<double>(c, k, x, y, lane(d, e))
                        : fp3_lane<float>(c, k, static_cast<uint32_t>(x), static_cast<uint32_t>(y),
                                          static_cast<uint32_t>(lane(d, e)));
        put_fp_lane(out, e, r, sz);
    }
    c.s.v[rd][0] = out[0];
    c.s.v[rd][1] = q ? out[1] : 0;
    return true;
}

// AdvSIMD two-register misc, FP forms: compares with zero, FABS/FNEG/
// FSQRT, FRINT*, conversions to and from integers of the same size,
// FCVTL/FCVTN between single and double (and halves), FCVTXN, and the
// estimates. `scalar`: the AdvSIMD scalar form (lane 0 only, the rest of
// the destination zeroed), which also has FRECPX. False if unallocated
// (or half-precision arithmetic, FEAT_FP16).
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

bool simd_fp_2misc(Cpu& c, uint32_t i, bool scalar) {
    unsigned q = bit(i, 30), u = bit(i, 29), a = bit(i, 23), sz = bit(i, 22), op = bits(i, 16, 12);
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
        if (!c.has_bf16() || sz || scalar) return false;
        if (c.fp_enabled()) narrow4(c, rd, rn, q, [&](uint32_t s32) { return bfcvt(c, s32); });
        return true;
    case 0x1e: case 0x5e: case 0x1f: case 0x5f:  // FRINT32Z/X, FRINT64Z/X (FEAT_FRINTTS)
        if (!c.has_frintts()) return false;
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
    unsigned lanes = scalar ? 1 : (q ? 16 : 8) / (sz ? 8 : 4);
    uint64_t out[2] = {0, 0};
    for (unsigned e = 0; e < lanes; ++e) {
        uint64_t v = fp_lane(n, e, sz);
        uint64_t r = 0;
        switch (kind) {
        case CmpZero: {
            unsigned k = arg == 1 ? 0 : (arg == 0 || arg == 2) ? 2 : 1;  // EQ, GT, GE
            bool swap = arg == 2 || arg == 4;                                // LT, LE: 0 > x, 0 >= x
            r = sz ? fp_cmp_mask<double>(c, k, swap ? 0 : v, swap ? v : 0)
                   : fp_cmp_mask<float>(c, k, static_cast<uint32_t>(swap ? 0 : v), static_cast<uint32_t>(swap ? v : 0));
            break;
        }
        case Abs: r = sz ? unary<double>(c, 1, v) : unary<float>(c, 1, static_cast<uint32_t>(v)); break;
        case Neg: r = sz ? unary<double>(c, 2, v) : unary<float>(c, 2, static_cast<uint32_t>(v)); break;
        case Sqrt: r = sz ? unary<double>(c, 3, v) : unary<float>(c, 3, static_cast<uint32_t>(v)); break;
        case Rint: r = sz ? unary<double>(c, arg, v) : unary<float>(c, arg, static_cast<uint32_t>(v)); break;
        case ToInt: r = to_int(c, v, sz, arg == 4 ? 0 : arg, arg == 4, uns, sz); break;
        case Recpe: r = recip_estimate(c, v, sz); break;
        case Rsqrte: r = rsqrt_estimate(c, v, sz); break;
        case Recpx: r = recip_exponent(c, v, sz); break;
        case URecpe: r = unsigned_recip_estimate(static_cast<uint32_t>(v)); break;
        case URsqrte: r = unsigned_rsqrt_estimate(static_cast<uint32_t>(v)); break;
        default: r = from_int(c, v, sz, uns, sz); break;  // FromInt
        }
        put_fp_lane(out, e, r, sz);
    }
    c.s.v[rd][0] = out[0];
    c.s.v[rd][1] = q && !scalar ? out[1] : 0;
    return true;
}

// FCMLA (rotations 0, 90, 180, 270) and FCADD (90, 270) (FEAT_FCMA; the
// three-same extra forms): complex numbers as (real, imaginary) lane
// pairs, single or double precision (half: FP16, not implemented). The
// rotation negates operands of Vm (FPNeg: a NaN's sign too) before the
// fused multiply-add or the add. False if unallocated.
bool simd_fcma(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), size = bits(i, 23, 22), op = bits(i, 14, 11);
    bool cadd = op >= 12;
    if (!c.has_fcma() || size < 2 || (size == 3 && !q) || (cadd && (op & 1))) return false;
    if (!c.fp_enabled()) return true;
    bool dbl = size == 3;
    unsigned rd = bits(i, 4, 0);
    uint64_t n[2] = {c.s.v[bits(i, 9, 5)][0], c.s.v[bits(i, 9, 5)][1]};
    uint64_t m[2] = {c.s.v[bits(i, 20, 16)][0], c.s.v[bits(i, 20, 16)][1]};
    uint64_t d[2] = {c.s.v[rd][0], c.s.v[rd][1]}, out[2] = {0, 0};
    uint64_t sign = dbl ? 1ull << 63 : 1ull << 31;
    auto add = [&](uint64_t a, uint64_t b) {
        return dbl ? bin<double>(c, 2, a, b) : bin<float>(c, 2, static_cast<uint32_t>(a), static_cast<uint32_t>(b));
    };
    auto fma = [&](uint64_t acc, uint64_t a, uint64_t b) {
        return dbl ? muladd<double>(c, acc, a, b, false, false)
                   : muladd<float>(c, static_cast<uint32_t>(acc), static_cast<uint32_t>(a), static_cast<uint32_t>(b),
                                   false, false);
    };
    unsigned pairs = (q ? 16 : 8) / (dbl ? 8 : 4) / 2;
    for (unsigned p = 0; p < pairs; ++p) {
        unsigned re = 2 * p, im = 2 * p + 1;
        uint64_t m_re = fp_lane(m, re, dbl), m_im = fp_lane(m, im, dbl);
        uint64_t r_re, r_im;
        if (cadd) {  // 90: (n_re - m_im, n_im + m_re); 270: (n_re + m_im, n_im - m_re)
            bool r270 = op == 14;
            r_re = add(fp_lane(n, re, dbl), m_im ^ (r270 ? 0 : sign));
            r_im = add(fp_lane(n, im, dbl), m_re ^ (r270 ? sign : 0));
        } else {
            unsigned rot = op & 3;
            uint64_t nx = fp_lane(n, rot & 1 ? im : re, dbl);  // (the real or imaginary part of Vn)
            uint64_t e1 = rot & 1 ? m_im : m_re, e3 = rot & 1 ? m_re : m_im;
            if (rot == 1 || rot == 2) e1 ^= sign;
            if (rot >= 2) e3 ^= sign;
            r_re = fma(fp_lane(d, re, dbl), nx, e1);
            r_im = fma(fp_lane(d, im, dbl), nx, e3);
        }
        put_fp_lane(out, re, r_re, dbl);
        put_fp_lane(out, im, r_im, dbl);
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
// low 64 (single) or 128 (double) bits of Vn. False if unallocated.
bool simd_fp_pair_scalar(Cpu& c, uint32_t i) {
    unsigned a = bit(i, 23), sz = bit(i, 22), op = bits(i, 16, 12);
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
    uint64_t r = sz ? bin<double>(c, opcode, n[0], n[1])
                    : bin<float>(c, opcode, static_cast<uint32_t>(n[0]), static_cast<uint32_t>(n[0] >> 32));
    set_sreg(c, bits(i, 4, 0), r, sz);
    return true;
}

// FMLA, FMLS, FMUL, FMULX (scalar, by element). False if unallocated
// (the half-precision forms are FEAT_FP16's).
bool simd_fp_elem_scalar(Cpu& c, uint32_t i) {
    unsigned u = bit(i, 29), size = bits(i, 23, 22), l = bit(i, 21), op = bits(i, 15, 12), h = bit(i, 11);
    if (size < 2 || (size == 3 && l)) return false;
    if (!c.fp_enabled()) return true;
    bool dbl = size == 3;
    unsigned index = dbl ? h : (h << 1) | l, rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned key = u ? 0x3 : op == 1 ? 0x1 : op == 5 ? 0x9 : 0x13;  // fp3_lane's: FMULX, FMLA, FMLS, FMUL
    uint64_t m[2] = {c.s.v[rm][0], c.s.v[rm][1]};
    uint64_t e = fp_lane(m, index, dbl), n = sreg(c, rn, dbl), d = sreg(c, rd, dbl);
    uint64_t r = dbl ? fp3_lane<double>(c, key, n, e, d)
                     : fp3_lane<float>(c, key, static_cast<uint32_t>(n), static_cast<uint32_t>(e),
                                       static_cast<uint32_t>(d));
    set_sreg(c, rd, r, dbl);
    return true;
}

// SCVTF/UCVTF (opcode 0x1c) and FCVTZS/FCVTZU (0x1f), vector fixed-point
// (AdvSIMD shift by immediate); false if unallocated (half precision).
bool simd_fp_fixed(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), immh = bits(i, 22, 19), immb = bits(i, 18, 16), op = bits(i, 15, 11);
    if (immh < 4 || (immh >= 8 && !q)) return false;  // (immh 001x: FP16)
    if (!c.fp_enabled()) return true;
    bool dbl = immh >= 8;
    int fbits = (dbl ? 128 : 64) - static_cast<int>((immh << 3) | immb);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0), lanes = (q ? 16 : 8) / (dbl ? 8 : 4);
    uint64_t n[2] = {c.s.v[rn][0], c.s.v[rn][1]}, out[2] = {0, 0};
    for (unsigned e = 0; e < lanes; ++e) {
        uint64_t v = fp_lane(n, e, dbl);
        uint64_t r = op == 0x1c ? from_int(c, v, dbl, u, dbl, fbits) : to_int(c, v, dbl, 3, false, u, dbl, fbits);
        put_fp_lane(out, e, r, dbl);
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
    if (type > 1 || bit(i, 29) || (!sf && scale < 32) || (key != 0x02 && key != 0x03 && key != 0x18 && key != 0x19))
        return c.undefined();
    if (!c.fp_enabled()) return;
    bool dbl = type == 1;
    int fbits = 64 - static_cast<int>(scale);
    if (rmode == 0)
        set_sreg(c, rd, from_int(c, c.x(rn), dbl, opcode == 3, sf, fbits), dbl);
    else
        c.set_x(rd, to_int(c, sreg(c, rn, dbl), dbl, 3, false, opcode & 1, sf, fbits));
}

// The conversions of the FP<->integer group (FMOV is in simd.cpp).
bool fp_int_convert(Cpu& c, uint32_t i) {
    unsigned sf = bit(i, 31), type = bits(i, 23, 22), rmode = bits(i, 20, 19), opcode = bits(i, 18, 16);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (type > 1 || opcode > 5 || (opcode >= 2 && opcode <= 3 && rmode != 0) || (opcode >= 4 && rmode != 0))
        return false;
    if (!c.fp_enabled()) return true;
    bool dbl = type == 1;
    if (opcode == 2 || opcode == 3) {  // SCVTF, UCVTF
        set_sreg(c, rd, from_int(c, c.x(rn), dbl, opcode == 3, sf), dbl);
        return true;
    }
    // FCVTN/P/M/Z (rmode 0..3) S/U, FCVTA (opcode 4/5, ties away) S/U
    bool ties_away = opcode >= 4;
    unsigned mode = ties_away ? 0 : rmode;  // 0 N, 1 P, 2 M, 3 Z
    c.set_x(rd, to_int(c, sreg(c, rn, dbl), dbl, mode, ties_away, opcode & 1, sf));
    return true;
}

}  // namespace armvm::a64
