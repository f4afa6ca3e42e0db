#include "cpu-arm64/mmu/walk.hpp"

#include <algorithm>

#include "cpu-arm64/cpu.hpp"

namespace armvm::mmu {

namespace {

constexpr uint64_t bitsv(uint64_t v, unsigned hi, unsigned lo) { return (v >> lo) & ((2ull << (hi - lo)) - 1); }
constexpr uint64_t ones(unsigned n) { return n >= 64 ? ~0ull : (1ull << n) - 1; }

// TCR_ELx.IPS / ID_AA64MMFR0_EL1.PARange encodings, in bits.
unsigned ps_bits(unsigned ps) {
    static constexpr unsigned table[] = {32, 36, 40, 42, 44, 48, 52};
    return ps < 7 ? table[ps] : 48;
}

// One half of the regime (TTBR0's or TTBR1's): its input size, granule
// and whether walks are disabled, from TCR_EL1.
struct Half {
    unsigned inputsize, g;  // VA bits, granule bits
    bool epd, tbi;
    bool ds;                // TCR_EL1.DS in effect (FEAT_LPA2, 4K or 16K pages)
    bool tsz_oob;           // TxSZ out of range: every walk faults (level 0), as QEMU's
};

Half half(const Regime& r, bool hi) {
    unsigned tsz = static_cast<unsigned>(hi ? bitsv(r.tcr, 21, 16) : bitsv(r.tcr, 5, 0));
    unsigned tg = static_cast<unsigned>(hi ? bitsv(r.tcr, 31, 30) : bitsv(r.tcr, 15, 14));
    unsigned g;  // granule bits
    if (hi)
        g = tg == 1 ? 14 : tg == 3 ? 16 : 12;  // TG1: 01 16K, 10 4K, 11 64K (00 reserved: 4K)
    else
        g = tg == 2 ? 14 : tg == 1 ? 16 : 12;  // TG0: 00 4K, 01 64K, 10 16K (11 reserved: 4K)
    if (g == 14 && !r.has_16k) g = 12;         // an unimplemented granule acts as 4K (as QEMU)
    bool ds = r.lpa2 && g != 16 && ((r.tcr >> 59) & 1);
    // TxSZ's range: up to 39, or with FEAT_TTST (small translation
    // tables) 48 (47 with 64K pages); from 16, or 12 for 52-bit VAs
    // (FEAT_LVA with 64K pages, FEAT_LPA2's DS with the others). Outside
    // it (IMPLEMENTATION DEFINED) every walk takes a level 0 translation
    // fault, as on QEMU 7.2 (the bounds kept for the sizes below).
    unsigned min_tsz = (g == 16 ? r.lva : ds) ? 12u : 16u, max_tsz = r.ttst ? (g == 16 ? 47u : 48u) : 39u;
    bool oob = tsz < min_tsz || tsz > max_tsz;
    tsz = std::clamp(tsz, min_tsz, max_tsz);
    return {64 - tsz, g, hi ? ((r.tcr >> 23) & 1) != 0 : ((r.tcr >> 7) & 1) != 0,
            hi ? ((r.tcr >> 38) & 1) != 0 : ((r.tcr >> 37) & 1) != 0, ds, oob};
}

// The level a walk of this half starts at.
int start_level(const Half& h) { return 4 - static_cast<int>(1 + (h.inputsize - h.g - 1) / (h.g - 3)); }

}  // namespace

uint32_t fault_status(Fault f) {
    if (f.level == -1) {  // (FEAT_LPA2's level -1)
        switch (f.type) {
        case FaultType::AddressSize: return 0x29;
        case FaultType::Translation: return 0x2b;
        case FaultType::WalkAbort: return 0x13;
        default: break;
        }
    }
    unsigned l = static_cast<unsigned>(f.level) & 3;
    switch (f.type) {
    case FaultType::AddressSize: return 0x00 | l;
    case FaultType::Translation: return 0x04 | l;
    case FaultType::AccessFlag: return 0x08 | l;
    case FaultType::Permission: return 0x0c | l;
    case FaultType::WalkAbort: return 0x14 | l;
    case FaultType::Alignment: return 0x21;
    case FaultType::External: return 0x10;
    default: return 0;
    }
}

uint16_t current_asid(const Regime& r) {
    uint64_t ttbr = (r.tcr >> 22) & 1 ? r.ttbr1 : r.ttbr0;
    uint16_t asid = static_cast<uint16_t>(ttbr >> 48);
    return (r.tcr >> 36) & 1 ? asid : (asid & 0xff);
}

uint64_t strip_tag(const Regime& r, uint64_t va) { return strip_tag(r.sctlr, r.tcr, va); }

bool walk(const Regime& r, Bus& bus, uint64_t va, Translation& t, Fault& fault) {
    t = Translation{};
    if (!(r.sctlr & 1)) {
        // MMU off: flat mapping; an address beyond the PA size faults.
        if (va >> r.pa_bits) {
            fault = {FaultType::AddressSize, 0};
            return false;
        }
        t.pa_page = va & ~0xfffull;
        return true;
    }
    bool hi = (va >> 55) & 1;
    const Half h = half(r, hi);
    const unsigned inputsize = h.inputsize, g = h.g;
    unsigned top = h.tbi ? 55 : 63;
    uint64_t upper = bitsv(va, top, inputsize);
    if (h.epd || h.tsz_oob || upper != (hi ? ones(top - inputsize + 1) : 0)) {
        fault = {FaultType::Translation, 0};
        return false;
    }
    unsigned stride = g - 3;
    int level = start_level(h);
    const int start = level;
    // The output size: TCR_EL1.IPS within PARange, 52 bits only with 64K
    // pages (FEAT_LPA) or DS (FEAT_LPA2); then the top bits of addresses
    // come from TTBR[5:2] and descriptor bits [15:12] (LPA) or [9:8] (DS).
    unsigned outsize = std::min(ps_bits(static_cast<unsigned>(bitsv(r.tcr, 34, 32))), r.pa_bits);
    if (!h.ds && g != 16) outsize = std::min(outsize, 48u);
    const uint64_t addr_mask = h.ds ? ones(50) : ones(48);
    auto high_bits = [&](uint64_t desc) { return h.ds ? bitsv(desc, 9, 8) << 50 : bitsv(desc, 15, 12) << 48; };
    uint64_t ttbr = hi ? r.ttbr1 : r.ttbr0;
    // The first table is aligned to its size (at least 64 bytes).
    unsigned first_shift = g + stride * static_cast<unsigned>(3 - level);
    unsigned first_bits = inputsize - first_shift;
    unsigned align = std::max(first_bits + 3, 6u);
    uint64_t table = ttbr & ones(48) & ~ones(align);
    if (outsize > 48) {
        table |= bitsv(ttbr, 5, 2) << 48;
    } else if (table >> outsize) {
        fault = {FaultType::AddressSize, level};
        return false;
    }
    unsigned ap_table = 0;
    bool uxn_table = false, pxn_table = false;
    // TCR_EL1.HPD0/HPD1 (FEAT_HPDS; kept by TCR_EL1's write only where the
    // model has it): the tables' APTable, UXNTable and PXNTable ignored
    bool hpd = (r.tcr >> (hi ? 42 : 41)) & 1;
    for (;; ++level) {
        unsigned shift = g + stride * static_cast<unsigned>(3 - level);
        unsigned nbits = level == start ? inputsize - shift : stride;
        uint64_t idx = (va >> shift) & ones(nbits);
        uint64_t desc;
        if (!bus.read(table + idx * 8, 8, desc, MemAttrs{})) {  // (the walker's own read)
            fault = {FaultType::WalkAbort, level};
            return false;
        }
        if (!(desc & 1)) {
            fault = {FaultType::Translation, level};
            return false;
        }
        bool is_table = (desc & 2) != 0;
        if (level < 3 && is_table) {
            uint64_t next = desc & addr_mask & ~ones(g);
            if (outsize > 48) {
                next |= high_bits(desc);
            } else if (next >> outsize) {
                fault = {FaultType::AddressSize, level};
                return false;
            }
            if (!hpd) {
                ap_table |= static_cast<unsigned>(bitsv(desc, 62, 61));
                uxn_table |= (desc >> 60) & 1;
                pxn_table |= (desc >> 59) & 1;
            }
            table = next;
            continue;
        }
        // A leaf: a page at level 3, a block where the granule allows one
        // (with 52-bit addresses one level further up: DS's 4K level 0 and
        // 16K level 1, 64K level 1 with a 52-bit PARange, as QEMU's).
        bool block_ok = level == 2 || (g == 12 && level == 1) || (level == 0 && g == 12 && h.ds) ||
                        (level == 1 && g == 14 && h.ds) || (level == 1 && g == 16 && r.pa_bits == 52);
        if ((level == 3 && !is_table) || (level < 3 && !block_ok)) {
            fault = {FaultType::Translation, level};
            return false;
        }
        uint64_t oa = desc & addr_mask & ~ones(shift);
        if (outsize > 48) {
            oa |= high_bits(desc);
        } else if (oa >> outsize) {
            fault = {FaultType::AddressSize, level};
            return false;
        }
        // FEAT_HAFDBS (TCR_EL1.HA; HD only with HA): the access flag set,
        // and DBM pages made writable, by the hardware instead of a fault.
        bool ha = (r.tcr >> 39) & 1, hd = ha && ((r.tcr >> 40) & 1);
        if (!((desc >> 10) & 1)) {  // AF
            if (!ha) {
                fault = {FaultType::AccessFlag, level};
                return false;
            }
            t.set_af = true;
        }
        auto perms = [&](unsigned ap) {  // bit 0: AP[1] EL0 access, bit 1: AP[2] read-only
            if (ap_table & 1) ap &= ~1u;
            if (ap_table & 2) ap |= 2u;
            bool el0_r = ap & 1, el1_w = !(ap & 2), el0_w = el0_r && el1_w;
            bool x0 = !((desc >> 54) & 1) && !uxn_table;
            bool x1 = !((desc >> 53) & 1) && !pxn_table && !el0_w;  // EL0-writable is never EL1-executable
            if ((r.sctlr >> 19) & 1) {                              // WXN
                if (el0_w) x0 = false;
                if (el1_w) x1 = false;
            }
            uint8_t perm = kR1;
            if (el0_r) perm |= kR0;
            if (el0_w) perm |= kW0;
            if (x0) perm |= kX0;
            if (el1_w) perm |= kW1;
            if (x1) perm |= kX1;
            if (!el0_r) perm |= kR1Pan | (el1_w ? kW1Pan : 0);
            return perm;
        };
        unsigned ap = static_cast<unsigned>(bitsv(desc, 7, 6));
        t.perm = perms(ap);
        t.perm_dirty = hd && ((desc >> 51) & 1) && (ap & 2) ? perms(ap & ~2u) : t.perm;  // (DBM: bit 51)
        t.desc = desc;
        t.desc_pa = table + idx * 8;
        t.size = 1ull << shift;
        t.pa_page = (oa | (va & ones(shift))) & ~0xfffull;
        t.global = !((desc >> 11) & 1);
        t.asid = current_asid(r);
        t.level = static_cast<uint8_t>(level);
        t.attr = static_cast<uint8_t>(r.mair >> (8 * bitsv(desc, 4, 2)));
        t.sh = static_cast<uint8_t>(h.ds ? bitsv(r.tcr, hi ? 29 : 13, hi ? 28 : 12) : bitsv(desc, 9, 8));
        t.guarded = (desc >> 50) & 1;
        return true;
    }
}

bool for_each_mapping(const Regime& r, Bus& bus, const std::function<void(uint64_t, const Translation&)>& leaf) {
    if (!(r.sctlr & 1)) return false;
    for (bool hi : {false, true}) {
        const Half h = half(r, hi);
        if (h.epd || h.tsz_oob) continue;  // (no walks)
        const unsigned inputsize = h.inputsize, g = h.g, stride = g - 3;
        uint64_t first = hi ? ~ones(inputsize) : 0, last = hi ? ~0ull : ones(inputsize);
        for (uint64_t va = first;;) {
            Translation t;
            Fault f;
            uint64_t size;
            if (walk(r, bus, va, t, f)) {
                leaf(va, t);
                size = t.size;
            } else {  // (nothing below the entry that failed: past it)
                int level = std::max(f.level, start_level(h));
                unsigned shift = g + stride * static_cast<unsigned>(3 - level);
                size = shift >= 64 ? 0 : 1ull << shift;
            }
            uint64_t next = (va | (size - 1)) + 1;
            if (!size || next <= va || next - 1 >= last) break;
            va = next;
        }
    }
    return true;
}

}  // namespace armvm::mmu
