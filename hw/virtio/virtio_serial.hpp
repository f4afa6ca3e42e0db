// virtio-serial-device (virtio 1.1 section 5.3, "console device") with
// the multiport feature: up to max_ports ports, each a pair of queues
// (receive, transmit) joined to a chardev, and a control queue pair over
// which the device announces its ports (DEVICE_ADD), which one is a
// console (virtconsole: the guest's /dev/hvc0), their names
// (virtserialport,name=…: /sys/class/virtio-ports/vportNpM/name) and whether
// the host side is connected (PORT_OPEN).
//
// Queue numbering (multiport): port 0 receive 0, transmit 1; control
// receive 2, transmit 3; port n >= 1 receive 2n+2, transmit 2n+3.
// Runs under the BQL: the guest's notifications on a vCPU thread, chardev
// input on the main loop.
#pragma once
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hw/virtio/virtio.hpp"

namespace armvm {

class Chardev;

class VirtioSerial : public VirtioDevice {
public:
    struct PortConfig {
        unsigned nr;
        bool console;
        std::string name;      // empty: none
        Chardev* chr;          // may be null: a port with no host side
        std::string id;        // the port device's id ("": none)
    };
    // The guest opened or closed a port that has an id (QEMU's
    // VSERPORT_CHANGE: libvirt learns from it that the guest agent is
    // there). Called under the BQL, maybe on a vCPU thread.
    std::function<void(const std::string& id, bool open)> on_guest_open;
    VirtioSerial(unsigned max_ports, bool emergency_write);
    ~VirtioSerial() override;
    // Add a port before the guest runs.
    void add_port(const PortConfig& p);
    // The ports in the order they were added (info qtree).
    std::vector<const PortConfig*> ports() const {
        std::vector<const PortConfig*> v;
        for (const auto& p : ports_) v.push_back(&p->cfg);
        return v;
    }
    unsigned max_ports() const { return max_ports_; }
    bool port_used(unsigned nr) const;
    bool port_name_used(const std::string& name) const;

    uint32_t device_id() const override { return 3; }
    const char* name() const override { return "virtio-serial-device"; }
    uint64_t device_features() const override;
    unsigned num_queues() const override { return 2 * (max_ports_ + 1); }
    unsigned queue_max() const override { return 128; }
    uint64_t config_read(uint64_t offset, unsigned size) override;
    void config_write(uint64_t offset, unsigned size, uint64_t value) override;
    void queue_notify(unsigned q) override;
    void reset() override;

private:
    struct Port {
        PortConfig cfg;
        bool host_connected = false;
        bool guest_connected = false;
        std::string to_guest;  // bytes from the host waiting for receive buffers
    };
    static unsigned rx_queue(unsigned nr) { return nr == 0 ? 0 : 2 * nr + 2; }
    static unsigned tx_queue(unsigned nr) { return nr == 0 ? 1 : 2 * nr + 3; }
    Port* find(unsigned nr);
    void send_control(unsigned id, uint16_t event, uint16_t value, const std::string& extra = {});
    void flush_control();
    void control_message(const uint8_t* m, size_t len);
    void flush_to_guest(Port& p);
    void from_guest(Port& p);
    void host_open(Port& p, bool open);
    void guest_open(Port& p, bool open);

    unsigned max_ports_;
    bool emergency_write_;
    bool ready_ = false;  // the driver said DEVICE_READY
    std::vector<std::unique_ptr<Port>> ports_;
    std::deque<std::string> control_out_;  // control messages waiting for buffers
};

}  // namespace armvm
