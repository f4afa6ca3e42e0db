// A scripted gdb remote-protocol session for the nested rig, where no gdb
// runs: it drives armvm's gdbstub (a Unix socket) through what gdb does
// for break, continue, stepi, x, set var, watch and continue, against
// tests/guest/gdb_target.c started with -S -smp 2, and prints one line per
// exchange ("> packet" then "< reply"). The test runs it under -accel kvm
// and -accel tcg and compares the two transcripts.
//
// usage: gdbclient SOCKET STEP_TARGET COUNTER TABLE  (addresses in hex)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fd;
static int quiet;  // (no transcript lines)

static void die(const char* what) {
    printf("error: %s\n", what);
    exit(1);
}

static int getch(void) {
    unsigned char c;
    if (read(fd, &c, 1) != 1) die("connection closed");
    return c;
}

// Sends $payload#sum and waits for the '+'.
static void put(const char* payload) {
    char buf[1024];
    unsigned sum = 0;
    for (const char* p = payload; *p; p++) sum += (unsigned char)*p;
    int n = snprintf(buf, sizeof buf, "$%s#%02x", payload, sum & 0xff);
    if (write(fd, buf, (size_t)n) != n) die("write");
    if (!quiet) printf("> %s\n", payload);
    int c;
    while ((c = getch()) != '+')
        if (c == '-') die("packet refused");
}

// Reads one packet (acknowledging it) into buf.
static const char* get(char* buf, size_t size) {
    int c;
    while ((c = getch()) != '$') {
    }
    size_t n = 0;
    while ((c = getch()) != '#')
        if (n + 1 < size) buf[n++] = (char)c;
    buf[n] = 0;
    getch();
    getch();
    if (write(fd, "+", 1) != 1) die("write");
    if (!quiet) printf("< %s\n", buf);
    fflush(stdout);
    return buf;
}

static char reply[8192];

static const char* ask(const char* payload) {
    put(payload);
    return get(reply, sizeof reply);
}

static const char* askf(const char* fmt, unsigned long long a, unsigned long long b) {
    char p[256];
    snprintf(p, sizeof p, fmt, a, b);
    return ask(p);
}

// A register's little-endian hex as a number.
static unsigned long long le(const char* hex) {
    unsigned long long v = 0;
    for (int i = 7; i >= 0; i--) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return ~0ull;
        v = v << 8 | byte;
    }
    return v;
}

int main(int argc, char** argv) {
    if (argc != 5) die("usage: gdbclient SOCKET STEP_TARGET COUNTER TABLE");
    unsigned long long step_target = strtoull(argv[2], 0, 16), counter = strtoull(argv[3], 0, 16),
                       table = strtoull(argv[4], 0, 16);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
    for (int tries = 0;; tries++) {  // (armvm may not listen yet)
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr*)&sa, sizeof sa) == 0) break;
        close(fd);
        if (tries > 300) die("cannot connect");
        usleep(100000);
    }
    ask("qSupported:multiprocess+;swbreak+;hwbreak+");
    ask("?");
    ask("qfThreadInfo");
    printf("pc at -S: %s\n", le(ask("p20")) != ~0ull ? "read" : "unreadable");
    // break step_target; continue: CPU 0 stops there with the arguments 5, 7.
    askf("Z1,%llx,4", step_target, 0);
    ask("vCont;c");  // (the reply is the stop)
    printf("stopped at step_target: %s\n", le(ask("p20")) == step_target ? "yes" : "no");
    unsigned long long x0 = le(ask("p0"));
    unsigned long long x1 = le(ask("p1"));
    printf("x0 x1: %llu %llu\n", x0, x1);
    askf("z1,%llx,4", step_target, 0);
    // The system registers (org.qemu.gdb.arm.sys.regs): their regnums from
    // the XML, read by name. (Quiet: the lists of the two accelerators
    // differ, and KVM's reset SCTLR differs from TCG's.)
    quiet = 1;
    int has_xml = strstr(ask("qXfer:features:read:target.xml:0,ffb"), "system-registers.xml") != 0;
    static char xml[65536];
    size_t xml_len = 0;
    for (;;) {
        char p[80];
        snprintf(p, sizeof p, "qXfer:features:read:system-registers.xml:%zx,ffb", xml_len);
        const char* r = ask(p);
        if (r[0] != 'm' && r[0] != 'l') break;
        size_t n = strlen(r + 1);
        if (xml_len + n >= sizeof xml) break;
        memcpy(xml + xml_len, r + 1, n + 1);
        xml_len += n;
        if (r[0] == 'l') break;
    }
    int readable = 0;
    unsigned long long sctlr = ~0ull;
    const char* names[] = {"SCTLR", "TCR_EL1", "VBAR", "MDSCR_EL1"};
    for (int i = 0; i < 4; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "<reg name=\"%s\" bitsize=\"64\" regnum=\"", names[i]);
        const char* at = strstr(xml, pat);
        if (!at) continue;
        char p[16];
        snprintf(p, sizeof p, "p%x", atoi(at + strlen(pat)));
        const char* r = ask(p);
        if (strlen(r) == 16) {
            readable++;
            if (i == 0) sctlr = le(r);
        }
    }
    quiet = 0;
    printf("system registers: in target.xml %s, %d of 4 read by name, SCTLR.M %llu\n", has_xml ? "yes" : "no", readable,
           sctlr & 1);
    // stepi on thread 1: the next instruction.
    ask("vCont;s:p1.1;c");
    printf("after stepi: pc - step_target = %lld\n", (long long)(le(ask("p20")) - step_target));
    // Memory by virtual address; a write and a read back.
    askf("m%llx,20", table, 0);
    askf("M%llx,8:efbeadde00000000", table + 24, 0);
    askf("m%llx,8", table + 24, 0);
    // A register written and read back (x9, then as it was).
    char old[40];
    snprintf(old, sizeof old, "%.16s", ask("p9"));
    ask("P9=8877665544332211");
    ask("p9");
    char restore[64];
    snprintf(restore, sizeof restore, "P9=%s", old);
    ask(restore);
    // watch counter; continue: main's store of the result stops CPU 0.
    askf("Z2,%llx,8", counter, 0);
    ask("vCont;c");  // (the reply is the stop)
    askf("z2,%llx,8", counter, 0);
    // Hardware watchpoints: under KVM refused past what the host lends.
    quiet = 1;
    int set = 0;
    for (int i = 0; i < 20; i++) {
        char p[64];
        snprintf(p, sizeof p, "Z2,%llx,8", table + 8ull * i);
        put(p);
        if (strcmp(get(reply, sizeof reply), "OK") == 0) set++;
        else break;
    }
    for (int i = 0; i < set; i++) askf("z2,%llx,8", table + 8ull * i, 0);
    quiet = 0;
    printf("watchpoints accepted: %d\n", set);
    ask("vCont;c");  // to the end: the guest powers off (W00)
    printf("done\n");
    return 0;
}
