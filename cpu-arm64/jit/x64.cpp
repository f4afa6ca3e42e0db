// The x86-64 backend: a block becomes host code. Runs of consecutive
// instructions whose semantics ir/sem.hpp writes once (data processing,
// branches, loads and stores, much of AdvSIMD and FP, DC ZVA, the hints
// and barriers that do nothing) become one ir::Run each, optimised and
// lowered (x64_ir.cpp); of the rest, MRS of the plain system registers
// (the system register table's fields) and the PAC hints of X30 (a direct
// call of pauth.cpp's function) are compiled here, and everything else
// calls the interpreter's handler. Guest registers live in the block's
// register cache of host registers; loads and stores check the TLB's fast
// table inline (mmu::FastEntry: one compare) and reach RAM directly, a miss
// calls the handler; NZCV comes from the host's ALU, lazily. A block jumps
// straight to the next one's head when that is in the same page (a direct
// link, patched in by the link stub the first time; the head checks the
// budget and what needs the run loop); other exits chain through
// Block::links via the shared chain stub.
// (The shared declarations and the host registers: x64.hpp; the shared
// stubs: x64_stubs.cpp.)
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>

#include "base/report.hpp"
#include "cpu-arm64/jit/x64.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm::jit {

namespace {
constexpr size_t kArenaSize = 64u << 20;
}  // namespace

bool Emitter::generic(size_t k, const DecodedInsn& d) {
    using a64::bits;
    uint32_t i = d.insn;
    if (d.handler == &exec_fetch_abort) return false;
    unsigned rd = bits(i, 4, 0);
    switch (a64::decode(i)) {
    case a64::Op::PAC_HINT_SP: {  // PACIASP, AUTIASP, ... (every function's entry and return in Linux)
        if (!pauth_) return true;  // (NOPs without FEAT_PAuth)
        // pauth.cpp's function called directly: no handler, the register
        // cache kept (its caller-saved registers pushed round the call:
        // four, so the stack stays 16-byte aligned).
        unsigned op2 = bits(i, 7, 5);
        ldx(rsi, 30);
        if (op2 & 1)
            ldxsp(rdx, 31);
        else
            xor_(edx, edx);
        mov(rdi, rbx);
        push(r8);
        push(r9);
        push(r10);
        push(r11);
        mov(rax, reinterpret_cast<uint64_t>(a64::pac_lr_function(op2)));
        call(rax);
        pop(r11);
        pop(r10);
        pop(r9);
        pop(r8);
        stx(30, rax);
        return true;
    }
    case a64::Op::PAC_HINT_1716:
    case a64::Op::XPACLRI:
        return !pauth_;  // (NOPs without FEAT_PAuth; else the handler)
    case a64::Op::MRS: {
        // The registers whose read is a plain field of the state (the
        // system register table says which: TLS, Linux's current and
        // per-CPU offset, the exception registers, NZCV): a load, behind
        // the EL and PSTATE.SP checks the table's access check makes (the
        // handler raises UNDEFINED where they fail).
        PlainRead r;
        if (rd == 31 || !plain_read(bits(i, 20, 5), r)) return false;
        Slow* s = nullptr;
        if (r.guard != PlainRead::Any) {
            s = &slow_path(k);
            s->mem = 0;
            cmp(dword[rbx + o.el], 0);
            je(s->at);
            if (r.guard == PlainRead::SpSel) {
                cmp(byte[rbx + o.spsel], 0);
                je(s->at);
            }
        }
        if (o.state + r.field == o.nzcv) need_flags();  // (NZCV: the lazy flags made concrete first)
        r.bytes == 4 ? mov(eax, dword[rbx + o.state + r.field]) : mov(rax, qword[rbx + o.state + r.field]);
        stx(rd, rax);
        if (s) back(*s);
        return true;
    }
    default: return false;
    }
}

void Emitter::chain(unsigned link, uint32_t retire, unsigned branches, bool as_branch, size_t k) {
    mov(ecx, link_offset(link));
    chain_rcx(retire, branches, as_branch, k);
}

void Emitter::chain_rcx(uint32_t retire, unsigned branches, bool as_branch, size_t k) {
    writeback(cache_);  // (rax, the next VA, and rcx kept)
    chained_ = true;
    mov(edx, retire | branches << 8 | (as_branch ? 1u << 15 : 0) |
                 (static_cast<uint32_t>(as_branch ? k : b_->n) << 16));
    jmp(tail_chain_);
}

void Emitter::goto_va(int64_t off, unsigned link, uint32_t retire, unsigned branches, bool as_branch, size_t k) {
    uint64_t to = b_->pa + static_cast<uint64_t>(off);
    // (a taken branch before the block's end leaves as one at its end)
    if (nochain_ || !(b_->plain_end || (as_branch && k + 1 < b_->n)) || (to >> 12) != (b_->pa >> 12)) {
        lea(rax, ptr[r13 + static_cast<int32_t>(off)]);
        return chain(link, retire, branches, as_branch, k);
    }
    // Everything the run loop would count, counted here; then straight to
    // the next block's head once the link stub has patched the jump.
    if (off == 0) return loop_back(retire, branches, link);
    writeback(cache_);
    sub(r12, static_cast<int32_t>(retire));  // (insn_count follows: Cpu::jit_insn_end_)
    if (branches) add(qword[rbx + o.branch_count], static_cast<int32_t>(branches));
    lea(r13, ptr[r13 + static_cast<int32_t>(off)]);
    Direct& d = direct_.emplace_back();
    d.site = getCurr();
    d.link = link;
    jmp(d.at);  // (always rel32: the link stub patches it)
}

// A branch to the block's own start: the head's checks (exit request,
// IRQ line and mailbox, budget) made here, and round again at loop_top_
// with the registers the cache holds there; anything the checks find
// leaves as before, through the link to the head (whose checks stop it).
void Emitter::loop_back(uint32_t retire, unsigned branches, unsigned link) {
    if (!loop_seen_) {
        loop_seen_ = true;
        loop_state_ = cache_;
        loop_called_ = called_;
    }
    Label out;
    sub(r12, static_cast<int32_t>(retire));  // (insn_count follows: Cpu::jit_insn_end_)
    if (branches) add(qword[rbx + o.branch_count], static_cast<int32_t>(branches));
    mov(rax, qword[rbx + o.exit_req]);
    cmp(byte[rax], 0);
    jne(out);
    cmp(word[rbx + o.irq], 0);
    jne(out);
    cmp(r12, static_cast<int32_t>(b_->n));
    jl(out);
    // The cache as loop_top_ has it: what differs is written back first,
    // then loaded (a guest register may move between host registers).
    for (int i = 0; i < kCached; ++i)
        if (cache_.guest[i] != loop_pre_.guest[i] && cache_.guest[i] >= 0 && cache_.dirty[i])
            store_home(cache_.guest[i], creg(i));
    for (int i = 0; i < kCached; ++i)
        if (cache_.guest[i] != loop_pre_.guest[i] && loop_pre_.guest[i] >= 0) load_home(creg(i), loop_pre_.guest[i]);
    jmp(loop_top_);
    L(out);
    writeback(cache_);
    Direct& d = direct_.emplace_back();
    d.site = getCurr();
    d.link = link;
    jmp(d.at);  // (always rel32: the link stub patches it)
}

void Emitter::block(const Block& b, const CacheState* preload) {
    b_ = &b;
    run_.code.clear();  // (a compile that threw may have left a run)
    run_insns_.clear();
    size_t n = b.n;
    exits_.resize(n + 1);
    // The head (Block::jit_head), for direct links: r13 is this block's VA
    // and r12 the instructions left before it. What needs the run loop
    // first, then (Block::jit_head_fast, where forward links enter) the
    // budget.
    Label body, fast, unstarted, irq;
    mov(rax, qword[rbx + o.exit_req]);
    cmp(byte[rax], 0);
    jne(unstarted);
    cmp(word[rbx + o.irq], 0);  // (and the mailbox)
    jne(irq);
    L(fast);
    fast_ = getCurr();
    cmp(r12, static_cast<int32_t>(n));
    jl(unstarted);
    L(body);
    body_ = getCurr();  // (what handlers read of the block is stored before each call, r14 at each exit)
    if (bti_) {
        // PSTATE.BTYPE after a BR or BLR (FEAT_BTI): a BTYPE the first
        // instruction accepts (Block::bti_ok) becomes 0 (here: the
        // indirect branches' chain enters at the body); another goes to
        // the run loop, whose Cpu::bti_check raises the exception.
        Label zero;
        movzx(eax, byte[rbx + o.btype]);
        test(eax, eax);
        jz(zero);
        mov(ecx, static_cast<uint32_t>(b.bti_ok));
        bt(ecx, eax);
        jnc(unstarted);
        mov(byte[rbx + o.btype], 0);
        L(zero);
    }
    if (preload) {  // (all dirty: every way out writes them back, as the loop may have changed them)
        loop_pre_ = *preload;
        for (int i = 0; i < kCached; ++i) {
            loop_pre_.dirty[i] = loop_pre_.guest[i] >= 0;
            if (loop_pre_.guest[i] >= 0) load_home(creg(i), loop_pre_.guest[i]);
        }
        cache_ = loop_pre_;
    }
    L(loop_top_);
    bool ended = false;  // the code so far always leaves the block
    for (size_t k = 0; k < n && !ended; ++k) {
        const DecodedInsn& d = b.insns[k];
        bool fused = fused_compare(d.handler);
        int64_t pcoff = d.pcoff;
        if (captured_for_ != k) captured_ = -1;  // (host flags from the entry before only)
        if (ir_take(k, d)) {  // (emitted with the run it ends up in)
            if (ir_ends_) {  // a branch: the run's last
                ir_flush();
                ended = ir_ended_;
                continue;
            }
            if (!fused) continue;
            // The compare of a compare and B.cond ends the run; the B.cond
            // takes its condition from the host flags (both ways are
            // "branches").
            ir_flush();
            Label taken;
            jump_if(d.cond2, taken);
            goto_va(pcoff + 8, 0, static_cast<uint32_t>(n + 1), b.branches, true, k);
            L(taken);
            goto_va(pcoff + 4 + d.imm2, d.imm2 == 4 ? 0 : 1, static_cast<uint32_t>(n + 1), b.branches, true, k);
            ended = true;
            continue;
        }
        ir_flush();
        if (!generic(k, d)) call_handler(k);
    }
    ir_flush();
    if (!ended) {  // ran to the end (or a B.cond/CBZ not taken)
        goto_va(static_cast<int64_t>(4 * n), 0, static_cast<uint32_t>(n), b.branches, false, n);
    }
    for (auto& s : slow_) {  // (rdi: the VA that missed the fast table)
        L(s.at);
        if (s.va >= 0 && s.va != rdi.getIdx()) mov(rdi, Reg64(s.va));
        writeback(s.at_state);
        call_handler(s.k, false, s.mem);
        reload(s.back_state);
        jmp(s.back);
    }
    for (auto& d : direct_) {
        L(d.at);
        mov(ecx, link_offset(d.link));
        lea(rdx, ptr[rip + static_cast<const void*>(d.site)]);
        jmp(tail_link_);
    }
    for (size_t k = 0; k <= n; ++k)
        if (exits_[k].used()) {
            L(exits_[k]);
            mov(eax, static_cast<uint32_t>(k));
            jmp(tail_exit_);
        }
    // The tails the block's ways out share: r14 = the running block (the
    // stubs find its links and the entry to stop at through it; the link
    // stub patches only in its page).
    bool exits = std::any_of(exits_.begin(), exits_.end(), [](const Label& e) { return e.used(); });
    for (auto [tail, stub, used] : {std::tuple{&tail_chain_, chain_, chained_}, {&tail_link_, link_, !direct_.empty()},
                                    {&tail_exit_, exit_, exits}}) {
        if (!used) continue;
        L(*tail);
        mov(r14, reinterpret_cast<uint64_t>(b_));
        jmp(stub);
    }
    L(irq);  // an IRQ the CPU masks does not stop it
    cmp(byte[rbx + o.mailbox], 0);
    jne(unstarted);
    test(dword[rbx + o.daif], 0x80);
    jnz(fast);
    L(unstarted);
    mov(eax, static_cast<uint32_t>(kUnstarted));
    jmp(exit_);
}

X64::~X64() {
    if (std::getenv("ARMVM_STATS"))  // for benchmarks: the code space a run needed
        report_info("stats: JIT " + std::to_string(blocks_) + " blocks compiled, " +
                    std::to_string((total_ + (used_ - code_start_)) >> 10) + " KiB of code, " +
                    std::to_string(resets_) + " code space resets, " + std::to_string(compile_ns_ / 1000000) +
                    " ms compiling; " + std::to_string(c_.jit_entries_) +
                    " entries to compiled code, " + std::to_string(c_.interp_blocks_) + " blocks interpreted (" +
                    std::to_string(c_.interp_cold_) + " not compiled, " + std::to_string(c_.interp_room_) +
                    " past the budget)" +
                    (c_.pac_computed_ ? "; " + std::to_string(c_.pac_computed_) + " PACs computed, " +
                                            std::to_string(c_.pac_cached_) + " from the cache"
                                      : std::string()));
    munmap(arena_, size_);
}

bool X64::compile(const Block& b) {
    if (size_ - used_ < kMinRoom) return false;
    struct Timed {  // (ARMVM_STATS: the time compiling takes)
        uint64_t& total;
        std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
        ~Timed() {
            total += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::steady_clock::now() - t0).count());
        }
    } timed{compile_ns_};
    uint8_t* at = arena_ + used_;
    const uint8_t *body = nullptr, *fast = nullptr;
    size_t size = 0;
    try {
        Emitter e(*this, at, size_ - used_);
        e.block(b);
        std::optional<Emitter> again;  // a loop in the block: again, its registers kept round it
        if (const Emitter::CacheState* loop = e.self_loop();
            loop && std::any_of(std::begin(loop->guest), std::end(loop->guest), [](int g) { return g >= 0; })) {
            Emitter::CacheState pre = *loop;
            again.emplace(*this, at, size_ - used_);
            again->block(b, &pre);
        }
        Emitter& done = again ? *again : e;
        body = done.body();
        fast = done.fast_head();
        if (done.unbound()) {  // (a bug of the emitter: leave the block to the interpreter)
            b.hits = 0;
            return true;
        }
        size = done.getSize();
        used_ += (size + 15) & ~size_t{15};
    } catch (const Xbyak::Error&) {
        return false;
    }
    b.jit_head = at;
    b.jit_head_fast = fast;
    b.jit = body;
    b.jit_size = static_cast<uint32_t>(size);
    ++blocks_;
    return true;
}

bool enabled_by_default() {
    const char* v = std::getenv("ARMVM_JIT");
    return !(v && std::strcmp(v, "0") == 0);
}

uint32_t hot_threshold(uint32_t normal) {
    const char* v = std::getenv("ARMVM_JIT");
    if (v && std::strcmp(v, "eager") == 0) return 1;
    if (v && std::strncmp(v, "hot=", 4) == 0 && std::atoi(v + 4) > 0) return static_cast<uint32_t>(std::atoi(v + 4));
    return normal;
}

std::unique_ptr<Backend> make_backend(Cpu& cpu, size_t arena) {
    size_t size = std::max(arena ? arena : kArenaSize, 2 * kMinRoom);
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    return std::make_unique<X64>(cpu, static_cast<uint8_t*>(p), size);
}

}  // namespace armvm::jit
