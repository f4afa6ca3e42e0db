// BTI in a Linux process (-cpu max): built with -mbranch-protection=standard
// and the BTI property (-z force-bti, no libc: Debian's static libc has no
// landing pads), so the kernel maps its code guarded (PROT_BTI). A call
// through a pointer lands on the function's BTI c; a call past it takes
// the Branch Target exception, which Linux turns into SIGILL.
static long sys_write(const char* s, unsigned long n) {
    register long x0 __asm__("x0") = 1;
    register const char* x1 __asm__("x1") = s;
    register unsigned long x2 __asm__("x2") = n;
    register long x8 __asm__("x8") = 64;  // write
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8) : "memory");
    return x0;
}

static void say(const char* s) {
    unsigned long n = 0;
    while (((volatile const char*)s)[n]) n++;  // (not a strlen call: no libc)
    sys_write(s, n);
}

__attribute__((noinline)) int target(int x) { return 3 * x + 1; }

void _start(void) {
    int (*volatile f)(int) = target;
    say(f(4) == 13 ? "call through a pointer: ok\n" : "call through a pointer: wrong\n");
    say("past the landing pad:\n");
    int (*volatile g)(int) = (int (*)(int))((char*)target + 4);
    say(g(4) == 13 ? "ran on\n" : "ran on, wrong\n");
    register long x0 __asm__("x0") = 0;
    register long x8 __asm__("x8") = 93;  // exit
    __asm__ volatile("svc #0" : : "r"(x0), "r"(x8));
    for (;;) {
    }
}
