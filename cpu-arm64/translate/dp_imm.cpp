// Data processing, immediate (ARM ARM C4.1.4): PC-relative addressing,
// add/subtract, logical, move wide, bitfield, extract.
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::a64 {

void exec_ADR(Cpu& c, uint32_t i) {
    int64_t imm = sext((bits(i, 23, 5) << 2) | bits(i, 30, 29), 21);
    c.set_x(bits(i, 4, 0), c.s.pc + imm);
}

void exec_ADRP(Cpu& c, uint32_t i) {
    int64_t imm = sext((bits(i, 23, 5) << 2) | bits(i, 30, 29), 21) << 12;
    c.set_x(bits(i, 4, 0), (c.s.pc & ~uint64_t{0xfff}) + imm);
}

void exec_ADD_SUB_imm(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31), sub = bit(i, 30), setflags = bit(i, 29);
    uint64_t imm = bits(i, 21, 10);
    if (bit(i, 22)) imm <<= 12;
    unsigned rd = bits(i, 4, 0), rn = bits(i, 9, 5);
    uint64_t op1 = c.x_or_sp(rn);
    auto r = sub ? add_with_carry(op1, ~imm, true, is64) : add_with_carry(op1, imm, false, is64);
    if (setflags) {
        c.s.nzcv = r.nzcv;
        c.set_x(rd, r.value & mask_for(is64));
    } else {
        c.set_x_or_sp(rd, r.value & mask_for(is64));
    }
}

void exec_LOGICAL_imm(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned opc = bits(i, 30, 29), n = bit(i, 22);
    if (!is64 && n) return c.undefined();
    uint64_t imm, tmask;
    if (!decode_bit_masks(n, bits(i, 15, 10), bits(i, 21, 16), true, is64, imm, tmask)) return c.undefined();
    uint64_t op1 = c.x(bits(i, 9, 5));
    uint64_t r;
    switch (opc) {
    case 0: r = op1 & imm; break;
    case 1: r = op1 | imm; break;
    case 2: r = op1 ^ imm; break;
    default: r = op1 & imm; break;
    }
    r &= mask_for(is64);
    unsigned rd = bits(i, 4, 0);
    if (opc == 3) {
        c.s.nzcv = nz_flags(r, is64);
        c.set_x(rd, r);
    } else {
        c.set_x_or_sp(rd, r);
    }
}

void exec_MOVE_wide(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned opc = bits(i, 30, 29), hw = bits(i, 22, 21);
    if (opc == 1 || (!is64 && hw > 1)) return c.undefined();
    unsigned pos = hw * 16;
    uint64_t imm = static_cast<uint64_t>(bits(i, 20, 5)) << pos;
    unsigned rd = bits(i, 4, 0);
    uint64_t r;
    if (opc == 3) {  // MOVK
        r = (c.x(rd) & ~(0xffffull << pos)) | imm;
    } else if (opc == 0) {  // MOVN
        r = ~imm;
    } else {  // MOVZ
        r = imm;
    }
    c.set_x(rd, r & mask_for(is64));
}

void exec_BITFIELD(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned opc = bits(i, 30, 29), n = bit(i, 22);
    unsigned immr = bits(i, 21, 16), imms = bits(i, 15, 10);
    if (opc == 3 || n != static_cast<unsigned>(is64)) return c.undefined();
    if (!is64 && (immr > 31 || imms > 31)) return c.undefined();
    uint64_t wmask, tmask;
    if (!decode_bit_masks(n, imms, immr, false, is64, wmask, tmask)) return c.undefined();
    unsigned rd = bits(i, 4, 0);
    uint64_t src = c.x(bits(i, 9, 5)) & mask_for(is64);
    uint64_t dst = opc == 1 ? c.x(rd) : 0;  // BFM keeps the destination's other bits
    uint64_t bot = (dst & ~wmask) | (shift_reg(src, 3, immr, is64) & wmask);
    uint64_t top;
    if (opc == 0) {  // SBFM: replicate bit <imms>
        top = ((src >> imms) & 1) ? mask_for(is64) : 0;
    } else {
        top = dst;
    }
    c.set_x(rd, ((top & ~tmask) | (bot & tmask)) & mask_for(is64));
}

void exec_EXTR(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned n = bit(i, 22), lsb = bits(i, 15, 10);
    if (n != static_cast<unsigned>(is64) || (!is64 && lsb > 31)) return c.undefined();
    uint64_t hi = c.x(bits(i, 9, 5)) & mask_for(is64), lo = c.x(bits(i, 20, 16)) & mask_for(is64);
    unsigned size = is64 ? 64 : 32;
    uint64_t r = lsb == 0 ? lo : ((lo >> lsb) | (hi << (size - lsb)));
    c.set_x(bits(i, 4, 0), r & mask_for(is64));
}

}  // namespace armvm::a64
