// VMSAv8-64 stage 1 translation for the EL1&0 regime (ARM ARM D8):
// 4K, 16K and 64K granules, up to 48-bit VAs, TTBR0/TTBR1, hierarchical
// permissions, the access flag and address size checks. A pure function
// of the registers and the page tables it reads, so the unit tests drive it
// with a fake bus; the CPU caches its results in the TLB (tlb.hpp). The
// hardware updates of FEAT_HAFDBS (TCR_EL1.HA, HD) are reported, not made:
// the CPU writes the descriptor (Cpu::lookup) once the access is allowed.
#pragma once
#include <cstdint>
#include <functional>

namespace armvm {
class Bus;
}

namespace armvm::mmu {

// What each kind of access may do with a page, for every mode at once:
// the TLB keeps this and the CPU picks the bits of its current mode.
enum Perm : uint8_t {
    kR0 = 1, kW0 = 2, kX0 = 4,       // EL0
    kR1 = 8, kW1 = 16, kX1 = 32,     // EL1
    kR1Pan = 64, kW1Pan = 128,       // EL1 data accesses with PSTATE.PAN set
    kAll = 0xff,
};

enum class FaultType : uint8_t { None, AddressSize, Translation, AccessFlag, Permission, Alignment, WalkAbort,
                                 External };

struct Fault {
    FaultType type = FaultType::None;
    int level = 0;
};

// The fault status code of ESR_ELx.{I,D}FSC and PAR_EL1.FST.
uint32_t fault_status(Fault f);

// The registers that shape the EL1&0 regime.
struct Regime {
    uint64_t sctlr = 0, tcr = 0, ttbr0 = 0, ttbr1 = 0, mair = 0;
    unsigned pa_bits = 48;  // ID_AA64MMFR0_EL1.PARange, in bits
    bool has_16k = true;    // ID_AA64MMFR0_EL1.TGran16 (4K and 64K: every model)
    bool ttst = false;      // ID_AA64MMFR2_EL1.ST (FEAT_TTST): TxSZ up to 48 (47 with 64K pages)
    bool lva = false;       // ID_AA64MMFR2_EL1.VARange (FEAT_LVA): 52-bit VAs with 64K pages
    bool lpa2 = false;      // TGran4/TGran16 (FEAT_LPA2): TCR_EL1.DS, 52 bits with 4K and 16K pages
};

struct Translation {
    uint64_t pa_page = 0;    // physical address of the 4K page holding the VA
    uint64_t size = 0x1000;  // size of the block or page that maps it
    uint8_t perm = kAll;
    bool global = true;
    uint16_t asid = 0;
    uint8_t level = 0;       // the level of the leaf descriptor
    uint8_t attr = 0;        // the MAIR_EL1 attribute byte
    uint8_t sh = 0;          // shareability, descriptor bits [9:8]
    bool guarded = false;    // the leaf's GP bit (FEAT_BTI: a guarded page)
    // FEAT_HAFDBS: the leaf descriptor and where it is; `set_af`: its AF
    // is 0 and TCR_EL1.HA lets the hardware set it (no Access flag fault);
    // `perm_dirty`: the permissions once a write has made a
    // dirty-bit-managed (DBM) read-only page writable (TCR_EL1.HD).
    uint64_t desc = 0, desc_pa = 0;
    bool set_af = false;
    uint8_t perm_dirty = kAll;
};

// The ASID the regime tags non-global translations with (TCR_EL1.A1, AS).
uint16_t current_asid(const Regime& r);

// Removes the top-byte tag (TCR_EL1.TBI0/TBI1) of a data address: bits
// [63:56] become copies of bit 55.
uint64_t strip_tag(const Regime& r, uint64_t va);
// The same from the two registers it reads (SCTLR.M, TCR.TBI0/TBI1).
inline uint64_t strip_tag(uint64_t sctlr, uint64_t tcr, uint64_t va) {
    if (!(sctlr & 1)) return va;  // TBI applies to the translation regime only
    bool hi = (va >> 55) & 1;
    bool tbi = hi ? (tcr >> 38) & 1 : (tcr >> 37) & 1;
    if (!tbi) return va;
    return hi ? (va | 0xff00000000000000ull) : (va & 0x00ffffffffffffffull);
}

// Translates `va` (already stripped of a tag for data accesses). false:
// `fault` says why (translation, access flag, address size or walk abort;
// permission checks are the caller's, against t.perm).
bool walk(const Regime& r, Bus& bus, uint64_t va, Translation& t, Fault& fault);

// Every page and block the regime's tables map, TTBR0's range then
// TTBR1's, in address order: `leaf(va, t)` with va the start of the
// page or block. false (and nothing) with the MMU off.
bool for_each_mapping(const Regime& r, Bus& bus, const std::function<void(uint64_t, const Translation&)>& leaf);

}  // namespace armvm::mmu
