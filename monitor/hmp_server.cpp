#include "monitor/hmp_server.hpp"

#include "base/version.hpp"
#include "hw/char/chardev.hpp"
#include "machine/machine.hpp"
#include "monitor/hmp.hpp"

namespace armvm {
namespace {

constexpr size_t kMaxLine = 4096, kMaxHistory = 64;

}  // namespace

HmpMonitor::HmpMonitor(Machine& m, Chardev& ch, MonitorConfig cfg)
    : machine_(m), chardev_(ch), cfg_(std::move(cfg)) {}

void HmpMonitor::start() {
    Chardev::Frontend fe;
    fe.on_open = [this] { on_open(); };
    fe.on_read = [this](std::string_view d) { on_read(d); };
    fe.on_close = [this] { reset_line(); };
    // (on a mux: leaving ends the line; coming back shows the prompt again)
    fe.on_focus = [this](bool in) {
        if (in) {
            reset_line();
            chardev_.write("(qemu) ");
        } else {
            chardev_.write("\r\n");
        }
    };
    chardev_.attach(std::move(fe));
}

void HmpMonitor::reset_line() {
    buf_.clear();
    shown_.clear();
    cursor_ = shown_cursor_ = 0;
    esc_ = Esc::None;
    hist_pos_ = history_.size();
}

void HmpMonitor::on_open() {
    reset_line();
    chardev_.write("QEMU " + std::to_string(kQemuMajor) + "." + std::to_string(kQemuMinor) + "." +
                   std::to_string(kQemuMicro) + " monitor - type 'help' for more information\r\n(qemu) ");
}

void HmpMonitor::on_read(std::string_view data) {
    for (unsigned char c : data) {
        key(c);
        if (!out_.empty()) {
            chardev_.write(out_);
            out_.clear();
        }
        if (!chardev_.connected()) break;
    }
    machine_.after_monitor_input();  // (the output goes out before a quit takes effect)
}

// What changed on the line is written as QEMU's readline writes it: back
// to where the line starts, the whole line, erase to the end, then the
// cursor moved to its place.
void HmpMonitor::redraw() {
    if (buf_ != shown_) {
        for (size_t i = 0; i < shown_cursor_; ++i) out_ += "\033[D";
        out_ += buf_ + "\033[K";
        shown_ = buf_;
        shown_cursor_ = buf_.size();
    }
    for (; shown_cursor_ < cursor_; ++shown_cursor_) out_ += "\033[C";
    for (; shown_cursor_ > cursor_; --shown_cursor_) out_ += "\033[D";
}

void HmpMonitor::enter() {
    std::string line = buf_;
    out_ += "\r\n";
    if (!line.empty() && (history_.empty() || history_.back() != line)) {
        history_.push_back(line);
        if (history_.size() > kMaxHistory) history_.erase(history_.begin());
    }
    reset_line();
    QmpContext ctx{machine_, command_table()};
    out_ += hmp_execute(ctx, line, state_);
    if (!machine_.quit_requested()) out_ += "(qemu) ";  // (after quit, nothing more)
}

void HmpMonitor::key(unsigned char c) {
    if (esc_ == Esc::Esc) {
        esc_ = c == '[' || c == 'O' ? Esc::Csi : Esc::None;
        csi_.clear();
        return;
    }
    if (esc_ == Esc::Csi) {
        if (c >= '0' && c <= '9') {
            csi_ += static_cast<char>(c);
            return;
        }
        esc_ = Esc::None;
        switch (c) {
        case 'D': if (cursor_ > 0) --cursor_; break;
        case 'C': if (cursor_ < buf_.size()) ++cursor_; break;
        case 'H': cursor_ = 0; break;
        case 'F': cursor_ = buf_.size(); break;
        case 'A':
        case 'B':
            if (c == 'A' && hist_pos_ > 0) --hist_pos_;
            else if (c == 'B' && hist_pos_ < history_.size()) ++hist_pos_;
            else break;
            buf_ = hist_pos_ < history_.size() ? history_[hist_pos_] : "";
            cursor_ = buf_.size();
            break;
        case '~':
            if (csi_ == "1" || csi_ == "7") cursor_ = 0;
            else if (csi_ == "4" || csi_ == "8") cursor_ = buf_.size();
            else if (csi_ == "3" && cursor_ < buf_.size()) buf_.erase(cursor_, 1);
            break;
        default: break;
        }
        return redraw();
    }
    switch (c) {
    case 27: esc_ = Esc::Esc; return;
    case '\r':
    case '\n': return enter();
    case 1: cursor_ = 0; break;             // ^A
    case 5: cursor_ = buf_.size(); break;   // ^E
    case 127:
    case 8:
        if (cursor_ > 0) buf_.erase(--cursor_, 1);
        break;
    case 23: {  // ^W: the word before the cursor
        size_t at = cursor_;
        while (at > 0 && buf_[at - 1] == ' ') --at;
        while (at > 0 && buf_[at - 1] != ' ') --at;
        buf_.erase(at, cursor_ - at);
        cursor_ = at;
        break;
    }
    default:
        if (c < 32 || buf_.size() >= kMaxLine) return;
        buf_.insert(cursor_++, 1, static_cast<char>(c));
        break;
    }
    redraw();
}

}  // namespace armvm
