// Specialised handlers for the instructions the interpreter runs most:
// their operands are extracted once, when the block is decoded, and each
// handler runs the semantics of ir/sem.hpp (the generic executors' and the
// JIT's) on them, for its exact form. Anything else, and every form with
// an unusual encoding detail, keeps its generic executor (which decodes
// the word each time). A flag-setting compare and the B.cond after it are
// fused into one entry. The differential tests run both (tests/cpu,
// test_cpu).
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"

namespace armvm::a64 {

namespace {

// ---- data processing (never anything but fall through: return false):
// the flag-setting forms the decoder fuses with a B.cond after them, with
// the operands decoded once; the arithmetic and NZCV are the semantics
// templates' (InterpBuilder: ir::compute, ir::nzcv). (ADD/SUB, AND/ORR/EOR,
// MOVZ/MOVN/MOVK, the bitfield moves... are the generic executors: the
// templates of ir/sem.hpp, which the JIT compiles.)

template <bool Is64, bool Sub>
bool adds_imm(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c);
    c.set_x(d.rd, b.add_sub_flags(c.x_or_sp(d.rn), static_cast<uint64_t>(d.imm), Sub, Is64));
    return false;
}

// ADDS/SUBS (shifted register; CMN, CMP) with LSL #aux.
template <bool Is64, bool Sub>
bool add_reg(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c);
    c.set_x(d.rd, b.add_sub_flags(c.x(d.rn), b.shl(c.x(d.rm), d.aux, Is64), Sub, Is64));
    return false;
}

// ANDS (immediate; TST), the bit mask precomputed.
template <bool Is64, unsigned Opc>
bool logical_imm(Cpu& c, const DecodedInsn& d) {
    static_assert(Opc == 3);
    InterpBuilder b(c);
    c.set_x(d.rd, b.and_flags(c.x(d.rn), static_cast<uint64_t>(d.imm), Is64));
    return false;
}

// ANDS (shifted register, LSL #aux, not inverted; TST).
template <bool Is64, unsigned Opc>
bool logical_reg(Cpu& c, const DecodedInsn& d) {
    static_assert(Opc == 3);
    InterpBuilder b(c);
    c.set_x(d.rd, b.and_flags(c.x(d.rn), b.shl(c.x(d.rm), d.aux, Is64), Is64));
    return false;
}

// ---- branches (the PC is the block's VA + the instruction's offset)

bool b_cond(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c, c.pc_of(d));
    b.branch_cond(b.cond(d.aux), d.imm);
    return c.has_events();
}

template <bool Is64, bool NonZero>
bool cbz(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c, c.pc_of(d));
    b.branch_zero(c.x(d.rd), NonZero, Is64, d.imm);
    return c.has_events();
}

bool b_imm(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c, c.pc_of(d));
    b.branch(d.imm, false);
    return true;
}

bool bl_imm(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c, c.pc_of(d));
    b.set_x(30, b.pc(4));
    b.branch(d.imm, true);
    return true;
}

bool ret(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c, c.pc_of(d));
    b.branch_reg(c.x(d.rn), 2);
    return true;
}

// ---- loads and stores of one register (Size bytes, zero-extended) or an
// X pair (sem.hpp's single, single_wb, pair). An abort, or a store into a
// page of decoded code, is an event.

constexpr unsigned log2_of(unsigned bytes) { return bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3; }

template <unsigned Size, bool Load>
bool ldst_off(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c);
    sem::single(b, log2_of(Size), Load ? 1 : 0, d.rd, c.x_or_sp(d.rn) + static_cast<uint64_t>(d.imm));
    return c.has_events();
}

template <unsigned Size, bool Load, bool Post>
bool ldst_wb(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c);  // (the operands passed by value: d's block may be dropped by the store)
    sem::single_wb(b, log2_of(Size), Load ? 1 : 0, d.rd, d.rn, d.imm, Post);
    return c.has_events();
}

// Register offset, LSL #aux (UXTX/SXTX of a 64-bit index).
template <unsigned Size, bool Load>
bool ldst_reg(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c);
    sem::single(b, log2_of(Size), Load ? 1 : 0, d.rd, c.x_or_sp(d.rn) + (c.x(d.rm) << d.aux));
    return c.has_events();
}

// LDP/STP of X registers: Mode 1 post-index, 2 offset, 3 pre-index.
template <bool Load, unsigned Mode>
bool ldst_pair_x(Cpu& c, const DecodedInsn& d) {
    InterpBuilder b(c);
    sem::pair(b, 2, Load, Mode, d.rd, d.rm, d.rn, d.imm);
    return c.has_events();
}

template <unsigned Size, bool Load>
Handler pick_off() {
    return &ldst_off<Size, Load>;
}

Handler ldst_off_for(unsigned size, bool load) {
    switch (size) {
    case 0: return load ? pick_off<1, true>() : pick_off<1, false>();
    case 1: return load ? pick_off<2, true>() : pick_off<2, false>();
    case 2: return load ? pick_off<4, true>() : pick_off<4, false>();
    default: return load ? pick_off<8, true>() : pick_off<8, false>();
    }
}

template <unsigned Size>
Handler wb_for(bool load, bool post) {
    if (load) return post ? &ldst_wb<Size, true, true> : &ldst_wb<Size, true, false>;
    return post ? &ldst_wb<Size, false, true> : &ldst_wb<Size, false, false>;
}

template <unsigned Size>
Handler reg_for(bool load) {
    return load ? &ldst_reg<Size, true> : &ldst_reg<Size, false>;
}

// CMP/CMN/TST + B.cond: the compare, then the branch of the instruction
// after it (PC + 4), both in one dispatch.
template <bool (*F)(Cpu&, const DecodedInsn&)>
bool fused_bcond(Cpu& c, const DecodedInsn& d) {
    F(c, d);
    InterpBuilder b(c, c.pc_of(d) + 4);  // (the B.cond's; not taken, it still leaves: to the entry after)
    b.branch(b.cond(d.cond2) ? d.imm2 : 4, false);
    return true;
}

struct FusePair {
    Handler cmp, fused;
};
#define FUSE(...) FusePair{&__VA_ARGS__, &fused_bcond<&__VA_ARGS__>}
constexpr FusePair kFusable[] = {
    FUSE(adds_imm<true, true>),      FUSE(adds_imm<false, true>),      FUSE(adds_imm<true, false>),
    FUSE(adds_imm<false, false>),    FUSE(add_reg<true, true>),  FUSE(add_reg<false, true>),
    FUSE(add_reg<true, false>), FUSE(add_reg<false, false>), FUSE(logical_imm<true, 3>),
    FUSE(logical_imm<false, 3>),     FUSE(logical_reg<true, 3>),       FUSE(logical_reg<false, 3>),
};
#undef FUSE

}  // namespace

}  // namespace armvm::a64

namespace armvm {

bool fused_compare(Handler h) {
    for (const auto& f : a64::kFusable)
        if (f.fused == h) return true;
    return false;
}

bool fuse_compare_branch(DecodedInsn& cmp, const DecodedInsn& bcond) {
    for (const auto& f : a64::kFusable)
        if (f.cmp == cmp.handler) {
            cmp.handler = f.fused;
            cmp.cond2 = bcond.aux;
            cmp.imm2 = static_cast<int32_t>(bcond.imm);
            return true;
        }
    return false;
}

DecodedInsn translate_insn(uint32_t i, a64::Op op) {
    using namespace a64;
    DecodedInsn d{handler_for(op), i};
    unsigned rd = bits(i, 4, 0), rn = bits(i, 9, 5), rm = bits(i, 20, 16);
    auto set = [&](Handler h, int64_t imm = 0, unsigned aux = 0) {
        d.handler = h;
        d.rd = static_cast<uint8_t>(rd);
        d.rn = static_cast<uint8_t>(rn);
        d.rm = static_cast<uint8_t>(rm);
        d.aux = static_cast<uint8_t>(aux);
        d.imm = imm;
        return d;
    };
    bool is64 = bit(i, 31);
    switch (op) {
    case Op::ADD_SUB_imm: {
        bool sub = bit(i, 30), flags = bit(i, 29);
        int64_t imm = bits(i, 21, 10) << (bit(i, 22) ? 12 : 0);
        if (!flags) break;
        if (is64) return set(sub ? &adds_imm<true, true> : &adds_imm<true, false>, imm);
        return set(sub ? &adds_imm<false, true> : &adds_imm<false, false>, imm);
    }
    case Op::ADD_SUB_shift: {
        unsigned shift = bits(i, 23, 22), amount = bits(i, 15, 10);
        if (shift != 0 || (!is64 && amount > 31)) break;
        bool sub = bit(i, 30);
        if (!bit(i, 29)) break;  // ADD, SUB: the generic executor (ir/sem.hpp)
        Handler h = is64 ? (sub ? &add_reg<true, true> : &add_reg<true, false>)
                         : (sub ? &add_reg<false, true> : &add_reg<false, false>);
        return set(h, 0, amount);
    }
    case Op::LOGICAL_imm: {
        unsigned opc = bits(i, 30, 29), n = bit(i, 22);
        uint64_t imm, tmask;
        if (opc != 3 ||
            (!is64 && n) || !decode_bit_masks(n, bits(i, 15, 10), bits(i, 21, 16), true, is64, imm, tmask))
            break;
        return set(is64 ? &logical_imm<true, 3> : &logical_imm<false, 3>, static_cast<int64_t>(imm));
    }
    case Op::LOGICAL_reg: {
        unsigned opc = bits(i, 30, 29), shift = bits(i, 23, 22), amount = bits(i, 15, 10);
        if (opc != 3 || shift != 0 || bit(i, 21) || (!is64 && amount > 31)) break;  // (ANDS only)
        return set(is64 ? &logical_reg<true, 3> : &logical_reg<false, 3>, 0, amount);
    }
    case Op::PAC_HINT_SP: return set(pac_lr_handler(bits(i, 7, 5)));  // (pauth.cpp)
    case Op::B_cond: return set(&b_cond, sext(bits(i, 23, 5), 19) << 2, bits(i, 3, 0));
    case Op::B: return set(&b_imm, sext(bits(i, 25, 0), 26) << 2);
    case Op::BL: return set(&bl_imm, sext(bits(i, 25, 0), 26) << 2);
    case Op::RET: return set(&ret);
    case Op::CBZ_CBNZ: {
        bool nz = bit(i, 24);
        Handler h = is64 ? (nz ? &cbz<true, true> : &cbz<true, false>) : (nz ? &cbz<false, true> : &cbz<false, false>);
        return set(h, sext(bits(i, 23, 5), 19) << 2);
    }
    case Op::LDST_uimm: {
        unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22);
        if (opc > 1) break;  // sign-extending loads and PRFM: generic
        return set(ldst_off_for(size, opc == 1), static_cast<int64_t>(bits(i, 21, 10)) << size);
    }
    case Op::LDST_imm9: {
        unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22), mode = bits(i, 11, 10);
        if (opc > 1 || mode == 2) break;  // sign-extending, PRFUM, unprivileged: generic
        int64_t off = sext(bits(i, 20, 12), 9);
        bool load = opc == 1;
        if (mode == 0) return set(ldst_off_for(size, load), off);
        bool post = mode == 1;
        switch (size) {
        case 0: return set(wb_for<1>(load, post), off);
        case 1: return set(wb_for<2>(load, post), off);
        case 2: return set(wb_for<4>(load, post), off);
        default: return set(wb_for<8>(load, post), off);
        }
    }
    case Op::LDST_reg: {
        unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22), option = bits(i, 15, 13);
        if (opc > 1 || (option != 3 && option != 7)) break;  // 64-bit index only
        unsigned shift = bit(i, 12) ? size : 0;
        switch (size) {
        case 0: return set(reg_for<1>(opc == 1), 0, shift);
        case 1: return set(reg_for<2>(opc == 1), 0, shift);
        case 2: return set(reg_for<4>(opc == 1), 0, shift);
        default: return set(reg_for<8>(opc == 1), 0, shift);
        }
    }
    case Op::LDST_pair: {
        unsigned opc = bits(i, 31, 30), mode = bits(i, 25, 23);
        bool load = bit(i, 22);
        if (opc != 2 || mode < 1 || mode > 3) break;  // X registers, post/offset/pre only
        int64_t off = sext(bits(i, 21, 15), 7) << 3;
        rm = bits(i, 14, 10);  // Rt2
        Handler h;
        if (load)
            h = mode == 1 ? &ldst_pair_x<true, 1> : mode == 2 ? &ldst_pair_x<true, 2> : &ldst_pair_x<true, 3>;
        else
            h = mode == 1 ? &ldst_pair_x<false, 1> : mode == 2 ? &ldst_pair_x<false, 2> : &ldst_pair_x<false, 3>;
        return set(h, off);
    }
    default: break;
    }
    return d;
}

}  // namespace armvm
