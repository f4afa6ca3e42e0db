// The LSE atomics (where ID_AA64ISAR0_EL1.Atomic says so): each
// operation's result on known values, then 4 CPUs racing LDADD, CAS, CASP
// and a SWP spinlock around plain increments, next to LDXR/STXR; every
// total must be exact. Run with -smp 4.
#include "lib.h"

#define NCPUS 4
#define ITERS 5000

extern void secondary_entry(void);
static volatile uint64_t c_excl, c_ldadd, c_cas, c_locked, finished;
static volatile uint64_t c_pair[2] __attribute__((aligned(16)));
static volatile uint32_t lock;
static int lse;

// Encoded by hand: the assembler is not told about Armv8.1.
#define LDADDAL_X(rs, rt, rn) (0xf8e00000u | ((rs) << 16) | ((rn) << 5) | (rt))

static uint64_t ldadd(volatile uint64_t* p, uint64_t v) {
    register uint64_t x1 __asm__("x1") = v;
    register uint64_t x2 __asm__("x2");
    register volatile uint64_t* x3 __asm__("x3") = p;
    __asm__ volatile(".inst 0xf8e10062" : "=r"(x2) : "r"(x1), "r"(x3) : "memory");  // ldaddal x1, x2, [x3]
    return x2;
}

static uint64_t cas(volatile uint64_t* p, uint64_t expected, uint64_t desired) {
    register uint64_t x1 __asm__("x1") = expected;
    register uint64_t x2 __asm__("x2") = desired;
    register volatile uint64_t* x3 __asm__("x3") = p;
    __asm__ volatile(".inst 0xc8e1fc62" : "+r"(x1) : "r"(x2), "r"(x3) : "memory");  // casal x1, x2, [x3]
    return x1;
}

// CASP x4, x5, x6, x7, [x8]: returns the old pair in x4/x5.
static void casp(volatile uint64_t* p, uint64_t e0, uint64_t e1, uint64_t d0, uint64_t d1, uint64_t* o0,
                 uint64_t* o1) {
    register uint64_t x4 __asm__("x4") = e0;
    register uint64_t x5 __asm__("x5") = e1;
    register uint64_t x6 __asm__("x6") = d0;
    register uint64_t x7 __asm__("x7") = d1;
    register volatile uint64_t* x8 __asm__("x8") = p;
    __asm__ volatile(".inst 0x48647d06" : "+r"(x4), "+r"(x5) : "r"(x6), "r"(x7), "r"(x8) : "memory");
    *o0 = x4;
    *o1 = x5;
}

static uint32_t swpa_w(volatile uint32_t* p, uint32_t v) {
    register uint64_t x1 __asm__("x1") = v;
    register uint64_t x2 __asm__("x2");
    register volatile uint32_t* x3 __asm__("x3") = p;
    __asm__ volatile(".inst 0xb8a18062" : "=r"(x2) : "r"(x1), "r"(x3) : "memory");  // swpa w1, w2, [x3]
    return (uint32_t)x2;
}

// One LD<op> word form on `mem` with operand `v`: returns the old value,
// leaves the new one in *mem. op: the o3:opc field.
static uint64_t ldop_w(unsigned op, volatile uint32_t* mem, uint32_t v) {
    register uint64_t x1 __asm__("x1") = v;
    register uint64_t x2 __asm__("x2") = 0;
    register volatile uint32_t* x3 __asm__("x3") = mem;
#define LDOP(o) __asm__ volatile(".inst %c3" : "+r"(x2) : "r"(x1), "r"(x3), "i"(0xb8210062u | ((o) << 12)) : "memory")
    switch (op) {
    case 0: LDOP(0); break;
    case 1: LDOP(1); break;
    case 2: LDOP(2); break;
    case 3: LDOP(3); break;
    case 4: LDOP(4); break;
    case 5: LDOP(5); break;
    case 6: LDOP(6); break;
    case 7: LDOP(7); break;
    default: LDOP(8); break;
    }
    return x2;
}

static void work(void) {
    for (int i = 0; i < ITERS; i++) {
        atomic_add(&c_excl, 1);
        if (!lse) continue;
        ldadd(&c_ldadd, 1);
        uint64_t old = c_cas;
        for (;;) {
            uint64_t seen = cas(&c_cas, old, old + 1);
            if (seen == old) break;
            old = seen;
        }
        for (;;) {
            uint64_t a = c_pair[0], b = c_pair[1], o0, o1;
            casp(c_pair, a, b, a + 1, b + 2, &o0, &o1);
            if (o0 == a && o1 == b) break;
        }
        while (swpa_w(&lock, 1)) {
        }
        c_locked = c_locked + 1;
        __asm__ volatile("stlr wzr, [%0]" : : "r"(&lock) : "memory");
    }
}

void secondary_main(uint64_t cpu) {
    (void)cpu;
    work();
    atomic_add(&finished, 1);
    psci_call(0x84000002, 0, 0, 0);  // CPU_OFF
}

int main(void) {
    uint64_t isar0;
    __asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
    lse = ((isar0 >> 20) & 0xf) >= 2;
    puts_uart(lse ? "LSE atomics\n" : "no LSE atomics\n");
    if (lse) {
        static const uint32_t operands[] = {0x80000001u, 0x0000ffffu, 0x7ffffff0u};
        for (unsigned op = 0; op <= 8; op++) {
            puts_uart("op ");
            put_dec(op);
            for (unsigned k = 0; k < 3; k++) {
                volatile uint32_t mem = 0x12345678u;
                uint64_t old = ldop_w(op, &mem, operands[k]);
                puts_uart(" ");
                put_hex((old << 32) | mem);
            }
            puts_uart("\n");
        }
        volatile uint64_t v = 5;
        puts_uart("cas hit ");
        put_hex(cas(&v, 5, 9));
        puts_uart(" ");
        put_hex(v);
        puts_uart(" miss ");
        put_hex(cas(&v, 5, 11));
        puts_uart(" ");
        put_hex(v);
        puts_uart("\n");
    }
    for (uint64_t cpu = 1; cpu < NCPUS; cpu++) psci_call(0xc4000003, cpu, (uint64_t)secondary_entry, cpu);
    work();
    while (finished < NCPUS - 1) {
    }
    puts_uart("ldxr/stxr ");
    put_dec(c_excl);
    puts_uart(" ldadd ");
    put_dec(c_ldadd);
    puts_uart(" cas ");
    put_dec(c_cas);
    puts_uart(" casp ");
    put_dec(c_pair[0]);
    puts_uart("/");
    put_dec(c_pair[1]);
    puts_uart(" swp lock ");
    put_dec(c_locked);
    puts_uart("\n");
    return 0;
}
