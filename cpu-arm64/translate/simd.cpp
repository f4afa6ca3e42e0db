// SIMD&FP data processing (ARM ARM C4.1.95). So far the moves between
// general-purpose and SIMD&FP registers: FMOV (general) and the AdvSIMD
// copy group (DUP, INS, UMOV, SMOV). The conversions and arithmetic come
// with the rest of the FP/SIMD issue and stay UNDEFINED until then.
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::a64 {

namespace {

uint64_t elem(const Cpu& c, unsigned t, unsigned idx, unsigned esize) {
    unsigned byte = idx * esize;
    uint64_t half = c.s.v[t][byte / 8];
    return esize == 8 ? half : (half >> (8 * (byte % 8))) & ((1ull << (8 * esize)) - 1);
}

void set_elem(Cpu& c, unsigned t, unsigned idx, unsigned esize, uint64_t v) {
    unsigned byte = idx * esize;
    uint64_t& half = c.s.v[t][byte / 8];
    if (esize == 8) {
        half = v;
        return;
    }
    uint64_t m = ((1ull << (8 * esize)) - 1) << (8 * (byte % 8));
    half = (half & ~m) | ((v << (8 * (byte % 8))) & m);
}

}  // namespace

void exec_FP_INT_CONV(Cpu& c, uint32_t i) {
    unsigned sf = bit(i, 31), type = bits(i, 23, 22), rmode = bits(i, 20, 19), opcode = bits(i, 18, 16);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (bit(i, 29) || (opcode != 6 && opcode != 7)) return c.undefined();  // conversions: not yet
    bool to_fp = opcode == 7;  // 110: FMOV to general, 111: from general
    // FMOV (general): 32-bit with S, 64-bit with D, and the top half of V.
    bool sreg = sf == 0 && type == 0 && rmode == 0, dreg = sf == 1 && type == 1 && rmode == 0;
    bool top = sf == 1 && type == 2 && rmode == 1;
    if (!sreg && !dreg && !top) return c.undefined();
    if (!c.fp_enabled()) return;
    if (top) {
        if (to_fp)
            c.s.v[rd][1] = c.x(rn);
        else
            c.set_x(rd, c.s.v[rn][1]);
        return;
    }
    if (to_fp) {
        c.s.v[rd][0] = sreg ? c.w(rn) : c.x(rn);
        c.s.v[rd][1] = 0;
    } else {
        c.set_x(rd, sreg ? static_cast<uint32_t>(c.s.v[rn][0]) : c.s.v[rn][0]);
    }
}

void exec_SIMD_COPY(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), op = bit(i, 29), imm5 = bits(i, 20, 16), imm4 = bits(i, 14, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned size = 0;
    while (size < 4 && !((imm5 >> size) & 1)) ++size;
    if (size > 3) return c.undefined();
    unsigned esize = 1u << size, index = imm5 >> (size + 1), lanes = (q ? 16 : 8) / esize;
    if (op == 1) {  // INS (element): Vd.T[imm5 index] = Vn.T[imm4 index]
        if (!q) return c.undefined();
        if (!c.fp_enabled()) return;
        set_elem(c, rd, index, esize, elem(c, rn, imm4 >> size, esize));
        return;
    }
    switch (imm4) {
    case 0x0:    // DUP (element)
    case 0x1: {  // DUP (general)
        if (size == 3 && !q) return c.undefined();
        if (!c.fp_enabled()) return;
        uint64_t v = imm4 == 0 ? elem(c, rn, index, esize) : c.x(rn) & (esize == 8 ? ~0ull : (1ull << (8 * esize)) - 1);
        c.s.v[rd][0] = c.s.v[rd][1] = 0;
        for (unsigned e = 0; e < lanes; ++e) set_elem(c, rd, e, esize, v);
        return;
    }
    case 0x3:  // INS (general)
        if (!q) return c.undefined();
        if (!c.fp_enabled()) return;
        set_elem(c, rd, index, esize, c.x(rn));
        return;
    case 0x5:    // SMOV
    case 0x7: {  // UMOV
        bool smov = imm4 == 5;
        // UMOV: W for B/H/S, X for D (Q = 1); SMOV: B/H to W or X, S to X.
        if (smov ? (size == 3 || (size == 2 && !q)) : (q != (size == 3))) return c.undefined();
        if (!c.fp_enabled()) return;
        uint64_t v = elem(c, rn, index, esize);
        if (smov) {
            v = static_cast<uint64_t>(sext(v, 8 * esize));
            if (!q) v = static_cast<uint32_t>(v);
        }
        c.set_x(rd, v);
        return;
    }
    default: return c.undefined();
    }
}

// AdvSIMD modified immediate: MOVI, MVNI, ORR, BIC (vector, immediate)
// and FMOV (vector, immediate), AdvSIMDExpandImm() and VFPExpandImm().
void exec_SIMD_MODIMM(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), op = bit(i, 29), cmode = bits(i, 15, 12), o2 = bit(i, 11), rd = bits(i, 4, 0);
    uint64_t imm8 = (bits(i, 18, 16) << 5) | bits(i, 9, 5);
    if (o2) return c.undefined();  // (FMOV half-precision: FP16)
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
            uint64_t a = (imm8 >> 7) & 1, b = (imm8 >> 6) & 1;
            uint64_t f = (a << 31) | ((b ? 0x1f : 0x20) << 25) | ((imm8 & 0x3f) << 19);
            imm = rep32(f);
        } else {  // FMOV Vd.2D, #imm (double precision)
            if (!q) return c.undefined();
            uint64_t a = (imm8 >> 7) & 1, b = (imm8 >> 6) & 1;
            imm = (a << 63) | ((b ? 0xffull : 0x100ull) << 54) | ((imm8 & 0x3f) << 48);
        }
        break;
    }
    // op selects MVNI/BIC for the 32/16-bit shifted forms (cmode < 12).
    bool orr_bic = cmode < 12 && (cmode & 1);
    bool invert = op && cmode < 14;
    if (!c.fp_enabled()) return;
    uint64_t lo = c.s.v[rd][0], hi = c.s.v[rd][1];
    auto apply = [&](uint64_t cur) {
        if (orr_bic) return op ? cur & ~imm : cur | imm;  // BIC, ORR
        return invert ? ~imm : imm;                       // MVNI, MOVI
    };
    c.s.v[rd][0] = apply(lo);
    c.s.v[rd][1] = q ? apply(hi) : 0;
}

}  // namespace armvm::a64
