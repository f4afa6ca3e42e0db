// The interpreter's builder for the semantics templates of
// cpu-arm64/ir/sem.hpp: every operation done at once on the CPU state
// (values are uint64_t; with everything inline, the generic executors
// compile to what they were when written out by hand).
#pragma once
#include <cstdint>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/ir/ir.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::a64 {

// DC ZVA's zeroing: the DCZID_EL0 block at va, aligned (system.cpp).
void zero_block(Cpu& c, uint64_t va);
// FP three-same form `key` on the lanes of singles or doubles (fp.cpp).
ir::V128 fp3_vector(Cpu& c, unsigned key, bool dbl, bool q, bool scalar, ir::V128 n, ir::V128 m, ir::V128 d);

class InterpBuilder {
public:
    using V = uint64_t;
    explicit InterpBuilder(Cpu& c) : c_(c), pc_(c.s.pc) {}
    InterpBuilder(Cpu& c, uint64_t pc) : c_(c), pc_(pc) {}  // (the instruction's VA, where s.pc is not it)

    V imm(uint64_t v) const { return v; }
    V pc(int64_t off) const { return pc_ + static_cast<uint64_t>(off); }
    V x(unsigned r) const { return c_.x(r); }
    V x_or_sp(unsigned r) const { return c_.x_or_sp(r); }
    void set_x(unsigned r, V v) { c_.set_x(r, v); }
    void set_x_or_sp(unsigned r, V v) { c_.set_x_or_sp(r, v); }

    // (the arithmetic is ir::compute's: one definition for both)
    static V add(V a, V b, bool w64) { return ir::compute(ir::Op::Add, w64, a, b, 0); }
    static V sub(V a, V b, bool w64) { return ir::compute(ir::Op::Sub, w64, a, b, 0); }
    static V and_(V a, V b, bool w64) { return ir::compute(ir::Op::And, w64, a, b, 0); }
    static V or_(V a, V b, bool w64) { return ir::compute(ir::Op::Or, w64, a, b, 0); }
    static V xor_(V a, V b, bool w64) { return ir::compute(ir::Op::Xor, w64, a, b, 0); }
    static V and_not(V a, V b, bool w64) { return ir::compute(ir::Op::AndNot, w64, a, b, 0); }
    static V shl(V a, unsigned n, bool w64) { return ir::compute(ir::Op::Shl, w64, a, 0, n); }
    static V lshr(V a, unsigned n, bool w64) { return ir::compute(ir::Op::Lshr, w64, a, 0, n); }
    static V ashr(V a, unsigned n, bool w64) { return ir::compute(ir::Op::Ashr, w64, a, 0, n); }
    static V ror(V a, unsigned n, bool w64) { return ir::compute(ir::Op::Ror, w64, a, 0, n); }
    static V extr(V lo, V hi, unsigned n, bool w64) { return ir::compute(ir::Op::Extr, w64, lo, hi, n); }
    static V sext(V a, unsigned bits, bool w64) { return ir::compute(ir::Op::Sext, w64, a, 0, bits); }
    static V mul(V a, V b, bool w64) { return ir::compute(ir::Op::Mul, w64, a, b, 0); }
    static V mulh(V a, V b, bool is_signed) { return ir::compute(ir::Op::MulHi, true, a, b, is_signed); }
    static V bswap(V a, bool w64) { return ir::compute(ir::Op::Bswap, w64, a, 0, 0); }
    static V clz(V a, bool w64) { return ir::compute(ir::Op::Clz, w64, a, 0, 0); }
    static V shiftv(V a, V b, unsigned type, bool w64) {
        return ir::compute(static_cast<ir::Op>(static_cast<unsigned>(ir::Op::ShlV) + type), w64, a, b, 0);
    }
    static V div(V a, V b, bool is_signed, bool w64) {
        return ir::compute(is_signed ? ir::Op::Sdiv : ir::Op::Udiv, w64, a, b, 0);
    }
    bool has_crc32() const { return (c_.ids.id_aa64isar0 >> 16) & 0xf; }
    // CRC32{B,H,W,X} (sz 0-3) of acc and data; CRC-32C with `castagnoli`.
    static V crc32(V acc64, V data, unsigned sz, bool castagnoli) {
        uint32_t poly = castagnoli ? 0x82f63b78u : 0xedb88320u;  // (reflected)
        auto acc = static_cast<uint32_t>(acc64);
        for (unsigned byte = 0; byte < (1u << sz); ++byte) {
            acc ^= static_cast<uint8_t>(data >> (8 * byte));
            for (int k = 0; k < 8; ++k) acc = (acc >> 1) ^ ((acc & 1) ? poly : 0);
        }
        return acc;
    }
    V add_sub_flags(V a, V b, bool sub, bool w64) {
        ir::Op op = sub ? ir::Op::SubS : ir::Op::AddS;
        c_.s.nzcv = ir::nzcv(op, w64, a, b);
        return ir::compute(op, w64, a, b, 0);
    }
    V and_flags(V a, V b, bool w64) {
        c_.s.nzcv = ir::nzcv(ir::Op::AndS, w64, a, b);
        return ir::compute(ir::Op::AndS, w64, a, b, 0);
    }
    V cond(unsigned cc) const { return condition_holds(cc, c_.s.nzcv); }
    static V select(V c, V x, V y, bool w64) { return ir::compute3(ir::Op::Select, w64, c, x, y, 0); }
    V adc(V carry, V x, V y, bool sub, bool flags, bool w64) {
        if (flags) c_.s.nzcv = ir::nzcv3(ir::Op::AdcS, w64, carry, x, y, sub);
        return ir::compute3(ir::Op::Adc, w64, carry, x, y, sub);
    }
    void branch_cond(V c, int64_t off) {
        if (c) c_.branch_to(pc(off));
    }
    void branch_zero(V x, bool nonzero, bool w64, int64_t off) {
        branch_cond(((x & mask_for(w64)) != 0) == nonzero, off);
    }
    void branch_bit(V x, unsigned n, bool set, int64_t off) { branch_cond(((x >> n) & 1) == set, off); }
    void branch(int64_t off, bool) { branch_cond(1, off); }
    void branch_reg(V t, unsigned) { c_.branch_to(t); }
    void branch_type(unsigned kind, unsigned n) {
        if (c_.has_bti()) c_.s.btype = c_.btype_of(kind, n, c_.guarded_at(pc_));
    }
    V load(V addr, unsigned bytes, bool unpriv = false) {
        uint64_t v = 0;
        if (!(unpriv && c_.unprivileged_as_el0() ? c_.load_unpriv(addr, bytes, v) : c_.load(addr, bytes, v)))
            faulted_ = true;
        return v;
    }
    void store(V addr, unsigned bytes, V v, bool unpriv = false) {
        if (!(unpriv && c_.unprivileged_as_el0() ? c_.store_unpriv(addr, bytes, v) : c_.store(addr, bytes, v)))
            faulted_ = true;
    }
    void load_pair(V addr, unsigned bytes, V& first, V& second) {
        first = load(addr, bytes);
        if (!faulted_) second = load(addr + bytes, bytes);
    }
    void store_pair(V addr, unsigned bytes, V x, V y) {
        store(addr, bytes, x);
        if (!faulted_) store(addr + bytes, bytes, y);
    }
    bool faulted() const { return faulted_; }
    V load_aligned(V addr, unsigned bytes) {
        if (!c_.check_aligned(addr, bytes, false)) {
            faulted_ = true;
            return 0;
        }
        return load(addr, bytes);
    }
    void open_monitor(V addr, unsigned bytes, V value) { c_.open_monitor(addr, bytes, value, 0); }
    void dc_zva(V addr, uint32_t insn) {
        if (c_.s.el == 0 && !((c_.s.sctlr_el1 >> 14) & 1)) return c_.trap_sysreg(insn);  // SCTLR_EL1.DZE
        zero_block(c_, addr);
    }
    void ccmp(V c, V x, V y, bool sub, unsigned nzcv, bool w64) {
        c_.s.nzcv = ir::nzcv3(ir::Op::CCmp, w64, c, x, y, nzcv | (sub ? 16u : 0u));
    }

    using Vec = ir::V128;
    bool fp_enabled() const { return c_.fp_enabled(); }
    Vec v(unsigned r) const { return {c_.s.v[r][0], c_.s.v[r][1]}; }
    void set_v(unsigned r, Vec a, bool q) {
        c_.s.v[r][0] = a.lo;
        c_.s.v[r][1] = q ? a.hi : 0;
    }
    static Vec vand(Vec a, Vec b) { return ir::vcompute(ir::Op::VAnd, 0, a, b, {}); }
    static Vec vbic(Vec a, Vec b) { return ir::vcompute(ir::Op::VBic, 0, a, b, {}); }
    static Vec vor(Vec a, Vec b) { return ir::vcompute(ir::Op::VOr, 0, a, b, {}); }
    static Vec vorn(Vec a, Vec b) { return ir::vcompute(ir::Op::VOrn, 0, a, b, {}); }
    static Vec vxor(Vec a, Vec b) { return ir::vcompute(ir::Op::VXor, 0, a, b, {}); }
    static Vec vbsl(Vec sel, Vec a, Vec b) { return ir::vcompute(ir::Op::VBsl, 0, sel, a, b); }
    static Vec vlanes(ir::Op op, Vec a, Vec b, unsigned size) { return ir::vcompute(op, size, a, b, {}); }
    static Vec vwiden(Vec a, unsigned size, bool sign, bool high) {
        return ir::vcompute(ir::Op::VWiden, size | (sign ? 4u : 0u) | (high ? 8u : 0u), a, {}, {});
    }
    static Vec vnarrow(Vec a, unsigned size) { return ir::vcompute(ir::Op::VNarrow, size, a, {}, {}); }
    static Vec vconst(uint64_t half) { return {half, half}; }
    Vec vfp(unsigned key, Vec n, Vec m, Vec d, bool dbl, bool q, bool scalar = false) {
        return fp3_vector(c_, key, dbl, q, scalar, n, m, d);
    }
    static V vextract(Vec a, unsigned index, unsigned size) { return ir::vextract(a, index, size); }
    static Vec vinsert(Vec a, V x, unsigned index, unsigned size) { return ir::vinsert(a, x, index, size); }
    static Vec vdup(V x, unsigned size) { return ir::vdup(x, size); }
    static Vec vshift(ir::Op op, Vec a, unsigned n, unsigned size) { return ir::vshift(op, a, n, size); }
    Vec vload(V addr, unsigned bytes) {  // (16 bytes: two 8-byte accesses)
        Vec r;
        if (!(bytes == 16 ? c_.load(addr, 8, r.lo) && c_.load(addr + 8, 8, r.hi) : c_.load(addr, bytes, r.lo)))
            faulted_ = true;
        return r;
    }
    void vstore(V addr, unsigned bytes, Vec v) {
        if (!(bytes == 16 ? c_.store(addr, 8, v.lo) && c_.store(addr + 8, 8, v.hi) : c_.store(addr, bytes, v.lo)))
            faulted_ = true;
    }
    void vload_pair(V addr, unsigned bytes, Vec& first, Vec& second) {
        first = vload(addr, bytes);
        if (!faulted_) second = vload(addr + bytes, bytes);
    }
    void vstore_pair(V addr, unsigned bytes, Vec x, Vec y) {
        vstore(addr, bytes, x);
        if (!faulted_) vstore(addr + bytes, bytes, y);
    }
    // (element by element, as the architecture orders them: a device sees
    // accesses of the element size, a store that faults has written the
    // elements before)
    void vload_multi(V addr, unsigned bytes, unsigned n, unsigned esize, Vec* out) {
        auto size = static_cast<unsigned>(__builtin_ctz(esize));
        for (unsigned k = 0; k < n; ++k) {
            out[k] = {};
            for (unsigned e = 0; e < bytes / esize; ++e, addr += esize) {
                uint64_t x;
                if (!c_.load(addr, esize, x)) {
                    faulted_ = true;
                    return;
                }
                out[k] = ir::vinsert(out[k], x, e, size);
            }
        }
    }
    void vstore_multi(V addr, unsigned bytes, unsigned n, unsigned esize, const Vec* v) {
        auto size = static_cast<unsigned>(__builtin_ctz(esize));
        for (unsigned k = 0; k < n; ++k)
            for (unsigned e = 0; e < bytes / esize; ++e, addr += esize)
                if (!c_.store(addr, esize, ir::vextract(v[k], e, size))) {
                    faulted_ = true;
                    return;
                }
    }

private:
    Cpu& c_;
    uint64_t pc_;
    bool faulted_ = false;
};

// An executor made of a semantics template: UNDEFINED where it says so.
template <bool (*Sem)(InterpBuilder&, uint32_t)>
void run_sem(Cpu& c, uint32_t i) {
    InterpBuilder b(c);
    if (!Sem(b, i)) c.undefined();
}

}  // namespace armvm::a64
