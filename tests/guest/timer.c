// Generic timer interrupts through the GICv2: the virtual timer (PPI 11,
// INTID 27) fires five times, each handled, acknowledged and ended; then
// an SGI to ourselves through GICD_SGIR; then WFI wakes on a timer.
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICC ((volatile uint32_t*)0x08010000)
#define GICD_CTLR 0
#define GICD_ISENABLER (0x100 / 4)
#define GICD_IPRIORITYR8 ((volatile uint8_t*)0x08000400)
#define GICD_SGIR (0xf00 / 4)
#define GICC_CTLR 0
#define GICC_PMR (0x4 / 4)
#define GICC_IAR (0xc / 4)
#define GICC_EOIR (0x10 / 4)

static volatile unsigned ticks, sgis;
static uint64_t period;

void irq_handler(uint64_t kind) {
    (void)kind;
    uint32_t iar = GICC[GICC_IAR];
    uint32_t id = iar & 0x3ff;
    if (id == 27) {
        ticks++;
        puts_uart("tick ");
        put_dec(ticks);
        puts_uart("\n");
        if (ticks < 5)
            __asm__ volatile("msr cntv_tval_el0, %0" ::"r"(period));
        else
            __asm__ volatile("msr cntv_ctl_el0, %0" ::"r"(0ull));
    } else if (id < 16) {
        sgis++;
        puts_uart("SGI ");
        put_dec(id);
        puts_uart(" from CPU ");
        put_dec((iar >> 10) & 7);
        puts_uart("\n");
    } else {
        puts_uart("unexpected INTID ");
        put_dec(id);
        puts_uart("\n");
    }
    GICC[GICC_EOIR] = iar;
}

int main(void) {
    install_vectors();
    uint64_t frq;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
    puts_uart("CNTFRQ: ");
    put_dec(frq);
    puts_uart("\nGICD_TYPER.ITLines: ");
    put_dec(GICD[1] & 0x1f);
    puts_uart("\n");
    GICD[GICD_CTLR] = 1;
    GICC[GICC_CTLR] = 1;
    GICC[GICC_PMR] = 0xf0;
    GICD_IPRIORITYR8[27] = 0x80;
    GICD_IPRIORITYR8[1] = 0x80;
    GICD[GICD_ISENABLER] = (1u << 27) | (1u << 1);
    period = frq / 100;  // 10 ms
    __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1" ::"r"(period), "r"(1ull));
    __asm__ volatile("msr daifclr, #2");
    // WFI only while another tick is still due: the last one disables
    // the timer, and a WFI after it would sleep for ever.
    while (ticks < 5)
        if (ticks < 4) __asm__ volatile("wfi");
    GICD[GICD_SGIR] = (2u << 24) | 1;  // SGI 1 to this CPU only
    while (sgis < 1) {
    }
    uint64_t t0, t1;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(t0));
    __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1" ::"r"(period * 2), "r"(3ull));  // masked
    __asm__ volatile("msr daifset, #2");
    for (;;) {
        uint64_t ctl;
        __asm__ volatile("mrs %0, cntv_ctl_el0" : "=r"(ctl));
        if (ctl & 4) break;  // ISTATUS: the condition is met, though masked
    }
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(t1));
    puts_uart("masked timer condition met after at least 20 ms: ");
    put_dec(t1 - t0 >= period * 2);
    puts_uart("\ndone\n");
    return 0;
}
