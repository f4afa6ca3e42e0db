// The arm64 part of the KVM accelerator: the VM's vGIC, its vCPUs (target,
// PSCI 0.2 and PMU features, ONE_REG), the PMU's interrupt and the ID
// registers the guest sees (INCIDENTS.md #2-#4), and the exits only arm64
// has (PSCI system events). The architecture-neutral core (kvm.hpp) runs
// the vCPU threads.
//
// Order of the calls, as the kernel wants it (measured in the nested rig,
// ../shared/NESTED-KVM.md): vGIC created and placed; vCPUs created and
// KVM_ARM_VCPU_INIT'ed; PMU_V3_IRQ set on every vCPU (the same PPI); vGIC
// CTRL_INIT; PMU_V3_INIT. Everything the host might refuse (the GIC
// version, the PMU, its interrupt, a safe PMU version) is decided in
// create(), before any vCPU exists, and a refusal is one message.
//
// On hosts that are not arm64 create() fails ("KVM cannot run arm64
// guests on this host") and nothing here touches /dev/kvm.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "accel/kvm/kvm.hpp"
#include "base/result.hpp"
#include "cpu-arm64/state.hpp"

namespace armvm::kvm {

// What this host's KVM offers an arm64 VM (query-gic-capabilities).
struct ArmHost {
    bool gic_v2 = false, gic_v3 = false;  // in-kernel vGICs it can create
};
Result<ArmHost> probe_arm_host();

struct ArmVmConfig {
    unsigned cpus = 1;
    std::string gic;          // -machine gic-version: "", "2", "3", "host", "max"
    std::optional<bool> pmu;  // -cpu ...,pmu=on|off (unset: the PMU when it is safe)
    std::string cpu_model;    // "host", "max", "cortex-a57", ...
    std::string machine_origin, cpu_origin;  // for messages
    uint64_t gic_dist = 0, gic_cpu = 0, gic_redist = 0;  // the board's GIC frames
    unsigned pmu_intid = 23;  // PPI 7
    bool no_adjvtime = false;          // kvm-no-adjvtime
    std::optional<bool> steal_time;    // kvm-steal-time (unset: where the host has it)
    std::optional<bool> sve;           // sve (unset: where the host has it, as QEMU)
    uint64_t pvtime_base = 0, pvtime_size = 0;  // the stolen-time structures' region
    uint64_t gic_its = 0;  // the ITS's frames (GICv3; 0: no ITS)
};

class ArmVm {
public:
    struct Hooks {
        // On a vCPU thread: post work to the main loop, nothing more.
        std::function<void()> system_off, system_reset;
        std::function<void(unsigned vcpu, const std::string& why)> failed;
        // A guest debug exit (KVM_EXIT_DEBUG: the debugger's breakpoint,
        // watchpoint or step) with its exception class and FAR; the vCPU
        // has paused itself. On its thread.
        std::function<void(unsigned vcpu, uint32_t ec, uint64_t far)> debug;
    };

    static Result<std::unique_ptr<ArmVm>> create(const ArmVmConfig& cfg);
    ~ArmVm();  // stops and joins the vCPU threads (call pause() first if the BQL is held)

    unsigned gic_version() const { return gic_version_; }
    bool pmu() const { return pmu_; }
    bool steal_time() const { return steal_time_; }
    bool sve() const { return sve_; }
    bool sve_supported() const { return sve_supported_; }
    // Decisions made for the user that they should hear of (a warning).
    const std::vector<std::string>& notes() const { return notes_; }

    // Guest RAM as a memory slot.
    Status add_ram(uint64_t gpa, uint64_t size, void* host);
    // A ROM device's bytes (page-aligned host memory) as a read-only slot:
    // the guest reads and executes them, its writes come out as MMIO
    // exits. Returns the slot, which set_rom_slot() maps and unmaps as the
    // device enters and leaves ROM mode (any thread; vCPUs may run).
    Result<unsigned> add_rom_slot(uint64_t gpa, uint64_t size, void* host);
    Status set_rom_slot(unsigned slot, uint64_t gpa, uint64_t size, void* host, bool mapped);
    // A doorbell address as an ioeventfd (Vm::set_ioeventfd).
    Status set_ioeventfd(uint64_t addr, int fd, std::optional<uint32_t> match, unsigned match_size, bool assign);

    // Creates the vCPUs (paused threads) and initialises vGIC and PMU.
    Status start_vcpus(Bus& bus, std::mutex& bql, Hooks hooks);
    unsigned vcpu_count() const { return static_cast<unsigned>(vcpus_.size()); }
    Vcpu& vcpu(unsigned i) { return *vcpus_[i]; }

    // Every vCPU back to KVM's reset state, on its own thread: CPU 0 at
    // `entry` with x0, the others powered off (PSCI CPU_ON starts them).
    // Caller holds the BQL; the vCPUs are paused.
    Status reset_vcpus(uint64_t entry, uint64_t x0);
    // The in-kernel GIC back to its reset state (distributor, every
    // vCPU's banked interrupts and CPU interface), as QEMU writes its
    // KVM GIC on reset. vCPUs paused. A register the kernel refuses is
    // reported once; the reset goes on.
    void reset_gic();
    // Caller holds the BQL. The guest's virtual counter stands still
    // while the VM is paused (as QEMU keeps it).
    void pause();
    void resume();

    // An SPI's level (intid 32..). A failure is reported once, never fatal.
    void set_spi(unsigned intid, bool level);
    // The in-kernel ITS (KVM_DEV_TYPE_ARM_VGIC_ITS), if the host has one
    // and it was asked for; an MSI to it: `data` written to `addr` (its
    // GITS_TRANSLATER) by requester `devid` (KVM_SIGNAL_MSI).
    bool has_its() const { return its_fd_ >= 0; }
    void signal_msi(uint64_t addr, uint32_t data, uint32_t devid);

    // ---- The debugger's half (machine/virt's with_cpu and set_debug).
    // Each call on vCPU v's own thread (Vcpu::run_on), out of KVM_RUN.
    // The guest's registers into `s`: general, SP_EL0/SP_EL1, PC, PSTATE,
    // FP/SIMD, and the EL1 system registers a page-table walk and `info
    // registers` read.
    Status get_regs(Vcpu& v, CpuState& s);
    // Back into KVM: the registers of `s` that differ from `before`.
    Status set_regs(Vcpu& v, const CpuState& s, const CpuState& before);
    // KVM_SET_GUEST_DEBUG: hardware breakpoints at `bps`, watchpoints
    // (ranges of one doubleword, or aligned powers of two), single step;
    // all empty and false: off.
    struct HwWatch {
        uint64_t addr = 0, len = 0;
        bool read = false, write = false;
    };
    Status set_guest_debug(Vcpu& v, const std::vector<uint64_t>& bps, const std::vector<HwWatch>& wps, bool step);
    // What the host's KVM offers (0: no guest debug at all).
    unsigned hw_breakpoints() const { return hw_bps_; }
    unsigned hw_watchpoints() const { return hw_wps_; }
    static bool watch_encodable(uint64_t addr, uint64_t len);
    // The system registers KVM gives this vCPU (KVM_GET_REG_LIST), as
    // MRS keys (op0:op1:CRn:CRm:op2, cpu-arm64/sysregs), and one's value.
    Result<std::vector<uint32_t>> sysreg_keys(Vcpu& v);
    bool get_sysreg(Vcpu& v, uint32_t key, uint64_t& value);

private:
    ArmVm() = default;
    Status init_vcpu(Vcpu& v, bool power_off);

    std::unique_ptr<Kvm> kvm_;
    std::unique_ptr<Vm> vm_;
    ArmVmConfig cfg_;
    // ([[maybe_unused]]: only an arm64 host's build uses them; elsewhere
    // arm64.cpp is the refusing stub)
    [[maybe_unused]] int gic_fd_ = -1;
    int its_fd_ = -1;
    unsigned gic_version_ = 0;
    bool pmu_ = false;
    bool steal_time_ = false;
    bool sve_ = false, sve_supported_ = false;
    [[maybe_unused]] uint64_t dfr0_cap_ = 0;  // a capped ID_AA64DFR0_EL1 to write (0: none)
    [[maybe_unused]] uint32_t target_ = 0;
    [[maybe_unused]] unsigned next_slot_ = 0;
    std::vector<std::pair<void*, size_t>> roms_;  // mappings to unmap
    std::vector<std::unique_ptr<Vcpu>> vcpus_;
    std::vector<std::string> notes_;
    unsigned hw_bps_ = 0, hw_wps_ = 0;
    Hooks hooks_;
    std::optional<uint64_t> saved_cnt_;
    [[maybe_unused]] uint64_t irq_errors_ = 0;
    [[maybe_unused]] bool gic_reset_warned_ = false;
    std::atomic<bool> nisv_warned_{false};
    std::mutex irq_m_;
};

}  // namespace armvm::kvm
