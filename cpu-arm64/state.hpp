// The architectural state of one AArch64 CPU (ARM ARM D1): general purpose
// registers, stack pointers, PC, PSTATE and the EL1 system registers the
// interpreter needs. A plain struct: the vCPU thread owns it.
#pragma once
#include <cstdint>

namespace armvm {

// PSTATE.NZCV lives in bits [31:28], as in SPSR and the NZCV register.
inline constexpr uint32_t kN = 1u << 31, kZ = 1u << 30, kC = 1u << 29, kV = 1u << 28;

struct CpuState {
    uint64_t x[31] = {};        // X0..X30
    uint64_t sp_el0 = 0;
    uint64_t sp_el1 = 0;
    uint64_t pc = 0;
    uint32_t nzcv = 0;
    // FP/AdvSIMD (the FP/SIMD issue): V0..V31 as two little-endian halves
    // each, FPCR and FPSR.
    alignas(16) uint64_t v[32][2] = {};
    uint32_t fpcr = 0, fpsr = 0;
    unsigned el = 1;            // current exception level
    bool spsel = true;          // PSTATE.SP: use SP_ELx
    uint32_t daif = 0x3c0;      // D, A, I, F mask bits at [9:6]
    bool pan = false;           // PSTATE.PAN (FEAT_PAN)
    bool ss = false;            // PSTATE.SS: software step (active-not-pending when set)
    bool dit = false;           // PSTATE.DIT (FEAT_DIT): data-independent timing (every instruction here)
    bool ssbs = false;          // PSTATE.SSBS (FEAT_SSBS): speculative store bypass safe (nothing to do)
    bool uao = false;           // PSTATE.UAO (FEAT_UAO): LDTR/STTR at EL1 with EL1's permissions
    uint8_t btype = 0;          // PSTATE.BTYPE (FEAT_BTI): what kind of branch reached this instruction

    // EL1 system registers.
    // MMU off; SA, SA0, nTWI, nTWE and the RES1 bits set: QEMU's reset value.
    uint64_t sctlr_el1 = 0x00c50838;
    uint64_t vbar_el1 = 0;
    uint64_t elr_el1 = 0;
    uint64_t spsr_el1 = 0;
    uint64_t esr_el1 = 0;
    uint64_t far_el1 = 0;
    uint64_t tpidr_el0 = 0, tpidrro_el0 = 0, tpidr_el1 = 0;
    uint64_t scxtnum_el0 = 0, scxtnum_el1 = 0;  // (FEAT_CSV2_2: software context numbers, only kept)
    uint64_t disr_el1 = 0;  // (FEAT_RAS: no errors are ever deferred here; software's writes kept)
    // The pointer authentication keys (FEAT_PAuth): APIA, APIB, APDA, APDB,
    // APGA; KeyLo_EL1 is bits 63:0 of the 128-bit key, KeyHi_EL1 127:64.
    struct PacKey {
        uint64_t lo = 0, hi = 0;
    } pac_keys[5];
    uint64_t mpidr_el1 = 1ull << 31;  // RES1 bit 31; affinity set by the board
    uint64_t contextidr_el1 = 0, cpacr_el1 = 0, csselr_el1 = 0;
    uint64_t mdscr_el1 = 0, osdlr_el1 = 0, oslsr_el1 = 0xa;  // OS lock set at reset (OSLM 0b10, OSLK 1)
    uint64_t mdccint_el1 = 0;
    uint64_t dbgbvr[16] = {}, dbgbcr[16] = {}, dbgwvr[16] = {}, dbgwcr[16] = {};

    // VMSAv8-64 (cpu-arm64/mmu/).
    uint64_t ttbr0_el1 = 0, ttbr1_el1 = 0, tcr_el1 = 0, mair_el1 = 0, amair_el1 = 0, par_el1 = 0;

    // Generic timer (ARM ARM D11): EL1 physical and virtual timers.
    uint64_t cntp_ctl = 0, cntp_cval = 0, cntv_ctl = 0, cntv_cval = 0;
    uint64_t cntkctl_el1 = 0;

    // PMUv3 (cpu-arm64/pmu.cpp): the writable state; PMCR_EL0 keeps only
    // its writable bits (E, D, X, DP, LC), N and the IDs come from the model.
    uint32_t pmcr = 0, pmcnten = 0, pmovs = 0, pminten = 0, pmselr = 0, pmuserenr = 0, pmccfiltr = 0;
    uint64_t pmevcntr[6] = {};  // (64 bits with PMUv3p5; 32 before)
    uint32_t pmevtyper[6] = {};
    uint64_t pmccntr = 0;

    // Exclusive monitor: the address, size and value of the last LDXR.
    // The store-exclusive succeeds if memory still holds that value (an
    // atomic compare-and-swap, as QEMU's TCG does).
    bool excl_valid = false;
    uint64_t excl_addr = 0;
    unsigned excl_size = 0;
    uint64_t excl_value = 0, excl_value_hi = 0;
};

}  // namespace armvm
