// Network backends (-netdev): what a NIC sees of one, and the machine's
// set of them. user (net/slirp.cpp) and tap (net/tap.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/event_loop.hpp"
#include "base/json.hpp"
#include "base/result.hpp"

namespace armvm {

class NetBackend {
public:
    virtual ~NetBackend() = default;
    const std::string& id() const { return id_; }
    // A frame from the guest (Ethernet, without the virtio header).
    virtual void send(const uint8_t* frame, size_t len) = 0;
    // As HMP's info network shows it: QEMU's driver name and the backend's
    // settings ("net=10.0.2.0,restrict=off").
    virtual const char* type() const = 0;
    const std::string& info() const { return info_; }
    // Where frames for the guest go; false from it: the guest cannot take
    // the frame now (the backend may drop it).
    std::function<bool(const uint8_t*, size_t)> receiver;
    bool attached = false;

protected:
    std::string id_, info_;
};

// What a NIC with no netdev is joined to (QEMU's NIC without a peer):
// frames from the guest go nowhere, none come.
class NoPeer final : public NetBackend {
public:
    void send(const uint8_t*, size_t) override {}
    const char* type() const override { return "none"; }
};

// The -netdev backends of a machine, in command-line order.
Result<std::vector<std::unique_ptr<NetBackend>>> create_netdevs(const std::vector<Json>& netdevs,
                                                                const std::vector<std::string>& origins,
                                                                EventLoop& loop);

}  // namespace armvm
