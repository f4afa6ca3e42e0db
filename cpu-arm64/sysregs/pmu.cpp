// The PMUv3 registers (ARM ARM D13.4). All of them are UNDEFINED with
// pmu=off (PMUVer 0). EL0 access is gated by PMUSERENR_EL0: EN (bit 0)
// opens everything, SW (1) PMSWINC, CR (2) reading the cycle counter, ER
// (3) reading event counters and PMSELR; a refused access traps to EL1.
#include <array>
#include <utility>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

namespace {

constexpr uint32_t kCounterMask = (1u << 31) | ((1u << Cpu::kPmuCounters) - 1);
constexpr uint32_t kTyperMask = 0xf80003ffu;  // P, U, NSK, NSU, NSH; evtCount[9:0] ([15:0] with PMUv3p1)
constexpr uint32_t kFilterMask = 0xf8000000u;

// `el0_bits`: the PMUSERENR bits (besides EN) that open the access at EL0
// for reads; writes at EL0 need EN (or SW for PMSWINC).
template <unsigned El0ReadBits, bool El1Only = false>
SysRegAccess pmu_access(const Cpu& c, bool write) {
    if (!c.has_pmu()) return SysRegAccess::Undefined;
    if (c.s.el > 0) return SysRegAccess::Ok;
    if (El1Only) return SysRegAccess::Undefined;
    uint32_t u = c.s.pmuserenr;
    if (u & 1) return SysRegAccess::Ok;
    return !write && (u & El0ReadBits) ? SysRegAccess::Ok : SysRegAccess::Trap;
}

SysRegAccess pmswinc_access(const Cpu& c, bool) {
    if (!c.has_pmu()) return SysRegAccess::Undefined;
    return c.s.el > 0 || (c.s.pmuserenr & 3) ? SysRegAccess::Ok : SysRegAccess::Trap;
}

SysRegAccess pmselr_access(const Cpu& c, bool) {
    if (!c.has_pmu()) return SysRegAccess::Undefined;
    return c.s.el > 0 || (c.s.pmuserenr & 9) ? SysRegAccess::Ok : SysRegAccess::Trap;
}

SysRegAccess pmuserenr_access(const Cpu& c, bool write) {
    if (!c.has_pmu() || (c.s.el == 0 && write)) return SysRegAccess::Undefined;
    return SysRegAccess::Ok;
}

// Event counter n (PMEVCNTR<n>_EL0, or PMXEVCNTR_EL0 through PMSELR).
uint64_t evcntr_read(Cpu& c, unsigned n) {
    if (n >= Cpu::kPmuCounters) return 0;
    c.pmu_sync();
    return c.s.pmevcntr[n];
}
void evcntr_write(Cpu& c, unsigned n, uint64_t v) {
    if (n >= Cpu::kPmuCounters) return;
    c.pmu_sync();
    c.s.pmevcntr[n] = c.pmu_v3p5() ? v : static_cast<uint32_t>(v);
    c.pmu_changed();
}
uint64_t evtyper_read(Cpu& c, unsigned n) {
    if (n == 31) return c.s.pmccfiltr;
    return n < Cpu::kPmuCounters ? c.s.pmevtyper[n] : 0;
}
void evtyper_write(Cpu& c, unsigned n, uint64_t v) {
    c.pmu_sync();
    if (n == 31)
        c.s.pmccfiltr = static_cast<uint32_t>(v) & kFilterMask;
    else if (n < Cpu::kPmuCounters)
        c.s.pmevtyper[n] = static_cast<uint32_t>(v) & (kTyperMask | (c.pmu_v3p1() ? 0xfc00u : 0u));
    c.pmu_changed();
}

// PMEVCNTR<n>_EL0: op0=3, op1=3, CRn=14, CRm=0b10:n[4:3], op2=n[2:0];
// PMEVTYPER<n>_EL0: CRm=0b11:n[4:3]. Only n < N exist.
template <unsigned N>
constexpr SysRegDesc evcntr() {
    return {sysreg_key(3, 3, 14, 8 + N / 8, N % 8), "PMEVCNTR_EL0",
            [](const Cpu& c, bool write) {
                return N < Cpu::kPmuCounters ? pmu_access<8>(c, write) : SysRegAccess::Undefined;
            },
            [](Cpu& c, uint64_t& v) { v = evcntr_read(c, N); return true; },
            [](Cpu& c, uint64_t v) { evcntr_write(c, N, v); }};
}
template <unsigned N>
constexpr SysRegDesc evtyper() {
    return {sysreg_key(3, 3, 14, 12 + N / 8, N % 8), "PMEVTYPER_EL0",
            [](const Cpu& c, bool write) {
                return N < Cpu::kPmuCounters ? pmu_access<0>(c, write) : SysRegAccess::Undefined;
            },
            [](Cpu& c, uint64_t& v) { v = evtyper_read(c, N); return true; },
            [](Cpu& c, uint64_t v) { evtyper_write(c, N, v); }};
}

template <unsigned... N>
constexpr auto counters(std::integer_sequence<unsigned, N...>) {
    return std::array<SysRegDesc, 2 * sizeof...(N)>{evcntr<N>()..., evtyper<N>()...};
}

constexpr SysRegDesc kRegs[] = {
    {sysreg_key(3, 3, 9, 12, 0), "PMCR_EL0", pmu_access<0>,
     [](Cpu& c, uint64_t& v) { v = c.pmcr_read(); return true; },
     [](Cpu& c, uint64_t v) { c.pmcr_write(v); }},
    {sysreg_key(3, 3, 9, 12, 1), "PMCNTENSET_EL0", pmu_access<0>,
     [](Cpu& c, uint64_t& v) { v = c.s.pmcnten; return true; },
     [](Cpu& c, uint64_t v) {
         c.pmu_sync();
         c.s.pmcnten |= static_cast<uint32_t>(v) & kCounterMask;
         c.pmu_changed();
     }},
    {sysreg_key(3, 3, 9, 12, 2), "PMCNTENCLR_EL0", pmu_access<0>,
     [](Cpu& c, uint64_t& v) { v = c.s.pmcnten; return true; },
     [](Cpu& c, uint64_t v) {
         c.pmu_sync();
         c.s.pmcnten &= ~(static_cast<uint32_t>(v) & kCounterMask);
         c.pmu_changed();
     }},
    {sysreg_key(3, 3, 9, 12, 3), "PMOVSCLR_EL0", pmu_access<0>,
     [](Cpu& c, uint64_t& v) {
         c.pmu_sync();
         v = c.s.pmovs;
         return true;
     },
     [](Cpu& c, uint64_t v) {
         c.pmu_sync();
         c.s.pmovs &= ~(static_cast<uint32_t>(v) & kCounterMask);
         c.pmu_changed();
     }},
    {sysreg_key(3, 3, 9, 14, 3), "PMOVSSET_EL0", pmu_access<0>,
     [](Cpu& c, uint64_t& v) {
         c.pmu_sync();
         v = c.s.pmovs;
         return true;
     },
     [](Cpu& c, uint64_t v) {
         c.pmu_sync();
         c.s.pmovs |= static_cast<uint32_t>(v) & kCounterMask;
         c.pmu_changed();
     }},
    {sysreg_key(3, 0, 9, 14, 1), "PMINTENSET_EL1", pmu_access<0, true>,
     [](Cpu& c, uint64_t& v) { v = c.s.pminten; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.pminten |= static_cast<uint32_t>(v) & kCounterMask;
         c.pmu_changed();
     }},
    {sysreg_key(3, 0, 9, 14, 2), "PMINTENCLR_EL1", pmu_access<0, true>,
     [](Cpu& c, uint64_t& v) { v = c.s.pminten; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.pminten &= ~(static_cast<uint32_t>(v) & kCounterMask);
         c.pmu_changed();
     }},
    {sysreg_key(3, 3, 9, 12, 4), "PMSWINC_EL0", pmswinc_access, nullptr,
     [](Cpu& c, uint64_t v) { c.pmu_swinc(static_cast<uint32_t>(v)); }},
    {sysreg_key(3, 3, 9, 12, 5), "PMSELR_EL0", pmselr_access,
     [](Cpu& c, uint64_t& v) { v = c.s.pmselr; return true; },
     [](Cpu& c, uint64_t v) { c.s.pmselr = static_cast<uint32_t>(v) & 0x1f; }},
    // PMMIR_EL1 (PMUv3p4): no slot count, bus or threshold information.
    {sysreg_key(3, 0, 9, 14, 6), "PMMIR_EL1",
     [](const Cpu& c, bool write) {
         return c.pmu_v3p4() && !write ? pmu_access<0, true>(c, write) : SysRegAccess::Undefined;
     },
     [](Cpu&, uint64_t& v) { v = 0; return true; }, nullptr},
    // PMCEID0/1: the common events implemented (bit n: event n, n + 32).
    {sysreg_key(3, 3, 9, 12, 6), "PMCEID0_EL0", pmu_access<0>,
     [](Cpu&, uint64_t& v) { v = Cpu::pmceid(0); return true; }, nullptr},
    {sysreg_key(3, 3, 9, 12, 7), "PMCEID1_EL0", pmu_access<0>,
     [](Cpu&, uint64_t& v) { v = Cpu::pmceid(1); return true; }, nullptr},
    {sysreg_key(3, 3, 9, 13, 0), "PMCCNTR_EL0", pmu_access<4>,
     [](Cpu& c, uint64_t& v) {
         c.pmu_sync();
         v = c.s.pmccntr;
         return true;
     },
     [](Cpu& c, uint64_t v) {
         c.pmu_sync();
         c.s.pmccntr = v;
         c.pmu_changed();
     }},
    {sysreg_key(3, 3, 14, 15, 7), "PMCCFILTR_EL0", pmu_access<0>,
     [](Cpu& c, uint64_t& v) { v = c.s.pmccfiltr; return true; },
     [](Cpu& c, uint64_t v) { evtyper_write(c, 31, v); }},
    {sysreg_key(3, 3, 9, 13, 1), "PMXEVTYPER_EL0", pmu_access<0>,
     [](Cpu& c, uint64_t& v) { v = evtyper_read(c, c.s.pmselr); return true; },
     [](Cpu& c, uint64_t v) { evtyper_write(c, c.s.pmselr, v); }},
    {sysreg_key(3, 3, 9, 13, 2), "PMXEVCNTR_EL0", pmu_access<8>,
     [](Cpu& c, uint64_t& v) { v = evcntr_read(c, c.s.pmselr); return true; },
     [](Cpu& c, uint64_t v) { evcntr_write(c, c.s.pmselr, v); }},
    {sysreg_key(3, 3, 9, 14, 0), "PMUSERENR_EL0", pmuserenr_access,
     [](Cpu& c, uint64_t& v) { v = c.s.pmuserenr; return true; },
     [](Cpu& c, uint64_t v) { c.s.pmuserenr = static_cast<uint32_t>(v) & 0xf; }},
};

// PMEVCNTR30/PMEVTYPER30 are the last event counter encodings (31 is
// PMCCFILTR's).
constexpr auto kCounters = counters(std::make_integer_sequence<unsigned, 31>{});

constexpr auto kAll = [] {
    std::array<SysRegDesc, std::size(kRegs) + kCounters.size()> all{};
    size_t i = 0;
    for (const auto& d : kRegs) all[i++] = d;
    for (const auto& d : kCounters) all[i++] = d;
    return all;
}();

}  // namespace

std::span<const SysRegDesc> pmu_sysregs() { return kAll; }

}  // namespace armvm
