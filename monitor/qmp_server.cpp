#include "monitor/qmp_server.hpp"

#include "base/version.hpp"
#include "hw/char/chardev.hpp"
#include "machine/machine.hpp"

namespace armvm {

Json qmp_version_info() {
    return Json{{"qemu", {{"micro", kQemuMicro}, {"minor", kQemuMinor}, {"major", kQemuMajor}}},
                {"package", std::string("armvm ") + kArmvmVersion}};
}

QmpMonitor::QmpMonitor(Machine& m, Chardev& ch, MonitorConfig cfg)
    : machine_(m), chardev_(ch), cfg_(std::move(cfg)) {}

void QmpMonitor::start() {
    Chardev::Frontend fe;
    fe.on_open = [this] { on_open(); };
    fe.on_read = [this](std::string_view d) { on_read(d); };
    fe.on_close = [this] {
        session_ = QmpSession{};
        stream_.reset();
    };
    chardev_.attach(std::move(fe));
}

void QmpMonitor::send(const Json& j) {
    std::string text = cfg_.pretty ? j.dump(4, ' ', true, Json::error_handler_t::replace) : to_qmp_text(j);
    text += "\r\n";
    chardev_.write(text);
}

void QmpMonitor::on_open() {
    session_ = QmpSession{};
    stream_.reset();
    send(Json{{"QMP", {{"version", qmp_version_info()}, {"capabilities", Json::array()}}}});
}

void QmpMonitor::on_read(std::string_view data) {
    std::vector<JsonStream::Item> items;
    stream_.feed(data, items);
    QmpContext ctx{machine_, command_table()};
    for (auto& it : items) {
        if (!it.ok) {
            send(qmp_error_reply("GenericError", it.error));
            continue;
        }
        send(qmp_dispatch(ctx, session_, it.value));
        if (!chardev_.connected()) break;
    }
    // Replies go out before any effect that ends the process (quit).
    machine_.after_monitor_input();
}

void QmpMonitor::send_event(const Json& event) {
    if (session_.negotiated && chardev_.connected()) send(event);
}

}  // namespace armvm
