// Loads and stores of general-purpose registers (ARM ARM C4.1.5): literal,
// unsigned offset, unscaled/pre/post-indexed/unprivileged, register
// offset, pairs, exclusives and load-acquire/store-release.
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"

namespace armvm::a64 {

// The semantics of ir/sem.hpp (which the JIT compiles too), run on the
// CPU state.
void exec_LDR_lit(Cpu& c, uint32_t i) { run_sem<sem::ldr_lit<InterpBuilder>>(c, i); }
void exec_LDST_uimm(Cpu& c, uint32_t i) { run_sem<sem::ldst_uimm<InterpBuilder>>(c, i); }
void exec_LDST_imm9(Cpu& c, uint32_t i) { run_sem<sem::ldst_imm9<InterpBuilder>>(c, i); }
void exec_LDST_reg(Cpu& c, uint32_t i) { run_sem<sem::ldst_reg<InterpBuilder>>(c, i); }
void exec_LDST_pair(Cpu& c, uint32_t i) { run_sem<sem::ldst_pair<InterpBuilder>>(c, i); }

namespace {

// CAS{A}{L}{B,H} and CASP{A}{L} (FEAT_LSE): compare with Rs(+1), store
// Rt(+1) if equal, Rs(+1) receive the old value. Ordering bits need no
// work: the interpreter does one access at a time and the swap is
// sequentially consistent.
void compare_and_swap(Cpu& c, uint32_t i) {
    if (!c.has_lse()) return c.undefined();
    bool pair = !bit(i, 23);
    unsigned size = pair ? 2 + bit(i, 30) : bits(i, 31, 30);
    unsigned rs = bits(i, 20, 16), rn = bits(i, 9, 5), rt = bits(i, 4, 0);
    if (pair && ((rs & 1) || (rt & 1))) return c.undefined();
    unsigned bytes = 1u << size, total = pair ? bytes * 2 : bytes;
    uint64_t addr = c.x_or_sp(rn);
    if (!c.check_aligned(addr, total, true)) return;
    uint64_t pa;
    if (!c.translate(addr, Cpu::Access::Write, pa)) return;  // a CAS needs write permission even when it fails
    uint64_t m = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
    uint64_t exp_lo = c.x(rs) & m, exp_hi = pair ? c.x(rs + 1) & m : 0;
    uint64_t new_lo = c.x(rt) & m, new_hi = pair ? c.x(rt + 1) & m : 0;
    uint64_t old_lo, old_hi = 0;
    for (;;) {
        if (!c.load(addr, bytes, old_lo) || (pair && !c.load(addr + bytes, bytes, old_hi))) return;
        if (old_lo != exp_lo || old_hi != exp_hi) break;
        bool swapped;
        if (pair && size == 2)
            swapped = c.exclusive_store(addr, 8, old_lo | (old_hi << 32), new_lo | (new_hi << 32), 0, 0);
        else if (pair)
            swapped = c.exclusive_store(addr, 16, old_lo, new_lo, old_hi, new_hi);
        else
            swapped = c.exclusive_store(addr, bytes, old_lo, new_lo, 0, 0);
        if (c.exception_pending()) return;
        if (swapped) break;
    }
    c.set_x(rs, old_lo);
    if (pair) c.set_x(rs + 1, old_hi);
}

}  // namespace

// LD<op>{A}{L}, SWP{A}{L} (FEAT_LSE): atomic read-modify-write, Rt gets
// the old value.
void exec_LDST_atomic(Cpu& c, uint32_t i) {
    unsigned size = bits(i, 31, 30), o3 = bit(i, 15), opc = bits(i, 14, 12);
    unsigned rs = bits(i, 20, 16), rn = bits(i, 9, 5), rt = bits(i, 4, 0);
    if (o3 && opc == 4 && bits(i, 23, 22) == 2 && rs == 31) {  // LDAPR{B,H} (FEAT_LRCPC): as LDAR here
        if (!c.has_lrcpc()) return c.undefined();
        uint64_t addr = c.x_or_sp(rn), v;
        if (c.check_aligned(addr, 1u << size, false) && c.load(addr, 1u << size, v)) c.set_x(rt, v);
        return;
    }
    if (!c.has_lse() || (o3 && opc != 0)) return c.undefined();
    unsigned bytes = 1u << size;
    uint64_t addr = c.x_or_sp(rn);
    if (!c.check_aligned(addr, bytes, true)) return;
    uint64_t pa;
    if (!c.translate(addr, Cpu::Access::Write, pa)) return;
    uint64_t m = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
    uint64_t operand = c.x(rs) & m, old, nv;
    for (;;) {
        if (!c.load(addr, bytes, old)) return;
        int64_t so = sext(old, 8 * bytes), sv = sext(operand, 8 * bytes);
        switch (o3 ? 8 : opc) {
        case 0: nv = old + operand; break;                  // LDADD
        case 1: nv = old & ~operand; break;                 // LDCLR
        case 2: nv = old ^ operand; break;                  // LDEOR
        case 3: nv = old | operand; break;                  // LDSET
        case 4: nv = so > sv ? old : operand; break;        // LDSMAX
        case 5: nv = so < sv ? old : operand; break;        // LDSMIN
        case 6: nv = old > operand ? old : operand; break;  // LDUMAX
        case 7: nv = old < operand ? old : operand; break;  // LDUMIN
        default: nv = operand; break;                       // SWP
        }
        bool swapped = c.exclusive_store(addr, bytes, old, nv & m, 0, 0);
        if (c.exception_pending()) return;
        if (swapped) break;
    }
    c.set_x(rt, old);
}

void exec_LDST_excl(Cpu& c, uint32_t i) {
    {  // (LDAR, LDXR, LDAXR: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        sem::Outcome o = sem::ldst_excl(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    unsigned size = bits(i, 31, 30), o2 = bit(i, 23), load = bit(i, 22), o1 = bit(i, 21);
    unsigned rs = bits(i, 20, 16), rt2 = bits(i, 14, 10), rn = bits(i, 9, 5), rt = bits(i, 4, 0);
    unsigned bytes = 1u << size;
    uint64_t addr = c.x_or_sp(rn);
    if (o1 && rt2 == 31 && (o2 || size < 2)) return compare_and_swap(c, i);  // CAS, CASP (LSE)
    if (o2 && o1) return c.undefined();
    if (o2) {
        // LDAR/LDLAR and STLR/STLLR (FEAT_LOR; no LORegions here: as LDAR
        // and STLR): single-copy atomic, ordered. The interpreter runs one
        // instruction at a time, so order holds.
        if (!bit(i, 15) && !c.has_lor()) return c.undefined();
        if (!c.check_aligned(addr, bytes, !load)) return;
        if (load) {  // (LDLAR; LDAR is the template's)
            uint64_t v;
            if (c.load(addr, bytes, v)) c.set_x(rt, v);
        } else if (c.store(addr, bytes, c.x(rt))) {
            c.signal_waiters();  // a release (unlock): wake CPUs waiting in WFE
        }
        return;
    }
    bool pair = o1;
    if (pair && size < 2) return c.undefined();
    unsigned total = pair ? bytes * 2 : bytes;
    if (!c.check_aligned(addr, total, !load)) return;  // exclusives must be aligned
    if (load) {  // (LDXP, LDAXP; one register: the template's)
        uint64_t a, b = 0;
        if (!c.load(addr, bytes, a)) return;
        if (pair && !c.load(addr + bytes, bytes, b)) return;
        c.open_monitor(addr, total, a, b);
        c.set_x(rt, a);
        if (pair) c.set_x(rt2, b);
        return;
    }
    // Store-exclusive: needs a matching open monitor, then succeeds if
    // memory still holds what the load-exclusive read.
    bool ok = c.s.excl_valid && c.s.excl_addr == addr && c.s.excl_size == total;
    c.set_monitor(false);
    if (ok) {
        uint64_t v = c.x(rt), v2 = pair ? c.x(rt2) : 0;
        if (pair && size == 2) {  // two words: one 64-bit swap
            v = static_cast<uint32_t>(v) | (v2 << 32);
            ok = c.exclusive_store(addr, 8, c.s.excl_value | (c.s.excl_value_hi << 32), v, 0, 0);
        } else if (pair) {
            ok = c.exclusive_store(addr, 16, c.s.excl_value, v, c.s.excl_value_hi, v2);
        } else {
            ok = c.exclusive_store(addr, bytes, c.s.excl_value, v, 0, 0);
        }
        if (c.exception_pending()) return;
    }
    c.set_w(rs, ok ? 0 : 1);
}

// LDAPUR{B,H,SB,SH,SW}, STLUR{B,H} (FEAT_LRCPC2): LDAPR and STLR with an
// unscaled signed offset; aligned as they are.
void exec_LDAPUR_STLUR(Cpu& c, uint32_t i) {
    unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22), rn = bits(i, 9, 5), rt = bits(i, 4, 0);
    if (!c.has_lrcpc2() || (opc == 2 && size == 3) || (opc == 3 && size >= 2)) return c.undefined();
    unsigned bytes = 1u << size;
    uint64_t addr = c.x_or_sp(rn) + static_cast<uint64_t>(sext(bits(i, 20, 12), 9));
    if (!c.check_aligned(addr, bytes, opc == 0)) return;
    if (opc == 0) {
        if (c.store(addr, bytes, c.x(rt))) c.signal_waiters();  // (a release)
        return;
    }
    uint64_t v;
    if (!c.load(addr, bytes, v)) return;
    if (opc >= 2) {  // sign-extended to 64 bits (opc 2) or 32
        v = static_cast<uint64_t>(sext(v, 8 * bytes));
        if (opc == 3) v &= 0xffffffffull;
    }
    c.set_x(rt, v);
}

}  // namespace armvm::a64
