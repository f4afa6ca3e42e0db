// The virt board's QOM composition tree, shaped as QEMU 7.2's: what `info
// qom-tree` prints and qom-list walks. Only objects armvm has are in it
// (QEMU's memory regions and interrupt lines are not objects here).
#include <cstring>
#include <map>

#include "cpu-arm64/models.hpp"
#include "machine/virt/board.hpp"
#include "machine/virt/memmap.hpp"

namespace armvm::virt {

namespace {

using Node = Board::QomNode;

Node leaf(std::string name, std::string type) { return Node{std::move(name), std::move(type), {}}; }

// QEMU names a bus after its device's id ("ID.0"), or, for a device with
// none, after the bus type with a counter per type ("usb-bus.0").
struct BusNames {
    std::map<std::string, unsigned> next;
    std::string operator()(const std::string& id, const std::string& type) {
        return id.empty() ? type + "." + std::to_string(next[type]++) : id + ".0";
    }
};

// What QEMU puts under a -device of `driver`.
std::vector<Node> device_children(const std::string& driver, const std::string& id, bool default_rng,
                                  BusNames& buses) {
    std::vector<Node> out;
    auto virtio_kind = [&](const std::string& suffix) {
        std::string k = driver.substr(7, driver.size() - 7 - suffix.size());  // "virtio-" KIND SUFFIX
        for (const char* v : {"-non-transitional", "-transitional"})
            if (k.size() > std::strlen(v) && k.compare(k.size() - std::strlen(v), std::string::npos, v) == 0)
                k.resize(k.size() - std::strlen(v));
        return k;
    };
    auto backend_children = [&](const std::string& kind) {
        std::vector<Node> c;
        if (kind == "serial") c.push_back(leaf(buses(id, "virtio-serial-bus"), "virtio-serial-bus"));
        if (kind == "rng" && default_rng) c.push_back(leaf("default-backend", "rng-builtin"));
        return c;
    };
    if (driver == "pcie-root-port") {
        out.push_back(leaf(id.empty() ? buses.operator()("", "pcie") : id, "PCIE"));
    } else if (driver == "qemu-xhci") {
        out.push_back(leaf(buses(id, "usb-bus"), "usb-bus"));
        out.push_back(leaf("xhci-core", "base-xhci"));
    } else if (driver == "usb-storage") {
        Node bus = leaf(buses(id, "scsi"), "SCSI");
        bus.children.push_back(leaf("legacy[0]", "scsi-hd"));
        out.push_back(std::move(bus));
    } else if (driver.rfind("virtio-", 0) == 0 && driver.find("-pci") != std::string::npos) {
        std::string kind = virtio_kind(driver.substr(driver.find("-pci")));
        out.push_back(Node{"virtio-backend", "virtio-" + kind + "-device", backend_children(kind)});
        out.push_back(leaf("virtio-bus", "virtio-pci-bus"));
    } else if (driver.rfind("virtio-", 0) == 0 && driver.size() > 14 &&
               driver.compare(driver.size() - 7, 7, "-device") == 0) {
        out = backend_children(virtio_kind("-device"));
    }
    return out;
}

}  // namespace

Board::QomNode Board::qom_tree(const std::string& machine_type) const {
    Node unattached{"unattached", "container", {}};
    unsigned n = 0;
    auto dev = [&](const std::string& type, std::vector<Node> children = {}) {
        unattached.children.push_back(Node{"device[" + std::to_string(n++) + "]", type, std::move(children)});
    };
    const CpuModel* model = find_cpu_model(cfg_->cpu.model);
    std::string cpu_type = model ? model->qom_typename() : cfg_->cpu.model + "-arm-cpu";
    for (unsigned i = 0; i < cpu_count(); ++i) dev(cpu_type);
    bool v3 = kvm_ ? kvm_->gic_version() == 3 : gic_ && gic_->version() == 3;
    if (kvm_) dev(v3 ? "kvm-arm-gicv3" : "kvm-arm-gic");
    else dev(v3 ? "arm-gicv3" : "arm_gic");
    if (its_ || (kvm_ && kvm_->has_its())) dev(kvm_ ? "arm-its-kvm" : "arm-gicv3-its");
    if (v2m_) dev("arm-gicv2m");
    dev("pl011", {leaf("clk", "clock")});
    dev("pl031");
    dev("gpex-pcihost", {leaf("gpex_root", "gpex-root"), leaf("pcie.0", "PCIE")});
    if (ged_) {
        dev("acpi-ged");
    } else {
        dev("pl061");
        dev("gpio-key");
    }
    for (unsigned slot = 0; slot < kMmioSlots; ++slot)
        dev("virtio-mmio", {leaf("virtio-mmio-bus." + std::to_string(slot), "virtio-mmio-bus")});
    dev("platform-bus-device");
    unattached.children.push_back(leaf("sysbus", "System"));

    BusNames buses;
    auto list = [&](const char* name, const QomChildren& devs, bool anon) {
        Node c{name, "container", {}};
        for (const auto& [qname, driver] : devs) {
            std::string path = std::string("/machine/") + name + "/" + qname;
            c.children.push_back(Node{qname, driver,
                                      device_children(driver, anon ? "" : qname, qom_default_rng_.count(path) > 0, buses)});
        }
        return c;
    };
    Node m{"machine", machine_type, {}};
    m.children.push_back(leaf("fw_cfg", "fw_cfg_mem"));
    m.children.push_back(list("peripheral", peripheral_, false));
    m.children.push_back(list("peripheral-anon", peripheral_anon_, true));
    m.children.push_back(std::move(unattached));
    m.children.push_back(leaf("virt.flash0", "cfi.pflash01"));
    m.children.push_back(leaf("virt.flash1", "cfi.pflash01"));
    return m;
}

const Board::QomNode* Board::qom_find(const QomNode& machine, const std::string& path) {
    const std::string root = "/" + machine.name;
    if (path.compare(0, root.size(), root) != 0 || (path.size() > root.size() && path[root.size()] != '/')) return nullptr;
    const QomNode* at = &machine;
    size_t pos = root.size();
    while (pos < path.size()) {
        size_t next = path.find('/', pos + 1);
        std::string part = path.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
        pos = next == std::string::npos ? path.size() : next;
        if (part.empty()) continue;  // ("/machine/" and "//")
        const QomNode* found = nullptr;
        for (const auto& c : at->children)
            if (c.name == part) found = &c;
        if (!found) return nullptr;
        at = found;
    }
    return at;
}

}  // namespace armvm::virt
