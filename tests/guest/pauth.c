// guest-cflags: -O2 -mgeneral-regs-only -march=armv8.3-a
// Pointer authentication (FEAT_PAuth) at EL1, compared with
// qemu-system-aarch64 -cpu max: the PAC of each key (QARMA5, bit for bit)
// for pointers in either half, tagged, and with bad extension bits, under
// TCR settings that move the PAC field (TxSZ, TBI, TBID); authentication
// that succeeds and that fails (the error code), XPAC, PACGA, the hint-space
// forms (PACIASP, AUTIB1716, XPACLRI, ...), the combined branches and
// returns, LDRAA/LDRAB, ERETAA, and every form a no-op with its key
// disabled in SCTLR_EL1. (MMU off: TCR still shapes the PAC field.)
#include "lib.h"

#define SYSREG_W(name, v) __asm__ volatile("msr " name ", %0" : : "r"(v))

static void set_keys(uint64_t seed) {
    uint64_t k[10];
    for (int i = 0; i < 10; ++i) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        k[i] = seed ^ (seed >> 29);
    }
    SYSREG_W("s3_0_c2_c1_0", k[0]);  // APIAKeyLo_EL1
    SYSREG_W("s3_0_c2_c1_1", k[1]);  // APIAKeyHi_EL1
    SYSREG_W("s3_0_c2_c1_2", k[2]);  // APIBKey
    SYSREG_W("s3_0_c2_c1_3", k[3]);
    SYSREG_W("s3_0_c2_c2_0", k[4]);  // APDAKey
    SYSREG_W("s3_0_c2_c2_1", k[5]);
    SYSREG_W("s3_0_c2_c2_2", k[6]);  // APDBKey
    SYSREG_W("s3_0_c2_c2_3", k[7]);
    SYSREG_W("s3_0_c2_c3_0", k[8]);  // APGAKey
    SYSREG_W("s3_0_c2_c3_1", k[9]);
    __asm__ volatile("isb");
}

#define OP2(name)                                                            \
    static uint64_t name(uint64_t p, uint64_t m) {                           \
        __asm__ volatile(#name " %0, %1" : "+r"(p) : "r"(m));                \
        return p;                                                            \
    }
OP2(pacia)
OP2(pacib)
OP2(pacda)
OP2(pacdb)
OP2(autia)
OP2(autib)
OP2(autda)
OP2(autdb)
#define OP1(name)                                                            \
    static uint64_t name(uint64_t p) {                                       \
        __asm__ volatile(#name " %0" : "+r"(p));                             \
        return p;                                                            \
    }
OP1(xpaci)
OP1(xpacd)
OP1(paciza)
OP1(autdzb)
static uint64_t pacga(uint64_t n, uint64_t m) {
    uint64_t d;
    __asm__ volatile("pacga %0, %1, %2" : "=r"(d) : "r"(n), "r"(m));
    return d;
}

static uint64_t sctlr(void) {
    uint64_t v;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(v));
    return v;
}
static void set_sctlr(uint64_t v) {
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(v));
}
static void set_tcr(uint64_t v) {
    __asm__ volatile("msr tcr_el1, %0; isb" : : "r"(v));
}

static uint64_t fold;
static void mix(uint64_t v) { fold = (fold ^ v) * 0x100000001b3ull + (fold >> 31); }

static const uint64_t kPtrs[] = {
    0x0000123456789abcull, 0xffff800012345678ull, 0x00ff000000001000ull, 0x1200000000400000ull,
    0xff7fffffffffff00ull, 0x0000000000000000ull, 0x0080000000000040ull, 0xffffffffffffffffull,
};
static const uint64_t kMods[] = {0, 0x1234, 0x40001000ull, 0xfedcba9876543210ull};

static void one_config(const char* name, uint64_t tcr) {
    set_tcr(tcr);
    puts_uart(name);
    puts_uart("\n");
    for (unsigned pi = 0; pi < sizeof kPtrs / sizeof kPtrs[0]; ++pi) {
        uint64_t p = kPtrs[pi], m = kMods[pi % 4];
        uint64_t ia = pacia(p, m), ib = pacib(p, m), da = pacda(p, m), db = pacdb(p, m);
        put_named_hex("  pacia", ia);
        put_named_hex("  pacib", ib);
        put_named_hex("  pacda", da);
        put_named_hex("  pacdb", db);
        put_named_hex("  autia ok", autia(ia, m));
        put_named_hex("  autib bad", autib(ib, m + 1));
        put_named_hex("  autda bad", autda(db, m));
        put_named_hex("  autdb ok", autdb(db, m));
        put_named_hex("  xpaci", xpaci(ia));
        put_named_hex("  xpacd", xpacd(da));
    }
}

// The combined branches: each lands on its label, or reports where it went.
static uint64_t combined(uint64_t m) {
    uint64_t r = 0, lr;
    __asm__ volatile(
        "adr x9, 1f\n pacia x9, %[m]\n braa x9, %[m]\n mov %[r], #99\n b 9f\n"
        "1: adr x9, 2f\n paciza x9\n braaz x9\n mov %[r], #98\n b 9f\n"
        "2: adr x9, 3f\n pacib x9, sp\n brab x9, sp\n mov %[r], #97\n b 9f\n"
        "3: mov %[r], #1\n"
        "9:\n"
        : [r] "+r"(r)
        : [m] "r"(m)
        : "x9", "memory");
    // BLRAA and RETAA: a call that signs its return address with the SP.
    __asm__ volatile(
        "adr x9, 5f\n pacia x9, %[m]\n blraa x9, %[m]\n b 6f\n"
        "5: paciasp\n autiasp\n mov %[lr], x30\n pacibsp\n retab\n"
        "6:\n"
        : [lr] "=&r"(lr)
        : [m] "r"(m)
        : "x9", "x30", "memory");
    put_named_hex("branches", r);
    return lr;
}

static void hints(void) {
    uint64_t a, b, c, d;
    __asm__ volatile(
        "mov x17, #0x1000\n movk x17, #0x4000, lsl #16\n mov x16, #77\n pacia1716\n mov %0, x17\n"
        "autia1716\n mov %1, x17\n mov x30, #0x2000\n pacibz\n mov %2, x30\n xpaclri\n mov %3, x30\n"
        : "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d)
        :
        : "x16", "x17", "x30");
    put_named_hex("pacia1716", a);
    put_named_hex("autia1716", b);
    put_named_hex("pacibz", c);
    put_named_hex("xpaclri", d);
}

static volatile uint64_t data_word = 0x5555aaaa12345678ull;

int main(uint64_t dtb) {
    (void)dtb;
    uint64_t isar1;
    __asm__ volatile("mrs %0, id_aa64isar1_el1" : "=r"(isar1));
    put_named_hex("APA/API/GPA/GPI", isar1 & 0xff000ff0ull);
    uint64_t base = sctlr();
    const uint64_t en = (1ull << 31) | (1ull << 30) | (1ull << 27) | (1ull << 13);  // EnIA, EnIB, EnDA, EnDB
    set_sctlr(base | en);
    set_keys(1);
    one_config("T0SZ/T1SZ 16, TBI0", 16 | (16ull << 16) | (1ull << 37));
    one_config("T0SZ/T1SZ 25, no TBI", 25 | (25ull << 16));
    one_config("T0SZ 39 T1SZ 20, TBI0 TBI1, TBID0", 39 | (20ull << 16) | (1ull << 37) | (1ull << 38) | (1ull << 51));
    set_keys(2);
    one_config("T0SZ/T1SZ 16, TBI1 TBID1", 16 | (16ull << 16) | (1ull << 38) | (1ull << 52));
    // Many PACs folded into one number: the cipher over more inputs.
    set_tcr(16 | (16ull << 16));
    fold = 0;
    for (uint64_t i = 0; i < 2000; ++i) {
        uint64_t p = (i * 0x9e3779b97f4a7c15ull) & 0x0000ffffffffffffull, m = i * 0x632be59bd9b4e019ull;
        mix(pacia(p, m));
        mix(pacdb(p | 0xffff000000000000ull, m));
        mix(pacga(p, m));
    }
    put_named_hex("fold", fold);
    put_named_hex("paciza", paciza(0x400000));
    put_named_hex("autdzb bad", autdzb(0x400000));
    put_named_hex("pacga", pacga(0x123, 0x456));
    hints();
    put_named_hex("return via blraa/retab", combined(0x4242) != 0);
    uint64_t signed_ptr = pacda((uint64_t)&data_word, 0), loaded;
    __asm__ volatile("ldraa %0, [%1]" : "=r"(loaded) : "r"(signed_ptr) : "memory");
    put_named_hex("ldraa", loaded);
    uint64_t base_reg = pacdb((uint64_t)&data_word - 16, 0);
    __asm__ volatile("ldrab %0, [%1, #16]!" : "=r"(loaded), "+r"(base_reg) : : "memory");
    put_named_hex("ldrab!", loaded);
    put_named_hex("ldrab! base", base_reg - (uint64_t)&data_word);
    // ERETAA: back to EL1 at a label, through ELR signed with the SP.
    uint64_t landed = 0;
    __asm__ volatile(
        "adr x9, 1f\n mov x10, sp\n pacia x9, x10\n msr elr_el1, x9\n mov x9, #0x3c5\n msr spsr_el1, x9\n"
        "eretaa\n mov %0, #2\n b 2f\n 1: mov %0, #1\n 2:\n"
        : "+r"(landed)
        :
        : "x9", "x10", "memory");
    put_named_hex("eretaa", landed);
    // Keys disabled: every form leaves the pointer as it is.
    set_sctlr(base & ~en);
    put_named_hex("pacia off", pacia(0x123456789a, 5));
    put_named_hex("autdb off", autdb(0x00aa00123456789a, 5));
    put_named_hex("pacga off", pacga(0x123, 0x456));  // (PACGA has no enable)
    return 0;
}
