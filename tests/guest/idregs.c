// Prints the ID registers (and CTR, DCZID, CLIDR) as EL1 reads them: the
// model's features, compared with qemu-system-aarch64's for the same -cpu.
#include "lib.h"

#define ID(name)                                          \
    do {                                                  \
        uint64_t v;                                       \
        __asm__ volatile("mrs %0, " #name : "=r"(v));     \
        puts_uart(#name " ");                             \
        put_hex(v);                                       \
        puts_uart("\n");                                  \
    } while (0)

int main(uint64_t dtb) {
    (void)dtb;
    ID(midr_el1);
    ID(revidr_el1);
    ID(id_aa64pfr0_el1);
    ID(id_aa64pfr1_el1);
    ID(s3_0_c0_c4_4);  // ID_AA64ZFR0_EL1
    ID(s3_0_c0_c4_5);  // ID_AA64SMFR0_EL1
    ID(id_aa64isar0_el1);
    ID(id_aa64isar1_el1);
    ID(s3_0_c0_c6_2);  // ID_AA64ISAR2_EL1
    ID(id_aa64mmfr0_el1);
    ID(id_aa64mmfr1_el1);
    ID(id_aa64mmfr2_el1);
    ID(id_aa64dfr0_el1);
    ID(ctr_el0);
    ID(dczid_el0);
    ID(clidr_el1);
    return 0;
}
