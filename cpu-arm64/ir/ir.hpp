// A small IR for the JIT (issue 18): what an instruction does to the
// general registers, as SSA values, so the x86-64 backend can fold
// constants, forward register values and drop dead work across the
// instructions of a run before it emits host code.
//
// The instruction semantics are written once (cpu-arm64/ir/sem.hpp), as
// templates over a builder: ir::Builder (here) records them as IR, the
// interpreter's builder (translate/) runs them on the CPU state directly.
//
// Values are 64-bit; an operation marked 32-bit works on the low halves
// and leaves the upper half zero (as a W register write does). NZCV is the
// run's one piece of state besides the registers: the flag-setting
// operations (AddS, SubS, AndS, AdcS, CCmp) write it, Cond reads it. A Cond
// is its instruction's first operation, and comes either first in the run
// (NZCV from before the run) or right after the instruction that set NZCV
// with AddS, SubS, AndS or AdcS (the Builder sees to it: the backend takes
// the condition from the host flags that operation left).
#pragma once
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::ir {

enum class Op : uint8_t {
    Nop,    // (removed by a pass)
    Const,  // imm
    Pc,     // the VA of the block's first instruction + imm
    Get,    // general register reg (0-30; kSp: the current SP)
    Set,    // reg = a
    Add, Sub, And, Or, Xor, AndNot,  // a op b (AndNot: a & ~b); b kNone: a op imm
    Shl, Lshr, Ashr, Ror,            // a shifted by imm (< the width)
    Extr,   // (b:a) >> imm, the low half (b the high half; ROR when a is b)
    Sext,   // a's low imm bits (8, 16, 32) sign-extended
    Mul,    // a * b (the low half)
    MulHi,  // the high 64 bits of the 128-bit a * b (imm 1: signed)
    Bswap,  // a's bytes reversed (of the width)
    Clz,    // a's leading zero bits (the width for 0)
    ShlV, LshrV, AshrV, RorV,  // a shifted by b modulo the width
    Udiv, Sdiv,  // a / b, rounded to zero; 0 for b = 0 (Sdiv: MIN / -1 is MIN)
    AddS, SubS, AndS,  // Add, Sub, And that also set NZCV (nzcv() below); b kNone: imm
    AdcS,   // Adc that also sets NZCV (nzcv3() below)
    CCmp,   // NZCV = a ? the flags of b - c (imm bit 4; else b + c) : imm's bits 3-0 (no value)
    Cond,   // 1 if condition imm (0-13) holds for NZCV, else 0
    Select, // a ? b : c
    Adc,    // b + c + a (a: the carry, 0 or 1); imm 1: b + ~c + a (SBC)
    // A branch, the run's last operation: to the block's VA + imm, or to
    // value b; `reg` says when (kAlways; kIfCond: value a is 1; kIfZero,
    // kIfNonZero: value c (of the width) is zero or not; kIfBitClear,
    // kIfBitSet: c's bit `aux`). Call: also onto the return stack (BL,
    // BLR); Ret: a return (RET).
    Branch, Call, Ret,
    // Accesses, the last instruction of a run (`imm` bytes at address a,
    // the fast table checked for `aux` bytes from there: twice imm for a
    // pair's first; `reg` 1: with EL0's permissions, LDTR/STTR): Load's
    // value is zero-extended; Load2 and Store2 are a pair's second (a: the
    // first), at the first's address + imm × aux (aux 1; LD1/ST1's further
    // registers: 1-3); `reg` 2: an aligned access (LDAR, LDXR: the
    // alignment fault otherwise).
    Load, Load2, Store, Store2,
    // The exclusive monitor opened for address a, imm bytes, value b (the
    // value LDXR read): the store-exclusive compares it (no value).
    Monitor,
    // DC ZVA of address a: the block DCZID_EL0 gives, aligned, zeroed (an
    // access, the run's last; at EL0 only with SCTLR_EL1.DZE, else the
    // handler takes the trap).
    ZeroBlock,
    // AdvSIMD values (128 bits; SIMD&FP register `reg`): VGet, VSet (all
    // 128 bits: a 64-bit form's value goes through VZext64 first), the
    // bitwise VAnd, VBic (a & ~b), VOr, VOrn (a | ~b), VXor, VBsl (per bit
    // a ? b : c), and per lane of 8 << imm bits: VAdd, VSub and the
    // compares, all ones where they hold: VCmEq, VCmTst ((a & b) != 0),
    // VCmGt, VCmGe (signed), VCmHi, VCmHs (unsigned); VConst.
    VGet, VSet, VZext64, VAnd, VBic, VOr, VOrn, VXor, VBsl, VAdd, VSub, VCmEq, VCmTst, VCmGt, VCmGe, VCmHi, VCmHs,
    VMul,  // per lane (8 << imm bits): the low half of the product
    VConst,  // imm in both halves
    // Lanes of 8 << aux bits and general values: VExtract, a general
    // value, is lane imm of a (zero-extended); VInsert is a with lane imm
    // from b's low bits; VDup has b's low bits (8 << imm) in every lane.
    VExtract, VInsert, VDup,
    // Per lane of 8 << aux bits, shifted by imm: VShlI (imm < the lane
    // size), VLshrI, VAshrI (1 to the lane size).
    VShlI, VLshrI, VAshrI,
    // VWiden: the lanes of 8 << size bits of a's low half (`high`: its
    // upper half), sign- (`sign`) or zero-extended to twice the size (imm:
    // size | sign << 2 | high << 3). VNarrow: each lane of 16 << imm bits
    // cut to its low half, packed into the low 64 bits (the upper zero).
    VWiden, VNarrow,
    // Pairwise, lanes of 8 << imm bits: the low half of the result from
    // adjacent pairs of a, the upper from b's: sum, signed and unsigned
    // maximum and minimum.
    VAddP, VSMaxP, VUMaxP, VSMinP, VUMinP,
    // FP arithmetic per lane of a (n), b (m) and c (the accumulator):
    // imm's low byte the form (0x2 FADD, 0xa FSUB, 0x13 FMUL, 0x17 FDIV,
    // 0x1 FMLA, 0x9 FMLS: the interpreter's fp3_lane keys), 0x100 doubles
    // (else singles), 0x200 all 128 bits (else the low 64, the upper
    // zero), 0x400 lane 0 alone (the scalar forms; the rest zero); with
    // FPCR and FPSR, so its instruction ends the run (the
    // backend computes ordinary lanes in round to nearest, the handler
    // the rest).
    VFp,
    // Accesses of SIMD&FP registers, as Load..Store2 (imm bytes: 1-16; a
    // load's value zero-extended to 128 bits; b: a store's vector).
    VLoad, VLoad2, VStore, VStore2,
};
inline bool is_vec(Op op) { return op >= Op::VGet; }
// (the operations whose value is a vector: not VSet's, nor VExtract's)
inline bool vec_value(Op op) {
    return is_vec(op) && op != Op::VSet && op != Op::VExtract && op != Op::VStore && op != Op::VStore2;
}
inline bool is_access(Op op) {
    return (op >= Op::Load && op <= Op::Store2) || op == Op::ZeroBlock || (op >= Op::VLoad && op <= Op::VStore2);
}

enum BranchWhen : uint8_t { kAlways, kIfCond, kIfZero, kIfNonZero, kIfBitClear, kIfBitSet };

constexpr uint8_t kSp = 32;
constexpr uint32_t kNone = ~0u;

struct Inst {
    Op op = Op::Nop;
    bool w64 = true;
    uint8_t reg = 0;
    uint32_t a = kNone, b = kNone;  // operands: indices of earlier instructions
    uint64_t imm = 0;
    uint32_t insn = 0;              // which A64 instruction of the run made it (its index)
    uint32_t c = kNone;             // the third operand (Select, Adc, AdcS, CCmp, Branch)
    uint8_t aux = 0;                // (Branch: the bit tested, or a BR/BLR's BTYPE; Load, Store: the bytes checked)
};

// A run of instructions as IR: each Inst's index is its value.
struct Run {
    std::vector<Inst> code;
    // The last instruction that set NZCV (kNone: none), and whether with
    // an operation that leaves its flags in the host's (not CCmp).
    uint32_t flags_insn = kNone;
    bool flags_host = false;
    void clear() {
        code.clear();
        flags_insn = kNone;
        flags_host = false;
    }
    uint32_t emit(Inst i) {
        code.push_back(i);
        return static_cast<uint32_t>(code.size() - 1);
    }
    const Inst& at(uint32_t v) const { return code[v]; }
    bool is_const(uint32_t v) const { return code[v].op == Op::Const; }
    std::string dump() const;  // (for tests and -d out_asm-style debugging)
};

// The builder the semantics templates record into. Every method a
// template may call has a counterpart in the interpreter's builder.
// Forms the IR does not have (CRC32) make `ok` false: the caller drops
// what this instruction added and compiles it another way; `fresh` too
// says it would take it as a run's first instruction (a condition read
// where the NZCV the run has is not in the host flags).
class Builder {
public:
    using V = uint32_t;
    explicit Builder(Run& r) : r_(r) {}
    void start(uint32_t insn_index, int64_t pcoff) {
        insn_ = insn_index;
        pcoff_ = pcoff;
        ok = true;
        fresh = false;
        sets_flags = reads_flags = ends_run = uses_fp = false;
    }
    bool ok = true, fresh = false;

    V imm(uint64_t v) { return put({Op::Const, true, 0, kNone, kNone, v}); }
    V pc(int64_t off) { return put({Op::Pc, true, 0, kNone, kNone, static_cast<uint64_t>(pcoff_ + off)}); }
    V x(unsigned r) { return r == 31 ? imm(0) : put({Op::Get, true, static_cast<uint8_t>(r)}); }
    V x_or_sp(unsigned r) { return put({Op::Get, true, static_cast<uint8_t>(r == 31 ? kSp : r)}); }
    void set_x(unsigned r, V v) {
        if (r != 31) put({Op::Set, true, static_cast<uint8_t>(r), v});
    }
    void set_x_or_sp(unsigned r, V v) { put({Op::Set, true, static_cast<uint8_t>(r == 31 ? kSp : r), v}); }

    V add(V a, V b, bool w64) { return bin(Op::Add, a, b, w64); }
    V sub(V a, V b, bool w64) { return bin(Op::Sub, a, b, w64); }
    V and_(V a, V b, bool w64) { return bin(Op::And, a, b, w64); }
    V or_(V a, V b, bool w64) { return bin(Op::Or, a, b, w64); }
    V xor_(V a, V b, bool w64) { return bin(Op::Xor, a, b, w64); }
    V and_not(V a, V b, bool w64) { return bin(Op::AndNot, a, b, w64); }
    V shl(V a, unsigned n, bool w64) { return shift(Op::Shl, a, n, w64); }
    V lshr(V a, unsigned n, bool w64) { return shift(Op::Lshr, a, n, w64); }
    V ashr(V a, unsigned n, bool w64) { return shift(Op::Ashr, a, n, w64); }
    V ror(V a, unsigned n, bool w64) { return shift(Op::Ror, a, n, w64); }
    V extr(V lo, V hi, unsigned n, bool w64) { return put({Op::Extr, w64, 0, lo, hi, n}); }
    V sext(V a, unsigned bits, bool w64) { return put({Op::Sext, w64, 0, a, kNone, bits}); }
    V mul(V a, V b, bool w64) { return bin(Op::Mul, a, b, w64); }
    V mulh(V a, V b, bool is_signed) { return put({Op::MulHi, true, 0, a, b, is_signed}); }
    V bswap(V a, bool w64) { return put({Op::Bswap, w64, 0, a}); }
    V clz(V a, bool w64) { return put({Op::Clz, w64, 0, a}); }
    // type: LSL, LSR, ASR, ROR
    V shiftv(V a, V b, unsigned type, bool w64) {
        return bin(static_cast<Op>(static_cast<unsigned>(Op::ShlV) + type), a, b, w64);
    }
    V div(V a, V b, bool is_signed, bool w64) { return bin(is_signed ? Op::Sdiv : Op::Udiv, a, b, w64); }
    // Not in the IR: CRC32 (the handler runs it, or raises UNDEFINED
    // where the model lacks it).
    bool has_crc32() const { return true; }
    V crc32(V, V, unsigned, bool) { return fail(); }
    V add_sub_flags(V a, V b, bool sub, bool w64) { return producer(bin(sub ? Op::SubS : Op::AddS, a, b, w64), true); }
    V and_flags(V a, V b, bool w64) { return producer(bin(Op::AndS, a, b, w64), true); }
    // (an instruction's first call, where it reads NZCV)
    V cond(unsigned cc) {
        if (cc >= 14) return imm(1);  // AL, NV
        if (!r_.code.empty() && !(r_.flags_host && r_.flags_insn != kNone && r_.flags_insn + 1 == insn_)) {
            fresh = true;
            return fail();
        }
        reads_flags = true;
        return put({Op::Cond, true, 0, kNone, kNone, cc});
    }
    V select(V c, V x, V y, bool w64) { return tri(Op::Select, c, x, y, w64, 0); }
    V adc(V carry, V x, V y, bool sub, bool flags, bool w64) {
        V v = tri(flags ? Op::AdcS : Op::Adc, carry, x, y, w64, sub);
        return flags ? producer(v, true) : v;
    }
    void ccmp(V c, V x, V y, bool sub, unsigned nzcv, bool w64) {
        producer(tri(Op::CCmp, c, x, y, w64, nzcv | (sub ? 16u : 0u)), false);
    }
    bool sets_flags = false, reads_flags = false;  // (what the instruction built here does with NZCV)

    // Branches (the run's last instruction: ends_run), to the instruction
    // at `off` from this one: if c holds (a 0/1 value), if x is zero or
    // not, if x's bit n is clear or set, always (`call`: BL); or to the VA
    // in t (kind 0: BR, 1: BLR, 2: RET).
    void branch_cond(V c, int64_t off) {
        bool always = r_.code[c].op == Op::Const && r_.code[c].imm;  // (AL, NV)
        br(Op::Branch, always ? kAlways : kIfCond, always ? kNone : c, kNone, off);
    }
    void branch_zero(V x, bool nonzero, bool w64, int64_t off) {
        br(Op::Branch, nonzero ? kIfNonZero : kIfZero, kNone, x, off, 0, w64);
    }
    void branch_bit(V x, unsigned n, bool set, int64_t off) {
        br(Op::Branch, set ? kIfBitSet : kIfBitClear, kNone, x, off, static_cast<uint8_t>(n));
    }
    void branch(int64_t off, bool call) { br(call ? Op::Call : Op::Branch, kAlways, kNone, kNone, off); }
    void branch_reg(V t, unsigned kind) {
        Inst i{kind == 0 ? Op::Branch : kind == 1 ? Op::Call : Op::Ret, true, kAlways, kNone, t};
        i.aux = btype_;
        btype_ = 0;
        put(i);
        ends_run = true;
    }
    // FEAT_BTI (the CPU has it; the block is in a guarded page): the
    // BTYPE a BR or BLR sets rides on its branch (aux).
    bool bti = false, guarded = false;
    void branch_type(unsigned kind, unsigned n) {
        if (bti) btype_ = static_cast<uint8_t>(kind == 1 ? 2 : (n == 16 || n == 17 || !guarded) ? 1 : 3);
    }
    bool ends_run = false;

    V load(V addr, unsigned bytes, bool unpriv = false) { return access(Op::Load, addr, kNone, bytes, bytes, unpriv); }
    void store(V addr, unsigned bytes, V v, bool unpriv = false) { access(Op::Store, addr, v, bytes, bytes, unpriv); }
    void load_pair(V addr, unsigned bytes, V& first, V& second) {
        first = access(Op::Load, addr, kNone, bytes, 2 * bytes, 0);
        second = access(Op::Load2, first, kNone, bytes, 1, 0);
    }
    void store_pair(V addr, unsigned bytes, V x, V y) {
        access(Op::Store2, access(Op::Store, addr, x, bytes, 2 * bytes, 0), y, bytes, 1, 0);
    }
    static bool faulted() { return false; }  // (the backend's slow path runs the instruction again)
    V load_aligned(V addr, unsigned bytes) { return access(Op::Load, addr, kNone, bytes, bytes, 2); }
    void open_monitor(V addr, unsigned bytes, V value) { put({Op::Monitor, true, 0, addr, value, bytes}); }
    void dc_zva(V addr, uint32_t /*insn*/) { access(Op::ZeroBlock, addr, kNone, 0, 0, 0); }

    // AdvSIMD (the backend checks CPACR_EL1.FPEN before the run: uses_fp).
    using Vec = V;
    bool fp_enabled() {
        uses_fp = true;
        return true;
    }
    bool uses_fp = false;
    Vec v(unsigned r) { return put({Op::VGet, true, static_cast<uint8_t>(r)}); }
    void set_v(unsigned r, Vec a, bool q) {
        if (!q) a = put({Op::VZext64, true, 0, a});
        put({Op::VSet, true, static_cast<uint8_t>(r), a});
    }
    Vec vand(Vec a, Vec b) { return bin(Op::VAnd, a, b, true); }
    Vec vbic(Vec a, Vec b) { return bin(Op::VBic, a, b, true); }
    Vec vor(Vec a, Vec b) { return bin(Op::VOr, a, b, true); }
    Vec vorn(Vec a, Vec b) { return bin(Op::VOrn, a, b, true); }
    Vec vxor(Vec a, Vec b) { return bin(Op::VXor, a, b, true); }
    Vec vbsl(Vec sel, Vec a, Vec b) { return tri(Op::VBsl, sel, a, b, true, 0); }
    Vec vconst(uint64_t half) { return put({Op::VConst, true, 0, kNone, kNone, half}); }
    V vextract(Vec a, unsigned index, unsigned size) { return lane_op(Op::VExtract, a, kNone, index, size); }
    Vec vinsert(Vec a, V x, unsigned index, unsigned size) { return lane_op(Op::VInsert, a, x, index, size); }
    Vec vdup(V x, unsigned size) { return put({Op::VDup, true, 0, x, kNone, size}); }
    Vec vshift(Op op, Vec a, unsigned n, unsigned size) { return lane_op(op, a, kNone, n, size); }
    Vec vload(V addr, unsigned bytes) { return access(Op::VLoad, addr, kNone, bytes, bytes, 0); }
    void vstore(V addr, unsigned bytes, Vec v) { access(Op::VStore, addr, v, bytes, bytes, 0); }
    void vload_pair(V addr, unsigned bytes, Vec& first, Vec& second) {
        first = access(Op::VLoad, addr, kNone, bytes, 2 * bytes, 0);
        second = access(Op::VLoad2, first, kNone, bytes, 1, 0);
    }
    void vstore_pair(V addr, unsigned bytes, Vec x, Vec y) {
        access(Op::VStore2, access(Op::VStore, addr, x, bytes, 2 * bytes, 0), y, bytes, 1, 0);
    }
    // LD1/ST1 of n consecutive registers (`bytes` each) at addr; the
    // interpreter accesses them element by element (esize bytes).
    void vload_multi(V addr, unsigned bytes, unsigned n, unsigned /*esize*/, Vec* out) {
        out[0] = access(Op::VLoad, addr, kNone, bytes, n * bytes, 0);
        for (unsigned k = 1; k < n; ++k) out[k] = access(Op::VLoad2, out[0], kNone, bytes, k, 0);
    }
    void vstore_multi(V addr, unsigned bytes, unsigned n, unsigned /*esize*/, const Vec* v) {
        V first = access(Op::VStore, addr, v[0], bytes, n * bytes, 0);
        for (unsigned k = 1; k < n; ++k) access(Op::VStore2, first, v[k], bytes, k, 0);
    }
    // op: VAdd, VSub, VMul, a compare or a pairwise one; lanes of 8 << size bits
    Vec vlanes(Op op, Vec a, Vec b, unsigned size) { return put({op, true, 0, a, b, size}); }
    Vec vwiden(Vec a, unsigned size, bool sign, bool high) {
        return put({Op::VWiden, true, 0, a, kNone, size | (sign ? 4u : 0u) | (high ? 8u : 0u)});
    }
    Vec vnarrow(Vec a, unsigned size) { return put({Op::VNarrow, true, 0, a, kNone, size}); }
    Vec vfp(unsigned key, Vec n, Vec m, Vec d, bool dbl, bool q, bool scalar = false) {
        ends_run = true;
        return tri(Op::VFp, n, m, d, true, key | (dbl ? 0x100u : 0u) | (q ? 0x200u : 0u) | (scalar ? 0x400u : 0u));
    }

private:
    V put(Inst i) {
        i.insn = insn_;
        return r_.emit(i);
    }
    V bin(Op op, V a, V b, bool w64) { return put({op, w64, 0, a, b}); }
    V tri(Op op, V a, V b, V c, bool w64, uint64_t imm) {
        Inst i{op, w64, 0, a, b, imm};
        i.c = c;
        return put(i);
    }
    void br(Op op, uint8_t when, V a, V c, int64_t off, uint8_t bitno = 0, bool w64 = true) {
        Inst i{op, w64, when, a, kNone, static_cast<uint64_t>(pcoff_ + off)};
        i.c = c;
        i.aux = bitno;
        put(i);
        ends_run = true;
    }
    // (mode: the Inst's `reg`: 1 unprivileged, 2 aligned)
    V access(Op op, V a, V b, unsigned bytes, unsigned span, uint8_t mode) {
        Inst i{op, true, mode, a, b, bytes};
        i.aux = static_cast<uint8_t>(span);
        ends_run = true;
        return put(i);
    }
    V producer(V v, bool host) {
        sets_flags = true;
        r_.flags_insn = insn_;
        r_.flags_host = host;
        return v;
    }
    V shift(Op op, V a, unsigned n, bool w64) { return put({op, w64, 0, a, kNone, n}); }
    V lane_op(Op op, V a, V b, unsigned index, unsigned size) {
        Inst i{op, true, 0, a, b, index};
        i.aux = static_cast<uint8_t>(size);
        return put(i);
    }
    V fail() {
        ok = false;
        return imm(0);
    }
    Run& r_;
    uint32_t insn_ = 0;
    int64_t pcoff_ = 0;
    uint8_t btype_ = 0;  // (branch_type's, for branch_reg)
};

inline constexpr uint64_t width_mask(bool w64) { return w64 ? ~uint64_t{0} : 0xffffffffull; }

// What an operation gives for operands a, b and immediate n: the one
// definition of each operation's arithmetic, for the constant folding, the
// reference evaluator and the interpreter's builder (which calls it with
// the operation constant, so inlining leaves only that case).
inline uint64_t compute(Op op, bool w64, uint64_t a, uint64_t b, uint64_t n) {
    unsigned size = w64 ? 64 : 32;
    a &= width_mask(w64);
    b &= width_mask(w64);
    switch (op) {
    case Op::Add: case Op::AddS: return (a + b) & width_mask(w64);
    case Op::Sub: case Op::SubS: return (a - b) & width_mask(w64);
    case Op::And: case Op::AndS: return a & b;
    case Op::Or: return a | b;
    case Op::Xor: return a ^ b;
    case Op::AndNot: return a & ~b & width_mask(w64);
    case Op::Shl: return (a << n) & width_mask(w64);
    case Op::Lshr: return a >> n;
    case Op::Ashr:
        return w64 ? static_cast<uint64_t>(static_cast<int64_t>(a) >> n)
                   : static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(a)) >> n);
    case Op::Ror: return n ? ((a >> n) | (a << (size - n))) & width_mask(w64) : a;
    case Op::Extr: return n ? ((a >> n) | (b << (size - n))) & width_mask(w64) : a;
    case Op::Mul: return (a * b) & width_mask(w64);
    case Op::ShlV: case Op::LshrV: case Op::AshrV: case Op::RorV:
        return compute(static_cast<Op>(static_cast<unsigned>(op) - static_cast<unsigned>(Op::ShlV) +
                                       static_cast<unsigned>(Op::Shl)),
                       w64, a, 0, b % size);
    case Op::Udiv: return b == 0 ? 0 : a / b;
    case Op::Sdiv:
        if (b == 0) return 0;
        if (w64) {
            auto sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
            return sa == INT64_MIN && sb == -1 ? a : static_cast<uint64_t>(sa / sb);
        } else {
            auto sa = static_cast<int32_t>(a), sb = static_cast<int32_t>(b);
            return sa == INT32_MIN && sb == -1 ? a : static_cast<uint32_t>(sa / sb);
        }
    case Op::Bswap: return w64 ? __builtin_bswap64(a) : __builtin_bswap32(static_cast<uint32_t>(a));
    case Op::Clz: return a == 0 ? size : w64 ? __builtin_clzll(a) : __builtin_clz(static_cast<uint32_t>(a));
    case Op::MulHi:
        return n ? static_cast<uint64_t>((static_cast<__int128>(static_cast<int64_t>(a)) * static_cast<int64_t>(b)) >> 64)
                 : static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
    case Op::Sext: {
        uint64_t sign = uint64_t{1} << (n - 1), low = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
        return (((a & low) ^ sign) - sign) & width_mask(w64);
    }
    default: return 0;
    }
}

// A 128-bit AdvSIMD value (two little-endian halves).
struct V128 {
    uint64_t lo = 0, hi = 0;
    bool operator==(const V128&) const = default;
};

// What a vector operation (is_vec) gives for a, b, c: the one definition,
// for the reference evaluator and the interpreter's builder.
// (imm: the lane size, 8 << imm bits; VConst's value)
inline V128 vcompute(Op op, uint64_t imm, V128 a, V128 b, V128 c) {
    auto each = [](V128 x, V128 y, auto f) { return V128{f(x.lo, y.lo), f(x.hi, y.hi)}; };
    uint64_t size = imm;
    switch (op) {
    case Op::VConst: return {imm, imm};
    case Op::VZext64: return {a.lo, 0};
    case Op::VAnd: return each(a, b, [](uint64_t x, uint64_t y) { return x & y; });
    case Op::VBic: return each(a, b, [](uint64_t x, uint64_t y) { return x & ~y; });
    case Op::VOr: return each(a, b, [](uint64_t x, uint64_t y) { return x | y; });
    case Op::VOrn: return each(a, b, [](uint64_t x, uint64_t y) { return x | ~y; });
    case Op::VXor: return each(a, b, [](uint64_t x, uint64_t y) { return x ^ y; });
    case Op::VBsl: return {(a.lo & b.lo) | (~a.lo & c.lo), (a.hi & b.hi) | (~a.hi & c.hi)};
    default: break;
    }
    if (op == Op::VWiden) {
        unsigned from = imm & 3, fb = 8u << from;
        uint64_t src = imm & 8 ? a.hi : a.lo, fm = (uint64_t{1} << fb) - 1;
        auto wide = [&](unsigned k) {  // (lane k of the result, twice the size)
            uint64_t e = (src >> (k * fb)) & fm;
            if (imm & 4) e = static_cast<uint64_t>(static_cast<int64_t>(e << (64 - fb)) >> (64 - fb));
            return e & (fb == 32 ? ~uint64_t{0} : (uint64_t{1} << (2 * fb)) - 1);
        };
        V128 r;
        unsigned per = 32 / fb;  // (result lanes in a half)
        for (unsigned k = 0; k < per; ++k) {
            r.lo |= wide(k) << (k * 2 * fb);
            r.hi |= wide(per + k) << (k * 2 * fb);
        }
        return r;
    }
    if (op == Op::VNarrow) {
        unsigned nb = 8u << size;
        uint64_t nm = (uint64_t{1} << nb) - 1, out = 0;
        for (unsigned k = 0; k < 64 / nb; ++k) {
            unsigned at = k * 2 * nb;  // (the wide lane's bit in the 128-bit value)
            out |= (((at < 64 ? a.lo >> at : a.hi >> (at - 64))) & nm) << (k * nb);
        }
        return {out, 0};
    }
    unsigned bits = 8u << size;
    uint64_t m = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    if (op >= Op::VAddP && op <= Op::VUMinP) {
        auto pair = [&](uint64_t x, uint64_t y) -> uint64_t {
            auto sx = static_cast<int64_t>(x << (64 - bits)) >> (64 - bits);
            auto sy = static_cast<int64_t>(y << (64 - bits)) >> (64 - bits);
            switch (op) {
            case Op::VAddP: return (x + y) & m;
            case Op::VSMaxP: return sx > sy ? x : y;
            case Op::VUMaxP: return x > y ? x : y;
            case Op::VSMinP: return sx < sy ? x : y;
            default: return x < y ? x : y;
            }
        };
        auto half = [&](V128 s) {  // (the pairs of one operand: 64 bits)
            uint64_t r = 0;
            unsigned per = 64 / bits;
            for (unsigned k = 0; k < per; ++k) {
                unsigned at = 2 * k * bits;
                uint64_t x = ((at < 64 ? s.lo >> at : s.hi >> (at - 64))) & m;
                uint64_t y = ((at + bits < 64 ? s.lo >> (at + bits) : s.hi >> (at + bits - 64))) & m;
                r |= pair(x, y) << (k * bits);
            }
            return r;
        };
        return {half(a), half(b)};
    }
    auto lane = [&](uint64_t x, uint64_t y) -> uint64_t {
        auto sx = static_cast<int64_t>(x << (64 - bits)) >> (64 - bits);
        auto sy = static_cast<int64_t>(y << (64 - bits)) >> (64 - bits);
        bool t = false;
        switch (op) {
        case Op::VAdd: return (x + y) & m;
        case Op::VMul: return (x * y) & m;
        case Op::VSub: return (x - y) & m;
        case Op::VCmEq: t = x == y; break;
        case Op::VCmTst: t = (x & y) != 0; break;
        case Op::VCmGt: t = sx > sy; break;
        case Op::VCmGe: t = sx >= sy; break;
        case Op::VCmHi: t = x > y; break;
        case Op::VCmHs: t = x >= y; break;
        default: break;
        }
        return t ? m : 0;
    };
    auto half = [&](uint64_t x, uint64_t y) {
        uint64_t r = 0;
        for (unsigned at = 0; at < 64; at += bits) r |= lane((x >> at) & m, (y >> at) & m) << at;
        return r;
    };
    return {half(a.lo, b.lo), half(a.hi, b.hi)};
}

// Lane `index` of 8 << size bits of a, zero-extended; a with that lane
// from x; x's lane in every lane.
inline uint64_t vextract(V128 a, unsigned index, unsigned size) {
    unsigned bits = 8u << size, at = index * bits;
    uint64_t half = at < 64 ? a.lo : a.hi;
    return bits == 64 ? half : (half >> (at % 64)) & ((uint64_t{1} << bits) - 1);
}
inline V128 vinsert(V128 a, uint64_t x, unsigned index, unsigned size) {
    unsigned bits = 8u << size, at = index * bits;
    uint64_t m = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    uint64_t& half = at < 64 ? a.lo : a.hi;
    half = (half & ~(m << (at % 64))) | ((x & m) << (at % 64));
    return a;
}
// A vector shifted by n per lane of 8 << size bits (VShlI, VLshrI, VAshrI).
inline V128 vshift(Op op, V128 a, unsigned n, unsigned size) {
    unsigned bits = 8u << size;
    uint64_t m = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    auto half = [&](uint64_t x) {
        uint64_t r = 0;
        for (unsigned at = 0; at < 64; at += bits) {
            uint64_t e = (x >> at) & m, v;
            if (op == Op::VShlI) {
                v = (e << n) & m;
            } else if (op == Op::VLshrI) {
                v = n >= bits ? 0 : e >> n;
            } else {
                auto se = static_cast<int64_t>(e << (64 - bits)) >> (64 - bits);
                v = static_cast<uint64_t>(se >> (n >= bits ? bits - 1 : n)) & m;
            }
            r |= v << at;
        }
        return r;
    };
    return {half(a.lo), half(a.hi)};
}
inline V128 vdup(uint64_t x, unsigned size) {
    unsigned bits = 8u << size;
    uint64_t m = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    uint64_t half = (x & m) * (~uint64_t{0} / m);  // (~0 / m: 1 in each lane)
    return {half, half};
}

// The NZCV a flag-setting operation (AddS, SubS, AndS) gives for a, b.
inline uint32_t nzcv(Op op, bool w64, uint64_t a, uint64_t b) {
    if (op == Op::AndS) return a64::nz_flags(a & b, w64);
    return op == Op::SubS ? a64::add_with_carry(a, ~b, true, w64).nzcv : a64::add_with_carry(a, b, false, w64).nzcv;
}
inline bool sets_nzcv(Op op) { return op >= Op::AddS && op <= Op::CCmp; }

// Select: c ? x : y; Adc, AdcS: x + y + c (imm 1: x + ~y + c, SBC).
inline uint64_t compute3(Op op, bool w64, uint64_t c, uint64_t x, uint64_t y, uint64_t imm) {
    if (op == Op::Select) return (c ? x : y) & width_mask(w64);
    return a64::add_with_carry(x, imm & 1 ? ~y : y, c & 1, w64).value & width_mask(w64);
}
// The NZCV AdcS and CCmp give.
inline uint32_t nzcv3(Op op, bool w64, uint64_t c, uint64_t x, uint64_t y, uint64_t imm) {
    if (op == Op::AdcS) return a64::add_with_carry(x, imm & 1 ? ~y : y, c & 1, w64).nzcv;
    if (!c) return static_cast<uint32_t>(imm & 0xf) << 28;
    return nzcv(imm & 16 ? Op::SubS : Op::AddS, w64, x, y);
}

// The passes, in order (each keeps the run's meaning):
//  - dead flags: a flag-setting operation whose NZCV a later one in the
//    run replaces before a Cond reads it is made the plain operation
//    (CCmp: nothing);
//  - forward: a Get of a register the run has Set (or Got) is that value;
//  - fold: constants folded, identities removed (x+0, x|0, x&~0, shifts by
//    0, a 32-bit op on a value already zero-extended...), an AND of a
//    rotate with the mask of a plain shift made that shift;
//  - dead sets: a Set the run sets again before it ends is dropped (not
//    across an access, which may fault);
//  - dead code: values nothing uses are dropped.
void optimize(Run& r);

// Evaluates a run on `x` (X0-X30 then SP) and `nzcv` with the block at
// `block_va`: the reference the unit tests hold the passes and the backend
// to. A branch taken sets *to (if given) to its target; accesses go to
// `mem` (bytes from VA 0; none without it).
// `vregs`: V0-V31 (none without it: vector operations are skipped).
// Not modelled: VFp (FPCR, FPSR, Arm's NaN rules: the interpreter's; its
// value is zero here) and ZeroBlock (the block size is the model's).
void evaluate(const Run& r, uint64_t (&x)[33], uint32_t& nzcv, uint64_t block_va, uint64_t* to = nullptr,
              std::vector<uint8_t>* mem = nullptr, V128* vregs = nullptr);

}  // namespace armvm::ir
