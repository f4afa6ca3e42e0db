// The self-hosted debug architecture (ARM ARM D2) as a guest kernel uses
// it: software step of EL0 code (active-pending after ERET, each step's
// ELR and ISS.ISV/EX, a stepped SVC), hardware breakpoints at EL1 and EL0
// (EC 0x31/0x30, ELR the instruction, not executed), and where they must
// stay silent: KDE clear, PSTATE.D set, the OS lock, a breakpoint for the
// other EL, MDE clear.
#include "lib.h"

static volatile uint64_t count, last_esr, last_elr, last_far;
static volatile uint64_t steps[32], step_iss[32], nsteps;
static volatile uint64_t user_base;
static volatile int disarm_bp;  // a breakpoint exception clears DBGBCR0_EL1
static volatile int disarm_wp;  // a watchpoint exception clears DBGWCR0_EL1

void sync_handler(uint64_t kind, uint64_t* frame) {
    (void)kind;
    (void)frame;
    uint64_t esr = read_esr();
    if (is_el0_exit(esr)) {
        el0_return();
        return;
    }
    unsigned ec = esr >> 26;
    if (ec == 0x32 || ec == 0x33) {  // software step: note it, step the next one
        if (nsteps < 32) {
            steps[nsteps] = read_elr() - user_base;
            step_iss[nsteps] = esr & 0x1ffffff;
        }
        nsteps++;
        uint64_t spsr;
        __asm__ volatile("mrs %0, spsr_el1" : "=r"(spsr));
        __asm__ volatile("msr spsr_el1, %0" : : "r"(spsr | (1ull << 21)));
        return;
    }
    if (ec == 0x15) {  // an SVC being stepped: ELR is already the next one
        steps[nsteps < 32 ? nsteps : 31] = 0xcafe;
        nsteps++;
        return;
    }
    count++;
    last_esr = esr;
    last_elr = read_elr();
    last_far = read_far();
    if (disarm_wp) __asm__ volatile("msr dbgwcr0_el1, xzr; isb");
    else if (disarm_bp) __asm__ volatile("msr dbgbcr0_el1, xzr; isb");
    else write_elr(last_elr + 4);
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
    puts_uart(" FAR ");
    put_hex(last_far);
    puts_uart(" count ");
    put_dec(count);
    puts_uart("\n");
    count = 0;
}

static void set_mdscr(uint64_t v) { __asm__ volatile("msr mdscr_el1, %0; isb" : : "r"(v)); }
static void set_bp(uint64_t addr, uint64_t pmc) {
    __asm__ volatile("msr dbgbvr0_el1, %0; msr dbgbcr0_el1, %1; isb" : : "r"(addr), "r"((0xfull << 5) | (pmc << 1) | 1));
}

// EL0 code to step: x3 points at a word. Ends with SVC #0xfff.
void user_steps(void);
__asm__(".global user_steps\n"
        "user_steps:\n"
        "  mov x0, #1\n"
        "  add x0, x0, #2\n"
        "  b 1f\n"
        "  nop\n"
        "1: ldxr x1, [x3]\n"
        "  stxr w4, x1, [x3]\n"
        "  svc #0x12\n"
        "  cbz x0, 2f\n"
        "2: nop\n"
        "  svc #0xfff\n");

// EL0 code with a breakpoint target.
void user_bp(void);
extern char user_bp_target[];
__asm__(".global user_bp\n"
        "user_bp:\n"
        "  nop\n"
        ".global user_bp_target\n"
        "user_bp_target:\n"
        "  mov x0, #7\n"
        "  svc #0xfff\n");

static uint8_t user_stack[512] __attribute__((aligned(16)));
static uint64_t word __attribute__((aligned(16)));
static volatile uint8_t area[256] __attribute__((aligned(256)));

// Watchpoint 0: `bas` bytes at `addr` (or 2^mask bytes), `lsc` 1 load, 2 store, 3 both.
static void set_wp(uint64_t addr, uint64_t bas, uint64_t lsc, uint64_t pac, uint64_t mask) {
    __asm__ volatile("msr dbgwvr0_el1, %0; msr dbgwcr0_el1, %1; isb"
                     :
                     : "r"(addr), "r"((mask << 24) | (bas << 5) | (lsc << 3) | (pac << 1) | 1));
}

static void watch(const char* what, uint64_t wp_addr, uint64_t bas, uint64_t lsc, uint64_t mask, unsigned off,
                  unsigned size, int store) {
    set_wp(wp_addr, bas, lsc, 3, mask);
    uint64_t at, v = 0, p = (uint64_t)area + off;
    if (store) {
        if (size == 1) __asm__ volatile("adr %0, 1f\n1: strb %w1, [%2]" : "=&r"(at) : "r"(v), "r"(p) : "memory");
        else if (size == 4) __asm__ volatile("adr %0, 1f\n1: str %w1, [%2]" : "=&r"(at) : "r"(v), "r"(p) : "memory");
        else __asm__ volatile("adr %0, 1f\n1: str %1, [%2]" : "=&r"(at) : "r"(v), "r"(p) : "memory");
    } else {
        if (size == 1) __asm__ volatile("adr %0, 1f\n1: ldrb %w1, [%2]" : "=&r"(at), "=&r"(v) : "r"(p) : "memory");
        else if (size == 4) __asm__ volatile("adr %0, 1f\n1: ldr %w1, [%2]" : "=&r"(at), "=&r"(v) : "r"(p) : "memory");
        else __asm__ volatile("adr %0, 1f\n1: ldr %1, [%2]" : "=&r"(at), "=&r"(v) : "r"(p) : "memory");
    }
    __asm__ volatile("msr dbgwcr0_el1, xzr; isb");
    if (count) last_far -= (uint64_t)area;  // (FAR relative to the area)
    report(what, at);
}

int main(void) {
    install_vectors();
    uint64_t dfr0, oslsr;
    __asm__ volatile("mrs %0, id_aa64dfr0_el1; mrs %1, oslsr_el1" : "=r"(dfr0), "=r"(oslsr));
    puts_uart("breakpoints ");
    put_dec(((dfr0 >> 12) & 0xf) + 1);
    puts_uart(" watchpoints ");
    put_dec(((dfr0 >> 20) & 0xf) + 1);
    puts_uart(" OSLSR ");
    put_hex(oslsr);
    puts_uart("\n");

    // The OS lock is set at reset: nothing fires until it is cleared.
    set_mdscr(1);
    nsteps = 0;
    user_base = (uint64_t)user_steps;
    el0_call(user_steps, (uint64_t)user_stack + sizeof user_stack, 0, (uint64_t)&word);
    puts_uart("steps with the OS lock set: ");
    put_dec(nsteps);
    puts_uart("\n");
    __asm__ volatile("msr oslar_el1, xzr; isb");

    // Software step of EL0 code (KDE clear: EL1 is not stepped).
    nsteps = 0;
    el0_call(user_steps, (uint64_t)user_stack + sizeof user_stack, 0, (uint64_t)&word);
    set_mdscr(0);
    puts_uart("steps:");
    for (uint64_t i = 0; i < nsteps && i < 32; i++) {
        puts_uart(" ");
        put_hex(steps[i]);
        puts_uart("/");
        put_hex(step_iss[i]);
    }
    puts_uart("\n");

    // A breakpoint at EL1 (MDE, KDE, PSTATE.D clear).
    uint64_t at;
    disarm_bp = 1;
    __asm__ volatile("msr daifclr, #8");
    set_mdscr((1ull << 15) | (1ull << 13));
    __asm__ volatile("adr %0, 1f\n" : "=r"(at));
    set_bp(at, 3);
    __asm__ volatile("b 1f\n .balign 64\n 1: nop\n nop" ::: "memory");
    report("breakpoint at EL1", at);
    // Later in a block that starts before it.
    __asm__ volatile("adr %0, 1f\n" : "=r"(at));
    set_bp(at, 3);
    __asm__ volatile("mov x9, #1\n add x9, x9, #1\n 1: add x9, x9, #1" ::: "x9", "memory");
    report("breakpoint inside a block", at);
    // EL0-only breakpoint on EL1 code.
    __asm__ volatile("adr %0, 1f\n" : "=r"(at));
    set_bp(at, 2);
    __asm__ volatile("nop\n 1: nop" ::: "memory");
    report("EL0 breakpoint on EL1 code", at);
    __asm__ volatile("msr dbgbcr0_el1, xzr; isb");
    // PSTATE.D set: masked.
    __asm__ volatile("msr daifset, #8");
    __asm__ volatile("adr %0, 1f\n" : "=r"(at));
    set_bp(at, 3);
    __asm__ volatile("nop\n 1: nop" ::: "memory");
    report("breakpoint with PSTATE.D set", at);
    __asm__ volatile("msr daifclr, #8");
    // KDE clear: not at EL1.
    set_mdscr(1ull << 15);
    __asm__ volatile("adr %0, 1f\n" : "=r"(at));
    set_bp(at, 3);
    __asm__ volatile("nop\n 1: nop" ::: "memory");
    report("breakpoint with KDE clear", at);

    // A breakpoint on EL0 code, from EL0 (KDE does not matter).
    set_bp((uint64_t)user_bp_target, 2);
    el0_call(user_bp, (uint64_t)user_stack + sizeof user_stack, 0, 0);
    report("breakpoint at EL0", (uint64_t)user_bp_target);
    // MDE clear: nothing.
    set_mdscr(0);
    set_bp((uint64_t)user_bp_target, 2);
    el0_call(user_bp, (uint64_t)user_stack + sizeof user_stack, 0, 0);
    report("breakpoint with MDE clear", (uint64_t)user_bp_target);
    // The OS lock again.
    set_mdscr(1ull << 15);
    __asm__ volatile("msr oslar_el1, %0; isb" : : "r"(1ull));
    el0_call(user_bp, (uint64_t)user_stack + sizeof user_stack, 0, 0);
    report("breakpoint with the OS lock set", (uint64_t)user_bp_target);
    __asm__ volatile("msr oslar_el1, xzr; isb");
    __asm__ volatile("msr dbgbcr0_el1, xzr; isb");

    // Watchpoints at EL1 (MDE, KDE, D clear).
    disarm_bp = 0;
    disarm_wp = 1;
    __asm__ volatile("msr daifclr, #8");
    set_mdscr((1ull << 15) | (1ull << 13));
    uint64_t a = (uint64_t)area;
    watch("store watched doubleword", a + 8, 0xff, 2, 0, 8, 8, 1);
    watch("load, store-only watchpoint", a + 8, 0xff, 2, 0, 8, 8, 0);
    watch("load watched", a + 8, 0xff, 1, 0, 12, 4, 0);
    watch("byte 3 watched, byte 0 stored", a + 16, 0x08, 3, 0, 16, 1, 1);
    watch("byte 3 watched, word stored", a + 16, 0x08, 3, 0, 16, 4, 1);
    watch("word-aligned WVR, byte 5", a + 20, 0x02, 3, 0, 21, 1, 1);
    watch("64-byte mask, store at +40", a + 64, 0xff, 3, 6, 104, 8, 1);
    watch("64-byte mask, store below", a + 64, 0xff, 3, 6, 56, 8, 1);
    watch("doubleword straddling the watch", a + 32, 0x01, 3, 0, 28, 8, 0);
    set_mdscr(1ull << 15);
    watch("KDE clear", a + 8, 0xff, 3, 0, 8, 8, 1);
    set_mdscr(0);
    __asm__ volatile("msr daifset, #8");
    puts_uart("done\n");
    return 0;
}
