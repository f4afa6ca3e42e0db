// What the CPU says of SVE (ID_AA64PFR0_EL1.SVE) and, where it has it,
// that SVE instructions run once CPACR_EL1.ZEN lets EL1 use them (RDVL:
// the vector length, at least 16 bytes; FPEN must allow them too).
#include "lib.h"

int main(void) {
    uint64_t pfr0;
    __asm__ volatile("mrs %0, id_aa64pfr0_el1" : "=r"(pfr0));
    uint64_t sve = (pfr0 >> 32) & 0xf;
    puts_uart("SVE ");
    put_dec(sve);
    puts_uart("\n");
    if (sve) {
        uint64_t cpacr, vl;
        __asm__ volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
        __asm__ volatile("msr cpacr_el1, %0; isb" ::"r"(cpacr | (3ull << 16) | (3ull << 20)));  // ZEN and FPEN
        __asm__ volatile(".inst 0x04bf5020; mov %0, x0" : "=r"(vl) : : "x0");  // rdvl x0, #1
        puts_uart(vl >= 16 && vl % 16 == 0 ? "RDVL: a vector length of 16n bytes\n" : "RDVL: a bad length\n");
    }
    puts_uart("sve: done\n");
    return 0;
}
