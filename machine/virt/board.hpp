// The virt board: address space, devices, CPUs and the PSCI firmware
// interface, wired after machine/virt/memmap.hpp.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "accel/kvm/arm64.hpp"
#include "accel/vcpu.hpp"
#include "accel/vcpus.hpp"
#include "base/result.hpp"
#include "hw/acpi/ged.hpp"
#include "hw/core/ioevents.hpp"
#include "hw/block/pflash.hpp"
#include "hw/tpm/tpm_tis.hpp"
#include "hw/usb/xhci.hpp"
#include "hw/char/pl011.hpp"
#include "block/block.hpp"
#include "hw/gpio/pl061.hpp"
#include "hw/misc/fw_cfg.hpp"
#include "hw/misc/rom.hpp"
#include "hw/rtc/pl031.hpp"
#include "hw/intc/gicv2m.hpp"
#include "hw/intc/gicv3_its.hpp"
#include "hw/pci/gpex.hpp"
#include "hw/pci/root_port.hpp"
#include "hw/virtio/virtio_mmio.hpp"
#include "hw/virtio/virtio_serial.hpp"
#include "net/net.hpp"
#include "hw/core/address_space.hpp"
#include "hw/intc/gic.hpp"
#include "machine/boot/loader.hpp"
#include "machine/config.hpp"
#include "machine/semihosting.hpp"

namespace armvm {
class Chardev;
class VirtioBalloon;
class GuestRam;
}  // namespace armvm

namespace armvm {
struct DeviceType;
}

namespace armvm::virt {

class TcgCpus;

// KVM's view of the map kept in step: the ROM devices' read-only slots,
// the doorbells' ioeventfds.
class KvmMemoryListener : public MemoryListener {
public:
    explicit KvmMemoryListener(kvm::ArmVm& vm) : vm_(vm) {}
    void romd_changed(uint64_t base, uint64_t size, uint8_t* host, bool on) override;
    void eventfd_changed(uint64_t addr, int fd, std::optional<DoorbellMatch> match, bool added) override;
    std::map<uint64_t, unsigned> slots;  // a ROM device's base → its slot

private:
    kvm::ArmVm& vm_;
    bool ioeventfd_warned_ = false;
};

class Board {
public:
    // Called on a vCPU thread; they must only post work to the main loop.
    struct Hooks {
        std::function<void()> system_off;
        std::function<void()> system_reset;
        // The chardev of a -chardev id (null: none); called while building.
        std::function<Chardev*(const std::string&)> find_chardev;
        // A KVM vCPU that cannot go on (it has paused itself).
        std::function<void(unsigned vcpu, const std::string& why)> vcpu_failed;
        // A device is gone (DEVICE_DELETED: its id, "" for none, and QOM
        // path). Called with the BQL held, maybe on a vCPU thread.
        std::function<void(const std::string& id, const std::string& path)> device_deleted;
        // The balloon driver changed the guest's size (BALLOON_CHANGE).
        std::function<void(uint64_t actual)> balloon_change;
        // The guest opened or closed a virtio-serial port (VSERPORT_CHANGE).
        std::function<void(const std::string& id, bool open)> vserport_change;
        // A vCPU stopped for the debugger (it has paused itself); on its
        // thread, without the BQL.
        std::function<void(unsigned vcpu)> debug_stop;
        // Semihosting's SYS_EXIT: the machine ends with this status (on a
        // vCPU thread: post to the main loop).
        std::function<void(int status)> semihost_exit;
    };

    // gic_version: 2 or 3 (which GIC the board gets). `kvm`: the KVM VM
    // (its vGIC, timers, PMU and PSCI are the kernel's); null for TCG.
    static Result<std::unique_ptr<Board>> create(const MachineConfig& cfg, unsigned gic_version, GuestRam& ram,
                                                 EventLoop& loop, Chardev* serial, std::vector<uint8_t> fdt,
                                                 Hooks hooks, std::unique_ptr<kvm::ArmVm> kvm = nullptr);
    ~Board();  // caller holds the BQL: stops and joins the vCPU threads

    // Three-phase reset of every device, then every CPU to its boot state
    // (images reloaded, secondaries powered off). Caller holds the BQL and
    // has paused the vCPUs.
    Status reset();
    void resume();  // run the powered-on CPUs
    void pause();   // returns once every vCPU is paused
    // The power button (gpio-keys on PL061 line 3: a 100 ms press; or the
    // ACPI GED's power-down event), as QEMU's virt board gives for
    // system_powerdown. Caller holds the BQL.
    void press_power_button();

    // The vCPUs, whichever accelerator runs them.
    unsigned cpu_count() const;
    pid_t cpu_thread_id(unsigned i) const;
    uint64_t guest_insns() const;  // TCG's count (0 under KVM)
    // ARMVM_STATS: doorbell kicks served from eventfds, those of them that
    // armvm's bus signalled (the TCG's; under KVM, writes the kernel did not
    // take), and KVM's MMIO exits.
    struct IoStats {
        uint64_t ioevent_kicks = 0, ioevent_bus_writes = 0, mmio_exits = 0;
    };
    IoStats io_stats();
    bool kvm() const { return kvm_ != nullptr; }
    unsigned resets() const { return resets_; }
    // How often each device and CPU went through a reset (INCIDENTS.md #5:
    // exactly once per machine reset). Caller holds the BQL.
    std::vector<std::pair<std::string, unsigned>> device_reset_counts() const;
    std::vector<unsigned> cpu_reset_counts() const { return cpu_resets_; }
    // For QMP: the disks, and the -device children of /machine/peripheral
    // and /machine/peripheral-anon as (name, driver).
    const BlockLayer& block() const { return *block_; }
    // The network backends, as made, and the NICs with their peers (HMP
    // info network, hostfwd_add). Caller holds the BQL.
    struct Nic {
        std::string name, model, mac;  // QEMU's names: the -device id, or MODEL.N
        NetBackend* peer;  // null: a NIC with no netdev
    };
    const std::vector<std::unique_ptr<NetBackend>>& netdevs() const { return netdevs_; }
    const std::vector<Nic>& nics() const { return nic_list_; }
    // Input to the USB keyboards and tablets (QMP send-key and
    // input-send-event; has_input: whether one of the kind is there). A key by its
    // HID usage; the pointer's absolute position (0..0x7fff) and buttons
    // (bit 0 left, 1 right, 2 middle) pressed or released.
    void input_key(uint8_t usage, bool down);
    void input_pointer(std::optional<uint16_t> x, std::optional<uint16_t> y, uint8_t buttons_set,
                       uint8_t buttons_clear);
    bool has_input(bool keyboard) const;
    // send-key: the keys pressed in order, released in reverse `hold_ms` later.
    void send_keys(const std::vector<uint8_t>& usages, uint64_t hold_ms);
    // A guest physical read of 1, 2, 4 or 8 bytes as a device access would
    // do it (HMP's xp); false where nothing answers. Caller holds the BQL.
    bool read_phys(uint64_t pa, unsigned size, uint64_t& value) { return as_.read_locked(pa, size, value); }
    // A guest physical write as a device access would do it (the
    // gdbstub's M packet); RAM written this way drops translated code.
    bool write_phys(uint64_t pa, unsigned size, uint64_t value);

    // ---- The debugger's seam (gdbstub, HMP's registers and memory by
    // VA): the vCPUs' one interface (accel/vcpus.hpp), whichever
    // accelerator runs them. Caller holds the BQL. Under KVM a vCPU's
    // registers come into a Cpu that stands for it and go back if
    // changed; breakpoints and watchpoints are the host's hardware ones
    // (KVM_SET_GUEST_DEBUG), as many as the host's KVM lends.
    VcpuSet& cpus() { return *cpus_; }
    bool debug_supported() const { return cpus_->debug_supported(); }
    // The system registers a debugger can read (MRS keys): under TCG
    // those the CPU model has, under KVM those the host's KVM gives the
    // vCPU; and vCPU i's value of one (on its thread, out of guest code).
    std::vector<uint32_t> debug_sysreg_keys() { return cpus_->debug_sysreg_keys(); }
    bool read_sysreg(unsigned i, uint32_t key, uint64_t& value) { return cpus_->read_sysreg(i, key, value); }
    // fn runs on vCPU i's state (on its thread, out of guest code).
    void with_cpu(unsigned i, const std::function<void(Cpu&)>& fn) { cpus_->with_cpu(i, fn); }
    // Whether this many breakpoints and watchpoints of these shapes can be
    // set (error: why not). The VM paused:
    Status check_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints) const {
        return cpus_->check_debug(breakpoints, watchpoints);
    }
    // The breakpoints and watchpoints of every CPU, and which ones step.
    Status set_debug(const std::vector<uint64_t>& breakpoints, const std::vector<Cpu::Watchpoint>& watchpoints,
                     const std::vector<bool>& step) {
        return cpus_->set_debug(breakpoints, watchpoints, step);
    }
    // Runs only the CPUs marked (and powered on): gdb resuming some threads.
    void resume_cpus(const std::vector<bool>& which) { cpus_->resume(which); }
    // PSCI: the CPU is on (not CPU_OFF'ed or never started).
    bool cpu_powered(unsigned i) const { return cpus_->powered(i); }

    // The USB devices (HMP's info usb): bus, address, port, speed, product, id.
    struct UsbInfo {
        unsigned bus, address, port;
        UsbSpeed speed;
        std::string product, id;
    };
    std::vector<UsbInfo> usb_devices() const;
    // The -tpmdev of the machine's TPM device (query-tpm), or null.
    const MachineConfig::Tpmdev* tpmdev() const { return tpmdev_; }
    // The QOM composition tree under /machine as QEMU's virt board has it
    // (machine/virt/qom.cpp): the CPUs and board devices under
    // unattached/device[N] in QEMU's creation order, fw_cfg, the flash
    // banks, -device's under peripheral and peripheral-anon with the
    // buses and backends QEMU gives them. QEMU's memory regions and
    // interrupt lines are not objects in armvm. `machine_type`: the
    // machine's QOM type. HMP's info qom-tree and QMP's qom-list read it.
    struct QomNode {
        std::string name, type;
        std::vector<QomNode> children;
    };
    QomNode qom_tree(const std::string& machine_type) const;
    // The node at an absolute path ("/machine/peripheral/rp1") in that
    // tree, or null.
    static const QomNode* qom_find(const QomNode& machine, const std::string& path);
    // HMP's info qtree: the device tree by bus as QEMU prints it (each
    // bus's devices newest first, ids, MMIO regions at their real
    // addresses, PCI functions with class, address and ids, the buses
    // behind them); QEMU's per-device property lists are not armvm's.
    std::string qtree() const;
    // A PCI bus's functions newest first (QEMU's order on a bus); the PCI
    // functions and the virtio backends in the order QEMU's search for a
    // bus walks them (the virtio-mmio transports from the top, then the
    // PCIe tree depth first): where a device with no bus= goes.
    // (machine/virt/qom.cpp)
    std::vector<PciDevice*> pci_newest_first(const PciBus& bus) const;
    std::vector<PciDevice*> pci_in_bus_order() const;
    std::vector<VirtioDevice*> virtio_in_bus_order() const;
    using QomChildren = std::vector<std::pair<std::string, std::string>>;
    const QomChildren& peripheral() const { return peripheral_; }
    const QomChildren& peripheral_anon() const { return peripheral_anon_; }

    // QMP hot-plug, with the BQL held: device_add (a PCI device into a
    // root port's slot), device_del (asks the guest; DEVICE_DELETED
    // follows when it lets go), netdev_add / netdev_del.
    Status hotplug(const DeviceConfig& d);
    Status request_unplug(const std::string& id);
    Status add_netdev(const Json& opts);
    Status del_netdev(const std::string& id);
    BlockLayer& block_layer() { return *block_; }
    PciHost* pci_host() { return pci_.get(); }
    // Whether the board can make devices of this type (a factory: every
    // registry entry has one).
    static bool has_factory(const DeviceType& t);
    // HMP's info mtree [-f]: the memory map in QEMU's format (with -f the
    // flattened views the vCPUs and the devices' bus-master address
    // spaces see). Caller holds the BQL. (machine/virt/mtree.cpp)
    std::string mtree(bool flat) const;
    struct MtreeNode;  // (mtree.cpp)
    // HMP's info roms: the firmware ROM, the ACPI blobs' maximum sizes (as
    // QEMU's fw_cfg ROMs) and what the last boot wrote into RAM (kernel,
    // initrd, DTB), in QEMU's format. Caller holds the BQL.
    std::string roms() const;
    // The virtio balloon (null: none), its QOM path, and the statistics
    // polling interval in seconds (QOM's guest-stats-polling-interval).
    VirtioBalloon* balloon() { return balloon_; }
    const std::string& balloon_path() const { return balloon_path_; }
    int64_t balloon_stats_interval() const { return balloon_interval_; }
    void set_balloon_stats_interval(int64_t seconds);

private:
    std::string tree(const std::vector<std::string>& system_as, size_t pci_first,
                     const std::vector<std::string>& none_as) const;  // info mtree's tree (mtree.cpp)
    Board(std::mutex& bql) : as_(bql) {}
    bool psci_call(Cpu& cpu, unsigned index);
    void set_spi(unsigned intid, bool level);  // the GIC's, or KVM's
    Status create_virtio_devices(const MachineConfig& cfg, EventLoop& loop);
    Status add_device(const DeviceConfig& d, bool hotplug);
    // Each device type's factory (machine/virt/device_factories.cpp),
    // found by its model: a virtio-X-pci's virtio model, or the type's name.
    struct DeviceCtx;
    using Factory = Status (Board::*)(DeviceCtx&);
    static Factory factory(const std::string& model);
    Status make_root_port(DeviceCtx& x);
    Status make_tpm(DeviceCtx& x);
    Status make_xhci(DeviceCtx& x);
    Status make_usb_device(DeviceCtx& x);
    Status make_balloon(DeviceCtx& x);
    Status make_rng(DeviceCtx& x);
    Status make_serial(DeviceCtx& x);
    Status make_serial_port(DeviceCtx& x);
    Status make_net(DeviceCtx& x);
    Status make_blk(DeviceCtx& x);
    Status plug_mmio(std::unique_ptr<VirtioDevice> dev, const std::string& origin);
    Status plug_pci(std::unique_ptr<VirtioDevice> dev, const std::string& driver,
                    const std::map<std::string, std::string>& props, bool hotplug, std::function<void(bool unplugged)> release);
    void unplug_behind(PcieRootPort& rp);
    void occupy_slot(PciBus& bus, bool hotplug);
    std::string qom_name(const std::string& id, const std::string& driver);
    Status create_fw_cfg(const MachineConfig& cfg);
    void add_acpi_tables(const MachineConfig& cfg, unsigned gic_version);
    Status create_flash(const MachineConfig& cfg);
    void create_pcie(unsigned gic_version);
    void msi(uint64_t addr, uint32_t data, uint16_t requester_id);
    // Where a PCI device of -device goes: its bus and devfn from `bus=`
    // and `addr=` (QEMU's rules and messages), or an error.
    Result<std::pair<PciBus*, uint8_t>> pci_place(const std::string& driver, const std::string& bus,
                                                  const std::string& addr, bool multifunction);

    const MachineConfig* cfg_ = nullptr;
    AddressSpace as_;
    std::unique_ptr<IoEventHub> ioevents_;  // doorbells (before the devices: they unbind from it)
    std::unique_ptr<Pl011> uart_;
    std::unique_ptr<Pl031> rtc_;
    std::unique_ptr<Pl061> gpio_;    // the power button: on PL061 line 3,
    std::unique_ptr<AcpiGed> ged_;   // or (firmware with ACPI) an ACPI event
    std::unique_ptr<TpmTis> tpm_;    // -device tpm-tis-device (on the platform bus)
    const MachineConfig::Tpmdev* tpmdev_ = nullptr;  // its -tpmdev
    std::unique_ptr<FwCfg> fw_cfg_;
    std::unique_ptr<Rom> bios_;  // -bios, in flash bank 0
    uint64_t bios_bytes_ = 0;    // its file's size
    static constexpr uint64_t kBootStubBytes = 0x28;
    bool write_boot_stub(uint64_t at, uint64_t dtb, uint64_t kernel);
    std::vector<BootImage::Blob> boot_blobs_;  // written by the last boot (info roms)
    std::unique_ptr<MmioDevice> flash_[2];  // the CFI flash banks (bank 0: unless -bios)
    EventLoop* loop_ = nullptr;
    EventLoop::TimerId button_timer_ = 0;
    EventLoop::TimerId key_timer_ = 0;  // send-key's release
    std::vector<uint8_t> held_keys_;
    uint16_t ptr_x_ = 0, ptr_y_ = 0;   // the tablets' pointer
    uint8_t ptr_buttons_ = 0;
    std::unique_ptr<BlockLayer> block_;
    std::vector<std::unique_ptr<NetBackend>> netdevs_;
    std::vector<std::unique_ptr<VirtioMmio>> virtio_;
    unsigned mmio_next_ = 0;  // virtio-mmio transports below this are free (filled from the top)
    unsigned nics_ = 0;       // NICs made so far (QEMU's default MACs count them)
    std::vector<Nic> nic_list_;
    std::vector<std::unique_ptr<NetBackend>> no_peers_;  // what NICs with no netdev send to
    // The virtio-serial devices (their -device id and the device), for the
    // ports of virtconsole and virtserialport.
    std::vector<std::pair<std::string, VirtioSerial*>> serial_buses_;  // (bus name, device), creation order
    std::vector<std::pair<std::string, Xhci*>> usb_buses_;  // USB buses ("<controller id>.0") and their controllers
    struct UsbPlugged {
        std::unique_ptr<UsbDevice> dev;
        Xhci* hc;
        std::string qom_path, id;
        BlockDev* disk;  // usb-storage's; null for the others
        unsigned port;
    };
    std::vector<UsbPlugged> usb_devs_;  // -device / device_add usb-*
    std::unique_ptr<Gic> gic_;
    std::unique_ptr<GicV2m> v2m_;
    std::unique_ptr<GicIts> its_;
    std::unique_ptr<PciHost> pci_;
    std::unique_ptr<MmioDevice> pci_reset_;  // the host's reset in the device list
    std::vector<std::unique_ptr<PciDevice>> pci_devs_;  // -device PCI functions, in creation order
    VirtioBalloon* balloon_ = nullptr;  // -device virtio-balloon-*, if any
    std::string balloon_path_;
    int64_t balloon_interval_ = 0;
    EventLoop::TimerId balloon_timer_ = 0;
    std::mutex* bql_ = nullptr;
    CpuCluster cluster_;  // before cpus_: the CPUs point into it
    std::unique_ptr<kvm::ArmVm> kvm_;             // KVM's VM (null: TCG)
    // The vCPUs, whichever accelerator runs them (machine/virt/cpus.hpp);
    // tcg_: the same object as TCG's (PSCI and the TCG wiring), or null.
    std::unique_ptr<VcpuSet> cpus_;
    TcgCpus* tcg_ = nullptr;
    std::unique_ptr<MmioDevice> kvm_gic_;         // KVM's GIC in the reset
    std::unique_ptr<KvmMemoryListener> kvm_mem_;  // the flash banks' slots, the ioeventfds
    std::unique_ptr<Semihosting> semihost_;  // -semihosting (TCG)
    std::atomic<bool> semihost_exited_{false};
    std::vector<uint8_t> fdt_;
    Hooks hooks_;
    unsigned resets_ = 0;
    std::vector<std::pair<std::string, MmioDevice*>> devices_;  // in reset order
    std::vector<unsigned> device_resets_;
    std::vector<unsigned> cpu_resets_;
    QomChildren peripheral_, peripheral_anon_;
    unsigned anon_devices_ = 0;  // peripheral-anon/device[N] names made so far
    // Every bus a -device brings (a root port's, an xHCI's, a virtio-serial
    // device's, usb-storage's SCSI bus) is named once, when it is made, as
    // QEMU names it: after the device's id ("ID.0"), or by its type and a
    // count of that type's anonymous buses ("usb-bus.1"). bus_of_: the
    // names by the device's QOM path (bus=, info qtree, info qom-tree).
    std::string name_bus(const std::string& id, const std::string& type);
    std::map<std::string, unsigned> anon_buses_;
    std::map<std::string, std::string> bus_of_;
    // Each -device's type and properties as given, by QOM path (info qtree).
    std::map<std::string, std::pair<std::string, Json>> qdev_props_;
    std::string last_qom_path_;  // the QOM path qom_name() made last
    std::set<std::string> qom_default_rng_;  // virtio-rng devices with no rng= (a default backend)
    std::string last_ofw_path_;  // the OpenFirmware path of the device plugged last
    struct BootEntry {
        int32_t index;
        std::string path, qom;
    };
    std::vector<BootEntry> boot_;  // devices with a bootindex
    void update_bootorder();
    // Each PCI function of -device / device_add: its QOM path and what
    // gives its backend back when it is unplugged.
    struct Plugged {
        std::string path;
        std::function<void(bool unplugged)> release;  // (false: the plug failed)
    };
    std::map<const PciDevice*, Plugged> plugged_;
    std::map<std::string, unsigned> mmio_bus_of_;  // QOM path -> virtio-mmio transport index
    std::map<const PciDevice*, std::chrono::steady_clock::time_point> unplug_requested_;
    int kernel_fd_ = -1, initrd_fd_ = -1;  // -kernel and -initrd, reloaded at each reset
};

}  // namespace armvm::virt
