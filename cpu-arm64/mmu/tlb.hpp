// The software TLB: a direct-mapped cache of stage 1 translations, one
// entry per 4K page of VA, tagged with the ASID (non-global entries match
// only their ASID, so a context switch needs no flush). Larger mappings
// (blocks, 16K/64K pages) are cached as their 4K pieces; the VA span they
// cover is remembered so that a TLBI by VA inside it drops everything.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

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
    bool guarded = false;  // a guarded page (FEAT_BTI), on CPUs that have it
};

// A generation per ASID for the last few ASIDs (most recent first): a
// cache whose entries carry a generation keeps them across switches
// between those ASIDs (Linux without PAN switches at every kernel entry
// and exit); another ASID gets a new generation, pushing out the oldest;
// forget() gives every ASID a new one. `limit`: generations wrap there
// (select() reports it: the cache must then be cleared for real).
class AsidGenerations {
public:
    explicit AsidGenerations(uint64_t limit) : limit_(limit) {}
    // The generation of `asid`; `wrapped` is set when numbering restarted.
    uint64_t select(uint16_t asid, bool* wrapped = nullptr) {
        unsigned i = 0;
        while (i < n_ && banks_[i].asid != asid) ++i;
        Bank bank;
        if (i < n_) {
            bank = banks_[i];
        } else {
            if (next_ == limit_) {
                next_ = 1;
                n_ = i = 0;
                if (wrapped) *wrapped = true;
            }
            bank = {asid, next_++};
            if (n_ < kBanks) ++n_;
        }
        for (unsigned j = std::min(i, kBanks - 1); j > 0; --j) banks_[j] = banks_[j - 1];
        banks_[0] = bank;
        return bank.gen;
    }
    void forget() { n_ = 0; }

private:
    struct Bank {
        uint16_t asid;
        uint64_t gen;
    };
    static constexpr unsigned kBanks = 4;
    Bank banks_[kBanks] = {{0, 1}};  // (ASID 0 starts with generation 1)
    unsigned n_ = 1;
    uint64_t next_ = 2, limit_;
};

// The JIT's inline view of the TLB (cpu-arm64/jit/x64.cpp): RAM pages
// the current ASID may read or write from one privilege ("mode": EL0,
// EL1, EL1 with PAN), checked by one compare. A tag is the VA of the page
// ORed with the table's key (generation << 2 | mode): an access hits when
// (VA of its last byte & ~0xfff) | key equals the tag, so a page-crossing
// access, another mode or an older generation misses. Flushing all is a
// new generation; a miss goes to the interpreter's path and refills.
struct FastEntry {
    uint64_t read = 0, write = 0;  // tags (0: never hits, a key is nonzero)
    intptr_t addend = 0;           // host address - VA
    // The page's mark in the CPU cluster's map of pages holding decoded
    // code (nonzero: a store there must invalidate blocks: the slow path).
    const std::atomic<uint8_t>* code = nullptr;
};

class Tlb {
public:
    static constexpr unsigned kEntries = 1024;
    static constexpr unsigned kFastEntries = 512;

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
        fast_flush();
    }
    // TLBI by VA: `any_asid` for the VAA forms.
    // false: every entry went (the VA is in a span that held a larger
    // mapping, whose one TLB entry covered other pages too).
    bool flush_va(uint64_t va, uint16_t asid, bool any_asid) {
        va &= ~0xfffull;
        const Span& s = (va >> 63) ? hi_ : lo_;
        if (va >= s.start && va <= s.end) {
            flush_all();
            return false;
        }
        TlbEntry& e = slot(va);
        if (e.tag == va && (any_asid || e.global || e.asid == asid)) e = TlbEntry{};
        fast_[(va >> 12) & (kFastEntries - 1)] = FastEntry{};
        return true;
    }
    // TLBI ASIDE1: the non-global entries of one ASID.
    void flush_asid(uint16_t asid) {
        for (auto& e : e_)
            if (!e.global && e.asid == asid) e = TlbEntry{};
        fast_flush();
    }

    // The fast table: every entry out of date (after a TLB flush,
    // alignment checking turned on).
    void fast_flush() {
        gens_.forget();
        set_fast_asid(asid_);
    }
    // The ASID changed (each of the last few keeps its entries).
    void set_fast_asid(uint16_t asid) {
        asid_ = asid;
        bool wrapped = false;  // (the key's generation bits wrap: clear for real)
        gen_ = static_cast<uint32_t>(gens_.select(asid, &wrapped));
        if (wrapped) std::memset(static_cast<void*>(fast_), 0, sizeof fast_);
        fast_key_ = static_cast<uint64_t>(gen_) << 2 | mode_;
    }
    void set_fast_mode(unsigned mode) {
        mode_ = mode;
        fast_key_ = static_cast<uint64_t>(gen_) << 2 | mode_;
    }
    unsigned fast_mode() const { return mode_; }
    // Caches the RAM page of `va` (host address `host_page`) for `mode`
    // (the current one, or EL0's for an unprivileged access) and the
    // current ASID.
    void fast_fill(uint64_t va, bool read, bool write, uint8_t* host_page, const std::atomic<uint8_t>* code,
                   unsigned mode) {
        uint64_t page = va & ~0xfffull, key = static_cast<uint64_t>(gen_) << 2 | mode;
        FastEntry& f = fast_[(va >> 12) & (kFastEntries - 1)];
        f.read = read ? page | key : 0;
        f.write = write ? page | key : 0;
        f.addend = reinterpret_cast<intptr_t>(host_page) - static_cast<intptr_t>(page);
        f.code = code;
    }
    const FastEntry* fast_table() const { return fast_; }
    const uint64_t* fast_key() const { return &fast_key_; }

private:
    struct Span {
        uint64_t start = ~0ull, end = 0;
    };
    // (cache-line aligned: with Cpu's members shifted by 32 bytes, a Linux
    // boot took 35% longer; aligned, it does not depend on what comes before)
    alignas(64) TlbEntry e_[kEntries];
    Span lo_, hi_;
    alignas(64) FastEntry fast_[kFastEntries];
    uint64_t fast_key_ = 1u << 2;
    uint32_t gen_ = 1, mode_ = 0;
    AsidGenerations gens_{1u << 10};
    uint16_t asid_ = 0;
};

}  // namespace armvm::mmu
