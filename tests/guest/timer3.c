// The timer test through a GICv3: distributor with affinity routing,
// this CPU's redistributor, the ICC_* system-register CPU interface, an SGI
// by ICC_SGI1R_EL1, and an SPI (the PL011 TX interrupt) routed by
// GICD_IROUTER. Run with -M virt,gic-version=3.
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICD_IROUTER ((volatile uint64_t*)0x08006000)
#define GICR_RD ((volatile uint32_t*)0x080a0000)
#define GICR_SGI ((volatile uint32_t*)0x080b0000)
#define GICR_IPRIORITYR8 ((volatile uint8_t*)0x080b0400)
#define GICD_IPRIORITYR8 ((volatile uint8_t*)0x08000400)
#define UART_IMSC ((volatile uint32_t*)0x09000038)
#define UART_ICR ((volatile uint32_t*)0x09000044)

#define SYSREG_W(name, v) __asm__ volatile("msr " name ", %0" ::"r"((uint64_t)(v)))
#define SYSREG_R(name, v) __asm__ volatile("mrs %0, " name : "=r"(v))

static volatile unsigned ticks, sgis, spis;
static uint64_t period;

void irq_handler(uint64_t kind) {
    (void)kind;
    uint64_t iar;
    SYSREG_R("s3_0_c12_c12_0", iar);  // ICC_IAR1_EL1
    uint32_t id = (uint32_t)iar & 0xffffff;
    if (id == 27) {
        ticks++;
        puts_uart("tick ");
        put_dec(ticks);
        puts_uart("\n");
        if (ticks < 3)
            SYSREG_W("cntv_tval_el0", period);
        else
            SYSREG_W("cntv_ctl_el0", 0);
    } else if (id < 16) {
        sgis++;
        puts_uart("SGI ");
        put_dec(id);
        puts_uart("\n");
    } else if (id == 33) {
        spis++;
        *UART_IMSC = 0;
        *UART_ICR = 1u << 5;
    } else {
        puts_uart("unexpected INTID ");
        put_dec(id);
        puts_uart("\n");
    }
    SYSREG_W("s3_0_c12_c12_1", iar);  // ICC_EOIR1_EL1
}

int main(void) {
    install_vectors();
    uint64_t pfr0;
    SYSREG_R("id_aa64pfr0_el1", pfr0);
    puts_uart("ID_AA64PFR0.GIC: ");
    put_dec((pfr0 >> 24) & 0xf);
    puts_uart("\nGICD_PIDR2.ArchRev: ");
    put_dec((GICD[0xffe8 / 4] >> 4) & 0xf);
    puts_uart("\nGICR_TYPER.Last: ");
    put_dec((GICR_RD[2] >> 4) & 1);
    puts_uart("\n");
    GICD[0] = 0x12;                        // GICD_CTLR: ARE_NS | EnableGrp1NS
    GICR_RD[0x14 / 4] = 0;                 // GICR_WAKER: wake this redistributor
    while (GICR_RD[0x14 / 4] & 4) {
    }
    GICR_SGI[0x80 / 4] = 0xffffffff;       // GICR_IGROUPR0: group 1
    GICR_IPRIORITYR8[27] = 0x80;
    GICR_IPRIORITYR8[1] = 0x80;
    GICR_SGI[0x100 / 4] = (1u << 27) | (1u << 1);  // GICR_ISENABLER0
    SYSREG_W("s3_0_c12_c12_5", 1);         // ICC_SRE_EL1.SRE
    SYSREG_W("s3_0_c4_c6_0", 0xf0);        // ICC_PMR_EL1
    SYSREG_W("s3_0_c12_c12_7", 1);         // ICC_IGRPEN1_EL1
    __asm__ volatile("isb");
    uint64_t frq;
    SYSREG_R("cntfrq_el0", frq);
    period = frq / 100;
    SYSREG_W("cntv_tval_el0", period);
    SYSREG_W("cntv_ctl_el0", 1);
    __asm__ volatile("msr daifclr, #2");
    while (ticks < 3)
        if (ticks < 2) __asm__ volatile("wfi");
    SYSREG_W("s3_0_c12_c11_5", (1ull << 24) | 1);  // ICC_SGI1R_EL1: SGI 1 to Aff0 0
    while (sgis < 1) {
    }
    // The UART TX interrupt, INTID 33, routed to this CPU by affinity.
    GICD[(0x80 + 4) / 4] = 0xffffffff;     // GICD_IGROUPR1: group 1
    GICD_IPRIORITYR8[33] = 0x80;
    GICD_IROUTER[33] = 0;                  // Aff0 = 0
    GICD[(0x100 + 4) / 4] = 1u << 1;       // GICD_ISENABLER1
    *UART_IMSC = 1u << 5;
    puts_uart("uart interrupt armed\n");
    while (spis < 1) {
    }
    puts_uart("SPI 33 taken\ndone\n");
    return 0;
}
