#include "net/slirp.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <sys/epoll.h>

#include <cstdio>
#include <cstring>

#include <optional>

namespace armvm {

struct SlirpCallbacks {
    static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
        auto* n = static_cast<SlirpNet*>(opaque);
        if (n->receiver) n->receiver(static_cast<const uint8_t*>(buf), len);
        return static_cast<ssize_t>(len);  // (a frame the guest could not take is dropped: TCP retransmits)
    }
    static void guest_error(const char* msg, void*) { std::fprintf(stderr, "armvm: slirp: %s\n", msg); }
    static int64_t clock_get_ns(void*) { return static_cast<int64_t>(EventLoop::now_ns()); }
    static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
        auto* n = static_cast<SlirpNet*>(opaque);
        n->timers_.push_back(std::make_unique<SlirpNet::Timer>(SlirpNet::Timer{n, static_cast<int>(id), cb_opaque}));
        return n->timers_.back().get();
    }
    static void timer_free(void* timer, void* opaque) {
        auto* n = static_cast<SlirpNet*>(opaque);
        auto* t = static_cast<SlirpNet::Timer*>(timer);
        n->loop_.cancel_timer(t->loop_timer);
        for (auto it = n->timers_.begin(); it != n->timers_.end(); ++it)
            if (it->get() == t) {
                n->timers_.erase(it);
                break;
            }
    }
    static void timer_mod(void* timer, int64_t expire_ms, void* opaque) {
        auto* n = static_cast<SlirpNet*>(opaque);
        auto* t = static_cast<SlirpNet::Timer*>(timer);
        n->loop_.cancel_timer(t->loop_timer);
        t->loop_timer = n->loop_.add_timer(static_cast<uint64_t>(expire_ms) * 1000000ull, [t] {
            t->loop_timer = 0;
            slirp_handle_timer(t->net->slirp_, static_cast<SlirpTimerId>(t->id), t->cb_opaque);
        });
    }
    static void register_poll_fd(int, void*) {}
    static void unregister_poll_fd(int, void*) {}
    static void notify(void*) {}
    static int add_poll(int fd, int events, void* opaque) {
        auto* n = static_cast<SlirpNet*>(opaque);
        short ev = 0;
        if (events & SLIRP_POLL_IN) ev |= POLLIN;
        if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
        if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
        n->polls_.push_back({fd, ev, 0});
        return static_cast<int>(n->polls_.size() - 1);
    }
    static int get_revents(int idx, void* opaque) {
        auto* n = static_cast<SlirpNet*>(opaque);
        if (idx < 0 || static_cast<size_t>(idx) >= n->polls_.size()) return 0;
        short r = n->polls_[static_cast<size_t>(idx)].revents;
        return ((r & POLLIN) ? SLIRP_POLL_IN : 0) | ((r & POLLOUT) ? SLIRP_POLL_OUT : 0) |
               ((r & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((r & POLLERR) ? SLIRP_POLL_ERR : 0) |
               ((r & POLLHUP) ? SLIRP_POLL_HUP : 0);
    }
};

namespace {

const SlirpCb kCallbacks = [] {
    SlirpCb cb{};
    cb.send_packet = &SlirpCallbacks::send_packet;
    cb.guest_error = &SlirpCallbacks::guest_error;
    cb.clock_get_ns = &SlirpCallbacks::clock_get_ns;
    cb.timer_free = &SlirpCallbacks::timer_free;
    cb.timer_mod = &SlirpCallbacks::timer_mod;
    cb.register_poll_fd = &SlirpCallbacks::register_poll_fd;
    cb.unregister_poll_fd = &SlirpCallbacks::unregister_poll_fd;
    cb.notify = &SlirpCallbacks::notify;
    cb.timer_new_opaque = &SlirpCallbacks::timer_new_opaque;
    return cb;
}();

// hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, with
// QEMU's reasons when it is not.
Status add_hostfwd(Slirp* s, const std::string& spec, in_addr guest_default) {
    auto bad = [&](const char* why) {
        return make_error("Invalid host forwarding rule '" + spec + "' (" + why + ")");
    };
    std::string rest = spec;
    // The text before `sep` (taken off `rest`), or nullopt without one.
    auto take = [&](char sep) -> std::optional<std::string> {
        auto at = rest.find(sep);
        if (at == std::string::npos) return std::nullopt;
        std::string head = rest.substr(0, at);
        rest = rest.substr(at + 1);
        return head;
    };
    auto port = [](const std::string& t, int& out) {
        char* end = nullptr;
        long p = std::strtol(t.c_str(), &end, 0);
        if (t.empty() || *end || p < 0 || p > 65535) return false;
        out = static_cast<int>(p);
        return true;
    };
    auto proto = take(':');
    if (!proto) return bad("No : separators");
    if (!proto->empty() && *proto != "tcp" && *proto != "udp") return bad("Bad protocol name");
    in_addr haddr{}, gaddr = guest_default;
    auto host = take(':');
    if (!host || (!host->empty() && inet_aton(host->c_str(), &haddr) == 0)) return bad("Bad host address");
    auto hport_s = take('-');
    if (!hport_s) return bad("Bad host port separator");
    int hport, gport;
    if (!port(*hport_s, hport)) return bad("Bad host port");
    auto guest = take(':');
    if (!guest) return bad("Missing guest address");
    if (!guest->empty() && inet_aton(guest->c_str(), &gaddr) == 0) return bad("Bad guest address");
    if (!port(rest, gport)) return bad("Bad guest port");
    if (slirp_add_hostfwd(s, *proto == "udp", haddr, hport, gaddr, gport) < 0)
        return make_error("Could not set up host forwarding rule '" + spec + "'");
    return ok_status();
}

}  // namespace

bool SlirpNet::available() { return true; }

Result<std::unique_ptr<SlirpNet>> SlirpNet::create(const Json& opts, const std::string& origin, EventLoop& loop) {
    std::unique_ptr<SlirpNet> n(new SlirpNet(loop));
    auto fail = [&](const std::string& m) { return make_error("-netdev " + origin + ": " + m); };
    n->id_ = opts.value("id", "");
    if (n->id_.empty()) return fail("Parameter 'id' is missing");
    std::vector<std::string> fwds;
    for (auto it = opts.begin(); it != opts.end(); ++it) {
        const std::string& k = it.key();
        if (k == "type" || k == "id" || k == "net" || k == "ipv4" || k == "ipv6" || k == "restrict") continue;
        if (k == "hostfwd" || k.rfind("hostfwd.", 0) == 0) {
            if (it.value().is_array())
                for (auto& f : it.value()) fwds.push_back(f.is_string() ? f.get<std::string>() : f.value("str", ""));
            else
                fwds.push_back(it.value().get<std::string>());
            continue;
        }
        return fail("Invalid parameter '" + k + "'");
    }
    // QEMU's defaults: 10.0.2.0/24, the host at .2, DNS at .3, DHCP from .15.
    SlirpConfig cfg{};
    cfg.version = 4;
    cfg.in_enabled = true;
    inet_aton("10.0.2.0", &cfg.vnetwork);
    inet_aton("255.255.255.0", &cfg.vnetmask);
    inet_aton("10.0.2.2", &cfg.vhost);
    inet_aton("10.0.2.15", &cfg.vdhcp_start);
    inet_aton("10.0.2.3", &cfg.vnameserver);
    if (opts.contains("net")) {  // net=ADDR[/MASKBITS]
        std::string net = opts["net"].get<std::string>();
        auto slash = net.find('/');
        int bits = slash == std::string::npos ? 24 : std::atoi(net.c_str() + slash + 1);
        std::string a = net.substr(0, slash);
        if (inet_aton(a.c_str(), &cfg.vnetwork) == 0 || bits < 8 || bits > 30) return fail("Invalid net= '" + net + "'");
        uint32_t mask = bits ? ~0u << (32 - bits) : 0;
        cfg.vnetmask.s_addr = htonl(mask);
        uint32_t base = ntohl(cfg.vnetwork.s_addr) & mask;
        cfg.vnetwork.s_addr = htonl(base);
        // (QEMU keeps the host part of its defaults 10.0.2.2, .3 and .15:
        // with /16 they are x.y.2.2, x.y.2.3, x.y.2.15)
        cfg.vhost.s_addr = htonl(base | (0x0a000202u & ~mask));
        cfg.vnameserver.s_addr = htonl(base | (0x0a000203u & ~mask));
        cfg.vdhcp_start.s_addr = htonl(base | (0x0a00020fu & ~mask));
    }
    cfg.in6_enabled = true;
    inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
    cfg.vprefix_len = 64;
    inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
    inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
    cfg.vhostname = nullptr;
    n->slirp_ = slirp_new(&cfg, &kCallbacks, n.get());
    if (!n->slirp_) return fail("could not start the user-mode network stack");
    for (const auto& f : fwds) {
        auto st = add_hostfwd(n->slirp_, f, cfg.vdhcp_start);
        if (!st) return fail(st.error().msg);
    }
    n->guest_default_ = cfg.vdhcp_start.s_addr;
    bool restrict_on = false;
    if (opts.contains("restrict")) {
        const Json& r = opts["restrict"];
        restrict_on = r.is_boolean() ? r.get<bool>() : (r == "on" || r == "yes" || r == "true" || r == "y");
    }
    n->info_ = std::string("net=") + inet_ntoa(cfg.vnetwork) + ",restrict=" + (restrict_on ? "on" : "off");
    SlirpNet* self = n.get();
    loop.add_prepare_hook([self, alive = n->alive_] {
        if (*alive) self->prepare();
    });
    return n;
}

std::string SlirpNet::connections() const {
    char* t = slirp_connection_info(slirp_);
    std::string s = t ? t : "";
    std::free(t);
    return s;
}

Status SlirpNet::hostfwd_add(const std::string& spec) {
    in_addr g{};
    g.s_addr = guest_default_;
    return add_hostfwd(slirp_, spec, g);
}

Status SlirpNet::hostfwd_remove(const std::string& spec) {
    // [tcp|udp]:[hostaddr]:hostport (QEMU's messages)
    auto c1 = spec.find(':');
    std::string proto = c1 == std::string::npos ? "" : spec.substr(0, c1);
    auto c2 = c1 == std::string::npos ? std::string::npos : spec.find(':', c1 + 1);
    if (c2 == std::string::npos || (proto != "tcp" && proto != "udp" && !proto.empty()))
        return make_error("invalid format");
    in_addr h{};
    std::string host = spec.substr(c1 + 1, c2 - c1 - 1), port = spec.substr(c2 + 1);
    if (!host.empty() && inet_aton(host.c_str(), &h) == 0) return make_error("invalid format");
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || p < 0 || p > 65535) return make_error("invalid format");
    if (slirp_remove_hostfwd(slirp_, proto == "udp", h, static_cast<int>(p)) < 0)
        return make_error("host forwarding rule for " + spec + " not found");
    return ok_status();
}

SlirpNet::~SlirpNet() {
    *alive_ = false;
    for (auto& [fd, ev] : registered_) loop_.remove(fd);
    for (auto& t : timers_) loop_.cancel_timer(t->loop_timer);
    if (slirp_) slirp_cleanup(slirp_);
}

void SlirpNet::send(const uint8_t* frame, size_t len) {
    slirp_input(slirp_, frame, static_cast<int>(len));
    // (on a vCPU thread: slirp may have opened or armed a socket, which the
    // loop must add to its poll set before it waits again)
    loop_.post([] {});
}

void SlirpNet::prepare() {
    polls_.clear();
    uint32_t timeout = UINT32_MAX;
    slirp_pollfds_fill(slirp_, &timeout, &SlirpCallbacks::add_poll, this);
    std::map<int, uint32_t> want;
    for (auto& p : polls_) {
        uint32_t ev = ((p.events & POLLIN) ? uint32_t{EPOLLIN} : 0u) | ((p.events & POLLOUT) ? uint32_t{EPOLLOUT} : 0u) |
                      ((p.events & POLLPRI) ? uint32_t{EPOLLPRI} : 0u);
        want[p.fd] |= ev;
    }
    for (auto it = registered_.begin(); it != registered_.end();) {
        if (!want.count(it->first)) {
            loop_.remove(it->first);
            it = registered_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& [fd, ev] : want) {
        // (a number slirp closed and reused since is no longer in epoll:
        // MOD fails and the fd is added afresh)
        if (registered_.count(fd) && loop_.modify(fd, ev)) {
            registered_[fd] = ev;
            continue;
        }
        if (registered_.count(fd)) loop_.remove(fd);
        registered_.erase(fd);
        if (loop_.add(fd, ev, [this](uint32_t) { dispatch(); })) registered_[fd] = ev;
    }
}

void SlirpNet::dispatch() {
    // Which of the last fill's fds are ready, all at once (as slirp expects).
    std::vector<pollfd> pf(polls_.size());
    for (size_t i = 0; i < polls_.size(); ++i) pf[i] = {polls_[i].fd, polls_[i].events, 0};
    int r = ::poll(pf.data(), pf.size(), 0);
    for (size_t i = 0; i < polls_.size(); ++i) polls_[i].revents = r > 0 ? pf[i].revents : 0;
    slirp_pollfds_poll(slirp_, r < 0, &SlirpCallbacks::get_revents, this);
}

}  // namespace armvm
