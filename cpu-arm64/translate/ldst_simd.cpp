// Loads and stores of SIMD&FP registers (ARM ARM C4.1.66, C7.2): B/H/S/D/Q
// registers by immediate, register offset, pre/post-index and literal;
// pairs; and the AdvSIMD structure forms LD1-4/ST1-4 (multiple
// structures, single lane, and replicate). Every one first checks
// CPACR_EL1.FPEN. A write to a B/H/S/D register clears the rest of V.
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/vreg.hpp"

namespace armvm::a64 {

namespace {

// Loads `bytes` (1..16) at addr into V[t], zeroing what lies above.
bool load_v(Cpu& c, unsigned t, unsigned bytes, uint64_t addr) {
    uint64_t lo, hi = 0;
    if (bytes == 16) {
        if (!c.load(addr, 8, lo) || !c.load(addr + 8, 8, hi)) return false;
    } else if (!c.load(addr, bytes, lo)) {
        return false;
    }
    c.s.v[t][0] = lo;
    c.s.v[t][1] = hi;
    return true;
}

bool store_v(Cpu& c, unsigned t, unsigned bytes, uint64_t addr) {
    if (bytes == 16) return c.store(addr, 8, c.s.v[t][0]) && c.store(addr + 8, 8, c.s.v[t][1]);
    return c.store(addr, bytes, c.s.v[t][0]);
}

// size:opc of the single-register forms: the access size in bytes, or 0
// for an unallocated combination. opc bit 0 is L.
unsigned fp_bytes(unsigned size, unsigned opc) {
    if (opc >= 2) return size == 0 ? 16 : 0;
    return 1u << size;
}

}  // namespace

void exec_LDR_lit_fp(Cpu& c, uint32_t i) {
    unsigned opc = bits(i, 31, 30);
    if (opc == 3) return c.undefined();
    if (!c.fp_enabled()) return;
    load_v(c, bits(i, 4, 0), 4u << opc, c.s.pc + (sext(bits(i, 23, 5), 19) << 2));
}

void exec_LDST_uimm_fp(Cpu& c, uint32_t i) {
    unsigned bytes = fp_bytes(bits(i, 31, 30), bits(i, 23, 22));
    if (!bytes) return c.undefined();
    if (!c.fp_enabled()) return;
    uint64_t addr = c.x_or_sp(bits(i, 9, 5)) + static_cast<uint64_t>(bits(i, 21, 10)) * bytes;
    if (bit(i, 22))
        load_v(c, bits(i, 4, 0), bytes, addr);
    else
        store_v(c, bits(i, 4, 0), bytes, addr);
}

void exec_LDST_imm9_fp(Cpu& c, uint32_t i) {
    unsigned bytes = fp_bytes(bits(i, 31, 30), bits(i, 23, 22)), mode = bits(i, 11, 10), rn = bits(i, 9, 5);
    if (!bytes || mode == 2) return c.undefined();  // (no unprivileged SIMD&FP form)
    if (!c.fp_enabled()) return;
    int64_t off = sext(bits(i, 20, 12), 9);
    uint64_t base = c.x_or_sp(rn);
    uint64_t addr = mode == 1 ? base : base + off;
    bool ok = bit(i, 22) ? load_v(c, bits(i, 4, 0), bytes, addr) : store_v(c, bits(i, 4, 0), bytes, addr);
    if (ok && mode != 0) c.set_x_or_sp(rn, base + off);
}

void exec_LDST_reg_fp(Cpu& c, uint32_t i) {
    unsigned bytes = fp_bytes(bits(i, 31, 30), bits(i, 23, 22)), option = bits(i, 15, 13);
    if (!bytes || !(option & 2)) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned scale = bytes == 16 ? 4 : bits(i, 31, 30);
    uint64_t off = extend_reg(c.x(bits(i, 20, 16)), option, bit(i, 12) ? scale : 0);
    uint64_t addr = c.x_or_sp(bits(i, 9, 5)) + off;
    if (bit(i, 22))
        load_v(c, bits(i, 4, 0), bytes, addr);
    else
        store_v(c, bits(i, 4, 0), bytes, addr);
}

void exec_LDST_pair_fp(Cpu& c, uint32_t i) {
    unsigned opc = bits(i, 31, 30), mode = bits(i, 25, 23), rn = bits(i, 9, 5);
    bool load = bit(i, 22);
    if (opc == 3 || mode > 3) return c.undefined();
    unsigned bytes = 4u << opc;
    unsigned rt = bits(i, 4, 0), rt2 = bits(i, 14, 10);
    if (load && rt == rt2) return c.undefined();  // CONSTRAINED UNPREDICTABLE: UNDEFINED, as QEMU
    if (!c.fp_enabled()) return;
    int64_t off = sext(bits(i, 21, 15), 7) * static_cast<int64_t>(bytes);
    uint64_t base = c.x_or_sp(rn);
    uint64_t addr = mode == 1 ? base : base + off;
    if (load) {
        // Both loads succeed before either register changes.
        uint64_t save[2] = {c.s.v[rt][0], c.s.v[rt][1]};
        if (!load_v(c, rt, bytes, addr)) return;
        if (!load_v(c, rt2, bytes, addr + bytes)) {
            c.s.v[rt][0] = save[0];
            c.s.v[rt][1] = save[1];
            return;
        }
    } else if (!store_v(c, rt, bytes, addr) || !store_v(c, rt2, bytes, addr + bytes)) {
        return;
    }
    if (mode == 1 || mode == 3) c.set_x_or_sp(rn, base + off);
}

namespace {

// LD1-4/ST1-4 (multiple structures): opcode -> registers and elements per
// structure (ARM ARM C4.1.66 table).
bool multi_shape(unsigned opcode, unsigned& rpt, unsigned& selem) {
    switch (opcode) {
    case 0x0: rpt = 1; selem = 4; return true;  // LD4/ST4
    case 0x2: rpt = 4; selem = 1; return true;  // LD1/ST1, 4 registers
    case 0x4: rpt = 1; selem = 3; return true;  // LD3/ST3
    case 0x6: rpt = 3; selem = 1; return true;  // LD1/ST1, 3 registers
    case 0x7: rpt = 1; selem = 1; return true;  // LD1/ST1, 1 register
    case 0x8: rpt = 1; selem = 2; return true;  // LD2/ST2
    case 0xa: rpt = 2; selem = 1; return true;  // LD1/ST1, 2 registers
    default: return false;
    }
}

void ldst_multi(Cpu& c, uint32_t i, bool post) {
    unsigned q = bit(i, 30), load = bit(i, 22), opcode = bits(i, 15, 12), size = bits(i, 11, 10);
    unsigned rn = bits(i, 9, 5), rt = bits(i, 4, 0), rm = bits(i, 20, 16);
    unsigned rpt, selem;
    if (!multi_shape(opcode, rpt, selem) || (size == 3 && q == 0 && selem != 1)) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << size, elements = (q ? 16 : 8) / esize;
    uint64_t base = c.x_or_sp(rn), addr = base;
    // Loads go to copies first: a fault leaves the registers as they were.
    uint64_t regs[4][2];
    for (unsigned r = 0; r < 4; ++r) {
        regs[r][0] = c.s.v[(rt + r) % 32][0];
        regs[r][1] = c.s.v[(rt + r) % 32][1];
    }
    for (unsigned r = 0; r < rpt; ++r)
        for (unsigned e = 0; e < elements; ++e)
            for (unsigned s = 0; s < selem; ++s) {
                unsigned t = (rt + r + s) % 32;
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
        for (unsigned r = 0; r < rpt * selem; ++r) c.s.v[(rt + r) % 32][1] = 0;
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
