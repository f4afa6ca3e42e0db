// The PMU as the CPU model and pmu=on|off advertise it: with PMUVer 0 the
// PMU registers are UNDEFINED; otherwise
// PMCR.N, what PMCEID0/1 claim against what the counters do, the cycle
// counter, event filtering by EL, SW_INCR, overflow flags and the overflow
// interrupt on PPI 7 (INTID 23) through the GICv2. Only facts both
// emulators share are printed.
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICC ((volatile uint32_t*)0x08010000)
#define PMU_INTID 23

#define MRS(reg, v) __asm__ volatile("mrs %0, " reg : "=r"(v))
#define MSR(reg, v) __asm__ volatile("msr " reg ", %0; isb" : : "r"((uint64_t)(v)))

static volatile uint64_t undefs, irqs;

// Waits until `irqs` reaches n or `seconds` of the generic counter pass
// (a loaded host may delay QEMU's overflow timer: count time, not loops).
static void wait_irqs(uint64_t n, uint64_t seconds) {
    uint64_t frq, t0, t;
    __asm__ volatile("mrs %0, cntfrq_el0; mrs %1, cntvct_el0" : "=r"(frq), "=r"(t0));
    do {
        __asm__ volatile("mrs %0, cntvct_el0" : "=r"(t));
    } while (irqs < n && t - t0 < seconds * frq);
}

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    if ((read_esr() >> 26) != 0) unexpected_exception(kind);
    undefs++;
    write_elr(read_elr() + 4);
}

void irq_handler(uint64_t kind) {
    (void)kind;
    uint32_t iar = GICC[3];
    if ((iar & 0x3ff) == PMU_INTID) {
        irqs++;
        uint64_t ovs;
        MRS("pmovsclr_el0", ovs);
        MSR("pmovsclr_el0", ovs);  // the level drops with the flags
    }
    GICC[4] = iar;
}

// Counter 0 counting `event` (with PMEVTYPER0 filter bits) over a loop
// of 1000 iterations of two instructions.
static uint64_t count_loop(uint32_t typer) {
    MSR("pmcr_el0", 0x43 | 4);  // E, P (reset events), C (reset cycles), LC
    MSR("pmevtyper0_el0", typer);
    MSR("pmcntenset_el0", 1);
    __asm__ volatile("mov x9, #1000\n1: subs x9, x9, #1\n b.ne 1b" ::: "x9", "cc");
    uint64_t v;
    MRS("pmevcntr0_el0", v);
    MSR("pmcntenclr_el0", 1);
    return v;
}

static void check_event(const char* name, unsigned event, uint64_t lo, uint64_t hi) {
    uint64_t ceid0, ceid1;
    MRS("pmceid0_el0", ceid0);
    MRS("pmceid1_el0", ceid1);
    int claimed = event < 32 ? (ceid0 >> event) & 1 : (ceid1 >> (event - 32)) & 1;
    uint64_t v = count_loop(event);
    puts_uart(name);
    // An event the PMU claims must count plausibly over the loop.
    puts_uart(!claimed || (v >= lo && v <= hi) ? ": consistent\n" : ": claimed but miscounted\n");
}

int main(void) {
    install_vectors();
    uint64_t dfr0;
    MRS("id_aa64dfr0_el1", dfr0);
    unsigned ver = (dfr0 >> 8) & 0xf;
    puts_uart(ver ? "PMU present\n" : "no PMU\n");
    if (!ver) {
        uint64_t v = 0;
        MRS("pmcr_el0", v);
        MRS("pmccntr_el0", v);
        MSR("pmcntenset_el0", 1);
        puts_uart("UNDEFINED accesses: ");
        put_dec(undefs);
        puts_uart("\n");
        return 0;
    }
    uint64_t pmcr;
    MRS("pmcr_el0", pmcr);
    puts_uart("PMCR.N ");
    put_dec((pmcr >> 11) & 0x1f);
    puts_uart(" IMP ");
    put_hex(pmcr >> 24);
    puts_uart("\n");
    MSR("pmuserenr_el0", 0);

    check_event("SW_INCR", 0x00, 0, 0);
    check_event("INST_RETIRED", 0x08, 2000, 2100);
    check_event("CPU_CYCLES", 0x11, 1, 100000000);
    check_event("BR_RETIRED", 0x21, 1000, 1010);
    puts_uart(count_loop(0x80000011u) == 0 ? "CPU_CYCLES with EL1 filtered: 0\n" : "filter ignored\n");

    // SW_INCR: three writes to PMSWINC count three.
    MSR("pmcr_el0", 0x43);
    MSR("pmevtyper1_el0", 0);
    MSR("pmcntenset_el0", 2);
    for (int i = 0; i < 3; i++) MSR("pmswinc_el0", 2);
    uint64_t sw;
    MRS("pmevcntr1_el0", sw);
    puts_uart("SW_INCR x3: ");
    put_dec(sw);
    puts_uart("\n");

    // The cycle counter moves, and PMCR.C resets it. On QEMU the cycle
    // counter follows host time, so a host preemption between the reset and
    // the read can make one attempt look like "ignored": a real failure
    // shows in every attempt.
    MSR("pmccfiltr_el0", 0);
    MSR("pmcntenset_el0", 1u << 31);
    int counts = 0, resets = 0;
    for (int attempt = 0; attempt < 5 && !(counts && resets); attempt++) {
        uint64_t c0, c1, c2;
        MRS("pmccntr_el0", c0);
        __asm__ volatile("mov x9, #20000\n1: subs x9, x9, #1\n b.ne 1b" ::: "x9", "cc");
        MRS("pmccntr_el0", c1);
        MSR("pmcr_el0", 0x41 | 4);
        MRS("pmccntr_el0", c2);
        counts |= c1 > c0;
        resets |= c2 < c1;
    }
    puts_uart(counts ? "cycle counter counts" : "cycle counter stuck");
    puts_uart(resets ? ", PMCR.C resets it\n" : ", PMCR.C ignored\n");

    // Overflow flag: SW_INCR from 0xffffffff wraps to 0.
    MSR("pmovsclr_el0", 0xffffffffu);
    MSR("pmevcntr1_el0", 0xffffffffu);
    MSR("pmswinc_el0", 2);
    uint64_t ovs;
    MRS("pmevcntr1_el0", sw);
    MRS("pmovsset_el0", ovs);
    puts_uart("wrap: counter ");
    put_dec(sw);
    puts_uart(" PMOVSSET ");
    put_hex(ovs);
    puts_uart("\n");
    MSR("pmovsclr_el0", 0xffffffffu);

    // Overflow interrupts on PPI 7.
    GICD[0] = 1;
    GICC[0] = 1;
    GICC[1] = 0xf0;
    ((volatile uint8_t*)0x08000400)[PMU_INTID] = 0x80;
    GICD[0x100 / 4] = 1u << PMU_INTID;
    __asm__ volatile("msr daifclr, #2");
    MSR("pmintenset_el1", 2);
    MSR("pmevcntr1_el0", 0xffffffffu);
    MSR("pmswinc_el0", 2);
    wait_irqs(1, 2);
    puts_uart("SW_INCR overflow interrupts: ");
    put_dec(irqs);
    puts_uart("\n");
    MSR("pmintenclr_el1", 2);
    MSR("pmintenset_el1", 1u << 31);
    MSR("pmccntr_el0", 0xffffffffull - 20000);  // LC = 0: overflow at 2^32
    MSR("pmcr_el0", 1);
    wait_irqs(2, 5);
    puts_uart("cycle counter overflow interrupts: ");
    put_dec(irqs);
    puts_uart("\n");
    MSR("pmintenclr_el1", 0xffffffffu);
    MSR("pmcr_el0", 0);
    return 0;
}
