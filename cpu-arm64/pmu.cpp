// PMUv3 as Armv8.0 defines it (ARM ARM D12): 6 event counters and the
// cycle counter, SW_INCR, INST_RETIRED, CPU_CYCLES and BR_RETIRED, EL0/EL1
// filtering, overflow flags and the overflow interrupt. Cycles are host
// nanoseconds (a 1 GHz clock, as QEMU's TCG counts them).
#include <ctime>

#include "cpu-arm64/cpu.hpp"

namespace armvm {

namespace {

enum : uint32_t { kSwIncr = 0x00, kInstRetired = 0x08, kCpuCycles = 0x11, kBrRetired = 0x21 };
constexpr uint32_t kPmcrE = 1, kPmcrP = 2, kPmcrC = 4, kPmcrD = 8, kPmcrLC = 64;
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

void Cpu::pmu_sync() {
    uint64_t insns = insns_retired(), br = branch_count, ns = now_ns();
    uint64_t di = insns - pmu_last_insn_, db = br - pmu_last_br_, dns = ns - pmu_last_ns_;
    pmu_last_insn_ = insns;
    pmu_last_br_ = br;
    pmu_last_ns_ = ns;
    if (!(s.pmcr & kPmcrE)) return;
    for (unsigned i = 0; i < kPmuCounters; ++i) {
        if (!((s.pmcnten >> i) & 1) || pmu_filtered(s.pmevtyper[i])) continue;
        uint64_t delta;
        switch (s.pmevtyper[i] & 0x3ff) {
        case kInstRetired: delta = di; break;
        case kBrRetired: delta = db; break;
        case kCpuCycles: delta = dns; break;
        default: delta = 0; break;
        }
        uint64_t v = static_cast<uint64_t>(s.pmevcntr[i]) + delta;
        if (v >> 32) s.pmovs |= 1u << i;
        s.pmevcntr[i] = static_cast<uint32_t>(v);
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
    if (!(s.pmcr & kPmcrE)) return;
    for (unsigned i = 0; i < kPmuCounters; ++i) {
        uint32_t ev = s.pmevtyper[i] & 0x3ff;
        if (!((s.pmcnten >> i) & 1) || (ev != kInstRetired && ev != kBrRetired)) continue;
        // Branches never outnumber instructions: the overflow cannot come
        // sooner than this many instructions.
        uint64_t remaining = (1ull << 32) - s.pmevcntr[i];
        pmu_insn_deadline_ = std::min(pmu_insn_deadline_, insn_count + remaining);
    }
}

void Cpu::pmcr_write(uint64_t v) {
    pmu_sync();
    if (v & kPmcrP)
        for (auto& c : s.pmevcntr) c = 0;
    if (v & kPmcrC) s.pmccntr = 0;
    s.pmcr = static_cast<uint32_t>(v) & (kPmcrE | kPmcrD | 0x10 | 0x20 | kPmcrLC);
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
        if (!((mask >> i) & 1) || !((s.pmcnten >> i) & 1) || (s.pmevtyper[i] & 0x3ff) != kSwIncr ||
            pmu_filtered(s.pmevtyper[i]))
            continue;
        if (++s.pmevcntr[i] == 0) s.pmovs |= 1u << i;
    }
    pmu_changed();
}

uint32_t Cpu::timer_output() {
    uint64_t now = counter_now();
    auto out = [&](uint64_t ctl, uint64_t cval) { return (ctl & 1) && !(ctl & 2) && now >= cval; };
    if (s.pmcr & kPmcrE) pmu_sync();
    return (out(s.cntp_ctl, s.cntp_cval) ? 1u : 0u) | (out(s.cntv_ctl, s.cntv_cval) ? 2u : 0u) |
           (pmu_irq_level() ? 4u : 0u);
}

uint64_t Cpu::timer_deadline_ns() const {
    uint64_t best = UINT64_MAX;
    for (auto [ctl, cval] : {std::pair{s.cntp_ctl, s.cntp_cval}, std::pair{s.cntv_ctl, s.cntv_cval}})
        if ((ctl & 1) && !(ctl & 2)) best = std::min(best, counter_to_host_ns(cval));
    if ((s.pmcr & kPmcrE) && (s.pminten & s.pmcnten)) {
        // Cycle counting in nanoseconds: the next overflow of a counter
        // whose interrupt is enabled.
        uint64_t base = pmu_last_ns_;
        for (unsigned i = 0; i < kPmuCounters; ++i)
            if ((s.pminten & s.pmcnten) >> i & 1 && (s.pmevtyper[i] & 0x3ff) == kCpuCycles)
                best = std::min<uint64_t>(best, base + ((1ull << 32) - s.pmevcntr[i]));
        if (s.pminten & s.pmcnten & kCycleBit) {
            uint64_t left = (s.pmcr & kPmcrLC) ? ~s.pmccntr + 1 : (1ull << 32) - (s.pmccntr & 0xffffffffull);
            if (s.pmcr & kPmcrD) left = left > UINT64_MAX / 64 ? UINT64_MAX : left * 64;
            if (left < UINT64_MAX - base) best = std::min(best, base + left);
        }
    }
    return best;
}

}  // namespace armvm
