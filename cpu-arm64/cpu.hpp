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
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/mem_attrs.hpp"
#include "base/polled_reg.hpp"
#include "cpu-arm64/addr_map.hpp"
#include "cpu-arm64/decoder/decoder.hpp"
#include "cpu-arm64/mmu/tlb.hpp"
#include "cpu-arm64/state.hpp"
#include "cpu-arm64/sysregs/id_regs.hpp"

namespace armvm {

class Bus {
public:
    virtual ~Bus() = default;
    // Little-endian accesses of 1, 2, 4 or 8 bytes at a physical address,
    // made by `who`. false: nothing answers there (the CPU takes a
    // synchronous external abort).
    virtual bool read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who) = 0;
    virtual bool write(uint64_t pa, unsigned size, uint64_t value, MemAttrs who) = 0;
    // read() if it can be done at once without waiting for a lock: 1 done,
    // 0 nothing answers, -1 not tried (then the CPU leaves guest code
    // around a read(), which may wait).
    // With `polled`, a read that was done also says whether the register
    // may be read without the lock from now on (the device's PolledReg,
    // or nullptr), valid while *map_generation() stays the same.
    virtual int try_read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who,
                         const PolledReg** polled = nullptr) {
        (void)pa, (void)size, (void)value, (void)who, (void)polled;
        return -1;
    }
    // A counter that changes whenever the map of devices does (nullptr:
    // the bus hands out no PolledReg).
    virtual const std::atomic<uint64_t>* map_generation() const { return nullptr; }
    // Store-exclusive: atomically replace `expected` with `desired`
    // (`size` 1..8, or 16 for a pair with `expected_hi`/`desired_hi`).
    // false: nothing answers there. The default is not atomic: buses
    // shared by several vCPUs override it.
    // The host bytes of the 4 KiB page at `pa_page` if reads of it may
    // bypass read() (a ROM device in ROM mode); nullptr otherwise. Writes
    // always go through write(). The bus tells the CPUs (their TLBs hold
    // the pointer) when that changes: CpuCluster::flush_tlbs().
    virtual const uint8_t* rom_page(uint64_t pa_page) {
        (void)pa_page;
        return nullptr;
    }
    virtual bool cmpxchg(uint64_t pa, unsigned size, uint64_t expected, uint64_t desired, bool& swapped,
                         uint64_t expected_hi, uint64_t desired_hi, MemAttrs who) {
        unsigned part = size == 16 ? 8 : size;
        uint64_t lo, hi = 0;
        if (!read(pa, part, lo, who) || (size == 16 && !read(pa + 8, 8, hi, who))) return false;
        swapped = lo == expected && hi == expected_hi;
        if (swapped && (!write(pa, part, desired, who) || (size == 16 && !write(pa + 8, 8, desired_hi, who))))
            return false;
        return true;
    }
};

class Cpu;
class CpuCluster;

// The ARM ARM's ComputePAC (QARMA5) with key0 = key<127:64>, key1 =
// key<63:0>; `sse` false: the portable table version (translate/pauth.cpp).
uint64_t pac_compute_qarma5(uint64_t data, uint64_t modifier, uint64_t key0, uint64_t key1, bool sse = true);
namespace jit {
class Backend;
class X64;
}
struct DecodedInsn;
// Returns true if the instruction did more than fall through (branch,
// exception, WFI, ...: Cpu::has_events()); handlers that never do return
// false, so the run loop tests a register, not memory.
using Handler = bool (*)(Cpu&, const DecodedInsn&);

// An instruction decoded once: its handler and, for the specialised
// handlers of frequent instructions (translate/fast.cpp), its operands
// already extracted. The generic handlers decode `insn` themselves.
struct DecodedInsn {
    Handler handler;
    uint32_t insn;
    uint8_t rd = 0, rn = 0, rm = 0, aux = 0;
    int64_t imm = 0;
    // A compare fused with the B.cond after it: its condition and offset.
    uint8_t cond2 = 0;
    // Branch instructions before this entry in its block (not taken, or
    // the block had left: Block::branches, PMU BR_RETIRED).
    uint8_t br_before = 0;
    uint16_t pcoff = 0;  // offset of the instruction in its block (PC = block VA + pcoff)
    int32_t imm2 = 0;
};

// A run of instructions ending at the first one that may change control
// flow other than a conditional branch (or at kMaxBlockInsns, at the end
// of its page, or after kMaxCondBranches conditional branches, which it
// runs on past when they are not taken: a superblock). Blocks are cached
// by the physical address of their first instruction.
struct Block {
    uint64_t pa;
    bool ends_in_branch = false;  // the last instruction is a branch (PMU BR_RETIRED)
    uint8_t branches = 0;         // branch instructions in the block (the last included)
    uint32_t n = 0;               // insns.size(), kept for the run loop
    bool fused = false;           // the last entry is a compare and the B.cond after it
    // The block does not end on an instruction that may change how the
    // next one is fetched (MSR, SYS, ISB, exceptions, ERET): compiled
    // code may jump from its end straight to the next block's code in the
    // same page (jit/x64.cpp, direct links).
    bool plain_end = false;
    // Decoded from a guarded page (FEAT_BTI): a branch that sets
    // PSTATE.BTYPE must land on a compatible first instruction
    // (bti_ok: the BTYPEs it accepts, bit n for BTYPE n; bit 0 always).
    bool guarded = false;
    uint8_t bti_ok = 0xf;
    std::vector<DecodedInsn> insns;
    // The blocks run next, last time: [0] after falling through, [1] after
    // a branch. Valid while the CPU's link generation is unchanged (any
    // TLB, mode or code change moves it on).
    struct Link {
        uint64_t va = ~0ull;
        const Block* block = nullptr;
        uint64_t gen = ~0ull;
    };
    mutable Link links[2];
    // The compiled form (cpu-arm64/jit/), once the block has run often
    // enough; it lives as long as the block.
    mutable const uint8_t* jit = nullptr;
    // Its head: the checks compiled code makes before it enters a block
    // through a direct link (budget, exit requests, mailbox, interrupts).
    mutable const uint8_t* jit_head = nullptr;
    // The same after those that need the run loop (exit requests, mailbox,
    // interrupts): only the budget. A direct link to a block further on in
    // the page enters here; a link back, which every loop has, at jit_head
    // (so linked blocks see a request before they leave one page's run of
    // blocks, each starting further on than the last).
    mutable const uint8_t* jit_head_fast = nullptr;
    mutable uint32_t jit_size = 0;  // bytes of host code from jit_head (-d out_asm)
    mutable uint32_t hits = 0;
};

// Exception classes (ESR_ELx.EC, ARM ARM D17.2.37) used so far.
enum class Ec : uint32_t {
    Unknown = 0x00, Wfx = 0x01, FpAccess = 0x07, Svc64 = 0x15, Hvc64 = 0x16, Smc64 = 0x17, SysReg = 0x18,
    BranchTarget = 0x0d, InsnAbortLower = 0x20, InsnAbortSame = 0x21, PcAlign = 0x22, DataAbortLower = 0x24,
    DataAbortSame = 0x25, SpAlign = 0x26, BreakpointLower = 0x30, BreakpointSame = 0x31, SoftStepLower = 0x32,
    SoftStepSame = 0x33, WatchpointLower = 0x34, WatchpointSame = 0x35, Brk64 = 0x3c,
};

// A request one CPU makes of another (TLBI broadcasts, code invalidation);
// the target carries it out on its own thread at its next block boundary.
struct RemoteOp {
    enum Kind : uint8_t { TlbAll, TlbVa, TlbVaAnyAsid, TlbAsid, CodePage, CodeAll } kind;
    uint16_t asid = 0;
    uint64_t addr = 0;
};

class Cpu {
public:
    static constexpr size_t kMaxBlockInsns = 64;
    static constexpr unsigned kMaxCondBranches = 4;  // a block runs on past this many (Block)
    enum class Access : uint8_t { Read, Write, Exec };

    explicit Cpu(Bus& bus);
    ~Cpu();

    // This CPU's number: in -d logs (base/log.hpp), and as the maker of its
    // memory accesses (the GIC's banked registers).
    int index = 0;
    MemAttrs who() const { return MemAttrs{index, -1}; }
    Cpu(const Cpu&) = delete;
    Cpu& operator=(const Cpu&) = delete;

    CpuState s;
    // What this CPU model advertises (read by MRS; constant after setup).
    IdRegs ids = id_regs_for("cortex-a57", false);
    bool has_pan() const { return ((ids.id_aa64mmfr1 >> 20) & 0xf) != 0; }
    bool has_lor() const { return ((ids.id_aa64mmfr1 >> 16) & 0xf) != 0; }
    bool has_hpds() const { return ((ids.id_aa64mmfr1 >> 12) & 0xf) >= 1; }
    bool has_hpds2() const { return ((ids.id_aa64mmfr1 >> 12) & 0xf) >= 2; }
    // FEAT_HAFDBS: 1 hardware access flag, 2 also dirty state
    unsigned hafdbs_level() const { return static_cast<unsigned>(ids.id_aa64mmfr1 & 0xf); }
    bool has_ids() const { return ((ids.id_aa64mmfr2 >> 36) & 0xf) != 0; }
    bool has_e0pd() const { return ((ids.id_aa64mmfr2 >> 60) & 0xf) != 0; }
    bool has_uao() const { return ((ids.id_aa64mmfr2 >> 4) & 0xf) != 0; }
    // LDTR/STTR access as EL0 (not at EL0 itself, nor at EL1 with PSTATE.UAO)
    bool unprivileged_as_el0() const { return s.el == 1 && !s.uao; }
    bool has_lse() const { return ((ids.id_aa64isar0 >> 20) & 0xf) >= 2; }
    bool has_aes() const { return ((ids.id_aa64isar0 >> 4) & 0xf) >= 1; }
    bool has_pmull() const { return ((ids.id_aa64isar0 >> 4) & 0xf) >= 2; }
    bool has_sha1() const { return ((ids.id_aa64isar0 >> 8) & 0xf) >= 1; }
    bool has_sha256() const { return ((ids.id_aa64isar0 >> 12) & 0xf) >= 1; }
    // (the Armv8.1+ features of -cpu max and the newer models, issue 20)
    bool has_sha512() const { return ((ids.id_aa64isar0 >> 12) & 0xf) >= 2; }
    bool has_rdm() const { return ((ids.id_aa64isar0 >> 28) & 0xf) >= 1; }
    bool has_sha3() const { return ((ids.id_aa64isar0 >> 32) & 0xf) >= 1; }
    bool has_sm3() const { return ((ids.id_aa64isar0 >> 36) & 0xf) >= 1; }
    bool has_sm4() const { return ((ids.id_aa64isar0 >> 40) & 0xf) >= 1; }
    bool has_dotprod() const { return ((ids.id_aa64isar0 >> 44) & 0xf) >= 1; }
    bool has_flagm() const { return ((ids.id_aa64isar0 >> 52) & 0xf) >= 1; }
    bool has_flagm2() const { return ((ids.id_aa64isar0 >> 52) & 0xf) >= 2; }
    bool has_rndr() const { return ((ids.id_aa64isar0 >> 60) & 0xf) >= 1; }
    bool has_tlbios() const { return ((ids.id_aa64isar0 >> 56) & 0xf) >= 1; }
    bool has_tlbirange() const { return ((ids.id_aa64isar0 >> 56) & 0xf) >= 2; }
    bool has_jscvt() const { return ((ids.id_aa64isar1 >> 12) & 0xf) >= 1; }
    bool has_fcma() const { return ((ids.id_aa64isar1 >> 16) & 0xf) >= 1; }
    bool has_lrcpc() const { return ((ids.id_aa64isar1 >> 20) & 0xf) >= 1; }
    bool has_lrcpc2() const { return ((ids.id_aa64isar1 >> 20) & 0xf) >= 2; }
    bool has_frintts() const { return ((ids.id_aa64isar1 >> 32) & 0xf) >= 1; }
    bool has_sb() const { return ((ids.id_aa64isar1 >> 36) & 0xf) >= 1; }
    bool has_i8mm() const { return ((ids.id_aa64isar1 >> 52) & 0xf) >= 1; }
    bool has_bf16() const { return ((ids.id_aa64isar1 >> 44) & 0xf) >= 1; }
    bool has_specres() const { return ((ids.id_aa64isar1 >> 40) & 0xf) >= 1; }
    // FEAT_PAuth: address authentication (QARMA5: APA; implementation
    // defined: API), and the generic PACGA (GPA, GPI)
    bool has_pauth() const { return ((ids.id_aa64isar1 >> 4) & 0xff) != 0; }
    bool has_pacga() const { return ((ids.id_aa64isar1 >> 24) & 0xff) != 0; }
    bool pauth_impdef() const { return ((ids.id_aa64isar1 >> 8) & 0xf) != 0; }
    // FEAT_FP16: half-precision arithmetic (FP 1; AdvSIMD 1 goes with it here)
    bool has_fp16() const { return ((ids.id_aa64pfr0 >> 16) & 0xf) == 1; }
    bool has_fhm() const { return ((ids.id_aa64isar0 >> 48) & 0xf) >= 1; }
    bool has_ras() const { return ((ids.id_aa64pfr0 >> 28) & 0xf) != 0; }
    bool has_dit() const { return ((ids.id_aa64pfr0 >> 48) & 0xf) >= 1; }
    bool has_csv2_2() const { return ((ids.id_aa64pfr0 >> 56) & 0xf) >= 2; }
    bool has_ssbs() const { return ((ids.id_aa64pfr1 >> 4) & 0xf) >= 1; }
    bool has_bti() const { return (ids.id_aa64pfr1 & 0xf) >= 1; }
    // FEAT_LPA2: 52-bit addresses with 4K pages (ID_AA64MMFR0_EL1.TGran4 1)
    bool has_lpa2() const { return ((ids.id_aa64mmfr0 >> 28) & 0xf) == 1; }
    // The BTYPE a BR or BLR (kind 0, 1) through Xn sets from a page
    // guarded or not (0 on CPUs without BTI).
    uint8_t btype_of(unsigned kind, unsigned n, bool guarded) const {
        if (!has_bti()) return 0;
        return kind == 1 ? 2 : (n == 16 || n == 17 || !guarded) ? 1 : 3;
    }
    // Whether the instruction at `va` (fetched: in the TLB) is in a
    // guarded page.
    bool guarded_at(uint64_t va) {
        const mmu::TlbEntry& e = tlb_.slot(va);
        if (e.tag == (va & kPageMask) && (e.global || e.asid == asid_)) return e.guarded;
        const mmu::TlbEntry* f = lookup(va, Access::Exec, need_x_);
        return f && f->guarded;
    }
    bool has_dpb() const { return (ids.id_aa64isar1 & 0xf) >= 1; }   // DC CVAP
    bool has_dpb2() const { return (ids.id_aa64isar1 & 0xf) >= 2; }  // DC CVADP

    // Wfi also stands for a WFE that found no event: the caller sleeps
    // until an interrupt, a wake, or wfe_deadline_ns().
    enum class Stop { Budget, Exception, Wfi, Debug };
    // Runs at most `budget` instructions.
    Stop run(uint64_t budget);

    // With this set, run() returns Stop::Exception instead of taking a
    // synchronous exception (for the user-mode style differential tests);
    // the syndrome is left in last_ec/last_iss.
    bool stop_on_exception = false;
    // Checked at every block boundary: set from another thread to make
    // run() return soon (the vCPU kick). (Never null: compiled code reads
    // it without a test.)
    std::atomic<bool>* exit_request = &no_exit_request_;
    // The IRQ input from the interrupt controller (any thread may set it;
    // the CPU looks at block boundaries).
    std::atomic<bool> irq_line{false};
    // Operations other CPUs posted (process_mailbox). Next to irq_line:
    // compiled code tests both with one load.
    std::atomic<bool> mailbox_pending_{false};

    // Generic timer: the counter runs at kCntFrq from the host's monotonic
    // clock. timer_output() is bit 0 for the EL1 physical timer, bit 1 for
    // the virtual timer (their interrupt outputs, ARM ARM D11.2.4).
    static constexpr uint64_t kCntFrq = 62500000;  // 62.5 MHz, as QEMU 7.2
    // (the machine's clock: CpuCluster::Clock)
    uint64_t counter_now() const;
    // The host CLOCK_MONOTONIC time at which the counter reaches `count`.
    uint64_t counter_to_host_ns(uint64_t count) const;
    // Bit 2: the PMU overflow interrupt (PPI 7 on the virt board).
    uint32_t timer_output();
    // Host CLOCK_MONOTONIC nanoseconds at which the output next changes
    // (UINT64_MAX: never, with the current settings).
    // Includes the PMU cycle counters' next overflow.
    uint64_t timer_deadline_ns() const;

    // ---- PMUv3 (cpu-arm64/pmu.cpp). Counting is lazy: the counters catch
    // up with the instruction, branch and time sources at every sync
    // (PMU register access, change of EL, the run loop's deadline).
    static constexpr unsigned kPmuCounters = 6;
    bool has_pmu() const { return ids.pmu_version() != 0; }
    // PMUv3p1's 16-bit event numbers, PMUv3p4's PMMIR_EL1, PMUv3p5's
    // 64-bit event counters (overflowing at 64 bits with PMCR.LP).
    bool pmu_v3p1() const { return ids.pmu_version() >= 4 && ids.pmu_version() != 0xf; }
    bool pmu_v3p4() const { return ids.pmu_version() >= 5 && ids.pmu_version() != 0xf; }
    bool pmu_v3p5() const { return ids.pmu_version() >= 6 && ids.pmu_version() != 0xf; }
    uint32_t pmu_event(unsigned counter) const { return s.pmevtyper[counter] & (pmu_v3p1() ? 0xffffu : 0x3ffu); }
    void pmu_sync();
    uint32_t pmcr_read() const;
    void pmcr_write(uint64_t v);
    void pmu_changed();  // after a write that may change counting or the IRQ
    void pmu_swinc(uint32_t mask);
    bool pmu_irq_level() const { return (s.pmcr & 1) && (s.pmovs & s.pminten); }
    // The common events implemented, as PMCEID0_EL0 (events 0-31) and
    // PMCEID1_EL0 (32-63) advertise them.
    static uint64_t pmceid(unsigned half);
    // Events only the interpreter counts (memory accesses, loads, stores,
    // PC writes): while an enabled counter counts one, no compiled code
    // runs (pmu_detail_), so a guest that does not ask pays nothing.
    uint64_t pmu_exc_taken = 0, pmu_exc_return = 0;  // exceptions taken, ERETs executed

    // System registers that live outside the core (the GICv3 CPU
    // interface, ICC_*): called for an MRS/MSR at EL1 the core does not
    // know; returns false to leave it UNDEFINED. Called outside the guest
    // (it may take the machine lock).
    std::function<bool(Cpu&, uint32_t key, bool write, uint64_t& value)> sysreg_hook;
    // HVC from EL1 with no EL2: the board's firmware services (PSCI) may
    // claim it; returns false to leave it UNDEFINED.
    std::function<bool(Cpu&)> hvc_hook;
    // HLT #0xF000 (semihosting, when the board enables it): returns false
    // to leave it UNDEFINED. Called outside the guest.
    std::function<bool(Cpu&)> semihost_hook;
    Ec last_ec = Ec::Unknown;
    uint32_t last_iss = 0;
    uint64_t last_far = 0;  // (the fault address of an abort)
    uint64_t insn_count = 0;
    uint64_t branch_count = 0;  // branch instructions retired

    // ---- used by the executors (cpu-arm64/translate/)
    enum class Hafdbs : uint8_t { Done, Retry, Denied, Abort };
    Hafdbs update_descriptor(mmu::Translation& t, uint8_t need);
    // ComputePAC of `data` with `modifier` and key `key` (s.pac_keys'
    // index): QARMA5 or, with pauth-impdef, XXH64 (translate/pauth.cpp);
    // remembered in a small cache.
    uint64_t compute_pac(uint64_t data, uint64_t modifier, unsigned key);
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

    // The PC of the instruction `d` while a block runs (s.pc is only
    // brought up to date at block ends, exceptions and generic handlers).
    uint64_t pc_of(const DecodedInsn& d) const { return block_va_ + d.pcoff; }
    bool has_events() const { return events_ != 0; }
    void set_pc_for(const DecodedInsn& d) { s.pc = block_va_ + d.pcoff; }

    void branch_to(uint64_t target) {
        next_pc_ = target;
        events_ |= kEvBranch;
    }
    // Raises a synchronous exception for the current instruction.
    // `preferred_next`: ELR is the next instruction (SVC, HVC, SMC).
    void raise(Ec ec, uint32_t iss, bool preferred_next = false, uint64_t far = 0, bool far_valid = false);
    void undefined() { raise(Ec::Unknown, 0); }
    // FP/AdvSIMD access as CPACR_EL1.FPEN allows (0b11 everywhere, 0b01
    // at EL1 only); otherwise raises the access trap (EC 0x07, ISS CV = 1,
    // COND = 0b1110, as QEMU reports it) and returns false.
    bool fp_enabled() {
        unsigned fpen = (s.cpacr_el1 >> 20) & 3;
        if (fpen == 3 || (fpen == 1 && s.el == 1)) return true;
        raise(Ec::FpAccess, (1u << 24) | (0xeu << 20));
        return false;
    }
    // A trapped MRS/MSR (EC 0x18) of the current instruction.
    void trap_sysreg(uint32_t insn);
    bool exception_pending() const { return events_ & kEvException; }

    // Data accesses at a virtual address; false after raising an abort.
    // The TLB hit path for RAM is inline; everything else goes through
    // the page-table walk and the Bus.
    bool load(uint64_t va, unsigned size, uint64_t& value) {
        return ram_hit_load(va, size, need_r_, value) || load_slow(va, size, value);
    }
    bool store(uint64_t va, unsigned size, uint64_t value) {
        return ram_hit_store(va, size, need_w_, value) || store_slow(va, size, value);
    }
    // LDTR/STTR: the access is checked as if made from EL0 (the kernel's
    // copy_to/from_user and clear_user: the same inline TLB hit path, with
    // EL0's permission bits).
    bool load_unpriv(uint64_t va, unsigned size, uint64_t& value) {
        return ram_hit_load(va, size, mmu::kR0, value) || load_unpriv_slow(va, size, value);
    }
    bool store_unpriv(uint64_t va, unsigned size, uint64_t value) {
        return ram_hit_store(va, size, mmu::kW0, value) || store_unpriv_slow(va, size, value);
    }
    // The TLB hit for RAM with permission `need`, within one page, aligned
    // as SCTLR asks (a store also not into a page holding code); false
    // otherwise, with nothing done.
    bool ram_hit_load(uint64_t va, unsigned size, uint8_t need, uint64_t& value) {
        mmu::TlbEntry& e = tlb_.slot(va);
        if (e.tag != (va & kPageMask) || !(e.perm & need) || !(e.global || e.asid == asid_) || !e.host ||
            (va & 0xfff) + size > 0x1000 || (va & (size - 1) & align_mask_))
            return false;
        value = read_host(e.host + (va & 0xfff), size);
        return true;
    }
    bool ram_hit_store(uint64_t va, unsigned size, uint8_t need, uint64_t value) {
        mmu::TlbEntry& e = tlb_.slot(va);
        if (e.tag != (va & kPageMask) || !(e.perm & need) || !(e.global || e.asid == asid_) || !e.host ||
            (va & 0xfff) + size > 0x1000 || (va & (size - 1) & align_mask_) || is_code_page(e.ram_page))
            return false;
        write_host(e.host + (va & 0xfff), size, value);
        return true;
    }
    bool load_unpriv_slow(uint64_t va, unsigned size, uint64_t& value);
    bool store_unpriv_slow(uint64_t va, unsigned size, uint64_t value);
    // Raises the alignment fault of an access that must be aligned
    // (exclusives, acquire/release, atomics) and returns false when `va`
    // is not a multiple of `size`.
    bool check_aligned(uint64_t va, unsigned size, bool write);
    // The compare-and-swap of a store-exclusive or an atomic; false if it
    // did not store (an abort is raised if the access faults).
    bool exclusive_store(uint64_t va, unsigned size, uint64_t expected, uint64_t value, uint64_t expected_hi,
                         uint64_t value_hi);
    // Translates for an access, filling the TLB; false after raising the
    // fault (with `cm` the syndrome marks a cache maintenance operation).
    bool translate(uint64_t va, Access acc, uint64_t& pa, bool cm = false);
    // AT S1E*: the walk without an exception, the result in PAR_EL1.
    void address_translate(uint64_t va, Access acc, unsigned el, bool pan);
    // IC IVAU (the page of `va`, on every CPU; a VA that does not translate
    // is ignored, as QEMU) and IC IALLU/IALLUIS (everything, everywhere).
    void ic_ivau(uint64_t va);
    void ic_iallu();

    // TLB maintenance (TLBI): on this CPU and, with `broadcast`, on every
    // other CPU of the cluster (the inner shareable domain), which have
    // all done it when this returns.
    void tlb_maintenance(const RemoteOp& op, bool broadcast);

    void request_wfi() { events_ |= kEvWfi; }
    // WFE (ARM ARM D1.16): returns at once, clearing it, if the event
    // register is set; otherwise the CPU sleeps like WFI, until an event
    // (SEV from any CPU, a store-release or store-exclusive by another CPU
    // while this one waits — standing in for the global monitor's event —
    // an interrupt) or the next tick of the generic timer's event stream.
    void wfe();
    void sev();   // SEV: the event register of every CPU of the cluster
    void sevl() { event_.store(true); }
    // The local exclusive monitor (LDXR arms it; STXR, CLREX and ERET
    // clear it). An armed monitor also counts as waiting for an event: a
    // store-release or store-exclusive by another CPU sets this CPU's event
    // register, as the global monitor's clearing would.
    void set_monitor(bool armed) {
        s.excl_valid = armed;
        monitor_armed_.store(armed, std::memory_order_relaxed);
    }
    // LDXR/LDXP's: armed for `size` bytes at addr, holding what they read.
    void open_monitor(uint64_t addr, unsigned size, uint64_t value, uint64_t value_hi) {
        set_monitor(true);
        s.excl_addr = addr;
        s.excl_size = size;
        s.excl_value = value;
        s.excl_value_hi = value_hi;
    }
    // Called after a store-release or a store-exclusive: wakes CPUs waiting
    // in WFE (cheap when none is).
    void signal_waiters();
    // Host CLOCK_MONOTONIC ns by which a CPU stopped in WFE resumes
    // (UINT64_MAX: it was a WFI, or no event stream bounds it).
    uint64_t wfe_deadline_ns() const { return wfe_deadline_ns_; }
    bool event_pending() const { return event_.load(); }
    bool in_wfe() const { return in_wfe_; }
    // Set by the vCPU layer: makes a sleeping CPU look at its state again.
    std::function<void()> wake_hook;
    // Instructions retired so far, including those of the running block
    // before the current (block-ending) instruction.
    uint64_t insns_retired() const { return insn_count + (cur_block_len_ ? cur_block_len_ - 1 : 0); }
    uint64_t branches_retired() const { return branch_count + (cur_block_len_ ? cur_block_br_ : 0); }
    // A timer register changed: run() returns after this instruction so the
    // vCPU loop re-evaluates the timer outputs.
    void timer_changed() { events_ |= kEvTimer; }
    // RAM the CPU may access directly (no Bus call): the board's main RAM.
    void set_ram_window(uint64_t base, uint8_t* host, uint64_t size);
    // Joins the CPUs sharing memory with this one (the board's CPUs), for
    // TLBI broadcasts and cross-CPU code invalidation.
    void join(CpuCluster& cluster);
    // Drops every cached block and translation (reset, tests).
    void flush_blocks();
    bool block_decoded(uint64_t pa) const { return blocks_.find(pa) != nullptr; }  // (tests)
    // Compiles hot blocks to host code where a backend exists for this
    // host (cpu-arm64/jit/; on by default unless ARMVM_JIT=0).
    // (`hot`: runs of a block before it is compiled, 0 for the default;
    // `arena`: bytes of code space, 0 for the default: for tests.)
    void set_jit(bool on, uint32_t hot = 0, size_t arena = 0);
    bool jit_enabled() const { return jit_ != nullptr; }
    uint64_t jit_resets() const;  // times the code space was full
    uint64_t jit_entries() const { return jit_entries_; }  // run() entering compiled code
    // ---- Debugging from outside the guest (the gdbstub): breakpoints by
    // VA, single step and watchpoints, kept by the emulator (not the
    // guest's debug registers). Set while the vCPU is not running. run()
    // returns Stop::Debug before an instruction at a breakpoint, before the
    // instruction whose access hits a watchpoint (the access not made, as
    // QEMU stops) and after one instruction when stepping (interrupts stay
    // masked during a step, QEMU's default NOIRQ|NOTIMER). The reason is
    // kept until take_debug_stop(). With nothing set, run() pays one test
    // per block; with something set, no compiled code runs.
    struct Watchpoint {
        enum Kind : uint8_t { Write = 1, Read = 2, Access = 3 };
        uint64_t addr = 0, len = 0;
        Kind kind = Write;
    };
    struct DebugStop {
        enum class Kind : uint8_t { None, Breakpoint, Step, Watch } kind = Kind::None;
        uint64_t addr = 0;                          // the breakpoint's or watchpoint's address
        Watchpoint::Kind wkind = Watchpoint::Write;  // the watchpoint's kind
    };
    void set_debug(std::vector<uint64_t> breakpoints, std::vector<Watchpoint> watchpoints, bool step);
    // ---- The guest's own (self-hosted) debug: hardware breakpoints and
    // software step as MDSCR_EL1, DBGBCR/DBGBVR and the OS lock program
    // them (ARM ARM D2). Called after a write to those registers: while
    // any is armed, blocks run through debug_enter like the gdbstub's
    // (interpreted; no cost otherwise).
    void guest_debug_changed();
    // Whether debug exceptions may be taken now (not locked; at EL1 only
    // with MDSCR_EL1.KDE and PSTATE.D clear).
    bool debug_exceptions_enabled() const;
    bool ss_active() const { return (s.mdscr_el1 & 1) && debug_exceptions_enabled(); }
    // The stepped instruction is an ERET: PSTATE.SS is its business.
    void step_consumed_by_eret() { guest_stepping_ = false; }
    bool debug_stopped() const { return debug_ && debug_->stop.kind != DebugStop::Kind::None; }
    DebugStop take_debug_stop();
    // A stop found elsewhere (KVM's guest debug exit, for the Cpu that
    // stands for a KVM vCPU's state): kept for take_debug_stop().
    void post_debug_stop(const DebugStop& stop);
    // The physical address of `va` through the current translation regime
    // (stage 1 as an access from the current EL would see it), without a
    // fault, a TLB fill or any other side effect: the debugger's view.
    bool debug_translate(uint64_t va, uint64_t& pa);
    // Every mapping of the current EL1&0 regime (HMP's info mem and info
    // tlb); false with the MMU off.
    bool debug_mappings(const std::function<void(uint64_t, const mmu::Translation&)>& leaf) {
        return mmu::for_each_mapping(regime(), bus_, leaf);
    }
    // Guest virtual memory as the current regime maps it, for services
    // the emulator gives the guest (semihosting's parameter blocks and
    // buffers): false if a page does not translate or nothing answers.
    // Writes into RAM drop translated code there.
    bool read_virt(uint64_t va, void* buf, size_t n) { return copy_virt(va, static_cast<uint8_t*>(buf), n, false); }
    bool write_virt(uint64_t va, const void* buf, size_t n) {
        return copy_virt(va, const_cast<uint8_t*>(static_cast<const uint8_t*>(buf)), n, true);  // (not written to)
    }
    // PSTATE as the gdbstub's cpsr shows it (SPSR's layout).
    uint32_t pstate() const { return static_cast<uint32_t>(pstate_after_entry()); }
    // The registers as QEMU's cpu_dump_state prints an AArch64 CPU (HMP's
    // info registers, -d cpu): PC, X0-X30, SP, PSTATE and, with `fpu`,
    // FPCR/FPSR and Q0-Q31 (or "FPU disabled" when CPACR traps them).
    std::string dump_state(bool fpu) const;
    void set_pstate(uint32_t v);

    // After a change of EL, PSTATE.PAN or a translation register: the
    // permissions, ASID and alignment checking that accesses use.
    void mode_changed();
    // After a write to SCTLR/TCR/MAIR: cached translations are dropped.
    void regime_changed() {
        tlb_.flush_all();
        links_stale();
        mode_changed();
    }
    // Translations or blocks changed: every remembered VA -> block is
    // out of date (Block::links, the JIT's VA cache).
    void links_stale() {
        ++link_gen_;
        vgens_.forget();
        select_vbank();
        for (auto& w : jit_vpages_) w = 0;  // (no entry holds now)
    }
    mmu::Regime regime() const;

    // Called around anything that may block (the machine lock in MMIO,
    // board hooks): while outside, other CPUs do not wait for this one to
    // acknowledge a broadcast; coming back, pending requests are done.
    // (leaving needs no fence: a peer waits for this CPU a little longer)
    void leave_guest() { in_guest_.store(false, std::memory_order_release); }
    void enter_guest() {
        in_guest_.store(true);
        if (mailbox_pending_.load()) process_mailbox();
    }

private:
    friend class jit::X64;
    friend class CpuCluster;  // (posts code invalidations)
    static constexpr uint64_t kPageMask = ~uint64_t{0xfff};
    // Executions of a block before it is compiled.
    static constexpr uint32_t kJitHot = 16;
    uint32_t jit_hot_ = kJitHot;
    std::unique_ptr<jit::Backend> jit_;
    static inline std::atomic<bool> no_exit_request_{false};
    const Block* jit_block_ = nullptr;  // where compiled code stopped
    // NZCV as compiled code leaves it (jit/x64): when jit_flags_kind_ is
    // not 0, NZCV is that of the operation it names (subtraction,
    // addition or logical, 64 or 32 bits) that gave jit_flags_res_ from a
    // second operand jit_flags_b_, and s.nzcv is stale. Every way out of
    // compiled code and every handler call stores it into s.nzcv first,
    // so nothing else sees the lazy form.
    uint64_t jit_flags_res_ = 0, jit_flags_b_ = 0;
    uint32_t jit_flags_kind_ = 0;
    // The stack pointer compiled code uses (&s.sp_el0 or &s.sp_el1 as
    // PSTATE.SP and the EL select): set when compiled code is entered and
    // again by the chain stub, the only way on from a block that may have
    // changed the EL or PSTATE.SP without going back to the run loop.
    uint64_t* jit_sp_ = &s.sp_el1;
    // insn_count + the limit compiled code was entered with: while it
    // runs, insn_count is this less the limit left (r12), stored into
    // insn_count only when it leaves or calls a handler.
    uint64_t jit_insn_end_ = 0;
    // For compiled code whose link missed: points `link` at the compiled
    // block at `va` if the TLB and the block cache know it without a walk;
    // false otherwise (the run loop finds it).
    static bool jit_relink(Cpu* c, Block::Link* link, uint64_t va);
    // For compiled code whose access missed the TLB's fast table and was
    // made by the interpreter's handler: caches the page of jit_fill_va_
    // in the fast table when it is RAM the current mode may access.
    static void jit_fill(Cpu* c);
    // The same for an unprivileged access (LDTR/STTR): EL0's permissions.
    static void jit_fill_user(Cpu* c);
    void jit_fill_as(uint8_t need_r, uint8_t need_w, unsigned mode);
    // What an unprivileged access's fast-table key keeps of the current
    // mode's: ~3 (mode 0, EL0's entries), all of it with PSTATE.UAO at EL1.
    uint64_t jit_user_key_mask_ = ~uint64_t{3};
    uint64_t jit_fill_va_ = 0;
    static constexpr uint64_t kNoFill = mmu::TlbEntry::kInvalid;  // jit_fill_va_: the access was a device's
    // Compiled code stopped before the block at block_va_ (jit::kUnstarted):
    // the link to remember the block the run loop finds there in, or null.
    Block::Link* jit_link_ = nullptr;
    // Compiled code's cache of VA -> block for indirect branches and
    // chain misses (filled by jit_relink): an entry holds when its tag is
    // VA | jit_vkey_ (1 at EL1) and its gen is jit_vgen_. Each of the last
    // few ASIDs has its generation (vgens_), so a switch between them
    // (Linux without PAN changes ASID at every kernel entry and exit)
    // keeps their entries; a change of translations or blocks gives every
    // ASID a new one. A change of EL changes the tag only.
    struct JitVEntry {
        uint64_t tag = ~0ull, gen = 0;
        const Block* block = nullptr;
        uint64_t pad = 0;
    };
    static constexpr unsigned kJitVCache = 16384;
    std::unique_ptr<JitVEntry[]> jit_vcache_;
    uint64_t jit_vgen_ = 1, jit_vkey_ = 0;
    mmu::AsidGenerations vgens_{UINT64_MAX};
    void select_vbank() { jit_vgen_ = vgens_.select(asid_); }
    // A TLBI of the page at `va`: its entries in the VA cache go.
    void forget_jit_page(uint64_t va);
    // A filter of the pages the VA cache may hold entries of (bit
    // (page number & 4095)): a TLBI of a page it has not (most are of data
    // pages) looks at no entry.
    uint64_t jit_vpages_[64] = {};
    static unsigned vpage_bit(uint64_t va) { return (va >> 12) & 4095; }
    bool jit_full_ = false;             // the code space is full: start again
    bool jit_nochain_ = false;          // what -d nochain was when the code was compiled
    uint64_t jit_entries_ = 0, interp_blocks_ = 0, interp_cold_ = 0, interp_room_ = 0;  // (ARMVM_STATS)
    bool load_slow(uint64_t va, unsigned size, uint64_t& value);
    bool store_slow(uint64_t va, unsigned size, uint64_t value);
    bool access_slow(uint64_t va, unsigned size, uint64_t& value, Access acc, uint8_t need);
    // The TLB entry for `va` allowing `need`, walking on a miss; nullptr
    // after raising the fault.
    bool translate_for(uint64_t va, Access acc, uint8_t need, uint64_t& pa, bool cm);
    mmu::TlbEntry* lookup(uint64_t va, Access acc, uint8_t need, bool cm = false);
    void raise_mmu_fault(uint64_t va, Access acc, mmu::Fault f, bool cm);
    bool read_phys(uint64_t pa, unsigned size, uint64_t& value);
    bool is_code_page(uint32_t ram_page) const;
    void mark_code_page(uint64_t pa_page);
    void invalidate_code_page(uint64_t pa_page);
    void invalidate_all_code();
    void post(const RemoteOp& op);
    void process_mailbox();
    void apply(const RemoteOp& op);
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
    // The block at the current PC, nullptr after raising an instruction
    // abort.
    const Block* fetch_block();
    const Block& decode_block(uint64_t pa, bool guarded);
    // PSTATE.BTYPE is not 0 before block b runs from its start (FEAT_BTI):
    // the Branch Target exception if b is guarded and its first
    // instruction does not accept the BTYPE (false), else BTYPE is 0 now.
    bool bti_check(const Block& b);
    static uint8_t bti_accepts(uint32_t insn);
    void log_out_asm(const Block& b) const;
    void enter_el1(uint64_t vector_offset, uint64_t elr);
    bool pmu_filtered(uint32_t typer) const;
    void pmu_arm_deadline();
    uint64_t pmu_last_insn_ = 0, pmu_last_br_ = 0, pmu_last_ns_ = 0, pmu_ns_frac_ = 0;
    uint64_t pmu_insn_deadline_ = UINT64_MAX;  // insn_count at which run() syncs the PMU
    // The interpreter's event sources (cumulative) and their values at
    // the last sync: memory accesses, load and store instructions, PC
    // writes; then the exceptions taken and returned from.
    enum PmuSource : unsigned { kSrcMem, kSrcLoad, kSrcStore, kSrcPcWrite, kSrcExcTaken, kSrcExcReturn, kPmuSources };
    uint64_t pmu_src_[kSrcExcTaken] = {};
    uint64_t pmu_last_src_[kPmuSources] = {};
    bool pmu_detail_ = false;    // an enabled counter counts an interpreter-only event
    bool pmu_level_out_ = false;  // the overflow interrupt's level as timer_output() last gave it
    void pmu_add(unsigned counter, uint64_t delta);  // with overflow and CHAIN
    uint64_t pmu_until_overflow(unsigned counter) const;  // events left (UINT64_MAX: 2^64)
    // Runs decoded instructions from d to end counting the detail events
    // of those that retire; returns where it stopped (as the plain loop).
    const DecodedInsn* run_counting(const DecodedInsn* d, const DecodedInsn* end, const DecodedInsn* first, bool fused);
    // While a block runs: its length, and the branches before its last
    // entry (an instruction that reads the PMU or the timer ends a block:
    // those retired before it). One 64-bit store sets both (jit/x64.cpp).
    uint32_t cur_block_len_ = 0;
    uint32_t cur_block_br_ = 0;
    void take_exception();
    uint64_t pstate_after_entry() const;
    void take_irq();

    static constexpr size_t kJmpCache = 32768;  // (a Linux boot through UEFI: 4096 missed often enough to spend 6% in the block map)
    uint64_t link_gen_ = 0;  // Block::Link validity
    std::atomic<bool> event_{false};  // the event register (WFE/SEV)
    std::atomic<bool> monitor_armed_{false};
    bool in_wfe_ = false;             // counted in the cluster's wfe_waiters
    uint64_t wfe_deadline_ns_ = UINT64_MAX;
    uint64_t block_va_ = 0;  // VA of the running block

    // What the current instruction did besides falling through: checked
    // once per instruction by run().
    // kEvDebug: an access hit a gdbstub watchpoint (the instruction does
    // not retire; run() returns Stop::Debug).
    enum : uint32_t { kEvBranch = 1, kEvException = 2, kEvWfi = 4, kEvFlush = 8, kEvTimer = 16, kEvDebug = 32 };
    uint32_t events_ = 0;

    struct DebugCtl {
        std::vector<uint64_t> bps;  // sorted
        std::vector<Watchpoint> watches;
        bool step = false;
        DebugStop stop;
        Block one;  // the single instruction run when stepping or near a breakpoint
        // The guest's watchpoints as DBGWCR/DBGWVR program them: [lo, hi),
        // for loads and/or stores, at EL1 (pac bit 0) and/or EL0 (bit 1).
        struct GuestWatch {
            uint64_t lo, hi;
            bool load, store;
            unsigned pac;
            bool operator==(const GuestWatch&) const = default;
        };
        std::vector<GuestWatch> guest_watches;
    };
    // Whether some watchpoint (the gdbstub's or the guest's) is set: data
    // accesses to its pages take the slow path.
    bool any_watch() const { return debug_ && (!debug_->watches.empty() || !debug_->guest_watches.empty()); }
    std::unique_ptr<DebugCtl> debug_;  // null: no debugging (the fast path)
    // Before a block runs with debugging on: false at a breakpoint (the
    // stop is set); otherwise `b` may become a one-instruction block.
    bool debug_enter(const Block*& b);
    // The guest's debug events before the instruction at s.pc: false with
    // the exception raised (b null); `one` set to run one instruction.
    bool guest_debug_enter(const Block*& b, bool& one);
    // Breakpoint `lbn` as the context a linked breakpoint or watchpoint
    // names: context-aware, enabled, a linked CONTEXTIDR match (BT
    // 0b0011), and CONTEXTIDR_EL1 holding its value now.
    bool linked_context_matches(unsigned lbn) const;
    bool guest_armed_ = false;     // some guest breakpoint or step is programmed
    bool guest_stepping_ = false;  // this instruction is being stepped
    bool step_isv_ = false, step_ex_ = false;  // the pending step exception's ISS.ISV and EX
    bool watch_hit(uint64_t va, unsigned size, bool write);
    bool copy_virt(uint64_t va, uint8_t* p, size_t n, bool write);
    void log_exec(const Block* b);
    bool page_watched(uint64_t va) const;
    Bus& bus_;
    const std::atomic<uint64_t>* map_gen_;  // bus_.map_generation()
    // The device register this CPU polls (read twice in a row): read
    // without the machine lock while the map is the one it was found in.
    struct Polled {
        uint64_t pa = ~0ull;
        unsigned size = 0;
        uint64_t gen = 0;
        const PolledReg* reg = nullptr;  // (nullptr: the register at pa may not be)
    } polled_;
    uint64_t last_dev_read_ = ~0ull;  // PA of the last device read
    mmu::Tlb tlb_;
    uint8_t need_r_ = mmu::kR1, need_w_ = mmu::kW1, need_x_ = mmu::kX1;
    uint16_t asid_ = 0;
    uint64_t align_mask_ = 0;  // ~0 with SCTLR_EL1.A: every access must be aligned

    AddrMap<Block> blocks_;  // by PA
    // Blocks dropped while an instruction of one may still be running
    // (its handler reads its operands from the block): freed at the next
    // block boundary.
    std::vector<std::unique_ptr<Block>> dead_blocks_;
    std::vector<AddrMap<Block>> dead_maps_;
    std::unordered_map<uint64_t, std::vector<uint64_t>> page_blocks_;  // PA page -> its blocks
    struct JmpEntry {
        uint64_t pa = ~0ull;  // (the block map's key: bit 0 for a guarded page's)
        const Block* block = nullptr;
    };
    alignas(64) JmpEntry jmp_cache_[kJmpCache];  // (aligned, as the TLB's tables: mmu/tlb.hpp)
    uint64_t ram_base_ = 0, ram_size_ = 0;
    uint8_t* ram_host_ = nullptr;
    uint64_t next_pc_ = 0;
    bool pending_next_ = false;
    Ec pend_ec_ = Ec::Unknown;
    uint32_t pend_iss_ = 0;
    uint64_t pend_far_ = 0;
    bool pend_far_valid_ = false;

    CpuCluster* cluster_ = nullptr;
    std::unique_ptr<CpuCluster> own_cluster_;  // until join()
    std::mutex mailbox_m_;
    std::vector<RemoteOp> mailbox_;
    bool mailbox_overflow_ = false;
    std::atomic<uint64_t> mailbox_posted_{0}, mailbox_done_{0};
    std::atomic<bool> in_guest_{false};

    // Compiled code's return-stack prediction: a BL or BLR pushes its
    // block's links[0] (its own fall-through link, which a call does not
    // otherwise use: it comes to hold the block at the return address); a
    // RET pops one and chains through it, not through its own link, which
    // holds only the last of the function's callers. A link that does not
    // match (an empty slot: a dummy link; a return elsewhere) misses as
    // any link does, through the VA cache, which fills it. 256 slots, the
    // index a byte that wraps; reset whenever blocks are freed (a slot
    // points into one).
    static constexpr unsigned kJitRas = 256;
    Block::Link* jit_ras_[kJitRas];
    uint8_t jit_ras_top_ = 0;
    Block::Link jit_ras_dummy_;
    void jit_ras_clear() { std::fill(std::begin(jit_ras_), std::end(jit_ras_), &jit_ras_dummy_); }

    // compute_pac()'s cache: direct-mapped, each entry with its inputs.
    struct PacCacheEntry {
        uint64_t data = 0, modifier = 0, lo = 0, hi = 0, pac = 0;
        bool valid = false;
    };
    static constexpr size_t kPacCacheSize = 1024;
    uint64_t pac_computed_ = 0, pac_cached_ = 0;  // (ARMVM_STATS)
    std::unique_ptr<PacCacheEntry[]> pac_cache_ = std::make_unique<PacCacheEntry[]>(kPacCacheSize);
};

// CPUs that share memory: the map of RAM pages that hold decoded code (a
// store to one invalidates every CPU's blocks from it) and the peers a
// TLBI broadcast reaches.
class CpuCluster {
public:
    void add(Cpu* c) { cpus_.push_back(c); }
    const std::vector<Cpu*>& cpus() const { return cpus_; }
    void set_ram(uint64_t size) {
        pages_ = (size + 0xfff) / 0x1000;
        code_ = std::make_unique<std::atomic<uint8_t>[]>(pages_);
        clear();
    }
    // The mark of RAM page `page`, a byte (compiled stores test it inline
    // through mmu::FastEntry::code); a byte that is never set past RAM.
    const std::atomic<uint8_t>* mark_of(uint32_t page) const {
        static const std::atomic<uint8_t> never{0};
        return page < pages_ ? &code_[page] : &never;
    }
    bool is_code(uint32_t page) const { return code_[page].load(std::memory_order_relaxed); }
    void mark(uint32_t page) { code_[page].store(1); }
    // true if it was marked.
    bool unmark(uint32_t page) { return code_[page].exchange(0); }
    void clear() {
        for (size_t i = 0; i < pages_; ++i) code_[i].store(0);
    }
    std::atomic<int> wfe_waiters{0};  // CPUs asleep in WFE

    // The machine's system counter: host CLOCK_MONOTONIC less the time the
    // machine spent stopped (QMP stop, virsh suspend; as QEMU's virtual
    // clock it does not advance while the guest cannot run). One per
    // machine: two machines in one process keep their own time.
    struct Clock {
        std::atomic<uint64_t> offset_ns{0};
        std::atomic<uint64_t> stopped_at_ns{0};  // 0: running
        uint64_t counter() const;  // in kCntFrq ticks
        uint64_t to_host_ns(uint64_t count) const;
        void stop();   // (the board's pause)
        void start();  // (and resume)
    } clock;

    // RAM at [off, off+len) (RAM-relative, RAM at `ram_base`) was written
    // behind the CPUs' backs (device DMA, IC IVAU): every CPU drops the
    // blocks decoded from the pages that hold code. Safe from any thread.
    void ram_written(uint64_t ram_base, uint64_t off, uint64_t len);
    // Every CPU drops every block (IC IALLUIS).
    void drop_all_code();
    // Every CPU empties its TLB (the bus's ROM pages changed): the CPU
    // whose store caused it before its next access, the others at their
    // next block boundary. Safe from any thread.
    void flush_tlbs();

private:
    std::vector<Cpu*> cpus_;
    std::unique_ptr<std::atomic<uint8_t>[]> code_;  // one byte per RAM page: 1 it holds decoded code
    size_t pages_ = 0;
};

inline bool Cpu::is_code_page(uint32_t ram_page) const { return cluster_->is_code(ram_page); }

// The executor for each decoder entry (decoding the instruction word).
Handler handler_for(a64::Op op);
// The decoded form of one instruction: a specialised handler with its
// operands where translate/fast.cpp has one, else handler_for(op).
DecodedInsn translate_insn(uint32_t insn, a64::Op op);
// A flag-setting compare followed by B.cond, as one entry (both retire
// together); false if `cmp` has no fused form.
bool fuse_compare_branch(DecodedInsn& cmp, const DecodedInsn& bcond);
// Whether the handler is a compare fused with the B.cond after it
// (DecodedInsn::cond2, imm2), for a backend that compiles blocks.
bool fused_compare(Handler h);
// Stands in a block for an instruction that could not be fetched.
bool exec_fetch_abort(Cpu& c, const DecodedInsn&);

}  // namespace armvm
