#include "hw/char/chardev.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <vector>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/fdset.hpp"
#include "base/report.hpp"

namespace armvm {

namespace {

constexpr size_t kMaxOutBuf = 64u << 20;

std::string errstr() { return std::strerror(errno); }

void set_nonblock_cloexec(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int fdfl = ::fcntl(fd, F_GETFD);
    if (fdfl >= 0) ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
}

// A byte stream over one fd with buffered, non-blocking output.
class Stream {
public:
    Stream(EventLoop& loop) : loop_(loop) {}
    ~Stream() {
        loop_.cancel_timer(rearm_timer_);
        close();
    }

    void open(int rfd, int wfd, std::function<void(std::string_view)> on_read, std::function<void()> on_eof) {
        rfd_ = rfd;
        wfd_ = wfd;
        on_read_ = std::move(on_read);
        on_eof_ = std::move(on_eof);
        if (rfd_ >= 0 && !loop_.add(rfd_, EPOLLIN, [this](uint32_t ev) { readable(ev); })) {
            // A regular file (or /dev/null) as input: epoll cannot watch
            // it, and it is always readable. Read it a chunk per loop turn.
            pump();
        }
    }
    bool is_open() const { return wfd_ >= 0 || rfd_ >= 0; }

    void write(std::string_view d) {
        if (wfd_ < 0 || hung_up_) return;
        if (out_.size() + d.size() > kMaxOutBuf) {
            // The peer stopped reading: drop it rather than grow forever.
            hangup();
            return;
        }
        out_.append(d);
        flush();
    }

    void close() {
        if (rfd_ >= 0) loop_.remove(rfd_);
        if (wfd_ >= 0 && wfd_ != rfd_ && watching_out_) loop_.remove(wfd_);
        if (own_fds_ && rfd_ >= 0) ::close(rfd_);
        if (own_fds_ && wfd_ >= 0 && wfd_ != rfd_) ::close(wfd_);
        rfd_ = wfd_ = -1;
        out_.clear();
        watching_out_ = false;
    }

    // For stdio: fds 0 and 1 are the process's, never closed here.
    void set_borrowed() { own_fds_ = false; }
    // For a pty's master: the other side closing is not the end (the next
    // `virsh console`, or a restarted libvirtd, opens it again). While
    // nobody has it open, output is dropped and the master is checked once
    // a second, as QEMU's pty chardev does.
    void set_reopenable() { reopenable_ = true; }

private:
    void pump() {
        std::weak_ptr<bool> alive = alive_;
        loop_.post([this, alive] {
            if (alive.expired() || rfd_ < 0) return;
            char buf[65536];
            ssize_t n = ::read(rfd_, buf, sizeof buf);
            if (n > 0) {
                on_read_(std::string_view(buf, static_cast<size_t>(n)));
                if (!alive.expired()) pump();
                return;
            }
            if (n < 0 && errno == EINTR) return pump();
            pumped_eof();
        });
    }
    void pumped_eof() {
        // (never in epoll: nothing to remove)
        if (rfd_ >= 0 && rfd_ != wfd_ && wfd_ >= 0) {
            if (own_fds_) ::close(rfd_);
            rfd_ = -1;
            return;
        }
        if (own_fds_ && rfd_ >= 0) ::close(rfd_);
        rfd_ = -1;
        close();
        if (on_eof_) on_eof_();
    }

    void readable(uint32_t ev) {
        if (ev & EPOLLOUT) flush();
        if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
        char buf[65536];
        ssize_t n = ::read(rfd_, buf, sizeof buf);
        if (n > 0) {
            on_read_(std::string_view(buf, static_cast<size_t>(n)));
            return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        hangup();
    }

    void hangup() {
        if (reopenable_ && rfd_ >= 0) {
            if (hung_up_) return;
            hung_up_ = true;
            loop_.remove(rfd_);
            watching_out_ = false;
            out_.clear();
            rearm();
            return;
        }
        if (rfd_ >= 0 && rfd_ != wfd_ && wfd_ >= 0) {
            // Separate input and output (stdio): the end of the input does
            // not end the output, and fds 0/1 are never closed here.
            loop_.remove(rfd_);
            if (own_fds_) ::close(rfd_);
            rfd_ = -1;
            return;
        }
        close();
        if (on_eof_) on_eof_();
    }

    void flush() {
        while (!out_.empty()) {
            ssize_t n = ::send(wfd_, out_.data(), out_.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == ENOTSOCK) n = ::write(wfd_, out_.data(), out_.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                out_.clear();
                return;  // the reader will see the hang-up
            }
            out_.erase(0, static_cast<size_t>(n));
        }
        bool want = !out_.empty();
        if (want != watching_out_) {
            if (wfd_ == rfd_) {
                (void)loop_.modify(wfd_, want ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
            } else if (want) {
                (void)loop_.add(wfd_, EPOLLOUT, [this](uint32_t) { flush(); });
            } else {
                loop_.remove(wfd_);
            }
            watching_out_ = want;
        }
    }

    void rearm() {
        rearm_timer_ = loop_.add_timer(EventLoop::now_ns() + 1'000'000'000ull, [this] {
            rearm_timer_ = 0;
            pollfd pfd{rfd_, POLLIN, 0};
            if (::poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP)) {
                hung_up_ = false;  // someone has the other side open again
                (void)loop_.add(rfd_, EPOLLIN, [this](uint32_t ev) { readable(ev); });
            } else {
                rearm();
            }
        });
    }

    EventLoop& loop_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for pump()'s posted reads
    int rfd_ = -1, wfd_ = -1;
    std::string out_;
    bool watching_out_ = false;
    bool own_fds_ = true;
    bool reopenable_ = false, hung_up_ = false;
    EventLoop::TimerId rearm_timer_ = 0;
    std::function<void(std::string_view)> on_read_;
    std::function<void()> on_eof_;
};

class SocketChardev : public Chardev {
public:
    SocketChardev(ChardevConfig cfg, EventLoop& loop) : Chardev(std::move(cfg), loop), conn_(loop) {}
    ~SocketChardev() override {
        conn_.close();
        if (listen_fd_ >= 0) {
            loop_.remove(listen_fd_);
            ::close(listen_fd_);
        }
        if (!created_path_.empty()) ::unlink(created_path_.c_str());
    }

    Status init() {
        if (cfg_.fd) return init_fd(*cfg_.fd);
        int fd = -1;
        if (cfg_.path) {
            ARMVM_TRY(unix_socket(fd));
        } else {
            ARMVM_TRY(tcp_socket(fd));
        }
        if (cfg_.server) {
            listen_fd_ = fd;
            if (cfg_.wait) {
                report_info("waiting for connection on: " + filename());
                int c;
                for (;;) {
                    pollfd pfd{listen_fd_, POLLIN, 0};
                    ::poll(&pfd, 1, -1);  // the listener is non-blocking
                    c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
                    if (c >= 0 || (errno != EINTR && errno != EAGAIN)) break;
                }
                if (c < 0) return make_error("accept: " + errstr());
                pending_conn_ = c;
            }
        } else {
            pending_conn_ = fd;
        }
        return ok_status();
    }

    void attach(Frontend fe) override {
        fe_ = std::move(fe);
        attached_ = true;
        if (pending_conn_ >= 0) {
            int c = pending_conn_;
            pending_conn_ = -1;
            start_conn(c);
        } else if (listen_fd_ >= 0) {
            watch_listen();
        }
    }

    void write(std::string_view d) override { conn_.write(d); }
    bool connected() const override { return conn_.is_open(); }

    std::string filename() const override {
        std::string s;
        if (cfg_.path)
            s = "unix:" + *cfg_.path;
        else if (cfg_.fd)
            s = "unix:" + inherited_path_;  // an inherited socket: its bound path, as QEMU shows it
        else
            s = "tcp:" + (cfg_.host.value_or("").empty() && cfg_.server ? "0.0.0.0" : cfg_.host.value_or("")) + ":" +
                cfg_.port.value_or("");
        if (cfg_.server || listen_fd_ >= 0) s += ",server=on";
        return connected() ? s : "disconnected:" + s;
    }

private:
    Status init_fd(int fd) {
        int type = 0;
        socklen_t len = sizeof type;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
            return make_error("fd " + std::to_string(fd) + " is not a socket");
        int acc = 0;
        len = sizeof acc;
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
        set_nonblock_cloexec(fd);
        sockaddr_un sa{};
        socklen_t sl = sizeof sa;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &sl) == 0 && sa.sun_family == AF_UNIX &&
            sl > offsetof(sockaddr_un, sun_path))
            inherited_path_.assign(sa.sun_path, strnlen(sa.sun_path, sl - offsetof(sockaddr_un, sun_path)));
        if (acc) {
            listen_fd_ = fd;
        } else {
            if (cfg_.server) return make_error("fd " + std::to_string(fd) + " is not a listening socket");
            pending_conn_ = fd;
        }
        return ok_status();
    }

    Status unix_socket(int& out) {
        const std::string& path = *cfg_.path;
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        if (path.size() >= sizeof sa.sun_path)
            return make_error("UNIX socket path '" + path + "' is too long");
        std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return make_error("Failed to create socket: " + errstr());
        if (cfg_.server) {
            struct stat st {};
            if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
            if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
                std::string e = errstr();
                ::close(fd);
                return make_error("Failed to bind socket to " + path + ": " + e);
            }
            created_path_ = path;
            if (::listen(fd, 16) < 0) {
                std::string e = errstr();
                ::close(fd);
                return make_error("Failed to listen on socket: " + e);
            }
        } else if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
            std::string e = errstr();
            ::close(fd);
            return make_error("Failed to connect to '" + path + "': " + e);
        }
        set_nonblock_cloexec(fd);
        out = fd;
        return ok_status();
    }

    Status tcp_socket(int& out) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = cfg_.server ? AI_PASSIVE : 0;
        addrinfo* res = nullptr;
        std::string host = cfg_.host.value_or("");
        std::string port = cfg_.port.value_or("");
        int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
        if (rc != 0) return make_error("address resolution failed for " + host + ":" + port + ": " + gai_strerror(rc));
        std::string last = "no address";
        for (addrinfo* ai = res; ai; ai = ai->ai_next) {
            int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd < 0) continue;
            int one = 1;
            if (cfg_.server) {
                ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
                    set_nonblock_cloexec(fd);
                    out = fd;
                    ::freeaddrinfo(res);
                    return ok_status();
                }
            } else if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                set_nonblock_cloexec(fd);
                out = fd;
                ::freeaddrinfo(res);
                return ok_status();
            }
            last = errstr();
            ::close(fd);
        }
        ::freeaddrinfo(res);
        if (cfg_.server) return make_error("Failed to find an available port: " + last);
        return make_error("Failed to connect to '" + host + ":" + port + "': " + last);
    }

    void watch_listen() {
        (void)loop_.add(listen_fd_, EPOLLIN, [this](uint32_t) {
            int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0) return;
            // One client at a time, as QEMU: others wait in the backlog.
            loop_.remove(listen_fd_);
            start_conn(c);
        });
    }

    void start_conn(int c) {
        set_nonblock_cloexec(c);
        conn_.open(c, c, [this](std::string_view d) { if (fe_.on_read) fe_.on_read(d); },
                   [this] {
                       if (fe_.on_close) fe_.on_close();
                       if (listen_fd_ >= 0) watch_listen();
                   });
        if (fe_.on_open) fe_.on_open();
    }

    Stream conn_;
    int listen_fd_ = -1;
    int pending_conn_ = -1;
    std::string created_path_;
    std::string inherited_path_;  // fd=: the path the socket is bound to
};

// stdio on a terminal is put in QEMU's raw mode (each key as it is typed,
// no echo, no ^S/^Q, CR not turned into NL; output still processed, ^C
// still a signal), and restored when armvm ends.
struct termios g_saved_tty;
bool g_tty_saved = false;

void restore_tty() {
    if (g_tty_saved) tcsetattr(0, TCSANOW, &g_saved_tty);
}

void raw_tty() {
    if (g_tty_saved || !isatty(0) || tcgetattr(0, &g_saved_tty) != 0) return;
    g_tty_saved = true;
    std::atexit(restore_tty);
    struct termios t = g_saved_tty;
    t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag |= OPOST;
    t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    t.c_cflag &= ~(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &t);
}

class FdChardev : public Chardev {
public:
    FdChardev(ChardevConfig cfg, EventLoop& loop) : Chardev(std::move(cfg), loop), s_(loop) {}
    ~FdChardev() override {
        if (cfg_.backend == "stdio") restore_tty();
    }

    Status init() {
        const std::string& b = cfg_.backend;
        if (b == "null") {
            return ok_status();
        }
        if (b == "file") {
            int fd = open_or_fdset(*cfg_.file, O_WRONLY | O_CREAT | O_CLOEXEC | (cfg_.append ? O_APPEND : O_TRUNC),
                                   0666);
            if (fd < 0) return make_error("Could not open '" + *cfg_.file + "': " + errstr());
            wfd_ = fd;
            return ok_status();
        }
        if (b == "stdio") {
            s_.set_borrowed();
            rfd_ = 0;
            wfd_ = 1;
            raw_tty();
            return ok_status();
        }
        if (b == "pty") {
            int fd = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (fd < 0 || ::grantpt(fd) < 0 || ::unlockpt(fd) < 0)
                return make_error("Failed to create PTY: " + errstr());
            char name[128];
            if (::ptsname_r(fd, name, sizeof name) != 0) return make_error("ptsname: " + errstr());
            pty_name_ = name;
            set_nonblock_cloexec(fd);
            rfd_ = wfd_ = fd;
            s_.set_reopenable();
            report_info("char device redirected to " + pty_name_ + " (label " + cfg_.id + ")");
            return ok_status();
        }
        return make_error("'" + b + "' is not a valid char driver name");
    }

    void attach(Frontend fe) override {
        fe_ = std::move(fe);
        attached_ = true;
        if (rfd_ >= 0 || wfd_ >= 0) {
            s_.open(rfd_, wfd_, [this](std::string_view d) { if (fe_.on_read) fe_.on_read(d); },
                    [this] { if (fe_.on_close) fe_.on_close(); });
        }
        if (fe_.on_open) fe_.on_open();
    }
    void write(std::string_view d) override { s_.write(d); }
    bool connected() const override { return cfg_.backend != "null"; }
    std::string filename() const override {
        if (cfg_.backend == "pty") return "pty:" + pty_name_;
        if (cfg_.backend == "file") return "file:" + *cfg_.file;
        return cfg_.backend;
    }

private:
    Stream s_;
    int rfd_ = -1, wfd_ = -1;
    std::string pty_name_;
};

}  // namespace

namespace {

// mux=on (and "mon:"): up to four frontends on one backend, as QEMU's
// mux: all of them write; the input goes to the one in focus, and C-a
// starts an escape (C-a c: the next frontend gets the input; C-a x: quit;
// C-a h: the list; C-a C-a: a C-a for the frontend).
class MuxChardev : public Chardev {
public:
    MuxChardev(ChardevConfig cfg, EventLoop& loop, std::unique_ptr<Chardev> backend, std::function<void()> quit)
        : Chardev(std::move(cfg), loop), backend_(std::move(backend)), quit_(std::move(quit)) {}

    void attach(Frontend fe) override {
        if (fes_.size() >= 4) return;
        fes_.push_back({std::move(fe), false});
        if (fes_.size() == 1) {
            Frontend be;
            be.on_open = [this] {
                if (!fes_.empty()) open(focus_);
            };
            be.on_read = [this](std::string_view d) { input(d); };
            be.on_close = [this] {  // (a peer that comes back opens the focused frontend again)
                for (auto& f : fes_) {
                    f.opened = false;
                    if (f.fe.on_close) f.fe.on_close();
                }
            };
            backend_->attach(std::move(be));
        }
    }
    void write(std::string_view d) override { backend_->write(d); }
    bool connected() const override { return backend_->connected(); }
    std::string filename() const override { return "mux"; }
    const Chardev* mux_base() const override { return backend_.get(); }
    void detach() override {
        fes_.clear();
        focus_ = 0;
        backend_->detach();
    }

private:
    struct Fe {
        Frontend fe;
        bool opened;
    };
    void open(size_t i) {
        if (fes_[i].opened) return;
        fes_[i].opened = true;
        if (fes_[i].fe.on_open) fes_[i].fe.on_open();
    }
    void input(std::string_view d) {
        std::string pass;
        auto flush = [&] {
            if (!pass.empty() && focus_ < fes_.size() && fes_[focus_].fe.on_read) fes_[focus_].fe.on_read(pass);
            pass.clear();
        };
        for (char ch : d) {
            if (!escape_) {
                if (ch == 1) escape_ = true;
                else pass += ch;
                continue;
            }
            escape_ = false;
            switch (ch) {
            case 1: pass += ch; break;
            case 'c': {
                flush();
                if (fes_.size() < 2) break;
                size_t was = focus_;
                focus_ = (focus_ + 1) % fes_.size();
                if (fes_[was].fe.on_focus) fes_[was].fe.on_focus(false);
                if (!fes_[focus_].opened) open(focus_);
                else if (fes_[focus_].fe.on_focus) fes_[focus_].fe.on_focus(true);
                break;
            }
            case 'h':
                flush();
                backend_->write("\n\rC-a h    print this help\n\rC-a x    exit emulator\n\r"
                                "C-a s    save disk data back to file (if -snapshot)\n\r"
                                "C-a t    toggle console timestamps\n\rC-a b    send break (magic sysrq)\n\r"
                                "C-a c    switch between console and monitor\n\rC-a C-a  sends C-a\n\r");
                break;
            case 'x':
                flush();
                backend_->write("QEMU: Terminated\n\r");
                if (quit_) quit_();
                return;
            default: break;  // (s, t, b: nothing to do here)
            }
        }
        flush();
    }

    std::unique_ptr<Chardev> backend_;
    std::function<void()> quit_;
    std::vector<Fe> fes_;
    size_t focus_ = 0;
    bool escape_ = false;
};

}  // namespace

Result<std::unique_ptr<Chardev>> Chardev::create(const ChardevConfig& cfg, EventLoop& loop,
                                                 std::function<void()> quit) {
    auto prefix = [&](const Error& e) {
        return make_error("-" + cfg.option + " " + cfg.origin + ": " + e.msg);
    };
    if (cfg.mux) {
        ChardevConfig inner = cfg;
        inner.mux = false;
        auto be = create(inner, loop);
        if (!be) return be.error();
        return std::unique_ptr<Chardev>(std::make_unique<MuxChardev>(cfg, loop, std::move(be.value()), std::move(quit)));
    }
    if (cfg.backend == "socket") {
        auto c = std::make_unique<SocketChardev>(cfg, loop);
        if (auto st = c->init(); !st) return prefix(st.error());
        return std::unique_ptr<Chardev>(std::move(c));
    }
    auto c = std::make_unique<FdChardev>(cfg, loop);
    if (auto st = c->init(); !st) return prefix(st.error());
    return std::unique_ptr<Chardev>(std::move(c));
}

}  // namespace armvm
