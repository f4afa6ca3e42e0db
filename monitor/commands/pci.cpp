// query-pci: every PCI function of the machine as QEMU describes it (the
// configuration space as the guest left it: BARs where it put them, or
// -1 while they do not decode; bridges with their bus numbers and windows
// and the functions behind them).
#include "hw/pci/gpex.hpp"
#include "machine/machine.hpp"
#include "machine/virt/board.hpp"
#include "monitor/dispatch.hpp"

namespace armvm {

namespace {

Json range(uint64_t base, uint64_t limit) { return {{"base", base}, {"limit", limit}}; }

Json describe(PciDevice& d, PciHost& host);

Json describe_bus(PciBus& bus, PciHost& host) {
    Json out = Json::array();
    bus.for_each([&](PciDevice& d) { out.push_back(describe(d, host)); });
    return out;
}

Json describe(PciDevice& d, PciHost& host) {
    Json e = Json::object();
    e["bus"] = d.bus() ? d.bus()->number() : 0;
    e["slot"] = d.devfn() >> 3;
    e["function"] = d.devfn() & 7;
    uint16_t cls = d.get16(PCI_CLASS_PROG + 1);
    Json ci = {{"class", cls}};
    if (const char* desc = pci_class_name(cls)) ci["desc"] = desc;
    e["class_info"] = ci;
    Json id = {{"vendor", d.get16(PCI_VENDOR_ID)}, {"device", d.get16(PCI_DEVICE_ID)}};
    if (!d.is_bridge()) {
        id["subsystem-vendor"] = d.get16(PCI_SUBSYSTEM_VENDOR_ID);
        id["subsystem"] = d.get16(PCI_SUBSYSTEM_ID);
    }
    e["id"] = id;
    uint8_t pin = d.get8(PCI_INTERRUPT_PIN);
    if (pin) e["irq"] = d.get8(PCI_INTERRUPT_LINE);
    e["irq_pin"] = pin;
    e["qdev_id"] = d.qdev_id;
    Json regions = Json::array();
    for (unsigned i = 0; i < 7; ++i) {  // (6: the expansion ROM)
        const PciDevice::Bar& b = d.bar(i);
        if (!b.size) continue;
        Json r = {{"bar", i}, {"type", b.io() ? "io" : "memory"}, {"size", b.size}};
        r["address"] = b.addr == PciDevice::kUnmapped ? Json(-1) : Json(b.addr);
        if (!b.io()) {
            r["prefetch"] = (static_cast<uint8_t>(b.kind) & 8) != 0;
            r["mem_type_64"] = b.is64();
        }
        regions.push_back(std::move(r));
    }
    e["regions"] = regions;
    if (d.is_bridge()) {
        // The windows as the PCI-to-PCI bridge specification decodes them.
        uint8_t io_base = d.get8(PCI_IO_BASE), io_limit = d.get8(PCI_IO_LIMIT);
        uint64_t iob = uint64_t(io_base & 0xf0) << 8, iol = (uint64_t(io_limit & 0xf0) << 8) | 0xfff;
        if (io_base & 1) iob |= uint64_t(d.get16(PCI_IO_BASE_UPPER16)) << 16;
        if (io_limit & 1) iol |= uint64_t(d.get16(PCI_IO_LIMIT_UPPER16)) << 16;
        uint64_t mb = uint64_t(d.get16(PCI_MEMORY_BASE) & 0xfff0) << 16;
        uint64_t ml = (uint64_t(d.get16(PCI_MEMORY_LIMIT) & 0xfff0) << 16) | 0xfffff;
        uint16_t pbase = d.get16(PCI_PREF_MEMORY_BASE), plimit = d.get16(PCI_PREF_MEMORY_LIMIT);
        uint64_t pb = uint64_t(pbase & 0xfff0) << 16, pl = (uint64_t(plimit & 0xfff0) << 16) | 0xfffff;
        if (pbase & 1) pb |= uint64_t(d.get32(PCI_PREF_BASE_UPPER32)) << 32;
        if (plimit & 1) pl |= uint64_t(d.get32(PCI_PREF_LIMIT_UPPER32)) << 32;
        Json bus = {{"number", d.get8(PCI_PRIMARY_BUS)}, {"secondary", d.get8(PCI_SECONDARY_BUS)},
                    {"subordinate", d.get8(PCI_SUBORDINATE_BUS)}, {"io_range", range(iob, iol)},
                    {"memory_range", range(mb, ml)}, {"prefetchable_range", range(pb, pl)}};
        Json br = {{"bus", bus}};
        if (d.get8(PCI_SECONDARY_BUS) != 0)
            if (PciBus* child = host.find_bus(d.get8(PCI_SECONDARY_BUS))) br["devices"] = describe_bus(*child, host);
        e["pci_bridge"] = br;
    }
    return e;
}

}  // namespace

void register_pci_commands(CommandTable& t) {
    Schema& s = t.schema();
    s.object("PciMemoryRange", {{"base", "int"}, {"limit", "int"}});
    s.object("PciBusInfo", {{"number", "int"}, {"secondary", "int"}, {"subordinate", "int"},
                            {"io_range", "PciMemoryRange"}, {"memory_range", "PciMemoryRange"},
                            {"prefetchable_range", "PciMemoryRange"}});
    s.object("PciBridgeInfo", {{"bus", "PciBusInfo"}, {"*devices", "[PciDeviceInfo]"}});
    s.object("PciDeviceClass", {{"*desc", "str"}, {"class", "int"}});
    s.object("PciDeviceId", {{"device", "int"}, {"vendor", "int"}, {"*subsystem", "int"},
                             {"*subsystem-vendor", "int"}});
    s.object("PciMemoryRegion", {{"bar", "int"}, {"type", "str"}, {"address", "int"}, {"size", "int"},
                                 {"*prefetch", "bool"}, {"*mem_type_64", "bool"}});
    s.object("PciDeviceInfo", {{"bus", "int"}, {"slot", "int"}, {"function", "int"}, {"class_info", "PciDeviceClass"},
                               {"id", "PciDeviceId"}, {"*irq", "int"}, {"irq_pin", "int"}, {"qdev_id", "str"},
                               {"*pci_bridge", "PciBridgeInfo"}, {"regions", "[PciMemoryRegion]"}});
    s.object("PciInfo", {{"bus", "int"}, {"devices", "[PciDeviceInfo]"}});
    t.add("query-pci", "", "[PciInfo]", [](QmpContext& ctx, const Json&) -> Result<Json> {
        Json out = Json::array();
        if (virt::Board* b = ctx.machine.board())
            if (PciHost* host = b->pci_host())
                out.push_back({{"bus", 0}, {"devices", describe_bus(host->root_bus(), *host)}});
        return out;
    });
}

}  // namespace armvm
