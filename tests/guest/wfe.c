// WFE and events: SEVL then WFE falls through; WFE wakes on the timer's
// event stream; a CPU waiting with LDAXR + WFE for a flag wakes when
// another CPU stores it with STLR (the global monitor's event), and on
// SEV. WFI wakes on an SGI. Run with -smp 2.
#include "lib.h"

extern void secondary_entry(void);
static volatile uint64_t flag, stage, woke;

static uint64_t wait_flag_change(volatile uint64_t* p, uint64_t old) {
    uint64_t v;
    for (;;) {
        __asm__ volatile("sevl; wfe; 1: ldaxr %0, [%1]; cmp %0, %2; b.ne 2f; wfe; b 1b; 2:"
                         : "=&r"(v) : "r"(p), "r"(old) : "memory", "cc");
        return v;
    }
}

void secondary_main(uint64_t cpu) {
    (void)cpu;
    stage = 1;
    woke = wait_flag_change(&flag, 0);  // woken by CPU 0's STLR
    stage = 2;
    __asm__ volatile("wfe; wfe" ::: "memory");  // the second waits for SEV
    stage = 3;
    psci_call(0x84000002, 0, 0, 0);  // CPU_OFF
}

int main(void) {
    __asm__ volatile("sevl; wfe" ::: "memory");
    puts_uart("SEVL then WFE: fell through\n");
    // The event stream: bit 4 of the counter, every 32 ticks.
    __asm__ volatile("msr cntkctl_el1, %0; isb" : : "r"((uint64_t)(4 | (4 << 4))));
    for (int i = 0; i < 100; i++) __asm__ volatile("wfe");
    puts_uart("100 WFEs returned with the event stream on\n");
    __asm__ volatile("msr cntkctl_el1, %0; isb" : : "r"(0ull));

    psci_call(0xc4000003, 1, (uint64_t)secondary_entry, 1);
    while (stage < 1) {
    }
    for (volatile int i = 0; i < 200000; i++) {
    }
    __asm__ volatile("stlr %0, [%1]" : : "r"(7ull), "r"(&flag) : "memory");
    while (stage < 2) {
    }
    puts_uart("waiter saw ");
    put_dec(woke);
    puts_uart("\n");
    for (volatile int i = 0; i < 200000; i++) {
    }
    while (stage < 3) __asm__ volatile("sev");
    puts_uart("SEV woke the waiter\n");
    while (psci_call(0xc4000004, 1, 0, 0) != 1) {
    }
    return 0;
}
