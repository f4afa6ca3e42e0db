#include "hw/virtio/virtio_pci.hpp"

#include <cstring>
#include <utility>

#include "base/trace.hpp"

namespace armvm {

namespace {

// Modern BAR layout (QEMU's): four 4 KiB regions.
constexpr uint64_t kCommon = 0x0000, kIsr = 0x1000, kDevice = 0x2000, kNotify = 0x3000, kRegion = 0x1000;
constexpr uint32_t kNotifyMultiplier = 4;
constexpr unsigned kModernBar = 4, kMsixBar = 1, kLegacyBar = 0;
// Capability cfg_type values (virtio 1.1 section 4.1.4).
enum : uint8_t { kCapCommon = 1, kCapNotify = 2, kCapIsr = 3, kCapDevice = 4, kCapPci = 5 };
constexpr uint8_t kStatusDriverOk = 4, kStatusFeaturesOk = 8, kStatusNeedsReset = 0x40;

// Common configuration (virtio 1.1 section 4.1.4.3).
enum : uint64_t {
    DeviceFeatureSelect = 0x00, DeviceFeature = 0x04, DriverFeatureSelect = 0x08, DriverFeature = 0x0c,
    MsixConfig = 0x10, NumQueues = 0x12, DeviceStatus = 0x14, ConfigGeneration = 0x15, QueueSelect = 0x16,
    QueueSize = 0x18, QueueMsixVector = 0x1a, QueueEnable = 0x1c, QueueNotifyOff = 0x1e, QueueDesc = 0x20,
    QueueDriver = 0x28, QueueDevice = 0x30,
};

// The legacy register block (virtio 0.9.5 / 1.1 section 4.1.4.8).
enum : uint64_t {
    LHostFeatures = 0x00, LGuestFeatures = 0x04, LQueuePfn = 0x08, LQueueNum = 0x0c, LQueueSel = 0x0e,
    LQueueNotify = 0x10, LStatus = 0x12, LIsr = 0x13, LConfigVector = 0x14, LQueueVector = 0x16,
};

struct Ids {
    uint16_t transitional;
    uint32_t class_code;
};
// QEMU's class codes and transitional device IDs per virtio device type.
Ids ids_for(uint32_t virtio_id) {
    switch (virtio_id) {
    case 1: return {0x1000, 0x020000};  // net: Ethernet controller
    case 2: return {0x1001, 0x010000};  // blk: SCSI storage controller
    case 3: return {0x1003, 0x078000};  // console: communication controller
    case 4: return {0x1005, 0x00ff00};  // rng
    case 5: return {0x1002, 0x00ff00};  // balloon
    default: return {0, 0x00ff00};
    }
}

// The legacy BAR: the 24-byte header and the device configuration,
// rounded up to a power of two as QEMU sizes it.
uint64_t legacy_bar_size(uint32_t virtio_id) {
    switch (virtio_id) {
    case 1: return 0x20;  // net
    case 2: return 0x80;  // blk
    case 4: return 0x20;  // rng
    default: return 0x40;  // console, balloon
    }
}

void set_low(uint64_t& v, uint64_t x) { v = (v & ~0xffffffffull) | (x & 0xffffffffull); }
void set_high(uint64_t& v, uint64_t x) { v = (v & 0xffffffffull) | (x << 32); }

}  // namespace

VirtioPci::VirtioPci(AddressSpace& as, std::unique_ptr<VirtioDevice> dev, Options o)
    : PciDevice(kPciVendorVirtio,
                static_cast<uint16_t>(o.modern_only ? 0x1040 + dev->device_id() : ids_for(dev->device_id()).transitional),
                ids_for(dev->device_id()).class_code, o.modern_only ? 1 : 0),
      as_(as),
      dev_(std::move(dev)),
      o_(o) {
    dev_->transport = this;
    queues_.resize(dev_->num_queues());
    set16(PCI_SUBSYSTEM_VENDOR_ID, kPciVendorVirtio);
    // (a modern-only device keeps QEMU's default subsystem ID)
    set16(PCI_SUBSYSTEM_ID, static_cast<uint16_t>(o.modern_only ? 0x1100 : dev_->device_id()));
    set8(PCI_INTERRUPT_PIN, 1);  // INTA#
    if (o.express) {
        add_pcie_capability(PcieType::Endpoint);
        unsigned pm = add_capability(PCI_CAP_ID_PM, 8);
        set16(pm + 2, 0x0003);      // PMC: version 3
        set_wmask16(pm + 4, 0x0003);  // PMCSR: the power state
    }
    if (!o.modern_only) {
        // The legacy register block and the device configuration after it,
        // rounded up to a power of two (at least what QEMU gives).
        add_bar(kLegacyBar, legacy_bar_size(dev_->device_id()), BarKind::Io, &legacy_, {}, "virtio-pci");
    }
    if (o.vectors) {
        add_bar(kMsixBar, 0x1000, BarKind::Mem32, &msix_, Msix::parts(o.vectors, 0, 0x800));
    }
    // The modern structures, named as QEMU's ("virtio-pci-common-virtio-blk").
    std::string vdev = dev_->name();
    if (vdev.ends_with("-device")) vdev.resize(vdev.size() - 7);
    add_bar(kModernBar, 4 * kRegion, BarKind::Mem64Pref, &modern_,
            {{"virtio-pci-common-" + vdev, kCommon, kRegion},
             {"virtio-pci-isr-" + vdev, kIsr, kRegion},
             {"virtio-pci-device-" + vdev, kDevice, kRegion},
             {"virtio-pci-notify-" + vdev, kNotify, kRegion}},
            "virtio-pci");
    auto vendor_cap = [&](uint8_t type, uint64_t offset, uint32_t length, unsigned len) {
        unsigned c = add_capability(PCI_CAP_ID_VNDR, len);
        set8(c + 2, static_cast<uint8_t>(len));
        set8(c + 3, type);
        set8(c + 4, type == kCapPci ? 0 : kModernBar);
        set32(c + 8, static_cast<uint32_t>(offset));
        set32(c + 12, length);
        return c;
    };
    vendor_cap(kCapCommon, kCommon, kRegion, 16);
    vendor_cap(kCapIsr, kIsr, kRegion, 16);
    vendor_cap(kCapDevice, kDevice, kRegion, 16);
    unsigned n = vendor_cap(kCapNotify, kNotify, kRegion, 20);
    set32(n + 16, kNotifyMultiplier);
    pci_cfg_cap_ = vendor_cap(kCapPci, 0, 0, 20);
    wmask_[pci_cfg_cap_ + 4] = 0xff;  // bar
    set_wmask32(pci_cfg_cap_ + 8, 0xffffffff);   // offset
    set_wmask32(pci_cfg_cap_ + 12, 0xffffffff);  // length
    set_wmask32(pci_cfg_cap_ + 16, 0xffffffff);  // data
    if (o.vectors) {
        msix_cap_ = add_capability(PCI_CAP_ID_MSIX, 12);
        set16(msix_cap_ + 2, static_cast<uint16_t>(o.vectors - 1));  // table size - 1
        set_wmask16(msix_cap_ + 2, 0xc000);                          // enable, function mask
        set32(msix_cap_ + 4, kMsixBar);                              // table at offset 0 of BAR 1
        set32(msix_cap_ + 8, 0x800 | kMsixBar);                      // PBA at 0x800
        msix_.init(*this, msix_cap_, o.vectors, 0, 0x800);
    }
    snapshot_reset_state();
}

VirtioPci::~VirtioPci() {
    if (o_.ioevents)
        for (auto& q : queues_)
            for (uint64_t id : {q.ioevent, q.legacy_ioevent})
                if (id) o_.ioevents->unbind(id, false);
}

// As QEMU's virtio-pci: the doorbells are on while the driver says
// DRIVER_OK, for the queues it enabled, at BAR 4 as it is mapped now. A
// doorbell that goes (reset, a moved BAR) first serves a kick still
// pending.
void VirtioPci::sync_ioevents() {
    if (!o_.ioevents) return;
    uint64_t base = bar(kModernBar).addr;
    // The legacy BAR's notify register: where the CPU reaches it through
    // the host's I/O window (a 2-byte write of the queue's index).
    uint64_t legacy = kUnmapped;
    if (!o_.modern_only && bar(kLegacyBar).addr != kUnmapped && root())
        legacy = root()->cpu_address(true, bar(kLegacyBar).addr + LQueueNotify);
    bool ok = (status_ & kStatusDriverOk) && !(status_ & kStatusNeedsReset);
    for (unsigned i = 0; i < queues_.size(); ++i) {
        Queue& q = queues_[i];
        bool ready = ok && q.vq.ready && !q.vq.broken();
        auto sync = [&](uint64_t& id, uint64_t& at, uint64_t pa, std::optional<DoorbellMatch> match) {
            bool want = ready && pa != kUnmapped;
            if (id && (!want || at != pa)) o_.ioevents->unbind(std::exchange(id, 0), true);
            if (want && !id) {
                id = o_.ioevents->bind(pa, [this, i] { queue_notify(i); }, match);
                at = pa;
            }
        };
        sync(q.ioevent, q.ioevent_pa, base == kUnmapped ? kUnmapped : base + kNotify + uint64_t{i} * kNotifyMultiplier,
             std::nullopt);
        sync(q.legacy_ioevent, q.legacy_pa, legacy, DoorbellMatch{i, 2});
    }
}

std::string VirtioPci::type_name() const {
    std::string n = dev_->name();  // "virtio-blk-device"
    return n.substr(0, n.size() - 7) + "-pci";
}

uint64_t VirtioPci::offered() const { return dev_->device_features() | kVirtioRingIndirectDesc | kVirtioVersion1; }

void VirtioPci::config_write(unsigned off, unsigned size, uint32_t value) {
    uint16_t old_msix = msix_cap_ ? get16(msix_cap_ + 2) : 0;
    PciDevice::config_write(off, size, value);
    if (msix_cap_ && get16(msix_cap_ + 2) != old_msix) msix_.control_written();
    // VIRTIO_PCI_CAP_PCI_CFG: the data window reaches the BAR named in the
    // capability (virtio 1.1 section 4.1.4.7).
    unsigned data = pci_cfg_cap_ + 16;
    if (off >= data && off < data + 4) {
        uint32_t len = get32(pci_cfg_cap_ + 12), at = get32(pci_cfg_cap_ + 8);
        if (get8(pci_cfg_cap_ + 4) == kModernBar && (len == 1 || len == 2 || len == 4))
            modern_.write(at, len, get32(data));
    }
}

uint32_t VirtioPci::config_read(unsigned off, unsigned size) {
    unsigned data = pci_cfg_cap_ + 16;
    if (off == data && size == 4) {
        uint32_t len = get32(pci_cfg_cap_ + 12), at = get32(pci_cfg_cap_ + 8);
        if (get8(pci_cfg_cap_ + 4) == kModernBar && (len == 1 || len == 2 || len == 4))
            return static_cast<uint32_t>(modern_.read(at, len));
    }
    return PciDevice::config_read(off, size);
}

void VirtioPci::reset() {
    PciDevice::reset();
    msix_.reset_vectors();
    device_reset();
}

void VirtioPci::device_reset() {
    uint8_t was = std::exchange(status_, 0);
    sync_ioevents();  // (pending kicks served before the queues go)
    status_ = was;
    dev_->reset();
    for (auto& q : queues_) {
        q.vq.reset();
        q.vector = kNoVector;
        q.size = static_cast<uint16_t>(dev_->queue_max());
    }
    driver_features_ = 0;
    dfselect_ = gfselect_ = 0;
    queue_sel_ = 0;
    config_vector_ = kNoVector;
    status_ = 0;
    isr_ = 0;
    set_intx(false);
}

void VirtioPci::set_status(uint8_t s) {
    ARMVM_TRACE(virtio_set_status, "vdev %p val %u", static_cast<void*>(dev_.get()), s);
    if (s == 0) {
        device_reset();
        return;
    }
    // FEATURES_OK holds only if the driver accepted what the transport needs.
    if ((s & kStatusFeaturesOk) && !(status_ & kStatusFeaturesOk) && !(driver_features_ & kVirtioVersion1) &&
        o_.modern_only)
        s &= static_cast<uint8_t>(~kStatusFeaturesOk);
    status_ = s;
    sync_ioevents();
}

// An interrupt for the driver: MSI-X vector `vector` when MSI-X is on,
// else the ISR bit and INTA#.
void VirtioPci::interrupt(uint16_t vector, uint8_t isr_bit) {
    if (msix_.enabled()) {
        if (vector != kNoVector) msix_.notify(vector);
        return;
    }
    isr_ |= isr_bit;
    set_intx(true);
}

void VirtioPci::notify_used(unsigned q) {
    if (q >= queues_.size() || queues_[q].vq.interrupt_suppressed(as_)) return;
    ARMVM_TRACE(virtio_notify, "vdev %p vq %p", static_cast<void*>(dev_.get()), static_cast<void*>(&queues_[q].vq));
    interrupt(queues_[q].vector, 1);
}

void VirtioPci::notify_config() {
    ++config_generation_;
    interrupt(config_vector_, 2);
}

void VirtioPci::queue_notify(unsigned q) {
    // A set-up queue is served even before DRIVER_OK, as QEMU does:
    // Linux's balloon kicks its statistics queue during probe.
    if (q >= queues_.size() || !queues_[q].vq.ready) return;
    ARMVM_TRACE(virtio_queue_notify, "vdev %p n %d vq %p", static_cast<void*>(dev_.get()), q,
                static_cast<void*>(&queues_[q].vq));
    dev_->queue_notify(q);
    if (queues_[q].vq.broken()) {  // the driver broke the ring: tell it
        status_ |= kStatusNeedsReset;
        notify_config();
        sync_ioevents();
    }
}

uint64_t VirtioPci::common_read(uint64_t off, unsigned size) {
    Queue* q = selected();
    uint64_t v = 0;
    switch (off) {
    case DeviceFeatureSelect: v = dfselect_; break;
    case DeviceFeature: v = dfselect_ < 2 ? static_cast<uint32_t>(offered() >> (32 * dfselect_)) : 0; break;
    case DriverFeatureSelect: v = gfselect_; break;
    case DriverFeature: v = gfselect_ < 2 ? static_cast<uint32_t>(driver_features_ >> (32 * gfselect_)) : 0; break;
    case MsixConfig: v = config_vector_; break;
    case NumQueues: v = queues_.size(); break;
    case DeviceStatus: v = status_; break;
    case ConfigGeneration: v = config_generation_; break;
    case QueueSelect: v = queue_sel_; break;
    case QueueSize: v = q ? q->size : 0; break;
    case QueueMsixVector: v = q ? q->vector : kNoVector; break;
    case QueueEnable: v = q ? q->vq.ready : 0; break;
    case QueueNotifyOff: v = q ? queue_sel_ : 0; break;
    case QueueDesc: v = q ? q->vq.desc : 0; break;
    case QueueDesc + 4: v = q ? q->vq.desc >> 32 : 0; break;
    case QueueDriver: v = q ? q->vq.avail : 0; break;
    case QueueDriver + 4: v = q ? q->vq.avail >> 32 : 0; break;
    case QueueDevice: v = q ? q->vq.used : 0; break;
    case QueueDevice + 4: v = q ? q->vq.used >> 32 : 0; break;
    default: return 0;
    }
    return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

void VirtioPci::common_write(uint64_t off, unsigned size, uint64_t v) {
    Queue* q = selected();
    (void)size;
    switch (off) {
    case DeviceFeatureSelect: dfselect_ = static_cast<uint32_t>(v); break;
    case DriverFeatureSelect: gfselect_ = static_cast<uint32_t>(v); break;
    case DriverFeature:
        if (gfselect_ < 2 && !(status_ & kStatusFeaturesOk)) {
            uint64_t mask = 0xffffffffull << (32 * gfselect_);
            driver_features_ = (driver_features_ & ~mask) | ((v << (32 * gfselect_)) & mask);
            driver_features_ &= offered();
        }
        break;
    case MsixConfig: config_vector_ = v < msix_.vectors() ? static_cast<uint16_t>(v) : kNoVector; break;
    case DeviceStatus: set_status(static_cast<uint8_t>(v)); break;
    case QueueSelect: queue_sel_ = static_cast<uint16_t>(v); break;
    case QueueSize:
        // A power of two up to the maximum (split rings); others ignored.
        if (q && v && v <= dev_->queue_max() && (v & (v - 1)) == 0) q->size = static_cast<uint16_t>(v);
        break;
    case QueueMsixVector:
        if (q) q->vector = v < msix_.vectors() ? static_cast<uint16_t>(v) : kNoVector;
        break;
    case QueueEnable:
        if (q && v == 1) {
            q->vq.num = q->size;
            q->vq.ready = true;
            sync_ioevents();
        }
        break;
    case QueueDesc: if (q) set_low(q->vq.desc, v); break;
    case QueueDesc + 4: if (q) set_high(q->vq.desc, v); break;
    case QueueDriver: if (q) set_low(q->vq.avail, v); break;
    case QueueDriver + 4: if (q) set_high(q->vq.avail, v); break;
    case QueueDevice: if (q) set_low(q->vq.used, v); break;
    case QueueDevice + 4: if (q) set_high(q->vq.used, v); break;
    default: break;
    }
}

uint64_t VirtioPci::Modern::read(uint64_t off, unsigned size) {
    VirtioPci& p = p_;
    if (off < kCommon + kRegion) {
        if (size == 8) return p.common_read(off, 4) | p.common_read(off + 4, 4) << 32;
        return p.common_read(off, size);
    }
    if (off < kIsr + kRegion) {
        if (off != kIsr) return 0;
        uint8_t v = p.isr_;  // reading acknowledges (and drops INTA#)
        p.isr_ = 0;
        p.set_intx(false);
        return v;
    }
    if (off < kDevice + kRegion) return p.dev_->config_read(off - kDevice, size);
    return 0;  // notifications are write-only
}

void VirtioPci::Modern::write(uint64_t off, unsigned size, uint64_t value) {
    VirtioPci& p = p_;
    if (off < kCommon + kRegion) {
        if (size == 8) {
            p.common_write(off, 4, value & 0xffffffff);
            p.common_write(off + 4, 4, value >> 32);
        } else {
            p.common_write(off, size, value);
        }
    } else if (off < kIsr + kRegion) {
        // (read-only)
    } else if (off < kDevice + kRegion) {
        p.dev_->config_write(off - kDevice, size, value);
    } else if (off < kNotify + kRegion) {
        p.queue_notify(static_cast<unsigned>((off - kNotify) / kNotifyMultiplier));
    }
}

// The legacy interface: 32-bit features (no VERSION_1), the queue's page
// frame number with 4 KiB alignment, the configuration after the header.
uint64_t VirtioPci::Legacy::read(uint64_t off, unsigned size) {
    VirtioPci& p = p_;
    Queue* q = p.selected();
    unsigned cfg = p.legacy_config_offset();
    if (off >= cfg) return p.dev_->config_read(off - cfg, size);
    switch (off) {
    case LHostFeatures: return static_cast<uint32_t>(p.offered() & ~kVirtioVersion1);
    case LGuestFeatures: return static_cast<uint32_t>(p.driver_features_);
    case LQueuePfn: return q && q->vq.ready ? q->vq.desc >> 12 : 0;
    case LQueueNum: return q ? p.dev_->queue_max() : 0;
    case LQueueSel: return p.queue_sel_;
    case LStatus: return p.status_;
    case LIsr: {
        uint8_t v = p.isr_;
        p.isr_ = 0;
        p.set_intx(false);
        return v;
    }
    case LConfigVector: return p.config_vector_;
    case LQueueVector: return q ? q->vector : kNoVector;
    default: return 0;
    }
}

void VirtioPci::Legacy::write(uint64_t off, unsigned size, uint64_t value) {
    VirtioPci& p = p_;
    Queue* q = p.selected();
    unsigned cfg = p.legacy_config_offset();
    if (off >= cfg) return p.dev_->config_write(off - cfg, size, value);
    switch (off) {
    case LGuestFeatures: p.driver_features_ = value & 0xffffffffull & p.offered(); break;
    case LQueuePfn:
        if (!q) break;
        if (value == 0) {
            q->vq.reset();
        } else {
            q->vq.num = static_cast<uint32_t>(p.dev_->queue_max());
            q->vq.desc = value << 12;
            q->vq.avail = q->vq.desc + 16ull * q->vq.num;
            q->vq.used = (q->vq.avail + 6 + 2ull * q->vq.num + 4095) & ~4095ull;
            q->vq.ready = true;
        }
        break;
    case LQueueSel: p.queue_sel_ = static_cast<uint16_t>(value); break;
    case LQueueNotify: p.queue_notify(static_cast<unsigned>(value & 0xffff)); break;
    case LStatus: p.set_status(static_cast<uint8_t>(value)); break;
    case LConfigVector: p.config_vector_ = value < p.msix_.vectors() ? static_cast<uint16_t>(value) : kNoVector; break;
    case LQueueVector:
        if (q) q->vector = value < p.msix_.vectors() ? static_cast<uint16_t>(value) : kNoVector;
        break;
    default: break;
    }
}

}  // namespace armvm
