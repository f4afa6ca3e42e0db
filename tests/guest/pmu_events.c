// The PMU's common events beyond the basic three, counted exactly over
// hand-written instruction sequences: MEM_ACCESS, L1D_CACHE, LD_RETIRED,
// ST_RETIRED, PC_WRITE_RETIRED, BR_RETIRED, EXC_TAKEN, EXC_RETURN; CHAIN
// (64-bit pairs of counters counting memory accesses and SW_INCR); EL
// filtering; and the overflow interrupt (PPI 7 through the GICv2) taken
// at the exact access that overflows the counter. Each event is measured
// only where PMCEID0/1 claim it; QEMU 7.2 claims none of them.
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICC ((volatile uint32_t*)0x08010000)
#define PMU_INTID 23

#define MRS(reg, v) __asm__ volatile("mrs %0, " reg : "=r"(v))
#define MSR(reg, v) __asm__ volatile("msr " reg ", %0; isb" : : "r"((uint64_t)(v)))

enum {
    L1D_CACHE = 0x04, LD_RETIRED = 0x06, ST_RETIRED = 0x07, EXC_TAKEN = 0x09, EXC_RETURN = 0x0a,
    PC_WRITE_RETIRED = 0x0c, MEM_ACCESS = 0x13, CHAIN = 0x1e, BR_RETIRED = 0x21,
};
#define EXCLUDE_EL1 (1u << 31)

static volatile uint64_t irqs, irq_elr, svcs;
static uint64_t cell[4];

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    if ((read_esr() >> 26) != 0x15) unexpected_exception(kind);
    svcs++;  // SVC: ELR is the next instruction already
}

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

static int claimed(unsigned ev) {
    uint64_t c;
    if (ev < 32) MRS("pmceid0_el0", c);
    else MRS("pmceid1_el0", c);
    return (c >> (ev % 32)) & 1;
}

// Counter 0 counts `typer` over `seq` (an asm sequence that may use x9 =
// &cell, x10-x12): enabled and disabled around it in the same asm block.
#define MEASURE(typer, seq)                                                                           \
    ({                                                                                                \
        MSR("pmcr_el0", 0x43);                                                                        \
        MSR("pmevtyper0_el0", (typer));                                                               \
        MSR("pmevcntr0_el0", 0);                                                                      \
        __asm__ volatile("mov x9, %0\n msr pmcntenset_el0, %1\n isb\n" seq "\n msr pmcntenclr_el0, %1\n isb" \
                         :                                                                            \
                         : "r"(cell), "r"(1ull)                                                       \
                         : "x9", "x10", "x11", "x12", "memory", "cc");                                \
        uint64_t v_;                                                                                  \
        MRS("pmevcntr0_el0", v_);                                                                     \
        v_;                                                                                           \
    })

#define REP4(x) x x x x
#define REP20(x) REP4(x) REP4(x) REP4(x) REP4(x) REP4(x)
#define LOADS20 REP20("ldr x10, [x9]\n")
// 3 loads, 2 stores, a pair load, a pair store, an exclusive pair
// (load + store), a prefetch (no access), a SIMD load and store.
#define MIXED                                                                                         \
    "ldr x10, [x9]\n ldrb w10, [x9, #1]\n ldr w11, [x9, #4]\n str x10, [x9, #8]\n strh w10, [x9]\n"   \
    "ldp x10, x11, [x9]\n stp x10, x11, [x9, #16]\n 1: ldxr x10, [x9]\n stxr w12, x10, [x9]\n"        \
    "cbnz w12, 1b\n prfm pldl1keep, [x9]\n ldr q0, [x9]\n str q0, [x9, #16]\n"
// Branches: 5 taken (b, cbz, bl, ret, b), 2 not taken (cbnz, tbnz).
#define BRANCHES                                                                                      \
    "b 1f\n 1: cbz xzr, 2f\n 2: cbnz xzr, 3f\n 3: tbnz xzr, #3, 4f\n 4: mov x12, x30\n bl 5f\n b 6f\n" \
    "5: ret\n 6: mov x30, x12\n"

static void line(const char* name, uint64_t v) {
    puts_uart(name);
    puts_uart(": ");
    put_dec(v);
    puts_uart("\n");
}

static void counts(void) {
    if (!claimed(MEM_ACCESS)) {
        puts_uart("MEM_ACCESS not implemented\n");
        return;
    }
    line("MEM_ACCESS over 20 loads", MEASURE(MEM_ACCESS, LOADS20));
    line("LD_RETIRED over 20 loads", MEASURE(LD_RETIRED, LOADS20));
    line("ST_RETIRED over 20 loads", MEASURE(ST_RETIRED, LOADS20));
    line("MEM_ACCESS over the mixed sequence", MEASURE(MEM_ACCESS, MIXED));
    line("L1D_CACHE over the mixed sequence", MEASURE(L1D_CACHE, MIXED));
    line("LD_RETIRED over the mixed sequence", MEASURE(LD_RETIRED, MIXED));
    line("ST_RETIRED over the mixed sequence", MEASURE(ST_RETIRED, MIXED));
    line("MEM_ACCESS with EL1 excluded", MEASURE(MEM_ACCESS | EXCLUDE_EL1, LOADS20));
    line("PC_WRITE_RETIRED over the branches", MEASURE(PC_WRITE_RETIRED, BRANCHES));
    line("BR_RETIRED over the branches", MEASURE(BR_RETIRED, BRANCHES));
    line("EXC_TAKEN over 3 SVCs", MEASURE(EXC_TAKEN, "svc #1\n svc #2\n svc #3\n"));
    line("EXC_RETURN over 3 SVCs", MEASURE(EXC_RETURN, "svc #1\n svc #2\n svc #3\n"));
}

static void show_pair(const char* what) {
    uint64_t c0, c1, ovs;
    MRS("pmevcntr0_el0", c0);
    MRS("pmevcntr1_el0", c1);
    MRS("pmovsclr_el0", ovs);
    puts_uart(what);
    puts_uart(": counter 0 ");
    put_dec(c0);
    puts_uart(", counter 1 ");
    put_dec(c1);
    puts_uart(", overflow flags ");
    put_hex(ovs);
    puts_uart("\n");
    MSR("pmovsclr_el0", 0xffffffffu);
}

static void chain(void) {
    if (!claimed(CHAIN)) {
        puts_uart("CHAIN not implemented\n");
        return;
    }
    MSR("pmcr_el0", 0x43);
    MSR("pmovsclr_el0", 0xffffffffu);
    MSR("pmevtyper0_el0", MEM_ACCESS);
    MSR("pmevtyper1_el0", CHAIN);
    MSR("pmevcntr0_el0", 0xfffffff0u);
    MSR("pmevcntr1_el0", 0);
    MSR("pmcntenset_el0", 3);
    __asm__ volatile("mov x9, %0\n" LOADS20 : : "r"(cell) : "x9", "x10", "memory");
    MSR("pmcntenclr_el0", 3);
    show_pair("20 accesses from 0xfffffff0, chained");
    MSR("pmevcntr0_el0", 0xfffffff0u);
    MSR("pmevcntr1_el0", 0xffffffffu);
    MSR("pmcntenset_el0", 3);
    __asm__ volatile("mov x9, %0\n" LOADS20 : : "r"(cell) : "x9", "x10", "memory");
    MSR("pmcntenclr_el0", 3);
    show_pair("again with counter 1 at 0xffffffff");
    // SW_INCR with CHAIN: 100 increments from 0xfffffff0.
    MSR("pmevtyper0_el0", 0);
    MSR("pmevcntr0_el0", 0xfffffff0u);
    MSR("pmevcntr1_el0", 0);
    MSR("pmcntenset_el0", 3);
    for (int i = 0; i < 100; i++) MSR("pmswinc_el0", 1);
    MSR("pmcntenclr_el0", 3);
    show_pair("100 SW_INCR from 0xfffffff0, chained");
    // The odd counter disabled: the even one overflows alone.
    MSR("pmevcntr0_el0", 0xfffffff0u);
    MSR("pmevcntr1_el0", 0);
    MSR("pmcntenset_el0", 1);
    for (int i = 0; i < 100; i++) MSR("pmswinc_el0", 1);
    MSR("pmcntenclr_el0", 1);
    show_pair("the same with counter 1 disabled");
    // CHAIN on an even counter counts nothing.
    MSR("pmevtyper0_el0", CHAIN);
    MSR("pmevcntr0_el0", 0);
    MSR("pmcntenset_el0", 1);
    __asm__ volatile("mov x9, %0\n" LOADS20 : : "r"(cell) : "x9", "x10", "memory");
    MSR("pmcntenclr_el0", 1);
    show_pair("CHAIN on counter 0");
}

// The overflow interrupt: counter 0 counts `typer` from 2^32 - 10; with
// interrupts unmasked, the interrupt must come right after the 10th
// event (ELR: the instruction after it).
static void overflow_irq(const char* what, uint32_t typer, unsigned enable_mask, uint32_t c1) {
    uint64_t start;
    irqs = 0;
    irq_elr = 0;
    MSR("pmcr_el0", 0x41);
    MSR("pmovsclr_el0", 0xffffffffu);
    MSR("pmevtyper0_el0", typer);
    MSR("pmevtyper1_el0", CHAIN);
    MSR("pmevcntr0_el0", 0xfffffff6u);
    MSR("pmevcntr1_el0", c1);
    MSR("pmintenset_el1", enable_mask);
    __asm__ volatile("mov x9, %1\n adr %0, 1f\n msr daifclr, #2\n msr pmcntenset_el0, %2\n isb\n"
                     "1:\n" LOADS20 LOADS20 "msr pmcntenclr_el0, %2\n isb\n msr daifset, #2\n"
                     : "=&r"(start)
                     : "r"(cell), "r"((uint64_t)3)
                     : "x9", "x10", "memory");
    MSR("pmintenclr_el1", 0xffffffffu);
    puts_uart(what);
    if (!irqs) {
        puts_uart(": no interrupt\n");
        return;
    }
    puts_uart(": interrupt taken after access ");
    put_dec((irq_elr - start) / 4);
    puts_uart(", interrupts ");
    put_dec(irqs);
    puts_uart("\n");
}

int main(void) {
    install_vectors();
    MSR("cpacr_el1", 3u << 20);  // FP/SIMD on (the mixed sequence's q0)
    uint64_t c0, c1;
    MRS("pmceid0_el0", c0);
    MRS("pmceid1_el0", c1);
    put_named_hex("PMCEID0_EL0", c0);
    put_named_hex("PMCEID1_EL0", c1);
    MSR("pmuserenr_el0", 0);
    counts();
    chain();
    if (!claimed(MEM_ACCESS)) return 0;

    GICD[0] = 1;
    GICC[0] = 1;
    GICC[1] = 0xf0;
    ((volatile uint8_t*)0x08000400)[PMU_INTID] = 0x80;
    GICD[0x100 / 4] = 1u << PMU_INTID;
    overflow_irq("MEM_ACCESS overflow", MEM_ACCESS, 1, 0);
    overflow_irq("LD_RETIRED overflow", LD_RETIRED, 1, 0);
    overflow_irq("MEM_ACCESS overflow, chained, only counter 1's interrupt", MEM_ACCESS, 2, 0);
    overflow_irq("MEM_ACCESS overflow, chained to 0xffffffff, only counter 1's interrupt", MEM_ACCESS, 2,
                 0xffffffffu);
    MSR("pmcr_el0", 0);
    line("SVCs", svcs);
    return 0;
}
