// PSCI SYSTEM_RESET: the first boot counts itself in a RAM word outside
// the image (RAM survives a reset; the image is reloaded) and resets; the
// second boot powers off. The first boot also leaves the interrupt
// controller's distributor enabled with an SPI enabled, pending and
// prioritised: the second must find it back in its reset state.
#include "lib.h"

#define GICD ((volatile uint32_t*)0x08000000)
#define GICD8 ((volatile uint8_t*)0x08000000)

static void gic_state(void) {
    // (which enable bits exist differs: GICv2, GICv3 with one security
    // state, KVM's GICv3 with group 1 only)
    puts_uart("GICD_CTLR enabled ");
    put_dec((GICD[0] & 3) != 0);
    puts_uart(" ISENABLER1 ");
    put_hex(GICD[0x104 / 4]);
    puts_uart(" ISPENDR1 ");
    put_hex(GICD[0x204 / 4]);
    puts_uart(" IPRIORITYR40 ");
    put_hex(GICD8[0x400 + 40]);
    puts_uart("\n");
}

#define BOOTS ((volatile uint64_t*)0x47000000)
#define MAGIC ((volatile uint64_t*)0x47000008)

int main(void) {
    if (*MAGIC != 0x5245534554ull) {
        *MAGIC = 0x5245534554ull;
        *BOOTS = 0;
    }
    *BOOTS += 1;
    puts_uart("boot ");
    put_dec(*BOOTS);
    puts_uart("\n");
    gic_state();
    if (*BOOTS < 2) {
        GICD[0] = 3;
        mmio_write8(&GICD8[0x400 + 40], 0xa0);
        GICD[0x104 / 4] = 1u << 8;  // enable 40
        GICD[0x204 / 4] = 1u << 8;  // pend 40 (the CPU has interrupts masked)
        gic_state();
        puts_uart("resetting\n");
        psci_call(0x84000009, 0, 0, 0);  // SYSTEM_RESET
        puts_uart("SYSTEM_RESET returned\n");
    }
    return 0;
}
