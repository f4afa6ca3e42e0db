// The device types' factories: each registry entry (machine/devices.hpp)
// names its model, and Board::factory() gives the function that checks
// its properties, makes the device and plugs it where it goes (-device and
// QMP device_add both come here through Board::add_device).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "hw/char/chardev.hpp"
#include "hw/pci/option_rom.hpp"
#include "hw/pci/root_port.hpp"
#include "hw/usb/usb_hid.hpp"
#include "hw/usb/usb_storage.hpp"
#include "hw/usb/xhci.hpp"
#include "hw/virtio/virtio_balloon.hpp"
#include "hw/virtio/virtio_blk.hpp"
#include "hw/virtio/virtio_net.hpp"
#include "hw/virtio/virtio_pci.hpp"
#include "hw/virtio/virtio_serial.hpp"
#include "machine/devices.hpp"
#include "machine/virt/board.hpp"
#include "machine/virt/memmap.hpp"
#include "machine/virt/names.hpp"

namespace armvm::virt {

namespace {
// A device's error: "-device OPTION: why" (QMP's device_add has no option
// text: its messages are bare).
Status device_error(const DeviceConfig& d, const std::string& m) {
    return make_error(d.origin.empty() ? m : "-device " + d.origin + ": " + m);
}
}  // namespace

// What a factory gets: the -device (or device_add) and its type, the
// properties read as strings, and the steps every virtio device shares.
struct Board::DeviceCtx {
    Board& b;
    const DeviceConfig& d;
    bool hotplug;
    const DeviceType* type;
    bool on_pci;        // a virtio-X-pci: the virtio model on the PCI transport
    std::string model;  // the factory's name: the virtio model, or the type's
    std::map<std::string, std::string> props;

    Status err(const std::string& m) const { return device_error(d, m); }
    // The device's properties as strings; one its type does not have is an
    // error.
    Status read_props() {
        for (auto it = d.props.begin(); it != d.props.end(); ++it) {
            // (bus= on virtio-mmio: accepted, the transport is picked in order)
            if (it.key() != "bus" && !type->has_prop(it.key()))
                return err("Property '" + d.driver + "." + it.key() + "' not found");
            props[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
            // A boolean, as QEMU parses one: kept as "on" or "off".
            if (const DeviceProp* p = type->prop(it.key()); p && std::string(p->type) == "bool") {
                if (!it.value().is_string() && !it.value().is_boolean())
                    return err("Invalid parameter type for '" + it.key() + "', expected: boolean");
                std::string& v = props[it.key()];
                if (v == "on" || v == "yes" || v == "true" || v == "y") v = "on";
                else if (v == "off" || v == "no" || v == "false" || v == "n") v = "off";
                else return err("Parameter '" + it.key() + "' expects 'on' or 'off'");
            }
        }
        return ok_status();
    }
    // Plug a virtio device into its transport; if that fails, `release`
    // gives its backend back.
    Status plug(std::unique_ptr<VirtioDevice> dev, const std::string& origin, std::function<void(bool)> release = {}) {
        std::function<void(bool)> undo = release;
        long bootindex = -1;
        if (props.count("bootindex")) {
            const std::string& v = props["bootindex"];
            char* end = nullptr;
            bootindex = std::strtol(v.c_str(), &end, 0);
            if (v.empty() || *end || bootindex < -1 || bootindex > INT32_MAX) {
                if (undo) undo(false);
                return err("Property '" + d.driver + ".bootindex' doesn't take value '" + v + "'");
            }
            for (const auto& e : b.boot_)
                if (e.index == bootindex) {
                    if (undo) undo(false);
                    return err("The bootindex " + std::to_string(bootindex) + " has already been used");
                }
        }
        if (bootindex >= 0) {
            std::string qom = b.last_qom_path_;
            release = [bp = &b, qom, inner = std::move(release)](bool unplugged) {
                std::erase_if(bp->boot_, [&](const BootEntry& e) { return e.qom == qom; });
                if (inner) inner(unplugged);
            };
        }
        Status st = ok_status();
        if (!on_pci) {
            st = b.plug_mmio(std::move(dev), origin);
        } else {
            auto with_id = props;
            with_id["id"] = d.id;
            st = b.plug_pci(std::move(dev), d.driver, with_id, hotplug, std::move(release));
            if (!st) st = err(st.error().msg);
        }
        if (!st && undo) undo(false);
        if (st && bootindex >= 0) b.boot_.push_back({static_cast<int32_t>(bootindex), b.last_ofw_path_, b.last_qom_path_});
        return st;
    }
};

// One -device (or QMP device_add, `hotplug`): its properties checked, the
// device made and plugged where it goes.
Status Board::add_device(const DeviceConfig& d, bool hotplug) {
    auto err = [&](const std::string& m) { return device_error(d, m); };
    const DeviceType* type = find_device_type(d.driver);
    if (!type) return err("'" + d.driver + "' is not a valid device model name");
    // -device virtio-X-pci is virtio-X-device on the PCI transport.
    bool on_pci = *type->virtio != 0;
    if (hotplug && !type->hotpluggable) {  // (only PCI functions go into running machines here)
        if (!strcmp(type->bus, "PCI")) return err("Bus 'pcie.0' does not support hotplugging");
        if (!strcmp(type->bus, "virtio-bus"))  // (the transport it would get)
            return err("Bus 'virtio-mmio-bus." + std::to_string(mmio_next_ ? mmio_next_ - 1 : 0) +
                       "' does not support hotplugging");
        return err("Device '" + d.driver + "' can not be hotplugged on this machine");
    }
    if (hotplug && on_pci) {  // the bus first, as QEMU looks at it before the properties
        std::string want = d.props.contains("bus") && d.props["bus"].is_string() ? d.props["bus"].get<std::string>() : "";
        PciBus* bus = want.empty() ? &pci_->root_bus() : nullptr;
        for (PciBus* b : pci_->buses())
            if (!want.empty() && b->name() == want) bus = b;
        if (!bus) return err("Bus '" + want + "' not found");
        if (!bus->bridge() || !bus->express()) return err("Bus '" + bus->name() + "' does not support hotplugging");
    }
    // The type's factory (machine/virt/device_factories.cpp).
    DeviceCtx ctx{*this, d, hotplug, type, on_pci, on_pci ? type->virtio : type->name, {}};
    Factory make = factory(ctx.model);
    if (!make) return err("'" + d.driver + "' is not a valid device model name");
    Status st = (this->*make)(ctx);
    if (st) qdev_props_[last_qom_path_] = {type->name, d.props};  // (info qtree shows them)
    return st;
}

// A factory's names for its context (the bodies read as one function).
#define ARMVM_DEVICE_LOCALS(x)                                                                             \
    [[maybe_unused]] const DeviceConfig& d = (x).d;                                                        \
    [[maybe_unused]] const MachineConfig& cfg = *cfg_;                                                     \
    [[maybe_unused]] bool hotplug = (x).hotplug, on_pci = (x).on_pci;                                     \
    [[maybe_unused]] const std::string& drv = (x).model;                                                   \
    [[maybe_unused]] auto& props = (x).props;                                                              \
    [[maybe_unused]] auto err = [&](const std::string& m) { return (x).err(m); };                          \
    [[maybe_unused]] auto read_props = [&] { return (x).read_props(); };                                   \
    [[maybe_unused]] auto plug = [&](std::unique_ptr<VirtioDevice> dev, const std::string& origin,         \
                                     std::function<void(bool)> release = {}) {                             \
        return (x).plug(std::move(dev), origin, std::move(release));                                       \
    }

// pcie-root-port
Status Board::make_root_port(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    auto num = [&](const char* k, unsigned long max, unsigned long& out) -> Status {
        if (!props.count(k)) return ok_status();
        const std::string& v = props[k];
        char* end = nullptr;
        out = std::strtoul(v.c_str(), &end, 0);
        if (v.empty() || !end || *end || v[0] == '-' || out > max)
            return err("Property '" + d.driver + "." + k + "' doesn't take value '" + v + "'");
        return ok_status();
    };
    // (a root port must have MSI-X, as QEMU's: a GICv3 without its ITS has no MSIs)
    if (!v2m_ && !its_ && !(kvm_ && kvm_->has_its())) return err("MSI-X is not supported by interrupt controller");
    unsigned long port = 0, chassis = 0, slot = 0;
    ARMVM_TRY(num("port", 255, port));
    ARMVM_TRY(num("chassis", 255, chassis));
    ARMVM_TRY(num("slot", 8191, slot));
    auto place = pci_place(d.driver, props["bus"], props["addr"], is_on(props["multifunction"]));
    if (!place) return err(place.error().msg);
    // The bus behind it: named after its id, or as QEMU names a bus of
    // an anonymous device, by type and a count of them ("pcie.0" for the
    // first: bus=pcie.0 still finds the root bus, found first).
    // (a PCIe port's bus is named by the id itself)
    std::string bus_name = d.id;
    for (PciBus* b : pci_->buses())
        if (!d.id.empty() && b->name() == bus_name) return err("Duplicate ID '" + bus_name + "' for device");
    if (bus_name.empty()) bus_name = name_bus("", "pcie");
    auto rp = std::make_unique<PcieRootPort>(*pci_, bus_name, static_cast<uint8_t>(port),
                                             static_cast<uint8_t>(chassis), static_cast<uint16_t>(slot));
    if (Status st = attach_option_rom(*rp, props); !st) return err(st.error().msg);
    if (is_on(props["multifunction"])) rp->set_multifunction(true);
    rp->qdev_id = d.id;
    place->first->plug(rp.get(), place->second);
    pci_devs_.push_back(std::move(rp));
    qom_name(d.id, d.driver);
    pci_devs_.back()->qom_path = last_qom_path_;
    bus_of_[last_qom_path_] = bus_name;
    return ok_status();
}

// tpm-tis-device
Status Board::make_tpm(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    if (hotplug) return err("Device 'tpm-tis-device' can not be hotplugged on this machine");
    if (!props.count("tpmdev")) return err("'tpmdev' property is required");
    const MachineConfig::Tpmdev* t = nullptr;
    for (const auto& td : cfg.tpmdevs)
        if (td.id == props["tpmdev"]) t = &td;
    if (!t) return err("Property 'tpm-tis-device.tpmdev' can't find value '" + props["tpmdev"] + "'");
    if (tpm_) return err("at most one TPM device is permitted");
    const ChardevConfig* cc = nullptr;
    for (const auto& c : cfg.chardevs)
        if (c.id == t->chardev) cc = &c;
    std::string pre = "-tpmdev " + t->origin + ": ";
    if (!cc) return make_error(pre + "tpm-emulator: tpm chardev '" + t->chardev + "' not found");
    if (cc->backend != "socket" || !cc->path || cc->server)
        return make_error(pre + "tpm-emulator: chardev '" + t->chardev + "' must be a unix socket swtpm listens on");
    auto emu = TpmEmulator::connect(*cc->path);
    if (!emu) return make_error(pre + emu.error().msg);
    tpm_ = std::make_unique<TpmTis>(std::move(emu.value()), *loop_);
    tpmdev_ = t;
    as_.add_mmio(base(Region::PlatformBus), TpmTis::kSize, tpm_.get(), "tpm-tis-mmio");
    qom_name(d.id, d.driver);
    return ok_status();
}

// qemu-xhci
Status Board::make_xhci(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    Xhci::Options o;
    for (auto [k, dst] : {std::pair{"p2", &o.p2}, std::pair{"p3", &o.p3}}) {
        if (!props.count(k)) continue;
        const std::string& v = props[k];
        char* end = nullptr;
        unsigned long n = std::strtoul(v.c_str(), &end, 0);
        if (v.empty() || !end || *end || v[0] == '-' || n > UINT32_MAX)
            return err(std::string("Parameter '") + k + "' expects uint32_t");
        *dst = static_cast<unsigned>(n);
    }
    auto place = pci_place(d.driver, props["bus"], props["addr"], is_on(props["multifunction"]));
    if (!place) return err(place.error().msg);
    o.express = place->first->express();
    o.root_complex = place->first->bridge() == nullptr;
    auto x = std::make_unique<Xhci>(as_, o);
    if (Status st = attach_option_rom(*x, props); !st) return err(st.error().msg);
    if (is_on(props["multifunction"])) x->set_multifunction(true);
    x->qdev_id = d.id;
    PciBus* bus = place->first;
    bus->plug(x.get(), place->second);
    qom_name(d.id, d.driver);
    plugged_[x.get()] = {last_qom_path_, nullptr};
    x->qom_path = last_qom_path_;
    occupy_slot(*bus, false);
    usb_buses_.push_back({name_bus(d.id, "usb-bus"), x.get()});
    bus_of_[last_qom_path_] = usb_buses_.back().first;
    pci_devs_.push_back(std::move(x));
    return ok_status();
}

// usb-kbd, usb-tablet, usb-storage
Status Board::make_usb_device(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    Xhci* hc = nullptr;
    std::string bus_name;
    if (props.count("bus")) {
        for (auto& [name, x] : usb_buses_)
            if (name == props["bus"]) hc = x, bus_name = name;
        if (!hc) return err("Bus '" + props["bus"] + "' not found");
    } else {
        // The first USB bus QEMU's search finds (newest first, depth first).
        for (PciDevice* p : pci_in_bus_order())
            for (auto& [name, x] : usb_buses_)
                if (!hc && static_cast<PciDevice*>(x) == p) hc = x, bus_name = name;
        if (!hc) return err("No 'usb-bus' bus found for device '" + d.driver + "'");
    }
    unsigned port = 0;
    if (props.count("port")) {
        const std::string& v = props["port"];
        char* end = nullptr;
        unsigned long n = std::strtoul(v.c_str(), &end, 10);
        if (v.empty() || *end || v[0] == '-' || n == 0 || n > hc->user_ports() || hc->port_used(n))
            return err("usb port " + v + " (bus " + bus_name + ") not found (in use?)");
        port = static_cast<unsigned>(n);
    } else {
        for (unsigned n = 1; n <= hc->user_ports() && !port; ++n)
            if (!hc->port_used(n)) port = n;
        // (QEMU adds a usb-hub when the ports run out; armvm has no hub)
        if (!port) return err("no free port on bus " + bus_name + " (armvm has no usb-hub)");
    }
    std::unique_ptr<UsbDevice> dev;
    const char* own_serial;
    BlockDev* disk = nullptr;
    long bootindex = -1;
    if (d.driver == "usb-storage") {
        if (!props.count("drive")) return err("drive property not set");
        disk = block_->find(props["drive"]);
        if (!disk) return err("Property 'usb-storage.drive' can't find value '" + props["drive"] + "'");
        if (disk->attached)
            return err("Property 'usb-storage.drive' can't take value '" + props["drive"] + "', it's in use");
        bool removable = false;
        if (props.count("removable")) {
            const std::string& v = props["removable"];
            if (v != "on" && v != "off" && v != "true" && v != "false")
                return err("Parameter 'removable' expects 'on' or 'off'");
            removable = is_on(v);
        }
        if (props.count("bootindex")) {
            const std::string& v = props["bootindex"];
            char* end = nullptr;
            bootindex = std::strtol(v.c_str(), &end, 0);
            if (v.empty() || *end || bootindex < -1 || bootindex > INT32_MAX)
                return err("Property 'usb-storage.bootindex' doesn't take value '" + v + "'");
            for (const auto& e : boot_)
                if (e.index == bootindex)
                    return err("The bootindex " + std::to_string(bootindex) + " has already been used");
        }
        dev = std::make_unique<UsbStorage>(*disk, removable);
        own_serial = "1";
    } else {
        bool kbd = d.driver == "usb-kbd";
        dev = std::make_unique<UsbHid>(kbd ? UsbHid::Kind::Keyboard : UsbHid::Kind::Tablet);
        own_serial = kbd ? "68284" : "28754";
    }
    // QEMU's serial number: the device's, the controller's PCI path, the port.
    dev->serial = props.count("serial") ? props["serial"]
                                        : std::string(own_serial) + "-" + pci_dev_path(*hc) + "-" +
                                              std::to_string(port);
    // (attached while the machine runs: the port's change event tells
    // the guest's driver, which resets and enumerates the device)
    if (Status st = hc->attach(dev.get(), port); !st) return err(st.error().msg);
    if (disk) {
        disk->attached = true;
        disk->qdev = d.id;
    }
    qom_name(d.id, d.driver);
    if (bootindex >= 0)  // (QEMU's path: the controller, the port, the SCSI disk)
        boot_.push_back({static_cast<int32_t>(bootindex),
                         ofw_bus_path(hc->bus()) + "/usb@" + slot_fn(hc->devfn()) + "/storage@" +
                             std::to_string(port) + "/channel@0/disk@0,0",
                         last_qom_path_});
    if (disk) bus_of_[last_qom_path_] = name_bus(d.id, "scsi");  // (its SCSI bus)
    usb_devs_.push_back({std::move(dev), hc, last_qom_path_, d.id, disk, port});
    return ok_status();
}

// virtio-balloon-device (and -pci)
Status Board::make_balloon(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    for (const char* k : {"deflate-on-oom", "free-page-reporting", "free-page-hint"})
        if (props.count(k) && props[k] != "off" && props[k] != "false")
            return err(std::string("Property '") + d.driver + "." + k + "' is not supported by armvm yet");
    qom_name(d.id, d.driver);
    if (balloon_) return err("Only one balloon device is supported");
    auto dev = std::make_unique<VirtioBalloon>(cfg.memory.size);
    balloon_ = dev.get();
    balloon_path_ = last_qom_path_;
    dev->on_actual_changed = [this](uint64_t actual) {
        if (hooks_.balloon_change) hooks_.balloon_change(actual);
    };
    Status st = plug(std::move(dev), d.origin, [this](bool) {
        balloon_ = nullptr;
        balloon_path_.clear();
        loop_->cancel_timer(balloon_timer_);
    });
    ARMVM_TRY(st);
    return ok_status();
}

// virtio-rng-device (and -pci)
Status Board::make_rng(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    // rng=ID: an rng-random object's file (QEMU's default
    // /dev/urandom) or rng-builtin (the host's getrandom, as without).
    int fd = -1;
    if (props.count("rng")) {
        const ObjectConfig* o = nullptr;
        for (const auto& obj : cfg.objects)
            if (obj.id == props["rng"]) o = &obj;
        if (!o) return err("Device '" + props["rng"] + "' not found");
        if (o->qom_type != "rng-random" && o->qom_type != "rng-builtin")
            return err("Invalid parameter type for 'rng', expected: rng-backend");
        if (o->qom_type == "rng-random") {
            std::string file = o->props.value("filename", std::string("/dev/urandom"));
            fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) return make_error("Could not open '" + file + "': " + std::strerror(errno));  // (QEMU's words, no option)
        }
    }
    qom_name(d.id, d.driver);
    if (!props.count("rng")) qom_default_rng_.insert(last_qom_path_);  // (QEMU's rng-builtin child)
    ARMVM_TRY(plug(std::make_unique<VirtioRng>(fd), d.origin));
    return ok_status();
}

// virtio-serial-device (and -pci)
Status Board::make_serial(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    unsigned max_ports = 31;
    if (props.count("max_ports")) {
        const std::string& v = props["max_ports"];
        char* end = nullptr;
        unsigned long n = std::strtoul(v.c_str(), &end, 0);
        if (v.empty() || !end || *end || v[0] == '-') return err("Parameter 'max_ports' expects integer");
        if (n == 0) return err("Maximum number of serial ports not specified");
        if (n > 511) return err("maximum ports supported: 511");
        max_ports = static_cast<unsigned>(n);
    }
    bool emerg = true;
    if (props.count("emergency-write")) {
        const std::string& v = props["emergency-write"];
        if (v == "on" || v == "true") emerg = true;
        else if (v == "off" || v == "false") emerg = false;
        else return err("Parameter 'emergency-write' expects 'on' or 'off'");
    }
    qom_name(d.id, d.driver);
    auto dev = std::make_unique<VirtioSerial>(max_ports, emerg);
    VirtioSerial* vs = dev.get();
    vs->on_guest_open = hooks_.vserport_change;
    serial_buses_.push_back({name_bus(d.id, "virtio-serial-bus"), vs});
    bus_of_[last_qom_path_] = serial_buses_.back().first;
    Status st = plug(std::move(dev), d.origin, [this, vs](bool) {
        for (auto it = serial_buses_.begin(); it != serial_buses_.end(); ++it)
            if (it->second == vs) {
                serial_buses_.erase(it);
                break;
            }
    });
    ARMVM_TRY(st);
    return ok_status();
}

// virtconsole, virtserialport
Status Board::make_serial_port(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    VirtioSerial* bus = nullptr;
    if (d.props.contains("bus")) {
        std::string want = props["bus"];
        for (auto& [name, b] : serial_buses_)
            if (want == name) bus = b;
        if (!bus) return err("Bus '" + want + "' not found");
    } else {
        // The first virtio-serial bus QEMU's search finds (on virtio-mmio
        // before PCI, newest first).
        for (VirtioDevice* v : virtio_in_bus_order())
            for (auto& [id, b] : serial_buses_)
                if (!bus && static_cast<VirtioDevice*>(b) == v) bus = b;
        if (!bus) return err("No 'virtio-serial-bus' bus found for device '" + d.driver + "'");
    }
    VirtioSerial::PortConfig pc{0, d.driver == "virtconsole", props["name"], nullptr, d.id};
    if (props.count("chardev")) {
        const std::string& c = props["chardev"];
        pc.chr = hooks_.find_chardev ? hooks_.find_chardev(c) : nullptr;
        if (!pc.chr) return err("Property '" + d.driver + ".chardev' can't find value '" + c + "'");
        if (pc.chr->frontend_attached())
            return err("Property '" + d.driver + ".chardev' can't take value '" + c + "': Device '" + c +
                       "' is in use");
    }
    if (!pc.name.empty())
        for (auto& [name, b] : serial_buses_)
            if (b->port_name_used(pc.name))
                return err("virtio-serial-bus: A port already exists by name " + pc.name);
    if (props.count("nr")) {
        char* end = nullptr;
        unsigned long v = std::strtoul(props["nr"].c_str(), &end, 0);
        if (!end || *end || props["nr"].empty())
            return err("Property '" + d.driver + ".nr' doesn't take value '" + props["nr"] + "'");
        if (v >= bus->max_ports())
            return err("virtio-serial-bus: Out-of-range port id specified, max. allowed: " +
                       std::to_string(bus->max_ports() - 1));
        if (v == 0 && !pc.console)
            return err("Port number 0 on virtio-serial devices reserved for virtconsole devices for "
                       "backward compatibility.");
        if (bus->port_used(static_cast<unsigned>(v)))
            return err("virtio-serial-bus: A port already exists at id " + std::to_string(v));
        pc.nr = static_cast<unsigned>(v);
    } else if (pc.console && !bus->port_used(0)) {
        pc.nr = 0;  // the first console is port 0 (hvc0)
    } else {
        pc.nr = 1;  // port 0 stays for a console (QEMU's backward compatibility)
        while (pc.nr < bus->max_ports() && bus->port_used(pc.nr)) ++pc.nr;
        if (pc.nr >= bus->max_ports())
            return err("virtio-serial-bus: Out-of-range port id specified, max. allowed: " +
                       std::to_string(bus->max_ports() - 1));
    }
    qom_name(d.id, d.driver);
    bus->add_port(pc);
    return ok_status();
}

// virtio-net-device (and -pci)
Status Board::make_net(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    ARMVM_TRY(read_props());
    std::string netdev = props["netdev"], mac_s = props["mac"];
    NetBackend* nb = nullptr;
    for (auto& n : netdevs_)
        if (n->id() == netdev) nb = n.get();
    if (netdev.empty()) {  // a NIC with no peer (QEMU warns at start; see build())
        no_peers_.push_back(std::make_unique<NoPeer>());
        nb = no_peers_.back().get();
    }
    if (!nb) return err("Property '" + drv + ".netdev' can't find value '" + netdev + "'");
    if (nb->attached) return err("Property '" + drv + ".netdev' can't take value '" + netdev + "', it's in use");
    // QEMU's default MACs: 52:54:00:12:34:56, then :57, ...
    std::array<uint8_t, 6> mac = {0x52, 0x54, 0x00, 0x12, 0x34, static_cast<uint8_t>(0x56 + nics_)};
    if (!mac_s.empty()) {
        unsigned m[6];
        char tail;
        if (std::sscanf(mac_s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
                        &tail) != 6)
            return err("Property '" + d.driver + ".mac' doesn't take value '" + mac_s + "'");
        for (int i = 0; i < 6; ++i) mac[static_cast<size_t>(i)] = static_cast<uint8_t>(m[i]);
    }
    ++nics_;
    nb->attached = true;
    qom_name(d.id, d.driver);
    std::string model = on_pci ? d.driver : drv, name = d.id;
    if (name.empty()) {  // QEMU's: the model and how many NICs of it there are
        unsigned same = 0;
        for (const auto& n : nic_list_) same += n.model == model;
        name = model + "." + std::to_string(same);
    }
    char mac_text[18];
    std::snprintf(mac_text, sizeof mac_text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                  mac[5]);
    ARMVM_TRY(plug(std::make_unique<VirtioNet>(*nb, mac), d.origin, [this, nb, name](bool) {
        nb->attached = false;
        nb->receiver = nullptr;
        std::erase_if(nic_list_, [&](const Nic& n) { return n.name == name; });
    }));
    nic_list_.push_back({name, model, mac_text, netdev.empty() ? nullptr : nb});
    return ok_status();
}

// virtio-blk-device (and -pci)
Status Board::make_blk(DeviceCtx& ctx) {
    ARMVM_DEVICE_LOCALS(ctx);
    // virtio-blk-device: drive (required), serial, num-queues, write-cache;
    // QEMU's other tuning properties are accepted and have no effect here.
    ARMVM_TRY(read_props());
    std::string drive = props["drive"], serial = props["serial"];
    // num-queues: QEMU's default on PCI is one per vCPU, on MMIO one.
    unsigned queues = on_pci ? std::min(cfg.smp.cpus, 1024u) : 1;
    if (auto nq = props.find("num-queues"); nq != props.end()) {
        char* end = nullptr;
        long long v = std::strtoll(nq->second.c_str(), &end, 0);
        if (nq->second.empty() || !end || *end) return err("Parameter 'num-queues' expects integer");
        if (v < 0 || v > 0xffff) return err("Parameter 'num-queues' expects uint16_t");
        if (v == 0) return err("num-queues property must be larger than 0");
        if (v > 1024) return err("num-queues property must be <= 1024");
        queues = static_cast<unsigned>(v);
    }
    if (drive.empty()) return err("drive property not set");
    BlockDev* disk = block_->find(drive);
    if (!disk) return err("Property '" + drv + ".drive' can't find value '" + drive + "'");
    if (disk->attached) return err("Property '" + drv + ".drive' can't take value '" + drive + "', it's in use");
    // write-cache=on|off sets the drive's write cache; auto keeps the drive's (cache=).
    if (auto wc = props.find("write-cache"); wc != props.end() && wc->second != "auto") {
        if (wc->second != "on" && wc->second != "off")
            return err("Parameter 'write-cache' does not accept value '" + wc->second + "'");
        disk->set_write_cache(wc->second == "on");
    }
    disk->attached = true;
    std::string q = qom_name(d.id, d.driver);
    // (QEMU names the device the disk is attached to: a virtio-blk-pci's is
    // its inner virtio-blk-device, which has no id, so its QOM path)
    disk->qdev = on_pci ? last_qom_path_ + "/virtio-backend" : q;
    ARMVM_TRY(plug(std::make_unique<VirtioBlk>(*disk, serial, queues, loop_), d.origin, [disk](bool unplugged) {
        disk->attached = false;
        disk->qdev.clear();
        disk->auto_delete = unplugged && !disk->device_name().empty();  // (a -drive goes with its device, as QEMU's)
    }));
    return ok_status();
}

#undef ARMVM_DEVICE_LOCALS

Board::Factory Board::factory(const std::string& model) {
    static const std::map<std::string, Factory> table = {
        {"pcie-root-port", &Board::make_root_port},
        {"tpm-tis-device", &Board::make_tpm},
        {"qemu-xhci", &Board::make_xhci},
        {"usb-kbd", &Board::make_usb_device},
        {"usb-tablet", &Board::make_usb_device},
        {"usb-storage", &Board::make_usb_device},
        {"virtio-balloon-device", &Board::make_balloon},
        {"virtio-rng-device", &Board::make_rng},
        {"virtio-serial-device", &Board::make_serial},
        {"virtconsole", &Board::make_serial_port},
        {"virtserialport", &Board::make_serial_port},
        {"virtio-net-device", &Board::make_net},
        {"virtio-blk-device", &Board::make_blk},
    };
    auto it = table.find(model);
    return it == table.end() ? nullptr : it->second;
}

bool Board::has_factory(const DeviceType& t) { return factory(*t.virtio ? t.virtio : t.name) != nullptr; }

}  // namespace armvm::virt
