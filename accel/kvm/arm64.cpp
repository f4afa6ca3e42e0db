#include "accel/kvm/arm64.hpp"

#include <cerrno>
#include <cstddef>
#include <algorithm>
#include <cstring>
#include <system_error>

#include "base/report.hpp"

#if defined(__aarch64__)
#include <linux/kvm.h>
#include <sys/mman.h>
#include <unistd.h>
#define ARMVM_KVM_ARM64 1
#endif

namespace armvm::kvm {

// A watchpoint DBGWCR can describe: bytes within one doubleword, or an
// aligned power of two from 8 bytes to 2 GiB (MASK).
bool ArmVm::watch_encodable(uint64_t addr, uint64_t len) {
    if (len == 0) return false;
    if ((addr & 7) + len <= 8) return true;
    return (len & (len - 1)) == 0 && len <= (1ull << 31) && (addr & (len - 1)) == 0;
}

#if !ARMVM_KVM_ARM64

Result<ArmHost> probe_arm_host() { return make_error("KVM cannot run arm64 guests on this host"); }
Result<std::unique_ptr<ArmVm>> ArmVm::create(const ArmVmConfig&) {
    return make_error("KVM cannot run arm64 guests on this host");
}
ArmVm::~ArmVm() = default;
Status ArmVm::add_ram(uint64_t, uint64_t, void*) { return make_error("no KVM"); }
Result<unsigned> ArmVm::add_rom_slot(uint64_t, uint64_t, void*) { return make_error("no KVM"); }
Status ArmVm::set_rom_slot(unsigned, uint64_t, uint64_t, void*, bool) { return make_error("no KVM"); }
Status ArmVm::set_ioeventfd(uint64_t, int, std::optional<uint32_t>, unsigned, bool) { return make_error("no KVM"); }
Status ArmVm::start_vcpus(Bus&, std::mutex&, Hooks) { return make_error("no KVM"); }
Status ArmVm::reset_vcpus(uint64_t, uint64_t) { return make_error("no KVM"); }
Status ArmVm::init_vcpu(Vcpu&, bool) { return make_error("no KVM"); }
void ArmVm::pause() {}
void ArmVm::resume() {}
void ArmVm::reset_gic() {}
void ArmVm::set_spi(unsigned, bool) {}
void ArmVm::signal_msi(uint64_t, uint32_t, uint32_t) {}
Status ArmVm::get_regs(Vcpu&, CpuState&) { return make_error("no KVM"); }
Status ArmVm::set_regs(Vcpu&, const CpuState&, const CpuState&) { return make_error("no KVM"); }
Status ArmVm::set_guest_debug(Vcpu&, const std::vector<uint64_t>&, const std::vector<HwWatch>&, bool) {
    return make_error("no KVM");
}
Result<std::vector<uint32_t>> ArmVm::sysreg_keys(Vcpu&) { return make_error("no KVM"); }
bool ArmVm::get_sysreg(Vcpu&, uint32_t, uint64_t&) { return false; }

#else

namespace {

std::string why(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// ONE_REG ids.
constexpr uint64_t core_reg(size_t offset) {
    return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offset / sizeof(uint32_t));
}
const uint64_t kRegPc = core_reg(offsetof(kvm_regs, regs.pc));
const uint64_t kRegX0 = core_reg(offsetof(kvm_regs, regs.regs));
constexpr uint64_t kRegDfr0 = ARM64_SYS_REG(3, 0, 0, 5, 0);   // ID_AA64DFR0_EL1
constexpr uint64_t kRegIdDfr0 = ARM64_SYS_REG(3, 0, 0, 1, 2);  // ID_DFR0_EL1 (AArch32 view)
constexpr uint64_t kRegPmmir = ARM64_SYS_REG(3, 0, 9, 14, 6);  // PMMIR_EL1

int get_reg(int fd, uint64_t id, uint64_t& v) {
    kvm_one_reg r{id, reinterpret_cast<uint64_t>(&v)};
    return kvm_ioctl(fd, KVM_GET_ONE_REG, reinterpret_cast<unsigned long>(&r), "KVM_GET_ONE_REG");
}
int set_reg(int fd, uint64_t id, uint64_t v, const char* name = "KVM_SET_ONE_REG") {
    kvm_one_reg r{id, reinterpret_cast<uint64_t>(&v)};
    return kvm_ioctl(fd, KVM_SET_ONE_REG, reinterpret_cast<unsigned long>(&r), name);
}

// KVM_{HAS,SET}_DEVICE_ATTR on a device or vCPU fd; `name` is the seam's.
int device_attr(int fd, bool set, uint32_t group, uint64_t attr, void* addr, const char* name) {
    kvm_device_attr a{};
    a.group = group;
    a.attr = attr;
    a.addr = reinterpret_cast<uint64_t>(addr);
    return kvm_ioctl(fd, set ? KVM_SET_DEVICE_ATTR : KVM_HAS_DEVICE_ATTR, reinterpret_cast<unsigned long>(&a), name);
}

int create_device(int vm_fd, uint32_t type, bool test) {
    kvm_create_device d{};
    d.type = type;
    d.flags = test ? KVM_CREATE_DEVICE_TEST : 0;
    int r = kvm_ioctl(vm_fd, KVM_CREATE_DEVICE, reinterpret_cast<unsigned long>(&d),
                      type == KVM_DEV_TYPE_ARM_VGIC_V3 ? "KVM_CREATE_DEVICE:VGIC_V3" : "KVM_CREATE_DEVICE:VGIC_V2");
    if (r < 0) return -1;
    return test ? 0 : static_cast<int>(d.fd);
}

const char* pmu_version_name(unsigned v) {
    switch (v) {
    case 1: return "PMUv3";
    case 4: return "PMUv3p1";
    case 5: return "PMUv3p4";
    case 6: return "PMUv3p5";
    case 7: return "PMUv3p7";
    case 8: return "PMUv3p8";
    default: return "PMUv3 (later)";
    }
}

// What a scratch vCPU shows: its ID_AA64DFR0_EL1 with the PMU feature on,
// whether PMMIR_EL1 is among its registers, and whether the kernel lets
// userspace lower PMUVer (kernels from 6.3 on; 6.1 answers EINVAL).
struct Scratch {
    uint64_t dfr0 = 0;
    bool pmmir_listed = false;
    bool can_cap = false;
};

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

Result<Scratch> probe_scratch(Kvm& kvm, const kvm_vcpu_init& base, bool pmu) {
    Scratch s;
    Fd vm, cpu;
    vm.fd = kvm_ioctl(kvm.fd(), KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    if (vm.fd < 0) return make_error(why("failed to create a KVM VM"));
    cpu.fd = kvm_ioctl(vm.fd, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
    if (cpu.fd < 0) return make_error(why("kvm_init_vcpu: KVM_CREATE_VCPU failed"));
    kvm_vcpu_init init = base;
    init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
    if (pmu) init.features[0] |= 1u << KVM_ARM_VCPU_PMU_V3;
    if (kvm_ioctl(cpu.fd, KVM_ARM_VCPU_INIT, reinterpret_cast<unsigned long>(&init), "KVM_ARM_VCPU_INIT") < 0)
        return make_error(why("KVM_ARM_VCPU_INIT"));
    if (get_reg(cpu.fd, kRegDfr0, s.dfr0) < 0) return make_error(why("KVM_GET_ONE_REG ID_AA64DFR0_EL1"));
    kvm_reg_list probe{};
    probe.n = 0;
    kvm_ioctl(cpu.fd, KVM_GET_REG_LIST, reinterpret_cast<unsigned long>(&probe), "KVM_GET_REG_LIST");
    std::vector<uint64_t> buf(probe.n + 1);
    buf[0] = probe.n;
    if (kvm_ioctl(cpu.fd, KVM_GET_REG_LIST, reinterpret_cast<unsigned long>(buf.data()), "KVM_GET_REG_LIST") < 0)
        return make_error(why("KVM_GET_REG_LIST"));
    for (uint64_t i = 1; i <= buf[0] && i < buf.size(); ++i)
        if (buf[i] == kRegPmmir) s.pmmir_listed = true;
    unsigned ver = (s.dfr0 >> 8) & 0xf;
    if (pmu && ver >= 5 && ver != 0xf && !s.pmmir_listed) {
        uint64_t capped = (s.dfr0 & ~0xf00ull) | (4ull << 8);
        s.can_cap = set_reg(cpu.fd, kRegDfr0, capped, "KVM_SET_ONE_REG:ID_AA64DFR0_EL1") == 0;
    }
    return s;
}

}  // namespace

Result<ArmHost> probe_arm_host() {
    auto kvm = Kvm::open();
    if (!kvm) return kvm.error();
    ArmHost h;
    Fd vm;
    vm.fd = kvm_ioctl((*kvm)->fd(), KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    if (vm.fd < 0) return make_error(why("failed to create an arm64 KVM VM"));
    h.gic_v2 = create_device(vm.fd, KVM_DEV_TYPE_ARM_VGIC_V2, true) == 0;
    h.gic_v3 = create_device(vm.fd, KVM_DEV_TYPE_ARM_VGIC_V3, true) == 0;
    return h;
}

Result<std::unique_ptr<ArmVm>> ArmVm::create(const ArmVmConfig& c) {
    std::unique_ptr<ArmVm> a(new ArmVm);
    a->cfg_ = c;
    auto kvm = Kvm::open();
    if (!kvm) return kvm.error();
    a->kvm_ = std::move(kvm.value());
    Kvm& k = *a->kvm_;
    if (k.check_extension(KVM_CAP_ARM_PSCI_0_2) <= 0) return make_error("KVM on this host has no PSCI 0.2");
    const std::string mach = "-machine " + c.machine_origin + ": ";
    const std::string cpu = "-cpu " + c.cpu_origin + ": ";

    // The vCPU target: the host's own for host/max; a named model only
    // where the host is that CPU (KVM runs what the hardware is).
    // (asked of the VM itself: one VM fewer to create at start-up)
    auto vm = Vm::create(k);
    if (!vm) return vm.error();
    a->vm_ = std::move(vm.value());
    kvm_vcpu_init pref{};
    {
        const int vm_fd = a->vm_->fd();
        if (kvm_ioctl(vm_fd, KVM_ARM_PREFERRED_TARGET, reinterpret_cast<unsigned long>(&pref),
                      "KVM_ARM_PREFERRED_TARGET") < 0)
            return make_error(why("KVM_ARM_PREFERRED_TARGET"));
        // The GIC: what the host can create decides host/max and the
        // default; a version it cannot create is refused here, before
        // any vCPU exists (INCIDENTS.md #3).
        bool v2 = create_device(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V2, true) == 0;
        bool v3 = create_device(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3, true) == 0;
        if (!v2 && !v3) return make_error(mach + "Unable to determine GIC version supported by host");
        if (c.gic == "2") {
            if (!v2) return make_error(mach + "host does not support in-kernel GICv2 emulation");
            a->gic_version_ = 2;
        } else if (c.gic == "3") {
            if (!v3) return make_error(mach + "host does not support in-kernel GICv3 emulation");
            a->gic_version_ = 3;
        } else if (c.gic == "host" || c.gic == "max") {
            a->gic_version_ = v3 ? 3 : 2;
        } else {
            a->gic_version_ = v2 ? 2 : 3;  // the board's default where the host has it
        }
        if (a->gic_version_ == 2 && c.cpus > 8)
            return make_error(mach + "the in-kernel GICv2 takes at most 8 CPUs (-smp " + std::to_string(c.cpus) + ")");
    }
    if (c.cpu_model == "host" || c.cpu_model == "max") {
        a->target_ = pref.target;
    } else if (c.cpu_model == "cortex-a57" && pref.target == KVM_ARM_TARGET_CORTEX_A57) {
        a->target_ = KVM_ARM_TARGET_CORTEX_A57;
    } else {
        return make_error(cpu + "KVM is not supported for this guest CPU type on this host (use -cpu host)");
    }
    pref.target = a->target_;

    // The PMU: on when asked and possible, by default when the host has
    // one whose version the guest can safely use (INCIDENTS.md #2, #4).
    bool have_pmu = k.check_extension(KVM_CAP_ARM_PMU_V3) > 0;
    if (c.pmu.value_or(true)) {
        if (!have_pmu) {
            if (c.pmu) return make_error(cpu + "'pmu' feature not supported by KVM on this host");
        } else {
            auto s = probe_scratch(k, pref, true);
            if (!s) return s.error();
            unsigned ver = (s->dfr0 >> 8) & 0xf;
            bool unsafe = ver >= 5 && ver != 0xf && !s->pmmir_listed;
            if (unsafe && s->can_cap) {
                a->dfr0_cap_ = (s->dfr0 & ~0xf00ull) | (4ull << 8);
                ver = 4;
                unsafe = false;
            }
            std::string reason = std::string("the host's KVM would show the guest ") + pmu_version_name(ver) +
                                 " (ID_AA64DFR0_EL1.PMUVer " + std::to_string(ver) +
                                 ") but does not provide PMMIR_EL1, which that version has, and does not let "
                                 "armvm lower the version: a guest kernel reading PMMIR_EL1 would crash";
            if (unsafe && c.pmu) return make_error(cpu + "'pmu' cannot be enabled safely: " + reason + "; use pmu=off");
            if (unsafe) {
                a->notes_.push_back(cpu + "running without a PMU: " + reason + " (pmu=off says this explicitly)");
            } else {
                a->pmu_ = true;
            }
        }
    }

    // Stolen time (KVM's PV time): the host's KVM fills one 64-byte
    // structure per vCPU in a region of guest memory the guest finds
    // through an SMCCC call; on where the host has it, as QEMU.
    bool have_steal = k.check_extension(KVM_CAP_STEAL_TIME) > 0;
    if (c.steal_time.value_or(false) && !have_steal)
        return make_error(cpu + "'kvm-steal-time' cannot be enabled on this host");
    a->steal_time_ = c.steal_time.value_or(have_steal) && c.pvtime_size >= 64ull * c.cpus;
    // SVE with every vector length the host offers (KVM's default).
    a->sve_supported_ = k.check_extension(KVM_CAP_ARM_SVE) > 0;
    if (c.sve.value_or(false) && !a->sve_supported_)
        return make_error(cpu + "'sve' feature not supported by KVM on this host");
    a->sve_ = c.sve.value_or(a->sve_supported_);
    // Guest debug (the gdbstub): how many hardware breakpoints and
    // watchpoints KVM lends the debugger.
    if (k.check_extension(KVM_CAP_SET_GUEST_DEBUG) > 0) {
        a->hw_bps_ = static_cast<unsigned>(std::max(0, k.check_extension(KVM_CAP_GUEST_DEBUG_HW_BPS)));
        a->hw_wps_ = static_cast<unsigned>(std::max(0, k.check_extension(KVM_CAP_GUEST_DEBUG_HW_WPS)));
    }

    if (a->steal_time_) {
        void* p = ::mmap(nullptr, c.pvtime_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return make_error(why("mmap"));
        a->roms_.push_back({p, c.pvtime_size});
        ARMVM_TRY(a->vm_->add_memory(a->next_slot_++, c.pvtime_base, c.pvtime_size, p));
    }
    if (k.check_extension(KVM_CAP_ARM_NISV_TO_USER) > 0 && k.check_extension(KVM_CAP_ARM_INJECT_EXT_DABT) > 0) {
        // MMIO accesses KVM cannot decode come to armvm (else KVM_RUN
        // fails with ENOSYS and the vCPU is lost).
        kvm_enable_cap ec{};
        ec.cap = KVM_CAP_ARM_NISV_TO_USER;
        (void)kvm_ioctl(a->vm_->fd(), KVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&ec), "KVM_ENABLE_CAP");
    }

    // The vGIC, placed where the board's tree says it is.
    uint32_t type = a->gic_version_ == 3 ? KVM_DEV_TYPE_ARM_VGIC_V3 : KVM_DEV_TYPE_ARM_VGIC_V2;
    a->gic_fd_ = create_device(a->vm_->fd(), type, false);
    if (a->gic_fd_ < 0)
        return make_error(mach + "error creating in-kernel VGIC: " + std::strerror(errno));
    uint32_t nr_irqs = 32 + 256;  // QEMU's virt: 256 SPIs
    if (device_attr(a->gic_fd_, true, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs, "KVM_SET_DEVICE_ATTR:NR_IRQS") < 0)
        return make_error(mach + why("vGIC: KVM_DEV_ARM_VGIC_GRP_NR_IRQS"));
    auto place = [&](uint64_t which, uint64_t addr) -> Status {
        if (device_attr(a->gic_fd_, true, KVM_DEV_ARM_VGIC_GRP_ADDR, which, &addr, "KVM_SET_DEVICE_ATTR:VGIC_ADDR") < 0)
            return make_error(mach + why("vGIC: KVM_DEV_ARM_VGIC_GRP_ADDR"));
        return ok_status();
    };
    if (a->gic_version_ == 3) {
        ARMVM_TRY(place(KVM_VGIC_V3_ADDR_TYPE_DIST, c.gic_dist));
        ARMVM_TRY(place(KVM_VGIC_V3_ADDR_TYPE_REDIST, c.gic_redist));
        // The ITS where the board puts it; a host without one gives the
        // guest none (QEMU's its=on on such a host does the same).
        if (c.gic_its) {
            a->its_fd_ = create_device(a->vm_->fd(), KVM_DEV_TYPE_ARM_VGIC_ITS, false);
            uint64_t addr = c.gic_its;
            if (a->its_fd_ >= 0 && device_attr(a->its_fd_, true, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE,
                                               &addr, "KVM_SET_DEVICE_ATTR:ITS_ADDR") < 0)
                return make_error(mach + why("ITS: KVM_DEV_ARM_VGIC_GRP_ADDR"));
        }
    } else {
        ARMVM_TRY(place(KVM_VGIC_V2_ADDR_TYPE_DIST, c.gic_dist));
        ARMVM_TRY(place(KVM_VGIC_V2_ADDR_TYPE_CPU, c.gic_cpu));
    }
    return a;
}

ArmVm::~ArmVm() {
    vcpus_.clear();  // joins the threads
    if (its_fd_ >= 0) ::close(its_fd_);
    if (gic_fd_ >= 0) ::close(gic_fd_);
    vm_.reset();
    for (auto [p, n] : roms_) ::munmap(p, n);
}

Status ArmVm::add_ram(uint64_t gpa, uint64_t size, void* host) {
    if (gpa + size > (1ull << 40))
        return make_error("-m: guest RAM ends above the 40-bit guest physical space armvm asks KVM for");
    return vm_->add_memory(next_slot_++, gpa, size, host);
}

Result<unsigned> ArmVm::add_rom_slot(uint64_t gpa, uint64_t size, void* host) {
    unsigned slot = next_slot_++;
    ARMVM_TRY(set_rom_slot(slot, gpa, size, host, true));
    return slot;
}

Status ArmVm::set_rom_slot(unsigned slot, uint64_t gpa, uint64_t size, void* host, bool mapped) {
    // (an unmapped slot is one of size 0; KVM waits for running vCPUs to
    // leave the old one before it returns)
    kvm_userspace_memory_region r{};
    r.slot = slot;
    r.flags = KVM_MEM_READONLY;
    r.guest_phys_addr = gpa;
    r.memory_size = mapped ? size : 0;
    r.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (kvm_ioctl(vm_->fd(), KVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&r),
                  "KVM_SET_USER_MEMORY_REGION") < 0)
        return make_error(why("a flash bank: KVM_SET_USER_MEMORY_REGION"));
    return ok_status();
}

Status ArmVm::set_ioeventfd(uint64_t addr, int fd, std::optional<uint32_t> match, unsigned match_size, bool assign) {
    return vm_->set_ioeventfd(addr, fd, match, match_size, assign);
}

Status ArmVm::init_vcpu(Vcpu& v, bool power_off) {
    kvm_vcpu_init init{};
    init.target = target_;
    init.features[0] = 1u << KVM_ARM_VCPU_PSCI_0_2;
    if (power_off) init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
    if (pmu_) init.features[0] |= 1u << KVM_ARM_VCPU_PMU_V3;
    if (sve_) init.features[0] |= 1u << KVM_ARM_VCPU_SVE;
    if (kvm_ioctl(v.fd(), KVM_ARM_VCPU_INIT, reinterpret_cast<unsigned long>(&init), "KVM_ARM_VCPU_INIT") < 0)
        return make_error("-cpu " + cfg_.cpu_origin + ": " + why("KVM_ARM_VCPU_INIT"));
    return ok_status();
}

Status ArmVm::start_vcpus(Bus& bus, std::mutex& bql, Hooks hooks) {
    hooks_ = std::move(hooks);
    const std::string cpu = "-cpu " + cfg_.cpu_origin + ": ";
    Vcpu::Hooks vh;
    vh.exit = [this](Vcpu& v, kvm_run& r) -> bool {
        if (r.exit_reason == KVM_EXIT_SYSTEM_EVENT) {
            // PSCI SYSTEM_OFF / SYSTEM_RESET (KVM answers every other call).
            if (r.system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
                v.pause();
                if (hooks_.system_off) hooks_.system_off();
            } else if (r.system_event.type == KVM_SYSTEM_EVENT_RESET) {
                v.pause();
                if (hooks_.system_reset) hooks_.system_reset();
            }
            return true;
        }
        if (r.exit_reason == KVM_EXIT_DEBUG) {
            v.pause();  // (on its own thread: it stops before the next KVM_RUN)
            if (hooks_.debug) hooks_.debug(v.index(), r.debug.arch.hsr >> 26, r.debug.arch.far);
            return true;
        }
        if (r.exit_reason == KVM_EXIT_ARM_NISV) {
            // An MMIO access KVM cannot decode (a load/store pair, or
            // writeback): as QEMU, the guest takes an external abort, as
            // it would on hardware; the user hears of it once.
            uint64_t ipa = r.arm_nisv.fault_ipa;
            if (!nisv_warned_.exchange(true)) {
                char b[200];
                std::snprintf(b, sizeof b,
                              "vCPU %u: the guest accessed MMIO at 0x%llx with an instruction KVM cannot emulate "
                              "(no valid syndrome); it takes an external abort",
                              v.index(), static_cast<unsigned long long>(ipa));
                report_warning(b);
            }
            kvm_vcpu_events ev{};
            ev.exception.ext_dabt_pending = 1;
            if (kvm_ioctl(v.fd(), KVM_SET_VCPU_EVENTS, reinterpret_cast<unsigned long>(&ev), "KVM_SET_VCPU_EVENTS") < 0) {
                v.pause();
                if (hooks_.failed) hooks_.failed(v.index(), why("KVM_SET_VCPU_EVENTS (external abort)"));
            }
            return true;
        }
        return false;
    };
    vh.failed = [this](Vcpu& v, const std::string& m) {
        if (hooks_.failed) hooks_.failed(v.index(), m);
    };
    for (unsigned i = 0; i < cfg_.cpus; ++i) {
        auto v = Vcpu::create(*vm_, i, bus, vh, &bql);
        if (!v) return v.error();
        vcpus_.push_back(std::move(v.value()));
        ARMVM_TRY(init_vcpu(*vcpus_.back(), i > 0));
        if (sve_) {
            // The vector lengths stay the host's; the configuration is
            // then fixed (once: a later INIT keeps it).
            int what = KVM_ARM_VCPU_SVE;
            if (kvm_ioctl(vcpus_.back()->fd(), KVM_ARM_VCPU_FINALIZE, reinterpret_cast<unsigned long>(&what),
                          "KVM_ARM_VCPU_FINALIZE") < 0)
                return make_error(cpu + why("KVM_ARM_VCPU_FINALIZE (SVE)"));
        }
        if (dfr0_cap_ && set_reg(vcpus_.back()->fd(), kRegDfr0, dfr0_cap_, "KVM_SET_ONE_REG:ID_AA64DFR0_EL1") < 0)
            return make_error(cpu + why("capping ID_AA64DFR0_EL1.PMUVer"));
        if (dfr0_cap_) {
            // The AArch32 view says the same (PerfMon 4: PMUv3p1).
            uint64_t d = 0;
            if (get_reg(vcpus_.back()->fd(), kRegIdDfr0, d) == 0 && ((d >> 24) & 0xf) > 4 && ((d >> 24) & 0xf) != 0xf)
                (void)set_reg(vcpus_.back()->fd(), kRegIdDfr0, (d & ~(0xfull << 24)) | (4ull << 24));
        }
    }
    if (steal_time_) {
        for (auto& v : vcpus_) {
            uint64_t ipa = cfg_.pvtime_base + 64ull * v->index();
            if (device_attr(v->fd(), true, KVM_ARM_VCPU_PVTIME_CTRL, KVM_ARM_VCPU_PVTIME_IPA, &ipa,
                            "KVM_SET_DEVICE_ATTR:PVTIME_IPA") < 0)
                return make_error(cpu + "kvm-steal-time: " + why("KVM_ARM_VCPU_PVTIME_IPA"));
        }
    }
    if (pmu_) {
        // The PMU's overflow interrupt: the same PPI on every vCPU, after
        // KVM_ARM_VCPU_INIT, before the vGIC's CTRL_INIT (INCIDENTS.md #2).
        for (auto& v : vcpus_) {
            int irq = static_cast<int>(cfg_.pmu_intid);
            if (device_attr(v->fd(), false, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_IRQ, nullptr,
                            "KVM_HAS_DEVICE_ATTR:PMU_V3_IRQ") < 0)
                return make_error(cpu + "the host's KVM offers no interrupt for the PMU (" +
                                  why("KVM_HAS_DEVICE_ATTR PMU_V3_IRQ") + "); use pmu=off");
            if (device_attr(v->fd(), true, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_IRQ, &irq,
                            "KVM_SET_DEVICE_ATTR:PMU_V3_IRQ") < 0)
                return make_error(cpu + "the host's KVM refused PPI " + std::to_string(cfg_.pmu_intid - 16) +
                                  " as the PMU's interrupt (" + why("KVM_SET_DEVICE_ATTR PMU_V3_IRQ") +
                                  "): its in-kernel GICv" + std::to_string(gic_version_) +
                                  " cannot take it; use pmu=off" +
                                  (gic_version_ == 2 ? std::string(" or -machine gic-version=3") : std::string()));
        }
    }
    if (device_attr(gic_fd_, true, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, nullptr,
                    "KVM_SET_DEVICE_ATTR:VGIC_CTRL_INIT") < 0)
        return make_error("-machine " + cfg_.machine_origin + ": " + why("vGIC: KVM_DEV_ARM_VGIC_CTRL_INIT"));
    if (its_fd_ >= 0 && device_attr(its_fd_, true, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, nullptr,
                                    "KVM_SET_DEVICE_ATTR:ITS_CTRL_INIT") < 0)
        return make_error("-machine " + cfg_.machine_origin + ": " + why("ITS: KVM_DEV_ARM_VGIC_CTRL_INIT"));
    if (pmu_) {
        for (auto& v : vcpus_)
            if (device_attr(v->fd(), true, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_INIT, nullptr,
                            "KVM_SET_DEVICE_ATTR:PMU_V3_INIT") < 0)
                return make_error(cpu + "the host's KVM could not start the PMU (" +
                                  why("KVM_SET_DEVICE_ATTR PMU_V3_INIT") + "); use pmu=off");
    }
    try {
        for (auto& v : vcpus_) v->start();
    } catch (const std::system_error& e) {  // (no thread: an error, never std::terminate)
        return make_error(std::string("cannot create a vCPU thread: ") + e.what());
    }
    return ok_status();
}

Status ArmVm::reset_vcpus(uint64_t entry, uint64_t x0) {
    // On each vCPU's own thread: KVM's architectural reset (INIT again,
    // the secondaries powered off for PSCI), then the boot registers: the
    // one register write of this reset (INCIDENTS.md #5).
    Status result = ok_status();
    for (auto& v : vcpus_) {
        unsigned i = v->index();
        v->run_on([&](Vcpu& vc) {
            Status st = init_vcpu(vc, i > 0);
            if (st && i == 0 && (set_reg(vc.fd(), kRegPc, entry) < 0 || set_reg(vc.fd(), kRegX0, x0) < 0))
                st = make_error(why("reset: KVM_SET_ONE_REG"));
            if (!st && result) result = st;
        });
    }
    return result;
}

void ArmVm::reset_gic() {
    constexpr unsigned kIrqs = 32 + 256;
    bool v3 = gic_version_ == 3;
    std::string failed;
    auto put = [&](uint32_t group, uint64_t attr, uint32_t value, const char* what) {
        if (device_attr(gic_fd_, true, group, attr, &value, "KVM_SET_DEVICE_ATTR:VGIC_RESET") < 0 && failed.empty())
            failed = std::string(what) + ": " + std::strerror(errno);
    };
    auto put64 = [&](uint32_t group, uint64_t attr, uint64_t value, const char* what) {
        if (device_attr(gic_fd_, true, group, attr, &value, "KVM_SET_DEVICE_ATTR:VGIC_RESET") < 0 && failed.empty())
            failed = std::string(what) + ": " + std::strerror(errno);
    };
    // The ITS: its registers and tables forgotten (KVM_DEV_ARM_ITS_CTRL_RESET).
    if (its_fd_ >= 0 && device_attr(its_fd_, true, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_ITS_CTRL_RESET, nullptr,
                                    "KVM_SET_DEVICE_ATTR:ITS_RESET") < 0 && failed.empty())
        failed = std::string("ITS reset: ") + std::strerror(errno);
    const uint32_t dist = KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
    // The distributor's shared interrupts (SPIs): disabled, not pending or
    // active, priority 0, level-triggered, to CPU 0; the distributor off.
    put(dist, 0x000, 0, "GICD_CTLR");
    for (unsigned n = 1; n < kIrqs / 32; ++n) {
        put(dist, 0x180 + 4 * n, ~0u, "GICD_ICENABLER");
        put(dist, 0x280 + 4 * n, ~0u, "GICD_ICPENDR");
        put(dist, 0x380 + 4 * n, ~0u, "GICD_ICACTIVER");
        if (v3) {
            put(dist, 0x080 + 4 * n, ~0u, "GICD_IGROUPR");  // (KVM's GICv3 starts in group 1)
            put(dist, 0x200 + 4 * n, 0, "GICD_ISPENDR");    // (a GICv3 uaccess write sets the pending state as written)
        }
    }
    for (unsigned k = 8; k < kIrqs / 4; ++k) {
        put(dist, 0x400 + 4 * k, 0, "GICD_IPRIORITYR");
        if (!v3) put(dist, 0x800 + 4 * k, 0, "GICD_ITARGETSR");
    }
    for (unsigned k = 2; k < kIrqs / 16; ++k) put(dist, 0xc00 + 4 * k, 0, "GICD_ICFGR");
    if (v3)
        for (unsigned id = 32; id < kIrqs; ++id) {
            put(dist, 0x6000 + 8 * id, 0, "GICD_IROUTER");
            put(dist, 0x6000 + 8 * id + 4, 0, "GICD_IROUTER");
        }
    // Each vCPU's banked SGIs and PPIs (SGIs stay enabled, as KVM makes
    // them) and its CPU interface.
    for (auto& v : vcpus_) {
        uint64_t i = v->index();
        if (v3) {
            const uint32_t rd = KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, cpu = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS;
            uint64_t who = i << 32;  // MPIDR affinity: Aff0 = the vCPU index
            put(rd, who | 0x10180, 0xffff0000u, "GICR_ICENABLER0");
            put(rd, who | 0x10280, ~0u, "GICR_ICPENDR0");
            put(rd, who | 0x10200, 0, "GICR_ISPENDR0");
            put(rd, who | 0x10380, ~0u, "GICR_ICACTIVER0");
            put(rd, who | 0x10080, ~0u, "GICR_IGROUPR0");
            put(rd, who | 0x10c04, 0, "GICR_ICFGR1");
            for (unsigned k = 0; k < 8; ++k) put(rd, who | (0x10400 + 4 * k), 0, "GICR_IPRIORITYR");
            put64(cpu, who | (ARM64_SYS_REG(3, 0, 4, 6, 0) & 0xffff), 0, "ICC_PMR_EL1");
            put64(cpu, who | (ARM64_SYS_REG(3, 0, 12, 12, 7) & 0xffff), 0, "ICC_IGRPEN1_EL1");
            put64(cpu, who | (ARM64_SYS_REG(3, 0, 12, 9, 0) & 0xffff), 0, "ICC_AP1R0_EL1");
        } else {
            uint64_t who = i << KVM_DEV_ARM_VGIC_CPUID_SHIFT;
            put(dist, who | 0x180, 0xffff0000u, "GICD_ICENABLER0");
            put(dist, who | 0x280, ~0u, "GICD_ICPENDR0");
            put(dist, who | 0x380, ~0u, "GICD_ICACTIVER0");
            for (unsigned k = 0; k < 8; ++k) put(dist, who | (0x400 + 4 * k), 0, "GICD_IPRIORITYR");
            const uint32_t cpu = KVM_DEV_ARM_VGIC_GRP_CPU_REGS;
            put(cpu, who | 0x00, 0, "GICC_CTLR");
            put(cpu, who | 0x04, 0, "GICC_PMR");
            put(cpu, who | 0xd0, 0, "GICC_APR0");
        }
    }
    if (!failed.empty() && !gic_reset_warned_) {
        gic_reset_warned_ = true;
        report_warning("reset: the in-kernel GIC kept some state (" + failed + ")");
    }
}

void ArmVm::pause() {
    for (auto& v : vcpus_) v->pause();
    if (!vcpus_.empty() && !cfg_.no_adjvtime) {
        uint64_t cnt = 0;
        vcpus_[0]->run_on([&](Vcpu& v) {
            if (get_reg(v.fd(), KVM_REG_ARM_TIMER_CNT, cnt) == 0) saved_cnt_ = cnt;
        });
    }
}

void ArmVm::resume() {
    if (saved_cnt_ && !vcpus_.empty()) {
        // The counter goes on from where it stood (KVM applies the offset
        // to every vCPU of the VM).
        uint64_t cnt = *saved_cnt_;
        vcpus_[0]->run_on([&](Vcpu& v) { (void)set_reg(v.fd(), KVM_REG_ARM_TIMER_CNT, cnt); });
        saved_cnt_.reset();
    }
    for (auto& v : vcpus_) v->resume();
}

void ArmVm::set_spi(unsigned intid, bool level) {
    kvm_irq_level l{};
    l.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | intid;
    l.level = level ? 1 : 0;
    if (kvm_ioctl(vm_->fd(), KVM_IRQ_LINE, reinterpret_cast<unsigned long>(&l), "KVM_IRQ_LINE") < 0) {
        // Reported, and the device goes on (INCIDENTS.md #3: never abort()).
        std::lock_guard<std::mutex> g(irq_m_);
        if (irq_errors_++ == 0)
            report_warning("KVM_IRQ_LINE (interrupt " + std::to_string(intid) + "): " + std::strerror(errno) +
                           "; the device's interrupt is lost");
    }
}

void ArmVm::signal_msi(uint64_t addr, uint32_t data, uint32_t devid) {
    kvm_msi m{};
    m.address_lo = static_cast<uint32_t>(addr);
    m.address_hi = static_cast<uint32_t>(addr >> 32);
    m.data = data;
    m.flags = KVM_MSI_VALID_DEVID;
    m.devid = devid;
    if (kvm_ioctl(vm_->fd(), KVM_SIGNAL_MSI, reinterpret_cast<unsigned long>(&m), "KVM_SIGNAL_MSI") < 0) {
        std::lock_guard<std::mutex> g(irq_m_);
        if (irq_errors_++ == 0)
            report_warning("KVM_SIGNAL_MSI (device " + std::to_string(devid) + "): " + std::strerror(errno) +
                           "; further failures are not reported");
    }
}


// ---- The debugger's half

namespace {

uint64_t core_id(size_t offset, uint64_t size) { return KVM_REG_ARM64 | size | KVM_REG_ARM_CORE | (offset / sizeof(uint32_t)); }
uint64_t core64(size_t offset) { return core_id(offset, KVM_REG_SIZE_U64); }

// The EL1 system registers the debugger's view needs, and where they go.
struct SysRegSlot {
    uint64_t id;
    uint64_t CpuState::*field;
};
const SysRegSlot kDebugSysRegs[] = {
    {ARM64_SYS_REG(3, 0, 1, 0, 0), &CpuState::sctlr_el1},    {ARM64_SYS_REG(3, 0, 2, 0, 0), &CpuState::ttbr0_el1},
    {ARM64_SYS_REG(3, 0, 2, 0, 1), &CpuState::ttbr1_el1},    {ARM64_SYS_REG(3, 0, 2, 0, 2), &CpuState::tcr_el1},
    {ARM64_SYS_REG(3, 0, 10, 2, 0), &CpuState::mair_el1},    {ARM64_SYS_REG(3, 0, 12, 0, 0), &CpuState::vbar_el1},
    {ARM64_SYS_REG(3, 0, 5, 2, 0), &CpuState::esr_el1},      {ARM64_SYS_REG(3, 0, 6, 0, 0), &CpuState::far_el1},
    {ARM64_SYS_REG(3, 0, 13, 0, 4), &CpuState::tpidr_el1},   {ARM64_SYS_REG(3, 3, 13, 0, 2), &CpuState::tpidr_el0},
    {ARM64_SYS_REG(3, 0, 13, 0, 1), &CpuState::contextidr_el1}, {ARM64_SYS_REG(3, 0, 1, 0, 2), &CpuState::cpacr_el1},
    {ARM64_SYS_REG(3, 0, 0, 0, 5), &CpuState::mpidr_el1},    {ARM64_SYS_REG(3, 0, 7, 4, 0), &CpuState::par_el1},
};

// PSTATE in SPSR form to CpuState's fields, and back.
void unpack_pstate(CpuState& s, uint64_t p) {
    s.nzcv = static_cast<uint32_t>(p) & 0xf0000000u;
    s.daif = static_cast<uint32_t>(p) & 0x3c0;
    s.el = (p >> 2) & 3;
    s.spsel = p & 1;
    s.pan = (p >> 22) & 1;
    s.ss = (p >> 21) & 1;
    s.dit = (p >> 24) & 1;
    s.ssbs = (p >> 12) & 1;
    s.uao = (p >> 23) & 1;
}
uint64_t pack_pstate(const CpuState& s, uint64_t old) {
    uint64_t keep = old & ~(0xf0000000ull | 0x3c0 | 0xf | (3ull << 23) | (1ull << 22) | (1ull << 21) | (1ull << 12));
    return keep | s.nzcv | s.daif | (static_cast<uint64_t>(s.el) << 2) | (s.spsel ? 1 : 0) | (s.dit ? 1ull << 24 : 0) |
           (s.uao ? 1ull << 23 : 0) | (s.pan ? 1ull << 22 : 0) | (s.ss ? 1ull << 21 : 0) | (s.ssbs ? 1ull << 12 : 0);
}

}  // namespace

Status ArmVm::get_regs(Vcpu& v, CpuState& s) {
    int fd = v.fd();
    auto get = [&](uint64_t id, uint64_t& out) { return get_reg(fd, id, out) == 0; };
    bool ok = true;
    for (unsigned i = 0; i < 31; ++i) ok &= get(core64(offsetof(kvm_regs, regs.regs) + 8 * i), s.x[i]);
    uint64_t pstate = 0;
    ok &= get(core64(offsetof(kvm_regs, regs.sp)), s.sp_el0) && get(core64(offsetof(kvm_regs, regs.pc)), s.pc) &&
          get(core64(offsetof(kvm_regs, regs.pstate)), pstate) && get(core64(offsetof(kvm_regs, sp_el1)), s.sp_el1) &&
          get(core64(offsetof(kvm_regs, elr_el1)), s.elr_el1) &&
          get(core64(offsetof(kvm_regs, spsr) + 8 * KVM_SPSR_EL1), s.spsr_el1);
    unpack_pstate(s, pstate);
    for (unsigned i = 0; i < 32 && ok; ++i) {
        kvm_one_reg r{core_id(offsetof(kvm_regs, fp_regs.vregs) + 16 * i, KVM_REG_SIZE_U128),
                      reinterpret_cast<uint64_t>(s.v[i])};
        ok &= kvm_ioctl(fd, KVM_GET_ONE_REG, reinterpret_cast<unsigned long>(&r), "KVM_GET_ONE_REG") == 0;
    }
    for (uint32_t CpuState::*f : {&CpuState::fpsr, &CpuState::fpcr}) {
        size_t off = f == &CpuState::fpsr ? offsetof(kvm_regs, fp_regs.fpsr) : offsetof(kvm_regs, fp_regs.fpcr);
        kvm_one_reg r{core_id(off, KVM_REG_SIZE_U32), reinterpret_cast<uint64_t>(&(s.*f))};
        ok &= kvm_ioctl(fd, KVM_GET_ONE_REG, reinterpret_cast<unsigned long>(&r), "KVM_GET_ONE_REG") == 0;
    }
    for (const auto& r : kDebugSysRegs) (void)get(r.id, s.*r.field);  // (one the host lacks stays as it was)
    if (!ok) return make_error(why("KVM_GET_ONE_REG"));
    return ok_status();
}

Status ArmVm::set_regs(Vcpu& v, const CpuState& s, const CpuState& before) {
    int fd = v.fd();
    bool ok = true;
    auto put = [&](uint64_t id, uint64_t now, uint64_t was) {
        if (now != was) ok &= set_reg(fd, id, now) == 0;
    };
    for (unsigned i = 0; i < 31; ++i) put(core64(offsetof(kvm_regs, regs.regs) + 8 * i), s.x[i], before.x[i]);
    put(core64(offsetof(kvm_regs, regs.sp)), s.sp_el0, before.sp_el0);
    put(core64(offsetof(kvm_regs, regs.pc)), s.pc, before.pc);
    put(core64(offsetof(kvm_regs, sp_el1)), s.sp_el1, before.sp_el1);
    put(core64(offsetof(kvm_regs, elr_el1)), s.elr_el1, before.elr_el1);
    put(core64(offsetof(kvm_regs, spsr) + 8 * KVM_SPSR_EL1), s.spsr_el1, before.spsr_el1);
    uint64_t pstate = 0;
    if (pack_pstate(s, 0) != pack_pstate(before, 0) && get_reg(fd, core64(offsetof(kvm_regs, regs.pstate)), pstate) == 0)
        ok &= set_reg(fd, core64(offsetof(kvm_regs, regs.pstate)), pack_pstate(s, pstate)) == 0;
    for (unsigned i = 0; i < 32; ++i) {
        if (std::memcmp(s.v[i], before.v[i], 16) == 0) continue;
        kvm_one_reg r{core_id(offsetof(kvm_regs, fp_regs.vregs) + 16 * i, KVM_REG_SIZE_U128),
                      reinterpret_cast<uint64_t>(s.v[i])};
        ok &= kvm_ioctl(fd, KVM_SET_ONE_REG, reinterpret_cast<unsigned long>(&r), "KVM_SET_ONE_REG") == 0;
    }
    for (uint32_t CpuState::*f : {&CpuState::fpsr, &CpuState::fpcr}) {
        if (s.*f == before.*f) continue;
        size_t off = f == &CpuState::fpsr ? offsetof(kvm_regs, fp_regs.fpsr) : offsetof(kvm_regs, fp_regs.fpcr);
        kvm_one_reg r{core_id(off, KVM_REG_SIZE_U32), reinterpret_cast<uint64_t>(&(s.*f))};
        ok &= kvm_ioctl(fd, KVM_SET_ONE_REG, reinterpret_cast<unsigned long>(&r), "KVM_SET_ONE_REG") == 0;
    }
    for (const auto& r : kDebugSysRegs) put(r.id, s.*r.field, before.*r.field);
    if (!ok) return make_error(why("KVM_SET_ONE_REG"));
    return ok_status();
}

namespace {

// An MRS key (bits [20:5] of the instruction: op0 at 15-14, op1 at 11,
// CRn at 7, CRm at 3, op2; cpu-arm64's sysreg_key) and KVM's system
// register id.
uint64_t kvm_sysreg_id(uint32_t key) {
    unsigned op0 = ((key >> 15) & 1) * 2 + ((key >> 14) & 1), op1 = (key >> 11) & 7, crn = (key >> 7) & 0xf, crm = (key >> 3) & 0xf,
             op2 = key & 7;
    return ARM64_SYS_REG(op0, op1, crn, crm, op2);
}

}  // namespace

Result<std::vector<uint32_t>> ArmVm::sysreg_keys(Vcpu& v) {
    kvm_reg_list probe{};
    (void)kvm_ioctl(v.fd(), KVM_GET_REG_LIST, reinterpret_cast<unsigned long>(&probe), "KVM_GET_REG_LIST");  // (E2BIG: n set)
    std::vector<uint64_t> buf(1 + probe.n);
    auto* list = reinterpret_cast<kvm_reg_list*>(buf.data());
    list->n = probe.n;
    if (kvm_ioctl(v.fd(), KVM_GET_REG_LIST, reinterpret_cast<unsigned long>(list), "KVM_GET_REG_LIST") < 0)
        return make_error(why("KVM_GET_REG_LIST"));
    std::vector<uint32_t> keys;
    for (uint64_t i = 0; i < list->n; ++i) {
        uint64_t id = list->reg[i];
        if ((id & KVM_REG_ARM_COPROC_MASK) != KVM_REG_ARM64_SYSREG || (id & KVM_REG_SIZE_MASK) != KVM_REG_SIZE_U64)
            continue;
        unsigned op0 = (id & KVM_REG_ARM64_SYSREG_OP0_MASK) >> KVM_REG_ARM64_SYSREG_OP0_SHIFT;
        unsigned op1 = (id & KVM_REG_ARM64_SYSREG_OP1_MASK) >> KVM_REG_ARM64_SYSREG_OP1_SHIFT;
        unsigned crn = (id & KVM_REG_ARM64_SYSREG_CRN_MASK) >> KVM_REG_ARM64_SYSREG_CRN_SHIFT;
        unsigned crm = (id & KVM_REG_ARM64_SYSREG_CRM_MASK) >> KVM_REG_ARM64_SYSREG_CRM_SHIFT;
        unsigned op2 = (id & KVM_REG_ARM64_SYSREG_OP2_MASK) >> KVM_REG_ARM64_SYSREG_OP2_SHIFT;
        if (op0 < 2) continue;
        keys.push_back(((op0 >> 1) << 15) | ((op0 & 1) << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2);
    }
    return keys;
}

bool ArmVm::get_sysreg(Vcpu& v, uint32_t key, uint64_t& value) { return get_reg(v.fd(), kvm_sysreg_id(key), value) == 0; }

Status ArmVm::set_guest_debug(Vcpu& v, const std::vector<uint64_t>& bps, const std::vector<HwWatch>& wps, bool step) {
    if (bps.size() > hw_bps_ || wps.size() > hw_wps_)
        return make_error("more breakpoints or watchpoints than the host's KVM offers");
    kvm_guest_debug d{};
    if (!bps.empty() || !wps.empty() || step) d.control = KVM_GUESTDBG_ENABLE;
    if (!bps.empty() || !wps.empty()) d.control |= KVM_GUESTDBG_USE_HW;
    if (step) d.control |= KVM_GUESTDBG_SINGLESTEP;
    for (size_t i = 0; i < bps.size(); ++i) {
        // An unlinked address match at EL1 and EL0 on the 4-byte
        // instruction (BAS 0b1111, PMC 0b11, E).
        d.arch.dbg_bvr[i] = bps[i] & ~3ull;
        d.arch.dbg_bcr[i] = (0xfull << 5) | (3ull << 1) | 1;
    }
    for (size_t i = 0; i < wps.size(); ++i) {
        const HwWatch& w = wps[i];
        if (!watch_encodable(w.addr, w.len)) return make_error("a watchpoint the hardware cannot describe");
        uint64_t lsc = (w.read ? 1 : 0) | (w.write ? 2 : 0);
        uint64_t wcr = (lsc << 3) | (3ull << 1) | 1;  // LSC, PAC 0b11 (EL1 and EL0), E
        if ((w.addr & 7) + w.len <= 8) {  // byte address select within a doubleword
            d.arch.dbg_wvr[i] = w.addr & ~7ull;
            wcr |= ((1ull << w.len) - 1) << (5 + (w.addr & 7));
        } else {  // an aligned power of two: MASK
            d.arch.dbg_wvr[i] = w.addr;
            wcr |= (0xffull << 5) | (static_cast<uint64_t>(__builtin_ctzll(w.len)) << 24);
        }
        d.arch.dbg_wcr[i] = wcr;
    }
    if (kvm_ioctl(v.fd(), KVM_SET_GUEST_DEBUG, reinterpret_cast<unsigned long>(&d), "KVM_SET_GUEST_DEBUG") < 0)
        return make_error(why("KVM_SET_GUEST_DEBUG"));
    return ok_status();
}

#endif

}  // namespace armvm::kvm
