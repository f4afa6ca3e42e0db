// The virt board's memory and interrupt map: one table, read by the board,
// its device tree and the tests (DESIGN.md habit 1). Same as QEMU 7.2's
// "virt" (hw/arm/virt.c base_memmap[] and a15irqmap[]).
//
//   0x0000_0000 ┌──────────────┐ flash 0 and 1 (2 × 64 MiB)
//   0x0800_0000 ├──────────────┤ GIC distributor
//   0x0801_0000 │              │ GICv2 CPU interface
//   0x0802_0000 │              │ GICv2m MSI frame
//   0x0803_0000 │              │ GICv2 virtual interface control (GICH)
//   0x0804_0000 │              │ GICv2 virtual CPU interface (GICV)
//   0x0808_0000 │              │ GICv3 ITS
//   0x080A_0000 │              │ GICv3 redistributors (up to 123 CPUs)
//   0x0900_0000 ├──────────────┤ PL011 UART       (SPI 1)
//   0x0901_0000 │              │ PL031 RTC        (SPI 2)
//   0x0902_0000 │              │ fw_cfg
//   0x0903_0000 │              │ PL061 GPIO       (SPI 7; without it, with ACPI
//   0x0908_0000 │              │ ACPI GED          and firmware: SPI 9)
//   0x090A_0000 │              │ KVM stolen-time structures (kvm-steal-time)
//   0x0A00_0000 ├──────────────┤ virtio-mmio × 32 (SPI 16..47)
//   0x0C00_0000 ├──────────────┤ platform bus (dynamic sysbus devices: tpm-tis-device)
//   0x1000_0000 ├──────────────┤ PCIe MMIO        (SPI 3..6)
//   0x3EFF_0000 │              │ PCIe PIO
//   0x3F00_0000 │              │ PCIe ECAM (low)
//   0x4000_0000 ├──────────────┤ RAM (up to 255 GiB with highmem)
//  0x40_1000_0000 ├────────────┤ PCIe ECAM (high, with highmem: 256 buses)
//  0x80_0000_0000 ├────────────┤ PCIe MMIO (high, 64-bit: 512 GiB)
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace armvm::virt {

enum class Region : unsigned {
    Flash, GicDist, GicCpu, GicV2m, GicHyp, GicVcpu, GicIts, GicRedist, Uart, Rtc, FwCfg, Gpio, AcpiGed, PvTime, Mmio, PlatformBus, PcieMmio, PciePio,
    PcieEcam, Ram, PcieEcamHigh, PcieMmioHigh, Count
};

struct MemRegion {
    Region id;
    const char* name;
    uint64_t base;
    uint64_t size;
};

inline constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;
inline constexpr unsigned kMmioSlots = 32;
inline constexpr uint32_t kTpmTisSize = 0x5000;  // tpm-tis-device, at the platform bus's start
inline constexpr uint64_t kMmioSlotSize = 0x200;

inline constexpr std::array<MemRegion, static_cast<size_t>(Region::Count)> kMemMap = {{
    {Region::Flash, "flash", 0x00000000, 0x08000000},
    {Region::GicDist, "gic-dist", 0x08000000, 0x00010000},
    {Region::GicCpu, "gic-cpu", 0x08010000, 0x00010000},
    {Region::GicV2m, "gic-v2m", 0x08020000, 0x00001000},
    {Region::GicHyp, "gic-hyp", 0x08030000, 0x00010000},
    {Region::GicVcpu, "gic-vcpu", 0x08040000, 0x00010000},
    {Region::GicIts, "gic-its", 0x08080000, 0x00020000},
    {Region::GicRedist, "gic-redist", 0x080A0000, 0x00F60000},
    {Region::Uart, "uart", 0x09000000, 0x00001000},
    {Region::Rtc, "rtc", 0x09010000, 0x00001000},
    {Region::FwCfg, "fw-cfg", 0x09020000, 0x00000018},
    {Region::Gpio, "gpio", 0x09030000, 0x00001000},
    {Region::AcpiGed, "acpi-ged", 0x09080000, 0x00000004},
    {Region::PvTime, "pvtime", 0x090A0000, 0x00010000},
    {Region::Mmio, "virtio-mmio", 0x0A000000, kMmioSlots * kMmioSlotSize},
    {Region::PlatformBus, "platform-bus", 0x0C000000, 0x02000000},
    {Region::PcieMmio, "pcie-mmio", 0x10000000, 0x2EFF0000},
    {Region::PciePio, "pcie-pio", 0x3EFF0000, 0x00010000},
    {Region::PcieEcam, "pcie-ecam", 0x3F000000, 0x01000000},
    {Region::Ram, "ram", 0x40000000, 255 * kGiB},
    {Region::PcieEcamHigh, "pcie-ecam-high", 0x4010000000, 256 * kMiB},
    {Region::PcieMmioHigh, "pcie-mmio-high", 0x8000000000, 512 * kGiB},
}};

constexpr const MemRegion& region(Region r) { return kMemMap[static_cast<size_t>(r)]; }
constexpr uint64_t base(Region r) { return region(r).base; }
constexpr uint64_t size(Region r) { return region(r).size; }

// The table is in enum order, sorted by address, and nothing overlaps.
constexpr bool memmap_is_sane() {
    for (size_t i = 0; i < kMemMap.size(); ++i) {
        if (static_cast<size_t>(kMemMap[i].id) != i) return false;
        if (i > 0 && kMemMap[i - 1].base + kMemMap[i - 1].size > kMemMap[i].base) return false;
    }
    return true;
}
static_assert(memmap_is_sane(), "virt memory map entries overlap or are out of order");

// Shared peripheral interrupts (SPI numbers; INTID = 32 + SPI).
inline constexpr unsigned kSpiUart = 1, kSpiRtc = 2, kSpiPcie = 3, kSpiGpio = 7, kSpiGed = 9, kSpiMmio = 16;
// The GICv2m frame's SPIs (INTIDs 80..143, as QEMU's).
inline constexpr unsigned kSpiV2mFirst = 48, kSpiV2mCount = 64;
// Private peripheral interrupts (PPI numbers; INTID = 16 + PPI).
inline constexpr unsigned kPpiSecurePhysTimer = 13, kPpiPhysTimer = 14, kPpiVirtTimer = 11,
                          kPpiHypTimer = 10, kPpiPmu = 7;

}  // namespace armvm::virt
