// Virtio (OASIS virtio 1.1 and its legacy interface): the device side of
// split virtqueues, and the interface between a device (blk, rng, ...) and
// its transport (virtio-mmio). Everything here runs under the BQL, on the
// vCPU thread whose register access kicked it (or the main loop).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hw/core/address_space.hpp"

namespace armvm {

// Feature bits common to every device.
inline constexpr uint64_t kVirtioRingIndirectDesc = 1ull << 28, kVirtioVersion1 = 1ull << 32;

// A buffer the driver made available: the device-readable ("out") and
// device-writable ("in") pieces, as host pointers into guest RAM.
struct VirtqElement {
    struct Piece {
        uint8_t* p;
        uint32_t len;
    };
    uint16_t head = 0;
    std::vector<Piece> out, in;
    size_t out_bytes() const;
    size_t in_bytes() const;
    // Gather from `out` / scatter to `in`, starting `offset` bytes in;
    // returns how many bytes were copied.
    size_t read_out(size_t offset, void* dst, size_t len) const;
    size_t write_in(size_t offset, const void* src, size_t len) const;
};

class VirtQueue {
public:
    uint32_t num = 0;      // queue size the driver chose (0: not set up)
    bool ready = false;
    uint64_t desc = 0, avail = 0, used = 0;  // guest physical addresses

    void reset();
    // The next available buffer; false if there is none, or if the driver
    // broke the ring (set_broken() is then called by the transport).
    bool pop(AddressSpace& as, VirtqElement& e, bool indirect_ok);
    // Return a buffer with `written` bytes written into its `in` pieces.
    void push(AddressSpace& as, const VirtqElement& e, uint32_t written);
    // The driver asked not to be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT).
    bool interrupt_suppressed(AddressSpace& as) const;
    bool broken() const { return broken_; }

private:
    bool usable(AddressSpace& as) const;
    uint16_t last_avail_ = 0;
    uint16_t used_idx_ = 0;
    bool broken_ = false;
};

class VirtioTransport;

// A read of `size` bytes at `off` in a device's configuration space laid
// out in `cfg` (little-endian fields); outside it reads as zero.
inline uint64_t config_bytes(const uint8_t* cfg, size_t len, uint64_t off, unsigned size) {
    if (off >= len || size > len - off || size > 8) return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= static_cast<uint64_t>(cfg[off + i]) << (8 * i);
    return v;
}

class VirtioDevice {
public:
    virtual ~VirtioDevice() = default;
    virtual uint32_t device_id() const = 0;
    virtual const char* name() const = 0;  // "virtio-blk-device"
    virtual uint64_t device_features() const = 0;
    virtual unsigned num_queues() const = 0;
    virtual unsigned queue_max() const { return 256; }
    // The device-specific configuration space (little-endian fields).
    virtual uint64_t config_read(uint64_t offset, unsigned size) = 0;
    virtual void config_write(uint64_t offset, unsigned size, uint64_t value) {
        (void)offset, (void)size, (void)value;
    }
    // The driver notified queue `q`: process what it made available.
    virtual void queue_notify(unsigned q) = 0;
    virtual void reset() {}

    VirtioTransport* transport = nullptr;
};

// What a device asks of its transport.
class VirtioTransport {
public:
    virtual ~VirtioTransport() = default;
    virtual AddressSpace& memory() = 0;
    virtual VirtQueue& queue(unsigned q) = 0;
    virtual uint64_t negotiated_features() const = 0;
    // Interrupt the driver: used buffers (after pushes), or a changed config.
    virtual void notify_used(unsigned q) = 0;
    virtual void notify_config() = 0;

    // Pop/push on queue q with the negotiated ring features.
    bool pop(unsigned q, VirtqElement& e) {
        return queue(q).pop(memory(), e, negotiated_features() & kVirtioRingIndirectDesc);
    }
    void push(unsigned q, const VirtqElement& e, uint32_t written) { queue(q).push(memory(), e, written); }
};

}  // namespace armvm
