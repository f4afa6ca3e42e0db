// The VMSAv8-64 registers of the EL1&0 regime (ARM ARM D8, D13.2):
// translation table bases, TCR, memory attributes, PAR.
#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

namespace {

constexpr SysRegDesc kRegs[] = {
    // TTBRs: ASIDs tag the TLB entries, so a new base needs no flush (the
    // architecture requires TLB maintenance when an ASID is reused).
    {sysreg_key(3, 0, 2, 0, 0), "TTBR0_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.ttbr0_el1; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.ttbr0_el1 = v;
         c.mode_changed();
     }},
    {sysreg_key(3, 0, 2, 0, 1), "TTBR1_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.ttbr1_el1; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.ttbr1_el1 = v;
         c.mode_changed();
     }},
    {sysreg_key(3, 0, 2, 0, 2), "TCR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.tcr_el1; return true; },
     [](Cpu& c, uint64_t v) {
         // up to TBI1; of the later fields HPD0/HPD1 (FEAT_HPDS; with
         // HPDS2 the HWU bits too, whose hardware use is none here),
         // TBID0/TBID1 (FEAT_PAuth), HA/HD (FEAT_HAFDBS) and E0PD0/E0PD1
         // (FEAT_E0PD), DS (FEAT_LPA2)
         uint64_t hpds = c.has_hpds() ? (c.has_hpds2() ? 0x3ffull << 41 : 3ull << 41) : 0;
         uint64_t tbid = c.has_pauth() ? 3ull << 51 : 0;
         uint64_t hafdbs = c.hafdbs_level() >= 2 ? 3ull << 39 : c.hafdbs_level() ? 1ull << 39 : 0;  // HA, HD
         c.s.tcr_el1 = v & (0x0000007fffffffffull | hafdbs | hpds | tbid | (c.has_e0pd() ? 3ull << 55 : 0) |
                            (c.has_lpa2() ? 1ull << 59 : 0));  // (DS: FEAT_LPA2)
         c.regime_changed();
     }},
    {sysreg_key(3, 0, 10, 2, 0), "MAIR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.mair_el1; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.mair_el1 = v;
         c.regime_changed();
     }},
    {sysreg_key(3, 0, 10, 3, 0), "AMAIR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.amair_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.amair_el1 = v; }},
    {sysreg_key(3, 0, 7, 4, 0), "PAR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.par_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.par_el1 = v; }},
};

}  // namespace

std::span<const SysRegDesc> mmu_sysregs() { return kRegs; }

}  // namespace armvm
