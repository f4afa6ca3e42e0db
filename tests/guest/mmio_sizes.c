// Device registers read and written at every access size (1, 2, 4 and 8
// bytes, aligned), and addresses where nothing answers: what the guest
// sees must be what it sees on qemu-system-aarch64's virt — the value, or
// the data abort (its syndrome). QEMU's memory core splits an access wider
// than a device takes and widens or extracts a narrower one, per device;
// this program prints the outcome of each.
#include "lib.h"

static volatile uint64_t last_esr, faults;

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    uint64_t esr = read_esr();
    unsigned ec = esr >> 26;
    if (ec != 0x25) unexpected_exception(kind);
    last_esr = esr;
    faults++;
    write_elr(read_elr() + 4);
}

static uint64_t load(uint64_t a, unsigned size) {
    uint64_t v = 0xeeeeeeeeeeeeeeeeull;
    switch (size) {
    case 1: __asm__ volatile("ldrb %w0, [%1]" : "+r"(v) : "r"(a) : "memory"); break;
    case 2: __asm__ volatile("ldrh %w0, [%1]" : "+r"(v) : "r"(a) : "memory"); break;
    case 4: __asm__ volatile("ldr %w0, [%1]" : "+r"(v) : "r"(a) : "memory"); break;
    default: __asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(a) : "memory"); break;
    }
    return v;
}

static void store(uint64_t a, unsigned size, uint64_t v) {
    switch (size) {
    case 1: __asm__ volatile("strb %w0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    case 2: __asm__ volatile("strh %w0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    case 4: __asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    default: __asm__ volatile("str %0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    }
}

static void outcome(uint64_t v) {
    if (faults) {
        puts_uart("abort ISS ");
        put_hex(last_esr & 0x1ffffff);
        faults = 0;
    } else {
        put_hex(v);
    }
}

// Each size at each aligned offset of [a, a+8).
static void reads(const char* name, uint64_t a) {
    puts_uart(name);
    puts_uart(":\n");
    for (unsigned size = 1; size <= 8; size *= 2) {
        puts_uart("  ");
        put_dec(size);
        puts_uart(":");
        for (unsigned off = 0; off < 8; off += size) {
            puts_uart(" ");
            outcome(load(a + off, size));
        }
        puts_uart("\n");
    }
}

// A write of `size` bytes at a + off, then the register read back as a
// word and as a doubleword.
static void write_then_read(const char* name, uint64_t a, unsigned off, unsigned size, uint64_t v, uint64_t restore) {
    puts_uart(name);
    puts_uart(" write");
    put_dec(size);
    puts_uart("@");
    put_dec(off);
    puts_uart(": ");
    store(a + off, size, v);
    outcome(0);
    puts_uart(" -> ");
    outcome(load(a, 4));
    puts_uart(" ");
    outcome(load(a & ~7ull, 8));
    puts_uart("\n");
    store(a, 4, restore);
    faults = 0;
}

int main(void) {
    install_vectors();
    // Read-only identification registers: no side effects on a read.
    reads("pl011 periph id", 0x09000fe0);
    reads("pl011 cell id", 0x09000ff0);
    reads("pl011 ibrd/fbrd", 0x09000024);
    reads("pl031 id", 0x09010fe0);
    reads("pl061 id", 0x09030fe0);
    reads("gicd typer/iidr", 0x08000000);
    reads("gicd ipriorityr", 0x08000400);
    reads("gicd itargetsr", 0x08000800);
    reads("gicc iidr", 0x080100f8);
    reads("gicc ctlr/pmr", 0x08010000);
    reads("v2m typer", 0x08020008);
    reads("v2m iidr", 0x08020fc8);
    reads("virtio-mmio magic/version", 0x0a000000);
    reads("virtio-mmio device/vendor", 0x0a000008);
    reads("fw_cfg dma", 0x09020010);
    reads("low ecam (highmem: none)", 0x3f000000);
    reads("ecam 00:00.0", 0x4010000000ull);
    reads("ecam 00:00.0 class", 0x4010000008ull);
    reads("ecam absent", 0x4010008000ull);
    reads("pcie mmio window hole", 0x10000000);
    reads("pcie pio window hole", 0x3eff0000);
    reads("nothing 0x09050000", 0x09050000);
    reads("nothing 0x0b000000", 0x0b000000);
    reads("flash", 0x00000000);
    // GICv3 (with -M gic-version=3; nothing there otherwise)
    reads("gicr ctlr/iidr", 0x080a0000);
    reads("gicr typer", 0x080a0008);
    reads("gits ctlr/iidr", 0x08080000);
    reads("gits typer", 0x08080008);
    reads("gicd v3 typer/iidr", 0x08000000);
    reads("gicd v3 iidr", 0x08000008);
    reads("gicd v3 irouter32", 0x08006100);
    reads("gicr propbaser", 0x080a0070);
    reads("gicr sgi ipriorityr", 0x080b0400);
    reads("gits cbaser", 0x08080080);
    reads("gits baser0", 0x08080100);
    // Writes of each size to registers that keep what they are given.
    write_then_read("pl011 imsc", 0x09000038, 0, 1, 0x7f, 0);
    write_then_read("pl011 imsc", 0x09000038, 1, 1, 0x07, 0);
    write_then_read("pl011 imsc", 0x09000038, 0, 2, 0x07f0, 0);
    write_then_read("pl011 imsc", 0x09000038, 0, 8, 0x0000000100000050ull, 0);
    write_then_read("gicd ipriorityr", 0x08000420, 1, 1, 0xa0, 0);
    write_then_read("gicd ipriorityr", 0x08000420, 2, 2, 0xb0c0, 0);
    write_then_read("gicd ipriorityr", 0x08000420, 0, 8, 0x1020304050607080ull, 0);
    write_then_read("gicc pmr", 0x08010004, 0, 1, 0xf0, 0);
    write_then_read("gicc pmr", 0x08010004, 1, 1, 0x80, 0);
    write_then_read("pl061 dir", 0x09030400, 0, 1, 0x0f, 0);
    write_then_read("pl061 dir", 0x09030400, 1, 1, 0x0f, 0);
    write_then_read("pl061 dir", 0x09030400, 0, 8, 0x000000ff0000003cull, 0);
    write_then_read("pl031 lr", 0x09010008, 0, 2, 0x1234, 0);
    write_then_read("gicr sgi ipriorityr", 0x080b0400, 1, 1, 0xa0, 0);
    write_then_read("gicr sgi ipriorityr", 0x080b0400, 2, 2, 0xb0c0, 0);
    write_then_read("gicr sgi ipriorityr", 0x080b0400, 0, 8, 0x1020304050607080ull, 0);
    write_then_read("gicd v3 irouter32", 0x08006100, 0, 8, 0x0000000100000000ull, 0);
    write_then_read("gicd v3 irouter32", 0x08006100, 4, 4, 0x2, 0);
    write_then_read("gicd v3 irouter32", 0x08006100, 0, 1, 0x3, 0);
    write_then_read("nothing", 0x09050000, 0, 4, 1, 0);
    write_then_read("pcie mmio window hole", 0x10000000, 0, 4, 1, 0);
    write_then_read("pcie mmio window hole", 0x10000000, 0, 8, 1, 0);
    write_then_read("virtio-mmio status", 0x0a000070, 0, 1, 0x01, 0);
    write_then_read("virtio-mmio status", 0x0a000070, 1, 1, 0x01, 0);
    write_then_read("virtio-mmio queue sel", 0x0a000030, 0, 2, 0x0001, 0);
    puts_uart("mmio sizes done\n");
    return 0;
}
