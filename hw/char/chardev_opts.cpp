// -chardev and the compat chardev spellings of -qmp/-serial/-monitor.
#include <fcntl.h>

#include "base/keyval.hpp"
#include "hw/char/chardev_opts.hpp"

namespace armvm {

namespace {

Status read_socket_opts(OptReader& r, ChardevConfig& c) {
    c.path = r.str("path");
    c.host = r.str("host");
    c.port = r.str("port");
    if (auto fd = r.uint("fd"); !fd) {
        return fd.error();
    } else if (*fd) {
        if (**fd > 1 << 20) return make_error("Unable to parse FD number");
        c.fd = static_cast<int>(**fd);
    }
    auto server = r.boolean("server");
    if (!server) return server.error();
    c.server = server->value_or(false);
    auto wait = r.boolean("wait");
    if (!wait) return wait.error();
    c.wait = wait->value_or(true);
    // Accepted and without effect on a local listener: TCP_NODELAY and
    // the address-family hints.
    for (const char* k : {"delay", "nodelay", "ipv4", "ipv6", "to", "reconnect"}) {
        if (r.has(k)) (void)r.str(k);
    }
    for (const char* k : {"telnet", "tn3270", "websocket", "tls-creds", "tls-authz", "abstract", "tight"}) {
        if (r.has(k)) {
            auto b = r.boolean(k);
            if (std::string(k) == "telnet" || std::string(k) == "tn3270" ||
                std::string(k) == "websocket" || std::string(k).rfind("tls", 0) == 0) {
                if (!b || b->value_or(true))
                    return make_error(std::string("socket option '") + k + "' is not supported");
            } else if (!b) {
                return b.error();
            }
        }
    }
    int given = (c.path ? 1 : 0) + ((c.host || c.port) ? 1 : 0) + (c.fd ? 1 : 0);
    if (given == 0) return make_error("chardev: socket: one of path=, host=/port= or fd= is required");
    if (given > 1) return make_error("chardev: socket: path=, host=/port= and fd= are mutually exclusive");
    if ((c.host || c.port) && !c.port) return make_error("chardev: socket: port= is required with host=");
    if (c.fd) {
        if (::fcntl(*c.fd, F_GETFD) < 0) return make_error("fd is not valid or already in use");
    }
    return ok_status();
}

Result<ChardevConfig> chardev_from_dict(const Json& dict, const std::string& origin, bool need_id) {
    OptReader r(dict);
    ChardevConfig c;
    c.origin = origin;
    c.backend = r.str("backend").value_or("");
    c.id = r.str("id").value_or("");
    if (need_id && c.id.empty()) return make_error("chardev: no id specified");
    auto mux = r.boolean("mux");
    if (!mux) return mux.error();
    c.mux = mux->value_or(false);
    (void)r.str("logfile");
    if (auto la = r.boolean("logappend"); !la) return la.error();

    if (c.backend == "socket") {
        ARMVM_TRY(read_socket_opts(r, c));
    } else if (c.backend == "file") {
        c.file = r.str("path");
        if (!c.file) return make_error("chardev: file: no filename given");
        auto ap = r.boolean("append");
        if (!ap) return ap.error();
        c.append = ap->value_or(false);
    } else if (c.backend == "stdio") {
        if (auto s = r.boolean("signal"); !s) return s.error();
    } else if (c.backend == "pty") {
        (void)r.str("path");
    } else if (c.backend == "null") {
    } else if (c.backend.empty()) {
        return make_error("chardev: backend is required");
    } else {
        return make_error("'" + c.backend + "' is not a valid char driver name");
    }
    ARMVM_TRY(r.finish());
    return c;
}

}  // namespace

Result<ChardevConfig> parse_chardev(const std::string& text) {
    auto d = parse_keyval(text, {"backend", false});
    if (!d) return d.error();
    return chardev_from_dict(d->dict, text, true);
}

Result<ChardevConfig> parse_chardev_compat(const std::string& spec, const std::string& id) {
    Json dict = Json::object();
    std::string rest;
    auto take_opts = [&](const std::string& s, const std::string& first_key) -> Status {
        // "PATH,server=on,wait=off": the first element is the path.
        auto d = parse_keyval(s, {first_key, false});
        if (!d) return d.error();
        for (auto it = d->dict.begin(); it != d->dict.end(); ++it) dict[it.key()] = it.value();
        return ok_status();
    };
    if (spec == "null" || spec == "stdio" || spec == "pty") {
        dict["backend"] = spec;
    } else if (spec.rfind("unix:", 0) == 0) {
        dict["backend"] = "socket";
        ARMVM_TRY(take_opts(spec.substr(5), "path"));
    } else if (spec.rfind("tcp:", 0) == 0) {
        dict["backend"] = "socket";
        std::string s = spec.substr(4);
        auto comma = s.find(',');
        std::string hostport = s.substr(0, comma);
        auto colon = hostport.rfind(':');
        if (colon == std::string::npos) return make_error("chardev: tcp: expected HOST:PORT");
        dict["host"] = hostport.substr(0, colon);
        dict["port"] = hostport.substr(colon + 1);
        if (comma != std::string::npos) ARMVM_TRY(take_opts(s.substr(comma + 1), ""));
    } else if (spec.rfind("file:", 0) == 0) {
        dict["backend"] = "file";
        dict["path"] = spec.substr(5);
    } else if (spec.rfind("mon:", 0) == 0) {
        // (the chardev multiplexed with a human monitor: C-a c switches)
        auto inner = parse_chardev_compat(spec.substr(4), id);
        if (!inner) return inner.error();
        inner->mux = true;
        inner->with_monitor = true;
        return inner;
    } else {
        return make_error("'" + spec + "' is not a valid char driver");
    }
    dict["id"] = id;
    return chardev_from_dict(dict, spec, true);
}

}  // namespace armvm
