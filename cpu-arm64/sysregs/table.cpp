#include <memory>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

SysRegAccess el0_ok(const Cpu&, bool) { return SysRegAccess::Ok; }

SysRegAccess el0_read_only(const Cpu& c, bool write) {
    return c.s.el == 0 && write ? SysRegAccess::Undefined : SysRegAccess::Ok;
}

// SP_EL0: UNDEFINED while it is the stack pointer in use (PSTATE.SP 0;
// at EL0 always), as the ARM ARM's pseudocode and QEMU say.
SysRegAccess sp_el0_access(const Cpu& c, bool) { return c.s.spsel ? SysRegAccess::Ok : SysRegAccess::Undefined; }

bool plain_read(uint32_t key, PlainRead& out) {
    const SysRegDesc* d = find_sysreg(key);
    if (!d || d->field < 0 || !d->read) return false;
    if (d->access == nullptr) out.guard = PlainRead::El1;
    else if (d->access == &el0_ok || d->access == &el0_read_only) out.guard = PlainRead::Any;
    else if (d->access == &sp_el0_access) out.guard = PlainRead::SpSel;
    else return false;
    out.field = d->field;
    out.bytes = d->field_bytes;
    return true;
}

const SysRegDesc* find_sysreg(uint32_t key) {
    // One slot per 16-bit encoding, filled on first use (no static
    // constructors); a duplicate encoding is a programming error caught by
    // the unit tests (test_sysregs).
    static const std::unique_ptr<const SysRegDesc*[]> table = [] {
        auto t = std::make_unique<const SysRegDesc*[]>(1u << 16);
        for (auto area : {base_sysregs(), debug_sysregs(), mmu_sysregs(), timer_sysregs(), pmu_sysregs(),
                          id_sysregs()})
            for (const auto& d : area) t[d.key & 0xffff] = &d;
        return t;
    }();
    return table[key & 0xffff];
}

namespace {

// The ID space's names (op0=3, op1=0, CRn=0; CRm 0-7, op2 0-7) as QEMU's
// cpregs: the AArch32 ID registers without "_EL1", reserved slots as QEMU
// lists them; null where QEMU lists none (its reads act: MIDR, MPIDR,
// ID_PFR1, ID_AA64PFR0 depend on the GIC; or unnamed).
const char* const kIdNames[8][8] = {
    {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, "REVIDR_EL1", nullptr},
    {"ID_PFR0", nullptr, "ID_DFR0", "ID_AFR0", "ID_MMFR0", "ID_MMFR1", "ID_MMFR2", "ID_MMFR3"},
    {"ID_ISAR0", "ID_ISAR1", "ID_ISAR2", "ID_ISAR3", "ID_ISAR4", "ID_ISAR5", "ID_MMFR4", "ID_ISAR6"},
    {"MVFR0_EL1", "MVFR1_EL1", "MVFR2_EL1", "RES_0_C0_C3_3", "ID_PFR2", "ID_DFR1", "ID_MMFR5", "RES_0_C0_C3_7"},
    {nullptr, "ID_AA64PFR1_EL1", "ID_AA64PFR2_EL1_RESERVED", "ID_AA64PFR3_EL1_RESERVED", "ID_AA64ZFR0_EL1",
     "ID_AA64SMFR0_EL1", "ID_AA64PFR6_EL1_RESERVED", "ID_AA64PFR7_EL1_RESERVED"},
    {"ID_AA64DFR0_EL1", "ID_AA64DFR1_EL1", "ID_AA64DFR2_EL1_RESERVED", "ID_AA64DFR3_EL1_RESERVED", "ID_AA64AFR0_EL1",
     "ID_AA64AFR1_EL1", "ID_AA64AFR2_EL1_RESERVED", "ID_AA64AFR3_EL1_RESERVED"},
    {"ID_AA64ISAR0_EL1", "ID_AA64ISAR1_EL1", "ID_AA64ISAR2_EL1_RESERVED", "ID_AA64ISAR3_EL1_RESERVED",
     "ID_AA64ISAR4_EL1_RESERVED", "ID_AA64ISAR5_EL1_RESERVED", "ID_AA64ISAR6_EL1_RESERVED",
     "ID_AA64ISAR7_EL1_RESERVED"},
    {"ID_AA64MMFR0_EL1", "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1", "ID_AA64MMFR3_EL1_RESERVED",
     "ID_AA64MMFR4_EL1_RESERVED", "ID_AA64MMFR5_EL1_RESERVED", "ID_AA64MMFR6_EL1_RESERVED",
     "ID_AA64MMFR7_EL1_RESERVED"},
};

std::string gdb_name(const SysRegDesc& d) {
    unsigned crn = (d.key >> 7) & 0xf, crm = (d.key >> 3) & 0xf, op2 = d.key & 7, op1 = (d.key >> 11) & 7;
    std::string n = d.name;
    if (n == "ID") return op1 == 0 && crn == 0 && crm < 8 && kIdNames[crm][op2] ? kIdNames[crm][op2] : "";
    // Numbered families: the number from the encoding.
    for (const char* f : {"DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR"})
        if (n.rfind(f, 0) == 0) return std::string(f) + std::to_string(crm) + "_EL1";
    for (const char* f : {"PMEVCNTR", "PMEVTYPER"})
        if (n.rfind(f, 0) == 0) return std::string(f) + std::to_string((crm & 3) * 8 + op2) + "_EL0";
    // QEMU names these by their AArch32 view (one cpreg for both).
    static const std::pair<const char*, const char*> kBoth[] = {
        {"SCTLR_EL1", "SCTLR"}, {"VBAR_EL1", "VBAR"}, {"CPACR_EL1", "CPACR"}, {"CNTKCTL_EL1", "CNTKCTL"},
        {"CSSELR_EL1", "CSSELR"}, {"CLIDR_EL1", "CLIDR"}, {"AIDR_EL1", "AIDR"}, {"L2ACTLR_EL1", "L2ACTLR"},
        {"AMAIR_EL1", "AMAIR0"}};
    for (auto [ours, qemus] : kBoth)
        if (n == ours) return qemus;
    static const char* const kLeftOut[] = {
        "NZCV", "DAIF", "PAN", "CurrentEL", "SPSel", "UAO", "DIT", "SSBS", "TCO", "ISR_EL1", "CNTPCT_EL0", "CNTVCT_EL0", "CNTP_TVAL_EL0", "CNTV_TVAL_EL0",
        "CCSIDR_EL1", "DCZID_EL0", "MPIDR_EL1", "DBGCLAIMSET_EL1", "DBGCLAIMCLR_EL1", "DBGAUTHSTATUS_EL1",
        "MDCCINT_EL1", "PMSWINC_EL0", "PMXEVTYPER_EL0", "PMXEVCNTR_EL0", "PMINTENCLR_EL1"};
    for (const char* l : kLeftOut)
        if (n == l) return "";
    return n;
}

}  // namespace

const std::vector<GdbSysReg>& gdb_sysregs() {
    static const std::vector<GdbSysReg> list = [] {
        std::vector<GdbSysReg> v;
        for (auto area : {base_sysregs(), debug_sysregs(), mmu_sysregs(), timer_sysregs(), pmu_sysregs(),
                          id_sysregs()})
            for (const auto& d : area)
                if (d.read)
                    if (std::string n = gdb_name(d); !n.empty()) v.push_back({n, &d});
        return v;
    }();
    return list;
}

}  // namespace armvm
