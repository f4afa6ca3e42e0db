// -daemonize, safe by construction (INCIDENTS.md #1).
//
//   parent ──fork──▶ middle ──setsid, fork──▶ daemon
//     │                 └─ _exit(0), reaped by the parent
//     └─ blocks on a pipe until the daemon reports "ready" (exit 0),
//        an error message (print it, exit 1) or dies (EOF: exit 1).
//
// The fork happens before any thread exists: daemonize() refuses to run
// when the process has more than one thread, and main() creates threads only
// after it returns.
#pragma once
#include <string>

#include "base/result.hpp"

namespace armvm {

class DaemonHandshake {
public:
    DaemonHandshake() = default;
    explicit DaemonHandshake(int fd) : fd_(fd) {}
    DaemonHandshake(DaemonHandshake&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    DaemonHandshake& operator=(DaemonHandshake&& o) noexcept;
    ~DaemonHandshake();

    bool active() const { return fd_ >= 0; }
    // Initialisation finished and the monitors listen: let the parent exit 0,
    // then detach stdout/stderr and leave the working directory.
    void ready();
    // Initialisation failed: hand the message to the parent (which prints it
    // and exits 1).
    void fail(const std::string& msg);

private:
    int fd_ = -1;
};

// Number of threads in this process (from /proc/self/status).
int current_thread_count();

// Returns in the daemon only; the parent process never returns from here.
Result<DaemonHandshake> daemonize();

}  // namespace armvm
