// A hostile driver on the virtio-blk device in the top virtio-mmio slot
// (legacy layout): rings outside RAM, a descriptor chain that loops, an
// available index far ahead, a buffer beyond RAM. Each must leave armvm
// running, mark the device DEVICE_NEEDS_RESET (status bit 0x40) and raise
// the config-change interrupt bit; after a reset a well-formed read of
// sector 0 still works.
#include "lib.h"

#define MMIO 0x0a003e00ul
#define REG(off) (*(volatile uint32_t*)(MMIO + (off)))
enum { MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, GUEST_PAGE = 0x028, QSEL = 0x030, QNUM_MAX = 0x034,
       QNUM = 0x038, QALIGN = 0x03c, QPFN = 0x040, NOTIFY = 0x050, ISR = 0x060, ACK = 0x064, STATUS = 0x070 };

#define QSZ 8
struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
// The legacy ring: descriptors, available ring, used ring at 4 KiB.
static uint8_t ring[8192] __attribute__((aligned(4096)));
static struct desc* const d = (struct desc*)ring;
static volatile uint16_t* const avail = (volatile uint16_t*)(ring + 16 * QSZ);
static volatile uint16_t* const used = (volatile uint16_t*)(ring + 4096);

static struct {
    uint32_t type, reserved;
    uint64_t sector;
} hdr;
static uint8_t data[512];
static volatile uint8_t status;

static void setup(uint64_t pfn) {
    REG(STATUS) = 0;  // reset
    REG(STATUS) = 1 | 2;  // ACKNOWLEDGE, DRIVER
    REG(GUEST_PAGE) = 4096;
    REG(QSEL) = 0;
    REG(QNUM) = QSZ;
    REG(QALIGN) = 4096;
    REG(QPFN) = (uint32_t)pfn;
    REG(STATUS) = 1 | 2 | 4;  // DRIVER_OK
    for (unsigned i = 0; i < sizeof ring; i++) ring[i] = 0;
}

static void read_request(void) {
    hdr.type = 0;
    hdr.sector = 0;
    status = 0xff;
    d[0] = (struct desc){(uint64_t)&hdr, 16, 1, 1};
    d[1] = (struct desc){(uint64_t)data, 512, 1 | 2, 2};
    d[2] = (struct desc){(uint64_t)&status, 1, 2, 0};
}

static void kick(uint16_t head, uint16_t idx) {
    avail[2 + (idx - 1) % QSZ] = head;
    __asm__ volatile("dmb sy" ::: "memory");
    avail[1] = idx;
    __asm__ volatile("dmb sy" ::: "memory");
    REG(NOTIFY) = 0;
}

static void report(const char* what) {
    uint32_t st = REG(STATUS), isr = REG(ISR);
    puts_uart(what);
    puts_uart((st & 0x40) ? ": needs reset" : ": status ok");
    puts_uart((isr & 2) ? ", config interrupt" : "");
    puts_uart("\n");
    REG(ACK) = isr;
}

int main(void) {
    puts_uart("virtio-mmio magic ");
    put_hex(REG(MAGIC));
    puts_uart(" version ");
    put_dec(REG(VERSION));
    puts_uart(" device ");
    put_dec(REG(DEVICE_ID));
    puts_uart("\n");
    uint64_t pfn = (uint64_t)ring >> 12;

    setup(0x7ffff);  // rings at 2 GiB - 4 KiB: outside the guest's RAM
    kick(0, 1);
    report("rings outside RAM");

    setup(pfn);
    read_request();
    d[2].flags = 1;  // the chain loops back to its head
    d[2].next = 0;
    kick(0, 1);
    report("descriptor loop");

    setup(pfn);
    read_request();
    kick(0, 1000);  // more available than the ring holds
    report("available index jump");

    setup(pfn);
    read_request();
    d[1].addr = 0x7fff0000ul;  // a data buffer beyond RAM
    kick(0, 1);
    report("buffer outside RAM");

    setup(pfn);
    read_request();
    kick(0, 1);
    // (the device completes it in its own time, as a real one: poll the
    // used ring as a polling driver does, with a bound)
    for (unsigned long n = 0; used[1] == 0 && n < 400000000ul; n++) {
    }
    __asm__ volatile("dmb sy" ::: "memory");
    puts_uart("after a reset, a good read: status ");
    put_dec(status);
    puts_uart(" used idx ");
    put_dec(used[1]);
    puts_uart(" used len ");
    put_dec(*(volatile uint32_t*)(ring + 4096 + 8));
    puts_uart("\n");
    report("good request");
    psci_system_off();
    return 0;
}
