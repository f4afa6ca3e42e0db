// virtio-net-device (virtio 1.1 section 5.1): a receive and a transmit
// queue, the MAC address and link status in the config space, frames to
// and from a network backend (-netdev). Frames that arrive while the
// driver has no receive buffer wait in a short backlog.
#pragma once
#include <array>
#include <deque>
#include <vector>

#include "hw/virtio/virtio.hpp"
#include "net/net.hpp"

namespace armvm {

class VirtioNet : public VirtioDevice {
public:
    VirtioNet(NetBackend& backend, std::array<uint8_t, 6> mac);
    ~VirtioNet() override;
    uint32_t device_id() const override { return 1; }
    const char* name() const override { return "virtio-net-device"; }
    const std::array<uint8_t, 6>& mac() const { return mac_; }
    uint64_t device_features() const override;
    unsigned num_queues() const override { return 2; }
    uint64_t config_read(uint64_t offset, unsigned size) override;
    void queue_notify(unsigned q) override;
    void reset() override { backlog_.clear(); }

private:
    size_t header_size() const;
    bool deliver(const uint8_t* frame, size_t len);  // to the guest; false if no buffer
    void flush_backlog();

    NetBackend& backend_;
    std::array<uint8_t, 6> mac_;
    std::deque<std::vector<uint8_t>> backlog_;
};

}  // namespace armvm
