// The machine's vCPUs behind one interface, whichever accelerator runs
// them (issue 19 item 0): what the board, the monitors and the debugger
// need — count and threads, pause and resume, PSCI power, a vCPU's state,
// breakpoints, watchpoints and steps, system registers, the reset to the
// boot state — without saying "kvm" or "tcg". machine/virt/cpus.hpp has
// the two implementations (TCG's threads and lanes, KVM's vCPU threads).
// Every call is made with the machine lock (BQL) held.
#pragma once
#include <cstdint>
#include <functional>
#include <sys/types.h>
#include <vector>

#include "base/result.hpp"
#include "cpu-arm64/cpu.hpp"

namespace armvm {

class VcpuSet {
public:
    virtual ~VcpuSet() = default;
    virtual unsigned count() const = 0;
    virtual pid_t thread_id(unsigned i) const = 0;
    // Stops every vCPU (returns once none runs guest code), and runs the
    // powered-on ones of `which` (the machine's run state is the caller's).
    virtual void pause() = 0;
    virtual void resume(const std::vector<bool>& which) = 0;
    // PSCI: the CPU is on (not CPU_OFF'ed, or never started).
    virtual bool powered(unsigned i) const = 0;
    // Every CPU back to its boot state: CPU 0 at `entry` with x0, the
    // others powered off (PSCI CPU_ON starts them; an ELF's secondaries'
    // PC is `secondary_entry`). The vCPUs are paused.
    virtual Status reset(uint64_t entry, uint64_t x0, uint64_t secondary_entry) = 0;
    // fn runs on vCPU i's state, on its thread, out of guest code (under
    // KVM: a Cpu standing for it, its registers read in and written back).
    virtual void with_cpu(unsigned i, const std::function<void(Cpu&)>& fn) = 0;
    // Breakpoints, watchpoints and single step for a debugger (the
    // emulator's own under TCG, the host's hardware ones under KVM).
    virtual bool debug_supported() const = 0;
    virtual Status check_debug(const std::vector<uint64_t>& breakpoints,
                               const std::vector<Cpu::Watchpoint>& watchpoints) const = 0;
    virtual Status set_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints,
                             const std::vector<bool>& step) = 0;
    // The system registers a debugger can read (MRS keys), and one's value.
    virtual std::vector<uint32_t> debug_sysreg_keys() = 0;
    virtual bool read_sysreg(unsigned i, uint32_t key, uint64_t& value) = 0;
    // Statistics: guest instructions retired (TCG), MMIO exits (KVM).
    virtual uint64_t insns() const { return 0; }
    virtual uint64_t mmio_exits() const { return 0; }
};

}  // namespace armvm
