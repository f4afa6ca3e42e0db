#include "cpu-arm64/sysregs/id_regs.hpp"

namespace armvm {

namespace {

constexpr uint32_t key(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
    return ((op0 >> 1) << 15) | ((op0 & 1) << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

// What the emulation implements today, the same for every model:
//  ID_AA64PFR0: EL0 and EL1 AArch64 only (1, 1), no EL2/EL3 (0, 0), FP and
//               AdvSIMD not implemented (0xf, 0xf) until the FP/SIMD work,
//               no GIC system registers (0).
//  ID_AA64ISAR0: nothing beyond the base set (no CRC32, crypto, atomics).
//  ID_AA64MMFR0: 48-bit PA, 16-bit ASIDs, 4K/16K/64K granules.
//  ID_AA64DFR0: Armv8.0 debug (6), breakpoints/watchpoints as the Cortex
//               parts, PMUVer 0: the PMU is not emulated yet.
constexpr uint64_t kPfr0 = 0x0000000000ff0011ull;
constexpr uint64_t kMmfr0 = 0x0000000000101125ull;
constexpr uint64_t kDfr0 = 0x0000000010305006ull;
constexpr uint64_t kIdDfr0 = 0x00010066ull;  // AArch32 view: PerfMon 0

}  // namespace

IdRegs id_regs_for(const std::string& model, bool /*pmu*/) {
    IdRegs r;
    r.id_aa64pfr0 = kPfr0;
    r.id_aa64mmfr0 = kMmfr0;
    r.id_aa64dfr0 = kDfr0;
    r.id_dfr0 = kIdDfr0;
    r.dczid = 0x4;          // DC ZVA block: 64 bytes
    r.clidr = 0x0a200023;   // L1 I+D, L2 unified (as the Cortex-A57)
    // MIDR_EL1 and CTR_EL0 per part (their TRMs; QEMU uses the same).
    if (model == "cortex-a53") {
        r.midr = 0x410fd034;
        r.ctr = 0x84448004;
    } else if (model == "cortex-a72") {
        r.midr = 0x410fd083;
        r.ctr = 0x8444c004;
    } else if (model == "neoverse-n1") {
        r.midr = 0x414fd0c1;
        r.ctr = 0x84448004;
    } else {  // cortex-a57, and max starts from it
        r.midr = 0x411fd070;
        r.ctr = 0x8444c004;
    }
    // pmu=on will set PMUVer (capped at what is implemented) with the PMU
    // emulation; until then the field stays 0 either way.
    return r;
}

bool read_id_reg(const IdRegs& ids, uint32_t k, uint64_t& v) {
    switch (k) {
    case key(3, 0, 0, 0, 0): v = ids.midr; return true;
    case key(3, 0, 0, 0, 6): v = ids.revidr; return true;
    case key(3, 0, 0, 4, 0): v = ids.id_aa64pfr0; return true;
    case key(3, 0, 0, 4, 1): v = ids.id_aa64pfr1; return true;
    case key(3, 0, 0, 5, 0): v = ids.id_aa64dfr0; return true;
    case key(3, 0, 0, 5, 1): v = ids.id_aa64dfr1; return true;
    case key(3, 0, 0, 6, 0): v = ids.id_aa64isar0; return true;
    case key(3, 0, 0, 6, 1): v = ids.id_aa64isar1; return true;
    case key(3, 0, 0, 7, 0): v = ids.id_aa64mmfr0; return true;
    case key(3, 0, 0, 7, 1): v = ids.id_aa64mmfr1; return true;
    case key(3, 0, 0, 7, 2): v = ids.id_aa64mmfr2; return true;
    case key(3, 0, 0, 1, 2): v = ids.id_dfr0; return true;
    case key(3, 3, 0, 0, 1): v = ids.ctr; return true;
    case key(3, 3, 0, 0, 7): v = ids.dczid; return true;
    case key(3, 1, 0, 0, 1): v = ids.clidr; return true;
    default: break;
    }
    // The rest of the ID space (CRm 1..7) is reserved: read-as-zero.
    if ((k & ~uint32_t{0x3f}) == key(3, 0, 0, 0, 0) && ((k >> 3) & 0xf) >= 1) {
        v = 0;
        return true;
    }
    return false;
}

}  // namespace armvm
