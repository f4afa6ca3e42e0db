// The MMU with each granule (4K, 16K, 64K): identity maps built at run
// time, then pages with every kind of fault (translation, access flag,
// permission on write, on execute, at EL0, with PAN), TTBR1, ASID-tagged
// translations, TLBI, AT/PAR, and alignment faults (SCTLR_EL1.A,
// exclusives, acquire/release). Every result is printed: the output must
// be the same on armvm and qemu-system-aarch64.
#include "lib.h"

#define TEST_VA 0x80000000ull
#define HIGH_VA 0xffffff8000000000ull  // the bottom of the TTBR1 range with T1SZ = 25

#define DESC_VALID 1ull
#define DESC_TABLE 3ull
#define DESC_PAGE 3ull
#define DESC_BLOCK 1ull
#define AF (1ull << 10)
#define SH_INNER (3ull << 8)
#define NG (1ull << 11)
#define AP_EL0 (1ull << 6)  // AP[1]
#define AP_RO (1ull << 7)   // AP[2]
#define PXN (1ull << 53)
#define UXN (1ull << 54)
#define DBM (1ull << 51)
#define ATTR_DEVICE (0ull << 2)
#define ATTR_NORMAL (1ull << 2)

static uint64_t pool[12][8192] __attribute__((aligned(65536)));
static unsigned pool_used;
static uint8_t buf_a[65536] __attribute__((aligned(65536)));
static uint8_t buf_b[65536] __attribute__((aligned(65536)));

static unsigned G, S, START;  // granule bits, bits per level, start level (39-bit VAs)
static const char* gname;

static uint64_t* new_table(void) {
    uint64_t* t = pool[pool_used++];
    for (unsigned i = 0; i < 8192; i++) t[i] = 0;
    return t;
}

// The index of `va` in a table of `level` (the first level resolves the
// VA bits left over below bit 39).
static uint64_t index_at(uint64_t va, unsigned level) {
    unsigned shift = G + S * (3 - level);
    unsigned nbits = level == START ? 39 - shift : S;
    return (va >> shift) & ((1ull << nbits) - 1);
}

static uint64_t* entry_for(uint64_t* root, uint64_t va, unsigned level) {
    uint64_t* t = root;
    for (unsigned l = START; l < level; l++) {
        uint64_t* e = &t[index_at(va, l)];
        if (!(*e & DESC_VALID)) *e = (uint64_t)new_table() | DESC_TABLE;
        t = (uint64_t*)(*e & 0x0000fffffffff000ull & ~((1ull << G) - 1));
    }
    return &t[index_at(va, level)];
}

static void map_block(uint64_t* root, uint64_t va, uint64_t pa, unsigned level, uint64_t attrs) {
    *entry_for(root, va, level) = pa | attrs | AF | SH_INNER | DESC_BLOCK;
}

static void map_page(uint64_t* root, uint64_t va, uint64_t pa, uint64_t attrs) {
    *entry_for(root, va, 3) = pa | attrs | SH_INNER | DESC_PAGE;
}

static inline void tlbi_all(void) { __asm__ volatile("dsb ishst; tlbi vmalle1; dsb ish; isb" ::: "memory"); }

static uint64_t page(unsigned i) { return TEST_VA + ((uint64_t)i << G); }

// ---- exceptions: record, then skip the instruction (data aborts) or
// return to the caller of a branch (instruction aborts).
static volatile uint64_t last_esr, last_far, faults;

void sync_handler(uint64_t kind, uint64_t* frame) {
    uint64_t esr = read_esr();
    if (is_el0_exit(esr)) {
        el0_return();
        return;
    }
    last_esr = esr;
    last_far = read_far();
    faults++;
    unsigned ec = esr >> 26;
    if (ec == 0x20 || ec == 0x21)
        write_elr(frame[20]);  // back to the BLR's return address
    else if (ec == 0x24 || ec == 0x25)
        write_elr(read_elr() + 4);
    else
        unexpected_exception(kind);
}

static void report(const char* what, uint64_t va) {
    puts_uart(gname);
    puts_uart(" ");
    puts_uart(what);
    if (!faults) {
        puts_uart(": no fault\n");
        return;
    }
    puts_uart(": EC ");
    put_hex(last_esr >> 26);
    puts_uart(" ISS ");
    put_hex(last_esr & 0x1ffffff);
    puts_uart(last_far == va ? " FAR ok\n" : " FAR wrong\n");
    faults = 0;
}

static uint64_t read64(uint64_t va) { return *(volatile uint64_t*)va; }
// One LDR, whatever the alignment (the compiler splits unaligned C loads).
static uint64_t ldr64(uint64_t va) {
    uint64_t v = 0;
    __asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
    return v;
}
static void write64(uint64_t va, uint64_t v) { *(volatile uint64_t*)va = v; }

static uint64_t at(const char* op, uint64_t va) {
    uint64_t par;
    if (op[0] == 'r')
        __asm__ volatile("at s1e1r, %1; isb; mrs %0, par_el1" : "=r"(par) : "r"(va));
    else if (op[0] == 'w')
        __asm__ volatile("at s1e1w, %1; isb; mrs %0, par_el1" : "=r"(par) : "r"(va));
    else
        __asm__ volatile("at s1e0r, %1; isb; mrs %0, par_el1" : "=r"(par) : "r"(va));
    return par;
}

// At EL0 with x2 = an EL0 page, x3 = an EL1-only page: copies the first
// word of each to x2 + 0x100 and + 0x108 (the second load faults and is
// skipped, leaving 0).
void user_probe(void);
__asm__(".global user_probe\n"
        "user_probe:\n"
        "  ldr x4, [x2]\n"
        "  str x4, [x2, #0x100]\n"
        "  mov x5, #0\n"
        "  ldr x5, [x3]\n"
        "  str x5, [x2, #0x108]\n"
        "  svc #0xfff\n");

#define MSR_PAN_1 __asm__ volatile(".inst 0xd500419f" ::: "memory")
#define MSR_PAN_0 __asm__ volatile(".inst 0xd500409f" ::: "memory")

// LDTR/STTR at EL1 (Linux's copy_{to,from}_user): EL0's permissions, a
// fault is a same-EL data abort. Each twice, so that compiled code runs
// both its miss and its hit path, and interleaved with privileged
// accesses to the same pages (which must not share their permissions).
static uint64_t ldtr(uint64_t va) {
    uint64_t v = 0;
    __asm__ volatile("ldtr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
    return v;
}
static void sttr(uint64_t va, uint64_t v) { __asm__ volatile("sttr %0, [%1]" : : "r"(v), "r"(va) : "memory"); }

static void unprivileged(void) {
    for (int round = 0; round < 2; round++) {
        puts_uart(gname);
        puts_uart(" LDTR/STTR: ");
        sttr(page(4) + 0x20, 0x8123456789abcdefull + round);
        put_hex(ldtr(page(4) + 0x20));
        puts_uart(" ");
        put_hex(read64(page(4) + 0x20));  // EL1 reads the EL0 page the same (no PAN)
        puts_uart(" ");
        put_hex(ldtr(page(7) + 0x20));  // EL0 read-only
        uint64_t sb, sh, sw;
        __asm__ volatile("ldtrsb %0, [%3]; ldtrsh %1, [%3]; ldtrsw %2, [%3]"
                         : "=r"(sb), "=r"(sh), "=r"(sw) : "r"(page(4) + 0x27) : "memory");
        puts_uart(" ");
        put_hex(sb);
        puts_uart(" ");
        put_hex(sh);
        puts_uart(" ");
        put_hex(sw);
        uint32_t b;
        __asm__ volatile("ldtrb %w0, [%1]" : "=r"(b) : "r"(page(4) + 0x21) : "memory");
        puts_uart(" ");
        put_hex(b);
        puts_uart("\n");
        (void)read64(page(0));  // EL1's page, from EL1 then unprivileged
        (void)ldtr(page(0) + 0x10);
        report("LDTR of an EL1 page", page(0) + 0x10);
        sttr(page(0) + 0x18, 1);
        report("STTR to an EL1 page", page(0) + 0x18);
        sttr(page(7) + 0x28, 1);
        report("STTR to an EL0 read-only page", page(7) + 0x28);
        (void)ldtr(page(3));
        report("LDTR of an unmapped page", page(3));
    }
}

static void run_granule(unsigned g) {
    G = g;
    S = g - 3;
    START = g == 16 ? 2 : 1;
    gname = g == 12 ? "4K" : g == 14 ? "16K" : "64K";
    pool_used = 0;
    uint64_t* root0 = new_table();
    uint64_t* root0b = new_table();
    uint64_t* root1 = new_table();

    // Identity: the UART as Device memory, the program's RAM as Normal.
    for (int which = 0; which < 2; which++) {
        uint64_t* r = which ? root0b : root0;
        if (g == 12) {
            map_block(r, 0, 0, 1, ATTR_DEVICE | PXN | UXN);
            map_block(r, 0x40000000, 0x40000000, 1, ATTR_NORMAL);
        } else if (g == 14) {
            map_block(r, 0x08000000, 0x08000000, 2, ATTR_DEVICE | PXN | UXN);
            map_block(r, 0x40000000, 0x40000000, 2, ATTR_NORMAL);
            map_block(r, 0x42000000, 0x42000000, 2, ATTR_NORMAL);
        } else {
            map_block(r, 0, 0, 2, ATTR_DEVICE | PXN | UXN);
            map_block(r, 0x40000000, 0x40000000, 2, ATTR_NORMAL);
        }
    }
    uint64_t a = (uint64_t)buf_a, b = (uint64_t)buf_b;
    map_page(root0, page(0), a, ATTR_NORMAL | AF | NG);                 // EL1 RW
    map_page(root0, page(1), a, ATTR_NORMAL | AF | AP_RO);              // EL1 RO
    map_page(root0, page(2), a, ATTR_NORMAL);                           // AF clear
    // page(3): no entry (translation fault at level 3)
    map_page(root0, page(4), a, ATTR_NORMAL | AF | AP_EL0 | UXN | PXN); // EL0 RW, never executable
    map_page(root0, page(5), b, ATTR_NORMAL | AF | PXN);                // EL1 XN
    map_page(root0, page(6), b, ATTR_NORMAL | AF | AP_EL0);             // EL0 RW: never EL1-executable
    map_page(root0, page(7), a, ATTR_NORMAL | AF | AP_EL0 | AP_RO | UXN | PXN);  // EL0 and EL1 RO
    map_page(root0b, page(0), b, ATTR_NORMAL | AF | NG);                // the other address space
    map_page(root1, HIGH_VA, b, ATTR_NORMAL | AF);

    for (unsigned i = 0; i < 64; i++) buf_a[i] = (uint8_t)i, buf_b[i] = (uint8_t)(0x80 + i);
    buf_b[0x100] = 0xc0, buf_b[0x101] = 0x03, buf_b[0x102] = 0x5f, buf_b[0x103] = 0xd6;  // ret

    uint64_t tg0 = g == 12 ? 0 : g == 14 ? 2 : 1, tg1 = g == 12 ? 2 : g == 14 ? 1 : 3;
    uint64_t tcr = 25 | (25ull << 16) | (tg0 << 14) | (tg1 << 30) | (2ull << 32) /* IPS 40 bits */ |
                   (1ull << 36) /* 16-bit ASIDs */ | (1ull << 8) | (1ull << 10) | (3ull << 12) |
                   (1ull << 24) | (1ull << 26) | (3ull << 28);
    __asm__ volatile("msr mair_el1, %0" : : "r"(0xff00ull));
    __asm__ volatile("msr tcr_el1, %0" : : "r"(tcr));
    __asm__ volatile("msr ttbr0_el1, %0" : : "r"((uint64_t)root0 | (1ull << 48)));
    __asm__ volatile("msr ttbr1_el1, %0" : : "r"((uint64_t)root1));
    tlbi_all();
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | 1 | (1 << 2) | (1 << 12)));

    puts_uart(gname);
    puts_uart(" on: ");
    write64(page(0) + 8, 0x1122334455667788ull);
    put_hex(read64(page(1) + 8));  // the alias sees the write
    puts_uart(" ");
    put_hex(read64(HIGH_VA + 16));  // TTBR1
    puts_uart(" ");
    put_hex(ldr64(page(0) + 3));  // unaligned, Normal memory: fine
    puts_uart("\n");

    write64(page(1), 1);
    report("write to read-only", page(1));
    (void)read64(page(2) + 0x10);
    report("access flag", page(2) + 0x10);
    (void)read64(page(3) + 0x18);
    report("unmapped", page(3) + 0x18);
    (void)read64(TEST_VA + (1ull << 38) - 8 + (1ull << 38));
    report("beyond T0SZ", TEST_VA + (1ull << 38) - 8 + (1ull << 38));
    ((void (*)(void))(page(5) + 0x100))();
    report("execute never", page(5) + 0x100);
    ((void (*)(void))(page(6) + 0x100))();
    report("execute EL0-writable", page(6) + 0x100);

    // AT and PAR_EL1.
    puts_uart(gname);
    puts_uart(" PAR: ");
    put_hex(at("r", page(0) + 0x123));
    puts_uart(" ");
    put_hex(at("w", page(1)));
    puts_uart(" ");
    put_hex(at("0", page(0)));
    puts_uart(" ");
    put_hex(at("0", page(4)));
    puts_uart("\n");

    // ASIDs: root0b under ASID 2 maps page(0) to buf_b; no TLBI between.
    uint64_t v1 = read64(page(0));
    __asm__ volatile("msr ttbr0_el1, %0; isb" : : "r"((uint64_t)root0b | (2ull << 48)));
    uint64_t v2 = read64(page(0));
    __asm__ volatile("msr ttbr0_el1, %0; isb" : : "r"((uint64_t)root0 | (1ull << 48)));
    uint64_t v3 = read64(page(0));
    // TLBI by VA after a remap.
    map_page(root0, page(0), b, ATTR_NORMAL | AF | NG);
    uint64_t op = (page(0) >> 12) | (1ull << 48);
    __asm__ volatile("dsb ishst; tlbi vae1is, %0; dsb ish; isb" : : "r"(op) : "memory");
    uint64_t v4 = read64(page(0));
    puts_uart(gname);
    puts_uart(" ASID/TLBI: ");
    put_hex(v1);
    puts_uart(" ");
    put_hex(v2);
    puts_uart(" ");
    put_hex(v3);
    puts_uart(" ");
    put_hex(v4);
    puts_uart("\n");

    // EL0: its own page works, an EL1 page faults (a lower-EL abort).
    el0_call(user_probe, page(4) + 0x800, page(4), page(0));
    unprivileged();
    puts_uart(gname);
    puts_uart(" EL0 read ");
    put_hex(read64(page(4) + 0x100));
    puts_uart(" ");
    put_hex(read64(page(4) + 0x108));
    puts_uart("\n");
    report("EL0 reads EL1 page", page(0));

    // PAN, where the model has it.
    uint64_t mmfr1;
    __asm__ volatile("mrs %0, id_aa64mmfr1_el1" : "=r"(mmfr1));
    if ((mmfr1 >> 20) & 0xf) {
        MSR_PAN_1;
        (void)read64(page(4));
        report("PAN read of EL0 page", page(4));
        (void)read64(page(0));
        report("PAN read of EL1 page", page(0));
        uint64_t v;
        __asm__ volatile("ldtr %0, [%1]" : "=r"(v) : "r"(page(4)));
        report("PAN LDTR of EL0 page", page(4));
        uint64_t par_p, par_n;
        __asm__ volatile("sys #0, c7, c9, #0, %2; isb; mrs %0, par_el1; at s1e1r, %2; isb; mrs %1, par_el1"
                         : "=r"(par_p), "=r"(par_n) : "r"(page(4)));
        puts_uart(gname);
        puts_uart(" PAN AT S1E1RP/S1E1R: ");
        put_hex(par_p);
        puts_uart(" ");
        put_hex(par_n);
        puts_uart("\n");
        MSR_PAN_0;
    }

    // FEAT_HAFDBS, where the model has it: with TCR_EL1.HA an access sets
    // AF instead of faulting; with HD too, a write to a read-only DBM page
    // makes it writable (AP[2] cleared) instead of faulting.
    if (mmfr1 & 0xf) {
        uint64_t* d8 = entry_for(root0, page(8), 3);
        uint64_t* d9 = entry_for(root0, page(9), 3);
        uint64_t* d10 = entry_for(root0, page(10), 3);
        uint64_t* d11 = entry_for(root0, page(11), 3);
        map_page(root0, page(8), a, ATTR_NORMAL);                    // AF clear
        map_page(root0, page(9), a, ATTR_NORMAL | AF | AP_RO | DBM);  // clean, writable once dirty
        map_page(root0, page(10), a, ATTR_NORMAL | AF | AP_RO);      // read-only, not DBM
        map_page(root0, page(11), a, ATTR_NORMAL | AP_RO | DBM);     // AF clear, clean
        for (int hd = 0; hd < 2; hd++) {
            __asm__ volatile("msr tcr_el1, %0" : : "r"(tcr | (1ull << 39) | ((uint64_t)hd << 40)));
            tlbi_all();
            (void)read64(page(8) + 0x30);
            report(hd ? "HA HD: read, AF clear" : "HA: read, AF clear", page(8) + 0x30);
            write64(page(9) + 0x38, 5);
            report(hd ? "HA HD: write, DBM clean" : "HA: write, DBM clean", page(9) + 0x38);
            write64(page(10) + 0x38, 5);
            report(hd ? "HA HD: write, read-only" : "HA: write, read-only", page(10) + 0x38);
            puts_uart(gname);
            puts_uart(" PAR of a clean DBM page, AT S1E1W: ");
            put_hex(at("w", page(11)));
            puts_uart("\n");
            (void)read64(page(11) + 0x40);
            report("read, AF clear and DBM clean", page(11) + 0x40);
            uint64_t after_read = *d11;
            write64(page(11) + 0x48, 6);
            report("then write", page(11) + 0x48);
            puts_uart(gname);
            puts_uart(" descriptors: ");
            put_hex(*d8 & 0xfff0000000000fffull);
            puts_uart(" ");
            put_hex(*d9 & 0xfff0000000000fffull);
            puts_uart(" ");
            put_hex(*d10 & 0xfff0000000000fffull);
            puts_uart(" ");
            put_hex(after_read & 0xfff0000000000fffull);
            puts_uart(" ");
            put_hex(*d11 & 0xfff0000000000fffull);
            puts_uart("\n");
            map_page(root0, page(8), a, ATTR_NORMAL);
            map_page(root0, page(9), a, ATTR_NORMAL | AF | AP_RO | DBM);
            map_page(root0, page(11), a, ATTR_NORMAL | AP_RO | DBM);
        }
        __asm__ volatile("msr tcr_el1, %0" : : "r"(tcr));
        tlbi_all();
    }

    // Alignment: exclusives and acquire/release always, plain accesses
    // with SCTLR_EL1.A.
    uint64_t v;
    __asm__ volatile("ldxr %0, [%1]" : "=r"(v) : "r"(page(0) + 4) : "memory");
    report("unaligned LDXR", page(0) + 4);
    __asm__ volatile("ldar %0, [%1]" : "=r"(v) : "r"(page(0) + 2) : "memory");
    report("unaligned LDAR", page(0) + 2);
    __asm__ volatile("stlr %0, [%1]" : : "r"(v), "r"(page(0) + 1) : "memory");
    report("unaligned STLR", page(0) + 1);
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr | 1 | (1 << 2) | (1 << 12) | 2));
    (void)ldr64(page(0) + 4);
    report("SCTLR.A unaligned load", page(0) + 4);
    (void)ldr64(page(0) + 8);
    report("SCTLR.A aligned load", page(0) + 8);
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr));
    tlbi_all();
}

int main(void) {
    install_vectors();
    uint64_t mmfr0;
    __asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
    run_granule(12);
    if (((mmfr0 >> 20) & 0xf) != 0)
        run_granule(14);
    else
        puts_uart("16K granule not implemented\n");
    run_granule(16);
    puts_uart("mmu done\n");
    return 0;
}
