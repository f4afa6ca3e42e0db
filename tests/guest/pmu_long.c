// PMUv3p5 (QEMU 7.2's -cpu max): 64-bit event counters that overflow at
// 32 bits (the upper half counting on) or, with PMCR_EL0.LP, at 64 bits
// (and then CHAIN counts nothing); PMUv3p1's 16-bit event numbers and
// PMUv3p4's PMMIR_EL1; the overflow interrupt at the exact count with LP.
// SW_INCR drives the counters, so the output is compared with QEMU's.
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICC ((volatile uint32_t*)0x08010000)
#define PMU_INTID 23
#define CHAIN 0x1e
#define PMCR_E 1u
#define PMCR_LP (1u << 7)

#define MRS(reg, v) __asm__ volatile("mrs %0, " reg : "=r"(v))
#define MSR(reg, v) __asm__ volatile("msr " reg ", %0; isb" : : "r"((uint64_t)(v)))

static volatile uint64_t irqs, irq_elr;

void irq_handler(uint64_t kind) {
    (void)kind;
    uint32_t iar = GICC[3];
    if ((iar & 0x3ff) == PMU_INTID) {
        if (!irqs++) irq_elr = read_elr();
        uint64_t ovs;
        MRS("pmovsclr_el0", ovs);
        MSR("pmovsclr_el0", ovs);
    }
    GICC[4] = iar;
}

// 100 SW_INCRs on counter 0 from `start`, counter 1 chained to it.
static void swinc_pair(const char* what, uint32_t pmcr, uint64_t start) {
    MSR("pmcr_el0", pmcr);
    MSR("pmovsclr_el0", 0xffffffffu);
    MSR("pmevtyper0_el0", 0);
    MSR("pmevtyper1_el0", CHAIN);
    MSR("pmevcntr0_el0", start);
    MSR("pmevcntr1_el0", 0);
    MSR("pmcntenset_el0", 3);
    for (int i = 0; i < 100; i++) MSR("pmswinc_el0", 1);
    MSR("pmcntenclr_el0", 3);
    uint64_t c0, c1, ovs;
    MRS("pmevcntr0_el0", c0);
    MRS("pmevcntr1_el0", c1);
    MRS("pmovsclr_el0", ovs);
    puts_uart(what);
    puts_uart(": counter 0 ");
    put_hex(c0);
    puts_uart(", counter 1 ");
    put_dec(c1);
    puts_uart(", overflow flags ");
    put_hex(ovs);
    puts_uart("\n");
}

int main(void) {
    install_vectors();
    uint64_t dfr0, pmcr;
    MRS("id_aa64dfr0_el1", dfr0);
    unsigned ver = (dfr0 >> 8) & 0xf;
    puts_uart("PMUVer ");
    put_dec(ver);
    puts_uart("\n");
    if (ver < 6 || ver == 0xf) return 0;
    uint64_t pmmir;
    __asm__ volatile("mrs %0, s3_0_c9_c14_6" : "=r"(pmmir));
    puts_uart("PMMIR_EL1 read\n");
    MSR("pmcr_el0", PMCR_LP);
    MRS("pmcr_el0", pmcr);
    puts_uart((pmcr & PMCR_LP) ? "PMCR_EL0.LP sticks\n" : "PMCR_EL0.LP is RAZ\n");
    uint64_t typer;
    MSR("pmevtyper0_el0", 0x4021);
    MRS("pmevtyper0_el0", typer);
    put_named_hex("PMEVTYPER0_EL0 after writing 0x4021", typer);
    MSR("pmevcntr0_el0", 0x123456789abcdefull);
    MRS("pmevcntr0_el0", typer);
    put_named_hex("PMEVCNTR0_EL0 after writing 0x0123456789abcdef", typer);

    swinc_pair("LP=0 from 0xfffffff0", PMCR_E, 0xfffffff0u);
    swinc_pair("LP=1 from 0xfffffff0", PMCR_E | PMCR_LP, 0xfffffff0u);
    swinc_pair("LP=1 from 0xfffffffffffffff0", PMCR_E | PMCR_LP, 0xfffffffffffffff0ull);
    swinc_pair("LP=0 from 0xfffffffffffffff0", PMCR_E, 0xfffffffffffffff0ull);

    // The interrupt with LP: counter 0 from 2^64 - 10, 20 SW_INCR writes.
    GICD[0] = 1;
    GICC[0] = 1;
    GICC[1] = 0xf0;
    ((volatile uint8_t*)0x08000400)[PMU_INTID] = 0x80;
    GICD[0x100 / 4] = 1u << PMU_INTID;
    MSR("pmcr_el0", PMCR_E | PMCR_LP);
    MSR("pmovsclr_el0", 0xffffffffu);
    MSR("pmevtyper0_el0", 0);
    MSR("pmevcntr0_el0", 0xfffffffffffffff6ull);
    MSR("pmintenset_el1", 1);
    uint64_t start;
    __asm__ volatile("mov x1, #1\n adr %0, 1f\n msr daifclr, #2\n msr pmcntenset_el0, x1\n isb\n"
                     "1:\n .rept 20\n msr pmswinc_el0, x1\n .endr\n msr pmcntenclr_el0, x1\n isb\n msr daifset, #2\n"
                     : "=&r"(start)
                     :
                     : "x1", "memory");
    MSR("pmintenclr_el1", 0xffffffffu);
    MSR("pmcr_el0", 0);
    puts_uart("LP=1 overflow from 2^64-10: ");
    if (!irqs) {
        puts_uart("no interrupt\n");
    } else {
        puts_uart("interrupt taken after SW_INCR ");
        put_dec((irq_elr - start) / 4);
        puts_uart(", interrupts ");
        put_dec(irqs);
        puts_uart("\n");
    }
    puts_uart("pmu_long: done\n");
    return 0;
}
