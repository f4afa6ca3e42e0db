// INCIDENTS.md #4: what a guest kernel does at boot. It reads
// ID_AA64DFR0_EL1.PMUVer and, where that says PMUv3p4 or later (and not
// IMPLEMENTATION DEFINED), reads PMMIR_EL1, which that version has. A
// platform that advertises PMUv3p4 without PMMIR_EL1 makes this take an
// undefined-instruction exception (the default handler reports it).
#include "lib.h"

int main(void) {
    uint64_t dfr0;
    __asm__ volatile("mrs %0, id_aa64dfr0_el1" : "=r"(dfr0));
    uint64_t ver = (dfr0 >> 8) & 0xf;
    puts_uart("PMUVer ");
    put_dec(ver);
    puts_uart(ver == 0 ? " (no PMU)\n" : "\n");
    if (ver >= 5 && ver != 0xf) {
        uint64_t pmmir;
        __asm__ volatile("mrs %0, s3_0_c9_c14_6" : "=r"(pmmir));
        puts_uart("PMMIR_EL1 read\n");
    }
    puts_uart("pmmir: done\n");
    return 0;
}
