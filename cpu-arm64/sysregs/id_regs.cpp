#include "cpu-arm64/sysregs/id_regs.hpp"

#include <cstring>
#include <array>
#include <utility>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

namespace {

constexpr uint32_t key(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
    return sysreg_key(op0, op1, crn, crm, op2);
}

// What the emulation implements, per model (INCIDENTS.md #4: a field is
// set only when the feature behind it is emulated):
//  ID_AA64PFR0: EL0 and EL1 AArch64 only (1, 1), no EL2/EL3 (0, 0), FP and
//               AdvSIMD as Armv8.0 (0, 0) on the Cortex-A5x/A72, with
//               FEAT_FP16 half-precision arithmetic (1, 1) and RAS (1, no
//               error records) on neoverse-n1 and max; the board sets the
//               GIC field for a GICv3.
//  ID_AA64ISAR0: CRC32, AES+PMULL, SHA1 and SHA256 on every model; the LSE
//               atomics (Atomic = 2), RDM and DotProd on the Armv8.1+
//               models; SHA512, SHA3, SM3, SM4, TLB range and OS, FlagM2,
//               FHM and RNDR on max.
//  ID_AA64ISAR1: LRCPC and DPB on the Armv8.1+ models (LRCPC2 and DPB2 on
//               max); JSCVT, FCMA, FRINTTS, SB, SPECRES, BF16, DGH and I8MM
//               on max.
//  ID_AA64PFR0/1: SSBS (2), CSV2 and CSV3 on the Armv8.1+ models; DIT,
//               CSV2_2 and BT on max.
//  ID_AA64MMFR2: CnP, UAO and IESB on the Armv8.1+ models; IDS, TTL, BBM 2 and
//               E0PD and ST (TTST) on max. ID_AA64MMFR1: HPDS on the Armv8.1+
//               models (2 on neoverse-n1), HAFDBS 2 on them, LO and ETS on max.
//  ID_AA64MMFR0: PA size, 16-bit ASIDs and granules as each part (the
//               Cortex-A5x/A72 have no 16K granule); on max 52-bit PAs
//               (LPA) and 4K/16K granules with 52 bits (LPA2), and
//               VARange 52 bits (LVA) in MMFR2.
//  ID_AA64MMFR1: PAN = 2 (PAN and AT S1E1RP/WP) on the Armv8.1+ models.
//  ID_AA64DFR0: Armv8.0 debug (6; 9 on max) with the Cortex parts' breakpoints and
//               watchpoints; PMUVer 1 (PMUv3 as Armv8.0 defines it, what
//               cpu-arm64/sysregs/pmu.cpp implements) or 0 with pmu=off.
constexpr uint64_t kPfr0 = 0x0000000000000011ull;
constexpr uint64_t kDfr0 = 0x0000000010305006ull;  // PMUVer 0
constexpr uint64_t kIdDfr0 = 0x00010066ull;         // AArch32 view, PerfMon 0

struct ModelIds {
    const char* name;
    uint64_t midr, ctr, mmfr0, clidr;
    bool v81;  // LSE and PAN
};

// (CLIDR: L1 I+D and a unified L2 on each; the Neoverse N1 and max need no
// cache maintenance to the point of unification, as QEMU's)
constexpr ModelIds kModels[] = {
    {"cortex-a53", 0x410fd034, 0x84448004, 0x00001122, 0x0a200023, false},
    {"cortex-a57", 0x411fd070, 0x8444c004, 0x00001124, 0x0a200023, false},
    {"cortex-a72", 0x410fd083, 0x8444c004, 0x00001124, 0x0a200023, false},
    {"neoverse-n1", 0x414fd0c1, 0x8444c004, 0x00101125, 0x82000023, true},
    {"max", 0x000f0510, 0x8444c004, 0x00101125, 0x02000023, true},  // (QEMU's MIDR: implementer 0, part 'Q')
};

}  // namespace

namespace {
// ID field [at+3:at] of `reg` = v.
void set_field(uint64_t& reg, unsigned at, uint64_t v) { reg = (reg & ~(0xfull << at)) | (v << at); }
}  // namespace

void set_lpa2(IdRegs& r, bool on) {
    set_field(r.id_aa64mmfr0, 28, on ? 1 : 0);
    set_field(r.id_aa64mmfr0, 20, on ? 2 : 1);
}

void set_pauth(IdRegs& r, bool on, bool impdef) {
    // APA, API, GPA, GPI: QARMA5 (1 0 1 0) or the implementation-defined
    // algorithm (0 1 0 1); basic PAuth (no PAuth2, FPAC), as QEMU 7.2's
    for (unsigned at : {4u, 8u, 24u, 28u}) set_field(r.id_aa64isar1, at, 0);
    if (!on) return;
    set_field(r.id_aa64isar1, impdef ? 8 : 4, 1);
    set_field(r.id_aa64isar1, impdef ? 28 : 24, 1);
}

IdRegs id_regs_for(const std::string& model, bool pmu) {
    const ModelIds* m = &kModels[1];  // cortex-a57: also what "host" shows when TCG stands in
    for (const auto& c : kModels)
        if (model == c.name) m = &c;
    IdRegs r;
    r.midr = m->midr;
    r.ctr = m->ctr;
    r.id_aa64pfr0 = kPfr0;
    r.id_aa64mmfr0 = m->mmfr0;
    r.id_aa64dfr0 = kDfr0;
    r.id_dfr0 = kIdDfr0;
    if (pmu) {
        // PMUVer/PerfMon: PMUv3 (Armv8.0); on max PMUv3p5 (as QEMU 7.2's
        // max: 16-bit event numbers, PMMIR, 64-bit event counters)
        bool v3p5 = !std::strcmp(m->name, "max");
        r.id_aa64dfr0 |= (v3p5 ? 6ull : 1ull) << 8;
        r.id_dfr0 |= (v3p5 ? 6u : 3u) << 24;
    }
    r.id_aa64isar0 |= 1ull << 16;  // CRC32: every model here has it (as the parts)
    // The crypto extension (as QEMU's models of these parts): AES with
    // PMULL (2), SHA1 (1), SHA256 (1).
    r.id_aa64isar0 |= (2ull << 4) | (1ull << 8) | (1ull << 12);
    if (m->v81) {
        r.id_aa64isar0 |= 2ull << 20;  // Atomic: LSE
        r.id_aa64mmfr1 |= 2ull << 20;  // PAN: PAN2
        // Armv8.2's RDM (SQRDMLAH/SQRDMLSH), DotProd (SDOT/UDOT) and LRCPC
        // (LDAPR), as the Neoverse N1 has them
        r.id_aa64isar0 |= (1ull << 28) | (1ull << 44);
        r.id_aa64isar1 |= (1ull << 20) | 1;  // (and DPB: DC CVAP)
        r.id_aa64pfr1 |= 2ull << 4;            // SSBS2
        r.id_aa64pfr0 |= (1ull << 56) | (1ull << 60);  // CSV2, CSV3: nothing speculates here
        r.id_aa64pfr0 |= (1ull << 16) | (1ull << 20);  // FP, AdvSIMD: FEAT_FP16 (half-precision arithmetic)
        // RAS (no error records: ERRIDR_EL1 0, DISR_EL1); RASv1p1 on max,
        // which without records adds nothing to do (as QEMU's)
        r.id_aa64pfr0 |= (std::strcmp(m->name, "max") ? 1ull : 2ull) << 28;
        // CnP (TTBR's bit 0: ignored), UAO, IESB (no errors to synchronize)
        r.id_aa64mmfr2 |= 1 | (1ull << 4) | (1ull << 12);
        // HPDS: 2 on the Neoverse N1 (its HWU bits: no hardware use here),
        // 1 on max (as QEMU's)
        r.id_aa64mmfr1 |= (std::strcmp(m->name, "max") ? 2ull : 1ull) << 12;
        r.id_aa64mmfr1 |= 2;  // HAFDBS: hardware access flag and dirty state (TCR_EL1.HA, HD)
    }
    if (!std::strcmp(m->name, "max")) {  // the later features of QEMU's max armvm has so far (issue 20)
        set_field(r.id_aa64isar0, 12, 2);  // SHA2: SHA512 too
        r.id_aa64isar0 |= (1ull << 32)     // SHA3 (EOR3, RAX1, XAR, BCAX)
                          | (1ull << 36)   // SM3
                          | (1ull << 40)   // SM4
                          | (2ull << 56)   // TLB: the outer-shareable and range TLBIs
                          | (2ull << 52)   // TS: FlagM2 (CFINV, RMIF, SETF8/16, AXFLAG, XAFLAG)
                          | (1ull << 48)   // FHM (FMLAL, FMLSL)
                          | (1ull << 60);  // RNDR
        r.id_aa64mmfr1 |= 1ull << 16;      // LO: LORegions (none: LORID_EL1 0), LDLAR/STLLR
        // ETS: a walk after a table write and a DSB sees it (every walk
        // here reads the tables from memory, in program order)
        r.id_aa64mmfr1 |= 1ull << 36;
        // 52-bit addresses: PARange 52 bits (FEAT_LPA with 64K pages), 4K
        // and 16K pages with TCR_EL1.DS (FEAT_LPA2: TGran4 1, TGran16 2),
        // 52-bit VAs with 64K pages (VARange: FEAT_LVA)
        set_field(r.id_aa64mmfr0, 0, 6);
        set_lpa2(r, true);
        r.id_aa64mmfr2 |= 1ull << 16;
        r.id_aa64mmfr2 |= (1ull << 36)     // IDS: the ID space's reads trap as EC 0x18
                          | (1ull << 48)   // TTL (the TLBI level hint: nothing to use it for)
                          | (1ull << 28)   // ST: TTST, TxSZ up to 48 (small translation tables)
                          | (2ull << 52)   // BBM level 2 (no TLB conflict aborts)
                          | (1ull << 60);  // E0PD (TCR_EL1.E0PD0/1)
        r.id_aa64pfr0 |= 1ull << 48;       // DIT
        set_field(r.id_aa64pfr0, 56, 2);   // CSV2_2 (SCXTNUM_ELx)
        set_field(r.id_aa64isar1, 0, 2);   // DPB2 (DC CVADP)
        set_field(r.id_aa64isar1, 20, 2);  // LRCPC2 (LDAPUR, STLUR)
        r.id_aa64isar1 |= (1ull << 12)     // JSCVT (FJCVTZS)
                          | (1ull << 16)   // FCMA (FCMLA, FCADD)
                          | (1ull << 32)   // FRINTTS (FRINT32/64Z/X)
                          | (1ull << 36)   // SB
                          | (1ull << 40)   // SPECRES (CFP/DVP/CPP RCTX: nothing to restrict)
                          | (1ull << 44)   // BF16 (BFCVT(N), BFDOT, BFMMLA, BFMLALB/T)
                          | (1ull << 48)   // DGH (a hint: a NOP here)
                          | (1ull << 52);  // I8MM (SMMLA, UMMLA, USMMLA, USDOT, SUDOT)
        set_pauth(r, true, false);
        r.id_aa64pfr1 |= 1;                // BT: BTI (guarded pages, PSTATE.BTYPE)
        // DebugVer: Armv8.4 debug (FEAT_Debugv8p2 and v8p4), as QEMU's max:
        // what they change for self-hosted debug is CONTEXTIDR_EL2 (with
        // EL2), the rest is the external debug interface, which no model
        // here has
        set_field(r.id_aa64dfr0, 0, 9);
    }
    r.dczid = 0x4;          // DC ZVA block: 64 bytes
    r.clidr = m->clidr;
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

namespace {

// The ID space (op0=3, op1=0, CRn=0): MIDR_EL1, REVIDR_EL1 and CRm 1..7,
// read-only at EL1 (MPIDR_EL1 is in base.cpp).
template <uint32_t Key>
constexpr SysRegDesc id_reg() {
    return {Key, "ID", nullptr, [](Cpu& c, uint64_t& v) { return read_id_reg(c.ids, Key, v); }, nullptr};
}

template <uint32_t... I>
constexpr auto id_space(std::integer_sequence<uint32_t, I...>) {
    return std::array<SysRegDesc, sizeof...(I) + 2>{id_reg<key(3, 0, 0, 0, 0)>(), id_reg<key(3, 0, 0, 0, 6)>(),
                                                    id_reg<key(3, 0, 0, 1 + I / 8, I % 8)>()...};
}

constexpr auto kIdRegs = id_space(std::make_integer_sequence<uint32_t, 56>{});

}  // namespace

std::span<const SysRegDesc> id_sysregs() { return kIdRegs; }

}  // namespace armvm
