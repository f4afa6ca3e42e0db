// guest-cflags: -O3 -march=armv8-a+crypto
// SIMD-heavy benchmark for scripts/bench-cpu: loops GCC vectorises at -O3
// (a single-precision matrix multiply, a byte checksum, a widening int16
// dot product, saxpy, a min/max scan), deterministic, printing a checksum.
// This file is built with FP/SIMD allowed (the "guest-cflags" line above);
// main() itself is general-registers-only because it enables FP first.
#include "lib.h"

#ifndef ROUNDS
#define ROUNDS 500  // (the tests build it with fewer)
#endif
#define M 48
static float ma[M][M] __attribute__((aligned(16))), mb[M][M] __attribute__((aligned(16))),
    mc[M][M] __attribute__((aligned(16)));
#define NB 16384
static uint8_t bytes[NB] __attribute__((aligned(16)));
static int16_t s1[NB] __attribute__((aligned(16))), s2[NB] __attribute__((aligned(16)));
static float fx[NB] __attribute__((aligned(16))), fy[NB] __attribute__((aligned(16)));

__attribute__((noinline)) static void init(void) {
    uint32_t seed = 12345;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++) {
            seed = seed * 1103515245u + 12345u;
            ma[i][j] = (float)((seed >> 16) & 255) / 64.0f;
            seed = seed * 1103515245u + 12345u;
            mb[i][j] = (float)((seed >> 16) & 255) / 128.0f - 1.0f;
        }
    for (int i = 0; i < NB; i++) {
        seed = seed * 1103515245u + 12345u;
        bytes[i] = (uint8_t)(seed >> 24);
        s1[i] = (int16_t)(seed >> 8);
        s2[i] = (int16_t)(seed >> 12);
        fx[i] = (float)(int16_t)(seed >> 3) / 1024.0f;
        fy[i] = 0.0f;
    }
}

__attribute__((noinline)) static void matmul(void) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < M; j++) mc[i][j] = 0.0f;
        for (int k = 0; k < M; k++) {
            float a = ma[i][k];
            for (int j = 0; j < M; j++) mc[i][j] += a * mb[k][j];
        }
    }
}

__attribute__((noinline)) static uint32_t checksum(void) {
    uint32_t a = 1, b = 0;
    for (int blk = 0; blk < NB; blk += 1024) {  // Adler-style, in blocks that cannot overflow
        uint32_t sa = 0, sw = 0;
        for (int i = 0; i < 1024; i++) {
            sa += bytes[blk + i];
            sw += (uint32_t)bytes[blk + i] * (uint32_t)(1024 - i);
        }
        b += a * 1024 + sw;
        a += sa;
    }
    return a ^ (b << 7);
}

__attribute__((noinline)) static int64_t dot16(void) {
    int64_t acc = 0;
    for (int i = 0; i < NB; i++) acc += (int32_t)s1[i] * s2[i];
    return acc;
}

__attribute__((noinline)) static void saxpy(float alpha) {
    for (int i = 0; i < NB; i++) fy[i] = alpha * fx[i] + fy[i] * 0.5f;
}

__attribute__((noinline)) static uint32_t minmax(void) {
    int16_t lo = 32767, hi = -32768;
    for (int i = 0; i < NB; i++) {
        lo = s1[i] < lo ? s1[i] : lo;
        hi = s2[i] > hi ? s2[i] : hi;
    }
    return (uint32_t)(uint16_t)lo << 16 | (uint16_t)hi;
}

static uint32_t fbits(float f) {
    union {
        float f;
        uint32_t u;
    } v = {f};
    return v.u;
}

__attribute__((noinline)) static uint64_t run(void) {
    uint64_t sum = 0;
    init();
    for (int round = 0; round < ROUNDS; round++) {
        matmul();
        sum = sum * 31 + fbits(mc[round % M][(round * 7) % M]);
        sum = sum * 31 + checksum();
        bytes[round % NB] ^= (uint8_t)sum;
        sum = sum * 31 + (uint64_t)dot16();
        saxpy(1.0f / (float)(round + 1));
        sum = sum * 31 + fbits(fy[(round * 101) % NB]);
        sum = sum * 31 + minmax();
        s1[round % NB] = (int16_t)sum;
    }
    return sum;
}

__attribute__((target("general-regs-only"))) int main(void) {
    uint64_t cpacr;
    __asm__ volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
    __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(cpacr | (3ull << 20)));
    uint64_t sum = run();
    puts_uart("simd bench checksum: ");
    put_hex(sum);
    puts_uart("\n");
    return 0;
}
