// An xHCI USB host controller on PCI (xHCI 1.1, Intel 2013): QEMU's
// "qemu-xhci" (1b36:000d) with its register layout (capability,
// operational, port, runtime and doorbell registers in a 16 KiB BAR, MSI-X
// table and pending bits at 0x3000/0x3800), `p2` USB 2 and `p3` USB 3 root
// ports (the supported-protocol capabilities), 64 device slots and 16
// interrupters with their event rings, and the command ring.
//
// No USB devices plug into it yet: its ports stay empty (powered, nothing
// connected), so what the drivers do with it is what they do with an idle
// controller — reset, rings set up, run, port status read, commands such
// as No Op and Enable/Disable Slot completed. That is all libvirt's
// default aarch64 domain asks of the "usb" controller it always adds.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "hw/core/address_space.hpp"
#include "hw/pci/pci.hpp"

namespace armvm {

class Xhci : public PciDevice {
public:
    struct Options {
        unsigned p2 = 4, p3 = 4;     // USB 2 and USB 3 ports (at most 15 each, as QEMU)
        bool express = true;         // a PCI Express capability (on an express bus)
        bool root_complex = false;   // on the root bus: a root complex integrated endpoint
    };
    static constexpr unsigned kSlots = 64, kInterrupters = 16;
    static constexpr uint64_t kBarSize = 0x4000;

    Xhci(AddressSpace& as, Options o);
    std::string type_name() const override { return "qemu-xhci"; }
    void config_write(unsigned off, unsigned size, uint32_t value) override;
    void reset() override;

private:
    class Regs : public MmioDevice {
    public:
        explicit Regs(Xhci& x) : x_(x) {}
        uint64_t read(uint64_t off, unsigned size) override;
        void write(uint64_t off, unsigned size, uint64_t value) override;

    private:
        Xhci& x_;
    };
    struct Interrupter {
        uint32_t iman = 0, imod = 0, erstsz = 0;
        uint64_t erstba = 0, erdp = 0;
        // The event ring's producer: segment, index in it, cycle state.
        unsigned seg = 0, idx = 0;
        bool pcs = true;
    };

    uint32_t read_reg(uint64_t off);
    void write_reg(uint64_t off, uint32_t v);
    void hc_reset();
    void write_usbcmd(uint32_t v);
    void write_portsc(unsigned port, uint32_t v);
    void write_runtime(unsigned intr, unsigned reg, uint32_t v);
    void run_command_ring();
    // An event TRB on interrupter `intr`'s ring, and the interrupt.
    void post_event(unsigned intr, uint64_t param, uint32_t status, uint32_t control);
    void update_interrupt(unsigned intr);
    bool dma_read(uint64_t pa, void* out, size_t len);
    bool dma_write(uint64_t pa, const void* in, size_t len);
    unsigned ports() const { return o_.p2 + o_.p3; }
    uint32_t mfindex() const;

    AddressSpace& as_;
    Options o_;
    Regs regs_{*this};
    Msix msix_;
    unsigned msix_cap_ = 0;

    uint32_t usbcmd_ = 0, usbsts_ = 0, dnctrl_ = 0, config_ = 0;
    uint64_t crcr_ = 0, dcbaap_ = 0;
    uint64_t cmd_dequeue_ = 0;
    bool cmd_cycle_ = false;
    std::vector<uint32_t> portsc_, portpmsc_, portli_, porthlpmc_;
    std::array<Interrupter, kInterrupters> intr_{};
    std::array<bool, kSlots + 1> slot_enabled_{};
    uint64_t mfindex_start_ns_ = 0;
};

}  // namespace armvm
