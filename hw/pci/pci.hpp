// PCI and PCI Express devices (PCI Local Bus 3.0 chapter 6, PCIe Base 4.0
// chapter 7): a 4 KiB configuration space with per-byte write and
// write-1-to-clear masks, BARs the guest sizes and places, the capability
// list, INTx and MSI-X. The host bridge (hw/pci/gpex.hpp) decodes ECAM and
// its windows and asks the devices where their BARs are. Everything here
// runs under the BQL.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hw/core/mmio.hpp"

namespace armvm {

class PciBus;
class PciRoot;

// Configuration space offsets (PCI 3.0 section 6.1, type 0 and 1 headers).
enum : unsigned {
    PCI_VENDOR_ID = 0x00, PCI_DEVICE_ID = 0x02, PCI_COMMAND = 0x04, PCI_STATUS = 0x06, PCI_REVISION_ID = 0x08,
    PCI_CLASS_PROG = 0x09, PCI_CACHE_LINE_SIZE = 0x0c, PCI_LATENCY_TIMER = 0x0d, PCI_HEADER_TYPE = 0x0e,
    PCI_BAR0 = 0x10, PCI_SUBSYSTEM_VENDOR_ID = 0x2c, PCI_SUBSYSTEM_ID = 0x2e, PCI_ROM_ADDRESS = 0x30,
    PCI_CAPABILITY_LIST = 0x34, PCI_INTERRUPT_LINE = 0x3c, PCI_INTERRUPT_PIN = 0x3d,
    // type 1 (bridges)
    PCI_PRIMARY_BUS = 0x18, PCI_SECONDARY_BUS = 0x19, PCI_SUBORDINATE_BUS = 0x1a, PCI_IO_BASE = 0x1c,
    PCI_IO_LIMIT = 0x1d, PCI_SEC_STATUS = 0x1e, PCI_MEMORY_BASE = 0x20, PCI_MEMORY_LIMIT = 0x22,
    PCI_PREF_MEMORY_BASE = 0x24, PCI_PREF_MEMORY_LIMIT = 0x26, PCI_PREF_BASE_UPPER32 = 0x28,
    PCI_PREF_LIMIT_UPPER32 = 0x2c, PCI_IO_BASE_UPPER16 = 0x30, PCI_IO_LIMIT_UPPER16 = 0x32,
    PCI_ROM_ADDRESS1 = 0x38, PCI_BRIDGE_CONTROL = 0x3e,
};
enum : uint16_t {
    PCI_COMMAND_IO = 1, PCI_COMMAND_MEMORY = 2, PCI_COMMAND_MASTER = 4, PCI_COMMAND_SERR = 0x100,
    PCI_COMMAND_INTX_DISABLE = 0x400, PCI_STATUS_INTERRUPT = 0x08, PCI_STATUS_CAP_LIST = 0x10,
};
// Capability IDs.
enum : uint8_t { PCI_CAP_ID_PM = 0x01, PCI_CAP_ID_MSI = 0x05, PCI_CAP_ID_VNDR = 0x09, PCI_CAP_ID_EXP = 0x10,
                 PCI_CAP_ID_MSIX = 0x11 };
inline constexpr uint16_t kPciVendorRedHat = 0x1b36, kPciVendorVirtio = 0x1af4;

// PCI Express device/port types (the capability's bits 7:4).
enum class PcieType : uint8_t { Endpoint = 0, RootPort = 4, RcEndpoint = 9 };  // (9: integrated in the root complex)

// BAR kinds (the low bits of the BAR register).
enum class BarKind : uint8_t { Io = 1, Mem32 = 0, Mem64 = 4, Mem64Pref = 0xc, Mem32Pref = 8 };

// A register block inside a BAR (QEMU's subregions of the BAR's
// container: "msix-table", "virtio-pci-common-virtio-blk", ...). The
// BAR's other offsets are holes that the host's window answers (reads
// all-ones, writes dropped), as on QEMU.
struct BarPart {
    std::string name;
    uint64_t offset, size;
};

class PciDevice {
public:
    static constexpr unsigned kConfigSize = 4096;
    static constexpr uint64_t kUnmapped = ~0ull;

    struct Bar {
        uint64_t size = 0;  // 0: no BAR
        BarKind kind = BarKind::Mem32;
        MmioDevice* dev = nullptr;
        // Its register blocks; none: one block, the whole BAR, called
        // `name`.
        std::vector<BarPart> parts;
        std::string name;
        uint64_t addr = kUnmapped;  // where the guest placed it (bus address), while decoded
        bool io() const { return kind == BarKind::Io; }
        bool is64() const { return (static_cast<uint8_t>(kind) & 4) != 0; }
    };

    // `header_type` 0 (endpoint) or 1 (bridge).
    PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision, uint8_t header_type = 0);
    virtual ~PciDevice() = default;
    PciDevice(const PciDevice&) = delete;
    PciDevice& operator=(const PciDevice&) = delete;

    virtual std::string type_name() const = 0;  // "virtio-blk-pci"
    std::string qdev_id;  // the -device id (empty: none)
    std::string qom_path;  // the -device's QOM path (empty: the board's own)

    virtual uint32_t config_read(unsigned off, unsigned size);
    virtual void config_write(unsigned off, unsigned size, uint32_t value);
    // Machine reset: the configuration registers back to their reset
    // values (command, BARs, capability control bits), then the device.
    virtual void reset();

    // Where it sits: set when plugged.
    PciBus* bus() const { return bus_; }
    uint8_t devfn() const { return devfn_; }
    void attach(PciBus* bus, uint8_t devfn) { bus_ = bus, devfn_ = devfn; }
    uint16_t requester_id() const;
    // This device's function 0 reports more functions (multifunction=on).
    void set_multifunction(bool on);

    const Bar& bar(unsigned i) const { return bars_[i]; }
    // The expansion ROM (hw/pci/option_rom.hpp), seen through the ROM BAR
    // (bar(6); its register at 0x30, 0x38 in a bridge): `bytes`, a power
    // of two long. Before the device is plugged.
    void set_rom(std::vector<uint8_t> bytes);
    std::string romfile;  // the name the ROM was loaded by (info qtree)
    uint16_t command() const { return get16(PCI_COMMAND); }
    unsigned pcie_cap() const { return pcie_cap_; }
    bool is_bridge() const { return (cfg_[PCI_HEADER_TYPE] & 0x7f) == 1; }
    // The bus behind a bridge (null for endpoints).
    virtual PciBus* secondary() { return nullptr; }

    // INTx: the device's interrupt pin (INTA..INTD) at `level`, unless
    // the guest disabled INTx; the status bit follows the line.
    void set_intx(bool level);
    // Message signalled interrupts: a write of `data` to `addr` as this
    // device (bus master required).
    void msi_write(uint64_t addr, uint32_t data);

    // Little-endian accessors of the configuration space (for subclasses
    // and tests).
    uint8_t get8(unsigned off) const { return cfg_[off]; }
    uint16_t get16(unsigned off) const { return static_cast<uint16_t>(cfg_[off] | cfg_[off + 1] << 8); }
    uint32_t get32(unsigned off) const { return get16(off) | static_cast<uint32_t>(get16(off + 2)) << 16; }

protected:
    void set8(unsigned off, uint8_t v) { cfg_[off] = v; }
    void set16(unsigned off, uint16_t v) { set8(off, static_cast<uint8_t>(v)), set8(off + 1, static_cast<uint8_t>(v >> 8)); }
    void set32(unsigned off, uint32_t v) { set16(off, static_cast<uint16_t>(v)), set16(off + 2, static_cast<uint16_t>(v >> 16)); }
    // The guest may write these bits (w) / clear them by writing 1 (w1c).
    void set_wmask16(unsigned off, uint16_t m) { wmask_[off] = static_cast<uint8_t>(m), wmask_[off + 1] = static_cast<uint8_t>(m >> 8); }
    void set_wmask32(unsigned off, uint32_t m) { set_wmask16(off, static_cast<uint16_t>(m)), set_wmask16(off + 2, static_cast<uint16_t>(m >> 16)); }
    void set_w1c16(unsigned off, uint16_t m) { w1cmask_[off] = static_cast<uint8_t>(m), w1cmask_[off + 1] = static_cast<uint8_t>(m >> 8); }

    // A BAR of `size` bytes (a power of two; I/O at least 4, memory at
    // least 16) served by `dev` at offsets from its base: the whole of it
    // (one block called `name`), or only `parts` (inside a region called
    // `name`, info mtree shows; none: QEMU's MSI-X BAR, "TYPE-msix").
    void add_bar(unsigned i, uint64_t size, BarKind kind, MmioDevice* dev, std::vector<BarPart> parts,
                 std::string name = "");
    // A capability of `len` bytes put in the first free dword-aligned
    // space from 0x40 (or from `at`) and linked at the head of the list
    // (QEMU's order); returns its offset.
    unsigned add_capability(uint8_t id, unsigned len, unsigned at = 0);
    // The PCI Express capability (version 2) of a device of this type.
    unsigned add_pcie_capability(PcieType type, unsigned at = 0);
    // An extended capability (PCIe, from 0x100), appended.
    unsigned add_ext_capability(uint16_t id, uint8_t version, unsigned len);
    // The configuration as it is right after construction, kept for reset.
    void snapshot_reset_state();
    // A change of the command register or a BAR: the host re-decodes.
    void bars_changed();
    // Decode BAR i (6: the ROM) from the registers (kUnmapped when
    // disabled or unset).
    uint64_t decode_bar(unsigned i) const;
    // The BARs' addresses (bar(i).addr) may have changed: a mapping the
    // device keeps of its own (doorbells) follows them.
    virtual void bars_moved() {}
    // The host bridge (null before the device is plugged).
    PciRoot* root() const;

    std::array<uint8_t, kConfigSize> cfg_{}, wmask_{}, w1cmask_{}, reset_cfg_{};

private:
    friend class PciBus;
    std::array<Bar, 7> bars_{};  // 6 BARs (bridges: 2), the ROM's
    class RomBar;
    std::shared_ptr<RomBar> rom_;
    std::vector<bool> used_ = std::vector<bool>(256, false);  // capability space in use
    unsigned last_ext_cap_ = 0, next_ext_ = 0x100;
    unsigned pcie_cap_ = 0;
    PciBus* bus_ = nullptr;
    uint8_t devfn_ = 0;
    bool intx_level_ = false;
};

// What a bus asks of the machine around it (the host bridge implements it).
class PciRoot {
public:
    virtual ~PciRoot() = default;
    // INTx: root-bus pin 0..3 of `slot` after swizzling, at `level`.
    virtual void intx(unsigned line, bool level) = 0;
    virtual void msi(uint64_t addr, uint32_t data, uint16_t requester_id) = 0;
    // A BAR, command or bridge window changed somewhere: decode again.
    virtual void remap() = 0;
    // Where a CPU reaches bus address `addr` of the I/O (io) or memory
    // space (PciDevice::kUnmapped: through no window).
    virtual uint64_t cpu_address(bool io, uint64_t addr) const = 0;
};

class PciBus {
public:
    PciBus(PciRoot& root, std::string name, PciDevice* bridge, bool express)
        : root_(root), name_(std::move(name)), bridge_(bridge), express_(express) {}
    const std::string& name() const { return name_; }  // "pcie.0", or the bridge's id
    PciRoot& root() { return root_; }
    PciDevice* bridge() const { return bridge_; }     // null on the root bus
    bool express() const { return express_; }
    // Bus number the guest gave it (the root bus is 0).
    unsigned number() const;

    PciDevice* device(uint8_t devfn) const { return slots_[devfn]; }
    // A free slot for a device that gave no addr (the first with no
    // function in use).
    int free_devfn() const;
    bool plug(PciDevice* d, uint8_t devfn);
    void unplug(uint8_t devfn) { slots_[devfn] = nullptr; }
    // Device `devfn` raised or lowered its pin (0 = INTA).
    void intx(uint8_t devfn, unsigned pin, bool level);
    template <typename F> void for_each(F&& f) const {
        for (PciDevice* d : slots_)
            if (d) f(*d);
    }

private:
    PciRoot& root_;
    std::string name_;
    PciDevice* bridge_;
    bool express_;
    std::array<PciDevice*, 256> slots_{};
};

// MSI-X (PCI 3.0 section 6.8.2): the table and pending bits in a BAR
// region, and the capability that points at them.
class Msix : public MmioDevice {
public:
    // `vectors` entries; the table at `table_off` and the PBA at `pba_off`
    // of its BAR; the capability in `dev`'s list at `cap`.
    void init(PciDevice& dev, unsigned cap, unsigned vectors, uint32_t table_off, uint32_t pba_off);
    // The table's and the PBA's blocks in their BAR, as QEMU names them.
    static std::vector<BarPart> parts(unsigned vectors, uint32_t table_off, uint32_t pba_off);
    unsigned vectors() const { return vectors_; }
    bool enabled() const;
    // Signal vector v (or remember it pending while masked).
    void notify(unsigned v);
    // The capability's control word changed (enable, function mask).
    void control_written();
    void reset_vectors();

    uint64_t read(uint64_t off, unsigned size) override;
    void write(uint64_t off, unsigned size, uint64_t value) override;

private:
    bool masked(unsigned v) const;
    void deliver_pending();
    PciDevice* dev_ = nullptr;
    unsigned cap_ = 0, vectors_ = 0;
    uint32_t table_off_ = 0, pba_off_ = 0;
    std::vector<uint8_t> table_;
    std::vector<uint64_t> pba_;
};

// QEMU's name for a PCI class code (base class and subclass) of a
// function armvm has ("SCSI controller"), or null.
const char* pci_class_name(uint16_t cls);

}  // namespace armvm
