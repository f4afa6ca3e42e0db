#include "base/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "base/trace.hpp"

namespace armvm::qlog {

std::atomic<uint32_t> g_mask{0};

namespace {

struct ItemName {
    const char* name;
    uint32_t bits;  // 0: accepted as QEMU's, nothing logged by armvm
    const char* help;
};

const ItemName kItems[] = {
    {"out_asm", OutAsm, "show generated host assembly code for each compiled TB"},
    {"in_asm", InAsm, "show target assembly code for each compiled TB"},
    {"op", 0, "show micro ops for each compiled TB"},
    {"op_opt", 0, "show micro ops after optimization"},
    {"op_ind", 0, "show micro ops before indirect lowering"},
    {"int", Int, "show interrupts/exceptions in short format"},
    {"exec", Exec, "show trace before each executed TB (lots of logs)"},
    {"cpu", Cpu, "show CPU registers before entering a TB (lots of logs)"},
    {"fpu", Fpu, "include FPU registers in the 'cpu' logging"},
    {"mmu", Mmu, "log MMU-related activities"},
    {"pcall", 0, "x86 only: show protected mode far calls/returns/exceptions"},
    {"cpu_reset", CpuReset, "show CPU state before CPU resets"},
    {"unimp", Unimp, "log unimplemented functionality"},
    {"guest_errors", GuestErrors, "log when the guest OS does something invalid (eg accessing a\nnon-existent register)"},
    {"page", Page, "dump pages at beginning of user mode emulation"},
    {"nochain", Nochain, "do not chain compiled TBs so that \"exec\" and \"cpu\" show\ncomplete traces"},
    {"plugin", 0, "output from TCG plugins\n"},
    {"strace", 0, "log every user-mode syscall, its input, and its result"},
    {"tid", Tid, "open a separate log file per thread; filename must contain '%d'"},
};

std::mutex g_m;
std::FILE* g_file = nullptr;  // null: stderr
std::string g_name;
std::vector<std::pair<uint64_t, uint64_t>> g_ranges;  // [start, end] inclusive
std::atomic<bool> g_filtered{false};
std::vector<Symbol> g_syms;  // sorted by address

struct Budget {
    int64_t second = 0;
    unsigned used = 0;
};
Budget g_budget[2];
constexpr unsigned kPerSecond = 1000;

std::FILE* out() { return g_file ? g_file : stderr; }

}  // namespace

void write(const std::string& text) {
    std::lock_guard<std::mutex> g(g_m);
    std::fwrite(text.data(), 1, text.size(), out());
    std::fflush(out());
}

void printf(const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (static_cast<size_t>(n) < sizeof buf) return write(std::string(buf, static_cast<size_t>(n)));
    std::string big(static_cast<size_t>(n) + 1, '\0');
    va_start(ap, fmt);
    std::vsnprintf(big.data(), big.size(), fmt, ap);
    va_end(ap);
    big.pop_back();
    write(big);
}

bool allow(Item i) {
    if (!on(i)) return false;
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count();
    std::lock_guard<std::mutex> g(g_m);
    Budget& b = g_budget[i == Unimp ? 1 : 0];
    if (b.second != now) {
        if (b.used > kPerSecond)
            std::fprintf(out(), "(%u more %s messages in the last second not logged)\n", b.used - kPerSecond,
                         i == Unimp ? "unimp" : "guest_errors");
        b.second = now;
        b.used = 0;
    }
    return ++b.used <= kPerSecond;
}

Result<uint32_t> parse_items(const std::string& items) {
    uint32_t mask = 0;
    std::vector<std::string> patterns;  // trace:PATTERN
    if (items == "none") return mask;
    size_t at = 0;
    while (at <= items.size()) {
        size_t comma = items.find(',', at);
        std::string item = items.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        bool found = false;
        if (item == "all") {
            for (const auto& k : kItems) mask |= k.bits;
            found = true;
        }
        for (const auto& k : kItems)
            if (item == k.name) {
                mask |= k.bits;
                found = true;
            }
        if (!found && item.rfind("trace:", 0) == 0) {  // (switched on once every item is known)
            patterns.push_back(item.substr(6));
            found = true;
        }
        if (!found) return make_error("unknown log item '" + item + "' (-d help lists them)");
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    for (const auto& p : patterns)
        if (!trace::enable(p)) std::fprintf(stderr, "armvm: warning: trace event '%s' does not exist\n", p.c_str());
    return mask;
}

std::string items_help(bool monitor) {
    std::string s = "Log items (comma separated):\n";
    if (monitor) s += "none            remove all logs\n";
    for (const auto& k : kItems) {
        char line[256];
        std::snprintf(line, sizeof line, "%-15s %s\n", k.name, k.help);
        s += line;
    }
    s += std::string("trace:PATTERN   enable trace events\n\nUse \"") + (monitor ? "log" : "-d") +
         " trace:help\" to get a list of trace events.\n";
    s += "\n";
    return s;
}

Status configure(uint32_t mask, const std::string& file) {
    std::lock_guard<std::mutex> g(g_m);
    g_mask.store(mask);
    // A new name, or one that could not be opened last time, is (re)opened;
    // a name that fails is kept (as QEMU's): the next change tries again.
    if (file != g_name || (!file.empty() && !g_file)) {
        if (g_file) std::fclose(g_file);
        g_file = nullptr;
        g_name = file;
        if (!file.empty()) {
            std::string name = file;
            if (auto p = name.find("%d"); p != std::string::npos) name.replace(p, 2, std::to_string(::getpid()));
            g_file = std::fopen(name.c_str(), "w");
            if (!g_file) return make_error(std::strerror(errno));
        }
    }
    return ok_status();
}

uint32_t mask() { return g_mask.load(); }
const std::string& file() { return g_name; }

Status set_filter(const std::string& ranges) {
    std::vector<std::pair<uint64_t, uint64_t>> r;
    size_t at = 0;
    while (at <= ranges.size()) {
        size_t comma = ranges.find(',', at);
        std::string item = ranges.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        auto num = [&](const std::string& t, uint64_t& v) {
            if (t.empty()) return false;
            char* e = nullptr;
            errno = 0;
            v = std::strtoull(t.c_str(), &e, 0);
            return errno == 0 && e && !*e;
        };
        uint64_t a = 0, b = 0;
        size_t p;
        bool ok = false;
        if ((p = item.find("..")) != std::string::npos) {
            ok = num(item.substr(0, p), a) && num(item.substr(p + 2), b) && b >= a;
        } else if ((p = item.find('+')) != std::string::npos) {
            ok = num(item.substr(0, p), a) && num(item.substr(p + 1), b) && b > 0;
            if (ok) b = a + b - 1;
        } else if ((p = item.find('-', 1)) != std::string::npos) {
            uint64_t len = 0;
            ok = num(item.substr(0, p), b) && num(item.substr(p + 1), len) && len > 0 && len - 1 <= b;
            if (ok) a = b - (len - 1);
        }
        if (!ok) return make_error(item.find("..") != std::string::npos && num(item.substr(0, p), a) &&
                                           num(item.substr(p + 2), b) ? "Invalid range" : "Bad range specifier");
        r.push_back({a, b});
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    std::lock_guard<std::mutex> g(g_m);
    g_ranges = std::move(r);
    g_filtered.store(!g_ranges.empty());
    return ok_status();
}

bool in_filter(uint64_t pc) {
    if (!g_filtered.load(std::memory_order_relaxed)) return true;
    std::lock_guard<std::mutex> g(g_m);
    for (auto& [a, b] : g_ranges)
        if (pc >= a && pc <= b) return true;
    return false;
}

void set_symbols(std::vector<Symbol> syms) {
    std::sort(syms.begin(), syms.end(), [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
    std::lock_guard<std::mutex> g(g_m);
    g_syms = std::move(syms);
}

std::string symbol(uint64_t addr) {
    std::lock_guard<std::mutex> g(g_m);
    auto it = std::upper_bound(g_syms.begin(), g_syms.end(), addr,
                               [](uint64_t a, const Symbol& s) { return a < s.addr; });
    // (the nearest at or below; overlapping symbols: look back a little)
    for (int n = 0; it != g_syms.begin() && n < 8; ++n) {
        --it;
        if (addr >= it->addr && addr < it->addr + it->size) return it->name;
    }
    return "";
}

}  // namespace armvm::qlog
