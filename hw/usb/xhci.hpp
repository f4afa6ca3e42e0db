// An xHCI USB host controller on PCI (xHCI 1.1, Intel 2013): QEMU's
// "qemu-xhci" (1b36:000d) with its register layout (capability,
// operational, port, runtime and doorbell registers in a 16 KiB BAR, MSI-X
// table and pending bits at 0x3000/0x3800), `p2` USB 2 and `p3` USB 3 root
// ports (the supported-protocol capabilities), 64 device slots and 16
// interrupters with their event rings, and the command ring.
//
// USB devices (hw/usb/usb.hpp) plug into its ports as into QEMU's: user
// port N is the Nth USB 3 port for a device that runs at SuperSpeed and
// the Nth USB 2 port for the others. The guest's driver resets and
// enables the port, addresses the device and configures its endpoints
// with the slot commands (Address Device, Configure Endpoint, Evaluate
// Context, Reset/Stop Endpoint, Set TR Dequeue Pointer, Reset Device),
// and rings the slot doorbells: control transfers (setup, data and status
// stages) and bulk and interrupt transfers run from the transfer rings to
// the device and back, with transfer events as xHCI 1.1 section 4.10 says
// (short packets, stalls halting the endpoint). An IN endpoint the device
// NAKs waits until the device has data (a key press).
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "hw/usb/usb.hpp"

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

    // The user-visible ports (QEMU's port=): as many as the larger of p2, p3.
    unsigned user_ports() const { return std::max(o_.p2, o_.p3); }
    bool port_used(unsigned port) const;
    // Plugs `dev` into user port `port` (1-based); the speed is chosen
    // here. QEMU's message if it cannot be.
    Status attach(UsbDevice* dev, unsigned port);
    // Unplugs it (the port reports the disconnection to the guest).
    void detach(UsbDevice* dev);
    // The USB address the guest gave it (its slot), 0 before that.
    unsigned address_of(const UsbDevice* dev) const;

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

    // Endpoint and slot states (xHCI 1.1 sections 6.2.3, 6.2.2).
    enum : unsigned { kEpDisabled = 0, kEpRunning = 1, kEpHalted = 2, kEpStopped = 3 };
    struct Endpoint {
        unsigned state = kEpDisabled;
        uint64_t dequeue = 0;
        bool cycle = false;
        bool waiting = false;  // an IN transfer the device NAKed
    };
    struct Slot {
        bool enabled = false;
        unsigned port = 0;     // xHCI port index + 1 of the device; 0: not addressed
        uint64_t ctx = 0;      // the output device context
        bool addressed = false;  // SET_ADDRESS done (Address Device without BSR)
        std::array<Endpoint, 32> ep{};  // by device context index (1: EP 0)
    };
    struct Trb {
        uint64_t addr, param;
        uint32_t status, control;
        unsigned type() const { return (control >> 10) & 0x3f; }
    };

    uint32_t read_reg(uint64_t off);
    void write_reg(uint64_t off, uint32_t v);
    void hc_reset();
    void write_usbcmd(uint32_t v);
    void write_portsc(unsigned port, uint32_t v);
    void write_runtime(unsigned intr, unsigned reg, uint32_t v);
    void run_command_ring();
    uint32_t slot_command(unsigned type, unsigned slot, const Trb& t);
    uint32_t address_device(unsigned slot, uint64_t input, bool bsr);
    uint32_t configure_endpoints(unsigned slot, uint64_t input, bool deconfigure);
    uint32_t evaluate_context(unsigned slot, uint64_t input);
    void set_ep_state(unsigned slot, unsigned dci, unsigned state);
    // Port status: a device attached or reset; the change event.
    void port_update(unsigned p);
    void port_reset(unsigned p, bool warm);
    void port_notify(unsigned p, uint32_t bits);
    UsbDevice* port_device(unsigned p) const { return p < port_dev_.size() ? port_dev_[p] : nullptr; }
    // The transfer ring of a slot's endpoint: its TDs, one by one.
    void run_endpoint(unsigned slot, unsigned dci);
    // The TRBs of the TD at the endpoint's dequeue pointer (a control
    // transfer's setup, data and status stages together); false if the
    // guest has not written all of it yet. `next`/`next_cycle`: after it.
    bool fetch_td(Endpoint& ep, bool control, std::vector<Trb>& td, uint64_t& next, bool& next_cycle);
    bool read_trb(uint64_t addr, Trb& t);
    void transfer_event(unsigned slot, unsigned dci, const Trb& t, uint32_t code, uint32_t residual, bool ed = false);
    // Transfer events of a TD that moved `moved` bytes (IN: what the device
    // gave; OUT: all).
    void complete_td(unsigned slot, unsigned dci, const std::vector<Trb>& td, size_t moved);
    void wake(UsbDevice* dev);
    // The device behind the slot, or null.
    UsbDevice* slot_device(unsigned slot) const;
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
    std::array<Slot, kSlots + 1> slots_{};
    std::vector<UsbDevice*> port_dev_;  // by xHCI port index
    uint64_t mfindex_start_ns_ = 0;
};

}  // namespace armvm
