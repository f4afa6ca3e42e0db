#include "net/tap.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/report.hpp"

extern char** environ;

namespace armvm {

namespace {

constexpr size_t kMaxFrame = 65536;

// QEMU's network scripts: SCRIPT IFNAME, which must exit 0.
Status run_script(const std::string& script, const std::string& ifname) {
    char* argv[] = {const_cast<char*>(script.c_str()), const_cast<char*>(ifname.c_str()), nullptr};
    pid_t pid;
    int rc = ::posix_spawn(&pid, script.c_str(), nullptr, nullptr, argv, environ);
    // (a script that cannot be run fails as QEMU's child does: exit 1)
    if (rc != 0) return make_error("network script " + script + " failed with status 256");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return make_error("network script " + script + " failed with status " + std::to_string(status));
    return ok_status();
}

std::string str_opt(const Json& opts, const char* k) {
    if (!opts.contains(k)) return "";
    const Json& v = opts[k];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

Result<std::unique_ptr<TapNet>> TapNet::create(const Json& opts, const std::string& origin, EventLoop& loop) {
    std::unique_ptr<TapNet> t(new TapNet(loop));
    auto fail = [&](const std::string& m) { return make_error("-netdev " + origin + ": " + m); };
    t->id_ = str_opt(opts, "id");
    if (t->id_.empty()) return fail("Parameter 'id' is missing");
    for (auto it = opts.begin(); it != opts.end(); ++it) {
        static const char* known[] = {"type", "id", "fd", "ifname", "script", "downscript", "vnet_hdr",
                                      "vhost", "sndbuf", "br", "helper", "queues", "fds", "vhostfd",
                                      "vhostfds", "vhostforce", "poll-us"};
        bool ok = false;
        for (const char* k : known) ok = ok || it.key() == k;
        if (!ok) return fail("Invalid parameter '" + it.key() + "'");
    }
    auto on = [&](const char* k) {
        std::string v = str_opt(opts, k);
        return v == "on" || v == "true" || v == "yes";
    };
    if (on("vhost") || opts.contains("vhostfd") || opts.contains("vhostfds"))
        return fail("vhost-net is not supported (use vhost=off)");
    for (const char* k : {"br", "helper", "fds"})
        if (opts.contains(k)) return fail(std::string("tap: '") + k + "' is not supported (use fd= or ifname=)");
    if (opts.contains("queues") && str_opt(opts, "queues") != "1") return fail("multiqueue tap is not supported");
    std::string fd_s = str_opt(opts, "fd");
    if (!fd_s.empty()) {
        for (const char* k : {"ifname", "script", "downscript", "vnet_hdr", "helper", "queues", "fds", "vhostfds"})
            if (opts.contains(k))
                return fail("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are "
                            "invalid with fd=");
        char* end = nullptr;
        long fd = std::strtol(fd_s.c_str(), &end, 10);
        if (!end || *end || fd < 0 || fd > 0x7fffffff)
            return fail(t->id_ + ": File descriptor named '" + fd_s + "' has not been found");
        if (::fcntl(static_cast<int>(fd), F_GETFD) < 0)
            return fail(t->id_ + ": Can't use file descriptor " + fd_s + ": " + std::strerror(errno));
        ifreq ifr{};
        if (::ioctl(static_cast<int>(fd), TUNGETIFF, &ifr) < 0)
            return fail("Unable to query TUNGETIFF on FD " + fd_s + ": " + std::strerror(errno));
        if (!(ifr.ifr_flags & IFF_TAP)) return fail("fd " + fd_s + " is a TUN device, not TAP");
        t->fd_ = static_cast<int>(fd);
        t->own_fd_ = true;  // handed over: armvm closes it at the end
        t->info_ = "fd=" + fd_s;
        t->ifname_ = ifr.ifr_name;
        if (ifr.ifr_flags & IFF_VNET_HDR) {
            int sz = 10;
            if (::ioctl(t->fd_, TUNGETVNETHDRSZ, &sz) < 0) sz = 10;
            t->vnet_hdr_ = static_cast<size_t>(sz);
        }
    } else {
        int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) return fail(std::string("could not open /dev/net/tun: ") + std::strerror(errno));
        ifreq ifr{};
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        std::string want = str_opt(opts, "ifname");
        if (want.size() >= IFNAMSIZ) {
            ::close(fd);
            return fail("interface name '" + want + "' is too long");
        }
        std::memcpy(ifr.ifr_name, want.empty() ? "tap%d" : want.c_str(), want.empty() ? 6 : want.size() + 1);
        if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
            std::string e = std::strerror(errno);
            ::close(fd);
            return fail("could not configure /dev/net/tun (" + want + "): " + e);
        }
        t->fd_ = fd;
        t->own_fd_ = true;
        t->ifname_ = ifr.ifr_name;
        // QEMU's defaults: /etc/qemu-ifup and /etc/qemu-ifdown; "no" or
        // an empty value runs nothing.
        std::string up = opts.contains("script") ? str_opt(opts, "script") : "/etc/qemu-ifup";
        std::string down = opts.contains("downscript") ? str_opt(opts, "downscript") : "/etc/qemu-ifdown";
        if (!up.empty() && up != "no") {
            if (auto st = run_script(up, t->ifname_); !st) return fail(st.error().msg);
        }
        if (!down.empty() && down != "no") t->downscript_ = down;
        t->info_ = "ifname=" + t->ifname_ + ",script=" + up + ",downscript=" + down;
    }
    int fl = ::fcntl(t->fd_, F_GETFL);
    ::fcntl(t->fd_, F_SETFL, fl | O_NONBLOCK);
    ::fcntl(t->fd_, F_SETFD, FD_CLOEXEC);
    t->buf_.resize(kMaxFrame + t->vnet_hdr_);
    TapNet* self = t.get();
    if (auto st = loop.add(t->fd_, EPOLLIN, [self](uint32_t) { self->readable(); }); !st) return fail(st.error().msg);
    return t;
}

TapNet::~TapNet() {
    if (fd_ >= 0) {
        loop_.remove(fd_);
        if (own_fd_) ::close(fd_);
    }
    if (!downscript_.empty()) {
        if (auto st = run_script(downscript_, ifname_); !st) report_warning(st.error().msg);
    }
}

void TapNet::readable() {
    // A bounded batch per wake-up, so one busy interface cannot starve the loop.
    for (int i = 0; i < 64; ++i) {
        ssize_t n = ::read(fd_, buf_.data(), buf_.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // EAGAIN, or an error: wait for the next event
        }
        if (static_cast<size_t>(n) <= vnet_hdr_) continue;
        if (receiver) receiver(buf_.data() + vnet_hdr_, static_cast<size_t>(n) - vnet_hdr_);
    }
}

void TapNet::send(const uint8_t* frame, size_t len) {
    uint8_t hdr[16] = {};
    iovec iov[2] = {{hdr, vnet_hdr_}, {const_cast<uint8_t*>(frame), len}};
    for (;;) {
        ssize_t n = vnet_hdr_ ? ::writev(fd_, iov, 2) : ::write(fd_, frame, len);
        if (n < 0 && errno == EINTR) continue;
        return;  // (a full interface queue drops the frame, as a busy wire would)
    }
}

}  // namespace armvm
