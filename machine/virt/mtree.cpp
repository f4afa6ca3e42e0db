// HMP's info mtree, in QEMU's format: the address spaces and what they
// see. The memory map's regions carry QEMU's names (board.cpp), so a
// user's scripts and eyes find what they find on QEMU.
#include <cinttypes>
#include <cstdio>

#include "hw/pci/gpex.hpp"
#include "machine/virt/board.hpp"

namespace armvm::virt {

namespace {

std::string line(unsigned indent, const FlatRange& r) {
    char buf[96];
    uint64_t end = r.size == ~0ull ? ~0ull : r.base + r.size - 1;
    std::snprintf(buf, sizeof buf, "%016" PRIx64 "-%016" PRIx64 " (prio %d, %s): ", r.base, end,
                  r.priority, r.type);
    std::string s = std::string(indent, ' ') + buf + r.name;
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
    // The tree: each region inside the one before it that holds it (the
    // PCI BARs inside their windows).
    out += "address-space: I/O\n" + line(2, {0, 0x10000, "io", 0, 0, 0, "i/o"}) + "\n";
    for (const auto& n : none_as)
        out += "address-space: " + n + "\n" + line(2, {0, ~0ull, "bus master container", 0, 0, 0, "i/o"}) + "\n";
    for (size_t i = 1; i < system_as.size(); ++i) out += "address-space: " + system_as[i] + "\n";
    out += "address-space: memory\n";  // (QEMU names the spaces sharing a root, the system's last)
    out += line(2, {0, ~0ull, "system", 0, 0, 0, "i/o"});
    std::vector<FlatRange> open;  // the containers around the current one
    for (const FlatRange& r : as_.regions()) {
        while (!open.empty() && !(r.base >= open.back().base && r.base + r.size <= open.back().base + open.back().size))
            open.pop_back();
        out += line(4 + 2 * static_cast<unsigned>(open.size()), r);
        open.push_back(r);
    }
    return out + "\n";
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
