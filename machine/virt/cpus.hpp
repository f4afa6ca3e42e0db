// The virt board's vCPUs behind accel/vcpus.hpp: TCG's (Vcpu threads and
// lanes, the PSCI power state the board's firmware keeps, the machine's
// clock) and KVM's (the kernel's vCPUs; for the debugger a Cpu standing
// for each and the host's hardware breakpoints). Internal to the board.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "accel/kvm/arm64.hpp"
#include "accel/vcpu.hpp"
#include "accel/vcpus.hpp"

namespace armvm::virt {

class TcgCpus : public VcpuSet {
public:
    TcgCpus(unsigned n, CpuCluster& cluster) : power(std::make_unique<std::atomic<int>[]>(n)), cluster_(cluster) {}
    ~TcgCpus() override;  // stops and joins the threads

    unsigned count() const override { return static_cast<unsigned>(vcpus.size()); }
    pid_t thread_id(unsigned i) const override { return vcpus[i]->thread_id(); }
    void pause() override;
    void resume(const std::vector<bool>& which) override;
    bool powered(unsigned i) const override;
    Status reset(uint64_t entry, uint64_t x0, uint64_t secondary_entry) override;
    void with_cpu(unsigned i, const std::function<void(Cpu&)>& fn) override;
    bool debug_supported() const override { return true; }
    Status check_debug(const std::vector<uint64_t>&, const std::vector<Cpu::Watchpoint>&) const override {
        return ok_status();
    }
    Status set_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints,
                     const std::vector<bool>& step) override;
    std::vector<uint32_t> debug_sysreg_keys() override;
    bool read_sysreg(unsigned i, uint32_t key, uint64_t& value) override;
    uint64_t insns() const override;

    // The board's firmware (PSCI, machine/virt/psci.cpp) and wiring reach
    // these directly: the threads, each CPU's AFFINITY_INFO state, and
    // whether the VM runs (resume()) or is stopped (pause()); BQL.
    std::vector<std::unique_ptr<Vcpu>> vcpus;
    std::unique_ptr<std::atomic<int>[]> power;
    bool vm_running = false;

private:
    CpuCluster& cluster_;
};

class KvmCpus : public VcpuSet {
public:
    // Views for the debugger, and `kh.debug` set to report the vCPUs'
    // debug exits through `debug_stop` (before ArmVm::start_vcpus).
    KvmCpus(kvm::ArmVm& vm, Bus& bus, const IdRegs& ids, uint64_t ram_base, uint8_t* ram, uint64_t ram_size,
            unsigned n, kvm::ArmVm::Hooks& kh, std::function<void(unsigned)> debug_stop);

    unsigned count() const override { return vm_.vcpu_count(); }
    pid_t thread_id(unsigned i) const override { return vm_.vcpu(i).thread_id(); }
    void pause() override { vm_.pause(); }
    void resume(const std::vector<bool>&) override { vm_.resume(); }  // (every vCPU: the kernel keeps PSCI)
    bool powered(unsigned) const override { return true; }
    Status reset(uint64_t entry, uint64_t x0, uint64_t) override { return vm_.reset_vcpus(entry, x0); }
    void with_cpu(unsigned i, const std::function<void(Cpu&)>& fn) override;
    bool debug_supported() const override { return vm_.hw_breakpoints() > 0; }
    Status check_debug(const std::vector<uint64_t>& breakpoints,
                       const std::vector<Cpu::Watchpoint>& watchpoints) const override;
    Status set_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints,
                     const std::vector<bool>& step) override;
    std::vector<uint32_t> debug_sysreg_keys() override;
    bool read_sysreg(unsigned i, uint32_t key, uint64_t& value) override;
    uint64_t mmio_exits() const override;

private:
    kvm::ArmVm& vm_;
    std::vector<std::unique_ptr<Cpu>> views_;  // each used on its vCPU's thread only
    std::vector<Cpu::Watchpoint> watches_;      // the watchpoints last set
};

}  // namespace armvm::virt
