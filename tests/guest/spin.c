// Prints once, then keeps every CPU it has busy for ever: for stop/cont,
// query-cpus-fast and system_reset tests.
#include "lib.h"

static volatile uint64_t counter;

int main(void) {
    puts_uart("spinning\n");
    for (;;) counter++;
    return 0;
}
