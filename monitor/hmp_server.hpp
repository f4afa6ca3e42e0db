// One human monitor on one chardev (-monitor SPEC, -mon mode=readline):
// QEMU's greeting and "(qemu) " prompt, and its line editor — each key
// redraws the line the way QEMU's readline does (so a terminal or an
// expect script sees the same bytes): insert and backspace, cursor left/
// right, home/end (also ^A/^E), delete, ^W, history with up/down. Enter
// runs the line through hmp_execute().
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "machine/config.hpp"
#include "monitor/hmp.hpp"

namespace armvm {

class Chardev;
class Machine;

class HmpMonitor {
public:
    HmpMonitor(Machine& m, Chardev& ch, MonitorConfig cfg);
    void start();

private:
    void on_open();
    void on_read(std::string_view data);
    void key(unsigned char c);
    void redraw();
    void enter();
    void reset_line();

    Machine& machine_;
    Chardev& chardev_;
    MonitorConfig cfg_;
    std::string buf_, shown_;  // the line, and what the terminal shows of it
    size_t cursor_ = 0, shown_cursor_ = 0;
    enum class Esc { None, Esc, Csi } esc_ = Esc::None;
    std::string csi_;  // a CSI sequence's parameter bytes
    std::vector<std::string> history_;
    size_t hist_pos_ = 0;
    std::string out_;  // what this input makes the monitor write
    HmpState state_;   // its CPU, x's last format
};

}  // namespace armvm
