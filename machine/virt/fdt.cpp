// The virt board's device tree, one function per node (DESIGN.md habit 7).
// Node and property names follow QEMU's hw/arm/virt.c so that guests and
// tools see the same tree; bindings cited per node.
#include "machine/virt/fdt.hpp"

#include <libfdt.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "cpu-arm64/models.hpp"
#include "machine/boot/loader.hpp"
#include "machine/fdt/fdt.hpp"
#include "machine/virt/memmap.hpp"

namespace armvm::virt {

namespace {

// phandles, as fixed numbers (QEMU allocates from 0x8000 too).
constexpr uint32_t kPhClock = 0x8000, kPhGic = 0x8001, kPhGpio = 0x8002, kPhCpu0 = 0x8003;
constexpr uint32_t kPhMsi = 0x7ff0;  // the MSI controller (GICv2m frame or ITS)

// Interrupt specifier cells (Documentation/devicetree/bindings/interrupt-
// controller/arm,gic.yaml): type (0 SPI, 1 PPI), number, flags.
constexpr uint32_t kIrqSpi = 0, kIrqPpi = 1, kEdgeRising = 1, kLevelHi = 4;

struct Ctx {
    const MachineConfig& c;
    unsigned gic;
    unsigned cpus;
    bool kvm = false;
    uint64_t initrd_bytes = 0;
    bool msi = false;  // an MSI controller for PCIe (the GICv2m frame)
    bool its = false;  // the GICv3 ITS (then the MSI controller)
    // GICv2 PPIs carry a CPU mask in flags bits [15:8].
    uint32_t ppi_flags() const { return gic == 2 ? (((1u << std::min(cpus, 8u)) - 1) << 8) | kLevelHi : kLevelHi; }
};

std::string node_name(const char* name, uint64_t addr) {
    char b[64];
    std::snprintf(b, sizeof b, "%s@%llx", name, static_cast<unsigned long long>(addr));
    return b;
}

void add_root_props(FdtWriter& w) {
    w.prop_u32("interrupt-parent", kPhGic);
    w.prop_string("model", "linux,dummy-virt");
    w.prop_u32("#size-cells", 2);
    w.prop_u32("#address-cells", 2);
    w.prop_string("compatible", "linux,dummy-virt");
}

// bindings/arm/psci.yaml. PSCI 1.0 through HVC: armvm's TCG has no EL2/EL3
// firmware, so the emulator answers the calls itself (as QEMU).
void add_psci(FdtWriter& w) {
    w.begin_node("psci");
    w.prop_u32("migrate", 0xc4000005);
    w.prop_u32("cpu_on", 0xc4000003);
    w.prop_u32("cpu_off", 0x84000002);
    w.prop_u32("cpu_suspend", 0xc4000001);
    w.prop_string("method", "hvc");
    w.prop_strings("compatible", {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"});
    w.end_node();
}

void add_memory(FdtWriter& w, const Ctx& x) {
    w.begin_node(node_name("memory", base(Region::Ram)));
    w.prop_reg64("reg", {base(Region::Ram), x.c.memory.size});
    w.prop_string("device_type", "memory");
    w.end_node();
}

// bindings/serial/pl011.yaml
void add_pl011(FdtWriter& w) {
    w.begin_node(node_name("pl011", base(Region::Uart)));
    w.prop_strings("clock-names", {"uartclk", "apb_pclk"});
    w.prop_cells("clocks", {kPhClock, kPhClock});
    w.prop_cells("interrupts", {kIrqSpi, kSpiUart, kLevelHi});
    w.prop_reg64("reg", {base(Region::Uart), size(Region::Uart)});
    w.prop_strings("compatible", {"arm,pl011", "arm,primecell"});
    w.end_node();
}

// QEMU's platform bus for dynamic sysbus devices; a TPM (tpm-tis-device,
// bindings/security/tpm/tpm_tis_mmio.txt) at its start.
void add_platform_bus(FdtWriter& w, bool tpm) {
    w.begin_node(node_name("platform-bus", base(Region::PlatformBus)));
    w.prop_u32("interrupt-parent", kPhGic);
    w.prop_cells("ranges", {0, 0, static_cast<uint32_t>(base(Region::PlatformBus)),
                            static_cast<uint32_t>(size(Region::PlatformBus))});
    w.prop_u32("#address-cells", 1);
    w.prop_u32("#size-cells", 1);
    w.prop_strings("compatible", {"qemu,platform", "simple-bus"});
    if (tpm) {
        w.begin_node("tpm_tis@0");
        w.prop_cells("reg", {0, kTpmTisSize});
        w.prop_string("compatible", "tcg,tpm-tis-mmio");
        w.end_node();
    }
    w.end_node();
}

// bindings/firmware/qemu,fw-cfg-mmio.yaml
// bindings/mtd/mtd-physmap.yaml: both flash banks in one node, as QEMU's.
void add_flash(FdtWriter& w) {
    uint64_t bank = size(Region::Flash) / 2;
    w.begin_node(node_name("flash", base(Region::Flash)));
    w.prop_u32("bank-width", 4);
    w.prop_reg64("reg", {base(Region::Flash), bank, base(Region::Flash) + bank, bank});
    w.prop_string("compatible", "cfi-flash");
    w.end_node();
}

void add_fw_cfg(FdtWriter& w) {
    w.begin_node(node_name("fw-cfg", base(Region::FwCfg)));
    w.prop_empty("dma-coherent");
    w.prop_reg64("reg", {base(Region::FwCfg), size(Region::FwCfg)});
    w.prop_string("compatible", "qemu,fw-cfg-mmio");
    w.end_node();
}

// bindings/virtio/mmio.yaml: all 32 transports, empty or not (the guest
// probes each and skips DeviceID 0). Edge-triggered, as QEMU declares them.
void add_virtio_mmio(FdtWriter& w) {
    for (unsigned slot = 0; slot < kMmioSlots; ++slot) {
        uint64_t at = base(Region::Mmio) + slot * kMmioSlotSize;
        w.begin_node(node_name("virtio_mmio", at));
        w.prop_empty("dma-coherent");
        w.prop_cells("interrupts", {kIrqSpi, kSpiMmio + slot, kEdgeRising});
        w.prop_reg64("reg", {at, kMmioSlotSize});
        w.prop_string("compatible", "virtio,mmio");
        w.end_node();
    }
}

// bindings/pci/host-generic-pci.yaml: the gpex host bridge. INTA..INTD of
// slots 0-3 on SPIs 3-6 after the standard swizzle (the map repeats every
// four slots: interrupt-map-mask keeps two slot bits and the pin).
void add_pcie(FdtWriter& w, const Ctx& x) {
    bool high = x.c.highmem;
    Region ecam = high ? Region::PcieEcamHigh : Region::PcieEcam;
    w.begin_node(node_name("pcie", base(Region::PcieMmio)));
    w.prop_cells("interrupt-map-mask", {0x1800, 0, 0, 7});
    std::vector<uint32_t> map;
    for (uint32_t slot = 0; slot < 4; ++slot)
        for (uint32_t pin = 0; pin < 4; ++pin)
            for (uint32_t c : {slot << 11, 0u, 0u, pin + 1, kPhGic, 0u, 0u, kIrqSpi, kSpiPcie + (pin + slot) % 4, kLevelHi})
                map.push_back(c);
    w.prop_cells("interrupt-map", map);
    w.prop_u32("#interrupt-cells", 1);
    auto hi = [](uint64_t v) { return static_cast<uint32_t>(v >> 32); };
    auto lo = [](uint64_t v) { return static_cast<uint32_t>(v); };
    std::vector<uint32_t> ranges = {0x01000000, 0, 0, hi(base(Region::PciePio)), lo(base(Region::PciePio)), 0,
                                    lo(size(Region::PciePio)),
                                    0x02000000, hi(base(Region::PcieMmio)), lo(base(Region::PcieMmio)),
                                    hi(base(Region::PcieMmio)), lo(base(Region::PcieMmio)), hi(size(Region::PcieMmio)),
                                    lo(size(Region::PcieMmio))};
    if (high)
        for (uint32_t c : {0x03000000u, hi(base(Region::PcieMmioHigh)), lo(base(Region::PcieMmioHigh)),
                           hi(base(Region::PcieMmioHigh)), lo(base(Region::PcieMmioHigh)), hi(size(Region::PcieMmioHigh)),
                           lo(size(Region::PcieMmioHigh))})
            ranges.push_back(c);
    w.prop_cells("ranges", ranges);
    w.prop_reg64("reg", {base(ecam), size(ecam)});
    if (x.msi || x.its) w.prop_cells("msi-map", {0, kPhMsi, 0, 0x10000});
    w.prop_empty("dma-coherent");
    w.prop_cells("bus-range", {0, static_cast<uint32_t>(size(ecam) / kMiB - 1)});
    w.prop_u32("linux,pci-domain", 0);
    w.prop_u32("#size-cells", 2);
    w.prop_u32("#address-cells", 3);
    w.prop_string("device_type", "pci");
    w.prop_string("compatible", "pci-host-ecam-generic");
    w.end_node();
}

// bindings/input/gpio-keys.yaml: the power button on PL061 line 3.
void add_gpio_keys(FdtWriter& w) {
    w.begin_node("gpio-keys");
    w.prop_string("compatible", "gpio-keys");
    w.begin_node("poweroff");
    w.prop_cells("gpios", {kPhGpio, 3, 0});
    w.prop_u32("linux,code", 116);  // KEY_POWER
    w.prop_string("label", "GPIO Key Poweroff");
    w.end_node();
    w.end_node();
}

// bindings/gpio/pl061-gpio.yaml
void add_pl061(FdtWriter& w) {
    w.begin_node(node_name("pl061", base(Region::Gpio)));
    w.prop_u32("phandle", kPhGpio);
    w.prop_string("clock-names", "apb_pclk");
    w.prop_cells("clocks", {kPhClock});
    w.prop_cells("interrupts", {kIrqSpi, kSpiGpio, kLevelHi});
    w.prop_empty("gpio-controller");
    w.prop_u32("#gpio-cells", 2);
    w.prop_strings("compatible", {"arm,pl061", "arm,primecell"});
    w.prop_reg64("reg", {base(Region::Gpio), size(Region::Gpio)});
    w.end_node();
}

// bindings/rtc/arm,pl031.yaml
void add_pl031(FdtWriter& w) {
    w.begin_node(node_name("pl031", base(Region::Rtc)));
    w.prop_string("clock-names", "apb_pclk");
    w.prop_cells("clocks", {kPhClock});
    w.prop_cells("interrupts", {kIrqSpi, kSpiRtc, kLevelHi});
    w.prop_reg64("reg", {base(Region::Rtc), size(Region::Rtc)});
    w.prop_strings("compatible", {"arm,pl031", "arm,primecell"});
    w.end_node();
}

// bindings/arm/pmu.yaml
void add_pmu(FdtWriter& w, const Ctx& x) {
    w.begin_node("pmu");
    w.prop_cells("interrupts", {kIrqPpi, kPpiPmu, x.ppi_flags()});
    w.prop_string("compatible", "arm,armv8-pmuv3");
    w.end_node();
}

// bindings/interrupt-controller/arm,gic.yaml and arm,gic-v3.yaml
void add_intc(FdtWriter& w, const Ctx& x) {
    w.begin_node(node_name("intc", base(Region::GicDist)));
    w.prop_u32("phandle", kPhGic);
    if (x.gic == 3) {
        w.prop_reg64("reg", {base(Region::GicDist), size(Region::GicDist), base(Region::GicRedist),
                             size(Region::GicRedist)});
        w.prop_u32("#redistributor-regions", 1);
        w.prop_string("compatible", "arm,gic-v3");
    } else {
        w.prop_reg64("reg", {base(Region::GicDist), size(Region::GicDist), base(Region::GicCpu),
                             size(Region::GicCpu)});
        w.prop_string("compatible", "arm,cortex-a15-gic");
    }
    w.prop_empty("ranges");
    w.prop_u32("#size-cells", 2);
    w.prop_u32("#address-cells", 2);
    w.prop_empty("interrupt-controller");
    w.prop_u32("#interrupt-cells", 3);
    // bindings/interrupt-controller/arm,gic-v3.yaml: the ITS.
    if (x.its) {
        w.begin_node(node_name("its", base(Region::GicIts)));
        w.prop_u32("phandle", kPhMsi);
        w.prop_reg64("reg", {base(Region::GicIts), size(Region::GicIts)});
        w.prop_u32("#msi-cells", 1);
        w.prop_empty("msi-controller");
        w.prop_string("compatible", "arm,gic-v3-its");
        w.end_node();
    }
    // bindings/interrupt-controller/arm,gic.yaml: the GICv2m MSI frame.
    if (x.msi) {
        w.begin_node(node_name("v2m", base(Region::GicV2m)));
        w.prop_u32("phandle", kPhMsi);
        w.prop_reg64("reg", {base(Region::GicV2m), size(Region::GicV2m)});
        w.prop_empty("msi-controller");
        w.prop_string("compatible", "arm,gic-v2m-frame");
        w.end_node();
    }
    w.end_node();
}

// bindings/arm/cpus.yaml and cpu-map (bindings/cpu/cpu-topology.txt).
void add_cpus(FdtWriter& w, const Ctx& x) {
    const SmpConfig& s = x.c.smp;
    w.begin_node("cpus");
    w.prop_u32("#size-cells", 0);
    w.prop_u32("#address-cells", 1);
    w.begin_node("cpu-map");
    unsigned idx = 0;
    for (unsigned so = 0; so < s.sockets; ++so) {
        w.begin_node("socket" + std::to_string(so));
        w.begin_node("cluster0");
        for (unsigned co = 0; co < s.cores; ++co) {
            w.begin_node("core" + std::to_string(co));
            if (s.threads > 1) {
                for (unsigned th = 0; th < s.threads; ++th, ++idx) {
                    w.begin_node("thread" + std::to_string(th));
                    if (idx < x.cpus) w.prop_u32("cpu", kPhCpu0 + idx);
                    w.end_node();
                }
            } else {
                if (idx < x.cpus) w.prop_u32("cpu", kPhCpu0 + idx);
                ++idx;
            }
            w.end_node();
        }
        w.end_node();
        w.end_node();
    }
    w.end_node();
    const CpuModel* m = find_cpu_model(x.c.cpu.model);
    // QEMU names TCG's "max" after the Cortex-A57 it starts from, and a
    // KVM vCPU of the host's kind generically.
    std::string compat = (m && m->name != "max" && m->name != "host") ? "arm," + m->name
                         : x.kvm                                     ? "arm,arm-v8"
                                                                     : "arm,cortex-a57";
    for (unsigned i = 0; i < x.cpus; ++i) {
        w.begin_node(node_name("cpu", i));
        w.prop_u32("phandle", kPhCpu0 + i);
        w.prop_u32("reg", i);  // MPIDR Aff0 (fewer than 16 CPUs: Aff1 = 0)
        // A single CPU needs no enable method (and QEMU gives none).
        if (x.cpus > 1) w.prop_string("enable-method", "psci");
        w.prop_string("compatible", compat);
        w.prop_string("device_type", "cpu");
        w.end_node();
    }
    w.end_node();
}

// bindings/timer/arm,arch_timer.yaml
void add_timer(FdtWriter& w, const Ctx& x) {
    uint32_t f = x.ppi_flags();
    w.begin_node("timer");
    w.prop_cells("interrupts", {kIrqPpi, kPpiSecurePhysTimer, f, kIrqPpi, kPpiPhysTimer, f, kIrqPpi,
                                kPpiVirtTimer, f, kIrqPpi, kPpiHypTimer, f});
    w.prop_empty("always-on");
    w.prop_strings("compatible", {"arm,armv8-timer", "arm,armv7-timer"});
    w.end_node();
}

void add_clock(FdtWriter& w) {
    w.begin_node("apb-pclk");
    w.prop_u32("phandle", kPhClock);
    w.prop_string("clock-output-names", "clk24mhz");
    w.prop_u32("clock-frequency", 24000000);
    w.prop_u32("#clock-cells", 0);
    w.prop_string("compatible", "fixed-clock");
    w.end_node();
}

// bindings/chosen.txt
void add_chosen(FdtWriter& w, const Ctx& x) {
    w.begin_node("chosen");
    if (x.c.append) w.prop_string("bootargs", *x.c.append);
    if (x.initrd_bytes) {
        // One cell each, as QEMU writes them (the initrd is below 4 GiB:
        // RAM + at most 128 MiB).
        uint64_t start = initrd_address(base(Region::Ram), x.c.memory.size), end = start + x.initrd_bytes;
        w.prop_u32("linux,initrd-start", static_cast<uint32_t>(start));
        w.prop_u32("linux,initrd-end", static_cast<uint32_t>(end));
    }
    std::string stdout_path = "/";  // (not "/" + ...: GCC 12 warns falsely, -Wrestrict at -O3)
    stdout_path += node_name("pl011", base(Region::Uart));
    w.prop_string("stdout-path", stdout_path);
    uint32_t seed[10] = {};
    if (getrandom(seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
        // Without entropy, leave the seeds out rather than give fixed ones.
    } else {
        w.prop_cells("rng-seed", {seed[0], seed[1], seed[2], seed[3], seed[4], seed[5], seed[6], seed[7]});
        w.prop_cells("kaslr-seed", {seed[8], seed[9]});
    }
    w.end_node();
}

// The tree in a blob of `size` bytes (its totalsize, the free space at the
// end): the size QEMU's tree has, which the guest sees in the header (and
// Linux reserves).
std::vector<uint8_t> with_room(std::vector<uint8_t>& tree, size_t size) {
    if (size <= fdt_totalsize(tree.data())) return tree;
    std::vector<uint8_t> out(size);
    if (fdt_open_into(tree.data(), out.data(), static_cast<int>(size)) != 0) return tree;
    return out;
}

// -dtb: the user's tree, with what the boot adds to it as QEMU's
// arm_load_dtb() does: /memory's reg set to the RAM, and in /chosen the
// bootargs of -append and the initrd's range.
Result<std::vector<uint8_t>> user_fdt(const Ctx& x) {
    const std::string& path = *x.c.dtb;
    auto fail = [&](const std::string& why) { return make_error("-dtb " + path + ": " + why); };
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("could not load dtb '" + path + "': " + std::strerror(errno));
    std::vector<uint8_t> blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (blob.size() < sizeof(fdt_header) || fdt_check_header(blob.data()) != 0 ||
        fdt_totalsize(blob.data()) > blob.size())
        return fail("not a valid device tree blob");
    std::vector<uint8_t> t(fdt_totalsize(blob.data()) + 4096 + (x.c.append ? x.c.append->size() : 0));
    if (fdt_open_into(blob.data(), t.data(), static_cast<int>(t.size())) != 0) return fail("not a valid device tree blob");
    void* f = t.data();
    int acells = fdt_address_cells(f, 0), scells = fdt_size_cells(f, 0);
    int mem = fdt_path_offset(f, "/memory");
    if (mem < 0 || acells < 1 || acells > 2 || scells < 1 || scells > 2) return fail("couldn't set /memory/reg");
    uint8_t reg[16];
    size_t n = 0;
    auto put = [&](uint64_t v, int cells) {
        if (cells == 2) {
            fdt64_t b = cpu_to_fdt64(v);
            std::memcpy(reg + n, &b, 8);
            n += 8;
        } else {
            fdt32_t b = cpu_to_fdt32(static_cast<uint32_t>(v));
            std::memcpy(reg + n, &b, 4);
            n += 4;
        }
    };
    put(base(Region::Ram), acells);
    put(x.c.memory.size, scells);
    if (fdt_setprop(f, mem, "reg", reg, static_cast<int>(n)) != 0) return fail("couldn't set /memory/reg");
    int chosen = fdt_path_offset(f, "/chosen");
    if (chosen < 0) chosen = fdt_add_subnode(f, 0, "chosen");
    if (chosen < 0) return fail("couldn't create /chosen");
    if (x.c.append && fdt_setprop_string(f, chosen, "bootargs", x.c.append->c_str()) != 0)
        return fail("couldn't set /chosen/bootargs");
    if (x.initrd_bytes) {
        uint64_t start = initrd_address(base(Region::Ram), x.c.memory.size), end = start + x.initrd_bytes;
        if (fdt_setprop_u32(f, chosen, "linux,initrd-start", static_cast<uint32_t>(start)) != 0 ||
            fdt_setprop_u32(f, chosen, "linux,initrd-end", static_cast<uint32_t>(end)) != 0)
            return fail("couldn't set /chosen/linux,initrd-start");
    }
    // QEMU's load_device_tree() leaves room: twice the file plus 10000.
    // Not past 2 MiB, the most arm64 Linux takes (QEMU's own 1 MiB dumpdtb
    // given back with -dtb grows past it there, and Linux stops at once).
    fdt_pack(f);
    t.resize(fdt_totalsize(f));
    size_t room = (blob.size() + 10000) * 2;
    return room <= (2u << 20) ? with_room(t, room) : t;
}

}  // namespace

Result<unsigned> resolve_gic_version(const MachineConfig& c, bool kvm) {
    if (c.gic_version.empty() || c.gic_version == "2") return 2u;
    if (c.gic_version == "3" || c.gic_version == "max") return 3u;
    if (!kvm) return make_error("-machine " + c.machine_origin + ": gic-version=host requires KVM");
    return 3u;  // refined by the KVM accelerator
}

Result<std::vector<uint8_t>> build_fdt(const MachineConfig& c, unsigned gic_version, bool kvm) {
    Ctx x{c, gic_version, c.smp.cpus, kvm};
    x.msi = gic_version == 2;          // the GICv2m frame (armvm's, on KVM's SPIs too)
    x.its = gic_version == 3 && c.its;  // (under KVM: the kernel's ITS, if it has one)
    if (c.initrd && !c.firmware_loaded()) {  // (with firmware the initrd is in fw_cfg, not in RAM)
        auto n = initrd_size(*c.initrd);
        if (!n) return n.error();
        x.initrd_bytes = *n;
    }
    if (c.dtb) return user_fdt(x);
    const CpuModel* m = find_cpu_model(c.cpu.model);
    bool pmu = c.cpu.pmu.value_or(m ? m->has_pmu : false);
    FdtWriter w;
    add_root_props(w);
    add_psci(w);
    add_memory(w, x);
    add_platform_bus(w, std::any_of(c.devices.begin(), c.devices.end(),
                                    [](const DeviceConfig& d) { return d.driver == "tpm-tis-device"; }));
    add_flash(w);
    add_fw_cfg(w);
    add_virtio_mmio(w);
    if (!(c.acpi_enabled() && c.firmware_loaded())) {  // (else the power button is ACPI's)
        add_gpio_keys(w);
        add_pl061(w);
    }
    add_pcie(w, x);
    add_pl031(w);
    add_pl011(w);
    if (pmu) add_pmu(w, x);
    add_intc(w, x);
    add_cpus(w, x);
    add_timer(w, x);
    add_clock(w);
    add_chosen(w, x);
    auto tree = w.finish();
    if (!tree) return tree;
    return with_room(*tree, 1 << 20);  // (QEMU's virt: a 1 MiB tree)
}

}  // namespace armvm::virt
