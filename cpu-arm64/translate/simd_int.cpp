// AdvSIMD integer groups beyond three-same (ARM ARM C4.1.95): permute
// (ZIP/UZP/TRN), EXT, TBL/TBX, across lanes, shift by immediate and
// two-register miscellaneous. Vectors are handled as arrays of lanes.
#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>

#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"
#include "cpu-arm64/translate/vreg.hpp"

namespace armvm::a64 {

namespace {

uint64_t lmask(unsigned esize) { return lane_mask(esize); }

// A vector register as lanes of `esize` bytes (up to 16 lanes).
struct Lanes {
    std::array<uint64_t, 16> e{};
    unsigned n = 0, esize = 1;
};

Lanes read_lanes(const Cpu& c, unsigned r, unsigned esize, unsigned bytes) {
    Lanes l;
    l.esize = esize;
    l.n = bytes / esize;
    for (unsigned k = 0; k < l.n; ++k) {
        unsigned byte = k * esize;
        uint64_t half = c.s.v[r][byte / 8];
        l.e[k] = esize == 8 ? half : (half >> (8 * (byte % 8))) & lmask(esize);
    }
    return l;
}

// Writes `n` lanes of `esize` bytes to V[r] and zeroes the rest.
void write_lanes(Cpu& c, unsigned r, const std::array<uint64_t, 16>& e, unsigned n, unsigned esize) {
    uint64_t out[2] = {0, 0};
    for (unsigned k = 0; k < n; ++k) {
        unsigned byte = k * esize;
        out[byte / 8] |= (e[k] & lmask(esize)) << (8 * (byte % 8));
    }
    c.s.v[r][0] = out[0];
    c.s.v[r][1] = out[1];
}

int64_t sx(uint64_t v, unsigned esize) { return sext(v, 8 * esize); }

uint64_t sat_signed(Cpu& c, __int128 v, unsigned esize) {
    __int128 hi = (static_cast<__int128>(1) << (8 * esize - 1)) - 1, lo = -hi - 1;
    if (v > hi || v < lo) {
        c.s.fpsr |= 1u << 27;
        v = v > hi ? hi : lo;
    }
    return static_cast<uint64_t>(v) & lmask(esize);
}

uint64_t sat_unsigned(Cpu& c, __int128 v, unsigned esize) {
    __int128 hi = esize == 8 ? static_cast<__int128>(~0ull) : (static_cast<__int128>(1) << (8 * esize)) - 1;
    if (v > hi || v < 0) {
        c.s.fpsr |= 1u << 27;
        v = v > hi ? hi : 0;
    }
    return static_cast<uint64_t>(v);
}

}  // namespace

bool simd_fp_2misc(Cpu& c, uint32_t i, bool scalar);  // fp.cpp
bool simd_fp_fixed(Cpu& c, uint32_t i);  // fp.cpp
bool simd_fp_pair_scalar(Cpu& c, uint32_t i);  // fp.cpp
bool simd_fp_elem_scalar(Cpu& c, uint32_t i);  // fp.cpp
bool simd_fcma(Cpu& c, uint32_t i);  // fp.cpp
bool simd_bf16(Cpu& c, uint32_t i);  // fp.cpp
bool simd_fp_across(Cpu& c, uint32_t i);  // fp.cpp
bool simd_fhm(Cpu& c, uint32_t i, int index);  // fp.cpp
void exec_SIMD_3SAME_FP16(Cpu& c, uint32_t i);  // fp.cpp

void exec_SIMD_PERMUTE(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), size = bits(i, 23, 22), op = bits(i, 14, 12);
    if ((size == 3 && !q) || op == 0 || op == 4) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << size, bytes = q ? 16 : 8;
    Lanes n = read_lanes(c, bits(i, 9, 5), esize, bytes), m = read_lanes(c, bits(i, 20, 16), esize, bytes);
    unsigned cnt = n.n, part = op >> 2;  // 0: the ...1 forms, 1: the ...2 forms
    std::array<uint64_t, 16> r{};
    for (unsigned k = 0; k < cnt; ++k) {
        switch (op & 3) {
        case 1:  // UZP: even (or odd) lanes of n:m
            r[k] = (2 * k + part) < cnt ? n.e[2 * k + part] : m.e[2 * k + part - cnt];
            break;
        case 2:  // TRN
            r[k] = (k & 1) ? m.e[(k & ~1u) + part] : n.e[(k & ~1u) + part];
            break;
        default:  // ZIP: interleave the low (or high) halves
            r[k] = (k & 1) ? m.e[part * cnt / 2 + k / 2] : n.e[part * cnt / 2 + k / 2];
            break;
        }
    }
    write_lanes(c, bits(i, 4, 0), r, cnt, esize);
}

void exec_SIMD_EXT(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), imm4 = bits(i, 14, 11);
    if (!q && imm4 > 7) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned bytes = q ? 16 : 8;
    Lanes n = read_lanes(c, bits(i, 9, 5), 1, bytes), m = read_lanes(c, bits(i, 20, 16), 1, bytes);
    std::array<uint64_t, 16> r{};
    for (unsigned k = 0; k < bytes; ++k) r[k] = k + imm4 < bytes ? n.e[k + imm4] : m.e[k + imm4 - bytes];
    write_lanes(c, bits(i, 4, 0), r, bytes, 1);
}

void exec_SIMD_TBL(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), len = bits(i, 14, 13) + 1, tbx = bit(i, 12);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if (!c.fp_enabled()) return;
    unsigned bytes = q ? 16 : 8;
    uint8_t table[64];
    for (unsigned t = 0; t < len; ++t)
        for (unsigned b = 0; b < 16; ++b) table[16 * t + b] = static_cast<uint8_t>(c.s.v[(rn + t) % 32][b / 8] >> (8 * (b % 8)));
    Lanes idx = read_lanes(c, bits(i, 20, 16), 1, bytes), old = read_lanes(c, rd, 1, bytes);
    std::array<uint64_t, 16> r{};
    for (unsigned k = 0; k < bytes; ++k) r[k] = idx.e[k] < 16 * len ? table[idx.e[k]] : (tbx ? old.e[k] : 0);
    write_lanes(c, rd, r, bytes, 1);
}

void exec_SIMD_ACROSS(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 16, 12);
    if (op == 0x0c || op == 0x0f) {  // FMAXNMV, FMAXV, FMINNMV, FMINV
        if (!simd_fp_across(c, i)) c.undefined();
        return;
    }
    if (size == 3 || (size == 2 && !q)) return c.undefined();
    bool addlv = op == 0x03, maxv = op == 0x0a, minv = op == 0x1a, addv = op == 0x1b && !u;
    if (!addlv && !maxv && !minv && !addv) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << size;
    Lanes n = read_lanes(c, bits(i, 9, 5), esize, q ? 16 : 8);
    __int128 acc = u ? static_cast<__int128>(n.e[0]) : sx(n.e[0], esize);
    for (unsigned k = 1; k < n.n; ++k) {
        __int128 v = u ? static_cast<__int128>(n.e[k]) : sx(n.e[k], esize);
        if (addlv || addv)
            acc += v;
        else if (maxv)
            acc = v > acc ? v : acc;
        else
            acc = v < acc ? v : acc;
    }
    unsigned out = addlv ? 2 * esize : esize;  // SADDLV/UADDLV widen
    std::array<uint64_t, 16> r{};
    r[0] = static_cast<uint64_t>(acc) & lmask(out);
    write_lanes(c, bits(i, 4, 0), r, 1, out);
}

void exec_SIMD_SHIFT_IMM(Cpu& c, uint32_t i) {
    {  // (SSHR, USHR, SHL, SHRN, [SU]SHLL: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        sem::Outcome o = sem::simd_shift_imm(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    unsigned q = bit(i, 30), u = bit(i, 29), immh = bits(i, 22, 19), immb = bits(i, 18, 16), op = bits(i, 15, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned hsb = 31 - static_cast<unsigned>(__builtin_clz(immh));  // 0..3
    unsigned esize = 1u << hsb, bits_ = 8 * esize;
    unsigned immhb = (immh << 3) | immb;
    unsigned rshift = 2 * bits_ - immhb, lshift = immhb - bits_;
    bool narrow = op >= 0x10 && op <= 0x13;
    if (narrow) {
        if (hsb == 3) return c.undefined();
    } else if (hsb == 3 && !q) {
        return c.undefined();
    }
    if (op == 0x1c || op == 0x1f) {  // fixed-point SCVTF/UCVTF, FCVTZS/FCVTZU
        if (!simd_fp_fixed(c, i)) c.undefined();
        return;
    }
    bool known = op == 0x00 || op == 0x02 || op == 0x04 || op == 0x06 || (op == 0x08 && u) || op == 0x0a ||
                 (op == 0x0c && u) || op == 0x0e || narrow;
    if (!known) return c.undefined();
    if (!c.fp_enabled()) return;
    std::array<uint64_t, 16> r{};
    if (narrow) {  // source lanes are twice as wide; the shift is by the narrow size's range
        unsigned wsize = 2 * esize, sh = 2 * bits_ - immhb;  // right shift 1..bits_
        Lanes n = read_lanes(c, rn, wsize, 16);
        bool round = op & 1;
        unsigned cnt = 8 / esize;
        Lanes d = read_lanes(c, rd, esize, 16);
        std::array<uint64_t, 16> out = d.e;
        for (unsigned k = 0; k < cnt; ++k) {
            bool src_signed = op >= 0x12 ? !u : true;  // SQSHRUN: signed source; SQSHRN/UQSHRN by U
            if (op <= 0x11 && !u) src_signed = false;  // RSHRN: plain bits (SHRN: the template's)
            __int128 v = src_signed ? static_cast<__int128>(sx(n.e[k], wsize)) : static_cast<__int128>(n.e[k]);
            v = (v + (round ? static_cast<__int128>(1) << (sh - 1) : 0)) >> sh;
            uint64_t x;
            if (op <= 0x11 && !u)
                x = static_cast<uint64_t>(v) & lmask(esize);  // RSHRN
            else if (op <= 0x11)
                x = sat_unsigned(c, v, esize);  // SQSHRUN, SQRSHRUN: signed in, unsigned out
            else
                x = u ? sat_unsigned(c, v, esize) : sat_signed(c, v, esize);  // (U|S)Q(R)SHRN
            out[(q ? cnt : 0) + k] = x;
        }
        if (!q)
            for (unsigned k = cnt; k < 16; ++k) out[k] = 0;
        write_lanes(c, rd, out, 16 / esize, esize);
        return;
    }
    unsigned bytes = q ? 16 : 8;
    Lanes n = read_lanes(c, rn, esize, bytes), d = read_lanes(c, rd, esize, bytes);
    for (unsigned k = 0; k < n.n; ++k) {
        uint64_t a = n.e[k];
        __int128 x = u ? static_cast<__int128>(a) : static_cast<__int128>(sx(a, esize));
        switch (op) {
        case 0x02: case 0x04: case 0x06: {  // (S|U)SRA, (S|U)RSHR, (S|U)RSRA (SSHR, USHR: the template's)
            bool round = op & 4;
            __int128 v = (x + (round ? static_cast<__int128>(1) << (rshift - 1) : 0)) >> rshift;
            uint64_t res = static_cast<uint64_t>(v) & lmask(esize);
            r[k] = (op & 2) ? (d.e[k] + res) & lmask(esize) : res;
            break;
        }
        case 0x08: {  // SRI
            uint64_t m = rshift >= bits_ ? 0 : lmask(esize) >> rshift;
            uint64_t sh = rshift >= bits_ ? 0 : a >> rshift;
            r[k] = (d.e[k] & ~m) | (sh & m);
            break;
        }
        case 0x0a: {  // SLI (SHL: the template's)
            uint64_t m = (lmask(esize) << lshift) & lmask(esize);
            r[k] = (d.e[k] & ~m) | ((a << lshift) & lmask(esize));
            break;
        }
        default: {  // 0x0c SQSHLU, 0x0e SQSHL/UQSHL (immediate)
            __int128 v = (op == 0x0c ? static_cast<__int128>(sx(a, esize)) : x) * (static_cast<__int128>(1) << lshift);
            bool unsigned_out = op == 0x0c || u;
            r[k] = unsigned_out ? sat_unsigned(c, v, esize) : sat_signed(c, v, esize);
            break;
        }
        }
    }
    write_lanes(c, rd, r, n.n, esize);
}

void exec_SIMD_2MISC(Cpu& c, uint32_t i) {
    {  // (the forms written once, for the interpreter and the JIT: ir/sem.hpp)
        InterpBuilder b(c);
        sem::Outcome o = sem::simd_2misc(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 16, 12);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    // (NOT and RBIT work on bytes whatever `size` says)
    unsigned esize = ((u << 5) | op) == 0x25 ? 1 : 1u << size, bytes = q ? 16 : 8;
    auto undef_if = [&](bool bad) {
        if (bad) c.undefined();
        return bad;
    };
    // Which (U, opcode, size) combinations exist (integer forms only).
    switch ((u << 5) | op) {
    case 0x00: case 0x20:  // REV64, REV32
        if (undef_if(size == 3 || (u && size >= 2))) return;
        break;
    case 0x01:  // REV16
        if (undef_if(size != 0)) return;
        break;
    case 0x02: case 0x22: case 0x06: case 0x26:  // (S|U)ADDLP, (S|U)ADALP
        if (undef_if(size == 3)) return;
        break;
    case 0x03: case 0x23: case 0x07: case 0x27:  // SUQADD, USQADD, SQABS, SQNEG
        if (undef_if(size == 3 && !q)) return;
        break;
    case 0x04: case 0x24:  // CLS, CLZ
        if (undef_if(size == 3)) return;
        break;
    case 0x05:  // CNT
        if (undef_if(size != 0)) return;
        break;
    case 0x25:  // RBIT (size 1; NOT, size 0: the semantics template's)
        if (undef_if(size != 1)) return;
        break;
    case 0x12: case 0x14: case 0x32: case 0x34:  // XTN/SQXTUN, SQXTN/UQXTN
        if (undef_if(size == 3)) return;
        break;
    case 0x33:  // SHLL
        if (undef_if(size == 3)) return;
        break;
    default:
        if (!simd_fp_2misc(c, i, false)) c.undefined();
        return;
    }
    if (!c.fp_enabled()) return;
    std::array<uint64_t, 16> r{};
    unsigned code = (u << 5) | op;
    if (code == 0x12 || code == 0x14 || code == 0x32 || code == 0x34) {  // narrowing to the low/high half
        Lanes n = read_lanes(c, rn, 2 * esize, 16), d = read_lanes(c, rd, esize, 16);
        unsigned cnt = 8 / esize;
        std::array<uint64_t, 16> out = d.e;
        for (unsigned k = 0; k < cnt; ++k) {
            uint64_t w = n.e[k];
            uint64_t x;
            if (code == 0x12)
                x = w & lmask(esize);  // XTN
            else if (code == 0x32)
                x = sat_unsigned(c, sx(w, 2 * esize), esize);  // SQXTUN
            else if (code == 0x14)
                x = sat_signed(c, sx(w, 2 * esize), esize);  // SQXTN
            else
                x = sat_unsigned(c, static_cast<__int128>(w), esize);  // UQXTN
            out[(q ? cnt : 0) + k] = x;
        }
        if (!q)
            for (unsigned k = cnt; k < 16; ++k) out[k] = 0;
        write_lanes(c, rd, out, 16 / esize, esize);
        return;
    }
    if (code == 0x33) {  // SHLL: widen the low/high half, shift by the element size
        Lanes n = read_lanes(c, rn, esize, 16);
        unsigned cnt = 8 / esize;
        for (unsigned k = 0; k < cnt; ++k) r[k] = (n.e[(q ? cnt : 0) + k] << (8 * esize)) & lmask(2 * esize);
        write_lanes(c, rd, r, cnt, 2 * esize);
        return;
    }
    if (code == 0x02 || code == 0x22 || code == 0x06 || code == 0x26) {  // pairwise add long
        Lanes n = read_lanes(c, rn, esize, bytes), d = read_lanes(c, rd, 2 * esize, bytes);
        for (unsigned k = 0; k < n.n / 2; ++k) {
            uint64_t a = n.e[2 * k], b = n.e[2 * k + 1];
            uint64_t sum = u ? a + b : static_cast<uint64_t>(sx(a, esize) + sx(b, esize));
            r[k] = ((op == 0x06 ? d.e[k] : 0) + sum) & lmask(2 * esize);
        }
        write_lanes(c, rd, r, n.n / 2, 2 * esize);
        return;
    }
    if (code == 0x00 || code == 0x20 || code == 0x01) {  // REV64/REV32/REV16: reverse lanes in containers
        unsigned container = code == 0x00 ? 8 : code == 0x20 ? 4 : 2;
        Lanes n = read_lanes(c, rn, esize, bytes);
        unsigned per = container / esize;
        for (unsigned k = 0; k < n.n; ++k) r[k] = n.e[(k / per) * per + (per - 1 - k % per)];
        write_lanes(c, rd, r, n.n, esize);
        return;
    }
    Lanes n = read_lanes(c, rn, esize, bytes), d = read_lanes(c, rd, esize, bytes);
    unsigned bits_ = 8 * esize;
    for (unsigned k = 0; k < n.n; ++k) {
        uint64_t a = n.e[k];
        int64_t sa = sx(a, esize);
        uint64_t x;
        switch (code) {
        case 0x03: x = sat_signed(c, static_cast<__int128>(sx(d.e[k], esize)) + static_cast<__int128>(a), esize); break;  // SUQADD
        case 0x23: x = sat_unsigned(c, static_cast<__int128>(d.e[k]) + sa, esize); break;  // USQADD
        case 0x07: x = sat_signed(c, sa < 0 ? -static_cast<__int128>(sa) : sa, esize); break;  // SQABS
        case 0x27: x = sat_signed(c, -static_cast<__int128>(sa), esize); break;               // SQNEG
        case 0x04: {  // CLS
            uint64_t v = (sa < 0 ? ~a : a) & lmask(esize);
            unsigned lz = v ? static_cast<unsigned>(__builtin_clzll(v)) - (64 - bits_) : bits_;
            x = lz - 1;
            break;
        }
        case 0x24: x = a ? static_cast<unsigned>(__builtin_clzll(a)) - (64 - bits_) : bits_; break;  // CLZ
        case 0x05: x = static_cast<uint64_t>(__builtin_popcountll(a)); break;  // CNT
        default:  // 0x25: RBIT
            x = 0;
            for (unsigned b = 0; b < 8; ++b)
                if ((a >> b) & 1) x |= 1ull << (7 - b);
            break;
        }
        r[k] = x & lmask(esize);
    }
    write_lanes(c, rd, r, n.n, esize);
}

// AdvSIMD three different: long (L), wide (W) and narrowing high-half (HN)
// forms; the "2" variants (Q = 1) take the upper halves of their narrow
// inputs and write the upper half of a narrow result.
namespace {

// ABAL and ABDL (the other common forms: ir/sem.hpp's simd_3diff) for one
// element size at once: the lanes straight from the registers' bytes (the
// host is little-endian like the guest's lane order), the arithmetic in
// 64 bits (exact for these widths) and the wide result truncated.
template <typename N, typename W, bool Signed>
void diff_fast(Cpu& c, unsigned op, unsigned q, unsigned rn, unsigned rm, unsigned rd) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
    using X = std::conditional_t<Signed, int64_t, uint64_t>;  // a lane sign- or zero-extended
    constexpr unsigned cnt = 8 / sizeof(N);
    N a[cnt], b[cnt];
    W d[cnt], r[cnt];
    std::memcpy(a, reinterpret_cast<const uint8_t*>(c.s.v[rn]) + (q ? 8 : 0), 8);
    std::memcpy(b, reinterpret_cast<const uint8_t*>(c.s.v[rm]) + (q ? 8 : 0), 8);
    std::memcpy(d, c.s.v[rd], 16);
    for (unsigned k = 0; k < cnt; ++k) {
        // (sign- or zero-extended to 64 bits: - is exact modulo 2^64)
        uint64_t x = static_cast<uint64_t>(static_cast<X>(a[k])), y = static_cast<uint64_t>(static_cast<X>(b[k]));
        bool gt = Signed ? static_cast<int64_t>(x) > static_cast<int64_t>(y) : x > y;
        uint64_t v = gt ? x - y : y - x;
        r[k] = static_cast<W>(op == 0x5 ? static_cast<uint64_t>(d[k]) + v : v);  // ABAL, ABDL
    }
    std::memcpy(c.s.v[rd], r, 16);
}

}  // namespace

void exec_SIMD_3DIFF(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 15, 12);
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    bool sqd = op == 0x9 || op == 0xb || op == 0xd;
    bool pmull64 = op == 0xe && size == 3;  // PMULL(2) Vd.1Q: the crypto extension's
    if (op == 0xf || (sqd && (u || size == 0 || size == 3)) || (op == 0xe && (u || (size != 0 && !pmull64))) ||
        (pmull64 && !c.has_pmull()) || (!sqd && op != 0xe && size == 3))
        return c.undefined();
    {  // (the widening add/sub/multiply forms: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        sem::Outcome o = sem::simd_3diff(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    if (!c.fp_enabled()) return;
    if (!sqd && size < 3 && (op == 0x5 || op == 0x7)) {
        switch (size * 2 + u) {
        case 0: return diff_fast<int8_t, int16_t, true>(c, op, q, rn, rm, rd);
        case 1: return diff_fast<uint8_t, uint16_t, false>(c, op, q, rn, rm, rd);
        case 2: return diff_fast<int16_t, int32_t, true>(c, op, q, rn, rm, rd);
        case 3: return diff_fast<uint16_t, uint32_t, false>(c, op, q, rn, rm, rd);
        case 4: return diff_fast<int32_t, int64_t, true>(c, op, q, rn, rm, rd);
        default: return diff_fast<uint32_t, uint64_t, false>(c, op, q, rn, rm, rd);
        }
    }
    if (pmull64) {  // carry-less 64 x 64 -> 128 of the low (high) doublewords
        uint64_t a = c.s.v[rn][q], b = c.s.v[rm][q], lo = 0, hi = 0;
        for (unsigned k = 0; k < 64; ++k)
            if ((b >> k) & 1) {
                lo ^= a << k;
                if (k) hi ^= a >> (64 - k);
            }
        c.s.v[rd][0] = lo;
        c.s.v[rd][1] = hi;
        return;
    }
    unsigned esize = 1u << size, wsize = 2 * esize, cnt = 8 / esize;
    bool narrow_out = op == 0x4 || op == 0x6;
    Lanes n = read_lanes(c, rn, narrow_out ? wsize : esize, 16);
    Lanes m = read_lanes(c, rm, narrow_out ? wsize : esize, 16);
    Lanes d = read_lanes(c, rd, narrow_out ? esize : wsize, 16);
    unsigned half = q ? cnt : 0;
    std::array<uint64_t, 16> r{};
    for (unsigned k = 0; k < cnt; ++k) {
        if (narrow_out) {  // (R)ADDHN, (R)SUBHN: wide inputs, high half of the result
            uint64_t a = n.e[k], b = m.e[k];
            uint64_t v = op == 0x4 ? a + b : a - b;
            if (u) v += 1ull << (8 * esize - 1);
            r[k] = (v & lmask(wsize)) >> (8 * esize);
            continue;
        }
        uint64_t a = n.e[half + k], b = m.e[half + k];
        __int128 x = u ? static_cast<__int128>(a) : sx(a, esize);
        __int128 y = u ? static_cast<__int128>(b) : sx(b, esize);
        __int128 acc = u ? static_cast<__int128>(d.e[k]) : sx(d.e[k], wsize);
        __int128 v;
        switch (op) {
        case 0xe: {  // PMULL (bytes)
            uint64_t p = 0;
            for (unsigned bit_ = 0; bit_ < 8; ++bit_)
                if ((b >> bit_) & 1) p ^= a << bit_;
            v = p;
            break;
        }
        default: {  // SQDMULL, SQDMLAL, SQDMLSL: saturating doubling
            uint64_t prod = sat_signed(c, x * y * 2, wsize);
            if (op == 0xd) {
                v = sx(prod, wsize);
            } else {
                __int128 p = sx(prod, wsize);
                r[k] = sat_signed(c, op == 0x9 ? acc + p : acc - p, wsize);
                continue;
            }
            break;
        }
        }
        r[k] = static_cast<uint64_t>(v) & lmask(wsize);
    }
    if (narrow_out) {
        Lanes old = read_lanes(c, rd, esize, 16);
        std::array<uint64_t, 16> out{};
        for (unsigned k = 0; k < 16 / esize; ++k) out[k] = q ? old.e[k] : 0;
        for (unsigned k = 0; k < cnt; ++k) out[half + k] = r[k];
        write_lanes(c, rd, out, 16 / esize, esize);
    } else {
        write_lanes(c, rd, r, cnt, wsize);
    }
}

// AdvSIMD vector x indexed element: the indexed element of Vm is
// broadcast into a scratch register, and the equivalent vector form (three
// same or three different) runs with it as its second operand.
namespace {

// V[scratch] = element `index` of V[rm] (of `esize` bytes) in every lane
// (`all`) or lane 0 only, the other lanes zero; returns the scratch
// register (not rn, rd or rm) and its old value in `saved`, to give back.
unsigned broadcast(Cpu& c, unsigned rm, unsigned index, unsigned esize, bool all, unsigned rn, unsigned rd,
                   uint64_t (&saved)[2]) {
    unsigned scratch = 0;
    while (scratch == rn || scratch == rd || scratch == rm) ++scratch;
    unsigned byte = index * esize;
    uint64_t e = (c.s.v[rm][byte / 8] >> (8 * (byte % 8))) & lmask(esize), rep = 0;
    for (unsigned k = 0; k < (all ? 8 / esize : 1); ++k) rep |= e << (8 * esize * k);
    saved[0] = c.s.v[scratch][0];
    saved[1] = c.s.v[scratch][1];
    c.s.v[scratch][0] = rep;
    c.s.v[scratch][1] = all ? rep : 0;
    return scratch;
}

// The by-element forms of three-same extra (ARM ARM C4.1.95, issue 20):
// SQRDMLAH/SQRDMLSH (FEAT_RDM), SDOT/UDOT (FEAT_DotProd), SUDOT/USDOT
// (FEAT_I8MM), FCMLA (FEAT_FCMA), run as the vector form with the element
// broadcast. False if `i` is not one of them.
bool elem_extra(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), l = bit(i, 21), mbit = bit(i, 20);
    unsigned rm4 = bits(i, 19, 16), op = bits(i, 15, 12), h = bit(i, 11), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    unsigned key = (u << 4) | op, xop;  // (the vector form's opcode)
    if (u && (op & 9) == 1) {  // FCMLA (by element; single precision: the pair at H, Q 1; half: at H:L)
        bool half = size == 1 && c.has_fp16() && (q || !h);
        if (!c.has_fcma() || !(half || (size == 2 && !l && q))) {
            c.undefined();
            return true;
        }
        if (!c.fp_enabled()) return true;
        uint64_t saved[2];
        unsigned scratch = half ? broadcast(c, (mbit << 4) | rm4, (h << 1) | l, 4, true, rn, rd, saved)
                                : broadcast(c, (mbit << 4) | rm4, h, 8, true, rn, rd, saved);
        exec_SIMD_3SAME_EXTRA(c, (q << 30) | (1u << 29) | (0b01110u << 24) | (size << 22) | (scratch << 16) |
                                     (1u << 15) | ((8u | ((op >> 1) & 3)) << 11) | (1u << 10) | (rn << 5) | rd);
        c.s.v[scratch][0] = saved[0];
        c.s.v[scratch][1] = saved[1];
        return true;
    }
    if (key == 0x0f && (size == 1 || size == 3)) {  // BFDOT (the pair at H:L), BFMLALB/T (the half at H:L:M)
        if (!c.has_bf16()) {
            c.undefined();
            return true;
        }
        if (!c.fp_enabled()) return true;
        bool mlal = size == 3;
        uint64_t saved[2];
        unsigned scratch = mlal ? broadcast(c, rm4, (h << 2) | (l << 1) | mbit, 2, true, rn, rd, saved)
                                : broadcast(c, (mbit << 4) | rm4, (h << 1) | l, 4, true, rn, rd, saved);
        exec_SIMD_3SAME_EXTRA(c, (q << 30) | (1u << 29) | (0b01110u << 24) | (size << 22) | (scratch << 16) |
                                     (1u << 15) | (15u << 11) | (1u << 10) | (rn << 5) | rd);
        c.s.v[scratch][0] = saved[0];
        c.s.v[scratch][1] = saved[1];
        return true;
    }
    bool rdm = key == 0x1d || key == 0x1f, dot = op == 0xe, usdot = key == 0x0f && (size == 0 || size == 2);
    if (!rdm && !dot && !usdot) return false;
    if (rdm ? !c.has_rdm() || (size != 1 && size != 2) : dot ? !c.has_dotprod() || size != 2 : !c.has_i8mm()) {
        c.undefined();
        return true;
    }
    if (!c.fp_enabled()) return true;
    unsigned esize = rdm ? 1u << size : 4, index, rm;
    if (rdm && size == 1) {
        index = (h << 2) | (l << 1) | mbit;
        rm = rm4;
    } else {
        index = (h << 1) | l;
        rm = (mbit << 4) | rm4;
    }
    xop = rdm ? (op == 0xf ? 1 : 0) : dot ? 2 : 3;
    uint64_t saved[2];
    unsigned scratch = broadcast(c, rm, index, esize, true, rn, rd, saved);
    // (SUDOT: Vn signed, the element unsigned, is USDOT with the two swapped)
    unsigned xn = usdot && size == 0 ? scratch : rn, xm = usdot && size == 0 ? rn : scratch;
    exec_SIMD_3SAME_EXTRA(c, (q << 30) | ((rdm || dot ? u : 0) << 29) | (0b01110u << 24) | ((rdm ? size : 2) << 22) |
                                 (xm << 16) | (1u << 15) | (xop << 11) | (1u << 10) | (xn << 5) | rd);
    c.s.v[scratch][0] = saved[0];
    c.s.v[scratch][1] = saved[1];
    return true;
}

}  // namespace

void exec_SIMD_ELEM(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), l = bit(i, 21), mbit = bit(i, 20);
    unsigned rm4 = bits(i, 19, 16), op = bits(i, 15, 12), h = bit(i, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    {  // (FMLA, FMLS, FMUL of singles and doubles: ir/sem.hpp, for the interpreter and the JIT)
        InterpBuilder b(c);
        sem::Outcome o = sem::simd_elem(b, i);
        if (o == sem::Outcome::Undefined) c.undefined();
        if (o != sem::Outcome::Uncovered) return;
    }
    if (elem_extra(c, i)) return;
    if (size == 2 && (op & 3) == 0 && (op & 8) == (u << 3)) {  // FMLAL, FMLSL (U 0), FMLAL2, FMLSL2 (U 1)
        if (!simd_fhm(c, i, static_cast<int>((h << 2) | (l << 1) | mbit))) c.undefined();
        return;
    }
    bool fp = (!u && (op == 1 || op == 5 || op == 9)) || (u && op == 9);
    unsigned esize, index, rm;
    if (fp) {  // FMLA, FMLS, FMUL, FMULX (size 0: half precision, FEAT_FP16)
        if (size == 1 || (size == 0 && !c.has_fp16()) || (size == 3 && (l || !q))) return c.undefined();
        esize = size == 3 ? 8 : size == 2 ? 4 : 2;
        index = size == 3 ? h : size == 2 ? (h << 1) | l : (h << 2) | (l << 1) | mbit;
        rm = size == 0 ? rm4 : (mbit << 4) | rm4;
    } else {
        if (size != 1 && size != 2) return c.undefined();
        esize = 1u << size;
        index = size == 1 ? (h << 2) | (l << 1) | mbit : (h << 1) | l;
        rm = size == 1 ? rm4 : (mbit << 4) | rm4;
    }
    // The equivalent vector instruction, with Rm to be filled in.
    uint32_t vec;
    bool three_same = true;
    unsigned vop = 0, vu = 0;
    switch ((u << 4) | op) {
    case 0x08: vop = 0x13; break;                         // MUL
    case 0x10: vop = 0x12; break;                         // MLA
    case 0x14: vop = 0x12; vu = 1; break;                 // MLS
    case 0x0c: vop = 0x16; break;                         // SQDMULH
    case 0x0d: vop = 0x16; vu = 1; break;                 // SQRDMULH
    case 0x01: vop = 0x19; break;                         // FMLA (a = 0)
    case 0x05: vop = 0x19; break;                         // FMLS (a = 1, below)
    case 0x09: vop = 0x1b; vu = 1; break;                 // FMUL
    case 0x19: vop = 0x1b; break;                         // FMULX
    case 0x02: case 0x12: three_same = false; vop = 0x8; vu = u; break;  // (S|U)MLAL
    case 0x06: case 0x16: three_same = false; vop = 0xa; vu = u; break;  // (S|U)MLSL
    case 0x0a: case 0x1a: three_same = false; vop = 0xc; vu = u; break;  // (S|U)MULL
    case 0x03: three_same = false; vop = 0x9; break;      // SQDMLAL
    case 0x07: three_same = false; vop = 0xb; break;      // SQDMLSL
    case 0x0b: three_same = false; vop = 0xd; break;      // SQDMULL
    default: return c.undefined();
    }
    if (!c.fp_enabled()) return;
    unsigned vsize = fp ? ((op == 5 ? 2u : 0u) | (size == 3 ? 1u : 0u)) : size;
    unsigned scratch = 0;
    while (scratch == rn || scratch == rd || scratch == rm) ++scratch;
    // The broadcast element, taken before anything is written.
    unsigned byte = index * esize;
    uint64_t half = c.s.v[rm][byte / 8];
    uint64_t e = esize == 8 ? half : (half >> (8 * (byte % 8))) & lmask(esize);
    uint64_t saved[2] = {c.s.v[scratch][0], c.s.v[scratch][1]};
    uint64_t rep = 0;
    for (unsigned k = 0; k < 8 / esize; ++k) rep |= e << (8 * esize * k);
    c.s.v[scratch][0] = c.s.v[scratch][1] = rep;
    if (fp && size == 0) {  // the three-same (FP16) form: a at 23, bit 22 set, bit 21 clear, opcode<2:0>
        vec = (q << 30) | (vu << 29) | (0b01110u << 24) | ((vsize >> 1) << 23) | (1u << 22) | (scratch << 16) |
              ((vop & 7) << 11) | (1u << 10) | (rn << 5) | rd;
        exec_SIMD_3SAME_FP16(c, vec);
    } else if (three_same) {
        vec = (q << 30) | (vu << 29) | (0b01110u << 24) | (vsize << 22) | (1u << 21) | (scratch << 16) | (vop << 11) |
              (1u << 10) | (rn << 5) | rd;
        exec_SIMD_3SAME(c, vec);
    } else {
        vec = (q << 30) | (vu << 29) | (0b01110u << 24) | (size << 22) | (1u << 21) | (scratch << 16) | (vop << 12) |
              (rn << 5) | rd;
        exec_SIMD_3DIFF(c, vec);
    }
    c.s.v[scratch][0] = saved[0];
    c.s.v[scratch][1] = saved[1];
}

// ---- AdvSIMD scalar forms: the vector operation on lane 0 alone. The
// other lanes of the operands are zero while it runs (so they cannot set
// FPSR.QC), the source registers get their values back, and the result
// keeps only lane 0 (`esize` bytes).
namespace {

void scalar_via_vector(Cpu& c, uint32_t i, void (*vec)(Cpu&, uint32_t), unsigned esize, unsigned src_esize,
                       bool uses_m) {
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), rd = bits(i, 4, 0);
    uint64_t sn[2] = {c.s.v[rn][0], c.s.v[rn][1]}, sm[2] = {c.s.v[rm][0], c.s.v[rm][1]};
    auto keep_lane0 = [](uint64_t* v, unsigned es) {
        v[1] = 0;
        if (es < 8) v[0] &= lmask(es);
    };
    // (a destination that is also a source keeps the source's lane size)
    keep_lane0(c.s.v[rd], rd == rn || (uses_m && rd == rm) ? std::max(esize, src_esize) : esize);
    keep_lane0(c.s.v[rn], src_esize);
    if (uses_m) keep_lane0(c.s.v[rm], src_esize);
    vec(c, (i & ~(1u << 28)) | (1u << 30));  // the vector form, Q = 1
    uint64_t r = c.s.v[rd][0] & lmask(esize);
    if (rn != rd) {
        c.s.v[rn][0] = sn[0];
        c.s.v[rn][1] = sn[1];
    }
    if (uses_m && rm != rd) {
        c.s.v[rm][0] = sm[0];
        c.s.v[rm][1] = sm[1];
    }
    c.s.v[rd][0] = r;
    c.s.v[rd][1] = 0;
}

}  // namespace

void exec_SIMDS_3SAME(Cpu& c, uint32_t i) {
    unsigned u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 15, 11);
    bool ok;
    switch (op) {
    case 0x01: case 0x05: case 0x09: case 0x0b: ok = true; break;            // saturating add/sub/shift
    case 0x06: case 0x07: case 0x08: case 0x0a: case 0x10: case 0x11: ok = size == 3; break;
    case 0x16: ok = size == 1 || size == 2; break;                            // SQ(R)DMULH
    default: {
        // FP: FMULX, FCMEQ, FRECPS, FRSQRTS, FCMGE, FACGE, FABD, FCMGT, FACGT
        unsigned key = (u << 4) | ((size >> 1) << 3) | (op & 7);
        if (op < 0x18) return c.undefined();
        ok = key == 0x03 || key == 0x04 || key == 0x07 || key == 0x0f || key == 0x14 || key == 0x15 ||
             key == 0x1a || key == 0x1c || key == 0x1d;
        if (!ok) return c.undefined();
        if (!c.fp_enabled()) return;
        unsigned esize = (size & 1) ? 8 : 4;
        scalar_via_vector(c, i, &exec_SIMD_3SAME, esize, esize, true);
        return;
    }
    }
    if (!ok) return c.undefined();
    if (!c.fp_enabled()) return;
    scalar_via_vector(c, i, &exec_SIMD_3SAME, 1u << size, 1u << size, true);
}

void exec_SIMDS_2MISC(Cpu& c, uint32_t i) {
    unsigned code = (bit(i, 29) << 5) | bits(i, 16, 12), size = bits(i, 23, 22);
    unsigned esize = 1u << size, src = esize;
    bool ok;
    switch (code) {
    case 0x03: case 0x23: case 0x07: case 0x27: ok = true; break;  // SUQADD, USQADD, SQABS, SQNEG
    case 0x08: case 0x28: case 0x09: case 0x29: case 0x0a: case 0x0b: case 0x2b: ok = size == 3; break;
    case 0x14: case 0x34: case 0x32:  // SQXTN, UQXTN, SQXTUN: narrow
        ok = size != 3;
        src = 2 * esize;
        break;
    default:  // the FP forms
        if (!simd_fp_2misc(c, i, true)) c.undefined();
        return;
    }
    if (!ok) return c.undefined();
    if (!c.fp_enabled()) return;
    // (a narrowing form with Q = 1 would write the upper half: use Q = 0)
    if (src != esize) {
        scalar_via_vector(c, i, [](Cpu& cc, uint32_t w) { exec_SIMD_2MISC(cc, w & ~(1u << 30)); }, esize, src, false);
        return;
    }
    scalar_via_vector(c, i, &exec_SIMD_2MISC, esize, src, false);
}

void exec_SIMDS_PAIR(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 16, 12);
    // FMAXNMP, FADDP, FMAXP, FMINNMP, FMINP (U 0: half precision)
    if (bit(i, 29) || ((op == 0x0c || op == 0x0d || op == 0x0f) && !bit(i, 22))) {
        if (!simd_fp_pair_scalar(c, i)) c.undefined();
        return;
    }
    // ADDP (scalar): D[0] + D[1] of Vn.
    if (bits(i, 23, 22) != 3 || bits(i, 16, 12) != 0x1b) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    uint64_t r = c.s.v[rn][0] + c.s.v[rn][1];
    c.s.v[rd][0] = r;
    c.s.v[rd][1] = 0;
}

void exec_SIMDS_SHIFT_IMM(Cpu& c, uint32_t i) {
    unsigned u = bit(i, 29), immh = bits(i, 22, 19), op = bits(i, 15, 11);
    if (immh == 0) return c.undefined();
    unsigned hsb = 31 - static_cast<unsigned>(__builtin_clz(immh)), esize = 1u << hsb;
    bool ok;
    switch (op) {
    case 0x00: case 0x02: case 0x04: case 0x06: case 0x0a: ok = hsb == 3; break;  // shifts, accumulates, SHL/SLI
    case 0x08: ok = u && hsb == 3; break;                                         // SRI
    case 0x0c: ok = u; break;                                                     // SQSHLU
    case 0x0e: ok = true; break;                                                  // SQSHL/UQSHL
    case 0x10: case 0x11: ok = u && hsb < 3; break;                               // SQ(R)SHRUN
    case 0x12: case 0x13: ok = hsb < 3; break;                                    // (S|U)Q(R)SHRN
    case 0x1c: case 0x1f: ok = hsb >= 2 || (hsb == 1 && c.has_fp16()); break;  // fixed-point SCVTF/UCVTF, FCVTZS/FCVTZU
    default: ok = false; break;
    }
    if (!ok) return c.undefined();
    if (!c.fp_enabled()) return;
    if (op >= 0x10 && op <= 0x13) {  // narrowing: the source lane is twice as wide; Q = 0 writes the low half
        scalar_via_vector(c, i, [](Cpu& cc, uint32_t w) { exec_SIMD_SHIFT_IMM(cc, w & ~(1u << 30)); }, esize,
                          2 * esize, false);
        return;
    }
    scalar_via_vector(c, i, &exec_SIMD_SHIFT_IMM, esize, esize, false);
}

// SQDMLAL, SQDMLSL, SQDMULL (scalar): Vd (twice the width) = sat(Vd +-
// sat(2 * Vn * Vm)). Computed directly: a destination that is also a
// source is read at both widths.
void exec_SIMDS_3DIFF(Cpu& c, uint32_t i) {
    unsigned size = bits(i, 23, 22), op = bits(i, 15, 12);
    if (bit(i, 29) || (op != 0x9 && op != 0xb && op != 0xd) || (size != 1 && size != 2)) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << size, wsize = 2 * esize, rd = bits(i, 4, 0);
    __int128 x = sx(c.s.v[bits(i, 9, 5)][0], esize), y = sx(c.s.v[bits(i, 20, 16)][0], esize);
    __int128 acc = sx(c.s.v[rd][0], wsize);
    __int128 p = sx(sat_signed(c, x * y * 2, wsize), wsize);
    uint64_t r = op == 0xd ? static_cast<uint64_t>(p) & lmask(wsize)
                           : sat_signed(c, op == 0x9 ? acc + p : acc - p, wsize);
    c.s.v[rd][0] = r;
    c.s.v[rd][1] = 0;
}

// AdvSIMD scalar x indexed element. The FP forms compute lane 0 directly
// (zeroed lanes of a vector form could raise flags with an infinite
// element); the integer forms put the element into a scratch register and
// run the scalar three-same or three-different form with it as Rm.
void exec_SIMDS_ELEM(Cpu& c, uint32_t i) {
    unsigned u = bit(i, 29), size = bits(i, 23, 22), l = bit(i, 21), mbit = bit(i, 20);
    unsigned rm4 = bits(i, 19, 16), op = bits(i, 15, 12), h = bit(i, 11);
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    if ((!u && (op == 1 || op == 5 || op == 9)) || (u && op == 9)) {
        if (!simd_fp_elem_scalar(c, i)) c.undefined();
        return;
    }
    if (u && (op == 0xd || op == 0xf)) {  // SQRDMLAH, SQRDMLSH (FEAT_RDM)
        if (!c.has_rdm() || (size != 1 && size != 2)) return c.undefined();
        if (!c.fp_enabled()) return;
        unsigned index = size == 1 ? (h << 2) | (l << 1) | mbit : (h << 1) | l;
        unsigned rm = size == 1 ? rm4 : (mbit << 4) | rm4;
        uint64_t saved[2];
        unsigned scratch = broadcast(c, rm, index, 1u << size, false, rn, rd, saved);
        exec_SIMDS_3SAME_EXTRA(c, (1u << 30) | (1u << 29) | (0b11110u << 24) | (size << 22) | (scratch << 16) |
                                      (1u << 15) | ((op == 0xf ? 1u : 0u) << 11) | (1u << 10) | (rn << 5) | rd);
        c.s.v[scratch][0] = saved[0];
        c.s.v[scratch][1] = saved[1];
        return;
    }
    bool three_same = op == 0xc || op == 0xd;  // SQDMULH, SQRDMULH
    if (u || (!three_same && op != 0x3 && op != 0x7 && op != 0xb) || (size != 1 && size != 2))
        return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << size;
    unsigned index = size == 1 ? (h << 2) | (l << 1) | mbit : (h << 1) | l;
    unsigned rm = size == 1 ? rm4 : (mbit << 4) | rm4;
    unsigned byte = index * esize;
    uint64_t e = (c.s.v[rm][byte / 8] >> (8 * (byte % 8))) & lmask(esize);
    unsigned scratch = 0;
    while (scratch == rn || scratch == rd) ++scratch;
    uint64_t saved[2] = {c.s.v[scratch][0], c.s.v[scratch][1]};
    c.s.v[scratch][0] = e;
    c.s.v[scratch][1] = 0;
    uint32_t w = (1u << 30) | (0b11110u << 24) | (size << 22) | (1u << 21) | (scratch << 16) | (rn << 5) | rd;
    if (three_same) {
        exec_SIMDS_3SAME(c, w | ((op & 1) << 29) | (0x16u << 11) | (1u << 10));
    } else {
        unsigned dop = op == 0x3 ? 0x9 : op == 0x7 ? 0xb : 0xd;
        exec_SIMDS_3DIFF(c, w | (dop << 12));
    }
    c.s.v[scratch][0] = saved[0];
    c.s.v[scratch][1] = saved[1];
}

void exec_SIMDS_COPY(Cpu& c, uint32_t i) {
    // DUP (element, scalar) = MOV Bd/Hd/Sd/Dd, Vn.T[index]
    unsigned imm5 = bits(i, 20, 16);
    if ((imm5 & 0xf) == 0) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned size = static_cast<unsigned>(__builtin_ctz(imm5)), esize = 1u << size, index = imm5 >> (size + 1);
    Lanes n = read_lanes(c, bits(i, 9, 5), esize, 16);
    std::array<uint64_t, 16> r{};
    r[0] = n.e[index];
    write_lanes(c, bits(i, 4, 0), r, 1, esize);
}

// ---- Three-same extra (ARM ARM C4.1.95, issue 20): SQRDMLAH/SQRDMLSH
// (FEAT_RDM), SDOT/UDOT (FEAT_DotProd), USDOT and the 8-bit integer matrix
// multiplies SMMLA/UMMLA/USMMLA (FEAT_I8MM), FCMLA/FCADD (FEAT_FCMA) and
// BFDOT/BFMMLA/BFMLALB/T (FEAT_BF16) in fp.cpp; each UNDEFINED where the
// model lacks it.
namespace {

// SQRDMLAH (sub: SQRDMLSH) of one lane: sat((acc << esize) +- 2*a*b +
// rounding) >> esize.
uint64_t sqrdmlah(Cpu& c, uint64_t acc, uint64_t a, uint64_t b, unsigned esize, bool sub) {
    unsigned w = 8 * esize;
    __int128 prod = 2 * static_cast<__int128>(sx(a, esize)) * sx(b, esize);
    __int128 v = (static_cast<__int128>(sx(acc, esize)) << w) + (sub ? -prod : prod) +
                 (static_cast<__int128>(1) << (w - 1));
    return sat_signed(c, v >> w, esize);
}

}  // namespace

void exec_SIMD_3SAME_EXTRA(Cpu& c, uint32_t i) {
    unsigned q = bit(i, 30), u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 14, 11);
    unsigned rn = bits(i, 9, 5), rm = bits(i, 20, 16), rd = bits(i, 4, 0);
    unsigned key = (u << 4) | op;
    if (u && (op == 13 || op == 15)) {  // BFMMLA, BFDOT, BFMLALB/T
        if (!simd_bf16(c, i)) c.undefined();
        return;
    }
    if (u && op >= 8) {  // FCMLA, FCADD
        if (!simd_fcma(c, i)) c.undefined();
        return;
    }
    bool ok;
    switch (key) {
    case 0x10: case 0x11: ok = c.has_rdm() && (size == 1 || size == 2); break;  // SQRDMLAH, SQRDMLSH
    case 0x02: case 0x12: ok = c.has_dotprod() && size == 2; break;             // SDOT, UDOT
    case 0x03: ok = c.has_i8mm() && size == 2; break;                           // USDOT
    case 0x04: case 0x14: case 0x05: ok = c.has_i8mm() && size == 2 && q; break;  // SMMLA, UMMLA, USMMLA
    default: ok = false; break;
    }
    if (!ok) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned bytes = q ? 16 : 8;
    if (key == 0x10 || key == 0x11) {
        unsigned esize = 1u << size;
        Lanes n = read_lanes(c, rn, esize, bytes), m = read_lanes(c, rm, esize, bytes);
        Lanes d = read_lanes(c, rd, esize, bytes);
        std::array<uint64_t, 16> r{};
        for (unsigned k = 0; k < n.n; ++k) r[k] = sqrdmlah(c, d.e[k], n.e[k], m.e[k], esize, key == 0x11);
        return write_lanes(c, rd, r, n.n, esize);
    }
    // Bytes times bytes into 32-bit sums: Vn's signed unless UDOT, UMMLA,
    // USDOT and USMMLA; Vm's signed unless UDOT and UMMLA.
    bool n_signed = key == 0x02 || key == 0x04, m_signed = key != 0x12 && key != 0x14;
    Lanes n = read_lanes(c, rn, 1, 16), m = read_lanes(c, rm, 1, 16), d = read_lanes(c, rd, 4, 16);
    auto byte = [](const Lanes& l, unsigned k, bool sgn) {
        return sgn ? static_cast<int64_t>(static_cast<int8_t>(l.e[k])) : static_cast<int64_t>(l.e[k]);
    };
    std::array<uint64_t, 16> r{};
    if (op == 4 || op == 5) {  // the 2x8 by 8x2 matrix product added to Vd's 2x2
        for (unsigned row = 0; row < 2; ++row)
            for (unsigned col = 0; col < 2; ++col) {
                int64_t sum = static_cast<int64_t>(d.e[2 * row + col]);
                for (unsigned k = 0; k < 8; ++k) sum += byte(n, 8 * row + k, n_signed) * byte(m, 8 * col + k, m_signed);
                r[2 * row + col] = static_cast<uint64_t>(sum) & 0xffffffffu;
            }
        return write_lanes(c, rd, r, 4, 4);
    }
    for (unsigned k = 0; k < bytes / 4; ++k) {
        int64_t sum = static_cast<int64_t>(d.e[k]);
        for (unsigned j = 0; j < 4; ++j) sum += byte(n, 4 * k + j, n_signed) * byte(m, 4 * k + j, m_signed);
        r[k] = static_cast<uint64_t>(sum) & 0xffffffffu;
    }
    write_lanes(c, rd, r, bytes / 4, 4);
}

// SQRDMLAH, SQRDMLSH (scalar; FEAT_RDM).
void exec_SIMDS_3SAME_EXTRA(Cpu& c, uint32_t i) {
    unsigned u = bit(i, 29), size = bits(i, 23, 22), op = bits(i, 14, 11);
    if (!u || op > 1 || !c.has_rdm() || (size != 1 && size != 2)) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned esize = 1u << size, rd = bits(i, 4, 0);
    uint64_t r = sqrdmlah(c, c.s.v[rd][0] & lmask(esize), c.s.v[bits(i, 9, 5)][0] & lmask(esize),
                          c.s.v[bits(i, 20, 16)][0] & lmask(esize), esize, op == 1);
    c.s.v[rd][0] = r;
    c.s.v[rd][1] = 0;
}

}  // namespace armvm::a64
