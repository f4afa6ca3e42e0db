// The x86-64 backend: the AdvSIMD and FP forms it compiles with SSE4
// (and FMA) outside the IR (x64_ir.cpp has the IR's): FADD/FSUB/FMUL/
// FDIV/FMLA/FMLS on ordinary lanes (three-same and by element), and the
// SSE helpers the IR's lowering shares. Everything else: the
// interpreter's handler.
#include <xbyak/xbyak_util.h>

#include "cpu-arm64/jit/x64.hpp"

namespace armvm::jit {

bool Emitter::host_sse42() {
    static const bool yes = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tSSE42);
    return yes;
}

bool Emitter::host_lzcnt() {
    static const bool yes = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tLZCNT);
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
    unsigned q = bit(i, 30), u = bit(i, 29), opcode = bits(i, 15, 11);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    // (the integer forms: the IR's, ir/sem.hpp)
    if (opcode < 0x18) return false;
    unsigned a = bit(i, 23), sz = bit(i, 22), op = bits(i, 13, 11), key = (u << 4) | (a << 3) | op;
    if (sz && !q) return false;
    return fp3(k, key, q, sz, rd, rn, rm, -1);
}

void Emitter::sign_bits(const Xbyak::Xmm& x, unsigned size) {
    pcmpeqd(x, x);
    switch (size) {
    case 0: psllw(x, 15); packsswb(x, x); break;  // (0x8000 words saturate to 0x80 bytes)
    case 1: psllw(x, 15); break;
    case 2: pslld(x, 31); break;
    default: psllq(x, 63); break;
    }
}

void Emitter::cmpeq(const Xbyak::Xmm& x, const Xbyak::Xmm& y, unsigned size) {
    switch (size) {
    case 0: pcmpeqb(x, y); break;
    case 1: pcmpeqw(x, y); break;
    case 2: pcmpeqd(x, y); break;
    default: pcmpeqq(x, y); break;
    }
}

void Emitter::cmpgt(const Xbyak::Xmm& x, const Xbyak::Xmm& y, unsigned size) {
    switch (size) {
    case 0: pcmpgtb(x, y); break;
    case 1: pcmpgtw(x, y); break;
    case 2: pcmpgtd(x, y); break;
    default: pcmpgtq(x, y); break;
    }
}

// xmm0 = the pairwise op over the lanes of xmm0 (low half of the result)
// and xmm1 (high half): op 0 max, 1 min, 2 add; `sign` for max and min.
// Clobbers xmm1-xmm3.
void Emitter::pairwise(int op, bool sign, unsigned size) {
    if (op == 2 && size == 1) return phaddw(xmm0, xmm1);
    if (op == 2 && size == 2) return phaddd(xmm0, xmm1);
    if (size == 3) {  // ADDP .2d: n0+n1, m0+m1
        movdqa(xmm2, xmm0);
        punpcklqdq(xmm0, xmm1);
        punpckhqdq(xmm2, xmm1);
        paddq(xmm0, xmm2);
        return;
    }
    if (size == 2) {  // max/min of words: the even lanes against the odd ones
        movdqa(xmm2, xmm0);
        shufps(xmm0, xmm1, 0x88);  // n0 n2 m0 m2
        shufps(xmm2, xmm1, 0xdd);  // n1 n3 m1 m3
        if (op == 0) sign ? pmaxsd(xmm0, xmm2) : pmaxud(xmm0, xmm2);
        else sign ? pminsd(xmm0, xmm2) : pminud(xmm0, xmm2);
        return;
    }
    // Bytes and halfwords: each register's even and odd lanes widened to
    // twice the size, combined, and packed back (no value overflows: add
    // keeps the low bits by a mask first).
    bool arith = sign && op != 2;  // (sign-extend the halves for signed max/min)
    uint8_t half = size == 0 ? 8 : 16;
    auto down = [&](const Xbyak::Xmm& x) {
        if (size == 0) arith ? psraw(x, half) : psrlw(x, half);
        else arith ? psrad(x, half) : psrld(x, half);
    };
    auto split = [&](const Xbyak::Xmm& v, const Xbyak::Xmm& odd) {
        movdqa(odd, v);
        down(odd);
        size == 0 ? psllw(v, half) : pslld(v, half);
        down(v);
        if (op == 2) {
            size == 0 ? paddw(v, odd) : paddd(v, odd);
            // (the sum's low bits only: cut it back to the lane width)
            size == 0 ? psllw(v, 8) : pslld(v, 16);
            size == 0 ? psrlw(v, 8) : psrld(v, 16);
        } else if (size == 0) {
            op == 0 ? pmaxsw(v, odd) : pminsw(v, odd);  // (bytes widened: signed 16-bit compares are exact)
        } else if (sign) {
            op == 0 ? pmaxsd(v, odd) : pminsd(v, odd);
        } else {
            op == 0 ? pmaxud(v, odd) : pminud(v, odd);
        }
    };
    split(xmm0, xmm2);
    split(xmm1, xmm3);
    if (size == 0) arith ? packsswb(xmm0, xmm1) : packuswb(xmm0, xmm1);
    else arith ? packssdw(xmm0, xmm1) : packusdw(xmm0, xmm1);
}

// By element: FMLA, FMLS, FMUL (fp3's lanes, the element broadcast).
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

}  // namespace armvm::jit
