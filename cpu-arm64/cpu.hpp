// One AArch64 CPU: the interpreter over translation blocks. Decoding,
// block management and execution are separate so a JIT backend can later
// compile a Block instead of interpreting it.
//
// The CPU sees the world through injected interfaces: a Bus for memory
// and MMIO (DESIGN.md "Boundaries"), so unit tests run instructions on a
// fake bus.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cpu-arm64/decoder/decoder.hpp"
#include "cpu-arm64/state.hpp"
#include "cpu-arm64/sysregs/id_regs.hpp"

namespace armvm {

class Bus {
public:
    virtual ~Bus() = default;
    // Little-endian accesses of 1, 2, 4 or 8 bytes at a physical address.
    // false: nothing answers there (the CPU takes a synchronous external
    // abort).
    virtual bool read(uint64_t pa, unsigned size, uint64_t& value) = 0;
    virtual bool write(uint64_t pa, unsigned size, uint64_t value) = 0;
    // Store-exclusive: atomically replace `expected` with `desired`
    // (`size` 1..8, or 16 for a pair with `expected_hi`/`desired_hi`).
    // false: nothing answers there. The default is not atomic: buses
    // shared by several vCPUs override it.
    virtual bool cmpxchg(uint64_t pa, unsigned size, uint64_t expected, uint64_t desired, bool& swapped,
                         uint64_t expected_hi = 0, uint64_t desired_hi = 0) {
        unsigned part = size == 16 ? 8 : size;
        uint64_t lo, hi = 0;
        if (!read(pa, part, lo) || (size == 16 && !read(pa + 8, 8, hi))) return false;
        swapped = lo == expected && hi == expected_hi;
        if (swapped && (!write(pa, part, desired) || (size == 16 && !write(pa + 8, 8, desired_hi)))) return false;
        return true;
    }
};

class Cpu;
using Handler = void (*)(Cpu&, uint32_t insn);

struct DecodedInsn {
    Handler handler;
    uint32_t insn;
};

// A straight run of instructions ending at the first one that may change
// control flow (or at kMaxBlockInsns).
struct Block {
    uint64_t pc;
    std::vector<DecodedInsn> insns;
};

// Exception classes (ESR_ELx.EC, ARM ARM D17.2.37) used so far.
enum class Ec : uint32_t {
    Unknown = 0x00, Wfx = 0x01, Svc64 = 0x15, Hvc64 = 0x16, Smc64 = 0x17, SysReg = 0x18,
    InsnAbortLower = 0x20, InsnAbortSame = 0x21, PcAlign = 0x22, DataAbortLower = 0x24,
    DataAbortSame = 0x25, SpAlign = 0x26, Brk64 = 0x3c,
};

class Cpu {
public:
    static constexpr size_t kMaxBlockInsns = 64;

    explicit Cpu(Bus& bus) : bus_(bus) {}

    CpuState s;
    // What this CPU model advertises (read by MRS; constant after setup).
    IdRegs ids = id_regs_for("cortex-a57", false);

    enum class Stop { Budget, Exception, Wfi };
    // Runs at most `budget` instructions.
    Stop run(uint64_t budget);

    // With this set, run() returns Stop::Exception instead of taking a
    // synchronous exception (for the user-mode style differential tests);
    // the syndrome is left in last_ec/last_iss.
    bool stop_on_exception = false;
    // Checked at every block boundary: set from another thread to make
    // run() return soon (the vCPU kick).
    std::atomic<bool>* exit_request = nullptr;
    // The IRQ input from the interrupt controller (any thread may set it;
    // the CPU looks at block boundaries).
    std::atomic<bool> irq_line{false};

    // Generic timer: the counter runs at kCntFrq from the host's monotonic
    // clock. timer_output() is bit 0 for the EL1 physical timer, bit 1 for
    // the virtual timer (their interrupt outputs, ARM ARM D11.2.4).
    static constexpr uint64_t kCntFrq = 62500000;  // 62.5 MHz, as QEMU 7.2
    static uint64_t counter_now();
    uint32_t timer_output() const;
    // Host CLOCK_MONOTONIC nanoseconds at which the output next changes
    // (UINT64_MAX: never, with the current settings).
    uint64_t timer_deadline_ns() const;

    // System registers that live outside the core (the GICv3 CPU
    // interface, ICC_*): called for an MRS/MSR at EL1 the core does not
    // know; returns false to leave it UNDEFINED.
    std::function<bool(Cpu&, uint32_t key, bool write, uint64_t& value)> sysreg_hook;
    // HVC from EL1 with no EL2: the board's firmware services (PSCI) may
    // claim it; returns false to leave it UNDEFINED.
    std::function<bool(Cpu&)> hvc_hook;
    Ec last_ec = Ec::Unknown;
    uint32_t last_iss = 0;
    uint64_t insn_count = 0;

    // ---- used by the executors (cpu-arm64/translate/)
    uint64_t x(unsigned r) const { return r == 31 ? 0 : s.x[r]; }  // XZR reads 0
    uint64_t w(unsigned r) const { return static_cast<uint32_t>(x(r)); }
    void set_x(unsigned r, uint64_t v) {
        if (r != 31) s.x[r] = v;
    }
    void set_w(unsigned r, uint64_t v) { set_x(r, static_cast<uint32_t>(v)); }
    uint64_t sp() const { return s.spsel && s.el > 0 ? s.sp_el1 : s.sp_el0; }
    void set_sp(uint64_t v) { (s.spsel && s.el > 0 ? s.sp_el1 : s.sp_el0) = v; }
    uint64_t x_or_sp(unsigned r) const { return r == 31 ? sp() : s.x[r]; }
    void set_x_or_sp(unsigned r, uint64_t v) {
        if (r == 31) set_sp(v); else s.x[r] = v;
    }

    void branch_to(uint64_t target) {
        next_pc_ = target;
        events_ |= kEvBranch;
    }
    // Raises a synchronous exception for the current instruction.
    // `preferred_next`: ELR is the next instruction (SVC, HVC, SMC).
    void raise(Ec ec, uint32_t iss, bool preferred_next = false, uint64_t far = 0, bool far_valid = false);
    void undefined() { raise(Ec::Unknown, 0); }
    bool exception_pending() const { return events_ & kEvException; }

    // Data accesses; false after raising a data abort. RAM is accessed
    // directly (inline), everything else through the Bus.
    bool load(uint64_t va, unsigned size, uint64_t& value) {
        if (uint8_t* p = ram(va, size)) {
            value = read_host(p, size);
            return true;
        }
        return load_slow(va, size, value);
    }
    bool store(uint64_t va, unsigned size, uint64_t value) {
        note_store(va);  // self-modifying code drops the decoded blocks
        if (uint8_t* p = ram(va, size)) {
            write_host(p, size, value);
            return true;
        }
        return store_slow(va, size, value);
    }
    // The compare-and-swap of a store-exclusive; false if it did not store
    // (a data abort is raised if nothing answers at va).
    bool exclusive_store(uint64_t va, unsigned size, uint64_t expected, uint64_t value, uint64_t expected_hi,
                         uint64_t value_hi);

    void request_wfi() { events_ |= kEvWfi; }
    // A timer register changed: run() returns after this instruction so the
    // vCPU loop re-evaluates the timer outputs.
    void timer_changed() { events_ |= kEvTimer; }
    // RAM the CPU may access directly (no Bus call): the board's main RAM.
    void set_ram_window(uint64_t base, uint8_t* host, uint64_t size) {
        ram_base_ = base;
        ram_host_ = host;
        ram_size_ = size;
    }
    // Drops every cached block (TLB maintenance, SCTLR changes, tests).
    void flush_blocks();

private:
    bool load_slow(uint64_t va, unsigned size, uint64_t& value);
    bool store_slow(uint64_t va, unsigned size, uint64_t value);
    // Fixed-size host copies (little-endian host): one move each.
    static uint64_t read_host(const uint8_t* p, unsigned size) {
        switch (size) {
        case 1: return *p;
        case 2: { uint16_t v; std::memcpy(&v, p, 2); return v; }
        case 4: { uint32_t v; std::memcpy(&v, p, 4); return v; }
        default: { uint64_t v; std::memcpy(&v, p, 8); return v; }
        }
    }
    static void write_host(uint8_t* p, unsigned size, uint64_t v) {
        switch (size) {
        case 1: *p = static_cast<uint8_t>(v); break;
        case 2: { uint16_t w = static_cast<uint16_t>(v); std::memcpy(p, &w, 2); break; }
        case 4: { uint32_t w = static_cast<uint32_t>(v); std::memcpy(p, &w, 4); break; }
        default: std::memcpy(p, &v, 8); break;
        }
    }
    const Block& block_at(uint64_t pc);
    const Block& decode_block(uint64_t pc);
    void take_exception();
    bool maybe_code_page(uint64_t page) const {
        uint64_t h = (page >> 12) & (kFilterBits - 1);
        return (code_filter_[h >> 6] >> (h & 63)) & 1;
    }
    void note_store(uint64_t va) {
        if (maybe_code_page(va & ~uint64_t{0xfff}) && code_pages_.count(va & ~uint64_t{0xfff})) flush_blocks();
    }
    uint8_t* ram(uint64_t va, unsigned size) const {
        uint64_t off = va - ram_base_;
        return (off < ram_size_ && size <= ram_size_ - off) ? ram_host_ + off : nullptr;
    }

    static constexpr size_t kJmpCache = 4096;
    static constexpr uint64_t kFilterBits = 1u << 14;

    // What the current instruction did besides falling through: checked
    // once per instruction by run().
    enum : uint32_t { kEvBranch = 1, kEvException = 2, kEvWfi = 4, kEvFlush = 8, kEvTimer = 16 };
    void take_irq();
    uint32_t events_ = 0;

    Bus& bus_;
    std::unordered_map<uint64_t, Block> blocks_;
    std::unordered_set<uint64_t> code_pages_;  // pages blocks were decoded from
    uint64_t code_filter_[kFilterBits / 64] = {};  // a hashed superset of code_pages_
    struct JmpEntry {
        uint64_t pc = ~0ull;
        const Block* block = nullptr;
    };
    JmpEntry jmp_cache_[kJmpCache];
    uint64_t flush_gen_ = 0;
    uint64_t ram_base_ = 0, ram_size_ = 0;
    uint8_t* ram_host_ = nullptr;
    uint64_t next_pc_ = 0;
    bool pending_next_ = false;
    Ec pend_ec_ = Ec::Unknown;
    uint32_t pend_iss_ = 0;
    uint64_t pend_far_ = 0;
    bool pend_far_valid_ = false;
};

// The executor for each decoder entry.
Handler handler_for(a64::Op op);
// Stands in a block for an instruction that could not be fetched.
void exec_fetch_abort(Cpu& c, uint32_t);

}  // namespace armvm
