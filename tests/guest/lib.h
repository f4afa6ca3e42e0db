// Tiny support library for the bare-metal tests: PL011 output.
#pragma once
#include <stdint.h>

void putc_uart(char c);
void puts_uart(const char* s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);
// "NAME 0x...\n": a named value in hex on its own line.
void put_named_hex(const char* name, uint64_t v);

// PSCI through HVC (SMCCC): returns x0.
int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
void psci_system_off(void);
// An LDXR/STXR read-modify-write: racing CPUs must not lose updates.
void atomic_add(volatile uint64_t* p, uint64_t v);

void install_vectors(void);
// Synchronous exceptions (vector kinds 0, 4, 8); `frame` holds x0..x18,
// x29, x30 (indices 0..20). The default reports and powers off.
void sync_handler(uint64_t kind, uint64_t* frame);
// Runs fn at EL0 on the stack sp_el0 (interrupts masked) with x2 = a and
// x3 = b; fn must end with el0_exit(). The program's sync_handler calls
// el0_return() when it sees that SVC (is_el0_exit()).
void el0_call(void (*fn)(void), uint64_t sp_el0, uint64_t a, uint64_t b);
#define el0_exit() __asm__ volatile("svc #0xfff")
int is_el0_exit(uint64_t esr);
void el0_return(void);
uint64_t read_esr(void);
uint64_t read_far(void);
uint64_t read_elr(void);
void write_elr(uint64_t v);
// Called from the vector table; the defaults report and power off.
void irq_handler(uint64_t kind);
void unexpected_exception(uint64_t kind);
// A byte store to a device register as one plain STRB: a compiler loop
// may use a writeback form, which KVM cannot emulate for MMIO (no valid
// syndrome: the guest takes an external abort, as on hardware).
static inline void mmio_write8(volatile uint8_t* p, uint8_t v) {
    __asm__ volatile("strb %w0, [%1]" ::"r"(v), "r"(p) : "memory");
}
// Device reads and writes as one plain LDR/STR each (for the same reason).
static inline uint32_t mmio_read32(uint64_t a) {
    uint32_t v;
    __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline uint16_t mmio_read16(uint64_t a) {
    uint32_t v;
    __asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return (uint16_t)v;
}
static inline uint8_t mmio_read8(uint64_t a) {
    uint32_t v;
    __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return (uint8_t)v;
}
static inline uint64_t mmio_read64(uint64_t a) {
    uint64_t v;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline void mmio_write32(uint64_t a, uint32_t v) { __asm__ volatile("str %w0, [%1]" ::"r"(v), "r"(a) : "memory"); }
// This CPU's MPIDR_EL1.Aff0 (its index on the virt board).
uint64_t cpu_id(void);
