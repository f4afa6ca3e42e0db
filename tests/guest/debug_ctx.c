// Linked and context breakpoints (ARM ARM D2.9, D2.10): an address
// breakpoint or a watchpoint linked (LBN) to a context-aware breakpoint
// that holds a CONTEXTIDR_EL1 value fires only while CONTEXTIDR_EL1 holds
// it; an unlinked CONTEXTIDR match on a context-aware breakpoint fires on
// the first instruction run with that context; links to a breakpoint that
// is not context-aware, or to one of another type, never fire.
#include "lib.h"

static volatile uint64_t count, last_esr, last_elr;
static volatile int disarm;  // 1: clear DBGBCR0, 2: DBGWCR0, 3: DBGBCR5 on the exception
static volatile uint64_t word;

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)frame;
    uint64_t esr = read_esr();
    unsigned ec = esr >> 26;
    if (ec != 0x31 && ec != 0x35) unexpected_exception(kind);
    count++;
    last_esr = esr;
    last_elr = read_elr();
    if (disarm == 1) __asm__ volatile("msr dbgbcr0_el1, xzr; isb");
    if (disarm == 2) __asm__ volatile("msr dbgwcr0_el1, xzr; isb");
    if (disarm == 3) __asm__ volatile("msr dbgbcr5_el1, xzr; isb");
}

static void report(const char* what, uint64_t at) {
    puts_uart(what);
    if (!count) {
        puts_uart(": no exception\n");
        return;
    }
    puts_uart(": EC ");
    put_hex(last_esr >> 26);
    puts_uart(" ISS ");
    put_hex(last_esr & 0x1ffffff);
    puts_uart(" ELR-at ");
    put_hex(last_elr - at);
    puts_uart(" count ");
    put_dec(count);
    puts_uart("\n");
    count = 0;
}

#define BCR(bt, lbn) (((uint64_t)(bt) << 20) | ((uint64_t)(lbn) << 16) | (0xfull << 5) | (3ull << 1) | 1)
#define WCR(lbn, linked) (((uint64_t)(linked) << 20) | ((uint64_t)(lbn) << 16) | (0xffull << 5) | (3ull << 3) | (3ull << 1) | 1)

static void set_context(uint64_t v) { __asm__ volatile("msr contextidr_el1, %0; isb" : : "r"(v)); }
static void ctx_bp4(uint64_t value, uint64_t bt) {
    __asm__ volatile("msr dbgbvr4_el1, %0; msr dbgbcr4_el1, %1; isb" : : "r"(value), "r"(BCR(bt, 0)));
}

// Breakpoint 0 linked to breakpoint `lbn` on the instruction at label 1.
static void linked_bp(const char* what, uint64_t lbn) {
    uint64_t at;
    disarm = 1;
    __asm__ volatile("adr %0, 1f\n" : "=r"(at));
    __asm__ volatile("msr dbgbvr0_el1, %0; msr dbgbcr0_el1, %1; isb" : : "r"(at), "r"(BCR(1, lbn)));
    __asm__ volatile("b 1f\n .balign 64\n 1: nop\n nop" ::: "memory");
    __asm__ volatile("msr dbgbcr0_el1, xzr; isb");
    report(what, at);
}

// Watchpoint 0 on `word`, linked (or not) to breakpoint 4; a store to it.
static void linked_wp(const char* what, int linked) {
    uint64_t at;
    disarm = 2;
    __asm__ volatile("msr dbgwvr0_el1, %0; msr dbgwcr0_el1, %1; isb" : : "r"(&word), "r"(WCR(4, linked)));
    __asm__ volatile("adr %0, 1f\n1: str xzr, [%1]" : "=&r"(at) : "r"(&word) : "memory");
    __asm__ volatile("msr dbgwcr0_el1, xzr; isb");
    report(what, at);
}

int main(void) {
    install_vectors();
    uint64_t dfr0;
    __asm__ volatile("mrs %0, id_aa64dfr0_el1" : "=r"(dfr0));
    puts_uart("breakpoints ");
    put_dec(((dfr0 >> 12) & 0xf) + 1);
    puts_uart(", context-aware ");
    put_dec(((dfr0 >> 28) & 0xf) + 1);
    puts_uart("\n");
    __asm__ volatile("msr oslar_el1, xzr; isb");
    __asm__ volatile("msr daifclr, #8");
    __asm__ volatile("msr mdscr_el1, %0; isb" : : "r"((1ull << 15) | (1ull << 13)));  // MDE, KDE

    ctx_bp4(0x42, 3);  // linked CONTEXTIDR match: 0x42
    set_context(0x42);
    linked_bp("linked breakpoint, context matches", 4);
    set_context(0x43);
    linked_bp("linked breakpoint, context differs", 4);
    set_context(0x42);
    linked_bp("linked to a breakpoint that is not context-aware", 1);
    // An unlinked context type (for EL0 only, or it would fire here
    // itself): links to it never fire.
    __asm__ volatile("msr dbgbcr4_el1, %0; isb" : : "r"((BCR(2, 0) & ~6ull) | (2ull << 1)));
    linked_bp("linked to an unlinked context breakpoint", 4);
    ctx_bp4(0x42, 3);
    __asm__ volatile("msr dbgbcr4_el1, %0; isb" : : "r"(BCR(3, 0) & ~1ull));  // disabled
    linked_bp("linked to a disabled context breakpoint", 4);

    ctx_bp4(0x42, 3);
    set_context(0x42);
    linked_wp("linked watchpoint, context matches", 1);
    set_context(0x7);
    linked_wp("linked watchpoint, context differs", 1);
    linked_wp("unlinked watchpoint, context differs", 0);
    __asm__ volatile("msr dbgbcr4_el1, xzr; isb");

    // Breakpoint 5 (context-aware): an unlinked CONTEXTIDR match on 0x99,
    // armed while the context is another; writing 0x99 fires it at the
    // first instruction that runs with it (the ISB at the latest).
    uint64_t at;
    disarm = 3;
    set_context(0x98);
    __asm__ volatile("msr dbgbvr5_el1, %0; msr dbgbcr5_el1, %1; isb" : : "r"(0x99ull), "r"(BCR(2, 0)));
    __asm__ volatile("adr %0, 1f\n msr contextidr_el1, %1\n 1: isb\n nop" : "=&r"(at) : "r"(0x99ull) : "memory");
    puts_uart(count && last_elr >= at && last_elr <= at + 4 ? "unlinked context breakpoint: taken right after the write, count "
                                                           : "unlinked context breakpoint: not taken, count ");
    put_dec(count);
    puts_uart("\n");
    count = 0;
    __asm__ volatile("msr dbgbcr5_el1, xzr; isb");
    __asm__ volatile("msr mdscr_el1, xzr; isb");
    puts_uart("done\n");
    return 0;
}
