// PSCI SYSTEM_RESET: the first boot counts itself in a RAM word outside
// the image (RAM survives a reset; the image is reloaded) and resets; the
// second boot powers off.
#include "lib.h"

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
    if (*BOOTS < 2) {
        puts_uart("resetting\n");
        psci_call(0x84000009, 0, 0, 0);  // SYSTEM_RESET
        puts_uart("SYSTEM_RESET returned\n");
    }
    return 0;
}
