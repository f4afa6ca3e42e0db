// PSTATE views and the EL0/EL1 control and context registers (ARM ARM
// D13.2): NZCV, DAIF, PAN, SPSel, CurrentEL, the exception registers,
// SCTLR_EL1, CPACR_EL1, thread IDs, the cache identification registers,
// RNDR/RNDRRS.
#include <sys/random.h>

#include <cstddef>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

namespace {

#define FIELD_RW(f)                                                                         \
    [](Cpu& c, uint64_t& v) { v = c.s.f; return true; }, [](Cpu& c, uint64_t v) { c.s.f = v; }, \
        static_cast<int32_t>(offsetof(CpuState, f))
#define RAZ_WI [](Cpu&, uint64_t& v) { v = 0; return true; }, [](Cpu&, uint64_t) {}

SysRegAccess daif_access(const Cpu& c, bool) {
    if (c.s.el > 0) return SysRegAccess::Ok;
    return (c.s.sctlr_el1 >> 9) & 1 ? SysRegAccess::Ok : SysRegAccess::Trap;  // SCTLR_EL1.UMA
}

// FPCR/FPSR: EL0 and EL1, subject to CPACR_EL1.FPEN.
SysRegAccess fp_reg_access(const Cpu& c, bool) {
    unsigned fpen = (c.s.cpacr_el1 >> 20) & 3;
    return fpen == 3 || (fpen == 1 && c.s.el == 1) ? SysRegAccess::Ok : SysRegAccess::FpTrap;
}

SysRegAccess pan_access(const Cpu& c, bool) {
    if (!c.has_pan() || c.s.el == 0) return SysRegAccess::Undefined;
    return SysRegAccess::Ok;
}

SysRegAccess ctr_access(const Cpu& c, bool write) {
    if (write) return SysRegAccess::Undefined;
    if (c.s.el > 0) return SysRegAccess::Ok;
    return (c.s.sctlr_el1 >> 15) & 1 ? SysRegAccess::Ok : SysRegAccess::Trap;  // SCTLR_EL1.UCT
}

// CCSIDR_EL1 for the level CSSELR_EL1 selects (the Cortex-A57's caches,
// as QEMU reports them for every model): L1 D, L1 I, L2 unified.
uint64_t ccsidr(uint64_t csselr) {
    switch (csselr & 0xf) {
    case 0: return 0x701fe01a;
    case 1: return 0x201fe012;
    case 2: return 0x70ffe07a;
    default: return 0;
    }
}

SysRegAccess uao_access(const Cpu& c, bool) {
    return c.has_uao() && c.s.el > 0 ? SysRegAccess::Ok : SysRegAccess::Undefined;
}

// DIT, SSBS: at any EL where the model has them.
SysRegAccess dit_access(const Cpu& c, bool) { return c.has_dit() ? SysRegAccess::Ok : SysRegAccess::Undefined; }
SysRegAccess ssbs_access(const Cpu& c, bool) { return c.has_ssbs() ? SysRegAccess::Ok : SysRegAccess::Undefined; }

// A feature's EL1 register: UNDEFINED at EL0 and where the model lacks it.
template <bool (Cpu::*Has)() const>
SysRegAccess el1_with(const Cpu& c, bool) {
    return (c.*Has)() && c.s.el > 0 ? SysRegAccess::Ok : SysRegAccess::Undefined;
}
constexpr auto pauth_access = &el1_with<&Cpu::has_pauth>;
constexpr auto pacga_access = &el1_with<&Cpu::has_pacga>;
constexpr auto ras_access = &el1_with<&Cpu::has_ras>;
constexpr auto lor_access = &el1_with<&Cpu::has_lor>;
constexpr auto scxtnum1_access = &el1_with<&Cpu::has_csv2_2>;
SysRegAccess scxtnum0_access(const Cpu& c, bool) {
    if (!c.has_csv2_2()) return SysRegAccess::Undefined;
    return c.s.el > 0 || ((c.s.sctlr_el1 >> 53) & 1) ? SysRegAccess::Ok : SysRegAccess::Trap;
}

SysRegAccess rndr_access(const Cpu& c, bool write) {
    return c.has_rndr() && !write ? SysRegAccess::Ok : SysRegAccess::Undefined;
}

bool rndr_read(Cpu& c, uint64_t& v) {
    bool ok = getrandom(&v, sizeof v, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof v);
    if (!ok) v = 0;
    c.s.nzcv = ok ? 0 : 4u << 28;
    return true;
}

constexpr SysRegDesc kRegs[] = {
    {sysreg_key(3, 3, 4, 2, 0), "NZCV", el0_ok,
     [](Cpu& c, uint64_t& v) { v = c.s.nzcv; return true; },
     [](Cpu& c, uint64_t v) { c.s.nzcv = static_cast<uint32_t>(v) & 0xf0000000u; },
     static_cast<int32_t>(offsetof(CpuState, nzcv)), 4},
    {sysreg_key(3, 3, 4, 2, 1), "DAIF", daif_access,
     [](Cpu& c, uint64_t& v) { v = c.s.daif; return true; },
     [](Cpu& c, uint64_t v) { c.s.daif = static_cast<uint32_t>(v) & 0x3c0; }},
    {sysreg_key(3, 3, 4, 2, 5), "DIT", dit_access,
     [](Cpu& c, uint64_t& v) { v = c.s.dit ? 1u << 24 : 0; return true; },
     [](Cpu& c, uint64_t v) { c.s.dit = (v >> 24) & 1; }},
    {sysreg_key(3, 3, 4, 2, 6), "SSBS", ssbs_access,
     [](Cpu& c, uint64_t& v) { v = c.s.ssbs ? 1u << 12 : 0; return true; },
     [](Cpu& c, uint64_t v) { c.s.ssbs = (v >> 12) & 1; }},
    {sysreg_key(3, 0, 4, 2, 4), "UAO", uao_access,
     [](Cpu& c, uint64_t& v) { v = c.s.uao ? 1u << 23 : 0; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.uao = (v >> 23) & 1;
         c.mode_changed();
     }},
    {sysreg_key(3, 0, 4, 2, 3), "PAN", pan_access,
     [](Cpu& c, uint64_t& v) { v = c.s.pan ? 1u << 22 : 0; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.pan = (v >> 22) & 1;
         c.mode_changed();
     }},
    // FPCR: AHP, DN, FZ, RMode, and Stride/Len kept as QEMU keeps them (no
    // FP16 yet; trapped FP exceptions are not implemented, so their
    // enables read as zero, as QEMU's).
    {sysreg_key(3, 3, 4, 4, 0), "FPCR", fp_reg_access,
     [](Cpu& c, uint64_t& v) { v = c.s.fpcr; return true; },
     // (AHP, DN, FZ, RMode, Stride, Len; FZ16 with FEAT_FP16)
     [](Cpu& c, uint64_t v) { c.s.fpcr = static_cast<uint32_t>(v) & (c.has_fp16() ? 0x07ff0000u : 0x07f70000u); }},
    {sysreg_key(3, 3, 4, 4, 1), "FPSR", fp_reg_access,
     [](Cpu& c, uint64_t& v) { v = c.s.fpsr; return true; },
     [](Cpu& c, uint64_t v) { c.s.fpsr = static_cast<uint32_t>(v) & 0xf800009fu; }},
    {sysreg_key(3, 0, 4, 2, 0), "SPSel", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.spsel ? 1 : 0; return true; },
     [](Cpu& c, uint64_t v) { c.s.spsel = v & 1; }},
    {sysreg_key(3, 0, 4, 2, 2), "CurrentEL", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.el << 2; return true; }, nullptr},
    {sysreg_key(3, 0, 4, 1, 0), "SP_EL0", sp_el0_access, FIELD_RW(sp_el0)},
    {sysreg_key(3, 0, 4, 0, 0), "SPSR_EL1", nullptr, FIELD_RW(spsr_el1)},
    {sysreg_key(3, 0, 4, 0, 1), "ELR_EL1", nullptr, FIELD_RW(elr_el1)},
    {sysreg_key(3, 0, 5, 2, 0), "ESR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.esr_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.esr_el1 = v & 0xffffffffull; }},
    {sysreg_key(3, 0, 6, 0, 0), "FAR_EL1", nullptr, FIELD_RW(far_el1)},
    {sysreg_key(3, 0, 5, 1, 0), "AFSR0_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 0, 5, 1, 1), "AFSR1_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 0, 12, 0, 0), "VBAR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.vbar_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.vbar_el1 = v & ~0x7ffull; }},
    {sysreg_key(3, 0, 12, 1, 0), "ISR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.irq_line.load() ? 0x80 : 0; return true; }, nullptr},
    {sysreg_key(3, 0, 1, 0, 0), "SCTLR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.sctlr_el1; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.sctlr_el1 = v;
         c.regime_changed();
     }},
    {sysreg_key(3, 0, 1, 0, 1), "ACTLR_EL1", nullptr, RAZ_WI},
    // The Cortex-A53/A57/A72 implementation-defined registers firmware
    // touches, RAZ/WI as QEMU gives them to those models and to max
    // (ARM DDI 0488: CPUACTLR, CPUECTLR, CPUMERRSR, L2MERRSR, L2ACTLR, L2ECTLR).
    {sysreg_key(3, 1, 15, 2, 0), "CPUACTLR_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 1, 15, 2, 1), "CPUECTLR_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 1, 15, 2, 2), "CPUMERRSR_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 1, 15, 2, 3), "L2MERRSR_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 1, 15, 0, 0), "L2ACTLR_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 1, 11, 0, 3), "L2ECTLR_EL1", nullptr, RAZ_WI},
    {sysreg_key(3, 0, 1, 0, 2), "CPACR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.cpacr_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.cpacr_el1 = v & (3u << 20); }},  // FPEN
    {sysreg_key(3, 0, 13, 0, 1), "CONTEXTIDR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.contextidr_el1; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.contextidr_el1 = v & 0xffffffffull;
         c.guest_debug_changed();  // (context breakpoints and linked watchpoints follow it)
     }},
    {sysreg_key(3, 0, 13, 0, 4), "TPIDR_EL1", nullptr, FIELD_RW(tpidr_el1)},
    {sysreg_key(3, 3, 13, 0, 2), "TPIDR_EL0", el0_ok, FIELD_RW(tpidr_el0)},
    {sysreg_key(3, 3, 13, 0, 3), "TPIDRRO_EL0", el0_read_only, FIELD_RW(tpidrro_el0)},
    {sysreg_key(3, 0, 0, 0, 5), "MPIDR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.mpidr_el1; return true; }, nullptr},
    {sysreg_key(3, 3, 0, 0, 1), "CTR_EL0", ctr_access,
     [](Cpu& c, uint64_t& v) { v = c.ids.ctr; return true; }, nullptr},
    {sysreg_key(3, 3, 0, 0, 7), "DCZID_EL0", el0_read_only,
     [](Cpu& c, uint64_t& v) { v = c.ids.dczid; return true; }, nullptr},
    {sysreg_key(3, 1, 0, 0, 1), "CLIDR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.ids.clidr; return true; }, nullptr},
    {sysreg_key(3, 2, 0, 0, 0), "CSSELR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.csselr_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.csselr_el1 = v & 0xf; }},
    {sysreg_key(3, 1, 0, 0, 0), "CCSIDR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = ccsidr(c.s.csselr_el1); return true; }, nullptr},
    // The LORegion registers (FEAT_LOR): LORID_EL1 says no regions and no
    // descriptors, so the others are RAZ/WI (as QEMU's).
    {sysreg_key(3, 0, 10, 4, 0), "LORSA_EL1", lor_access, RAZ_WI},
    {sysreg_key(3, 0, 10, 4, 1), "LOREA_EL1", lor_access, RAZ_WI},
    {sysreg_key(3, 0, 10, 4, 2), "LORN_EL1", lor_access, RAZ_WI},
    {sysreg_key(3, 0, 10, 4, 3), "LORC_EL1", lor_access, RAZ_WI},
    {sysreg_key(3, 0, 10, 4, 7), "LORID_EL1", lor_access, [](Cpu&, uint64_t& v) { v = 0; return true; }, nullptr},
    // SCXTNUM_EL1, SCXTNUM_EL0 (FEAT_CSV2_2): kept, nothing uses them; EL0's
    // with SCTLR_EL1.EnSCXT
    {sysreg_key(3, 0, 13, 0, 7), "SCXTNUM_EL1", scxtnum1_access, FIELD_RW(scxtnum_el1)},
    {sysreg_key(3, 3, 13, 0, 7), "SCXTNUM_EL0", scxtnum0_access, FIELD_RW(scxtnum_el0)},
    // RNDR, RNDRRS (FEAT_RNG): 64 bits from the host's getrandom(), NZCV
    // 0000; 0 and NZCV 0100 if it has none to give.
    {sysreg_key(3, 3, 2, 4, 0), "RNDR", rndr_access, rndr_read, nullptr},
    {sysreg_key(3, 3, 2, 4, 1), "RNDRRS", rndr_access, rndr_read, nullptr},
    // FEAT_RAS with no error records (QEMU's minimal RAS): ERRIDR_EL1 says
    // none, so the record registers (ERRSELR_EL1, ERX*) are UNDEFINED;
    // DISR_EL1 holds what software writes (ESB defers nothing: a hint).
    {sysreg_key(3, 0, 5, 3, 0), "ERRIDR_EL1", ras_access, [](Cpu&, uint64_t& v) { v = 0; return true; }, nullptr},
    {sysreg_key(3, 0, 12, 1, 1), "DISR_EL1", ras_access, FIELD_RW(disr_el1)},
    // The pointer authentication keys (FEAT_PAuth), EL1 only.
    {sysreg_key(3, 0, 2, 1, 0), "APIAKEYLO_EL1", pauth_access, FIELD_RW(pac_keys[0].lo)},
    {sysreg_key(3, 0, 2, 1, 1), "APIAKEYHI_EL1", pauth_access, FIELD_RW(pac_keys[0].hi)},
    {sysreg_key(3, 0, 2, 1, 2), "APIBKEYLO_EL1", pauth_access, FIELD_RW(pac_keys[1].lo)},
    {sysreg_key(3, 0, 2, 1, 3), "APIBKEYHI_EL1", pauth_access, FIELD_RW(pac_keys[1].hi)},
    {sysreg_key(3, 0, 2, 2, 0), "APDAKEYLO_EL1", pauth_access, FIELD_RW(pac_keys[2].lo)},
    {sysreg_key(3, 0, 2, 2, 1), "APDAKEYHI_EL1", pauth_access, FIELD_RW(pac_keys[2].hi)},
    {sysreg_key(3, 0, 2, 2, 2), "APDBKEYLO_EL1", pauth_access, FIELD_RW(pac_keys[3].lo)},
    {sysreg_key(3, 0, 2, 2, 3), "APDBKEYHI_EL1", pauth_access, FIELD_RW(pac_keys[3].hi)},
    {sysreg_key(3, 0, 2, 3, 0), "APGAKEYLO_EL1", pacga_access, FIELD_RW(pac_keys[4].lo)},
    {sysreg_key(3, 0, 2, 3, 1), "APGAKEYHI_EL1", pacga_access, FIELD_RW(pac_keys[4].hi)},
};

}  // namespace

std::span<const SysRegDesc> base_sysregs() { return kRegs; }

}  // namespace armvm
