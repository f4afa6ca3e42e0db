// Serial input read by polling UARTFR, as firmware and earlycon consoles
// do (armvm's vCPUs read the PL011's flags without the machine lock once
// they poll them: the flags must follow the characters the host sends).
// Prints "ready", then for each character received with the FIFO off the
// flags seen and the character, until '.'; then turns the FIFO on (which
// empties it: RXFE) and echoes a line read through it; powers off.
#include "lib.h"

#define UART_DR 0x09000000
#define UART_FR 0x09000018
#define UART_LCR_H ((volatile uint32_t*)0x0900002c)
#define FR_RXFE (1u << 4)

static uint32_t wait_char(uint32_t* fr) {
    uint32_t f;
    while ((f = mmio_read32(UART_FR)) & FR_RXFE) {
    }
    *fr = f;
    return mmio_read32(UART_DR) & 0xff;
}

int main(void) {
    puts_uart("ready\n");
    for (;;) {
        uint32_t fr, c = wait_char(&fr);
        puts_uart("fr ");
        put_hex(fr);
        puts_uart(" char ");
        putc_uart((char)c);
        putc_uart('\n');
        if (c == '.') break;
    }
    *UART_LCR_H = 0x70;  // 8 bits, FIFO on
    puts_uart("fifo on: fr ");
    put_hex(mmio_read32(UART_FR));
    puts_uart("\nline: ");
    for (;;) {
        uint32_t fr, c = wait_char(&fr);
        if (c == '\n') break;
        putc_uart((char)c);
    }
    puts_uart("\nok\n");
    return 0;
}
