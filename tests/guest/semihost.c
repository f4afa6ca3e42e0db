// Semihosting (Arm semihosting 2.0, HLT #0xF000 on AArch64): console
// output, the command line, the heap, host files (open, write, seek,
// read, length, rename, remove, errors), ":tt", ":semihosting-features",
// the clocks and an exit status. Everything it prints goes through
// semihosting; run with -semihosting (and -append for the command line).
#include "lib.h"

static uint64_t semi(uint64_t op, uint64_t arg) {
    register uint64_t x0 __asm__("x0") = op;
    register uint64_t x1 __asm__("x1") = arg;
    __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
    return x0;
}

enum { OPEN = 1, CLOSE, WRITEC, WRITE0, WRITE, READ, READC, ISERROR, ISTTY, SEEK, FLEN = 0xc, TMPNAM, REMOVE,
       RENAME, CLOCK, TIME, SYSTEM, ERRNO, GET_CMDLINE = 0x15, HEAPINFO, EXIT = 0x18, EXIT_EXTENDED = 0x20,
       ELAPSED = 0x30, TICKFREQ };

static unsigned slen(const char* s) {
    unsigned n = 0;
    while (s[n]) n++;
    return n;
}

static void say(const char* s) { semi(WRITE0, (uint64_t)s); }

static void say_num(const char* what, uint64_t v) {
    char buf[40];
    int i = 39;
    buf[i] = 0;
    buf[--i] = '\n';
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    say(what);
    say(&buf[i]);
}

static uint64_t open_file(const char* name, uint64_t mode) {
    uint64_t a[3] = {(uint64_t)name, mode, slen(name)};
    return semi(OPEN, (uint64_t)a);
}

static uint64_t call3(uint64_t op, uint64_t x, uint64_t y, uint64_t z) {
    uint64_t a[3] = {x, y, z};
    return semi(op, (uint64_t)a);
}

static uint64_t call1(uint64_t op, uint64_t x) {
    uint64_t a[1] = {x};
    return semi(op, (uint64_t)a);
}

int main(void) {
    say("hello from semihosting\n");
    semi(WRITEC, (uint64_t) "X");
    semi(WRITEC, (uint64_t) "\n");

    char cmd[256];
    uint64_t cl[2] = {(uint64_t)cmd, sizeof cmd};
    say_num("GET_CMDLINE ", semi(GET_CMDLINE, (uint64_t)cl));
    say("cmdline: [");
    say(cmd);
    say("]\n");
    say_num("cmdline length ", cl[1]);

    uint64_t heap[4];
    uint64_t hp = (uint64_t)heap;
    semi(HEAPINFO, (uint64_t)&hp);
    say_num("heap base ", heap[0]);
    say_num("heap limit ", heap[1]);
    say_num("stack base ", heap[2]);
    say_num("stack limit ", heap[3]);

    const char* text = "data 123\n";
    uint64_t h = open_file("semi_test.txt", 4);  // "w"
    say_num("open w ok ", h != (uint64_t)-1);
    say_num("WRITE left ", call3(WRITE, h, (uint64_t)text, slen(text)));
    say_num("ISTTY file ", call1(ISTTY, h));
    say_num("CLOSE ", call1(CLOSE, h));
    h = open_file("semi_test.txt", 1);  // "rb"
    say_num("FLEN ", call1(FLEN, h));
    say_num("SEEK ", call3(SEEK, h, 5, 0));
    char got[16] = {0};
    say_num("READ left ", call3(READ, h, (uint64_t)got, 4));
    say("read: ");
    say(got);
    say_num("READ at EOF left ", call3(READ, h, (uint64_t)got, 4));
    say_num("CLOSE ", call1(CLOSE, h));
    say_num("CLOSE again ", call1(CLOSE, h));
    say_num("ISERROR(-1) ", call1(ISERROR, (uint64_t)-1));
    say_num("ISERROR(0) ", call1(ISERROR, 0));

    say_num("open missing ", open_file("no_such_file.txt", 0));
    say_num("ERRNO ", semi(ERRNO, 0));

    uint64_t ren[4] = {(uint64_t) "semi_test.txt", 13, (uint64_t) "semi_test2.txt", 14};
    say_num("RENAME ", semi(RENAME, (uint64_t)ren));
    uint64_t rm[2] = {(uint64_t) "semi_test2.txt", 14};
    say_num("REMOVE ", semi(REMOVE, (uint64_t)rm));
    say_num("REMOVE again is error ", semi(REMOVE, (uint64_t)rm) != 0);

    uint64_t tt = open_file(":tt", 4);
    say_num(":tt ok ", tt != (uint64_t)-1);
    const char* via = "written to :tt\n";
    say_num("WRITE :tt left ", call3(WRITE, tt, (uint64_t)via, slen(via)));
    say_num("ISTTY :tt ", call1(ISTTY, tt));

    uint64_t feat = open_file(":semihosting-features", 0);
    say_num("features FLEN ", call1(FLEN, feat));
    char f[8] = {0};
    say_num("features READ left ", call3(READ, feat, (uint64_t)f, 5));
    say_num("features magic ok ", f[0] == 'S' && f[1] == 'H' && f[2] == 'F' && f[3] == 'B');
    say_num("features byte ", (uint8_t)f[4]);
    call1(CLOSE, feat);

    say_num("CLOCK sane ", semi(CLOCK, 0) < 100000);
    say_num("TIME sane ", semi(TIME, 0) > 1700000000);
    uint64_t ticks = 0;
    say_num("ELAPSED ", semi(ELAPSED, (uint64_t)&ticks));
    say_num("TICKFREQ nonzero ", semi(TICKFREQ, 0) != 0);
    char tmp[64] = {0};
    say_num("TMPNAM ", call3(TMPNAM, (uint64_t)tmp, 42, sizeof tmp));
    say_num("TMPNAM named ", tmp[0] != 0);

    uint64_t ex[2] = {0x20026, 3};  // ADP_Stopped_ApplicationExit, status 3
    semi(EXIT_EXTENDED, (uint64_t)ex);
    say("not reached\n");
    return 0;
}
