#include "hw/intc/gic.hpp"

#include <algorithm>

#include "base/trace.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

namespace {
// The registers of the private interrupts (INTIDs 0-31) at their
// distributor offsets: word 0 of each bitmap register (IGROUPR .. ICACTIVER),
// IPRIORITYR0-7, ICFGR0-1. With affinity routing (GICv3) they live in each
// redistributor's SGI frame, at the same offsets, and the distributor's
// copies are RAZ/WI.
bool is_private_reg(uint64_t off) {
    if (off >= 0x080 && off < 0x400) return (off & 0x7f) < 4;
    return (off >= 0x400 && off < 0x420) || (off >= 0xc00 && off < 0xc08);
}

// GICv3's access widths (GICv3 12.1.3): every register as a word, the
// 64-bit ones also whole, the byte-accessible ones (IPRIORITYR,
// ITARGETSR, CPENDSGIR/SPENDSGIR) by byte. Another width reads as zero
// and writes nothing (QEMU's choice among the UNPREDICTABLE ones).
bool dist3_width_ok(uint64_t off, unsigned size) {
    if (size == 4) return true;
    if (size == 8) return off >= 0x6000 && off < 0x8000;  // GICD_IROUTER<n>
    if (size == 1) return (off >= 0x400 && off < 0xc00) || (off >= 0xf10 && off < 0xf30);
    return false;
}
// `o`: the offset in a CPU's frame pair (RD_base, then SGI_base at 0x10000).
bool redist_width_ok(uint64_t o, unsigned size) {
    if (size == 4) return true;
    if (size == 8) return o == 0x08 || o == 0x70 || o == 0x78;  // GICR_TYPER, PROPBASER, PENDBASER
    if (size == 1) return o >= 0x10400 && o < 0x10420;          // GICR_IPRIORITYR<n>
    return false;
}

// GICD_PIDR4..PIDR7, PIDR0..PIDR3, CIDR0..CIDR3 at 0xfd0..0xffc (ArchRev 2).
constexpr uint8_t kDistId[12] = {0x04, 0x00, 0x00, 0x00, 0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
}  // namespace

Gic::Gic(unsigned ncpus, std::function<void(unsigned, bool)> cpu_irq, unsigned version)
    : ncpus_(ncpus), version_(version), cpu_irq_(std::move(cpu_irq)), dist_(*this), cpuif_(*this), redist_(*this) {
    reset();
}

void Gic::reset() {
    dctlr_ = 0;
    priv_.assign(ncpus_, std::vector<Irq>(32));
    spi_.assign(kNumIrqs - 32, Irq{});
    for (auto& p : priv_)
        for (unsigned i = 0; i < 16; ++i) {
            p[i].enabled = true;  // SGIs are always enabled in this implementation (as QEMU)
            p[i].edge = true;
        }
    cpus_.assign(ncpus_, CpuIf{});
    out_.assign(ncpus_, false);
    irouter_.assign(kNumIrqs, 0);
    waker_asleep_.assign(ncpus_, true);
    lpis_.assign(ncpus_, Lpis{});
    for (unsigned c = 0; c < ncpus_; ++c) cpu_irq_(c, false);
}

bool Gic::pending(unsigned cpu, unsigned intid) {
    if (intid < 16) return cpus_[cpu].sgi_sources[intid] != 0;
    Irq& q = irq(cpu, intid);
    return q.pending || (!q.edge && q.level);
}

uint8_t Gic::running_priority(unsigned cpu) const {
    const auto& r = cpus_[cpu].running;
    return r.empty() ? 0xff : *std::min_element(r.begin(), r.end());
}

unsigned Gic::highest_pending(unsigned cpu, uint8_t& prio) {
    unsigned best = kSpurious;
    prio = 0xff;
    for (unsigned id = 0; id < irq_end_; ++id) {
        Irq& q = irq(cpu, id);
        if (!q.enabled || q.active || !pending(cpu, id)) continue;
        if (id >= 32 && !(q.targets & (1u << cpu)) && !(version_ == 2 && ncpus_ == 1)) continue;
        if (!(dctlr_ & (q.group1 ? 2u : 1u))) continue;
        if (q.priority < prio) {
            prio = q.priority;
            best = id;
        }
    }
    // LPIs: group 1, enabled and prioritised by their configuration bytes.
    if (has_lpis() && lpis_[cpu].enabled && (dctlr_ & 2)) {
        for (uint32_t id : lpis_[cpu].pending) {
            int cfg = lpi_config(cpu, id);
            if (cfg < 0 || !(cfg & 1)) continue;
            uint8_t p = static_cast<uint8_t>(cfg & 0xfc);
            if (p < prio) {
                prio = p;
                best = id;
            }
        }
    }
    return best;
}

// Signal each CPU whose highest pending interrupt beats its priority mask
// and running priority (IHI 0048B 3.3).
void Gic::update() {
    for (unsigned c = 0; c < ncpus_; ++c) {
        uint8_t prio;
        unsigned id = highest_pending(c, prio);
        const CpuIf& ci = cpus_[c];
        bool group1 = id >= kLpiBase || (id != kSpurious && irq(c, id).group1);
        bool group_on = id != kSpurious && (ci.ctlr & (group1 ? 2u : 1u));
        bool level = group_on && prio < (ci.pmr & 0xff) && prio < running_priority(c);
        if (level != out_[c]) {
            out_[c] = level;
            cpu_irq_(c, level);
        }
    }
}

void Gic::set_spi(unsigned intid, bool level) {
    if (intid < 32 || intid >= kNumIrqs) return;
    Irq& q = spi_[intid - 32];
    if (version_ == 2 && level != q.level)
        ARMVM_TRACE(gic_set_irq, "irq %d level %d cpumask 0x%x target 0x%x", intid, level ? 1 : 0, 0xffu, q.targets);
    if (q.edge && level && !q.level) q.pending = true;
    q.level = level;
    update();
}

void Gic::set_ppi(unsigned cpu, unsigned intid, bool level) {
    if (cpu >= ncpus_ || intid < 16 || intid >= 32) return;
    Irq& q = priv_[cpu][intid];
    if (version_ == 2 && level != q.level)
        ARMVM_TRACE(gic_set_irq, "irq %d level %d cpumask 0x%x target 0x%x", intid, level ? 1 : 0, 1u << cpu,
                    1u << cpu);
    if (q.edge && level && !q.level) q.pending = true;
    q.level = level;
    update();
}

uint32_t Gic::acknowledge(unsigned cpu) {
    uint8_t prio;
    unsigned id = highest_pending(cpu, prio);
    CpuIf& ci = cpus_[cpu];
    if (id == kSpurious || prio >= (ci.pmr & 0xff) || prio >= running_priority(cpu)) return kSpurious;
    uint32_t value = id;
    if (id < 16) {
        // The lowest-numbered source CPU first; its bit is consumed.
        unsigned src = static_cast<unsigned>(__builtin_ctz(ci.sgi_sources[id]));
        if (version_ == 3) {
            ci.sgi_sources[id] = 0;  // GICv3: one pending bit, no source in IAR
        } else {
            ci.sgi_sources[id] &= static_cast<uint16_t>(~(1u << src));
            value |= src << 10;
        }
        irq(cpu, id).active = true;
    } else if (id >= kLpiBase) {
        lpis_[cpu].pending.erase(id);  // (an LPI has no active state)
    } else {
        Irq& q = irq(cpu, id);
        q.pending = false;
        q.active = true;
    }
    ci.running.push_back(prio);
    ci.acked.push_back(id);
    if (version_ == 2) ARMVM_TRACE(gic_acknowledge_irq, "cpu %d acknowledged irq %d", cpu, id);
    update();
    return value;
}

void Gic::end_of_interrupt(unsigned cpu, unsigned intid) {
    CpuIf& ci = cpus_[cpu];
    // Priority drop: the most recent acknowledgement of this INTID.
    for (size_t i = ci.acked.size(); i-- > 0;) {
        if (ci.acked[i] == intid) {
            ci.acked.erase(ci.acked.begin() + static_cast<long>(i));
            ci.running.erase(ci.running.begin() + static_cast<long>(i));
            break;
        }
    }
    if (!(ci.ctlr & (1u << 9))) deactivate(cpu, intid);  // EOImodeNS = 0: EOI also deactivates
    update();
}

void Gic::deactivate(unsigned cpu, unsigned intid) {
    if (intid < kNumIrqs) irq(cpu, intid).active = false;
    update();
}

uint64_t Gic::dist_read_byte(unsigned cpu, uint64_t off) {
    auto bitreg = [&](uint64_t base, auto get) -> uint64_t {
        unsigned first = static_cast<unsigned>((off - base) * 8);
        uint64_t v = 0;
        for (unsigned b = 0; b < 8; ++b)
            if (first + b < kNumIrqs && get(first + b)) v |= 1u << b;
        return v;
    };
    if (off >= 0x080 && off < 0x100) return bitreg(0x080, [&](unsigned i) { return irq(cpu, i).group1; });
    if (off >= 0x100 && off < 0x200)
        return bitreg(off < 0x180 ? 0x100 : 0x180, [&](unsigned i) { return irq(cpu, i).enabled; });
    if (off >= 0x200 && off < 0x300)
        return bitreg(off < 0x280 ? 0x200 : 0x280, [&](unsigned i) { return pending(cpu, i); });
    if (off >= 0x300 && off < 0x400)
        return bitreg(off < 0x380 ? 0x300 : 0x380, [&](unsigned i) { return irq(cpu, i).active; });
    if (off >= 0x400 && off < 0x400 + kNumIrqs) return irq(cpu, static_cast<unsigned>(off - 0x400)).priority;
    if (off >= 0x800 && off < 0x800 + kNumIrqs) {
        unsigned id = static_cast<unsigned>(off - 0x800);
        if (ncpus_ == 1) return 0;  // a uniprocessor's are RAZ/WI (GICv2 4.3.12)
        return id < 32 ? (1u << cpu) : irq(cpu, id).targets;
    }
    if (off >= 0xc00 && off < 0xc00 + kNumIrqs / 4) {
        unsigned first = static_cast<unsigned>((off - 0xc00) * 4);
        uint64_t v = 0;
        for (unsigned b = 0; b < 4; ++b)
            if (irq(cpu, first + b).edge) v |= 2u << (2 * b);
        return v;
    }
    if (off >= 0xf10 && off < 0xf30) {
        unsigned sgi = static_cast<unsigned>((off - 0xf10) & 0xf);
        return cpus_[cpu].sgi_sources[sgi] & 0xff;
    }
    if (off >= 0xfd0 && off < 0x1000 && (off & 3) == 0) return kDistId[(off - 0xfd0) >> 2];
    return 0;
}

void Gic::dist_write_byte(unsigned cpu, uint64_t off, uint8_t v) {
    auto bits = [&](uint64_t base, auto set) {
        unsigned first = static_cast<unsigned>((off - base) * 8);
        for (unsigned b = 0; b < 8; ++b)
            if ((v >> b) & 1 && first + b < kNumIrqs) set(first + b);
    };
    if (off >= 0x080 && off < 0x100) {
        unsigned first = static_cast<unsigned>((off - 0x080) * 8);
        for (unsigned b = 0; b < 8 && first + b < kNumIrqs; ++b) irq(cpu, first + b).group1 = (v >> b) & 1;
    } else if (off >= 0x100 && off < 0x180) {
        bits(0x100, [&](unsigned i) {
            if (version_ == 2 && !irq(cpu, i).enabled) ARMVM_TRACE(gic_enable_irq, "irq %d enabled", i);
            irq(cpu, i).enabled = true;
            irq_end_ = std::max(irq_end_, i + 1);
        });
    } else if (off >= 0x180 && off < 0x200) {
        bits(0x180, [&](unsigned i) {
            if (i < 16) return;
            if (version_ == 2 && irq(cpu, i).enabled) ARMVM_TRACE(gic_disable_irq, "irq %d disabled", i);
            irq(cpu, i).enabled = false;
        });
    } else if (off >= 0x200 && off < 0x280) {
        bits(0x200, [&](unsigned i) { if (i >= 16) irq(cpu, i).pending = true; });
    } else if (off >= 0x280 && off < 0x300) {
        bits(0x280, [&](unsigned i) { if (i >= 16) irq(cpu, i).pending = false; });
    } else if (off >= 0x300 && off < 0x380) {
        bits(0x300, [&](unsigned i) { irq(cpu, i).active = true; });
    } else if (off >= 0x380 && off < 0x400) {
        bits(0x380, [&](unsigned i) { irq(cpu, i).active = false; });
    } else if (off >= 0x400 && off < 0x400 + kNumIrqs) {
        irq(cpu, static_cast<unsigned>(off - 0x400)).priority = v;
    } else if (off >= 0x800 + 32 && off < 0x800 + kNumIrqs) {
        // bits of CPU interfaces that do not exist are RAZ/WI (GICv2 4.3.12)
        irq(cpu, static_cast<unsigned>(off - 0x800)).targets = v & static_cast<uint8_t>((1u << ncpus_) - 1);
    } else if (off >= 0xc00 && off < 0xc00 + kNumIrqs / 4) {
        unsigned first = static_cast<unsigned>((off - 0xc00) * 4);
        for (unsigned b = 0; b < 4; ++b)
            if (first + b >= 32) irq(cpu, first + b).edge = (v >> (2 * b + 1)) & 1;  // PPIs: fixed here
    } else if (off >= 0xf10 && off < 0xf20) {
        cpus_[cpu].sgi_sources[(off - 0xf10) & 0xf] &= static_cast<uint16_t>(~v);
    } else if (off >= 0xf20 && off < 0xf30) {
        cpus_[cpu].sgi_sources[(off - 0xf20) & 0xf] |= v;
    }
}

uint64_t Gic::Dist::read_by(uint64_t off, unsigned size, MemAttrs who) {
    unsigned cpu = g_.cpu_of(who);
    if (g_.version_ == 3) {
        if (!dist3_width_ok(off, size)) return 0;
        switch (off) {
        // GICD_CTLR: one security state (DS, no EL3) with affinity routing (ARE) always on
        case 0x000: return g_.dctlr_ | 0x50;
        case 0x004:  // GICD_TYPER: 256 INTIDs, IDbits 16, LPIS, A3V and No1N (QEMU's)
            return 7 | ((kIdBits - 1) << 19) | (g_.has_lpis() ? 1u << 17 : 0) | (3u << 24);
        case 0x008: return 0x0000043b;                               // GICD_IIDR: Arm (QEMU's)
        case 0xffe8: return 0x3b;                                    // GICD_PIDR2: ArchRev 3
        default: break;
        }
        if (off >= 0x6100 && off < 0x6000 + 8 * kNumIrqs) {         // GICD_IROUTER<n>, n >= 32
            uint64_t v = g_.irouter_[(off - 0x6000) / 8];
            return (off & 4) ? v >> 32 : (size == 8 ? v : v & 0xffffffffu);
        }
        // With affinity routing the private interrupts live in the
        // redistributors: the distributor's copies are RAZ/WI.
        if (is_private_reg(off) || (off >= 0x800 && off < 0xc00)) return 0;  // and no ITARGETSR
    }
    switch (off) {
    default: break;
    }
    // (GICv2: every register by byte, as QEMU's)
    auto word = [&](uint64_t w) -> uint64_t {
        switch (w) {
        case 0x000: return g_.dctlr_;
        case 0x004: return ((kNumIrqs / 32) - 1) | ((g_.ncpus_ - 1) << 5);  // GICD_TYPER
        default: return 0x0000043b;  // GICD_IIDR: Arm, product 0 (as QEMU's GICv2)
        }
    };
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) {
        uint64_t o = off + i;
        uint64_t b = o < 0xc ? (word(o & ~3ull) >> (8 * (o & 3))) & 0xff : g_.dist_read_byte(cpu, o);
        v |= b << (8 * i);
    }
    if (g_.version_ == 2)
        ARMVM_TRACE(gic_dist_read, "dist read at 0x%08x size %d: 0x%08x", static_cast<uint32_t>(off), size,
                    static_cast<uint32_t>(v));
    return v;
}

void Gic::Dist::write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs who) {
    unsigned cpu = g_.cpu_of(who);
    if (g_.version_ == 2)
        ARMVM_TRACE(gic_dist_write, "dist write at 0x%08x size %d: 0x%08x", static_cast<uint32_t>(off), size,
                    static_cast<uint32_t>(value));
    if (g_.version_ == 3) {
        if (!dist3_width_ok(off, size)) return;
        if (off >= 0x6100 && off < 0x6000 + 8 * kNumIrqs) {
            unsigned id = static_cast<unsigned>((off - 0x6000) / 8);
            uint64_t& r = g_.irouter_[id];
            if (size == 8)
                r = value;
            else if (off & 4)
                r = (r & 0xffffffffu) | (value << 32);
            else
                r = (r & ~0xffffffffull) | (value & 0xffffffffu);
            // Interrupt_Routing_Mode (bit 31): any CPU; else Aff0 names one
            // (fewer than 16 CPUs: Aff1..3 are 0).
            unsigned aff0 = r & 0xff;
            {
                uint8_t t = (r >> 31) & 1 ? static_cast<uint8_t>((1u << g_.ncpus_) - 1)
                                          : static_cast<uint8_t>(aff0 < g_.ncpus_ ? 1u << aff0 : 0);
                g_.spi_[id - 32].targets = t;
            }
            g_.update();
            return;
        }
        if (off == 0xf00 || (off >= 0x800 && off < 0xc00)) return;  // no GICD_SGIR/ITARGETSR with ARE
        if (is_private_reg(off)) return;
    }
    if (off == 0x000) {
        g_.dctlr_ = value & 3;
    } else if (off == 0xf00) {  // GICD_SGIR
        unsigned id = value & 0xf, filter = (value >> 24) & 3;
        unsigned list = (value >> 16) & 0xff;
        if (filter == 1) list = ((1u << g_.ncpus_) - 1) & ~(1u << cpu);
        if (filter == 2) list = 1u << cpu;
        for (unsigned t = 0; t < g_.ncpus_; ++t)
            if (list & (1u << t)) g_.cpus_[t].sgi_sources[id] |= static_cast<uint16_t>(1u << cpu);
    } else if (off >= 0x80) {
        for (unsigned i = 0; i < size; ++i) g_.dist_write_byte(cpu, off + i, static_cast<uint8_t>(value >> (8 * i)));
    }
    g_.update();
}

// GICv3 redistributors: frame pair n (RD_base, SGI_base) belongs to CPU n.
uint64_t Gic::Redist::read_by(uint64_t off, unsigned size, MemAttrs) {
    unsigned cpu = static_cast<unsigned>(off / 0x20000);
    uint64_t o = off % 0x20000;
    if (cpu >= g_.ncpus_ || !redist_width_ok(o, size)) return 0;
    if (o < 0x10000) {
        switch (o) {
        case 0x0000:  // GICR_CTLR: EnableLPIs, CES (software may clear it)
            return (g_.lpis_[cpu].enabled ? 1 : 0) | (g_.has_lpis() ? 2 : 0);
        case 0x0004: return 0x0000043b;                                // GICR_IIDR: Arm (QEMU's)
        case 0x0008: {                                                 // GICR_TYPER
            // (PLPIS and CommonLPIAff 1 with LPIs: the ITS's redistributors share one configuration)
            uint64_t v = (static_cast<uint64_t>(cpu) << 32) | (cpu << 8) | (cpu + 1 == g_.ncpus_ ? 1u << 4 : 0) |
                         (g_.has_lpis() ? 1u | (1u << 24) : 0);
            return size == 8 ? v : v & 0xffffffffu;
        }
        case 0x000c: return cpu;                                       // GICR_TYPER[63:32]: Aff0
        case 0x0014: return g_.waker_asleep_[cpu] ? 6 : 0;             // GICR_WAKER
        case 0x0070: case 0x0074: case 0x0078: case 0x007c: {          // GICR_PROPBASER, GICR_PENDBASER
            if (!g_.has_lpis()) return 0;
            uint64_t v = o < 0x78 ? g_.lpis_[cpu].propbaser : g_.lpis_[cpu].pendbaser & ~(1ull << 62);  // (PTZ: WO)
            return (o & 4) ? v >> 32 : (size == 8 ? v : v & 0xffffffffu);
        }
        case 0xffe8: return 0x3b;                                      // GICR_PIDR2
        default: return 0;
        }
    }
    o -= 0x10000;
    if (is_private_reg(o)) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size; ++i) v |= g_.dist_read_byte(cpu, o + i) << (8 * i);
        return v;
    }
    return 0;
}

void Gic::Redist::write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs) {
    unsigned cpu = static_cast<unsigned>(off / 0x20000);
    uint64_t o = off % 0x20000;
    if (cpu >= g_.ncpus_ || !redist_width_ok(o, size)) return;
    if (o == 0x0014) {
        g_.waker_asleep_[cpu] = (value >> 1) & 1;  // ProcessorSleep; ChildrenAsleep follows at once
        return;
    }
    if (g_.has_lpis()) {
        Lpis& l = g_.lpis_[cpu];
        if (o == 0x0000) {
            g_.lpis_enable(cpu, value & 1);
            return;
        }
        // Writes while LPIs are enabled are UNPREDICTABLE: ignored here.
        constexpr uint64_t kProp = (7ull << 56) | 0x000ffffffffff000ull | (3u << 10) | (7u << 7) | 0x1f;
        constexpr uint64_t kPend = (1ull << 62) | (7ull << 56) | 0x000fffffffff0000ull | (3u << 10) | (7u << 7);
        if ((o & ~4ull) == 0x0070) {
            if (!l.enabled) g_.redist_reg64(l.propbaser, o, size, value, kProp);
            return;
        }
        if ((o & ~4ull) == 0x0078) {
            if (!l.enabled) g_.redist_reg64(l.pendbaser, o, size, value, kPend);
            return;
        }
    }
    if (o < 0x10000) return;
    o -= 0x10000;
    if (is_private_reg(o)) {
        for (unsigned i = 0; i < size; ++i) g_.dist_write_byte(cpu, o + i, static_cast<uint8_t>(value >> (8 * i)));
        g_.update();
    }
}

void Gic::enable_lpis(GuestMem mem) {
    mem_ = std::move(mem);
}

uint32_t Gic::lpi_limit(unsigned cpu) const {
    unsigned bits = std::min<unsigned>(static_cast<unsigned>(lpis_[cpu].propbaser & 0x1f) + 1, kIdBits);
    return 1u << bits;
}

int Gic::lpi_config(unsigned cpu, uint32_t intid) const {
    uint64_t pa = (lpis_[cpu].propbaser & 0x000ffffffffff000ull) + (intid - kLpiBase);
    const uint8_t* p = mem_(pa, 1);
    return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : -1;
}

void Gic::set_lpi(unsigned cpu, uint32_t intid, bool pending) {
    if (!has_lpis() || cpu >= ncpus_ || intid < kLpiBase || intid >= lpi_limit(cpu)) return;
    if (pending)
        lpis_[cpu].pending.insert(intid);
    else
        lpis_[cpu].pending.erase(intid);
    update();
}

bool Gic::lpi_pending(unsigned cpu, uint32_t intid) const {
    return cpu < ncpus_ && lpis_[cpu].pending.count(intid) != 0;
}

void Gic::move_lpis(unsigned from, unsigned to) {
    if (from >= ncpus_ || to >= ncpus_ || from == to) return;
    for (uint32_t id : lpis_[from].pending)
        if (id < lpi_limit(to)) lpis_[to].pending.insert(id);
    lpis_[from].pending.clear();
    update();
}

// GICR_CTLR.EnableLPIs: enabling loads the pending table (unless
// GICR_PENDBASER.PTZ said it is zero), disabling writes the pending state
// back to it.
void Gic::lpis_enable(unsigned cpu, bool on) {
    Lpis& l = lpis_[cpu];
    if (on == l.enabled) return;
    uint64_t table = l.pendbaser & 0x000fffffffff0000ull;
    uint32_t first = kLpiBase / 8, end = lpi_limit(cpu) / 8;
    uint8_t* p = end > first ? mem_(table, end) : nullptr;
    if (on) {
        if (p && !((l.pendbaser >> 62) & 1))
            for (uint32_t byte = first; byte < end; ++byte)
                for (unsigned b = 0; b < 8; ++b)
                    if ((p[byte] >> b) & 1) l.pending.insert(byte * 8 + b);
    } else {
        if (p) {
            std::fill(p + first, p + end, 0);
            for (uint32_t id : l.pending)
                if (id / 8 < end) p[id / 8] |= static_cast<uint8_t>(1u << (id % 8));
        }
        l.pending.clear();
    }
    l.pendbaser &= ~(1ull << 62);
    l.enabled = on;
    update();
}

// A 64-bit redistributor register written whole or as 32-bit halves.
uint64_t Gic::redist_reg64(uint64_t& r, uint64_t off, unsigned size, uint64_t value, uint64_t mask) {
    if (size == 8)
        r = value & mask;
    else if (off & 4)
        r = ((r & 0xffffffffull) | (value << 32)) & mask;
    else
        r = ((r & ~0xffffffffull) | (value & 0xffffffffull)) & mask;
    return r;
}

namespace {
constexpr uint32_t icc(unsigned crn, unsigned crm, unsigned op2) {
    return sysreg_key(3, 0, crn, crm, op2);
}
}  // namespace

bool Gic::icc_access(unsigned cpu, uint32_t key, bool write, uint64_t& v) {
    if (version_ != 3 || cpu >= ncpus_) return false;
    CpuIf& ci = cpus_[cpu];
    switch (key) {
    case icc(4, 6, 0):  // ICC_PMR_EL1: 5 priority bits, as QEMU's GICv3 CPU interface
        if (write) ci.pmr = v & 0xf8; else v = ci.pmr;
        break;
    case icc(12, 12, 0):  // ICC_IAR1_EL1
        if (write) return false;
        v = acknowledge(cpu);
        return true;
    case icc(12, 12, 1):  // ICC_EOIR1_EL1
        if (!write) return false;
        end_of_interrupt(cpu, static_cast<unsigned>(v & 0xffffff));
        return true;
    case icc(12, 12, 2): {  // ICC_HPPIR1_EL1
        if (write) return false;
        uint8_t prio;
        v = highest_pending(cpu, prio);
        return true;
    }
    case icc(12, 12, 3):  // ICC_BPR1_EL1: at least 3 with 5 priority bits
        if (write) ci.abpr = std::max<unsigned>(v & 7, 3); else v = std::max<unsigned>(ci.abpr, 3);
        break;
    case icc(12, 12, 4):  // ICC_CTLR_EL1: EOImode (bit 1) -> ci.ctlr bit 9; A3V, PRIbits 4 (5 bits), IDbits 16
        if (write) ci.ctlr = (ci.ctlr & ~(1u << 9)) | ((v & 2) ? 1u << 9 : 0);
        else v = ((ci.ctlr >> 9) & 1) << 1 | (4u << 8) | (1u << 15);
        break;
    // ICC_AP0R0_EL1, ICC_AP1R0_EL1: the active priorities, a bit per
    // priority level (5 bits: only register 0 exists; the others are
    // UNDEFINED, as with QEMU's). Everything active is group 1 here (the
    // distributor has no security: the OS puts its interrupts in group 1).
    // Writes are accepted for save/restore of an idle CPU interface (Linux
    // clears them at init) and otherwise ignored.
    case icc(12, 8, 4):
        if (!write) v = 0;
        return true;
    case icc(12, 9, 0):
        if (!write) {
            v = 0;
            for (uint8_t p : ci.running) v |= 1ull << (p >> 3);
        }
        return true;
    case icc(12, 8, 3):  // ICC_BPR0_EL1: at least 2 with 5 priority bits
        if (write) ci.bpr = std::max<unsigned>(v & 7, 2); else v = std::max<unsigned>(ci.bpr, 2);
        break;
    case icc(12, 12, 5):  // ICC_SRE_EL1: system registers always on (SRE, DFB, DIB)
        if (!write) v = 7;
        return true;
    case icc(12, 12, 6):  // ICC_IGRPEN0_EL1
        if (write) ci.ctlr = (ci.ctlr & ~1u) | (v & 1); else v = ci.ctlr & 1;
        break;
    case icc(12, 12, 7):  // ICC_IGRPEN1_EL1
        if (write) ci.ctlr = (ci.ctlr & ~2u) | ((v & 1) << 1); else v = (ci.ctlr >> 1) & 1;
        break;
    case icc(12, 11, 1):  // ICC_DIR_EL1
        if (!write) return false;
        deactivate(cpu, static_cast<unsigned>(v & 0xffffff));
        return true;
    case icc(12, 11, 3):  // ICC_RPR_EL1
        if (write) return false;
        v = running_priority(cpu);
        return true;
    case icc(12, 11, 5): {  // ICC_SGI1R_EL1
        if (!write) return false;
        unsigned id = (v >> 24) & 0xf;
        bool all = (v >> 40) & 1;
        unsigned list = v & 0xffff;
        unsigned aff1 = (v >> 16) & 0xff;
        for (unsigned t = 0; t < ncpus_; ++t) {
            bool hit = all ? t != cpu : (aff1 == 0 && (list >> t) & 1);
            if (hit) cpus_[t].sgi_sources[id] |= static_cast<uint16_t>(1u << cpu);
        }
        break;
    }
    default:
        return false;
    }
    update();
    return true;
}

uint64_t Gic::Cpu::read_by(uint64_t off, unsigned size, MemAttrs who) {
    uint64_t v = read_reg(off, size, who);
    ARMVM_TRACE(gic_cpu_read, "cpu %d iface read at 0x%08x: 0x%08x", g_.cpu_of(who), static_cast<uint32_t>(off),
                static_cast<uint32_t>(v));
    return v;
}

uint64_t Gic::Cpu::read_reg(uint64_t off, unsigned, MemAttrs who) {
    unsigned cpu = g_.cpu_of(who);
    CpuIf& ci = g_.cpus_[cpu];
    switch (off) {
    case 0x00: return ci.ctlr;
    case 0x04: return ci.pmr;
    case 0x08: return ci.bpr;
    case 0x0c: return g_.acknowledge(cpu);                 // GICC_IAR
    case 0x14: return g_.running_priority(cpu);           // GICC_RPR
    case 0x18: {                                           // GICC_HPPIR
        uint8_t prio;
        return g_.highest_pending(cpu, prio);
    }
    case 0x1c: return ci.abpr;
    case 0xfc: return 0x0002043b;                          // GICC_IIDR: Arm, GICv2 (QEMU's)
    default: return 0;
    }
}

void Gic::Cpu::write_by(uint64_t off, unsigned, uint64_t value, MemAttrs who) {
    unsigned cpu = g_.cpu_of(who);
    ARMVM_TRACE(gic_cpu_write, "cpu %d iface write at 0x%08x 0x%08x", cpu, static_cast<uint32_t>(off),
                static_cast<uint32_t>(value));
    CpuIf& ci = g_.cpus_[cpu];
    switch (off) {
    case 0x00: ci.ctlr = static_cast<uint32_t>(value) & 0x21f; break;
    case 0x04: ci.pmr = static_cast<uint32_t>(value) & 0xff; break;
    case 0x08: ci.bpr = static_cast<uint32_t>(value) & 7; break;
    case 0x10: g_.end_of_interrupt(cpu, value & 0x3ff); break;   // GICC_EOIR
    case 0x1c: ci.abpr = static_cast<uint32_t>(value) & 7; break;
    case 0x1000: g_.deactivate(cpu, value & 0x3ff); break;       // GICC_DIR
    default: break;
    }
    g_.update();
}

}  // namespace armvm
