// Loads and stores of SIMD&FP registers (ARM ARM C4.1.66, C7.2): B/H/S/D/Q
// registers by immediate, register offset, pre/post-index and literal;
// pairs; and the AdvSIMD structure forms LD1-4/ST1-4 (multiple
// structures, single lane, and replicate). Every one first checks
// CPACR_EL1.FPEN. A write to a B/H/S/D register clears the rest of V.
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"
#include "cpu-arm64/translate/vreg.hpp"

namespace armvm::a64 {

// (The single-register forms and pairs: ir/sem.hpp, for the interpreter
// and the JIT.)
void exec_LDR_lit_fp(Cpu& c, uint32_t i) { run_sem<sem::ldr_lit_fp<InterpBuilder>>(c, i); }
void exec_LDST_uimm_fp(Cpu& c, uint32_t i) { run_sem<sem::ldst_uimm_fp<InterpBuilder>>(c, i); }
void exec_LDST_imm9_fp(Cpu& c, uint32_t i) { run_sem<sem::ldst_imm9_fp<InterpBuilder>>(c, i); }
void exec_LDST_reg_fp(Cpu& c, uint32_t i) { run_sem<sem::ldst_reg_fp<InterpBuilder>>(c, i); }
void exec_LDST_pair_fp(Cpu& c, uint32_t i) { run_sem<sem::ldst_pair_fp<InterpBuilder>>(c, i); }

namespace {

// LD2-4/ST2-4 (multiple structures; LD1/ST1: ir/sem.hpp, for the
// interpreter and the JIT): opcode -> elements per structure, else 0.
unsigned interleave(unsigned opcode) {
    return opcode == 0x0 ? 4 : opcode == 0x4 ? 3 : opcode == 0x8 ? 2 : 0;
}

void ldst_multi(Cpu& c, uint32_t i, bool post) {
    {
        InterpBuilder b(c);
        if (sem::ldst_multi(b, i, post) != sem::Outcome::Uncovered) return;
    }
    unsigned q = bit(i, 30), load = bit(i, 22), opcode = bits(i, 15, 12), size = bits(i, 11, 10);
    unsigned rn = bits(i, 9, 5), rt = bits(i, 4, 0), rm = bits(i, 20, 16);
    unsigned selem = interleave(opcode);
    if (!selem || (size == 3 && q == 0)) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << size, elements = (q ? 16 : 8) / esize;
    uint64_t base = c.x_or_sp(rn), addr = base;
    // Loads go to copies first: a fault leaves the registers as they were.
    uint64_t regs[4][2];
    for (unsigned r = 0; r < 4; ++r) {
        regs[r][0] = c.s.v[(rt + r) % 32][0];
        regs[r][1] = c.s.v[(rt + r) % 32][1];
    }
    for (unsigned e = 0; e < elements; ++e)
        for (unsigned s = 0; s < selem; ++s) {
            unsigned t = (rt + s) % 32;
            if (load) {
                uint64_t v;
                if (!c.load(addr, esize, v)) goto fault;
                set_elem(c, t, e, esize, v);
            } else if (!c.store(addr, esize, get_elem(c, t, e, esize))) {
                return;
            }
            addr += esize;
        }
    if (load && !q)  // 64-bit arrangements clear the upper halves
        for (unsigned r = 0; r < selem; ++r) c.s.v[(rt + r) % 32][1] = 0;
    if (post) c.set_x_or_sp(rn, base + (rm == 31 ? addr - base : c.x(rm)));
    return;
fault:
    for (unsigned r = 0; r < 4; ++r) {
        c.s.v[(rt + r) % 32][0] = regs[r][0];
        c.s.v[(rt + r) % 32][1] = regs[r][1];
    }
}

// LD1-4/ST1-4 (single structure) and LD1R-LD4R.
void ldst_single(Cpu& c, uint32_t i, bool post) {
    unsigned q = bit(i, 30), load = bit(i, 22), r = bit(i, 21), opc = bits(i, 15, 13), s = bit(i, 12);
    unsigned size = bits(i, 11, 10), rn = bits(i, 9, 5), rt = bits(i, 4, 0), rm = bits(i, 20, 16);
    unsigned selem = ((opc & 1) << 1 | r) + 1;
    unsigned scale = opc >> 1, index;
    bool replicate = false;
    switch (scale) {
    case 3:  // LD1R..LD4R
        if (!load || s) return c.undefined();
        scale = size;
        replicate = true;
        index = 0;
        break;
    case 0: index = (q << 3) | (s << 2) | size; break;
    case 1:
        if (size & 1) return c.undefined();
        index = (q << 2) | (s << 1) | (size >> 1);
        break;
    default:  // 2
        if (size & 2) return c.undefined();
        if (size & 1) {
            if (s) return c.undefined();
            scale = 3;
            index = q;
        } else {
            index = (q << 1) | s;
        }
        break;
    }
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << scale;
    uint64_t base = c.x_or_sp(rn), addr = base;
    uint64_t vals[4];
    for (unsigned k = 0; k < selem; ++k, addr += esize) {
        unsigned t = (rt + k) % 32;
        if (load) {
            if (!c.load(addr, esize, vals[k])) return;  // nothing written yet
        } else if (!c.store(addr, esize, get_elem(c, t, index, esize))) {
            return;
        }
    }
    if (load)
        for (unsigned k = 0; k < selem; ++k) {
            unsigned t = (rt + k) % 32;
            if (replicate) {
                unsigned n = (q ? 16 : 8) / esize;
                c.s.v[t][0] = c.s.v[t][1] = 0;
                for (unsigned e = 0; e < n; ++e) set_elem(c, t, e, esize, vals[k]);
            } else {
                set_elem(c, t, index, esize, vals[k]);
            }
        }
    if (post) c.set_x_or_sp(rn, base + (rm == 31 ? addr - base : c.x(rm)));
}

}  // namespace

void exec_LDST_multi(Cpu& c, uint32_t i) { ldst_multi(c, i, false); }
void exec_LDST_multi_post(Cpu& c, uint32_t i) { ldst_multi(c, i, true); }
void exec_LDST_single(Cpu& c, uint32_t i) { ldst_single(c, i, false); }
void exec_LDST_single_post(Cpu& c, uint32_t i) { ldst_single(c, i, true); }

}  // namespace armvm::a64
