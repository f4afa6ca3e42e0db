#include "monitor/hmp.hpp"

#include <cstdlib>
#include <functional>
#include <sstream>
#include <vector>

#include "base/keyval.hpp"
#include "hw/input/keycodes.hpp"
#include "machine/machine.hpp"
#include "machine/virt/board.hpp"

namespace armvm {
namespace {

// A command's words after its name, and where its output goes.
struct Call {
    QmpContext& ctx;
    std::vector<std::string> args;
    std::string out;
    void print(const std::string& line) { out += line + "\r\n"; }
    // The QMP command doing the work; its error printed as HMP prints one.
    // (through QMP's own dispatch: the arguments are checked against the
    // schema as a QMP client's are)
    Result<Json> qmp(const std::string& name, const Json& args = Json::object()) {
        QmpSession session;
        session.negotiated = true;
        Json reply = qmp_dispatch(ctx, session, Json{{"execute", name}, {"arguments", args}});
        if (reply.contains("return")) return reply["return"];
        std::string msg = reply["error"].value("desc", "");
        print("Error: " + msg);
        return make_error(msg);
    }
    // One whose reply HMP does not show.
    void act(const std::string& name, const Json& args = Json::object()) { (void)qmp(name, args); }
};

struct HmpCommand {
    const char* names;   // "stop|s"
    const char* params;  // as help shows them
    const char* help;
    unsigned min_args, max_args;
    std::function<void(Call&)> run;
};

std::string speed_mbps(UsbSpeed s) {
    switch (s) {
    case UsbSpeed::Low: return "1.5";
    case UsbSpeed::Full: return "12";
    case UsbSpeed::High: return "480";
    case UsbSpeed::Super: return "5000";
    }
    return "?";
}

const std::vector<HmpCommand>& info_commands() {
    static const std::vector<HmpCommand> c = {
        {"chardev", "", "show the character devices", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-chardev"))
                 for (const Json& c : *r) k.print(c["label"].get<std::string>() + ": filename=" + c["filename"].get<std::string>());
         }},
        {"cpus", "", "show infos for each CPU", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-cpus-fast"))
                 for (const Json& c : *r)
                     k.print(std::string(c["cpu-index"] == 0 ? "* " : "  ") + "CPU #" +
                             std::to_string(c["cpu-index"].get<int>()) +
                             ": thread_id=" + std::to_string(c["thread-id"].get<int64_t>()));
         }},
        {"kvm", "", "show KVM information", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-kvm"))
                 k.print(std::string("kvm support: ") +
                         (!(*r)["present"].get<bool>() ? "not compiled" : (*r)["enabled"].get<bool>() ? "enabled" : "disabled"));
         }},
        {"name", "", "show the current VM name", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-name"); r && r->contains("name")) k.print((*r)["name"].get<std::string>());
         }},
        {"status", "", "show the current VM status (running|paused)", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-status")) {
                 std::string st = (*r)["status"].get<std::string>();
                 bool running = (*r)["running"].get<bool>();
                 k.print(std::string("VM status: ") + (running ? "running" : "paused") +
                         (!running && st != "paused" ? " (" + st + ")" : ""));
             }
         }},
        {"usb", "", "show guest USB devices", 0, 0, [](Call& k) {
             if (const virt::Board* b = k.ctx.machine.board())
                 for (const auto& u : b->usb_devices())
                     k.print("  Device " + std::to_string(u.bus) + "." + std::to_string(u.address) + ", Port " +
                             std::to_string(u.port) + ", Speed " + speed_mbps(u.speed) + " Mb/s, Product " +
                             u.product + (u.id.empty() ? "" : ", ID: " + u.id));
         }},
        {"uuid", "", "show the current VM UUID", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-uuid")) k.print((*r)["UUID"].get<std::string>());
         }},
        {"version", "", "show the version of QEMU", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-version")) {
                 const Json& q = (*r)["qemu"];
                 k.print(std::to_string(q["major"].get<int>()) + "." + std::to_string(q["minor"].get<int>()) + "." +
                         std::to_string(q["micro"].get<int>()) + " (" + (*r)["package"].get<std::string>() + ")");
             }
         }},
    };
    return c;
}

void print_help(Call& k, const std::vector<HmpCommand>& cmds, const std::string& prefix, const std::string& only) {
    for (const auto& c : cmds) {
        std::string names = c.names;
        if (!only.empty() && only != names.substr(0, names.find('|')) &&
            (names.find('|') == std::string::npos || only != names.substr(names.find('|') + 1)))
            continue;
        k.print(prefix + names + " " + c.params + " -- " + c.help);
    }
}

const std::vector<HmpCommand>& commands();

// xp's format, remembered from one use to the next as QEMU's monitor does.
char g_last_format = 'x';
unsigned g_last_size = 4;

// xp /FMT ADDR: physical memory as QEMU's memory_dump prints it.
void memory_dump(Call& k) {
    std::string fmt, addr;
    if (!k.args.empty() && k.args[0][0] == '/') {
        fmt = k.args[0].substr(1);
        if (k.args.size() > 1) addr = k.args[1];
    } else if (!k.args.empty()) {
        addr = k.args[0];
    }
    size_t at = 0;
    unsigned count = 0;
    while (at < fmt.size() && fmt[at] >= '0' && fmt[at] <= '9') count = count * 10 + (fmt[at++] - '0');
    char format = g_last_format;
    unsigned size = g_last_size;
    for (; at < fmt.size(); ++at) {
        char f = fmt[at];
        if (f == 'b' || f == 'h' || f == 'w' || f == 'g') {
            size = f == 'b' ? 1 : f == 'h' ? 2 : f == 'w' ? 4 : 8;
        } else if (f == 'x' || f == 'd' || f == 'u' || f == 'o') {
            format = f;
        } else {
            return k.print(std::string("invalid char in format: '") + f + "'\r\nTry \"help xp\" for more information");
        }
    }
    if (addr.empty()) return k.print("unexpected end of expression\r\nTry \"help xp\" for more information");
    char* end = nullptr;
    uint64_t pa = std::strtoull(addr.c_str(), &end, 0);
    if (!end || *end)
        return k.print(std::string("invalid char '") + *end + "' in expression\r\nTry \"help xp\" for more information");
    if (count == 0) count = 1;
    g_last_format = format;
    g_last_size = size;
    virt::Board* b = k.ctx.machine.board();
    unsigned digits = format == 'x' ? size * 2 : format == 'o' ? (size == 1 ? 3 : size == 2 ? 6 : size == 4 ? 11 : 22)
                                                  : (size == 1 ? 4 : size == 2 ? 6 : size == 4 ? 11 : 20);
    if (format == 'u') digits = size == 1 ? 3 : size == 2 ? 5 : size == 4 ? 10 : 20;
    if (format == 'd') digits = size == 1 ? 4 : size == 2 ? 6 : size == 4 ? 10 : 20;
    unsigned line_size = size == 1 ? 8 : 16;
    uint64_t total = static_cast<uint64_t>(count) * size;
    std::string line;
    for (uint64_t off = 0; off < total; off += size) {
        if (off % line_size == 0) {
            if (!line.empty()) k.print(line);
            char h[32];
            std::snprintf(h, sizeof h, "%016llx:", static_cast<unsigned long long>(pa + off));
            line = h;
        }
        uint64_t v = 0;
        if (!b || !b->read_phys(pa + off, size, v)) return k.print(line + " Cannot access memory");
        char item[48];
        if (format == 'x')
            std::snprintf(item, sizeof item, " 0x%0*llx", digits, static_cast<unsigned long long>(v));
        else if (format == 'o')
            std::snprintf(item, sizeof item, " %#*llo", digits, static_cast<unsigned long long>(v));
        else if (format == 'u')
            std::snprintf(item, sizeof item, " %*llu", digits, static_cast<unsigned long long>(v));
        else
            std::snprintf(item, sizeof item, " %*lld", digits, static_cast<long long>(v));
        line += item;
    }
    if (!line.empty()) k.print(line);
}

// sendkey's keys: names joined by '-', or numbers ("0x1e").
bool parse_keys(const std::string& spec, Json& keys, std::string& bad) {
    std::vector<std::string> parts;
    for (size_t at = 0;;) {
        size_t dash = spec.find('-', at);
        parts.push_back(spec.substr(at, dash == std::string::npos ? std::string::npos : dash - at));
        if (dash == std::string::npos) break;
        at = dash + 1;
    }
    for (const std::string& key : parts) {
        if (key.empty()) {
            bad = "";  // (QEMU names no key then)
            return false;
        }
        char* end = nullptr;
        if (key.rfind("0x", 0) == 0) {  // (a number is hex, as QEMU's sendkey takes one)
            long n = std::strtol(key.c_str(), &end, 16);
            if (key.size() == 2 || *end) {
                bad = key;
                return false;
            }
            keys.push_back({{"type", "number"}, {"data", n}});
        } else if (qcode_to_hid(key)) {
            keys.push_back({{"type", "qcode"}, {"data", key}});
        } else {
            bad = key;
            return false;
        }
    }
    return true;
}

const std::vector<HmpCommand>& commands() {
    static const std::vector<HmpCommand> c = {
        {"cont|c", "", "resume emulation", 0, 0, [](Call& k) { k.act("cont"); }},
        {"device_add", "driver[,prop=value][,...]", "add device, like -device on the command line", 1, 1,
         [](Call& k) {
             auto d = parse_keyval(k.args[0], KeyvalSpec{"driver", false});
             if (!d) {
                 k.print("Error: " + d.error().msg);
                 return;
             }
             k.act("device_add", d->dict);
         }},
        {"device_del", "device", "remove device", 1, 1, [](Call& k) { k.act("device_del", {{"id", k.args[0]}}); }},
        {"gdbserver", "[device]", "start gdbserver on given device (default 'tcp::1234'), stop with 'none'", 0, 1,
         [](Call& k) {
             std::string dev = k.args.empty() ? "tcp::1234" : k.args[0];
             auto r = k.ctx.machine.gdbserver(dev);
             if (!r) return k.print("Could not open gdbserver on device '" + dev + "'");
             k.out += *r;
         }},
        {"help|?", "[cmd]", "show the help", 0, 1, [](Call& k) {
             std::string only = k.args.empty() ? "" : k.args[0];
             if (only == "info") return print_help(k, info_commands(), "info ", "");
             print_help(k, commands(), "", only);
         }},
        {"info", "[subcommand]", "show various information about the system state", 0, 1, [](Call& k) {
             if (k.args.empty()) return print_help(k, info_commands(), "info ", "");
             for (const auto& c : info_commands())
                 if (k.args[0] == c.names) return c.run(k);
             k.print("unknown command: 'info " + k.args[0] + "'");
         }},
        {"quit|q", "", "quit the emulator", 0, 0, [](Call& k) { k.act("quit"); }},
        {"sendkey", "keys [hold_ms]", "send keys to the VM (e.g. 'sendkey ctrl-alt-f1', default hold time=100 ms)", 1, 2,
         [](Call& k) {
             Json keys = Json::array();
             std::string bad;
             if (!parse_keys(k.args[0], keys, bad)) return k.print("invalid parameter: " + bad);
             Json a = {{"keys", keys}};
             if (k.args.size() > 1) {
                 char* end = nullptr;
                 long hold = std::strtol(k.args[1].c_str(), &end, 0);
                 if (!end || *end) return k.print("sendkey: invalid char in expression '" + k.args[1] + "'");
                 a["hold-time"] = hold;
             }
             k.act("send-key", a);
         }},
        {"stop|s", "", "stop emulation", 0, 0, [](Call& k) { k.act("stop"); }},
        {"system_powerdown", "", "send system power down event", 0, 0, [](Call& k) { k.act("system_powerdown"); }},
        {"system_reset", "", "reset the system", 0, 0, [](Call& k) { k.act("system_reset"); }},
        {"xp", "/fmt addr", "physical memory dump starting at 'addr'", 0, 2, memory_dump},
    };
    return c;
}

}  // namespace

std::string hmp_execute(QmpContext& ctx, const std::string& line) {
    std::vector<std::string> words;
    std::stringstream ss(line);
    for (std::string w; ss >> w;) words.push_back(w);
    if (words.empty()) return "";
    for (const auto& c : commands()) {
        std::string names = c.names;
        bool match = false;
        for (size_t at = 0; at <= names.size();) {
            size_t bar = names.find('|', at);
            if (names.substr(at, bar == std::string::npos ? std::string::npos : bar - at) == words[0]) match = true;
            if (bar == std::string::npos) break;
            at = bar + 1;
        }
        if (!match) continue;
        Call k{ctx, {words.begin() + 1, words.end()}, ""};
        if (k.args.size() < c.min_args)
            return names + ": string expected\r\nTry \"help " + words[0] + "\" for more information\r\n";
        if (k.args.size() > c.max_args)
            return names + ": extraneous characters at the end of line\r\nTry \"help " + words[0] +
                   "\" for more information\r\n";
        c.run(k);
        return k.out;
    }
    return "unknown command: '" + words[0] + "'\r\n";
}

}  // namespace armvm
