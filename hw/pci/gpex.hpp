// The generic PCIe host bridge of QEMU's virt board ("gpex",
// pci-host-ecam-generic in the device tree): ECAM configuration space for
// 256 buses, a 32-bit and a 64-bit memory window and a 64 KiB I/O window
// mapped 1:1 (memory) and from 0 (I/O) onto the PCI bus, the host bridge
// function 1b36:0008 at 00:00.0, and INTA..INTD on four SPIs after the
// standard swizzle. Runs under the BQL.
#pragma once
#include <functional>
#include <memory>
#include <vector>

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
    // A window of the memory space seen at CPU address `cpu_base` (the
    // 32-bit and the 64-bit windows are 1:1: bus address = CPU address).
    MmioDevice& mmio_window(uint64_t cpu_base);
    MmioDevice& pio_window() { return pio_; }

    // The bus with this number as the guest numbered them (null: none).
    PciBus* find_bus(unsigned number);
    // Every bus, the root bus first (bridges' buses after it, depth first).
    std::vector<PciBus*> buses();

    void intx(unsigned line, bool level) override;
    void msi(uint64_t addr, uint32_t data, uint16_t requester_id) override { msi_(addr, data, requester_id); }
    void remap() override;
    void reset();  // machine reset: every function's configuration, then the lines

private:
    struct Map {
        uint64_t base, size;
        MmioDevice* dev;
    };
    class Ecam : public MmioDevice {
    public:
        explicit Ecam(PciHost& h) : h_(h) {}
        uint64_t read(uint64_t off, unsigned size) override;
        void write(uint64_t off, unsigned size, uint64_t value) override;

    private:
        PciHost& h_;
    };
    class Window : public MmioDevice {
    public:
        Window(PciHost& h, bool io, uint64_t bus_base) : h_(h), io_(io), bus_base_(bus_base) {}
        AccessSizes access_sizes(uint64_t off) override;
        uint64_t read(uint64_t off, unsigned size) override { return read_by(off, size, {}); }
        void write(uint64_t off, unsigned size, uint64_t value) override { write_by(off, size, value, {}); }
        uint64_t read_by(uint64_t off, unsigned size, MemAttrs who) override;
        void write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs who) override;

    private:
        const Map* find(uint64_t off, unsigned size) const;
        PciHost& h_;
        bool io_;
        uint64_t bus_base_;
    };
    class HostBridge;
    PciDevice* function_at(uint64_t ecam_off);

    PciBus root_bus_;
    std::unique_ptr<PciDevice> host_bridge_;
    Ecam ecam_;
    std::vector<std::unique_ptr<Window>> windows_;
    Window pio_;
    std::array<IrqLine, 4> intx_lines_;
    std::array<unsigned, 4> intx_count_{};
    std::function<void(uint64_t, uint32_t, uint16_t)> msi_;
    std::vector<Map> mem_, io_;  // decoded BARs, sorted by address
};

}  // namespace armvm
