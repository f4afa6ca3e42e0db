// The virt board's vCPUs (machine/virt/cpus.hpp): TCG's threads with the
// PSCI power state, KVM's vCPUs with what a debugger needs of them. TCG's
// CPUs keep their own breakpoints (the emulator's, not the guest's debug
// registers); a KVM vCPU's registers are fetched into a Cpu that stands
// for it (its page-table walk and register layout serve the debugger as
// they do TCG's) and written back if the debugger changed them, and its
// breakpoints, watchpoints and step are the host's hardware ones through
// KVM_SET_GUEST_DEBUG.
#include "machine/virt/cpus.hpp"

#include <algorithm>

#include "cpu-arm64/sysregs/sysregs.hpp"
#include "machine/virt/psci.hpp"

namespace armvm::virt {

// ---- TCG

TcgCpus::~TcgCpus() {
    for (auto& v : vcpus) v->stop_and_join();  // (the board stops them first; a second stop is a no-op)
}

void TcgCpus::pause() {
    vm_running = false;
    for (auto& v : vcpus) v->pause();
    cluster_.clock.stop();
}

void TcgCpus::resume(const std::vector<bool>& which) {
    vm_running = true;
    cluster_.clock.start();
    for (auto& v : vcpus)
        if (which[v->index()] && power[v->index()] != kOff) v->resume();
}

bool TcgCpus::powered(unsigned i) const { return i < vcpus.size() && power[i] != kOff; }

Status TcgCpus::reset(uint64_t entry, uint64_t x0, uint64_t secondary_entry) {
    cluster_.clear();  // RAM was rewritten behind the CPUs' backs
    for (auto& v : vcpus) {
        unsigned i = v->index();
        boot_state(v->cpu(), i == 0 ? entry : secondary_entry, i == 0 ? x0 : 0, i);
        v->wake();  // a reset CPU is not in WFI (one idle there when the reset came would sleep on)
        power[i] = i == 0 ? kOn : kOff;
    }
    return ok_status();
}

void TcgCpus::with_cpu(unsigned i, const std::function<void(Cpu&)>& fn) {
    if (i < vcpus.size()) vcpus[i]->run_on([&](Cpu& c) { fn(c); });
}

Status TcgCpus::set_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints,
                          const std::vector<bool>& step) {
    for (auto& v : vcpus)
        v->run_on([&](Cpu& c) { c.set_debug(breakpoints, watchpoints, step[v->index()]); });
    return ok_status();
}

std::vector<uint32_t> TcgCpus::debug_sysreg_keys() {
    std::vector<uint32_t> keys;
    if (vcpus.empty()) return keys;
    // Those the model has: an MRS of them at EL1 is not UNDEFINED.
    vcpus[0]->run_on([&](Cpu& c) {
        unsigned el = c.s.el;
        c.s.el = 1;
        for (const auto& r : gdb_sysregs())
            if (!r.desc->access || r.desc->access(c, false) != SysRegAccess::Undefined) keys.push_back(r.desc->key);
        c.s.el = el;
    });
    return keys;
}

bool TcgCpus::read_sysreg(unsigned i, uint32_t key, uint64_t& value) {
    const SysRegDesc* d = find_sysreg(key);
    if (!d || !d->read || i >= vcpus.size()) return false;
    bool ok = false;
    vcpus[i]->run_on([&](Cpu& c) { ok = d->read(c, value); });
    return ok;
}

uint64_t TcgCpus::insns() const {
    uint64_t n = 0;
    for (const auto& v : vcpus) n += v->insns();
    return n;
}

// ---- KVM

KvmCpus::KvmCpus(kvm::ArmVm& vm, Bus& bus, const IdRegs& ids, uint64_t ram_base, uint8_t* ram, uint64_t ram_size,
                 unsigned n, kvm::ArmVm::Hooks& kh, std::function<void(unsigned)> debug_stop)
    : vm_(vm) {
    for (unsigned i = 0; i < n; ++i) {
        auto c = std::make_unique<Cpu>(bus);
        c->set_jit(false);
        c->set_ram_window(ram_base, ram, ram_size);
        c->ids = ids;
        c->index = static_cast<int>(i);
        views_.push_back(std::move(c));
    }
    kh.debug = [this, debug_stop = std::move(debug_stop)](unsigned i, uint32_t ec, uint64_t far) {
        // ESR_ELx.EC of the exception KVM took for the debugger.
        Cpu::DebugStop stop;
        switch (ec) {
        case 0x32: case 0x33:  // software step
            stop.kind = Cpu::DebugStop::Kind::Step;
            break;
        case 0x34: case 0x35: {  // watchpoint: the one the access (at FAR, up to 16 bytes) touched
            stop.kind = Cpu::DebugStop::Kind::Watch;
            const Cpu::Watchpoint* hit = watches_.empty() ? nullptr : &watches_[0];
            for (const auto& w : watches_)
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
        views_[i]->post_debug_stop(stop);
        if (debug_stop) debug_stop(i);
    };
}

void KvmCpus::with_cpu(unsigned i, const std::function<void(Cpu&)>& fn) {
    if (i >= views_.size()) return;
    vm_.vcpu(i).run_on([&](kvm::Vcpu& v) {
        Cpu& c = *views_[i];
        if (!vm_.get_regs(v, c.s)) return;
        CpuState before = c.s;
        c.mode_changed();  // (its translation regime: the registers just read)
        fn(c);
        (void)vm_.set_regs(v, c.s, before);
    });
}

namespace {

std::vector<uint64_t> unique_sorted(std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

}  // namespace

Status KvmCpus::check_debug(const std::vector<uint64_t>& breakpoints,
                            const std::vector<Cpu::Watchpoint>& watchpoints) const {
    if (unique_sorted(breakpoints).size() > vm_.hw_breakpoints())
        return make_error("the host's KVM lends " + std::to_string(vm_.hw_breakpoints()) + " hardware breakpoints");
    if (watchpoints.size() > vm_.hw_watchpoints())
        return make_error("the host's KVM lends " + std::to_string(vm_.hw_watchpoints()) + " hardware watchpoints");
    for (const auto& w : watchpoints)
        if (!kvm::ArmVm::watch_encodable(w.addr, w.len))
            return make_error("a hardware watchpoint covers up to 8 bytes in one doubleword, or an aligned power of two");
    return ok_status();
}

Status KvmCpus::set_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints,
                          const std::vector<bool>& step) {
    ARMVM_TRY(check_debug(breakpoints, watchpoints));
    watches_ = watchpoints;
    std::vector<uint64_t> bps = unique_sorted(breakpoints);
    std::vector<kvm::ArmVm::HwWatch> wps;
    for (const auto& w : watchpoints)
        wps.push_back({w.addr, w.len, (w.kind & Cpu::Watchpoint::Read) != 0, (w.kind & Cpu::Watchpoint::Write) != 0});
    Status result = ok_status();
    for (unsigned i = 0; i < vm_.vcpu_count(); ++i)
        vm_.vcpu(i).run_on([&](kvm::Vcpu& v) {
            (void)views_[i]->take_debug_stop();  // (one not reported is stale now)
            Status st = vm_.set_guest_debug(v, bps, wps, step[i]);
            if (!st && result) result = st;
        });
    return result;
}

std::vector<uint32_t> KvmCpus::debug_sysreg_keys() {
    std::vector<uint32_t> keys;
    if (vm_.vcpu_count())
        vm_.vcpu(0).run_on([&](kvm::Vcpu& v) {
            if (auto k = vm_.sysreg_keys(v)) keys = std::move(*k);
        });
    return keys;
}

bool KvmCpus::read_sysreg(unsigned i, uint32_t key, uint64_t& value) {
    bool ok = false;
    if (i < vm_.vcpu_count()) vm_.vcpu(i).run_on([&](kvm::Vcpu& v) { ok = vm_.get_sysreg(v, key, value); });
    return ok;
}

uint64_t KvmCpus::mmio_exits() const {
    uint64_t n = 0;
    for (unsigned i = 0; i < vm_.vcpu_count(); ++i) n += vm_.vcpu(i).mmio_exits();
    return n;
}

}  // namespace armvm::virt
