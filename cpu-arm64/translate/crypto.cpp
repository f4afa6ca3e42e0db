// The Armv8.0 cryptographic extension (ARM ARM C7.2, the AES, SHA1 and
// SHA256 pseudocode): AESE/AESD/AESMC/AESIMC, SHA1C/P/M/H/SU0/SU1,
// SHA256H/H2/SU0/SU1. PMULL(2) of 64-bit lanes is with the other
// three-different forms (simd_int.cpp). Each is UNDEFINED unless the
// model's ID_AA64ISAR0_EL1 advertises it.
#include <array>
#include <bit>
#include <cstdint>

#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::a64 {

namespace {

// ---- AES: the S-boxes computed from their definition (FIPS-197 5.1.1):
// the multiplicative inverse in GF(2^8) followed by the affine map.
// (`poly`: the reduction polynomial's low byte; AES's x^8+x^4+x^3+x+1)
constexpr uint8_t gf_mul(uint8_t a, uint8_t b, uint8_t poly = 0x1b) {
    uint8_t p = 0;
    for (int k = 0; k < 8; ++k) {
        if (b & 1) p ^= a;
        bool hi = a & 0x80;
        a = static_cast<uint8_t>(a << 1);
        if (hi) a ^= poly;
        b >>= 1;
    }
    return p;
}

constexpr uint8_t rotl8(uint8_t v, int s) { return static_cast<uint8_t>((v << s) | (v >> (8 - s))); }

struct SBoxes {
    std::array<uint8_t, 256> fwd{}, inv{};
};

constexpr SBoxes make_sboxes() {
    SBoxes s;
    for (int x = 0; x < 256; ++x) {
        uint8_t inv = 0;  // x^254 = x^-1 (0 maps to 0)
        if (x) {
            uint8_t r = 1, b = static_cast<uint8_t>(x);
            for (int e = 254; e; e >>= 1) {
                if (e & 1) r = gf_mul(r, b);
                b = gf_mul(b, b);
            }
            inv = r;
        }
        uint8_t y = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63;
        s.fwd[static_cast<size_t>(x)] = y;
        s.inv[y] = static_cast<uint8_t>(x);
    }
    return s;
}

constexpr SBoxes kSBoxes = make_sboxes();
static_assert(kSBoxes.fwd[0x00] == 0x63 && kSBoxes.fwd[0x53] == 0xed && kSBoxes.inv[0x63] == 0x00,
              "FIPS-197 S-box entries");

// ---- SM4's S-box from its definition (GB/T 32907): the inverse in
// GF(2^8) modulo x^8+x^7+x^6+x^5+x^4+x^2+1 between two applications of the
// affine map A(x) = x ^ rol(x,1) ^ rol(x,3) ^ rol(x,6) ^ rol(x,7) ^ 0xd3.
constexpr uint8_t sm4_affine(uint8_t x) {
    return x ^ rotl8(x, 1) ^ rotl8(x, 3) ^ rotl8(x, 6) ^ rotl8(x, 7) ^ 0xd3;
}
constexpr std::array<uint8_t, 256> make_sm4_sbox() {
    std::array<uint8_t, 256> s{};
    auto mul = [](uint8_t a, uint8_t b) { return gf_mul(a, b, 0xf5); };
    for (int x = 0; x < 256; ++x) {
        uint8_t a = sm4_affine(static_cast<uint8_t>(x)), r = a ? 1 : 0, b = a;
        for (int e = 254; a && e; e >>= 1) {
            if (e & 1) r = mul(r, b);
            b = mul(b, b);
        }
        s[static_cast<size_t>(x)] = sm4_affine(r);
    }
    return s;
}
constexpr std::array<uint8_t, 256> kSm4Sbox = make_sm4_sbox();
static_assert(kSm4Sbox[0] == 0xd6 && kSm4Sbox[1] == 0x90 && kSm4Sbox[0xfe] == 0x39 && kSm4Sbox[0xff] == 0x48,
              "GB/T 32907 S-box entries");

using Block = std::array<uint8_t, 16>;  // byte k = state[row k % 4][column k / 4]

Block load(const Cpu& c, unsigned r) {
    Block b{};
    for (unsigned k = 0; k < 16; ++k) b[k] = static_cast<uint8_t>(c.s.v[r][k / 8] >> (8 * (k % 8)));
    return b;
}

void store(Cpu& c, unsigned r, const Block& b) {
    uint64_t lo = 0, hi = 0;
    for (unsigned k = 0; k < 8; ++k) {
        lo |= static_cast<uint64_t>(b[k]) << (8 * k);
        hi |= static_cast<uint64_t>(b[k + 8]) << (8 * k);
    }
    c.s.v[r][0] = lo;
    c.s.v[r][1] = hi;
}

Block mix_columns(const Block& in, bool inverse) {
    // Each column times the (inverse) MixColumns matrix's first row, rotated.
    const uint8_t m[4] = {static_cast<uint8_t>(inverse ? 14 : 2), static_cast<uint8_t>(inverse ? 11 : 3),
                          static_cast<uint8_t>(inverse ? 13 : 1), static_cast<uint8_t>(inverse ? 9 : 1)};
    Block out{};
    for (unsigned col = 0; col < 4; ++col)
        for (unsigned row = 0; row < 4; ++row) {
            uint8_t v = 0;
            for (unsigned k = 0; k < 4; ++k) v ^= gf_mul(m[(k + 4 - row) % 4], in[4 * col + k]);
            out[4 * col + row] = v;
        }
    return out;
}

// ---- SHA-1 and SHA-256 building blocks (ARM ARM SHAchoose etc.).
uint32_t rol(uint32_t v, unsigned s) { return (v << s) | (v >> ((32 - s) & 31)); }
uint32_t ror(uint32_t v, unsigned s) { return (v >> s) | (v << ((32 - s) & 31)); }
uint32_t choose(uint32_t x, uint32_t y, uint32_t z) { return ((y ^ z) & x) ^ z; }
uint32_t parity(uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; }
uint32_t majority(uint32_t x, uint32_t y, uint32_t z) { return (x & y) | ((x | y) & z); }

using Words = std::array<uint32_t, 4>;

Words words(const Cpu& c, unsigned r) {
    return {static_cast<uint32_t>(c.s.v[r][0]), static_cast<uint32_t>(c.s.v[r][0] >> 32),
            static_cast<uint32_t>(c.s.v[r][1]), static_cast<uint32_t>(c.s.v[r][1] >> 32)};
}

void put_words(Cpu& c, unsigned r, const Words& w) {
    c.s.v[r][0] = w[0] | (static_cast<uint64_t>(w[1]) << 32);
    c.s.v[r][1] = w[2] | (static_cast<uint64_t>(w[3]) << 32);
}

void sha256_hash(Words& x, Words& y, const Words& w) {
    for (unsigned e = 0; e < 4; ++e) {
        uint32_t chs = choose(y[0], y[1], y[2]), maj = majority(x[0], x[1], x[2]);
        uint32_t t = y[3] + (ror(y[0], 6) ^ ror(y[0], 11) ^ ror(y[0], 25)) + chs + w[e];
        x[3] = t + x[3];
        y[3] = t + (ror(x[0], 2) ^ ror(x[0], 13) ^ ror(x[0], 22)) + maj;
        // <Y, X> = ROL(Y:X, 32)
        uint32_t y3 = y[3];
        y = {x[3], y[0], y[1], y[2]};
        x = {y3, x[0], x[1], x[2]};
    }
}

uint32_t sigma0_small(uint32_t v) { return ror(v, 7) ^ ror(v, 18) ^ (v >> 3); }
uint32_t sigma1_small(uint32_t v) { return ror(v, 17) ^ ror(v, 19) ^ (v >> 10); }

}  // namespace

// AESE, AESD, AESMC, AESIMC
void exec_CRYPTO_AES(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 16, 12);
    if (bits(i, 23, 22) != 0 || op < 4 || op > 7 || !c.has_aes()) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    Block n = load(c, rn), out{};
    if (op >= 6) {
        out = mix_columns(n, op == 7);
    } else {
        Block d = load(c, rd);
        for (unsigned k = 0; k < 16; ++k) d[k] ^= n[k];
        for (unsigned col = 0; col < 4; ++col)
            for (unsigned row = 0; row < 4; ++row) {
                // (Inv)ShiftRows: row r rotates left (right) by r columns.
                unsigned from = op == 4 ? (col + row) % 4 : (col + 4 - row) % 4;
                uint8_t v = d[4 * from + row];
                out[4 * col + row] = op == 4 ? kSBoxes.fwd[v] : kSBoxes.inv[v];
            }
    }
    store(c, rd, out);
}

// SHA1C, SHA1P, SHA1M, SHA1SU0, SHA256H, SHA256H2, SHA256SU1
void exec_CRYPTO_SHA3(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 14, 12);
    bool sha1 = op <= 3;
    if (bits(i, 23, 22) != 0 || op == 7 || (sha1 ? !c.has_sha1() : !c.has_sha256())) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rm = bits(i, 20, 16), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    Words d = words(c, rd), n = words(c, rn), m = words(c, rm);
    switch (op) {
    case 0: case 1: case 2: {  // SHA1C/P/M Qd, Sn, Vm.4S
        Words x = d;
        uint32_t y = n[0];
        for (unsigned e = 0; e < 4; ++e) {
            uint32_t t = op == 0 ? choose(x[1], x[2], x[3]) : op == 1 ? parity(x[1], x[2], x[3])
                                                                      : majority(x[1], x[2], x[3]);
            y = y + rol(x[0], 5) + t + m[e];
            x[1] = rol(x[1], 30);
            uint32_t x3 = x[3];  // <Y, X> = ROL(Y:X, 32)
            x = {y, x[0], x[1], x[2]};
            y = x3;
        }
        put_words(c, rd, x);
        return;
    }
    case 3: {  // SHA1SU0: (Vn<63:0> : Vd<127:64>) ^ Vd ^ Vm
        Words r = {d[2], d[3], n[0], n[1]};
        for (unsigned e = 0; e < 4; ++e) r[e] ^= d[e] ^ m[e];
        put_words(c, rd, r);
        return;
    }
    case 4: case 5: {  // SHA256H Qd, Qn, Vm.4S / SHA256H2
        Words x = op == 4 ? d : n, y = op == 4 ? n : d;
        sha256_hash(x, y, m);
        put_words(c, rd, op == 4 ? x : y);
        return;
    }
    default: {  // SHA256SU1
        Words t0 = {n[1], n[2], n[3], m[0]}, r{};
        for (unsigned e = 0; e < 2; ++e) r[e] = sigma1_small(m[2 + e]) + d[e] + t0[e];
        for (unsigned e = 2; e < 4; ++e) r[e] = sigma1_small(r[e - 2]) + d[e] + t0[e];
        put_words(c, rd, r);
        return;
    }
    }
}

// SHA1H, SHA1SU1, SHA256SU0
void exec_CRYPTO_SHA2(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 16, 12);
    if (bits(i, 23, 22) != 0 || op > 2 || (op < 2 ? !c.has_sha1() : !c.has_sha256())) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    Words d = words(c, rd), n = words(c, rn), r{};
    switch (op) {
    case 0: r = {rol(n[0], 30), 0, 0, 0}; break;  // SHA1H
    case 1: {                                      // SHA1SU1
        Words t = {d[0] ^ n[1], d[1] ^ n[2], d[2] ^ n[3], d[3]};
        r = {rol(t[0], 1), rol(t[1], 1), rol(t[2], 1), rol(t[3], 1) ^ rol(t[0], 2)};
        break;
    }
    default: {  // SHA256SU0
        Words t = {d[1], d[2], d[3], n[0]};
        for (unsigned e = 0; e < 4; ++e) r[e] = sigma0_small(t[e]) + d[e];
        break;
    }
    }
    put_words(c, rd, r);
}

// ---- FEAT_SHA512 and FEAT_SHA3 (Armv8.2): on 64-bit lanes, low lane first;
// FEAT_SM3 and FEAT_SM4 of the same encoding groups on 32-bit lanes.
namespace {

using Dwords = std::array<uint64_t, 2>;

uint64_t sigma0_big64(uint64_t x) { return std::rotr(x, 28) ^ std::rotr(x, 34) ^ std::rotr(x, 39); }
uint64_t sigma1_big64(uint64_t x) { return std::rotr(x, 14) ^ std::rotr(x, 18) ^ std::rotr(x, 41); }
uint64_t sigma0_small64(uint64_t x) { return std::rotr(x, 1) ^ std::rotr(x, 8) ^ (x >> 7); }
uint64_t sigma1_small64(uint64_t x) { return std::rotr(x, 19) ^ std::rotr(x, 61) ^ (x >> 6); }
uint64_t ch64(uint64_t x, uint64_t y, uint64_t z) { return (x & y) ^ (~x & z); }
uint64_t maj64(uint64_t x, uint64_t y, uint64_t z) { return (x & y) ^ (x & z) ^ (y & z); }

Dwords dwords(const Cpu& c, unsigned r) { return {c.s.v[r][0], c.s.v[r][1]}; }
void put_dwords(Cpu& c, unsigned r, const Dwords& v) {
    c.s.v[r][0] = v[0];
    c.s.v[r][1] = v[1];
}

}  // namespace

namespace {
// SM4's round function: T(x) with the S-box, then the linear map L (SM4E)
// or L' (SM4EKEY, the key schedule's), over four rounds.
Words sm4_rounds(Words r, const Words& k, bool key_schedule) {
    for (unsigned e = 0; e < 4; ++e) {
        uint32_t x = r[3] ^ r[2] ^ r[1] ^ k[e], s = 0;
        for (unsigned b = 0; b < 4; ++b) s |= static_cast<uint32_t>(kSm4Sbox[(x >> (8 * b)) & 0xff]) << (8 * b);
        x = key_schedule ? s ^ rol(s, 13) ^ rol(s, 23) : s ^ rol(s, 2) ^ rol(s, 10) ^ rol(s, 18) ^ rol(s, 24);
        r = {r[1], r[2], r[3], x ^ r[0]};
    }
    return r;
}
}  // namespace

// EOR3, BCAX (FEAT_SHA3); SM3SS1 (FEAT_SM3).
void exec_CRYPTO_4REG(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 22, 21);
    if (op == 2) {  // SM3SS1 Vd.4S, Vn.4S, Vm.4S, Va.4S: the top lane only
        if (!c.has_sm3()) return c.undefined();
        if (!c.fp_enabled()) return;
        Words n = words(c, bits(i, 9, 5)), m = words(c, bits(i, 20, 16)), a = words(c, bits(i, 14, 10));
        put_words(c, bits(i, 4, 0), {0, 0, 0, rol(rol(n[3], 12) + m[3] + a[3], 7)});
        return;
    }
    if (op > 1 || !c.has_sha3()) return c.undefined();
    if (!c.fp_enabled()) return;
    Dwords n = dwords(c, bits(i, 9, 5)), m = dwords(c, bits(i, 20, 16)), a = dwords(c, bits(i, 14, 10)), r;
    for (unsigned e = 0; e < 2; ++e) r[e] = op == 0 ? n[e] ^ m[e] ^ a[e] : n[e] ^ (m[e] & ~a[e]);
    put_dwords(c, bits(i, 4, 0), r);
}

// SHA512H, SHA512H2, SHA512SU1 (FEAT_SHA512), RAX1 (FEAT_SHA3); with bit 14
// SM3PARTW1, SM3PARTW2 (FEAT_SM3) and SM4EKEY (FEAT_SM4).
void exec_CRYPTO_SHA512_3(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 11, 10);
    if (bit(i, 14)) {
        if (op == 3 || (op == 2 ? !c.has_sm4() : !c.has_sm3())) return c.undefined();
        if (!c.fp_enabled()) return;
        unsigned rd = bits(i, 4, 0);
        Words d = words(c, rd), n = words(c, bits(i, 9, 5)), m = words(c, bits(i, 20, 16)), r;
        if (op == 2) {  // SM4EKEY Vd.4S, Vn.4S, Vm.4S: four rounds of the key schedule
            put_words(c, rd, sm4_rounds(n, m, true));
            return;
        }
        if (op == 0) {  // SM3PARTW1
            for (unsigned e = 0; e < 3; ++e) r[e] = d[e] ^ n[e] ^ rol(m[e + 1], 15);
            r[3] = d[3] ^ n[3];
            for (unsigned e = 0; e < 4; ++e) {
                if (e == 3) r[3] ^= rol(r[0], 15);  // (the first lane's final value)
                r[e] ^= rol(r[e], 15) ^ rol(r[e], 23);
            }
        } else {  // SM3PARTW2
            Words t;
            for (unsigned e = 0; e < 4; ++e) t[e] = n[e] ^ rol(m[e], 7);
            for (unsigned e = 0; e < 4; ++e) r[e] = d[e] ^ t[e];
            uint32_t t2 = rol(t[0], 15);
            r[3] ^= t2 ^ rol(t2, 15) ^ rol(t2, 23);
        }
        put_words(c, rd, r);
        return;
    }
    if (op == 3 ? !c.has_sha3() : !c.has_sha512()) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rd = bits(i, 4, 0);
    Dwords x = dwords(c, bits(i, 9, 5)), y = dwords(c, bits(i, 20, 16)), w = dwords(c, rd), r;
    switch (op) {
    case 0: {  // SHA512H Qd, Qn, Vm.2D
        r[1] = ch64(y[1], x[0], x[1]) + sigma1_big64(y[1]) + w[1];
        uint64_t t = r[1] + y[0];
        r[0] = ch64(t, y[1], x[0]) + sigma1_big64(t) + w[0];
        break;
    }
    case 1:  // SHA512H2 Qd, Qn, Vm.2D
        r[1] = maj64(x[0], y[1], y[0]) + sigma0_big64(y[0]) + w[1];
        r[0] = maj64(r[1], y[0], y[1]) + sigma0_big64(r[1]) + w[0];
        break;
    case 2:  // SHA512SU1 Vd.2D, Vn.2D, Vm.2D
        for (unsigned e = 0; e < 2; ++e) r[e] = w[e] + sigma1_small64(x[e]) + y[e];
        break;
    default:  // RAX1 Vd.2D, Vn.2D, Vm.2D
        for (unsigned e = 0; e < 2; ++e) r[e] = x[e] ^ std::rotr(y[e], 63);
        break;
    }
    put_dwords(c, rd, r);
}

// XAR Vd.2D, Vn.2D, Vm.2D, #imm6 (FEAT_SHA3).
void exec_CRYPTO_XAR(Cpu& c, uint32_t i) {
    if (!c.has_sha3()) return c.undefined();
    if (!c.fp_enabled()) return;
    Dwords n = dwords(c, bits(i, 9, 5)), m = dwords(c, bits(i, 20, 16)), r;
    for (unsigned e = 0; e < 2; ++e) r[e] = std::rotr(n[e] ^ m[e], bits(i, 15, 10));
    put_dwords(c, bits(i, 4, 0), r);
}

// SM3TT1A, SM3TT1B, SM3TT2A, SM3TT2B Vd.4S, Vn.4S, Vm.S[imm2] (FEAT_SM3).
void exec_CRYPTO_SM3TT(Cpu& c, uint32_t i) {
    if (!c.has_sm3()) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rd = bits(i, 4, 0), op = bits(i, 11, 10);
    Words d = words(c, rd), n = words(c, bits(i, 9, 5)), m = words(c, bits(i, 20, 16));
    uint32_t w = m[bits(i, 13, 12)], t;
    if (op < 2) {  // TT1A (XOR), TT1B (majority)
        uint32_t ss2 = n[3] ^ rol(d[3], 12);
        t = op == 0 ? d[1] ^ d[3] ^ d[2] : (d[3] & d[1]) | (d[3] & d[2]) | (d[1] & d[2]);
        t += d[0] + ss2 + w;
    } else {  // TT2A (XOR), TT2B (choice)
        t = op == 2 ? d[1] ^ d[3] ^ d[2] : (d[3] & d[2]) | (~d[3] & d[1]);
        t += d[0] + n[3] + w;
        t ^= rol(t, 9) ^ rol(t, 17);
    }
    put_words(c, rd, {d[1], rol(d[2], op < 2 ? 9 : 19), d[3], t});
}

// SHA512SU0 Vd.2D, Vn.2D (FEAT_SHA512); SM4E Vd.4S, Vn.4S (FEAT_SM4).
void exec_CRYPTO_SHA512_2(Cpu& c, uint32_t i) {
    if (bits(i, 11, 10) == 1) {  // SM4E: four rounds with the keys of Vn
        if (!c.has_sm4()) return c.undefined();
        if (!c.fp_enabled()) return;
        unsigned rd = bits(i, 4, 0);
        put_words(c, rd, sm4_rounds(words(c, rd), words(c, bits(i, 9, 5)), false));
        return;
    }
    if (bits(i, 11, 10) != 0 || !c.has_sha512()) return c.undefined();
    if (!c.fp_enabled()) return;
    unsigned rd = bits(i, 4, 0);
    Dwords x = dwords(c, bits(i, 9, 5)), w = dwords(c, rd);
    put_dwords(c, rd, {w[0] + sigma0_small64(w[1]), w[1] + sigma0_small64(x[0])});
}

}  // namespace armvm::a64
