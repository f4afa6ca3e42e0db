// The x86-64 backend: a block's frequent instructions (translate/
// fast.cpp's forms, and others decoded from the word here) become host
// code — guest registers stay in CpuState, loads and stores of general
// registers check the TLB's fast table inline (mmu::FastEntry: one
// compare) and reach RAM directly, flags come from the host's ALU — and
// every other instruction, and every access that misses, calls the
// interpreter's handler for it. A block jumps straight to the next one's
// head when that is in the same page (a direct link, patched in by the
// link stub the first time; the head checks the budget and what needs
// the run loop); other exits chain through Block::links via the shared
// chain stub.
//
// Host registers while compiled code runs:
//   rbx  the Cpu               r12  instructions left (signed)
//   r13  VA of the running block   r14  the running Block
//   r15  the constant tables (flags, conditions)
// rax, rcx, rdx, rsi, rdi, r8-r11 are scratch; handlers are called with
// the stack 16-byte aligned.
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>

#include "base/report.hpp"
#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/jit/jit.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::jit {

namespace {

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
};

const Tables& tables() {
    static const Tables t = [] {
        Tables r{};
        for (unsigned i = 0; i < 256; ++i) {
            bool sf = i & 0x80, zf = i & 0x40, of = i & 2, cf = i & 1;
            uint32_t nz = (sf ? kN : 0) | (zf ? kZ : 0) | (of ? kV : 0);
            r.sub[i] = nz | (cf ? 0 : kC);
            r.add[i] = nz | (cf ? kC : 0);
        }
        for (unsigned c = 0; c < 16; ++c)
            for (unsigned f = 0; f < 16; ++f)
                if (a64::condition_holds(c, f << 28)) r.cond[c] |= 1u << f;
        auto splat32 = [](uint32_t v) { return Tables::Vec{v | uint64_t{v} << 32, v | uint64_t{v} << 32}; };
        auto splat64 = [](uint64_t v) { return Tables::Vec{v, v}; };
        r.abs[0] = splat32(0x7fffffff);
        r.abs[1] = splat64(0x7fffffffffffffffull);
        r.max_finite[0] = splat32(0x7f7fffff);
        r.max_finite[1] = splat64(0x7fefffffffffffffull);
        r.min_normal[0] = splat32(0x00800000);
        r.min_normal[1] = splat64(0x0010000000000000ull);
        r.min_normal1[0] = splat32(0x00800001);
        r.min_normal1[1] = splat64(0x0010000000000001ull);
        r.low_half = {~0ull, 0};
        return r;
    }();
    return t;
}

constexpr size_t kArenaSize = 64u << 20;
constexpr size_t kMinRoom = 64u << 10;  // a block's code is far smaller

}  // namespace

class X64 final : public Backend {
public:
    X64(Cpu& c, uint8_t* arena, size_t size) : c_(c), arena_(arena), size_(size) {
        auto at = [&](const void* p) {
            return static_cast<int32_t>(reinterpret_cast<const char*>(p) - reinterpret_cast<const char*>(&c));
        };
        o_.x = at(&c.s.x[0]);
        o_.v = at(&c.s.v[0][0]);
        o_.cpacr = at(&c.s.cpacr_el1);
        o_.fpcr = at(&c.s.fpcr);
        o_.tpidr0 = at(&c.s.tpidr_el0);
        o_.tpidrro0 = at(&c.s.tpidrro_el0);
        o_.tpidr1 = at(&c.s.tpidr_el1);
        o_.fpsr = at(&c.s.fpsr);
        o_.sp0 = at(&c.s.sp_el0);
        o_.sp1 = at(&c.s.sp_el1);
        o_.nzcv = at(&c.s.nzcv);
        o_.el = at(&c.s.el);
        o_.spsel = at(&c.s.spsel);
        o_.daif = at(&c.s.daif);
        o_.events = at(&c.events_);
        o_.next_pc = at(&c.next_pc_);
        o_.block_va = at(&c.block_va_);
        o_.cur_len = at(&c.cur_block_len_);
        o_.insn_count = at(&c.insn_count);
        o_.branch_count = at(&c.branch_count);
        o_.link_gen = at(&c.link_gen_);
        o_.fast = at(c.tlb_.fast_table());
        o_.fast_key = at(c.tlb_.fast_key());
        o_.fill_va = at(&c.jit_fill_va_);
        o_.mailbox = at(&c.mailbox_pending_);
        o_.irq = at(&c.irq_line);
        o_.exit_req = at(&c.exit_request);
        o_.jit_block = at(&c.jit_block_);
        o_.code_bits = at(&c.code_bits_);
        Block probe;
        o_.block_jit = static_cast<int32_t>(reinterpret_cast<char*>(&probe.jit) - reinterpret_cast<char*>(&probe));
        o_.block_n = static_cast<int32_t>(reinterpret_cast<char*>(&probe.n) - reinterpret_cast<char*>(&probe));
        o_.block_head = static_cast<int32_t>(reinterpret_cast<char*>(&probe.jit_head) - reinterpret_cast<char*>(&probe));
        o_.block_pa = static_cast<int32_t>(reinterpret_cast<char*>(&probe.pa) - reinterpret_cast<char*>(&probe));
        o_.jit_link = at(&c.jit_link_);
        o_.vcache = at(&c.jit_vcache_);
        o_.vgen = at(&c.jit_vgen_);
        o_.vkey = at(&c.jit_vkey_);
        emit_trampoline();
    }
    ~X64() override {
        if (std::getenv("ARMVM_STATS"))  // for benchmarks: the code space a run needed
            report_info("stats: JIT " + std::to_string(blocks_) + " blocks compiled, " +
                        std::to_string((total_ + (used_ - code_start_)) >> 10) + " KiB of code, " +
                        std::to_string(resets_) + " code space resets; " + std::to_string(c_.jit_entries_) +
                        " entries to compiled code, " + std::to_string(c_.interp_blocks_) + " blocks interpreted");
        munmap(arena_, size_);
    }

    bool compile(const Block& b) override;
    Result enter(const Block& b, uint64_t va, int64_t limit) override {
        return enter_(&c_, b.jit, limit, va, &b);
    }
    uint64_t resets() const override { return resets_; }
    void reset() override {
        total_ += used_ - code_start_;
        ++resets_;
        used_ = code_start_;
    }

    struct Offsets {
        int32_t x, v, cpacr, fpcr, fpsr, tpidr0, tpidrro0, tpidr1, sp0, sp1, nzcv, el, spsel, daif, events,
            next_pc, block_va, cur_len, insn_count, branch_count, link_gen, fast, fast_key, fill_va, mailbox, irq,
            exit_req, jit_block, code_bits, block_jit, block_n, block_head, block_pa, jit_link, vcache, vgen, vkey;
    };
    const Offsets& off() const { return o_; }
    const uint8_t* exit_stub() const { return exit_; }
    const uint8_t* chain_stub() const { return chain_; }
    const uint8_t* link_stub() const { return link_; }
    const uint8_t* call_stub() const { return call_; }
    const uint8_t* mem_call_stub() const { return mem_call_; }

private:
    void emit_trampoline();
    using EnterFn = Result (*)(Cpu*, const void* code, int64_t limit, uint64_t va, const Block* b);
    Cpu& c_;
    uint8_t* arena_;
    size_t size_;
    size_t used_ = 0, code_start_ = 0;
    uint64_t total_ = 0, blocks_ = 0, resets_ = 0;
    Offsets o_{};
    EnterFn enter_ = nullptr;
    const uint8_t* exit_ = nullptr;
    const uint8_t* chain_ = nullptr;
    const uint8_t* link_ = nullptr;
    const uint8_t* call_ = nullptr;
    const uint8_t* mem_call_ = nullptr;
};

namespace {

using namespace Xbyak::util;
using Xbyak::Label;
using Xbyak::Reg64;
using K = FastForm::Kind;

class Emitter : public Xbyak::CodeGenerator {
public:
    Emitter(const X64& j, uint8_t* at, size_t room)
        : CodeGenerator(room, at), o(j.off()), exit_(j.exit_stub()), chain_(j.chain_stub()), link_(j.link_stub()),
          call_(j.call_stub()), mem_call_(j.mem_call_stub()) {
        setDefaultJmpNEAR(true);
    }

    void block(const Block& b);
    const uint8_t* body() const { return body_; }

private:
    const X64::Offsets& o;
    const uint8_t* exit_;
    const uint8_t* chain_;
    const uint8_t* link_;
    const uint8_t* call_;
    const uint8_t* mem_call_;
    const Block* b_ = nullptr;
    // Out-of-line pieces, emitted after the block's straight-line code.
    static constexpr int kCached = 3;  // (the register cache, below)
    struct CacheState {
        int guest[kCached] = {-1, -1, -1};
        bool dirty[kCached] = {};
    };
    struct Slow {
        Label at, back;
        size_t k;
        bool mem = true;  // an access that missed the fast table (refill after the handler)
        CacheState at_state, back_state;
    };
    std::vector<std::unique_ptr<Slow>> slow_;
    std::vector<std::unique_ptr<Label>> exits_;  // exits_[k]: stop at entry k
    // Direct links not made yet: the jump at `site` goes to `at`, which
    // asks the link stub to find the block (and patch the jump).
    struct Direct {
        Label at;
        const uint8_t* site;
        unsigned link;
    };
    std::vector<std::unique_ptr<Direct>> direct_;
    const uint8_t* body_ = nullptr;

    Label& exit_at(size_t k) {
        if (!exits_[k]) exits_[k] = std::make_unique<Label>();
        return *exits_[k];
    }

    Xbyak::Address X(unsigned r) { return qword[rbx + o.x + 8 * static_cast<int>(r)]; }

    // The register cache: a general register the block writes stays in a
    // host register (rbp, r10, r11) until the block leaves, calls a
    // handler or needs the register for another (least recently written
    // goes; written back when dirty). Reads take the host register when
    // cached, memory otherwise (only writes allocate: within one
    // instruction the cache changes only after its last jump to its slow
    // path, whose code writes back what the jump saw and reloads what the
    // fast path leaves cached).
    CacheState cache_;
    unsigned used_[kCached] = {};
    unsigned tick_ = 0;
    const Reg64& creg(int i) const { return i == 0 ? rbp : i == 1 ? r10 : r11; }
    int cached(unsigned r) const {
        for (int i = 0; i < kCached; ++i)
            if (cache_.guest[i] == static_cast<int>(r)) return i;
        return -1;
    }
    void writeback(const CacheState& st) {
        for (int i = 0; i < kCached; ++i)
            if (st.guest[i] >= 0 && st.dirty[i]) mov(X(static_cast<unsigned>(st.guest[i])), creg(i));
    }
    void reload(const CacheState& st) {
        for (int i = 0; i < kCached; ++i)
            if (st.guest[i] >= 0) mov(creg(i), X(static_cast<unsigned>(st.guest[i])));
    }
    void drop_cache() {  // before a handler: memory holds every register
        writeback(cache_);
        cache_ = CacheState{};
    }
    void ldx(const Reg64& d, unsigned r) {
        if (r == 31)
            xor_(d.cvt32(), d.cvt32());
        else if (int i = cached(r); i >= 0)
            mov(d, creg(i));
        else
            mov(d, X(r));
    }
    void stx(unsigned r, const Reg64& v) {
        if (r == 31) return;
        int i = cached(r);
        if (i < 0) {
            for (int j = 0; j < kCached && i < 0; ++j)
                if (cache_.guest[j] < 0) i = j;
            if (i < 0) {
                i = 0;
                for (int j = 1; j < kCached; ++j)
                    if (used_[j] < used_[i]) i = j;
                if (cache_.dirty[i]) mov(X(static_cast<unsigned>(cache_.guest[i])), creg(i));
            }
            cache_.guest[i] = static_cast<int>(r);
        }
        cache_.dirty[i] = true;
        used_[i] = ++tick_;
        mov(creg(i), v);
    }
    // rdx = the current stack pointer's address (SP_EL1 when PSTATE.SP
    // and EL > 0); clobbers rcx.
    void sp_ptr() {
        lea(rcx, ptr[rbx + o.sp0]);
        lea(rdx, ptr[rbx + o.sp1]);
        cmp(byte[rbx + o.spsel], 0);
        cmove(rdx, rcx);
        cmp(dword[rbx + o.el], 0);
        cmove(rdx, rcx);
    }
    void ldxsp(const Reg64& d, unsigned r) {
        if (r != 31) return ldx(d, r);
        sp_ptr();
        mov(d, qword[rdx]);
    }
    void stxsp(unsigned r, const Reg64& v) {  // v: not rcx or rdx
        if (r != 31) return stx(r, v);
        sp_ptr();
        mov(qword[rdx], v);
    }
    // NZCV from the host flags just set; clobbers rax, rcx.
    // `fused`: the condition of the B.cond fused into this instruction,
    // also kept in r8b from the host flags where one x86 condition says
    // it (jump_if then tests r8b instead of NZCV); `logic`: the host flags
    // come from AND/TEST (ARM's C and V are 0, as x86's CF and OF).
    int captured_ = -1;
    void flags(bool sub, int fused = -1, bool logic = false) {
        captured_ = -1;
        if (fused >= 0 && capture(static_cast<unsigned>(fused), sub && !logic)) captured_ = fused;
        lahf();
        seto(al);
        movzx(ecx, ah);
        and_(ecx, 0xc1);
        movzx(eax, al);
        lea(ecx, ptr[rcx + rax * 2]);
        mov(eax, dword[r15 + rcx * 4 + static_cast<int>(sub ? offsetof(Tables, sub) : offsetof(Tables, add))]);
        mov(dword[rbx + o.nzcv], eax);
    }
    // Jumps to `taken` if condition `cond` holds for the stored NZCV.
    void jump_if(unsigned cond, Label& taken) {
        if (cond >= 14) return jmp(taken);
        if (captured_ == static_cast<int>(cond)) {
            captured_ = -1;
            test(r8b, r8b);
            jnz(taken);
            return;
        }
        cond_to_cf(cond);
        jc(taken);
    }
    // r8b = ARM condition `cond` from the host flags of an x86 SUB/CMP
    // (`sub`: ARM's C is NOT CF) or ADD/AND; false where no single x86
    // condition matches (HI and LS after an addition).
    bool capture(unsigned cond, bool sub) {
        switch (cond) {
        case 0: sete(r8b); return true;
        case 1: setne(r8b); return true;
        case 2: sub ? setae(r8b) : setb(r8b); return true;   // CS
        case 3: sub ? setb(r8b) : setae(r8b); return true;   // CC
        case 4: sets(r8b); return true;
        case 5: setns(r8b); return true;
        case 6: seto(r8b); return true;
        case 7: setno(r8b); return true;
        case 8: if (!sub) return false; seta(r8b); return true;   // HI: C && !Z
        case 9: if (!sub) return false; setbe(r8b); return true;  // LS
        case 10: setge(r8b); return true;
        case 11: setl(r8b); return true;
        case 12: setg(r8b); return true;
        case 13: setle(r8b); return true;
        default: return false;
        }
    }
    // The inline TLB check (mmu::FastEntry): rdi = VA in (kept), rsi =
    // host address out, or a jump to `slow`; clobbers rax, rcx, rdx.
    // size: bytes of one access; pair: two of them.
    void mem_fast(unsigned size, bool write, Label& slow, bool pair = false) {
        unsigned span = pair ? 2 * size : size;
        constexpr uint32_t kIndexMask = (mmu::Tlb::kFastEntries - 1) << 5;
        static_assert(sizeof(mmu::FastEntry) == 32, "the index below is a byte offset of 32-byte entries");
        mov(eax, edi);
        shr(eax, 12 - 5);
        and_(eax, kIndexMask);
        if (span > 1)
            lea(rcx, ptr[rdi + static_cast<int32_t>(span - 1)]);
        else
            mov(rcx, rdi);
        and_(rcx, -4096);
        or_(rcx, qword[rbx + o.fast_key]);
        cmp(rcx, qword[rbx + rax + o.fast + static_cast<int32_t>(write ? offsetof(mmu::FastEntry, write)
                                                                         : offsetof(mmu::FastEntry, read))]);
        jne(slow);
        if (write) {  // a page holding decoded code: the handler invalidates
            mov(ecx, dword[rbx + rax + o.fast + static_cast<int32_t>(offsetof(mmu::FastEntry, ram_page))]);
            mov(edx, ecx);
            shr(edx, 6);
            mov(rsi, qword[rbx + o.code_bits]);
            mov(rsi, qword[rsi + rdx * 8]);
            bt(rsi, rcx);
            jc(slow);
        }
        mov(rsi, qword[rbx + rax + o.fast + static_cast<int32_t>(offsetof(mmu::FastEntry, addend))]);
        add(rsi, rdi);
    }
    void load_host(const Reg64& d, unsigned size) {
        switch (size) {
        case 1: movzx(d.cvt32(), byte[rsi]); break;
        case 2: movzx(d.cvt32(), word[rsi]); break;
        case 4: mov(d.cvt32(), dword[rsi]); break;
        default: mov(d, qword[rsi]); break;
        }
    }
    void store_host(const Reg64& v, unsigned size) {
        switch (size) {
        case 1: mov(byte[rsi], v.cvt8()); break;
        case 2: mov(word[rsi], v.cvt16()); break;
        case 4: mov(dword[rsi], v.cvt32()); break;
        default: mov(qword[rsi], v); break;
        }
    }
    // The interpreter's handler for entry k; stops there if it did more
    // than fall through.
    // Through the shared call stub (X64::emit_trampoline): `mem`, an
    // access that missed the fast table (rdi its VA) is refilled after.
    void call_handler(size_t k, bool straight = true, bool mem = false) {
        if (straight) drop_cache();  // (a slow path has written back already)
        mov(rsi, reinterpret_cast<uint64_t>(&b_->insns[k]));
        mov(edx, static_cast<uint32_t>(b_->n));
        call(mem ? mem_call_ : call_);
        test(al, al);
        jnz(exit_at(k));
    }
    Slow& slow_path(size_t k) {
        slow_.push_back(std::make_unique<Slow>());
        slow_.back()->k = k;
        slow_.back()->at_state = cache_;
        return *slow_.back();
    }
    void back(Slow& s) {  // where a slow path comes back: the fast path's end
        L(s.back);
        s.back_state = cache_;
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
        s.mem = false;
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
    // A SIMD&FP register from / to the host address in rsi, `size` bytes
    // (a load clears the rest of the register). Clobbers rax, xmm0.
    void load_v(unsigned rt, unsigned size, int off = 0) {
        if (size == 16) {
            movdqu(xmm0, ptr[rsi + off]);
            movdqu(ptr[rbx + o.v + 16 * static_cast<int>(rt)], xmm0);
            return;
        }
        switch (size) {
        case 1: movzx(eax, byte[rsi + off]); break;
        case 2: movzx(eax, word[rsi + off]); break;
        case 4: mov(eax, dword[rsi + off]); break;
        default: mov(rax, qword[rsi + off]); break;
        }
        mov(V(rt), rax);
        mov(V(rt, 1), 0);
    }
    void store_v(unsigned rt, unsigned size, int off = 0) {
        if (size == 16) {
            movdqu(xmm0, ptr[rbx + o.v + 16 * static_cast<int>(rt)]);
            movdqu(ptr[rsi + off], xmm0);
            return;
        }
        mov(rax, V(rt));
        switch (size) {
        case 1: mov(byte[rsi + off], al); break;
        case 2: mov(word[rsi + off], ax); break;
        case 4: mov(dword[rsi + off], eax); break;
        default: mov(qword[rsi + off], rax); break;
        }
    }

    // AdvSIMD three-same forms with exact host equivalents (integer
    // logic, ADD/SUB, CMEQ/CMTST) and FADD/FSUB/FMUL/FDIV/FMLA/FMLS on
    // ordinary operands; false: the handler.
    bool simd3(size_t k, uint32_t i);
    bool simd_elem(size_t k, uint32_t i);  // FMLA, FMLS, FMUL by element
    bool simd_shift(size_t k, uint32_t i);  // SSHR, USHR, SHL, SSHLL, USHLL
    bool simd_copy(size_t k, uint32_t i);   // DUP, INS, UMOV, SMOV
    bool simd_diff(size_t k, uint32_t i);   // [SU]ADDL/W, [SU]SUBL/W, [SU]MULL, [SU]MLAL, [SU]MLSL
    // x = the low (upper: high) half of V[r] widened, elements of 8 << size bits.
    void widen(const Xbyak::Xmm& x, unsigned r, unsigned size, bool sign, bool upper) {
        auto src = ptr[rbx + o.v + 16 * static_cast<int>(r) + (upper ? 8 : 0)];
        switch (size * 2 + (sign ? 1 : 0)) {
        case 0: pmovzxbw(x, src); break;
        case 1: pmovsxbw(x, src); break;
        case 2: pmovzxwd(x, src); break;
        case 3: pmovsxwd(x, src); break;
        case 4: pmovzxdq(x, src); break;
        default: pmovsxdq(x, src); break;
        }
    }
    // x op= y on lanes of 8 << size bits: 0 add, 1 sub, 2 mul (16, 32 bits;
    // 64 bits of 32-bit values widened with `sign`).
    void lanes(int op, const Xbyak::Xmm& x, const Xbyak::Xmm& y, unsigned size, bool sign = false) {
        if (op == 2) {
            if (size == 1) pmullw(x, y);
            else if (size == 2) pmulld(x, y);
            else sign ? pmuldq(x, y) : pmuludq(x, y);
            return;
        }
        switch (size) {
        case 0: op ? psubb(x, y) : paddb(x, y); break;
        case 1: op ? psubw(x, y) : paddw(x, y); break;
        case 2: op ? psubd(x, y) : paddd(x, y); break;
        default: op ? psubq(x, y) : paddq(x, y); break;
        }
    }
    bool fp3(size_t k, unsigned key, unsigned q, bool dbl, unsigned rd, unsigned rn, unsigned rm, int elem);
    // Sets `bad` (an xmm) to the lanes of `v` whose magnitude is outside
    // the fast path's range: `in` zero or normal finite; otherwise normal
    // finite above the smallest normal (`zero_ok`: or zero). Clobbers xmm5.
    void fp_bad(const Xbyak::Xmm& bad, const Xbyak::Xmm& v, bool dbl, bool in, bool zero_ok);
    static bool host_sse42();
    static bool host_fma();

    void alu(const DecodedInsn& d, const FastForm& f);
    void mem(size_t k, const DecodedInsn& d, const FastForm& f);
    // A load or store of one register. mode: 0 offset (imm), 1 post-index,
    // 3 pre-index, 4 register index (rm extended by `option`, << shift).
    struct Single {
        unsigned size = 8;  // bytes
        bool load = false, sign = false, to64 = true;
        bool fp = false;  // rt is a SIMD&FP register (1 to 16 bytes)
        unsigned mode = 0, rt = 0, rn = 0, rm = 0, option = 3, shift = 0;
        int64_t imm = 0;
    };
    void single(size_t k, const Single& m);
    // LDP/STP/LDPSW of general registers. mode: 0 or 2 offset, 1 post-,
    // 3 pre-index.
    struct Pair {
        unsigned size = 8, rt = 0, rt2 = 0, rn = 0, mode = 2;
        bool load = false, sign = false;
        bool fp = false;  // SIMD&FP registers of 4, 8 or 16 bytes
        int64_t imm = 0;
    };
    void pair(size_t k, const Pair& p);
    // Instructions without a specialised handler that compile inline
    // (decoded from the word); false: call the handler.
    bool generic(size_t k, const DecodedInsn& d);
    // The host flags hold whether condition `cond` holds (CF); clobbers
    // rax, rcx.
    void cond_to_cf(unsigned cond) {
        mov(eax, dword[rbx + o.nzcv]);
        shr(eax, 28);
        mov(ecx, dword[r15 + static_cast<int>(offsetof(Tables, cond) + 4 * cond)]);
        bt(ecx, eax);
    }
    // Shift `r` (64- or 32-bit) by `type` (LSL LSR ASR ROR) and `amount`.
    void shift_by(const Reg64& r, bool w, unsigned type, unsigned amount) {
        if (!amount) return;
        const Xbyak::Reg& x = w ? static_cast<const Xbyak::Reg&>(r) : static_cast<const Xbyak::Reg&>(r.cvt32());
        switch (type) {
        case 0: shl(x, amount); break;
        case 1: shr(x, amount); break;
        case 2: sar(x, amount); break;
        default: ror(x, amount); break;
        }
    }
    // rsi op= rdi for ADD/SUB (+ flags), 64 or 32 bits.
    void add_sub(bool w, bool sub_, bool set_flags) {
        if (w)
            sub_ ? sub(rsi, rdi) : add(rsi, rdi);
        else
            sub_ ? sub(esi, edi) : add(esi, edi);
        if (set_flags) flags(sub_);
    }
    // A branch of entry k (at `pcoff`) to the VA in rax: through links[0]
    // if that is the next instruction, else links[1].
    void chain_to_rax(int64_t pcoff, size_t k) {
        Label next;
        lea(rcx, ptr[r13 + static_cast<int32_t>(pcoff + 4)]);
        cmp(rax, rcx);
        je(next);
        chain(1, static_cast<uint32_t>(b_->n), true, true, k);
        L(next);
        chain(0, static_cast<uint32_t>(b_->n), true, true, k);
    }
    // Leaves the block for the one at the VA in rax through links[link]
    // after `retire` instructions; `as_branch`: entry k branched (events
    // kEvBranch, next_pc), else the block ran to its end.
    void chain(unsigned link, uint32_t retire, bool count_branch, bool as_branch, size_t k);
    // The same for the VA r13 + `off`: a direct link when that is in the
    // block's page (and the block ends plainly), else chain().
    void goto_va(int64_t off, unsigned link, uint32_t retire, bool count_branch, bool as_branch, size_t k);
};

void Emitter::alu(const DecodedInsn& d, const FastForm& f) {
    bool w = f.is64;
    switch (f.kind) {
    case K::AddImm: {
        ldxsp(rsi, d.rn);
        int32_t imm = static_cast<int32_t>(d.imm);
        if (w)
            f.sub ? sub(rsi, imm) : add(rsi, imm);
        else
            f.sub ? sub(esi, imm) : add(esi, imm);
        if (f.flags) {
            flags(f.sub, f.fused ? static_cast<int>(d.cond2) : -1);
            stx(d.rd, rsi);
        } else {
            stxsp(d.rd, rsi);
        }
        break;
    }
    case K::AddReg:
        ldx(rsi, d.rn);
        ldx(rdi, d.rm);
        if (w) {
            if (d.aux) shl(rdi, d.aux);
            f.sub ? sub(rsi, rdi) : add(rsi, rdi);
        } else {
            if (d.aux) shl(edi, d.aux);
            f.sub ? sub(esi, edi) : add(esi, edi);
        }
        if (f.flags) flags(f.sub, f.fused ? static_cast<int>(d.cond2) : -1);
        stx(d.rd, rsi);
        break;
    case K::LogImm:
    case K::LogReg: {
        ldx(rsi, d.rn);
        const Xbyak::Operand* src;
        Xbyak::Reg32 s32 = edi;
        bool use_imm = false;
        uint32_t imm32 = 0;
        if (f.kind == K::LogImm) {
            uint64_t imm = static_cast<uint64_t>(d.imm);
            if (!w || static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(imm))) == imm) {
                use_imm = true;
                imm32 = static_cast<uint32_t>(imm);
            } else {
                mov(rdi, imm);
            }
        } else {
            ldx(rdi, d.rm);
            if (d.aux) w ? shl(rdi, d.aux) : shl(edi, d.aux);
        }
        const Xbyak::Reg& dst = w ? static_cast<const Xbyak::Reg&>(rsi) : static_cast<const Xbyak::Reg&>(esi);
        src = w ? static_cast<const Xbyak::Operand*>(&rdi) : &s32;
        switch (f.opc) {
        case 1: use_imm ? or_(dst, imm32) : or_(dst, *src); break;
        case 2: use_imm ? xor_(dst, imm32) : xor_(dst, *src); break;
        default: use_imm ? and_(dst, imm32) : and_(dst, *src); break;
        }
        if (f.opc == 3) {
            flags(false, f.fused ? static_cast<int>(d.cond2) : -1, true);
            stx(d.rd, rsi);
        } else if (f.kind == K::LogImm) {
            stxsp(d.rd, rsi);
        } else {
            stx(d.rd, rsi);
        }
        break;
    }
    case K::MovConst:
        if (d.rd != 31) {
            mov(rax, static_cast<uint64_t>(d.imm));
            stx(d.rd, rax);
        }
        break;
    case K::Lsr:
    case K::Lsl:
        ldx(rsi, d.rn);
        if (w) {
            if (d.aux) f.kind == K::Lsr ? shr(rsi, d.aux) : shl(rsi, d.aux);
        } else if (d.aux) {
            f.kind == K::Lsr ? shr(esi, d.aux) : shl(esi, d.aux);
        } else {
            mov(esi, esi);
        }
        stx(d.rd, rsi);
        break;
    default: break;
    }
}

void Emitter::mem(size_t k, const DecodedInsn& d, const FastForm& f) {
    unsigned size = f.size;
    if (f.kind == K::PairX) {
        Pair p;
        p.rt = d.rd;
        p.rt2 = d.rm;
        p.rn = d.rn;
        p.imm = d.imm;
        p.mode = f.opc;
        p.load = f.load;
        pair(k, p);
        return;
    }
    Single m;
    m.size = size;
    m.load = f.load;
    m.to64 = size == 8;
    m.rt = d.rd;
    m.rn = d.rn;
    m.rm = d.rm;
    m.imm = d.imm;
    m.shift = d.aux;
    m.mode = f.kind == K::LdstWb ? (f.post ? 1 : 3) : f.kind == K::LdstReg ? 4 : 0;
    single(k, m);
}

void Emitter::pair(size_t k, const Pair& p) {
    // Both halves in one page, or the handler.
    Slow& s = slow_path(k);
    ldxsp(rdi, p.rn);
    bool wb = p.mode == 1 || p.mode == 3;
    if (wb) mov(r8, rdi);
    if (p.mode != 1) add(rdi, static_cast<int32_t>(p.imm));
    if (p.fp) fp_check(s.at);
    mem_fast(p.size, !p.load, s.at, true);
    if (p.fp) {
        int sz = static_cast<int>(p.size);
        p.load ? load_v(p.rt, p.size) : store_v(p.rt, p.size);
        p.load ? load_v(p.rt2, p.size, sz) : store_v(p.rt2, p.size, sz);
    } else if (p.load) {
        if (p.size == 8) {
            mov(rax, qword[rsi]);
            mov(r9, qword[rsi + 8]);
        } else if (p.sign) {
            movsxd(rax, dword[rsi]);
            movsxd(r9, dword[rsi + 4]);
        } else {
            mov(eax, dword[rsi]);
            mov(r9d, dword[rsi + 4]);
        }
        stx(p.rt, rax);
        stx(p.rt2, r9);
    } else {
        ldx(rax, p.rt);
        ldx(r9, p.rt2);
        if (p.size == 8) {
            mov(qword[rsi], rax);
            mov(qword[rsi + 8], r9);
        } else {
            mov(dword[rsi], eax);
            mov(dword[rsi + 4], r9d);
        }
    }
    if (wb) {
        add(r8, static_cast<int32_t>(p.imm));
        stxsp(p.rn, r8);
    }
    back(s);
}

void Emitter::single(size_t k, const Single& m) {
    Slow& s = slow_path(k);
    ldxsp(rdi, m.rn);
    if (m.mode == 1 || m.mode == 3) {
        mov(r8, rdi);
        if (m.mode == 3) add(rdi, static_cast<int32_t>(m.imm));
    } else if (m.mode == 4) {
        if (m.rm != 31) {
            ldx(rax, m.rm);
            switch (m.option) {
            case 2: mov(eax, eax); break;       // UXTW
            case 6: movsxd(rax, eax); break;    // SXTW
            default: break;                     // UXTX, SXTX
            }
            if (m.shift) shl(rax, m.shift);
            add(rdi, rax);
        }
    } else if (m.imm) {
        add(rdi, static_cast<int32_t>(m.imm));
    }
    if (m.fp) fp_check(s.at);
    mem_fast(m.size, !m.load, s.at);
    if (m.fp) {
        m.load ? load_v(m.rt, m.size) : store_v(m.rt, m.size);
    } else if (m.load) {
        if (m.sign && m.size < 8) {
            switch (m.size) {
            case 1: m.to64 ? movsx(rax, byte[rsi]) : movsx(eax, byte[rsi]); break;
            case 2: m.to64 ? movsx(rax, word[rsi]) : movsx(eax, word[rsi]); break;
            default: movsxd(rax, dword[rsi]); break;
            }
        } else {
            load_host(rax, m.size);
        }
        stx(m.rt, rax);
    } else {
        ldx(rax, m.rt);
        store_host(rax, m.size);
    }
    if (m.mode == 1 || m.mode == 3) {
        add(r8, static_cast<int32_t>(m.imm));
        stxsp(m.rn, r8);
    }
    back(s);
}

bool Emitter::generic(size_t k, const DecodedInsn& d) {
    using a64::bit;
    using a64::bits;
    uint32_t i = d.insn;
    if (d.handler == &exec_fetch_abort) return false;
    bool w = bit(i, 31);
    unsigned rd = bits(i, 4, 0), rn = bits(i, 9, 5), rm = bits(i, 20, 16);
    switch (a64::decode(i)) {
    case a64::Op::HINT: {
        unsigned op = bits(i, 11, 5);
        return op != 2 && op != 3 && op != 4 && op != 5;  // NOP, YIELD, ...: nothing
    }
    case a64::Op::DMB:
    case a64::Op::DSB:
    case a64::Op::ISB:
        return true;  // (as the interpreter: no-ops)
    case a64::Op::MOVE_wide: {
        unsigned opc = bits(i, 30, 29), hw = bits(i, 22, 21);
        if (opc != 3 || (!w && hw > 1)) return false;  // MOVK only
        uint64_t field = 0xffffull << (16 * hw);
        ldx(rsi, rd);
        mov(rdi, ~field);
        and_(rsi, rdi);
        mov(rdi, static_cast<uint64_t>(bits(i, 20, 5)) << (16 * hw));
        or_(rsi, rdi);
        if (!w) mov(esi, esi);
        stx(rd, rsi);
        return true;
    }
    case a64::Op::CSEL: {
        if (bit(i, 29) || bit(i, 11)) return false;
        bool inv = bit(i, 30), inc = bit(i, 10);
        ldx(rsi, rn);
        ldx(rdi, rm);
        if (inv && inc)
            neg(rdi);
        else if (inv)
            not_(rdi);
        else if (inc)
            add(rdi, 1);
        cond_to_cf(bits(i, 15, 12));
        cmovnc(rsi, rdi);
        if (!w) mov(esi, esi);
        stx(rd, rsi);
        return true;
    }
    case a64::Op::DP_3src: {
        unsigned op31 = bits(i, 23, 21), o0 = bit(i, 15), ra = bits(i, 14, 10);
        if (bits(i, 30, 29) != 0) return false;
        if (op31 == 0) {  // MADD, MSUB
            ldx(rsi, rn);
            ldx(rdi, rm);
            w ? imul(rsi, rdi) : imul(esi, edi);
        } else if ((op31 == 1 || op31 == 5) && w) {  // SMADDL, UMADDL (and SUBL)
            ldx(rsi, rn);
            ldx(rdi, rm);
            if (op31 == 1) {
                movsxd(rsi, esi);
                movsxd(rdi, edi);
            } else {
                mov(esi, esi);
                mov(edi, edi);
            }
            imul(rsi, rdi);
        } else if ((op31 == 2 || op31 == 6) && w && !o0) {  // SMULH, UMULH
            ldx(rax, rn);
            ldx(rdi, rm);
            op31 == 2 ? imul(rdi) : mul(rdi);
            stx(rd, rdx);
            return true;
        } else {
            return false;
        }
        ldx(rax, ra);
        if (w || op31 != 0)
            o0 ? sub(rax, rsi) : add(rax, rsi);
        else
            o0 ? sub(eax, esi) : add(eax, esi);
        stx(rd, rax);
        return true;
    }
    case a64::Op::EXTR: {
        unsigned lsb = bits(i, 15, 10);
        if (bit(i, 22) != static_cast<unsigned>(w) || (!w && lsb > 31)) return false;
        ldx(rsi, rm);  // the low half
        ldx(rdi, rn);
        if (w) {
            if (lsb) shrd(rsi, rdi, static_cast<uint8_t>(lsb));
        } else {
            if (lsb) shrd(esi, edi, static_cast<uint8_t>(lsb));
            mov(esi, esi);
        }
        stx(rd, rsi);
        return true;
    }
    case a64::Op::BITFIELD: {
        unsigned opc = bits(i, 30, 29), immr = bits(i, 21, 16), imms = bits(i, 15, 10);
        unsigned size = w ? 64 : 32;
        if ((opc != 0 && opc != 2) || bit(i, 22) != static_cast<unsigned>(w) || immr >= size || imms >= size)
            return false;  // (BFM: the handler)
        // SBFM/UBFM as two shifts: the field's top bit to the register's
        // top, then down (arithmetically for SBFM) to its place.
        unsigned up = size - 1 - imms;
        unsigned down = imms >= immr ? up + immr : immr - imms - 1;
        ldx(rsi, rn);
        const Xbyak::Reg& r = w ? static_cast<const Xbyak::Reg&>(rsi) : static_cast<const Xbyak::Reg&>(esi);
        if (up) shl(r, up);
        if (down) opc == 0 ? sar(r, down) : shr(r, down);
        if (!w) mov(esi, esi);
        stx(rd, rsi);
        return true;
    }
    case a64::Op::ADD_SUB_shift: {
        unsigned shift = bits(i, 23, 22), amount = bits(i, 15, 10);
        if (shift == 3 || (!w && amount > 31)) return false;
        ldx(rsi, rn);
        ldx(rdi, rm);
        shift_by(rdi, w, shift, amount);
        add_sub(w, bit(i, 30), bit(i, 29));
        stx(rd, rsi);
        return true;
    }
    case a64::Op::ADD_SUB_ext: {
        unsigned amount = bits(i, 12, 10), option = bits(i, 15, 13);
        if (amount > 4) return false;
        ldx(rdi, rm);
        switch (option) {
        case 0: movzx(edi, dil); break;
        case 1: movzx(edi, di); break;
        case 2: mov(edi, edi); break;
        case 4: movsx(rdi, dil); break;
        case 5: movsx(rdi, di); break;
        case 6: movsxd(rdi, edi); break;
        default: break;
        }
        if (amount) shl(rdi, amount);
        ldxsp(rsi, rn);
        bool set_flags = bit(i, 29);
        add_sub(w, bit(i, 30), set_flags);
        set_flags ? stx(rd, rsi) : stxsp(rd, rsi);
        return true;
    }
    case a64::Op::LOGICAL_reg: {
        unsigned opc = bits(i, 30, 29), shift = bits(i, 23, 22), amount = bits(i, 15, 10);
        if (!w && amount > 31) return false;
        ldx(rsi, rn);
        ldx(rdi, rm);
        shift_by(rdi, w, shift, amount);
        if (bit(i, 21)) not_(rdi);
        const Xbyak::Reg& a = w ? static_cast<const Xbyak::Reg&>(rsi) : static_cast<const Xbyak::Reg&>(esi);
        const Xbyak::Reg& b = w ? static_cast<const Xbyak::Reg&>(rdi) : static_cast<const Xbyak::Reg&>(edi);
        switch (opc) {
        case 1: or_(a, b); break;
        case 2: xor_(a, b); break;
        default: and_(a, b); break;
        }
        if (opc == 3) flags(false);
        stx(rd, rsi);
        return true;
    }
    case a64::Op::ADC_SBC: {
        bool sub_ = bit(i, 30);
        ldx(rsi, rn);
        ldx(rdi, rm);
        bt(dword[rbx + o.nzcv], 29);  // CF = C
        if (sub_) cmc();              // x86 subtracts a borrow: NOT C
        if (w)
            sub_ ? sbb(rsi, rdi) : adc(rsi, rdi);
        else
            sub_ ? sbb(esi, edi) : adc(esi, edi);
        if (bit(i, 29)) flags(sub_);
        stx(rd, rsi);
        return true;
    }
    case a64::Op::ADR:
    case a64::Op::ADRP: {
        int64_t imm = a64::sext((bits(i, 23, 5) << 2) | bits(i, 30, 29), 21);
        if (rd == 31) return true;
        if (a64::decode(i) == a64::Op::ADR) {
            lea(rax, ptr[r13 + static_cast<int32_t>(d.pcoff + imm)]);
        } else {
            lea(rax, ptr[r13 + static_cast<int32_t>(d.pcoff)]);
            and_(rax, -4096);
            mov(rcx, static_cast<uint64_t>(imm) << 12);
            add(rax, rcx);
        }
        stx(rd, rax);
        return true;
    }
    case a64::Op::CCMP_reg:
    case a64::Op::CCMP_imm: {
        Label other, done;
        cond_to_cf(bits(i, 15, 12));
        jnc(other);
        ldx(rsi, rn);
        if (a64::decode(i) == a64::Op::CCMP_reg)
            ldx(rdi, rm);
        else
            mov(edi, rm);  // imm5
        add_sub(w, bit(i, 30), true);
        jmp(done);
        L(other);
        mov(dword[rbx + o.nzcv], bits(i, 3, 0) << 28);
        L(done);
        return true;
    }
    case a64::Op::DP_2src: {
        unsigned op = bits(i, 15, 10);
        if (op < 8 || op > 11) return false;  // LSLV LSRV ASRV RORV
        ldx(rsi, rn);
        ldx(rcx, rm);
        const Xbyak::Reg& r = w ? static_cast<const Xbyak::Reg&>(rsi) : static_cast<const Xbyak::Reg&>(esi);
        switch (op) {
        case 8: shl(r, cl); break;
        case 9: shr(r, cl); break;
        case 10: sar(r, cl); break;
        default: ror(r, cl); break;
        }
        if (!w) mov(esi, esi);
        stx(rd, rsi);
        return true;
    }
    case a64::Op::LDST_pair: {
        unsigned opc = bits(i, 31, 30), mode = bits(i, 25, 23);
        bool load = bit(i, 22);
        if (opc == 3 || (opc == 1 && (!load || mode == 0))) return false;
        Pair p;
        p.size = opc == 2 ? 8 : 4;
        p.sign = opc == 1;
        p.load = load;
        p.mode = mode;
        p.rt = rd;
        p.rt2 = bits(i, 14, 10);
        p.rn = rn;
        p.imm = a64::sext(bits(i, 21, 15), 7) * p.size;
        pair(k, p);
        return true;
    }
    case a64::Op::LDR_lit: {
        unsigned opc = bits(i, 31, 30);
        if (opc == 3) return true;  // PRFM: nothing
        Slow& s = slow_path(k);
        unsigned size = opc == 1 ? 8 : 4;
        lea(rdi, ptr[r13 + static_cast<int32_t>(d.pcoff + (a64::sext(bits(i, 23, 5), 19) << 2))]);
        mem_fast(size, false, s.at);
        if (opc == 2)
            movsxd(rax, dword[rsi]);
        else
            load_host(rax, size);
        stx(rd, rax);
        back(s);
        return true;
    }
    case a64::Op::LDST_uimm:
    case a64::Op::LDST_imm9:
    case a64::Op::LDST_reg: {
        unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22);
        Single m;
        m.size = 1u << size;
        m.rt = rd;
        m.rn = rn;
        m.to64 = size == 3;
        switch (opc) {
        case 0: break;
        case 1: m.load = true; break;
        case 2:
            if (size == 3) return false;  // PRFM: the handler (a no-op)
            m.load = m.sign = m.to64 = true;
            break;
        default:
            if (size >= 2) return false;
            m.load = m.sign = true;
            m.to64 = false;
            break;
        }
        a64::Op op = a64::decode(i);
        if (op == a64::Op::LDST_uimm) {
            m.imm = static_cast<int64_t>(bits(i, 21, 10)) << size;
        } else if (op == a64::Op::LDST_imm9) {
            unsigned mode = bits(i, 11, 10);
            if (mode == 2) return false;  // LDTR/STTR
            m.mode = mode;
            m.imm = a64::sext(bits(i, 20, 12), 9);
        } else {
            m.option = bits(i, 15, 13);
            if (!(m.option & 2)) return false;
            m.mode = 4;
            m.rm = rm;
            m.shift = bit(i, 12) ? size : 0;
        }
        single(k, m);
        return true;
    }
    case a64::Op::MRS: {  // the registers software reads all the time: TLS, Linux's current/per-CPU, NZCV
        uint32_t key = bits(i, 20, 5);
        if (rd == 31) return false;
        if (key == sysreg_key(3, 3, 13, 0, 2) || key == sysreg_key(3, 3, 13, 0, 3)) {  // TPIDR(RO)_EL0
            mov(rax, qword[rbx + (key == sysreg_key(3, 3, 13, 0, 2) ? o.tpidr0 : o.tpidrro0)]);
        } else if (key == sysreg_key(3, 3, 4, 2, 0)) {  // NZCV
            mov(eax, dword[rbx + o.nzcv]);
        } else if (key == sysreg_key(3, 0, 13, 0, 4) || key == sysreg_key(3, 0, 4, 1, 0)) {  // TPIDR_EL1, SP_EL0
            Slow& s = slow_path(k);  // (EL0: the handler makes it UNDEFINED)
            s.mem = false;
            cmp(dword[rbx + o.el], 0);
            je(s.at);
            mov(rax, qword[rbx + (key == sysreg_key(3, 0, 4, 1, 0) ? o.sp0 : o.tpidr1)]);
            stx(rd, rax);
            back(s);
            return true;
        } else {
            return false;
        }
        stx(rd, rax);
        return true;
    }
    case a64::Op::SIMD_3SAME:
        return simd3(k, i);
    case a64::Op::SIMD_ELEM:
        return simd_elem(k, i);
    case a64::Op::SIMD_SHIFT_IMM:
        return simd_shift(k, i);
    case a64::Op::SIMD_COPY:
        return simd_copy(k, i);
    case a64::Op::SIMD_3DIFF:
        return simd_diff(k, i);
    case a64::Op::LDST_pair_fp: {
        unsigned opc = bits(i, 31, 30), mode = bits(i, 25, 23);
        if (opc == 3) return false;  // (mode 0, LDNP/STNP: an offset form as the others)
        Pair p;
        p.fp = true;
        p.size = 4u << opc;
        p.load = bit(i, 22);
        p.mode = mode;
        p.rt = rd;
        p.rt2 = bits(i, 14, 10);
        p.rn = rn;
        p.imm = a64::sext(bits(i, 21, 15), 7) * p.size;
        pair(k, p);
        return true;
    }
    case a64::Op::LDST_uimm_fp:
    case a64::Op::LDST_imm9_fp:
    case a64::Op::LDST_reg_fp: {
        unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22);
        if ((opc & 2) && size != 0) return false;  // (unallocated: the handler)
        unsigned scale = (opc & 2) ? 4 : size;
        Single m;
        m.fp = true;
        m.size = 1u << scale;
        m.load = opc & 1;
        m.rt = rd;
        m.rn = rn;
        a64::Op op = a64::decode(i);
        if (op == a64::Op::LDST_uimm_fp) {
            m.imm = static_cast<int64_t>(bits(i, 21, 10)) << scale;
        } else if (op == a64::Op::LDST_imm9_fp) {
            unsigned mode = bits(i, 11, 10);
            if (mode == 2) return false;
            m.mode = mode;
            m.imm = a64::sext(bits(i, 20, 12), 9);
        } else {
            m.option = bits(i, 15, 13);
            if (!(m.option & 2)) return false;
            m.mode = 4;
            m.rm = rm;
            m.shift = bit(i, 12) ? scale : 0;
        }
        single(k, m);
        return true;
    }
    default: return false;
    }
}

bool Emitter::host_sse42() {
    static const bool yes = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tSSE42);
    return yes;
}

bool Emitter::host_fma() {
    static const bool yes = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tFMA) &&
                            Xbyak::util::Cpu().has(Xbyak::util::Cpu::tAVX);
    return yes;
}

void Emitter::fp_bad(const Xbyak::Xmm& bad, const Xbyak::Xmm& v, bool dbl, bool in, bool zero_ok) {
    auto tab = [&](const Tables::Vec (&t)[2]) {
        return ptr[r15 + static_cast<int32_t>(reinterpret_cast<const char*>(&t[dbl ? 1 : 0]) -
                                              reinterpret_cast<const char*>(&tables()))];
    };
    auto gt = [&](const Xbyak::Xmm& a, const Xbyak::Operand& b) { dbl ? pcmpgtq(a, b) : pcmpgtd(a, b); };
    auto eq = [&](const Xbyak::Xmm& a, const Xbyak::Operand& b) { dbl ? pcmpeqq(a, b) : pcmpeqd(a, b); };
    // mag = |v| (a non-negative integer); bad = mag > max finite
    movdqa(xmm5, v);
    pand(xmm5, tab(tables().abs));
    movdqa(bad, xmm5);
    gt(bad, tab(tables().max_finite));
    // small = mag < min normal (inputs) or mag <= min normal (results)
    Xbyak::Xmm small = xmm4;
    movdqa(small, tab(in ? tables().min_normal : tables().min_normal1));
    gt(small, xmm5);
    if (in || zero_ok) {  // a zero is fine: small and not zero
        pxor(xmm3, xmm3);
        eq(xmm5, xmm3);
        pandn(xmm5, small);
        por(bad, xmm5);
    } else {
        por(bad, small);
    }
}

bool Emitter::simd3(size_t k, uint32_t i) {
    using a64::bit;
    using a64::bits;
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), opcode = bits(i, 15, 11);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    auto vec = [&](unsigned r) { return ptr[rbx + o.v + 16 * static_cast<int>(r)]; };
    if ((opcode == 0x12 || (opcode == 0x13 && !u)) && (size == 1 || size == 2) && host_sse42()) {
        // MUL, MLA, MLS
        Slow& s = simd_slow(k);
        movdqu(xmm0, vec(rn));
        movdqu(xmm1, vec(rm));
        lanes(2, xmm0, xmm1, size);
        if (opcode == 0x12) {
            movdqu(xmm2, vec(rd));
            lanes(u ? 1 : 0, xmm2, xmm0, size);
            movdqa(xmm0, xmm2);
        }
        put_vec(rd, xmm0, q);
        back(s);
        return true;
    }
    if (opcode == 0x03 || opcode == 0x10 || opcode == 0x11) {
        if (opcode != 0x03 && size == 3 && !q) return false;
        if (opcode == 0x11 && size == 3 && !host_sse42()) return false;
        Slow& s = simd_slow(k);
        movdqu(xmm0, vec(rn));
        movdqu(xmm1, vec(rm));
        if (opcode == 0x03) {
            if (!u) {
                switch (size) {
                case 0: pand(xmm0, xmm1); break;                   // AND
                case 1: pandn(xmm1, xmm0); movdqa(xmm0, xmm1); break;  // BIC
                case 2: por(xmm0, xmm1); break;                    // ORR
                default:                                           // ORN
                    pcmpeqd(xmm2, xmm2);
                    pxor(xmm1, xmm2);
                    por(xmm0, xmm1);
                    break;
                }
            } else if (size == 0) {
                pxor(xmm0, xmm1);  // EOR
            } else {
                // BSL: d = (d & n) | (~d & m); BIT: d ^ ((d ^ n) & m); BIF: d ^ ((d ^ n) & ~m)
                movdqu(xmm2, vec(rd));
                if (size == 1) {
                    pxor(xmm0, xmm1);  // n ^ m
                    pand(xmm0, xmm2);
                    pxor(xmm0, xmm1);  // ((n ^ m) & d) ^ m
                } else {
                    pxor(xmm0, xmm2);  // d ^ n
                    if (size == 2) {
                        pand(xmm0, xmm1);
                    } else {
                        pandn(xmm1, xmm0);
                        movdqa(xmm0, xmm1);
                    }
                    pxor(xmm0, xmm2);
                }
            }
        } else if (opcode == 0x10) {
            static constexpr void (Xbyak::CodeGenerator::*add_[4])(const Xbyak::Mmx&, const Xbyak::Operand&) = {
                &Xbyak::CodeGenerator::paddb, &Xbyak::CodeGenerator::paddw, &Xbyak::CodeGenerator::paddd,
                &Xbyak::CodeGenerator::paddq};
            static constexpr void (Xbyak::CodeGenerator::*sub_[4])(const Xbyak::Mmx&, const Xbyak::Operand&) = {
                &Xbyak::CodeGenerator::psubb, &Xbyak::CodeGenerator::psubw, &Xbyak::CodeGenerator::psubd,
                &Xbyak::CodeGenerator::psubq};
            (this->*(u ? sub_ : add_)[size])(xmm0, xmm1);
        } else {
            if (!u) {  // CMTST: (n & m) != 0
                pand(xmm0, xmm1);
                pxor(xmm1, xmm1);
            }
            switch (size) {
            case 0: pcmpeqb(xmm0, xmm1); break;
            case 1: pcmpeqw(xmm0, xmm1); break;
            case 2: pcmpeqd(xmm0, xmm1); break;
            default: pcmpeqq(xmm0, xmm1); break;
            }
            if (!u) {
                pcmpeqd(xmm2, xmm2);
                pxor(xmm0, xmm2);
            }
        }
        put_vec(rd, xmm0, q);
        back(s);
        return true;
    }
    if (opcode < 0x18) return false;
    unsigned a = bit(i, 23), sz = bit(i, 22), op = bits(i, 13, 11), key = (u << 4) | (a << 3) | op;
    if (sz && !q) return false;
    return fp3(k, key, q, sz, rd, rn, rm, -1);
}

bool Emitter::simd_elem(size_t k, uint32_t i) {
    using a64::bit;
    using a64::bits;
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), l = bit(i, 21), mbit = bit(i, 20);
    unsigned op = bits(i, 15, 12), h = bit(i, 11);
    if (u || (op != 1 && op != 5 && op != 9) || size < 2 || (size == 3 && (l || !q))) return false;
    unsigned key = op == 1 ? 0x1 : op == 5 ? 0x9 : 0x13;  // FMLA, FMLS, FMUL (as three-same keys)
    int index = size == 3 ? static_cast<int>(h) : static_cast<int>((h << 1) | l);
    return fp3(k, key, q, size == 3, bits(i, 4, 0), bits(i, 9, 5), (mbit << 4) | bits(i, 19, 16), index);
}

bool Emitter::simd_shift(size_t k, uint32_t i) {
    using a64::bit;
    using a64::bits;
    unsigned q = bit(i, 30), u = bit(i, 29), immh = bits(i, 22, 19), ib = bits(i, 22, 16), opcode = bits(i, 15, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (!immh || !host_sse42()) return false;
    unsigned size = immh >= 8 ? 3 : immh >= 4 ? 2 : immh >= 2 ? 1 : 0, esize = 8u << size;
    bool shr = opcode == 0x00, shl = opcode == 0x0a && !u, wide = opcode == 0x14;
    if (!shr && !shl && !wide) return false;
    if (size == 3 && (wide || !q)) return false;  // (reserved: the handler)
    if (!wide && (size == 0 || (shr && !u && size == 3))) return false;  // (no byte shifts, no 64-bit arithmetic one)
    Slow& s = simd_slow(k);
    auto vec = ptr[rbx + o.v + 16 * static_cast<int>(rn)];
    if (wide) {  // [SU]SHLL(2): widen the low (Q: high) half, then shift left
        unsigned sh = ib - esize;
        widen(xmm0, rn, size, !u, q);
        if (sh) {
            switch (size) {
            case 0: psllw(xmm0, static_cast<uint8_t>(sh)); break;
            case 1: pslld(xmm0, static_cast<uint8_t>(sh)); break;
            default: psllq(xmm0, static_cast<uint8_t>(sh)); break;
            }
        }
        movdqu(ptr[rbx + o.v + 16 * static_cast<int>(rd)], xmm0);
    } else {
        movdqu(xmm0, vec);
        uint8_t sh = static_cast<uint8_t>(shr ? 2 * esize - ib : ib - esize);
        switch (size * 4 + (shr ? (u ? 1 : 2) : 0)) {
        case 4: psllw(xmm0, sh); break;
        case 5: psrlw(xmm0, sh); break;
        case 6: psraw(xmm0, sh); break;
        case 8: pslld(xmm0, sh); break;
        case 9: psrld(xmm0, sh); break;
        case 10: psrad(xmm0, sh); break;
        case 12: psllq(xmm0, sh); break;
        default: psrlq(xmm0, sh); break;
        }
        put_vec(rd, xmm0, q);
    }
    back(s);
    return true;
}

bool Emitter::simd_copy(size_t k, uint32_t i) {
    using a64::bit;
    using a64::bits;
    unsigned q = bit(i, 30), op = bit(i, 29), imm5 = bits(i, 20, 16), imm4 = bits(i, 14, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned size = 0;
    while (size < 4 && !((imm5 >> size) & 1)) ++size;
    if (size > 3) return false;
    unsigned esize = 1u << size, index = imm5 >> (size + 1);
    auto elem = [&](unsigned r, unsigned idx) {
        return rbx + (o.v + 16 * static_cast<int>(r) + static_cast<int>(idx * esize));
    };
    // rax = element `idx` of V[r], zero- or sign-extended to 64 bits
    auto get = [&](unsigned r, unsigned idx, bool sign) {
        auto a = elem(r, idx);
        switch (size) {
        case 0: sign ? movsx(rax, byte[a]) : movzx(eax, byte[a]); break;
        case 1: sign ? movsx(rax, word[a]) : movzx(eax, word[a]); break;
        case 2: sign ? movsxd(rax, dword[a]) : mov(eax, dword[a]); break;
        default: mov(rax, qword[a]); break;
        }
    };
    auto set = [&](unsigned r, unsigned idx) {  // element `idx` of V[r] = the low bits of rax
        auto a = elem(r, idx);
        switch (size) {
        case 0: mov(byte[a], al); break;
        case 1: mov(word[a], ax); break;
        case 2: mov(dword[a], eax); break;
        default: mov(qword[a], rax); break;
        }
    };
    bool smov = imm4 == 5;
    if (op == 1 ? !q
                : imm4 == 0 || imm4 == 1 ? (size == 3 && !q)
                : imm4 == 3             ? !q
                : imm4 == 5 || imm4 == 7 ? (smov ? (size == 3 || (size == 2 && !q)) : (q != (size == 3)))
                                         : true)
        return false;  // (unallocated, or not these: the handler)
    Slow& s = simd_slow(k);
    if (op == 1) {  // INS (element)
        get(rn, imm4 >> size, false);
        set(rd, index);
    } else if (imm4 == 3) {  // INS (general)
        ldx(rax, rn);
        set(rd, index);
    } else if (imm4 >= 5) {  // SMOV, UMOV
        get(rn, index, smov);
        if (smov && !q) mov(eax, eax);
        stx(rd, rax);
    } else {  // DUP (element, general): the value in every lane
        if (imm4 == 0)
            get(rn, index, false);
        else
            ldx(rax, rn);
        movq(xmm0, rax);
        switch (size) {
        case 0: punpcklbw(xmm0, xmm0); [[fallthrough]];
        case 1: pshuflw(xmm0, xmm0, 0); pshufd(xmm0, xmm0, 0); break;
        case 2: pshufd(xmm0, xmm0, 0); break;
        default: punpcklqdq(xmm0, xmm0); break;
        }
        put_vec(rd, xmm0, q);
    }
    back(s);
    return true;
}

bool Emitter::simd_diff(size_t k, uint32_t i) {
    using a64::bit;
    using a64::bits;
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 15, 12);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    bool sign = !u;
    if (size == 3 || !host_sse42()) return false;
    if (op > 0x3 && op != 0x8 && op != 0xa && op != 0xc) return false;
    Slow& s = simd_slow(k);
    unsigned wsize = size + 1;
    auto dvec = ptr[rbx + o.v + 16 * static_cast<int>(rd)];
    if (op <= 0x3) {  // ADDL, ADDW, SUBL, SUBW
        if (op & 1)
            movdqu(xmm0, ptr[rbx + o.v + 16 * static_cast<int>(rn)]);
        else
            widen(xmm0, rn, size, sign, q);
        widen(xmm1, rm, size, sign, q);
        lanes(op >= 2 ? 1 : 0, xmm0, xmm1, wsize);
    } else {  // MULL, MLAL, MLSL
        widen(xmm0, rn, size, sign, q);
        widen(xmm1, rm, size, sign, q);
        lanes(2, xmm0, xmm1, wsize == 3 ? 3 : wsize, sign);
        if (op != 0xc) {
            movdqu(xmm2, dvec);
            lanes(op == 0xa ? 1 : 0, xmm2, xmm0, wsize);
            movdqa(xmm0, xmm2);
        }
    }
    movdqu(dvec, xmm0);
    back(s);
    return true;
}

bool Emitter::fp3(size_t k, unsigned key, unsigned q, bool dbl, unsigned rd, unsigned rn, unsigned rm, int elem) {
    // FADD, FSUB, FMUL, FDIV, FMLA, FMLS (elem >= 0: by element, the
    // element broadcast). The host computes what the guest would when
    // every lane's operands are zero or normal finite, the result normal
    // finite (add/sub: or zero), round to nearest, and FPSR.IXC is set
    // already (no other flag can come from such lanes); otherwise the
    // handler (Arm's NaN, tininess and flag rules).
    auto vec = [&](unsigned r) { return ptr[rbx + o.v + 16 * static_cast<int>(r)]; };
    bool fma = key == 0x1 || key == 0x9;
    if (!host_sse42()) return false;
    if (key != 0x2 && key != 0xa && key != 0x13 && key != 0x17 && !fma) return false;
    if (fma && !host_fma()) return false;
    Slow& s = simd_slow(k);
    test(dword[rbx + o.fpcr], 3u << 22);  // RMode: round to nearest
    jnz(s.at);
    test(byte[rbx + o.fpsr], 16);  // IXC
    jz(s.at);
    movdqu(xmm0, vec(rn));
    if (elem < 0)
        movdqu(xmm1, vec(rm));
    else if (dbl)
        pshufd(xmm1, vec(rm), elem ? 0xee : 0x44);
    else
        pshufd(xmm1, vec(rm), static_cast<uint8_t>(0x55 * elem));
    fp_bad(xmm6, xmm0, dbl, true, true);
    fp_bad(xmm7, xmm1, dbl, true, true);
    por(xmm6, xmm7);
    if (fma) {
        movdqu(xmm2, vec(rd));
        fp_bad(xmm7, xmm2, dbl, true, true);
        por(xmm6, xmm7);
        if (key == 0x1)
            dbl ? vfmadd231pd(xmm2, xmm0, xmm1) : vfmadd231ps(xmm2, xmm0, xmm1);
        else
            dbl ? vfnmadd231pd(xmm2, xmm0, xmm1) : vfnmadd231ps(xmm2, xmm0, xmm1);
        movdqa(xmm0, xmm2);
    } else {
        switch (key) {
        case 0x2: dbl ? addpd(xmm0, xmm1) : addps(xmm0, xmm1); break;
        case 0xa: dbl ? subpd(xmm0, xmm1) : subps(xmm0, xmm1); break;
        case 0x13: dbl ? mulpd(xmm0, xmm1) : mulps(xmm0, xmm1); break;
        default: dbl ? divpd(xmm0, xmm1) : divps(xmm0, xmm1); break;
        }
    }
    fp_bad(xmm7, xmm0, dbl, false, key == 0x2 || key == 0xa);
    por(xmm6, xmm7);
    if (q)
        ptest(xmm6, xmm6);
    else
        ptest(xmm6, ptr[r15 + static_cast<int32_t>(offsetof(Tables, low_half))]);
    jnz(s.at);
    put_vec(rd, xmm0, q);
    back(s);
    return true;
}

void Emitter::chain(unsigned link, uint32_t retire, bool count_branch, bool as_branch, size_t k) {
    writeback(cache_);  // (rax, the next VA, kept)
    mov(r14, reinterpret_cast<uint64_t>(b_));  // (the running block, for the stub's exit)
    mov(rcx, reinterpret_cast<uint64_t>(&b_->links[link]));
    mov(edx, retire | (count_branch ? 1u << 8 : 0) | (as_branch ? 1u << 9 : 0) |
                 (static_cast<uint32_t>(as_branch ? k : b_->n) << 16));
    jmp(chain_);
}

void Emitter::goto_va(int64_t off, unsigned link, uint32_t retire, bool count_branch, bool as_branch, size_t k) {
    uint64_t to = b_->pa + static_cast<uint64_t>(off);
    if (!b_->plain_end || (to >> 12) != (b_->pa >> 12)) {
        lea(rax, ptr[r13 + static_cast<int32_t>(off)]);
        return chain(link, retire, count_branch, as_branch, k);
    }
    // Everything the run loop would count, counted here; then straight to
    // the next block's head once the link stub has patched the jump.
    writeback(cache_);
    sub(r12, static_cast<int32_t>(retire));
    add(qword[rbx + o.insn_count], static_cast<int32_t>(retire));
    if (count_branch) add(qword[rbx + o.branch_count], 1);
    lea(r13, ptr[r13 + static_cast<int32_t>(off)]);
    direct_.push_back(std::make_unique<Direct>());
    Direct& d = *direct_.back();
    d.site = getCurr();
    d.link = link;
    jmp(d.at, T_NEAR);
}

void Emitter::block(const Block& b) {
    b_ = &b;
    size_t n = b.n;
    exits_.resize(n + 1);
    // The head (Block::jit_head), for direct links: r13 is this block's VA
    // and r12 the instructions left before it.
    Label body, unstarted, irq;
    cmp(r12, static_cast<int32_t>(n));
    jl(unstarted);
    mov(rax, qword[rbx + o.exit_req]);
    test(rax, rax);
    Label no_req;
    jz(no_req);
    cmp(byte[rax], 0);
    jne(unstarted);
    L(no_req);
    cmp(byte[rbx + o.mailbox], 0);
    jne(unstarted);
    cmp(byte[rbx + o.irq], 0);
    jne(irq);
    L(body);
    body_ = getCurr();  // (what handlers read of the block is stored before each call, r14 at each exit)
    bool ended = false;  // the code so far always leaves the block
    for (size_t k = 0; k < n && !ended; ++k) {
        const DecodedInsn& d = b.insns[k];
        FastForm f = fast_form(d.handler);
        int64_t pcoff = d.pcoff;
        switch (f.kind) {
        case K::AddImm:
        case K::AddReg:
        case K::LogImm:
        case K::LogReg:
        case K::MovConst:
        case K::Lsr:
        case K::Lsl:
            alu(d, f);
            if (f.fused) {  // the B.cond after it: both ways are "branches"
                Label taken;
                jump_if(d.cond2, taken);
                goto_va(pcoff + 8, 0, static_cast<uint32_t>(n + 1), true, true, k);
                L(taken);
                goto_va(pcoff + 4 + d.imm2, d.imm2 == 4 ? 0 : 1, static_cast<uint32_t>(n + 1), true, true, k);
                ended = true;
            }
            break;
        case K::BCond:
        case K::Cbz: {
            Label taken, not_taken;
            if (f.kind == K::BCond) {
                jump_if(d.aux, taken);
            } else {
                if (d.rd == 31) {
                    if (f.opc) jmp(not_taken); else jmp(taken);
                } else {
                    ldx(rax, d.rd);
                    f.is64 ? test(rax, rax) : test(eax, eax);
                    f.opc ? jne(taken) : je(taken);
                }
            }
            jmp(not_taken);
            L(taken);
            goto_va(pcoff + d.imm, d.imm == 4 ? 0 : 1, static_cast<uint32_t>(n), true, true, k);
            L(not_taken);
            break;  // (the last entry: the block's end follows)
        }
        case K::B:
        case K::Bl:
            if (f.kind == K::Bl) {
                lea(rax, ptr[r13 + static_cast<int32_t>(pcoff + 4)]);
                stx(30, rax);
            }
            goto_va(pcoff + d.imm, d.imm == 4 ? 0 : 1, static_cast<uint32_t>(n), true, true, k);
            ended = true;
            break;
        case K::Ret:
            ldx(rax, d.rn);
            chain_to_rax(pcoff, k);
            ended = true;
            break;
        case K::LdstOff:
        case K::LdstWb:
        case K::LdstReg:
        case K::PairX:
            mem(k, d, f);
            break;
        default: {
            a64::Op op = d.handler == &exec_fetch_abort ? a64::Op::Unallocated : a64::decode(d.insn);
            if (op == a64::Op::BR || op == a64::Op::BLR) {
                ldx(rax, a64::bits(d.insn, 9, 5));  // (read before BLR writes X30)
                if (op == a64::Op::BLR) {
                    lea(rcx, ptr[r13 + static_cast<int32_t>(pcoff + 4)]);
                    stx(30, rcx);
                }
                chain_to_rax(pcoff, k);
                ended = true;
            } else if (op == a64::Op::TBZ_TBNZ) {  // (the last entry)
                uint32_t i = d.insn;
                unsigned rt = a64::bits(i, 4, 0), bitno = (a64::bit(i, 31) << 5) | a64::bits(i, 23, 19);
                int64_t off = a64::sext(a64::bits(i, 18, 5), 14) << 2;
                Label taken, not_taken;
                if (rt == 31) {
                    a64::bit(i, 24) ? jmp(not_taken) : jmp(taken);
                } else {
                    ldx(rax, rt);
                    bt(rax, static_cast<uint8_t>(bitno));
                    a64::bit(i, 24) ? jc(taken) : jnc(taken);
                }
                jmp(not_taken);
                L(taken);
                goto_va(pcoff + off, off == 4 ? 0 : 1, static_cast<uint32_t>(n), true, true, k);
                L(not_taken);
            } else if (!generic(k, d)) {
                call_handler(k);
            }
            break;
        }
        }
    }
    if (!ended) {  // ran to the end (or a B.cond/CBZ not taken)
        goto_va(static_cast<int64_t>(4 * n), 0, static_cast<uint32_t>(n), b.ends_in_branch, false, n);
    }
    for (auto& s : slow_) {  // (rdi: the VA that missed the fast table)
        L(s->at);
        writeback(s->at_state);
        call_handler(s->k, false, s->mem);
        reload(s->back_state);
        jmp(s->back);
    }
    for (auto& d : direct_) {
        L(d->at);
        mov(rcx, reinterpret_cast<uint64_t>(&b_->links[d->link]));
        mov(rdx, reinterpret_cast<uint64_t>(d->site));
        mov(r14, reinterpret_cast<uint64_t>(b_));  // (the link stub patches only in this block's page)
        jmp(link_);
    }
    for (size_t k = 0; k <= n; ++k)
        if (exits_[k]) {
            L(*exits_[k]);
            mov(r14, reinterpret_cast<uint64_t>(b_));
            mov(eax, static_cast<uint32_t>(k));
            jmp(exit_);
        }
    L(irq);  // an IRQ the CPU masks does not stop it
    test(dword[rbx + o.daif], 0x80);
    jnz(body);
    L(unstarted);
    mov(eax, static_cast<uint32_t>(kUnstarted));
    jmp(exit_);
}

}  // namespace

void X64::emit_trampoline() {
    Xbyak::CodeGenerator g(kMinRoom, arena_);
    g.setDefaultJmpNEAR(true);
    // enter(cpu, code, limit, va, block)
    g.push(rbx);
    g.push(rbp);
    g.push(r12);
    g.push(r13);
    g.push(r14);
    g.push(r15);
    g.sub(rsp, 8);
    g.mov(rbx, rdi);
    g.mov(r12, rdx);
    g.mov(r13, rcx);
    g.mov(r14, r8);
    g.mov(r15, reinterpret_cast<uint64_t>(&tables()));
    g.jmp(rsi);

    // exit: eax = the stopping entry of the running block
    g.align(16);
    exit_ = g.getCurr();
    g.mov(qword[rbx + o_.block_va], r13);
    g.mov(qword[rbx + o_.jit_block], r14);
    g.mov(rdx, r12);
    g.add(rsp, 8);
    g.pop(r15);
    g.pop(r14);
    g.pop(r13);
    g.pop(r12);
    g.pop(rbp);
    g.pop(rbx);
    g.ret();

    // chain: rax = the next VA, rcx = the Block::Link to follow, edx =
    // instructions the running block retires [7:0] | count a branch [8] |
    // it branched [9] | the entry to stop at otherwise [31:16].
    g.align(16);
    chain_ = g.getCurr();
    {
        Label miss, again, fail, irq, irq_back, no_req, fall, have_block, relink;
        static_assert(sizeof(Cpu::JitVEntry) == 32, "the index below is a byte offset of 32-byte entries");
        g.cmp(rax, qword[rcx + offsetof(Block::Link, va)]);
        g.jne(miss);
        g.mov(r9, qword[rbx + o_.link_gen]);
        g.cmp(r9, qword[rcx + offsetof(Block::Link, gen)]);
        g.jne(miss);
        g.L(again);
        g.mov(r10, qword[rcx + offsetof(Block::Link, block)]);
        g.L(have_block);
        g.mov(rsi, qword[r10 + o_.block_jit]);
        g.test(rsi, rsi);
        g.jz(fail);
        g.movzx(r8d, dl);
        g.mov(r11, r12);
        g.sub(r11, r8);
        g.mov(edi, dword[r10 + o_.block_n]);
        g.cmp(r11, rdi);
        g.jl(fail);
        g.mov(r9, qword[rbx + o_.exit_req]);
        g.test(r9, r9);
        g.jz(no_req);
        g.cmp(byte[r9], 0);
        g.jne(fail);
        g.L(no_req);
        g.cmp(byte[rbx + o_.mailbox], 0);
        g.jne(fail);
        g.cmp(byte[rbx + o_.irq], 0);
        g.jne(irq);
        g.L(irq_back);
        g.mov(r12, r11);
        g.add(qword[rbx + o_.insn_count], r8);
        g.bt(edx, 8);
        g.adc(qword[rbx + o_.branch_count], 0);
        g.mov(r13, rax);
        g.mov(r14, r10);
        g.jmp(rsi);
        g.L(irq);  // an IRQ the CPU masks does not stop it
        g.test(dword[rbx + o_.daif], 0x80);
        g.jnz(irq_back);
        g.jmp(fail);
        g.L(miss);  // the VA cache may know it (it is filled by relink): the link follows it then
        g.mov(r8, rax);
        g.shr(r8, 2);
        g.and_(r8d, Cpu::kJitVCache - 1);
        g.shl(r8d, 5);
        g.add(r8, qword[rbx + o_.vcache]);
        g.mov(r9, rax);
        g.or_(r9, qword[rbx + o_.vkey]);
        g.cmp(r9, qword[r8 + offsetof(Cpu::JitVEntry, tag)]);
        g.jne(relink);
        g.mov(r9, qword[rbx + o_.vgen]);
        g.cmp(r9, qword[r8 + offsetof(Cpu::JitVEntry, gen)]);
        g.jne(relink);
        g.mov(r10, qword[r8 + offsetof(Cpu::JitVEntry, block)]);
        g.mov(qword[rcx + offsetof(Block::Link, va)], rax);
        g.mov(qword[rcx + offsetof(Block::Link, block)], r10);
        g.mov(r9, qword[rbx + o_.link_gen]);
        g.mov(qword[rcx + offsetof(Block::Link, gen)], r9);
        g.jmp(have_block);
        g.L(relink);  // the block cache may know it: relink and try again
        g.sub(rsp, 32);
        g.mov(qword[rsp], rax);
        g.mov(qword[rsp + 8], rcx);
        g.mov(qword[rsp + 16], rdx);
        g.mov(rdi, rbx);
        g.mov(rsi, rcx);
        g.mov(rdx, rax);
        g.mov(rax, reinterpret_cast<uint64_t>(&Cpu::jit_relink));
        g.call(rax);
        g.mov(r8d, eax);
        g.mov(rax, qword[rsp]);
        g.mov(rcx, qword[rsp + 8]);
        g.mov(rdx, qword[rsp + 16]);
        g.add(rsp, 32);
        g.test(r8b, r8b);
        g.jnz(again);
        g.L(fail);
        g.bt(edx, 9);
        g.jnc(fall);
        g.mov(qword[rbx + o_.next_pc], rax);
        g.or_(dword[rbx + o_.events], Cpu::kEvBranch);
        g.L(fall);
        g.mov(eax, edx);
        g.shr(eax, 16);
        g.jmp(exit_);
    }

    // link: r13 = the VA of the block to enter next (everything before it
    // counted), rcx = the Block::Link to follow, rdx = the address of the
    // direct jump to patch once that block is compiled (same page: it
    // stays valid as long as both blocks live, and they die together).
    g.align(16);
    link_ = g.getCurr();
    {
        Label miss, again, fail;
        g.cmp(r13, qword[rcx + offsetof(Block::Link, va)]);
        g.jne(miss);
        g.mov(r9, qword[rbx + o_.link_gen]);
        g.cmp(r9, qword[rcx + offsetof(Block::Link, gen)]);
        g.jne(miss);
        g.L(again);
        g.mov(r10, qword[rcx + offsetof(Block::Link, block)]);
        g.mov(rsi, qword[r10 + o_.block_head]);
        g.test(rsi, rsi);
        g.jz(fail);
        g.mov(rax, qword[r10 + o_.block_pa]);  // (the running block's page: no patch otherwise)
        g.xor_(rax, qword[r14 + o_.block_pa]);
        g.shr(rax, 12);
        g.jnz(fail);
        g.mov(rax, rsi);
        g.sub(rax, rdx);
        g.sub(rax, 5);
        g.mov(dword[rdx + 1], eax);  // jmp rel32
        g.jmp(rsi);
        g.L(miss);  // the block cache may know it: relink and try again
        g.sub(rsp, 16);  // (the stack stays 16-byte aligned for the call)
        g.mov(qword[rsp], rcx);
        g.mov(qword[rsp + 8], rdx);
        g.mov(rdi, rbx);
        g.mov(rsi, rcx);
        g.mov(rdx, r13);
        g.mov(rax, reinterpret_cast<uint64_t>(&Cpu::jit_relink));
        g.call(rax);
        g.mov(rcx, qword[rsp]);
        g.mov(rdx, qword[rsp + 8]);
        g.add(rsp, 16);
        g.test(al, al);
        g.jnz(again);
        g.L(fail);  // stop before it: the run loop finds it and remembers it in the link
        g.mov(qword[rbx + o_.jit_link], rcx);
        g.mov(eax, static_cast<uint32_t>(kUnstarted));
        g.jmp(exit_);
    }
    // call: a handler from compiled code. rsi = the DecodedInsn, edx = the
    // running block's length (for Cpu::insns_retired), r13 its VA (for
    // Cpu::pc_of); returns the handler's result in al. mem_call: the same
    // for an access that missed the fast table (rdi = its VA), which is
    // refilled (Cpu::jit_fill) when the handler went on.
    for (int mem = 0; mem < 2; ++mem) {
        g.align(16);
        (mem ? mem_call_ : call_) = g.getCurr();
        Label done;
        if (mem) g.mov(qword[rbx + o_.fill_va], rdi);
        g.mov(qword[rbx + o_.block_va], r13);
        g.mov(qword[rbx + o_.cur_len], rdx);
        g.sub(rsp, 8);  // (16-byte aligned for the calls)
        g.mov(rdi, rbx);
        g.call(qword[rsi + offsetof(DecodedInsn, handler)]);
        if (mem) {
            g.test(al, al);
            g.jnz(done);
            g.mov(rdi, rbx);
            g.mov(rax, reinterpret_cast<uint64_t>(&Cpu::jit_fill));
            g.call(rax);
            g.xor_(eax, eax);
            g.L(done);
        }
        g.add(rsp, 8);
        g.ret();
    }
    enter_ = reinterpret_cast<EnterFn>(arena_);
    used_ = code_start_ = (g.getSize() + 63) & ~size_t{63};
}

bool X64::compile(const Block& b) {
    if (size_ - used_ < kMinRoom) return false;
    uint8_t* at = arena_ + used_;
    const uint8_t* body = nullptr;
    try {
        Emitter e(*this, at, size_ - used_);
        e.block(b);
        body = e.body();
        if (e.hasUndefinedLabel()) {  // (a bug of the emitter: leave the block to the interpreter)
            b.hits = 0;
            return true;
        }
        used_ += (e.getSize() + 15) & ~size_t{15};
    } catch (const Xbyak::Error&) {
        return false;
    }
    b.jit_head = at;
    b.jit = body;
    ++blocks_;
    return true;
}

bool enabled_by_default() {
    const char* v = std::getenv("ARMVM_JIT");
    return !(v && std::strcmp(v, "0") == 0);
}

uint32_t hot_threshold(uint32_t normal) {
    const char* v = std::getenv("ARMVM_JIT");
    return v && std::strcmp(v, "eager") == 0 ? 1 : normal;
}

std::unique_ptr<Backend> make_backend(Cpu& cpu, size_t arena) {
    size_t size = std::max(arena ? arena : kArenaSize, 2 * kMinRoom);
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    return std::make_unique<X64>(cpu, static_cast<uint8_t*>(p), size);
}

}  // namespace armvm::jit
