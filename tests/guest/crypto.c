// The crypto extension computing known vectors: SHA-256("abc") and
// SHA-1("abc") (FIPS 180-2 appendix examples), AES-128 encryption and
// decryption of FIPS-197 appendix C.1, and PMULL/PMULL2 against a
// carry-less multiply done with general registers. Each result is printed
// and checked against the published value ("ok" / "WRONG").
//
// The C code uses general registers only; every SIMD&FP instruction is
// in an asm block that loads its operands from memory and stores its
// result back.
#include "lib.h"

__asm__(".arch armv8-a+crypto");

typedef struct {
    uint32_t w[4];
} __attribute__((aligned(16))) Vec;

static void put_words(const uint32_t* w, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        for (int s = 28; s >= 0; s -= 4) putc_uart("0123456789abcdef"[(w[i] >> s) & 15]);
    }
}

static void put_bytes(const uint8_t* b, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        putc_uart("0123456789abcdef"[b[i] >> 4]);
        putc_uart("0123456789abcdef"[b[i] & 15]);
    }
}

static int same_words(const uint32_t* a, const uint32_t* b, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static void verdict(int ok) { puts_uart(ok ? " ok\n" : " WRONG\n"); }

// The padded one-block message "abc" as 16 big-endian words.
static void abc_block(uint32_t* m) {
    for (unsigned i = 0; i < 16; i++) m[i] = 0;
    m[0] = 0x61626380;  // 'a' 'b' 'c' then the 1 bit
    m[15] = 24;         // the length in bits
}

// ---- SHA-256
static const uint32_t k256[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_abc(uint32_t* digest) {
    static uint32_t w[64] __attribute__((aligned(16)));
    Vec abcd = {{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a}},
               efgh = {{0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}};
    Vec abcd0 = abcd, efgh0 = efgh;
    abc_block(w);
    for (unsigned i = 0; i < 12; i++)  // the message schedule, four words at a time
        __asm__ volatile("ld1 {v0.4s}, [%0]\n ld1 {v1.4s}, [%1]\n ld1 {v2.4s}, [%2]\n ld1 {v3.4s}, [%3]\n"
                         " sha256su0 v0.4s, v1.4s\n sha256su1 v0.4s, v2.4s, v3.4s\n st1 {v0.4s}, [%4]"
                         : : "r"(&w[4 * i]), "r"(&w[4 * i + 4]), "r"(&w[4 * i + 8]), "r"(&w[4 * i + 12]), "r"(&w[4 * i + 16])
                         : "v0", "v1", "v2", "v3", "memory");
    for (unsigned i = 0; i < 16; i++)
        __asm__ volatile("ld1 {v0.4s}, [%0]\n ld1 {v1.4s}, [%1]\n ld1 {v2.4s}, [%2]\n ld1 {v3.4s}, [%3]\n"
                         " add v2.4s, v2.4s, v3.4s\n mov v4.16b, v0.16b\n"
                         " sha256h q0, q1, v2.4s\n sha256h2 q1, q4, v2.4s\n st1 {v0.4s}, [%0]\n st1 {v1.4s}, [%1]"
                         : : "r"(&abcd), "r"(&efgh), "r"(&w[4 * i]), "r"(&k256[4 * i])
                         : "v0", "v1", "v2", "v3", "v4", "memory");
    __asm__ volatile("ld1 {v0.4s}, [%0]\n ld1 {v1.4s}, [%1]\n ld1 {v2.4s}, [%2]\n ld1 {v3.4s}, [%3]\n"
                     " add v0.4s, v0.4s, v2.4s\n add v1.4s, v1.4s, v3.4s\n st1 {v0.4s}, [%0]\n st1 {v1.4s}, [%1]"
                     : : "r"(&abcd), "r"(&efgh), "r"(&abcd0), "r"(&efgh0) : "v0", "v1", "v2", "v3", "memory");
    for (unsigned i = 0; i < 4; i++) {
        digest[i] = abcd.w[i];
        digest[4 + i] = efgh.w[i];
    }
}

// ---- SHA-1
static void sha1_abc(uint32_t* digest) {
    static const uint32_t k[4] = {0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6};
    static uint32_t w[80] __attribute__((aligned(16)));
    Vec abcd = {{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}}, abcd0 = abcd;
    uint32_t e = 0xc3d2e1f0, e0 = e;
    abc_block(w);
    for (unsigned i = 0; i < 16; i++)
        __asm__ volatile("ld1 {v0.4s}, [%0]\n ld1 {v1.4s}, [%1]\n ld1 {v2.4s}, [%2]\n ld1 {v3.4s}, [%3]\n"
                         " sha1su0 v0.4s, v1.4s, v2.4s\n sha1su1 v0.4s, v3.4s\n st1 {v0.4s}, [%4]"
                         : : "r"(&w[4 * i]), "r"(&w[4 * i + 4]), "r"(&w[4 * i + 8]), "r"(&w[4 * i + 12]), "r"(&w[4 * i + 16])
                         : "v0", "v1", "v2", "v3", "memory");
    for (unsigned i = 0; i < 20; i++) {
        uint32_t next_e;
        const uint32_t* kp = &k[i / 5];
#define SHA1_ROUNDS(insn)                                                                                  \
    __asm__ volatile("ld1 {v0.4s}, [%1]\n ldr s1, [%2]\n ld1 {v2.4s}, [%3]\n ld1r {v3.4s}, [%4]\n"          \
                     " add v2.4s, v2.4s, v3.4s\n sha1h s4, s0\n " insn " q0, s1, v2.4s\n"                  \
                     " st1 {v0.4s}, [%1]\n fmov %w0, s4"                                                   \
                     : "=r"(next_e) : "r"(&abcd), "r"(&e), "r"(&w[4 * i]), "r"(kp) : "v0", "v1", "v2", "v3", "v4", \
                       "memory")
        if (i < 5)
            SHA1_ROUNDS("sha1c");
        else if (i >= 10 && i < 15)
            SHA1_ROUNDS("sha1m");
        else
            SHA1_ROUNDS("sha1p");
        e = next_e;
    }
    __asm__ volatile("ld1 {v0.4s}, [%0]\n ld1 {v2.4s}, [%1]\n add v0.4s, v0.4s, v2.4s\n st1 {v0.4s}, [%0]"
                     : : "r"(&abcd), "r"(&abcd0) : "v0", "v2", "memory");
    for (unsigned i = 0; i < 4; i++) digest[i] = abcd.w[i];
    digest[4] = e + e0;
}

// ---- AES-128
static uint32_t sub_word(uint32_t x) {  // SubBytes of four bytes: AESE with a zero key on x in every column
    uint32_t r;
    __asm__ volatile("dup v0.4s, %w1\n movi v1.16b, #0\n aese v0.16b, v1.16b\n fmov %w0, s0"
                     : "=r"(r) : "r"(x) : "v0", "v1");
    return r;
}

static void aes_expand(const uint8_t* key, uint8_t* rk /* 176 bytes */) {
    static const uint8_t rcon[10] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36};
    for (unsigned i = 0; i < 16; i++) rk[i] = key[i];
    for (unsigned i = 4; i < 44; i++) {
        uint8_t t[4] = {rk[4 * i - 4], rk[4 * i - 3], rk[4 * i - 2], rk[4 * i - 1]};
        if (i % 4 == 0) {  // RotWord, SubWord, Rcon
            uint32_t v = (uint32_t)t[1] | (uint32_t)t[2] << 8 | (uint32_t)t[3] << 16 | (uint32_t)t[0] << 24;
            v = sub_word(v);
            t[0] = (uint8_t)(v ^ rcon[i / 4 - 1]);
            t[1] = (uint8_t)(v >> 8);
            t[2] = (uint8_t)(v >> 16);
            t[3] = (uint8_t)(v >> 24);
        }
        for (unsigned j = 0; j < 4; j++) rk[4 * i + j] = rk[4 * i - 16 + j] ^ t[j];
    }
}

static void aes_encrypt(const uint8_t* rk, const uint8_t* in, uint8_t* out) {
    const uint8_t* p = rk;
    __asm__ volatile("ld1 {v0.16b}, [%1]\n mov x9, #9\n"
                     "1: ld1 {v1.16b}, [%0], #16\n aese v0.16b, v1.16b\n aesmc v0.16b, v0.16b\n"
                     " subs x9, x9, #1\n b.ne 1b\n"
                     " ld1 {v1.16b}, [%0], #16\n aese v0.16b, v1.16b\n ld1 {v1.16b}, [%0]\n"
                     " eor v0.16b, v0.16b, v1.16b\n st1 {v0.16b}, [%2]"
                     : "+r"(p) : "r"(in), "r"(out) : "x9", "v0", "v1", "memory", "cc");
}

// The equivalent inverse cipher: AESD with InvMixColumns'd round keys.
static void aes_decrypt(const uint8_t* rk, const uint8_t* in, uint8_t* out) {
    __asm__ volatile("ld1 {v0.16b}, [%1]\n add x10, %0, #160\n ld1 {v1.16b}, [x10]\n aesd v0.16b, v1.16b\n"
                     " mov x9, #9\n"
                     "1: sub x10, x10, #16\n ld1 {v1.16b}, [x10]\n aesimc v1.16b, v1.16b\n"
                     " aesimc v0.16b, v0.16b\n aesd v0.16b, v1.16b\n subs x9, x9, #1\n b.ne 1b\n"
                     " ld1 {v1.16b}, [%0]\n eor v0.16b, v0.16b, v1.16b\n st1 {v0.16b}, [%2]"
                     : : "r"(rk), "r"(in), "r"(out) : "x9", "x10", "v0", "v1", "memory", "cc");
}

// ---- PMULL: 64 x 64 carry-less products, checked against shifts and XORs.
static void clmul(uint64_t a, uint64_t b, uint64_t* lo, uint64_t* hi) {
    *lo = *hi = 0;
    for (unsigned k = 0; k < 64; k++)
        if ((b >> k) & 1) {
            *lo ^= a << k;
            if (k) *hi ^= a >> (64 - k);
        }
}

int main(void) {
    uint64_t cpacr;
    __asm__ volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
    __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(cpacr | (3ull << 20)));
    uint64_t isar0;
    __asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
    puts_uart("ID_AA64ISAR0 AES ");
    put_dec((isar0 >> 4) & 15);
    puts_uart(" SHA1 ");
    put_dec((isar0 >> 8) & 15);
    puts_uart(" SHA2 ");
    put_dec((isar0 >> 12) & 15);
    puts_uart("\n");

    static const uint32_t sha256_expect[8] = {0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
                                              0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad};
    uint32_t d[8];
    sha256_abc(d);
    puts_uart("SHA-256(abc) ");
    put_words(d, 8);
    verdict(same_words(d, sha256_expect, 8));

    static const uint32_t sha1_expect[5] = {0xa9993e36, 0x4706816a, 0xba3e2571, 0x7850c26c, 0x9cd0d89d};
    sha1_abc(d);
    puts_uart("SHA-1(abc) ");
    put_words(d, 5);
    verdict(same_words(d, sha1_expect, 5));

    static const uint8_t key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    static const uint8_t pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    static const uint8_t ct_expect[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                          0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
    static uint8_t rk[176] __attribute__((aligned(16)));
    static uint8_t ct[16] __attribute__((aligned(16))), back[16] __attribute__((aligned(16)));
    aes_expand(key, rk);
    aes_encrypt(rk, pt, ct);
    puts_uart("AES-128 encrypt ");
    put_bytes(ct, 16);
    int ok = 1;
    for (unsigned i = 0; i < 16; i++) ok &= ct[i] == ct_expect[i];
    verdict(ok);
    aes_decrypt(rk, ct, back);
    puts_uart("AES-128 decrypt ");
    put_bytes(back, 16);
    ok = 1;
    for (unsigned i = 0; i < 16; i++) ok &= back[i] == pt[i];
    verdict(ok);

    static const uint64_t ops[4] __attribute__((aligned(16))) = {0x87, 0xfedcba9876543210ull, 0x8000000000000001ull,
                                                                  0xffffffffffffffffull};
    uint64_t r[4] __attribute__((aligned(16)));
    __asm__ volatile("ld1 {v0.2d}, [%0]\n ld1 {v1.2d}, [%1]\n pmull v2.1q, v0.1d, v1.1d\n"
                     " pmull2 v3.1q, v0.2d, v1.2d\n st1 {v2.2d, v3.2d}, [%2]"
                     : : "r"(&ops[0]), "r"(&ops[2]), "r"(r) : "v0", "v1", "v2", "v3", "memory");
    uint64_t lo, hi;
    puts_uart("PMULL ");
    put_hex(r[1]);
    puts_uart(":");
    put_hex(r[0]);
    puts_uart(" PMULL2 ");
    put_hex(r[3]);
    puts_uart(":");
    put_hex(r[2]);
    clmul(ops[0], ops[2], &lo, &hi);
    ok = lo == r[0] && hi == r[1];
    clmul(ops[1], ops[3], &lo, &hi);
    verdict(ok && lo == r[2] && hi == r[3]);
    psci_system_off();
    return 0;
}
