// Micro-benchmarks of what an emulator does besides running straight code
// (scripts/bench-micro runs this on armvm and on qemu-system-aarch64 with
// -smp 2, GICv2): per operation, in nanoseconds of the guest's counter
// (62.5 MHz on both, 16 ns a tick, averaged over many operations):
//   svc   an exception taken and returned from (SVC at EL1 to EL1, the
//         vector saving and restoring x0-x18 as an OS does)
//   mmio  a device register read (the PL011's flag register, which
//         firmware and consoles poll before every character)
//   mmio_locked  the same for a register no emulator may read without
//         its device lock (the PL011's interrupt mask register)
//   irq   a timer interrupt taken as soon as it is armed (virtual timer
//         with CVAL in the past: arm, take, acknowledge, disarm)
//   ipi   an IPI round trip: CPU 0 sends SGI 1 to CPU 1, asleep in WFI,
//         whose handler sends SGI 2 back; CPU 0 spins until it comes
// Prints "NAME: N ns" lines and "ok".
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICC ((volatile uint32_t*)0x08010000)
#define GICD_IPRIORITYR8 ((volatile uint8_t*)0x08000400)
#define UARTFR 0x09000018
#define UARTIMSC 0x09000038

extern void secondary_entry(void);
// (on a page of their own: a store to a page holding code costs every
// emulator a retranslation, which no OS makes it pay)
static volatile struct {
    uint64_t ready, pongs, pings_seen, timer_irqs;
} __attribute__((aligned(4096))) v;
#define ready v.ready
#define pongs v.pongs
#define pings_seen v.pings_seen
#define timer_irqs v.timer_irqs

static uint64_t counter(void) {
    uint64_t v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

static void gic_cpu_init(void) {
    GICC[0] = 1;     // GICC_CTLR: enable
    GICC[1] = 0xf0;  // GICC_PMR
    GICD[0x100 / 4] = (1u << 1) | (1u << 2) | (1u << 27);  // SGIs 1, 2 and the virtual timer (banked)
    mmio_write8(&GICD_IPRIORITYR8[1], 0x40);
    mmio_write8(&GICD_IPRIORITYR8[2], 0x40);
    mmio_write8(&GICD_IPRIORITYR8[27], 0x40);
    __asm__ volatile("msr daifclr, #2");
}

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)kind;
    (void)frame;  // SVC: ELR_EL1 already points after it
}

void irq_handler(uint64_t kind) {
    (void)kind;
    uint32_t iar = GICC[3];
    uint32_t id = iar & 0x3ff;
    if (id == 1) {  // on CPU 1: the ping; pong back to CPU 0
        pings_seen++;
        GICC[4] = iar;
        __asm__ volatile("dsb ish" ::: "memory");
        GICD[0xf00 / 4] = (1u << 16) | 2;
        return;
    }
    if (id == 2) {
        pongs++;
    } else if (id == 27) {
        timer_irqs++;
        __asm__ volatile("msr cntv_ctl_el0, %0" ::"r"(0ull));
    }
    GICC[4] = iar;
}

void secondary_main(uint64_t cpu) {
    (void)cpu;
    install_vectors();
    gic_cpu_init();
    atomic_add(&ready, 1);
    for (;;) __asm__ volatile("wfi");
}

static void report(const char* name, uint64_t ticks, uint64_t ops) {
    puts_uart(name);
    puts_uart(": ");
    put_dec(ticks * 16 / ops);
    puts_uart(" ns\n");
}

int main(void) {
    install_vectors();
    GICD[0] = 1;  // GICD_CTLR
    gic_cpu_init();
    psci_call(0xc4000003, 1, (uint64_t)secondary_entry, 1);
    while (ready < 1) {
    }

    const uint64_t svcs = 200000;
    uint64_t t0 = counter();
    for (uint64_t i = 0; i < svcs; i++) __asm__ volatile("svc #1" ::: "memory");
    report("svc", counter() - t0, svcs);

    const uint64_t reads = 200000;
    uint32_t any = 0;
    t0 = counter();
    for (uint64_t i = 0; i < reads; i++) any |= mmio_read32(UARTFR);
    report("mmio", counter() - t0, reads);
    t0 = counter();
    for (uint64_t i = 0; i < reads; i++) any |= mmio_read32(UARTIMSC);
    report("mmio_locked", counter() - t0, reads);

    const uint64_t irqs = 20000;
    t0 = counter();
    for (uint64_t i = 0; i < irqs; i++) {
        uint64_t want = i + 1;
        __asm__ volatile("msr cntv_cval_el0, %0; msr cntv_ctl_el0, %1; isb" ::"r"(0ull), "r"(1ull));
        while (timer_irqs < want) {
        }
    }
    report("irq", counter() - t0, irqs);

    const uint64_t pings = 5000;
    t0 = counter();
    for (uint64_t i = 0; i < pings; i++) {
        uint64_t want = i + 1;
        __asm__ volatile("dsb ish" ::: "memory");
        GICD[0xf00 / 4] = (1u << (16 + 1)) | 1;  // SGI 1 to CPU 1
        while (pongs < want) {
        }
    }
    report("ipi", counter() - t0, pings);

    puts_uart(pings_seen == pings && timer_irqs == irqs && (any & 0x80) ? "ok\n" : "bad\n");  // (TXFE: the PL011 was read)
    return 0;
}
