#include "lib.h"

#define UART_DR ((volatile uint32_t*)0x09000000)
#define UART_FR ((volatile uint32_t*)0x09000018)

void putc_uart(char c) {
    while (*UART_FR & (1u << 5)) {
    }
    *UART_DR = (uint32_t)(unsigned char)c;
}

void puts_uart(const char* s) {
    while (*s) putc_uart(*s++);
}

void put_hex(uint64_t v) {
    puts_uart("0x");
    for (int i = 60; i >= 0; i -= 4) putc_uart("0123456789abcdef"[(v >> i) & 0xf]);
}

void put_dec(uint64_t v) {
    char buf[21];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) putc_uart(buf[--n]);
}
