// Pointer authentication (FEAT_PAuth, Armv8.3; ARM ARM D8.8 and the
// pseudocode's AddPAC, Auth, Strip and ComputePAC): PACIA/PACIB/PACDA/
// PACDB and their Z forms, AUTxx, XPACI/XPACD, the hint-space forms
// (PACIASP, AUTIASP, ..., XPACLRI: NOPs where the model has no PAuth),
// PACGA, the combined branches and returns (BRAA, BLRAA, RETAA, ERETAA, and
// the B-key and Z forms) and LDRAA/LDRAB. The basic PAuth of QEMU 7.2's max
// (ID_AA64ISAR1.APA/GPA 1, or API/GPI 1 with pauth-impdef=on): a failed
// authentication puts an error code in the pointer, which faults when
// used; no FPAC.
//
// The PAC is QARMA5 as the ARM ARM's ComputePAC defines it, bit for bit
// (tests/guest/pauth.c compares with qemu-system-aarch64), or with
// pauth-impdef=on QEMU's implementation-defined choice (qemu_xxhash64_4:
// XXH64's rounds over data, modifier, key lo, key hi with seed 1). Linux
// signs and authenticates the return address in every non-leaf kernel
// function: each CPU keeps the PACs it computed in a small cache (exact:
// it compares the full inputs, key included), so an AUTIASP finds what its
// PACIASP computed and a function called again from the same place with
// the same stack costs a lookup; the SSE cipher keeps the round keys of its
// latest modifier/key pairs.
#include <bit>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cpu-arm64/translate/helpers.hpp"

namespace armvm {

namespace {

// ---- QARMA5, in tables: the cells are the 16 nibbles of a 64-bit value
// (cell i at bits 4i..4i+3). Each layer of the cipher works on bytes
// through tables built once from the cell-level definitions below.
constexpr uint8_t kSub[16] = {0xb, 0x6, 0x8, 0xf, 0xc, 0x0, 0x9, 0xe, 0x3, 0x7, 0x4, 0x5, 0xd, 0x2, 0x1, 0xa};
constexpr uint8_t kShuffle[16] = {13, 6, 11, 0, 7, 12, 1, 10, 8, 3, 14, 5, 2, 9, 4, 15};  // out cell j = in cell kShuffle[j]
constexpr uint64_t kRC[5] = {0x0000000000000000ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull,
                             0x082EFA98EC4E6C89ull, 0x452821E638D01377ull};
constexpr uint64_t kAlpha = 0xC0AC29B7C97C50DDull;

unsigned cell(uint64_t v, unsigned i) { return (v >> (4 * i)) & 0xf; }
unsigned rot4(unsigned c, unsigned n) { return ((c << n) | (c >> (4 - n))) & 0xf; }

uint64_t shuffle(uint64_t v) {
    uint64_t o = 0;
    for (unsigned j = 0; j < 16; ++j) o |= static_cast<uint64_t>(cell(v, kShuffle[j])) << (4 * j);
    return o;
}
uint64_t inv_shuffle(uint64_t v) {
    uint64_t o = 0;
    for (unsigned j = 0; j < 16; ++j) o |= static_cast<uint64_t>(cell(v, j)) << (4 * kShuffle[j]);
    return o;
}
// PACMult: each column (cells b, b+4, b+8, b+12) mixed by rotations.
uint64_t mult(uint64_t v) {
    uint64_t o = 0;
    for (unsigned b = 0; b < 4; ++b) {
        unsigned i0 = cell(v, b), i4 = cell(v, b + 4), i8 = cell(v, b + 8), ic = cell(v, b + 12);
        unsigned t0 = rot4(i8, 1) ^ rot4(i4, 2) ^ rot4(i0, 1);
        unsigned t1 = rot4(ic, 1) ^ rot4(i4, 1) ^ rot4(i0, 2);
        unsigned t2 = rot4(ic, 2) ^ rot4(i8, 1) ^ rot4(i0, 1);
        unsigned t3 = rot4(ic, 1) ^ rot4(i8, 2) ^ rot4(i4, 1);
        o |= static_cast<uint64_t>(t3) << (4 * b) | static_cast<uint64_t>(t2) << (4 * (b + 4)) |
             static_cast<uint64_t>(t1) << (4 * (b + 8)) | static_cast<uint64_t>(t0) << (4 * (b + 12));
    }
    return o;
}
// The tweak's schedule: a cell permutation, some cells also put through an
// LFSR step (TweakCellRot) or its inverse.
unsigned tweak_rot(unsigned c) { return (c >> 1) | (((c ^ (c >> 1)) & 1) << 3); }
unsigned tweak_inv_rot(unsigned c) { return ((c << 1) & 0xf) | ((c & 1) ^ (c >> 3)); }
constexpr uint8_t kTweakFrom[16] = {4, 5, 6, 7, 11, 2, 3, 8, 12, 13, 14, 15, 0, 1, 10, 9};  // out cell j = in kTweakFrom[j]
constexpr uint16_t kTweakRot = (1u << 2) | (1u << 4) | (1u << 7) | (1u << 11) | (1u << 12) | (1u << 14) | (1u << 15);
uint64_t tweak_shuffle(uint64_t v) {
    uint64_t o = 0;
    for (unsigned j = 0; j < 16; ++j) {
        unsigned c = cell(v, kTweakFrom[j]);
        o |= static_cast<uint64_t>((kTweakRot >> j) & 1 ? tweak_rot(c) : c) << (4 * j);
    }
    return o;
}
uint64_t tweak_inv_shuffle(uint64_t v) {
    uint64_t o = 0;
    for (unsigned j = 0; j < 16; ++j) {
        unsigned c = cell(v, j);
        o |= static_cast<uint64_t>((kTweakRot >> j) & 1 ? tweak_inv_rot(c) : c) << (4 * kTweakFrom[j]);
    }
    return o;
}

// A linear (over GF(2)) layer as eight byte-indexed tables: f(v) is the
// XOR of f(each byte of v in its place).
struct ByteTables {
    uint64_t t[8][256];
    template <typename F>
    void build(F f) {
        for (unsigned p = 0; p < 8; ++p)
            for (unsigned v = 0; v < 256; ++v) t[p][v] = f(static_cast<uint64_t>(v) << (8 * p));
    }
    uint64_t operator()(uint64_t v) const {
        uint64_t o = 0;
        for (unsigned p = 0; p < 8; ++p) o ^= t[p][(v >> (8 * p)) & 0xff];
        return o;
    }
};

struct Qarma {
    uint8_t sub[256], inv_sub[256];  // both nibbles of a byte
    ByteTables shuffle_mult;          // mult(shuffle(v))
    ByteTables inv_sub_mult_ishuffle; // inv_shuffle(mult(inv_sub(v)))
    ByteTables ishuffle;              // inv_shuffle(v)
    ByteTables tweak, inv_tweak;

    Qarma() {
        uint8_t inv[16];
        for (unsigned i = 0; i < 16; ++i) inv[kSub[i]] = static_cast<uint8_t>(i);
        for (unsigned v = 0; v < 256; ++v) {
            sub[v] = static_cast<uint8_t>(kSub[v & 0xf] | (kSub[v >> 4] << 4));
            inv_sub[v] = static_cast<uint8_t>(inv[v & 0xf] | (inv[v >> 4] << 4));
        }
        shuffle_mult.build([](uint64_t v) { return mult(shuffle(v)); });
        // (a byte table of a nonlinear step followed by linear ones: exact,
        // since the nibble substitution acts on each byte alone)
        for (unsigned p = 0; p < 8; ++p)
            for (unsigned v = 0; v < 256; ++v)
                inv_sub_mult_ishuffle.t[p][v] = inv_shuffle(mult(static_cast<uint64_t>(inv_sub[v]) << (8 * p)));
        ishuffle.build(inv_shuffle);
        tweak.build(tweak_shuffle);
        inv_tweak.build(tweak_inv_shuffle);
    }
    static uint64_t bytes(const uint8_t (&tab)[256], uint64_t v) {
        uint64_t o = 0;
        for (unsigned p = 0; p < 8; ++p) o |= static_cast<uint64_t>(tab[(v >> (8 * p)) & 0xff]) << (8 * p);
        return o;
    }

    // ComputePAC(data, modifier, key0 = key<127:64>, key1 = key<63:0>).
    uint64_t compute(uint64_t data, uint64_t modifier, uint64_t key0, uint64_t key1) const {
        uint64_t modk0 = (key0 << 63) | ((key0 >> 1) ^ (key0 >> 63));
        uint64_t mod = modifier, w = data ^ key0;
        for (unsigned i = 0; i <= 4; ++i) {
            w ^= key1 ^ mod ^ kRC[i];
            if (i > 0) w = shuffle_mult(w);
            w = bytes(sub, w);
            mod = tweak(mod);
        }
        w ^= modk0 ^ mod;
        w = bytes(sub, shuffle_mult(w));
        w = shuffle_mult(w) ^ key1;
        w = inv_sub_mult_ishuffle(ishuffle(w));  // inv_shuffle, inv_sub, mult, inv_shuffle
        w ^= key0 ^ mod;
        for (unsigned i = 0; i <= 4; ++i) {
            w = i < 4 ? inv_sub_mult_ishuffle(w) : bytes(inv_sub, w);
            mod = inv_tweak(mod);
            w ^= kRC[4 - i] ^ key1 ^ mod ^ kAlpha;
        }
        return w ^ modk0;
    }
};

const Qarma& qarma() {
    static const Qarma q;
    return q;
}

#if defined(__x86_64__)
// The same cipher with the 16 cells in the 16 bytes of an SSE register:
// the S-box, the cell permutations and the rotations inside cells are each
// one PSHUFB, and PACMult is rotations of the 4-cell rows (PSHUFD): every
// output row is rot1 of the next row ^ rot2 of the one after ^ rot1 of the
// third. About three times the table version's speed.
struct QarmaSse {
    __m128i sub, inv_sub, shuffle, inv_shuffle, rot1, rot2, shuf_row[4], tweak_perm, tweak_inv_perm, trot, inv_trot, tweak_mask,
        tweak_inv_mask, rc[5], alpha;

    static __m128i bytes16(const uint8_t (&b)[16]) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)); }
    __attribute__((target("ssse3"))) static __m128i expand(uint64_t v) {
        __m128i lo = _mm_cvtsi64_si128(static_cast<long long>(v)), m = _mm_set1_epi8(0x0f);
        return _mm_unpacklo_epi8(_mm_and_si128(lo, m), _mm_and_si128(_mm_srli_epi16(lo, 4), m));
    }
    __attribute__((target("ssse3"))) static uint64_t pack(__m128i x) {
        __m128i w = _mm_maddubs_epi16(x, _mm_set1_epi16(0x1001));  // (byte 2k) + 16 * (byte 2k+1)
        return static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(w, w)));
    }

    __attribute__((target("ssse3"))) QarmaSse() {
        uint8_t b[16], inv[16];
        for (unsigned i = 0; i < 16; ++i) inv[kSub[i]] = static_cast<uint8_t>(i);
        sub = bytes16(kSub);
        inv_sub = bytes16(inv);
        for (unsigned j = 0; j < 16; ++j) inv[kShuffle[j]] = static_cast<uint8_t>(j);
        shuffle = bytes16(kShuffle);
        inv_shuffle = bytes16(inv);
        for (unsigned k = 1; k < 4; ++k) {  // the cell shuffle, then rows rotated by k (PACMult's)
            for (unsigned j = 0; j < 16; ++j) b[j] = kShuffle[(j + 4 * k) % 16];
            shuf_row[k] = bytes16(b);
        }
        for (unsigned v = 0; v < 16; ++v) b[v] = static_cast<uint8_t>(rot4(v, 1));
        rot1 = bytes16(b);
        for (unsigned v = 0; v < 16; ++v) b[v] = static_cast<uint8_t>(rot4(v, 2));
        rot2 = bytes16(b);
        tweak_perm = bytes16(kTweakFrom);
        for (unsigned j = 0; j < 16; ++j) inv[kTweakFrom[j]] = static_cast<uint8_t>(j);
        tweak_inv_perm = bytes16(inv);
        for (unsigned v = 0; v < 16; ++v) b[v] = static_cast<uint8_t>(tweak_rot(v));
        trot = bytes16(b);
        for (unsigned v = 0; v < 16; ++v) b[v] = static_cast<uint8_t>(tweak_inv_rot(v));
        inv_trot = bytes16(b);
        for (unsigned j = 0; j < 16; ++j) b[j] = (kTweakRot >> j) & 1 ? 0xff : 0;  // (the output cells rotated)
        tweak_mask = bytes16(b);  // (and the input cells the inverse rotates: the same positions)
        tweak_inv_mask = tweak_mask;
        for (unsigned i = 0; i < 5; ++i) rc[i] = expand(kRC[i]);
        alpha = expand(kAlpha);
    }

    // mult(shuffle(x)) with the row rotations folded into the shuffle, and
    // the two rot1 terms rotated together.
    __attribute__((target("ssse3"))) __m128i shuffle_mult(__m128i x) const {
        __m128i a = _mm_xor_si128(_mm_shuffle_epi8(x, shuf_row[1]), _mm_shuffle_epi8(x, shuf_row[3]));
        return _mm_xor_si128(_mm_shuffle_epi8(rot1, a), _mm_shuffle_epi8(rot2, _mm_shuffle_epi8(x, shuf_row[2])));
    }
    __attribute__((target("ssse3"))) __m128i mult(__m128i x) const {
        __m128i r1 = _mm_shuffle_epi8(rot1, x), r2 = _mm_shuffle_epi8(rot2, x);
        return _mm_xor_si128(_mm_xor_si128(_mm_shuffle_epi32(r1, 0x39), _mm_shuffle_epi32(r2, 0x4e)),
                             _mm_shuffle_epi32(r1, 0x93));
    }
    __attribute__((target("ssse3"))) __m128i tweak(__m128i t) const {
        __m128i p = _mm_shuffle_epi8(t, tweak_perm);
        __m128i r = _mm_shuffle_epi8(trot, p);
        return _mm_or_si128(_mm_andnot_si128(tweak_mask, p), _mm_and_si128(tweak_mask, r));
    }
    __attribute__((target("ssse3"))) __m128i inv_tweak(__m128i t) const {
        __m128i r = _mm_shuffle_epi8(inv_trot, t);
        __m128i y = _mm_or_si128(_mm_andnot_si128(tweak_inv_mask, t), _mm_and_si128(tweak_inv_mask, r));
        return _mm_shuffle_epi8(y, tweak_inv_perm);
    }

    // What depends on the key and the modifier alone: the round keys with
    // the tweak schedule folded in (Linux signs many return addresses with
    // the same SP and key, so the last few are kept).
    struct Schedule {
        uint64_t modifier = 0, key0 = 0, key1 = 0;
        bool valid = false;
        __m128i k0, fwd[5], mid0, k1, k0mod, bwd[5], mk0;
    };
    __attribute__((target("ssse3"))) void schedule(Schedule& s, uint64_t modifier, uint64_t key0,
                                                  uint64_t key1) const {
        s.modifier = modifier, s.key0 = key0, s.key1 = key1, s.valid = true;
        __m128i k0 = expand(key0), k1 = expand(key1), mod = expand(modifier);
        s.k0 = k0;
        s.k1 = k1;
        s.mk0 = expand((key0 << 63) | ((key0 >> 1) ^ (key0 >> 63)));
        for (unsigned i = 0; i <= 4; ++i) {
            s.fwd[i] = _mm_xor_si128(_mm_xor_si128(k1, mod), rc[i]);
            mod = tweak(mod);
        }
        s.mid0 = _mm_xor_si128(s.mk0, mod);
        s.k0mod = _mm_xor_si128(k0, mod);
        for (unsigned i = 0; i <= 4; ++i) {
            mod = inv_tweak(mod);
            s.bwd[i] = _mm_xor_si128(_mm_xor_si128(rc[4 - i], k1), _mm_xor_si128(mod, alpha));
        }
    }
    __attribute__((target("ssse3"))) uint64_t encrypt(const Schedule& s, uint64_t data) const {
        __m128i w = _mm_xor_si128(expand(data), s.k0);
        for (unsigned i = 0; i <= 4; ++i) {
            w = _mm_xor_si128(w, s.fwd[i]);
            if (i > 0) w = shuffle_mult(w);
            w = _mm_shuffle_epi8(sub, w);
        }
        w = _mm_xor_si128(w, s.mid0);
        w = _mm_shuffle_epi8(sub, shuffle_mult(w));
        w = _mm_xor_si128(shuffle_mult(w), s.k1);
        w = _mm_shuffle_epi8(mult(_mm_shuffle_epi8(inv_sub, _mm_shuffle_epi8(w, inv_shuffle))), inv_shuffle);
        w = _mm_xor_si128(w, s.k0mod);
        for (unsigned i = 0; i <= 4; ++i) {
            w = _mm_shuffle_epi8(inv_sub, w);
            if (i < 4) w = _mm_shuffle_epi8(mult(w), inv_shuffle);
            w = _mm_xor_si128(w, s.bwd[i]);
        }
        return pack(_mm_xor_si128(w, s.mk0));
    }
    uint64_t compute(uint64_t data, uint64_t modifier, uint64_t key0, uint64_t key1) const {
        static thread_local Schedule recent[16];
        Schedule& s = recent[(modifier ^ (modifier >> 4) ^ (modifier >> 12) ^ key1) & 15];
        if (!s.valid || s.modifier != modifier || s.key0 != key0 || s.key1 != key1) schedule(s, modifier, key0, key1);
        return encrypt(s, data);
    }
};
#endif

// XXH64's rounds and avalanche over a, b, c, d with seed 1 (without the
// length XXH64 adds): QEMU's implementation-defined PAC (pauth-impdef=on).
uint64_t xxh64_4(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    constexpr uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full, P3 = 0x165667B19E3779F9ull,
                       P4 = 0x85EBCA77C2B2AE63ull, seed = 1;
    auto round = [](uint64_t acc, uint64_t in) { return std::rotl(acc + in * P2, 31) * P1; };
    auto merge = [&](uint64_t h, uint64_t v) { return (h ^ round(0, v)) * P1 + P4; };
    uint64_t v1 = round(seed + P1 + P2, a), v2 = round(seed + P2, b), v3 = round(seed, c), v4 = round(seed - P1, d);
    uint64_t h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    return h ^ (h >> 32);
}

}  // namespace

// QARMA5 by the tables (`sse` false) or, where the host has SSSE3, in SSE
// registers.
uint64_t pac_compute_qarma5(uint64_t data, uint64_t modifier, uint64_t key0, uint64_t key1, bool sse) {
#if defined(__x86_64__)
    static const bool have_ssse3 = __builtin_cpu_supports("ssse3");
    if (sse && have_ssse3) {
        static const QarmaSse q;
        return q.compute(data, modifier, key0, key1);
    }
#else
    (void)sse;
#endif
    return qarma().compute(data, modifier, key0, key1);
}

namespace {
[[gnu::noinline]] uint64_t pac_miss(uint64_t data, uint64_t modifier, const CpuState::PacKey& k, bool impdef) {
    return impdef ? xxh64_4(data, modifier, k.lo, k.hi) : pac_compute_qarma5(data, modifier, k.hi, k.lo, true);
}
}  // namespace

// (the cache lookup inlined where this file uses it, the cipher not)
uint64_t Cpu::compute_pac(uint64_t data, uint64_t modifier, unsigned key) {
    const CpuState::PacKey& k = s.pac_keys[key];
    PacCacheEntry& e = pac_cache_[(std::rotl(data, 17) ^ modifier ^ (modifier >> 29) ^ k.lo) % kPacCacheSize];
    if (e.data == data && e.modifier == modifier && e.lo == k.lo && e.hi == k.hi && e.valid) {
        ++pac_cached_;
        return e.pac;
    }
    ++pac_computed_;
    uint64_t pac = pac_miss(data, modifier, k, pauth_impdef());
    e = PacCacheEntry{data, modifier, k.lo, k.hi, pac, true};
    return pac;
}

namespace a64 {

namespace {

enum Key : unsigned { IA = 0, IB = 1, DA = 2, DB = 3, GA = 4 };

// Where the PAC goes in a pointer of the EL1&0 regime (QEMU's
// aa64_va_parameters): bit 55 selects TTBR0/TTBR1's half, whose TBI
// (cleared for instruction addresses by TBID) and TxSZ (held to 16..39:
// no FEAT_ST or 52-bit addresses here) bound the field.
struct PacField {
    bool tbi;
    unsigned bot, top;  // the field is bits bot..top-1 (top 56 with TBI, else 64)
};
PacField pac_field(const Cpu& c, uint64_t ptr, bool data) {
    bool hi = (ptr >> 55) & 1;
    uint64_t tcr = c.s.tcr_el1;
    bool tbi = (tcr >> (hi ? 38 : 37)) & 1;
    if (!data && ((tcr >> (hi ? 52 : 51)) & 1)) tbi = false;  // TBID1/TBID0
    unsigned tsz = static_cast<unsigned>((tcr >> (hi ? 16 : 0)) & 0x3f);
    tsz = tsz < 16 ? 16 : tsz > 39 ? 39 : tsz;
    return {tbi, 64 - tsz, tbi ? 56u : 64u};
}
uint64_t field_mask(const PacField& f) { return (f.top == 64 ? ~0ull : (1ull << f.top) - 1) & ~((1ull << f.bot) - 1); }

// The pointer with the PAC field made the extension of bit 55.
uint64_t original_ptr(uint64_t ptr, const PacField& f) {
    uint64_t m = field_mask(f);
    return ((ptr >> 55) & 1) ? ptr | m : ptr & ~m;
}

bool key_enabled(const Cpu& c, unsigned key) {
    static constexpr unsigned kBit[4] = {31, 30, 27, 13};  // SCTLR_EL1.EnIA, EnIB, EnDA, EnDB
    return (c.s.sctlr_el1 >> kBit[key]) & 1;
}

uint64_t add_pac(Cpu& c, uint64_t ptr, uint64_t modifier, unsigned key) {
    if (!key_enabled(c, key)) return ptr;
    PacField f = pac_field(c, ptr, key >= DA);
    uint64_t m = field_mask(f);
    bool ext = (ptr >> (f.tbi ? 55 : 63)) & 1;
    uint64_t pac = c.compute_pac(ext ? ptr | m : ptr & ~m, modifier, key);
    // A pointer whose field is not an extension gets a PAC that cannot
    // authenticate: one bit of it flipped.
    if ((ptr & m) != 0 && (ptr & m) != m) pac ^= 1ull << (f.top - 2);
    uint64_t bit55 = ptr & (1ull << 55), pac_bits = m & ~(1ull << 55);
    if (f.tbi) return (ptr & ~m) | (pac & pac_bits) | bit55;  // (the tag byte kept)
    return (ptr & ((1ull << f.bot) - 1)) | (pac & pac_bits) | (ext ? 1ull << 55 : 0);
}

uint64_t auth(Cpu& c, uint64_t ptr, uint64_t modifier, unsigned key) {
    if (!key_enabled(c, key)) return ptr;
    PacField f = pac_field(c, ptr, key >= DA);
    uint64_t orig = original_ptr(ptr, f);
    uint64_t pac = c.compute_pac(orig, modifier, key);
    if (((pac ^ ptr) & field_mask(f) & ~(1ull << 55)) == 0) return orig;
    // Failed: the error code (keynumber:NOT(keynumber)) in bits 54:53
    // (TBI) or 62:61, which makes the pointer fault when it is used.
    uint64_t code = (key & 1) ? 2 : 1;
    unsigned at = f.tbi ? 53 : 61;
    return (orig & ~(3ull << at)) | (code << at);
}

uint64_t strip(const Cpu& c, uint64_t ptr, bool data) { return original_ptr(ptr, pac_field(c, ptr, data)); }

}  // namespace

namespace {
// PACIASP, AUTIASP, PACIBSP, AUTIBSP and the Z forms (Linux's function
// entries and returns), for the interpreter: X30 signed or authenticated
// with the SP (or 0) directly; NOPs without FEAT_PAuth.
template <bool Aut, unsigned Key>
uint64_t pac_lr_value(Cpu& c, uint64_t x30, uint64_t modifier) {
    return Aut ? auth(c, x30, modifier, Key) : add_pac(c, x30, modifier, Key);
}

template <bool Aut, unsigned Key, bool Sp>
bool pac_lr(Cpu& c, const DecodedInsn&) {
    if (!c.has_pauth()) return false;
    c.s.x[30] = pac_lr_value<Aut, Key>(c, c.s.x[30], Sp ? c.sp() : 0);
    return false;
}
}  // namespace

PacLrFn pac_lr_function(unsigned op2) {
    static constexpr PacLrFn kFns[4] = {&pac_lr_value<false, 0>, &pac_lr_value<false, 1>, &pac_lr_value<true, 0>,
                                        &pac_lr_value<true, 1>};
    return kFns[(op2 >> 1) & 3];
}

Handler pac_lr_handler(unsigned op2) {
    static constexpr Handler kPacLr[8] = {&pac_lr<false, 0, false>, &pac_lr<false, 0, true>,
                                          &pac_lr<false, 1, false>, &pac_lr<false, 1, true>,
                                          &pac_lr<true, 0, false>,  &pac_lr<true, 0, true>,
                                          &pac_lr<true, 1, false>,  &pac_lr<true, 1, true>};
    return kPacLr[op2 & 7];
}

// PACIA..AUTDZB, XPACI, XPACD (data processing, one source, opcode2 1).
void exec_PAC_1src(Cpu& c, uint32_t i) {
    unsigned op = bits(i, 15, 10), rn = bits(i, 9, 5), rd = bits(i, 4, 0);
    bool z = op & 8;
    if (!c.has_pauth() || op > 17 || ((z || op >= 16) && rn != 31)) return c.undefined();
    uint64_t v = c.x(rd);
    if (op >= 16) {  // XPACI, XPACD
        c.set_x(rd, strip(c, v, op == 17));
        return;
    }
    uint64_t modifier = z ? 0 : c.x_or_sp(rn);
    unsigned key = op & 3;
    c.set_x(rd, (op & 4) ? auth(c, v, modifier, key) : add_pac(c, v, modifier, key));
}

// PACGA: the top half of the generic key's PAC of Xn with Xm|SP.
void exec_PACGA(Cpu& c, uint32_t i) {
    if (!c.has_pacga()) return c.undefined();
    uint64_t pac = c.compute_pac(c.x(bits(i, 9, 5)), c.x_or_sp(bits(i, 20, 16)), GA);
    c.set_x(bits(i, 4, 0), pac & 0xffffffff00000000ull);
}

// The hint-space forms (HINT #7, #8-#14 even, #24-#31): NOPs without PAuth.
void exec_PAC_HINT_SP(Cpu& c, uint32_t i) {
    if (!c.has_pauth()) return;
    unsigned op = bits(i, 11, 5);
    if (op == 7) {  // XPACLRI
        c.s.x[30] = strip(c, c.s.x[30], false);
        return;
    }
    unsigned key = (op >> 1) & 1;
    bool aut = (op >> 2) & 1;
    uint64_t ptr, modifier;
    unsigned reg;
    if (op < 16) {  // PACIA1716, PACIB1716, AUTIA1716, AUTIB1716: X17 with X16
        reg = 17;
        modifier = c.s.x[16];
    } else {  // ...Z (modifier 0) and ...SP (the SP) of X30
        reg = 30;
        modifier = op & 1 ? c.sp() : 0;
    }
    ptr = c.s.x[reg];
    c.s.x[reg] = aut ? auth(c, ptr, modifier, key) : add_pac(c, ptr, modifier, key);
}
void exec_PAC_HINT_1716(Cpu& c, uint32_t i) { exec_PAC_HINT_SP(c, i); }
void exec_XPACLRI(Cpu& c, uint32_t i) { exec_PAC_HINT_SP(c, i); }

// BRAA(Z), BRAB(Z), BLRAA(Z), BLRAB(Z), RETAA, RETAB, ERETAA, ERETAB.
void exec_BRANCH_PAC(Cpu& c, uint32_t i) {
    unsigned opc = bits(i, 24, 21), key = bit(i, 10), rn = bits(i, 9, 5), rm = bits(i, 4, 0);
    bool ok;
    switch (opc) {
    case 0: case 1: ok = rm == 31; break;                 // BRA?Z, BLRA?Z
    case 2: case 4: ok = rn == 31 && rm == 31; break;     // RETA?, ERETA?
    case 8: case 9: ok = true; break;                     // BRA?, BLRA?
    default: ok = false; break;
    }
    if (!ok || !c.has_pauth() || (opc == 4 && c.s.el == 0)) return c.undefined();
    if (opc == 4) {  // ERETAA/ERETAB: ELR authenticated with the SP (before the return changes it)
        exception_return(c, auth(c, c.s.elr_el1, c.sp(), key));
        return;
    }
    uint64_t target = opc == 2 ? c.s.x[30] : c.x(rn);
    uint64_t modifier = opc == 2 ? c.sp() : opc >= 8 ? c.x_or_sp(rm) : 0;
    target = auth(c, target, modifier, key);
    if (opc == 1 || opc == 9) c.s.x[30] = c.s.pc + 4;
    if (opc != 2 && c.has_bti()) c.s.btype = c.btype_of(opc & 1, rn, c.guarded_at(c.s.pc));  // (BRA*, BLRA*)
    c.branch_to(target);
}

// LDRAA, LDRAB: a 64-bit load from Xn|SP authenticated with a data key
// (modifier 0) plus a scaled 10-bit offset; W: the address written back.
void exec_LDRA(Cpu& c, uint32_t i) {
    if (!c.has_pauth()) return c.undefined();
    unsigned rn = bits(i, 9, 5), rt = bits(i, 4, 0);
    bool wback = bit(i, 11);
    int64_t offset = sext((bit(i, 22) << 9) | bits(i, 20, 12), 10) * 8;
    uint64_t addr = auth(c, c.x_or_sp(rn), 0, bit(i, 23) ? DB : DA) + static_cast<uint64_t>(offset);
    uint64_t v;
    if (!c.load(addr, 8, v)) return;
    if (wback) c.set_x_or_sp(rn, addr);
    c.set_x(rt, v);
}

}  // namespace a64

}  // namespace armvm
