// The semantics of A64 instructions, written once (issue 18), as templates
// over a builder B: ir::Builder records them as IR for the JIT, the
// interpreter's builder (translate/interp_builder.hpp) runs them on the
// CPU state. A template checks every UNDEFINED condition before it does
// anything and returns false for one; everything else it does through B:
//   B::V                      a 64-bit value
//   imm(u64), pc(off)         a constant; the instruction's VA + off
//   x(r) / x_or_sp(r)         X[r] (31: zero / the current SP)
//   set_x(r, v) / set_x_or_sp(r, v)
//   add sub and_ or_ xor_ and_not (a, b, w64)      (w64 false: 32-bit,
//   shl lshr ashr ror (a, n, w64), n < the width    the result zero-extended)
//   extr(lo, hi, n, w64)      (hi:lo) >> n, the low half
//   sext(a, bits, w64)        a's low bits (8, 16, 32) sign-extended
//   mul(a, b, w64)            the low half of the product
//   mulh(a, b, signed)        the high 64 bits of the 128-bit product
//   bswap(a, w64), clz(a, w64)  bytes reversed; leading zero bits
//   shiftv(a, b, type, w64)   LSL/LSR/ASR/ROR (type 0-3) by b modulo the width
//   div(a, b, signed, w64)    Arm's division (by 0: 0; MIN / -1: MIN)
//   has_crc32(), crc32(acc, data, sz, castagnoli)
//   add_sub_flags(a, b, sub, w64), and_flags(a, b, w64): ADD/SUB, AND
//                             that also set NZCV (AddWithCarry; N and Z of
//                             the result, C = V = 0)
//   cond(cc)                  1 if condition cc holds for NZCV, else 0: an
//                             instruction that reads NZCV calls it first
//   select(c, x, y, w64)      c ? x : y
//   adc(carry, x, y, sub, flags, w64)  x + y + carry (sub: x + ~y + carry),
//                             setting NZCV if `flags`
//   ccmp(c, x, y, sub, nzcv, w64)  NZCV = c ? the flags of x - y (x + y)
//                             : nzcv
//   branch_cond(c, off), branch_zero(x, nonzero, w64, off),
//   branch_bit(x, n, set, off), branch(off, call): to this instruction's
//                             VA + off if c holds, x is zero (not), x's bit
//                             n is clear (set), always (call: BL)
//   branch_reg(t, kind)       to t (kind 0: BR, 1: BLR, 2: RET)
//   branch_type(kind, n)      PSTATE.BTYPE for a BR/BLR through Xn (FEAT_BTI)
//   load_aligned(addr, bytes), open_monitor(addr, bytes, v): LDAR's and
//                             LDXR's access (an alignment fault if not
//                             aligned); the exclusive monitor opened
//   dc_zva(addr, insn)        DC ZVA: the DCZID_EL0 block at addr, aligned,
//                             zeroed (at EL0 only with SCTLR_EL1.DZE: else
//                             the system instruction trap of `insn`)
//   load(addr, bytes, unpriv), store(addr, bytes, v, unpriv): an access
//                             (zero-extended; unpriv: LDTR/STTR, EL0's
//                             permissions at EL1); load_pair, store_pair:
//                             two of them at addr and addr + bytes;
//                             faulted(): one aborted (nothing more is done)
//   B::Vec                    a 128-bit AdvSIMD value
//   fp_enabled()              false: CPACR_EL1.FPEN traps this access (the
//                             trap taken; nothing more is done)
//   v(r), set_v(r, a, q)      V[r]; V[r] = a (q false: the low 64 bits, the
//                             upper half cleared)
//   vand vbic vor vorn vxor (a, b), vbsl(sel, a, b): bitwise
//   vlanes(op, a, b, size)    per lane of 8 << size bits: ir::Op VAdd, VSub,
//                             VMul or a compare (all ones where it holds);
//                             pairwise: VAddP, V[SU]MaxP, V[SU]MinP
//   vfp(key, n, m, d, dbl, q, scalar): FP arithmetic per lane (ir::Op::VFp's
//                             keys; d: FMLA's and FMLS's accumulator), with
//                             FPCR and FPSR; singles or doubles, q: 128
//                             bits, scalar: lane 0 alone
//   vwiden(a, size, sign, high), vnarrow(a, size): lanes to twice the size
//                             (of a's upper half if `high`); lanes of twice
//                             the size cut to `size`, into the low half
//   vconst(half)              the 64-bit value in both halves
//   vextract(a, index, size)  lane `index` of 8 << size bits (a 64-bit value)
//   vinsert(a, x, index, size), vdup(x, size): a with that lane from x;
//                             x in every lane
//   vshift(op, a, n, size)    per lane: ir::Op VShlI, VLshrI, VAshrI by n
//   vload(addr, bytes), vstore(addr, bytes, v), vload_pair, vstore_pair:
//                             accesses of 1-16 bytes (a load zero-extended)
//   vload_multi(addr, bytes, n, esize, out), vstore_multi(..., v): n
//                             registers of 8 or 16 bytes from addr on, by
//                             elements of esize bytes (LD1/ST1)
// So far: data processing (immediate), ARM ARM C4.1.4, and the logical,
// add/subtract (shifted and extended register, with carry), conditional
// select and compare, 1-, 2- and 3-source forms of C4.1.6; the branches
// of C4.1.3 but the exception-generating, system and PAC ones; the loads
// and stores of general registers of C4.1.5 but the exclusive, atomic and
// ordered ones (of those: LDAR, LDXR, LDAXR); DC ZVA, the hints that do
// nothing here and the barriers; of AdvSIMD: three-same's
// bitwise forms, ADD/SUB, MUL/MLA/MLS and integer compares, two-register
// misc's compares with zero, ABS, NEG and NOT, three-same's pairwise
// integer forms, the modified immediates, SHL/SSHR/USHR/SHRN/[SU]SHLL,
// three-different's widening add/sub/multiply(-accumulate), FADD, FSUB,
// FMUL, FDIV, FMLA, FMLS (three-same, by element and the scalar FADD..
// FDIV, FMADD, FMSUB), the copies
// (DUP, INS, SMOV, UMOV), FMOV (general), and the loads and stores of
// SIMD&FP registers and LD1/ST1 (multiple structures) but the other
// structure forms.
#pragma once
#include <cstdint>

#include "cpu-arm64/decoder/decoder.hpp"
#include "cpu-arm64/ir/ir.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::a64::sem {

template <class B>
bool adr(B& b, uint32_t i) {
    int64_t imm = sext((bits(i, 23, 5) << 2) | bits(i, 30, 29), 21);
    if (bit(i, 31)) {  // ADRP: the page of this instruction, plus pages
        auto page = b.and_(b.pc(0), b.imm(~uint64_t{0xfff}), true);
        b.set_x(bits(i, 4, 0), b.add(page, b.imm(static_cast<uint64_t>(imm) << 12), true));
    } else {
        b.set_x(bits(i, 4, 0), b.pc(imm));
    }
    return true;
}

// The add/subtract forms' end: ADDS/SUBS (CMN, CMP) set NZCV and write
// Rd, never SP; ADD/SUB write Rd, SP where `sp` (the immediate and
// extended-register forms).
template <class B>
bool add_sub_to(B& b, uint32_t i, typename B::V op1, typename B::V op2, bool sp) {
    bool is64 = bit(i, 31), sub = bit(i, 30);
    unsigned rd = bits(i, 4, 0);
    if (bit(i, 29))
        b.set_x(rd, b.add_sub_flags(op1, op2, sub, is64));
    else if (sp)
        b.set_x_or_sp(rd, sub ? b.sub(op1, op2, is64) : b.add(op1, op2, is64));
    else
        b.set_x(rd, sub ? b.sub(op1, op2, is64) : b.add(op1, op2, is64));
    return true;
}

template <class B>
bool add_sub_imm(B& b, uint32_t i) {
    uint64_t imm = static_cast<uint64_t>(bits(i, 21, 10)) << (bit(i, 22) ? 12 : 0);
    return add_sub_to(b, i, b.x_or_sp(bits(i, 9, 5)), b.imm(imm), true);
}

template <class B>
bool logical_imm(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned opc = bits(i, 30, 29), n = bit(i, 22), rd = bits(i, 4, 0);
    uint64_t imm, tmask;
    if ((!is64 && n) || !decode_bit_masks(n, bits(i, 15, 10), bits(i, 21, 16), true, is64, imm, tmask)) return false;
    auto op1 = b.x(bits(i, 9, 5));
    auto c = b.imm(imm & mask_for(is64));
    switch (opc) {
    case 0: b.set_x_or_sp(rd, b.and_(op1, c, is64)); break;
    case 1: b.set_x_or_sp(rd, b.or_(op1, c, is64)); break;
    case 2: b.set_x_or_sp(rd, b.xor_(op1, c, is64)); break;
    default: b.set_x(rd, b.and_flags(op1, c, is64)); break;  // ANDS (TST)
    }
    return true;
}

template <class B>
bool move_wide(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned opc = bits(i, 30, 29), hw = bits(i, 22, 21), rd = bits(i, 4, 0);
    if (opc == 1 || (!is64 && hw > 1)) return false;
    unsigned pos = hw * 16;
    uint64_t imm = static_cast<uint64_t>(bits(i, 20, 5)) << pos;
    if (opc == 3)  // MOVK: the other bits kept
        b.set_x(rd, b.or_(b.and_(b.x(rd), b.imm(~(0xffffull << pos) & mask_for(is64)), is64), b.imm(imm), is64));
    else  // MOVN, MOVZ
        b.set_x(rd, b.imm((opc == 0 ? ~imm : imm) & mask_for(is64)));
    return true;
}

template <class B>
bool bitfield(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned opc = bits(i, 30, 29), n = bit(i, 22), immr = bits(i, 21, 16), imms = bits(i, 15, 10);
    unsigned size = is64 ? 64 : 32, rd = bits(i, 4, 0);
    uint64_t wmask, tmask;
    if (opc == 3 || n != static_cast<unsigned>(is64) || immr >= size || imms >= size ||
        !decode_bit_masks(n, imms, immr, false, is64, wmask, tmask))
        return false;
    auto src = b.x(bits(i, 9, 5));
    if (opc != 1) {
        // SBFM, UBFM: the field's top bit (imms) shifted to the top, then
        // down (arithmetically for SBFM) to its place: bit immr to 0 when
        // imms >= immr, else bit 0 to size - immr.
        unsigned up = size - 1 - imms;
        unsigned down = imms >= immr ? up + immr : immr - imms - 1;
        auto v = b.shl(src, up, is64);
        b.set_x(rd, opc == 0 ? b.ashr(v, down, is64) : b.lshr(v, down, is64));
        return true;
    }
    // BFM: Rd's bits outside (wmask & tmask) kept, the rotated source's
    // inside (the ARM ARM's bot/top merge, simplified)
    uint64_t m = wmask & tmask & mask_for(is64);
    auto rot = immr ? b.ror(src, immr, is64) : src;
    b.set_x(rd, b.or_(b.and_not(b.x(rd), b.imm(m), is64), b.and_(rot, b.imm(m), is64), is64));
    return true;
}

template <class B>
bool extr(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned n = bit(i, 22), lsb = bits(i, 15, 10);
    if (n != static_cast<unsigned>(is64) || (!is64 && lsb > 31)) return false;
    b.set_x(bits(i, 4, 0), b.extr(b.x(bits(i, 20, 16)), b.x(bits(i, 9, 5)), lsb, is64));
    return true;
}

// ---- data processing (register)

// ShiftReg(): Rm shifted by LSL, LSR, ASR or ROR (`type`) `amount`.
template <class B>
typename B::V shifted(B& b, unsigned rm, unsigned type, unsigned amount, bool is64) {
    auto v = b.x(rm);
    if (amount == 0) return v;
    switch (type) {
    case 0: return b.shl(v, amount, is64);
    case 1: return b.lshr(v, amount, is64);
    case 2: return b.ashr(v, amount, is64);
    default: return b.ror(v, amount, is64);
    }
}

template <class B>
bool logical_reg(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned opc = bits(i, 30, 29), amount = bits(i, 15, 10), rd = bits(i, 4, 0);
    if (!is64 && amount > 31) return false;
    auto op2 = shifted(b, bits(i, 20, 16), bits(i, 23, 22), amount, is64);
    if (bit(i, 21)) op2 = b.xor_(op2, b.imm(mask_for(is64)), is64);  // BIC, ORN, EON, BICS
    auto op1 = b.x(bits(i, 9, 5));
    switch (opc) {
    case 0: b.set_x(rd, b.and_(op1, op2, is64)); break;
    case 1: b.set_x(rd, b.or_(op1, op2, is64)); break;
    case 2: b.set_x(rd, b.xor_(op1, op2, is64)); break;
    default: b.set_x(rd, b.and_flags(op1, op2, is64)); break;  // ANDS, BICS
    }
    return true;
}

template <class B>
bool add_sub_shift(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned shift = bits(i, 23, 22), amount = bits(i, 15, 10);
    if (shift == 3 || (!is64 && amount > 31)) return false;
    auto op1 = b.x(bits(i, 9, 5));
    return add_sub_to(b, i, op1, shifted(b, bits(i, 20, 16), shift, amount, is64), false);
}

// ExtendReg(): X[rm]'s low byte, halfword, word or all, zero- or
// sign-extended (`option`), then shifted left by `amount`.
template <class B>
typename B::V extended(B& b, unsigned rm, unsigned option, unsigned amount) {
    auto v = b.x(rm);
    unsigned len = 8u << (option & 3);
    if (len < 64) v = option & 4 ? b.sext(v, len, true) : b.and_(v, b.imm((uint64_t{1} << len) - 1), true);
    return amount ? b.shl(v, amount, true) : v;
}

template <class B>
bool add_sub_ext(B& b, uint32_t i) {
    unsigned option = bits(i, 15, 13), amount = bits(i, 12, 10);
    if (amount > 4) return false;
    auto op2 = extended(b, bits(i, 20, 16), option, amount);
    return add_sub_to(b, i, b.x_or_sp(bits(i, 9, 5)), op2, true);
}

// UDIV, SDIV, LSLV, LSRV, ASRV, RORV, CRC32*, CRC32C*.
template <class B>
bool dp_2src(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned op = bits(i, 15, 10), rd = bits(i, 4, 0);
    if (bit(i, 29)) return false;
    auto n = b.x(bits(i, 9, 5)), m = b.x(bits(i, 20, 16));
    if (op == 2 || op == 3) {
        b.set_x(rd, b.div(n, m, op == 3, is64));
    } else if (op >= 8 && op <= 11) {
        b.set_x(rd, b.shiftv(n, m, op - 8, is64));
    } else if (op >= 16 && op <= 23) {  // where ID_AA64ISAR0_EL1.CRC32 says; X needs sf 1, the others 0
        unsigned sz = op & 3;
        if (!b.has_crc32() || (sz == 3) != is64) return false;
        b.set_x(rd, b.crc32(n, m, sz, op & 4));
    } else {
        return false;
    }
    return true;
}

// MADD, MSUB (MUL, MNEG), SMADDL, SMSUBL, UMADDL, UMSUBL (SMULL, UMULL...),
// SMULH, UMULH.
template <class B>
bool dp_3src(B& b, uint32_t i) {
    bool is64 = bit(i, 31), sub = bit(i, 15);
    unsigned op31 = bits(i, 23, 21), ra = bits(i, 14, 10);
    if (bits(i, 30, 29) != 0) return false;
    if (op31 == 2 || op31 == 6) {  // SMULH, UMULH
        if (!is64 || sub) return false;
        b.set_x(bits(i, 4, 0), b.mulh(b.x(bits(i, 9, 5)), b.x(bits(i, 20, 16)), op31 == 2));
        return true;
    }
    if (op31 != 0 && op31 != 1 && op31 != 5) return false;
    if (op31 != 0 && !is64) return false;
    auto n = b.x(bits(i, 9, 5)), m = b.x(bits(i, 20, 16));
    if (op31 == 1) {  // the words, sign-extended
        n = b.sext(n, 32, true);
        m = b.sext(m, 32, true);
    } else if (op31 == 5) {  // zero-extended
        n = b.and_(n, b.imm(0xffffffff), true);
        m = b.and_(m, b.imm(0xffffffff), true);
    }
    auto p = b.mul(n, m, is64);
    auto a = b.x(ra);
    b.set_x(bits(i, 4, 0), sub ? b.sub(a, p, is64) : b.add(a, p, is64));
    return true;
}

// RBIT, REV16, REV32, REV, CLZ, CLS.
template <class B>
bool dp_1src(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned op = bits(i, 15, 10);
    if (bits(i, 20, 16) != 0 || bit(i, 29) || op > 5 || (op == 3 && !is64)) return false;
    auto x = b.x(bits(i, 9, 5));
    // x's n-bit groups swapped in pairs: ((x >> n) & m) | ((x & m) << n)
    auto swap = [&](typename B::V v, unsigned n, uint64_t m) {
        auto c = b.imm(m & mask_for(is64));
        return b.or_(b.and_(b.lshr(v, n, is64), c, is64), b.shl(b.and_(v, c, is64), n, is64), is64);
    };
    typename B::V r;
    switch (op) {
    case 0:  // RBIT: the bytes reversed, then the bits of each byte
        r = swap(swap(swap(b.bswap(x, is64), 4, 0x0f0f0f0f0f0f0f0full), 2, 0x3333333333333333ull), 1,
                 0x5555555555555555ull);
        break;
    case 1: r = swap(x, 8, 0x00ff00ff00ff00ffull); break;                  // REV16
    case 2: r = is64 ? b.ror(b.bswap(x, true), 32, true) : b.bswap(x, false); break;  // REV32; REV (32-bit)
    case 3: r = b.bswap(x, true); break;                                    // REV
    case 4: r = b.clz(x, is64); break;                                      // CLZ
    default:  // CLS: the leading zeros of x EOR (x >> 1, arithmetic), less one
        r = b.sub(b.clz(b.xor_(x, b.ashr(x, 1, is64), is64), is64), b.imm(1), is64);
        break;
    }
    b.set_x(bits(i, 4, 0), r);
    return true;
}

// ADC, ADCS, SBC, SBCS (NGC, NGCS).
template <class B>
bool adc_sbc(B& b, uint32_t i) {
    bool is64 = bit(i, 31);
    auto carry = b.cond(2);  // CS: C
    auto n = b.x(bits(i, 9, 5)), m = b.x(bits(i, 20, 16));
    b.set_x(bits(i, 4, 0), b.adc(carry, n, m, bit(i, 30), bit(i, 29), is64));
    return true;
}

// CSEL, CSINC, CSINV, CSNEG (CSET, CSETM, CINC, CINV, CNEG).
template <class B>
bool csel(B& b, uint32_t i) {
    bool is64 = bit(i, 31), inv = bit(i, 30), inc = bit(i, 10);
    auto c = b.cond(bits(i, 15, 12));
    auto n = b.x(bits(i, 9, 5)), m = b.x(bits(i, 20, 16));
    if (inv && inc) m = b.sub(b.imm(0), m, is64);
    else if (inv) m = b.xor_(m, b.imm(mask_for(is64)), is64);
    else if (inc) m = b.add(m, b.imm(1), is64);
    b.set_x(bits(i, 4, 0), b.select(c, n, m, is64));
    return true;
}

// CCMP, CCMN (register and immediate).
template <class B>
bool ccmp(B& b, uint32_t i) {
    auto c = b.cond(bits(i, 15, 12));
    auto n = b.x(bits(i, 9, 5));
    auto m = bit(i, 11) ? b.imm(bits(i, 20, 16)) : b.x(bits(i, 20, 16));
    b.ccmp(c, n, m, bit(i, 30), bits(i, 3, 0), bit(i, 31));
    return true;
}

// ---- branches

template <class B>
bool b_cond(B& b, uint32_t i) {
    b.branch_cond(b.cond(bits(i, 3, 0)), sext(bits(i, 23, 5), 19) << 2);
    return true;
}

// B, BL.
template <class B>
bool b_imm(B& b, uint32_t i) {
    bool call = bit(i, 31);
    if (call) b.set_x(30, b.pc(4));
    b.branch(sext(bits(i, 25, 0), 26) << 2, call);
    return true;
}

// BR, BLR, RET (kind 0-2).
template <class B>
bool b_reg(B& b, uint32_t i, unsigned kind) {
    auto t = b.x(bits(i, 9, 5));  // (read before BLR writes X30)
    if (kind == 1) b.set_x(30, b.pc(4));
    if (kind != 2) b.branch_type(kind, bits(i, 9, 5));
    b.branch_reg(t, kind);
    return true;
}

template <class B>
bool cbz(B& b, uint32_t i) {
    b.branch_zero(b.x(bits(i, 4, 0)), bit(i, 24), bit(i, 31), sext(bits(i, 23, 5), 19) << 2);
    return true;
}

template <class B>
bool tbz(B& b, uint32_t i) {
    b.branch_bit(b.x(bits(i, 4, 0)), (bit(i, 31) << 5) | bits(i, 23, 19), bit(i, 24), sext(bits(i, 18, 5), 14) << 2);
    return true;
}

// ---- loads and stores of general registers

// The single-register forms' size and opc (C4.1.5): false for the
// unallocated ones.
inline bool single_ok(unsigned size, unsigned opc) { return opc != 3 || size < 2; }

// (The helpers the interpreter's fast handlers call with constant forms:
// always inline, so each handler keeps only its form's code.)
#define SEM_INLINE [[gnu::always_inline]] inline

// LDR/STR (B, H, W, X), LDRS (B, H, W), PRFM of X[rt] at addr.
template <class B>
SEM_INLINE void single(B& b, unsigned size, unsigned opc, unsigned rt, typename B::V addr, bool unpriv = false) {
    unsigned bytes = 1u << size;
    if (opc == 0) return b.store(addr, bytes, b.x(rt), unpriv);
    if (opc == 2 && size == 3) return;  // PRFM: nothing
    auto v = b.load(addr, bytes, unpriv);
    if (b.faulted()) return;
    if (opc == 1 || size == 3) return b.set_x(rt, v);
    b.set_x(rt, b.sext(v, 8 * bytes, opc == 2));  // (opc 2: to X; 3: to W)
}

template <class B>
bool ldst_uimm(B& b, uint32_t i) {
    unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22);
    if (!single_ok(size, opc)) return false;
    auto addr = b.add(b.x_or_sp(bits(i, 9, 5)), b.imm(static_cast<uint64_t>(bits(i, 21, 10)) << size), true);
    single(b, size, opc, bits(i, 4, 0), addr);
    return true;
}

// The same with writeback: at X[rn] (post-index) or X[rn] + off
// (pre-index), X[rn] + off written back.
template <class B>
SEM_INLINE void single_wb(B& b, unsigned size, unsigned opc, unsigned rt, unsigned rn, int64_t off, bool post) {
    auto base = b.x_or_sp(rn);
    auto moved = [&] { return b.add(base, b.imm(static_cast<uint64_t>(off)), true); };
    auto addr = post ? base : moved();  // (post-index: the new base made after the access)
    single(b, size, opc, rt, addr);
    if (!b.faulted()) b.set_x_or_sp(rn, post ? moved() : addr);
}

// Unscaled, post-index, unprivileged (LDTR/STTR), pre-index.
template <class B>
bool ldst_imm9(B& b, uint32_t i) {
    unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22), mode = bits(i, 11, 10), rn = bits(i, 9, 5);
    if (!single_ok(size, opc) || (opc == 2 && size == 3 && mode != 0)) return false;  // (PRFUM: unscaled only)
    int64_t off = sext(bits(i, 20, 12), 9);
    if (mode == 1 || mode == 3)
        single_wb(b, size, opc, bits(i, 4, 0), rn, off, mode == 1);
    else
        single(b, size, opc, bits(i, 4, 0), b.add(b.x_or_sp(rn), b.imm(static_cast<uint64_t>(off)), true), mode == 2);
    return true;
}

template <class B>
bool ldst_reg(B& b, uint32_t i) {
    unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22), option = bits(i, 15, 13);
    if (!(option & 2) || !single_ok(size, opc)) return false;
    auto off = extended(b, bits(i, 20, 16), option, bit(i, 12) ? size : 0);
    single(b, size, opc, bits(i, 4, 0), b.add(b.x_or_sp(bits(i, 9, 5)), off, true));
    return true;
}

template <class B>
bool ldr_lit(B& b, uint32_t i) {
    unsigned opc = bits(i, 31, 30);
    if (opc == 3) return true;  // PRFM (literal)
    // (LDR W, LDR X, LDRSW: single's size 2, 3, 2 with opc 1, 1, 2)
    single(b, opc == 1 ? 3 : 2, opc == 2 ? 2 : 1, bits(i, 4, 0), b.pc(sext(bits(i, 23, 5), 19) << 2));
    return true;
}

// LDP, STP (opc 2: X, else W), LDPSW (opc 1): mode 1 post-index, 2 (or 0)
// offset, 3 pre-index; off already scaled.
template <class B>
SEM_INLINE void pair(B& b, unsigned opc, bool load, unsigned mode, unsigned rt, unsigned rt2, unsigned rn, int64_t off) {
    unsigned bytes = opc == 2 ? 8 : 4;
    auto base = b.x_or_sp(rn);
    auto moved = [&] { return b.add(base, b.imm(static_cast<uint64_t>(off)), true); };
    auto addr = mode == 1 ? base : moved();  // (post-index: the new base made after the access)
    if (load) {
        typename B::V first, second;
        b.load_pair(addr, bytes, first, second);
        if (b.faulted()) return;
        if (opc == 1) {  // LDPSW
            first = b.sext(first, 32, true);
            second = b.sext(second, 32, true);
        }
        b.set_x(rt, first);
        b.set_x(rt2, second);
    } else {
        b.store_pair(addr, bytes, b.x(rt), b.x(rt2));
        if (b.faulted()) return;
    }
    if (mode == 1 || mode == 3) b.set_x_or_sp(rn, mode == 1 ? moved() : addr);
}

template <class B>
bool ldst_pair(B& b, uint32_t i) {
    unsigned opc = bits(i, 31, 30), mode = bits(i, 25, 23);
    bool load = bit(i, 22);
    if (opc == 3 || (opc == 1 && (!load || mode == 0))) return false;
    int64_t off = sext(bits(i, 21, 15), 7) << (opc == 2 ? 3 : 2);
    pair(b, opc, load, mode, bits(i, 4, 0), bits(i, 14, 10), bits(i, 9, 5), off);
    return true;
}

// Loads and stores of SIMD&FP registers (B, H, S, D, Q; a load clears
// what lies above): size:opc's access size in bytes, 0 if unallocated.
inline unsigned fp_bytes(unsigned size, unsigned opc) { return opc >= 2 ? (size == 0 ? 16 : 0) : 1u << size; }

template <class B>
SEM_INLINE void single_fp(B& b, bool load, unsigned bytes, unsigned rt, typename B::V addr) {
    if (!load) return b.vstore(addr, bytes, b.v(rt));
    auto v = b.vload(addr, bytes);
    if (!b.faulted()) b.set_v(rt, v, true);
}

template <class B>
bool ldst_uimm_fp(B& b, uint32_t i) {
    unsigned bytes = fp_bytes(bits(i, 31, 30), bits(i, 23, 22));
    if (!bytes) return false;
    if (!b.fp_enabled()) return true;
    auto addr = b.add(b.x_or_sp(bits(i, 9, 5)), b.imm(static_cast<uint64_t>(bits(i, 21, 10)) * bytes), true);
    single_fp(b, bit(i, 22), bytes, bits(i, 4, 0), addr);
    return true;
}

// Unscaled, post-index, pre-index (no unprivileged SIMD&FP form).
template <class B>
bool ldst_imm9_fp(B& b, uint32_t i) {
    unsigned bytes = fp_bytes(bits(i, 31, 30), bits(i, 23, 22)), mode = bits(i, 11, 10), rn = bits(i, 9, 5);
    if (!bytes || mode == 2) return false;
    if (!b.fp_enabled()) return true;
    auto base = b.x_or_sp(rn);
    auto moved = [&] { return b.add(base, b.imm(static_cast<uint64_t>(sext(bits(i, 20, 12), 9))), true); };
    auto addr = mode == 1 ? base : moved();  // (post-index: the new base made after the access)
    single_fp(b, bit(i, 22), bytes, bits(i, 4, 0), addr);
    if (!b.faulted() && mode != 0) b.set_x_or_sp(rn, mode == 1 ? moved() : addr);
    return true;
}

template <class B>
bool ldst_reg_fp(B& b, uint32_t i) {
    unsigned size = bits(i, 31, 30), bytes = fp_bytes(size, bits(i, 23, 22)), option = bits(i, 15, 13);
    if (!bytes || !(option & 2)) return false;
    if (!b.fp_enabled()) return true;
    auto off = extended(b, bits(i, 20, 16), option, bit(i, 12) ? (bytes == 16 ? 4 : size) : 0);
    single_fp(b, bit(i, 22), bytes, bits(i, 4, 0), b.add(b.x_or_sp(bits(i, 9, 5)), off, true));
    return true;
}

template <class B>
bool ldr_lit_fp(B& b, uint32_t i) {
    unsigned opc = bits(i, 31, 30);
    if (opc == 3) return false;
    if (!b.fp_enabled()) return true;
    single_fp(b, true, 4u << opc, bits(i, 4, 0), b.pc(sext(bits(i, 23, 5), 19) << 2));
    return true;
}

// LDP, STP, LDNP, STNP of S, D, Q: mode 1 post-index, 0 or 2 offset, 3
// pre-index; both loads succeed before either register changes.
template <class B>
bool ldst_pair_fp(B& b, uint32_t i) {
    unsigned opc = bits(i, 31, 30), mode = bits(i, 25, 23), rn = bits(i, 9, 5);
    unsigned rt = bits(i, 4, 0), rt2 = bits(i, 14, 10);
    bool load = bit(i, 22);
    if (opc == 3 || mode > 3) return false;
    if (load && rt == rt2) return false;  // CONSTRAINED UNPREDICTABLE: UNDEFINED, as QEMU
    if (!b.fp_enabled()) return true;
    unsigned bytes = 4u << opc;
    auto base = b.x_or_sp(rn);
    auto moved = [&] { return b.add(base, b.imm(static_cast<uint64_t>(sext(bits(i, 21, 15), 7) * bytes)), true); };
    auto addr = mode == 1 ? base : moved();  // (post-index: the new base made after the access)
    if (load) {
        typename B::Vec first{}, second{};
        b.vload_pair(addr, bytes, first, second);
        if (b.faulted()) return true;
        b.set_v(rt, first, true);
        b.set_v(rt2, second, true);
    } else {
        b.vstore_pair(addr, bytes, b.v(rt), b.v(rt2));
        if (b.faulted()) return true;
    }
    if (mode == 1 || mode == 3) b.set_x_or_sp(rn, mode == 1 ? moved() : addr);
    return true;
}

// Whether LD1/ST1 (multiple structures) of 1-4 registers: opcode ->
// registers, else 0 (LD2-LD4/ST2-ST4 interleave).
inline unsigned ld1_registers(unsigned opcode) {
    return opcode == 0x7 ? 1 : opcode == 0xa ? 2 : opcode == 0x6 ? 3 : opcode == 0x2 ? 4 : 0;
}

// The template for an instruction's encoding group, run on `b`: Done, or
// Undefined (a reserved encoding of a covered group), or Uncovered (a
// group not written here yet).
enum class Outcome { Done, Undefined, Uncovered };

// HINT (C6.2.110), the forms written here so far: NOP, YIELD and the
// hints that do nothing here (ESB, PSB, CSDB, BTI, DGH, ...); Uncovered:
// WFE, WFI, SEV, SEVL (the executor's: they wait or wake).
template <class B>
Outcome hint(B&, uint32_t i) {
    unsigned op = bits(i, 11, 5);
    return op >= 2 && op <= 5 ? Outcome::Uncovered : Outcome::Done;
}

// DMB, DSB, ISB: nothing (no caches or pipeline to flush; the host keeps
// the order of its accesses to guest RAM as x86 does).
template <class B>
bool barrier(B&, uint32_t) {
    return true;
}

// SYS (C5.2), the forms written here so far: DC ZVA (Linux's
// clear_page, memset) of X[rt]; Uncovered: the rest.
template <class B>
bool dc_zva(B& b, uint32_t i) {
    if (bits(i, 18, 16) != 3 || bits(i, 15, 12) != 7 || bits(i, 11, 8) != 4 || bits(i, 7, 5) != 1) return false;
    b.dc_zva(b.x(bits(i, 4, 0)), i);
    return true;
}

// Load/store exclusive and ordered (C4.1.66), the forms written here so
// far: LDAR (acquire; x86 loads are) and LDXR/LDAXR of one register, which
// open the exclusive monitor with what they read (the store-exclusive
// compares memory with it); Uncovered: the stores, pairs, CAS and LDLAR.
template <class B>
Outcome ldst_excl(B& b, uint32_t i) {
    unsigned size = bits(i, 31, 30), o2 = bit(i, 23), load = bit(i, 22), o1 = bit(i, 21);
    unsigned rt2 = bits(i, 14, 10), rn = bits(i, 9, 5), rt = bits(i, 4, 0);
    if (o1 && rt2 == 31 && (o2 || size < 2)) return Outcome::Uncovered;  // CAS, CASP (LSE)
    if (o2 && o1) return Outcome::Undefined;
    if (!load || o1 || (o2 && !bit(i, 15))) return Outcome::Uncovered;
    unsigned bytes = 1u << size;
    auto addr = b.x_or_sp(rn);
    auto v = b.load_aligned(addr, bytes);
    if (b.faulted()) return Outcome::Done;
    if (!o2) b.open_monitor(addr, bytes, v);
    b.set_x(rt, v);
    return Outcome::Done;
}

// AdvSIMD three same (C4.1.95), the forms written here so far: the
// bitwise ones (AND, BIC, ORR, ORN, EOR, BSL, BIT, BIF), ADD/SUB, MUL, MLA,
// MLS, the compares (CMTST, CMEQ, CMGT, CMGE, CMHI, CMHS), the pairwise
// ADDP, SMAXP, UMAXP, SMINP, UMINP and FADD, FSUB, FMUL, FDIV, FMLA, FMLS
// of singles and doubles; Uncovered for the rest (the executor's own code).
template <class B>
Outcome simd_3same(B& b, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), opcode = bits(i, 15, 11);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    bool mul = opcode == 0x12 || (opcode == 0x13 && !u);  // MLA, MLS, MUL (PMUL: Uncovered)
    if (opcode >= 0x18) {  // FP: FADD, FSUB, FMUL, FDIV, FMLA, FMLS of singles and doubles
        unsigned key = (u << 4) | (bit(i, 23) << 3) | (opcode & 7), sz = bit(i, 22);
        if (key != 0x2 && key != 0xa && key != 0x13 && key != 0x17 && key != 0x1 && key != 0x9)
            return Outcome::Uncovered;
        if (sz && !q) return Outcome::Undefined;
        if (!b.fp_enabled()) return Outcome::Done;
        auto n = b.v(rn);
        b.set_v(rd, b.vfp(key, n, b.v(rm), key == 0x1 || key == 0x9 ? b.v(rd) : n, sz, q), q);
        return Outcome::Done;
    }
    bool maxmin = opcode == 0x14 || opcode == 0x15, pair = maxmin || (opcode == 0x17 && !u);
    if (opcode != 0x03 && opcode != 0x06 && opcode != 0x07 && opcode != 0x10 && opcode != 0x11 && !mul && !pair)
        return Outcome::Uncovered;
    if (opcode != 0x03 && size == 3 && (!q || mul || maxmin)) return Outcome::Undefined;
    if (!b.fp_enabled()) return Outcome::Done;  // (the trap taken)
    auto n = b.v(rn), m = b.v(rm);
    typename B::Vec r{};
    if (opcode == 0x03) {  // bitwise: U:size selects the operation
        switch ((u << 2) | size) {
        case 0: r = b.vand(n, m); break;
        case 1: r = b.vbic(n, m); break;
        case 2: r = b.vor(n, m); break;
        case 3: r = b.vorn(n, m); break;
        case 4: r = b.vxor(n, m); break;
        case 5: r = b.vbsl(b.v(rd), n, m); break;  // BSL: d selects n, else m
        case 6: r = b.vbsl(m, n, b.v(rd)); break;  // BIT: m selects n, else d
        default: r = b.vbsl(m, b.v(rd), n); break;  // BIF: m selects d, else n
        }
    } else if (pair) {  // pairs of the concatenation m:n (64-bit forms: of their low halves)
        using ir::Op;
        Op op = opcode == 0x17 ? Op::VAddP : opcode == 0x14 ? (u ? Op::VUMaxP : Op::VSMaxP)
                                                            : (u ? Op::VUMinP : Op::VSMinP);
        if (!q) m = n = b.vinsert(n, b.vextract(m, 0, 3), 1, 3);
        r = b.vlanes(op, n, m, size);
    } else if (mul) {
        using ir::Op;
        r = b.vlanes(Op::VMul, n, m, size);
        if (opcode == 0x12) r = b.vlanes(u ? Op::VSub : Op::VAdd, b.v(rd), r, size);  // MLS, MLA
    } else {
        using ir::Op;
        Op op = opcode == 0x10 ? (u ? Op::VSub : Op::VAdd)
                : opcode == 0x11 ? (u ? Op::VCmEq : Op::VCmTst)
                : opcode == 0x06 ? (u ? Op::VCmHi : Op::VCmGt)
                                 : (u ? Op::VCmHs : Op::VCmGe);
        r = b.vlanes(op, n, m, size);
    }
    b.set_v(rd, r, q);
    return Outcome::Done;
}

// AdvSIMD vector x indexed element (C4.1.95), the forms written here so
// far: FMLA, FMLS, FMUL of singles and doubles (the element broadcast,
// then three-same's arithmetic); Uncovered for the rest.
template <class B>
Outcome simd_elem(B& b, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), l = bit(i, 21), op = bits(i, 15, 12);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0), h = bit(i, 11);
    if (u || (op != 1 && op != 5 && op != 9) || size < 2) return Outcome::Uncovered;
    if (size == 3 && (l || !q)) return Outcome::Undefined;
    if (!b.fp_enabled()) return Outcome::Done;
    unsigned key = op == 1 ? 0x1 : op == 5 ? 0x9 : 0x13, index = size == 3 ? h : (h << 1) | l;
    auto e = b.vdup(b.vextract(b.v(rm), index, size), size), n = b.v(rn);
    b.set_v(rd, b.vfp(key, n, e, key == 0x13 ? n : b.v(rd), size == 3, q), q);
    return Outcome::Done;
}

// Floating-point data-processing, 2 and 3 sources (C4.1.96), the forms
// written here so far: FADD, FSUB, FMUL, FDIV, FMADD, FMSUB of singles and
// doubles (three-same's arithmetic on lane 0, the rest of Vd zeroed);
// Uncovered: FMAX/FMIN(NM), FNMUL, FNMADD, FNMSUB and half precision (the
// executor's).
template <class B>
Outcome fp_arith(B& b, uint32_t i, bool three) {
    unsigned type = bits(i, 23, 22), rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned key;
    if (three) {  // o1:o0: FMADD, FMSUB
        if (bit(i, 21)) return Outcome::Uncovered;
        key = bit(i, 15) ? 0x9 : 0x1;
    } else {
        unsigned opcode = bits(i, 15, 12);
        if (opcode > 3) return Outcome::Uncovered;
        static constexpr unsigned kKeys[4] = {0x13, 0x17, 0x2, 0xa};  // FMUL, FDIV, FADD, FSUB
        key = kKeys[opcode];
    }
    if (type > 1) return Outcome::Uncovered;
    if (!b.fp_enabled()) return Outcome::Done;
    auto n = b.v(rn);
    b.set_v(rd, b.vfp(key, n, b.v(rm), three ? b.v(bits(i, 14, 10)) : n, type == 1, false, true), true);
    return Outcome::Done;
}

// AdvSIMD two-register miscellaneous (C4.1.95), the forms written here so
// far: the compares with zero (CMGT, CMGE, CMEQ, CMLE, CMLT), ABS, NEG and
// NOT; Uncovered for the rest.
template <class B>
Outcome simd_2misc(B& b, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), code = (u << 5) | bits(i, 16, 12);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    bool not_ = code == 0x25 && size == 0;  // (size 1: RBIT)
    bool lanes = code == 0x08 || code == 0x28 || code == 0x09 || code == 0x29 || code == 0x0a || code == 0x0b ||
                 code == 0x2b;
    if (!not_ && !lanes) return Outcome::Uncovered;
    if (lanes && size == 3 && !q) return Outcome::Undefined;
    if (!b.fp_enabled()) return Outcome::Done;
    using ir::Op;
    auto n = b.v(rn), zero = b.vconst(0);
    typename B::Vec r{};
    switch (code) {
    case 0x08: r = b.vlanes(Op::VCmGt, n, zero, size); break;  // CMGT #0
    case 0x28: r = b.vlanes(Op::VCmGe, n, zero, size); break;  // CMGE #0
    case 0x09: r = b.vlanes(Op::VCmEq, n, zero, size); break;  // CMEQ #0
    case 0x29: r = b.vlanes(Op::VCmGe, zero, n, size); break;  // CMLE #0
    case 0x0a: r = b.vlanes(Op::VCmGt, zero, n, size); break;  // CMLT #0
    case 0x2b: r = b.vlanes(Op::VSub, zero, n, size); break;   // NEG (of the most negative: itself)
    case 0x0b:  // ABS: the negative lanes negated
        r = b.vbsl(b.vlanes(Op::VCmGt, zero, n, size), b.vlanes(Op::VSub, zero, n, size), n);
        break;
    default: r = b.vorn(zero, n); break;  // NOT
    }
    b.set_v(rd, r, q);
    return Outcome::Done;
}

// AdvSIMD modified immediate (C4.1.95): MOVI, MVNI, ORR, BIC and FMOV of
// singles and doubles (a64::modimm's expansion); FMOV of halves (FEAT_FP16):
// Uncovered.
template <class B>
Outcome simd_modimm(B& b, uint32_t i) {
    if (bit(i, 11)) return Outcome::Uncovered;
    unsigned q = bit(i, 30), rd = bits(i, 4, 0);
    ModImm m;
    if (!modimm(i, m)) return Outcome::Undefined;
    if (!b.fp_enabled()) return Outcome::Done;
    auto imm = b.vconst(m.imm);
    typename B::Vec r = m.kind == ModImm::Orr   ? b.vor(b.v(rd), imm)
                        : m.kind == ModImm::Bic ? b.vbic(b.v(rd), imm)
                                                : imm;
    b.set_v(rd, r, q);
    return Outcome::Done;
}

// AdvSIMD copy (C4.1.95): DUP (element, general), INS (element, general),
// SMOV, UMOV.
template <class B>
Outcome simd_copy(B& b, uint32_t i) {
    unsigned q = bit(i, 30), op = bit(i, 29), imm5 = bits(i, 20, 16), imm4 = bits(i, 14, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned size = 0;
    while (size < 4 && !((imm5 >> size) & 1)) ++size;
    if (size > 3) return Outcome::Undefined;
    unsigned index = imm5 >> (size + 1);
    if (op == 1) {  // INS (element): Vd.T[imm5 index] = Vn.T[imm4 index]
        if (!q) return Outcome::Undefined;
        if (!b.fp_enabled()) return Outcome::Done;
        auto e = b.vextract(b.v(rn), imm4 >> size, size);
        b.set_v(rd, b.vinsert(b.v(rd), e, index, size), true);
        return Outcome::Done;
    }
    switch (imm4) {
    case 0x0:    // DUP (element)
    case 0x1: {  // DUP (general)
        if (size == 3 && !q) return Outcome::Undefined;
        if (!b.fp_enabled()) return Outcome::Done;
        auto e = imm4 == 0 ? b.vextract(b.v(rn), index, size) : b.x(rn);
        b.set_v(rd, b.vdup(e, size), q);
        return Outcome::Done;
    }
    case 0x3:  // INS (general)
        if (!q) return Outcome::Undefined;
        if (!b.fp_enabled()) return Outcome::Done;
        b.set_v(rd, b.vinsert(b.v(rd), b.x(rn), index, size), true);
        return Outcome::Done;
    case 0x5:    // SMOV
    case 0x7: {  // UMOV
        bool smov = imm4 == 5;
        // UMOV: W for B/H/S, X for D (Q = 1); SMOV: B/H to W or X, S to X.
        if (smov ? (size == 3 || (size == 2 && !q)) : (q != (size == 3))) return Outcome::Undefined;
        if (!b.fp_enabled()) return Outcome::Done;
        auto e = b.vextract(b.v(rn), index, size);
        b.set_x(rd, smov ? b.sext(e, 8u << size, q) : e);
        return Outcome::Done;
    }
    default: return Outcome::Undefined;
    }
}

// AdvSIMD shift by immediate (C4.1.95), the forms written here so far:
// SSHR, USHR, SHL, SHRN(2), SSHLL(2) and USHLL(2) (SXTL, UXTL);
// Uncovered for the rest.
template <class B>
Outcome simd_shift_imm(B& b, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), immh = bits(i, 22, 19), op = bits(i, 15, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    bool shrn = op == 0x10 && !u, shll = op == 0x14;
    if (!immh || !(op == 0x00 || (op == 0x0a && !u) || shrn || shll)) return Outcome::Uncovered;
    unsigned size = 31 - static_cast<unsigned>(__builtin_clz(immh)), lane = 8u << size;
    unsigned immhb = bits(i, 22, 16);
    if (size == 3 && (!q || shrn || shll)) return Outcome::Undefined;
    if (!b.fp_enabled()) return Outcome::Done;
    using ir::Op;
    if (shrn) {  // each lane twice the size shifted right, its low half kept; SHRN2: into the upper half
        auto r = b.vnarrow(b.vshift(Op::VLshrI, b.v(rn), 2 * lane - immhb, size + 1), size);
        if (q) r = b.vinsert(b.v(rd), b.vextract(r, 0, 3), 1, 3);
        b.set_v(rd, r, q);
        return Outcome::Done;
    }
    if (shll) {  // the low (SSHLL2, USHLL2: upper) half widened, then shifted left
        auto r = b.vwiden(b.v(rn), size, !u, q);
        if (immhb != lane) r = b.vshift(Op::VShlI, r, immhb - lane, size + 1);
        b.set_v(rd, r, true);
        return Outcome::Done;
    }
    auto r = op == 0x0a ? b.vshift(Op::VShlI, b.v(rn), immhb - lane, size)                     // SHL
                        : b.vshift(u ? Op::VLshrI : Op::VAshrI, b.v(rn), 2 * lane - immhb, size);  // USHR, SSHR
    b.set_v(rd, r, q);
    return Outcome::Done;
}

// AdvSIMD three different (C4.1.95), the forms written here so far:
// [SU]ADDL(2), [SU]ADDW(2), [SU]SUBL(2), [SU]SUBW(2), [SU]MULL(2),
// [SU]MLAL(2), [SU]MLSL(2): the low (Q: upper) halves' lanes widened,
// the arithmetic at twice the size (exact modulo the lane: the products
// of sign- or zero-extended lanes too); Uncovered for the rest.
template <class B>
Outcome simd_3diff(B& b, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 15, 12);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (op > 0x3 && op != 0x8 && op != 0xa && op != 0xc) return Outcome::Uncovered;
    if (size == 3) return Outcome::Undefined;
    if (!b.fp_enabled()) return Outcome::Done;
    using ir::Op;
    unsigned wide = size + 1;
    auto m = b.vwiden(b.v(rm), size, !u, q);
    auto n = op == 0x1 || op == 0x3 ? b.v(rn) : b.vwiden(b.v(rn), size, !u, q);  // (ADDW, SUBW: n is wide)
    typename B::Vec r{};
    if (op <= 0x3) {
        r = b.vlanes(op >= 0x2 ? Op::VSub : Op::VAdd, n, m, wide);
    } else {
        r = b.vlanes(Op::VMul, n, m, wide);
        if (op != 0xc) r = b.vlanes(op == 0xa ? Op::VSub : Op::VAdd, b.v(rd), r, wide);  // MLSL, MLAL
    }
    b.set_v(rd, r, true);
    return Outcome::Done;
}

// LD1/ST1 (multiple structures, C4.1.66) of 1-4 consecutive registers,
// and their post-index forms (`post`: by the bytes moved, or X[rm]): each
// register's lanes in order from addr (memcpy and the string functions'
// bulk copies); a load changes no register if any element faults;
// Uncovered: LD2-LD4/ST2-ST4.
template <class B>
Outcome ldst_multi(B& b, uint32_t i, bool post) {
    unsigned q = bit(i, 30), load = bit(i, 22), rm = bits(i, 20, 16), size = bits(i, 11, 10);
    unsigned rn = bits(i, 9, 5), rt = bits(i, 4, 0), n = ld1_registers(bits(i, 15, 12));
    if (!n) return Outcome::Uncovered;
    if (!b.fp_enabled()) return Outcome::Done;
    unsigned bytes = q ? 16 : 8;
    auto addr = b.x_or_sp(rn);
    typename B::Vec v[4]{};
    if (load) {
        b.vload_multi(addr, bytes, n, 1u << size, v);
        if (b.faulted()) return Outcome::Done;
        for (unsigned r = 0; r < n; ++r) b.set_v((rt + r) % 32, v[r], q);
    } else {
        for (unsigned r = 0; r < n; ++r) v[r] = b.v((rt + r) % 32);
        b.vstore_multi(addr, bytes, n, 1u << size, v);
        if (b.faulted()) return Outcome::Done;
    }
    if (post) b.set_x_or_sp(rn, b.add(addr, rm == 31 ? b.imm(n * bytes) : b.x(rm), true));
    return Outcome::Done;
}

// FMOV (general) (C4.1.96): between W and S, X and D, X and V.D[1]; the
// conversions, FJCVTZS and the FEAT_FP16 forms: Uncovered.
template <class B>
Outcome fmov_general(B& b, uint32_t i) {
    unsigned sf = bit(i, 31), type = bits(i, 23, 22), rmode = bits(i, 20, 19), opcode = bits(i, 18, 16);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (bit(i, 29) || opcode < 6 || type == 3 || (sf == 0 && type == 1 && rmode == 3 && opcode == 6))
        return Outcome::Uncovered;
    bool sreg = sf == 0 && type == 0 && rmode == 0, dreg = sf == 1 && type == 1 && rmode == 0;
    bool top = sf == 1 && type == 2 && rmode == 1;
    if (!sreg && !dreg && !top) return Outcome::Undefined;
    if (!b.fp_enabled()) return Outcome::Done;
    unsigned size = sreg ? 2 : 3;
    if (opcode == 7) {  // to SIMD&FP: S and D with the rest cleared; the top half kept below
        auto into = top ? b.v(rd) : b.vconst(0);
        b.set_v(rd, b.vinsert(into, b.x(rn), top ? 1 : 0, size), true);
    } else {
        b.set_x(rd, b.vextract(b.v(rn), top ? 1 : 0, size));
    }
    return Outcome::Done;
}

template <class B>
Outcome run(B& b, uint32_t i) {
    bool ok;
    switch (decode(i)) {
    case Op::ADR:
    case Op::ADRP: ok = adr(b, i); break;
    case Op::ADD_SUB_imm: ok = add_sub_imm(b, i); break;
    case Op::LOGICAL_imm: ok = logical_imm(b, i); break;
    case Op::MOVE_wide: ok = move_wide(b, i); break;
    case Op::BITFIELD: ok = bitfield(b, i); break;
    case Op::EXTR: ok = extr(b, i); break;
    case Op::LOGICAL_reg: ok = logical_reg(b, i); break;
    case Op::ADD_SUB_shift: ok = add_sub_shift(b, i); break;
    case Op::ADD_SUB_ext: ok = add_sub_ext(b, i); break;
    case Op::DP_1src: ok = dp_1src(b, i); break;
    case Op::DP_2src: ok = dp_2src(b, i); break;
    case Op::DP_3src: ok = dp_3src(b, i); break;
    case Op::ADC_SBC: ok = adc_sbc(b, i); break;
    case Op::CSEL: ok = csel(b, i); break;
    case Op::CCMP_reg:
    case Op::CCMP_imm: ok = ccmp(b, i); break;
    case Op::B_cond: ok = b_cond(b, i); break;
    case Op::B:
    case Op::BL: ok = b_imm(b, i); break;
    case Op::BR: ok = b_reg(b, i, 0); break;
    case Op::BLR: ok = b_reg(b, i, 1); break;
    case Op::RET: ok = b_reg(b, i, 2); break;
    case Op::CBZ_CBNZ: ok = cbz(b, i); break;
    case Op::TBZ_TBNZ: ok = tbz(b, i); break;
    case Op::LDST_uimm: ok = ldst_uimm(b, i); break;
    case Op::LDST_imm9: ok = ldst_imm9(b, i); break;
    case Op::LDST_reg: ok = ldst_reg(b, i); break;
    case Op::LDR_lit: ok = ldr_lit(b, i); break;
    case Op::LDST_pair: ok = ldst_pair(b, i); break;
    case Op::LDST_uimm_fp: ok = ldst_uimm_fp(b, i); break;
    case Op::LDST_imm9_fp: ok = ldst_imm9_fp(b, i); break;
    case Op::LDST_reg_fp: ok = ldst_reg_fp(b, i); break;
    case Op::LDR_lit_fp: ok = ldr_lit_fp(b, i); break;
    case Op::LDST_pair_fp: ok = ldst_pair_fp(b, i); break;
    case Op::LDST_excl: return ldst_excl(b, i);
    case Op::SYS: return dc_zva(b, i) ? Outcome::Done : Outcome::Uncovered;
    case Op::HINT: return hint(b, i);
    case Op::DMB:
    case Op::DSB:
    case Op::ISB: ok = barrier(b, i); break;
    case Op::LDST_multi: return ldst_multi(b, i, false);
    case Op::LDST_multi_post: return ldst_multi(b, i, true);
    case Op::SIMD_3SAME: return simd_3same(b, i);
    case Op::SIMD_2MISC: return simd_2misc(b, i);
    case Op::SIMD_MODIMM: return simd_modimm(b, i);
    case Op::SIMD_COPY: return simd_copy(b, i);
    case Op::SIMD_SHIFT_IMM: return simd_shift_imm(b, i);
    case Op::SIMD_3DIFF: return simd_3diff(b, i);
    case Op::SIMD_ELEM: return simd_elem(b, i);
    case Op::FP_INT_CONV: return fmov_general(b, i);
    case Op::FP_2SRC: return fp_arith(b, i, false);
    case Op::FP_3SRC: return fp_arith(b, i, true);
    default: return Outcome::Uncovered;
    }
    return ok ? Outcome::Done : Outcome::Undefined;
}

#undef SEM_INLINE

}  // namespace armvm::a64::sem
