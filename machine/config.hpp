// Typed configuration of one VM: what the command line (or a test) asks
// for, after parsing and validation. Machine::create() consumes it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.hpp"

namespace armvm {

// A character device backend (-chardev, or the compat spelling of -qmp,
// -serial, -monitor: "unix:PATH,server,nowait", "tcp:HOST:PORT", "stdio", ...).
struct ChardevConfig {
    std::string id;
    std::string backend;            // socket | stdio | file | null | pty
    std::string origin;             // the option text, for messages
    std::string option = "chardev"; // the option it came from: chardev, qmp, serial
    // socket
    std::optional<std::string> path;   // unix socket
    std::optional<std::string> host;   // tcp
    std::optional<std::string> port;
    std::optional<int> fd;             // inherited, already listening/connected
    bool server = false;
    bool wait = true;
    // file
    std::optional<std::string> file;
    bool append = false;
    bool mux = false;
    bool with_monitor = false;  // "mon:SPEC": a human monitor shares it (mux)
};

struct MonitorConfig {
    std::string id;
    std::string chardev;            // chardev id
    bool control = true;            // QMP (mode=control); false: HMP readline
    bool pretty = false;
    std::string origin;
};

struct SmpConfig {
    unsigned cpus = 1, sockets = 1, dies = 1, clusters = 1, cores = 1, threads = 1, maxcpus = 1;
};

struct CpuConfig {
    std::string model;              // empty: the machine's default
    std::optional<bool> pmu;        // pmu=on|off; unset: the model's default
    // KVM only (QEMU's -cpu host properties): keep the guest's counter
    // running while the VM is paused; stolen time for the guest.
    std::optional<bool> kvm_no_adjvtime, kvm_steal_time;
    std::optional<bool> sve;        // sve=on|off (KVM's SVE; armvm's TCG has none)
    // pauth=on|off, pauth-impdef=on|off: max's pointer authentication on
    // TCG (default on, QARMA5: QEMU 7.2's defaults)
    std::optional<bool> pauth, pauth_impdef;
    // lpa2=on|off: max's 52-bit addresses with 4K and 16K pages (FEAT_LPA2;
    // default on, as QEMU 7.2's)
    std::optional<bool> lpa2;
    // max's SVE vector lengths (sve128 ... sve2048) and SME properties
    // (sme, sme_fa64, sme128 ... sme2048) as given: armvm's TCG has
    // neither extension, so each may only be off.
    std::vector<std::pair<std::string, bool>> vector_props;
    std::string origin;
};

struct MemoryConfig {
    uint64_t size = 0;              // 0: the machine's default
    uint64_t slots = 0;
    uint64_t maxmem = 0;
};

// A user-created object (-object): kept typed enough for the machine.
struct ObjectConfig {
    std::string qom_type;
    std::string id;
    Json props = Json::object();
    std::string origin;
};

struct DeviceConfig {
    std::string driver;
    std::string id;
    Json props = Json::object();
    std::string origin;
    bool board_nic = false;  // from -nic/-net (or QEMU's default NIC): made before the -device ones, as QEMU
};

// -sandbox (QEMU's sets): on adds the default set and obsolete calls.
struct SandboxConfig {
    enum Elevate { Allow, Deny, Children };
    bool enable = false;
    bool obsolete_deny = true;
    Elevate elevate = Allow;
    bool spawn_deny = false;
    bool resource_deny = false;
};

struct MachineConfig {
    // -machine
    std::string machine_type;       // canonical name: "none", "virt-7.2"
    std::string machine_origin;     // option text for messages
    Json machine_props = Json::object();   // the merged -machine key=values
    std::vector<std::string> accels;    // in the order to try: "kvm", "tcg"
    std::string accel_origin;
    std::string tcg_thread;             // "", "single", "multi"
    std::string gic_version;            // "", "2", "3", "host", "max"
    std::optional<std::string> dumpdtb;
    bool highmem = true;
    bool its = true;  // the GICv3 ITS (-machine its=on|off)
    std::optional<bool> acpi;  // -machine acpi=on|off, -no-acpi (unset: auto, which is on)
    bool virtualization = false;
    bool secure = false;
    bool usb = false;
    bool dump_guest_core = true;
    std::optional<std::string> memory_backend;
    // -machine pflash0=NODE,pflash1=NODE: the block nodes of the flash banks
    // (libvirt's form of -drive if=pflash).
    std::optional<std::string> pflash_node[2];

    CpuConfig cpu;
    SmpConfig smp;
    bool smp_given = false;
    MemoryConfig memory;

    std::string name;               // -name guest=
    bool debug_threads = false;
    std::optional<std::string> uuid;
    // -fw_cfg: named files for the guest's fw_cfg device.
    struct FwCfgFile {
        std::string name;
        std::optional<std::string> file, string;
        std::string origin;
    };
    std::vector<FwCfgFile> fw_cfg_files;
    SandboxConfig sandbox;

    bool start_paused = false;      // -S
    // -semihosting, -semihosting-config enable=on,target=native,chardev=,userspace=,arg=...
    struct Semihosting {
        bool enabled = false;
        bool userspace = false;          // calls from EL0 too
        std::string chardev;             // the console's chardev ("": stderr, as QEMU)
        std::vector<std::string> args;   // the command line (empty: -kernel and -append)
        std::string origin;              // for messages
    } semihosting;
    std::optional<std::string> gdb; // -gdb DEV, -s: the gdbstub's chardev spec ("none": no gdbstub)
    bool daemonize = false;
    std::optional<std::string> pidfile;
    bool no_shutdown = false;
    bool snapshot = false;  // -snapshot: disks write to temporary overlays
    // -boot menu=,strict=,splash-time=,reboot-timeout= (for the firmware,
    // through fw_cfg)
    struct Boot {
        bool menu = false, strict = false;
        std::optional<uint64_t> splash_time, reboot_timeout;
    } boot;
    bool no_reboot = false;
    bool msg_timestamp = false;
    bool nographic = false;
    // A monitor option was given (-monitor, also "none", -mon, -qmp): then
    // -nographic gives no default human monitor, as QEMU's.
    bool monitor_given = false;
    // -serial / -parallel were given (also "none"): no default of their own
    // (-nographic's terminal; virt has no parallel port: only -daemonize's
    // check looks at it, as QEMU's).
    bool serial_given = false, parallel_given = false;
    bool nodefaults = false;

    std::vector<ChardevConfig> chardevs;
    std::vector<MonitorConfig> monitors;
    std::vector<std::string> serials;   // chardev ids, in order
    std::vector<ObjectConfig> objects;
    std::vector<DeviceConfig> devices;
    // -tpmdev emulator,id=ID,chardev=CHR: a TPM 2.0 in swtpm, reached over
    // the control socket of a socket chardev (which armvm then does not
    // open as a chardev of its own).
    struct Tpmdev {
        std::string id, chardev, origin;
    };
    std::vector<Tpmdev> tpmdevs;
    // -drive and -blockdev: their options (a Json object) and the option
    // text for messages, in command-line order (block/block.cpp reads them).
    struct BlockOpt {
        Json opts;
        std::string origin;
        bool is_drive;  // -drive (else -blockdev)
    };
    std::vector<BlockOpt> block_opts;
    std::vector<Json> netdevs;               // -netdev (type=user), with
    std::vector<std::string> netdev_origins; // their option texts
    // -global virtio-mmio.force-legacy=on|off (QEMU's default: on, the
    // legacy "version 1" register layout).
    bool virtio_mmio_force_legacy = true;

    std::optional<std::string> kernel, initrd, append, dtb, bios;
    std::optional<std::string> log_file;    // -D
    uint32_t log_mask = 0;                  // -d (base/log.hpp's items)
    std::optional<std::string> log_filter;  // -dfilter

    bool acpi_enabled() const { return acpi.value_or(true); }
    // QEMU's "firmware loaded": -bios, or flash bank 0 has contents. The
    // firmware then loads -kernel (from fw_cfg), and with ACPI the board
    // has the GED power button instead of the PL061.
    bool firmware_loaded() const;
};

}  // namespace armvm
