#include "base/report.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace armvm {

namespace {
std::atomic<bool> g_timestamps{false};  // set once at start-up, before threads

void emit(const std::string& text) {
    std::string line;
    if (g_timestamps) {
        timeval tv;
        gettimeofday(&tv, nullptr);
        tm t;
        gmtime_r(&tv.tv_sec, &t);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ ", t.tm_year + 1900, t.tm_mon + 1,
                      t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<long>(tv.tv_usec));
        line = buf;
    }
    line += "armvm: " + text + "\n";
    (void)!::write(2, line.data(), line.size());
}
}  // namespace

void report_warning(const std::string& msg) { emit("warning: " + msg); }
void report_info(const std::string& msg) { emit(msg); }
void set_report_timestamps(bool on) { g_timestamps = on; }

}  // namespace armvm
