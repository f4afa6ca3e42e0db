// Tiny support library for the bare-metal tests: PL011 output.
#pragma once
#include <stdint.h>

void putc_uart(char c);
void puts_uart(const char* s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);
