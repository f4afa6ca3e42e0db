// PMUv3 as Armv8.0 defines it (ARM ARM D12), and on max PMUv3p5 (16-bit
// event numbers, PMMIR, 64-bit event counters that overflow at 32 bits
// or, with PMCR.LP, at 64 bits, CHAIN then counting nothing): 6 event counters and the
// cycle counter, the common architectural events below, CHAIN (an odd
// counter counting its even neighbour's overflows: a 64-bit pair), EL0/EL1
// filtering, overflow flags and the overflow interrupt at the exact count.
// Cycles are host nanoseconds (a 1 GHz clock, as QEMU's TCG counts them).
//
// Instructions, branches, exceptions and cycles are counted all the time
// at no cost (the run loop's counts); memory accesses, loads, stores and PC
// writes only by the interpreter, which runs alone while an enabled
// counter counts one of them. An in-order emulator mispredicts nothing:
// BR_MIS_PRED counts 0.
#include <algorithm>
#include <ctime>
#include <iterator>

#include "cpu-arm64/cpu.hpp"

namespace armvm {

namespace {

enum : uint32_t {
    kSwIncr = 0x00, kL1dCache = 0x04, kLdRetired = 0x06, kStRetired = 0x07, kInstRetired = 0x08, kExcTaken = 0x09,
    kExcReturn = 0x0a, kPcWriteRetired = 0x0c, kBrMisPred = 0x10, kCpuCycles = 0x11, kMemAccess = 0x13,
    kL1iCache = 0x14, kChain = 0x1e, kBrRetired = 0x21,
};
constexpr uint32_t kEvents[] = {kSwIncr,   kL1dCache,  kLdRetired, kStRetired, kInstRetired,
                                kExcTaken, kExcReturn, kPcWriteRetired, kBrMisPred, kCpuCycles,
                                kMemAccess, kL1iCache, kChain, kBrRetired};

bool detail_event(uint32_t ev) {
    return ev == kMemAccess || ev == kL1dCache || ev == kLdRetired || ev == kStRetired || ev == kPcWriteRetired;
}

// What a load/store instruction does to memory: bit 0 reads, bit 1
// writes (an atomic read-modify-write both); 0 for everything else
// (prefetches included). ARM ARM C4.1.66's load/store groups.
unsigned mem_class(uint32_t w) {
    if ((w & 0x0a000000u) != 0x08000000u) return 0;  // op0 = x1x0
    unsigned op = (w >> 24) & 0x3f;  // bits 29..24
    bool l = (w >> 22) & 1;
    if (op == 0x08) {  // exclusives, acquire/release, CAS/CASP (bit 23 and 21)
        if (((w >> 23) & 1) && ((w >> 21) & 1)) return 3;
        return l ? 1 : 2;
    }
    if ((w & 0xbf000000u) == 0x0c000000u || (w & 0xbf000000u) == 0x0d000000u)  // SIMD structures
        return l ? 1 : 2;
    if (op == 0x19 && !((w >> 21) & 1) && !((w >> 10) & 3))  // LDAPUR/STLUR
        return ((w >> 22) & 3) == 0 ? 2 : 1;
    unsigned top3 = (w >> 27) & 7;  // bits 29..27
    bool v = (w >> 26) & 1;
    if (top3 == 3 && !((w >> 24) & 3))  // load literal (opc 11 with V = 0: PRFM)
        return !v && (w >> 30) == 3 ? 0 : 1;
    if (top3 == 5) return l ? 1 : 2;  // pairs
    if (top3 == 7) {
        unsigned size = w >> 30, opc = (w >> 22) & 3;
        bool unsigned_off = (w >> 24) & 1;
        if (!unsigned_off && ((w >> 21) & 1) && ((w >> 10) & 3) == 0 && !v)  // atomics (LDAPR reads)
            return ((w >> 12) & 0xf) == 0xc && ((w >> 15) & 1) ? 1 : 3;
        if (v) return opc & 1 ? 1 : 2;
        if (opc == 0) return 2;
        return size == 3 && opc == 2 ? 0 : 1;  // PRFM
    }
    return 0;
}
constexpr uint32_t kPmcrE = 1, kPmcrP = 2, kPmcrC = 4, kPmcrD = 8, kPmcrLC = 64, kPmcrLP = 128;
constexpr uint32_t kCycleBit = 1u << 31;

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// PMCR_EL0's read-only fields per part: IMP (Arm), IDCODE, N.
uint32_t pmcr_ids(uint64_t midr) {
    uint32_t idcode;
    switch ((midr >> 4) & 0xfff) {
    case 0xd03: idcode = 0x03; break;  // Cortex-A53
    case 0xd08: idcode = 0x02; break;  // Cortex-A72
    case 0xd0c: idcode = 0x0c; break;  // Neoverse-N1
    default: idcode = 0x01; break;     // Cortex-A57 (and max)
    }
    return 0x41000000u | (idcode << 16) | (Cpu::kPmuCounters << 11);
}

}  // namespace

bool Cpu::pmu_filtered(uint32_t typer) const {
    return s.el == 0 ? (typer >> 30) & 1 : (typer >> 31) & 1;  // U, P
}

uint32_t Cpu::pmcr_read() const { return pmcr_ids(ids.midr) | s.pmcr; }

uint64_t Cpu::pmceid(unsigned half) {
    uint64_t v = 0;
    for (uint32_t ev : kEvents)
        if (ev / 32 == half) v |= 1ull << (ev % 32);
    return v;
}

void Cpu::pmu_add(unsigned i, uint64_t delta) {
    uint64_t old = s.pmevcntr[i];
    uint64_t wraps = ((old & 0xffffffffull) + delta) >> 32;  // overflows of the low 32 bits
    bool lp = s.pmcr & kPmcrLP;
    if (pmu_v3p5()) {  // (all 64 bits count; the overflow is at 32 bits, or at 64 with LP)
        s.pmevcntr[i] = old + delta;
        if (lp) wraps = s.pmevcntr[i] < old;
    } else {
        s.pmevcntr[i] = static_cast<uint32_t>(old + delta);
    }
    if (!wraps) return;
    if (!((s.pmovs >> i) & 1)) pmu_insn_deadline_ = 0;  // the run loop looks at the interrupt now
    s.pmovs |= 1u << i;
    unsigned odd = i + 1;  // CHAIN: the odd neighbour counts the even counter's overflows
    if (!lp && !(i & 1) && odd < kPmuCounters && ((s.pmcnten >> odd) & 1) && pmu_event(odd) == kChain &&
        !pmu_filtered(s.pmevtyper[odd]))
        pmu_add(odd, wraps);
}

const DecodedInsn* Cpu::run_counting(const DecodedInsn* d, const DecodedInsn* end, const DecodedInsn* first,
                                     bool fused) {
    for (; d != end; ++d) {
        bool stop = d->handler(*this, *d);
        if (stop && (events_ & (kEvException | kEvDebug))) break;  // not retired
        if (unsigned m = mem_class(d->insn)) {
            pmu_src_[kSrcMem] += (m & 1) + (m >> 1);
            pmu_src_[kSrcLoad] += m & 1;
            pmu_src_[kSrcStore] += m >> 1;
        }
        if (stop) {
            // A taken branch (a fused compare-and-branch falling through is not).
            uint64_t at = block_va_ + 4 * static_cast<uint64_t>(d - first);
            if ((events_ & kEvBranch) && !(fused && d + 1 == first + cur_block_len_ && next_pc_ == at + 8))
                ++pmu_src_[kSrcPcWrite];
            break;
        }
    }
    return d;
}

void Cpu::pmu_sync() {
    uint64_t insns = insns_retired(), br = branches_retired(), ns = now_ns();
    uint64_t di = insns - pmu_last_insn_, db = br - pmu_last_br_, dns = ns - pmu_last_ns_;
    pmu_last_insn_ = insns;
    pmu_last_br_ = br;
    pmu_last_ns_ = ns;
    uint64_t src[kPmuSources], dsrc[kPmuSources];
    std::copy(std::begin(pmu_src_), std::end(pmu_src_), src);
    src[kSrcExcTaken] = pmu_exc_taken;
    src[kSrcExcReturn] = pmu_exc_return;
    for (unsigned k = 0; k < kPmuSources; ++k) {
        dsrc[k] = src[k] - pmu_last_src_[k];
        pmu_last_src_[k] = src[k];
    }
    if (!(s.pmcr & kPmcrE)) return;
    for (unsigned i = 0; i < kPmuCounters; ++i) {
        if (!((s.pmcnten >> i) & 1) || pmu_filtered(s.pmevtyper[i])) continue;
        uint64_t delta;
        switch (pmu_event(i)) {
        case kInstRetired: case kL1iCache: delta = di; break;
        case kBrRetired: delta = db; break;
        case kCpuCycles: delta = dns; break;
        case kMemAccess: delta = dsrc[kSrcMem]; break;
        case kL1dCache: delta = dsrc[kSrcLoad] + dsrc[kSrcStore]; break;
        case kLdRetired: delta = dsrc[kSrcLoad]; break;
        case kStRetired: delta = dsrc[kSrcStore]; break;
        case kPcWriteRetired: delta = dsrc[kSrcPcWrite]; break;
        case kExcTaken: delta = dsrc[kSrcExcTaken]; break;
        case kExcReturn: delta = dsrc[kSrcExcReturn]; break;
        default: delta = 0; break;  // SW_INCR, CHAIN (pmu_add), BR_MIS_PRED, unimplemented
        }
        if (delta) pmu_add(i, delta);
    }
    if ((s.pmcnten & kCycleBit) && !pmu_filtered(s.pmccfiltr)) {
        uint64_t cycles = dns;
        if (s.pmcr & kPmcrD) {  // PMCR.D: one count every 64 cycles
            pmu_ns_frac_ += dns;
            cycles = pmu_ns_frac_ / 64;
            pmu_ns_frac_ %= 64;
        }
        uint64_t before = s.pmccntr;
        s.pmccntr += cycles;
        bool overflow = (s.pmcr & kPmcrLC) ? s.pmccntr < before
                                           : (before >> 32) != (s.pmccntr >> 32) || cycles >> 32;
        if (overflow) s.pmovs |= kCycleBit;
    }
}

void Cpu::pmu_arm_deadline() {
    pmu_insn_deadline_ = UINT64_MAX;
    pmu_detail_ = false;
    if (!(s.pmcr & kPmcrE)) return;
    for (unsigned i = 0; i < kPmuCounters; ++i) {
        uint32_t ev = pmu_event(i);
        if (!((s.pmcnten >> i) & 1)) continue;
        pmu_detail_ |= detail_event(ev);
        // Events counted per instruction: none comes more than once an
        // instruction (a memory access twice: read and write), so the
        // overflow cannot come sooner than this many instructions. (An
        // exception taken syncs the PMU itself; CHAIN follows its
        // even neighbour.)
        if (ev == kCpuCycles || ev == kSwIncr || ev == kChain || ev == kBrMisPred || ev == kExcTaken) continue;
        uint64_t remaining = pmu_until_overflow(i);
        if (ev == kMemAccess) remaining = remaining / 2 + (remaining & 1);
        // (saturating: a 64-bit counter may be 2^64 events from overflowing)
        uint64_t at = remaining > UINT64_MAX - insn_count ? UINT64_MAX : insn_count + remaining;
        pmu_insn_deadline_ = std::min(pmu_insn_deadline_, at);
    }
}

uint64_t Cpu::pmu_until_overflow(unsigned i) const {
    if (pmu_v3p5() && (s.pmcr & kPmcrLP)) return s.pmevcntr[i] ? 0 - s.pmevcntr[i] : UINT64_MAX;
    return (1ull << 32) - (s.pmevcntr[i] & 0xffffffffull);
}

void Cpu::pmcr_write(uint64_t v) {
    pmu_sync();
    if (v & kPmcrP)
        for (auto& c : s.pmevcntr) c = 0;
    if (v & kPmcrC) s.pmccntr = 0;
    s.pmcr = static_cast<uint32_t>(v) & (kPmcrE | kPmcrD | 0x10 | 0x20 | kPmcrLC | (pmu_v3p5() ? kPmcrLP : 0));
    pmu_changed();
}

void Cpu::pmu_changed() {
    pmu_arm_deadline();
    timer_changed();  // the vCPU loop looks at the interrupt output again
}

void Cpu::pmu_swinc(uint32_t mask) {
    pmu_sync();
    if (!(s.pmcr & kPmcrE)) return;
    for (unsigned i = 0; i < kPmuCounters; ++i) {
        if (!((mask >> i) & 1) || !((s.pmcnten >> i) & 1) || pmu_event(i) != kSwIncr ||
            pmu_filtered(s.pmevtyper[i]))
            continue;
        pmu_add(i, 1);
    }
    pmu_changed();
}

uint32_t Cpu::timer_output() {
    uint64_t now = counter_now();
    auto out = [&](uint64_t ctl, uint64_t cval) { return (ctl & 1) && !(ctl & 2) && now >= cval; };
    if (s.pmcr & kPmcrE) pmu_sync();
    pmu_level_out_ = pmu_irq_level();
    return (out(s.cntp_ctl, s.cntp_cval) ? 1u : 0u) | (out(s.cntv_ctl, s.cntv_cval) ? 2u : 0u) |
           (pmu_level_out_ ? 4u : 0u);
}

uint64_t Cpu::timer_deadline_ns() const {
    uint64_t best = UINT64_MAX;
    for (auto [ctl, cval] : {std::pair{s.cntp_ctl, s.cntp_cval}, std::pair{s.cntv_ctl, s.cntv_cval}})
        if ((ctl & 1) && !(ctl & 2)) best = std::min(best, counter_to_host_ns(cval));
    if ((s.pmcr & kPmcrE) && (s.pminten & s.pmcnten)) {
        // Cycle counting in nanoseconds: the next overflow of a counter
        // whose interrupt is enabled.
        uint64_t base = pmu_last_ns_;
        for (unsigned i = 0; i < kPmuCounters; ++i) {
            // (an odd counter chained to cycles: no sooner than its even
            // neighbour's next overflow)
            unsigned c = pmu_event(i) == kChain && (i & 1) ? i - 1 : i;
            if ((s.pminten & s.pmcnten) >> i & 1 && pmu_event(c) == kCpuCycles) {
                uint64_t left = pmu_until_overflow(c);
                if (left < UINT64_MAX - base) best = std::min(best, base + left);
            }
        }
        if (s.pminten & s.pmcnten & kCycleBit) {
            uint64_t left = (s.pmcr & kPmcrLC) ? ~s.pmccntr + 1 : (1ull << 32) - (s.pmccntr & 0xffffffffull);
            if (s.pmcr & kPmcrD) left = left > UINT64_MAX / 64 ? UINT64_MAX : left * 64;
            if (left < UINT64_MAX - base) best = std::min(best, base + left);
        }
    }
    return best;
}

}  // namespace armvm
