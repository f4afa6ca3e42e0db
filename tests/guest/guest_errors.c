// A guest that makes the mistakes -d guest_errors and -d unimp log: a
// read and a write of system registers the CPU does not implement
// (UNDEFINED; the Cortex-A57's own ones are RAZ/WI), a
// read and a write where nothing answers (external aborts). Each
// exception is stepped over; the program reports what it saw.
#include "lib.h"

static volatile uint64_t seen;

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)kind;
    (void)frame;
    seen++;
    write_elr(read_elr() + 4);
}

int main(void) {
    install_vectors();
    uint64_t v = 0;
    __asm__ volatile("mrs %0, s3_1_c15_c2_0" : "=r"(v));       // CPUACTLR_EL1: the A57's, RAZ/WI
    __asm__ volatile("msr s3_1_c15_c2_1, %0" : : "r"(v));       // CPUECTLR_EL1
    __asm__ volatile("mrs %0, s3_2_c15_c0_0" : "=r"(v));       // no such register: UNDEFINED
    __asm__ volatile("msr s3_2_c15_c0_1, %0" : : "r"(v));
    v = *(volatile uint32_t*)0x09050000;                         // between the RTC's and fw_cfg's... nothing
    *(volatile uint32_t*)0x0b000000 = 1;                         // past the virtio-mmio transports
    puts_uart("exceptions: ");
    put_dec(seen);
    puts_uart("\n");
    return 0;
}
