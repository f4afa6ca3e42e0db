// FEAT_BTI (-cpu max): a page of code mapped twice, guarded (GP) and not;
// BLR, BR through X16 and another register, and a BR from the guarded
// page itself, onto NOP, each BTI form and PACIASP, with SCTLR_EL1.BT1
// clear and set. Each landing prints "ok" or the Branch Target
// exception's ESR (EC 0x0d, ISS the BTYPE), where it was taken (ELR)
// and SPSR.BTYPE. The output must be the same on armvm and QEMU.
#include "lib.h"

#define CODE_VA 0x80000000ull  // the page, guarded
#define ALIAS_VA 0x80001000ull // the same page, not guarded
#define GP (1ull << 50)

static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l2[512] __attribute__((aligned(4096)));
static uint64_t l3[512] __attribute__((aligned(4096)));
static uint32_t code[1024] __attribute__((aligned(4096)));

static volatile uint64_t last_esr, last_elr, last_spsr, faults;

void sync_handler(uint64_t kind, uint64_t* frame) {
    uint64_t esr = read_esr();
    if (esr >> 26 != 0x0d) unexpected_exception(kind);
    last_esr = esr;
    last_elr = read_elr();
    uint64_t spsr;
    __asm__ volatile("mrs %0, spsr_el1" : "=r"(spsr));
    last_spsr = spsr;
    faults++;
    write_elr(frame[20]);  // back to the caller (x30)
}

static void blr(uint64_t target) {
    __asm__ volatile("blr %0" : : "r"(target) : "x30", "memory");
}
static void br16(uint64_t target) {
    __asm__ volatile("adr x30, 1f; mov x16, %0; br x16; 1:" : : "r"(target) : "x16", "x30", "memory");
}
static void br1(uint64_t target) {
    __asm__ volatile("adr x30, 1f; mov x1, %0; br x1; 1:" : : "r"(target) : "x1", "x30", "memory");
}
// BLR to the guarded page's trampoline (BTI c; BR x1): its BR, from a
// guarded page through X1, sets BTYPE 3.
static void via_guarded(uint64_t target) {
    __asm__ volatile("mov x1, %0; blr %1" : : "r"(target), "r"(CODE_VA + 6 * 16) : "x1", "x30", "memory");
}

static void report(const char* what) {
    puts_uart(what);
    if (!faults) {
        puts_uart(": ok\n");
        return;
    }
    puts_uart(": EC ");
    put_hex(last_esr >> 26);
    puts_uart(" ISS ");
    put_hex(last_esr & 0x1ffffff);
    puts_uart(" ELR +");
    put_hex(last_elr - CODE_VA);
    puts_uart(" SPSR.BTYPE ");
    put_hex((last_spsr >> 10) & 3);
    puts_uart("\n");
    faults = 0;
}

static uint64_t slot(unsigned k) { return CODE_VA + 16 * k; }

int main(void) {
    install_vectors();
    uint64_t pfr1;
    __asm__ volatile("mrs %0, id_aa64pfr1_el1" : "=r"(pfr1));
    puts_uart("ID_AA64PFR1_EL1.BT ");
    put_hex(pfr1 & 0xf);
    puts_uart("\n");

    static const uint32_t first[8] = {
        0xd503201f,  // 0: NOP
        0xd503245f,  // 1: BTI c
        0xd503249f,  // 2: BTI j
        0xd50324df,  // 3: BTI jc
        0xd503241f,  // 4: BTI
        0xd503233f,  // 5: PACIASP (SCTLR_EL1.EnIA clear: no PAC)
        0xd503245f,  // 6: BTI c; BR x1
        0xd503249f,  // 7: BTI j; RET
    };
    for (unsigned k = 0; k < 8; k++) {
        code[4 * k] = first[k];
        code[4 * k + 1] = k == 6 ? 0xd61f0020 /* BR x1 */ : 0xd65f03c0 /* RET */;
    }
    __asm__ volatile("dsb ish; ic iallu; dsb ish; isb" ::: "memory");

    // 0-1 GiB device, 1-2 GiB the program's RAM, 2 GiB: the code page twice.
    l1[0] = 0 | (1ull << 10) | 1 | (1ull << 54) | (1ull << 53);  // device (attr 0), XN
    l1[1] = 0x40000000 | (1ull << 10) | (3ull << 8) | (1ull << 2) | 1;
    l1[2] = (uint64_t)l2 | 3;
    l2[0] = (uint64_t)l3 | 3;
    uint64_t page = (uint64_t)code | (1ull << 10) | (3ull << 8) | (1ull << 2) | 3;
    l3[0] = page | GP;
    l3[1] = page;
    uint64_t tcr = 25 | (25ull << 16) | (2ull << 30) | (2ull << 32) | (1ull << 8) | (1ull << 10) | (3ull << 12) |
                   (1ull << 23) /* EPD1 */;
    __asm__ volatile("msr mair_el1, %0" : : "r"(0xff00ull));
    __asm__ volatile("msr tcr_el1, %0" : : "r"(tcr));
    __asm__ volatile("msr ttbr0_el1, %0" : : "r"((uint64_t)l1));
    __asm__ volatile("dsb ishst; tlbi vmalle1; dsb ish; isb" ::: "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr &= ~(1ull << 36 | 1ull << 35 | 1ull << 31);  // BT1, BT0, EnIA
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | 1 | (1 << 2) | (1 << 12)));

    blr(slot(0)); report("BLR to NOP");
    blr(slot(1)); report("BLR to BTI c");
    blr(slot(2)); report("BLR to BTI j");
    blr(slot(3)); report("BLR to BTI jc");
    blr(slot(4)); report("BLR to BTI");
    blr(slot(5)); report("BLR to PACIASP");
    blr(ALIAS_VA); report("BLR to NOP, not guarded");
    br16(slot(0)); report("BR x16 to NOP");
    br16(slot(2)); report("BR x16 to BTI j");
    br16(slot(1)); report("BR x16 to BTI c");
    br1(slot(1)); report("BR x1 (unguarded) to BTI c");
    br1(slot(4)); report("BR x1 (unguarded) to BTI");
    via_guarded(slot(1)); report("BR x1 (guarded) to BTI c");
    via_guarded(slot(7)); report("BR x1 (guarded) to BTI j");
    via_guarded(slot(3)); report("BR x1 (guarded) to BTI jc");
    via_guarded(slot(5)); report("BR x1 (guarded) to PACIASP, BT1 clear");
    via_guarded(ALIAS_VA + 16 * 4); report("BR x1 (guarded) to BTI, not guarded");
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | 1 | (1 << 2) | (1 << 12) | (1ull << 36)));
    via_guarded(slot(5)); report("BR x1 (guarded) to PACIASP, BT1 set");
    blr(slot(5)); report("BLR to PACIASP, BT1 set");
    // A loop of calls: compiled code (the JIT) takes the same exceptions
    unsigned bad = 0;
    for (unsigned i = 0; i < 2000; i++) {
        blr(slot(i & 1 ? 1 : 2));
        if (faults != (i & 1 ? 0u : 1u)) bad++;
        faults = 0;
    }
    puts_uart(bad ? "loop: wrong\n" : "loop: ok\n");
    return 0;
}
