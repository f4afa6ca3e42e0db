#include "machine/virt/board.hpp"
#include "machine/virt/cpus.hpp"
#include "machine/virt/psci.hpp"

#include "base/log.hpp"
#include "base/report.hpp"

#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <system_error>

#include "hw/block/pflash.hpp"
#include "hw/char/chardev.hpp"
#include "hw/misc/fw_cfg.hpp"
#include "hw/misc/rom.hpp"
#include "hw/pci/option_rom.hpp"
#include "hw/smbios/smbios.hpp"
#include "hw/usb/usb_hid.hpp"
#include "hw/usb/usb_storage.hpp"
#include "hw/usb/xhci.hpp"
#include "hw/virtio/virtio_balloon.hpp"
#include "hw/virtio/virtio_blk.hpp"
#include "hw/virtio/virtio_net.hpp"
#include "hw/virtio/virtio_pci.hpp"
#include "hw/virtio/virtio_serial.hpp"
#include "machine/devices.hpp"
#include "machine/ram.hpp"
#include "cpu-arm64/models.hpp"
#include "machine/virt/acpi.hpp"
#include "machine/virt/memmap.hpp"
#include "machine/virt/names.hpp"

namespace armvm::virt {


// KVM's read-only slots of the ROM devices, mapped and unmapped as the
// devices enter and leave ROM mode.
void KvmMemoryListener::romd_changed(uint64_t base, uint64_t size, uint8_t* host, bool on) {
    auto it = slots.find(base);
    if (it == slots.end()) return;
    if (auto st = vm_.set_rom_slot(it->second, base, size, host, on); !st)
        report_warning(st.error().msg);  // (the guest then reads MMIO or the old bytes: not fatal)
}

void KvmMemoryListener::eventfd_changed(uint64_t addr, int fd, std::optional<DoorbellMatch> match, bool added) {
    // (refused, the write exits to armvm, whose bus signals the same fd)
    auto value = match ? std::optional(match->value) : std::nullopt;
    if (auto st = vm_.set_ioeventfd(addr, fd, value, match ? match->size : 0, added); !st && added && !ioeventfd_warned_) {
        ioeventfd_warned_ = true;
        report_warning(st.error().msg + ": virtio notifications leave the guest");
    }
}

namespace {



// The in-kernel GIC as a device of the reset (its registers are KVM's).
class KvmGic : public MmioDevice {
public:
    explicit KvmGic(kvm::ArmVm& vm) : vm_(vm) {}
    uint64_t read(uint64_t, unsigned) override { return 0; }
    void write(uint64_t, unsigned, uint64_t) override {}
    void reset_hold() override { vm_.reset_gic(); }

private:
    kvm::ArmVm& vm_;
};

}  // namespace

Result<std::unique_ptr<Board>> Board::create(const MachineConfig& cfg, unsigned gic_version, GuestRam& ram,
                                             EventLoop& loop, Chardev* serial, std::vector<uint8_t> fdt,
                                             Hooks hooks, std::unique_ptr<kvm::ArmVm> kvm) {
    std::mutex& bql = loop.lock();
    std::unique_ptr<Board> b(new Board(bql));
    b->bql_ = &bql;
    b->cfg_ = &cfg;
    b->fdt_ = std::move(fdt);
    b->hooks_ = std::move(hooks);
    b->as_.add_ram(base(Region::Ram), ram.host(), ram.size(), "mach-virt.ram");
    unsigned n = cfg.smp.cpus;
    Board* self = b.get();
    b->kvm_ = std::move(kvm);
    if (b->kvm_) {
        ARMVM_TRY(b->kvm_->add_ram(base(Region::Ram), ram.size(), ram.host()));
        b->kvm_mem_ = std::make_unique<KvmMemoryListener>(*b->kvm_);
        b->as_.add_listener(b->kvm_mem_.get());
    }
    // Doorbells under KVM, as QEMU has them (its TCG takes virtio kicks on
    // the vCPU: with no ioeventfds, a kick's effects are seen when the
    // guest's write returns, which armvm's TCG keeps too).
    if (b->kvm_) b->ioevents_ = std::make_unique<IoEventHub>(loop, b->as_);
    IrqLine uart_irq = IrqLine([self](bool level) { self->set_spi(32 + kSpiUart, level); });
    if (!b->kvm_) {  // (with KVM the GIC is the kernel's)
        // The GIC drives each CPU's IRQ input and wakes it from WFI.
        b->gic_ = std::make_unique<Gic>(
            n,
            [self](unsigned cpu, bool level) {
                if (!self->tcg_ || cpu >= self->tcg_->vcpus.size()) return;  // (the GIC's own reset: no CPUs yet)
                self->tcg_->vcpus[cpu]->cpu().irq_line.store(level);
                if (level) self->tcg_->vcpus[cpu]->wake();
            },
            gic_version);
        // (GICv2's distributor is 4 KiB and its CPU interface 8 KiB of
        // their 64 KiB slots: the rest is unassigned, as on QEMU)
        // (the regions' names are QEMU's: HMP's info mtree shows them)
        b->as_.add_mmio(base(Region::GicDist), gic_version == 3 ? size(Region::GicDist) : 0x1000,
                        &b->gic_->distributor(), gic_version == 3 ? "gicv3_dist" : "gic_dist");
        if (gic_version == 3)  // (two 64 KiB frames per CPU, as QEMU's region)
            b->as_.add_mmio(base(Region::GicRedist), std::min<uint64_t>(size(Region::GicRedist), 0x20000ull * n),
                            &b->gic_->redistributors(), "gicv3_redist_region[0]");
        else
            b->as_.add_mmio(base(Region::GicCpu), 0x2000, &b->gic_->cpu_interface(), "gic_cpu");
        AddressSpace* as = &b->as_;
        Gic::GuestMem mem = [as](uint64_t pa, uint64_t len) { return as->ram_ptr(pa, len); };
        // (GICv3's redistributors support LPIs with or without an ITS, as QEMU's)
        if (gic_version == 3) b->gic_->enable_lpis(mem);
        if (gic_version == 3 && cfg.its) {
            // The ITS (QEMU's its=on, the default): MSIs become LPIs.
            b->its_ = std::make_unique<GicIts>(*b->gic_, mem);
            b->as_.add_mmio(base(Region::GicIts), 0x10000, b->its_.get(), "control");
            b->as_.add_mmio(base(Region::GicIts) + 0x10000, 0x10000, b->its_.get(), "translation",
                            {.dev_offset = 0x10000});
        }
    }
    b->uart_ = std::make_unique<Pl011>(serial, std::move(uart_irq));
    b->as_.add_mmio(base(Region::Uart), size(Region::Uart), b->uart_.get(), "pl011");
    b->uart_->start();
    b->rtc_ = std::make_unique<Pl031>(loop, IrqLine([self](bool level) { self->set_spi(32 + kSpiRtc, level); }));
    b->as_.add_mmio(base(Region::Rtc), size(Region::Rtc), b->rtc_.get(), "pl031");
    for (unsigned slot = 0; slot < kMmioSlots; ++slot) {
        b->virtio_.push_back(std::make_unique<VirtioMmio>(
            b->as_, IrqLine([self, slot](bool level) { self->set_spi(32 + kSpiMmio + slot, level); }),
            cfg.virtio_mmio_force_legacy));
        b->as_.add_mmio(base(Region::Mmio) + slot * kMmioSlotSize, kMmioSlotSize, b->virtio_.back().get(),
                        "virtio-mmio");
        b->virtio_.back()->use_ioevents(b->ioevents_.get(), base(Region::Mmio) + slot * kMmioSlotSize);
    }
    if (cfg.acpi_enabled() && cfg.firmware_loaded()) {
        // As QEMU's virt: firmware with ACPI gets the power button on the
        // Generic Event Device, and no PL061.
        b->ged_ = std::make_unique<AcpiGed>(IrqLine([self](bool level) { self->set_spi(32 + kSpiGed, level); }));
        b->as_.add_mmio(base(Region::AcpiGed), size(Region::AcpiGed), b->ged_.get(), "acpi-ged");
    } else {
        b->gpio_ = std::make_unique<Pl061>(IrqLine([self](bool level) { self->set_spi(32 + kSpiGpio, level); }));
        b->as_.add_mmio(base(Region::Gpio), size(Region::Gpio), b->gpio_.get(), "pl061");
    }
    b->loop_ = &loop;
    if (cfg.bios) {
        // -bios: the firmware in the first flash bank (64 MiB); the CPU
        // starts there, as on hardware.
        auto fw = read_boot_file(*cfg.bios, false);
        if (!fw || fw->size() > size(Region::Flash) / 2)
            return make_error("Could not load ROM image '" + *cfg.bios + "'");
        auto rom = Rom::create(fw.value(), PFlash::kBankSize);
        if (!rom) return rom.error();
        b->bios_ = std::move(rom.value());  // (mapped with the flash banks)
        b->bios_bytes_ = fw->size();
    }
    b->create_pcie(gic_version);
    ARMVM_TRY(b->create_fw_cfg(cfg));
    ARMVM_TRY(b->create_virtio_devices(cfg, loop));
    b->add_acpi_tables(cfg, gic_version);
    b->update_bootorder();

    b->cluster_.set_ram(ram.size());
    if (!b->kvm_) {
        b->as_.attach_code(&b->cluster_);
        auto tcg = std::make_unique<TcgCpus>(n, b->cluster_);
        b->tcg_ = tcg.get();
        b->cpus_ = std::move(tcg);
    }
    if (b->kvm_) n = 0;  // (the vCPUs are KVM's: made below)
    // -accel tcg,thread=single: every vCPU on one round-robin thread.
    std::shared_ptr<Lane> shared;
    if (cfg.tcg_thread == "single") {
        shared = std::make_shared<Lane>();
        shared->name = "ALL CPUs/TCG";
    }
    for (unsigned i = 0; i < n; ++i) {
        std::string name = "CPU " + std::to_string(i) + "/TCG";
        auto& vcpus = b->tcg_->vcpus;
        vcpus.push_back(std::make_unique<Vcpu>(i, b->as_, bql, name, shared));
        vcpus.back()->cpu().set_ram_window(base(Region::Ram), ram.host(), ram.size());
        Cpu& cpu = vcpus.back()->cpu();
        cpu.join(b->cluster_);
        cpu.index = static_cast<int>(i);
        cpu.ids = id_regs_for(cfg.cpu.model, cfg.cpu.pmu.value_or(true));
        if (cfg.cpu.model == "max") {
            set_pauth(cpu.ids, cfg.cpu.pauth.value_or(true), cfg.cpu.pauth_impdef.value_or(false));
            if (!cfg.cpu.lpa2.value_or(true)) set_lpa2(cpu.ids, false);
        }
        if (gic_version == 3) {
            cpu.ids.id_aa64pfr0 |= 1ull << 24;  // GIC: the GICv3 CPU interface system registers
            cpu.sysreg_hook = [self, i](Cpu&, uint32_t key, bool write, uint64_t& value) {
                std::lock_guard<std::mutex> g(*self->bql_);
                return self->gic_->icc_access(i, key, write, value);
            };
        }
        cpu.hvc_hook = [self, i](Cpu& c) { return self->psci_call(c, i); };
        if (cfg.semihosting.enabled) {
            if (!b->semihost_) {
                Semihosting::Config sc;
                if (!cfg.semihosting.args.empty()) {
                    for (const auto& a : cfg.semihosting.args) sc.cmdline += (sc.cmdline.empty() ? "" : " ") + a;
                } else if (cfg.kernel) {
                    sc.cmdline = *cfg.kernel + (cfg.append ? " " + *cfg.append : "");
                }
                sc.userspace = cfg.semihosting.userspace;
                if (!cfg.semihosting.chardev.empty()) {
                    Chardev* ch = b->hooks_.find_chardev ? b->hooks_.find_chardev(cfg.semihosting.chardev) : nullptr;
                    if (!ch)
                        return make_error("-semihosting-config " + cfg.semihosting.origin + ": semihosting chardev '" +
                                          cfg.semihosting.chardev + "' not found");
                    if (!ch->frontend_attached()) ch->attach({});  // (output only)
                    sc.console = [self, ch](const std::string& text) {
                        std::lock_guard<std::mutex> g(*self->bql_);
                        ch->write(text);
                    };
                }
                sc.exit = [self](int status) {
                    self->semihost_exited_ = true;
                    if (self->hooks_.semihost_exit) self->hooks_.semihost_exit(status);
                };
                b->semihost_ = std::make_unique<Semihosting>(std::move(sc));
            }
            cpu.semihost_hook = [self, i](Cpu& c) {
                bool claimed = self->semihost_->call(c);
                if (claimed && self->semihost_exited_.load()) self->tcg_->vcpus[i]->self_pause();  // (SYS_EXIT: no more guest code)
                return claimed;
            };
        }
        vcpus.back()->debug_hook = [self](unsigned cpu) {
            if (self->hooks_.debug_stop) self->hooks_.debug_stop(cpu);
        };
        // Timer outputs to their PPIs (INTID = 16 + PPI number).
        vcpus.back()->timer_hook = [self](unsigned cpu, uint32_t levels) {
            std::lock_guard<std::mutex> g(*self->bql_);
            if (!self->gic_) return;
            self->gic_->set_ppi(cpu, 16 + kPpiPhysTimer, levels & 1);
            self->gic_->set_ppi(cpu, 16 + kPpiVirtTimer, levels & 2);
            self->gic_->set_ppi(cpu, 16 + kPpiPmu, levels & 4);
        };
    }
    // The devices, in reset order: the interrupt controller first.
    if (b->gic_) b->devices_.push_back({"gic", &b->gic_->distributor()});
    if (b->its_) b->devices_.push_back({"gic-its", b->its_.get()});
    if (b->kvm_) {
        b->kvm_gic_ = std::make_unique<KvmGic>(*b->kvm_);
        b->devices_.push_back({"gic", b->kvm_gic_.get()});
    }
    b->devices_.push_back({"pl011", b->uart_.get()});
    b->devices_.push_back({"pl031", b->rtc_.get()});
    if (b->gpio_) b->devices_.push_back({"pl061", b->gpio_.get()});
    if (b->ged_) b->devices_.push_back({"acpi-ged", b->ged_.get()});
    b->devices_.push_back({"fw_cfg", b->fw_cfg_.get()});
    if (b->tpm_) b->devices_.push_back({"tpm-tis-device", b->tpm_.get()});
    if (b->flash_[0]) b->devices_.push_back({"virt.flash0", b->flash_[0].get()});
    if (b->flash_[1]) b->devices_.push_back({"virt.flash1", b->flash_[1].get()});
    for (unsigned slot = 0; slot < kMmioSlots; ++slot) {
        char name[32];
        std::snprintf(name, sizeof name, "virtio-mmio@%llx",
                      static_cast<unsigned long long>(base(Region::Mmio) + slot * kMmioSlotSize));
        b->devices_.push_back({name, b->virtio_[slot].get()});
    }
    b->devices_.push_back({"pcie", b->pci_reset_.get()});
    b->device_resets_.assign(b->devices_.size(), 0);
    // The boot images stay open: every reset reloads them from these fds.
    if (cfg.kernel && !cfg.firmware_loaded()) b->kernel_fd_ = ::open(cfg.kernel->c_str(), O_RDONLY | O_CLOEXEC);
    if (cfg.initrd && !cfg.firmware_loaded()) b->initrd_fd_ = ::open(cfg.initrd->c_str(), O_RDONLY | O_CLOEXEC);
    b->cpu_resets_.assign(cfg.smp.cpus, 0);
    if (b->kvm_) {
        kvm::ArmVm::Hooks kh;
        kh.system_off = b->hooks_.system_off;
        kh.system_reset = b->hooks_.system_reset;
        kh.failed = b->hooks_.vcpu_failed;
        // (the debugger's stand-in CPUs walk page tables as the model's)
        b->cpus_ = std::make_unique<KvmCpus>(
            *b->kvm_, b->as_, id_regs_for(cfg.cpu.model == "host" ? "max" : cfg.cpu.model, false), base(Region::Ram),
            ram.host(), ram.size(), cfg.smp.cpus, kh, [self](unsigned cpu) {
                if (self->hooks_.debug_stop) self->hooks_.debug_stop(cpu);
            });
        ARMVM_TRY(b->kvm_->start_vcpus(b->as_, bql, std::move(kh)));
    }
    ARMVM_TRY(b->reset());  // the cold boot's one reset
    try {
        if (b->tcg_)
            for (auto& v : b->tcg_->vcpus) v->start();
    } catch (const std::system_error& e) {  // (no thread: an error, never std::terminate)
        return make_error(std::string("cannot create a vCPU thread: ") + e.what());
    }
    return b;
}

namespace {
// The PCI host as one device of the three-phase reset.
class PciReset : public MmioDevice {
public:
    explicit PciReset(PciHost& h) : h_(h) {}
    uint64_t read(uint64_t, unsigned) override { return 0; }
    void write(uint64_t, unsigned, uint64_t) override {}
    void reset_enter() override { h_.reset(); }

private:
    PciHost& h_;
};
}  // namespace

// The PCIe host bridge and its windows as QEMU's virt has them (the high
// ECAM and the 64-bit window with highmem), and the GICv2m frame for MSIs
// on a GICv2 (a GICv3 gets MSIs from its ITS).
void Board::create_pcie(unsigned gic_version) {
    Board* self = this;
    std::array<IrqLine, 4> intx;
    for (unsigned i = 0; i < 4; ++i)
        intx[i] = IrqLine([self, i](bool level) { self->set_spi(32 + kSpiPcie + i, level); });
    pci_ = std::make_unique<PciHost>(std::move(intx), [self](uint64_t a, uint32_t d, uint16_t rid) { self->msi(a, d, rid); });
    bool high = cfg_->highmem;
    Region ecam = high ? Region::PcieEcamHigh : Region::PcieEcam;
    as_.add_mmio(base(ecam), size(ecam), &pci_->ecam(), "pcie-mmcfg-mmio");
    pci_->add_mmio_window(as_, base(Region::PcieMmio), size(Region::PcieMmio), "gpex_mmio_window");
    pci_->add_pio_window(as_, base(Region::PciePio), size(Region::PciePio), "gpex_ioport_window");
    if (high) pci_->add_mmio_window(as_, base(Region::PcieMmioHigh), size(Region::PcieMmioHigh), "gpex_mmio_window");
    pci_reset_ = std::make_unique<PciReset>(*pci_);
    if (gic_version == 2) {  // (under KVM too: its SPIs go to the in-kernel GIC)
        v2m_ = std::make_unique<GicV2m>(32 + kSpiV2mFirst, kSpiV2mCount, [self](unsigned intid) {
            self->set_spi(intid, true);
            self->set_spi(intid, false);
        });
        as_.add_mmio(base(Region::GicV2m), size(Region::GicV2m), v2m_.get(), "gicv2m");
    }
}

// A message signalled interrupt: a write into the system's address space
// (the GICv2m frame's SETSPI register), or to the ITS's translater, which
// takes the requester ID as the DeviceID (the device tree's msi-map is the
// identity). Called with the BQL held.
void Board::msi(uint64_t addr, uint32_t data, uint16_t requester_id) {
    if (addr == base(Region::GicIts) + GicIts::kTranslater && kvm_ && kvm_->has_its()) {
        kvm_->signal_msi(addr, data, requester_id);  // (the kernel's ITS)
        return;
    }
    as_.write_locked(addr, 4, data, MemAttrs{-1, requester_id});
}

Result<std::pair<PciBus*, uint8_t>> Board::pci_place(const std::string& driver, const std::string& bus_name,
                                                     const std::string& addr, bool multifunction) {
    PciBus* bus = &pci_->root_bus();
    if (!bus_name.empty()) {
        bus = nullptr;
        for (PciBus* b : pci_->buses())  // (the first by that name, as QEMU's depth-first search: the root bus first)
            if (b->name() == bus_name) {
                bus = b;
                break;
            }
        if (!bus) return make_error("Bus '" + bus_name + "' not found");
    }
    int devfn = -1;
    if (!addr.empty()) {
        // "SLOT" or "SLOT.FN", hexadecimal.
        unsigned slot = 0, fn = 0;
        char tail = 0;
        int n = std::sscanf(addr.c_str(), "%x.%x%c", &slot, &fn, &tail);
        if (n < 1 || n > 2 || slot > 31 || fn > 7 || addr.find_first_not_of("0123456789abcdefABCDEFx.") != std::string::npos)
            return make_error("Property '" + driver + ".addr' doesn't take value '" + addr + "'");
        devfn = static_cast<int>(slot << 3 | fn);
        // (QEMU 7.2 accepts any slot behind a PCIe port too; a guest scans
        // only slot 0 there.)
        if (PciDevice* used = bus->device(static_cast<uint8_t>(devfn))) {
            char b[160];
            std::snprintf(b, sizeof b, "PCI: slot %u function %u not available for %s, in use by %s,id=%s", slot, fn,
                          driver.c_str(), used->type_name().c_str(),
                          used->qdev_id.empty() ? "(null)" : used->qdev_id.c_str());
            return make_error(b);
        }
    } else {
        devfn = bus->free_devfn();
        if (devfn < 0) return make_error("PCI: no slot/function available for " + driver + ", all in use or reserved");
    }
    (void)multifunction;
    return std::make_pair(bus, static_cast<uint8_t>(devfn));
}

// fw_cfg: QEMU's items for the virt board and the -fw_cfg files.
Status Board::create_fw_cfg(const MachineConfig& cfg) {
    fw_cfg_ = std::make_unique<FwCfg>(as_);
    // Its data, selector and DMA registers, as QEMU's three regions (the
    // bytes between them are unassigned).
    as_.add_mmio(base(Region::FwCfg), 8, fw_cfg_.get(), "fwcfg.data");
    as_.add_mmio(base(Region::FwCfg) + 8, 2, fw_cfg_.get(), "fwcfg.ctl", {.dev_offset = 8});
    as_.add_mmio(base(Region::FwCfg) + 0x10, 8, fw_cfg_.get(), "fwcfg.dma", {.dev_offset = 0x10});
    fw_cfg_->add_item(FwCfg::kSignature, {'Q', 'E', 'M', 'U'});
    fw_cfg_->add_u32(FwCfg::kId, 3);  // traditional interface and DMA
    std::vector<uint8_t> uuid(16, 0);
    if (cfg.uuid) {
        std::string hex;
        for (char ch : *cfg.uuid)
            if (ch != '-') hex += ch;
        for (size_t i = 0; i < 16 && 2 * i + 1 < hex.size(); ++i)
            uuid[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    }
    fw_cfg_->add_item(FwCfg::kUuid, uuid);
    fw_cfg_->add_u16(FwCfg::kNoGraphic, cfg.nographic ? 1 : 0);
    fw_cfg_->add_u16(FwCfg::kBootMenu, cfg.boot.menu ? 1 : 0);
    fw_cfg_->add_u16(FwCfg::kNbCpus, static_cast<uint16_t>(cfg.smp.cpus));
    fw_cfg_->add_u16(FwCfg::kMaxCpus, static_cast<uint16_t>(cfg.smp.maxcpus));
    // QEMU's files for firmware: etc/boot-fail-wait (-boot reboot-timeout,
    // -1: none), etc/boot-menu-wait (-boot menu=on,splash-time=), the boot
    // order (update_bootorder), an empty BIOS geometry and TPM log.
    uint32_t fail_wait = cfg.boot.reboot_timeout ? static_cast<uint32_t>(*cfg.boot.reboot_timeout) : 0xffffffffu;
    fw_cfg_->add_file("etc/boot-fail-wait", {static_cast<uint8_t>(fail_wait), static_cast<uint8_t>(fail_wait >> 8),
                                             static_cast<uint8_t>(fail_wait >> 16), static_cast<uint8_t>(fail_wait >> 24)});
    if (cfg.boot.menu && cfg.boot.splash_time)
        fw_cfg_->add_file("etc/boot-menu-wait", {static_cast<uint8_t>(*cfg.boot.splash_time),
                                                 static_cast<uint8_t>(*cfg.boot.splash_time >> 8)});
    fw_cfg_->add_file("bootorder", {});
    fw_cfg_->add_file("bios-geometry", {});
    fw_cfg_->add_file("etc/tpm/log", {});
    // SMBIOS, as QEMU's virt gives it (the firmware installs it).
    SmbiosParams sp;
    sp.version = cfg.machine_type;
    sp.sockets = cfg.smp.sockets;
    sp.cores_per_socket = cfg.smp.cores * cfg.smp.clusters * cfg.smp.dies;
    sp.threads_per_socket = sp.cores_per_socket * cfg.smp.threads;
    sp.ram_bytes = cfg.memory.size;
    if (cfg.uuid) {
        std::array<uint8_t, 16> u{};
        std::copy(uuid.begin(), uuid.end(), u.begin());
        sp.uuid = u;
    }
    SmbiosBlobs smbios = build_smbios(sp);
    fw_cfg_->add_file("etc/smbios/smbios-tables", std::move(smbios.tables));
    fw_cfg_->add_file("etc/smbios/smbios-anchor", std::move(smbios.anchor));
    if (cfg.firmware_loaded() && cfg.kernel) {
        // Firmware loads the kernel: QEMU hands it (decompressed), the
        // initrd and the command line over in fw_cfg, not in RAM.
        auto k = read_boot_file(*cfg.kernel, true);
        if (!k) return make_error("failed to load \"" + *cfg.kernel + "\"");
        std::vector<uint8_t> initrd;
        if (cfg.initrd) {
            auto i = read_boot_file(*cfg.initrd, false);
            if (!i) return make_error("failed to load \"" + *cfg.initrd + "\"");
            initrd = std::move(i.value());
        }
        if (k->size() > UINT32_MAX || initrd.size() > UINT32_MAX) return make_error("-kernel: image larger than 4 GiB");
        fw_cfg_->add_u32(FwCfg::kKernelSize, static_cast<uint32_t>(k->size()));
        fw_cfg_->add_item(FwCfg::kKernelData, std::move(k.value()));
        fw_cfg_->add_u32(FwCfg::kInitrdSize, static_cast<uint32_t>(initrd.size()));
        fw_cfg_->add_item(FwCfg::kInitrdData, std::move(initrd));
        std::string cmdline = cfg.append.value_or("");
        fw_cfg_->add_u32(FwCfg::kCmdlineSize, static_cast<uint32_t>(cmdline.size() + 1));
        fw_cfg_->add_item(FwCfg::kCmdlineData, std::vector<uint8_t>(cmdline.c_str(), cmdline.c_str() + cmdline.size() + 1));
    }
    for (const auto& f : cfg.fw_cfg_files) {
        std::vector<uint8_t> data;
        if (f.string) {
            data.assign(f.string->begin(), f.string->end());  // (no NUL, as QEMU)
        } else {
            auto d = read_boot_file(*f.file, false);
            if (!d)  // (glib's wording, as QEMU prints it)
                return make_error("-fw_cfg " + f.origin + ": can't load " + *f.file + ": Failed to open file \u201c" +
                                  *f.file + "\u201d: " + d.error().msg);
            data = std::move(d.value());
        }
        if (fw_cfg_->has_file(f.name)) return make_error("-fw_cfg " + f.origin + ": duplicate fw_cfg file name: " + f.name);
        fw_cfg_->add_file(f.name, std::move(data));
    }
    return ok_status();
}

// The ACPI tables (once the devices they describe are made): firmware
// reads these; with -kernel alone they are there unread, as on QEMU.
void Board::add_acpi_tables(const MachineConfig& cfg, unsigned gic_version) {
    if (cfg.acpi_enabled()) {
        const CpuModel* m = find_cpu_model(cfg.cpu.model);
        AcpiParams p;
        p.gic_version = gic_version;
        p.its = gic_version == 3 && cfg.its;
        p.pmu = cfg.cpu.pmu.value_or(m ? m->has_pmu : false);
        p.ged = ged_ != nullptr;
        p.tpm = tpm_ != nullptr;
        AcpiBlobs acpi = build_acpi(cfg, p);
        if (p.tpm) fw_cfg_->add_file("etc/tpm/log", std::move(acpi.tpm_log));
        fw_cfg_->add_file("etc/acpi/tables", std::move(acpi.tables));
        fw_cfg_->add_file("etc/acpi/rsdp", std::move(acpi.rsdp));
        fw_cfg_->add_file("etc/table-loader", std::move(acpi.loader));
    }
}

// The two flash banks (QEMU's "virt.flash0" and "virt.flash1"): bank 0
// holds -bios as ROM, or is the CFI flash of -drive if=pflash,unit=0;
// bank 1 the flash of unit 1. A bank no drive names is an empty flash,
// as QEMU's.
Status Board::create_flash(const MachineConfig& cfg) {
    BlockDev* drives[2] = {nullptr, nullptr};
    for (auto& d : block_->devs())
        if (d->pflash_unit() >= 0) drives[d->pflash_unit()] = d.get();
    for (unsigned bank = 0; bank < 2; ++bank) {
        if (!cfg.pflash_node[bank]) continue;
        if (drives[bank]) return make_error(drives[bank]->origin() + ": clashes with -machine");
        BlockDev* d = block_->find(*cfg.pflash_node[bank]);
        if (!d) return make_error("Property 'cfi.pflash01.drive' can't find value '" + *cfg.pflash_node[bank] + "'");
        if (d->attached)
            return make_error("Property 'cfi.pflash01.drive' can't take value '" + *cfg.pflash_node[bank] +
                              "', it's in use");
        drives[bank] = d;
    }
    if (cfg.bios && drives[0])
        return make_error("The contents of the first flash device may be specified with -bios or with -drive "
                          "if=pflash... but you cannot use both options at once");
    for (unsigned bank = 0; bank < 2; ++bank) {
        uint64_t at = base(Region::Flash) + bank * PFlash::kBankSize;
        const char* name = bank ? "virt.flash1" : "virt.flash0";
        if (bank == 0 && bios_) {
            as_.add_rom_device(at, PFlash::kBankSize, bios_.get(), bios_->host(), name);
            if (kvm_) ARMVM_TRY(kvm_->add_rom_slot(at, PFlash::kBankSize, bios_->host()));
            continue;
        }
        auto f = PFlash::create(drives[bank]);
        if (!f) return f.error();  // (QEMU names no option here)
        if (drives[bank]) drives[bank]->attached = true;
        PFlash* flash = f.value().get();
        flash_[bank] = std::move(f.value());
        as_.add_rom_device(at, PFlash::kBankSize, flash, flash->host(), name);
        flash->set_romd_hook([this, flash](bool on) { as_.set_romd(flash, on); });
        if (kvm_) {
            // KVM runs code only from memory slots: in read-array mode the
            // bank is a read-only slot, in its command modes MMIO.
            auto slot = kvm_->add_rom_slot(at, PFlash::kBankSize, flash->host());
            if (!slot) return slot.error();
            kvm_mem_->slots[at] = slot.value();
        }
    }
    return ok_status();
}

// The virtio devices of -device and of -drive if=virtio, plugged into the
// transports from the highest address down (as QEMU's virt board: the
// first device is at 0x0a003e00).
Status Board::create_virtio_devices(const MachineConfig& cfg, EventLoop& loop) {
    auto layer = BlockLayer::create(cfg);
    if (!layer) return layer.error();
    block_ = std::move(layer.value());
    ARMVM_TRY(create_flash(cfg));
    auto nets = create_netdevs(cfg.netdevs, cfg.netdev_origins, loop);
    if (!nets) return nets.error();
    netdevs_ = std::move(nets.value());
    mmio_next_ = kMmioSlots;
    for (const auto& d : cfg.devices) ARMVM_TRY(add_device(d, false));
    for (const auto& n : netdevs_)  // (QEMU's check of the clients)
        if (!n->attached) std::fprintf(stderr, "armvm: warning: netdev %s has no peer\n", n->id().c_str());
    for (const auto& nic : nic_list_)
        if (!nic.peer) std::fprintf(stderr, "armvm: warning: nic %s has no peer\n", nic.name.c_str());
    for (auto& disk : block_->devs()) {
        if (!disk->implicit_virtio()) continue;
        if (disk->attached) return make_error("-drive " + disk->name() + ": drive is already in use");
        disk->attached = true;
        // (-drive if=virtio is a virtio-blk-pci on QEMU's virt board)
        disk->qdev = qom_name("", "virtio-blk-pci") + "/virtio-backend";
        Status st = plug_pci(std::make_unique<VirtioBlk>(*disk, "", std::min(cfg.smp.cpus, 1024u), loop_), "virtio-blk-pci", {},
                             false, [d = disk.get()](bool unplugged) {
                                 d->attached = false;
                                 d->qdev.clear();
                                 d->auto_delete = unplugged;  // (a -drive goes with its device, as QEMU's)
                             });
        if (!st) return make_error("-drive " + disk->name() + ": " + st.error().msg);
    }
    return ok_status();
}

// fw_cfg "bootorder": the OpenFirmware paths of the devices with a
// bootindex, lowest index first, one a line, "HALT" last with -boot
// strict=on, NUL-terminated (empty without any), as QEMU makes it (edk2
// and U-Boot read it). Made after the devices and again at each reset.
void Board::update_bootorder() {
    if (!fw_cfg_) return;
    auto entries = boot_;
    std::stable_sort(entries.begin(), entries.end(), [](const BootEntry& a, const BootEntry& b) { return a.index < b.index; });
    std::string s;
    for (const auto& e : entries) s += (s.empty() ? "" : "\n") + e.path;
    if (!s.empty() && cfg_->boot.strict) s += "\nHALT";
    std::vector<uint8_t> data(s.begin(), s.end());
    if (!data.empty()) data.push_back(0);
    fw_cfg_->add_file("bootorder", std::move(data));
}

namespace {

// A virtio device's node below its transport in OpenFirmware paths (QEMU's
// get_fw_dev_path of virtio-blk and virtio-net).
std::string ofw_child(uint32_t device_id) {
    if (device_id == 2) return "/disk@0,0";
    if (device_id == 1) return "/ethernet-phy@0";
    return "";
}

}  // namespace

// A virtio device on the next free virtio-mmio transport.
Status Board::plug_mmio(std::unique_ptr<VirtioDevice> dev, const std::string& origin) {
    if (mmio_next_ == 0) return make_error("-device " + origin + ": no free virtio-mmio transport (there are 32)");
    char at[48];
    std::snprintf(at, sizeof at, "/virtio-mmio@%016llx",
                  static_cast<unsigned long long>(base(Region::Mmio) + (mmio_next_ - 1) * kMmioSlotSize));
    last_ofw_path_ = at + ofw_child(dev->device_id());
    virtio_[--mmio_next_]->plug(std::move(dev));
    mmio_bus_of_[last_qom_path_] = mmio_next_;
    return ok_status();
}

// A virtio device on PCI: placed by bus= and addr=, transitional on a
// conventional slot and modern only behind a PCIe port
// (disable-legacy=auto), with the device's default MSI-X vectors.
Status Board::plug_pci(std::unique_ptr<VirtioDevice> dev, const std::string& driver,
                       const std::map<std::string, std::string>& props, bool hotplug, std::function<void(bool)> release) {
    auto get = [&](const char* k) {
        auto it = props.find(k);
        return it == props.end() ? std::string() : it->second;
    };
    auto place = pci_place(driver, get("bus"), get("addr"), is_on(get("multifunction")));
    if (!place) return place.error();
    auto [bus, devfn] = *place;
    bool port = bus->bridge() && bus->express();
    if (hotplug) {  // only a root port's slot takes a device while the machine runs
        if (!port) return make_error("Bus '" + bus->name() + "' does not support hotplugging");
        // (any slot, as QEMU: the guest's pciehp looks at slot 0 only)
    }
    VirtioPci::Options o;
    std::string legacy = get("disable-legacy");
    // virtio-X-pci-transitional / -non-transitional: the choice is the type's.
    if (const DeviceType* t = find_device_type(driver); t && *t->disable_legacy) legacy = t->disable_legacy;
    if (legacy.empty() || legacy == "auto") o.modern_only = port;
    else if (legacy == "on" || legacy == "true") o.modern_only = true;
    else if (legacy == "off" || legacy == "false") o.modern_only = false;
    else return make_error("Parameter 'disable-legacy' does not accept value '" + legacy + "'");
    o.express = port;
    std::string ioeventfd = get("ioeventfd");
    if (ioeventfd.empty() || is_on(ioeventfd)) o.ioevents = ioevents_.get();
    switch (dev->device_id()) {
    case 1: o.vectors = 4; break;  // net: 2 per queue pair + config + control (QEMU's 3, rounded by the guest's view)
    case 5: o.vectors = 0; break;  // balloon: INTx
    case 2: o.vectors = dev->num_queues() + 1; break;  // blk: one per queue and the config's
    default: o.vectors = 2; break;
    }
    std::string vec = get("vectors");
    if (!vec.empty()) {
        char* end = nullptr;
        unsigned long v = std::strtoul(vec.c_str(), &end, 0);
        if (!end || *end || vec[0] == '-' || v > 2048)
            return make_error("Property '" + driver + ".vectors' doesn't take value '" + vec + "'");
        o.vectors = static_cast<unsigned>(v);
    }
    // (QEMU's names by PCI class: storage "scsi", network "ethernet", else
    // vendor and device)
    char name[24];
    if (dev->device_id() == 2 || dev->device_id() == 1)
        std::snprintf(name, sizeof name, "%s", dev->device_id() == 2 ? "scsi" : "ethernet");
    else
        std::snprintf(name, sizeof name, "pci1af4,%04x", 0x1040 + dev->device_id());
    last_ofw_path_ = ofw_bus_path(bus) + "/" + name + "@" + slot_fn(devfn) + ofw_child(dev->device_id());
    auto pd = std::make_unique<VirtioPci>(as_, std::move(dev), o);
    ARMVM_TRY(attach_option_rom(*pd, props, driver.starts_with("virtio-net-pci") ? "efi-virtio.rom" : ""));
    pd->qdev_id = get("id");
    if (is_on(get("multifunction"))) pd->set_multifunction(true);
    bus->plug(pd.get(), devfn);
    plugged_[pd.get()] = {last_qom_path_, std::move(release)};
    pd->qom_path = last_qom_path_;
    occupy_slot(*bus, hotplug);
    pci_devs_.push_back(std::move(pd));
    return ok_status();
}

// A function plugged behind a root port occupies its slot: presence (or,
// hot-plugged, the attention button), and the port's power-off unplugs it.
void Board::occupy_slot(PciBus& bus, bool hotplug) {
    if (!bus.bridge()) return;
    auto* rp = static_cast<PcieRootPort*>(bus.bridge());
    rp->on_power_off = [this, rp] { unplug_behind(*rp); };
    if (hotplug)
        rp->hot_plugged();
    else
        rp->set_presence(true);
}

// The guest powered a root port's slot off (or it was off when device_del
// came): every function behind it goes, with its DEVICE_DELETED events.
// Called with the BQL held, maybe inside the guest's configuration write:
// the device objects are destroyed later, on the loop thread.
void Board::unplug_behind(PcieRootPort& rp) {
    PciBus* bus = rp.secondary();
    for (unsigned devfn = 0; devfn < 256; ++devfn) {
        PciDevice* dev = bus->device(static_cast<uint8_t>(devfn));
        if (!dev) continue;
        dev->set_intx(false);
        bus->unplug(static_cast<uint8_t>(devfn));
        dev->attach(nullptr, 0);
        auto it = std::find_if(pci_devs_.begin(), pci_devs_.end(), [&](const auto& p) { return p.get() == dev; });
        if (it == pci_devs_.end()) continue;
        std::shared_ptr<PciDevice> gone(std::move(*it));
        pci_devs_.erase(it);
        unplug_requested_.erase(dev);
        if (auto pl = plugged_.find(dev); pl != plugged_.end()) {
            if (pl->second.release) pl->second.release(true);
            const std::string path = pl->second.path;
            for (QomChildren* list : {&peripheral_, &peripheral_anon_})
                for (auto q = list->begin(); q != list->end(); ++q)
                    if (path == "/machine/peripheral/" + q->first || path == "/machine/peripheral-anon/" + q->first) {
                        list->erase(q);
                        break;
                    }
            if (hooks_.device_deleted) {
                if (dynamic_cast<VirtioPci*>(gone.get()))
                    hooks_.device_deleted("", path + "/virtio-backend");  // (QEMU's order: the backend first)
                hooks_.device_deleted(gone->qdev_id, path);
            }
            plugged_.erase(pl);
        }
        // (destroyed after this access; then the -drives of unplugged disks go)
        loop_->post([this, gone]() mutable {
            gone.reset();
            block_->reap();
        });
    }
    rp.set_presence(false);
    pci_->remap();
}

// QMP device_del: a device behind a PCIe root port is asked for (the
// attention button); the guest then powers the slot off.
Status Board::request_unplug(const std::string& id) {
    // A USB device goes at once, as on QEMU: its port says disconnected.
    for (auto it = usb_devs_.begin(); it != usb_devs_.end(); ++it) {
        if (id != it->qom_path && (it->id.empty() || id != it->id)) continue;
        UsbPlugged u = std::move(*it);
        usb_devs_.erase(it);
        u.hc->detach(u.dev.get());
        boot_.erase(std::remove_if(boot_.begin(), boot_.end(), [&](const BootEntry& e) { return e.qom == u.qom_path; }),
                    boot_.end());
        if (u.disk) {
            u.disk->attached = false;
            u.disk->qdev.clear();
            u.disk->auto_delete = !u.disk->device_name().empty();  // (a -drive goes with its device)
        }
        for (QomChildren* list : {&peripheral_, &peripheral_anon_})
            for (auto q = list->begin(); q != list->end(); ++q)
                if (u.qom_path == "/machine/peripheral/" + q->first ||
                    u.qom_path == "/machine/peripheral-anon/" + q->first) {
                    list->erase(q);
                    break;
                }
        u.dev.reset();
        block_->reap();
        if (hooks_.device_deleted) {
            // (QEMU's usb-storage holds a SCSI disk on a bus of its own; it goes first)
            if (u.disk)
                hooks_.device_deleted("", u.qom_path + "/" + (u.id.empty() ? "scsi" : u.id) + ".0/legacy[0]");
            hooks_.device_deleted(u.id, u.qom_path);
        }
        return ok_status();
    }
    PciDevice* dev = nullptr;
    for (auto& p : pci_devs_) {
        auto pl = plugged_.find(p.get());
        if ((!id.empty() && p->qdev_id == id) || (pl != plugged_.end() && pl->second.path == id)) dev = p.get();
    }
    if (!dev) {
        for (const QomChildren* list : {&peripheral_, &peripheral_anon_})
            for (const auto& q : *list) {
                std::string path = (list == &peripheral_ ? "/machine/peripheral/" : "/machine/peripheral-anon/") + q.first;
                if (q.first != id && path != id) continue;
                if (auto m = mmio_bus_of_.find(path); m != mmio_bus_of_.end())
                    return make_error("Bus 'virtio-mmio-bus." + std::to_string(m->second) +
                                      "' does not support hotplugging");
                return make_error("Device '" + q.second + "' does not support hotplugging");
            }
        return make_error("Device '" + id + "' not found");
    }
    PciBus* bus = dev->bus();
    if (!bus || !bus->bridge() || !bus->express())
        return make_error("Bus '" + (bus ? bus->name() : std::string("pcie.0")) + "' does not support hotplugging");
    // One request at a time; after 5 s a new one may press the button again.
    auto now = std::chrono::steady_clock::now();
    if (auto r = unplug_requested_.find(dev); r != unplug_requested_.end() && now - r->second < std::chrono::seconds(5))
        return make_error("Device " + id + " is already in the process of unplug");
    std::string why = static_cast<PcieRootPort*>(bus->bridge())->request_unplug();
    if (!why.empty()) return make_error(why);
    if (std::find_if(pci_devs_.begin(), pci_devs_.end(), [&](const auto& p) { return p.get() == dev; }) !=
        pci_devs_.end())
        unplug_requested_[dev] = now;  // (still there: the guest has it to let go)
    return ok_status();
}

// guest-stats-polling-interval: every `seconds` the driver is asked for
// fresh statistics (0: never).
void Board::set_balloon_stats_interval(int64_t seconds) {
    balloon_interval_ = seconds;
    loop_->cancel_timer(balloon_timer_);
    if (seconds <= 0 || !balloon_) return;
    balloon_timer_ = loop_->add_timer(EventLoop::now_ns() + static_cast<uint64_t>(seconds) * 1000000000ull, [this] {
        if (balloon_) balloon_->request_stats();
        set_balloon_stats_interval(balloon_interval_);
    });
}

Status Board::hotplug(const DeviceConfig& d) {
    if (!d.id.empty())
        for (const auto& q : peripheral_)
            if (q.first == d.id) return make_error("Duplicate device ID '" + d.id + "'");
    // A refused device leaves no trace (its QOM name is free again).
    size_t named = peripheral_.size(), anon = peripheral_anon_.size();
    Status st = add_device(d, true);
    if (!st) {
        peripheral_.resize(named);
        peripheral_anon_.resize(anon);
    }
    return st;
}

Status Board::add_netdev(const Json& opts) {
    std::string id = opts.value("id", "");
    for (auto& n : netdevs_)
        if (n->id() == id) return make_error("Duplicate ID '" + id + "'");
    auto made = create_netdevs({opts}, {id}, *loop_);
    if (!made) return made.error();
    for (auto& n : made.value()) netdevs_.push_back(std::move(n));
    return ok_status();
}

Status Board::del_netdev(const std::string& id) {
    for (auto it = netdevs_.begin(); it != netdevs_.end(); ++it) {
        if ((*it)->id() != id) continue;
        if ((*it)->attached) return make_error("Device '" + id + "' is in use");
        netdevs_.erase(it);
        return ok_status();
    }
    return make_error("Device '" + id + "' not found", "DeviceNotFound");
}

// QOM paths: /machine/peripheral/ID, or /machine/peripheral-anon/device[N].
std::string Board::name_bus(const std::string& id, const std::string& type) {
    return id.empty() ? type + "." + std::to_string(anon_buses_[type]++) : id + ".0";
}

std::string Board::qom_name(const std::string& id, const std::string& driver) {
    if (!id.empty()) {
        peripheral_.push_back({id, driver});
        last_qom_path_ = "/machine/peripheral/" + id;
        return id;
    }
    std::string n = "device[" + std::to_string(anon_devices_++) + "]";
    peripheral_anon_.push_back({n, driver});
    last_qom_path_ = "/machine/peripheral-anon/" + n;
    return last_qom_path_;
}


Board::~Board() {
    if (kernel_fd_ >= 0) ::close(kernel_fd_);
    if (initrd_fd_ >= 0) ::close(initrd_fd_);
    if (loop_) loop_->cancel_timer(button_timer_);
    if (loop_) loop_->cancel_timer(balloon_timer_);
    if (loop_) loop_->cancel_timer(key_timer_);
    if (tcg_)  // (the threads stop first: one may be in PSCI, which reaches tcg_)
        for (auto& v : tcg_->vcpus) v->stop_and_join();
    if (kvm_mem_) as_.remove_listener(kvm_mem_.get());  // (the devices' doorbells go after the VM)
    if (kvm_) {
        kvm_->pause();  // (releases the BQL while a vCPU finishes an MMIO access)
        cpus_.reset();
        kvm_.reset();
    }
}

void Board::set_spi(unsigned intid, bool level) {
    if (kvm_) kvm_->set_spi(intid, level);
    else if (gic_) gic_->set_spi(intid, level);
}

unsigned Board::cpu_count() const { return cpus_->count(); }

pid_t Board::cpu_thread_id(unsigned i) const { return cpus_->thread_id(i); }

Board::IoStats Board::io_stats() {
    IoStats st;
    st.ioevent_kicks = ioevents_ ? ioevents_->signals() : 0;
    st.ioevent_bus_writes = as_.eventfd_writes();
    st.mmio_exits = cpus_->mmio_exits();
    return st;
}

uint64_t Board::guest_insns() const { return cpus_->insns(); }

void Board::press_power_button() {
    if (ged_) return ged_->raise(AcpiGed::kPowerDownEvent);
    constexpr unsigned kPowerLine = 3;
    gpio_->set_input(kPowerLine, true);
    loop_->cancel_timer(button_timer_);
    button_timer_ = loop_->add_timer(EventLoop::now_ns() + 100'000'000, [this] {
        button_timer_ = 0;
        gpio_->set_input(kPowerLine, false);
    });
}

Status Board::reset() {
    ++resets_;
    update_bootorder();  // (devices plugged or unplugged since)
    // Devices: every phase for every device before the next phase.
    for (auto& [name, d] : devices_) d->reset_enter();
    for (auto& [name, d] : devices_) d->reset_hold();
    for (auto& [name, d] : devices_) d->reset_exit();
    for (auto& n : device_resets_) ++n;
    // Images are reloaded (the guest may have overwritten them), the DTB
    // goes to the start of RAM, the boot CPU enters the kernel.
    uint64_t entry = 0, x0 = 0, initrd_bytes = 0, secondary_entry = 0;
    uint64_t dtb_at = base(Region::Ram);  // (firmware's, or no kernel's: the start of RAM)
    bool put_dtb = true, need_dtb = false;
    boot_blobs_.clear();
    if (cfg_->firmware_loaded()) {
        // Firmware starts at the flash's base with the DTB at the start of
        // RAM; the kernel, if any, is in fw_cfg.
        entry = base(Region::Flash);
    } else if (cfg_->initrd) {
        auto n = load_initrd(as_, *cfg_->initrd, initrd_fd_);
        if (!n) return n.error();
        initrd_bytes = *n;
        boot_blobs_.push_back({initrd_address(base(Region::Ram), cfg_->memory.size), initrd_bytes, *cfg_->initrd});
    }
    if (cfg_->kernel && !cfg_->firmware_loaded()) {
        auto img = load_kernel(as_, *cfg_->kernel, kernel_fd_);
        if (!img) return img.error();
        entry = img->entry;
        boot_blobs_.insert(boot_blobs_.end(), img->blobs.begin(), img->blobs.end());
        if (img->is_elf) {
            // As QEMU: an ELF's DTB goes at the start of RAM if the image
            // leaves it room there (below the image, or the image is not in
            // RAM's first bytes at all); else it gets none.
            uint64_t ram = base(Region::Ram);
            uint64_t limit = img->low > ram ? img->low : 0;
            put_dtb = (img->low > ram || img->high <= ram) && !(limit && fdt_.size() > limit - ram);
            // (-d in_asm names the functions, as QEMU's log does)
            std::vector<qlog::Symbol> syms;
            for (auto& sym : img->symbols) syms.push_back({sym.addr, sym.size, sym.name});
            qlog::set_symbols(std::move(syms));
        }
        secondary_entry = img->is_linux ? 0 : entry;
        if (semihost_) {  // (the heap from the image's end to the end of RAM, the stack above it, as QEMU's)
            uint64_t ram_end = base(Region::Ram) + cfg_->memory.size;
            semihost_->set_heap(img->high, ram_end, ram_end, img->high);
        }  // (powered off; their PC as QEMU's: an ELF's entry)
        if (img->is_linux) {
            // Linux's boot protocol: x0 = the DTB, after the initrd. As on
            // QEMU, the CPU starts in a boot stub at the start of RAM that
            // loads x0 and jumps to the kernel (a debugger attached at
            // -S sees the same first instructions).
            dtb_at = linux_dtb_address(base(Region::Ram), cfg_->memory.size, initrd_bytes);
            x0 = dtb_at;
            need_dtb = true;
            if (write_boot_stub(base(Region::Ram), dtb_at, entry)) {
                boot_blobs_.push_back({base(Region::Ram), kBootStubBytes, "bootloader"});
                entry = base(Region::Ram);
                x0 = 0;
            }
        }
        // (QEMU passes x0 = 0 to a non-Linux ELF, measured on 7.2.)
    }
    if (uint8_t* p = put_dtb ? as_.ram_ptr(dtb_at, fdt_.size()) : nullptr) {
        std::memcpy(p, fdt_.data(), fdt_.size());
        boot_blobs_.push_back({dtb_at, fdt_.size(), "dtb"});
    } else if (need_dtb) {
        return make_error("Not enough space for DTB after kernel/initrd");  // (QEMU's words)
    }
    ARMVM_TRY(cpus_->reset(entry, x0, secondary_entry));
    for (auto& n : cpu_resets_) ++n;
    return ok_status();
}

// QEMU's AArch64 Linux boot stub: ldr x0, dtb; x1-x3 = 0; ldr x4, entry;
// br x4; then the two 64-bit literals.
bool Board::write_boot_stub(uint64_t at, uint64_t dtb, uint64_t kernel) {
    uint8_t* p = as_.ram_ptr(at, kBootStubBytes);
    if (!p) return false;
    const uint32_t code[6] = {
        0x58000000u | (0x18 / 4) << 5 | 0,         // ldr x0, <at + 0x18>
        0xaa1f03e1u, 0xaa1f03e2u, 0xaa1f03e3u,     // mov x1..x3, xzr (orr xN, xzr, xzr)
        0x58000000u | ((0x20 - 0x10) / 4) << 5 | 4,  // ldr x4, <at + 0x20>
        0xd61f0000u | 4 << 5,                      // br x4
    };
    std::memcpy(p, code, sizeof code);
    std::memcpy(p + 0x18, &dtb, 8);
    std::memcpy(p + 0x20, &kernel, 8);
    return true;
}

std::vector<std::pair<std::string, unsigned>> Board::device_reset_counts() const {
    std::vector<std::pair<std::string, unsigned>> out;
    for (size_t i = 0; i < devices_.size(); ++i) out.push_back({devices_[i].first, device_resets_[i]});
    return out;
}

void Board::resume() { cpus_->resume(std::vector<bool>(cpus_->count(), true)); }

void Board::pause() { cpus_->pause(); }

bool Board::write_phys(uint64_t pa, unsigned size, uint64_t value) {
    if (uint8_t* p = as_.ram_ptr(pa, size)) {
        std::memcpy(p, &value, size);
        as_.device_wrote(p, size);  // translated code there is dropped
        return true;
    }
    return as_.write_locked(pa, size, value);
}

}  // namespace armvm::virt
