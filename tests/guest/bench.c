// CPU-bound benchmark for scripts/bench-cpu: integer arithmetic, branches
// and memory traffic (a sieve, an insertion sort, a CRC-style hash and
// memory copies), deterministic, printing a checksum.
#include "lib.h"

#define N 65536
#ifndef ROUNDS
#define ROUNDS 150  // (the nested KVM rig builds it with fewer)
#endif
static uint8_t sieve[N];
static uint32_t arr[2048];
static uint64_t buf_a[4096], buf_b[4096];

static uint64_t run_sieve(void) {
    uint64_t count = 0;
    for (int i = 0; i < N; i++) sieve[i] = 1;
    for (int i = 2; i < N; i++) {
        if (!sieve[i]) continue;
        count++;
        for (int j = i * 2; j < N; j += i) sieve[j] = 0;
    }
    return count;
}

static uint64_t run_sort(uint32_t seed) {
    for (int i = 0; i < 2048; i++) {
        seed = seed * 1103515245u + 12345u;
        arr[i] = seed >> 8;
    }
    for (int i = 1; i < 2048; i++) {
        uint32_t v = arr[i];
        int j = i - 1;
        while (j >= 0 && arr[j] > v) {
            arr[j + 1] = arr[j];
            j--;
        }
        arr[j + 1] = v;
    }
    return arr[0] ^ arr[1024] ^ arr[2047];
}

static uint64_t run_hash(void) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int r = 0; r < 64; r++)
        for (int i = 0; i < 4096; i++) {
            buf_b[i] = buf_a[(i * 7 + r) & 4095] + h;
            h = (h ^ buf_b[i]) * 0x100000001b3ull;
            h = (h << 13) | (h >> 51);
        }
    return h;
}

int main(void) {
    uint64_t sum = 0;
    for (int i = 0; i < 4096; i++) buf_a[i] = (uint64_t)i * 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < ROUNDS; round++) {
        sum += run_sieve();
        sum ^= run_sort((uint32_t)round);
        sum += run_hash();
    }
    puts_uart("bench checksum: ");
    put_hex(sum);
    puts_uart("\n");
    return 0;
}
