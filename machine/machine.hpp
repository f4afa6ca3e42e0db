// The Machine owns everything on a VM's path (DESIGN.md): configuration,
// the accelerator choice, guest RAM, chardevs, monitors and run state. No
// globals: two machines can live in one process.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/event_loop.hpp"
#include "base/json.hpp"
#include "base/result.hpp"
#include "machine/config.hpp"
#include "machine/registry.hpp"

namespace armvm {

class Chardev;
class GuestRam;
namespace virt {
class Board;
}
class QmpMonitor;
class HmpMonitor;
class GdbStub;

// QEMU's RunState names, as query-status reports them.
enum class RunState { Prelaunch, Running, Paused, Shutdown, Debug };
const char* run_state_name(RunState s);

class Machine {
public:
    // Builds the machine: chooses the accelerator, allocates RAM, opens
    // chardevs (monitor sockets listen when this returns) and monitors.
    static Result<std::unique_ptr<Machine>> create(MachineConfig cfg, EventLoop& loop);
    ~Machine();
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    const MachineConfig& config() const { return cfg_; }
    const MachineType& type() const { return *type_; }
    const std::string& accel() const { return accel_; }
    bool kvm_enabled() const { return accel_ == "kvm"; }
    RunState state() const { return state_; }
    bool running() const { return state_ == RunState::Running; }
    const std::vector<std::unique_ptr<Chardev>>& chardevs() const { return chardevs_; }
    // The guest's device tree blob (virt).
    const std::vector<uint8_t>& fdt() const { return fdt_; }
    // -machine dumpdtb=FILE: the tree was written; the run ends here.
    bool dumped_dtb() const { return dumped_dtb_; }

    // Leaves prelaunch/paused for running (RESUME event).
    Status cont();
    // Starts the guest unless -S was given (after the monitors listen).
    void autostart();
    // Resets every device and CPU once (RESET event), keeping the run state.
    Status system_reset(bool guest, const std::string& reason);
    // QMP system_powerdown: the POWERDOWN event and the board's power
    // button (the guest decides what to do with it).
    void system_powerdown();
    // PSCI SYSTEM_OFF / SYSTEM_RESET, delivered on the main loop.
    void guest_shutdown(const std::string& reason);
    void guest_reset();
    virt::Board* board() const { return board_.get(); }
    // Pauses (STOP event).
    Status stop();
    // The gdbstub: runs only the CPUs marked (RESUME event; "running").
    Status debug_resume(const std::vector<bool>& cpus);
    // A vCPU stopped for the debugger: the VM stops (run state "debug",
    // STOP event) and the gdbstub reports it. Main loop.
    void debug_stopped(unsigned cpu);
    // HMP gdbserver / -gdb / -s: the gdbstub on a chardev spec ("tcp::1234"
    // listens without waiting, as QEMU's), "none" takes it away. Returns
    // what HMP prints.
    Result<std::string> gdbserver(const std::string& device);
    // Ends the process at once, "armvm: MSG" on stderr (gdb's kill).
    void terminate(const std::string& msg);
    // The process's exit status when the run ends (semihosting's SYS_EXIT).
    int exit_status() const { return exit_status_; }
    // Ends the process after the current monitor input is answered:
    // SHUTDOWN {"guest": guest, "reason": reason}.
    void request_quit(bool guest, const std::string& reason);
    bool quit_requested() const { return quit_requested_; }
    void after_monitor_input();

    // Migration capabilities as set by migrate-set-capabilities (armvm
    // does not migrate; libvirt requires "events" to be settable).
    std::map<std::string, bool> migration_caps = {{"events", false}};
    // The human monitors' default x/xp/print format and unit size (the last
    // given: QEMU keeps one for all its monitors).
    struct {
        char format = 'x';
        int size = 4;
    } hmp_format;

    // Broadcast to every negotiated QMP client, with QEMU's timestamp.
    void emit_event(const std::string& name, const Json& data = Json());

private:
    Machine(MachineConfig cfg, EventLoop& loop);
    Status choose_accel();
    Status build();
    Status build_virt();
    Chardev* find_chardev(const std::string& id) const;

    MachineConfig cfg_;
    EventLoop& loop_;
    const MachineType* type_ = nullptr;
    std::string accel_;
    RunState state_ = RunState::Prelaunch;
    bool quit_requested_ = false;
    int exit_status_ = 0;
    Json quit_event_;
    std::unique_ptr<GuestRam> ram_;
    std::vector<uint8_t> fdt_;
    bool dumped_dtb_ = false;
    std::vector<std::unique_ptr<Chardev>> chardevs_;
    std::vector<std::unique_ptr<QmpMonitor>> monitors_;
    std::vector<std::unique_ptr<HmpMonitor>> hmp_monitors_;  // -monitor, -mon mode=readline
    Chardev* default_mux_ = nullptr;  // -nographic's terminal for the default monitor (shared with the serial port: a mux)
    std::unique_ptr<virt::Board> board_;
    Chardev* gdb_chardev_ = nullptr;  // (in chardevs_)
    std::unique_ptr<GdbStub> gdb_;
    // A replaced gdbstub and its chardev, freed by a posted task (the
    // replacement may come from inside them).
    std::vector<std::unique_ptr<GdbStub>> retired_gdb_;
    std::vector<std::unique_ptr<Chardev>> retired_chardevs_;
};

}  // namespace armvm
