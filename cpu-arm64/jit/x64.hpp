// The x86-64 backend's parts shared by its files (x64.cpp: the backend
// and the block emitter's core; x64_stubs.cpp: the shared stubs and
// tables; x64_simd.cpp: the AdvSIMD and FP forms it compiles). Private to
// cpu-arm64/jit/.
//
// Host registers while compiled code runs:
//   rbx  the Cpu               r12  instructions left (signed)
//   r13  VA of the running block   r14  the running Block (at exits)
//   r15  the constant tables (flags, conditions, FP classes)
//   rbp, r10, r11, r14, r8, r9  the block's register cache (r14 inside it;
//        X0-X30 and the SP)
//   xmm8-xmm15  the IR's vector values within a run (xmm6, xmm7: its temporaries)
// rax, rcx, rdx, rsi, rdi are scratch; handlers are called with
// the stack 16-byte aligned.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <vector>

#include <xbyak/xbyak.h>

#include "base/log.hpp"
#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/ir/ir.hpp"
#include "cpu-arm64/jit/jit.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::jit {

// NZCV for the host flags after a subtraction (ARM's C is the inverse of
// the borrow) and after an addition or a logical operation, indexed by
// (AH after LAHF & 0xc1) | OF << 1: SF bit 7, ZF bit 6, OF bit 1, CF bit 0.
// cond[c]: bit i set when condition c holds for NZCV = i.
struct Tables {
    uint32_t sub[256];
    uint32_t add[256];
    uint32_t cond[16];
    // The FP fast path's lane classes ([0] single, [1] double): the
    // magnitude mask, the largest finite magnitude, the smallest normal
    // one and that plus one (16-byte vectors).
    struct alignas(16) Vec {
        uint64_t lo, hi;
    };
    Vec abs[2], max_finite[2], min_normal[2], min_normal1[2];
    Vec low_half;  // the 64-bit vector forms: only lanes of the low half count
    Vec low_single;  // a scalar single: only lane 0 counts
};

const Tables& tables();

// The code space a compile needs free (a block's code is far smaller).
inline constexpr size_t kMinRoom = 64u << 10;

// [rbx + nzcv] = NZCV from the host flags an x86 subtraction (`sub`: ARM's
// C is NOT CF) or an addition or AND just set; clobbers rax, rcx (r15:
// the Tables).
inline void store_host_nzcv(Xbyak::CodeGenerator& g, int32_t nzcv, bool sub) {
    using namespace Xbyak::util;
    g.lahf();
    g.seto(al);
    g.movzx(ecx, ah);
    g.and_(ecx, 0xc1);
    g.movzx(eax, al);
    g.lea(ecx, ptr[rcx + rax * 2]);
    g.mov(eax, dword[r15 + rcx * 4 + static_cast<int>(sub ? offsetof(Tables, sub) : offsetof(Tables, add))]);
    g.mov(dword[rbx + nzcv], eax);
}

// Cpu::jit_flags_kind_: the operation whose result and second operand
// give NZCV (0: s.nzcv holds it).
// (kFlagsHost*: flags_res holds the host's RFLAGS after an x86 ADC or SBB,
// the convention of an addition or a subtraction.)
enum FlagsKind : uint32_t {
    kFlagsStored, kFlagsSub64, kFlagsSub32, kFlagsAdd64, kFlagsAdd32, kFlagsLogic64, kFlagsLogic32,
    kFlagsHostAdd, kFlagsHostSub
};

// The host flags the lazy NZCV's operation set, again: from its result in
// rcx and its second operand in rdx (64 or 32 bits, `w`), the first
// operand is the result undone and the x86 SUB (`sub`, as CMP) or ADD is
// made again. (The flags stub and Emitter::replay_inline.)
inline void redo_host_flags(Xbyak::CodeGenerator& g, bool w, bool sub) {
    using namespace Xbyak::util;
    const Xbyak::Reg& a = w ? static_cast<const Xbyak::Reg&>(rcx) : static_cast<const Xbyak::Reg&>(ecx);
    const Xbyak::Reg& b = w ? static_cast<const Xbyak::Reg&>(rdx) : static_cast<const Xbyak::Reg&>(edx);
    if (sub) {
        g.add(a, b);
        g.cmp(a, b);
    } else {
        g.sub(a, b);
        g.add(a, b);
    }
}

class X64 final : public Backend {
public:
    unsigned zva_bytes() const { return 4u << (c_.ids.dczid & 0xf); }  // (DC ZVA's block: DCZID_EL0.BS)
    bool has_pauth() const { return c_.has_pauth(); }
    bool has_bti() const { return c_.has_bti(); }
    X64(Cpu& c, uint8_t* arena, size_t size) : c_(c), arena_(arena), size_(size) {
        auto at = [&](const void* p) {
            return static_cast<int32_t>(reinterpret_cast<const char*>(p) - reinterpret_cast<const char*>(&c));
        };
        o_.state = at(&c.s);
        o_.x = at(&c.s.x[0]);
        o_.v = at(&c.s.v[0][0]);
        o_.cpacr = at(&c.s.cpacr_el1);
        o_.sctlr = at(&c.s.sctlr_el1);
        o_.excl_valid = at(&c.s.excl_valid);
        o_.excl_addr = at(&c.s.excl_addr);
        o_.excl_size = at(&c.s.excl_size);
        o_.excl_value = at(&c.s.excl_value);
        o_.excl_value_hi = at(&c.s.excl_value_hi);
        o_.monitor = at(&c.monitor_armed_);
        o_.fpcr = at(&c.s.fpcr);
        o_.fpsr = at(&c.s.fpsr);
        o_.sp0 = at(&c.s.sp_el0);
        o_.sp1 = at(&c.s.sp_el1);
        if (o_.sp1 != o_.sp0 + 8) throw std::logic_error("CpuState::sp_el1 must follow sp_el0");
        o_.nzcv = at(&c.s.nzcv);
        o_.btype = at(&c.s.btype);
        o_.flags_res = at(&c.jit_flags_res_);
        o_.flags_b = at(&c.jit_flags_b_);
        o_.flags_kind = at(&c.jit_flags_kind_);
        o_.el = at(&c.s.el);
        o_.spsel = at(&c.s.spsel);
        o_.jit_sp = at(&c.jit_sp_);
        o_.daif = at(&c.s.daif);
        o_.events = at(&c.events_);
        o_.next_pc = at(&c.next_pc_);
        o_.block_va = at(&c.block_va_);
        o_.cur_len = at(&c.cur_block_len_);
        if (at(&c.cur_block_br_) != o_.cur_len + 4) throw std::logic_error("Cpu::cur_block_br_ must follow cur_block_len_");
        o_.insn_count = at(&c.insn_count);
        o_.insn_end = at(&c.jit_insn_end_);
        o_.branch_count = at(&c.branch_count);
        o_.link_gen = at(&c.link_gen_);
        o_.fast = at(c.tlb_.fast_table());
        o_.fast_key = at(c.tlb_.fast_key());
        o_.user_mask = at(&c.jit_user_key_mask_);
        o_.fill_va = at(&c.jit_fill_va_);
        o_.mailbox = at(&c.mailbox_pending_);
        o_.irq = at(&c.irq_line);
        if (o_.mailbox != o_.irq + 1) throw std::logic_error("Cpu::mailbox_pending_ must follow irq_line");
        o_.exit_req = at(&c.exit_request);
        o_.jit_block = at(&c.jit_block_);
        Block probe;
        o_.block_jit = static_cast<int32_t>(reinterpret_cast<char*>(&probe.jit) - reinterpret_cast<char*>(&probe));
        o_.block_n = static_cast<int32_t>(reinterpret_cast<char*>(&probe.n) - reinterpret_cast<char*>(&probe));
        o_.block_head = static_cast<int32_t>(reinterpret_cast<char*>(&probe.jit_head) - reinterpret_cast<char*>(&probe));
        o_.block_pa = static_cast<int32_t>(reinterpret_cast<char*>(&probe.pa) - reinterpret_cast<char*>(&probe));
        o_.block_head_fast =
            static_cast<int32_t>(reinterpret_cast<char*>(&probe.jit_head_fast) - reinterpret_cast<char*>(&probe));
        o_.jit_link = at(&c.jit_link_);
        o_.vcache = at(&c.jit_vcache_);
        o_.vgen = at(&c.jit_vgen_);
        o_.vkey = at(&c.jit_vkey_);
        o_.ras = at(&c.jit_ras_);
        o_.ras_top = at(&c.jit_ras_top_);
        static_assert(Cpu::kJitRas == 256, "compiled code indexes the return stack with a byte that wraps");
        emit_trampoline();
    }
    ~X64() override;

    bool compile(const Block& b) override;
    Result enter(const Block& b, uint64_t va, int64_t limit) override {
        c_.jit_insn_end_ = c_.insn_count + static_cast<uint64_t>(limit);
        c_.jit_sp_ = c_.s.spsel && c_.s.el > 0 ? &c_.s.sp_el1 : &c_.s.sp_el0;
        return enter_(&c_, b.jit, limit, va, &b);
    }
    uint64_t resets() const override { return resets_; }
    void reset() override {
        total_ += used_ - code_start_;
        ++resets_;
        used_ = code_start_;
    }

    struct Offsets {
        int32_t state, x, v, cpacr, sctlr, fpcr, fpsr, sp0, sp1, nzcv, el, spsel, daif, events,
            next_pc, block_va, cur_len, insn_count, insn_end, branch_count, link_gen, fast, fast_key, fill_va, mailbox, irq,
            exit_req, jit_block, block_jit, block_n, block_head, block_pa, block_head_fast, jit_link, vcache, vgen, vkey,
            excl_valid, excl_addr, excl_size, excl_value, excl_value_hi, monitor, flags_res, flags_b, flags_kind, ras,
            ras_top, user_mask, jit_sp, btype;
    };
    const Offsets& off() const { return o_; }
    const uint8_t* exit_stub() const { return exit_; }
    const uint8_t* chain_stub() const { return chain_; }
    // The chain stub's way back to the run loop, without looking for the
    // next block (-d nochain: every block returns there).
    const uint8_t* chain_exit_stub() const { return chain_exit_; }
    const uint8_t* link_stub() const { return link_; }
    const uint8_t* call_stub(bool flags) const { return flags ? call_flags_ : call_; }
    const uint8_t* flags_stub() const { return flags_; }
    // mem: 1 an access with the current mode's permissions, 2 an
    // unprivileged one (LDTR/STTR: EL0's).
    const uint8_t* mem_call_stub(int mem) const { return mem_call_[mem - 1]; }

private:
    void emit_trampoline();
    using EnterFn = Result (*)(Cpu*, const void* code, int64_t limit, uint64_t va, const Block* b);
    Cpu& c_;
    uint8_t* arena_;
    size_t size_;
    size_t used_ = 0, code_start_ = 0;
    uint64_t total_ = 0, blocks_ = 0, resets_ = 0, compile_ns_ = 0;
    Offsets o_{};
    EnterFn enter_ = nullptr;
    const uint8_t* exit_ = nullptr;
    const uint8_t* chain_ = nullptr;
    const uint8_t* chain_exit_ = nullptr;
    const uint8_t* link_ = nullptr;
    const uint8_t* call_ = nullptr;
    const uint8_t* call_flags_ = nullptr;
    const uint8_t* flags_ = nullptr;
    const uint8_t* mem_call_[2] = {};
};

using namespace Xbyak::util;
using Xbyak::Label;
using Xbyak::Reg64;

// A jump target of compiled blocks without Xbyak's label bookkeeping (its
// hash maps and their allocations were a fifth of the time compiling
// took). Unbound, the rel32 fields of the jumps to it chain through the
// code: each holds the offset of the field before it, -1 ending the chain;
// binding patches them all (Emitter::L).
struct Lbl {
    int32_t pos = -1;   // bound: its offset in the block's code
    int32_t last = -1;  // the last unpatched rel32 field
    bool used() const { return pos >= 0 || last >= 0; }
};

class Emitter : public Xbyak::CodeGenerator {
public:
    Emitter(const X64& j, uint8_t* at, size_t room)
        : CodeGenerator(room, at), o(j.off()), exit_(j.exit_stub()), nochain_(qlog::on(qlog::Nochain)),
          chain_(nochain_ ? j.chain_exit_stub() : j.chain_stub()), link_(j.link_stub()),
          call_(j.call_stub(false)), call_flags_(j.call_stub(true)), flags_(j.flags_stub()),
          mem_call_{j.mem_call_stub(1), j.mem_call_stub(2)}, zva_(j.zva_bytes()),
          pauth_(j.has_pauth()), bti_(j.has_bti()) {
        setDefaultJmpNEAR(true);
    }

    // `preload`: the register cache a branch back to the block's start
    // found the first time this block was compiled (self_loop()), loaded
    // at the start so that such a branch goes round again with its
    // registers in host registers.
    struct CacheState;
    void block(const Block& b, const CacheState* preload = nullptr);
    // (not when the block calls a handler before it: the cache starts
    // empty after one, so the preloaded registers would go round memory
    // all the same)
    const CacheState* self_loop() const { return loop_seen_ && !loop_called_ ? &loop_state_ : nullptr; }
    const uint8_t* body() const { return body_; }
    const uint8_t* fast_head() const { return fast_; }
    bool unbound() const { return pending_ != 0; }  // a jump to a label never bound (an emitter bug)

private:
    using Label = Lbl;
    int pending_ = 0;  // jumps to labels not bound yet
    void put_rel(Lbl& l, size_t insn_end_rel) {  // the rel32 ending at insn_end_rel
        auto at = static_cast<int32_t>(insn_end_rel - 4);
        dd(static_cast<uint32_t>(l.last));
        l.last = at;
        ++pending_;
    }
    void L(Lbl& l) {
        l.pos = static_cast<int32_t>(getSize());
        uint8_t* code = const_cast<uint8_t*>(getCode());
        for (int32_t at = l.last; at >= 0;) {
            int32_t prev;
            std::memcpy(&prev, code + at, 4);
            int32_t rel = l.pos - (at + 4);
            std::memcpy(code + at, &rel, 4);
            at = prev;
            --pending_;
        }
        l.last = -1;
    }
    // x86 condition cc (the Jcc encoding's low nibble), or -1: always.
    void jump(int cc, Lbl& l) {
        size_t here = getSize();
        if (l.pos >= 0) {  // backward: short when it reaches
            int64_t rel8 = l.pos - static_cast<int64_t>(here + 2);
            if (rel8 >= -128) {
                db(cc < 0 ? 0xeb : 0x70 | cc);
                db(static_cast<uint8_t>(rel8));
                return;
            }
            size_t len = cc < 0 ? 5 : 6;
            cc < 0 ? db(0xe9) : (db(0x0f), db(0x80 | cc));
            dd(static_cast<uint32_t>(static_cast<int32_t>(l.pos - static_cast<int64_t>(here + len))));
            return;
        }
        cc < 0 ? db(0xe9) : (db(0x0f), db(0x80 | cc));
        put_rel(l, here + (cc < 0 ? 5 : 6));
    }
    using Xbyak::CodeGenerator::jmp;
    void jmp(Lbl& l) { jump(-1, l); }
    void jo(Lbl& l) { jump(0, l); }
    void jno(Lbl& l) { jump(1, l); }
    void jb(Lbl& l) { jump(2, l); }
    void jc(Lbl& l) { jump(2, l); }
    void jae(Lbl& l) { jump(3, l); }
    void jnc(Lbl& l) { jump(3, l); }
    void je(Lbl& l) { jump(4, l); }
    void jz(Lbl& l) { jump(4, l); }
    void jne(Lbl& l) { jump(5, l); }
    void jnz(Lbl& l) { jump(5, l); }
    void jbe(Lbl& l) { jump(6, l); }
    void ja(Lbl& l) { jump(7, l); }
    void js(Lbl& l) { jump(8, l); }
    void jns(Lbl& l) { jump(9, l); }
    void jp(Lbl& l) { jump(10, l); }
    void jnp(Lbl& l) { jump(11, l); }
    void jl(Lbl& l) { jump(12, l); }
    void jge(Lbl& l) { jump(13, l); }
    void jle(Lbl& l) { jump(14, l); }
    void jg(Lbl& l) { jump(15, l); }

    const X64::Offsets& o;
    const uint8_t* exit_;
    // -d nochain: no direct links, no loops inside a block, and the chain
    // stub's way out instead of the stub (a developer's switch: compiled
    // code then enters one block at a time, from the run loop)
    bool nochain_;
    const uint8_t* chain_;
    const uint8_t* link_;
    const uint8_t* call_;
    const uint8_t* call_flags_;
    const uint8_t* flags_;
    const uint8_t* mem_call_[2];
    unsigned zva_;  // the bytes DC ZVA zeroes (DCZID_EL0.BS)
    bool pauth_;  // FEAT_PAuth: its hint-space instructions are not NOPs
    bool bti_;    // FEAT_BTI: BR/BLR set PSTATE.BTYPE, which each block's head checks
    const Block* b_ = nullptr;
    // Out-of-line pieces, emitted after the block's straight-line code.
    static constexpr int kCached = 6;  // (the register cache, below)

public:
    struct CacheState {
        int guest[kCached] = {-1, -1, -1, -1, -1, -1};
        bool dirty[kCached] = {};
    };

private:
    // A branch back to the block's start (a loop in one block) jumps to
    // loop_top_ with the cache as loop_pre_ (preloaded there, all dirty).
    Label loop_top_;
    CacheState loop_pre_, loop_state_;
    bool loop_seen_ = false, called_ = false, loop_called_ = false;
    void loop_back(uint32_t retire, unsigned branches, unsigned link);
    struct Slow {
        Label at, back;
        size_t k;
        // An access that missed the fast table (refill after the handler):
        // 1 with the current mode's permissions, 2 unprivileged; 0 none.
        int mem = 1;
        int8_t va = -1;  // (mem: the host register holding the VA, if not rdi)
        CacheState at_state, back_state;
    };
    std::deque<Slow> slow_;  // (a deque: references to its entries stay valid)
    std::vector<Label> exits_;  // exits_[k]: stop at entry k
    // Direct links not made yet: the jump at `site` goes to `at`, which
    // asks the link stub to find the block (and patch the jump).
    struct Direct {
        Label at;
        const uint8_t* site;
        unsigned link;
    };
    std::deque<Direct> direct_;
    Label tail_chain_, tail_link_, tail_exit_;  // (Emitter::block: the shared ends of its ways out)
    bool chained_ = false;
    static uint32_t link_offset(unsigned link) {
        static const Block probe{};
        return static_cast<uint32_t>(reinterpret_cast<const char*>(&probe.links[link]) -
                                     reinterpret_cast<const char*>(&probe));
    }
    const uint8_t* body_ = nullptr;
    const uint8_t* fast_ = nullptr;  // the head after the run loop's checks (Block::jit_head_fast)

    Label& exit_at(size_t k) { return exits_[k]; }

    Xbyak::Address X(unsigned r) { return qword[rbx + o.x + 8 * static_cast<int>(r)]; }

    // The register cache: the general registers and the SP (guest 31 here:
    // XZR is never cached) a block uses stay in host registers (rbp, r10,
    // r11, r14, r8, r9) until the block leaves, calls a handler or needs
    // the register for another (least recently used goes; written back
    // when dirty). Reads allocate too, but not while an instruction's slow
    // path is open (slow_path() to back()): between them the cache may
    // change only after the instruction's last jump to its slow path,
    // whose code writes back what the jump saw (at_state) and reloads what
    // the fast path leaves cached (back_state).
    CacheState cache_;
    unsigned used_[kCached] = {};
    unsigned tick_ = 0;
    const Slow* open_ = nullptr;  // the slow path of the instruction being emitted, until back()
    const Reg64& creg(int i) const {
        switch (i) {
        case 0: return rbp;
        case 1: return r10;
        case 2: return r11;
        case 3: return r14;
        case 4: return r8;
        default: return r9;
        }
    }
    int cached(unsigned r) const {
        for (int i = 0; i < kCached; ++i)
            if (cache_.guest[i] == static_cast<int>(r)) return i;
        return -1;
    }
    // A cached register's home in memory: X[g], or for the SP (31) the one
    // Cpu::jit_sp_ points at (through rdx, saved around it: any point of
    // the code may write back).
    void load_home(const Reg64& d, int g) {
        if (g < 31) return (void)mov(d, X(static_cast<unsigned>(g)));
        mov(d, qword[rbx + o.jit_sp]);
        mov(d, qword[d]);
    }
    void store_home(int g, const Reg64& v) {
        if (g < 31) return (void)mov(X(static_cast<unsigned>(g)), v);
        push(rdx);
        mov(rdx, qword[rbx + o.jit_sp]);
        mov(qword[rdx], v);
        pop(rdx);
    }
    void writeback(const CacheState& st) {
        for (int i = 0; i < kCached; ++i)
            if (st.guest[i] >= 0 && st.dirty[i]) store_home(st.guest[i], creg(i));
    }
    void reload(const CacheState& st) {
        for (int i = 0; i < kCached; ++i)
            if (st.guest[i] >= 0) load_home(creg(i), st.guest[i]);
    }
    void drop_cache() {  // before a handler: memory holds every register
        writeback(cache_);
        cache_ = CacheState{};
        called_ = true;
    }
    // A slot for guest register r (the free one or the least recently
    // used, written back when dirty).
    int allocate(unsigned r) {
        int i = -1;
        for (int j = 0; j < kCached && i < 0; ++j)
            if (cache_.guest[j] < 0) i = j;
        if (i < 0) {
            i = 0;
            for (int j = 1; j < kCached; ++j)
                if (used_[j] < used_[i]) i = j;
            if (cache_.dirty[i]) store_home(cache_.guest[i], creg(i));
        }
        cache_.guest[i] = static_cast<int>(r);
        cache_.dirty[i] = false;
        return i;
    }
    // d = guest register r (0..30, 31 the SP) from the cache, loaded into
    // it first unless a slow path is open.
    void ld_cached(const Reg64& d, unsigned r) {
        int i = cached(r);
        if (i < 0 && !open_) {
            i = allocate(r);
            load_home(creg(i), static_cast<int>(r));
        }
        if (i < 0) return load_home(d, static_cast<int>(r));
        used_[i] = ++tick_;
        if (d.getIdx() != creg(i).getIdx()) mov(d, creg(i));
    }
    void st_cached(unsigned r, const Reg64& v) {
        int i = cached(r);
        if (i < 0) i = allocate(r);
        cache_.dirty[i] = true;
        used_[i] = ++tick_;
        mov(creg(i), v);
    }
    void ldx(const Reg64& d, unsigned r) {  // (31: XZR)
        if (r == 31) return (void)xor_(d.cvt32(), d.cvt32());
        ld_cached(d, r);
    }
    void stx(unsigned r, const Reg64& v) {
        if (r != 31) st_cached(r, v);
    }
    void ldxsp(const Reg64& d, unsigned r) { ld_cached(d, r); }  // (31: the SP)
    void stxsp(unsigned r, const Reg64& v) { st_cached(r, v); }
    // NZCV: lazy (the operation that set it), stored, or in the host flags.
    int captured_ = -1, captured_cc_ = 0;
    size_t captured_for_ = ~size_t{0};  // (the entry the capture is for)
    // The x86 condition saying `cond` in the host flags the entry before
    // entry k left for it (nothing in between), or -1.
    int host_cond(unsigned cond, size_t k) const {
        return captured_ == static_cast<int>(cond) && captured_for_ == k ? captured_cc_ : -1;
    }
    bool flags_stored_ = false;  // s.nzcv holds NZCV here (compile time; false: perhaps lazy)
    int lazy_kind_ = -1;  // the FlagsKind of the lazy NZCV here when the block set it (compile time), else -1
    bool lazy_sub() const { return lazy_kind_ == kFlagsSub64 || lazy_kind_ == kFlagsSub32 || lazy_kind_ == kFlagsHostSub; }
    // The x86 condition for `cond` after host flags set again from the lazy
    // NZCV by replay_inline() (its kind known here), or -1.
    int replay_cc(unsigned cond) const { return lazy_kind_ >= 0 && !flags_stored_ ? host_cc(cond, lazy_sub()) : -1; }
    // The host flags as the lazy NZCV's operation set them, inline (the
    // first operand is the result undone, as the flags stub does, without
    // its call, dispatch and stores); clobbers rcx, rdx.
    void replay_inline() {
        if (lazy_kind_ == kFlagsHostAdd || lazy_kind_ == kFlagsHostSub) {
            push(qword[rbx + o.flags_res]);
            popf();
            return;
        }
        mov(rcx, qword[rbx + o.flags_res]);
        bool w = lazy_kind_ == kFlagsSub64 || lazy_kind_ == kFlagsAdd64 || lazy_kind_ == kFlagsLogic64;
        if (lazy_kind_ == kFlagsLogic64 || lazy_kind_ == kFlagsLogic32) {
            w ? test(rcx, rcx) : test(ecx, ecx);
            return;
        }
        w ? mov(rdx, qword[rbx + o.flags_b]) : mov(edx, dword[rbx + o.flags_b]);
        redo_host_flags(*this, w, lazy_sub());
    }
    // NZCV of the operation entry k just did, lazily (Cpu::jit_flags_kind_):
    // its result is in `res`, its second operand in `b` or `imm` (neither:
    // stored already; `logic`: an AND, none), `w` 64 bits. `reader`: the
    // condition the next reader takes first (a B.cond fused into entry k,
    // or the next entry's: cond_read_first); where one x86 condition says
    // it, that reader uses the host flags (jump_if, a Cond first in its
    // run), which nothing in between changes (only MOVs). `dead`: no lazy
    // form stored (flags_dead_after).
    void lazy_flags(size_t k, bool sub, bool w, bool logic, int reader, bool dead, const Reg64& res, const Reg64* b,
                    const int32_t* imm) {
        capture(k, reader, sub && !logic);
        FlagsKind kind = logic ? (w ? kFlagsLogic64 : kFlagsLogic32)
                         : sub ? (w ? kFlagsSub64 : kFlagsSub32)
                               : (w ? kFlagsAdd64 : kFlagsAdd32);
        flags_stored_ = false;
        if (dead) {
            lazy_kind_ = -1;
            return;
        }
        mov(qword[rbx + o.flags_res], res);
        if (!logic && imm) mov(qword[rbx + o.flags_b], *imm);
        if (!logic && b) mov(qword[rbx + o.flags_b], *b);
        mov(dword[rbx + o.flags_kind], static_cast<uint32_t>(kind));
        lazy_kind_ = static_cast<int>(kind);
    }
    // The same for the host flags an x86 ADC or SBB (`sub`) just set:
    // stored as they are (RFLAGS); clobbers rdx.
    void lazy_host_flags(size_t k, bool sub, int reader, bool dead) {
        capture(k, reader, sub);
        flags_stored_ = false;
        if (dead) {
            lazy_kind_ = -1;
            return;
        }
        pushf();
        pop(rdx);
        mov(qword[rbx + o.flags_res], rdx);
        FlagsKind kind = sub ? kFlagsHostSub : kFlagsHostAdd;
        mov(dword[rbx + o.flags_kind], static_cast<uint32_t>(kind));
        lazy_kind_ = static_cast<int>(kind);
    }
    // The reader after entry k takes condition `reader` from the host
    // flags, when one x86 condition says it.
    void capture(size_t k, int reader, bool sub) {
        captured_ = -1;
        if (reader >= 0) {
            captured_cc_ = host_cc(static_cast<unsigned>(reader), sub);
            if (captured_cc_ >= 0) {
                captured_ = reader;
                captured_for_ = k + 1;  // (a fused B.cond is entry k's: jump_if checks captured_ alone)
            }
        }
    }
    // Dead flags: the NZCV entry k sets is replaced by a later entry the IR
    // takes that sets NZCV before anything could read it from memory: only
    // entries the IR takes that do not read NZCV come between (no flag
    // read, no access, no handler, no way out).
    bool flags_dead_after(size_t k) const {
        for (size_t j = k + 1; j < b_->n; ++j) {
            switch (ir_kind(b_->insns[j])) {
            case IrKind::Flags: return true;
            case IrKind::Plain: continue;
            default: return false;  // (a reader, or not the IR's)
            }
        }
        return false;  // (the next block may read them)
    }
    // s.nzcv holds NZCV after this (the flags stub stores a lazy form);
    // clobbers rax, rcx.
    void need_flags() {
        if (flags_stored_) return;
        Label stored;
        cmp(dword[rbx + o.flags_kind], 0);
        je(stored);
        call(flags_);
        L(stored);
        flags_stored_ = true;
        lazy_kind_ = -1;
    }
    // Jumps to `to` if condition `cond` holds for NZCV (`negate`: if it
    // does not).
    void jump_if(unsigned cond, Label& to, bool negate = false) {
        if (cond >= 14) {
            if (!negate) jmp(to);
            return;
        }
        if (captured_ == static_cast<int>(cond)) {
            captured_ = -1;
            return jcc(captured_cc_ ^ (negate ? 1 : 0), to);
        }
        if (int cc = replay_cc(cond); cc >= 0) {
            replay_inline();
            return jcc(cc ^ (negate ? 1 : 0), to);
        }
        cond_to_cf(cond);
        negate ? jnc(to) : jc(to);
    }
    // The x86 condition (the Jcc encoding's low nibble) that says ARM
    // condition `cond` after an x86 SUB/CMP (`sub`: ARM's C is NOT CF) or
    // ADD/AND; -1 where none does (HI and LS after an addition).
    static int host_cc(unsigned cond, bool sub) {
        enum { O, NO, B, AE, E, NE, BE, A, S, NS, P, NP, L_, GE, LE, G };
        switch (cond) {
        case 0: return E;
        case 1: return NE;
        case 2: return sub ? AE : B;  // CS
        case 3: return sub ? B : AE;  // CC
        case 4: return S;
        case 5: return NS;
        case 6: return O;
        case 7: return NO;
        case 8: return sub ? A : -1;   // HI: C && !Z
        case 9: return sub ? BE : -1;  // LS
        case 10: return GE;
        case 11: return L_;
        case 12: return G;
        case 13: return LE;
        default: return -1;
        }
    }
    // dst = src if x86 condition cc holds.
    void cmovcc(int cc, const Xbyak::Reg& dst, const Xbyak::Operand& src) {
        switch (cc) {
        case 0: cmovo(dst, src); break;
        case 1: cmovno(dst, src); break;
        case 2: cmovb(dst, src); break;
        case 3: cmovae(dst, src); break;
        case 4: cmove(dst, src); break;
        case 5: cmovne(dst, src); break;
        case 6: cmovbe(dst, src); break;
        case 7: cmova(dst, src); break;
        case 8: cmovs(dst, src); break;
        case 9: cmovns(dst, src); break;
        case 10: cmovp(dst, src); break;
        case 11: cmovnp(dst, src); break;
        case 12: cmovl(dst, src); break;
        case 13: cmovge(dst, src); break;
        case 14: cmovle(dst, src); break;
        default: cmovg(dst, src); break;
        }
    }
    // dst = 1 if x86 condition cc holds, else 0.
    void setcc(int cc, const Xbyak::Reg8& dst) {
        switch (cc) {
        case 0: seto(dst); break;
        case 1: setno(dst); break;
        case 2: setb(dst); break;
        case 3: setae(dst); break;
        case 4: sete(dst); break;
        case 5: setne(dst); break;
        case 6: setbe(dst); break;
        case 7: seta(dst); break;
        case 8: sets(dst); break;
        case 9: setns(dst); break;
        case 10: setp(dst); break;
        case 11: setnp(dst); break;
        case 12: setl(dst); break;
        case 13: setge(dst); break;
        case 14: setle(dst); break;
        default: setg(dst); break;
        }
    }
    void jcc(int cc, Label& to) { jump(cc, to); }
    // The inline TLB check (mmu::FastEntry) for the emitter's own forms:
    // rdi = VA in (kept), rsi = host address out, or a jump to `slow`;
    // clobbers rcx, rdx. size: bytes of one access; pair: two of them.
    void mem_fast(unsigned size, bool write, Label& slow, bool pair = false) {
        mem_check(rdi, rcx, pair ? 2 * size : size, write, slow);
        mov(rsi, rdx);
    }
    void load_host(const Reg64& d, unsigned size, const Reg64& at = Xbyak::util::rsi, int off = 0) {
        switch (size) {
        case 1: movzx(d.cvt32(), byte[at + off]); break;
        case 2: movzx(d.cvt32(), word[at + off]); break;
        case 4: mov(d.cvt32(), dword[at + off]); break;
        default: mov(d, qword[at + off]); break;
        }
    }
    void store_host(const Reg64& v, unsigned size, const Reg64& at = Xbyak::util::rsi, int off = 0) {
        switch (size) {
        case 1: mov(byte[at + off], v.cvt8()); break;
        case 2: mov(word[at + off], v.cvt16()); break;
        case 4: mov(dword[at + off], v.cvt32()); break;
        default: mov(qword[at + off], v); break;
        }
    }
    // The inline TLB check (mmu::FastEntry): the VA in `va` (kept), rdx = the host
    // address out, or a jump to `slow`; `t` a temporary. span: the bytes
    // accessed from the VA; user: an unprivileged access (LDTR/STTR),
    // which looks for EL0's entries (mode 0).
    void mem_check(const Reg64& va, const Reg64& t, unsigned span, bool write, Label& slow, bool user = false) {
        constexpr uint32_t kIndexMask = (mmu::Tlb::kFastEntries - 1) << 5;
        static_assert(sizeof(mmu::FastEntry) == 32, "the index below is a byte offset of 32-byte entries");
        if (span > 1)
            lea(t, ptr[va + static_cast<int32_t>(span - 1)]);
        else
            mov(t, va);
        and_(t, -4096);
        if (user) {  // (EL0's entries, or with PSTATE.UAO the current mode's)
            mov(rdx, qword[rbx + o.fast_key]);
            and_(rdx, qword[rbx + o.user_mask]);
            or_(t, rdx);
        } else {
            or_(t, qword[rbx + o.fast_key]);
        }
        mov(edx, va.cvt32());
        shr(edx, 12 - 5);
        and_(edx, kIndexMask);
        cmp(t, qword[rbx + rdx + o.fast + static_cast<int32_t>(write ? offsetof(mmu::FastEntry, write)
                                                                       : offsetof(mmu::FastEntry, read))]);
        jne(slow);
        if (write) {  // a page holding decoded code: the handler invalidates
            mov(t, qword[rbx + rdx + o.fast + static_cast<int32_t>(offsetof(mmu::FastEntry, code))]);
            cmp(byte[t], 0);
            jne(slow);
        }
        mov(rdx, qword[rbx + rdx + o.fast + static_cast<int32_t>(offsetof(mmu::FastEntry, addend))]);
        add(rdx, va);
    }
    // The interpreter's handler for entry k; stops there if it did more
    // than fall through.
    // Through the shared call stub (X64::emit_trampoline): `mem`, an
    // access that missed the fast table (rdi its VA) is refilled after.
    void call_handler(size_t k, bool straight = true, int mem = 0) {
        if (straight) drop_cache();  // (a slow path has written back already)
        mov(rsi, reinterpret_cast<uint64_t>(&b_->insns[k]));
        mov(rdx, b_->n | uint64_t{b_->insns.back().br_before} << 32);  // (Cpu::cur_block_len_, cur_block_br_)
        bool nz = !mem && touches_nzcv(b_->insns[k].insn);
        call(mem ? mem_call_[mem - 1] : nz ? call_flags_ : call_);
        if (straight && nz) flags_stored_ = true;  // (the call stub stored NZCV)
        if (nz) lazy_kind_ = -1;
        test(al, al);
        jnz(exit_at(k));
    }
    // Whether the instruction's handler reads or writes NZCV (what is not
    // an instruction, a fetch abort, does neither).
    static bool touches_nzcv(uint32_t i) {
        using a64::Op;
        switch (a64::decode(i)) {
        case Op::B_cond: case Op::CCMP_reg: case Op::CCMP_imm: case Op::CSEL: case Op::ADC_SBC: case Op::FP_CMP:
        case Op::FP_CCMP: case Op::FP_CSEL: case Op::ERET: case Op::BRANCH_PAC:  // (ERETAA, ERETAB)
            return true;
        case Op::ADD_SUB_imm: case Op::ADD_SUB_ext: case Op::ADD_SUB_shift:
            return a64::bit(i, 29);  // S
        case Op::LOGICAL_imm: case Op::LOGICAL_reg:
            return a64::bits(i, 30, 29) == 3;  // ANDS, BICS
        case Op::MSR_imm:  // CFINV, XAFLAG, AXFLAG (op1 0, op2 0-2)
            return a64::bits(i, 18, 16) == 0 && a64::bits(i, 7, 5) <= 2;
        case Op::MSR_reg: case Op::MRS:  // of NZCV (op0 3, op1 3, CRn 4, CRm 2, op2 0); RNDR, RNDRRS
            return a64::bits(i, 20, 5) == ((3u << 14) | (3u << 11) | (4u << 7) | (2u << 3)) ||
                   (a64::bits(i, 20, 6) == (((3u << 14) | (3u << 11) | (2u << 7) | (4u << 3)) >> 1));
        case Op::RMIF: case Op::SETF:
            return true;
        case Op::FP_INT_CONV:  // FJCVTZS
            return a64::bits(i, 31, 16) == 0x1e7e;
        default:
            return false;
        }
    }
    Slow& slow_path(size_t k) {
        Slow& s = slow_.emplace_back();
        s.k = k;
        s.at_state = cache_;
        open_ = &s;
        return s;
    }
    void back(Slow& s) {  // where a slow path comes back: the fast path's end
        L(s.back);
        s.back_state = cache_;
        open_ = nullptr;
    }

    Xbyak::Address V(unsigned r, int half = 0) { return qword[rbx + o.v + 16 * static_cast<int>(r) + 8 * half]; }
    // V[r] = x, all 128 bits (q) or the low 64 with the high half cleared.
    void put_vec(unsigned r, const Xbyak::Xmm& x, bool q) {
        if (q) {
            movdqu(ptr[rbx + o.v + 16 * static_cast<int>(r)], x);
        } else {
            movq(V(r), x);
            mov(V(r, 1), 0);
        }
    }
    // The slow path of an AdvSIMD/FP instruction that is not an access,
    // after the FPEN check.
    Slow& simd_slow(size_t k) {
        Slow& s = slow_path(k);
        s.mem = 0;
        fp_check(s.at);
        return s;
    }
    // SIMD&FP access as CPACR_EL1.FPEN allows (Cpu::fp_enabled), checked
    // once per block (nothing in a block changes EL or CPACR): to `slow`,
    // whose handler raises the trap, otherwise. Clobbers rax, rcx.
    bool fp_checked_ = false;
    void fp_check(Label& slow) {
        if (fp_checked_) return;
        fp_checked_ = true;
        mov(eax, dword[rbx + o.cpacr]);
        shr(eax, 18);
        and_(eax, 0xc);             // FPEN << 2
        or_(eax, dword[rbx + o.el]);  // | EL
        mov(ecx, 0xf020);           // FPEN 0b11 at any EL, 0b01 at EL1
        bt(ecx, eax);
        jnc(slow);
    }

    // x = the low half of src widened, elements of 8 << size bits.
    void widen(const Xbyak::Xmm& x, const Xbyak::Operand& src, unsigned size, bool sign) {
        switch (size * 2 + (sign ? 1 : 0)) {
        case 0: pmovzxbw(x, src); break;
        case 1: pmovsxbw(x, src); break;
        case 2: pmovzxwd(x, src); break;
        case 3: pmovsxwd(x, src); break;
        case 4: pmovzxdq(x, src); break;
        default: pmovsxdq(x, src); break;
        }
    }
    // x op= y on lanes of 8 << size bits: 0 add, 1 sub, 2 mul (16, 32 bits).
    void lanes(int op, const Xbyak::Xmm& x, const Xbyak::Xmm& y, unsigned size) {
        if (op == 2) {
            size == 1 ? pmullw(x, y) : pmulld(x, y);
            return;
        }
        switch (size) {
        case 0: op ? psubb(x, y) : paddb(x, y); break;
        case 1: op ? psubw(x, y) : paddw(x, y); break;
        case 2: op ? psubd(x, y) : paddd(x, y); break;
        default: op ? psubq(x, y) : paddq(x, y); break;
        }
    }
    // x = the sign bit of each lane of `size`; x = x > y per signed lane;
    // x = x == y per lane.
    void sign_bits(const Xbyak::Xmm& x, unsigned size);
    void cmpgt(const Xbyak::Xmm& x, const Xbyak::Xmm& y, unsigned size);
    void cmpeq(const Xbyak::Xmm& x, const Xbyak::Xmm& y, unsigned size);
    void pairwise(int op, bool sign, unsigned size);
    // Sets `bad` (an xmm) to the lanes of `v` whose magnitude is outside
    // the fast path's range: `in` zero or normal finite; otherwise normal
    // finite above the smallest normal (`zero_ok`: or zero). Clobbers xmm5.
    void fp_bad(const Xbyak::Xmm& bad, const Xbyak::Xmm& v, bool dbl, bool in, bool zero_ok);
    static bool host_sse42();
    static bool host_lzcnt();
    static bool host_fma();

    // The IR path (x64_ir.cpp): ir_take adds entry k to the pending run if
    // the IR expresses it (false: compile it another way, after
    // ir_flush has emitted the run so far).
    bool ir_take(size_t k, const DecodedInsn& d);
    // Whether the IR would take d (a valid data-processing form: it reads
    // no NZCV, calls nothing, never leaves), and whether it sets NZCV.
    // (Reads: it reads NZCV, and may set it; Exit: a branch, the run's last;
    // Fp: AdvSIMD, whose first in a block checks CPACR_EL1.FPEN, a way out;
    // FpExit: an access of SIMD&FP registers, the run's last)
    enum class IrKind { No, Plain, Flags, Reads, Exit, Fp, FpExit };
    // (simd: the AdvSIMD groups too; else No for them without building)
    static IrKind ir_kind(const DecodedInsn& d, bool simd = false);
    void ir_flush();
    bool ir_ends_ = false;   // (ir_take: the entry taken ends the run, a branch)
    bool ir_ended_ = false;  // (ir_flush: the run's branch always leaves)
    // (fresh: it failed only because it reads NZCV where the run cannot
    // give it; it would be taken as a run's first)
    // (`bti`: the CPU has FEAT_BTI, `guarded`: the block is in a guarded
    // page: what a BR or BLR sets PSTATE.BTYPE to)
    static bool ir_build(ir::Run& run, size_t k, const DecodedInsn& d, IrKind* kind = nullptr, bool* fresh = nullptr,
                         bool bti = false, bool guarded = false);
    // The AdvSIMD and FP groups whose forms the IR has (some of them: sem.hpp).
    static bool ir_simd(a64::Op op) {
        switch (op) {
        case a64::Op::SIMD_3SAME: case a64::Op::SIMD_2MISC: case a64::Op::SIMD_MODIMM: case a64::Op::SIMD_COPY:
        case a64::Op::SIMD_SHIFT_IMM: case a64::Op::SIMD_3DIFF: case a64::Op::SIMD_ELEM: case a64::Op::FP_INT_CONV:
        case a64::Op::FP_2SRC: case a64::Op::FP_3SRC: case a64::Op::LDST_uimm_fp:
        case a64::Op::LDST_imm9_fp: case a64::Op::LDST_reg_fp: case a64::Op::LDR_lit_fp: case a64::Op::LDST_pair_fp:
        case a64::Op::LDST_multi: case a64::Op::LDST_multi_post:
            return true;
        default:
            return false;
        }
    }
    void ir_emit(size_t from, size_t to);
    // (last_entry: the run's last entry)
    bool ir_lower(const ir::Run& run, size_t last_entry);
    // An AdvSIMD operation of the IR (value v; values in xmm8 + reg).
    void ir_lower_vec(const ir::Inst& i, uint32_t v, const std::vector<int8_t>& reg);
    void ir_lower_vfp(const ir::Inst& i, uint32_t v, const std::vector<int8_t>& reg, Label& slow);
    // (per thread, kept for their memory: a block's compile makes many
    // runs, and a boot compiles ~20,000 blocks)
    struct IrScratch {
        ir::Run run;               // the pending run
        std::vector<size_t> insns;  // its entries
        std::vector<uint32_t> last;  // ir_lower's: each value's last user
        std::vector<int8_t> reg;     // and its register
        std::vector<int8_t> tmp;     // (a VLoad's or VStore's general temporary)
    };
    static IrScratch& ir_scratch();
    IrScratch& irs_ = ir_scratch();
    ir::Run& run_ = irs_.run;
    std::vector<size_t>& run_insns_ = irs_.insns;
    // Instructions without a specialised handler that compile inline
    // (decoded from the word); false: call the handler.
    bool generic(size_t k, const DecodedInsn& d);
    // The condition an instruction reads NZCV for before anything else
    // (B.cond; CSEL, CSINC, CSINV, CSNEG; CCMP, CCMN), or -1.
    static int cond_read_first(const DecodedInsn& d) {
        if (d.handler == &exec_fetch_abort || fused_compare(d.handler)) return -1;
        uint32_t i = d.insn;
        switch (a64::decode(i)) {
        case a64::Op::B_cond: return static_cast<int>(a64::bits(i, 3, 0));
        case a64::Op::CSEL: return a64::bit(i, 29) || a64::bit(i, 11) ? -1 : static_cast<int>(a64::bits(i, 15, 12));
        case a64::Op::CCMP_reg: case a64::Op::CCMP_imm: return static_cast<int>(a64::bits(i, 15, 12));
        default: return -1;
        }
    }
    // The host flags hold whether condition `cond` holds (CF); clobbers
    // rax, rcx.
    void cond_to_cf(unsigned cond) {
        need_flags();
        mov(eax, dword[rbx + o.nzcv]);
        shr(eax, 28);
        mov(ecx, dword[r15 + static_cast<int>(offsetof(Tables, cond) + 4 * cond)]);
        bt(ecx, eax);
    }
    // A call (BL, BLR): links[0] pushed on the return stack
    // (Cpu::jit_ras_; rdx and rsi used).
    void ras_push() {
        inc(byte[rbx + o.ras_top]);
        movzx(edx, byte[rbx + o.ras_top]);
        mov(rsi, reinterpret_cast<uint64_t>(&b_->links[0]));
        mov(qword[rbx + rdx * 8 + o.ras], rsi);
    }
    // RET at entry k to the VA in rax: chained through the link popped.
    void ret_to_rax(size_t k) {
        movzx(edx, byte[rbx + o.ras_top]);
        mov(rcx, qword[rbx + rdx * 8 + o.ras]);
        dec(byte[rbx + o.ras_top]);
        mov(rdx, reinterpret_cast<uint64_t>(b_));
        sub(rcx, rdx);  // (the stub adds the running block, r14)
        chain_rcx(static_cast<uint32_t>(b_->n), b_->insns[k].br_before + 1u, true, k);
    }
    // A branch of entry k (at `pcoff`) to the VA in rax: through links[0]
    // if that is the next instruction, else links[1].
    void chain_to_rax(int64_t pcoff, size_t k) {
        Label next;
        lea(rcx, ptr[r13 + static_cast<int32_t>(pcoff + 4)]);
        cmp(rax, rcx);
        je(next);
        unsigned branches = b_->insns[k].br_before + 1u;
        chain(1, static_cast<uint32_t>(b_->n), branches, true, k);
        L(next);
        chain(0, static_cast<uint32_t>(b_->n), branches, true, k);
    }
    // Leaves the block for the one at the VA in rax through links[link]
    // after `retire` instructions, `branches` of them branches (PMU
    // BR_RETIRED); `as_branch`: entry k branched (events kEvBranch,
    // next_pc), else the block ran to its end.
    void chain(unsigned link, uint32_t retire, unsigned branches, bool as_branch, size_t k);
    // The same through the Block::Link at rcx (an offset from the running block).
    void chain_rcx(uint32_t retire, unsigned branches, bool as_branch, size_t k);
    // The same for the VA r13 + `off`: a direct link when that is in the
    // block's page (and the block ends plainly or this is a branch before
    // its end), else chain().
    void goto_va(int64_t off, unsigned link, uint32_t retire, unsigned branches, bool as_branch, size_t k);
};

}  // namespace armvm::jit
