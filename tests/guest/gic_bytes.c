// The GICv2 distributor at the widths the GIC architecture allows: byte
// and word accesses to GICD_IPRIORITYR and GICD_ITARGETSR, the banked
// SGI/PPI target bytes (each reads as this CPU's bit), bits of absent
// CPU interfaces in ITARGETSR (RAZ/WI), byte reads of GICD_ISENABLER,
// and word reads of the ID registers. Prints what it reads.
#include "lib.h"

#define GICD8 ((volatile uint8_t*)0x08000000)
#define GICD16 ((volatile uint16_t*)0x08000000)
#define GICD32 ((volatile uint32_t*)0x08000000)

int main(void) {
    // IPRIORITYR: bytes in, word out; a word in, bytes out.
    for (int i = 0; i < 4; i++) mmio_write8(&GICD8[0x420 + i], (uint8_t)(0x10 * (i + 1)));
    put_named_hex("IPRIORITYR8 word", GICD32[0x420 / 4]);
    GICD32[0x424 / 4] = 0xa0b0c0d0;
    put_named_hex("IPRIORITYR9 byte0", GICD8[0x424]);
    put_named_hex("IPRIORITYR9 byte3", GICD8[0x427]);
    // ITARGETSR of SPIs 32-35: bytes in, word out (absent CPUs' bits RAZ/WI)
    mmio_write8(&GICD8[0x820], 0x01);
    mmio_write8(&GICD8[0x821], 0x02);
    mmio_write8(&GICD8[0x822], 0x03);
    mmio_write8(&GICD8[0x823], 0xff);
    put_named_hex("ITARGETSR8 word", GICD32[0x820 / 4]);
    put_named_hex("ITARGETSR8 byte3", GICD8[0x823]);
    GICD32[0x824 / 4] = 0x01020301;
    put_named_hex("ITARGETSR9 word", GICD32[0x824 / 4]);
    // SGI/PPI targets: read-only, each byte this CPU's bit
    put_named_hex("ITARGETSR0 word", GICD32[0x800 / 4]);
    put_named_hex("ITARGETSR7 byte", GICD8[0x81f]);
    mmio_write8(&GICD8[0x800], 0x02);
    put_named_hex("ITARGETSR0 after write", GICD8[0x800]);
    // ISENABLER: a byte write sets bits, byte reads see them
    GICD32[0x104 / 4] = 0x00000f00;
    put_named_hex("ISENABLER1 byte1", GICD8[0x105]);
    put_named_hex("ISENABLER1 word", GICD32[0x104 / 4]);
    GICD32[0x184 / 4] = 0x00000f00;
    put_named_hex("after ICENABLER1", GICD32[0x104 / 4]);
    put_named_hex("TYPER.CPUNumber", (GICD32[1] >> 5) & 7);
    put_named_hex("IIDR", GICD32[2]);
    (void)GICD16;
    return 0;
}
