#include "machine/virt/acpi.hpp"

#include <cstdio>
#include <string>

#include "hw/acpi/aml.hpp"
#include "hw/acpi/ged.hpp"
#include "hw/acpi/tables.hpp"
#include "machine/virt/memmap.hpp"

namespace armvm::virt {
namespace {

using namespace acpi;

constexpr const char* kTables = "etc/acpi/tables";
constexpr const char* kRsdp = "etc/acpi/rsdp";
constexpr uint32_t kSpiBase = 32;  // GSI of SPI 0
constexpr uint32_t kTableBlobSize = 0x20000;  // QEMU's ACPI_BUILD_TABLE_SIZE: the file grows in these steps

std::string fmt(const char* f, unsigned v) {
    char b[16];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

Aml irq_level(uint32_t gsi) { return interrupt({}, {gsi}); }

Aml pci0_osc() {
    // The host bridge grants the OS every PCIe feature it asks for among
    // native hot-plug, SHPC hot-plug, PME, AER and the capability
    // structure (0x1f); LTR and the rest are not offered (PCI Firmware
    // Specification 3.2 §4.5).
    Aml cdw1 = name_string("CDW1"), cdw3 = name_string("CDW3"), ctrl = name_string("CTRL");
    return method("_OSC", 4, false, {
        create_dword_field(arg(3), integer(0), "CDW1"),
        if_(lequal(arg(0), uuid("33DB4D5B-1FF7-401C-9657-7441C03DD766")), {
            create_dword_field(arg(3), integer(4), "CDW2"),
            create_dword_field(arg(3), integer(8), "CDW3"),
            store(name_string("CDW2"), name_string("SUPP")),
            store(cdw3, ctrl),
            and_(ctrl, integer(0x1f), ctrl),
            if_(lnot(lequal(arg(1), integer(1))), {or_(cdw1, integer(0x08), cdw1)}),  // unknown revision
            if_(lnot(lequal(cdw3, ctrl)), {or_(cdw1, integer(0x10), cdw1)}),           // capabilities masked
            store(ctrl, cdw3),
            return_(arg(3)),
        }),
        else_({or_(cdw1, integer(0x04), cdw1), return_(arg(3))}),  // unrecognised UUID
    });
}

Aml pci0_dsm() {
    // The PCI firmware _DSM: function 0 says which functions exist (none
    // past the query itself).
    return method("_DSM", 4, false, {
        if_(lequal(arg(0), uuid("E5C937D0-3553-4D7A-9117-EA4D19C3434D")),
            {if_(lequal(arg(2), integer(0)), {return_(buffer({0x01}))})}),
        return_(buffer({0x00})),
    });
}

Aml pci0(const MachineConfig& c) {
    Region ecam = c.highmem ? Region::PcieEcamHigh : Region::PcieEcam;
    uint64_t ecam_base = base(ecam), ecam_size = size(ecam);
    auto buses = static_cast<uint16_t>(ecam_size / kMiB);
    AmlList body = {
        name("_HID", string("PNP0A08")), name("_CID", string("PNP0A03")), name("_SEG", integer(0)),
        name("_BBN", integer(0)), name("_UID", integer(0)), name("_STR", unicode("PCIe 0 Device")),
        name("_CCA", integer(1)),
    };
    // Each slot's INTA-D on the four link devices after the standard
    // swizzle (the device tree's interrupt-map).
    AmlList prt;
    for (unsigned slot = 0; slot < 32; ++slot)
        for (unsigned pin = 0; pin < 4; ++pin)
            prt.push_back(package({integer((uint64_t{slot} << 16) | 0xffff), integer(pin),
                                   name_string(fmt("GSI%u", (slot + pin) % 4)), integer(0)}));
    body.push_back(name("_PRT", var_package(prt)));  // (QEMU's encoding)
    for (unsigned i = 0; i < 4; ++i) {
        Aml irq = resources({irq_level(kSpiBase + kSpiPcie + i)});
        body.push_back(device(fmt("GSI%u", i), {name("_HID", string("PNP0C0F")), name("_UID", integer(i)),
                                                name("_PRS", irq), name("_CRS", irq), method("_SRS", 1, false, {})}));
    }
    body.push_back(method("_CBA", 0, false, {return_(integer(ecam_base))}));
    AmlList crs = {
        word_bus_number(0, static_cast<uint16_t>(buses - 1)),
        dword_memory(static_cast<uint32_t>(base(Region::PcieMmio)),
                     static_cast<uint32_t>(base(Region::PcieMmio) + size(Region::PcieMmio) - 1),
                     static_cast<uint32_t>(size(Region::PcieMmio))),
        dword_io(0, static_cast<uint32_t>(size(Region::PciePio) - 1), static_cast<uint32_t>(base(Region::PciePio)),
                 static_cast<uint32_t>(size(Region::PciePio))),
    };
    if (c.highmem)
        crs.push_back(qword_memory(base(Region::PcieMmioHigh), base(Region::PcieMmioHigh) + size(Region::PcieMmioHigh) - 1,
                                   size(Region::PcieMmioHigh)));
    body.push_back(name("_CRS", resources(crs)));
    body.push_back(name("SUPP", integer(0)));
    body.push_back(name("CTRL", integer(0)));
    body.push_back(pci0_osc());
    body.push_back(pci0_dsm());
    // The ECAM is the bridge's own: a motherboard resource, so the OS
    // does not hand it out.
    body.push_back(device("RES0", {name("_HID", string("PNP0C02")),
                                   name("_CRS", resources({qword_memory(ecam_base, ecam_base + ecam_size - 1,
                                                                        ecam_size)}))}));
    return device("PCI0", body);
}

// The GPIO connection descriptor of an edge-triggered, active-high,
// pulled-up interrupt on `pin` of the controller `source` (ACPI 6.4
// §6.4.3.8.1).
Aml gpio_int(uint16_t pin, const std::string& source) {
    constexpr uint16_t kPins = 23;  // the pin table follows the fixed part
    uint16_t name_at = kPins + 2, vendor_at = static_cast<uint16_t>(name_at + source.size() + 1);
    std::vector<uint8_t> d = {0x8c, 0, 0, 1 /* revision */, 0 /* interrupt connection */, 1, 0 /* consumer */,
                              1, 0 /* edge, active high, exclusive */, 1 /* pull-up */, 0, 0 /* drive */,
                              0, 0 /* debounce */};
    auto le16 = [&d](uint16_t v) {  // (push_back: GCC 12 -O2 misreads insert of a list here as overflowing)
        d.push_back(static_cast<uint8_t>(v));
        d.push_back(static_cast<uint8_t>(v >> 8));
    };
    le16(kPins);
    d.push_back(0);  // resource source index
    for (uint16_t v : {name_at, vendor_at, uint16_t{0}}) le16(v);
    le16(pin);
    d.insert(d.end(), source.begin(), source.end());
    d.push_back(0);
    uint16_t len = static_cast<uint16_t>(d.size() - 3);
    d[1] = static_cast<uint8_t>(len);
    d[2] = static_cast<uint8_t>(len >> 8);
    return d;
}

std::vector<uint8_t> dsdt_body(const MachineConfig& c, const AcpiParams& p) {
    AmlList sb;
    for (unsigned i = 0; i < c.smp.cpus; ++i)
        sb.push_back(device(fmt("C%03X", i), {name("_HID", string("ACPI0007")), name("_UID", integer(i))}));
    sb.push_back(device("COM0", {name("_HID", string("ARMH0011")), name("_UID", integer(0)),
                                 name("_CRS", resources({memory32_fixed(static_cast<uint32_t>(base(Region::Uart)),
                                                                        static_cast<uint32_t>(size(Region::Uart)), true),
                                                         irq_level(kSpiBase + kSpiUart)}))}));
    sb.push_back(device("FWCF", {name("_HID", string("QEMU0002")), name("_STA", integer(0xb)),
                                 name("_CCA", integer(1)),
                                 name("_CRS", resources({memory32_fixed(static_cast<uint32_t>(base(Region::FwCfg)),
                                                                        static_cast<uint32_t>(size(Region::FwCfg)),
                                                                        true)}))}));
    for (unsigned i = 0; i < kMmioSlots; ++i)
        sb.push_back(device(fmt("VR%02u", i),
                            {name("_HID", string("LNRO0005")), name("_UID", integer(i)), name("_CCA", integer(1)),
                             name("_CRS", resources({memory32_fixed(static_cast<uint32_t>(base(Region::Mmio) + i * kMmioSlotSize),
                                                                    static_cast<uint32_t>(kMmioSlotSize), true),
                                                     irq_level(kSpiBase + kSpiMmio + i)}))}));
    sb.push_back(pci0(c));
    if (p.ged) {
        // The power button's event: _EVT reads the selector and notifies it.
        Aml ev = local(0);
        sb.push_back(device("\\_SB.GED", {
            name("_HID", string("ACPI0013")), name("_UID", string("GED")),
            name("_CRS", resources({interrupt({.consumer = true, .edge = true}, {kSpiBase + kSpiGed})})),
            operation_region("EREG", RegionSpace::SystemMemory, integer(base(Region::AcpiGed)), integer(AcpiGed::kSize)),
            field("EREG", FieldAccess::DWord, false, FieldUpdate::WriteAsZeros, {{"ESEL", 32}}),
            method("_EVT", 1, true, {
                store(name_string("ESEL"), ev),
                if_(lequal(and_(ev, integer(AcpiGed::kPowerDownEvent), null_target()),
                           integer(AcpiGed::kPowerDownEvent)),
                    {notify(name_string("PWRB"), integer(0x80))}),
            }),
        }));
    } else {
        // The power button on PL061 line 3 (an ACPI event interrupt).
        sb.push_back(device("GPO0", {
            name("_HID", string("ARMH0061")), name("_UID", integer(0)),
            name("_CRS", resources({memory32_fixed(static_cast<uint32_t>(base(Region::Gpio)),
                                                   static_cast<uint32_t>(size(Region::Gpio)), true),
                                    irq_level(kSpiBase + kSpiGpio)})),
            name("_AEI", resources({gpio_int(3, "GPO0")})),
            method("_E03", 0, false, {notify(name_string("PWRB"), integer(0x80))}),
        }));
    }
    sb.push_back(device("PWRB", {name("_HID", string("PNP0C0C")), name("_UID", integer(0))}));
    if (p.tpm)
        sb.push_back(device("TPM0", {name("_HID", string("MSFT0101")), name("_STR", string("TPM 2.0 Device")),
                                     name("_UID", integer(0)),
                                     name("_CRS", resources({memory32_fixed(static_cast<uint32_t>(base(Region::PlatformBus)),
                                                                            kTpmTisSize, true)}))}));
    return scope("\\_SB", sb);
}

void build_dsdt(TableFile& t, Linker& l, const MachineConfig& c, const AcpiParams& p) {
    size_t at = t.begin_table("DSDT", 2);
    t.bytes(dsdt_body(c, p));
    t.end_table(at, l);
}

// FADT (ACPI 6.4 §5.2.9): hardware-reduced, PSCI through HVC, the DSDT.
void build_fadt(TableFile& t, Linker& l, size_t dsdt) {
    size_t at = t.begin_table("FACP", 6);
    t.zeros(112 - 36);
    t.u32(1u << 20);  // HW_REDUCED_ACPI
    t.zeros(12 + 1);  // reset register, reset value
    t.u16(0x3);       // ARM boot flags: PSCI compliant, PSCI uses HVC
    t.u8(0);          // FADT minor version
    t.u64(0);         // X_FIRMWARE_CTRL
    size_t x_dsdt = t.size();
    t.u64(dsdt);
    l.add_pointer(t.name(), static_cast<uint32_t>(x_dsdt), 8, t.name());
    t.zeros(8 * 12 + 2 * 12);  // the PM and GPE blocks, sleep control and status
    t.chars("QEMU", 4);         // hypervisor vendor identity
    t.zeros(4);
    t.end_table(at, l);
}

// MADT (§5.2.12): the distributor, a GICC per CPU, and the MSI controller.
void build_madt(TableFile& t, Linker& l, const MachineConfig& c, const AcpiParams& p) {
    size_t at = t.begin_table("APIC", 4);
    t.u32(0);  // local interrupt controller address
    t.u32(0);  // flags
    t.u8(0xc);  // GICD
    t.u8(24);
    t.u16(0);
    t.u32(0);
    t.u64(base(Region::GicDist));
    t.u32(0);
    t.u8(p.gic_version);
    t.zeros(3);
    for (unsigned i = 0; i < c.smp.cpus; ++i) {
        bool v2 = p.gic_version == 2;
        t.u8(0xb);  // GICC
        t.u8(80);
        t.u16(0);
        t.u32(i);  // CPU interface number
        t.u32(i);  // ACPI processor UID
        t.u32(1);  // enabled
        t.u32(0);  // parking protocol
        t.u32(p.pmu ? 16 + kPpiPmu : 0);
        t.u64(0);  // parked address
        t.u64(v2 ? base(Region::GicCpu) : 0);
        t.u64(v2 ? base(Region::GicVcpu) : 0);
        t.u64(v2 ? base(Region::GicHyp) : 0);
        t.u32(0);  // VGIC maintenance interrupt (no EL2)
        t.u64(0);  // GICR base: the GICR structure below
        t.u64(i);  // MPIDR (Aff0 = index, as the CPUs')
        t.u8(0);
        t.u8(0);
        t.u16(0);
    }
    if (p.gic_version == 3) {
        t.u8(0xe);  // GICR
        t.u8(16);
        t.u16(0);
        t.u64(base(Region::GicRedist));
        t.u32(size(Region::GicRedist));
        if (p.its) {
            t.u8(0xf);  // ITS
            t.u8(20);
            t.u16(0);
            t.u32(0);
            t.u64(base(Region::GicIts));
            t.u32(0);
        }
    } else {
        t.u8(0xd);  // GIC MSI frame (the v2m)
        t.u8(24);
        t.u16(0);
        t.u32(0);
        t.u64(base(Region::GicV2m));
        t.u32(1);  // SPI count and base below
        t.u16(kSpiV2mCount);
        t.u16(kSpiBase + kSpiV2mFirst);
    }
    t.end_table(at, l);
}

// PPTT (§5.2.29): package > cluster > [core >] CPU, as -smp says.
void build_pptt(TableFile& t, Linker& l, const MachineConfig& c) {
    size_t at = t.begin_table("PPTT", 2);
    auto node = [&](uint32_t flags, size_t parent, uint32_t id) {
        size_t off = t.size() - at;
        t.u8(0);
        t.u8(20);
        t.u16(0);
        t.u32(flags);
        t.u32(static_cast<uint32_t>(parent));
        t.u32(id);
        t.u32(0);  // private resources
        return off;
    };
    constexpr uint32_t kPackage = 1, kIdValid = 2, kThread = 4, kLeaf = 8;
    const SmpConfig& s = c.smp;
    unsigned cpu = 0, total = std::max(s.maxcpus, s.cpus);
    for (unsigned so = 0; so < s.sockets && cpu < total; ++so) {
        size_t pkg = node(kPackage, 0, so);
        for (unsigned cl = 0; cl < s.clusters && cpu < total; ++cl) {
            size_t cluster = node(0, pkg, cl);
            for (unsigned co = 0; co < s.cores && cpu < total; ++co) {
                if (s.threads <= 1) {
                    node(kIdValid | kLeaf, cluster, cpu++);
                    continue;
                }
                size_t core = node(0, cluster, co);
                for (unsigned th = 0; th < s.threads && cpu < total; ++th) node(kIdValid | kThread | kLeaf, core, cpu++);
            }
        }
    }
    t.end_table(at, l);
}

// GTDT (§5.2.24): the generic timers' PPIs, no memory-mapped counter.
void build_gtdt(TableFile& t, Linker& l) {
    size_t at = t.begin_table("GTDT", 2);
    t.u64(~0ull);  // CntControlBase: none
    t.u32(0);
    constexpr uint32_t kAlwaysOn = 4;
    t.u32(16 + kPpiSecurePhysTimer);
    t.u32(0);
    t.u32(16 + kPpiPhysTimer);
    t.u32(kAlwaysOn);
    t.u32(16 + kPpiVirtTimer);
    t.u32(0);
    t.u32(16 + kPpiHypTimer);
    t.u32(0);
    t.u64(~0ull);  // CntReadBase: none
    t.u32(0);      // platform timers
    t.u32(0);
    t.end_table(at, l);
}

// MCFG (PCI Firmware Specification §4.1.2): the ECAM of segment 0.
void build_mcfg(TableFile& t, Linker& l, const MachineConfig& c) {
    Region ecam = c.highmem ? Region::PcieEcamHigh : Region::PcieEcam;
    size_t at = t.begin_table("MCFG", 1);
    t.u64(0);
    t.u64(base(ecam));
    t.u16(0);
    t.u8(0);
    t.u8(size(ecam) / kMiB - 1);
    t.u32(0);
    t.end_table(at, l);
}

// SPCR (Microsoft's Serial Port Console Redirection table, rev 2): the PL011.
void build_spcr(TableFile& t, Linker& l) {
    size_t at = t.begin_table("SPCR", 2);
    t.u8(3);  // ARM PL011
    t.zeros(3);
    t.gas(0, 8, 0, 1, base(Region::Uart));
    t.u8(8);  // interrupt type: GIC
    t.u8(0);
    t.u32(kSpiBase + kSpiUart);
    t.u8(3);  // 9600 baud
    t.u8(0);  // no parity
    t.u8(1);  // one stop bit
    t.u8(2);  // flow control: RTS/CTS
    t.u8(0);  // terminal type: VT100
    t.u8(0);
    t.u16(0xffff);  // not a PCI device
    t.u16(0xffff);
    t.zeros(3 + 4 + 1 + 4);
    t.end_table(at, l);
}

// DBG2 (Microsoft's Debug Port Table 2): the PL011 as \_SB.COM0.
void build_dbg2(TableFile& t, Linker& l) {
    size_t at = t.begin_table("DBG2", 0);
    t.u32(44);  // the device information structure follows
    t.u32(1);
    static const char kPath[] = "COM0";
    t.u8(0);    // revision
    t.u16(22 + 12 + 4 + sizeof kPath);
    t.u8(1);    // one register
    t.u16(sizeof kPath);
    t.u16(22 + 12 + 4);  // namepath offset
    t.u16(0);   // no OEM data
    t.u16(0);
    t.u16(0x8000);  // serial port
    t.u16(0x0003);  // ARM PL011
    t.u16(0);
    t.u16(22);       // base address register offset
    t.u16(22 + 12);  // address size offset
    t.gas(0, 8, 0, 1, base(Region::Uart));
    t.u32(size(Region::Uart));
    t.bytes(std::vector<uint8_t>(kPath, kPath + sizeof kPath));
    t.end_table(at, l);
}

// IORT (Arm DEN 0049, rev 3 as QEMU 7.2): the root complex's requester IDs
// go 1:1 to the ITS group.
void build_iort(TableFile& t, Linker& l) {
    size_t at = t.begin_table("IORT", 3);
    t.u32(2);   // nodes
    t.u32(48);  // first node
    t.u32(0);
    size_t its = t.size() - at;
    t.u8(0);  // ITS group
    t.u16(24);
    t.u8(1);
    t.u32(0);  // identifier
    t.u32(0);  // no mappings
    t.u32(0);
    t.u32(1);  // one ITS: ID 0
    t.u32(0);
    t.u8(2);   // root complex
    t.u16(56);
    t.u8(3);
    t.u32(1);   // identifier
    t.u32(1);   // one mapping
    t.u32(36);  // at
    t.u32(1);   // cache coherent
    t.u8(0);    // hints
    t.u16(0);
    t.u8(3);    // memory flags: coherent, device attributes
    t.u32(0);   // ATS not supported
    t.u32(0);   // PCI segment
    t.u8(64);   // memory address size limit
    t.zeros(3);
    t.u32(0);       // input base
    t.u32(0xffff);  // ID count
    t.u32(0);       // output base
    t.u32(static_cast<uint32_t>(its));
    t.u32(0);
    t.end_table(at, l);
}

// TPM2 (TCG ACPI Specification 1.3 §8): a TIS interface (start method
// 6: memory mapped), the firmware's event log area in etc/tpm/log.
constexpr const char* kTpmLog = "etc/tpm/log";
constexpr uint32_t kTpmLogSize = 0x10000;  // QEMU's TPM_LOG_AREA_MINIMUM_SIZE

void build_tpm2(TableFile& t, Linker& l) {
    size_t at = t.begin_table("TPM2", 4);
    t.u16(0);  // client platform
    t.u16(0);
    t.u64(0);  // no control area (not CRB)
    t.u32(6);  // start method: TIS
    t.zeros(12);
    t.u32(kTpmLogSize);
    l.add_pointer(t.name(), static_cast<uint32_t>(t.size()), 8, kTpmLog);
    t.u64(0);
    t.end_table(at, l);
}

}  // namespace

AcpiBlobs build_acpi(const MachineConfig& c, const AcpiParams& p) {
    Linker l;
    TableFile t(kTables), rsdp(kRsdp);
    l.allocate(kRsdp, 16, Linker::Zone::FSeg);  // (QEMU puts FSEG allocations first)
    if (p.tpm) l.allocate(kTpmLog, 1, Linker::Zone::High);
    l.allocate(kTables, 64, Linker::Zone::High);
    size_t dsdt = t.size();
    build_dsdt(t, l, c, p);
    std::vector<size_t> xsdt_entries;
    auto add = [&](auto&& build) {
        xsdt_entries.push_back(t.size());
        build();
    };
    add([&] { build_fadt(t, l, dsdt); });
    add([&] { build_madt(t, l, c, p); });
    add([&] { build_pptt(t, l, c); });
    add([&] { build_gtdt(t, l); });
    add([&] { build_mcfg(t, l, c); });
    add([&] { build_spcr(t, l); });
    add([&] { build_dbg2(t, l); });
    if (c.its) add([&] { build_iort(t, l); });
    if (p.tpm) add([&] { build_tpm2(t, l); });
    size_t xsdt = t.begin_table("XSDT", 1);
    for (size_t e : xsdt_entries) {
        l.add_pointer(kTables, static_cast<uint32_t>(t.size()), 8, kTables);
        t.u64(e);
    }
    t.end_table(xsdt, l);

    // RSDP (§5.2.5.3), revision 2: the XSDT only.
    rsdp.chars("RSD PTR ", 8);
    rsdp.u8(0);
    rsdp.chars("BOCHS", 6);
    rsdp.u8(2);
    rsdp.u32(0);  // no RSDT
    rsdp.u32(36);
    rsdp.u64(xsdt);
    rsdp.u8(0);
    rsdp.zeros(3);
    l.add_checksum(kRsdp, 0, 20, 8);
    l.add_pointer(kRsdp, 24, 8, kTables);
    l.add_checksum(kRsdp, 0, 36, 32);

    AcpiBlobs out;
    out.tables = std::move(t.data());
    out.tables.resize((out.tables.size() + kTableBlobSize - 1) / kTableBlobSize * kTableBlobSize, 0);
    out.rsdp = std::move(rsdp.data());
    out.loader = l.bytes();
    if (p.tpm) out.tpm_log.assign(kTpmLogSize, 0);
    return out;
}

}  // namespace armvm::virt
