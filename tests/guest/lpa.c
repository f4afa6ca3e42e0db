// 52-bit addresses on -cpu max: FEAT_LVA (52-bit VAs with 64K pages),
// FEAT_LPA (52-bit PAs with 64K pages: OA[51:48] in descriptor bits
// [15:12]) and FEAT_LPA2 (TCR_EL1.DS with 4K pages: a walk from level -1,
// OA[51:50] in bits [9:8], level 0 blocks). Each setup maps the program
// (identity) and a few more addresses, then reads them: the values, or
// the fault (EC, DFSC, so level -1's codes too). The output must be the
// same on armvm and QEMU.
#include "lib.h"

#define N_TABLES 12
static uint64_t pool[N_TABLES][8192] __attribute__((aligned(65536)));
static unsigned used;
static volatile uint64_t last_esr, faults;
static uint64_t marker[8] __attribute__((aligned(4096)));

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    uint64_t esr = read_esr();
    if (esr >> 26 != 0x25) unexpected_exception(kind);
    last_esr = esr;
    faults++;
    write_elr(read_elr() + 4);
}

static uint64_t* table(void) {
    uint64_t* t = pool[used++];
    for (unsigned i = 0; i < 8192; i++) t[i] = 0;
    return t;
}

static void probe(const char* what, uint64_t va) {
    uint64_t v = 0;
    __asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
    puts_uart("  ");
    puts_uart(what);
    if (faults) {
        puts_uart(": fault DFSC ");
        put_hex(last_esr & 0x3f);
        puts_uart("\n");
        faults = 0;
        return;
    }
    puts_uart(": ");
    put_hex(v);
    puts_uart("\n");
}

#define AF (1ull << 10)
#define NORMAL ((1ull << 2) | AF)
#define DEVICE (AF | (1ull << 54) | (1ull << 53))

static void mmu_on(uint64_t tcr, uint64_t* root) {
    __asm__ volatile("msr mair_el1, %0" : : "r"(0xff00ull));
    __asm__ volatile("msr tcr_el1, %0" : : "r"(tcr));
    __asm__ volatile("msr ttbr0_el1, %0" : : "r"((uint64_t)root));
    __asm__ volatile("dsb ishst; tlbi vmalle1; dsb ish; isb" ::: "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | 1 | (1 << 2) | (1 << 12)));
}

static void mmu_off(void) {
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr & ~1ull));
    __asm__ volatile("dsb ishst; tlbi vmalle1; dsb ish; isb" ::: "memory");
}

static const uint64_t TCR_COMMON = (1ull << 8) | (1ull << 10) | (3ull << 12) | (1ull << 23) /* EPD1 */;

// 64K pages, T0SZ 12 (52-bit VAs): level 1 (bits 51:42), level 2 (41:29),
// level 3 (28:16).
static void lva_64k(unsigned ips) {
    used = 0;
    uint64_t *l1 = table(), *l2 = table(), *l2hi = table(), *l3 = table();
    l1[0] = (uint64_t)l2 | 3;
    l2[0] = 0 | DEVICE | 1;                         // 0-512 MiB: devices
    l2[2] = 0x40000000 | NORMAL | (3 << 8) | 1;     // 1-1.5 GiB: RAM (512 MiB blocks)
    l2[3] = (uint64_t)l3 | 3;                       // 1.5 GiB: pages
    l1[0x3c0] = (uint64_t)l2hi | 3;                 // VA 0x000f_0000_0000_0000
    l2hi[2] = 0x40000000 | NORMAL | (3 << 8) | 1;   // its RAM alias
    uint64_t m = (uint64_t)marker & ~0xffffull;
    l3[0] = m | NORMAL | (3 << 8) | 3;                             // 0x6000_0000: the marker's 64K page
    l3[1] = m | NORMAL | (3 << 8) | (1ull << 12) | 3;              // OA[51:48] 1
    l3[2] = (m | (0xfull << 48)) | NORMAL | (3 << 8) | 3;          // an address bit above 47
    // a 64K level 1 block (4 TiB): valid with a 52-bit PARange
    l1[1] = 0 | NORMAL | (3 << 8) | 1;
    puts_uart(ips == 6 ? "64K, 52-bit VA, IPS 52:\n" : "64K, 52-bit VA, IPS 48:\n");
    mmu_on(12 | (1ull << 14) /* TG0 64K */ | ((uint64_t)ips << 32) | TCR_COMMON, l1);
    uint64_t off = (uint64_t)marker & 0xffff;
    probe("RAM", (uint64_t)marker);
    probe("high alias", 0x000f000000000000ull | (uint64_t)marker);
    probe("page", 0x60000000 + off);
    probe("page, OA[51:48] 1", 0x60010000 + off);
    probe("page, OA bit 48 in the address field", 0x60020000 + off);
    probe("level 1 block", 0x40000000000ull | (uint64_t)marker);
    probe("unmapped, level 1", 0x000e000000000000ull);
    mmu_off();
}

// 4K pages with DS (FEAT_LPA2), T0SZ 12: level -1 (bits 51:48), 0 (47:39),
// 1 (38:30), 2, 3.
static void lpa2_4k(void) {
    used = 0;
    uint64_t *lm1 = table(), *l0 = table(), *l1 = table(), *l0hi = table(), *l1hi = table(), *l2 = table(),
             *l3 = table();
    lm1[0] = (uint64_t)l0 | 3;
    l0[0] = (uint64_t)l1 | 3;
    l1[0] = 0 | DEVICE | 1;                          // 0-1 GiB devices
    l1[1] = 0x40000000 | NORMAL | 1;                 // RAM (1 GiB block; SH from TCR)
    l1[2] = (uint64_t)l2 | 3;
    l2[0] = (uint64_t)l3 | 3;
    uint64_t m = (uint64_t)marker;
    l3[0] = m | NORMAL | 3;                          // 0x8000_0000: the marker
    l3[1] = m | NORMAL | (1ull << 8) | 3;            // OA[51:50] 1
    lm1[15] = (uint64_t)l0hi | 3;                    // VA 0x000f_...
    l0hi[0] = (uint64_t)l1hi | 3;
    l1hi[1] = 0x40000000 | NORMAL | 1;
    l0[1] = 0 | DEVICE | 1;                          // a level 0 block (512 GiB) at VA 0x80_0000_0000: devices
    puts_uart("4K, DS, 52-bit VA, IPS 52:\n");
    mmu_on(12 | (6ull << 32) | (1ull << 59) | TCR_COMMON, lm1);
    probe("RAM", m);
    probe("high alias", 0x000f000000000000ull | m);
    probe("page", 0x80000000ull);
    probe("page, OA[51:50] 1", 0x80001000ull);
    probe("level 0 block (the PL011's flags)", 0x8000000000ull + 0x09000018);
    probe("unmapped, level -1", 0x0003000000000000ull);
    probe("unmapped, level 0", 0x0000100000000000ull);
    mmu_off();
}

int main(void) {
    install_vectors();
    uint64_t mmfr0, mmfr2;
    __asm__ volatile("mrs %0, id_aa64mmfr0_el1; mrs %1, id_aa64mmfr2_el1" : "=r"(mmfr0), "=r"(mmfr2));
    puts_uart("PARange ");
    put_hex(mmfr0 & 0xf);
    puts_uart(" TGran4 ");
    put_hex((mmfr0 >> 28) & 0xf);
    puts_uart(" TGran16 ");
    put_hex((mmfr0 >> 20) & 0xf);
    puts_uart(" VARange ");
    put_hex((mmfr2 >> 16) & 0xf);
    puts_uart("\n");
    for (unsigned i = 0; i < 8; i++) marker[i] = 0x1111111100000000ull + i;
    lva_64k(6);
    lva_64k(5);
    lpa2_4k();
    return 0;
}
