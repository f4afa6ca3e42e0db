// System registers as data (DESIGN.md habit 4): each area (base EL0/EL1
// state, debug, MMU, timer, PMU, ID) lists its registers as descriptors —
// encoding, name, access check, read and write hooks — and MRS/MSR look
// the encoding up. Reset values are CpuState's member initialisers.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace armvm {

class Cpu;

// op0:op1:CRn:CRm:op2 as bits [20:5] of MRS/MSR: the lookup key.
constexpr uint32_t sysreg_key(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
    return ((op0 >> 1) << 15) | ((op0 & 1) << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

enum class SysRegAccess : uint8_t {
    Ok,
    Undefined,  // UNDEFINED: EC 0x00
    Trap,       // trapped to EL1: EC 0x18 with the encoding in the ISS
    FpTrap,     // CPACR_EL1.FPEN: the FP/AdvSIMD access trap (EC 0x07)
};

struct SysRegDesc {
    uint32_t key;
    const char* name;
    // nullptr: accessible at EL1 only (UNDEFINED at EL0).
    SysRegAccess (*access)(const Cpu&, bool write);
    bool (*read)(Cpu&, uint64_t&);   // nullptr: write-only (MRS UNDEFINED)
    void (*write)(Cpu&, uint64_t);   // nullptr: read-only (MSR UNDEFINED)
    // A read that returns a CpuState field as it is (FIELD_RW): its byte
    // offset and size; -1: only the read hook says.
    int32_t field = -1;
    uint8_t field_bytes = 8;
};

// An MRS compiled code may make without the handler: a load of the
// CpuState field at `field` (`bytes` wide), where `guard` allows (Any: at
// every EL; El1: not at EL0; SpSel: at EL1 with PSTATE.SP 1, SP_EL0 not
// being the SP in use); elsewhere the handler (UNDEFINED). False for a
// register whose read does more, or whose access check is another.
struct PlainRead {
    int32_t field;
    uint8_t bytes;
    enum Guard : uint8_t { Any, El1, SpSel } guard;
};
bool plain_read(uint32_t key, PlainRead& out);

// The areas' tables (cpu-arm64/sysregs/*.cpp).
std::span<const SysRegDesc> base_sysregs();
std::span<const SysRegDesc> debug_sysregs();
std::span<const SysRegDesc> mmu_sysregs();
std::span<const SysRegDesc> timer_sysregs();
std::span<const SysRegDesc> pmu_sysregs();
std::span<const SysRegDesc> id_sysregs();

// The descriptor for `key`, or nullptr (the GIC CPU interface and the
// unknown).
const SysRegDesc* find_sysreg(uint32_t key);

// The system registers a debugger reads (the gdbstub's
// org.qemu.gdb.arm.sys.regs feature), named as QEMU 7.2 names them (its
// cpreg names: SCTLR, VBAR, ID_MMFR0, PMEVCNTR3_EL0, ...) and chosen as
// QEMU chooses: plain state, not the registers whose reads act (counters,
// TVALs, ISR) nor PSTATE fields or write-only ones. Every descriptor with
// its name; whether a CPU model has it is the caller's check.
struct GdbSysReg {
    std::string name;
    const SysRegDesc* desc;
};
const std::vector<GdbSysReg>& gdb_sysregs();

// Common access checks.
SysRegAccess el0_ok(const Cpu&, bool);
SysRegAccess el0_read_only(const Cpu&, bool write);
SysRegAccess sp_el0_access(const Cpu&, bool);  // (UNDEFINED while SP_EL0 is the SP in use)

}  // namespace armvm
