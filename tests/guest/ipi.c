// IPIs and SPI routing through the GICv2 on 4 CPUs: CPU 0 sends SGI 3 to
// each secondary by target list, then SGI 5 to all others by filter; the
// PL011 TX interrupt (SPI 1, INTID 33) is routed to CPU 2. Run with -smp 4.
#include "lib.h"

#define NCPUS 4
#define GICD ((volatile uint32_t*)0x08000000)
#define GICC ((volatile uint32_t*)0x08010000)
#define GICD_IPRIORITYR8 ((volatile uint8_t*)0x08000400)
#define GICD_ITARGETSR8 ((volatile uint8_t*)0x08000800)
#define UART_IMSC ((volatile uint32_t*)0x09000038)
#define UART_ICR ((volatile uint32_t*)0x09000044)

extern void secondary_entry(void);
static volatile uint64_t ready;
static volatile uint32_t got[NCPUS][16];
static volatile uint32_t last_source[NCPUS];
static volatile uint32_t uart_irq_cpu = 99;

static void gic_cpu_init(void) {
    GICC[0] = 1;        // GICC_CTLR: enable
    GICC[1] = 0xf0;     // GICC_PMR
    GICD[0x100 / 4] = 0xffff;  // GICD_ISENABLER0: SGIs (banked)
    for (int i = 0; i < 16; i++) mmio_write8(&GICD_IPRIORITYR8[i], 0x40);
    __asm__ volatile("msr daifclr, #2");
}

void irq_handler(uint64_t kind) {
    (void)kind;
    uint64_t me = cpu_id();
    uint32_t iar = GICC[3];
    uint32_t id = iar & 0x3ff;
    if (id < 16) {
        got[me][id]++;
        last_source[me] = (iar >> 10) & 7;
    } else if (id == 33) {
        uart_irq_cpu = (uint32_t)me;
        *UART_IMSC = 0;
        *UART_ICR = 1u << 5;
    }
    GICC[4] = iar;  // GICC_EOIR
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
    GICD[0] = 1;  // GICD_CTLR
    gic_cpu_init();
    for (uint64_t cpu = 1; cpu < NCPUS; cpu++) psci_call(0xc4000003, cpu, (uint64_t)secondary_entry, cpu);
    while (ready < NCPUS - 1) {
    }
    for (unsigned t = 1; t < NCPUS; t++) {
        GICD[0xf00 / 4] = (1u << (16 + t)) | 3;  // SGI 3 to CPU t
        while (got[t][3] == 0) {
        }
    }
    GICD[0xf00 / 4] = (1u << 24) | 5;  // SGI 5 to all but me
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
        puts_uart(t ? " last source " : "\n");
        if (t) {
            put_dec(last_source[t]);
            puts_uart("\n");
        }
    }
    // SPI: the UART's TX interrupt, routed to CPU 2.
    GICD_IPRIORITYR8[33] = 0x40;
    GICD_ITARGETSR8[33] = 1u << 2;
    GICD[0x104 / 4] = 1u << 1;  // GICD_ISENABLER1: INTID 33
    *UART_IMSC = 1u << 5;       // TXIM
    puts_uart("uart interrupt armed\n");
    while (uart_irq_cpu == 99) {
    }
    puts_uart("uart TX interrupt taken on CPU ");
    put_dec(uart_irq_cpu);
    puts_uart("\n");
    return 0;
}
