// The x86-64 backend's shared code, emitted once at the start of the code
// space: the entry trampoline, the exit, chain and link stubs every block
// leaves through, the stubs compiled code calls handlers through, and the
// lazy-flags stub; and the constant tables compiled code reads (r15).
// (The block emitter: x64.cpp.)
#include <string>

#include "base/log.hpp"
#include "cpu-arm64/disas/disas.hpp"
#include "cpu-arm64/jit/x64.hpp"

namespace armvm::jit {

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
        r.low_single = {0xffffffffull, 0};
        return r;
    }();
    return t;
}

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

    // flags: s.nzcv = NZCV from its lazy form (Cpu::jit_flags_kind_), which
    // is then cleared; clobbers rax, rcx and the host flags only.
    g.align(16);
    flags_ = g.getCurr();
    {
        Label done, sub32, add, add32, logic32, sub_tab, add_tab;
        Label host, host_sub;
        g.mov(eax, dword[rbx + o_.flags_kind]);
        g.test(eax, eax);
        g.jz(done);
        g.push(rdx);
        g.cmp(eax, kFlagsHostAdd);
        g.jae(host);
        g.mov(rcx, qword[rbx + o_.flags_res]);
        g.mov(rdx, qword[rbx + o_.flags_b]);
        // The first operand is the result undone; the operation again sets
        // the host flags it set.
        auto redo = [&](bool w, bool sub, Label& tab) {
            redo_host_flags(g, w, sub);
            g.jmp(tab);
        };
        g.cmp(eax, kFlagsSub32);
        g.ja(add);
        g.je(sub32);
        redo(true, true, sub_tab);
        g.L(sub32);
        redo(false, true, sub_tab);
        g.L(add);
        g.cmp(eax, kFlagsAdd32);
        g.ja(logic32);
        g.je(add32);
        redo(true, false, add_tab);
        g.L(add32);
        redo(false, false, add_tab);
        g.L(logic32);
        g.xor_(edx, edx);  // (an AND's result: x - 0 + 0 sets N and Z and clears C and V, as TEST)
        g.cmp(eax, kFlagsLogic32);
        g.je(add32);
        redo(true, false, add_tab);
        for (int sub = 1; sub >= 0; --sub) {
            g.L(sub ? sub_tab : add_tab);
            store_host_nzcv(g, o_.nzcv, sub);
            g.mov(dword[rbx + o_.flags_kind], static_cast<uint32_t>(kFlagsStored));
            g.pop(rdx);
            g.ret();
        }
        g.L(host);  // (RFLAGS as they were)
        g.cmp(eax, kFlagsHostSub);
        g.je(host_sub);
        g.push(qword[rbx + o_.flags_res]);
        g.popf();
        g.jmp(add_tab);
        g.L(host_sub);
        g.push(qword[rbx + o_.flags_res]);
        g.popf();
        g.jmp(sub_tab);
        g.L(done);
        g.ret();
    }

    // exit: eax = the stopping entry of the running block
    g.align(16);
    exit_ = g.getCurr();
    g.mov(r8d, eax);
    g.call(flags_);
    g.mov(eax, r8d);
    g.mov(rcx, qword[rbx + o_.insn_end]);
    g.sub(rcx, r12);
    g.mov(qword[rbx + o_.insn_count], rcx);
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

    // chain: rax = the next VA, rcx = the Block::Link to follow (its
    // offset in the running block, r14), edx =
    // instructions the running block retires [7:0] | branches among them
    // [14:8] | it branched [15] | the entry to stop at otherwise [31:16].
    g.align(16);
    chain_ = g.getCurr();
    {
        Label miss, again, fail, irq, irq_back, fall, have_block, relink;
        g.add(rcx, r14);
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
        g.cmp(byte[r9], 0);
        g.jne(fail);
        g.cmp(word[rbx + o_.irq], 0);  // (and the mailbox)
        g.jne(irq);
        g.L(irq_back);
        g.mov(r12, r11);
        g.mov(r8d, edx);  // (not movzx r8d, dh: no AH-DH with a REX prefix)
        g.shr(r8d, 8);
        g.and_(r8d, 0x7f);
        g.add(qword[rbx + o_.branch_count], r8);
        g.mov(r13, rax);
        g.mov(r14, r10);
        // (the block left may have changed the EL or PSTATE.SP: ERET, MSR SPSel)
        g.movzx(edi, byte[rbx + o_.spsel]);
        g.and_(edi, dword[rbx + o_.el]);
        g.lea(rdi, ptr[rbx + rdi * 8 + o_.sp0]);
        g.mov(qword[rbx + o_.jit_sp], rdi);
        g.jmp(rsi);
        g.L(irq);  // an IRQ the CPU masks does not stop it
        g.cmp(byte[rbx + o_.mailbox], 0);
        g.jne(fail);
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
        chain_exit_ = g.getCurr();
        g.bt(edx, 15);
        g.jnc(fall);
        g.mov(qword[rbx + o_.next_pc], rax);
        g.or_(dword[rbx + o_.events], Cpu::kEvBranch);
        g.L(fall);
        g.mov(eax, edx);
        g.shr(eax, 16);
        g.jmp(exit_);
    }

    // link: r13 = the VA of the block to enter next (everything before it
    // counted), rcx = the Block::Link to follow (its offset in the running
    // block, r14), rdx = the address of the
    // direct jump to patch once that block is compiled (same page: it
    // stays valid as long as both blocks live, and they die together).
    g.align(16);
    link_ = g.getCurr();
    {
        Label miss, again, fail;
        g.add(rcx, r14);
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
        Label back;  // a link forward skips the run loop's checks (Block::jit_head_fast)
        g.mov(rax, qword[r10 + o_.block_pa]);
        g.cmp(rax, qword[r14 + o_.block_pa]);
        g.jbe(back);
        g.mov(rsi, qword[r10 + o_.block_head_fast]);
        g.L(back);
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
    // call: a handler from compiled code. rsi = the DecodedInsn, rdx = the
    // running block's length | the branches before its last entry << 32
    // (Cpu::insns_retired, branches_retired), r13 its VA (for
    // Cpu::pc_of); returns the handler's result in al. mem_call: the same
    // for an access that missed the fast table (rdi = its VA), which is
    // refilled (Cpu::jit_fill) when the handler went on; the second
    // mem_call refills an unprivileged access's page (Cpu::jit_fill_user).
    // NZCV may be lazy across them (their handlers neither read nor write
    // it; exits store it); call_flags stores it first, for the handlers of
    // instructions that read or write it (Emitter::touches_nzcv).
    for (int v = 0; v < 4; ++v) {
        int mem = v == 1 || v == 2 ? v : 0;
        g.align(16);
        (v == 3 ? call_flags_ : mem ? mem_call_[mem - 1] : call_) = g.getCurr();
        Label done;
        if (mem) g.mov(qword[rbx + o_.fill_va], rdi);
        g.mov(qword[rbx + o_.block_va], r13);
        g.mov(qword[rbx + o_.cur_len], rdx);
        g.sub(rsp, 8);  // (16-byte aligned for the calls)
        if (v == 3) {
            Label stored;
            g.cmp(dword[rbx + o_.flags_kind], 0);  // (the handler sees NZCV in s.nzcv)
            g.je(stored);
            g.call(flags_);
            g.L(stored);
        }
        g.mov(rax, qword[rbx + o_.insn_end]);  // (handlers see insn_count)
        g.sub(rax, r12);
        g.mov(qword[rbx + o_.insn_count], rax);
        g.mov(rdi, rbx);
        g.call(qword[rsi + offsetof(DecodedInsn, handler)]);
        if (mem) {
            g.test(al, al);
            g.jnz(done);
            g.cmp(qword[rbx + o_.fill_va], static_cast<int>(Cpu::kNoFill));  // (a device's page: none)
            g.je(done);
            g.mov(rdi, rbx);
            g.mov(rax, reinterpret_cast<uint64_t>(mem == 1 ? &Cpu::jit_fill : &Cpu::jit_fill_user));
            g.call(rax);
            g.xor_(eax, eax);
            g.L(done);
        }
        g.add(rsp, 8);
        g.ret();
    }
    enter_ = reinterpret_cast<EnterFn>(arena_);
    used_ = code_start_ = (g.getSize() + 63) & ~size_t{63};
    if (qlog::on(qlog::OutAsm))  // (the shared entry, exit and call stubs, as QEMU logs its prologue)
        qlog::write("PROLOGUE: [size=" + std::to_string(g.getSize()) + "]\n" + disas_host(arena_, g.getSize()) + "\n");
}

}  // namespace armvm::jit
