// The software TLB: a direct-mapped cache of stage 1 translations, one
// entry per 4K page of VA, tagged with the ASID (non-global entries match
// only their ASID, so a context switch needs no flush). Larger mappings
// (blocks, 16K/64K pages) are cached as their 4K pieces; the VA span they
// cover is remembered so that a TLBI by VA inside it drops everything.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu-arm64/mmu/walk.hpp"

namespace armvm::mmu {

struct TlbEntry {
    static constexpr uint64_t kInvalid = 1;  // never a page address
    uint64_t tag = kInvalid;   // VA of the 4K page
    uint8_t* host = nullptr;   // host address of the page when it is RAM
    uint64_t pa = 0;           // PA of the 4K page
    uint32_t ram_page = 0;     // index of the page in RAM (valid with host, unless rom)
    bool rom = false;          // host is a ROM device's page: reads only (perm has no W)
    uint16_t asid = 0;
    uint8_t perm = 0;
    bool global = false;
    uint8_t level = 0, attr = 0, sh = 0;
};

class Tlb {
public:
    static constexpr unsigned kEntries = 1024;

    TlbEntry& slot(uint64_t va) { return e_[(va >> 12) & (kEntries - 1)]; }

    void note_span(uint64_t va, uint64_t size) {
        if (size <= 0x1000) return;
        Span& s = (va >> 63) ? hi_ : lo_;
        uint64_t start = va & ~(size - 1);
        s.start = std::min(s.start, start);
        s.end = std::max(s.end, start + size - 1);
    }

    void flush_all() {
        std::fill(std::begin(e_), std::end(e_), TlbEntry{});
        lo_ = hi_ = Span{};
    }
    // TLBI by VA: `any_asid` for the VAA forms.
    void flush_va(uint64_t va, uint16_t asid, bool any_asid) {
        va &= ~0xfffull;
        const Span& s = (va >> 63) ? hi_ : lo_;
        if (va >= s.start && va <= s.end) return flush_all();
        TlbEntry& e = slot(va);
        if (e.tag == va && (any_asid || e.global || e.asid == asid)) e = TlbEntry{};
    }
    // TLBI ASIDE1: the non-global entries of one ASID.
    void flush_asid(uint16_t asid) {
        for (auto& e : e_)
            if (!e.global && e.asid == asid) e = TlbEntry{};
    }

private:
    struct Span {
        uint64_t start = ~0ull, end = 0;
    };
    TlbEntry e_[kEntries];
    Span lo_, hi_;
};

}  // namespace armvm::mmu
