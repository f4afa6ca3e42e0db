// -netdev tap: frames to and from a host TAP interface, either one armvm
// creates (/dev/net/tun, ifname=, with QEMU's up/down scripts) or an open
// TAP fd handed over by the caller (fd=, as libvirt does). An fd opened
// with IFF_VNET_HDR carries a virtio-net header on each frame: armvm
// strips it from received frames and sends an all-zero one (no offloads).
// Runs on the main loop under the BQL.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "net/net.hpp"

namespace armvm {

class TapNet : public NetBackend {
public:
    static Result<std::unique_ptr<TapNet>> create(const Json& opts, const std::string& origin, EventLoop& loop);
    ~TapNet() override;
    void send(const uint8_t* frame, size_t len) override;
    const char* type() const override { return "tap"; }
    const std::string& ifname() const { return ifname_; }

private:
    explicit TapNet(EventLoop& loop) : loop_(loop) {}
    void readable();

    EventLoop& loop_;
    int fd_ = -1;
    bool own_fd_ = false;
    size_t vnet_hdr_ = 0;  // bytes of virtio-net header on each frame
    std::string ifname_;
    std::string downscript_;
    std::vector<uint8_t> buf_;
};

}  // namespace armvm
