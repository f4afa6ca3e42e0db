// guest-cflags: -O0 -g -mgeneral-regs-only
// The program the gdbstub tests drive with gdb-multiarch (built with
// symbols, -O0 so every line has its own code): two CPUs, a function only
// CPU 1 runs (a breakpoint there stops thread 2), a variable it writes (a
// watchpoint), a function with arguments and a result for step/next/
// finish on CPU 0. Run with -smp 2.
#include "lib.h"

extern void secondary_entry(void);

volatile uint64_t counter;
volatile uint64_t cpu1_ready;
volatile uint64_t done_flag;
uint64_t table[4] = {0x1111, 0x2222, 0x3333, 0x4444};

void cpu1_work(void) {
    counter = 0x1234;
    table[2] = counter + 1;
}

uint64_t step_target(uint64_t a, uint64_t b) {
    uint64_t s = a * 3;
    s += b;
    s = s * 2;
    return s;
}

void secondary_main(uint64_t cpu) {
    (void)cpu;
    cpu1_work();
    cpu1_ready = 1;
    while (!done_flag) {
    }
    psci_call(0x84000002, 0, 0, 0);  // CPU_OFF
}

int main(void) {
    psci_call(0xc4000003, 1, (uint64_t)secondary_entry, 1);  // CPU_ON
    while (!cpu1_ready) {
    }
    uint64_t r = step_target(5, 7);
    counter = r;
    puts_uart("result ");
    put_dec(counter);
    puts_uart("\n");
    done_flag = 1;
    while (psci_call(0xc4000004, 1, 0, 0) != 1) {  // AFFINITY_INFO: wait for OFF
    }
    return 0;
}
