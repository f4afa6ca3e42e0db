// HMP's info mtree, in QEMU's format: the address spaces and what they
// see. The memory map's regions carry QEMU's names (board.cpp), so a
// user's scripts and eyes find what they find on QEMU.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "hw/pci/gpex.hpp"
#include "machine/virt/board.hpp"
#include "machine/virt/memmap.hpp"

namespace armvm::virt {

namespace {

constexpr uint64_t kAll = ~0ull;  // the size of a region of the whole 64-bit space

// "START-LAST": a region of `size` bytes at `at` (0: an empty one, shown
// as its one address).
std::string range(uint64_t at, uint64_t size) {
    char buf[40];
    uint64_t last = size == kAll ? ~0ull : size ? at + size - 1 : at;
    std::snprintf(buf, sizeof buf, "%016" PRIx64 "-%016" PRIx64, at, last);
    return buf;
}

std::string head(unsigned indent, uint64_t at, uint64_t size, int prio, const char* type) {
    return std::string(indent, ' ') + range(at, size) + " (prio " + std::to_string(prio) + ", " + type + "): ";
}

std::string line(unsigned indent, const FlatRange& r) {
    char buf[32];
    std::string s = head(indent, r.base, r.size, r.priority, r.type) + r.name;
    if (r.offset_in_region) {
        std::snprintf(buf, sizeof buf, " @%016" PRIx64, r.offset_in_region);
        s += buf;
    }
    return s + "\n";
}

}  // namespace

std::string Board::mtree(bool flat) const {
    // The address spaces QEMU's virt has, in its order: the system's, the
    // I/O ports', each CPU's, the ITS's (it reads its tables), then each
    // PCI function's bus-master space (the system's while the function
    // may master the bus, nothing otherwise).
    std::vector<std::string> system_as = {"memory"}, none_as;
    for (unsigned i = 0; i < cpu_count(); ++i) system_as.push_back("cpu-memory-" + std::to_string(i));
    if (gic_ && gic_->version() == 3) system_as.push_back("gicv3-its-sysmem");  // (its LPI tables, ITS or not)
    size_t pci_first = system_as.size();  // (the PCI functions' spaces: their root is their own container)
    if (pci_) {
        none_as.push_back("gpex-root");
        for (const auto& d : pci_devs_)
            ((d->command() & PCI_COMMAND_MASTER) ? system_as : none_as).push_back(d->type_name());
    }
    std::string out;
    if (flat) {
        out += "FlatView #0\n";
        for (size_t i = 0; i < system_as.size(); ++i)
            out += " AS \"" + system_as[i] + "\", root: " + (i < pci_first ? "system" : "bus master container") + "\n";
        out += " Root memory region: system\n";
        for (const FlatRange& r : as_.flat_view()) out += line(2, r);
        out += "\nFlatView #1\n AS \"I/O\", root: io\n Root memory region: io\n";
        out += line(2, {0, 0x10000, "io", 0, 0, 0, "i/o"});
        if (!none_as.empty()) {
            out += "\nFlatView #2\n";
            for (const auto& n : none_as) out += " AS \"" + n + "\", root: bus master container\n";
            out += " Root memory region: (none)\n  No rendered FlatView\n";
        }
        return out + "\n";
    }
    return tree(system_as, pci_first, none_as);
}

// QEMU's memory regions as info mtree prints them: a region, its place
// in its parent, and what it holds; an alias shows a part of another
// region, which gets a "memory-region:" section of its own.
struct Board::MtreeNode {
    uint64_t addr = 0, size = 0;  // addr: in the parent; size 0 (an empty alias) prints as one address
    int prio = 0;
    const char* type = "i/o";
    std::string name;
    std::string target;  // an alias: the region it shows (a section's title)
    const void* target_key = nullptr;  // which region of that name
    uint64_t target_off = 0;
    std::vector<MtreeNode> kids;
};

namespace {

using MtNode = Board::MtreeNode;

// QEMU's ACPI memory hotplug block (empty: armvm has no hotplug memory)
constexpr uint64_t kMemHotplugBase = 0x09070000, kMemHotplugSize = 0x18;

MtNode region(uint64_t addr, uint64_t size, std::string name, int prio = 0, const char* type = "i/o") {
    MtNode n;
    n.addr = addr, n.size = size, n.name = std::move(name), n.prio = prio, n.type = type;
    return n;
}

MtNode alias(uint64_t addr, uint64_t size, std::string name, std::string target, const void* key, uint64_t off,
             int prio = 0) {
    MtNode n = region(addr, size, std::move(name), prio);
    n.target = std::move(target), n.target_key = key, n.target_off = off;
    return n;
}

struct Section {
    const void* key;
    MtNode root;
};

void print(std::string& out, const MtNode& n, uint64_t base, unsigned indent, std::vector<Section>& queue,
           const std::vector<Section>& known) {
    uint64_t at = base + n.addr;
    out += head(indent, at, n.size, n.prio, n.type);
    if (!n.target.empty()) {
        out += "alias " + n.name + " @" + n.target + " " + range(n.target_off, n.size) + "\n";
        bool queued = false;
        for (const auto& s : queue) queued |= s.key == n.target_key;
        if (!queued)
            for (const auto& s : known)
                if (s.key == n.target_key) queue.push_back(s);
    } else {
        out += n.name + "\n";
    }
    // (QEMU's order: by address, then the higher priority first)
    std::vector<const MtNode*> kids;
    for (const auto& k : n.kids) kids.push_back(&k);
    std::stable_sort(kids.begin(), kids.end(), [](const MtNode* a, const MtNode* b) {
        return a->addr != b->addr ? a->addr < b->addr : a->prio > b->prio;
    });
    for (const MtNode* k : kids) print(out, *k, at, indent + 2, queue, known);
}

// A decoded BAR: one region (priority 1 over the window), its blocks
// inside it; QEMU's name for a BAR of blocks.
MtNode bar_node(const PciDevice& d, const PciDevice::Bar& bar) {
    std::string name = bar.name;
    if (name.empty()) name = d.type_name() + "-msix";  // (the MSI-X BAR QEMU makes for a device)
    MtNode n = region(bar.addr, bar.size, name, 1);
    for (const BarPart& p : bar.parts) n.kids.push_back(region(p.offset, p.size, p.name));
    return n;
}

// A bridge's window (QEMU's pci_bridge_io/mem/pref_mem alias): [base,
// limit] from its registers while its command register enables it.
MtNode bridge_window(const PciDevice& b, int kind, const void* key) {
    uint64_t base, limit;
    bool on;
    const char* name;
    if (kind == 0) {
        base = (b.get8(PCI_IO_BASE) & 0xf0ull) << 8 | uint64_t{b.get16(PCI_IO_BASE_UPPER16)} << 16;
        limit = (b.get8(PCI_IO_LIMIT) & 0xf0ull) << 8 | 0xfff | uint64_t{b.get16(PCI_IO_LIMIT_UPPER16)} << 16;
        on = b.command() & PCI_COMMAND_IO, name = "pci_bridge_io";
    } else if (kind == 1) {
        base = (b.get16(PCI_MEMORY_BASE) & 0xfff0ull) << 16;
        limit = (b.get16(PCI_MEMORY_LIMIT) & 0xfff0ull) << 16 | 0xfffff;
        on = b.command() & PCI_COMMAND_MEMORY, name = "pci_bridge_mem";
    } else {
        base = (b.get16(PCI_PREF_MEMORY_BASE) & 0xfff0ull) << 16 | uint64_t{b.get32(PCI_PREF_BASE_UPPER32)} << 32;
        limit = (b.get16(PCI_PREF_MEMORY_LIMIT) & 0xfff0ull) << 16 | 0xfffff |
                uint64_t{b.get32(PCI_PREF_LIMIT_UPPER32)} << 32;
        on = b.command() & PCI_COMMAND_MEMORY, name = "pci_bridge_pref_mem";
    }
    uint64_t size = on && limit >= base ? limit + 1 - base : 0;
    if (!size) base = 0;  // (a closed window: QEMU shows its alias at 0, where reset left it)
    return alias(base, size, name, kind == 0 ? "pci_bridge_io" : "pci_bridge_pci", key, base, 1);
}

// What a PCI bus decodes in its I/O or memory space (bus addresses): its
// functions' BARs and its bridges' windows onto their buses, whose
// regions get sections of their own (appended to `sections`).
std::vector<MtNode> bus_regions(PciBus& bus, bool io, std::vector<Section>& sections) {
    std::vector<MtNode> out;
    bus.for_each([&](PciDevice& d) {
        for (unsigned i = 0; i < 7; ++i) {
            const PciDevice::Bar& bar = d.bar(i);
            if (bar.size && bar.addr != PciDevice::kUnmapped && bar.io() == io) out.push_back(bar_node(d, bar));
        }
        PciBus* s = d.secondary();
        if (!s) return;
        const char* key = reinterpret_cast<const char*>(s);  // (two sections per bridge: +0 I/O, +1 memory)
        if (io) {
            out.push_back(bridge_window(d, 0, key));
            MtNode r = region(0, 0x100000000ull, "pci_bridge_io");
            r.kids = bus_regions(*s, true, sections);
            sections.push_back({key, std::move(r)});
        } else {
            out.push_back(bridge_window(d, 1, key + 1));
            out.push_back(bridge_window(d, 2, key + 1));
            MtNode r = region(0, kAll, "pci_bridge_pci");
            r.kids = bus_regions(*s, false, sections);
            sections.push_back({key + 1, std::move(r)});
        }
    });
    return out;
}

}  // namespace

// The tree: the address spaces, each region inside the one that holds it,
// PCI's windows as QEMU's aliases onto the bus's regions, and after them
// a section for each region an alias showed (in the order met).
std::string Board::tree(const std::vector<std::string>& system_as, size_t pci_first,
                        const std::vector<std::string>& none_as) const {
    static const char kSystem = 0, kMmio = 0, kEcam = 0;  // (the sections' identities)
    std::vector<Section> known;
    MtNode system = region(0, kAll, "system");
    auto in = [](const FlatRange& r, Region which) { return r.base >= base(which) && r.base - base(which) < size(which); };
    MtNode platform = region(base(Region::PlatformBus), size(Region::PlatformBus), "platform bus");
    MtNode its = region(base(Region::GicIts), size(Region::GicIts), "gicv3_its");
    bool high = cfg_->highmem;
    Region ecam = high ? Region::PcieEcamHigh : Region::PcieEcam;
    for (const FlatRange& r : as_.regions()) {
        if (pci_ && (in(r, Region::PcieMmio) || in(r, Region::PciePio) || in(r, ecam) ||
                     (high && in(r, Region::PcieMmioHigh))))
            continue;  // (PCI's: shown below, as QEMU's)
        MtNode n = region(r.base, r.size, r.name, r.priority, r.type);
        if (in(r, Region::PlatformBus)) {  // (inside their containers)
            n.addr -= platform.addr;
            platform.kids.push_back(std::move(n));
        } else if (in(r, Region::GicIts)) {
            n.addr -= its.addr;
            its.kids.push_back(std::move(n));
        } else {
            system.kids.push_back(std::move(n));
        }
    }
    system.kids.push_back(std::move(platform));
    if (!its.kids.empty()) system.kids.push_back(std::move(its));
    if (ged_) system.kids.push_back(region(kMemHotplugBase, kMemHotplugSize, "memhp container"));
    if (pci_) {
        MtNode window = region(0, kAll, "gpex_mmio_window");
        MtNode mmio = region(0, kAll, "gpex_mmio");
        mmio.kids = bus_regions(pci_->root_bus(), false, known);
        window.kids.push_back(std::move(mmio));
        known.push_back({&kMmio, std::move(window)});
        known.push_back({&kEcam, region(0, 0x10000000, "pcie-mmcfg-mmio")});  // (QEMU's region is the largest ECAM)
        system.kids.push_back(alias(base(Region::PcieMmio), size(Region::PcieMmio), "pcie-mmio", "gpex_mmio_window",
                                    &kMmio, base(Region::PcieMmio)));
        MtNode pio = region(base(Region::PciePio), size(Region::PciePio), "gpex_ioport_window");
        MtNode port = region(0, size(Region::PciePio), "gpex_ioport");
        port.kids = bus_regions(pci_->root_bus(), true, known);
        pio.kids.push_back(std::move(port));
        system.kids.push_back(std::move(pio));
        system.kids.push_back(alias(base(ecam), size(ecam), "pcie-ecam", "pcie-mmcfg-mmio", &kEcam, 0));
        if (high)
            system.kids.push_back(alias(base(Region::PcieMmioHigh), size(Region::PcieMmioHigh), "pcie-mmio-high",
                                        "gpex_mmio_window", &kMmio, base(Region::PcieMmioHigh)));
    }
    known.push_back({&kSystem, system});
    std::vector<Section> queue;
    std::string out;
    out += "address-space: I/O\n";
    print(out, region(0, 0x10000, "io"), 0, 2, queue, known);
    out += "\n";
    // Each PCI function's bus-master space: its container, and in it
    // while the function may master the bus an alias of the system's
    // (disabled otherwise, so not shown; QEMU lists its region anyway).
    MtNode master = region(0, kAll, "bus master container");
    MtNode with_alias = master;
    with_alias.kids.push_back(alias(0, kAll, "bus master", "system", &kSystem, 0));
    for (size_t i = pci_first; i < system_as.size(); ++i) {
        out += "address-space: " + system_as[i] + "\n";
        print(out, with_alias, 0, 2, queue, known);
        out += "\n";
    }
    for (const auto& n : none_as) {
        out += "address-space: " + n + "\n";
        print(out, master, 0, 2, queue, known);
        out += "\n";
        if (std::none_of(queue.begin(), queue.end(), [](const Section& q) { return q.key == &kSystem; }))
            queue.push_back(known.back());  // (the disabled alias's region: the system, known last)
    }
    // (QEMU names the spaces that share a root together, the system's last)
    for (size_t i = 1; i < pci_first; ++i) out += "address-space: " + system_as[i] + "\n";
    out += "address-space: memory\n";
    print(out, system, 0, 2, queue, known);
    out += "\n";
    for (size_t i = 0; i < queue.size(); ++i) {  // (a section may queue more)
        out += "memory-region: " + queue[i].root.name + "\n";
        MtNode root = queue[i].root;
        print(out, root, 0, 2, queue, known);
        out += "\n";
    }
    return out;
}

// QEMU's rom list: ROMs that are memory regions first (the -bios image in
// flash bank 0, the ACPI blobs at their maximum sizes), then the blobs in
// RAM by address.
std::string Board::roms() const {
    std::string out;
    char line[512];
    auto mr = [&](const char* region, uint64_t size, const std::string& name) {
        std::snprintf(line, sizeof line, "%s size=0x%06llx name=\"%s\"\n", region, static_cast<unsigned long long>(size),
                      name.c_str());
        out += line;
    };
    if (bios_) mr("virt.flash0", bios_bytes_, *cfg_->bios);
    if (cfg_->acpi_enabled()) {
        mr("/rom@etc/acpi/tables", 0x200000, "etc/acpi/tables");
        mr("/rom@etc/table-loader", 0x10000, "etc/table-loader");
        mr("/rom@etc/acpi/rsdp", 0x1000, "etc/acpi/rsdp");
    }
    std::vector<BootImage::Blob> blobs = boot_blobs_;
    std::stable_sort(blobs.begin(), blobs.end(), [](const auto& a, const auto& b) { return a.addr < b.addr; });
    for (const auto& b : blobs) {
        std::snprintf(line, sizeof line, "addr=%016llx size=0x%06llx mem=ram name=\"%s\"\n",
                      static_cast<unsigned long long>(b.addr), static_cast<unsigned long long>(b.size), b.name.c_str());
        out += line;
    }
    return out;
}

}  // namespace armvm::virt
