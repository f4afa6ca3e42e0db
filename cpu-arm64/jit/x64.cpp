// The x86-64 backend: a block's specialised instructions (translate/
// fast.cpp's forms) become inline host code — guest registers stay in
// CpuState, loads and stores check the software TLB inline and touch RAM
// directly, flags are computed by the host's ALU — and every other
// instruction, and every access the inline path does not take, calls the
// interpreter's handler for it. Blocks chain through Block::links.
//
// Host registers while compiled code runs:
//   rbx  the Cpu               r12  instructions left (signed)
//   r13  VA of the running block   r14  the running Block
//   r15  the constant tables (flags, conditions)
// rax, rcx, rdx, rsi, rdi, r8, r9 are scratch; handlers are called with the
// stack 16-byte aligned.
#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <xbyak/xbyak.h>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/jit/jit.hpp"
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
        return r;
    }();
    return t;
}

constexpr size_t kArenaSize = 64u << 20;
constexpr size_t kMinRoom = 64u << 10;  // a block's code is far smaller

}  // namespace

class X64 final : public Backend {
public:
    explicit X64(Cpu& c, uint8_t* arena) : c_(c), arena_(arena) {
        auto at = [&](const void* p) {
            return static_cast<int32_t>(reinterpret_cast<const char*>(p) - reinterpret_cast<const char*>(&c));
        };
        o_.x = at(&c.s.x[0]);
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
        o_.tlb = at(&c.tlb_.slot(0));
        o_.need_r = at(&c.need_r_);
        o_.need_w = at(&c.need_w_);
        o_.asid = at(&c.asid_);
        o_.align = at(&c.align_mask_);
        o_.mailbox = at(&c.mailbox_pending_);
        o_.irq = at(&c.irq_line);
        o_.exit_req = at(&c.exit_request);
        o_.jit_block = at(&c.jit_block_);
        Block probe;
        o_.block_jit = static_cast<int32_t>(reinterpret_cast<char*>(&probe.jit) - reinterpret_cast<char*>(&probe));
        o_.block_n = static_cast<int32_t>(reinterpret_cast<char*>(&probe.n) - reinterpret_cast<char*>(&probe));
        emit_trampoline();
    }
    ~X64() override { munmap(arena_, kArenaSize); }

    bool compile(const Block& b) override;
    Result enter(const Block& b, uint64_t va, int64_t limit) override {
        return enter_(&c_, b.jit, limit, va, &b);
    }
    void reset() override { used_ = code_start_; }

    struct Offsets {
        int32_t x, sp0, sp1, nzcv, el, spsel, daif, events, next_pc, block_va, cur_len, insn_count, branch_count,
            link_gen, tlb, need_r, need_w, asid, align, mailbox, irq, exit_req, jit_block, block_jit, block_n;
    };
    const Offsets& off() const { return o_; }
    const uint8_t* exit_stub() const { return exit_; }
    const std::atomic<uint64_t>* code_bits() const { return c_.cluster_->bits(); }
    static constexpr uint32_t kEvBranch = Cpu::kEvBranch;

private:
    void emit_trampoline();
    using EnterFn = Result (*)(Cpu*, const void* code, int64_t limit, uint64_t va, const Block* b);
    Cpu& c_;
    uint8_t* arena_;
    size_t used_ = 0, code_start_ = 0;
    Offsets o_{};
    EnterFn enter_ = nullptr;
    const uint8_t* exit_ = nullptr;
};

namespace {

using namespace Xbyak::util;
using Xbyak::Label;
using Xbyak::Reg64;
using K = FastForm::Kind;

class Emitter : public Xbyak::CodeGenerator {
public:
    Emitter(const X64& j, uint8_t* at, size_t room)
        : CodeGenerator(room, at), o(j.off()), exit_(j.exit_stub()), bits_(j.code_bits()) {
        setDefaultJmpNEAR(true);
    }

    void block(const Block& b);

private:
    const X64::Offsets& o;
    const uint8_t* exit_;
    const std::atomic<uint64_t>* bits_;
    const Block* b_ = nullptr;
    // Out-of-line pieces, emitted after the block's straight-line code.
    struct Slow {
        Label at, back;
        size_t k;
    };
    std::vector<std::unique_ptr<Slow>> slow_;
    std::vector<std::unique_ptr<Label>> exits_;  // exits_[k]: stop at entry k

    Label& exit_at(size_t k) {
        if (!exits_[k]) exits_[k] = std::make_unique<Label>();
        return *exits_[k];
    }

    Xbyak::Address X(unsigned r) { return qword[rbx + o.x + 8 * static_cast<int>(r)]; }
    void ldx(const Reg64& d, unsigned r) {
        if (r == 31)
            xor_(d.cvt32(), d.cvt32());
        else
            mov(d, X(r));
    }
    void stx(unsigned r, const Reg64& v) {
        if (r != 31) mov(X(r), v);
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
        if (r != 31) return mov(d, X(r));
        sp_ptr();
        mov(d, qword[rdx]);
    }
    void stxsp(unsigned r, const Reg64& v) {  // v: not rcx or rdx
        if (r != 31) return mov(X(r), v);
        sp_ptr();
        mov(qword[rdx], v);
    }
    // NZCV from the host flags just set; clobbers rax, rcx.
    void flags(bool sub) {
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
        mov(eax, dword[rbx + o.nzcv]);
        shr(eax, 28);
        mov(ecx, dword[r15 + static_cast<int>(offsetof(Tables, cond) + 4 * cond)]);
        bt(ecx, eax);
        jc(taken);
    }
    // The inline access check: rdi = VA; on success rsi = its host
    // address (rdi is clobbered); anything but a plain RAM access the TLB
    // allows jumps to `slow`. Clobbers rax, rcx, rdx.
    void mem_fast(unsigned span, unsigned align, bool write, Label& slow) {
        static_assert(sizeof(mmu::TlbEntry) == 40, "the index below multiplies by 5 * 8");
        mov(rax, rdi);
        shr(rax, 12);
        and_(eax, mmu::Tlb::kEntries - 1);
        lea(rax, ptr[rax + rax * 4]);
        lea(rdx, ptr[rbx + rax * 8 + o.tlb]);
        mov(rcx, rdi);
        and_(rcx, -4096);
        cmp(rcx, qword[rdx + offsetof(mmu::TlbEntry, tag)]);
        jne(slow);
        movzx(ecx, byte[rbx + (write ? o.need_w : o.need_r)]);
        test(byte[rdx + offsetof(mmu::TlbEntry, perm)], cl);
        jz(slow);
        Label asid_ok;
        movzx(ecx, word[rdx + offsetof(mmu::TlbEntry, asid)]);
        cmp(cx, word[rbx + o.asid]);
        je(asid_ok);
        cmp(byte[rdx + offsetof(mmu::TlbEntry, global)], 0);
        je(slow);
        L(asid_ok);
        mov(rsi, qword[rdx + offsetof(mmu::TlbEntry, host)]);
        test(rsi, rsi);
        jz(slow);
        if (span > 1) {
            mov(ecx, edi);
            and_(ecx, 0xfff);
            cmp(ecx, 0x1000 - span);
            ja(slow);
        }
        if (align > 1) {
            Label aligned;
            test(edi, align - 1);
            jz(aligned);
            cmp(qword[rbx + o.align], 0);
            jne(slow);
            L(aligned);
        }
        if (write) {  // a page holding decoded code: the handler invalidates
            mov(ecx, dword[rdx + offsetof(mmu::TlbEntry, ram_page)]);
            mov(eax, ecx);
            shr(eax, 6);
            mov(rdx, reinterpret_cast<uint64_t>(bits_));
            mov(rax, qword[rdx + rax * 8]);
            bt(rax, rcx);
            jc(slow);
        }
        and_(edi, 0xfff);
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
    void call_handler(size_t k) {
        const DecodedInsn& d = b_->insns[k];
        mov(rdi, rbx);
        mov(rsi, reinterpret_cast<uint64_t>(&d));
        mov(rax, reinterpret_cast<uint64_t>(d.handler));
        call(rax);
        test(al, al);
        jnz(exit_at(k));
    }
    Slow& slow_path(size_t k) {
        slow_.push_back(std::make_unique<Slow>());
        slow_.back()->k = k;
        return *slow_.back();
    }

    void alu(const DecodedInsn& d, const FastForm& f);
    void mem(size_t k, const DecodedInsn& d, const FastForm& f);
    // Leaves the block for the one at the VA in rax through links[link]
    // after `retire` instructions; `as_branch`: entry k branched (events
    // kEvBranch, next_pc), else the block ran to its end.
    void chain(unsigned link, uint32_t retire, bool count_branch, bool as_branch, size_t k);
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
            flags(f.sub);
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
        if (f.flags) flags(f.sub);
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
            flags(false);
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
    Slow& s = slow_path(k);
    unsigned size = f.size;
    if (f.kind == K::PairX) {
        // LDP/STP of X registers: both halves in one page, or the handler.
        ldxsp(rdi, d.rn);
        if (f.opc != 2) mov(r8, rdi);
        if (f.opc != 1) add(rdi, static_cast<int32_t>(d.imm));
        mem_fast(16, 8, !f.load, s.at);
        if (f.load) {
            mov(rax, qword[rsi]);
            mov(r9, qword[rsi + 8]);
            stx(d.rd, rax);
            stx(d.rm, r9);
        } else {
            ldx(rax, d.rd);
            ldx(r9, d.rm);
            mov(qword[rsi], rax);
            mov(qword[rsi + 8], r9);
        }
        if (f.opc != 2) {
            add(r8, static_cast<int32_t>(d.imm));
            stxsp(d.rn, r8);
        }
        L(s.back);
        return;
    }
    ldxsp(rdi, d.rn);
    if (f.kind == K::LdstWb) {
        mov(r8, rdi);
        if (!f.post) add(rdi, static_cast<int32_t>(d.imm));
    } else if (f.kind == K::LdstReg) {
        if (d.rm != 31) {
            mov(rax, X(d.rm));
            if (d.aux) shl(rax, d.aux);
            add(rdi, rax);
        }
    } else if (d.imm) {
        add(rdi, static_cast<int32_t>(d.imm));
    }
    mem_fast(size, size, !f.load, s.at);
    if (f.load) {
        load_host(rax, size);
        stx(d.rd, rax);
    } else {
        ldx(rax, d.rd);
        store_host(rax, size);
    }
    if (f.kind == K::LdstWb) {
        add(r8, static_cast<int32_t>(d.imm));
        stxsp(d.rn, r8);
    }
    L(s.back);
}

void Emitter::chain(unsigned link, uint32_t retire, bool count_branch, bool as_branch, size_t k) {
    Label fail, irq, irq_back, no_req;
    mov(rcx, reinterpret_cast<uint64_t>(&b_->links[link]));
    cmp(rax, qword[rcx + offsetof(Block::Link, va)]);
    jne(fail);
    mov(rdx, qword[rbx + o.link_gen]);
    cmp(rdx, qword[rcx + offsetof(Block::Link, gen)]);
    jne(fail);
    mov(rdx, qword[rcx + offsetof(Block::Link, block)]);
    mov(rsi, qword[rdx + o.block_jit]);
    test(rsi, rsi);
    jz(fail);
    mov(edi, dword[rdx + o.block_n]);
    lea(r8, ptr[r12 - static_cast<int32_t>(retire)]);
    cmp(r8, rdi);
    jl(fail);
    mov(r9, qword[rbx + o.exit_req]);
    test(r9, r9);
    jz(no_req);
    cmp(byte[r9], 0);
    jne(fail);
    L(no_req);
    cmp(byte[rbx + o.mailbox], 0);
    jne(fail);
    cmp(byte[rbx + o.irq], 0);
    jne(irq);
    L(irq_back);
    mov(r12, r8);
    add(qword[rbx + o.insn_count], static_cast<int32_t>(retire));
    if (count_branch) inc(qword[rbx + o.branch_count]);
    mov(r13, rax);
    mov(r14, rdx);
    jmp(rsi);
    L(irq);  // an IRQ the CPU masks does not stop it
    test(dword[rbx + o.daif], 0x80);
    jnz(irq_back);
    L(fail);
    if (as_branch) {
        mov(qword[rbx + o.next_pc], rax);
        or_(dword[rbx + o.events], X64::kEvBranch);
    }
    mov(eax, static_cast<uint32_t>(as_branch ? k : b_->n));
    jmp(exit_);
}

void Emitter::block(const Block& b) {
    b_ = &b;
    size_t n = b.n;
    exits_.resize(n + 1);
    mov(qword[rbx + o.block_va], r13);
    mov(qword[rbx + o.cur_len], static_cast<uint32_t>(n));
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
                lea(rax, ptr[r13 + static_cast<int32_t>(pcoff + 8)]);
                chain(0, static_cast<uint32_t>(n + 1), true, true, k);
                L(taken);
                lea(rax, ptr[r13 + static_cast<int32_t>(pcoff + 4 + d.imm2)]);
                chain(d.imm2 == 4 ? 0 : 1, static_cast<uint32_t>(n + 1), true, true, k);
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
                    f.is64 ? cmp(X(d.rd), 0) : cmp(dword[rbx + o.x + 8 * d.rd], 0);
                    f.opc ? jne(taken) : je(taken);
                }
            }
            jmp(not_taken);
            L(taken);
            lea(rax, ptr[r13 + static_cast<int32_t>(pcoff + d.imm)]);
            chain(d.imm == 4 ? 0 : 1, static_cast<uint32_t>(n), true, true, k);
            L(not_taken);
            break;  // (the last entry: the block's end follows)
        }
        case K::B:
        case K::Bl:
            if (f.kind == K::Bl) {
                lea(rax, ptr[r13 + static_cast<int32_t>(pcoff + 4)]);
                mov(X(30), rax);
            }
            lea(rax, ptr[r13 + static_cast<int32_t>(pcoff + d.imm)]);
            chain(d.imm == 4 ? 0 : 1, static_cast<uint32_t>(n), true, true, k);
            ended = true;
            break;
        case K::Ret: {
            Label next;
            ldx(rax, d.rn);
            lea(rcx, ptr[r13 + static_cast<int32_t>(pcoff + 4)]);
            cmp(rax, rcx);
            je(next);
            chain(1, static_cast<uint32_t>(n), true, true, k);
            L(next);
            chain(0, static_cast<uint32_t>(n), true, true, k);
            ended = true;
            break;
        }
        case K::LdstOff:
        case K::LdstWb:
        case K::LdstReg:
        case K::PairX:
            mem(k, d, f);
            break;
        default:
            call_handler(k);
            break;
        }
    }
    if (!ended) {  // ran to the end (or a B.cond/CBZ not taken)
        lea(rax, ptr[r13 + static_cast<int32_t>(4 * n)]);
        chain(0, static_cast<uint32_t>(n), b.ends_in_branch, false, n);
    }
    for (auto& s : slow_) {
        L(s->at);
        call_handler(s->k);
        jmp(s->back);
    }
    for (size_t k = 0; k <= n; ++k)
        if (exits_[k]) {
            L(*exits_[k]);
            mov(eax, static_cast<uint32_t>(k));
            jmp(exit_);
        }
}

}  // namespace

void X64::emit_trampoline() {
    Xbyak::CodeGenerator g(kMinRoom, arena_);
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
    enter_ = reinterpret_cast<EnterFn>(arena_);
    used_ = code_start_ = (g.getSize() + 63) & ~size_t{63};
}

bool X64::compile(const Block& b) {
    if (kArenaSize - used_ < kMinRoom) return false;
    uint8_t* at = arena_ + used_;
    try {
        Emitter e(*this, at, kArenaSize - used_);
        e.block(b);
        used_ += (e.getSize() + 15) & ~size_t{15};
    } catch (const Xbyak::Error&) {
        return false;
    }
    b.jit = at;
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

std::unique_ptr<Backend> make_backend(Cpu& cpu) {
    void* p = mmap(nullptr, kArenaSize, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) return nullptr;
    return std::make_unique<X64>(cpu, static_cast<uint8_t*>(p));
}

}  // namespace armvm::jit
