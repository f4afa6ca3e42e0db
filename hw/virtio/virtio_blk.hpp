// virtio-blk-device (virtio 1.1 section 5.2) over a BlockDev: read, write,
// flush, get-id, discard and write-zeroes requests, on one or more request
// queues (VIRTIO_BLK_F_MQ).
#pragma once
#include <string>

#include "block/block.hpp"
#include "hw/virtio/virtio.hpp"

namespace armvm {

class VirtioBlk : public VirtioDevice {
public:
    VirtioBlk(BlockDev& disk, std::string serial, unsigned queues = 1)
        : disk_(disk), serial_(std::move(serial)), queues_(queues) {}
    uint32_t device_id() const override { return 2; }
    const char* name() const override { return "virtio-blk-device"; }
    uint64_t device_features() const override;
    unsigned num_queues() const override { return queues_; }
    uint64_t config_read(uint64_t offset, unsigned size) override;
    void config_write(uint64_t offset, unsigned size, uint64_t value) override;
    void queue_notify(unsigned q) override;
    void reset() override { writeback_ = 1; }

private:
    uint8_t handle(const VirtqElement& e, uint32_t& written);
    BlockDev& disk_;
    std::string serial_;
    unsigned queues_;
    uint8_t writeback_ = 1;  // the config's writeback field (VIRTIO_BLK_F_CONFIG_WCE)
};

// virtio-rng-device (section 5.4): fills the driver's buffers with the
// host's entropy (getrandom).
class VirtioRng : public VirtioDevice {
public:
    uint32_t device_id() const override { return 4; }
    const char* name() const override { return "virtio-rng-device"; }
    uint64_t device_features() const override { return 0; }
    unsigned num_queues() const override { return 1; }
    uint64_t config_read(uint64_t, unsigned) override { return 0; }
    void queue_notify(unsigned q) override;
};

}  // namespace armvm
