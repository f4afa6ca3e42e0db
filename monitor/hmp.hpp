// The human monitor (HMP): QEMU's command lines ("info status", "stop",
// "sendkey ctrl-alt-f1", "device_add usb-kbd,id=k", ...) with QEMU's output
// text. Each command runs the QMP command that does the work (one
// implementation) and formats its reply as QEMU's HMP does. Reached today
// through QMP's human-monitor-command (what `virsh qemu-monitor-command
// --hmp` sends).
#pragma once
#include <string>

#include "monitor/dispatch.hpp"

namespace armvm {

// What a monitor remembers between commands: its CPU (`cpu N`: info
// registers, x, memsave use it). (x/xp/print's last format and unit size
// are the machine's, shared by every monitor as QEMU's are.)
struct HmpState {
    unsigned cpu = 0;
};

// Runs one command line; its output, lines ended by "\r\n" as QEMU's
// monitor writes them ("" for a command that prints nothing).
std::string hmp_execute(QmpContext& ctx, const std::string& line, HmpState& state);
// With a fresh state (each QMP human-monitor-command, as QEMU's).
std::string hmp_execute(QmpContext& ctx, const std::string& line);

}  // namespace armvm
