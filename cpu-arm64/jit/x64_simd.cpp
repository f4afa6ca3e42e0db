// The x86-64 backend: the SSE helpers of the IR's AdvSIMD and FP
// lowering (x64_ir.cpp): lane compares, pairwise operations, the FP fast
// path's checks, and what the host has (cpuid).
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

}  // namespace armvm::jit
