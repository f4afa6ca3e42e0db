// The generic timer's EL0/EL1 registers (ARM ARM D11, D13.8): the
// frequency, the physical and virtual counters, the EL1 physical and the
// virtual timer. EL0 access is gated by CNTKCTL_EL1: EL0PCTEN (bit 0),
// EL0VCTEN (1), EL0VTEN (8), EL0PTEN (9); a refused access traps to EL1.
#include <cinttypes>

#include "base/trace.hpp"
#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/decoder/decoder.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

namespace {

template <unsigned Mask>
SysRegAccess el0_if(const Cpu& c, bool write) {
    if (c.s.el > 0) return SysRegAccess::Ok;
    (void)write;
    return (c.s.cntkctl_el1 & Mask) ? SysRegAccess::Ok : SysRegAccess::Trap;
}

SysRegAccess cntfrq_access(const Cpu& c, bool write) {
    if (write) return SysRegAccess::Undefined;  // writable at EL3 only
    return el0_if<3>(c, write);
}

// ISTATUS only while enabled (UNKNOWN otherwise: 0, as QEMU's).
uint64_t ctl_read(const Cpu& c, uint64_t ctl, uint64_t cval) {
    return (ctl & 3) | ((ctl & 1) && c.counter_now() >= cval ? 4u : 0u);
}

// QEMU's arm_gt trace events (timer 0: physical, 1: virtual): what a
// write to a timer register makes of its output. (Only while they are
// on: the counter is not read for them otherwise.)
void gt_recalc(Cpu& c, int timer) {
    if (!trace::arm_gt_recalc.on.load(std::memory_order_relaxed) &&
        !trace::arm_gt_recalc_disabled.on.load(std::memory_order_relaxed))
        return;
    uint64_t ctl = timer ? c.s.cntv_ctl : c.s.cntp_ctl, cval = timer ? c.s.cntv_cval : c.s.cntp_cval;
    if (!(ctl & 1)) {
        ARMVM_TRACE(arm_gt_recalc_disabled, "gt recalc: timer %d irqstate 0 timer disabled", timer);
        return;
    }
    bool istatus = c.counter_now() >= cval;
    ARMVM_TRACE(arm_gt_recalc, "gt recalc: timer %d irqstate %d next tick 0x%" PRIx64, timer,
                istatus && !(ctl & 2) ? 1 : 0, istatus ? UINT64_MAX : cval);
}

void cval_write(Cpu& c, int timer, uint64_t v) {
    ARMVM_TRACE(arm_gt_cval_write, "gt_cval_write: timer %d value 0x%" PRIx64, timer, v);
    (timer ? c.s.cntv_cval : c.s.cntp_cval) = v;
    gt_recalc(c, timer);
    c.timer_changed();
}

void tval_write(Cpu& c, int timer, uint64_t v) {
    ARMVM_TRACE(arm_gt_tval_write, "gt_tval_write: timer %d value 0x%" PRIx64, timer, v);
    (timer ? c.s.cntv_cval : c.s.cntp_cval) = c.counter_now() + static_cast<uint64_t>(a64::sext(v, 32));
    gt_recalc(c, timer);
    c.timer_changed();
}

void ctl_write(Cpu& c, int timer, uint64_t v) {
    ARMVM_TRACE(arm_gt_ctl_write, "gt_ctl_write: timer %d value 0x%" PRIx64, timer, v);
    uint64_t& ctl = timer ? c.s.cntv_ctl : c.s.cntp_ctl;
    uint64_t old = ctl, cval = timer ? c.s.cntv_cval : c.s.cntp_cval;
    ctl = v & 3;
    if ((old ^ ctl) & 1) {
        gt_recalc(c, timer);
    } else if ((old ^ ctl) & 2) {
        ARMVM_TRACE(arm_gt_imask_toggle, "gt_ctl_write: timer %d IMASK toggle, new irqstate %d", timer,
                    (old & 1) && c.counter_now() >= cval && !(ctl & 2) ? 1 : 0);
    }
    c.timer_changed();
}

constexpr SysRegDesc kRegs[] = {
    {sysreg_key(3, 3, 14, 0, 0), "CNTFRQ_EL0", cntfrq_access,
     [](Cpu&, uint64_t& v) { v = Cpu::kCntFrq; return true; }, nullptr},
    {sysreg_key(3, 3, 14, 0, 1), "CNTPCT_EL0", el0_if<1>,
     [](Cpu& c, uint64_t& v) { v = c.counter_now(); return true; }, nullptr},
    {sysreg_key(3, 3, 14, 0, 2), "CNTVCT_EL0", el0_if<2>,
     [](Cpu& c, uint64_t& v) { v = c.counter_now(); return true; }, nullptr},
    {sysreg_key(3, 3, 14, 2, 0), "CNTP_TVAL_EL0", el0_if<1u << 9>,
     [](Cpu& c, uint64_t& v) { v = static_cast<uint32_t>(c.s.cntp_cval - c.counter_now()); return true; },
     [](Cpu& c, uint64_t v) { tval_write(c, 0, v); }},
    {sysreg_key(3, 3, 14, 2, 1), "CNTP_CTL_EL0", el0_if<1u << 9>,
     [](Cpu& c, uint64_t& v) { v = ctl_read(c, c.s.cntp_ctl, c.s.cntp_cval); return true; },
     [](Cpu& c, uint64_t v) { ctl_write(c, 0, v); }},
    {sysreg_key(3, 3, 14, 2, 2), "CNTP_CVAL_EL0", el0_if<1u << 9>,
     [](Cpu& c, uint64_t& v) { v = c.s.cntp_cval; return true; },
     [](Cpu& c, uint64_t v) { cval_write(c, 0, v); }},
    {sysreg_key(3, 3, 14, 3, 0), "CNTV_TVAL_EL0", el0_if<1u << 8>,
     [](Cpu& c, uint64_t& v) { v = static_cast<uint32_t>(c.s.cntv_cval - c.counter_now()); return true; },
     [](Cpu& c, uint64_t v) { tval_write(c, 1, v); }},
    {sysreg_key(3, 3, 14, 3, 1), "CNTV_CTL_EL0", el0_if<1u << 8>,
     [](Cpu& c, uint64_t& v) { v = ctl_read(c, c.s.cntv_ctl, c.s.cntv_cval); return true; },
     [](Cpu& c, uint64_t v) { ctl_write(c, 1, v); }},
    {sysreg_key(3, 3, 14, 3, 2), "CNTV_CVAL_EL0", el0_if<1u << 8>,
     [](Cpu& c, uint64_t& v) { v = c.s.cntv_cval; return true; },
     [](Cpu& c, uint64_t v) { cval_write(c, 1, v); }},
    {sysreg_key(3, 0, 14, 1, 0), "CNTKCTL_EL1", nullptr,
     [](Cpu& c, uint64_t& v) { v = c.s.cntkctl_el1; return true; },
     [](Cpu& c, uint64_t v) { c.s.cntkctl_el1 = v & 0x3ff; }},
};

}  // namespace

std::span<const SysRegDesc> timer_sysregs() { return kRegs; }

}  // namespace armvm
