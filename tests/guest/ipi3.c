// IPIs on 4 CPUs through a GICv3: each CPU wakes its redistributor and
// enables its CPU interface; CPU 0 sends SGI 3 to each secondary by target
// list and SGI 5 to all others (IRM); each CPU reports what it received.
// Run with -smp 4 -M virt,gic-version=3.
#include "lib.h"

#define NCPUS 4
#define GICD ((volatile uint32_t*)0x08000000)
#define GICR_RD(cpu) ((volatile uint32_t*)(0x080a0000 + 0x20000 * (cpu)))
#define GICR_SGI(cpu) ((volatile uint32_t*)(0x080b0000 + 0x20000 * (cpu)))

extern void secondary_entry(void);
static volatile uint64_t ready;
static volatile uint32_t got[NCPUS][16];

static void gic_cpu_init(void) {
    uint64_t me = cpu_id();
    GICR_RD(me)[0x14 / 4] = 0;
    while (GICR_RD(me)[0x14 / 4] & 4) {
    }
    GICR_SGI(me)[0x80 / 4] = 0xffffffff;
    GICR_SGI(me)[0x100 / 4] = 0xffff;
    __asm__ volatile("msr s3_0_c12_c12_5, %0; msr s3_0_c4_c6_0, %1; msr s3_0_c12_c12_7, %2; isb"
                     ::"r"(1ull), "r"(0xf0ull), "r"(1ull));
    __asm__ volatile("msr daifclr, #2");
}

void irq_handler(uint64_t kind) {
    (void)kind;
    uint64_t iar;
    __asm__ volatile("mrs %0, s3_0_c12_c12_0" : "=r"(iar));
    uint32_t id = (uint32_t)iar & 0xffffff;
    if (id < 16) got[cpu_id()][id]++;
    __asm__ volatile("msr s3_0_c12_c12_1, %0" ::"r"(iar));
}

void secondary_main(uint64_t cpu) {
    (void)cpu;
    install_vectors();
    gic_cpu_init();
    atomic_add(&ready, 1);
    for (;;) __asm__ volatile("wfi");
}

int main(void) {
    install_vectors();
    GICD[0] = 0x12;
    gic_cpu_init();
    for (uint64_t cpu = 1; cpu < NCPUS; cpu++) psci_call(0xc4000003, cpu, (uint64_t)secondary_entry, cpu);
    while (ready < NCPUS - 1) {
    }
    for (unsigned t = 1; t < NCPUS; t++) {
        __asm__ volatile("msr s3_0_c12_c11_5, %0" ::"r"((3ull << 24) | (1ull << t)));
        while (got[t][3] == 0) {
        }
    }
    __asm__ volatile("msr s3_0_c12_c11_5, %0" ::"r"((5ull << 24) | (1ull << 40)));
    for (unsigned t = 1; t < NCPUS; t++)
        while (got[t][5] == 0) {
        }
    for (unsigned t = 0; t < NCPUS; t++) {
        puts_uart("CPU ");
        put_dec(t);
        puts_uart(": SGI3 x");
        put_dec(got[t][3]);
        puts_uart(" SGI5 x");
        put_dec(got[t][5]);
        puts_uart("\n");
    }
    return 0;
}
