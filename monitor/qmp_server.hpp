// One QMP monitor on one chardev: greeting, negotiation, the JSON stream,
// dispatch, replies and events, each line ending in "\r\n" (libvirt splits
// on exactly that, LIBVIRT.md §0).
#pragma once
#include <string_view>

#include "base/json.hpp"
#include "machine/config.hpp"
#include "monitor/dispatch.hpp"
#include "monitor/json_stream.hpp"

namespace armvm {

class Chardev;
class Machine;

class QmpMonitor {
public:
    QmpMonitor(Machine& m, Chardev& ch, MonitorConfig cfg);
    void start();
    // Sent only to a peer that has finished capabilities negotiation.
    void send_event(const Json& event);
    const MonitorConfig& config() const { return cfg_; }

private:
    void on_open();
    void on_read(std::string_view data);
    void send(const Json& j);

    Machine& machine_;
    Chardev& chardev_;
    MonitorConfig cfg_;
    QmpSession session_;
    JsonStream stream_;
};

// The greeting's "version" member (shared with query-version).
Json qmp_version_info();

}  // namespace armvm
