// The virtio-mmio transport (virtio 1.1 section 4.2): QEMU's virt board has
// 32 of them at 0x0a000000 (0x200 apart, SPI 16 + slot). Version 1 (the
// legacy register layout: guest page size, queue PFN and alignment) is
// QEMU's default (virtio-mmio.force-legacy=on); version 2 with
// force-legacy=off. A slot without a device answers DeviceID 0.
#pragma once
#include <memory>
#include <vector>

#include "hw/core/ioevents.hpp"
#include "hw/core/mmio.hpp"
#include "hw/virtio/virtio.hpp"

namespace armvm {

class VirtioMmio : public MmioDevice, public VirtioTransport {
public:
    VirtioMmio(AddressSpace& as, IrqLine irq, bool legacy);
    ~VirtioMmio() override;
    void plug(std::unique_ptr<VirtioDevice> dev);
    // Doorbells (under KVM, as QEMU's ioeventfd=on): while the driver is
    // ready, QueueNotify (at `base` + 0x50) writes of an enabled queue's
    // index ring that queue's doorbell (hw/core/ioevents.hpp).
    void use_ioevents(IoEvents* io, uint64_t base) { io_ = io, base_ = base; }
    VirtioDevice* device() { return dev_.get(); }

    // Registers in words (QEMU's: a narrower access reads or writes the
    // word at its offset); the configuration space takes any size.
    AccessSizes access_sizes(uint64_t offset) override { return {offset >= 0x100 ? 1u : 4u, 4}; }
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void reset_enter() override;
    void reset_hold() override;

    AddressSpace& memory() override { return as_; }
    VirtQueue& queue(unsigned q) override { return queues_[q]; }
    uint64_t negotiated_features() const override { return driver_features_; }
    void notify_used(unsigned q) override;
    void notify_config() override;

private:
    uint64_t offered() const;
    void clear_state();
    void device_reset();
    void update_legacy_addresses(VirtQueue& q);
    void update_irq();
    void queue_notify(uint32_t q);
    void sync_ioevents();
    VirtQueue* selected() { return dev_ && queue_sel_ < dev_->num_queues() ? &queues_[queue_sel_] : nullptr; }

    AddressSpace& as_;
    IrqLine irq_;
    bool legacy_;
    std::unique_ptr<VirtioDevice> dev_;
    // One entry per queue of the plugged device.
    std::vector<VirtQueue> queues_;
    std::vector<uint32_t> legacy_pfn_, legacy_align_;
    uint32_t status_ = 0, int_status_ = 0, queue_sel_ = 0, host_sel_ = 0, guest_sel_ = 0;
    uint32_t guest_page_size_ = 0, config_generation_ = 0;
    uint64_t driver_features_ = 0;
    IoEvents* io_ = nullptr;
    uint64_t base_ = 0;
    std::vector<uint64_t> ioevent_;  // per queue: its doorbell's id (0: none)
};

}  // namespace armvm
