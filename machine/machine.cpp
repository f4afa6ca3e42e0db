#include "machine/machine.hpp"

#include <sys/time.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "accel/accelerator.hpp"
#include "accel/kvm/arm64.hpp"
#include "base/log.hpp"
#include "base/report.hpp"
#include "cpu-arm64/models.hpp"
#include "hw/char/chardev.hpp"
#include "hw/char/chardev_opts.hpp"
#include "machine/ram.hpp"
#include "machine/virt/board.hpp"
#include "machine/virt/fdt.hpp"
#include "machine/virt/memmap.hpp"
#include "monitor/gdbstub.hpp"
#include "monitor/hmp_server.hpp"
#include "monitor/qmp_server.hpp"

namespace armvm {

const char* run_state_name(RunState s) {
    switch (s) {
    case RunState::Prelaunch: return "prelaunch";
    case RunState::Running: return "running";
    case RunState::Paused: return "paused";
    case RunState::Shutdown: return "shutdown";
    case RunState::Debug: return "debug";
    }
    return "debug";
}

Machine::Machine(MachineConfig cfg, EventLoop& loop) : cfg_(std::move(cfg)), loop_(loop) {}

Machine::~Machine() {
    if (board_ && std::getenv("ARMVM_STATS")) {
        // For benchmarks (scripts/bench-cpu): how much guest code ran.
        uint64_t n = board_->guest_insns();
        if (board_->kvm())
            report_info("stats: first KVM_RUN at " + std::to_string(kvm::first_run_ns()) + " ns");
        else
            report_info("stats: " + std::to_string(n) + " guest instructions");
        auto io = board_->io_stats();
        report_info("stats: " + std::to_string(io.ioevent_kicks) + " doorbell kicks through eventfds (" +
                    std::to_string(io.ioevent_bus_writes) + " signalled by armvm), " + std::to_string(io.mmio_exits) +
                    " KVM MMIO exits");
    }
    gdb_.reset();  // (a connected gdb hears that the VM is gone)
    retired_gdb_.clear();
    retired_chardevs_.clear();
    board_.reset();  // joins the vCPU threads (the BQL is held)
    monitors_.clear();
    hmp_monitors_.clear();
    chardevs_.clear();
}

Result<std::unique_ptr<Machine>> Machine::create(MachineConfig cfg, EventLoop& loop) {
    std::unique_ptr<Machine> m(new Machine(std::move(cfg), loop));
    m->type_ = find_machine_type(m->cfg_.machine_type);
    if (!m->type_) return make_error("unsupported machine type '" + m->cfg_.machine_type + "'");
    ARMVM_TRY(m->choose_accel());
    ARMVM_TRY(m->build());
    return m;
}

Status Machine::choose_accel() {
    const auto& list = cfg_.accels;
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string& a = list[i];
        Status st = ok_status();
        if (a == "kvm") st = kvm_arm64_available();
        if (st) {
            accel_ = a;
            break;
        }
        if (i + 1 == list.size())
            return make_error((cfg_.accel_origin.empty() ? "" : cfg_.accel_origin + ": ") + st.error().msg);
        report_info((cfg_.accel_origin.empty() ? "" : cfg_.accel_origin + ": ") + st.error().msg);
        report_info("falling back to " + list[i + 1]);
    }
    if (const CpuModel* cpu = find_cpu_model(cfg_.cpu.model); cpu && cpu->needs_kvm && accel_ != "kvm")
        return make_error("-cpu " + cfg_.cpu.origin + ": The CPU type '" + cpu->name + "' requires KVM");
    // SVE: KVM's, where the host has it; armvm's TCG implements none, so
    // only "max" takes sve=off there (QEMU's other models have no such
    // property).
    if (cfg_.cpu.sve && accel_ != "kvm") {
        if (cfg_.cpu.model != "max")
            return make_error("-cpu " + cfg_.cpu.origin + ": Property '" + cfg_.cpu.model +
                              "-arm-cpu.sve' not found");
        if (*cfg_.cpu.sve) return make_error("-cpu " + cfg_.cpu.origin + ": 'sve' feature not supported by TCG");
    }
    // Pointer authentication and LPA2: max's properties on TCG (QEMU also
    // has "pauth" on a KVM max/host, which armvm's KVM vCPU does not enable).
    for (auto [set, name] : {std::pair{cfg_.cpu.pauth.has_value(), "pauth"},
                             std::pair{cfg_.cpu.pauth_impdef.has_value(), "pauth-impdef"},
                             std::pair{cfg_.cpu.lpa2.has_value(), "lpa2"}})
        if (set && (cfg_.cpu.model != "max" || accel_ == "kvm"))
            return make_error("-cpu " + cfg_.cpu.origin + ": Property '" + cfg_.cpu.model + "-arm-cpu." + name +
                              "' not found");
    // SVE vector lengths and SME: max's properties (QEMU 7.2's max has
    // both extensions, armvm's TCG neither: off is what the CPU is).
    for (const auto& [name, on] : cfg_.cpu.vector_props) {
        if (cfg_.cpu.model != "max" || accel_ == "kvm")
            return make_error("-cpu " + cfg_.cpu.origin + ": Property '" + cfg_.cpu.model + "-arm-cpu." + name +
                              "' not found");
        if (!on) continue;
        if (name.starts_with("sve"))  // (QEMU's words with sve=off)
            return make_error("-cpu " + cfg_.cpu.origin + ": cannot enable " + name +
                              "\nSVE must be enabled to enable vector lengths.\nAdd sve=on to the CPU property list.");
        return make_error("-cpu " + cfg_.cpu.origin + ": '" + (name.starts_with("sme_") ? name : std::string("sme")) +
                          "' feature not supported by TCG");
    }
    if (cfg_.cpu.pauth_impdef.value_or(false) && !cfg_.cpu.pauth.value_or(true))
        return make_error("-cpu " + cfg_.cpu.origin + ": cannot enable pauth-impdef without pauth");
    // The KVM properties exist only on a KVM vCPU (as in QEMU).
    for (auto [set, name] : {std::pair{cfg_.cpu.kvm_no_adjvtime.has_value(), "kvm-no-adjvtime"},
                             std::pair{cfg_.cpu.kvm_steal_time.has_value(), "kvm-steal-time"}})
        if (set && accel_ != "kvm")
            return make_error("-cpu " + cfg_.cpu.origin + ": Property '" + cfg_.cpu.model + "-arm-cpu." + name +
                              "' not found");
    return ok_status();
}

Status Machine::build() {
    for (const auto& cc : cfg_.chardevs) {
        // (a -tpmdev emulator's chardev is swtpm's control socket: the TPM
        // backend connects to it itself)
        if (std::any_of(cfg_.tpmdevs.begin(), cfg_.tpmdevs.end(), [&](const auto& t) { return t.chardev == cc.id; }))
            continue;
        auto ch = Chardev::create(cc, loop_, [this] {
            request_quit(false, "host-ui");
            after_monitor_input();
        });
        if (!ch) return ch.error();
        chardevs_.push_back(std::move(ch.value()));
    }
    if (type_->runs_cpus) ARMVM_TRY(build_virt());
    if (dumped_dtb_) return ok_status();
    for (const auto& mc : cfg_.monitors) {
        Chardev* ch = find_chardev(mc.chardev);
        if (!ch) return make_error("-mon " + mc.origin + ": chardev \"" + mc.chardev + "\" not found");
        if (ch->frontend_attached())
            return make_error("-mon " + mc.origin + ": chardev \"" + mc.chardev + "\" is already in use");
        if (mc.control)
            monitors_.push_back(std::make_unique<QmpMonitor>(*this, *ch, mc));
        else
            hmp_monitors_.push_back(std::make_unique<HmpMonitor>(*this, *ch, mc));
    }
    if (default_mux_) {  // -nographic's human monitor, on the terminal with the serial port
        MonitorConfig mc{"compat_monitor0", default_mux_->id(), false, false, "-nographic"};
        hmp_monitors_.push_back(std::make_unique<HmpMonitor>(*this, *default_mux_, mc));
    }
    for (auto& mon : monitors_) mon->start();
    for (auto& mon : hmp_monitors_) mon->start();
    if (cfg_.gdb) {
        auto r = gdbserver(*cfg_.gdb);
        if (!r) return make_error("-gdb " + *cfg_.gdb + ": " + r.error().msg);
    }
    return ok_status();
}

Chardev* Machine::find_chardev(const std::string& id) const {
    for (auto& c : chardevs_)
        if (c->id() == id) return c.get();
    return nullptr;
}

Status Machine::build_virt() {
    const ObjectConfig* backend = nullptr;
    for (const auto& o : cfg_.objects)
        if (cfg_.memory_backend && o.id == *cfg_.memory_backend) backend = &o;
    auto ram = GuestRam::create(cfg_.memory.size, backend);
    if (!ram) return ram.error();
    ram_ = std::move(ram.value());
    for (const auto* f : {&cfg_.initrd, &cfg_.dtb, &cfg_.bios}) {
        if (!*f) continue;
        int fd = ::open((*f)->c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (f == &cfg_.bios) return make_error("Could not find ROM image '" + **f + "'");  // (QEMU's words)
            const char* what = f == &cfg_.initrd ? "initrd" : "dtb";
            return make_error(std::string("-") + what + " " + **f + ": could not load " + what + " '" + **f +
                              "': " + std::strerror(errno));
        }
        ::close(fd);
    }
    // -d ITEMS [-D FILE] [-dfilter RANGES]: QEMU's logging.
    if (cfg_.log_filter) {
        if (Status st = qlog::set_filter(*cfg_.log_filter); !st) return make_error("-dfilter " + *cfg_.log_filter + ": " + st.error().msg);
    }
    if (cfg_.log_mask || cfg_.log_file) {
        if (Status st = qlog::configure(cfg_.log_mask, cfg_.log_file.value_or("")); !st)
            return make_error("-D " + cfg_.log_file.value_or("") + ": Error opening logfile " +
                              cfg_.log_file.value_or("") + ": " + st.error().msg);
    }
    // With KVM the host decides what the guest can have (its GIC, a safe
    // PMU) before the tree describes it.
    std::unique_ptr<kvm::ArmVm> arm_kvm;
    Result<unsigned> gic = 0u;
    if (kvm_enabled()) {  // (dumpdtb too: the tree shows what the host allows)
        kvm::ArmVmConfig kc;
        kc.cpus = cfg_.smp.cpus;
        kc.gic = cfg_.gic_version;
        kc.pmu = cfg_.cpu.pmu;
        kc.cpu_model = cfg_.cpu.model;
        kc.machine_origin = cfg_.machine_origin.empty() ? "virt" : cfg_.machine_origin;
        kc.cpu_origin = cfg_.cpu.origin.empty() ? cfg_.cpu.model : cfg_.cpu.origin;
        kc.gic_dist = virt::base(virt::Region::GicDist);
        kc.gic_cpu = virt::base(virt::Region::GicCpu);
        kc.gic_redist = virt::base(virt::Region::GicRedist);
        kc.pmu_intid = 16 + virt::kPpiPmu;
        kc.no_adjvtime = cfg_.cpu.kvm_no_adjvtime.value_or(false);
        kc.steal_time = cfg_.cpu.kvm_steal_time;
        kc.sve = cfg_.cpu.sve;
        kc.pvtime_base = virt::base(virt::Region::PvTime);
        kc.pvtime_size = virt::size(virt::Region::PvTime);
        kc.gic_its = cfg_.its ? virt::base(virt::Region::GicIts) : 0;
        auto a = kvm::ArmVm::create(kc);
        if (!a) return a.error();
        arm_kvm = std::move(a.value());
        for (const auto& n : arm_kvm->notes()) report_warning(n);
        gic = arm_kvm->gic_version();
        cfg_.cpu.pmu = arm_kvm->pmu();  // the tree, and QMP, say what the guest has
        cfg_.cpu.kvm_steal_time = arm_kvm->steal_time();
        cfg_.cpu.kvm_no_adjvtime = kc.no_adjvtime;
        if (arm_kvm->sve_supported()) cfg_.cpu.sve = arm_kvm->sve();
        cfg_.its = cfg_.its && arm_kvm->has_its();  // (the tree shows the ITS the kernel made)
    } else {
        gic = virt::resolve_gic_version(cfg_, kvm_enabled());
    }
    if (!gic) return gic.error();
    auto fdt = virt::build_fdt(cfg_, *gic, kvm_enabled());
    if (!fdt) return fdt.error();
    if (cfg_.dumpdtb) {
        // As QEMU: write the tree and end the run (main() exits 0).
        FILE* f = std::fopen(cfg_.dumpdtb->c_str(), "wb");
        if (!f || std::fwrite(fdt->data(), 1, fdt->size(), f) != fdt->size() || std::fclose(f) != 0) {
            if (f) std::fclose(f);
            return make_error("-machine " + cfg_.machine_origin + ": cannot write '" + *cfg_.dumpdtb +
                              "': " + std::strerror(errno));
        }
        dumped_dtb_ = true;
        return ok_status();
    }
    // The UART's backend: -serial, or the terminal with -nographic (QEMU's
    // default serial), or nothing.
    Chardev* serial = nullptr;
    if (cfg_.nographic && !cfg_.nodefaults && !cfg_.parallel_given) {
        // (QEMU's -nographic: the default parallel port on null; virt has
        // no port, the chardev is all there is)
        ChardevConfig cc;
        cc.id = "parallel0";
        cc.backend = "null";
        cc.origin = "-nographic";
        cc.option = "nographic";
        auto ch = Chardev::create(cc, loop_);
        if (!ch) return ch.error();
        chardevs_.push_back(std::move(ch.value()));
    }
    if (!cfg_.serials.empty()) {
        serial = find_chardev(cfg_.serials.front());
    } else if (cfg_.nographic && !cfg_.nodefaults && (!cfg_.serial_given || !cfg_.monitor_given)) {
        // The terminal: QEMU's mon:stdio (the serial port and the monitor,
        // C-a c between them), or the one of the two not given elsewhere.
        bool to_serial = !cfg_.serial_given;
        ChardevConfig cc;
        cc.id = to_serial ? "serial0" : "compat_monitor0";
        cc.backend = "stdio";
        cc.origin = "-nographic";
        cc.option = "nographic";
        cc.mux = to_serial && !cfg_.monitor_given;
        auto ch = Chardev::create(cc, loop_, [this] {
            request_quit(false, "host-ui");
            after_monitor_input();
        });
        if (!ch) return ch.error();
        chardevs_.push_back(std::move(ch.value()));
        if (to_serial) serial = chardevs_.back().get();
        if (cc.mux || !to_serial) default_mux_ = chardevs_.back().get();  // (the monitor's)
    }
    virt::Board::Hooks hooks;
    hooks.system_off = [this] { loop_.post([this] { guest_shutdown("guest-shutdown"); }); };
    hooks.system_reset = [this] { loop_.post([this] { guest_reset(); }); };
    hooks.find_chardev = [this](const std::string& id) { return find_chardev(id); };
    hooks.balloon_change = [this](uint64_t actual) {
        loop_.post([this, actual] { emit_event("BALLOON_CHANGE", Json{{"actual", actual}}); });
    };
    hooks.debug_stop = [this](unsigned cpu) { loop_.post([this, cpu] { debug_stopped(cpu); }); };
    hooks.semihost_exit = [this](int status) {
        loop_.post([this, status] {
            // (as QEMU: the guest's status is armvm's, no SHUTDOWN event)
            exit_status_ = status;
            quit_requested_ = true;
            quit_event_ = Json();
            loop_.stop();
        });
    };
    hooks.vserport_change = [this](const std::string& id, bool open) {
        loop_.post([this, id, open] { emit_event("VSERPORT_CHANGE", Json{{"id", id}, {"open", open}}); });
    };
    hooks.device_deleted = [this](const std::string& id, const std::string& path) {
        Json data = Json::object();
        if (!id.empty()) data["device"] = id;
        data["path"] = path;
        loop_.post([this, data] { emit_event("DEVICE_DELETED", data); });
    };
    hooks.vcpu_failed = [this](unsigned i, const std::string& why) {
        loop_.post([this, i, why] {
            // As QEMU on a KVM internal error: say why and stop the VM.
            report_info("vCPU " + std::to_string(i) + ": " + why);
            (void)stop();
        });
    };
    auto board = virt::Board::create(cfg_, *gic, *ram_, loop_, serial, std::move(fdt.value()), std::move(hooks),
                                     std::move(arm_kvm));
    if (!board) return board.error();
    board_ = std::move(board.value());
    return ok_status();
}

void Machine::autostart() {
    if (!cfg_.start_paused && !dumped_dtb_) (void)cont();
}

Status Machine::cont() {
    if (state_ == RunState::Running) return ok_status();
    if (state_ == RunState::Shutdown) return make_error("Resetting the Virtual Machine is required");
    state_ = RunState::Running;
    if (board_) board_->resume();
    emit_event("RESUME");
    return ok_status();
}

Status Machine::stop() {
    if (state_ == RunState::Running) {
        if (board_) board_->pause();
        state_ = RunState::Paused;
        emit_event("STOP");
        if (gdb_) gdb_->vm_stopped(-1, false);
    }
    return ok_status();
}

Status Machine::debug_resume(const std::vector<bool>& cpus) {
    if (state_ == RunState::Shutdown) return make_error("Resetting the Virtual Machine is required");
    if (!board_) return make_error("no CPUs to run");
    if (state_ == RunState::Running) board_->pause();  // (only the CPUs asked for run on)
    else emit_event("RESUME");
    state_ = RunState::Running;
    board_->resume_cpus(cpus);
    return ok_status();
}

void Machine::debug_stopped(unsigned cpu) {
    if (state_ == RunState::Running) {
        board_->pause();
        state_ = RunState::Debug;
        emit_event("STOP");
    }
    if (gdb_) gdb_->vm_stopped(static_cast<int>(cpu), true);
}

Result<std::string> Machine::gdbserver(const std::string& device) {
    if (!board_) return make_error("this machine has no CPUs to debug");
    // The old stub and its chardev go at the next turn of the loop: this
    // may be running inside them (gdb's `monitor gdbserver none`).
    if (gdb_) {
        retired_gdb_.push_back(std::move(gdb_));
        auto it = std::find_if(chardevs_.begin(), chardevs_.end(), [&](const auto& c) { return c.get() == gdb_chardev_; });
        retired_chardevs_.push_back(std::move(*it));
        chardevs_.erase(it);
        gdb_chardev_ = nullptr;
        loop_.post([this] {
            retired_gdb_.clear();  // (the stubs first: they detach from their chardevs)
            retired_chardevs_.clear();
        });
    }
    if (device == "none") return std::string("Disabled gdbserver\r\n");
    // "tcp:..." listens at once without waiting for the debugger (QEMU
    // adds server=on,wait=off); any other chardev spec is taken as written.
    std::string spec = device;
    if (spec.rfind("tcp:", 0) == 0) spec += ",server=on,wait=off";
    auto cc = parse_chardev_compat(spec, "gdb");
    if (!cc) return cc.error();
    auto ch = Chardev::create(*cc, loop_);
    if (!ch) return ch.error();
    gdb_chardev_ = ch->get();
    chardevs_.push_back(std::move(ch.value()));  // (query-chardev lists it as "gdb")
    gdb_ = std::make_unique<GdbStub>(*this, *gdb_chardev_);
    gdb_->start();
    return "Waiting for gdb connection on device '" + device + "'\r\n";
}

void Machine::terminate(const std::string& msg) {
    report_info(msg);
    quit_requested_ = true;
    quit_event_ = Json();
    loop_.stop();
}

Status Machine::system_reset(bool guest, const std::string& reason) {
    if (board_) {
        board_->pause();
        ARMVM_TRY(board_->reset());
    }
    emit_event("RESET", Json{{"guest", guest}, {"reason", reason}});
    if (state_ == RunState::Shutdown) state_ = RunState::Paused;
    if (state_ == RunState::Running && board_) board_->resume();
    return ok_status();
}

void Machine::guest_shutdown(const std::string& reason) {
    if (cfg_.no_shutdown) {
        // -no-shutdown: stay alive, paused, until the user decides.
        if (board_) board_->pause();
        bool was_running = state_ == RunState::Running;
        state_ = RunState::Shutdown;
        emit_event("SHUTDOWN", Json{{"guest", true}, {"reason", reason}});
        if (was_running) emit_event("STOP");
        return;
    }
    request_quit(true, reason);
    after_monitor_input();
}

void Machine::system_powerdown() {
    emit_event("POWERDOWN");
    if (board_) board_->press_power_button();
}

void Machine::guest_reset() {
    if (cfg_.no_reboot) return guest_shutdown("guest-reset");
    (void)system_reset(true, "guest-reset");
}

void Machine::request_quit(bool guest, const std::string& reason) {
    if (quit_requested_) return;
    quit_requested_ = true;
    quit_event_ = Json{{"guest", guest}, {"reason", reason}};
    if (reason == "host-signal") after_monitor_input();
}

void Machine::after_monitor_input() {
    // As in QEMU, the SHUTDOWN event follows the reply to "quit".
    if (!quit_requested_) return;
    if (!quit_event_.is_null()) emit_event("SHUTDOWN", quit_event_);
    quit_event_ = Json();
    loop_.stop();
}

void Machine::emit_event(const std::string& name, const Json& data) {
    timeval tv;
    gettimeofday(&tv, nullptr);
    Json ev = {{"timestamp", {{"seconds", static_cast<int64_t>(tv.tv_sec)},
                              {"microseconds", static_cast<int64_t>(tv.tv_usec)}}},
               {"event", name}};
    if (!data.is_null()) ev["data"] = data;
    for (auto& m : monitors_) m->send_event(ev);
}

}  // namespace armvm
