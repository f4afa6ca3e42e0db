// The block emitter's IR path (issue 18): a run of consecutive entries
// whose semantics (cpu-arm64/ir/sem.hpp) the IR expresses becomes one
// ir::Run, optimised (ir::optimize: values forwarded through registers,
// constants folded, dead writes dropped) and then lowered here: each value
// in a scratch register (rax, rcx, rsi, rdi; rdx is the SP pointer's and
// the wide constants' temporary), guest registers read and written
// through the block's register cache (ldx/stx).
#include <utility>

#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/jit/x64.hpp"

namespace armvm::jit {

namespace {

constexpr int kPool = 4;
constexpr int kVecPool = 8;  // xmm8-xmm15 (xmm6, xmm7: temporaries)

// The scratch registers of the IR's general values.
const Xbyak::Reg64& pool_reg(int r) {
    using namespace Xbyak::util;
    switch (r) {
    case 0: return rax;
    case 1: return rcx;
    case 2: return rsi;
    default: return rdi;
    }
}

// Whether run's code from `mark` on has FMLA or FMLS (VFp: FMA3 on the host).
bool fused(const ir::Run& run, size_t mark) {
    for (size_t v = mark; v < run.code.size(); ++v)
        if (run.code[v].op == ir::Op::VFp && ((run.code[v].imm & 0xff) == 0x1 || (run.code[v].imm & 0xff) == 0x9))
            return true;
    return false;
}

bool fits32(uint64_t v) { return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v))) == v; }

}  // namespace

Emitter::IrScratch& Emitter::ir_scratch() {
    thread_local IrScratch s;
    return s;
}

bool Emitter::ir_take(size_t k, const DecodedInsn& d) {
    if (d.handler == &exec_fetch_abort) return false;
    if (!fp_checked_ && ir_simd(a64::decode(d.insn)) && ir_kind(d, true) != IrKind::No) {
        // The block's first AdvSIMD instruction: CPACR_EL1.FPEN checked
        // before it (its handler takes the trap), as a run's first.
        ir_flush();
        Slow& s = simd_slow(k);
        back(s);
    }
    bool fresh = false;
    IrKind kind = IrKind::No;
    if (!ir_build(run_, k, d, &kind, &fresh, bti_, b_->guarded)) {
        if (!fresh || run_insns_.empty()) return false;
        ir_flush();  // (a condition read: as a run's first instruction)
        if (!ir_build(run_, k, d, &kind, nullptr, bti_, b_->guarded)) return false;
    }
    run_insns_.push_back(k);
    ir_ends_ = kind == IrKind::Exit || kind == IrKind::FpExit;
    return true;
}

Emitter::IrKind Emitter::ir_kind(const DecodedInsn& d, bool simd) {
    if (d.handler == &exec_fetch_abort || fused_compare(d.handler)) return IrKind::No;
    if (!simd && ir_simd(a64::decode(d.insn))) return IrKind::No;  // (as not the IR's: never Plain, and cheap)
    thread_local ir::Run scratch;
    scratch.clear();
    IrKind kind = IrKind::No;
    if (!ir_build(scratch, 0, d, &kind)) return IrKind::No;
    return kind;
}

bool Emitter::ir_build(ir::Run& run, size_t k, const DecodedInsn& d, IrKind* kind, bool* fresh, bool bti,
                       bool guarded) {
    // (CLZ, CLS: with LZCNT only; AdvSIMD: with SSE4.2)
    if (a64::decode(d.insn) == a64::Op::DP_1src && a64::bits(d.insn, 15, 10) >= 4 && !host_lzcnt()) return false;
    if (ir_simd(a64::decode(d.insn)) && !host_sse42()) return false;
    size_t mark = run.code.size();
    uint32_t flags_insn = run.flags_insn;
    bool flags_host = run.flags_host;
    ir::Builder b(run);
    b.start(static_cast<uint32_t>(k), d.pcoff);
    b.bti = bti;
    b.guarded = guarded;
    if (a64::sem::run(b, d.insn) == a64::sem::Outcome::Done && b.ok && (host_fma() || !fused(run, mark))) {
        if (kind)
            *kind = b.uses_fp       ? (b.ends_run ? IrKind::FpExit : IrKind::Fp)
                    : b.ends_run    ? IrKind::Exit
                    : b.reads_flags ? IrKind::Reads
                    : b.sets_flags  ? IrKind::Flags
                                    : IrKind::Plain;
        return true;
    }
    if (fresh) *fresh = b.fresh;
    run.code.resize(mark);
    run.flags_insn = flags_insn;
    run.flags_host = flags_host;
    return false;
}

void Emitter::ir_flush() {
    ir_ended_ = false;
    if (run_insns_.empty()) return;
    ir::optimize(run_);
    if (!ir_lower(run_, run_insns_.back())) {  // (rare: built again in halves)
        size_t mid = run_insns_.size() / 2;
        ir_emit(0, mid);
        ir_emit(mid, run_insns_.size());
    }
    run_.clear();
    run_insns_.clear();
}

// Entries run_insns_[from, to) as one run; halved while its values need
// more scratch registers than there are (one entry never does).
void Emitter::ir_emit(size_t from, size_t to) {
    ir::Run run;
    for (size_t j = from; j < to; ++j)
        ir_build(run, run_insns_[j], b_->insns[run_insns_[j]], nullptr, nullptr, bti_, b_->guarded);
    ir::optimize(run);
    if (ir_lower(run, run_insns_[to - 1])) return;
    if (to - from < 2) throw std::logic_error("IR: one instruction needs more than the scratch registers");
    size_t mid = from + (to - from) / 2;
    ir_emit(from, mid);
    ir_emit(mid, to);
}

bool Emitter::ir_lower(const ir::Run& run, size_t last_entry) {
    using ir::Op;
    const std::vector<ir::Inst>& c = run.code;
    size_t n = c.size();
    // Registers: the value's last user, then an assignment made as the
    // code is walked (a value whose first operand ends with it takes that
    // operand's register: two-address x86).
    std::vector<uint32_t>& last = irs_.last;
    last.assign(n, 0);
    for (uint32_t v = 0; v < n; ++v) {
        if (c[v].op == Op::Nop) continue;
        for (uint32_t o : {c[v].a, c[v].b, c[v].c})
            if (o != ir::kNone) last[o] = v;
    }
    std::vector<int8_t>& reg = irs_.reg;
    reg.assign(n, -1);
    std::vector<int8_t>& tmp = irs_.tmp;
    tmp.assign(n, -1);
    {
        bool busy[kPool] = {};
        uint32_t holder[kPool] = {};
        bool vbusy[kVecPool] = {};
        for (uint32_t v = 0; v < n; ++v) {
            const ir::Inst& i = c[v];
            if (i.op == Op::Nop) continue;
            auto dies = [&](uint32_t o) { return o != ir::kNone && last[o] == v; };
            // (an operand's register freed where it dies, in its pool)
            auto release = [&](uint32_t o) {
                if (reg[o] >= 0) (ir::vec_value(c[o].op) ? vbusy : busy)[reg[o]] = false;  // (a VStore has none)
            };
            if (ir::is_vec(i.op)) {  // (the result never shares an operand's register)
                bool vec = ir::vec_value(i.op);
                if (i.op == Op::VLoad || i.op == Op::VStore) {  // (the check's temporary: not the address's)
                    int t = -1;
                    for (int r = 0; r < kPool && t < 0; ++r)
                        if (!busy[r] && r != reg[i.a]) t = r;
                    if (t < 0) return false;
                    tmp[v] = static_cast<int8_t>(t);
                }
                if (i.op != Op::VSet && i.op != Op::VStore && i.op != Op::VStore2) {
                    bool* pool = vec ? vbusy : busy;
                    int size = vec ? kVecPool : kPool;
                    for (int r = 0; r < size && reg[v] < 0; ++r)
                        if (!pool[r]) reg[v] = static_cast<int8_t>(r);
                    if (reg[v] < 0) return false;
                    pool[reg[v]] = last[v] != 0;
                    if (!vec) holder[reg[v]] = v;
                }
                for (uint32_t o : {i.a, i.b, i.c})
                    if (dies(o)) release(o);
                continue;
            }
            bool a_dies = dies(i.a), b_dies = dies(i.b);
            // Fixed registers: MUL/IMUL of one operand and DIV/IDIV write
            // rdx:rax, so rax may hold only an operand that ends here (and a
            // division's result is not rax: its divisor is copied there
            // first); a shift by a register counts in CL, so rcx may hold
            // only the count or a first operand that ends here, and the
            // result is not rcx.
            bool div = i.op == Op::Udiv || i.op == Op::Sdiv, shv = i.op >= Op::ShlV && i.op <= Op::RorV;
            if ((i.op == Op::MulHi || div) && busy[0] &&
                !((holder[0] == i.a && a_dies) || (holder[0] == i.b && b_dies)))
                return false;
            if (shv && busy[1] && !(holder[1] == i.b || (holder[1] == i.a && a_dies))) return false;
            int avoid = div ? 0 : shv ? 1 : -1;
            // The operand whose register the result may take (two-address
            // x86): the first, or the value selected or added to.
            // (an access's register is new: a Load's is its check's
            // temporary before the value, a Store's only that)
            bool access = ir::is_access(i.op);  // (general: the vector ones are above)
            uint32_t into = i.op == Op::Select || i.op == Op::Adc || i.op == Op::AdcS ? i.b
                            : i.op == Op::Get || i.op == Op::Const || i.op == Op::Pc || i.op == Op::MulHi || div ||
                                      i.op == Op::Cond || access
                                ? ir::kNone
                                : i.a;
            bool reused = false;
            if (i.op != Op::Set && i.op != Op::CCmp && i.op != Op::Branch && i.op != Op::Call && i.op != Op::Ret &&
                i.op != Op::Store2 && i.op != Op::Monitor) {  // (the ops with a value, or a temporary)
                if (dies(into) && reg[into] != avoid) {
                    reg[v] = reg[into];
                    reused = true;
                } else {
                    for (int r = 0; r < kPool && reg[v] < 0; ++r)
                        if (!busy[r] && r != avoid) reg[v] = static_cast<int8_t>(r);
                    if (reg[v] < 0) return false;
                }
                busy[reg[v]] = true;
                holder[reg[v]] = v;
            }
            for (uint32_t o : {i.a, i.b, i.c})
                if (dies(o) && !(reused && o == into)) release(o);
            if (reg[v] >= 0 && last[v] == 0) busy[reg[v]] = false;  // (never used: a Store's temporary, LDR XZR)
        }
    }
    auto r64 = [&](uint32_t v) -> const Reg64& { return pool_reg(reg[v]); };
    // NZCV in the host flags: `hf` the convention of the run's operation
    // that set it (1: a subtraction, C = NOT CF; 0: an addition or AND;
    // -1: changed since), or `cond_v` the Cond whose x86 condition cond_cc
    // they hold. The last operation that sets NZCV leaves it to the code
    // after the run (lazy_flags); before it, a Cond first in the run takes
    // it from there.
    int hf = -1, cond_cc = 0;
    uint32_t cond_v = ir::kNone, last_nz = ir::kNone;
    for (uint32_t v = 0; v < n; ++v)
        if (ir::sets_nzcv(c[v].op)) last_nz = v;
    bool started = false;
    Slow* access_slow = nullptr;  // (the run's access: its slow path comes back after the run)
    auto r8 = [&](uint32_t v) { return r64(v).cvt8(); };
    // (the code after the run reads NZCV first with this condition, or -1)
    auto reader_after = [&](size_t k) -> int {
        if (k != last_entry) return -1;
        const DecodedInsn& dk = b_->insns[k];
        return fused_compare(dk.handler) ? static_cast<int>(dk.cond2)
               : k + 1 < b_->n            ? cond_read_first(b_->insns[k + 1])
                                           : -1;
    };
    for (uint32_t v = 0; v < n; ++v) {
        const ir::Inst& i = c[v];
        if (i.op == Op::Nop) continue;
        bool first = !started;
        started = true;
        // An access's first half: its slow path (the handler runs the
        // whole instruction, then the code after the run), the alignment
        // test of LDAR/LDXR (`reg` 2), the fast-table check (rdx: the host
        // address, for a pair's second too), `t` its temporary.
        auto access_check = [&](const Reg64& t, bool write) {
            Slow& s = slow_path(i.insn);
            s.va = static_cast<int8_t>(r64(i.a).getIdx());
            if (i.reg == 1) s.mem = 2;  // (LDTR, STTR)
            access_slow = &s;
            if (i.reg == 2 && i.imm > 1) {  // (unaligned: the handler raises the alignment fault)
                test(r64(i.a).cvt32(), static_cast<uint32_t>(i.imm - 1));
                jnz(s.at);
            }
            mem_check(r64(i.a), t, i.aux, write, s.at, i.reg == 1);
        };
        if (i.op == Op::VLoad || i.op == Op::VStore) {
            access_check(pool_reg(tmp[v]), i.op == Op::VStore);
            hf = -1, cond_v = ir::kNone;
        }
        if (i.op == Op::VFp) {  // (the run's last: the handler takes what the fast path does not)
            Slow& s = slow_path(i.insn);
            s.mem = 0;
            access_slow = &s;
            ir_lower_vfp(i, v, reg, s.at);
            hf = -1, cond_v = ir::kNone;
            continue;
        }
        if (ir::is_vec(i.op)) {  // (SSE: the host flags kept)
            ir_lower_vec(i, v, reg);
            continue;
        }
        bool keeps_flags = false;  // (the host flags as they were: NZCV, a Cond's)
        if (i.op == Op::Set) {
            stxsp(i.reg == ir::kSp ? 31 : i.reg, r64(i.a));
            if (i.reg != ir::kSp) continue;
            hf = -1, cond_v = ir::kNone;
            continue;
        }
        const Reg64& d = r64(v);
        Xbyak::Reg32 d32 = d.cvt32();
        const Xbyak::Reg& dw = i.w64 ? static_cast<const Xbyak::Reg&>(d) : static_cast<const Xbyak::Reg&>(d32);
        auto a_into_d = [&] {  // (the first operand, at its width)
            if (reg[i.a] != reg[v]) i.w64 ? mov(d, r64(i.a)) : mov(d32, r64(i.a).cvt32());
        };
        auto b_into_d = [&] {  // (the second)
            if (reg[i.b] != reg[v]) i.w64 ? mov(d, r64(i.b)) : mov(d32, r64(i.b).cvt32());
        };
        auto wide = [&](uint32_t o) {  // (operand o's register at the op's width)
            return i.w64 ? Xbyak::Reg(r64(o)) : Xbyak::Reg(r64(o).cvt32());
        };
        switch (i.op) {
        case Op::Const:
            keeps_flags = i.imm != 0 || hf >= 0 || cond_v != ir::kNone;
            if (i.imm == 0 && !keeps_flags) xor_(d32, d32);
            else if (i.imm >> 32 == 0) mov(d32, static_cast<uint32_t>(i.imm));
            else mov(d, i.imm);
            break;
        case Op::Cond: {
            // From the host flags the instruction before left (the Builder
            // sees to it), or first in the run: from NZCV before it.
            auto cond = static_cast<unsigned>(i.imm);
            int cc;
            if (!first) {
                if (hf < 0) throw std::logic_error("IR: a condition without its flags");
                cc = host_cc(cond, hf == 1);
                if (cc < 0) {  // HI (C && !Z), LS after an addition
                    cond == 8 ? (setb(r8(v)), setne(dl), and_(r8(v), dl)) : (setae(r8(v)), sete(dl), or_(r8(v), dl));
                    break;
                }
            } else if ((cc = host_cond(cond, i.insn)) < 0) {  // (else: as the entry before left them)
                if ((cc = replay_cc(cond)) >= 0) {
                    replay_inline();
                } else {
                    cond_to_cf(cond);
                    cc = 2;  // (B: CF set)
                }
            }
            // (the low byte only: the users test it; none for a branch
            // on it right after, which jumps on the host flags)
            uint32_t u = v + 1;
            while (u < n && c[u].op == Op::Nop) ++u;
            if (!(u < n && c[u].op == Op::Branch && c[u].a == v && last[v] == u)) setcc(cc, r8(v));
            keeps_flags = true;
            cond_v = v, cond_cc = cc, hf = -1;
            break;
        }
        case Op::Select:  // (the low byte of a Cond: 1 or 0)
            b_into_d();
            if (cond_v == i.a) {
                cmovcc(cond_cc ^ 1, dw, wide(i.c));
                keeps_flags = true;
            } else {
                test(r8(i.a), r8(i.a));
                cmovcc(4, dw, wide(i.c));  // (E: zero)
            }
            break;
        case Op::Adc: case Op::AdcS: {
            b_into_d();
            bt(r64(i.a), 0);  // CF = the carry
            if (i.imm & 1) cmc();  // (x86 subtracts a borrow: NOT C)
            i.imm & 1 ? sbb(dw, wide(i.c)) : adc(dw, wide(i.c));
            if (i.op == Op::AdcS) {
                bool is_sub = i.imm & 1;
                if (v == last_nz) lazy_host_flags(i.insn, is_sub, reader_after(i.insn), flags_dead_after(i.insn));
                hf = is_sub ? 1 : 0, cond_v = ir::kNone;
                keeps_flags = true;
            }
            break;
        }
        case Op::Branch: case Op::Call: case Op::Ret: {  // (the run's last: its values are all set)
            size_t k = i.insn;
            const DecodedInsn& dk = b_->insns[k];
            unsigned branches = dk.br_before + 1u;
            if (i.b != ir::kNone) {  // BR, BLR, RET: the block's last entry
                if (reg[i.b] != 0) mov(rax, r64(i.b));
                if (i.aux) mov(byte[rbx + o.btype], i.aux);  // (BR, BLR with FEAT_BTI: PSTATE.BTYPE)
                if (i.op == Op::Call) ras_push();
                i.op == Op::Ret ? ret_to_rax(k) : chain_to_rax(dk.pcoff, k);
                ir_ended_ = true;
                break;
            }
            Label not_taken;
            switch (i.reg) {
            case ir::kIfCond:
                if (cond_v == i.a) {
                    jcc(cond_cc ^ 1, not_taken);
                } else {
                    test(r8(i.a), r8(i.a));
                    jz(not_taken);
                }
                break;
            case ir::kIfZero: case ir::kIfNonZero:
                i.w64 ? test(r64(i.c), r64(i.c)) : test(r64(i.c).cvt32(), r64(i.c).cvt32());
                i.reg == ir::kIfZero ? jnz(not_taken) : jz(not_taken);
                break;
            case ir::kIfBitClear: case ir::kIfBitSet:
                bt(r64(i.c), i.aux);
                i.reg == ir::kIfBitClear ? jc(not_taken) : jnc(not_taken);
                break;
            default: break;
            }
            if (i.op == Op::Call) ras_push();
            auto off = static_cast<int64_t>(i.imm);  // (from the block's VA)
            goto_va(off, off == dk.pcoff + 4 ? 0 : 1, static_cast<uint32_t>(k + 1), branches, true, k);
            if (i.reg == ir::kAlways) ir_ended_ = true;
            else L(not_taken);  // (on to the next entry, or the block's end)
            break;
        }
        case Op::Load: case Op::Store:
            access_check(d, i.op == Op::Store);
            i.op == Op::Load ? load_host(d, static_cast<unsigned>(i.imm), rdx)
                             : store_host(r64(i.b), static_cast<unsigned>(i.imm), rdx);
            break;
        case Op::ZeroBlock: {  // (d: the block's address; a, the VA given, ends here: the check's temporary)
            Slow& s = slow_path(i.insn);
            access_slow = &s;
            Label allowed;
            cmp(dword[rbx + o.el], 0);
            jne(allowed);
            test(dword[rbx + o.sctlr], 1 << 14);  // SCTLR_EL1.DZE
            jz(s.at);
            L(allowed);
            mov(d, r64(i.a));
            and_(d, -static_cast<int32_t>(zva_));
            s.va = static_cast<int8_t>(d.getIdx());
            mem_check(d, r64(i.a), zva_, true, s.at);
            xorps(xmm0, xmm0);
            for (unsigned off = 0; off < zva_; off += 16) movups(ptr[rdx + static_cast<int>(off)], xmm0);
            break;
        }
        case Op::Load2: load_host(d, static_cast<unsigned>(i.imm), rdx, static_cast<int>(i.imm * i.aux)); break;
        case Op::Monitor:  // (as Cpu::open_monitor)
            mov(byte[rbx + o.excl_valid], 1);
            mov(byte[rbx + o.monitor], 1);
            mov(qword[rbx + o.excl_addr], r64(i.a));
            mov(dword[rbx + o.excl_size], static_cast<uint32_t>(i.imm));
            mov(qword[rbx + o.excl_value], r64(i.b));
            mov(qword[rbx + o.excl_value_hi], 0);
            keeps_flags = true;
            break;
        case Op::Store2:
            store_host(r64(i.b), static_cast<unsigned>(i.imm), rdx, static_cast<int>(i.imm * i.aux));
            break;
        case Op::CCmp: {  // (lazily as SUBS/ADDS one way, NZCV stored the other)
            if (v != last_nz || flags_dead_after(i.insn)) {
                keeps_flags = true;  // (replaced: nothing to do)
                break;
            }
            Label other, done;
            if (cond_v == i.a) {
                jcc(cond_cc ^ 1, other);
            } else {
                test(r8(i.a), r8(i.a));
                jz(other);
            }
            bool is_sub = i.imm & 16;
            Xbyak::Reg t = i.w64 ? Xbyak::Reg(rdx) : Xbyak::Reg(edx);
            mov(t, wide(i.b));
            is_sub ? sub(t, wide(i.c)) : add(t, wide(i.c));
            mov(qword[rbx + o.flags_res], rdx);
            mov(qword[rbx + o.flags_b], r64(i.c));
            mov(dword[rbx + o.flags_kind], static_cast<uint32_t>(is_sub ? (i.w64 ? kFlagsSub64 : kFlagsSub32)
                                                                       : (i.w64 ? kFlagsAdd64 : kFlagsAdd32)));
            jmp(done);
            L(other);
            mov(dword[rbx + o.nzcv], static_cast<uint32_t>(i.imm & 0xf) << 28);
            mov(dword[rbx + o.flags_kind], static_cast<uint32_t>(kFlagsStored));
            L(done);
            captured_ = -1;  // (lazy one way, stored the other)
            lazy_kind_ = -1;
            flags_stored_ = false;
            break;
        }
        case Op::Pc:
            lea(d, ptr[r13 + static_cast<int32_t>(i.imm)]);
            keeps_flags = true;
            break;
        case Op::Get:
            ldxsp(d, i.reg == ir::kSp ? 31 : i.reg);
            keeps_flags = i.reg != ir::kSp;
            break;
        case Op::Add: case Op::Sub: case Op::And: case Op::Or: case Op::Xor: case Op::AndNot:
        case Op::AddS: case Op::SubS: case Op::AndS: {
            if (i.b == ir::kNone && i.op == Op::And && i.w64 && i.imm == 0xffffffffull) {  // a zero-extension
                mov(d32, r64(i.a).cvt32());
                break;
            }
            // NZCV (the run's last flag-setting operation, ir::optimize):
            // lazily, from the result and the second operand, stored first
            // (the result's register may be its too: SUBS Xd, Xn, Xn).
            bool nz = ir::sets_nzcv(i.op), logic = i.op == Op::AndS;
            size_t k = i.insn;
            int reader = -1;
            bool store = false, dead = true;
            if (nz && v == last_nz) {
                store = true;
                reader = reader_after(k);
                dead = flags_dead_after(k);
            }
            const Xbyak::Operand* src = nullptr;
            Xbyak::Reg32 s32 = edx;
            bool imm = i.b == ir::kNone && (!i.w64 || fits32(i.imm));
            if (i.b == ir::kNone && !imm) {
                mov(rdx, i.imm);
                src = &rdx;
            } else if (i.b != ir::kNone) {
                s32 = r64(i.b).cvt32();
                src = i.w64 ? static_cast<const Xbyak::Operand*>(&r64(i.b)) : &s32;
            }
            if (store && !dead && !logic)
                imm ? mov(qword[rbx + o.flags_b], static_cast<int32_t>(i.imm))
                    : mov(qword[rbx + o.flags_b], i.b == ir::kNone ? rdx : r64(i.b));
            a_into_d();
            if (i.op == Op::AndNot) {  // (value form only: a constant is an And by now)
                i.w64 ? mov(rdx, r64(i.b)) : mov(edx, r64(i.b).cvt32());
                i.w64 ? not_(rdx) : not_(edx);
                i.w64 ? and_(d, rdx) : and_(d32, edx);
                break;
            }
            uint32_t n32 = static_cast<uint32_t>(i.imm);
            switch (i.op) {
            case Op::Add: case Op::AddS: imm ? add(dw, n32) : add(dw, *src); break;
            case Op::Sub: case Op::SubS: imm ? sub(dw, n32) : sub(dw, *src); break;
            case Op::And: case Op::AndS: imm ? and_(dw, n32) : and_(dw, *src); break;
            case Op::Or: imm ? or_(dw, n32) : or_(dw, *src); break;
            default: imm ? xor_(dw, n32) : xor_(dw, *src); break;
            }
            if (store) lazy_flags(k, i.op == Op::SubS, i.w64, logic, reader, dead, d, nullptr, nullptr);
            if (nz) {
                hf = i.op == Op::SubS ? 1 : 0, cond_v = ir::kNone;
                keeps_flags = true;
            }
            break;
        }
        case Op::Shl: case Op::Lshr: case Op::Ashr: case Op::Ror: {  // (by a constant)
            a_into_d();
            auto s = static_cast<uint8_t>(i.imm);
            if (s == 0) {
                if (!i.w64) mov(d32, d32);  // (a count of 0 may not clear the upper half)
                break;
            }
            switch (i.op) {
            case Op::Shl: shl(dw, s); break;
            case Op::Lshr: shr(dw, s); break;
            case Op::Ashr: sar(dw, s); break;
            default: ror(dw, s); break;
            }
            break;
        }
        case Op::Sext: {
            const Reg64& a = r64(i.a);
            if (i.imm == 8) i.w64 ? movsx(d, a.cvt8()) : movsx(d32, a.cvt8());
            else if (i.imm == 16) i.w64 ? movsx(d, a.cvt16()) : movsx(d32, a.cvt16());
            else i.w64 ? movsxd(d, a.cvt32()) : mov(d32, a.cvt32());
            break;
        }
        case Op::Bswap:
            a_into_d();
            i.w64 ? bswap(d) : bswap(d32);
            break;
        case Op::Clz: i.w64 ? lzcnt(d, r64(i.a)) : lzcnt(d32, r64(i.a).cvt32()); break;
        case Op::ShlV: case Op::LshrV: case Op::AshrV: case Op::RorV:  // (by CL)
            a_into_d();
            if (reg[i.b] != 1) mov(ecx, r64(i.b).cvt32());
            switch (i.op) {
            case Op::ShlV: shl(dw, cl); break;
            case Op::LshrV: shr(dw, cl); break;
            case Op::AshrV: sar(dw, cl); break;
            default: ror(dw, cl); break;
            }
            if (!i.w64) mov(d32, d32);  // (a count of 0 may not clear the upper half)
            break;
        case Op::Udiv: case Op::Sdiv: {  // by 0: 0; MIN / -1: MIN (x86 traps on both)
            bool sgn = i.op == Op::Sdiv;
            Label zero, negate, done;
            i.w64 ? mov(d, r64(i.b)) : mov(d32, r64(i.b).cvt32());  // (the divisor, out of rax)
            if (reg[i.a] != 0) i.w64 ? mov(rax, r64(i.a)) : mov(eax, r64(i.a).cvt32());
            i.w64 ? test(d, d) : test(d32, d32);
            jz(zero);
            if (sgn) {
                i.w64 ? cmp(d, -1) : cmp(d32, -1);
                je(negate);
            }
            if (i.w64)
                sgn ? (cqo(), idiv(d)) : (xor_(edx, edx), div(d));
            else
                sgn ? (cdq(), idiv(d32)) : (xor_(edx, edx), div(d32));
            i.w64 ? mov(d, rax) : mov(d32, eax);
            jmp(done);
            L(zero);
            xor_(d32, d32);
            if (sgn) {
                jmp(done);
                L(negate);
                i.w64 ? mov(d, rax) : mov(d32, eax);
                i.w64 ? neg(d) : neg(d32);
            }
            L(done);
            break;
        }
        case Op::Mul:
            a_into_d();
            i.w64 ? imul(d, r64(i.b)) : imul(d32, r64(i.b).cvt32());
            break;
        case Op::MulHi: {
            uint32_t x = i.a, y = i.b;
            if (reg[y] == 0) std::swap(x, y);  // (rax: the implicit operand)
            if (reg[x] != 0) mov(rax, r64(x));
            i.imm ? imul(r64(y)) : mul(r64(y));
            mov(d, rdx);
            break;
        }
        case Op::Extr: {
            a_into_d();
            auto s = static_cast<uint8_t>(i.imm);
            if (s) i.w64 ? shrd(d, r64(i.b), s) : shrd(d32, r64(i.b).cvt32(), s);
            else if (!i.w64) mov(d32, d32);
            break;
        }
        default: break;
        }
        if (!keeps_flags) hf = -1, cond_v = ir::kNone;
    }
    if (access_slow) back(*access_slow);  // (the handler did all the access's instruction)
    return true;
}

// FADD, FSUB, FMUL, FDIV, FMLA, FMLS (VFp; scalar: FADD..FDIV, FMADD,
// FMSUB). The host computes what the guest would when every lane's
// operands are zero or normal finite, the result normal finite (add/sub:
// or zero), round to nearest, and FPSR.IXC is set already (no other flag
// can come from such lanes); otherwise the handler (Arm's NaN, tininess
// and flag rules). Lanes outside the form (the upper half of a 64-bit
// form, all but lane 0 of a scalar one) are computed but not checked.
void Emitter::ir_lower_vfp(const ir::Inst& i, uint32_t v, const std::vector<int8_t>& reg, Label& slow) {
    auto x = [&](uint32_t o) { return Xbyak::Xmm(8 + reg[o]); };
    auto key = static_cast<unsigned>(i.imm & 0xff);
    bool dbl = i.imm & 0x100, q = i.imm & 0x200, scalar = i.imm & 0x400, fma = key == 0x1 || key == 0x9;
    test(dword[rbx + o.fpcr], 3u << 22);  // RMode: round to nearest
    jnz(slow);
    test(byte[rbx + o.fpsr], 16);  // IXC
    jz(slow);
    movdqa(xmm0, x(i.a));
    movdqa(xmm1, x(i.b));
    fp_bad(xmm6, xmm0, dbl, true, true);
    fp_bad(xmm7, xmm1, dbl, true, true);
    por(xmm6, xmm7);
    // (the packed form, or the scalar one: SS for singles, SD for doubles)
    auto pick = [&](auto ps, auto pd, auto ss, auto sd) { return scalar ? (dbl ? sd : ss) : (dbl ? pd : ps); };
    using G = Xbyak::CodeGenerator;
    if (fma) {
        movdqa(xmm2, x(i.c));
        fp_bad(xmm7, xmm2, dbl, true, true);
        por(xmm6, xmm7);
        (this->*(key == 0x1 ? pick(&G::vfmadd231ps, &G::vfmadd231pd, &G::vfmadd231ss, &G::vfmadd231sd)
                            : pick(&G::vfnmadd231ps, &G::vfnmadd231pd, &G::vfnmadd231ss, &G::vfnmadd231sd)))(
            xmm2, xmm0, xmm1);
        movdqa(xmm0, xmm2);
    } else {
        (this->*(key == 0x2    ? pick(&G::addps, &G::addpd, &G::addss, &G::addsd)
                 : key == 0xa  ? pick(&G::subps, &G::subpd, &G::subss, &G::subsd)
                 : key == 0x13 ? pick(&G::mulps, &G::mulpd, &G::mulss, &G::mulsd)
                               : pick(&G::divps, &G::divpd, &G::divss, &G::divsd)))(xmm0, xmm1);
    }
    fp_bad(xmm7, xmm0, dbl, false, key == 0x2 || key == 0xa);
    por(xmm6, xmm7);
    if (q && !scalar)
        ptest(xmm6, xmm6);
    else
        ptest(xmm6, ptr[r15 + static_cast<int32_t>(scalar && !dbl ? offsetof(Tables, low_single)
                                                                   : offsetof(Tables, low_half))]);
    jnz(slow);
    if (scalar && !dbl) {  // (lane 0, the rest zero)
        pxor(x(v), x(v));
        movss(x(v), xmm0);
    } else if (scalar) {
        movq(x(v), xmm0);
    } else {
        movdqa(x(v), xmm0);
    }
}

void Emitter::ir_lower_vec(const ir::Inst& i, uint32_t v, const std::vector<int8_t>& reg) {
    using ir::Op;
    auto x = [&](uint32_t o) { return Xbyak::Xmm(8 + reg[o]); };
    auto g = [&](uint32_t o) { return pool_reg(reg[o]); };  // (a general value's)
    auto vec = [&](unsigned r) { return ptr[rbx + o.v + 16 * static_cast<int>(r)]; };
    const Xbyak::Xmm& t = xmm7;
    auto size = static_cast<unsigned>(i.imm);
    if (i.op == Op::VSet) {
        movdqu(vec(i.reg), x(i.a));
        return;
    }
    if (i.op >= Op::VLoad) {  // (after the check: rdx the host address of the first)
        auto bytes = static_cast<unsigned>(i.imm);
        bool second = i.op == Op::VLoad2 || i.op == Op::VStore2;
        auto at = ptr[rdx + (second ? static_cast<int>(bytes * i.aux) : 0)];
        if (i.op == Op::VLoad || i.op == Op::VLoad2) {
            const Xbyak::Xmm d = x(v);
            switch (bytes) {
            case 1: pxor(d, d); pinsrb(d, at, 0); break;
            case 2: pxor(d, d); pinsrw(d, at, 0); break;
            case 4: movd(d, at); break;
            case 8: movq(d, at); break;
            default: movdqu(d, at); break;
            }
        } else {
            const Xbyak::Xmm val = x(i.b);
            switch (bytes) {
            case 1: pextrb(at, val, 0); break;
            case 2: pextrw(at, val, 0); break;
            case 4: movd(at, val); break;
            case 8: movq(at, val); break;
            default: movdqu(at, val); break;
            }
        }
        return;
    }
    if (i.op == Op::VExtract) {  // (SSE4.1: PEXTRB/W/D zero-extend)
        auto index = static_cast<uint8_t>(i.imm);
        const Reg64& d = g(v);
        switch (i.aux) {
        case 0: pextrb(d.cvt32(), x(i.a), index); break;
        case 1: pextrw(d.cvt32(), x(i.a), index); break;
        case 2: pextrd(d.cvt32(), x(i.a), index); break;
        default: pextrq(d, x(i.a), index); break;
        }
        return;
    }
    Xbyak::Xmm d = x(v);  // (never an operand's register)
    auto invert = [&] {  // d = ~d
        pcmpeqd(t, t);
        pxor(d, t);
    };
    switch (i.op) {
    case Op::VGet: movdqu(d, vec(i.reg)); break;
    case Op::VConst:
        if (i.imm == 0) {
            pxor(d, d);
        } else if (i.imm == ~uint64_t{0}) {
            pcmpeqd(d, d);
        } else {
            mov(rdx, i.imm);  // (rdx: free between operations)
            movq(d, rdx);
            punpcklqdq(d, d);
        }
        break;
    case Op::VZext64: movq(d, x(i.a)); break;
    case Op::VAnd: movdqa(d, x(i.a)); pand(d, x(i.b)); break;
    case Op::VOr: movdqa(d, x(i.a)); por(d, x(i.b)); break;
    case Op::VXor: movdqa(d, x(i.a)); pxor(d, x(i.b)); break;
    case Op::VBic: movdqa(d, x(i.b)); pandn(d, x(i.a)); break;  // ~b & a
    case Op::VOrn: pcmpeqd(d, d); pxor(d, x(i.b)); por(d, x(i.a)); break;
    case Op::VBsl:  // ((b ^ c) & a) ^ c
        movdqa(d, x(i.b));
        pxor(d, x(i.c));
        pand(d, x(i.a));
        pxor(d, x(i.c));
        break;
    case Op::VAdd: case Op::VSub:
        movdqa(d, x(i.a));
        lanes(i.op == Op::VSub ? 1 : 0, d, x(i.b), size);
        break;
    case Op::VMul:
        movdqa(d, x(i.a));
        if (size == 3) {  // (MULL's: lo*lo + (hi*lo + lo*hi) << 32, modulo 2^64)
            pmuludq(d, x(i.b));
            movdqa(t, x(i.a));
            psrlq(t, 32);
            pmuludq(t, x(i.b));
            movdqa(xmm6, x(i.b));
            psrlq(xmm6, 32);
            pmuludq(xmm6, x(i.a));
            paddq(t, xmm6);
            psllq(t, 32);
            paddq(d, t);
        } else if (size != 0) {
            lanes(2, d, x(i.b), size);  // (16 and 32 bits)
        } else {  // bytes: the even ones' products in words, then the odd ones'
            pmullw(d, x(i.b));
            pcmpeqw(t, t);
            psrlw(t, 8);
            pand(d, t);
            movdqa(t, x(i.a));
            psrlw(t, 8);
            movdqa(xmm6, x(i.b));
            psrlw(xmm6, 8);
            pmullw(t, xmm6);
            psllw(t, 8);
            por(d, t);
        }
        break;
    case Op::VCmEq: movdqa(d, x(i.a)); cmpeq(d, x(i.b), size); break;
    case Op::VCmTst:  // not ((a & b) == 0)
        movdqa(d, x(i.a));
        pand(d, x(i.b));
        pxor(t, t);
        cmpeq(d, t, size);
        invert();
        break;
    case Op::VCmGt: movdqa(d, x(i.a)); cmpgt(d, x(i.b), size); break;
    case Op::VCmGe:  // not (b > a)
        movdqa(d, x(i.b));
        cmpgt(d, x(i.a), size);
        invert();
        break;
    case Op::VCmHi: case Op::VCmHs: {  // unsigned: the sign bits flipped, then signed
        bool hi = i.op == Op::VCmHi;
        sign_bits(t, size);
        movdqa(d, x(hi ? i.a : i.b));
        pxor(d, t);
        pxor(t, x(hi ? i.b : i.a));
        cmpgt(d, t, size);  // HI: a > b; HS: not (b > a)
        if (!hi) invert();
        break;
    }
    case Op::VWiden: {  // (PMOVSX/PMOVZX of the low half; the upper half moved down first)
        const Xbyak::Xmm& src = i.imm & 8 ? t : x(i.a);
        if (i.imm & 8) pshufd(t, x(i.a), 0xee);
        widen(d, src, size & 3, i.imm & 4);
        break;
    }
    case Op::VNarrow:  // (each wide lane's low half kept, packed; MOVQ clears the upper half)
        switch (size) {
        case 0:
            movdqa(d, x(i.a));
            pcmpeqw(t, t);
            psrlw(t, 8);
            pand(d, t);
            packuswb(d, d);
            break;
        case 1:
            movdqa(d, x(i.a));
            pslld(d, 16);
            psrld(d, 16);
            packusdw(d, d);
            break;
        default: pshufd(d, x(i.a), 0x08); break;  // (dwords 0 and 2)
        }
        movq(d, d);
        break;
    case Op::VAddP: case Op::VSMaxP: case Op::VUMaxP: case Op::VSMinP: case Op::VUMinP:
        movdqa(xmm0, x(i.a));
        movdqa(xmm1, x(i.b));
        pairwise(i.op == Op::VAddP ? 2 : i.op == Op::VSMaxP || i.op == Op::VUMaxP ? 0 : 1,
                 i.op == Op::VSMaxP || i.op == Op::VSMinP, size);
        movdqa(d, xmm0);
        break;
    case Op::VInsert: {
        auto index = static_cast<uint8_t>(i.imm);
        movdqa(d, x(i.a));
        switch (i.aux) {
        case 0: pinsrb(d, g(i.b).cvt32(), index); break;
        case 1: pinsrw(d, g(i.b).cvt32(), index); break;
        case 2: pinsrd(d, g(i.b).cvt32(), index); break;
        default: pinsrq(d, g(i.b), index); break;
        }
        break;
    }
    case Op::VDup:
        movq(d, g(i.a));
        switch (i.imm) {
        case 0: punpcklbw(d, d); [[fallthrough]];
        case 1: pshuflw(d, d, 0); pshufd(d, d, 0); break;
        case 2: pshufd(d, d, 0); break;
        default: punpcklqdq(d, d); break;
        }
        break;
    case Op::VShlI: case Op::VLshrI: case Op::VAshrI: {
        // (x86 has no byte shifts and no 64-bit arithmetic one: words
        // shifted and masked, the sign bit's trick; the sign spread)
        auto n = static_cast<uint8_t>(i.imm);
        unsigned size = i.aux;
        auto bytes = [&](unsigned byte) {  // xmm7 = `byte` in every byte (rdx: free between operations)
            mov(rdx, 0x0101010101010101ull * byte);
            movq(t, rdx);
            punpcklqdq(t, t);
        };
        movdqa(d, x(i.a));
        if (size == 0) {
            if (i.op == Op::VShlI) {
                psllw(d, n);
                bytes((0xffu << n) & 0xff);
                pand(d, t);
            } else {
                unsigned m = i.op == Op::VAshrI && n > 7 ? 7 : n;  // (by 8: as by 7, the sign everywhere)
                if (i.op == Op::VAshrI) {  // ((x ^ 0x80) >> n) - (0x80 >> n)
                    bytes(0x80);
                    pxor(d, t);
                }
                psrlw(d, static_cast<uint8_t>(m));
                bytes(0xffu >> m);
                pand(d, t);
                if (i.op == Op::VAshrI) {
                    bytes(0x80u >> m);
                    psubb(d, t);
                }
            }
            break;
        }
        if (i.op == Op::VAshrI && size == 3) {  // logical, then the sign spread into the top n bits
            psrlq(d, n);
            pxor(t, t);
            pcmpgtq(t, x(i.a));
            psllq(t, static_cast<uint8_t>(64 - n));
            por(d, t);
            break;
        }
        static constexpr void (Xbyak::CodeGenerator::*ops[3][3])(const Xbyak::Mmx&, int) = {
            {&Xbyak::CodeGenerator::psllw, &Xbyak::CodeGenerator::psrlw, &Xbyak::CodeGenerator::psraw},
            {&Xbyak::CodeGenerator::pslld, &Xbyak::CodeGenerator::psrld, &Xbyak::CodeGenerator::psrad},
            {&Xbyak::CodeGenerator::psllq, &Xbyak::CodeGenerator::psrlq, nullptr}};
        (this->*ops[size - 1][static_cast<int>(i.op) - static_cast<int>(Op::VShlI)])(d, n);
        break;
    }
    default: throw std::logic_error("IR: a vector operation the backend lacks");
    }
}

}  // namespace armvm::jit
