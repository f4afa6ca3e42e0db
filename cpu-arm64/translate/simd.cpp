// SIMD&FP data processing (ARM ARM C4.1.95): the moves between general
// and SIMD&FP registers (FMOV (general), the AdvSIMD copy group), the
// modified immediates and the three-same group (its FP forms go to fp.cpp).
// The other integer groups are in simd_int.cpp.
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"
#include "cpu-arm64/translate/vreg.hpp"

namespace armvm::a64 {

namespace {

uint64_t umask(unsigned esize) { return lane_mask(esize); }

// Signed saturation of a wide result to `bits`; sets FPSR.QC when it clips.
int64_t sat_s(Cpu& c, __int128 v, unsigned bits) {
    __int128 hi = (static_cast<__int128>(1) << (bits - 1)) - 1, lo = -hi - 1;
    if (v > hi || v < lo) {
        c.s.fpsr |= 1u << 27;
        return static_cast<int64_t>(v > hi ? hi : lo);
    }
    return static_cast<int64_t>(v);
}
uint64_t sat_u(Cpu& c, __int128 v, unsigned bits) {
    __int128 hi = bits == 64 ? static_cast<__int128>(~0ull) : (static_cast<__int128>(1) << bits) - 1;
    if (v > hi || v < 0) {
        c.s.fpsr |= 1u << 27;
        return static_cast<uint64_t>(v > hi ? hi : 0);
    }
    return static_cast<uint64_t>(v);
}

// SSHL/USHL and their saturating and rounding forms: shift by the signed
// low byte of the second operand, left if positive, right if negative
// (rounding adds half of the last bit shifted out).
uint64_t shl_elem(Cpu& c, uint64_t a, uint64_t b, unsigned esize, bool u, bool sat, bool round) {
    unsigned bits = 8 * esize;
    int shift = static_cast<int8_t>(b & 0xff);
    __int128 x = u ? static_cast<__int128>(a & umask(esize)) : static_cast<__int128>(sext(a, bits));
    auto saturate = [&](__int128 v) {
        return u ? sat_u(c, v, bits) : static_cast<uint64_t>(sat_s(c, v, bits)) & umask(esize);
    };
    if (shift >= 0) {
        if (!sat) return shift >= static_cast<int>(bits) ? 0 : (a << shift) & umask(esize);
        if (x == 0) return 0;
        if (shift >= static_cast<int>(bits))  // anything non-zero overflows
            return saturate(x > 0 ? (static_cast<__int128>(1) << 100) : -(static_cast<__int128>(1) << 100));
        return saturate(x << shift);  // |x| < 2^64, shift < 64: fits
    }
    int s = -shift;
    __int128 r;
    if (s >= 66)
        r = round ? 0 : (x < 0 ? -1 : 0);
    else
        r = (x + (round ? static_cast<__int128>(1) << (s - 1) : 0)) >> s;
    return sat ? saturate(r) : static_cast<uint64_t>(r) & umask(esize);
}

}  // namespace

// AdvSIMD three same, integer forms (ARM ARM C4.1.95: the opcode table
// by U and opcode; the FP forms, opcode 0b11xxx, in fp.cpp; the bitwise
// forms, ADD/SUB, MUL/MLA/MLS, the compares and the pairwise forms in
// ir/sem.hpp).
bool simd_fp_3same(Cpu& c, uint32_t i);  // fp.cpp
bool simd_fhm(Cpu& c, uint32_t i, int index);  // fp.cpp

void exec_SIMD_3SAME(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), opcode = bits(i, 15, 11);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    {  // (the forms written once, for the interpreter and the JIT: ir/sem.hpp)
        InterpBuilder b(c);
        sem::Outcome o = sem::simd_3same(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    if (opcode >= 0x18) {
        // FMLAL, FMLSL (U 0), FMLAL2, FMLSL2 (U 1): FEAT_FHM
        bool fhm = opcode == (u ? 0x19u : 0x1du) && !bit(i, 22);
        if (!(fhm ? simd_fhm(c, i, -1) : simd_fp_3same(c, i))) c.undefined();
        return;
    }
    unsigned esize = 1u << size, bits_ = 8 * esize, lanes = (q ? 16 : 8) / esize;
    if (size == 3 && !q) return c.undefined();
    bool no64 = opcode == 0x00 || opcode == 0x02 || opcode == 0x04 || (opcode >= 0x0c && opcode <= 0x0f) ||
                opcode == 0x13;
    if (no64 && size == 3) return c.undefined();
    if (opcode == 0x13 && u && size != 0) return c.undefined();        // PMUL: bytes only
    if (opcode == 0x16 && (size == 0 || size == 3)) return c.undefined();  // SQDMULH/SQRDMULH
    if (opcode == 0x17 && u) return c.undefined();
    if (!c.fp_enabled()) return;
    uint64_t n[2] = {c.s.v[rn][0], c.s.v[rn][1]}, m[2] = {c.s.v[rm][0], c.s.v[rm][1]};
    uint64_t d[2] = {c.s.v[rd][0], c.s.v[rd][1]};
    auto get = [&](const uint64_t* v, unsigned e) {
        unsigned byte = e * esize;
        return esize == 8 ? v[byte / 8] : (v[byte / 8] >> (8 * (byte % 8))) & umask(esize);
    };
    uint64_t out[2] = {0, 0};
    for (unsigned e = 0; e < lanes; ++e) {
        uint64_t a = get(n, e), b = get(m, e), acc = get(d, e);
        int64_t sa = sext(a, bits_), sb = sext(b, bits_);
        uint64_t r = 0;
        switch (opcode) {
        case 0x00:  // SHADD/UHADD
        case 0x02:  // SRHADD/URHADD
        case 0x04: {  // SHSUB/UHSUB
            __int128 x = u ? static_cast<__int128>(a) : sa, y = u ? static_cast<__int128>(b) : sb;
            __int128 t = opcode == 0x04 ? x - y : x + y + (opcode == 0x02 ? 1 : 0);
            r = static_cast<uint64_t>(t >> 1);
            break;
        }
        case 0x01:  // SQADD/UQADD
            r = u ? sat_u(c, static_cast<__int128>(a) + b, bits_)
                  : static_cast<uint64_t>(sat_s(c, static_cast<__int128>(sa) + sb, bits_));
            break;
        case 0x05:  // SQSUB/UQSUB
            r = u ? sat_u(c, static_cast<__int128>(a) - b, bits_)
                  : static_cast<uint64_t>(sat_s(c, static_cast<__int128>(sa) - sb, bits_));
            break;
        case 0x08: r = shl_elem(c, a, b, esize, u, false, false); break;  // SSHL/USHL
        case 0x09: r = shl_elem(c, a, b, esize, u, true, false); break;   // SQSHL/UQSHL
        case 0x0a: r = shl_elem(c, a, b, esize, u, false, true); break;   // SRSHL/URSHL
        case 0x0b: r = shl_elem(c, a, b, esize, u, true, true); break;    // SQRSHL/UQRSHL
        case 0x0c: r = u ? (a > b ? a : b) : (sa > sb ? a : b); break;    // SMAX/UMAX
        case 0x0d: r = u ? (a < b ? a : b) : (sa < sb ? a : b); break;    // SMIN/UMIN
        case 0x0e:  // SABD/UABD
        case 0x0f: {  // SABA/UABA
            __int128 diff = u ? static_cast<__int128>(a) - b : static_cast<__int128>(sa) - sb;
            uint64_t abs = static_cast<uint64_t>(diff < 0 ? -diff : diff);
            r = opcode == 0x0f ? acc + abs : abs;
            break;
        }
        case 0x13:  // PMUL (MUL, MLA, MLS: the template's)
            for (unsigned k = 0; k < 8; ++k)
                if ((b >> k) & 1) r ^= a << k;
            break;
        case 0x16: {  // SQDMULH/SQRDMULH: doubling multiply, high half
            __int128 p = static_cast<__int128>(sa) * sb * 2 + (u ? (static_cast<__int128>(1) << (bits_ - 1)) : 0);
            r = static_cast<uint64_t>(sat_s(c, p >> bits_, bits_));
            break;
        }
        default: return c.undefined();
        }
        r &= umask(esize);
        unsigned byte = e * esize;
        out[byte / 8] |= r << (8 * (byte % 8));
    }
    c.s.v[rd][0] = out[0];
    c.s.v[rd][1] = q ? out[1] : 0;
}

bool fp_int_convert(Cpu& c, uint32_t i);  // fp.cpp

void fjcvtzs(Cpu& c, unsigned rn, unsigned rd);  // fp.cpp

void exec_FP_INT_CONV(Cpu& c, uint32_t i) {
    unsigned sf = bit(i, 31), type = bits(i, 23, 22), rmode = bits(i, 20, 19), opcode = bits(i, 18, 16);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (bit(i, 29)) return c.undefined();
    if (sf == 0 && type == 1 && rmode == 3 && opcode == 6) {  // FJCVTZS (FEAT_JSCVT)
        if (!c.has_jscvt()) return c.undefined();
        if (c.fp_enabled()) fjcvtzs(c, rn, rd);
        return;
    }
    if (opcode <= 5) {
        if (!fp_int_convert(c, i)) c.undefined();
        return;
    }
    {  // FMOV (general) of S, D and V.D[1]: ir/sem.hpp, for the interpreter and the JIT
        InterpBuilder b(c);
        sem::Outcome o = sem::fmov_general(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    // FMOV (general) of H (FEAT_FP16), with W or X.
    if (type != 3 || rmode != 0 || !c.has_fp16()) return c.undefined();
    if (!c.fp_enabled()) return;
    if (opcode == 7) {
        c.s.v[rd][0] = static_cast<uint16_t>(c.x(rn));
        c.s.v[rd][1] = 0;
    } else {
        c.set_x(rd, static_cast<uint16_t>(c.s.v[rn][0]));
    }
}

void exec_SIMD_COPY(Cpu& c, uint32_t i) {  // (ir/sem.hpp: for the interpreter and the JIT)
    InterpBuilder b(c);
    if (sem::simd_copy(b, i) == sem::Outcome::Undefined) c.undefined();
}

// AdvSIMD modified immediate: MOVI, MVNI, ORR, BIC (vector, immediate)
// and FMOV (vector, immediate), AdvSIMDExpandImm() and VFPExpandImm().
// AdvSIMDExpandImm() with the operation the encoding selects (the
// interpreter and the JIT both use it). false: unallocated.
bool modimm(uint32_t i, ModImm& m) {
    unsigned q = bit(i, 30), op = bit(i, 29), cmode = bits(i, 15, 12), o2 = bit(i, 11);
    uint64_t imm8 = (bits(i, 18, 16) << 5) | bits(i, 9, 5);
    if (o2) return false;  // (FMOV half-precision: FEAT_FP16's, exec_SIMD_MODIMM)
    auto rep32 = [](uint64_t v) { return v | (v << 32); };
    auto rep16 = [](uint64_t v) { return v * 0x0001000100010001ull; };
    uint64_t imm;
    switch (cmode >> 1) {
    case 0: imm = rep32(imm8); break;
    case 1: imm = rep32(imm8 << 8); break;
    case 2: imm = rep32(imm8 << 16); break;
    case 3: imm = rep32(imm8 << 24); break;
    case 4: imm = rep16(imm8); break;
    case 5: imm = rep16(imm8 << 8); break;
    case 6: imm = (cmode & 1) ? rep32((imm8 << 16) | 0xffff) : rep32((imm8 << 8) | 0xff); break;
    default:
        if (!(cmode & 1)) {
            if (!op) {
                imm = imm8 * 0x0101010101010101ull;  // MOVI byte
            } else {
                imm = 0;  // MOVI 64-bit: each bit of imm8 a byte of ones
                for (unsigned b = 0; b < 8; ++b)
                    if ((imm8 >> b) & 1) imm |= 0xffull << (8 * b);
            }
        } else if (!op) {  // FMOV Vd.4S/2S, #imm (single precision)
            imm = rep32(fp_expand_imm(static_cast<unsigned>(imm8), 0));
        } else {  // FMOV Vd.2D, #imm (double precision)
            if (!q) return false;
            imm = fp_expand_imm(static_cast<unsigned>(imm8), 1);
        }
        break;
    }
    // op selects MVNI/BIC for the 32/16-bit shifted forms (cmode < 12).
    bool orr_bic = cmode < 12 && (cmode & 1);
    bool invert = op && cmode < 14;
    m.imm = orr_bic ? imm : invert ? ~imm : imm;
    m.kind = !orr_bic ? ModImm::Move : op ? ModImm::Bic : ModImm::Orr;
    return true;
}

void exec_SIMD_MODIMM(Cpu& c, uint32_t i) {
    {  // (the forms written once, for the interpreter and the JIT: ir/sem.hpp)
        InterpBuilder b(c);
        sem::Outcome o = sem::simd_modimm(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    // FMOV Vd.8H/4H, #imm (FEAT_FP16)
    unsigned q = bit(i, 30), rd = bits(i, 4, 0);
    if (!c.has_fp16() || bit(i, 29) || bits(i, 15, 12) != 15) return c.undefined();
    if (!c.fp_enabled()) return;
    uint64_t h = fp_expand_imm((bits(i, 18, 16) << 5) | bits(i, 9, 5), 3) * 0x0001000100010001ull;
    c.s.v[rd][0] = h;
    c.s.v[rd][1] = q ? h : 0;
}

}  // namespace armvm::a64
