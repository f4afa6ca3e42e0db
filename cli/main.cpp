// armvm's entry point (QEMU's "vl"): argv -> options -> validated config ->
// daemonize (still single-threaded) -> pidfile -> machine -> ready -> loop.
// Only this file prints errors and chooses the exit status.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <iostream>

#include "base/event_loop.hpp"
#include "base/fault.hpp"
#include "base/report.hpp"
#include "cli/daemonize.hpp"
#include "cli/sandbox.hpp"
#include "cli/options.hpp"
#include "cli/pidfile.hpp"
#include "machine/machine.hpp"
#include "machine/validate.hpp"

using namespace armvm;

namespace {

int fail_startup(DaemonHandshake& hs, const std::string& msg) {
    std::string line = "armvm: " + msg;
    if (hs.active())
        hs.fail(line);  // the waiting parent prints it and exits 1
    else
        std::fprintf(stderr, "%s\n", line.c_str());
    return 1;
}

int run(const MachineConfig& config, DaemonHandshake& hs) {
    if (fault_point("daemon-die-before-ready")) ::raise(SIGKILL);

    // Termination signals arrive through the main loop (signalfd); the mask
    // is inherited by every thread created later.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) return fail_startup(hs, std::string("signalfd: ") + std::strerror(errno));

    std::unique_ptr<Pidfile> pidfile;
    if (config.pidfile) {
        auto p = Pidfile::create(*config.pidfile);
        if (!p) return fail_startup(hs, p.error().msg);
        pidfile = std::move(p.value());
    }
    if (fault_point("fail-after-pidfile")) return fail_startup(hs, "injected failure after the pidfile");

    // -sandbox: before the machine, its threads and the guest exist.
    if (auto st = apply_sandbox(config.sandbox); !st) return fail_startup(hs, st.error().msg);

    auto loop = EventLoop::create();
    if (!loop) return fail_startup(hs, loop.error().msg);
    // The machine lock: this thread holds it except while the loop waits.
    std::unique_lock<std::mutex> bql((*loop)->lock());
    auto machine = Machine::create(config, **loop);
    if (!machine) return fail_startup(hs, machine.error().msg);
    Machine& m = **machine;
    if (m.dumped_dtb()) {
        report_info("info: dtb dumped to " + *config.dumpdtb + ". Exiting.");
        hs.ready();
        return 0;
    }

    (void)(*loop)->add(sfd, 0x001 /*EPOLLIN*/, [&](uint32_t) {
        signalfd_siginfo si;
        while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            report_info("terminating on signal " + std::to_string(si.ssi_signo) + " from pid " +
                        std::to_string(si.ssi_pid));
            m.request_quit(false, "host-signal");
        }
    });

    // Initialised, monitors listening: now the parent may exit 0.
    hs.ready();
    m.autostart();
    (*loop)->run();
    int status = m.exit_status();
    machine->reset();   // joins vCPUs, closes sockets, unlinks their paths
    bql.unlock();
    pidfile.reset();    // unlinks the pidfile
    ::close(sfd);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    auto cli = parse_command_line(args);
    if (!cli) {
        std::fprintf(stderr, "armvm: %s\n", cli.error().msg.c_str());
        return 1;
    }
    if (cli->exit_now) {
        std::fputs(cli->output.c_str(), stdout);
        return cli->exit_code;
    }
    MachineConfig config = std::move(cli->config);
    if (auto st = validate_config(config); !st) {
        std::fprintf(stderr, "armvm: %s\n", st.error().msg.c_str());
        return 1;
    }
    set_report_timestamps(config.msg_timestamp);

    DaemonHandshake hs;
    if (config.daemonize) {
        // No thread exists yet (INCIDENTS.md #1); daemonize() checks it.
        auto d = daemonize();
        if (!d) {
            std::fprintf(stderr, "armvm: %s\n", d.error().msg.c_str());
            return 1;
        }
        hs = std::move(d.value());
    }
    return run(config, hs);
}
