// The virt board's QOM composition tree, shaped as QEMU 7.2's: what `info
// qom-tree` prints and qom-list walks. Only objects armvm has are in it
// (QEMU's memory regions and interrupt lines are not objects here).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>

#include "cpu-arm64/models.hpp"
#include "machine/virt/board.hpp"
#include "hw/pci/gpex.hpp"
#include "hw/usb/usb.hpp"
#include "hw/virtio/virtio_mmio.hpp"
#include "hw/virtio/virtio_pci.hpp"
#include "hw/virtio/virtio_serial.hpp"
#include "machine/virt/memmap.hpp"

namespace armvm::virt {

namespace {

using Node = Board::QomNode;

Node leaf(std::string name, std::string type) { return Node{std::move(name), std::move(type), {}}; }

// What QEMU puts under a -device of `driver`; `bus`: the name of the bus
// it brings, if any (Board::name_bus).
std::vector<Node> device_children(const std::string& driver, const std::string& bus, bool default_rng) {
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
        if (kind == "serial") c.push_back(leaf(bus, "virtio-serial-bus"));
        if (kind == "rng" && default_rng) c.push_back(leaf("default-backend", "rng-builtin"));
        return c;
    };
    if (driver == "pcie-root-port") {
        out.push_back(leaf(bus, "PCIE"));
    } else if (driver == "qemu-xhci") {
        out.push_back(leaf(bus, "usb-bus"));
        out.push_back(leaf("xhci-core", "base-xhci"));
    } else if (driver == "usb-storage") {
        Node scsi = leaf(bus, "SCSI");
        scsi.children.push_back(leaf("legacy[0]", "scsi-hd"));
        out.push_back(std::move(scsi));
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

    auto list = [&](const char* name, const QomChildren& devs) {
        Node c{name, "container", {}};
        for (const auto& [qname, driver] : devs) {
            std::string path = std::string("/machine/") + name + "/" + qname;
            auto bus = bus_of_.find(path);
            c.children.push_back(Node{qname, driver,
                                      device_children(driver, bus == bus_of_.end() ? "" : bus->second,
                                                      qom_default_rng_.count(path) > 0)});
        }
        return c;
    };
    Node m{"machine", machine_type, {}};
    m.children.push_back(leaf("fw_cfg", "fw_cfg_mem"));
    m.children.push_back(list("peripheral", peripheral_));
    m.children.push_back(list("peripheral-anon", peripheral_anon_));
    m.children.push_back(std::move(unattached));
    m.children.push_back(leaf("virt.flash0", "cfi.pflash01"));
    m.children.push_back(leaf("virt.flash1", "cfi.pflash01"));
    return m;
}

std::vector<PciDevice*> Board::pci_newest_first(const PciBus& bus) const {
    std::vector<PciDevice*> on_bus;
    for (const auto& d : pci_devs_)
        if (d->bus() == &bus) on_bus.push_back(d.get());
    bus.for_each([&](PciDevice& d) {  // (those the board made itself: the host bridge, the first)
        if (std::find(on_bus.begin(), on_bus.end(), &d) == on_bus.end()) on_bus.insert(on_bus.begin(), &d);
    });
    std::reverse(on_bus.begin(), on_bus.end());
    return on_bus;
}

std::vector<PciDevice*> Board::pci_in_bus_order() const {
    std::vector<PciDevice*> out;
    std::function<void(const PciBus&)> walk = [&](const PciBus& bus) {
        for (PciDevice* d : pci_newest_first(bus)) {
            out.push_back(d);
            if (PciBus* child = d->secondary()) walk(*child);
        }
    };
    if (pci_) walk(pci_->root_bus());
    return out;
}

std::vector<VirtioDevice*> Board::virtio_in_bus_order() const {
    std::vector<VirtioDevice*> out;
    for (unsigned slot = kMmioSlots; slot-- > 0;)  // (main-system-bus: the transports before the PCIe host)
        if (VirtioDevice* d = virtio_[slot] ? virtio_[slot]->device() : nullptr) out.push_back(d);
    for (PciDevice* d : pci_in_bus_order())
        if (auto* vp = dynamic_cast<VirtioPci*>(d)) out.push_back(&vp->device());
    return out;
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
