#include "lib.h"

#define UART_DR ((volatile uint32_t*)0x09000000)
#define UART_FR ((volatile uint32_t*)0x09000018)

void putc_uart(char c) {
    while (*UART_FR & (1u << 5)) {
    }
    *UART_DR = (uint32_t)(unsigned char)c;
}

void puts_uart(const char* s) {
    while (*s) putc_uart(*s++);
}

void put_hex(uint64_t v) {
    puts_uart("0x");
    for (int i = 60; i >= 0; i -= 4) putc_uart("0123456789abcdef"[(v >> i) & 0xf]);
}

void put_dec(uint64_t v) {
    char buf[21];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) putc_uart(buf[--n]);
}

void put_named_hex(const char* name, uint64_t v) {
    puts_uart(name);
    puts_uart(" ");
    put_hex(v);
    puts_uart("\n");
}

int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3) {
    register uint64_t x0 __asm__("x0") = fn;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return (int64_t)x0;
}

void atomic_add(volatile uint64_t* p, uint64_t v) {
    uint64_t tmp;
    uint32_t fail;
    do {
        __asm__ volatile("ldxr %0, [%2]\n\tadd %0, %0, %3\n\tstxr %w1, %0, [%2]"
                         : "=&r"(tmp), "=&r"(fail)
                         : "r"(p), "r"(v)
                         : "memory");
    } while (fail);
}

// Programs that start no secondary CPU need no secondary_main.
__attribute__((weak)) void secondary_main(uint64_t cpu) { (void)cpu; }

__attribute__((weak)) void irq_handler(uint64_t kind) { unexpected_exception(kind); }

__attribute__((weak)) void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    unexpected_exception(kind);
}

uint64_t read_esr(void) {
    uint64_t v;
    __asm__ volatile("mrs %0, esr_el1" : "=r"(v));
    return v;
}
uint64_t read_far(void) {
    uint64_t v;
    __asm__ volatile("mrs %0, far_el1" : "=r"(v));
    return v;
}
uint64_t read_elr(void) {
    uint64_t v;
    __asm__ volatile("mrs %0, elr_el1" : "=r"(v));
    return v;
}
void write_elr(uint64_t v) { __asm__ volatile("msr elr_el1, %0" : : "r"(v)); }

int is_el0_exit(uint64_t esr) { return (esr >> 26) == 0x15 && (esr & 0xffff) == 0xfff; }

extern char el0_continue[];
void el0_return(void) {
    // ERET from the handler lands in el0_continue at EL1h, masked.
    write_elr((uint64_t)el0_continue);
    __asm__ volatile("msr spsr_el1, %0" : : "r"((uint64_t)0x3c5));
}

__attribute__((weak)) void unexpected_exception(uint64_t kind) {
    uint64_t esr, elr;
    __asm__ volatile("mrs %0, esr_el1; mrs %1, elr_el1" : "=r"(esr), "=r"(elr));
    puts_uart("unexpected exception, vector ");
    put_dec(kind);
    puts_uart(" ESR ");
    put_hex(esr);
    puts_uart(" ELR ");
    put_hex(elr);
    puts_uart("\n");
    psci_system_off();
}

uint64_t cpu_id(void) {
    uint64_t m;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(m));
    return m & 0xff;
}
