// Code that a device overwrites: the program writes a function into a page
// and runs it until it is hot (translated, compiled), has fw_cfg's DMA
// interface overwrite the page with another function (the file opt/code,
// given with -fw_cfg), and runs the page again: the new function must run,
// not the translation of the old one. Then the same after a CPU write with
// IC IVAU, and with IC IALLU; the output must equal qemu-system-aarch64's.
#include "lib.h"

#define FW_CFG 0x09020000ul
#define SEL (*(volatile uint16_t*)(FW_CFG + 8))
#define DMA64 (*(volatile uint64_t*)(FW_CFG + 16))

enum { CTL_READ = 2, CTL_SELECT = 8 };

struct dma_access {
    uint32_t control, length;
    uint64_t address;
} __attribute__((aligned(16)));

static struct dma_access req;
static uint8_t dir[4 + 64 * 64] __attribute__((aligned(16)));
static uint32_t code[1024] __attribute__((aligned(4096)));

static uint32_t dma_read(uint16_t key, void* to, uint32_t len) {
    req.control = __builtin_bswap32(CTL_SELECT | CTL_READ | ((uint32_t)key << 16));
    req.length = __builtin_bswap32(len);
    req.address = __builtin_bswap64((uint64_t)to);
    __asm__ volatile("dsb sy" ::: "memory");
    DMA64 = __builtin_bswap64((uint64_t)&req);
    __asm__ volatile("dsb sy" ::: "memory");
    return __builtin_bswap32(*(volatile uint32_t*)&req.control);
}

static int streq(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

static uint64_t run(int times) {
    uint64_t (*fn)(void) = (uint64_t (*)(void))(void*)code;
    uint64_t s = 0;
    for (int i = 0; i < times; ++i) s += fn();
    return s;
}

static void show(const char* what, uint64_t v) {
    puts_uart(what);
    put_hex(v);
    puts_uart("\n");
}

int main(void) {
    // mov x0, #1; ret — written by the CPU, then made visible as the
    // architecture asks (clean, invalidate, barrier).
    code[0] = 0xd2800020;
    code[1] = 0xd65f03c0;
    __asm__ volatile("dc cvau, %0; dsb ish; ic ivau, %0; dsb ish; isb" ::"r"(code) : "memory");
    show("first function, 1000 runs: ", run(1000));

    // fw_cfg's DMA overwrites the page with opt/code (mov x0, #2; ret).
    dma_read(0x19, dir, sizeof dir);
    uint32_t n = __builtin_bswap32(*(uint32_t*)dir);
    uint16_t key = 0;
    for (uint32_t i = 0; i < n && i < 64; ++i) {
        const uint8_t* e = dir + 4 + 64 * i;
        if (streq((const char*)e + 8, "opt/code")) key = (uint16_t)((e[4] << 8) | e[5]);
    }
    show("opt/code key found: ", key != 0);
    show("dma control: ", dma_read(key, code, 8));
    __asm__ volatile("isb" ::: "memory");
    show("after DMA, 1000 runs: ", run(1000));

    // The CPU writes a third function (mov x0, #3; ret); IC IVAU by VA.
    code[0] = 0xd2800060;
    __asm__ volatile("dc cvau, %0; dsb ish; ic ivau, %0; dsb ish; isb" ::"r"(code) : "memory");
    show("after a CPU write, 1000 runs: ", run(1000));
    // IC IALLU, and a fourth (mov x0, #4; ret)
    code[0] = 0xd2800080;
    __asm__ volatile("dsb ish; ic iallu; dsb ish; isb" ::: "memory");
    show("after IC IALLU, 1000 runs: ", run(1000));
    psci_system_off();
    return 0;
}
