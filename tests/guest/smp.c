// SMP bring-up through PSCI CPU_ON, then every CPU races LDXR/STXR
// increments on one counter; the total must be exact. Run with -smp 4.
#include "lib.h"

#define NCPUS 4
#define ITERS 20000

extern void secondary_entry(void);
static volatile uint64_t counter;
static volatile uint64_t finished;

void secondary_main(uint64_t cpu) {
    uint64_t mpidr;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    if ((mpidr & 0xff) != cpu) atomic_add(&counter, 1000000);  // would show in the total
    for (int i = 0; i < ITERS; i++) atomic_add(&counter, 1);
    atomic_add(&finished, 1);
    psci_call(0x84000002, 0, 0, 0);  // CPU_OFF
}

int main(void) {
    puts_uart("PSCI version: ");
    put_hex((uint64_t)psci_call(0x84000000, 0, 0, 0));
    puts_uart("\nCPU_ON supported: ");
    put_dec(psci_call(0x8400000a, 0xc4000003, 0, 0) == 0);
    puts_uart("\nCPU1 before CPU_ON: ");
    put_dec((uint64_t)psci_call(0xc4000004, 1, 0, 0));
    puts_uart("\n");
    for (uint64_t cpu = 1; cpu < NCPUS; cpu++) {
        int64_t r = psci_call(0xc4000003, cpu, (uint64_t)secondary_entry, cpu);
        puts_uart("CPU_ON ");
        put_dec(cpu);
        puts_uart(r == 0 ? ": ok\n" : ": failed\n");
    }
    puts_uart("CPU_ON of a CPU that does not exist: ");
    put_dec((uint64_t)-psci_call(0xc4000003, 9, (uint64_t)secondary_entry, 9));
    puts_uart("\n");
    for (int i = 0; i < ITERS; i++) atomic_add(&counter, 1);
    while (finished < NCPUS - 1) {
    }
    for (uint64_t cpu = 1; cpu < NCPUS; cpu++)
        while (psci_call(0xc4000004, cpu, 0, 0) != 1) {  // AFFINITY_INFO: wait for OFF
        }
    puts_uart("all CPUs off again; counter = ");
    put_dec(counter);
    puts_uart("\n");
    return 0;
}
