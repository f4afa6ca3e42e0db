// The Arm Generic Interrupt Controller, version 2 (ARM IHI 0048B:
// distributor and memory-mapped CPU interface, up to 8 CPUs; SPIs routed by
// GICD_ITARGETSR) or version 3 (ARM IHI 0069: affinity routing with
// GICD_IROUTER, one redistributor per CPU for SGIs/PPIs, the CPU interface
// as ICC_* system registers). Both share the pending/priority/acknowledge
// core. Register names as in the specs.
#pragma once
#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include "hw/core/mmio.hpp"

namespace armvm {

class Gic {
public:
    static constexpr unsigned kNumIrqs = 288;  // 32 private + 256 SPIs (QEMU's virt)
    static constexpr unsigned kSpurious = 1023;

    // `cpu_irq(cpu, level)` drives a CPU's IRQ input. (An access's CPU,
    // for the banked registers, comes with it: MmioDevice::read_by.)
    Gic(unsigned ncpus, std::function<void(unsigned, bool)> cpu_irq, unsigned version = 2);

    unsigned version() const { return version_; }
    MmioDevice& distributor() { return dist_; }
    MmioDevice& cpu_interface() { return cpuif_; }      // GICv2
    MmioDevice& redistributors() { return redist_; }    // GICv3: 2 x 64 KiB frames per CPU
    // GICv3 CPU interface: an ICC_* register access by `cpu`; `key` is the
    // MRS/MSR bits [20:5]. false: not a register this GIC has.
    bool icc_access(unsigned cpu, uint32_t key, bool write, uint64_t& value);

    // Input lines: SPI by INTID (>= 32), PPI by CPU and INTID (16..31).
    void set_spi(unsigned intid, bool level);
    void set_ppi(unsigned cpu, unsigned intid, bool level);
    void reset();

    // LPIs (GICv3 with an ITS; IHI 0069 5.1): INTIDs from 8192, their
    // configuration (priority, enable) read from the table at each
    // redistributor's GICR_PROPBASER in guest memory, their pending state
    // kept here and written to / loaded from GICR_PENDBASER's table when
    // LPIs are disabled / enabled. `mem(pa, len)` is the host pointer to
    // guest memory, or null.
    static constexpr uint32_t kLpiBase = 8192;
    static constexpr unsigned kIdBits = 16;  // GICD_TYPER.IDbits + 1
    using GuestMem = std::function<uint8_t*(uint64_t, uint64_t)>;
    void enable_lpis(GuestMem mem);
    bool has_lpis() const { return static_cast<bool>(mem_); }
    unsigned ncpus() const { return ncpus_; }
    // The ITS's side: make an LPI pending or not on a redistributor;
    // whether it is pending there; move every pending LPI to another.
    void set_lpi(unsigned cpu, uint32_t intid, bool pending);
    bool lpi_pending(unsigned cpu, uint32_t intid) const;
    void move_lpis(unsigned from, unsigned to);
    // Re-read LPI configuration (the ITS's INV / INVALL).
    void lpi_config_changed() { update(); }

private:
    struct Irq {
        bool group1 = false, enabled = false, pending = false, active = false, edge = false, level = false;
        uint8_t priority = 0;
        uint8_t targets = 0;
    };
    struct CpuIf {
        uint32_t ctlr = 0, pmr = 0, bpr = 2, abpr = 3;
        std::vector<uint8_t> running;  // priorities of acknowledged, not yet dropped IRQs
        std::vector<unsigned> acked;   // their INTIDs
        uint16_t sgi_sources[16] = {};  // pending SGIs: a bit per source CPU
    };

    class Dist : public MmioDevice {
    public:
        explicit Dist(Gic& g) : g_(g) {}
        // (QEMU's: GICv3's 64-bit registers whole, GICv2's in words)
        AccessSizes access_sizes(uint64_t) override { return {1, g_.version_ == 3 ? 8u : 4u}; }
        // (the banked registers answer the CPU that makes the access; one
        // that no CPU makes is CPU 0's)
        uint64_t read(uint64_t off, unsigned size) override { return read_by(off, size, {}); }
        void write(uint64_t off, unsigned size, uint64_t value) override { write_by(off, size, value, {}); }
        uint64_t read_by(uint64_t off, unsigned size, MemAttrs who) override;
        void write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs who) override;
        void reset_enter() override { g_.reset(); }

    private:
        Gic& g_;
    };
    class Cpu : public MmioDevice {
    public:
        explicit Cpu(Gic& g) : g_(g) {}
        // (the banked registers answer the CPU that makes the access; one
        // that no CPU makes is CPU 0's)
        uint64_t read(uint64_t off, unsigned size) override { return read_by(off, size, {}); }
        void write(uint64_t off, unsigned size, uint64_t value) override { write_by(off, size, value, {}); }
        uint64_t read_by(uint64_t off, unsigned size, MemAttrs who) override;
        void write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs who) override;

    private:
        uint64_t read_reg(uint64_t off, unsigned size, MemAttrs who);
        Gic& g_;
    };
    class Redist : public MmioDevice {
    public:
        explicit Redist(Gic& g) : g_(g) {}
        AccessSizes access_sizes(uint64_t) override { return {1, 8}; }
        // (the banked registers answer the CPU that makes the access; one
        // that no CPU makes is CPU 0's)
        uint64_t read(uint64_t off, unsigned size) override { return read_by(off, size, {}); }
        void write(uint64_t off, unsigned size, uint64_t value) override { write_by(off, size, value, {}); }
        uint64_t read_by(uint64_t off, unsigned size, MemAttrs who) override;
        void write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs who) override;

    private:
        Gic& g_;
    };

    // A redistributor's LPI state.
    struct Lpis {
        bool enabled = false;  // GICR_CTLR.EnableLPIs
        uint64_t propbaser = 0, pendbaser = 0;
        std::set<uint32_t> pending;
    };
    uint32_t lpi_limit(unsigned cpu) const;  // 1 + the highest INTID GICR_PROPBASER.IDbits allows
    int lpi_config(unsigned cpu, uint32_t intid) const;  // its byte, -1 if unreadable
    void lpis_enable(unsigned cpu, bool on);
    uint64_t redist_reg64(uint64_t& r, uint64_t off, unsigned size, uint64_t value, uint64_t mask);

    Irq& irq(unsigned cpu, unsigned intid) { return intid < 32 ? priv_[cpu][intid] : spi_[intid - 32]; }
    bool pending(unsigned cpu, unsigned intid);
    unsigned highest_pending(unsigned cpu, uint8_t& prio);
    uint8_t running_priority(unsigned cpu) const;
    void update();
    uint32_t acknowledge(unsigned cpu);
    void end_of_interrupt(unsigned cpu, unsigned intid);
    void deactivate(unsigned cpu, unsigned intid);
    uint64_t dist_read_byte(unsigned cpu, uint64_t off);
    // The CPU whose banked registers an access reaches (CPU 0 for one no CPU makes).
    unsigned cpu_of(MemAttrs who) const {
        return who.cpu < 0 || static_cast<unsigned>(who.cpu) >= ncpus_ ? 0 : static_cast<unsigned>(who.cpu);
    }
    void dist_write_byte(unsigned cpu, uint64_t off, uint8_t v);

    unsigned ncpus_;
    unsigned version_;
    std::vector<uint64_t> irouter_;  // GICv3 SPI routes
    std::vector<bool> waker_asleep_;
    std::function<void(unsigned, bool)> cpu_irq_;
    uint32_t dctlr_ = 0;
    std::vector<std::vector<Irq>> priv_;
    std::vector<Irq> spi_;
    // One past the highest INTID ever enabled: highest_pending, which
    // runs at every change, looks no further (a guest enables a few SPIs
    // of the 256).
    unsigned irq_end_ = 32;
    std::vector<CpuIf> cpus_;
    std::vector<bool> out_;
    GuestMem mem_;
    std::vector<Lpis> lpis_;
    Dist dist_;
    Cpu cpuif_;
    Redist redist_;
};

}  // namespace armvm
