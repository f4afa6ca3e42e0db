// SMBIOS tables (DMTF DSP0134 3.x) as QEMU gives them to UEFI firmware in
// fw_cfg (etc/smbios/smbios-tables and the SMBIOS 3.0 entry point
// etc/smbios/smbios-anchor, whose table address the firmware fills in):
// system (type 1), chassis (3), a processor per socket (4), the memory
// array (16) and its 16 GiB DIMMs (17), system boot (32), end (127). The
// firmware adds its own BIOS information (type 0). Guests read them with
// dmidecode; systemd-detect-virt and cloud-init look for "QEMU".
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace armvm {

struct SmbiosParams {
    std::string version;                       // the machine type: "virt-7.2"
    unsigned sockets = 1, cores_per_socket = 1, threads_per_socket = 1;
    uint64_t ram_bytes = 0;
    std::optional<std::array<uint8_t, 16>> uuid;  // -uuid, in its text's byte order
};

struct SmbiosBlobs {
    std::vector<uint8_t> tables, anchor;
};

SmbiosBlobs build_smbios(const SmbiosParams& p);

}  // namespace armvm
