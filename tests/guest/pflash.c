// The virt board's second flash bank (0x04000000, -drive if=pflash,unit=1)
// through its Intel command set, 32 bits wide as edk2 drives it: the
// initial contents, CFI query and identifier reads, status, word program,
// block erase, buffered program, clear status, lock/unlock, the read-array
// reset; each result printed (the test compares the output and the file
// afterwards with qemu-system-aarch64's).
#include "lib.h"

#define FLASH1 0x04000000ul
// (each access one plain LDR/STR: under KVM the flash's command modes are
// MMIO, which KVM emulates only for instructions with a valid syndrome)
#define W(off) mmio_read32(FLASH1 + (off))
#define H(off) mmio_read16(FLASH1 + (off))
#define B(off) mmio_read8(FLASH1 + (off))
#define WR(off, v) mmio_write32(FLASH1 + (off), (v))
#define CMD(c) (((uint32_t)(c) << 16) | (c))  // the same command to both 16-bit devices

int main(void) {
    put_named_hex("initial", W(0));
    put_named_hex("initial+4", W(4));
    // CFI query: one byte of the table per 32-bit word, from both devices.
    WR(0x55 * 4, CMD(0x98));
    puts_uart("cfi");
    for (unsigned i = 0x10; i < 0x40; ++i) {
        puts_uart(" ");
        put_hex(W(i * 4));
    }
    puts_uart("\n");
    put_named_hex("cfi byte", B(0x10 * 4));
    put_named_hex("cfi half", H(0x11 * 4));
    WR(0, CMD(0xff));
    put_named_hex("array again", W(0));
    // Identifier
    WR(0, CMD(0x90));
    put_named_hex("manufacturer", W(0));
    put_named_hex("device", W(4));
    put_named_hex("lock status", W(8));
    WR(0, CMD(0xff));
    // Word program
    WR(0x100, CMD(0x40));
    WR(0x100, 0x12345678);
    put_named_hex("status after program", W(0x100));
    WR(0, CMD(0x70));
    put_named_hex("read status", W(0));
    WR(0, CMD(0xff));
    put_named_hex("programmed", W(0x100));
    // Block erase of the second 256 KiB sector
    WR(0x40000, CMD(0x20));
    WR(0x40000, CMD(0xd0));
    put_named_hex("status after erase", W(0x40000));
    WR(0, CMD(0xff));
    put_named_hex("erased first", W(0x40000));
    put_named_hex("erased last", W(0x7fffc));
    put_named_hex("next sector", W(0x80000));
    put_named_hex("first sector", W(0x100));
    // Buffered program: count (words - 1, per device), data, confirm
    WR(0x200, CMD(0xe8));
    put_named_hex("buffer ready", W(0x200));
    WR(0x200, CMD(3));
    WR(0x200, 0xaaaa5555);
    WR(0x204, 0x01020304);
    WR(0x208, 0xdeadbeef);
    WR(0x20c, 0xcafef00d);
    WR(0x200, CMD(0xd0));
    put_named_hex("status after buffer", W(0x200));
    WR(0, CMD(0xff));
    put_named_hex("buffer 0", W(0x200));
    put_named_hex("buffer 3", W(0x20c));
    // Clear status, lock / unlock
    WR(0, CMD(0x50));
    put_named_hex("after clear", W(0));
    WR(0, CMD(0x60));
    WR(0, CMD(0xd0));
    put_named_hex("after unlock", W(0));
    WR(0, CMD(0xff));
    put_named_hex("array", W(0));
    // A 64-bit read of the array
    put_named_hex("wide", mmio_read64(FLASH1 + 0x200));
    // Read status and read array in turn, in a hot loop (compiled code
    // whose loads of the array hit the TLB until a command changes it)
    uint64_t sum = 0;
    for (unsigned i = 0; i < 3000; ++i) {
        WR(0, CMD(0x70));
        sum = sum * 3 + W(0x100);
        WR(0, CMD(0xff));
        sum = sum * 3 + W(0x100) + W(0x200 + 4 * (i & 3));
    }
    put_named_hex("status/array turns", sum);
    puts_uart("done\n");
    psci_system_off();
    return 0;
}
