#include "hw/virtio/virtio_serial.hpp"

#include <algorithm>
#include <cstring>

#include "hw/char/chardev.hpp"

namespace armvm {

namespace {

constexpr uint64_t kFeatureMultiport = 1ull << 1, kFeatureEmergWrite = 1ull << 2;
constexpr unsigned kControlRx = 2, kControlTx = 3;
// Control events (struct virtio_console_control: le32 id, le16 event, le16 value).
enum : uint16_t {
    DEVICE_READY = 0, DEVICE_ADD = 1, DEVICE_REMOVE = 2, PORT_READY = 3, CONSOLE_PORT = 4, RESIZE = 5,
    PORT_OPEN = 6, PORT_NAME = 7,
};
// Host bytes kept for a port whose guest side is not reading; beyond
// this they are dropped (a guest that never opens the port cannot make
// armvm grow without bound).
constexpr size_t kMaxPending = 1u << 20;
constexpr size_t kMaxControlQueue = 4096;

}  // namespace

VirtioSerial::VirtioSerial(unsigned max_ports, bool emergency_write)
    : max_ports_(max_ports), emergency_write_(emergency_write) {}

VirtioSerial::~VirtioSerial() {
    for (auto& p : ports_)
        if (p->cfg.chr) p->cfg.chr->detach();
}

bool VirtioSerial::port_used(unsigned nr) const {
    for (auto& p : ports_)
        if (p->cfg.nr == nr) return true;
    return false;
}

bool VirtioSerial::port_name_used(const std::string& name) const {
    for (auto& p : ports_)
        if (p->cfg.name == name) return true;
    return false;
}

VirtioSerial::Port* VirtioSerial::find(unsigned nr) {
    for (auto& p : ports_)
        if (p->cfg.nr == nr) return p.get();
    return nullptr;
}

void VirtioSerial::add_port(const PortConfig& pc) {
    ports_.push_back(std::make_unique<Port>());
    Port* p = ports_.back().get();
    p->cfg = pc;
    if (!pc.chr) return;
    Chardev::Frontend fe;
    fe.on_open = [this, p] { host_open(*p, true); };
    fe.on_close = [this, p] { host_open(*p, false); };
    fe.on_read = [this, p](std::string_view d) {
        if (p->to_guest.size() + d.size() > kMaxPending) return;
        p->to_guest.append(d);
        flush_to_guest(*p);
    };
    pc.chr->attach(std::move(fe));
}

uint64_t VirtioSerial::device_features() const {
    uint64_t f = kFeatureMultiport;
    if (emergency_write_) f |= kFeatureEmergWrite;
    return f;
}

// struct virtio_console_config: le16 cols, le16 rows, le32 max_nr_ports,
// le32 emerg_wr.
uint64_t VirtioSerial::config_read(uint64_t off, unsigned size) {
    uint8_t cfg[12] = {};
    uint32_t n = max_ports_;
    std::memcpy(cfg + 4, &n, 4);
    return config_bytes(cfg, sizeof cfg, off, size);
}

// emerg_wr: one character for port 0, before (or without) the queues.
void VirtioSerial::config_write(uint64_t off, unsigned, uint64_t value) {
    if (off != 8 || !emergency_write_) return;
    if (Port* p = find(0); p && p->cfg.chr) {
        char c = static_cast<char>(value & 0xff);
        p->cfg.chr->write(std::string_view(&c, 1));
    }
}

void VirtioSerial::reset() {
    ready_ = false;
    control_out_.clear();
    for (auto& p : ports_) guest_open(*p, false);
}

void VirtioSerial::guest_open(Port& p, bool open) {
    if (p.guest_connected == open) return;
    p.guest_connected = open;
    if (!p.cfg.id.empty() && on_guest_open) on_guest_open(p.cfg.id, open);
}

void VirtioSerial::send_control(unsigned id, uint16_t event, uint16_t value, const std::string& extra) {
    if (control_out_.size() >= kMaxControlQueue) return;
    std::string m(8, '\0');
    uint32_t id32 = id;
    std::memcpy(m.data(), &id32, 4);
    std::memcpy(m.data() + 4, &event, 2);
    std::memcpy(m.data() + 6, &value, 2);
    m += extra;
    control_out_.push_back(std::move(m));
    flush_control();
}

void VirtioSerial::flush_control() {
    bool any = false;
    while (!control_out_.empty()) {
        VirtqElement e;
        if (!transport->pop(kControlRx, e)) break;
        const std::string& m = control_out_.front();
        size_t w = e.write_in(0, m.data(), m.size());
        transport->push(kControlRx, e, static_cast<uint32_t>(w));
        control_out_.pop_front();
        any = true;
    }
    if (any) transport->notify_used(kControlRx);
}

void VirtioSerial::control_message(const uint8_t* m, size_t len) {
    if (len < 8) return;  // (a short message is ignored, as QEMU does)
    uint32_t id;
    uint16_t event, value;
    std::memcpy(&id, m, 4);
    std::memcpy(&event, m + 4, 2);
    std::memcpy(&value, m + 6, 2);
    switch (event) {
    case DEVICE_READY:
        if (!value) break;  // the driver failed to set up
        ready_ = true;
        for (auto& p : ports_) send_control(p->cfg.nr, DEVICE_ADD, 1);
        break;
    case PORT_READY: {
        Port* p = find(id);
        if (!p || !value) break;
        if (p->cfg.console) send_control(id, CONSOLE_PORT, 1);
        if (!p->cfg.name.empty()) send_control(id, PORT_NAME, 1, p->cfg.name + '\0');
        if (p->host_connected) send_control(id, PORT_OPEN, 1);
        break;
    }
    case PORT_OPEN: {
        Port* p = find(id);
        if (!p) break;
        guest_open(*p, value != 0);
        if (p->guest_connected) flush_to_guest(*p);
        break;
    }
    default:
        break;  // RESIZE and others: nothing for the device to do
    }
}

void VirtioSerial::host_open(Port& p, bool open) {
    p.host_connected = open;
    if (ready_) send_control(p.cfg.nr, PORT_OPEN, open ? 1 : 0);
}

void VirtioSerial::flush_to_guest(Port& p) {
    if (!p.guest_connected) return;
    unsigned q = rx_queue(p.cfg.nr);
    size_t done = 0;
    bool any = false;
    while (done < p.to_guest.size()) {
        VirtqElement e;
        if (!transport->pop(q, e)) break;
        size_t w = e.write_in(0, p.to_guest.data() + done, p.to_guest.size() - done);
        transport->push(q, e, static_cast<uint32_t>(w));
        done += w;
        any = true;
    }
    p.to_guest.erase(0, done);
    if (any) transport->notify_used(q);
}

void VirtioSerial::from_guest(Port& p) {
    unsigned q = tx_queue(p.cfg.nr);
    VirtqElement e;
    bool any = false;
    char buf[65536];
    while (transport->pop(q, e)) {
        // (bytes for a port without a host side, or a disconnected one, are
        // discarded, as QEMU does)
        size_t total = e.out_bytes();
        for (size_t at = 0; p.cfg.chr && at < total;) {
            size_t n = e.read_out(at, buf, std::min(sizeof buf, total - at));
            if (!n) break;
            p.cfg.chr->write(std::string_view(buf, n));
            at += n;
        }
        transport->push(q, e, 0);
        any = true;
    }
    if (any) transport->notify_used(q);
}

void VirtioSerial::queue_notify(unsigned q) {
    if (q == kControlRx) {  // new buffers for control messages
        flush_control();
        return;
    }
    if (q == kControlTx) {
        VirtqElement e;
        bool any = false;
        uint8_t m[8 + 256];
        while (transport->pop(kControlTx, e)) {
            size_t n = e.read_out(0, m, sizeof m);
            transport->push(kControlTx, e, 0);
            any = true;
            control_message(m, n);
        }
        if (any) transport->notify_used(kControlTx);
        return;
    }
    unsigned nr = q < 2 ? 0 : (q - 2) / 2;
    Port* p = find(nr);
    bool rx = q < 2 ? q == 0 : q % 2 == 0;
    if (!p) {
        // A queue with no port: transmitted bytes are discarded, receive
        // buffers stay where they are.
        if (rx) return;
        VirtqElement e;
        bool any = false;
        while (transport->pop(q, e)) {
            transport->push(q, e, 0);
            any = true;
        }
        if (any) transport->notify_used(q);
        return;
    }
    if (rx)
        flush_to_guest(*p);
    else
        from_guest(*p);
}

}  // namespace armvm
