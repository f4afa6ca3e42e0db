// The self-hosted debug registers Linux programs at boot (ARM ARM D2,
// D13.3): MDSCR_EL1, the OS lock, and the breakpoint and watchpoint
// value/control pairs ID_AA64DFR0_EL1 advertises. Breakpoints (unlinked
// address match) and software step fire (Cpu::guest_debug_enter), and
// watchpoints (Cpu::watch_hit) once MDSCR_EL1 enables them.
#include <array>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

namespace {

#define RAZ_WI [](Cpu&, uint64_t& v) { v = 0; return true; }, [](Cpu&, uint64_t) {}

// DBGB/W{V,C}R<n>_EL1: op0=2, op1=0, CRn=0, CRm=n, op2=4..7.
template <unsigned N, unsigned Op2>
constexpr SysRegDesc pair_reg(const char* name) {
    return {sysreg_key(2, 0, 0, N, Op2), name,
            [](const Cpu& c, bool) {
                unsigned count = Op2 < 6 ? ((c.ids.id_aa64dfr0 >> 12) & 0xf) + 1 : ((c.ids.id_aa64dfr0 >> 20) & 0xf) + 1;
                return c.s.el > 0 && N < count ? SysRegAccess::Ok : SysRegAccess::Undefined;
            },
            [](Cpu& c, uint64_t& v) {
                uint64_t* arr = Op2 == 4 ? c.s.dbgbvr : Op2 == 5 ? c.s.dbgbcr : Op2 == 6 ? c.s.dbgwvr : c.s.dbgwcr;
                v = arr[N];
                return true;
            },
            [](Cpu& c, uint64_t v) {
                uint64_t* arr = Op2 == 4 ? c.s.dbgbvr : Op2 == 5 ? c.s.dbgbcr : Op2 == 6 ? c.s.dbgwvr : c.s.dbgwcr;
                arr[N] = (Op2 == 5 || Op2 == 7) ? v & 0xffffffffull : v;
                c.guest_debug_changed();
            }};
}

template <unsigned... N>
constexpr auto pairs(std::integer_sequence<unsigned, N...>) {
    return std::array<SysRegDesc, 4 * sizeof...(N)>{pair_reg<N, 4>("DBGBVR_EL1")..., pair_reg<N, 5>("DBGBCR_EL1")...,
                                                    pair_reg<N, 6>("DBGWVR_EL1")..., pair_reg<N, 7>("DBGWCR_EL1")...};
}

constexpr auto kPairs = pairs(std::make_integer_sequence<unsigned, 16>{});

constexpr SysRegDesc kRegs[] = {
    {sysreg_key(2, 0, 0, 2, 2), "MDSCR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.mdscr_el1; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.mdscr_el1 = v & 0xffffffffull;
         c.guest_debug_changed();
     }},
    {sysreg_key(2, 0, 0, 2, 0), "MDCCINT_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.mdccint_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.mdccint_el1 = v & 0xffffffffull; }},
    {sysreg_key(2, 3, 0, 1, 0), "MDCCSR_EL0", nullptr, [](Cpu&, uint64_t& v) { v = 0; return true; }, nullptr},
    {sysreg_key(2, 0, 1, 0, 4), "OSLAR_EL1", nullptr, nullptr,
     [](Cpu& c, uint64_t v) {
         c.s.oslsr_el1 = (c.s.oslsr_el1 & ~2ull) | ((v & 1) << 1);
         c.guest_debug_changed();
     }},
    {sysreg_key(2, 0, 1, 1, 4), "OSLSR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.oslsr_el1; return true; }, nullptr},
    {sysreg_key(2, 0, 1, 3, 4), "OSDLR_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.osdlr_el1; return true; },
     [](Cpu& c, uint64_t v) {
         c.s.osdlr_el1 = v & 1;
         c.guest_debug_changed();
     }},
    {sysreg_key(2, 0, 7, 8, 6), "DBGCLAIMSET_EL1", nullptr,
     [](Cpu&, uint64_t& v) { v = 0xff; return true; }, [](Cpu&, uint64_t) {}},
    {sysreg_key(2, 0, 7, 9, 6), "DBGCLAIMCLR_EL1", nullptr, RAZ_WI},
    {sysreg_key(2, 0, 7, 14, 6), "DBGAUTHSTATUS_EL1", nullptr,
     [](Cpu&, uint64_t& v) { v = 0xaa; return true; }, nullptr},
};

constexpr auto kAll = [] {
    std::array<SysRegDesc, std::size(kRegs) + kPairs.size()> all{};
    size_t i = 0;
    for (const auto& d : kRegs) all[i++] = d;
    for (const auto& d : kPairs) all[i++] = d;
    return all;
}();

}  // namespace

std::span<const SysRegDesc> debug_sysregs() { return kAll; }

}  // namespace armvm
