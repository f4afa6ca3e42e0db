#include "hw/virtio/virtio_mmio.hpp"

#include <algorithm>
#include <cinttypes>
#include <utility>

#include "base/trace.hpp"

namespace armvm {

namespace {

// Register offsets (virtio 1.1 table 4.1; the legacy ones from 4.2.4).
enum : uint64_t {
    MagicValue = 0x000, Version = 0x004, DeviceID = 0x008, VendorID = 0x00c, DeviceFeatures = 0x010,
    DeviceFeaturesSel = 0x014, DriverFeatures = 0x020, DriverFeaturesSel = 0x024, GuestPageSize = 0x028,
    QueueSel = 0x030, QueueNumMax = 0x034, QueueNum = 0x038, QueueAlign = 0x03c, QueuePFN = 0x040,
    QueueReady = 0x044, QueueNotify = 0x050, InterruptStatus = 0x060, InterruptACK = 0x064, Status = 0x070,
    QueueDescLow = 0x080, QueueDescHigh = 0x084, QueueDriverLow = 0x090, QueueDriverHigh = 0x094,
    QueueDeviceLow = 0x0a0, QueueDeviceHigh = 0x0a4, ConfigGeneration = 0x0fc, Config = 0x100,
};
constexpr uint32_t kMagic = 0x74726976;   // "virt"
constexpr uint32_t kVendorQemu = 0x554d4551;  // "QEMU", as QEMU's transports say
constexpr uint32_t kStatusDriverOk = 4, kStatusDeviceNeedsReset = 0x40;

void set_low(uint64_t& v, uint64_t x) { v = (v & ~0xffffffffull) | (x & 0xffffffffull); }
void set_high(uint64_t& v, uint64_t x) { v = (v & 0xffffffffull) | (x << 32); }

}  // namespace

VirtioMmio::VirtioMmio(AddressSpace& as, IrqLine irq, bool legacy) : as_(as), irq_(std::move(irq)), legacy_(legacy) {}

VirtioMmio::~VirtioMmio() {
    for (uint64_t id : ioevent_)
        if (id) io_->unbind(id, false);
}

void VirtioMmio::plug(std::unique_ptr<VirtioDevice> dev) {
    dev_ = std::move(dev);
    dev_->transport = this;
    queues_.assign(dev_->num_queues(), VirtQueue{});
    ioevent_.assign(dev_->num_queues(), 0);
    legacy_pfn_.assign(dev_->num_queues(), 0);
    legacy_align_.assign(dev_->num_queues(), 0);
}

uint64_t VirtioMmio::offered() const {
    if (!dev_) return 0;
    uint64_t f = dev_->device_features() | kVirtioRingIndirectDesc;
    if (!legacy_) f |= kVirtioVersion1;
    return f;
}

void VirtioMmio::update_irq() {
    ARMVM_TRACE(virtio_mmio_setting_irq, "virtio_mmio setting IRQ %d", int_status_ != 0 ? 1 : 0);
    irq_.set(int_status_ != 0);
}

uint64_t VirtioMmio::read(uint64_t off, unsigned size) {
    ARMVM_TRACE(virtio_mmio_read, "virtio_mmio_read offset 0x%" PRIx64, off);
    if (off >= Config) return dev_ ? dev_->config_read(off - Config, size) : 0;
    if (size != 4) return 0;  // (registers are 32-bit; other widths read as zero)
    switch (off) {
    case MagicValue: return kMagic;
    case Version: return legacy_ ? 1 : 2;
    case DeviceID: return dev_ ? dev_->device_id() : 0;
    case VendorID: return kVendorQemu;
    }
    if (!dev_) return 0;
    switch (off) {
    case DeviceFeatures: return host_sel_ < 2 ? static_cast<uint32_t>(offered() >> (32 * host_sel_)) : 0;
    case QueueNumMax: return selected() ? dev_->queue_max() : 0;
    case QueuePFN: return legacy_ && selected() ? legacy_pfn_[queue_sel_] : 0;
    case QueueReady: return !legacy_ && selected() ? selected()->ready : 0;
    case InterruptStatus: return int_status_;
    case Status: return status_;
    case ConfigGeneration: return legacy_ ? 0 : config_generation_;
    default: return 0;
    }
}

void VirtioMmio::write(uint64_t off, unsigned size, uint64_t value) {
    ARMVM_TRACE(virtio_mmio_write_offset, "virtio_mmio_write offset 0x%" PRIx64 " value 0x%" PRIx64, off, value);
    if (!dev_) return;
    if (off >= Config) {
        dev_->config_write(off - Config, size, value);
        return;
    }
    if (size != 4) return;
    uint32_t v = static_cast<uint32_t>(value);
    VirtQueue* q = selected();
    switch (off) {
    case DeviceFeaturesSel: host_sel_ = v; break;
    case DriverFeaturesSel: guest_sel_ = v; break;
    case DriverFeatures:
        if (guest_sel_ < 2) {
            uint64_t mask = 0xffffffffull << (32 * guest_sel_);
            driver_features_ = (driver_features_ & ~mask) | ((static_cast<uint64_t>(v) << (32 * guest_sel_)) & mask);
            driver_features_ &= offered();  // (a driver cannot accept what was not offered)
        }
        break;
    case GuestPageSize:
        if (legacy_) guest_page_size_ = v;
        break;
    case QueueSel: queue_sel_ = v; break;
    case QueueNum:
        if (q && v <= dev_->queue_max() && (v & (v - 1)) == 0) {
            q->num = v;
            if (legacy_) update_legacy_addresses(*q);
        }
        break;
    case QueueAlign:
        if (legacy_ && q) {
            legacy_align_[queue_sel_] = v;
            update_legacy_addresses(*q);
        }
        break;
    case QueuePFN:
        if (legacy_ && q) {
            if (v == 0) {
                q->reset();  // (the legacy way to release a queue)
                legacy_pfn_[queue_sel_] = 0;
            } else {
                legacy_pfn_[queue_sel_] = v;
                update_legacy_addresses(*q);
            }
            sync_ioevents();
        }
        break;
    case QueueReady:
        if (!legacy_ && q) q->ready = v & 1;
        sync_ioevents();
        break;
    case QueueDescLow: if (!legacy_ && q) set_low(q->desc, v); break;
    case QueueDescHigh: if (!legacy_ && q) set_high(q->desc, v); break;
    case QueueDriverLow: if (!legacy_ && q) set_low(q->avail, v); break;
    case QueueDriverHigh: if (!legacy_ && q) set_high(q->avail, v); break;
    case QueueDeviceLow: if (!legacy_ && q) set_low(q->used, v); break;
    case QueueDeviceHigh: if (!legacy_ && q) set_high(q->used, v); break;
    case QueueNotify:
        queue_notify(v);
        break;
    case InterruptACK:
        int_status_ &= ~v;
        update_irq();
        break;
    case Status:
        ARMVM_TRACE(virtio_set_status, "vdev %p val %u", static_cast<void*>(dev_.get()), v);
        if (v == 0) {
            device_reset();
        } else {
            status_ = v;
            sync_ioevents();
        }
        break;
    default: break;
    }
}

void VirtioMmio::queue_notify(uint32_t v) {
    // A set-up queue is served even before DRIVER_OK, as QEMU does:
    // Linux's balloon kicks its statistics queue during probe.
    if (!dev_ || v >= dev_->num_queues() || !queues_[v].ready) return;
    ARMVM_TRACE(virtio_queue_notify, "vdev %p n %d vq %p", static_cast<void*>(dev_.get()), v, static_cast<void*>(&queues_[v]));
    dev_->queue_notify(v);
    if (queues_[v].broken()) {  // the driver broke the ring: tell it
        status_ |= kStatusDeviceNeedsReset;
        notify_config();
        sync_ioevents();
    }
}

// The doorbells while the driver says DRIVER_OK, for its ready queues (a
// doorbell that goes first serves a kick still pending).
void VirtioMmio::sync_ioevents() {
    if (!io_ || !dev_) return;
    bool on = (status_ & kStatusDriverOk) && !(status_ & kStatusDeviceNeedsReset);
    for (uint32_t i = 0; i < ioevent_.size(); ++i) {
        bool want = on && queues_[i].ready && !queues_[i].broken();
        if (ioevent_[i] && !want) io_->unbind(std::exchange(ioevent_[i], 0), true);
        if (want && !ioevent_[i]) ioevent_[i] = io_->bind(base_ + QueueNotify, [this, i] { queue_notify(i); }, DoorbellMatch{i, 4});
    }
}

// Legacy layout (virtio 0.9.5 / 1.1 section 2.6.2): the descriptor table
// at PFN * page size, the available ring after it, the used ring at the
// next QueueAlign boundary.
void VirtioMmio::update_legacy_addresses(VirtQueue& q) {
    unsigned i = queue_sel_;
    if (!legacy_pfn_[i] || !q.num) return;
    uint64_t page = guest_page_size_ ? guest_page_size_ : 4096;
    uint64_t align = legacy_align_[i] ? legacy_align_[i] : 4096;
    q.desc = static_cast<uint64_t>(legacy_pfn_[i]) * page;
    q.avail = q.desc + 16ull * q.num;
    uint64_t avail_end = q.avail + 4 + 2ull * q.num + 2;
    q.used = (avail_end + align - 1) / align * align;
    q.ready = true;
}

void VirtioMmio::notify_used(unsigned q) {
    if (q < queues_.size() && queues_[q].interrupt_suppressed(as_)) return;
    ARMVM_TRACE(virtio_notify, "vdev %p vq %p", static_cast<void*>(dev_.get()), static_cast<void*>(&queues_[q]));
    int_status_ |= 1;
    update_irq();
}

void VirtioMmio::notify_config() {
    ++config_generation_;
    int_status_ |= 2;
    update_irq();
}

// What every reset clears: the device, its queues, the negotiation.
void VirtioMmio::clear_state() {
    uint32_t was = std::exchange(status_, 0);
    sync_ioevents();  // (pending kicks served before the queues go)
    status_ = was;
    if (dev_) dev_->reset();
    for (auto& q : queues_) q.reset();
    std::fill(legacy_pfn_.begin(), legacy_pfn_.end(), 0);
    std::fill(legacy_align_.begin(), legacy_align_.end(), 0);
    status_ = int_status_ = queue_sel_ = host_sel_ = guest_sel_ = 0;
    driver_features_ = 0;
}

// The driver's reset (Status = 0); the legacy guest page size stays (a
// driver sets it once).
void VirtioMmio::device_reset() {
    clear_state();
    update_irq();
}

// A machine reset: the page size too; the line drops in the hold phase.
void VirtioMmio::reset_enter() {
    clear_state();
    guest_page_size_ = 0;
}

void VirtioMmio::reset_hold() { irq_.set(false); }

}  // namespace armvm
