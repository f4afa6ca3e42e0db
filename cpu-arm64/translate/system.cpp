// Exception generation and system instructions (ARM ARM C4.1.3, C5):
// SVC/HVC/SMC/BRK/HLT, hints, barriers, PSTATE writes, SYS (cache and TLB
// maintenance), MRS/MSR, ERET.
#include "cpu-arm64/translate/executors.hpp"
#include "base/log.hpp"
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm::a64 {

namespace {

// What EL0 may do with SYS (cache maintenance by VA; the prediction
// restrictions), per SCTLR_EL1 (DC ZVA's DZE: ir/sem.hpp's dc_zva).
SysRegAccess sys_el0_access(const Cpu& c, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
    if (op1 != 3 || crn != 7) return SysRegAccess::Undefined;
    uint64_t sctlr = c.s.sctlr_el1;
    if (crm == 3 && (op2 == 4 || op2 == 5 || op2 == 7) && c.has_specres())  // CFP, DVP, CPP RCTX: EnRCTX
        return (sctlr >> 10) & 1 ? SysRegAccess::Ok : SysRegAccess::Trap;
    if ((crm == 5 || crm == 10 || crm == 11 || crm == 12 || crm == 13 || crm == 14) && op2 == 1)  // IC IVAU, DC C*VA*
        return (sctlr >> 26) & 1 ? SysRegAccess::Ok : SysRegAccess::Trap;                       // UCI
    return SysRegAccess::Undefined;
}

}  // namespace

// DC ZVA: zero the naturally aligned block DCZID_EL0 describes.
void zero_block(Cpu& c, uint64_t va) {
    unsigned bytes = 4u << (c.ids.dczid & 0xf);
    va &= ~static_cast<uint64_t>(bytes - 1);
    uint64_t pa;
    if (!c.translate(va, Cpu::Access::Write, pa)) return;  // the fault reports the block's address
    for (unsigned off = 0; off < bytes; off += 8)
        if (!c.store(va + off, 8, 0)) return;
}

namespace {

// TLBI <op>: op1=0, CRn=8; CRm 3 (inner shareable: every CPU), 1 (outer
// shareable, FEAT_TLBIOS: the same here) or 7 (this CPU); the range forms
// (FEAT_TLBIRANGE) CRm 2 (inner), 5 (outer) and 6 (this CPU). The VA
// forms carry VA[55:12] in bits [43:0] and the ASID in [63:48].
bool tlbi(Cpu& c, unsigned crm, unsigned op2, uint64_t xt) {
    bool range = crm == 2 || crm == 5 || crm == 6;
    if (crm != 3 && crm != 7 && !(crm == 1 && c.has_tlbios()) && !(range && c.has_tlbirange())) return false;
    bool broadcast = crm != 7 && crm != 6;
    uint16_t asid = static_cast<uint16_t>(xt >> 48);
    if (!((c.s.tcr_el1 >> 36) & 1)) asid &= 0xff;
    if (range) {
        // RVAE1, RVAAE1, RVALE1, RVAALE1: (NUM + 1) << (5 * SCALE + 1)
        // pages of the granule TG from BaseADDR; a large range (or a
        // reserved TG) invalidates the ASID's or every entry instead.
        if (!(op2 & 1)) return false;
        bool any = op2 == 3 || op2 == 7;
        unsigned tg = (xt >> 46) & 3, scale = (xt >> 44) & 3, num = (xt >> 39) & 31;
        unsigned shift = tg == 1 ? 12 : tg == 2 ? 14 : 16;
        uint64_t bytes = (static_cast<uint64_t>(num) + 1) << (5 * scale + 1 + shift);
        if (tg == 0 || bytes > (64u << 12)) {
            c.tlb_maintenance(any ? RemoteOp{RemoteOp::TlbAll} : RemoteOp{RemoteOp::TlbAsid, asid}, broadcast);
            return true;
        }
        uint64_t base = static_cast<uint64_t>(sext((xt & ((1ull << 37) - 1)) << shift, 37 + shift));
        for (uint64_t off = 0; off < bytes; off += 4096)
            c.tlb_maintenance({any ? RemoteOp::TlbVaAnyAsid : RemoteOp::TlbVa, asid, base + off}, broadcast);
        return true;
    }
    uint64_t va = static_cast<uint64_t>(sext((xt & ((1ull << 44) - 1)) << 12, 56));
    switch (op2) {
    case 0: c.tlb_maintenance({RemoteOp::TlbAll}, broadcast); return true;            // VMALLE1
    case 1: case 5: c.tlb_maintenance({RemoteOp::TlbVa, asid, va}, broadcast); return true;  // VAE1, VALE1
    case 2: c.tlb_maintenance({RemoteOp::TlbAsid, asid}, broadcast); return true;       // ASIDE1
    case 3: case 7: c.tlb_maintenance({RemoteOp::TlbVaAnyAsid, 0, va}, broadcast); return true;  // VAAE1, VAALE1
    default: return false;
    }
}

}  // namespace

void exec_SVC(Cpu& c, uint32_t i) { c.raise(Ec::Svc64, bits(i, 20, 5), true); }
void exec_HVC(Cpu& c, uint32_t i) {
    // No EL2: HVC is UNDEFINED unless the board's PSCI firmware takes it
    // (QEMU's virt board answers PSCI calls made with HVC the same way).
    if (c.s.el == 0 || !c.hvc_hook) return c.undefined();
    c.leave_guest();  // PSCI takes the machine lock
    bool claimed = c.hvc_hook(c);
    c.enter_guest();
    if (!claimed) return c.undefined();
    if (qlog::on(qlog::Int))  // (-d int: as QEMU logs a PSCI call)
        qlog::printf("Taking exception 11 [Hypervisor Call] on CPU %d\n...from EL%u to EL2\n"
                     "...with ESR 0x16/0x%x\n...handled as PSCI call\n",
                     c.index, static_cast<unsigned>(c.s.el), 0x5a000000u | bits(i, 20, 5));
}
void exec_SMC(Cpu& c, uint32_t) { c.undefined(); }  // no EL3
void exec_BRK(Cpu& c, uint32_t i) { c.raise(Ec::Brk64, bits(i, 20, 5)); }
// HLT: no external debug, so UNDEFINED, except HLT #0xF000 when the board
// gives semihosting (Arm's semihosting calls on AArch64).
void exec_HLT(Cpu& c, uint32_t i) {
    if (bits(i, 20, 5) == 0xf000 && c.semihost_hook) {
        c.leave_guest();  // (host I/O; SYS_EXIT takes the machine's way out)
        bool claimed = c.semihost_hook(c);
        c.enter_guest();
        if (claimed) return;
    }
    c.undefined();
}

void exec_HINT(Cpu& c, uint32_t i) {
    {  // (NOP, YIELD and the rest that do nothing: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        if (sem::hint(b, i) == sem::Outcome::Done) return;
    }
    unsigned op = bits(i, 11, 5);  // (the pointer authentication hints: exec_PAC_hint)
    if (op == 4) return c.sev();
    if (op == 5) return c.sevl();
    // WFE (2) and WFI (3) at EL0 trap to EL1 unless SCTLR_EL1.nTWE/nTWI:
    // ISS CV = 1, COND = 0b1110, TI = 1 for WFE.
    bool wfe = op == 2;
    if (c.s.el == 0 && !((c.s.sctlr_el1 >> (wfe ? 18 : 16)) & 1))
        return c.raise(Ec::Wfx, (1u << 24) | (0xeu << 20) | (wfe ? 1u : 0u));
    if (wfe)
        c.wfe();
    else
        c.request_wfi();
}

void exec_CLREX(Cpu& c, uint32_t) { c.set_monitor(false); }
void exec_DSB(Cpu& c, uint32_t i) { run_sem<sem::barrier<InterpBuilder>>(c, i); }
void exec_DMB(Cpu& c, uint32_t i) { run_sem<sem::barrier<InterpBuilder>>(c, i); }
void exec_ISB(Cpu& c, uint32_t i) { run_sem<sem::barrier<InterpBuilder>>(c, i); }
// SB (FEAT_SB): no speculation to barrier here.
void exec_SB(Cpu& c, uint32_t) {
    if (!c.has_sb()) c.undefined();
}

void exec_MSR_imm(Cpu& c, uint32_t i) {
    unsigned op1 = bits(i, 18, 16), op2 = bits(i, 7, 5), crm = bits(i, 11, 8);
    if (op1 == 0 && op2 <= 2 && crm == 0) {  // CFINV (FEAT_FlagM), XAFLAG, AXFLAG (FEAT_FlagM2); any EL
        if (op2 == 0 ? !c.has_flagm() : !c.has_flagm2()) return c.undefined();
        uint32_t f = c.s.nzcv >> 28;
        bool n = f & 8, z = f & 4, cf = f & 2, v = f & 1;
        if (op2 == 0) {
            cf = !cf;
        } else if (op2 == 1) {  // XAFLAG: an FP comparison's flags from the "external" form
            bool n2 = !cf && !z, z2 = z && cf, c2 = cf || z, v2 = !cf && z;
            n = n2, z = z2, cf = c2, v = v2;
        } else {  // AXFLAG: to the external form
            z = z || v, cf = cf && !v, n = v = false;
        }
        c.s.nzcv = (n ? 8u << 28 : 0) | (z ? 4u << 28 : 0) | (cf ? 2u << 28 : 0) | (v ? 1u << 28 : 0);
    } else if (op1 == 3 && (op2 == 6 || op2 == 7)) {  // DAIFSet, DAIFClr: EL0 with SCTLR_EL1.UMA
        if (c.s.el == 0 && !((c.s.sctlr_el1 >> 9) & 1)) return c.trap_sysreg(i);
        if (op2 == 6)
            c.s.daif |= crm << 6;
        else
            c.s.daif &= ~(crm << 6);
    } else if (op1 == 3 && (op2 == 1 || op2 == 2)) {  // SSBS (FEAT_SSBS), DIT (FEAT_DIT): any EL
        if (op2 == 1 ? !c.has_ssbs() : !c.has_dit()) return c.undefined();
        (op2 == 1 ? c.s.ssbs : c.s.dit) = crm & 1;
    } else if (op1 == 0 && op2 == 3 && c.has_uao()) {  // UAO
        if (c.s.el == 0) return c.undefined();
        c.s.uao = crm & 1;
        c.mode_changed();
    } else if (op1 == 0 && op2 == 5) {  // SPSel
        if (c.s.el == 0) return c.undefined();
        c.s.spsel = crm & 1;
    } else if (op1 == 0 && op2 == 4 && c.has_pan()) {  // PAN
        if (c.s.el == 0) return c.undefined();
        c.s.pan = crm & 1;
        c.mode_changed();
    } else {
        c.undefined();
    }
}

void exec_SYS(Cpu& c, uint32_t i) {
    {  // (DC ZVA: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        if (sem::dc_zva(b, i)) return;
    }
    unsigned op1 = bits(i, 18, 16), crn = bits(i, 15, 12), crm = bits(i, 11, 8), op2 = bits(i, 7, 5);
    uint64_t xt = c.x(bits(i, 4, 0));
    if (c.s.el == 0) {
        SysRegAccess a = sys_el0_access(c, op1, crn, crm, op2);
        if (a == SysRegAccess::Undefined) return c.undefined();
        if (a == SysRegAccess::Trap) return c.trap_sysreg(i);
    }
    if (op1 == 0 && crn == 8) {
        if (!tlbi(c, crm, op2, xt)) c.undefined();
        return;
    }
    if (crn != 7) return c.undefined();
    if (op1 == 0 && crm == 8 && op2 <= 3) {  // AT S1E1R, S1E1W, S1E0R, S1E0W
        c.address_translate(xt, op2 & 1 ? Cpu::Access::Write : Cpu::Access::Read, op2 >= 2 ? 0 : 1, false);
        return;
    }
    if (op1 == 0 && crm == 9 && op2 <= 1 && ((c.ids.id_aa64mmfr1 >> 20) & 0xf) >= 2) {  // AT S1E1RP, S1E1WP
        c.address_translate(xt, op2 & 1 ? Cpu::Access::Write : Cpu::Access::Read, 1, c.s.pan);
        return;
    }
    if (op1 == 0 && ((crm == 1 || crm == 5) && op2 == 0)) return c.ic_iallu();  // IC IALLUIS, IC IALLU
    if (op1 == 0 && ((crm == 6 && (op2 == 1 || op2 == 2)) || (crm == 10 && op2 == 2) || (crm == 14 && op2 == 2)))
        return;  // DC IVAC, ISW, CSW, CISW: no caches to maintain
    if (op1 == 3 && crm == 5 && op2 == 1) return c.ic_ivau(xt);  // IC IVAU
    if (op1 == 3 && op2 == 1 && (crm == 10 || crm == 11 || crm == 14))
        return;  // DC CVAC, CVAU, CIVAC (as QEMU: no translation)
    if (op1 == 3 && crm == 3 && (op2 == 4 || op2 == 5 || op2 == 7) && c.has_specres())
        return;  // CFP, DVP, CPP RCTX (FEAT_SPECRES): no predictions to restrict
    if (op1 == 3 && op2 == 1 && (crm == 12 ? c.has_dpb() : crm == 13 && c.has_dpb2())) {
        // DC CVAP, CVADP (FEAT_DPB, DPB2): nothing to write back, but the
        // line must be readable: a fault is reported as a read's, as QEMU's
        uint64_t pa;
        c.translate(xt, Cpu::Access::Read, pa);
        return;
    }
    c.undefined();
}

// MRS and MSR through the system register table (cpu-arm64/sysregs/).
namespace {
void sysreg_access(Cpu& c, uint32_t i, bool write) {
    uint32_t key = bits(i, 20, 5);
    unsigned rt = bits(i, 4, 0);
    // (FEAT_IDS: a read of the ID space, op0 3, op1 0, CRn 0, that is not
    // allowed is reported as a system register trap, not UNDEFINED)
    auto undefined = [&] {
        if (!write && c.has_ids() && (key >> 7) == (sysreg_key(3, 0, 0, 0, 0) >> 7)) return c.trap_sysreg(i);
        c.undefined();
    };
    if (const SysRegDesc* d = find_sysreg(key)) {
        SysRegAccess a = d->access ? d->access(c, write) : (c.s.el == 0 ? SysRegAccess::Undefined : SysRegAccess::Ok);
        if (a == SysRegAccess::Ok && !(write ? d->write != nullptr : d->read != nullptr)) a = SysRegAccess::Undefined;
        if (a == SysRegAccess::Undefined) return undefined();
        if (a == SysRegAccess::Trap) return c.trap_sysreg(i);
        if (a == SysRegAccess::FpTrap) {
            (void)c.fp_enabled();  // raises the FP access trap
            return;
        }
        if (write) return d->write(c, c.x(rt));
        uint64_t v = 0;
        if (!d->read(c, v)) return undefined();
        return c.set_x(rt, v);
    }
    if (c.s.el > 0 && c.sysreg_hook) {
        uint64_t v = write ? c.x(rt) : 0;
        c.leave_guest();  // the GIC takes the machine lock
        bool claimed = c.sysreg_hook(c, key, write, v);
        c.enter_guest();
        if (claimed) {
            if (!write) c.set_x(rt, v);
            return;
        }
    }
    if (qlog::allow(qlog::Unimp))
        qlog::printf("%s access to unsupported AArch64 system register op0:%u op1:%u crn:%u crm:%u op2:%u\n",
                     write ? "write" : "read", bits(i, 20, 19), bits(i, 18, 16), bits(i, 15, 12), bits(i, 11, 8),
                     bits(i, 7, 5));
    undefined();
}
}  // namespace

void exec_MRS(Cpu& c, uint32_t i) { sysreg_access(c, i, false); }
void exec_MSR_reg(Cpu& c, uint32_t i) { sysreg_access(c, i, true); }

void exec_ERET(Cpu& c, uint32_t) {
    if (c.s.el == 0) return c.undefined();
    exception_return(c, c.s.elr_el1);
}

void exception_return(Cpu& c, uint64_t target) {
    ++c.pmu_exc_return;  // (EXC_RETURN: an ERET executed, legal or not)
    uint64_t spsr = c.s.spsr_el1;
    unsigned target_el = (spsr >> 2) & 3;
    if ((spsr >> 4) & 1 || target_el > 1 || (target_el == 0 && (spsr & 1))) {
        // AArch32, a higher EL or EL0 with SP_EL1: an illegal exception
        // return (D1.11.4); execution continues at ELR at this EL.
        if (qlog::on(qlog::Int))
            qlog::printf("Illegal exception return at EL%u: resuming execution at 0x%llx\n", c.s.el,
                         static_cast<unsigned long long>(target));
        c.branch_to(target);
        return;
    }
    unsigned from_el = c.s.el;
    if (c.s.pmcr & 1) c.pmu_sync();  // counts so far belong to EL1
    c.s.nzcv = static_cast<uint32_t>(spsr) & 0xf0000000u;
    c.s.daif = static_cast<uint32_t>(spsr) & 0x3c0;
    c.s.el = target_el;
    c.s.spsel = spsr & 1;
    if (c.has_pan()) c.s.pan = (spsr >> 22) & 1;
    if (c.has_dit()) c.s.dit = (spsr >> 24) & 1;
    if (c.has_ssbs()) c.s.ssbs = (spsr >> 12) & 1;
    if (c.has_uao()) c.s.uao = (spsr >> 23) & 1;
    if (c.has_bti()) c.s.btype = (spsr >> 10) & 3;  // (checked where the return lands: Cpu::bti_check)
    // PSTATE.SS from SPSR where software step is active at the new EL (ARM ARM D2.12.5)
    c.step_consumed_by_eret();
    c.s.ss = ((spsr >> 21) & 1) && c.ss_active();
    c.set_monitor(false);
    c.mode_changed();
    c.branch_to(target);
    if (qlog::on(qlog::Int))
        qlog::printf("Exception return from AArch64 EL%u to AArch64 EL%u PC 0x%llx\n", from_el, target_el,
                     static_cast<unsigned long long>(target));
}

void exec_Unallocated(Cpu& c, uint32_t) { c.undefined(); }

}  // namespace armvm::a64

namespace armvm {

namespace {
// The generic executors take the instruction word and see the PC in s.pc.
template <void (*F)(Cpu&, uint32_t)>
bool generic(Cpu& c, const DecodedInsn& d) {
    c.set_pc_for(d);
    F(c, d.insn);
    return c.has_events();
}
}  // namespace

Handler handler_for(a64::Op op) {
    switch (op) {
#define INST(name, pattern) \
    case a64::Op::name:     \
        return &generic<&a64::exec_##name>;
#include "cpu-arm64/decoder/a64.inc"
#undef INST
    default:
        return &generic<&a64::exec_Unallocated>;
    }
}

}  // namespace armvm
