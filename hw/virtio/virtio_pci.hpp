// The virtio PCI transport (virtio 1.1 section 4.1) as QEMU lays it out:
// the modern interface in a 16 KiB 64-bit prefetchable BAR 4 (common
// configuration, ISR, device configuration and notifications, 4 KiB each,
// found through vendor-specific capabilities), MSI-X in BAR 1 (a vector
// per the device's default, the configuration vector first), INTA#, and
// on a conventional slot of the root bus the transitional device's legacy
// I/O BAR 0 (disable-legacy=auto). Behind a PCIe port the device is
// modern only, with the PCI Express and power management capabilities.
#pragma once
#include <memory>
#include <vector>

#include "hw/core/ioevents.hpp"
#include "hw/pci/pci.hpp"
#include "hw/virtio/virtio.hpp"

namespace armvm {

class VirtioPci : public PciDevice, public VirtioTransport {
public:
    struct Options {
        bool modern_only = false;   // disable-legacy=on (always on a PCIe port)
        bool express = false;       // behind a PCIe port: PCIe + PM capabilities
        unsigned vectors = 0;       // MSI-X vectors (0: none, INTx only)
        // ioeventfd=on (QEMU's default; used under KVM): the queue-notify addresses
        // (modern, and the legacy register with the queue's index as
        // data) become doorbells served on the main loop while the driver
        // is ready (null: the vCPU's write reaches the device).
        IoEvents* ioevents = nullptr;
    };
    VirtioPci(AddressSpace& as, std::unique_ptr<VirtioDevice> dev, Options o);
    ~VirtioPci() override;

    std::string type_name() const override;
    VirtioDevice& device() { return *dev_; }
    const Options& options() const { return o_; }

    uint32_t config_read(unsigned off, unsigned size) override;
    void config_write(unsigned off, unsigned size, uint32_t value) override;
    void reset() override;

    AddressSpace& memory() override { return as_; }
    VirtQueue& queue(unsigned q) override { return queues_[q].vq; }
    uint64_t negotiated_features() const override { return driver_features_; }
    void notify_used(unsigned q) override;
    void notify_config() override;

private:
    struct Queue {
        VirtQueue vq;
        uint16_t vector = kNoVector;
        uint16_t size = 0;  // the driver's queue_size (the maximum until written)
        uint64_t ioevent = 0, ioevent_pa = 0;  // its doorbell (IoEvents id) and where
        uint64_t legacy_ioevent = 0, legacy_pa = 0;  // the same in the legacy I/O BAR
    };
    static constexpr uint16_t kNoVector = 0xffff;
    // BAR 4's four regions.
    class Modern : public MmioDevice {
    public:
        explicit Modern(VirtioPci& p) : p_(p) {}
        uint64_t read(uint64_t off, unsigned size) override;
        void write(uint64_t off, unsigned size, uint64_t value) override;

    private:
        VirtioPci& p_;
    };
    // BAR 0: the legacy (virtio 0.9.5) register block.
    class Legacy : public MmioDevice {
    public:
        explicit Legacy(VirtioPci& p) : p_(p) {}
        uint64_t read(uint64_t off, unsigned size) override;
        void write(uint64_t off, unsigned size, uint64_t value) override;

    private:
        VirtioPci& p_;
    };

    uint64_t offered() const;
    uint64_t common_read(uint64_t off, unsigned size);
    void common_write(uint64_t off, unsigned size, uint64_t v);
    void set_status(uint8_t s);
    void device_reset();
    void interrupt(uint16_t vector, uint8_t isr_bit);
    void queue_notify(unsigned q);
    void bars_moved() override { sync_ioevents(); }
    // The doorbells as the driver's state and BAR 4 want them now.
    void sync_ioevents();
    Queue* selected() { return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr; }
    unsigned legacy_config_offset() const { return msix_.enabled() ? 24 : 20; }

    AddressSpace& as_;
    std::unique_ptr<VirtioDevice> dev_;
    Options o_;
    Modern modern_{*this};
    Legacy legacy_{*this};
    Msix msix_;
    unsigned msix_cap_ = 0, pci_cfg_cap_ = 0;
    std::vector<Queue> queues_;
    uint64_t driver_features_ = 0;
    uint32_t dfselect_ = 0, gfselect_ = 0;
    uint16_t queue_sel_ = 0, config_vector_ = kNoVector;
    uint8_t status_ = 0, isr_ = 0, config_generation_ = 0;
};

}  // namespace armvm
