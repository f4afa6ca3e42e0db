#include "monitor/hmp.hpp"

#include "net/slirp.hpp"

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cinttypes>
#include <functional>
#include <sstream>
#include <vector>

#include "base/keyval.hpp"
#include "base/log.hpp"
#include "base/trace.hpp"
#include "cpu-arm64/disas/disas.hpp"
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
    HmpState& st;
    std::string name;   // the command as typed ("p")
    std::string names;  // all its names ("print|p")
    std::string text;   // the line after the command's name, as typed ("/x 0x10 * 3")
    // QEMU's usage error: the message, then where help is.
    void usage(const std::string& msg) { print(msg + "\r\nTry \"help " + name + "\" for more information"); }
    // The arguments from `from` on as one expression ("0x10 * 3").
    std::string rest(size_t from) const {
        std::string r;
        for (size_t i = from; i < args.size(); ++i) r += (i > from ? " " : "") + args[i];
        return r;
    }
    // Every line of a multi-line text (ends in "\n") with "\r\n".
    void print_text(const std::string& text) {
        for (char c : text) {
            if (c == '\n') out += '\r';
            out += c;
        }
    }
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

// info mem / info tlb (QEMU has neither for Arm): the current CPU's EL1&0
// translation regime walked as the CPU would walk it. `merged`: runs of
// contiguous virtual and physical addresses with one set of permissions
// (in RISC-V's info mem layout); else every page and block.
void mappings(Call& k, bool merged) {
    virt::Board* b = k.ctx.machine.board();
    if (!b) return k.print("No CPU available");
    struct Run {
        uint64_t va, pa, size;
        std::string attr;
    };
    std::vector<Run> runs;
    bool on = false;
    b->with_cpu(k.st.cpu, [&](Cpu& c) {
        on = c.debug_mappings([&](uint64_t va, const mmu::Translation& t) {
            auto bit = [&](uint8_t p, char ch) { return (t.perm & p) ? ch : '-'; };
            std::string attr = {bit(mmu::kR1, 'r'), bit(mmu::kW1, 'w'), bit(mmu::kX1, 'x'), bit(mmu::kR0, 'r'),
                                bit(mmu::kW0, 'w'), bit(mmu::kX0, 'x'), t.global ? 'g' : '-'};
            uint64_t pa = t.pa_page & ~(t.size - 1);
            if (merged && !runs.empty() && runs.back().va + runs.back().size == va &&
                runs.back().pa + runs.back().size == pa && runs.back().attr == attr) {
                runs.back().size += t.size;
                return;
            }
            runs.push_back({va, pa, t.size, attr});
        });
    });
    if (!on) return k.print("No translation: the MMU is off (virtual addresses are physical)");
    char line[128];
    if (merged) {
        k.print("vaddr            paddr            size             attr");
        k.print("---------------- ---------------- ---------------- -------");
    }
    for (const Run& r : runs) {
        if (merged) {
            std::snprintf(line, sizeof line, "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %s", r.va, r.pa, r.size,
                          r.attr.c_str());
        } else {
            static const char* const kUnits[] = {"K", "M", "G"};
            uint64_t sz = r.size >> 10;
            unsigned u = 0;
            while (u < 2 && sz >= 1024 && !(sz & 1023)) sz >>= 10, ++u;
            std::snprintf(line, sizeof line, "%016" PRIx64 ": %016" PRIx64 " %4" PRIu64 "%s %s", r.va, r.pa, sz,
                          kUnits[u], r.attr.c_str());
        }
        k.print(line);
    }
}

// hostfwd_add / hostfwd_remove: on the named user netdev, or the first.
void hostfwd(Call& k, bool add) {
    virt::Board* b = k.ctx.machine.board();
    SlirpNet* net = nullptr;
    std::string id = k.args.size() == 2 ? k.args[0] : "", spec = k.args.back();
    bool found = false;  // (a netdev of that id, of any type)
    if (b)
        for (const auto& n : b->netdevs()) {
            if (!id.empty() && n->id() != id) continue;
            found = found || !id.empty();
            if (auto* s = dynamic_cast<SlirpNet*>(n.get())) {
                net = s;
                break;
            }
            if (!id.empty()) break;
        }
    if (!net) {  // (QEMU's three answers)
        if (id.empty()) k.print("user mode network stack not in use");
        else if (!found) k.print("unrecognized netdev id '" + id + "'");
        else k.print("invalid device specified");
        return;
    }
    if (add) {
        if (Status st = net->hostfwd_add(spec); !st) k.print(st.error().msg);
        return;
    }
    Status st = net->hostfwd_remove(spec);
    k.print(st ? "host forwarding rule for " + spec + " removed" : st.error().msg);
}

const std::vector<HmpCommand>& info_commands() {
    static const std::vector<HmpCommand> c = {
        {"balloon", "", "show balloon information", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-balloon"))
                 k.print("balloon: actual=" + std::to_string((*r)["actual"].get<int64_t>() >> 20));
         }},
        {"block", "[-n] [-v] [device]", "show info of one block device or all block devices (-n: show named nodes; -v: show details)",
         0, 3, [](Call& k) {
             bool nodes = false;
             std::string only;
             for (const auto& a : k.args) {
                 if (a == "-n") nodes = true;
                 else if (a == "-v") continue;  // (armvm's images have no more detail to show)
                 else only = a;
             }
             auto entry = [&](const Json* info, const Json* ins) {
                 std::string line;
                 if (info && !(*info)["device"].get<std::string>().empty()) {
                     line = (*info)["device"].get<std::string>();
                     if (ins && ins->contains("node-name")) line += " (" + (*ins)["node-name"].get<std::string>() + ")";
                 } else {
                     line = ins && ins->contains("node-name") ? (*ins)["node-name"].get<std::string>()
                            : info && info->contains("qdev") ? (*info)["qdev"].get<std::string>() : "<anonymous>";
                 }
                 if (ins)
                     line += ": " + (*ins)["file"].get<std::string>() + " (" + (*ins)["drv"].get<std::string>() +
                             ((*ins)["ro"].get<bool>() ? ", read-only" : "") +
                             (ins->value("encrypted", false) ? ", encrypted" : "") + ")";
                 else
                     line += ": [not inserted]";
                 k.print(line);
                 if (info) {
                     if (info->contains("qdev")) k.print("    Attached to:      " + (*info)["qdev"].get<std::string>());
                     if (info->contains("io-status") && (*info)["io-status"] != "ok")
                         k.print("    I/O status:       " + (*info)["io-status"].get<std::string>());
                     if ((*info)["removable"].get<bool>())
                         k.print(std::string("    Removable device: ") + ((*info)["locked"].get<bool>() ? "" : "not ") +
                                 "locked, tray " + (info->value("tray_open", false) ? "open" : "closed"));
                 }
                 if (!ins) return;
                 const Json& c = (*ins)["cache"];
                 k.print(std::string("    Cache mode:       ") + (c["writeback"].get<bool>() ? "writeback" : "writethrough") +
                         (c["direct"].get<bool>() ? ", direct" : "") + (c["no-flush"].get<bool>() ? ", ignore flushes" : ""));
                 if (ins->contains("backing_file"))
                     k.print("    Backing file:     " + (*ins)["backing_file"].get<std::string>() + " (chain depth: " +
                             std::to_string((*ins)["backing_file_depth"].get<int64_t>()) + ")");
                 if (ins->contains("detect_zeroes") && (*ins)["detect_zeroes"] != "off")
                     k.print("    Detect zeroes:    " + (*ins)["detect_zeroes"].get<std::string>());
             };
             if (nodes) {
                 auto r = k.qmp("query-named-block-nodes");
                 if (!r) return;
                 bool first = true;
                 for (const Json& n : *r) {
                     if (!only.empty() && n.value("node-name", "") != only) continue;
                     if (!first) k.print("");
                     first = false;
                     entry(nullptr, &n);
                 }
                 return;
             }
             auto r = k.qmp("query-block");
             if (!r) return;
             for (size_t i = 0; i < r->size(); ++i) {
                 const Json& b = (*r)[i];
                 if (!only.empty() && b["device"] != only) continue;
                 if (i) k.print("");  // (before every entry but the list's first, as QEMU)
                 entry(&b, b.contains("inserted") ? &b["inserted"] : nullptr);
             }
         }},
        {"blockstats", "", "show block device statistics", 0, 0, [](Call& k) {
             auto r = k.qmp("query-blockstats");
             if (!r) return;
             for (const auto& e : *r) {
                 const Json& st = e["stats"];
                 auto n = [&](const char* key) { return std::to_string(st.value(key, int64_t{0})); };
                 k.print(e.value("device", "") + ": rd_bytes=" + n("rd_bytes") + " wr_bytes=" + n("wr_bytes") +
                         " rd_operations=" + n("rd_operations") + " wr_operations=" + n("wr_operations") +
                         " flush_operations=" + n("flush_operations") + " wr_total_time_ns=" + n("wr_total_time_ns") +
                         " rd_total_time_ns=" + n("rd_total_time_ns") + " flush_total_time_ns=" +
                         n("flush_total_time_ns") + " rd_merged=" + n("rd_merged") + " wr_merged=" + n("wr_merged") +
                         " idle_time_ns=" + n("idle_time_ns"));
             }
         }},
        {"chardev", "", "show the character devices", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-chardev"))
                 for (const Json& c : *r) k.print(c["label"].get<std::string>() + ": filename=" + c["filename"].get<std::string>());
         }},
        {"cpus", "", "show infos for each CPU", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-cpus-fast"))
                 for (const Json& c : *r)
                     k.print(std::string(c["cpu-index"] == k.st.cpu ? "* " : "  ") + "CPU #" +
                             std::to_string(c["cpu-index"].get<int>()) +
                             ": thread_id=" + std::to_string(c["thread-id"].get<int64_t>()));
         }},
        {"hotpluggable-cpus", "", "Show information about hotpluggable CPUs", 0, 0, [](Call& k) {
             k.act("query-hotpluggable-cpus");  // (virt has none: QEMU's error)
         }},
        {"irq", "", "show the interrupts statistics (if available)", 0, 0, [](Call&) {}},  // (none on virt, as QEMU's)
        {"kvm", "", "show KVM information", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-kvm"))
                 k.print(std::string("kvm support: ") +
                         (!(*r)["present"].get<bool>() ? "not compiled" : (*r)["enabled"].get<bool>() ? "enabled" : "disabled"));
         }},
        {"mem", "", "show the active virtual memory mappings (attr: EL1 rwx, EL0 rwx, g: global)", 0, 0,
         [](Call& k) { mappings(k, true); }},
        {"mtree", "[-f][-d][-o][-D]",
         "show memory tree (-f: dump flat view for address spaces;-d: dump dispatch tree, valid with -f only);-o: "
         "dump region owners/parents;-D: dump disabled regions",
         0, 4, [](Call& k) {
             bool flat = false;
             for (const auto& a : k.args) {
                 if (a == "-f") flat = true;
                 else if (a == "-D") continue;  // (armvm keeps no disabled regions: a BAR turned off is gone)
                 else if (a == "-d" || a == "-o")
                     return k.print("mtree: " + a + " is not supported by armvm");
                 else
                     return k.print("mtree: unsupported option " + a + "\r\nTry \"help info mtree\" for more information");
             }
             if (const virt::Board* b = k.ctx.machine.board()) k.print_text(b->mtree(flat));
         }},
        {"name", "", "show the current VM name", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-name"); r && r->contains("name")) k.print((*r)["name"].get<std::string>());
         }},
        {"pic", "", "show PIC state", 0, 0, [](Call&) {}},  // (QEMU's virt prints nothing: no controller reports)
        {"network", "", "show the network state", 0, 0, [](Call& k) {
             const virt::Board* b = k.ctx.machine.board();
             if (!b) return;
             // (QEMU's order: backends without a NIC as made, then each NIC with its backend)
             auto client = [](const NetBackend& n) {
                 return n.id() + ": index=0,type=" + n.type() + "," + n.info();
             };
             for (const auto& n : b->netdevs())
                 if (!n->attached) k.print(client(*n));
             for (const auto& nic : b->nics()) {
                 k.print(nic.name + ": index=0,type=nic,model=" + nic.model + ",macaddr=" + nic.mac);
                 if (nic.peer) k.print(" \\ " + client(*nic.peer));
             }
         }},
        {"pci", "", "show PCI info", 0, 0, [](Call& k) {
             auto r = k.qmp("query-pci");
             if (!r) return;
             std::function<void(const Json&)> dev = [&](const Json& d) {
                 char line[160];
                 auto hex = [&](const char* fmt, uint64_t a, uint64_t b) {
                     std::snprintf(line, sizeof line, fmt, static_cast<unsigned long long>(a),
                                   static_cast<unsigned long long>(b));
                     k.print(line);
                 };
                 std::snprintf(line, sizeof line, "  Bus %2lld, device %3lld, function %lld:",
                               static_cast<long long>(d["bus"].get<int64_t>()),
                               static_cast<long long>(d["slot"].get<int64_t>()),
                               static_cast<long long>(d["function"].get<int64_t>()));
                 k.print(line);
                 const Json& ci = d["class_info"];
                 std::string cls;
                 if (ci.contains("desc")) {
                     cls = ci["desc"].get<std::string>();
                 } else {
                     std::snprintf(line, sizeof line, "Class %04llx", static_cast<unsigned long long>(ci["class"].get<int64_t>()));
                     cls = line;
                 }
                 const Json& id = d["id"];
                 hex(("    " + cls + ": PCI device %04llx:%04llx").c_str(), id["vendor"].get<uint64_t>(),
                     id["device"].get<uint64_t>());
                 if (id.contains("subsystem-vendor") && id.contains("subsystem"))
                     hex("      PCI subsystem %04llx:%04llx", id["subsystem-vendor"].get<uint64_t>(),
                         id["subsystem"].get<uint64_t>());
                 if (d.contains("irq")) {
                     std::snprintf(line, sizeof line, "      IRQ %lld, pin %c", static_cast<long long>(d["irq"].get<int64_t>()),
                                   static_cast<char>('A' + d.value("irq_pin", 1) - 1));
                     k.print(line);
                 }
                 const Json* br = d.contains("pci_bridge") ? &d["pci_bridge"] : nullptr;
                 if (br) {
                     const Json& b = (*br)["bus"];
                     k.print("      BUS " + std::to_string(b["number"].get<int64_t>()) + ".");
                     k.print("      secondary bus " + std::to_string(b["secondary"].get<int64_t>()) + ".");
                     k.print("      subordinate bus " + std::to_string(b["subordinate"].get<int64_t>()) + ".");
                     hex("      IO range [0x%04llx, 0x%04llx]", b["io_range"]["base"].get<uint64_t>(),
                         b["io_range"]["limit"].get<uint64_t>());
                     hex("      memory range [0x%08llx, 0x%08llx]", b["memory_range"]["base"].get<uint64_t>(),
                         b["memory_range"]["limit"].get<uint64_t>());
                     hex("      prefetchable memory range [0x%08llx, 0x%08llx]",
                         b["prefetchable_range"]["base"].get<uint64_t>(), b["prefetchable_range"]["limit"].get<uint64_t>());
                 }
                 for (const auto& reg : d["regions"]) {
                     uint64_t a = static_cast<uint64_t>(reg["address"].get<int64_t>()), size = reg["size"].get<uint64_t>();
                     std::string pre = "      BAR" + std::to_string(reg["bar"].get<int64_t>()) + ": ";
                     if (reg["type"] == "io") {
                         hex((pre + "I/O at 0x%04llx [0x%04llx].").c_str(), a, a + size - 1);
                     } else {
                         pre += reg.value("mem_type_64", false) ? "64 bit" : "32 bit";
                         pre += reg.value("prefetch", false) ? " prefetchable" : "";
                         hex((pre + " memory at 0x%08llx [0x%08llx].").c_str(), a, a + size - 1);
                     }
                 }
                 k.print("      id \"" + d.value("qdev_id", "") + "\"");
                 if (br && br->contains("devices"))
                     for (const auto& c : (*br)["devices"]) dev(c);
             };
             for (const auto& bus : *r)
                 for (const auto& d : bus["devices"]) dev(d);
         }},
        {"qom-tree", "[path]", "show QOM composition tree", 0, 1, [](Call& k) {
             const virt::Board* b = k.ctx.machine.board();
             if (!b) return;
             std::string path = k.args.empty() ? "/machine" : k.args[0];
             auto tree = b->qom_tree(k.ctx.machine.type().qom_typename());
             auto node = virt::Board::qom_find(tree, path);
             if (!node) return k.print("Path '" + path + "' could not be resolved.");
             // (children sorted by name, as QEMU's: "device[10]" before "device[1]")
             std::function<void(const virt::Board::QomNode&, unsigned)> show = [&](const virt::Board::QomNode& n,
                                                                                  unsigned depth) {
                 k.print(std::string(2 * depth, ' ') + "/" + n.name + " (" + n.type + ")");
                 std::vector<const virt::Board::QomNode*> kids;
                 for (const auto& c : n.children) kids.push_back(&c);
                 std::sort(kids.begin(), kids.end(), [](auto* a, auto* b) { return a->name < b->name; });
                 for (const auto* c : kids) show(*c, depth + 1);
             };
             show(*node, 0);
         }},
        {"qtree", "", "show device tree", 0, 0, [](Call& k) {
             if (const virt::Board* b = k.ctx.machine.board()) k.print_text(b->qtree());
         }},
        {"registers", "[-a|vcpu]",
         "show the cpu registers (-a: show register info for all cpus; vcpu: specific vCPU to query; show the current "
         "CPU's registers if no argument is specified)", 0, 1,
         [](Call& k) {
             virt::Board* b = k.ctx.machine.board();
             bool all = !k.args.empty() && k.args[0] == "-a";
             int one = static_cast<int>(k.st.cpu);
             if (!k.args.empty() && !all) {
                 if (k.args[0][0] == '-')
                     return k.print("registers: unsupported option " + k.args[0] +
                                    "\r\nTry \"help info registers\" for more information");
                 char* end = nullptr;
                 long v = std::strtol(k.args[0].c_str(), &end, 0);
                 if (!end || *end)
                     return k.print(std::string("invalid char '") + *end +
                                    "' in expression\r\nTry \"help info registers\" for more information");
                 one = static_cast<int>(v);
                 if (!b || v < 0 || static_cast<unsigned>(v) >= b->cpu_count())
                     return k.print("CPU#" + std::to_string(v) + " not available");
             }
             if (!b) return k.print("No CPU available");
             for (unsigned i = 0; i < b->cpu_count(); ++i) {
                 if (!all && static_cast<int>(i) != one) continue;
                 k.print("");
                 k.print("CPU#" + std::to_string(i));
                 b->with_cpu(i, [&](Cpu& c) { k.print_text(c.dump_state(true)); });
             }
         }},
        {"roms", "", "show roms", 0, 0, [](Call& k) {
             if (const virt::Board* b = k.ctx.machine.board()) k.print_text(b->roms());
         }},
        {"status", "", "show the current VM status (running|paused)", 0, 0, [](Call& k) {
             if (auto r = k.qmp("query-status")) {
                 std::string st = (*r)["status"].get<std::string>();
                 bool running = (*r)["running"].get<bool>();
                 k.print(std::string("VM status: ") + (running ? "running" : "paused") +
                         (!running && st != "paused" ? " (" + st + ")" : ""));
             }
         }},
        {"tlb", "", "show every page and block the current CPU's page tables map", 0, 0,
         [](Call& k) { mappings(k, false); }},
        {"trace-events", "[name] [vcpu]",
         "show available trace-events & their state (name: event name pattern; vcpu: vCPU to query, default is any)",
         0, 2, [](Call& k) {
             std::string name = k.args.empty() ? "*" : k.args[0];
             auto events = trace::query(name);
             if (!events) return k.print(trace::unknown_event(name));
             for (const trace::Event* e : *events) k.print(std::string(e->name) + " : state " + (e->on.load() ? "1" : "0"));
         }},
        {"usb", "", "show guest USB devices", 0, 0, [](Call& k) {
             if (const virt::Board* b = k.ctx.machine.board())
                 for (const auto& u : b->usb_devices())
                     k.print("  Device " + std::to_string(u.bus) + "." + std::to_string(u.address) + ", Port " +
                             std::to_string(u.port) + ", Speed " + speed_mbps(u.speed) + " Mb/s, Product " +
                             u.product + (u.id.empty() ? "" : ", ID: " + u.id));
         }},
        {"usernet", "", "show user network stack connection states", 0, 0, [](Call& k) {
             if (const virt::Board* b = k.ctx.machine.board())
                 for (const auto& n : b->netdevs())
                     if (auto* s = dynamic_cast<const SlirpNet*>(n.get())) {
                         k.print("Hub -1 (" + n->id() + "):");
                         k.print_text(s->connections());
                     }
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
        k.print_text(prefix + names + " " + c.params + " -- " + c.help + "\n");
    }
}

const std::vector<HmpCommand>& commands();

// An HMP expression as QEMU's monitor evaluates one: numbers (0x, 0
// octal, decimal), + - * / % & | ^ ~ and parentheses, spaces between.
// (Registers, $pc, are not among them on QEMU's Arm targets: "unknown
// register".) It reads as far as the expression goes, as QEMU's does: an
// argument after it starts where the expression ends ("16 /path" reads
// "16 /" and stops at 'p').
class Expr {
public:
    Expr(const std::string& s, size_t at) : s_(s), at_(at) {}
    bool parse(uint64_t& v, std::string& err) { return sum(v, err); }
    size_t end() {
        skip();
        return at_;
    }

private:
    void skip() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t')) ++at_;
    }
    bool unary(uint64_t& v, std::string& err) {
        skip();
        if (at_ >= s_.size()) return err = "unexpected end of expression", false;
        char c = s_[at_];
        if (c == '+' || c == '-' || c == '~') {
            ++at_;
            if (!unary(v, err)) return false;
            if (c == '-') v = -v;
            if (c == '~') v = ~v;
            return true;
        }
        if (c == '(') {
            ++at_;
            if (!sum(v, err)) return false;
            skip();
            if (at_ >= s_.size() || s_[at_] != ')') return err = "')' expected", false;
            ++at_;
            return true;
        }
        if (c == '$') return err = "unknown register", false;
        if (c >= '0' && c <= '9') {
            const char* b = s_.c_str() + at_;
            char* e = nullptr;
            v = std::strtoull(b, &e, 0);
            at_ += static_cast<size_t>(e - b);
            return true;
        }
        return err = std::string("invalid char '") + c + "' in expression", false;
    }
    bool product(uint64_t& v, std::string& err) {
        if (!unary(v, err)) return false;
        for (;;) {
            skip();
            if (at_ >= s_.size()) return true;
            char op = s_[at_];
            if (op != '*' && op != '/' && op != '%') return true;
            ++at_;
            uint64_t r;
            if (!unary(r, err)) return false;
            if ((op == '/' || op == '%') && r == 0) return err = "division by zero", false;
            v = op == '*' ? v * r : op == '/' ? static_cast<uint64_t>(static_cast<int64_t>(v) / static_cast<int64_t>(r))
                                                : static_cast<uint64_t>(static_cast<int64_t>(v) % static_cast<int64_t>(r));
        }
    }
    bool sum(uint64_t& v, std::string& err) {
        if (!product(v, err)) return false;
        for (;;) {
            skip();
            if (at_ >= s_.size()) return true;
            char op = s_[at_];
            if (op != '+' && op != '-' && op != '&' && op != '|' && op != '^') return true;
            ++at_;
            uint64_t r;
            if (!product(r, err)) return false;
            v = op == '+' ? v + r : op == '-' ? v - r : op == '&' ? v & r : op == '|' ? v | r : v ^ r;
        }
    }
    const std::string& s_;
    size_t at_;
};

// An expression argument of k.text from `at` (moved past it); false after
// printing QEMU's error.
bool eval_at(Call& k, size_t& at, uint64_t& v) {
    std::string err;
    Expr e(k.text, at);
    if (!e.parse(v, err)) {
        k.usage(err);
        return false;
    }
    at = e.end();
    return true;
}

// The whole rest of the line is the last argument: anything after it is
// "extraneous".
bool at_end(Call& k, size_t at) {
    while (at < k.text.size() && (k.text[at] == ' ' || k.text[at] == '\t')) ++at;
    if (at == k.text.size()) return true;
    k.print(k.names + ": extraneous characters at the end of line\r\nTry \"help " + k.name + "\" for more information");
    return false;
}

// An expression standing alone (cpu's index).
bool eval(Call& k, const std::string& text, uint64_t& v) {
    std::string err;
    Expr e(text, 0);
    if (!e.parse(v, err)) {
        k.usage(err);
        return false;
    }
    if (e.end() != text.size()) {
        k.print(k.names + ": extraneous characters at the end of line\r\nTry \"help " + k.name + "\" for more information");
        return false;
    }
    return true;
}

// A "/FMT" argument of x, xp and print (from `at`, moved past it): count,
// format and unit size, QEMU's defaults shared by every monitor.
struct Fmt {
    unsigned count = 1;
    char format = 'x';
    int size = 4;  // -1: 'i' without a size
};
bool parse_fmt(Call& k, size_t& at, Fmt& f) {
    auto& def = k.ctx.machine.hmp_format;
    const std::string& t = k.text;
    while (at < t.size() && t[at] == ' ') ++at;
    if (at >= t.size() || t[at] != '/') {
        f.format = def.format;
        f.size = def.format == 'i' ? -1 : def.size;
        return true;
    }
    ++at;
    if (at < t.size() && t[at] >= '0' && t[at] <= '9') {
        f.count = 0;
        while (at < t.size() && t[at] >= '0' && t[at] <= '9') f.count = f.count * 10 + (t[at++] - '0');
    }
    int size = -1, format = -1;
    for (; at < t.size(); ++at) {
        char c = t[at];
        if (c == 'o' || c == 'd' || c == 'u' || c == 'x' || c == 'i' || c == 'c') format = c;
        else if (c == 'b') size = 1;
        else if (c == 'h') size = 2;
        else if (c == 'w') size = 4;
        else if (c == 'g' || c == 'L') size = 8;
        else break;
    }
    if (at < t.size() && t[at] != ' ' && t[at] != '\t') {
        k.usage(std::string("invalid char in format: '") + t[at] + "'");
        return false;
    }
    if (format < 0) format = def.format;
    if (format != 'i') {
        if (size < 0) size = def.size;
        def.size = size;
    }
    def.format = static_cast<char>(format);
    f.format = static_cast<char>(format);
    f.size = size;
    return true;
}

// One character as QEMU's 'c' format shows it.
std::string quoted_char(uint8_t c) {
    char b[8];
    if (c == '\'' || c == '\\') std::snprintf(b, sizeof b, "'\\%c'", c);
    else if (c == '\n') return "'\\n'";
    else if (c == '\r') return "'\\r'";
    else if (c >= 32 && c <= 126) std::snprintf(b, sizeof b, "'%c'", c);
    else std::snprintf(b, sizeof b, "'\\x%02x'", c);
    return b;
}

// x (virtual, through the monitor CPU's MMU) and xp (physical):
// /COUNT FORMAT SIZE ADDR as QEMU's memory_dump prints it.
void memory_dump(Call& k, bool virt_addr) {
    size_t at = 0;
    Fmt f;
    uint64_t addr;
    if (!parse_fmt(k, at, f) || !eval_at(k, at, addr) || !at_end(k, at)) return;
    unsigned count = f.count;
    char format = f.format;
    unsigned size = f.size < 0 ? 4 : static_cast<unsigned>(f.size);
    virt::Board* b = k.ctx.machine.board();
    // A byte of the dump, by address (through the MMU for x).
    auto read = [&](uint64_t a, unsigned n, uint64_t& v) -> bool {
        if (!b) return false;
        uint64_t pa = a;
        if (virt_addr) {
            bool ok = false;
            b->with_cpu(k.st.cpu, [&](Cpu& c) { ok = c.debug_translate(a, pa); });
            if (!ok) return false;
            if ((a & 0xfff) + n > 0x1000) {  // (crossing into the next page: byte by byte)
                v = 0;
                for (unsigned i = 0; i < n; ++i) {
                    uint64_t byte;
                    bool okb = false;
                    uint64_t pb = 0;
                    b->with_cpu(k.st.cpu, [&](Cpu& c) { okb = c.debug_translate(a + i, pb); });
                    if (!okb || !b->read_phys(pb, 1, byte)) return false;
                    v |= byte << (8 * i);
                }
                return true;
            }
        }
        return b->read_phys(pa, n, v);
    };
    if (format == 'i') {
        for (unsigned i = 0; i < count; ++i) {
            uint64_t w, a = addr + 4ull * i;
            if (!read(a, 4, w)) {
                char m[64];
                std::snprintf(m, sizeof m, "0x%llx: unable to read memory", static_cast<unsigned long long>(a));
                return k.print(m);
            }
            k.print(disas_line(a, static_cast<uint32_t>(w)));
        }
        return;
    }
    uint64_t total = static_cast<uint64_t>(count) * size;
    unsigned line_size = size == 1 ? 8 : 16;
    if (format == 'c') size = 1;  // (after the length and line: x/2c shows 2 units' worth of chars, as QEMU)
    unsigned digits = format == 'x' ? size * 2 : format == 'o' ? (size == 1 ? 3 : size == 2 ? 6 : size == 4 ? 11 : 22)
                                                  : (size == 1 ? 4 : size == 2 ? 6 : size == 4 ? 11 : 20);
    if (format == 'u') digits = size == 1 ? 3 : size == 2 ? 5 : size == 4 ? 10 : 20;
    if (format == 'd') digits = size == 1 ? 4 : size == 2 ? 6 : size == 4 ? 10 : 20;
    std::string line;
    for (uint64_t off = 0; off < total; off += size) {
        if (off % line_size == 0) {
            if (!line.empty()) k.print(line);
            char h[32];
            std::snprintf(h, sizeof h, "%016llx:", static_cast<unsigned long long>(addr + off));
            line = h;
        }
        uint64_t v = 0;
        if (!read(addr + off, size, v)) return k.print(line + " Cannot access memory");
        char item[48];
        if (format == 'x')
            std::snprintf(item, sizeof item, " 0x%0*llx", digits, static_cast<unsigned long long>(v));
        else if (format == 'o')
            std::snprintf(item, sizeof item, " %#*llo", digits, static_cast<unsigned long long>(v));
        else if (format == 'u')
            std::snprintf(item, sizeof item, " %*llu", digits, static_cast<unsigned long long>(v));
        else if (format == 'c')
            std::snprintf(item, sizeof item, " %s", quoted_char(static_cast<uint8_t>(v)).c_str());
        else
            std::snprintf(item, sizeof item, " %*lld", digits, static_cast<long long>(v));
        line += item;
    }
    if (!line.empty()) k.print(line);
}

// memsave/pmemsave ADDR SIZE FILE: guest memory into a host file
// (memsave through the monitor CPU's MMU; pmemsave physical, where
// nothing answers reads as zero, as QEMU's).
void memory_save(Call& k, bool virt_addr) {
    uint64_t addr, size;
    size_t at = 0;
    if (!eval_at(k, at, addr) || !eval_at(k, at, size)) return;
    // the file: the next word (QEMU's string argument; quotes allowed)
    std::string file;
    if (at < k.text.size() && k.text[at] == '"') {
        size_t q = k.text.find('"', at + 1);
        if (q == std::string::npos) return k.usage("invalid string");
        file = k.text.substr(at + 1, q - at - 1);
        at = q + 1;
    } else {
        size_t e = k.text.find_first_of(" \t", at);
        file = k.text.substr(at, e == std::string::npos ? std::string::npos : e - at);
        at = e == std::string::npos ? k.text.size() : e;
    }
    if (file.empty()) return k.print(k.names + ": string expected\r\nTry \"help " + k.name + "\" for more information");
    if (!at_end(k, at)) return;
    virt::Board* b = k.ctx.machine.board();
    if (!b) return k.print("Error: no CPU to read memory with");
    // (the file first, as QEMU: a bad address leaves it with what was read)
    std::FILE* f = std::fopen(file.c_str(), "wb");
    if (!f) return k.print("Error: Could not open '" + file + "': " + std::strerror(errno));
    std::string data;
    uint64_t page_pa = 0;
    bool ok = true;
    std::string err;
    for (uint64_t i = 0; i < size; ++i) {
        uint64_t a = addr + i, v;
        if (virt_addr && (i == 0 || (a & 0xfff) == 0)) {
            bool mapped = false;
            b->with_cpu(k.st.cpu, [&](Cpu& c) { mapped = c.debug_translate(a & ~0xfffull, page_pa); });
            if (!mapped) {
                char m[96];
                std::snprintf(m, sizeof m, "Error: Invalid addr 0x%016llx/size %lld specified",
                              static_cast<unsigned long long>(addr), static_cast<long long>(size));
                err = m;
                break;
            }
        }
        uint64_t pa = virt_addr ? page_pa | (a & 0xfff) : a;
        if (!b->read_phys(pa, 1, v)) v = 0;
        data += static_cast<char>(v);
    }
    ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
    ok = std::fclose(f) == 0 && ok;
    if (!err.empty()) return k.print(err);
    if (!ok) k.print("Error: writing memory to '" + file + "' failed");
}

// print/p /FMT EXPR.
void print_expr(Call& k) {
    size_t at = 0;
    Fmt f;
    uint64_t v;
    if (!parse_fmt(k, at, f) || !eval_at(k, at, v) || !at_end(k, at)) return;
    char b[48];
    switch (f.format) {
    case 'o': std::snprintf(b, sizeof b, "%#llo", static_cast<unsigned long long>(v)); break;
    case 'x': std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v)); break;
    case 'u': std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(v)); break;
    case 'c': return k.print(quoted_char(static_cast<uint8_t>(v)));
    default: std::snprintf(b, sizeof b, "%lld", static_cast<long long>(v)); break;
    }
    k.print(b);
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
        {"drive_add", "[-n] [[<domain>:]<bus>:]<slot>\n[file=file][,if=type][,bus=n]\n[,unit=m][,media=d][,index=i]\n"
                      "[,snapshot=on|off][,cache=on|off]\n[,readonly=on|off][,copy-on-read=on|off]",
         "add drive to PCI storage controller", 2, 3, [](Call& k) {
             // (the PCI address is the old IDE/SCSI hot-add's; a drive for
             // -device/device_add is if=none, as on QEMU's virt)
             if (k.args.size() == 3 && k.args[0] != "-n") return k.usage(k.name + ": extraneous characters at the end of line");
             auto d = parse_keyval(k.args.back(), KeyvalSpec{"", false});
             if (!d) return k.print(d.error().msg);
             // -n: a node without a drive, named by node-name (taken here as a drive of that name)
             if (k.args[0] == "-n" && !d->dict.contains("node-name")) return k.print("'node-name' needs to be specified");
             static const char* const kIf[] = {"none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen"};
             std::string iface = d->dict.value("if", "virtio");  // (the virt board's default)
             unsigned type = 0;
             while (type < 9 && iface != kIf[type]) ++type;
             if (type == 9) return k.print("unsupported bus type '" + iface + "'");
             if (type != 0) return k.print("Can't hot-add drive to type " + std::to_string(type));
             virt::Board* b = k.ctx.machine.board();
             if (!b) return k.print("Can't hot-add drive without a machine");
             Status st = b->block_layer().add_drive(d->dict, "", false);
             if (!st) {
                 std::string msg = st.error().msg;
                 return k.print(msg.rfind(": ", 0) == 0 ? msg.substr(2) : msg);
             }
             k.print("OK");
         }},
        {"gdbserver", "[device]", "start gdbserver on given device (default 'tcp::1234'), stop with 'none'", 0, 1,
         [](Call& k) {
             std::string dev = k.args.empty() ? "tcp::1234" : k.args[0];
             auto r = k.ctx.machine.gdbserver(dev);
             if (!r) return k.print("Could not open gdbserver on device '" + dev + "'");
             k.out += *r;
         }},
        {"cpu", "index", "set the default CPU", 1, 1, [](Call& k) {
             uint64_t i;
             if (!eval(k, k.rest(0), i)) return;
             const virt::Board* b = k.ctx.machine.board();
             if (!b || i >= b->cpu_count()) return k.print("invalid CPU index");
             k.st.cpu = static_cast<unsigned>(i);
         }},
        {"help|?", "[cmd]", "show the help", 0, 64, [](Call& k) {  // (as QEMU's: words after the command are ignored)
             std::string only = k.args.empty() ? "" : k.args[0];
             if (only == "info" && k.args.size() > 1) {
                 for (const auto& c : info_commands())
                     if (k.args[1] == c.names) return print_help(k, info_commands(), "info ", c.names);
                 return k.print("unknown command: 'info " + k.args[1] + "'");
             }
             if (only == "info") return print_help(k, info_commands(), "info ", "");
             if (only == "log") return k.print_text(qlog::items_help(true));  // (as QEMU's help log)
             size_t before = k.out.size();
             print_help(k, commands(), "", only);
             if (!only.empty() && k.out.size() == before) k.print("unknown command: '" + only + "'");
         }},
        {"hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
         "redirect TCP or UDP connections from host to guest (requires -net user)", 1, 2,
         [](Call& k) { hostfwd(k, true); }},
        {"hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
         "remove host-to-guest TCP or UDP redirection", 1, 2, [](Call& k) { hostfwd(k, false); }},
        {"info", "[subcommand]", "show various information about the system state", 0, 64, [](Call& k) {
             if (k.args.empty()) return print_help(k, info_commands(), "info ", "");
             for (const auto& c : info_commands()) {
                 if (k.args[0] != c.names) continue;
                 Call sub{k.ctx, {k.args.begin() + 1, k.args.end()}, "", k.st, "info " + k.args[0], c.names, ""};
                 if (sub.args.size() > c.max_args) {
                     sub.print(std::string(c.names) + ": extraneous characters at the end of line\r\nTry \"help info " + k.args[0] +
                               "\" for more information");
                 } else {
                     c.run(sub);
                 }
                 k.out += sub.out;
                 return;
             }
             k.print("unknown command: 'info " + k.args[0] + "'");
         }},
        {"log", "item1[,...]", "activate logging of the specified items", 1, 1, [](Call& k) {
             auto m = qlog::parse_items(k.args[0]);
             if (!m) return k.print_text(qlog::items_help(true));
             if (Status st = qlog::configure(*m, qlog::file()); !st)
                 k.print("Error opening logfile " + qlog::file() + ": " + st.error().msg);
         }},
        {"logfile", "filename", "output logs to 'filename'", 1, 1, [](Call& k) {
             if (Status st = qlog::configure(qlog::mask(), k.args[0]); !st)
                 k.print("Error opening logfile " + k.args[0] + ": " + st.error().msg);
         }},
        {"memsave", "addr size file", "save to disk virtual memory dump starting at 'addr' of size 'size'", 3, 3,
         [](Call& k) { memory_save(k, true); }},
        {"netdev_add", "[user|tap|socket|stream|dgram|vde|bridge|hubport|netmap|vhost-user],id=str[,prop=value][,...]",
         "add host network device", 1, 1, [](Call& k) {
             auto d = parse_keyval(k.args[0], KeyvalSpec{"type", false});
             if (!d) {
                 k.print("Error: " + d.error().msg);
                 return;
             }
             QmpSession session;
             session.negotiated = true;
             Json reply = qmp_dispatch(k.ctx, session, Json{{"execute", "netdev_add"}, {"arguments", d->dict}});
             if (!reply.contains("error")) return;
             std::string msg = reply["error"].value("desc", "");
             // (QEMU's option parser refuses a duplicate id before the
             // command runs: only its usage hint reaches the monitor)
             if (msg.rfind("Duplicate ID", 0) == 0) return k.print("Try \"help netdev_add\" for more information");
             k.print("Error: " + msg);
         }},
        {"netdev_del", "id", "remove host network device", 1, 1, [](Call& k) { k.act("netdev_del", {{"id", k.args[0]}}); }},
        {"nmi", "", "inject an NMI", 0, 0, [](Call& k) { k.act("inject-nmi"); }},
        {"pmemsave", "addr size file", "save to disk physical memory dump starting at 'addr' of size 'size'", 3, 3,
         [](Call& k) { memory_save(k, false); }},
        {"print|p", "/fmt expr", "print expression value (use $reg for CPU register access)", 0, 64, print_expr},
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
        {"trace-event", "name on|off [vcpu]",
         "changes status of a specific trace event (vcpu: vCPU to set, default is all)", 2, 3, [](Call& k) {
             if (k.args[1] != "on" && k.args[1] != "off") return k.usage("Expected 'on' or 'off'");
             if (!trace::enable(k.args[0], k.args[1] == "on")) k.print(trace::unknown_event(k.args[0]));
         }},
        {"x", "/fmt addr", "virtual memory dump starting at 'addr'", 0, 64, [](Call& k) { memory_dump(k, true); }},
        {"xp", "/fmt addr", "physical memory dump starting at 'addr'", 0, 64, [](Call& k) { memory_dump(k, false); }},
    };
    return c;
}

}  // namespace

std::string hmp_execute(QmpContext& ctx, const std::string& line) {
    HmpState st;
    return hmp_execute(ctx, line, st);
}

std::string hmp_execute(QmpContext& ctx, const std::string& line, HmpState& st) {
    std::vector<std::string> words;
    std::stringstream ss(line);
    for (std::string w; ss >> w;) words.push_back(w);
    if (words.empty()) return "";
    // "x/4i ADDR": the name ends at a '/' too (the format follows it).
    if (size_t slash = words[0].find('/'); slash != std::string::npos && slash > 0) {
        words.insert(words.begin() + 1, words[0].substr(slash));
        words[0].resize(slash);
    }
    size_t name_at = line.find_first_not_of(" \t");
    std::string text = line.substr(name_at + words[0].size());
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
        Call k{ctx, {words.begin() + 1, words.end()}, "", st, words[0], names, text};
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
