// PSCI 1.0 on the virt board (ARM DEN 0022D): QEMU's firmware interface
// for a guest without EL3, called through HVC on the calling vCPU's thread.
#include <mutex>

#include "machine/virt/board.hpp"
#include "machine/virt/cpus.hpp"
#include "machine/virt/psci.hpp"

namespace armvm::virt {

namespace {

// PSCI 1.0 (ARM DEN 0022D): function IDs and return codes.
enum : uint32_t {
    PSCI_VERSION = 0x84000000, CPU_SUSPEND_32 = 0x84000001, CPU_OFF = 0x84000002, CPU_ON_32 = 0x84000003,
    AFFINITY_INFO_32 = 0x84000004, MIGRATE_32 = 0x84000005, MIGRATE_INFO_TYPE = 0x84000006,
    SYSTEM_OFF = 0x84000008, SYSTEM_RESET = 0x84000009, PSCI_FEATURES = 0x8400000a,
    CPU_SUSPEND_64 = 0xc4000001, CPU_ON_64 = 0xc4000003, AFFINITY_INFO_64 = 0xc4000004, MIGRATE_64 = 0xc4000005,
};
constexpr int64_t kSuccess = 0, kNotSupported = -1, kInvalidParams = -2, kAlreadyOn = -4;

}  // namespace

// The reset state of an AArch64 CPU entering at EL1h (ARM ARM D1.9.1,
// what QEMU gives a kernel without EL2/EL3).
void boot_state(Cpu& c, uint64_t entry, uint64_t x0, unsigned index) {
    c.s = CpuState{};
    c.s.el = 1;
    c.s.spsel = true;
    c.s.daif = 0x3c0;
    c.s.nzcv = kZ;  // (UNKNOWN at reset; QEMU's CPUs come up with Z set: the same for debuggers)
    c.s.pc = entry;
    c.s.x[0] = x0;
    c.s.mpidr_el1 = (1ull << 31) | index;  // Aff0 = index (fewer than 16 CPUs)
    c.flush_blocks();
    c.mode_changed();
    c.guest_debug_changed();  // (the debug registers are reset: nothing armed)
    c.pmu_changed();          // (nor is any PMU counter)
}

bool Board::psci_call(Cpu& c, unsigned index) {
    uint64_t fn = c.s.x[0];
    int64_t ret = kNotSupported;
    auto target_index = [&](uint64_t mpidr) -> int {
        uint64_t aff = mpidr & 0xff00ffffffull;
        return aff < tcg_->vcpus.size() ? static_cast<int>(aff) : -1;
    };
    switch (static_cast<uint32_t>(fn)) {
    case PSCI_VERSION:
        ret = 0x10001;  // 1.1, as QEMU 7.2 reports
        break;
    case PSCI_FEATURES: {
        uint32_t q = static_cast<uint32_t>(c.s.x[1]);
        switch (q) {
        case PSCI_VERSION: case CPU_OFF: case CPU_ON_32: case CPU_ON_64: case AFFINITY_INFO_32:
        case AFFINITY_INFO_64: case SYSTEM_OFF: case SYSTEM_RESET: case PSCI_FEATURES: case MIGRATE_INFO_TYPE:
            ret = kSuccess;
            break;
        default:
            ret = kNotSupported;
        }
        break;
    }
    case MIGRATE_INFO_TYPE:
        ret = 2;  // no Trusted OS
        break;
    case CPU_ON_32:
    case CPU_ON_64: {
        int t = target_index(c.s.x[1]);
        if (t < 0) {
            ret = kInvalidParams;
            break;
        }
        int expected = kOff;
        if (!tcg_->power[t].compare_exchange_strong(expected, kOnPending)) {
            ret = expected == kOnPending ? -5 /*ON_PENDING*/ : kAlreadyOn;
            break;
        }
        uint64_t entry = c.s.x[2], context = c.s.x[3];
        if (fn == CPU_ON_32) {
            entry = static_cast<uint32_t>(entry);
            context = static_cast<uint32_t>(context);
        }
        Vcpu* v = tcg_->vcpus[t].get();
        v->async_run_on([this, t, entry, context](Cpu& tc) {
            boot_state(tc, entry, context, static_cast<unsigned>(t));
            tcg_->power[t] = kOn;
        });
        // Powered on is not running: while the VM is stopped (QMP stop, a
        // debugger's stop, a reset) the CPU waits for the VM's resume(),
        // which runs every CPU that is on. (Board::pause() clears
        // vm_running with the BQL held before it pauses any vCPU.)
        std::lock_guard<std::mutex> g(*bql_);
        if (tcg_->vm_running) v->resume();
        ret = kSuccess;
        break;
    }
    case AFFINITY_INFO_32:
    case AFFINITY_INFO_64: {
        int t = target_index(c.s.x[1]);
        ret = (t < 0 || c.s.x[2] != 0) ? kInvalidParams : tcg_->power[t].load();
        break;
    }
    case CPU_OFF:
        tcg_->power[index] = kOff;
        tcg_->vcpus[index]->self_pause();
        ret = kSuccess;  // not seen by the caller: it never returns
        break;
    case SYSTEM_OFF:
        tcg_->vcpus[index]->self_pause();
        if (hooks_.system_off) hooks_.system_off();
        return true;  // (never returns: x0 keeps the function ID, as QEMU leaves it for -no-shutdown's debugger)
    case SYSTEM_RESET:
        tcg_->vcpus[index]->self_pause();
        if (hooks_.system_reset) hooks_.system_reset();
        return true;
    case MIGRATE_32:
    case MIGRATE_64:
    case CPU_SUSPEND_32:
    case CPU_SUSPEND_64:
    default:
        ret = kNotSupported;
    }
    c.s.x[0] = static_cast<uint64_t>(ret);
    return true;  // SMCCC: unknown function IDs return NOT_SUPPORTED too
}

}  // namespace armvm::virt
