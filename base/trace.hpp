// Trace events as QEMU's (its "log" backend): named points in devices and
// the CPU (QEMU's names and message formats where armvm has the same
// point) that -d trace:PATTERN, -trace [enable=]PATTERN|events=FILE, HMP
// trace-event and QMP trace-event-set-state switch on, printing
// "NAME message" lines to the log (-D, or stderr). Off, an event costs one
// relaxed load and a branch; its arguments are not even evaluated.
// Process-wide, as the log is (ARCHITECTURE.md).
#pragma once
#include <atomic>
#include <optional>
#include <string>
#include <vector>

// Every event, in QEMU's groups (one list: help, info trace-events and
// the QMP commands read it).
#define ARMVM_TRACE_EVENTS(X)                                                                        \
    X(pl011_irq_state) X(pl011_read) X(pl011_read_fifo) X(pl011_write) X(pl011_put_fifo)             \
    X(pl011_put_fifo_full)                                                                           \
    X(pl031_irq_state) X(pl031_read) X(pl031_write)                                                 \
    X(gic_enable_irq) X(gic_disable_irq) X(gic_set_irq) X(gic_acknowledge_irq) X(gic_cpu_write)      \
    X(gic_cpu_read) X(gic_dist_write) X(gic_dist_read)                                               \
    X(arm_gt_recalc) X(arm_gt_recalc_disabled) X(arm_gt_cval_write) X(arm_gt_tval_write)             \
    X(arm_gt_ctl_write) X(arm_gt_imask_toggle)                                                       \
    X(pci_update_mappings_del) X(pci_update_mappings_add) X(pci_cfg_read) X(pci_cfg_write)          \
    X(virtio_queue_notify) X(virtio_notify) X(virtio_set_status)                                    \
    X(virtio_mmio_read) X(virtio_mmio_write_offset) X(virtio_mmio_setting_irq)                      \
    X(fw_cfg_select) X(fw_cfg_read)

namespace armvm::trace {

struct Event {
    const char* name;
    std::atomic<bool> on{false};
};

#define ARMVM_TRACE_DECLARE(n) extern Event n;
ARMVM_TRACE_EVENTS(ARMVM_TRACE_DECLARE)
#undef ARMVM_TRACE_DECLARE

// Every event, in the list's order.
const std::vector<Event*>& all();
// Events whose names match a pattern ('*' any run of characters, '?' one;
// a name without them: that event).
std::vector<Event*> matching(const std::string& pattern);
bool is_pattern(const std::string& pattern);
// -d trace:PATTERN and -trace PATTERN: switches the matching events on
// (or off); false for a plain name that is no event (QEMU warns then).
bool enable(const std::string& pattern, bool on = true);
// The monitors' view (QMP trace-event-get-state/-set-state and HMP's
// info trace-events/trace-event): the events a name or pattern gives, in
// QEMU's order (the list's last first); nullopt for a plain name that is
// no event (both then say `unknown_event(name)`).
std::optional<std::vector<Event*>> query(const std::string& pattern);
std::string unknown_event(const std::string& name);
// -trace events=FILE: a pattern per line, "-PATTERN" to switch off, '#'
// comments. False (and `error`) if the file cannot be read.
bool enable_from_file(const std::string& path, std::string& error);
// "-d trace:help": the names, one a line.
std::string names();
// Writes "NAME message" to the log.
void emit(const char* name, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace armvm::trace

#define ARMVM_TRACE(ev, ...)                                                        \
    do {                                                                            \
        if (::armvm::trace::ev.on.load(std::memory_order_relaxed)) [[unlikely]]     \
            ::armvm::trace::emit(#ev, __VA_ARGS__);                                 \
    } while (0)
