// The IR's passes and its reference evaluator (ir.hpp).
#include "cpu-arm64/ir/ir.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

namespace armvm::ir {

namespace {

bool binary(Op op) { return (op >= Op::Add && op <= Op::AndNot) || (op >= Op::AddS && op <= Op::AndS); }
bool shift(Op op) { return op >= Op::Shl && op <= Op::Ror; }
bool branch(Op op) { return op >= Op::Branch && op <= Op::Ret; }
bool access(Op op) { return is_access(op); }

}  // namespace

std::string Run::dump() const {
    static const char* names[] = {"nop", "const", "pc", "get", "set", "add", "sub", "and", "or", "xor", "andnot",
                                  "shl", "lshr", "ashr", "ror", "extr", "sext", "mul", "mulh", "bswap", "clz", "shlv",
                                  "lshrv", "ashrv", "rorv", "udiv", "sdiv", "adds", "subs", "ands", "adcs", "ccmp",
                                  "cond", "select", "adc", "branch", "call", "ret", "load", "load2", "store",
                                  "store2", "monitor", "zeroblock", "vget", "vset", "vzext64", "vand", "vbic", "vor",
                                  "vorn", "vxor", "vbsl", "vadd", "vsub", "vcmeq", "vcmtst", "vcmgt", "vcmge",
                                  "vcmhi", "vcmhs", "vmul", "vconst", "vextract", "vinsert", "vdup", "vshli",
                                  "vlshri", "vashri", "vwiden", "vnarrow", "vaddp", "vsmaxp", "vumaxp", "vsminp",
                                  "vuminp", "vfp", "vload", "vload2", "vstore", "vstore2"};
    static_assert(std::size(names) == static_cast<size_t>(Op::VStore2) + 1, "a name for every operation");
    std::string out;
    char line[128];
    for (size_t v = 0; v < code.size(); ++v) {
        const Inst& i = code[v];
        if (i.op == Op::Nop) continue;
        auto arg = [](uint32_t o) { return o == kNone ? -1 : static_cast<int>(o); };
        std::snprintf(line, sizeof line, "%%%zu = %s%s r%u %%%d %%%d %%%d #%#llx (insn %u)\n", v,
                      names[static_cast<int>(i.op)], i.w64 ? "" : ".w", i.reg, arg(i.a), arg(i.b), arg(i.c),
                      static_cast<unsigned long long>(i.imm), i.insn);
        out += line;
    }
    return out;
}

void optimize(Run& r) {
    std::vector<Inst>& c = r.code;
    thread_local std::vector<uint32_t> repl;  // (kept for their memory: a compile makes many runs)
    thread_local std::vector<bool> used;
    repl.resize(c.size());
    for (uint32_t v = 0; v < c.size(); ++v) repl[v] = v;
    // Known: the value's upper 32 bits are zero (a 32-bit op's result, a
    // small constant), so a 32-bit identity on it is no zero-extension.
    auto zext = [&](uint32_t v) { return !c[v].w64 || (c[v].op == Op::Const && c[v].imm >> 32 == 0); };
    auto same = [&](uint32_t v, uint32_t to) {
        repl[v] = to;
        c[v].op = Op::Nop;
    };
    auto constant = [&](uint32_t v, uint64_t value) {
        c[v] = Inst{Op::Const, true, 0, kNone, kNone, value, c[v].insn};
    };
    // dead flags: NZCV that a later operation of the run sets again before
    // a Cond reads it (after the run: perhaps read)
    bool live = true;
    for (size_t v = c.size(); v-- > 0;) {
        Inst& i = c[v];
        if (i.op == Op::Cond) {
            live = true;
        } else if (sets_nzcv(i.op)) {
            if (!live) {
                switch (i.op) {
                case Op::AddS: i.op = Op::Add; break;
                case Op::SubS: i.op = Op::Sub; break;
                case Op::AndS: i.op = Op::And; break;
                case Op::AdcS: i.op = Op::Adc; break;
                default: i.op = Op::Nop; break;  // (CCmp: nothing else)
                }
            }
            live = false;
        }
    }
    uint32_t cur[33], curv[32];
    for (uint32_t& x : cur) x = kNone;
    for (uint32_t& x : curv) x = kNone;
    for (uint32_t v = 0; v < c.size(); ++v) {
        Inst& i = c[v];
        if (i.a != kNone) i.a = repl[i.a];
        if (i.b != kNone) i.b = repl[i.b];
        if (i.c != kNone) i.c = repl[i.c];
        if (i.op == Op::Nop) continue;
        // forward: a Get of a register the run knows
        if (i.op == Op::Get) {
            if (cur[i.reg] != kNone) same(v, cur[i.reg]);
            else cur[i.reg] = v;
            continue;
        }
        if (i.op == Op::Set) {
            cur[i.reg] = i.a;
            continue;
        }
        if (i.op == Op::VGet) {  // (the same for SIMD&FP registers)
            if (curv[i.reg] != kNone) same(v, curv[i.reg]);
            else curv[i.reg] = v;
            continue;
        }
        if (i.op == Op::VSet) {
            curv[i.reg] = i.a;
            continue;
        }
        if (is_vec(i.op)) continue;  // (no constants to fold)
        // fold (a binary operation's constant operand becomes its
        // immediate: b kNone, imm the value)
        auto is_const = [&](uint32_t o) { return o != kNone && c[o].op == Op::Const; };
        uint64_t m = width_mask(i.w64);
        if (binary(i.op)) {
            if (is_const(i.a) && i.op != Op::Sub && i.op != Op::SubS && i.op != Op::AndNot && !is_const(i.b))
                std::swap(i.a, i.b);
            if (is_const(i.b)) {
                i.imm = c[i.b].imm & m;
                i.b = kNone;
            }
            if (i.b != kNone || sets_nzcv(i.op)) continue;  // (NZCV: kept as it is)
            if (is_const(i.a)) {
                constant(v, compute(i.op, i.w64, c[i.a].imm, i.imm, 0));
                continue;
            }
            if (i.op == Op::Sub) i.op = Op::Add, i.imm = (0 - i.imm) & m;
            if (i.op == Op::AndNot) i.op = Op::And, i.imm = ~i.imm & m;
            bool keep = i.w64 || zext(i.a);  // (an identity on a value needs no zero-extension)
            if ((i.op == Op::Add || i.op == Op::Or || i.op == Op::Xor) && i.imm == 0 && keep) {
                same(v, i.a);
            } else if (i.op == Op::And && i.imm == m && keep) {
                same(v, i.a);
            } else if (i.op == Op::And && i.imm == 0) {
                constant(v, 0);
            } else if (i.op == Op::Or && i.imm == m) {
                constant(v, m);
            }
            continue;
        }
        if (i.op == Op::Select && is_const(i.a)) {  // (AL, NV)
            uint32_t to = c[i.a].imm ? i.b : i.c;
            if (i.w64 || zext(to)) {
                same(v, to);
            } else {  // the value zero-extended
                i = Inst{Op::And, true, 0, to, kNone, 0xffffffff, i.insn};
            }
            continue;
        }
        if (i.op == Op::Extr) {
            if (is_const(i.a) && is_const(i.b)) {
                constant(v, compute(i.op, i.w64, c[i.a].imm, c[i.b].imm, i.imm));
            } else if (i.imm == 0 && (i.w64 || zext(i.a))) {
                same(v, i.a);
            } else if (i.a == i.b) {  // a rotate
                i.op = Op::Ror;
                i.b = kNone;
            }
            continue;
        }
        if (i.op >= Op::ShlV && i.op <= Op::RorV && is_const(i.b)) {  // by a constant: a plain shift
            i.imm = c[i.b].imm % (i.w64 ? 64 : 32);
            i.op = static_cast<Op>(static_cast<unsigned>(i.op) - static_cast<unsigned>(Op::ShlV) +
                                   static_cast<unsigned>(Op::Shl));
            i.b = kNone;
        }
        if ((i.op == Op::Sext || i.op == Op::Bswap || i.op == Op::Clz) && is_const(i.a)) {
            constant(v, compute(i.op, i.w64, c[i.a].imm, 0, i.imm));
            continue;
        }
        if (shift(i.op)) {
            if (is_const(i.a)) constant(v, compute(i.op, i.w64, c[i.a].imm, 0, i.imm));
            else if (i.imm == 0 && (i.w64 || zext(i.a))) same(v, i.a);
        }
    }
    // dead sets: a register the run sets again (no Get of it comes after
    // its first Set: forwarded above)
    bool later[33] = {}, laterv[32] = {};
    for (size_t v = c.size(); v-- > 0;) {
        Inst& i = c[v];
        if (access(i.op) || i.op == Op::VFp) {  // (what a fault, or the handler, would see)
            std::fill(std::begin(later), std::end(later), false);
            std::fill(std::begin(laterv), std::end(laterv), false);
        }
        if (i.op != Op::Set && i.op != Op::VSet) continue;
        bool& l = i.op == Op::Set ? later[i.reg] : laterv[i.reg];
        if (l) i.op = Op::Nop;
        l = true;
    }
    // dead code: what no Set needs
    used.assign(c.size(), false);
    for (size_t v = c.size(); v-- > 0;) {
        Inst& i = c[v];
        if (i.op == Op::Nop) continue;
        if (i.op != Op::Set && i.op != Op::VSet && i.op != Op::Monitor && i.op != Op::VFp && !sets_nzcv(i.op) &&
            !branch(i.op) && !access(i.op) && !used[v]) {
            i.op = Op::Nop;
            continue;
        }
        if (i.a != kNone) used[i.a] = true;
        if (i.b != kNone) used[i.b] = true;
        if (i.c != kNone) used[i.c] = true;
    }
}

void evaluate(const Run& r, uint64_t (&x)[33], uint32_t& nzcv, uint64_t block_va, uint64_t* to,
              std::vector<uint8_t>* mem, V128* vregs) {
    std::vector<uint64_t> val(r.code.size()), addr(r.code.size());  // (addr: an access's)
    std::vector<V128> vval(r.code.size());
    for (size_t v = 0; v < r.code.size(); ++v) {
        const Inst& i = r.code[v];
        if (is_vec(i.op)) {
            if (!vregs) continue;
            auto at = [&](uint32_t o) { return o == kNone ? V128{} : vval[o]; };
            uint64_t g = i.op == Op::VDup ? val[i.a] : i.op == Op::VInsert ? val[i.b] : 0;  // (a general operand)
            if (i.op >= Op::VLoad) {  // (as Load..Store2 below, 16 bytes at most)
                bool second = i.op == Op::VLoad2 || i.op == Op::VStore2;
                uint64_t where = second ? addr[i.a] + i.imm * i.aux : val[i.a];
                addr[v] = where;
                if (!mem || where + i.imm > mem->size()) continue;
                uint8_t bytes[16] = {};
                if (i.op == Op::VLoad || i.op == Op::VLoad2) {
                    for (unsigned k = 0; k < i.imm; ++k) bytes[k] = (*mem)[where + k];
                    std::memcpy(&vval[v], bytes, 16);
                } else {
                    std::memcpy(bytes, &vval[i.b], 16);
                    for (unsigned k = 0; k < i.imm; ++k) (*mem)[where + k] = bytes[k];
                }
                continue;
            }
            if (i.op == Op::VGet) vval[v] = vregs[i.reg];
            else if (i.op == Op::VSet) vregs[i.reg] = at(i.a);
            else if (i.op == Op::VExtract) val[v] = vextract(at(i.a), static_cast<unsigned>(i.imm), i.aux);
            else if (i.op == Op::VInsert) vval[v] = vinsert(at(i.a), g, static_cast<unsigned>(i.imm), i.aux);
            else if (i.op == Op::VDup) vval[v] = vdup(g, static_cast<unsigned>(i.imm));
            else if (i.op == Op::VFp) vval[v] = {};  // (not modelled: FPCR/FPSR, Arm's rules are the interpreter's)
            else if (i.op >= Op::VShlI && i.op <= Op::VAshrI)
                vval[v] = vshift(i.op, at(i.a), static_cast<unsigned>(i.imm), i.aux);
            else vval[v] = vcompute(i.op, i.imm, at(i.a), at(i.b), at(i.c));
            continue;
        }
        uint64_t a = i.a != kNone ? val[i.a] : 0, b = i.b != kNone ? val[i.b] : 0, c = i.c != kNone ? val[i.c] : 0;
        if (binary(i.op) && i.b == kNone) b = i.imm;  // (the immediate form)
        switch (i.op) {
        case Op::Nop: break;
        case Op::Const: val[v] = i.imm; break;
        case Op::Pc: val[v] = block_va + i.imm; break;
        case Op::Get: val[v] = x[i.reg]; break;
        case Op::Set: x[i.reg] = a; break;
        case Op::Cond: val[v] = a64::condition_holds(static_cast<uint32_t>(i.imm), nzcv); break;
        case Op::Select: case Op::Adc: val[v] = compute3(i.op, i.w64, a, b, c, i.imm); break;
        case Op::AdcS:
            val[v] = compute3(i.op, i.w64, a, b, c, i.imm);
            nzcv = nzcv3(i.op, i.w64, a, b, c, i.imm);
            break;
        case Op::CCmp: nzcv = nzcv3(i.op, i.w64, a, b, c, i.imm); break;
        case Op::Load: case Op::Load2: case Op::Store: case Op::Store2: {
            bool second = i.op == Op::Load2 || i.op == Op::Store2;
            uint64_t at = (second ? addr[i.a] + i.imm * i.aux : a);
            addr[v] = at;
            if (!mem || at + i.imm > mem->size()) break;
            if (i.op == Op::Load || i.op == Op::Load2) {
                uint64_t value = 0;
                for (unsigned k = 0; k < i.imm; ++k) value |= uint64_t{(*mem)[at + k]} << (8 * k);
                val[v] = value;
            } else {
                for (unsigned k = 0; k < i.imm; ++k) (*mem)[at + k] = static_cast<uint8_t>(b >> (8 * k));
            }
            break;
        }
        case Op::Monitor: break;  // (no state here)
        case Op::ZeroBlock: break;  // (the block's size is the CPU model's: not modelled here)
        case Op::Branch: case Op::Call: case Op::Ret: {
            uint64_t m = width_mask(i.w64);
            bool taken = i.reg == kAlways || (i.reg == kIfCond && a) || (i.reg == kIfZero && !(c & m)) ||
                         (i.reg == kIfNonZero && (c & m)) || (i.reg == kIfBitClear && !((c >> i.aux) & 1)) ||
                         (i.reg == kIfBitSet && ((c >> i.aux) & 1));
            if (taken && to) *to = i.b != kNone ? b : block_va + i.imm;
            break;
        }
        default:
            val[v] = compute(i.op, i.w64, a, b, i.imm);
            if (sets_nzcv(i.op)) nzcv = ir::nzcv(i.op, i.w64, a, b);
            break;
        }
    }
}

}  // namespace armvm::ir
