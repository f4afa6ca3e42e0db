// Says it is up, then waits in WFI with interrupts masked and no timer
// armed: only a reset can end the wait (a QMP system_reset must reboot it).
#include "lib.h"

int main(void) {
    puts_uart("idle guest up\n");
    __asm__ volatile("msr daifset, #0xf");
    for (;;) __asm__ volatile("wfi");
    return 0;
}
