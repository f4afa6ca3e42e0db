#include "hw/virtio/virtio_net.hpp"

#include <cstring>

namespace armvm {

namespace {
constexpr uint64_t kMac = 1ull << 5, kStatus = 1ull << 16;
constexpr uint16_t kLinkUp = 1;
constexpr size_t kBacklog = 256;  // frames
constexpr unsigned kRx = 0, kTx = 1;
}  // namespace

VirtioNet::VirtioNet(NetBackend& backend, std::array<uint8_t, 6> mac) : backend_(backend), mac_(mac) {
    backend_.receiver = [this](const uint8_t* f, size_t n) {
        if (!backlog_.empty() || !deliver(f, n)) {
            if (backlog_.size() >= kBacklog) return false;  // dropped
            backlog_.emplace_back(f, f + n);
        }
        return true;
    };
}

VirtioNet::~VirtioNet() { backend_.receiver = nullptr; }

uint64_t VirtioNet::device_features() const { return kMac | kStatus; }

// struct virtio_net_hdr: 10 bytes; with VIRTIO_F_VERSION_1 (or
// MRG_RXBUF, not offered) num_buffers follows: 12.
size_t VirtioNet::header_size() const {
    return (transport->negotiated_features() & kVirtioVersion1) ? 12 : 10;
}

uint64_t VirtioNet::config_read(uint64_t off, unsigned size) {
    uint8_t cfg[8] = {};
    std::memcpy(cfg, mac_.data(), 6);
    uint16_t status = kLinkUp;
    std::memcpy(cfg + 6, &status, 2);
    return config_bytes(cfg, sizeof cfg, off, size);
}

bool VirtioNet::deliver(const uint8_t* frame, size_t len) {
    VirtqElement e;
    if (!transport->pop(kRx, e)) return false;
    size_t hs = header_size();
    uint8_t hdr[12] = {};
    if (hs == 12) hdr[10] = 1;  // num_buffers
    size_t w = e.write_in(0, hdr, hs);
    if (w == hs) w += e.write_in(hs, frame, len);  // (a frame longer than the buffer is cut)
    transport->push(kRx, e, static_cast<uint32_t>(w));
    transport->notify_used(kRx);
    return true;
}

void VirtioNet::flush_backlog() {
    while (!backlog_.empty() && deliver(backlog_.front().data(), backlog_.front().size())) backlog_.pop_front();
}

void VirtioNet::queue_notify(unsigned q) {
    if (q == kRx) {  // new receive buffers
        flush_backlog();
        return;
    }
    VirtqElement e;
    bool any = false;
    size_t hs = header_size();
    std::vector<uint8_t> frame;
    while (transport->pop(kTx, e)) {
        size_t total = e.out_bytes();
        if (total > hs && total - hs <= 65535 + 14) {  // (larger is no Ethernet frame: dropped)
            frame.resize(total - hs);
            e.read_out(hs, frame.data(), frame.size());
            backend_.send(frame.data(), frame.size());
        }
        transport->push(kTx, e, 0);
        any = true;
    }
    if (any) transport->notify_used(kTx);
}

}  // namespace armvm
