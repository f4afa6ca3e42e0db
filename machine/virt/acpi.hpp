// The virt board's ACPI tables, as QEMU 7.2's virt gives them to an aarch64
// guest (hw/arm/virt-acpi-build.c's choices; the bytes compared with
// QEMU's in tests/integration/test_acpi.py): DSDT, FADT (hardware-reduced,
// PSCI over HVC), MADT, PPTT, GTDT, MCFG, SPCR, DBG2, IORT, TPM2 and the XSDT,
// with the RSDP and the loader script, for fw_cfg. Firmware (edk2) installs
// them; Linux then boots on ACPI instead of the device tree.
#pragma once
#include <cstdint>
#include <vector>

#include "machine/config.hpp"

namespace armvm::virt {

struct AcpiBlobs {
    std::vector<uint8_t> tables;  // etc/acpi/tables
    std::vector<uint8_t> rsdp;    // etc/acpi/rsdp
    std::vector<uint8_t> loader;  // etc/table-loader
    std::vector<uint8_t> tpm_log; // etc/tpm/log (with a TPM: the firmware's event log area)
};

struct AcpiParams {
    unsigned gic_version = 2;
    bool its = false;   // a GICv3 ITS (else, on GICv2, the v2m frame)
    bool pmu = false;   // the CPUs' PMU (its PPI in the MADT)
    bool ged = false;   // the power button on the Generic Event Device (else on the PL061)
    bool tpm = false;   // a tpm-tis-device at the platform bus's start (TPM2 table, \_SB.TPM0)
};

AcpiBlobs build_acpi(const MachineConfig& c, const AcpiParams& p);

}  // namespace armvm::virt
