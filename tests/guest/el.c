// Exception levels and the vector table: which vector each exception
// takes (current EL with SP_ELx, lower EL), ESR/ELR/SPSR for SVC, BRK,
// UNDEFINED, HVC (PSCI and not), trapped EL0 accesses (timer, DAIF, WFI,
// cache maintenance), SPSel, and returns to EL0 and back.
#include "lib.h"

static volatile uint64_t last_kind, last_esr, last_elr, last_spsr, count;

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    uint64_t esr = read_esr();
    if (is_el0_exit(esr)) {
        el0_return();
        return;
    }
    last_kind = kind;
    last_esr = esr;
    last_elr = read_elr();
    __asm__ volatile("mrs %0, spsr_el1" : "=r"(last_spsr));
    count++;
    unsigned ec = esr >> 26;
    if (ec != 0x15 && ec != 0x16) write_elr(last_elr + 4);  // SVC/HVC: ELR is already the next one
}

static void report(const char* what, uint64_t at) {
    puts_uart(what);
    if (!count) {
        puts_uart(": no exception\n");
        return;
    }
    puts_uart(": vector ");
    put_dec(last_kind);
    puts_uart(" EC ");
    put_hex(last_esr >> 26);
    puts_uart(" ISS ");
    put_hex(last_esr & 0x1ffffff);
    puts_uart(" IL ");
    put_dec((last_esr >> 25) & 1);
    puts_uart(" ELR-at ");
    put_hex(last_elr - at);
    puts_uart(" SPSR ");
    put_hex(last_spsr);
    puts_uart("\n");
    count = 0;
}

// EL0 probes: x2 = which test. Each ends with SVC #0xfff.
void user_probe(void);
__asm__(".global user_probe\n"
        "user_probe:\n"
        "  cmp x2, #0\n b.ne 1f\n"
        "  svc #0x42\n"                 // 0: SVC from EL0
        "  svc #0xfff\n"
        "1: cmp x2, #1\n b.ne 2f\n"
        "  mrs x3, sctlr_el1\n"         // 1: EL1 register at EL0: UNDEFINED
        "  svc #0xfff\n"
        "2: cmp x2, #2\n b.ne 3f\n"
        "  mrs x3, cntvct_el0\n"        // 2: timer access as CNTKCTL_EL1 allows
        "  svc #0xfff\n"
        "3: cmp x2, #3\n b.ne 4f\n"
        "  msr daifset, #2\n"           // 3: DAIF without SCTLR_EL1.UMA: trapped
        "  svc #0xfff\n"
        "4: cmp x2, #4\n b.ne 5f\n"
        "  wfi\n"                       // 4: WFI as SCTLR_EL1.nTWI says
        "  svc #0xfff\n"
        "5: cmp x2, #5\n b.ne 6f\n"
        "  dc zva, x3\n"                // 5: DC ZVA (x3) as SCTLR_EL1.DZE says
        "  svc #0xfff\n"
        "6: cmp x2, #6\n b.ne 7f\n"
        "  mrs x3, ctr_el0\n"           // 6: CTR_EL0 as SCTLR_EL1.UCT says
        "  svc #0xfff\n"
        "7: cmp x2, #7\n b.ne 8f\n"
        "  mrs x3, tpidr_el1\n"         // 7: EL1 registers Linux reads all the time: UNDEFINED at EL0
        "  svc #0xfff\n"
        "8: mrs x3, sp_el0\n"           // 8
        "  svc #0xfff\n");

static uint8_t user_stack[512] __attribute__((aligned(16)));
static uint8_t zva_buf[128] __attribute__((aligned(64)));

static void el0(const char* what, uint64_t which, uint64_t arg) {
    el0_call(user_probe, (uint64_t)user_stack + sizeof user_stack, which, arg);
    report(what, 0);
}

int main(void) {
    install_vectors();
    uint64_t v;
    __asm__ volatile("mrs %0, currentel" : "=r"(v));
    puts_uart("CurrentEL ");
    put_dec(v >> 2);
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    puts_uart(" SCTLR_EL1 ");
    put_hex(sctlr);
    puts_uart("\n");

    uint64_t at;
    __asm__ volatile("adr %0, 1f\n1: svc #0x1234" : "=r"(at));
    report("SVC at EL1", at + 4);
    __asm__ volatile("adr %0, 1f\n1: brk #0x77" : "=r"(at));
    report("BRK", at);
    __asm__ volatile("adr %0, 1f\n1: .inst 0x00000000" : "=r"(at));
    report("UDF", at);
    __asm__ volatile("adr %0, 1f\n1: hlt #1" : "=r"(at));
    report("HLT", at);
    __asm__ volatile("adr %0, 1f\n1: smc #0" : "=r"(at));
    report("SMC", at);
    __asm__ volatile("adr %0, 1f\n1: msr s3_0_c15_c0_0, xzr" : "=r"(at));
    report("IMPDEF sysreg", at);

    puts_uart("PSCI_VERSION by HVC: ");
    put_hex((uint64_t)psci_call(0x84000000, 0, 0, 0));
    puts_uart("\nunknown PSCI function: ");
    put_hex((uint64_t)psci_call(0x8400001f, 0, 0, 0));
    puts_uart("\n");

    // SP_EL0 through SPSel.
    uint64_t sp1, sp0;
    __asm__ volatile("mov %0, sp\n msr sp_el0, %2\n msr spsel, #0\n mov %1, sp\n msr spsel, #1"
                     : "=&r"(sp1), "=&r"(sp0)
                     : "r"(0x12340ull));
    puts_uart(sp0 == 0x12340 && sp1 != sp0 ? "SPSel switches SP\n" : "SPSel broken\n");
    // An exception taken with SP_EL0 selected uses the SP_EL0 vectors.
    __asm__ volatile("mov x9, sp\n msr sp_el0, x9\n msr spsel, #0\n brk #1\n msr spsel, #1" ::: "x9", "memory");
    report("BRK with SPSel 0", 0);

    el0("SVC at EL0", 0, 0);
    el0("EL1 register at EL0", 1, 0);
    __asm__ volatile("msr cntkctl_el1, %0; isb" : : "r"(0ull));
    el0("CNTVCT at EL0, not allowed", 2, 0);
    __asm__ volatile("msr cntkctl_el1, %0; isb" : : "r"(2ull));
    el0("CNTVCT at EL0, allowed", 2, 0);
    el0("DAIFSet at EL0", 3, 0);
    // (WFI at EL0 with the reset nTWI = 1 would just sleep: IRQs are masked.)
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr & ~(1ull << 16)));
    el0("WFI at EL0, nTWI=0", 4, 0);
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr));
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr & ~(1ull << 14)));
    for (unsigned i = 0; i < sizeof zva_buf; i++) zva_buf[i] = 0xee;
    el0("DC ZVA at EL0, DZE=0", 5, (uint64_t)zva_buf + 64);
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | (1ull << 14)));
    el0("DC ZVA at EL0, DZE=1", 5, (uint64_t)zva_buf + 64);
    puts_uart("zeroed: ");
    put_dec(zva_buf[63] == 0xee && zva_buf[64] == 0 && zva_buf[127] == 0);
    puts_uart("\n");
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr & ~(1ull << 15)));
    el0("CTR_EL0 at EL0, UCT=0", 6, 0);
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr));
    el0("TPIDR_EL1 at EL0", 7, 0);
    el0("SP_EL0 at EL0", 8, 0);
    // The thread registers, SP_EL0 and NZCV read back at EL1 (MRS in
    // compiled code: the loop runs them often).
    uint64_t sum = 0;
    for (uint64_t r = 1; r <= 40; r++) {
        uint64_t a, b, c, d, n, sp0;
        __asm__ volatile("mrs %0, sp_el0" : "=r"(sp0));
        __asm__ volatile("msr tpidr_el0, %0\n msr tpidrro_el0, %1\n msr tpidr_el1, %2\n msr sp_el0, %3"
                         : : "r"(r * 3), "r"(r * 5), "r"(r * 7), "r"(r * 11));
        __asm__ volatile("mrs %0, tpidr_el0\n mrs %1, tpidrro_el0\n mrs %2, tpidr_el1\n mrs %3, sp_el0\n"
                         "cmp %6, #20\n mrs %4, nzcv\n add %5, %0, %1"
                         : "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d), "=&r"(n), "=&r"(sum) : "r"(r), "5"(sum)
                         : "cc");
        __asm__ volatile("msr sp_el0, %0" : : "r"(sp0));
        sum += a * 1 + b * 3 + c * 5 + d * 7 + (n >> 28) * 1000;
    }
    puts_uart("MRS TPIDR/SP_EL0/NZCV at EL1: ");
    put_hex(sum);
    puts_uart("\n");
    return 0;
}
