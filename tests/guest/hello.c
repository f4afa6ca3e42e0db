// The first bare-metal program: prints through the PL011, reports where
// x0 at entry (QEMU passes 0 to a non-Linux ELF) and the EL, and exits
// through PSCI SYSTEM_OFF.
#include "lib.h"

int main(uint64_t dtb) {
    puts_uart("hello from armvm's test guest\n");
    puts_uart("x0 at entry: ");
    put_hex(dtb);
    puts_uart("\n");
    uint64_t el;
    __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
    puts_uart("EL");
    put_dec(el >> 2);
    puts_uart("\n");
    return 0;
}
