// fw_cfg on the virt board (0x09020000): the traditional interface (selector
// and data register, byte and wide reads) and the DMA interface (select,
// read, skip, a refused write, reads past the end), on QEMU's items and on
// files given with -fw_cfg.
#include "lib.h"

#define FW_CFG 0x09020000ul
#define DATA8 (*(volatile uint8_t*)(FW_CFG + 0))
#define DATA64 (*(volatile uint64_t*)(FW_CFG + 0))
#define DATA32 (*(volatile uint32_t*)(FW_CFG + 0))
#define SEL (*(volatile uint16_t*)(FW_CFG + 8))
#define DMA_HI (*(volatile uint32_t*)(FW_CFG + 16))
#define DMA_LO (*(volatile uint32_t*)(FW_CFG + 20))
#define DMA64 (*(volatile uint64_t*)(FW_CFG + 16))

enum { CTL_ERROR = 1, CTL_READ = 2, CTL_SKIP = 4, CTL_SELECT = 8, CTL_WRITE = 0x10 };

struct dma_access {
    uint32_t control, length;
    uint64_t address;
} __attribute__((aligned(16)));

static struct dma_access req;
static uint8_t buf[8192] __attribute__((aligned(16)));
static uint8_t dir[4 + 64 * 64] __attribute__((aligned(16)));

static void select_key(uint16_t key) { SEL = __builtin_bswap16(key); }

// One DMA request; returns the control word the device left.
static uint32_t dma(uint32_t control, void* to, uint32_t len, int wide) {
    req.control = __builtin_bswap32(control);
    req.length = __builtin_bswap32(len);
    req.address = __builtin_bswap64((uint64_t)to);
    __asm__ volatile("dsb sy" ::: "memory");
    uint64_t a = (uint64_t)&req;
    if (wide) {
        DMA64 = __builtin_bswap64(a);
    } else {
        DMA_HI = __builtin_bswap32((uint32_t)(a >> 32));
        DMA_LO = __builtin_bswap32((uint32_t)a);
    }
    __asm__ volatile("dsb sy" ::: "memory");
    return __builtin_bswap32(*(volatile uint32_t*)&req.control);
}

static uint32_t sum(const uint8_t* p, uint32_t n) {
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; ++i) s = s * 31 + p[i];
    return s;
}

static int streq(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

static void show(const char* what, uint64_t v) {
    puts_uart(what);
    put_hex(v);
    puts_uart("\n");
}

int main(void) {
    select_key(0);
    char sig[5] = {0};
    for (int i = 0; i < 4; ++i) sig[i] = (char)DATA8;
    puts_uart("signature: ");
    puts_uart(sig);
    puts_uart("\n");
    select_key(1);
    show("id: ", DATA32);
    show("dma signature: ", __builtin_bswap64(DMA64));
    select_key(5);
    show("cpus: ", DATA8 | (DATA8 << 8));
    select_key(0x7777);
    show("no such key: ", DATA64);

    // The kernel command line (-append) and image sizes, as firmware reads them.
    select_key(0x14);
    uint32_t cl = DATA32;
    show("cmdline size: ", cl);
    select_key(0x15);
    puts_uart("cmdline: ");
    for (uint32_t i = 0; i < cl && i < 200; ++i) {
        char ch = (char)DATA8;
        if (ch) putc_uart(ch);
    }
    puts_uart("\n");
    select_key(0x08);
    show("kernel size: ", DATA32);
    select_key(0x0b);
    show("initrd size: ", DATA32);

    // The file directory by DMA.
    uint32_t c = dma(CTL_SELECT | CTL_READ | (0x19u << 16), dir, sizeof dir, 0);
    show("dir read control: ", c);
    uint32_t n = __builtin_bswap32(*(uint32_t*)dir);
    for (uint32_t i = 0; i < n && i < 64; ++i) {
        const uint8_t* e = dir + 4 + 64 * i;
        const char* name = (const char*)e + 8;
        uint32_t size = __builtin_bswap32(*(const uint32_t*)e);
        uint16_t key = __builtin_bswap16(*(const uint16_t*)(e + 4));
        int opt = name[0] == 'o' && name[1] == 'p' && name[2] == 't' && name[3] == '/';
        if (!opt && !streq(name, "etc/boot-fail-wait")) continue;
        puts_uart("file ");
        puts_uart(name);
        puts_uart(" size ");
        put_dec(size);
        puts_uart("\n");
        if (size > sizeof buf - 64) continue;
        // By DMA, with 16 bytes past the end (zero-filled).
        for (uint32_t j = 0; j < size + 16; ++j) buf[j] = 0xee;
        c = dma(CTL_SELECT | CTL_READ | ((uint32_t)key << 16), buf, size + 16, 1);
        int zeros = 1;
        for (uint32_t j = size; j < size + 16; ++j) zeros &= buf[j] == 0;
        show("  dma control: ", c);
        show("  dma sum: ", sum(buf, size));
        puts_uart(zeros ? "  past the end: zeros\n" : "  past the end: not zeros\n");
        // The same through the data register, 8 bytes at a time.
        select_key(key);
        for (uint32_t j = 0; j < size; j += 8) {
            uint64_t v = DATA64;
            for (int b = 0; b < 8 && j + b < size; ++b) buf[j + b] = (uint8_t)(v >> (8 * b));
        }
        show("  data register sum: ", sum(buf, size));
        if (size > 24) {
            // Skip 17 bytes, read 7.
            c = dma(CTL_SELECT | CTL_SKIP | ((uint32_t)key << 16), 0, 17, 0);
            show("  skip control: ", c);
            c = dma(CTL_READ, buf, 7, 0);
            show("  after skip: ", sum(buf, 7));
        } else if (opt) {
            puts_uart("  text: ");
            buf[size] = 0;
            puts_uart((const char*)buf);
            puts_uart("\n");
        }
        c = dma(CTL_SELECT | CTL_WRITE | ((uint32_t)key << 16), buf, 4, 0);
        show("  write control: ", c);
    }
    // A request whose buffer is outside RAM.
    c = dma(CTL_SELECT | CTL_READ | (0u << 16), (void*)0x100000000000ul, 4, 0);
    show("bad buffer control: ", c);
    return 0;
}
