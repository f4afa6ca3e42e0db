// FP/AdvSIMD groundwork: the CPACR_EL1.FPEN trap as lazy FP switching
// uses it (trap, enable, retry), FPCR/FPSR, and the SIMD&FP loads and
// stores (every addressing form, pairs, LD1-4/ST1-4 multiple, single and
// replicate) with the moves between general and vector registers.
#include "lib.h"

static volatile uint64_t traps, last_esr, last_kind;
static uint8_t src[256] __attribute__((aligned(16)));
static uint8_t dst[256] __attribute__((aligned(16)));

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    uint64_t esr = read_esr();
    if (is_el0_exit(esr)) {
        el0_return();
        return;
    }
    last_esr = esr;
    last_kind = kind;
    if ((esr >> 26) != 0x07) unexpected_exception(kind);
    traps++;
    // Lazy switching: enable FP at EL0 and EL1, retry the instruction.
    uint64_t cpacr;
    __asm__ volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
    __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(cpacr | (3ull << 20)));
}

static uint64_t sum_dst(void) {
    uint64_t h = 0;
    for (unsigned i = 0; i < sizeof dst; i++) h = h * 31 + dst[i];
    return h;
}

static void clear_dst(void) {
    for (unsigned i = 0; i < sizeof dst; i++) dst[i] = 0;
}

void user_fp(void);
__asm__(".global user_fp\n"
        "user_fp:\n"
        "  fmov d1, x2\n"
        "  fmov x3, d1\n"
        "  svc #0xfff\n");
static uint8_t user_stack[256] __attribute__((aligned(16)));

int main(void) {
    install_vectors();
    uint64_t v;
    __asm__ volatile("mrs %0, cpacr_el1" : "=r"(v));
    puts_uart("CPACR_EL1 at reset ");
    put_hex(v);
    puts_uart("\n");
    __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(0ull));
    __asm__ volatile("fmov d0, %1\n fmov %0, d0" : "=r"(v) : "r"(0x1122334455667788ull));
    puts_uart("FMOV after the trap: ");
    put_hex(v);
    puts_uart(" traps ");
    put_dec(traps);
    puts_uart(" ESR ");
    put_hex(last_esr);
    puts_uart(" vector ");
    put_dec(last_kind);
    puts_uart("\n");

    __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(0ull));
    __asm__ volatile("mrs %0, fpcr" : "=r"(v));
    puts_uart("MRS FPCR traps too: ");
    put_dec(traps);
    puts_uart("\n");
    // Loads and stores of SIMD&FP registers trap too (compiled code checks
    // FPEN once per block): the first of each round, then FP is on.
    for (unsigned i = 0; i < 32; i++) src[i] = (uint8_t)(i * 7 + 1);
    clear_dst();
    uint64_t before = traps;
    for (int r = 0; r < 3; r++) {
        __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(0ull));
        __asm__ volatile("ldr q2, [%0]\n str q2, [%1]\n ldp d3, d4, [%0, #16]\n stp d4, d3, [%1, #16]\n"
                         "ldr s5, [%0, #4]\n str s5, [%1, #40]"
                         : : "r"(src), "r"(dst) : "memory", "v2", "v3", "v4", "v5");
    }
    puts_uart("SIMD&FP loads and stores trap: ");
    put_dec(traps - before);
    puts_uart(" dst ");
    put_hex(sum_dst());
    puts_uart("\n");
    // FPEN = 01: EL1 only; EL0 traps to EL1 (lower-EL vector).
    __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(1ull << 20));
    el0_call(user_fp, (uint64_t)user_stack + sizeof user_stack, 0x55, 0);
    puts_uart("EL0 with FPEN=01: traps ");
    put_dec(traps);
    puts_uart(" vector ");
    put_dec(last_kind);
    puts_uart("\n");

    __asm__ volatile("msr fpcr, %0; mrs %0, fpcr" : "=r"(v) : "0"(~0ull));
    puts_uart("FPCR all ones reads ");
    put_hex(v);
    __asm__ volatile("msr fpsr, %0; mrs %0, fpsr" : "=r"(v) : "0"(~0ull));
    puts_uart(" FPSR ");
    put_hex(v);
    puts_uart("\n");
    __asm__ volatile("msr fpcr, xzr; msr fpsr, xzr");

    for (unsigned i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 7 + 3);
    // LD1 of four registers, ST4 of words: a transpose.
    clear_dst();
    __asm__ volatile("ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [%0]\n st4 {v0.4s, v1.4s, v2.4s, v3.4s}, [%1]"
                     : : "r"(src), "r"(dst) : "v0", "v1", "v2", "v3", "memory");
    puts_uart("LD1x4/ST4 ");
    put_hex(sum_dst());
    // LD3 of halfwords with post-index by register, ST1 of three 8B.
    clear_dst();
    uint64_t p = (uint64_t)src, step = 5;
    __asm__ volatile("ld3 {v4.8h, v5.8h, v6.8h}, [%0], %2\n st1 {v4.8b, v5.8b, v6.8b}, [%1]"
                     : "+r"(p) : "r"(dst), "r"(step) : "v4", "v5", "v6", "memory");
    puts_uart(" LD3/ST1x3 ");
    put_hex(sum_dst());
    puts_uart(" post ");
    put_hex(p - (uint64_t)src);
    // LD2 of doublewords, post-index by the transfer size; ST2.
    clear_dst();
    p = (uint64_t)src + 32;
    __asm__ volatile("ld2 {v7.2d, v8.2d}, [%0], #32\n st2 {v7.2d, v8.2d}, [%1]"
                     : "+r"(p) : "r"(dst) : "v7", "v8", "memory");
    puts_uart(" LD2/ST2 ");
    put_hex(sum_dst());
    puts_uart("\n");
    // Single lanes and replicate.
    clear_dst();
    __asm__ volatile("movi v9.16b, #0\n ld1 {v9.s}[2], [%0]\n ld4r {v10.8b, v11.8b, v12.8b, v13.8b}, [%0]\n"
                     " st1 {v9.16b}, [%1]\n st1 {v10.8b, v11.8b, v12.8b, v13.8b}, [%2]\n"
                     " ld2 {v14.h, v15.h}[5], [%0]\n st2 {v14.h, v15.h}[5], [%3]"
                     : : "r"(src + 40), "r"(dst), "r"(dst + 16), "r"(dst + 64) : "v9", "v10", "v11", "v12",
                       "v13", "v14", "v15", "memory");
    puts_uart("lanes and replicate ");
    put_hex(sum_dst());
    puts_uart("\n");
    // Scalar forms: B/H/S/D/Q by every addressing mode, pairs, literal.
    clear_dst();
    uint64_t a = (uint64_t)src, b = (uint64_t)dst, idx = 3;
    __asm__ volatile("ldr b16, [%0, #5]\n ldr h17, [%0, #6]\n ldr s18, [%0, #8]\n ldr d19, [%0, #16]\n"
                     " ldr q20, [%0, #32]\n ldur q21, [%0, #3]\n ldr d22, [%0, %2, lsl #3]\n"
                     " ldr q23, [%0, #48]!\n ldr s24, [%0], #-4\n ldp q25, q26, [%0, #16]\n"
                     " ldp s27, s28, [%0, #-8]!\n ldr s29, 1f\n b 2f\n 1: .word 0x3f800000\n 2:\n"
                     " str b16, [%1]\n str h17, [%1, #2]\n str s18, [%1, #4]\n str d19, [%1, #8]\n"
                     " str q20, [%1, #16]\n stur q21, [%1, #33]\n str d22, [%1, %2, lsl #3]\n"
                     " stp q23, q25, [%1, #64]!\n stp q26, q21, [%1], #32\n stp s27, s28, [%1, #8]\n"
                     " stp d29, d27, [%1, #16]\n str s24, [%1, #32]"
                     : "+r"(a), "+r"(b) : "r"(idx)
                     : "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28",
                       "v29", "memory");
    puts_uart("scalar forms ");
    put_hex(sum_dst());
    puts_uart(" ");
    put_hex(a - (uint64_t)src);
    puts_uart(" ");
    put_hex(b - (uint64_t)dst);
    puts_uart("\n");
    // DUP, INS, UMOV, SMOV.
    uint64_t r[6];
    __asm__ volatile("dup v0.8h, %w6\n ins v0.b[3], %w7\n ins v0.s[3], v0.s[0]\n umov %w0, v0.b[3]\n"
                     " umov %1, v0.d[1]\n smov %2, v0.h[2]\n smov %w3, v0.b[3]\n dup v1.4s, v0.s[1]\n"
                     " fmov %4, v1.d[1]\n fmov %5, d0"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]), "=r"(r[4]), "=r"(r[5])
                     : "r"(0x8123ull), "r"(0xf5ull) : "v0", "v1");
    puts_uart("copies");
    for (int k = 0; k < 6; k++) {
        puts_uart(" ");
        put_hex(r[k]);
    }
    puts_uart("\n");
    return 0;
}
