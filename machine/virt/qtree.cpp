// HMP's info qtree, in QEMU 7.2's shape: the buses from the main system
// bus down, each device with its properties (those armvm implements, as
// set or defaulted, and the values QEMU shows once a device is made:
// the PCI address, MAC, MSI-X vectors, legacy interface, option ROM),
// its interrupt lines and MMIO regions, a PCI function's identity and
// BARs, and the buses it brings.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>

#include "base/keyval.hpp"
#include "hw/pci/gpex.hpp"
#include "hw/usb/usb.hpp"
#include "hw/virtio/virtio_blk.hpp"
#include "hw/virtio/virtio_mmio.hpp"
#include "hw/virtio/virtio_net.hpp"
#include "hw/virtio/virtio_pci.hpp"
#include "hw/virtio/virtio_serial.hpp"
#include "machine/devices.hpp"
#include "machine/virt/board.hpp"
#include "machine/virt/memmap.hpp"

namespace armvm::virt {

namespace {

struct QtreeOut {
    std::string text;
    void line(unsigned depth, const std::string& s) { text += std::string(2 * depth, ' ') + s + "\n"; }
    void dev(unsigned depth, const std::string& type, const std::string& id) {
        line(depth, "dev: " + type + ", id \"" + id + "\"");
    }
    void mmio(unsigned depth, uint64_t base, uint64_t size) {
        char b[64];
        std::snprintf(b, sizeof b, "mmio %016llx/%016llx", static_cast<unsigned long long>(base),
                      static_cast<unsigned long long>(size));
        line(depth, b);
    }
    void bus(unsigned depth, const std::string& name, const std::string& type) {
        line(depth, "bus: " + name);
        line(depth + 1, "type " + type);
    }
};

// A number as qtree prints it ("N (0xN)"), a size with its unit ("N (4
// GiB)": three significant digits of the largest binary unit it fills).
std::string number_text(unsigned long long u, bool negative = false) {
    char b[64];
    if (negative) std::snprintf(b, sizeof b, "%lld (0x%llx)", static_cast<long long>(u), u);
    else std::snprintf(b, sizeof b, "%llu (0x%llx)", u, u);
    return b;
}

std::string size_text(unsigned long long u) {
    char b[64];
    if (u < 1024) {
        std::snprintf(b, sizeof b, "%llu (%llu B)", u, u);
        return b;
    }
    unsigned i = 0;
    while (i < 6 && (u >> (10 * (i + 1))) >= 1024) ++i;
    std::snprintf(b, sizeof b, "%llu (%0.3g %ciB)", u, static_cast<double>(u) / static_cast<double>(1ull << (10 * (i + 1))),
                  "KMGTPE"[i]);
    return b;
}

// A property's value as QEMU's qtree prints it: numbers "N (0xN)",
// booleans true/false, the rest (strings, enums, links) quoted.
std::string shown(const DeviceProp& p, const Json& v) {
    std::string ty = p.type;
    std::string text = v.is_string() ? v.get<std::string>() : v.dump();
    if (ty == "bool") return text == "on" || text == "true" || text == "yes" || text == "y" ? "true" : "false";
    bool integer = ty == "size" || ty.rfind("uint", 0) == 0 || ty.rfind("int", 0) == 0;
    if (!integer) return "\"" + text + "\"";
    if (ty == "size") {  // (the option parser's sizes: suffixes k, M, G, ...)
        auto sz = parse_size_value(p.name, v);
        return sz ? size_text(*sz) : text;
    }
    bool negative = text[0] == '-';
    return number_text(negative ? static_cast<unsigned long long>(std::strtoll(text.c_str(), nullptr, 0))
                                : std::strtoull(text.c_str(), nullptr, 0),
                       negative);
}

// The lines for a -device's properties that armvm implements (`type`'s
// in the registry; `keep` chooses among them: a virtio-X-pci's are split
// between the function and its backend), as given, as the device made
// them (`made`: QEMU prints the value a device settles on), or their
// default. bootindex is not one of QEMU's qdev properties: not shown.
void props(QtreeOut& o, unsigned depth, const std::string& type, const Json& given,
           const std::function<bool(const char*)>& keep,
           const std::function<std::optional<std::string>(const char*)>& made) {
    const DeviceType* t = find_device_type(type);
    if (!t) return;
    for (const DeviceProp& p : t->props) {
        if (!std::strcmp(p.name, "bootindex") || !keep(p.name)) continue;
        // (qemu-xhci's are its xhci-core's, a device qtree does not show)
        if (type == "qemu-xhci" && (!std::strcmp(p.name, "p2") || !std::strcmp(p.name, "p3") ||
                                    !std::strcmp(p.name, "streams")))
            continue;
        std::optional<std::string> v = made(p.name);
        if (!v && given.contains(p.name)) v = shown(p, given[p.name]);
        else if (!v && p.def) v = shown(p, Json::parse(p.def, nullptr, false));
        else if (!v && std::strcmp(p.type, "str") == 0) v = "\"\"";
        if (v) o.line(depth, std::string(p.name) + " = " + *v);
    }
}

bool all(const char*) { return true; }

// What a PCI function settled on: its address, its option ROM (the file
// it loaded, QEMU's romsize: the file's, rounded), and a virtio
// function's MSI-X vectors and legacy interface.
std::optional<std::string> pci_made(PciDevice& d, const Json& given, const char* name) {
    char b[64];
    std::string n = name;
    if (n == "addr") {
        std::snprintf(b, sizeof b, "%02x.%x", d.devfn() >> 3, d.devfn() & 7);
        return b;
    }
    if (n == "romsize" && !given.contains(n) && d.bar(6).size) return number_text(d.bar(6).size);
    if (n == "romfile" && !d.romfile.empty()) return "\"" + d.romfile + "\"";  // (a device's default ROM too)
    if (auto* vp = dynamic_cast<VirtioPci*>(&d)) {
        if (n == "vectors") return number_text(vp->options().vectors);
        bool asked = given.contains(n) && given[n].is_string() && given[n].get<std::string>() != "auto";
        if (n == "disable-legacy" && !asked) return vp->options().modern_only ? "\"on\"" : "\"off\"";
    }
    return std::nullopt;
}

// A virtio backend's: a NIC's MAC address, a disk's queues and block
// sizes.
std::optional<std::string> backend_made(VirtioDevice& d, const Json& given, const char* name) {
    std::string n = name;
    if (dynamic_cast<VirtioBlk*>(&d) && !given.contains(n)) {
        if (n == "num-queues") return number_text(d.num_queues());
        if (n == "logical_block_size" || n == "physical_block_size") return size_text(512);
    }
    if (auto* net = dynamic_cast<VirtioNet*>(&d); net && !std::strcmp(name, "mac")) {
        const auto& m = net->mac();
        char b[32];
        std::snprintf(b, sizeof b, "\"%02x:%02x:%02x:%02x:%02x:%02x\"", m[0], m[1], m[2], m[3], m[4], m[5]);
        return b;
    }
    return std::nullopt;
}

const Json kNothing = Json::object();

}  // namespace

std::string Board::qtree() const {
    QtreeOut o;
    // A virtio backend and what hangs off it: a virtio-serial device's
    // bus with its ports, newest first.
    // (`own_id`: on virtio-mmio the backend is the -device itself, with
    // its id; on PCI the id is the PCI function's, and the backend has none)
    // `given`: the -device's properties (of the PCI function on PCI).
    auto given = [&](const std::string& path) -> const Json& {
        auto it = qdev_props_.find(path);
        return it == qdev_props_.end() ? kNothing : it->second.second;
    };
    auto backend = [&](unsigned depth, VirtioDevice& d, const std::string& own_id, const Json& props_given) {
        o.dev(depth, d.name(), own_id);
        props(o, depth + 1, d.name(), props_given, all, [&](const char* n) { return backend_made(d, props_given, n); });
        for (const auto& [bus, vs] : serial_buses_) {
            if (static_cast<VirtioDevice*>(vs) != &d) continue;
            o.bus(depth + 1, bus, "virtio-serial-bus");
            auto ports = vs->ports();
            for (auto it = ports.rbegin(); it != ports.rend(); ++it) {
                const char* type = (*it)->console ? "virtconsole" : "virtserialport";
                o.dev(depth + 2, type, (*it)->id);
                unsigned nr = (*it)->nr;
                if (!(*it)->id.empty())
                    props(o, depth + 3, type, given("/machine/peripheral/" + (*it)->id), all,
                          [&](const char* n) -> std::optional<std::string> {
                              if (std::strcmp(n, "nr")) return std::nullopt;
                              return number_text(nr);
                          });
            }
        }
    };
    auto unmapped = [&](unsigned depth, uint64_t size) {  // (a region QEMU maps itself, not through the bus)
        o.mmio(depth, ~0ull, size);
    };
    o.bus(0, "main-system-bus", "System");
    // (on each bus the newest device first, as QEMU lists them)
    o.dev(1, "platform-bus-device", "platform-bus-device");
    o.line(2, "mmio_size = " + std::to_string(size(Region::PlatformBus)) + " (0x2000000)");
    unmapped(2, size(Region::PlatformBus));
    if (tpm_) {
        o.dev(1, "tpm-tis-device", "");
        o.mmio(2, base(Region::PlatformBus), kTpmTisSize);
    }
    o.dev(1, "fw_cfg_mem", "");
    o.line(2, "data_width = 8 (0x8)");
    o.line(2, "dma_enabled = true");
    o.mmio(2, base(Region::FwCfg) + 8, 2);
    o.mmio(2, base(Region::FwCfg), 8);
    o.mmio(2, base(Region::FwCfg) + 16, 8);
    for (unsigned slot = kMmioSlots; slot-- > 0;) {
        o.dev(1, "virtio-mmio", "");
        o.line(2, "gpio-out \"sysbus-irq\" 1");
        o.line(2, cfg_->virtio_mmio_force_legacy ? "force-legacy = true" : "force-legacy = false");
        o.mmio(2, base(Region::Mmio) + slot * kMmioSlotSize, kMmioSlotSize);
        o.bus(2, "virtio-mmio-bus." + std::to_string(slot), "virtio-mmio-bus");
        if (VirtioDevice* d = virtio_[slot] ? virtio_[slot]->device() : nullptr) {
            std::string id, qom;  // (a -device with an id sits at /machine/peripheral/ID)
            const std::string named = "/machine/peripheral/";
            for (const auto& [path, s] : mmio_bus_of_) {
                if (s != slot) continue;
                qom = path;
                if (path.compare(0, named.size(), named) == 0) id = path.substr(named.size());
            }
            backend(3, *d, id, given(qom));
        }
    }
    if (ged_) {
        o.dev(1, "acpi-ged", "");
        o.mmio(2, base(Region::AcpiGed), size(Region::AcpiGed));
    } else {
        o.dev(1, "gpio-key", "");
        o.dev(1, "pl061", "");
        unmapped(2, size(Region::Gpio));
    }
    o.dev(1, "gpex-pcihost", "");
    o.line(2, "gpio-out \"sysbus-irq\" 4");
    unmapped(2, 0x10000000);  // (the ECAM and the memory space: QEMU maps windows of them)
    unmapped(2, ~0ull);
    o.mmio(2, base(Region::PciePio), size(Region::PciePio));
    // A PCI bus: its functions newest first (the host bridge was the
    // first), each with QEMU's identity line and the buses behind it.
    std::function<void(const PciBus&, unsigned)> pci_bus = [&](const PciBus& bus, unsigned depth) {
        o.bus(depth, bus.name(), "PCIE");
        for (PciDevice* dp : pci_newest_first(bus)) {
            PciDevice& d = *dp;
            o.dev(depth + 1, d.type_name(), d.qdev_id);
            auto rec = qdev_props_.find(d.qom_path);
            const Json& g = rec == qdev_props_.end() ? kNothing : rec->second.second;
            if (rec != qdev_props_.end()) {
                const DeviceType* t = find_device_type(rec->second.first);
                const DeviceType* be = t && *t->virtio ? find_device_type(t->virtio) : nullptr;
                // (a virtio function's own: those its backend does not have)
                props(o, depth + 2, rec->second.first, g, [&](const char* n) { return !be || !be->prop(n); },
                      [&](const char* n) { return pci_made(d, g, n); });
            }
            uint16_t cls = d.get16(PCI_CLASS_PROG + 1);
            char b[160];
            const char* name = pci_class_name(cls);
            char unknown[24];
            std::snprintf(unknown, sizeof unknown, "Class %04x", cls);
            std::snprintf(b, sizeof b, "class %s, addr %02x:%02x.%x, pci id %04x:%04x (sub %04x:%04x)",
                          name ? name : unknown, d.bus() ? d.bus()->number() : 0, d.devfn() >> 3, d.devfn() & 7,
                          d.get16(PCI_VENDOR_ID), d.get16(PCI_DEVICE_ID),
                          d.is_bridge() ? 0 : d.get16(PCI_SUBSYSTEM_VENDOR_ID), d.is_bridge() ? 0 : d.get16(PCI_SUBSYSTEM_ID));
            o.line(depth + 2, b);
            for (unsigned i = 0; i < 7; ++i) {  // (QEMU's: the last byte is the address plus the size less one)
                const PciDevice::Bar& bar = d.bar(i);
                if (!bar.size) continue;
                unsigned long long at = bar.addr;
                std::snprintf(b, sizeof b, "bar %u: %s at 0x%llx [0x%llx]", i, bar.io() ? "i/o" : "mem", at,
                              at + bar.size - 1);
                o.line(depth + 2, b);
            }
            if (PciBus* child = d.secondary()) pci_bus(*child, depth + 2);
            if (auto* vp = dynamic_cast<VirtioPci*>(&d)) {
                o.bus(depth + 2, "virtio-bus", "virtio-pci-bus");
                backend(depth + 3, vp->device(), "", g);
            }
            for (const auto& [busname, hc] : usb_buses_) {
                if (static_cast<const PciDevice*>(hc) != &d) continue;
                o.bus(depth + 2, busname, "usb-bus");
                for (auto u = usb_devs_.rbegin(); u != usb_devs_.rend(); ++u) {
                    if (u->hc != hc) continue;
                    o.dev(depth + 3, u->dev->type_name(), u->id);
                    // (QEMU's usb-storage hands its drive to its SCSI disk)
                    props(o, depth + 4, u->dev->type_name(), given(u->qom_path), all,
                          [&](const char* n) -> std::optional<std::string> {
                              if (u->disk && !std::strcmp(n, "drive")) return "\"\"";
                              return std::nullopt;
                          });
                    if (u->disk) {  // (QEMU's usb-storage: a SCSI disk on a bus of its own)
                        o.bus(depth + 4, bus_of_.at(u->qom_path), "SCSI");
                        o.dev(depth + 5, "scsi-hd", "");
                    }
                }
            }
        }
    };
    pci_bus(pci_->root_bus(), 2);
    o.dev(1, "pl031", "");
    o.mmio(2, base(Region::Rtc), size(Region::Rtc));
    o.dev(1, "pl011", "");
    unmapped(2, size(Region::Uart));
    bool v3 = kvm_ ? kvm_->gic_version() == 3 : gic_ && gic_->version() == 3;
    if (its_ || (kvm_ && kvm_->has_its())) {
        o.dev(1, kvm_ ? "arm-its-kvm" : "arm-gicv3-its", "");
        o.mmio(2, base(Region::GicIts), size(Region::GicIts));
    }
    if (v2m_) {
        o.dev(1, "arm-gicv2m", "");
        o.line(2, "base-spi = " + number_text(kSpiV2mFirst));  // (an SPI number)
        o.line(2, "num-spi = " + number_text(kSpiV2mCount));
        o.mmio(2, base(Region::GicV2m), size(Region::GicV2m));
    }
    o.dev(1, kvm_ ? (v3 ? "kvm-arm-gicv3" : "kvm-arm-gic") : (v3 ? "arm-gicv3" : "arm_gic"), "");
    o.mmio(2, base(Region::GicDist), v3 ? 0x10000 : 0x1000);
    if (v3) o.mmio(2, base(Region::GicRedist), 0x20000ull * cpu_count());
    else o.mmio(2, base(Region::GicCpu), 0x2000);
    for (unsigned bank = 2; bank-- > 0;) {
        o.dev(1, "cfi.pflash01", "");
        o.line(2, "num-blocks = 256 (0x100)");
        o.line(2, "sector-length = 262144 (0x40000)");
        o.line(2, "width = 4 (0x4)");
        o.line(2, "device-width = 2 (0x2)");
        o.line(2, "name = \"virt.flash" + std::to_string(bank) + "\"");
        unmapped(2, PFlash::kBankSize);
    }
    return o.text;
}

}  // namespace armvm::virt
