#include "base/trace.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fnmatch.h>
#include <fstream>

#include "base/log.hpp"

namespace armvm::trace {

#define ARMVM_TRACE_DEFINE(n) Event n{#n};
ARMVM_TRACE_EVENTS(ARMVM_TRACE_DEFINE)
#undef ARMVM_TRACE_DEFINE

const std::vector<Event*>& all() {
#define ARMVM_TRACE_ADDRESS(n) &n,
    static const std::vector<Event*> events = {ARMVM_TRACE_EVENTS(ARMVM_TRACE_ADDRESS)};
#undef ARMVM_TRACE_ADDRESS
    return events;
}

bool is_pattern(const std::string& pattern) { return pattern.find_first_of("*?") != std::string::npos; }

std::vector<Event*> matching(const std::string& pattern) {
    std::vector<Event*> out;
    for (Event* e : all()) {
        bool hit = is_pattern(pattern) ? fnmatch(pattern.c_str(), e->name, FNM_NOESCAPE) == 0 : pattern == e->name;
        if (hit) out.push_back(e);
    }
    return out;
}

bool enable(const std::string& pattern, bool on) {
    auto hits = matching(pattern);
    for (Event* e : hits) e->on.store(on, std::memory_order_relaxed);
    return !hits.empty() || is_pattern(pattern);
}

std::optional<std::vector<Event*>> query(const std::string& pattern) {
    auto hits = matching(pattern);
    if (hits.empty() && !is_pattern(pattern)) return std::nullopt;
    return std::vector<Event*>(hits.rbegin(), hits.rend());
}

std::string unknown_event(const std::string& name) { return "unknown event \"" + name + "\""; }

bool enable_from_file(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "could not open trace events file '" + path + "': " + std::strerror(errno);
        return false;
    }
    std::string line;
    while (std::getline(in, line)) {
        size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
        if (a == std::string::npos || line[a] == '#') continue;
        line = line.substr(a, b - a + 1);
        bool on = line[0] != '-';
        if (!on) line.erase(0, 1);
        if (!enable(line, on))
            std::fprintf(stderr, "armvm: warning: trace event '%s' does not exist\n", line.c_str());
    }
    return true;
}

std::string names() {
    std::string out;
    for (Event* e : all()) out += std::string(e->name) + "\n";
    return out;
}

void emit(const char* name, const char* fmt, ...) {
    char buf[512];
    int n = std::snprintf(buf, sizeof buf, "%s ", name);
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf + n, sizeof buf - static_cast<size_t>(n) - 1, fmt, ap);
    va_end(ap);
    qlog::write(std::string(buf) + "\n");
}

}  // namespace armvm::trace
