// Shared peripheral interrupts through the distributor, GICv2 or GICv3
// (whichever the board has: ID_AA64PFR0_EL1.GIC): two SPIs made pending
// by software with IRQs masked are taken by priority when unmasked, are
// active while handled, and a disabled or masked-by-priority SPI stays
// pending.
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICD8 ((volatile uint8_t*)0x08000000)
#define GICC ((volatile uint32_t*)0x08010000)
#define GICR_RD ((volatile uint32_t*)0x080a0000)
#define GICR_SGI ((volatile uint32_t*)0x080b0000)

static int v3;
static volatile unsigned order[8], n;
static volatile uint32_t active_seen;

static uint32_t ack(void) {
    if (!v3) return GICC[3];
    uint64_t iar;
    __asm__ volatile("mrs %0, s3_0_c12_c12_0" : "=r"(iar));
    return (uint32_t)iar;
}

static void eoi(uint32_t iar) {
    if (!v3)
        GICC[4] = iar;
    else
        __asm__ volatile("msr s3_0_c12_c12_1, %0" ::"r"((uint64_t)iar));
}

static void set_pmr(uint32_t p) {
    if (!v3)
        GICC[1] = p;
    else
        __asm__ volatile("msr s3_0_c4_c6_0, %0" ::"r"((uint64_t)p));
}

void irq_handler(uint64_t kind) {
    (void)kind;
    uint32_t iar = ack();
    uint32_t id = iar & (v3 ? 0xffffff : 0x3ff);
    if (n < 8) order[n++] = id;
    if (id >= 32 && id < 64) active_seen |= GICD[0x300 / 4 + 1] & (1u << (id - 32));  // ISACTIVER1
    eoi(iar);
}

int main(void) {
    install_vectors();
    uint64_t pfr0;
    __asm__ volatile("mrs %0, id_aa64pfr0_el1" : "=r"(pfr0));
    v3 = ((pfr0 >> 24) & 0xf) != 0;
    puts_uart(v3 ? "GICv3\n" : "GICv2\n");
    if (v3) {
        GICD[0] = 0x12;  // ARE_NS, EnableGrp1NS
        GICR_RD[0x14 / 4] = 0;
        while (GICR_RD[0x14 / 4] & 4) {
        }
        GICD[0x80 / 4 + 1] = 0xffffffff;  // IGROUPR1: SPIs 32..63 in group 1
        for (unsigned id = 40; id < 44; id++) {
            volatile uint64_t* irouter = (volatile uint64_t*)(0x08006000ul + 8ul * id);
            *irouter = 0;  // to CPU 0
        }
        __asm__ volatile("msr s3_0_c12_c12_5, %0; msr s3_0_c12_c12_7, %1; isb" ::"r"(1ull), "r"(1ull));
    } else {
        GICD[0] = 1;
        GICC[0] = 1;
        for (unsigned id = 40; id < 44; id++) mmio_write8(&GICD8[0x800 + id], 1);  // ITARGETSR: CPU 0
    }
    set_pmr(0xf0);
    GICD8[0x400 + 40] = 0xa0;
    GICD8[0x400 + 41] = 0x80;  // higher priority
    GICD8[0x400 + 42] = 0x90;
    GICD8[0x400 + 43] = 0xf0;  // masked by PMR 0xf0 (5 priority bits suffice, as KVM's vGIC has)
    GICD[0x100 / 4 + 1] = (1u << 8) | (1u << 9) | (1u << 11);  // enable 40, 41, 43 (not 42)
    GICD[0x200 / 4 + 1] = (1u << 8) | (1u << 9) | (1u << 10) | (1u << 11);  // pend 40..43
    puts_uart("pending before unmask: ");
    put_hex(GICD[0x200 / 4 + 1] & 0xf00);
    puts_uart("\n");
    __asm__ volatile("msr daifclr, #2; isb");
    for (volatile int i = 0; i < 10000; i++) {
    }
    __asm__ volatile("msr daifset, #2");
    puts_uart("taken:");
    for (unsigned i = 0; i < n; i++) {
        puts_uart(" ");
        put_dec(order[i]);
    }
    puts_uart("\nactive while handled: ");
    put_hex(active_seen);
    puts_uart("\nstill pending (disabled 42, masked 43): ");
    put_hex(GICD[0x200 / 4 + 1] & 0xf00);
    puts_uart("\n");
    // Enabling 42 delivers it; lowering the mask delivers 43.
    n = 0;
    GICD[0x100 / 4 + 1] = 1u << 10;
    set_pmr(0xff);
    __asm__ volatile("msr daifclr, #2; isb");
    for (volatile int i = 0; i < 10000; i++) {
    }
    __asm__ volatile("msr daifset, #2");
    puts_uart("then taken:");
    for (unsigned i = 0; i < n; i++) {
        puts_uart(" ");
        put_dec(order[i]);
    }
    puts_uart("\n");
    return 0;
}
