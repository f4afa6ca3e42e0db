// The debugger's seam on the virt board: the vCPUs' state, breakpoints,
// watchpoints and single step for the gdbstub and the human monitor,
// whichever accelerator runs them. TCG's CPUs keep their own (the
// emulator's breakpoints, not the guest's debug registers); a KVM vCPU's
// registers are fetched into a Cpu that stands for it (its page-table walk
// and register layout serve the debugger as they do TCG's) and written back
// if the debugger changed them, and its breakpoints, watchpoints and step
// are the host's hardware ones through KVM_SET_GUEST_DEBUG.
#include "machine/virt/board.hpp"
#include <algorithm>

#include "cpu-arm64/sysregs/id_regs.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"
#include "machine/ram.hpp"
#include "machine/virt/memmap.hpp"

namespace armvm::virt {

bool Board::debug_supported() const { return !kvm_ || kvm_->hw_breakpoints() > 0; }

void Board::init_kvm_debug(kvm::ArmVm::Hooks& kh, GuestRam& ram, const MachineConfig& cfg) {
    for (unsigned i = 0; i < cfg.smp.cpus; ++i) {
        auto c = std::make_unique<Cpu>(as_);
        c->set_jit(false);
        c->set_ram_window(base(Region::Ram), ram.host(), ram.size());
        c->ids = id_regs_for(cfg.cpu.model == "host" ? "max" : cfg.cpu.model, false);
        c->index = static_cast<int>(i);
        kvm_views_.push_back(std::move(c));
    }
    kh.debug = [this](unsigned i, uint32_t ec, uint64_t far) {
        // ESR_ELx.EC of the exception KVM took for the debugger.
        Cpu::DebugStop stop;
        switch (ec) {
        case 0x32: case 0x33:  // software step
            stop.kind = Cpu::DebugStop::Kind::Step;
            break;
        case 0x34: case 0x35: {  // watchpoint: the one the access (at FAR, up to 16 bytes) touched
            stop.kind = Cpu::DebugStop::Kind::Watch;
            const Cpu::Watchpoint* hit = kvm_watches_.empty() ? nullptr : &kvm_watches_[0];
            for (const auto& w : kvm_watches_)
                if (far < w.addr + w.len && far + 16 > w.addr) {
                    hit = &w;
                    break;
                }
            if (hit) {
                stop.addr = hit->addr;
                stop.wkind = hit->kind;
            } else {
                stop.addr = far;
            }
            break;
        }
        default:  // a breakpoint (hardware, or a BRK)
            stop.kind = Cpu::DebugStop::Kind::Breakpoint;
            break;
        }
        kvm_views_[i]->post_debug_stop(stop);
        if (hooks_.debug_stop) hooks_.debug_stop(i);
    };
}

void Board::with_cpu(unsigned i, const std::function<void(Cpu&)>& fn) {
    if (kvm_) {
        if (i >= kvm_views_.size()) return;
        kvm_->vcpu(i).run_on([&](kvm::Vcpu& v) {
            Cpu& c = *kvm_views_[i];
            if (!kvm_->get_regs(v, c.s)) return;
            CpuState before = c.s;
            c.mode_changed();  // (its translation regime: the registers just read)
            fn(c);
            (void)kvm_->set_regs(v, c.s, before);
        });
        return;
    }
    if (i >= vcpus_.size()) return;
    vcpus_[i]->run_on([&](Cpu& c) { fn(c); });
}

std::vector<uint32_t> Board::debug_sysreg_keys() {
    std::vector<uint32_t> keys;
    if (kvm_) {
        if (kvm_->vcpu_count())
            kvm_->vcpu(0).run_on([&](kvm::Vcpu& v) {
                if (auto k = kvm_->sysreg_keys(v)) keys = std::move(*k);
            });
        return keys;
    }
    if (vcpus_.empty()) return keys;
    // Those the model has: an MRS of them at EL1 is not UNDEFINED.
    vcpus_[0]->run_on([&](Cpu& c) {
        unsigned el = c.s.el;
        c.s.el = 1;
        for (const auto& r : gdb_sysregs())
            if (!r.desc->access || r.desc->access(c, false) != SysRegAccess::Undefined) keys.push_back(r.desc->key);
        c.s.el = el;
    });
    return keys;
}

bool Board::read_sysreg(unsigned i, uint32_t key, uint64_t& value) {
    bool ok = false;
    if (kvm_) {
        if (i < kvm_->vcpu_count()) kvm_->vcpu(i).run_on([&](kvm::Vcpu& v) { ok = kvm_->get_sysreg(v, key, value); });
        return ok;
    }
    const SysRegDesc* d = find_sysreg(key);
    if (!d || !d->read || i >= vcpus_.size()) return false;
    vcpus_[i]->run_on([&](Cpu& c) { ok = d->read(c, value); });
    return ok;
}

namespace {

std::vector<kvm::ArmVm::HwWatch> hw_watches(const std::vector<Cpu::Watchpoint>& watchpoints) {
    std::vector<kvm::ArmVm::HwWatch> out;
    for (const auto& w : watchpoints)
        out.push_back({w.addr, w.len, (w.kind & Cpu::Watchpoint::Read) != 0, (w.kind & Cpu::Watchpoint::Write) != 0});
    return out;
}

std::vector<uint64_t> unique_sorted(std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

}  // namespace

Status Board::check_debug(const std::vector<uint64_t>& breakpoints,
                          const std::vector<Cpu::Watchpoint>& watchpoints) const {
    if (!kvm_) return ok_status();
    if (unique_sorted(breakpoints).size() > kvm_->hw_breakpoints())
        return make_error("the host's KVM lends " + std::to_string(kvm_->hw_breakpoints()) + " hardware breakpoints");
    if (watchpoints.size() > kvm_->hw_watchpoints())
        return make_error("the host's KVM lends " + std::to_string(kvm_->hw_watchpoints()) + " hardware watchpoints");
    for (const auto& w : watchpoints)
        if (!kvm::ArmVm::watch_encodable(w.addr, w.len))
            return make_error("a hardware watchpoint covers up to 8 bytes in one doubleword, or an aligned power of two");
    return ok_status();
}

Status Board::set_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints,
                        const std::vector<bool>& step) {
    if (kvm_) {
        ARMVM_TRY(check_debug(breakpoints, watchpoints));
        kvm_watches_ = watchpoints;
        std::vector<uint64_t> bps = unique_sorted(breakpoints);
        std::vector<kvm::ArmVm::HwWatch> wps = hw_watches(watchpoints);
        Status result = ok_status();
        for (unsigned i = 0; i < kvm_->vcpu_count(); ++i)
            kvm_->vcpu(i).run_on([&](kvm::Vcpu& v) {
                (void)kvm_views_[i]->take_debug_stop();  // (one not reported is stale now)
                Status st = kvm_->set_guest_debug(v, bps, wps, step[i]);
                if (!st && result) result = st;
            });
        return result;
    }
    for (auto& v : vcpus_)
        v->run_on([&](Cpu& c) { c.set_debug(breakpoints, watchpoints, step[v->index()]); });
    return ok_status();
}

}  // namespace armvm::virt
