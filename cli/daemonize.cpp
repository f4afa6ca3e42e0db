#include "cli/daemonize.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace armvm {

namespace {

void redirect_to_devnull(int target) {
    int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    ::dup2(fd, target);  // dup2 clears O_CLOEXEC on the target
    ::close(fd);
}

bool write_all(int fd, const char* p, size_t n) {
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

[[noreturn]] void parent_wait(int rfd, pid_t middle) {
    // Reap the middle process first: it exits as soon as it has forked.
    int st;
    while (::waitpid(middle, &st, 0) < 0 && errno == EINTR) {
    }
    std::string msg;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(rfd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        msg.append(buf, static_cast<size_t>(n));
        if (msg[0] == '\0') break;  // ready: nothing more will come
    }
    if (!msg.empty() && msg[0] == '\0') _exit(0);
    if (!msg.empty() && msg[0] == '\1') {
        std::string text = msg.substr(1);
        if (text.empty() || text.back() != '\n') text += '\n';
        (void)!::write(2, text.data(), text.size());
        _exit(1);
    }
    static const char died[] = "armvm: -daemonize: the daemon exited before it was ready\n";
    (void)!::write(2, died, sizeof died - 1);
    _exit(1);
}

}  // namespace

DaemonHandshake& DaemonHandshake::operator=(DaemonHandshake&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

DaemonHandshake::~DaemonHandshake() {
    if (fd_ >= 0) ::close(fd_);
}

void DaemonHandshake::ready() {
    if (fd_ < 0) return;
    char zero = 0;
    write_all(fd_, &zero, 1);
    ::close(fd_);
    fd_ = -1;
    // libvirt waits for EOF on the stdout/stderr pipes it gave us.
    redirect_to_devnull(1);
    redirect_to_devnull(2);
    if (::chdir("/") < 0) {
    }
}

void DaemonHandshake::fail(const std::string& msg) {
    if (fd_ < 0) return;
    std::string m = "\1" + msg;
    write_all(fd_, m.data(), m.size());
    ::close(fd_);
    fd_ = -1;
}

int current_thread_count() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
    return -1;
}

Result<DaemonHandshake> daemonize() {
    int threads = current_thread_count();
    if (threads != 1)
        return make_error("-daemonize: internal error: " + std::to_string(threads) +
                          " threads exist before fork; refusing to fork");
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return make_error(std::string("-daemonize: pipe: ") + std::strerror(errno));
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return make_error(std::string("-daemonize: fork: ") + std::strerror(errno));
    if (pid > 0) {
        ::close(p[1]);
        parent_wait(p[0], pid);
    }
    // Middle process.
    ::close(p[0]);
    ::setsid();
    pid_t pid2 = ::fork();
    if (pid2 < 0) {
        std::string m = std::string("\1armvm: -daemonize: fork: ") + std::strerror(errno);
        write_all(p[1], m.data(), m.size());
        _exit(1);
    }
    if (pid2 > 0) _exit(0);
    // The daemon.
    ::umask(027);
    redirect_to_devnull(0);
    return DaemonHandshake(p[1]);
}

}  // namespace armvm
