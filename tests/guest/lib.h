// Tiny support library for the bare-metal tests: PL011 output.
#pragma once
#include <stdint.h>

void putc_uart(char c);
void puts_uart(const char* s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);

// PSCI through HVC (SMCCC): returns x0.
int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
void psci_system_off(void);
// An LDXR/STXR read-modify-write: racing CPUs must not lose updates.
void atomic_add(volatile uint64_t* p, uint64_t v);

void install_vectors(void);
// Called from the vector table; the defaults report and power off.
void irq_handler(uint64_t kind);
void unexpected_exception(uint64_t kind);
// This CPU's MPIDR_EL1.Aff0 (its index on the virt board).
uint64_t cpu_id(void);
