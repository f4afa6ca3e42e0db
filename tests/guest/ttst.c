// Small translation tables (FEAT_TTST, -cpu max): TTBR1's half with
// T1SZ 48, a 64 KiB VA range walked from level 3, as armvm's max and
// QEMU's have it; on a CPU without TTST the TxSZ is clamped to 39 and
// the same tables are walked from level 2. Reads of the range's first and
// last page and of an address below it print their values or the fault
// (EC, DFSC): the output must be the same on armvm and QEMU.
#include "lib.h"

static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t small[512] __attribute__((aligned(4096)));
static uint64_t page_a[512] __attribute__((aligned(4096)));
static uint64_t page_b[512] __attribute__((aligned(4096)));
static volatile uint64_t last_esr, faults;

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    uint64_t esr = read_esr();
    if (esr >> 26 != 0x25) unexpected_exception(kind);
    last_esr = esr;
    faults++;
    write_elr(read_elr() + 4);
}

static void probe(const char* what, uint64_t va) {
    uint64_t v = 0;
    __asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
    puts_uart(what);
    if (faults) {
        puts_uart(": fault EC ");
        put_hex(last_esr >> 26);
        puts_uart(" DFSC ");
        put_hex(last_esr & 0x3f);
        puts_uart("\n");
        faults = 0;
        return;
    }
    puts_uart(": ");
    put_hex(v);
    puts_uart("\n");
}

int main(void) {
    install_vectors();
    uint64_t mmfr2;
    __asm__ volatile("mrs %0, id_aa64mmfr2_el1" : "=r"(mmfr2));
    puts_uart("ID_AA64MMFR2_EL1.ST ");
    put_hex((mmfr2 >> 28) & 0xf);
    puts_uart("\n");
    page_a[1] = 0xaaaa0001;
    page_b[1] = 0xbbbb0001;
    page_b[0x1f0 / 8] = 0xbbbb01f0;
    const uint64_t normal = (1ull << 10) | (3ull << 8) | (1ull << 2);
    l1[0] = 0 | (1ull << 10) | 1 | (1ull << 54) | (1ull << 53);  // device, XN
    l1[1] = 0x40000000 | normal | 1;
    small[0] = (uint64_t)page_a | normal | 3;   // VA 0xffff_ffff_ffff_0000 (level 3, T1SZ 48)
    small[15] = (uint64_t)page_b | normal | 3;  // VA 0xffff_ffff_ffff_f000
    uint64_t tcr = 25 | (48ull << 16) | (2ull << 30) /* TG1 4K */ | (2ull << 32) | (1ull << 8) | (1ull << 10) |
                   (3ull << 12) | (1ull << 24) | (1ull << 26) | (3ull << 28);
    __asm__ volatile("msr mair_el1, %0" : : "r"(0xff00ull));
    __asm__ volatile("msr tcr_el1, %0" : : "r"(tcr));
    __asm__ volatile("msr ttbr0_el1, %0" : : "r"((uint64_t)l1));
    __asm__ volatile("msr ttbr1_el1, %0" : : "r"((uint64_t)small));
    __asm__ volatile("dsb ishst; tlbi vmalle1; dsb ish; isb" ::: "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | 1 | (1 << 2) | (1 << 12)));
    probe("first page", 0xffffffffffff0008ull);
    probe("last page", 0xfffffffffffff008ull);
    probe("last page, high", 0xfffffffffffff1f0ull);
    probe("below the range", 0xfffffffffffe0008ull);
    probe("middle, unmapped", 0xffffffffffff8008ull);
    return 0;
}
