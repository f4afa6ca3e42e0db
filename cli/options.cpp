#include "cli/options.hpp"

#include <fcntl.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "base/log.hpp"
#include "base/trace.hpp"

#include "accel/accelerator.hpp"
#include "cli/help.hpp"
#include "base/keyval.hpp"
#include "base/fdset.hpp"
#include "base/report.hpp"
#include "machine/devices.hpp"
#include "machine/objects.hpp"
#include "net/slirp.hpp"

namespace po = boost::program_options;

namespace armvm {

const std::vector<OptionInfo>& option_table() {
    static const std::vector<OptionInfo> t = {
        {"machine", true, "select the machine: -machine virt,gic-version=2|3|host|max,..."},
        {"M", true, "same as -machine"},
        {"accel", true, "select an accelerator: -accel kvm|tcg[,thread=single|multi]"},
        {"enable-kvm", false, "same as -accel kvm"},
        {"cpu", true, "select the CPU model: -cpu MODEL[,pmu=on|off]"},
        {"smp", true, "-smp [cpus=]N[,sockets=S][,cores=C][,threads=T][,maxcpus=M]"},
        {"m", true, "guest RAM: -m [size=]N[kMGT][,slots=N,maxmem=SIZE]"},
        {"name", true, "-name [guest=]NAME[,debug-threads=on|off]"},
        {"uuid", true, "the machine UUID"},
        {"S", false, "do not start the CPUs (use 'cont' on the monitor)"},
        {"s", false, "shorthand for -gdb tcp::1234"},
        {"gdb", true, "a gdbstub on a chardev spec (tcp::PORT, unix:PATH,server=on, stdio)"},
        {"semihosting", false, "enable Arm semihosting (HLT #0xF000)"},
        {"semihosting-config", true, "-semihosting-config [enable=]on|off[,target=native|auto][,chardev=ID][,userspace=on|off][,arg=STR...]"},
        {"daemonize", false, "run in the background once initialised"},
        {"pidfile", true, "write the daemon's PID to FILE (locked)"},
        {"qmp", true, "a QMP monitor on a chardev spec (unix:PATH,server=on,wait=off)"},
        {"qmp-pretty", true, "like -qmp, with pretty-printed JSON"},
        {"mon", true, "-mon chardev=ID,mode=control[,id=ID]"},
        {"chardev", true, "-chardev socket|stdio|file|null|pty,id=ID,..."},
        {"serial", true, "redirect the serial port to a chardev spec"},
        {"parallel", true, "redirect the parallel port to a chardev spec (virt has none)"},
        {"monitor", true, "the human monitor (HMP) on a chardev spec (stdio, unix:PATH,server=on,wait=off, tcp:...)"},
        {"nographic", false, "no graphics; serial on the terminal"},
        {"display", true, "-display none"},
        {"no-user-config", false, "do not load user configuration files"},
        {"nodefaults", false, "create no default devices"},
        {"no-shutdown", false, "stop, do not exit, when the guest powers off"},
        {"no-reboot", false, "exit instead of rebooting"},
        {"no-acpi", false, "disable ACPI"},
        {"rtc", true, "-rtc base=utc|localtime|DATE[,clock=host|rt|vm][,driftfix=none|slew]"},
        {"boot", true, "-boot [order=..][,strict=on|off][,menu=on|off]..."},
        {"msg", true, "-msg timestamp=on|off[,guest-name=on|off]"},
        {"overcommit", true, "-overcommit mem-lock=on|off|on-fault[,cpu-pm=on|off]"},
        {"sandbox", true, "-sandbox on|off[,obsolete=..][,elevateprivileges=..][,spawn=..][,resourcecontrol=..]"},
        {"object", true, "-object TYPE,id=ID,... or JSON"},
        {"add-fd", true, "-add-fd fd=FD,set=SET[,opaque=STR]"},
        {"global", true, "-global DRIVER.PROP=VALUE"},
        {"kernel", true, "the kernel image to boot"},
        {"initrd", true, "the initial ram disk"},
        {"append", true, "the kernel command line"},
        {"dtb", true, "a device tree blob to give the guest"},
        {"fw_cfg", true, "-fw_cfg [name=]NAME,file=FILE or -fw_cfg [name=]NAME,string=STR"},
        {"bios", true, "the firmware image"},
        {"drive", true, "-drive file=FILE,if=none,id=ID,format=raw,..."},
        {"blockdev", true, "-blockdev JSON or key=value"},
        {"snapshot", false, "write to temporary files instead of disk images"},
        {"device", true, "-device DRIVER[,PROP=VALUE...] or JSON"},
        {"netdev", true, "-netdev user|tap,id=ID,..."},
        {"tpmdev", true, "-tpmdev emulator,id=ID,chardev=CHR (a swtpm control socket)"},
        {"nic", true, "-nic none|user|tap[,model=virtio-net-pci][,mac=MAC][,backend options]"},
        {"net", true, "-net nic[,model=..][,macaddr=..] | -net user|tap[,...]"},
        {"hda", true, "the first disk image (-drive file=FILE,index=0,media=disk)"},
        {"pflash", true, "the next flash bank's image (-drive if=pflash,file=FILE)"},
        {"hdb", true, "the second disk image"},
        {"hdc", true, "the third disk image"},
        {"hdd", true, "the fourth disk image"},
        {"cdrom", true, "a CD-ROM image (-drive file=FILE,index=2,media=cdrom)"},
        {"audiodev", true, "-audiodev none,id=ID"},
        {"D", true, "write the log to FILE"},
        {"d", true, "log items (-d help lists them)"},
        {"dfilter", true, "-dfilter RANGE,..: log only code in these ranges (0x1000+0x100, 0x1000..0x10ff)"},
        {"trace", true, "-trace [[enable=]PATTERN][,events=FILE][,file=FILE]: trace events to the log (help lists them)"},
        {"version", false, "print the version and exit"},
        {"h", false, "print this help and exit"},
        {"help", false, "print this help and exit"},
    };
    return t;
}

namespace {

struct Parser {
    CliOutcome out;
    MachineConfig& c = out.config;
    Json machine_dict = Json::object();
    std::vector<std::string> accel_opts;    // -accel texts in order
    bool enable_kvm = false;
    std::string machine_accel_origin;
    int next_auto_id = 0;

    Error err(const std::string& opt, const std::string& arg, const Error& e) {
        return make_error("-" + opt + (arg.empty() ? "" : " " + arg) + ": " + e.msg, e.cls);
    }

    Status handle(const std::string& name, const std::string& arg);
    Status finish();

    Status opt_machine(const std::string& arg);
    Status opt_cpu(const std::string& arg);
    Status opt_smp(const std::string& arg);
    Status opt_m(const std::string& arg);
    Status opt_name(const std::string& arg);
    Status opt_qmp(const std::string& arg, bool pretty);
    Status opt_mon(const std::string& arg);
    Status opt_serial(const std::string& arg);
    Status opt_parallel(const std::string& arg);
    unsigned next_parallel_ = 0;
    Status opt_object(const std::string& arg);
    Status opt_device(const std::string& arg);
    Status opt_monitor(const std::string& arg);
    Status opt_semihosting_config(const std::string& arg);
    Status opt_netdev(const std::string& arg);
    Status opt_nic(const std::string& arg);
    Status opt_net(const std::string& arg);
    Status add_nic(const std::string& backend_id, Json nic, const std::string& origin);
    // -net: the NICs and the backends, joined in order at the end.
    std::vector<std::pair<Json, std::string>> net_nics_, net_backends_;
    bool any_net_ = false;  // a -nic, -net or -netdev was given (no default NIC then)
    unsigned nic_count_ = 0;
    Status opt_simple(const std::string& name, const std::string& arg);
    Status opt_misc_keyval(const std::string& name, const std::string& arg);
};

bool valid_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    return true;
}

Status Parser::opt_machine(const std::string& arg) {
    auto d = parse_keyval(arg, {"type", false});
    if (!d) return d.error();
    if (d->help || (d->dict.contains("type") && d->dict["type"] == "help")) {
        out.exit_now = true;
        out.output = machine_help();
        return ok_status();
    }
    // Several -machine options merge, later values winning (as in QEMU).
    for (auto it = d->dict.begin(); it != d->dict.end(); ++it) machine_dict[it.key()] = it.value();
    c.machine_origin = arg;
    if (d->dict.contains("accel")) machine_accel_origin = arg;
    return ok_status();
}

Status Parser::opt_cpu(const std::string& arg) {
    auto d = parse_keyval(arg, {"model", false});
    if (!d) return d.error();
    OptReader r(d->dict);
    std::string model = r.str("model").value_or("");
    if (d->help || model == "help") {
        out.exit_now = true;
        out.output = cpu_help();
        return ok_status();
    }
    c.cpu.model = model;
    c.cpu.origin = arg;
    // The boolean CPU properties (which of them the chosen CPU and
    // accelerator have is checked once the accelerator is known).
    for (auto [key, dst] : {std::pair{"pmu", &c.cpu.pmu}, std::pair{"kvm-no-adjvtime", &c.cpu.kvm_no_adjvtime},
                            std::pair{"kvm-steal-time", &c.cpu.kvm_steal_time}, std::pair{"sve", &c.cpu.sve},
                            std::pair{"pauth", &c.cpu.pauth}, std::pair{"pauth-impdef", &c.cpu.pauth_impdef},
                            std::pair{"lpa2", &c.cpu.lpa2}}) {
        auto v = r.boolean(key);
        if (!v) return v.error();
        *dst = *v;
    }
    std::vector<std::string> vector_names = {"sme", "sme_fa64"};
    for (unsigned n = 128; n <= 2048; n += 128) vector_names.push_back("sve" + std::to_string(n));
    for (unsigned n = 128; n <= 2048; n *= 2) vector_names.push_back("sme" + std::to_string(n));
    for (const std::string& key : vector_names) {
        auto v = r.boolean(key);
        if (!v) return v.error();
        if (*v) c.cpu.vector_props.emplace_back(key, **v);
    }
    if (auto k = r.unused()) {
        std::string tn = model + "-arm-cpu";
        return make_error("Property '" + tn + "." + *k + "' not found");
    }
    return ok_status();
}

Status Parser::opt_smp(const std::string& arg) {
    auto d = parse_keyval(arg, {"cpus", false});
    if (!d) return d.error();
    OptReader r(d->dict);
    SmpConfig s{0, 0, 0, 0, 0, 0, 0};
    struct F { const char* key; unsigned* dst; } fields[] = {
        {"cpus", &s.cpus}, {"sockets", &s.sockets}, {"dies", &s.dies}, {"clusters", &s.clusters},
        {"cores", &s.cores}, {"threads", &s.threads}, {"maxcpus", &s.maxcpus}};
    for (auto& f : fields) {
        auto v = r.uint(f.key);
        if (!v) return v.error();
        if (*v) {
            if (**v == 0)
                return make_error("Invalid CPU topology: CPU topology parameters must be greater than zero");
            if (**v > 4096) return make_error(std::string("Parameter '") + f.key + "' is too large");
            *f.dst = static_cast<unsigned>(**v);
        }
    }
    ARMVM_TRY(r.finish("Invalid parameter '%s'"));
    if (s.dies > 1) return make_error("dies not supported by this machine's CPU topology");
    if (s.clusters > 1) return make_error("clusters not supported by this machine's CPU topology");
    s.dies = 1;
    s.clusters = 1;
    // The arithmetic of QEMU >= 6.2 machines (cores preferred over sockets).
    unsigned cpus = s.cpus, sockets = s.sockets, cores = s.cores, threads = s.threads, maxcpus = s.maxcpus;
    if (cpus == 0 && maxcpus == 0) {
        sockets = sockets ? sockets : 1;
        cores = cores ? cores : 1;
        threads = threads ? threads : 1;
    } else {
        maxcpus = maxcpus ? maxcpus : cpus;
        if (cores == 0) {
            sockets = sockets ? sockets : 1;
            threads = threads ? threads : 1;
            cores = maxcpus / (sockets * threads);
        } else if (sockets == 0) {
            threads = threads ? threads : 1;
            sockets = maxcpus / (cores * threads);
        }
        if (threads == 0) threads = maxcpus / std::max(1u, sockets * cores);
    }
    maxcpus = maxcpus ? maxcpus : sockets * cores * threads;
    cpus = cpus ? cpus : maxcpus;
    auto prod = [&] {
        return "sockets (" + std::to_string(sockets) + ") * cores (" + std::to_string(cores) +
               ") * threads (" + std::to_string(threads) + ")";
    };
    if (sockets * cores * threads != maxcpus)
        return make_error("Invalid CPU topology: product of the hierarchy must match maxcpus: " + prod() +
                          " != maxcpus (" + std::to_string(maxcpus) + ")");
    if (maxcpus < cpus)
        return make_error("Invalid CPU topology: maxcpus must be equal to or greater than smp: " + prod() +
                          " == maxcpus (" + std::to_string(maxcpus) + ") < smp_cpus (" +
                          std::to_string(cpus) + ")");
    c.smp = SmpConfig{cpus, sockets, 1, 1, cores, threads, maxcpus};
    c.smp_given = true;
    return ok_status();
}

Status Parser::opt_m(const std::string& arg) {
    auto d = parse_keyval(arg, {"size", false});
    if (!d) return d.error();
    OptReader r(d->dict);
    auto size = r.size("size", 'M');
    if (!size) return size.error();
    auto slots = r.uint("slots");
    if (!slots) return slots.error();
    auto maxmem = r.size("maxmem");
    if (!maxmem) return maxmem.error();
    ARMVM_TRY(r.finish());
    if (*size) {
        if (**size == 0) return make_error("memory size must be greater than zero");
        c.memory.size = **size;
    }
    c.memory.slots = slots->value_or(0);
    c.memory.maxmem = maxmem->value_or(0);
    if (c.memory.maxmem && c.memory.maxmem < c.memory.size)
        return make_error("invalid value of maxmem: maximum memory size must be equal to or greater than the RAM size");
    return ok_status();
}

Status Parser::opt_name(const std::string& arg) {
    auto d = parse_keyval(arg, {"guest", false});
    if (!d) return d.error();
    OptReader r(d->dict);
    c.name = r.str("guest").value_or("");
    auto dt = r.boolean("debug-threads");
    if (!dt) return dt.error();
    c.debug_threads = dt->value_or(false);
    (void)r.str("process");
    return r.finish();
}

Status Parser::opt_qmp(const std::string& arg, bool pretty) {
    std::string id = "compat_monitor" + std::to_string(next_auto_id++);
    auto ch = parse_chardev_compat(arg, id);
    if (!ch) return ch.error();
    ch->option = pretty ? "qmp-pretty" : "qmp";
    c.chardevs.push_back(*ch);
    c.monitors.push_back(MonitorConfig{id, id, true, pretty, arg});
    c.monitor_given = true;
    return ok_status();
}

// -semihosting-config [enable=]on|off,target=native|auto|gdb,chardev=ID,
// userspace=on|off,arg=A,arg=B...: "arg" may repeat (each is one word of
// the guest's command line), so the items are split here rather than by
// the keyval parser.
Status Parser::opt_semihosting_config(const std::string& arg) {
    auto& sh = c.semihosting;
    sh.origin = arg;
    size_t at = 0;
    bool first = true;
    while (at <= arg.size()) {
        size_t comma = arg.find(',', at);
        std::string item = arg.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        at = comma == std::string::npos ? arg.size() + 1 : comma + 1;
        auto eq = item.find('=');
        std::string key = eq == std::string::npos ? (first ? "enable" : item) : item.substr(0, eq);
        std::string value = eq == std::string::npos ? (first ? item : "on") : item.substr(eq + 1);
        first = false;
        auto boolean = [&](bool& out) -> Status {
            if (value == "on" || value == "yes" || value == "true") out = true;
            else if (value == "off" || value == "no" || value == "false") out = false;
            else return make_error("Parameter '" + key + "' expects 'on' or 'off'");
            return ok_status();
        };
        if (key == "enable") {
            ARMVM_TRY(boolean(sh.enabled));
        } else if (key == "userspace") {
            ARMVM_TRY(boolean(sh.userspace));
        } else if (key == "target") {
            if (value == "gdb")
                return make_error("semihosting target=gdb is not supported (armvm's semihosting is native)");
            if (value != "native" && value != "auto") return make_error("unsupported semihosting target " + value);
        } else if (key == "chardev") {
            sh.chardev = value;
        } else if (key == "arg") {
            sh.args.push_back(value);
        } else {
            return make_error("Invalid parameter '" + key + "'");
        }
    }
    return ok_status();
}

// -monitor SPEC: the human monitor on a chardev spec (stdio, unix:...,
// tcp:..., telnet:..., pty).
Status Parser::opt_monitor(const std::string& arg) {
    std::string id = "compat_monitor" + std::to_string(next_auto_id++);
    auto ch = parse_chardev_compat(arg, id);
    if (!ch) return ch.error();
    ch->option = "monitor";
    c.chardevs.push_back(*ch);
    c.monitors.push_back(MonitorConfig{id, id, false, false, arg});
    c.monitor_given = true;
    return ok_status();
}

Status Parser::opt_mon(const std::string& arg) {
    auto d = parse_keyval(arg, {"chardev", false});
    if (!d) return d.error();
    OptReader r(d->dict);
    MonitorConfig m;
    m.origin = arg;
    m.chardev = r.str("chardev").value_or("");
    m.id = r.str("id").value_or("");
    std::string mode = r.str("mode").value_or("readline");
    auto pretty = r.boolean("pretty");
    if (!pretty) return pretty.error();
    m.pretty = pretty->value_or(false);
    ARMVM_TRY(r.finish());
    if (m.chardev.empty()) return make_error("Parameter 'chardev' is missing");
    if (mode == "control") {
        m.control = true;
    } else if (mode == "readline") {
        m.control = false;
    } else {
        return make_error("Parameter 'mode' does not accept value '" + mode + "'");
    }
    if (m.id.empty()) m.id = "monitor" + std::to_string(next_auto_id++);
    c.monitors.push_back(m);
    c.monitor_given = true;
    return ok_status();
}

Status Parser::opt_serial(const std::string& arg) {
    c.serial_given = true;
    if (arg == "none") return ok_status();
    if (arg.rfind("chardev:", 0) == 0) {
        c.serials.push_back(arg.substr(8));
        return ok_status();
    }
    std::string id = "serial" + std::to_string(c.serials.size());
    auto ch = parse_chardev_compat(arg, id);
    if (!ch) return ch.error();
    ch->option = "serial";
    c.chardevs.push_back(*ch);
    c.serials.push_back(id);
    if (ch->with_monitor) {  // -serial mon:stdio
        c.monitors.push_back(MonitorConfig{"compat_monitor" + std::to_string(next_auto_id++), id, false, false, arg});
        c.monitor_given = true;
    }
    return ok_status();
}

// -parallel: QEMU's virt has no parallel port; the chardev is made (info
// chardev lists it) and the option counts for -daemonize's check.
Status Parser::opt_parallel(const std::string& arg) {
    c.parallel_given = true;
    if (arg == "none") return ok_status();
    auto ch = parse_chardev_compat(arg, "parallel" + std::to_string(next_parallel_++));
    if (!ch) return ch.error();
    ch->option = "parallel";
    if (ch->with_monitor) return make_error("-parallel " + arg + ": a monitor needs a serial port on this machine");
    c.chardevs.push_back(*ch);
    return ok_status();
}

Status Parser::opt_object(const std::string& arg) {
    auto d = parse_keyval(arg, {"qom-type", true});
    if (!d) return d.error();
    if (d->help || OptReader(d->dict).str("qom-type") == std::optional<std::string>("help")) {
        out.exit_now = true;
        out.output = object_help();
        return ok_status();
    }
    auto o = parse_object(d->dict, arg);
    if (!o) return o.error();
    for (const auto& other : c.objects)
        if (other.id == o->id) return make_error("attempt to add duplicate property '" + o->id + "' to object");
    c.objects.push_back(std::move(o.value()));
    return ok_status();
}

Status Parser::opt_device(const std::string& arg) {
    auto d = parse_keyval(arg, {"driver", true});
    if (!d) return d.error();
    OptReader r(d->dict);
    std::string driver = r.str("driver").value_or("");
    if (driver == "help" || (d->help && driver.empty())) {
        out.exit_now = true;
        out.output = device_help();
        return ok_status();
    }
    if (driver.empty()) return make_error("Parameter 'driver' is missing");
    // The virt board's devices (machine/devices.cpp): QEMU's aliases
    // resolved (virtio-blk is virtio-blk-pci), `-device NAME,help`; the
    // board checks their properties. Other known QEMU models get a precise
    // refusal.
    if (const DeviceType* t = find_device_type(driver)) {
        if (d->help) {
            out.exit_now = true;
            out.output = device_props_help(*t);
            return ok_status();
        }
        DeviceConfig dc;
        dc.driver = t->name;
        dc.id = r.str("id").value_or("");
        dc.props = d->dict;
        dc.props.erase("driver");
        dc.props.erase("id");
        dc.origin = arg;
        c.devices.push_back(std::move(dc));
        return ok_status();
    }
    if (is_known_qemu_device(driver)) return make_error("device is not supported");
    return make_error("'" + driver + "' is not a valid device model name");
}

Status Parser::opt_netdev(const std::string& arg) {
    any_net_ = true;
    auto d = parse_keyval(arg, {"type", true});
    if (!d) return d.error();
    OptReader r(d->dict);
    std::string type = r.str("type").value_or("");
    if (d->help || type == "help") {
        out.exit_now = true;
        out.output = "Available netdev backend types:\ntap\nuser\n";
        return ok_status();
    }
    if (type == "user" || type == "tap") {  // net/slirp.cpp and net/tap.cpp check the rest
        c.netdevs.push_back(d->dict);
        c.netdev_origins.push_back(arg);
        return ok_status();
    }
    static const char* known[] = {"bridge", "socket", "stream", "dgram", "vde",
                                  "l2tpv3", "vhost-user", "vhost-vdpa", "hubport"};
    for (const char* k : known)
        if (type == k) return make_error("network backend '" + type + "' is not supported");
    return make_error("Parameter 'type' does not accept value '" + type + "'");
}

// A NIC of -nic or -net: the virt board's default model (virtio-net-pci)
// on the backend `backend_id`.
Status Parser::add_nic(const std::string& backend_id, Json nic, const std::string& origin) {
    std::string model = nic.contains("model") && nic["model"].is_string() ? nic["model"].get<std::string>() : "";
    if (model.empty() || model == "virtio") model = "virtio-net-pci";
    if (model == "help") {
        out.exit_now = true;
        out.output = "Available NIC models:\nvirtio-net-device\nvirtio-net-pci\n";
        return ok_status();
    }
    if (model != "virtio-net-pci" && model != "virtio-net-device")
        return make_error("Unsupported NIC model: " + model);
    DeviceConfig dc;
    dc.driver = model;
    dc.props = Json::object();
    dc.props["netdev"] = backend_id;
    for (const char* k : {"mac", "macaddr"})
        if (nic.contains(k)) dc.props["mac"] = nic[k];
    dc.origin = origin;
    dc.board_nic = true;
    c.devices.push_back(std::move(dc));
    return ok_status();
}

// -nic TYPE[,model=..][,mac=..][,backend options]: a backend and its NIC
// in one option (QEMU 2.12+).
Status Parser::opt_nic(const std::string& arg) {
    any_net_ = true;
    auto d = parse_keyval(arg, {"type", true});
    if (!d) return d.error();
    OptReader r(d->dict);
    std::string type = r.str("type").value_or("");
    if (type == "none") return ok_status();
    Json nic = Json::object(), backend = d->dict;
    for (const char* k : {"model", "mac"})
        if (backend.contains(k)) {
            nic[k] = backend[k];
            backend.erase(k);
        }
    std::string id = backend.contains("id") && backend["id"].is_string() ? backend["id"].get<std::string>()
                                                                          : "__org.qemu.nic" + std::to_string(nic_count_);
    ++nic_count_;
    backend["id"] = id;
    if (type != "user" && type != "tap") {
        if (type.empty()) return make_error("Parameter 'type' is missing");
        return make_error("network backend '" + type + "' is not supported");
    }
    c.netdevs.push_back(backend);
    c.netdev_origins.push_back(arg);
    return add_nic(id, nic, arg);
}

// -net nic[,model=..][,macaddr=..] and -net user|tap[,...]: QEMU joins
// them through a hub; armvm joins the n-th NIC to the n-th backend.
Status Parser::opt_net(const std::string& arg) {
    any_net_ = true;
    auto d = parse_keyval(arg, {"type", true});
    if (!d) return d.error();
    OptReader r(d->dict);
    std::string type = r.str("type").value_or("");
    if (type == "none") return ok_status();
    if (type == "nic") {
        net_nics_.push_back({d->dict, arg});
        return ok_status();
    }
    if (type != "user" && type != "tap") return make_error("network backend '" + type + "' is not supported");
    net_backends_.push_back({d->dict, arg});
    return ok_status();
}

// Options whose argument is a keyval with a fixed set of keys and nothing
// armvm acts on yet beyond validation.
Status Parser::opt_misc_keyval(const std::string& name, const std::string& arg) {
    if (name == "rtc") {
        auto d = parse_keyval(arg, {"", false});
        if (!d) return d.error();
        OptReader r(d->dict);
        std::string base = r.str("base").value_or("utc");
        if (base != "utc" && base != "localtime") {
            // A start date: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.
            int y, mo, da, h, mi, s;
            char t;
            if (!(std::sscanf(base.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &da, &t, &h, &mi, &s) == 7 ||
                  (std::sscanf(base.c_str(), "%4d-%2d-%2d", &y, &mo, &da) == 3 && base.size() == 10)))
                return make_error("invalid datetime format: valid formats: '2006-06-17T16:01:21' or '2006-06-17'");
        }
        std::string clock = r.str("clock").value_or("host");
        if (clock != "host" && clock != "rt" && clock != "vm")
            return make_error("invalid option value '" + clock + "'");
        std::string drift = r.str("driftfix").value_or("none");
        if (drift != "none" && drift != "slew") return make_error("invalid option value '" + drift + "'");
        return r.finish();
    }
    if (name == "boot") {
        auto d = parse_keyval(arg, {"order", false});
        if (!d) return d.error();
        OptReader r(d->dict);
        (void)r.str("order");
        (void)r.str("once");
        (void)r.str("splash");
        for (const char* k : {"splash-time", "reboot-timeout"}) {
            auto v = r.uint(k);
            if (!v) return v.error();
            if (*v && **v > (k[0] == 's' ? 0xffffu : 0xffffffffu))
                return make_error(std::string(k[0] == 's' ? "splash time" : "reboot timeout") + " is invalid");
            (k[0] == 's' ? c.boot.splash_time : c.boot.reboot_timeout) = *v;
        }
        for (const char* k : {"menu", "strict"}) {
            auto b = r.boolean(k);
            if (!b) return b.error();
            if (*b) (k[0] == 'm' ? c.boot.menu : c.boot.strict) = **b;
        }
        if (auto k = r.unused()) return make_error("Parameter 'boot." + *k + "' is unexpected");
        return ok_status();
    }
    if (name == "msg") {
        auto d = parse_keyval(arg, {"", false});
        if (!d) return d.error();
        OptReader r(d->dict);
        auto ts = r.boolean("timestamp");
        if (!ts) return ts.error();
        c.msg_timestamp = ts->value_or(false);
        auto gn = r.boolean("guest-name");
        if (!gn) return gn.error();
        return r.finish();
    }
    if (name == "overcommit") {
        auto d = parse_keyval(arg, {"", false});
        if (!d) return d.error();
        OptReader r(d->dict);
        if (auto ml = r.str("mem-lock")) {
            if (*ml == "on") return make_error("mem-lock=on is not supported");
            if (*ml != "off" && *ml != "no" && *ml != "false")
                return make_error("Parameter 'mem-lock' expects 'on' or 'off'");
        }
        auto pm = r.boolean("cpu-pm");
        if (!pm) return pm.error();
        return r.finish();
    }
    if (name == "sandbox") {
        auto d = parse_keyval(arg, {"enable", false});
        if (!d) return d.error();
        OptReader r(d->dict);
        auto en = r.boolean("enable");
        if (!en) return en.error();
        SandboxConfig sb;
        sb.enable = en->value_or(false);
        auto value = [&](const char* k, std::initializer_list<const char*> allowed) -> Result<std::string> {
            std::string v = r.str(k).value_or("");
            if (v.empty()) return std::string();
            for (const char* a : allowed)
                if (v == a) return v;
            return make_error(std::string("invalid argument for ") + k);
        };
        auto obs = value("obsolete", {"allow", "deny"});
        if (!obs) return obs.error();
        auto elev = value("elevateprivileges", {"allow", "deny", "children"});
        if (!elev) return elev.error();
        auto spawn = value("spawn", {"allow", "deny"});
        if (!spawn) return spawn.error();
        auto res = value("resourcecontrol", {"allow", "deny"});
        if (!res) return res.error();
        ARMVM_TRY(r.finish());
        if (*obs == "allow") sb.obsolete_deny = false;
        if (*elev == "deny") sb.elevate = SandboxConfig::Deny;
        if (*elev == "children") sb.elevate = SandboxConfig::Children;
        sb.spawn_deny = *spawn == "deny";
        sb.resource_deny = *res == "deny";
        c.sandbox = sb;
        return ok_status();
    }
    if (name == "add-fd") {
        auto d = parse_keyval(arg, {"", false});
        if (!d) return d.error();
        OptReader r(d->dict);
        auto fd = r.uint("fd");
        if (!fd) return fd.error();
        auto set = r.uint("set");
        if (!set) return set.error();
        (void)r.str("opaque");
        ARMVM_TRY(r.finish());
        if (!*fd) return make_error("fd option is required and must be non-negative");
        if (!*set) return make_error("set option is required and must be non-negative");
        if (**fd <= 2 || **fd > (1u << 20) || ::fcntl(static_cast<int>(**fd), F_GETFD) < 0)
            return make_error("fd is not valid or already in use");
        fdset_add(static_cast<unsigned>(**set), static_cast<int>(**fd));
        return ok_status();
    }
    if (name == "global") {
        auto eq = arg.find('=');
        auto dot = arg.find('.');
        if (eq == std::string::npos || dot == std::string::npos || dot > eq)
            return make_error("Invalid parameter '" + arg + "'");
        if (arg.compare(0, eq, "virtio-mmio.force-legacy") == 0) {
            auto b = parse_bool_value("force-legacy", Json(arg.substr(eq + 1)));
            if (!b) return b.error();
            c.virtio_mmio_force_legacy = *b;
        }
        return ok_status();
    }
    if (name == "display") {
        auto d = parse_keyval(arg, {"type", false});
        if (!d) return d.error();
        OptReader r(d->dict);
        std::string type = r.str("type").value_or("");
        if (type == "none") return r.finish();
        static const char* known[] = {"default", "gtk", "sdl", "vnc", "curses", "egl-headless",
                                      "spice-app", "dbus", "cocoa"};
        for (const char* k : known)
            if (type == k) return make_error("display '" + type + "' is not supported; use -display none");
        return make_error("Parameter 'type' does not accept value '" + type + "'");
    }
    if (name == "fw_cfg") {
        // A named fw_cfg file from a host file or a string (QEMU's rules:
        // a name and exactly one source; "opt/" names are the users').
        auto d = parse_keyval(arg, {"name", true});
        if (!d) return d.error();
        OptReader r(d->dict);
        MachineConfig::FwCfgFile f;
        f.name = r.str("name").value_or("");
        auto file = r.str("file"), str = r.str("string"), gen = r.str("gen_id");
        int sources = (file && !file->empty()) + (str && !str->empty()) + (gen && !gen->empty());
        ARMVM_TRY(r.finish());
        if (f.name.empty() || sources != 1)
            return make_error("name, plus exactly one of file, string and gen_id, are needed");
        if (f.name.size() > 55) return make_error("name too long (max. 55 char)");
        if (gen && !gen->empty()) return make_error("gen_id is not supported (no vmgenid device)");
        if (f.name.compare(0, 4, "opt/") != 0)
            report_info("-fw_cfg " + arg + ": warning: externally provided fw_cfg item names should be prefixed "
                        "with \"opt/\"");
        for (const auto& other : c.fw_cfg_files)
            if (other.name == f.name) return make_error("duplicate fw_cfg file name: " + f.name);
        f.file = file;
        f.string = str;
        f.origin = arg;
        c.fw_cfg_files.push_back(std::move(f));
        return ok_status();
    }
    if (name == "tpmdev") {
        auto d = parse_keyval(arg, {"type", true});
        if (!d) return d.error();
        OptReader r(d->dict);
        std::string type = r.str("type").value_or("");
        if (d->help || type == "help") {
            out.exit_now = true;
            out.output = "Supported TPM types (choose only one):\n passthrough   Passthrough TPM backend driver\n"
                         "    emulator   TPM emulator backend driver\n";
            return ok_status();
        }
        if (type == "passthrough") return make_error("tpm-passthrough: the host TPM is not offered by armvm; use emulator");
        if (type != "emulator") return make_error("Parameter 'type' does not accept value '" + type + "'");
        MachineConfig::Tpmdev t;
        t.id = r.str("id").value_or("");
        t.chardev = r.str("chardev").value_or("");
        t.origin = arg;
        ARMVM_TRY(r.finish());
        if (t.id.empty()) return make_error("Parameter 'id' is missing");
        if (t.chardev.empty()) return make_error("tpm-emulator: parameter 'chardev' is missing");
        if (!c.tpmdevs.empty()) return make_error("only one TPM is allowed");  // (QEMU's words, as it says them later)
        c.tpmdevs.push_back(std::move(t));
        return ok_status();
    }
    if (name == "audiodev") {
        auto d = parse_keyval(arg, {"driver", true});
        if (!d) return d.error();
        OptReader r(d->dict);
        std::string drv = r.str("driver").value_or("");
        if (r.str("id").value_or("").empty()) return make_error("Parameter 'id' is missing");
        if (drv != "none") return make_error("audio driver '" + drv + "' is not supported; use none");
        for (const char* k : {"in", "out", "timer-period"}) (void)r.raw(k);
        return r.finish();
    }
    return ok_status();
}

Status Parser::opt_simple(const std::string& name, const std::string& arg) {
    if (name == "uuid") {
        if (!valid_uuid(arg)) return make_error("failed to parse UUID string: wrong format");
        c.uuid = arg;
    } else if (name == "pidfile") {
        c.pidfile = arg;
    } else if (name == "kernel") {
        c.kernel = arg;
    } else if (name == "initrd") {
        c.initrd = arg;
    } else if (name == "append") {
        c.append = arg;
    } else if (name == "dtb") {
        c.dtb = arg;
    } else if (name == "bios") {
        c.bios = arg;
    } else if (name == "D") {
        c.log_file = arg;
    } else if (name == "d") {
        if (arg == "help" || arg.find(",help") != std::string::npos || arg.rfind("help,", 0) == 0) {
            out.exit_now = true;
            out.output = qlog::items_help();
            return ok_status();
        }
        for (size_t at = 0; at <= arg.size();) {  // (-d trace:help lists the events)
            size_t comma = arg.find(',', at);
            if (arg.substr(at, comma == std::string::npos ? std::string::npos : comma - at) == "trace:help") {
                out.exit_now = true;
                out.output = trace::names();
                return ok_status();
            }
            if (comma == std::string::npos) break;
            at = comma + 1;
        }
        auto m = qlog::parse_items(arg);
        if (!m) return m.error();
        c.log_mask |= *m;
    } else if (name == "trace") {
        // QEMU's log backend: events to the log; file= names the log (-D).
        if (arg == "help") {
            out.exit_now = true;
            out.output = trace::names();
            return ok_status();
        }
        auto t = parse_keyval(arg, {"enable", false});
        if (!t) return t.error();
        for (const auto& [key, value] : t->dict.items()) {
            std::string v = value.is_string() ? value.get<std::string>() : value.dump();
            if (key == "enable") {
                if (!trace::enable(v))
                    std::fprintf(stderr, "armvm: -trace %s: warning: trace event '%s' does not exist\n", arg.c_str(),
                                 v.c_str());
            } else if (key == "events") {
                if (std::string e; !trace::enable_from_file(v, e)) return make_error(e);
            } else if (key == "file") {
                c.log_file = v;
            } else {
                return make_error("Invalid parameter '" + key + "'");
            }
        }
    } else if (name == "dfilter") {
        c.log_filter = arg;
    } else if (name == "drive") {
        auto d = parse_keyval(arg, {"", false});
        if (!d) return d.error();
        c.block_opts.push_back({d->dict, arg, true});
    } else if (name == "blockdev") {
        auto d = parse_keyval(arg, {"", true});
        if (!d) return d.error();
        c.block_opts.push_back({d->dict, arg, false});
    }
    return ok_status();
}

Status Parser::handle(const std::string& name, const std::string& arg) {
    if (name == "machine" || name == "M") return opt_machine(arg);
    if (name == "accel") {
        auto d = parse_keyval(arg, {"accel", false});
        if (!d) return d.error();
        std::string a = OptReader(d->dict).str("accel").value_or("");
        if (d->help || a == "help") {
            out.exit_now = true;
            out.output = accel_help();
            return ok_status();
        }
        OptReader r(d->dict);
        (void)r.str("accel");
        if (!is_accel_name(a)) return make_error("invalid accelerator " + a);
        if (auto t = r.str("thread")) {
            if (*t != "single" && *t != "multi") return make_error("Invalid 'thread' setting " + *t);
            if (a != "tcg") return make_error("Property '" + a + "-accel.thread' not found");
            c.tcg_thread = *t;
        }
        ARMVM_TRY(r.finish(std::string("Property '") + a + "-accel.%s' not found"));
        accel_opts.push_back(a);
        if (c.accel_origin.empty()) c.accel_origin = "-accel " + arg;  // (the first is tried first)
        return ok_status();
    }
    if (name == "enable-kvm") {
        enable_kvm = true;
        return ok_status();
    }
    if (name == "cpu") return opt_cpu(arg);
    if (name == "smp") return opt_smp(arg);
    if (name == "m") return opt_m(arg);
    if (name == "name") return opt_name(arg);
    if (name == "S") { c.start_paused = true; return ok_status(); }
    if (name == "s") { c.gdb = "tcp::1234"; return ok_status(); }
    if (name == "semihosting") { c.semihosting.enabled = true; return ok_status(); }
    if (name == "semihosting-config") return opt_semihosting_config(arg);
    if (name == "gdb") { c.gdb = arg; return ok_status(); }
    if (name == "daemonize") { c.daemonize = true; return ok_status(); }
    if (name == "no-shutdown") { c.no_shutdown = true; return ok_status(); }
    if (name == "snapshot") { c.snapshot = true; return ok_status(); }
    if (name == "no-reboot") { c.no_reboot = true; return ok_status(); }
    if (name == "nographic") { out.nographic = true; return ok_status(); }
    if (name == "nodefaults") { out.nodefaults = true; return ok_status(); }
    if (name == "no-acpi") { c.acpi = false; return ok_status(); }
    if (name == "no-user-config") return ok_status();
    if (name == "qmp") return opt_qmp(arg, false);
    if (name == "qmp-pretty") return opt_qmp(arg, true);
    if (name == "mon") return opt_mon(arg);
    if (name == "monitor") {
        c.monitor_given = true;
        if (arg == "none") return ok_status();
        return opt_monitor(arg);
    }
    if (name == "chardev") {
        auto ch = parse_chardev(arg);
        if (!ch) return ch.error();
        for (const auto& other : c.chardevs)
            if (other.id == ch->id) return make_error("attempt to add duplicate property '" + ch->id + "' to object");
        c.chardevs.push_back(*ch);
        return ok_status();
    }
    if (name == "serial") return opt_serial(arg);
    if (name == "parallel") return opt_parallel(arg);
    if (name == "object") return opt_object(arg);
    if (name == "device") return opt_device(arg);
    if (name == "netdev") return opt_netdev(arg);
    if (name == "nic") return opt_nic(arg);
    if (name == "net") return opt_net(arg);
    if (name == "hda" || name == "hdb" || name == "hdc" || name == "hdd" || name == "cdrom") {
        // QEMU's shorthands for -drive file=FILE,index=N,media=disk|cdrom on
        // the board's default interface (virtio on virt).
        Json o = Json::object();
        o["file"] = arg;
        o["index"] = std::to_string(name == "cdrom" ? 2 : name[2] - 'a');
        o["media"] = name == "cdrom" ? "cdrom" : "disk";
        c.block_opts.push_back({o, "file=" + arg + ",index=" + o["index"].get<std::string>() + ",media=" +
                                       o["media"].get<std::string>(), true});
        return ok_status();
    }
    if (name == "pflash") {  // QEMU's shorthand for -drive if=pflash,file=FILE
        c.block_opts.push_back({Json{{"file", arg}, {"if", "pflash"}}, "if=pflash,file=" + arg, true});
        return ok_status();
    }
    if (name == "rtc" || name == "boot" || name == "msg" || name == "overcommit" || name == "sandbox" ||
        name == "add-fd" || name == "global" || name == "display" || name == "audiodev" || name == "fw_cfg" ||
        name == "tpmdev")
        return opt_misc_keyval(name, arg);
    return opt_simple(name, arg);
}

Status Parser::finish() {
    // -net: a NIC with netdev= uses that -netdev; the others each take the
    // next -net user|tap backend.
    size_t next_backend = 0;
    for (size_t i = 0; i < net_nics_.size(); ++i) {
        const Json& nic = net_nics_[i].first;
        if (nic.contains("netdev") && nic["netdev"].is_string()) {
            ARMVM_TRY(add_nic(nic["netdev"].get<std::string>(), nic, net_nics_[i].second));
            continue;
        }
        if (next_backend >= net_backends_.size()) {
            // (QEMU connects it to nothing and warns; armvm needs a backend)
            return make_error("-net " + net_nics_[i].second + ": the NIC has no -net user or -net tap backend");
        }
        Json backend = net_backends_[next_backend].first;
        std::string id = "__org.qemu.net" + std::to_string(next_backend);
        backend["id"] = id;
        backend.erase("name");
        c.netdevs.push_back(backend);
        c.netdev_origins.push_back(net_backends_[next_backend].second);
        ++next_backend;
        ARMVM_TRY(add_nic(id, nic, net_nics_[i].second));
    }
    // QEMU's default NIC: without -nodefaults and any -nic/-net/-netdev,
    // the virt board gets "-net nic -net user" (a virtio-net-pci on slirp).
    OptReader tr(machine_dict);
    if (!out.nodefaults && !any_net_ && tr.str("type").value_or("") == "virt" && SlirpNet::available()) {
        Json backend = {{"type", "user"}, {"id", "__org.qemu.net0"}};
        c.netdevs.push_back(backend);
        c.netdev_origins.push_back("user");
        ARMVM_TRY(add_nic("__org.qemu.net0", Json::object(), "nic"));
    }
    // The board makes the NICs of -nic/-net before the -device devices.
    std::stable_partition(c.devices.begin(), c.devices.end(), [](const DeviceConfig& d) { return d.board_nic; });
    // Accelerators: -accel (repeatable), -enable-kvm, or -machine accel=.
    OptReader mr(machine_dict);
    auto macc = mr.str("accel");
    if (macc && (!accel_opts.empty() || enable_kvm))
        return make_error("The -accel and \"-machine accel=\" options are incompatible");
    if (enable_kvm) {
        accel_opts.insert(accel_opts.begin(), "kvm");
        if (c.accel_origin.empty()) c.accel_origin = "-enable-kvm";
    }
    if (macc) {
        std::stringstream ss(*macc);
        std::string a;
        while (std::getline(ss, a, ':')) {
            if (!is_accel_name(a))
                return make_error("-machine " + machine_accel_origin + ": invalid accelerator " + a);
            accel_opts.push_back(a);
        }
        c.accel_origin = "-machine " + machine_accel_origin;
    }
    c.accels = accel_opts;
    c.machine_props = machine_dict;
    c.nographic = out.nographic;
    c.nodefaults = out.nodefaults;
    return ok_status();
}

}  // namespace

// The first word that is not an option armvm knows (for Boost errors that
// do not name it safely).
std::string first_invalid_token(const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string name = a.rfind("--", 0) == 0 ? a.substr(2) : a.rfind('-', 0) == 0 ? a.substr(1) : "";
        const OptionInfo* info = nullptr;
        for (const auto& o : option_table())
            if (name == o.name) info = &o;
        if (!info) return a;
        if (info->has_arg) ++i;
    }
    return args.empty() ? "" : args.front();
}

Result<CliOutcome> parse_command_line(const std::vector<std::string>& args) {
    po::options_description desc;
    for (const auto& o : option_table()) {
        if (o.has_arg)
            desc.add_options()(o.name, po::value<std::vector<std::string>>());
        else
            desc.add_options()(o.name, po::bool_switch());
    }
    // QEMU's style: single-dash long options (or double-dash), the argument
    // as the next word, no abbreviations.
    const int style = po::command_line_style::allow_long | po::command_line_style::long_allow_next |
                      po::command_line_style::allow_long_disguise;
    po::parsed_options parsed(&desc);
    try {
        parsed = po::command_line_parser(args).options(desc).style(style).run();
    } catch (const po::invalid_command_line_syntax& e) {
        // get_option_name() is a plain lookup. (Never call what() on a Boost
        // error: with a "%original_token%" in the input, Boost 1.74's
        // placeholder substitution loops for ever. Found by fuzz_keyval.)
        std::string opt = e.get_option_name();
        if (opt.size() > 1 && opt[0] == '-' && opt[1] == '-') opt = opt.substr(1);
        if (e.kind() == po::invalid_command_line_syntax::missing_parameter)
            return make_error(opt + ": requires an argument");
        return make_error(opt + ": invalid option");
    } catch (const po::error&) {
        return make_error(first_invalid_token(args) + ": invalid option");
    }

    Parser p;
    for (const auto& o : parsed.options) {
        if (o.position_key >= 0 || o.unregistered) {
            std::string word = o.original_tokens.empty() ? "" : o.original_tokens.front();
            if (!word.empty() && word[0] == '-') return make_error(word + ": invalid option");
            return make_error(word + ": disk images on the command line are not supported; use -drive");
        }
        const std::string& name = o.string_key;
        if (name == "version") {
            p.out.exit_now = true;
            p.out.output = version_text();
            return p.out;
        }
        if (name == "help" || name == "h") {
            p.out.exit_now = true;
            p.out.output = usage_text();
            return p.out;
        }
        std::string arg = o.value.empty() ? "" : o.value.front();
        auto st = p.handle(name, arg);
        if (!st) {
            std::string shown = (name == "M") ? "machine" : name;
            return p.err(shown, arg, st.error());
        }
        if (p.out.exit_now) return p.out;
    }
    auto st = p.finish();
    if (!st) return st.error();
    return p.out;
}

}  // namespace armvm
