// Armv8.1-8.6 features in a Linux process (issue 20): built with
// -march=armv8.6-a and the optional extensions, run under -cpu max on armvm
// and on qemu-system-aarch64; the output must be the same. Prints the
// HWCAP bits the kernel gives, then results of the instructions (inline
// assembly, and loops the compiler vectorizes with the new forms).
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

static uint64_t nzcv(void) {
    uint64_t v;
    __asm__ volatile("mrs %0, nzcv" : "=r"(v));
    return v >> 28;
}

// A dot product of bytes and a halving multiply the compiler turns into
// SDOT and SQRDMLAH at -O3 with dotprod and rdm.
__attribute__((noinline)) static int32_t dot(const int8_t* a, const int8_t* b, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

// Half precision (FEAT_FP16): a loop the compiler vectorizes with FMLA
// on 8H lanes, and the bits of its results folded into one number.
__attribute__((noinline)) static void axpy16(_Float16* y, const _Float16* x, _Float16 a, int n) {
    for (int i = 0; i < n; ++i) y[i] = a * x[i] + y[i];
}

__attribute__((noinline)) static uint32_t fold16(const _Float16* v, int n) {
    uint32_t h = 0;
    for (int i = 0; i < n; ++i) {
        uint16_t b;
        memcpy(&b, &v[i], 2);
        h = h * 31 + b;
    }
    return h;
}

// Pointer authentication (built with -mbranch-protection=standard: every
// non-leaf function here signs its return address): a return address
// changed after PACIASP fails AUTIASP and the RET faults.
__asm__(".text\n.global bad_return\nbad_return:\n paciasp\n eor x30, x30, #0x1000\n autiasp\n ret\n");
void bad_return(void);
static sigjmp_buf pac_env;
static void on_segv(int sig, siginfo_t* si, void* uc) {
    (void)uc;
    printf("pac: signal %d code %d at +%#lx\n", sig, si->si_code,
           (unsigned long)(((uintptr_t)si->si_addr & 0xffffffffffffull) - (uintptr_t)&bad_return));
    siglongjmp(pac_env, 1);
}

int main(void) {
    printf("hwcap %#lx hwcap2 %#lx\n", getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
    uint64_t isar0, isar1, pfr0;  // (the kernel's emulation of EL0 ID register reads)
    __asm__ volatile("mrs %0, id_aa64isar0_el1; mrs %1, id_aa64isar1_el1; mrs %2, id_aa64pfr0_el1"
                     : "=r"(isar0), "=r"(isar1), "=r"(pfr0));
    printf("isar0 %#lx isar1 %#lx pfr0 %#lx\n", isar0, isar1, pfr0);

    int8_t a[64], b[64];
    for (int i = 0; i < 64; ++i) a[i] = (int8_t)(i * 37 - 100), b[i] = (int8_t)(200 - i * 11);
    printf("dot %d\n", dot(a, b, 64));

    uint32_t w;
    double d = -1e10;
    __asm__ volatile("fjcvtzs %w0, %d1" : "=r"(w) : "w"(d));
    printf("fjcvtzs %#x nzcv %lu\n", w, nzcv());
    float f = 3.5e9f, r32;
    __asm__ volatile("frint32z %s0, %s1" : "=w"(r32) : "w"(f));
    printf("frint32z %a\n", r32);

    uint64_t x = 0x123456789abcdef0, v;
    __asm__ volatile("ldapr %0, [%1]" : "=r"(v) : "r"(&x) : "memory");
    __asm__ volatile("msr nzcv, xzr; cfinv; rmif %0, #4, #0b1001; setf8 %w0" : : "r"(v) : "cc");
    printf("ldapr %#lx flags %lu\n", v, nzcv());

    uint32_t vin[4] = {0x3f818000, 0x40490fdb, 0xc2f6e979, 0x00000001}, bf[2];
    __asm__ volatile("ldr q0, [%1]; bfcvtn v1.4h, v0.4s; str d1, [%0]" : : "r"(bf), "r"(vin) : "v0", "v1", "memory");
    printf("bfcvtn %#x %#x\n", bf[0], bf[1]);

    uint64_t q[2] = {0x0123456789abcdef, 0xfedcba9876543210}, out[2];
    __asm__ volatile("ldr q0, [%1]; mov v1.16b, v0.16b; mov v2.16b, v0.16b; sha512h q1, q0, v2.2d;"
                     "eor3 v1.16b, v1.16b, v0.16b, v2.16b; xar v1.2d, v1.2d, v0.2d, #7; str q1, [%0]"
                     : : "r"(out), "r"(q) : "v0", "v1", "v2", "memory");
    printf("sha512h/eor3/xar %#lx %#lx\n", out[0], out[1]);

    float cx[4] = {1.5f, -2.0f, 0.25f, 3.0f}, cy[4] = {2.0f, 0.5f, -1.0f, 4.0f}, cz[4];
    __asm__ volatile("ldr q0, [%1]; ldr q1, [%2]; movi v2.4s, #0; fcmla v2.4s, v0.4s, v1.4s, #0;"
                     "fcmla v2.4s, v0.4s, v1.4s, #90; str q2, [%0]"
                     : : "r"(cz), "r"(cx), "r"(cy) : "v0", "v1", "v2", "memory");
    printf("fcmla %a %a %a %a\n", cz[0], cz[1], cz[2], cz[3]);

    _Float16 hx[40], hy[40];
    for (int i = 0; i < 40; ++i) hx[i] = (_Float16)(i * 0.37f - 3.0f), hy[i] = (_Float16)(1.0f / (i + 1));
    axpy16(hy, hx, (_Float16)1.7f, 40);
    _Float16 hq = hy[3] / hx[5], hs;
    __asm__("fsqrt %h0, %h1" : "=w"(hs) : "w"(hy[39]));
    printf("fp16 %#x %a %a %a\n", fold16(hy, 40), (double)hy[39], (double)hq, (double)hs);
    uint16_t fh[4] = {0x3c00, 0x4248, 0xc500, 0x0001}, gh[4] = {0x4000, 0x3555, 0x3c01, 0x7bff};
    float acc[4] = {1.0f, -2.5f, 1e-3f, 0.0f};
    __asm__ volatile("ldr d0, [%1]; ldr d1, [%2]; ldr q2, [%0]; fmlal v2.4s, v0.4h, v1.4h;"
                     "fmlsl v2.4s, v1.4h, v0.h[1]; str q2, [%0]"
                     : : "r"(acc), "r"(fh), "r"(gh) : "v0", "v1", "v2", "memory");
    printf("fmlal %a %a %a %a\n", acc[0], acc[1], acc[2], acc[3]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (!sigsetjmp(pac_env, 1)) {
        bad_return();
        puts("pac: returned");
    }
    uint64_t lr = 0x400000, lr2;
    __asm__ volatile("mov x17, %1; mov x16, #7; pacia1716; autia1716; mov %0, x17" : "=r"(lr2) : "r"(lr) : "x16", "x17");
    printf("pac: 1716 round trip %#lx\n", lr2);

    uint64_t rnd, dit;
    __asm__ volatile("mrs %0, rndr" : "=r"(rnd));
    printf("rndr nzcv %lu\n", nzcv());
    __asm__ volatile("msr dit, #1; mrs %0, dit; msr dit, #0" : "=r"(dit));
    printf("dit %#lx\n", dit);
    return 0;
}
