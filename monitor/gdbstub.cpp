#include "monitor/gdbstub.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "hw/char/chardev.hpp"
#include "machine/machine.hpp"
#include "machine/virt/board.hpp"
#include "monitor/hmp.hpp"
#include "monitor/qmp_server.hpp"

namespace armvm {
namespace {

// GDB's signal numbers in stop replies.
constexpr unsigned kSigInt = 2, kSigQuit = 3, kSigTrap = 5;
constexpr size_t kMaxPacket = 0x1000;  // PacketSize, as QEMU

// The register layout gdb expects of an aarch64 target: feature
// org.gnu.gdb.aarch64.core (x0-x30, sp, pc, cpsr: regnums 0-33) and
// org.gnu.gdb.aarch64.fpu (v0-v31, fpsr, fpcr: 34-67), cpsr a plain
// 32-bit value as QEMU describes it.
std::string core_xml() {
    std::string x = "<?xml version=\"1.0\"?>\n<!DOCTYPE feature SYSTEM \"gdb-target.dtd\">\n"
                    "<feature name=\"org.gnu.gdb.aarch64.core\">\n";
    for (int i = 0; i <= 30; ++i) x += "  <reg name=\"x" + std::to_string(i) + "\" bitsize=\"64\"/>\n";
    x += "  <reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
         "  <reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>\n"
         "  <reg name=\"cpsr\" bitsize=\"32\"/>\n</feature>\n";
    return x;
}

std::string fpu_xml() {
    std::string x = "<?xml version=\"1.0\"?>\n<!DOCTYPE feature SYSTEM \"gdb-target.dtd\">\n"
                    "<feature name=\"org.gnu.gdb.aarch64.fpu\">\n";
    // The views of a 128-bit V register gdb offers (v0.d.f[1], v0.b.u[3], ...).
    const char* vectors[][3] = {{"v2d", "ieee_double", "2"}, {"v2u", "uint64", "2"},  {"v2i", "int64", "2"},
                                {"v4f", "ieee_single", "4"}, {"v4u", "uint32", "4"},  {"v4i", "int32", "4"},
                                {"v8u", "uint16", "8"},      {"v8i", "int16", "8"},   {"v16u", "uint8", "16"},
                                {"v16i", "int8", "16"},      {"v1u", "uint128", "1"}, {"v1i", "int128", "1"}};
    for (auto& v : vectors)
        x += std::string("  <vector id=\"") + v[0] + "\" type=\"" + v[1] + "\" count=\"" + v[2] + "\"/>\n";
    auto u = [&](const char* id, std::vector<std::pair<const char*, const char*>> fields) {
        x += std::string("  <union id=\"") + id + "\">\n";
        for (auto& [n, t] : fields) x += std::string("    <field name=\"") + n + "\" type=\"" + t + "\"/>\n";
        x += "  </union>\n";
    };
    u("vnd", {{"f", "v2d"}, {"u", "v2u"}, {"s", "v2i"}});
    u("vns", {{"f", "v4f"}, {"u", "v4u"}, {"s", "v4i"}});
    u("vnh", {{"u", "v8u"}, {"s", "v8i"}});
    u("vnb", {{"u", "v16u"}, {"s", "v16i"}});
    u("vnq", {{"u", "v1u"}, {"s", "v1i"}});
    u("aarch64v", {{"d", "vnd"}, {"s", "vns"}, {"h", "vnh"}, {"b", "vnb"}, {"q", "vnq"}});
    for (int i = 0; i < 32; ++i)
        x += "  <reg name=\"v" + std::to_string(i) + "\" bitsize=\"128\" type=\"aarch64v\"" +
             (i == 0 ? " regnum=\"34\"" : "") + "/>\n";
    x += "  <reg name=\"fpsr\" bitsize=\"32\"/>\n  <reg name=\"fpcr\" bitsize=\"32\"/>\n</feature>\n";
    return x;
}

std::string target_xml(bool sysregs) {
    return std::string("<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target><architecture>"
                       "aarch64</architecture><xi:include href=\"aarch64-core.xml\"/><xi:include "
                       "href=\"aarch64-fpu.xml\"/>") +
           (sysregs ? "<xi:include href=\"system-registers.xml\"/>" : "") + "</target>";
}

constexpr unsigned kFirstSysReg = 68;  // after the core's 0-33 and the FPU's 34-67

std::string sysregs_xml(const std::vector<const GdbSysReg*>& regs) {
    std::string x = "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><feature "
                    "name=\"org.qemu.gdb.arm.sys.regs\">";
    for (size_t i = 0; i < regs.size(); ++i)
        x += "<reg name=\"" + regs[i]->name + "\" bitsize=\"64\" regnum=\"" + std::to_string(kFirstSysReg + i) +
             "\" group=\"cp_regs\"/>";
    return x + "</feature>";
}

std::string hex_bytes(const void* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) {
        s += d[b[i] >> 4];
        s += d[b[i] & 15];
    }
    return s;
}

std::string hex_string(std::string_view s) { return hex_bytes(s.data(), s.size()); }

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unhex(std::string_view h, std::vector<uint8_t>& out) {
    if (h.size() % 2) return false;
    out.clear();
    for (size_t i = 0; i < h.size(); i += 2) {
        int a = hexval(h[i]), b = hexval(h[i + 1]);
        if (a < 0 || b < 0) return false;
        out.push_back(static_cast<uint8_t>(a * 16 + b));
    }
    return true;
}

// A hex number (no prefix) that fills the whole view.
bool parse_hex(std::string_view s, uint64_t& v) {
    if (s.empty() || s.size() > 16) return false;
    v = 0;
    for (char c : s) {
        int d = hexval(c);
        if (d < 0) return false;
        v = v * 16 + static_cast<uint64_t>(d);
    }
    return true;
}

// "ADDR,LEN" (and ",KIND" forms: the first two fields).
bool parse_addr_len(std::string_view s, uint64_t& addr, uint64_t& len) {
    auto comma = s.find(',');
    if (comma == std::string_view::npos) return false;
    std::string_view rest = s.substr(comma + 1);
    auto end = rest.find_first_of(",:;");
    return parse_hex(s.substr(0, comma), addr) && parse_hex(rest.substr(0, end), len);
}

// Binary data in a reply: '#', '$', '}' and '*' escaped.
std::string escape(std::string_view s) {
    std::string r;
    for (char c : s) {
        if (c == '#' || c == '$' || c == '}' || c == '*') {
            r += '}';
            r += static_cast<char>(c ^ 0x20);
        } else {
            r += c;
        }
    }
    return r;
}

}  // namespace

GdbStub::GdbStub(Machine& m, Chardev& ch) : machine_(m), chardev_(ch) {
    cpus_ = m.board() ? m.board()->cpu_count() : 1;
}

GdbStub::~GdbStub() {
    if (connected_) chardev_.write("$W00#b7");  // the VM is gone: gdb says "exited normally"
    if (!breakpoints_.empty() || !watchpoints_.empty()) remove_all();
    chardev_.detach();
}

void GdbStub::start() {
    Chardev::Frontend fe;
    fe.on_open = [this] { on_open(); };
    fe.on_read = [this](std::string_view d) { on_read(d); };
    fe.on_close = [this] { on_close(); };
    chardev_.attach(std::move(fe));
}

void GdbStub::on_open() {
    connected_ = true;
    rx_ = Rx::Idle;
    waiting_ = false;
    multiprocess_ = false;
    phys_mode_ = false;
    g_cpu_ = c_cpu_ = 0;
    // A debugger that connects finds the VM stopped (as QEMU's gdbstub).
    (void)machine_.stop();
}

void GdbStub::on_close() {
    connected_ = false;
    waiting_ = false;
    remove_all();
}

void GdbStub::remove_all() {
    breakpoints_.clear();
    watchpoints_.clear();
    if (auto* b = machine_.board(); b && b->debug_supported() && !machine_.running())
        (void)b->set_debug({}, {}, std::vector<bool>(cpus_, false));
    else if (b && b->debug_supported()) {
        b->pause();  // (set_debug wants the CPUs still)
        (void)b->set_debug({}, {}, std::vector<bool>(cpus_, false));
        b->resume();
    }
}

void GdbStub::on_read(std::string_view data) {
    for (char ch : data) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (rx_) {
        case Rx::Idle:
            if (c == '$') {
                pkt_.clear();
                sum_ = 0;
                rx_ = Rx::Data;
            } else if (c == 0x03) {  // Ctrl-C: stop the VM (the stop reply says SIGINT)
                if (machine_.running()) (void)machine_.stop();
            } else if (c == '-' && !last_sent_.empty()) {
                chardev_.write(last_sent_);  // gdb asks again
            }
            // ('+' acknowledges our last packet; anything else is noise)
            break;
        case Rx::Data:
            if (c == '#') {
                rx_ = Rx::Sum1;
            } else if (pkt_.size() > kMaxPacket * 2) {
                rx_ = Rx::Idle;  // far longer than PacketSize: drop it
                chardev_.write("-");
            } else {
                pkt_ += static_cast<char>(c);
                sum_ += c;
            }
            break;
        case Rx::Sum1:
            got_sum_ = static_cast<unsigned>(hexval(static_cast<char>(c)) << 4);
            rx_ = hexval(static_cast<char>(c)) < 0 ? Rx::Idle : Rx::Sum2;
            if (rx_ == Rx::Idle) chardev_.write("-");
            break;
        case Rx::Sum2: {
            rx_ = Rx::Idle;
            int lo = hexval(static_cast<char>(c));
            if (lo < 0 || (got_sum_ | static_cast<unsigned>(lo)) != (sum_ & 0xff)) {
                chardev_.write("-");
                break;
            }
            chardev_.write("+");
            // '}' escapes in what gdb sends (X packets): undo them here.
            std::string p;
            for (size_t i = 0; i < pkt_.size(); ++i) {
                if (pkt_[i] == '}' && i + 1 < pkt_.size())
                    p += static_cast<char>(pkt_[++i] ^ 0x20);
                else
                    p += pkt_[i];
            }
            handle(p);
            break;
        }
        }
    }
}

void GdbStub::send(const std::string& payload) {
    unsigned sum = 0;
    for (unsigned char c : payload) sum += c;
    char tail[4];
    std::snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
    last_sent_ = "$" + payload + tail;
    chardev_.write(last_sent_);
}

std::string GdbStub::thread_id(unsigned cpu) const {
    char buf[32];
    if (multiprocess_)
        std::snprintf(buf, sizeof buf, "p%02x.%02x", 1u, cpu + 1);
    else
        std::snprintf(buf, sizeof buf, "%02x", cpu + 1);
    return buf;
}

int GdbStub::parse_thread(std::string_view s) const {
    if (!s.empty() && s[0] == 'p') {  // pPID.TID
        auto dot = s.find('.');
        std::string_view pid = s.substr(1, dot == std::string_view::npos ? std::string_view::npos : dot - 1);
        uint64_t p = 0;
        if (pid == "-1") {
            if (dot == std::string_view::npos || s.substr(dot + 1) == "-1") return -1;
            return -2;
        }
        if (!parse_hex(pid, p) || p > 1) return -2;  // one process: 1 (0: any)
        if (dot == std::string_view::npos) return -1;
        s = s.substr(dot + 1);
    }
    if (s == "-1") return -1;
    uint64_t t;
    if (!parse_hex(s, t)) return -2;
    if (t == 0) return 0;  // any thread: the first
    if (t > cpus_) return -2;
    return static_cast<int>(t - 1);
}

const std::vector<const GdbSysReg*>& GdbStub::sysregs() {
    if (!sysregs_) {
        // QEMU's names for the registers this CPU (TCG) or the host's KVM
        // has, in armvm's table order.
        sysregs_.emplace();
        if (virt::Board* b = machine_.board()) {
            std::vector<uint32_t> keys = b->debug_sysreg_keys();
            std::sort(keys.begin(), keys.end());
            for (const auto& r : gdb_sysregs())
                if (std::binary_search(keys.begin(), keys.end(), r.desc->key)) sysregs_->push_back(&r);
        }
    }
    return *sysregs_;
}

std::string GdbStub::read_sysreg(unsigned n) {
    uint64_t v = 0;
    const auto& regs = sysregs();
    if (n - kFirstSysReg >= regs.size() || !machine_.board()->read_sysreg(g_cpu_, regs[n - kFirstSysReg]->desc->key, v))
        return "";
    return hex_bytes(&v, 8);
}

std::string GdbStub::read_reg(Cpu& c, unsigned n) const {
    if (n <= 30) return hex_bytes(&c.s.x[n], 8);
    if (n == 31) {
        uint64_t sp = c.sp();
        return hex_bytes(&sp, 8);
    }
    if (n == 32) return hex_bytes(&c.s.pc, 8);
    if (n == 33) {
        uint32_t v = c.pstate();
        return hex_bytes(&v, 4);
    }
    if (n >= 34 && n <= 65) return hex_bytes(c.s.v[n - 34], 16);
    if (n == 66) return hex_bytes(&c.s.fpsr, 4);
    if (n == 67) return hex_bytes(&c.s.fpcr, 4);
    return "";
}

bool GdbStub::write_reg(Cpu& c, unsigned n, std::string_view hex) {
    std::vector<uint8_t> b;
    if (!unhex(hex, b)) return false;
    auto u64 = [&] {
        uint64_t v = 0;
        std::memcpy(&v, b.data(), 8);
        return v;
    };
    auto u32 = [&] {
        uint32_t v = 0;
        std::memcpy(&v, b.data(), 4);
        return v;
    };
    if (n <= 32 && b.size() == 8) {
        if (n <= 30) c.s.x[n] = u64();
        else if (n == 31) c.set_sp(u64());
        else c.s.pc = u64();
        return true;
    }
    if (n == 33 && b.size() == 4) {
        c.set_pstate(u32());
        return true;
    }
    if (n >= 34 && n <= 65 && b.size() == 16) {
        std::memcpy(c.s.v[n - 34], b.data(), 16);
        return true;
    }
    if ((n == 66 || n == 67) && b.size() == 4) {
        (n == 66 ? c.s.fpsr : c.s.fpcr) = u32();
        return true;
    }
    return false;
}

bool GdbStub::translate(uint64_t va, uint64_t& pa) {
    if (phys_mode_) {
        pa = va;
        return true;
    }
    bool ok = false;
    machine_.board()->with_cpu(g_cpu_, [&](Cpu& c) { ok = c.debug_translate(va, pa); });
    return ok;
}

bool GdbStub::read_memory(uint64_t addr, uint64_t len, std::string& hex) {
    virt::Board* b = machine_.board();
    std::vector<uint8_t> bytes;
    uint64_t pa = 0;
    for (uint64_t i = 0; i < len; ++i) {
        uint64_t va = addr + i;
        if ((i == 0 || (va & 0xfff) == 0) && !translate(va, pa)) return false;
        uint64_t v;
        if (!b->read_phys((pa & ~0xfffull) | (va & 0xfff), 1, v)) return false;
        bytes.push_back(static_cast<uint8_t>(v));
    }
    hex = hex_bytes(bytes.data(), bytes.size());
    return true;
}

bool GdbStub::write_memory(uint64_t addr, const std::vector<uint8_t>& bytes) {
    virt::Board* b = machine_.board();
    uint64_t pa = 0;
    for (uint64_t i = 0; i < bytes.size(); ++i) {
        uint64_t va = addr + i;
        if ((i == 0 || (va & 0xfff) == 0) && !translate(va, pa)) return false;
        if (!b->write_phys((pa & ~0xfffull) | (va & 0xfff), 1, bytes[i])) return false;
    }
    return true;
}

void GdbStub::resume(const std::vector<char>& actions) {
    virt::Board* b = machine_.board();
    std::vector<bool> step(cpus_, false), run(cpus_, false);
    for (unsigned i = 0; i < cpus_; ++i) {
        step[i] = actions[i] == 's';
        run[i] = actions[i] != 0;
    }
    if (machine_.state() == RunState::Shutdown) {  // nothing can run until a reset
        char buf[48];
        std::snprintf(buf, sizeof buf, "T%02xthread:%s;", kSigQuit, thread_id(c_cpu_).c_str());
        return send(buf);
    }
    if (!b->set_debug(breakpoints_, watchpoints_, step)) return send("E22");
    waiting_ = true;
    Status st = machine_.debug_resume(run);
    if (!st) {
        waiting_ = false;
        send("E22");
    }
}

void GdbStub::vcont(std::string_view args) {
    // ";ACTION[:THREAD]" items: each thread takes the first that names it.
    std::vector<char> actions(cpus_, 0);
    std::vector<bool> set(cpus_, false);
    while (!args.empty()) {
        if (args[0] != ';') return send("E22");
        args.remove_prefix(1);
        auto next = args.find(';');
        std::string_view item = args.substr(0, next);
        args = next == std::string_view::npos ? std::string_view() : args.substr(next);
        auto colon = item.find(':');
        std::string_view act = item.substr(0, colon);
        char a;
        if (act == "c" || (act.size() == 3 && act[0] == 'C')) a = 'c';
        else if (act == "s" || (act.size() == 3 && act[0] == 'S')) a = 's';
        else return send("E22");
        int t = colon == std::string_view::npos ? -1 : parse_thread(item.substr(colon + 1));
        if (t == -2) return send("E22");
        for (unsigned i = 0; i < cpus_; ++i) {
            if (set[i] || (t >= 0 && static_cast<unsigned>(t) != i)) continue;
            actions[i] = a;
            set[i] = true;
        }
    }
    for (unsigned i = 0; i < cpus_; ++i)
        if (actions[i] == 's') c_cpu_ = g_cpu_ = i;  // the stop that follows is probably this one's
    resume(actions);
}

void GdbStub::vm_stopped(int cpu, bool debug, bool shutdown) {
    if (!connected_ || !waiting_) return;
    waiting_ = false;
    Cpu::DebugStop why;
    if (cpu >= 0) {
        c_cpu_ = g_cpu_ = static_cast<unsigned>(cpu);
        machine_.board()->with_cpu(c_cpu_, [&](Cpu& c) { why = c.take_debug_stop(); });
    }
    // The CPUs stop stepping (breakpoints stay until gdb removes them).
    if (machine_.board()->debug_supported())
        (void)machine_.board()->set_debug(breakpoints_, watchpoints_, std::vector<bool>(cpus_, false));
    char buf[96];
    if (debug && why.kind == Cpu::DebugStop::Kind::Watch) {
        const char* type = why.wkind == Cpu::Watchpoint::Read ? "r" : why.wkind == Cpu::Watchpoint::Access ? "a" : "";
        std::snprintf(buf, sizeof buf, "T%02xthread:%s;%swatch:%016llx;", kSigTrap, thread_id(c_cpu_).c_str(), type,
                      static_cast<unsigned long long>(why.addr));
    } else {
        unsigned sig = debug ? kSigTrap : shutdown ? kSigQuit : kSigInt;
        std::snprintf(buf, sizeof buf, "T%02xthread:%s;", sig, thread_id(c_cpu_).c_str());
    }
    send(buf);
}

std::string GdbStub::xfer_features(std::string_view args) {
    // "ANNEX:OFFSET,LENGTH"
    auto colon = args.find(':');
    if (colon == std::string_view::npos) return "E00";
    std::string_view annex = args.substr(0, colon);
    uint64_t off, len;
    if (!parse_addr_len(args.substr(colon + 1), off, len)) return "E00";
    std::string doc;
    if (annex == "target.xml") doc = target_xml(!sysregs().empty());
    else if (annex == "aarch64-core.xml") doc = core_xml();
    else if (annex == "aarch64-fpu.xml") doc = fpu_xml();
    else if (annex == "system-registers.xml" && !sysregs().empty()) doc = sysregs_xml(sysregs());
    else return "E00";
    len = std::min<uint64_t>(len, (kMaxPacket - 5) / 2);
    if (off > doc.size()) return "E00";
    std::string part = doc.substr(off, len);
    std::string packet = escape(part);
    packet.insert(packet.begin(), off + len < doc.size() ? 'm' : 'l');  // (GCC 12's -Wrestrict: not "m" + ...)
    return packet;
}

std::string GdbStub::monitor_command(std::string_view hex) {
    std::vector<uint8_t> b;
    if (!unhex(hex, b)) return "E22";
    QmpContext ctx{machine_, command_table()};
    std::string out = hmp_execute(ctx, std::string(b.begin(), b.end()));
    if (!out.empty()) {
        std::string packet = hex_string(out);
        packet.insert(packet.begin(), 'O');  // (as above)
        send(packet);
    }
    return "OK";
}

std::string GdbStub::query(const std::string& p) {
    if (p.rfind("qSupported", 0) == 0) {
        if (p.find("multiprocess+") != std::string::npos) multiprocess_ = true;
        return "PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+";
    }
    if (p.rfind("qXfer:features:read:", 0) == 0) return xfer_features(std::string_view(p).substr(20));
    if (p == "qfThreadInfo" || p == "qsThreadInfo") {
        if (p == "qfThreadInfo") thread_list_pos_ = 0;
        if (thread_list_pos_ >= cpus_) return "l";
        std::string r = "m";
        return r += thread_id(thread_list_pos_++);  // (GCC 12's -Wrestrict: not "m" + ...)
    }
    if (p == "qC") {
        std::string r = "QC";
        return r += thread_id(0);
    }
    if (p.rfind("qAttached", 0) == 0) return "1";
    if (p.rfind("qThreadExtraInfo,", 0) == 0) {
        int t = parse_thread(std::string_view(p).substr(17));
        if (t < 0) return "E22";
        bool on = machine_.board()->cpu_powered(static_cast<unsigned>(t));
        return hex_string("CPU#" + std::to_string(t) + (on ? " [running]" : " [halted ]"));
    }
    if (p.rfind("qRcmd,", 0) == 0) return monitor_command(std::string_view(p).substr(6));
    if (p == "qqemu.sstepbits") return "ENABLE=1,NOIRQ=2,NOTIMER=4";
    if (p == "qqemu.sstep") {
        char b[16];
        std::snprintf(b, sizeof b, "0x%x", sstep_flags_);
        return b;
    }
    if (p == "qqemu.PhyMemMode") return phys_mode_ ? "1" : "0";
    return "";  // qOffsets, qSymbol, qTStatus, ...: not supported
}

void GdbStub::handle(const std::string& p) {
    virt::Board* b = machine_.board();
    if (p.empty()) return send("");
    if (!b) return send("E22");
    std::string_view args = std::string_view(p).substr(1);
    switch (p[0]) {
    case '?':
        return send("T05thread:" + thread_id(c_cpu_) + ";");
    case 'q':
        return send(query(p));
    case 'Q':
        if (p == "Qqemu.PhyMemMode:1" || p == "Qqemu.PhyMemMode:0") {
            phys_mode_ = p.back() == '1';
            return send("OK");
        }
        if (p.rfind("Qqemu.sstep=", 0) == 0) {
            std::string_view n = std::string_view(p).substr(12);
            if (n.rfind("0x", 0) == 0) n.remove_prefix(2);
            uint64_t v;
            if (!parse_hex(n, v) || (v & ~7ull)) return send("E22");
            sstep_flags_ = static_cast<unsigned>(v);
            return send("OK");
        }
        return send("");
    case 'H': {
        if (args.empty() || (args[0] != 'g' && args[0] != 'c')) return send("E22");
        int t = parse_thread(args.substr(1));
        if (t == -2) return send("E22");
        unsigned cpu = t < 0 ? 0 : static_cast<unsigned>(t);
        (args[0] == 'g' ? g_cpu_ : c_cpu_) = cpu;
        return send("OK");
    }
    case 'T':
        return send(parse_thread(args) >= 0 ? "OK" : "E22");
    case 'g': {
        if (!b->debug_supported()) return send("E22");
        std::string r;
        b->with_cpu(g_cpu_, [&](Cpu& c) {
            for (unsigned n = 0; n <= 33; ++n) r += read_reg(c, n);
        });
        return send(r);
    }
    case 'G': {
        if (!b->debug_supported()) return send("E22");
        bool ok = args.size() >= 2 * (33 * 8 + 4);
        if (ok)
            b->with_cpu(g_cpu_, [&](Cpu& c) {
                size_t at = 0;
                for (unsigned n = 0; n <= 33; ++n) {
                    size_t w = n == 33 ? 8 : 16;
                    write_reg(c, n, args.substr(at, w));
                    at += w;
                }
            });
        return send(ok ? "OK" : "E22");
    }
    case 'p': {
        uint64_t n;
        if (!parse_hex(args, n)) return send("E14");
        std::string r;
        if (n >= kFirstSysReg) r = read_sysreg(static_cast<unsigned>(std::min<uint64_t>(n, 1000)));  // (either accelerator's)
        else b->with_cpu(g_cpu_, [&](Cpu& c) { r = read_reg(c, static_cast<unsigned>(n)); });
        return send(r.empty() ? "E14" : r);
    }
    case 'P': {
        auto eq = args.find('=');
        uint64_t n;
        if (eq == std::string_view::npos || !parse_hex(args.substr(0, eq), n) || !b->debug_supported())
            return send("E22");
        bool ok = false;
        b->with_cpu(g_cpu_, [&](Cpu& c) { ok = write_reg(c, static_cast<unsigned>(std::min<uint64_t>(n, 1000)), args.substr(eq + 1)); });
        return send(ok ? "OK" : "E22");
    }
    case 'm': {
        uint64_t addr, len;
        if (!parse_addr_len(args, addr, len) || len > kMaxPacket / 2 || !b->debug_supported()) return send("E22");
        std::string hex;
        return send(read_memory(addr, len, hex) ? hex : "E14");
    }
    case 'M': {
        uint64_t addr, len;
        auto colon = args.find(':');
        std::vector<uint8_t> bytes;
        if (colon == std::string_view::npos || !parse_addr_len(args.substr(0, colon), addr, len) ||
            !unhex(args.substr(colon + 1), bytes) || bytes.size() != len || !b->debug_supported())
            return send("E22");
        return send(write_memory(addr, bytes) ? "OK" : "E14");
    }
    case 'Z':
    case 'z': {
        if (args.size() < 2 || args[1] != ',') return send("E22");
        char type = args[0];
        uint64_t addr, kind;
        if (!parse_addr_len(args.substr(2), addr, kind)) return send("E22");
        if (type < '0' || type > '4') return send("");  // not supported
        if (!b->debug_supported()) return send("E22");
        bool insert = p[0] == 'Z';
        if (type == '0' || type == '1') {
            if (insert) {
                breakpoints_.push_back(addr);
            } else {
                auto it = std::find(breakpoints_.begin(), breakpoints_.end(), addr);
                if (it == breakpoints_.end()) return send("E22");
                breakpoints_.erase(it);
            }
        } else {
            Cpu::Watchpoint w;
            w.addr = addr;
            w.len = kind ? kind : 1;
            w.kind = type == '2' ? Cpu::Watchpoint::Write : type == '3' ? Cpu::Watchpoint::Read : Cpu::Watchpoint::Access;
            if (insert) {
                watchpoints_.push_back(w);
            } else {
                auto it = std::find_if(watchpoints_.begin(), watchpoints_.end(), [&](const Cpu::Watchpoint& x) {
                    return x.addr == w.addr && x.len == w.len && x.kind == w.kind;
                });
                if (it == watchpoints_.end()) return send("E22");
                watchpoints_.erase(it);
            }
        }
        // More than the hardware lends (under KVM): refused, as QEMU.
        if (insert && !b->check_debug(breakpoints_, watchpoints_)) {
            if (type == '0' || type == '1') breakpoints_.pop_back();
            else watchpoints_.pop_back();
            return send("E22");
        }
        // The CPUs take the new set now if stopped, else at the next resume.
        if (!machine_.running()) (void)b->set_debug(breakpoints_, watchpoints_, std::vector<bool>(cpus_, false));
        return send("OK");
    }
    case 'c':
    case 's': {
        if (!args.empty()) {  // "c ADDR": resume at ADDR
            uint64_t addr;
            if (!parse_hex(args, addr)) return send("E22");
            b->with_cpu(c_cpu_, [&](Cpu& c) { c.s.pc = addr; });
        }
        // 's' steps the Hc thread and runs the others (as QEMU's).
        std::vector<char> actions(cpus_, 'c');
        if (p[0] == 's') actions[c_cpu_] = 's';
        return resume(actions);
    }
    case 'v':
        if (p == "vCont?") return send("vCont;c;C;s;S");
        if (p.rfind("vCont;", 0) == 0) return vcont(std::string_view(p).substr(5));
        if (p.rfind("vKill", 0) == 0) {
            send("OK");
            return machine_.terminate("Terminated via GDBstub");
        }
        return send("");  // vMustReplyEmpty and the rest
    case 'D':
        // Detach: breakpoints go, the VM runs on.
        breakpoints_.clear();
        watchpoints_.clear();
        if (b->debug_supported() && !machine_.running())
            (void)b->set_debug({}, {}, std::vector<bool>(cpus_, false));
        send("OK");
        if (!machine_.running()) (void)machine_.cont();
        return;
    case 'k':
        send("W00");
        return machine_.terminate("Terminated via GDBstub");
    default:
        return send("");
    }
}

}  // namespace armvm
