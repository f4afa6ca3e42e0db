// Exception generation and system instructions (ARM ARM C4.1.3, C5):
// SVC/HVC/SMC/BRK/HLT, hints, barriers, PSTATE writes, SYS (cache and TLB
// maintenance), MRS/MSR, ERET.
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::a64 {

namespace {

// System register key: op0:op1:CRn:CRm:op2, as bits [20:5] of MRS/MSR.
constexpr uint32_t sysreg(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
    return ((op0 & 1) << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2 | ((op0 >> 1) << 15);
}

enum : uint32_t {
    NZCV = sysreg(3, 3, 4, 2, 0),
    DAIF = sysreg(3, 3, 4, 2, 1),
    TPIDR_EL0 = sysreg(3, 3, 13, 0, 2),
    TPIDRRO_EL0 = sysreg(3, 3, 13, 0, 3),
    CURRENT_EL = sysreg(3, 0, 4, 2, 2),
    SPSEL = sysreg(3, 0, 4, 2, 0),
    SP_EL0 = sysreg(3, 0, 4, 1, 0),
    SCTLR_EL1 = sysreg(3, 0, 1, 0, 0),
    VBAR_EL1 = sysreg(3, 0, 12, 0, 0),
    ELR_EL1 = sysreg(3, 0, 4, 0, 1),
    SPSR_EL1 = sysreg(3, 0, 4, 0, 0),
    ESR_EL1 = sysreg(3, 0, 5, 2, 0),
    FAR_EL1 = sysreg(3, 0, 6, 0, 0),
    TPIDR_EL1 = sysreg(3, 0, 13, 0, 4),
    MPIDR_EL1 = sysreg(3, 0, 0, 0, 5),
    CNTFRQ_EL0 = sysreg(3, 3, 14, 0, 0),
    CNTPCT_EL0 = sysreg(3, 3, 14, 0, 1),
    CNTVCT_EL0 = sysreg(3, 3, 14, 0, 2),
    CNTP_TVAL_EL0 = sysreg(3, 3, 14, 2, 0),
    CNTP_CTL_EL0 = sysreg(3, 3, 14, 2, 1),
    CNTP_CVAL_EL0 = sysreg(3, 3, 14, 2, 2),
    CNTV_TVAL_EL0 = sysreg(3, 3, 14, 3, 0),
    CNTV_CTL_EL0 = sysreg(3, 3, 14, 3, 1),
    CNTV_CVAL_EL0 = sysreg(3, 3, 14, 3, 2),
    CNTKCTL_EL1 = sysreg(3, 0, 14, 1, 0),
};

// The generic timer registers (ARM ARM D11, D13.8). EL0 access is gated by
// CNTKCTL_EL1: EL0PCTEN (bit 0), EL0VCTEN (1), EL0VTEN (8), EL0PTEN (9).
bool timer_access_ok(Cpu& c, uint32_t key) {
    if (c.s.el > 0) return true;
    uint64_t k = c.s.cntkctl_el1;
    switch (key) {
    case CNTFRQ_EL0: return k & 3;
    case CNTPCT_EL0: return k & 1;
    case CNTVCT_EL0: return k & 2;
    case CNTP_TVAL_EL0: case CNTP_CTL_EL0: case CNTP_CVAL_EL0: return k & (1u << 9);
    default: return k & (1u << 8);
    }
}

bool timer_read(Cpu& c, uint32_t key, uint64_t& v) {
    uint64_t now = Cpu::counter_now();
    auto ctl = [&](uint64_t ctl_reg, uint64_t cval) { return (ctl_reg & 3) | ((now >= cval) ? 4u : 0u); };
    switch (key) {
    case CNTFRQ_EL0: v = Cpu::kCntFrq; return true;
    case CNTPCT_EL0: case CNTVCT_EL0: v = now; return true;
    case CNTP_CTL_EL0: v = ctl(c.s.cntp_ctl, c.s.cntp_cval); return true;
    case CNTV_CTL_EL0: v = ctl(c.s.cntv_ctl, c.s.cntv_cval); return true;
    case CNTP_CVAL_EL0: v = c.s.cntp_cval; return true;
    case CNTV_CVAL_EL0: v = c.s.cntv_cval; return true;
    case CNTP_TVAL_EL0: v = static_cast<uint32_t>(c.s.cntp_cval - now); return true;
    case CNTV_TVAL_EL0: v = static_cast<uint32_t>(c.s.cntv_cval - now); return true;
    default: return false;
    }
}

bool timer_write(Cpu& c, uint32_t key, uint64_t v) {
    uint64_t now = Cpu::counter_now();
    switch (key) {
    case CNTP_CTL_EL0: c.s.cntp_ctl = v & 3; break;
    case CNTV_CTL_EL0: c.s.cntv_ctl = v & 3; break;
    case CNTP_CVAL_EL0: c.s.cntp_cval = v; break;
    case CNTV_CVAL_EL0: c.s.cntv_cval = v; break;
    case CNTP_TVAL_EL0: c.s.cntp_cval = now + static_cast<uint64_t>(sext(v, 32)); break;
    case CNTV_TVAL_EL0: c.s.cntv_cval = now + static_cast<uint64_t>(sext(v, 32)); break;
    default: return false;
    }
    c.timer_changed();
    return true;
}

uint64_t* el1_reg(Cpu& c, uint32_t key) {
    switch (key) {
    case SCTLR_EL1: return &c.s.sctlr_el1;
    case VBAR_EL1: return &c.s.vbar_el1;
    case ELR_EL1: return &c.s.elr_el1;
    case SPSR_EL1: return &c.s.spsr_el1;
    case ESR_EL1: return &c.s.esr_el1;
    case FAR_EL1: return &c.s.far_el1;
    case TPIDR_EL1: return &c.s.tpidr_el1;
    case CNTKCTL_EL1: return &c.s.cntkctl_el1;
    case SP_EL0: return &c.s.sp_el0;
    default: return nullptr;
    }
}

}  // namespace

void exec_SVC(Cpu& c, uint32_t i) { c.raise(Ec::Svc64, bits(i, 20, 5), true); }
void exec_HVC(Cpu& c, uint32_t) {
    // No EL2: HVC is UNDEFINED unless the board's PSCI firmware takes it
    // (QEMU's virt board answers PSCI calls made with HVC the same way).
    if (c.s.el == 0 || !c.hvc_hook || !c.hvc_hook(c)) c.undefined();
}
void exec_SMC(Cpu& c, uint32_t) { c.undefined(); }  // no EL3
void exec_BRK(Cpu& c, uint32_t i) { c.raise(Ec::Brk64, bits(i, 20, 5)); }
void exec_HLT(Cpu& c, uint32_t) { c.undefined(); }  // no external debug

void exec_HINT(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 11, 5);
    if (op == 3) c.request_wfi();  // WFI; NOP, YIELD, WFE, SEV(L) and the rest are no-ops here
}

void exec_CLREX(Cpu& c, uint32_t) { c.s.excl_valid = false; }
void exec_DSB(Cpu&, uint32_t) {}
void exec_DMB(Cpu&, uint32_t) {}
void exec_ISB(Cpu&, uint32_t) {}

void exec_MSR_imm(Cpu& c, uint32_t i) {
    unsigned op1 = bits(i, 18, 16), op2 = bits(i, 7, 5), crm = bits(i, 11, 8);
    if (op1 == 3 && op2 == 6) {  // DAIFSet (EL0 only with SCTLR_EL1.UMA)
        if (c.s.el == 0) return c.undefined();
        c.s.daif |= crm << 6;
    } else if (op1 == 3 && op2 == 7) {  // DAIFClr
        if (c.s.el == 0) return c.undefined();
        c.s.daif &= ~(crm << 6);
    } else if (op1 == 0 && op2 == 5) {  // SPSel
        if (c.s.el == 0) return c.undefined();
        c.s.spsel = crm & 1;
    } else {
        c.undefined();
    }
}

void exec_SYS(Cpu& c, uint32_t i) {
    if (c.s.el == 0) {
        // EL0 may use DC CVAC/CIVAC/ZVA and IC IVAU only with SCTLR_EL1
        // bits set; treat the cache maintenance as allowed no-ops.
        unsigned op1 = bits(i, 18, 16);
        if (op1 != 3) return c.undefined();
    }
    // Cache and TLB maintenance: the interpreter caches decoded blocks,
    // which IC and TLBI invalidate.
    unsigned crn = bits(i, 15, 12);
    if (crn == 7 || crn == 8) c.flush_blocks();
}

void exec_MRS(Cpu& c, uint32_t i) {
    uint32_t key = bits(i, 20, 5);
    unsigned rt = bits(i, 4, 0);
    if (uint64_t tv; timer_read(c, key, tv)) {
        if (!timer_access_ok(c, key)) return c.undefined();
        return c.set_x(rt, tv);
    }
    switch (key) {
    case NZCV: return c.set_x(rt, c.s.nzcv);
    case DAIF:
        if (c.s.el == 0) return c.undefined();
        return c.set_x(rt, c.s.daif);
    case TPIDR_EL0: return c.set_x(rt, c.s.tpidr_el0);
    case TPIDRRO_EL0: return c.set_x(rt, c.s.tpidrro_el0);
    default: break;
    }
    if (c.s.el == 0) {
        // CTR_EL0 and DCZID_EL0 are EL0-readable (with SCTLR_EL1.UCT, which
        // the reset value sets); the other ID registers are not.
        uint64_t v;
        if ((key == sysreg(3, 3, 0, 0, 1) || key == sysreg(3, 3, 0, 0, 7)) && read_id_reg(c.ids, key, v))
            return c.set_x(rt, v);
        return c.undefined();
    }
    if (uint64_t v; read_id_reg(c.ids, key, v)) return c.set_x(rt, v);
    switch (key) {
    case CURRENT_EL: return c.set_x(rt, c.s.el << 2);
    case SPSEL: return c.set_x(rt, c.s.spsel ? 1 : 0);
    case MPIDR_EL1: return c.set_x(rt, c.s.mpidr_el1);
    default: break;
    }
    if (uint64_t* r = el1_reg(c, key)) return c.set_x(rt, *r);
    if (uint64_t v = 0; c.sysreg_hook && c.sysreg_hook(c, key, false, v)) return c.set_x(rt, v);
    c.undefined();
}

void exec_MSR_reg(Cpu& c, uint32_t i) {
    uint32_t key = bits(i, 20, 5);
    uint64_t v = c.x(bits(i, 4, 0));
    if (key != CNTFRQ_EL0 && key != CNTPCT_EL0 && key != CNTVCT_EL0 && timer_access_ok(c, key) &&
        timer_write(c, key, v))
        return;
    switch (key) {
    case NZCV: c.s.nzcv = static_cast<uint32_t>(v) & 0xf0000000u; return;
    case TPIDR_EL0: c.s.tpidr_el0 = v; return;
    case DAIF:
        if (c.s.el == 0) return c.undefined();
        c.s.daif = static_cast<uint32_t>(v) & 0x3c0;
        return;
    default: break;
    }
    if (c.s.el == 0) return c.undefined();
    switch (key) {
    case TPIDRRO_EL0: c.s.tpidrro_el0 = v; return;
    case SPSEL: c.s.spsel = v & 1; return;
    case SCTLR_EL1:
        c.s.sctlr_el1 = v;
        c.flush_blocks();
        return;
    default: break;
    }
    if (uint64_t* r = el1_reg(c, key)) {
        *r = v;
        return;
    }
    if (c.sysreg_hook && c.sysreg_hook(c, key, true, v)) return;
    c.undefined();
}

void exec_ERET(Cpu& c, uint32_t) {
    if (c.s.el == 0) return c.undefined();
    uint64_t spsr = c.s.spsr_el1;
    unsigned target_el = (spsr >> 2) & 3;
    if ((spsr >> 4) & 1 || target_el > 1) {
        // AArch32 or a higher EL: an illegal exception return (D1.11.4):
        // PSTATE.IL is set and execution continues at ELR at this EL.
        c.branch_to(c.s.elr_el1);
        return;
    }
    c.s.nzcv = static_cast<uint32_t>(spsr) & 0xf0000000u;
    c.s.daif = static_cast<uint32_t>(spsr) & 0x3c0;
    c.s.el = target_el;
    c.s.spsel = spsr & 1;
    c.s.excl_valid = false;
    c.branch_to(c.s.elr_el1);
}

void exec_Unallocated(Cpu& c, uint32_t) { c.undefined(); }

}  // namespace armvm::a64

namespace armvm {

Handler handler_for(a64::Op op) {
    switch (op) {
#define INST(name, pattern) \
    case a64::Op::name:     \
        return &a64::exec_##name;
#include "cpu-arm64/decoder/a64.inc"
#undef INST
    default:
        return &a64::exec_Unallocated;
    }
}

}  // namespace armvm
