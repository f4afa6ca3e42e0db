// The ID registers a CPU model advertises (ARM ARM D13.2), as data. They
// say exactly what armvm implements for that model (INCIDENTS.md #4): an
// ID field is only set when the feature behind it is emulated.
#pragma once
#include <cstdint>
#include <string>

namespace armvm {

struct IdRegs {
    uint64_t midr = 0, revidr = 0;
    uint64_t id_aa64pfr0 = 0, id_aa64pfr1 = 0;
    uint64_t id_aa64dfr0 = 0, id_aa64dfr1 = 0;
    uint64_t id_aa64isar0 = 0, id_aa64isar1 = 0;
    uint64_t id_aa64mmfr0 = 0, id_aa64mmfr1 = 0, id_aa64mmfr2 = 0;
    uint64_t id_dfr0 = 0;
    uint64_t ctr = 0, dczid = 0, clidr = 0;

    // The PMU version field of ID_AA64DFR0_EL1 (bits [11:8]).
    unsigned pmu_version() const { return (id_aa64dfr0 >> 8) & 0xf; }
};

// For a model name from cpu-arm64/models.cpp; `pmu` false clears the PMU
// fields (pmu=off).
IdRegs id_regs_for(const std::string& model, bool pmu);
// Pointer authentication on or off (max: on, QARMA5, unless -cpu
// max,pauth=off or pauth-impdef=on).
void set_pauth(IdRegs& r, bool on, bool impdef);
// FEAT_LPA2 on or off (max: on, unless -cpu max,lpa2=off): TGran4 1
// and TGran16 2, or 0 and 1 (4K and 16K pages with 48-bit addresses).
void set_lpa2(IdRegs& r, bool on);

// MRS of a register in the ID space (op0=3, op1=0, CRn=0; and CTR_EL0,
// DCZID_EL0, CLIDR_EL1). `key` is the MRS bits [20:5]. Returns false if the
// key is not an ID register; unallocated ID space reads as zero.
bool read_id_reg(const IdRegs& ids, uint32_t key, uint64_t& value);

}  // namespace armvm
