// The device side of the bus: an MMIO device answers reads and writes at
// offsets inside its region, and resets in three phases (enter, hold,
// exit; INCIDENTS.md #5). Device emulation runs under the machine lock.
#pragma once
#include <cstdint>
#include <functional>

#include "base/mem_attrs.hpp"
#include "base/polled_reg.hpp"

namespace armvm {

// How wide the accesses are that reach a device's registers at an offset
// (QEMU's MemoryRegionOps implementation sizes, as a guest sees them on
// QEMU's virt): an access wider than `max` reaches the device as
// max-byte pieces, the lowest address first; one narrower than `min` as a
// min-byte access at the same offset (a read's value truncated, a write's
// zero-extended). Every read's value is cut to the access's size.
struct AccessSizes {
    unsigned min = 1, max = 4;
};

class MmioDevice {
public:
    virtual ~MmioDevice() = default;
    virtual AccessSizes access_sizes(uint64_t offset) {
        (void)offset;
        return {};
    }
    virtual uint64_t read(uint64_t offset, unsigned size) = 0;
    virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
    // The same, knowing who makes the access (base/mem_attrs.hpp): what
    // the address space calls. A device that answers per CPU or per
    // requester (the GIC's banked registers, the ITS) overrides these.
    virtual uint64_t read_by(uint64_t offset, unsigned size, MemAttrs who) {
        (void)who;
        return read(offset, size);
    }
    virtual void write_by(uint64_t offset, unsigned size, uint64_t value, MemAttrs who) {
        (void)who;
        write(offset, size, value);
    }
    // Whether an access at `offset` reaches anything (a window with holes,
    // such as a PCI host's, says no for its holes: the access then fails
    // as one to an unmapped address).
    virtual bool decodes(uint64_t offset, unsigned size) {
        (void)offset, (void)size;
        return true;
    }
    // A register at `offset` read `size` bytes wide that CPUs may read
    // without the machine lock (base/polled_reg.hpp), or nullptr. Only a
    // device that lives as long as the machine offers one.
    virtual const PolledReg* polled_reg(uint64_t offset, unsigned size) {
        (void)offset, (void)size;
        return nullptr;
    }
    // Three-phase reset: enter clears state without side effects, hold may
    // drive outputs (interrupt lines) to their reset levels, exit resumes
    // normal operation. Each is called exactly once per reset.
    virtual void reset_enter() {}
    virtual void reset_hold() {}
    virtual void reset_exit() {}
};

// An interrupt line: an object handed to the device that drives it.
class IrqLine {
public:
    IrqLine() = default;
    explicit IrqLine(std::function<void(bool)> sink) : sink_(std::move(sink)) {}
    void set(bool level) {
        if (level != level_) {
            level_ = level;
            if (sink_) sink_(level);
        }
    }
    bool level() const { return level_; }

private:
    std::function<void(bool)> sink_;
    bool level_ = false;
};

}  // namespace armvm
