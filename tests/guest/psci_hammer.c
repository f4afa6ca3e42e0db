// PSCI CPU_ON/CPU_OFF without end, from several CPUs at once: CPU 0 keeps
// powering CPUs 1-3 on, each of them powers the next one on too, counts
// in `work` and powers itself off. A test stops, resets and continues the
// VM meanwhile and checks that `work` does not move while it is stopped.
#include "lib.h"

extern void secondary_entry(void);
volatile uint64_t work;

static void wake(uint64_t cpu) {
    psci_call(0xc4000003, cpu, (uint64_t)secondary_entry, cpu);  // CPU_ON (ALREADY_ON is fine)
}

void secondary_main(uint64_t cpu) {
    for (int i = 0; i < 100; i++) atomic_add(&work, 1);
    wake(cpu % 3 + 1);
    psci_call(0x84000002, 0, 0, 0);  // CPU_OFF
}

int main(void) {
    puts_uart("hammering\n");
    for (;;) {
        for (uint64_t cpu = 1; cpu < 4; cpu++) wake(cpu);
        atomic_add(&work, 1);
    }
    return 0;
}
