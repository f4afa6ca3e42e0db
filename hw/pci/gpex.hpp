// The generic PCIe host bridge of QEMU's virt board ("gpex",
// pci-host-ecam-generic in the device tree): ECAM configuration space for
// 256 buses, a 32-bit and a 64-bit memory window and a 64 KiB I/O window
// mapped 1:1 (memory) and from 0 (I/O) onto the PCI bus, the host bridge
// function 1b36:0008 at 00:00.0, and INTA..INTD on four SPIs after the
// standard swizzle. Runs under the BQL. The BARs the guest places are
// regions of the address space, over the windows (which answer only where
// no BAR is: all-ones, writes dropped).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "hw/core/address_space.hpp"
#include "hw/pci/pci.hpp"

namespace armvm {

class PciHost : public PciRoot {
public:
    // `intx[i]` is the SPI line of INTA+i; `msi` delivers a message
    // signalled interrupt (address, data, requester ID) with the BQL held.
    PciHost(std::array<IrqLine, 4> intx, std::function<void(uint64_t, uint32_t, uint16_t)> msi);
    ~PciHost() override;

    PciBus& root_bus() { return root_bus_; }
    MmioDevice& ecam() { return ecam_; }
    // The windows, as regions of `as` (which the BARs then join): the
    // memory windows are 1:1 (bus address = CPU address), the I/O window
    // starts at bus address 0.
    void add_mmio_window(AddressSpace& as, uint64_t cpu_base, uint64_t size, std::string name);
    void add_pio_window(AddressSpace& as, uint64_t cpu_base, uint64_t size, std::string name);

    // The bus with this number as the guest numbered them (null: none).
    PciBus* find_bus(unsigned number);
    // Every bus, the root bus first (bridges' buses after it, depth first).
    std::vector<PciBus*> buses();

    void intx(unsigned line, bool level) override;
    void msi(uint64_t addr, uint32_t data, uint16_t requester_id) override { msi_(addr, data, requester_id); }
    void remap() override;
    uint64_t cpu_address(bool io, uint64_t addr) const override;
    void reset();  // machine reset: every function's configuration, then the lines

private:
    // A BAR's part inside one window, as a region of the address space.
    struct Map {
        uint64_t cpu_base, size;
        MmioDevice* dev;
        uint64_t dev_offset;
        std::string name;
        int shown_priority;
        uint64_t shown_offset;
        AddressSpace::RegionId id = 0;
        bool operator==(const Map& o) const {
            return cpu_base == o.cpu_base && size == o.size && dev == o.dev && dev_offset == o.dev_offset &&
                   name == o.name;
        }
    };
    class Ecam : public MmioDevice {
    public:
        explicit Ecam(PciHost& h) : h_(h) {}
        uint64_t read(uint64_t off, unsigned size) override;
        void write(uint64_t off, unsigned size, uint64_t value) override;

    private:
        PciHost& h_;
    };
    // Where no BAR is: reads are all-ones and writes vanish, at any size
    // (as on QEMU's virt: no abort).
    class Window : public MmioDevice {
    public:
        Window(bool io, uint64_t cpu_base, uint64_t bus_base, uint64_t size)
            : io(io), cpu_base(cpu_base), bus_base(bus_base), size(size) {}
        AccessSizes access_sizes(uint64_t) override { return {1, 8}; }
        uint64_t read(uint64_t, unsigned) override { return ~0ull; }
        void write(uint64_t, unsigned, uint64_t) override {}
        bool io;
        uint64_t cpu_base, bus_base, size;
    };
    class HostBridge;
    PciDevice* function_at(uint64_t ecam_off);

    PciBus root_bus_;
    std::unique_ptr<PciDevice> host_bridge_;
    Ecam ecam_;
    std::vector<std::unique_ptr<Window>> windows_;
    AddressSpace* as_ = nullptr;
    std::array<IrqLine, 4> intx_lines_;
    std::array<unsigned, 4> intx_count_{};
    std::function<void(uint64_t, uint32_t, uint16_t)> msi_;
    std::vector<Map> maps_;  // the BARs' regions now in the address space
};

}  // namespace armvm
