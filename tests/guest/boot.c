// What the boot loader hands over: x0 (the DTB for a raw binary, which is
// booted like Linux), the DTB's /chosen bootargs and initrd range, and the
// initrd's first bytes. Run as an ELF and as a raw binary, with -append
// and -initrd.
#include "lib.h"

static uint32_t be32(const uint8_t* p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int streq(const char* a, const char* b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

// The value of property `name` of /chosen, or 0.
static const uint8_t* chosen_prop(const uint8_t* fdt, const char* name, uint32_t* len) {
    const uint8_t* st = fdt + be32(fdt + 8);
    const char* strings = (const char*)fdt + be32(fdt + 12);
    int depth = 0, in_chosen = 0;
    for (const uint8_t* p = st;;) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == 1) {  // FDT_BEGIN_NODE
            const char* n = (const char*)p;
            depth++;
            if (depth == 2 && streq(n, "chosen")) in_chosen = 1;
            while (*p) p++;
            p = (const uint8_t*)(((uint64_t)p + 4) & ~3ull);
        } else if (tok == 2) {  // FDT_END_NODE
            if (depth == 2) in_chosen = 0;
            depth--;
        } else if (tok == 3) {  // FDT_PROP
            uint32_t l = be32(p), off = be32(p + 4);
            if (in_chosen && streq(strings + off, name)) {
                *len = l;
                return p + 8;
            }
            p += 8 + ((l + 3) & ~3u);
        } else if (tok == 4) {  // FDT_NOP
        } else {
            return 0;
        }
    }
}

static uint64_t cells(const uint8_t* p, uint32_t len) {
    return len == 8 ? ((uint64_t)be32(p) << 32) | be32(p + 4) : be32(p);
}

int main(uint64_t x0) {
    puts_uart("x0 ");
    put_hex(x0);
    puts_uart("\n");
    const uint8_t* fdt = (const uint8_t*)(x0 ? x0 : 0x40000000);
    if (!x0 || be32(fdt) != 0xd00dfeed) {
        puts_uart("no DTB handed over\n");
        return 0;
    }
    uint32_t len = 0;
    const uint8_t* args = chosen_prop(fdt, "bootargs", &len);
    puts_uart("bootargs: ");
    puts_uart(args ? (const char*)args : "(none)");
    puts_uart("\n");
    uint32_t slen = 0, elen = 0;
    const uint8_t* s = chosen_prop(fdt, "linux,initrd-start", &slen);
    const uint8_t* e = chosen_prop(fdt, "linux,initrd-end", &elen);
    if (s && e) {
        uint64_t start = cells(s, slen), end = cells(e, elen);
        puts_uart("initrd ");
        put_hex(start);
        puts_uart("..");
        put_hex(end);
        puts_uart(": ");
        for (uint64_t a = start; a < end && a < start + 32; a++) putc_uart(*(const char*)a);
        puts_uart("\n");
    } else {
        puts_uart("no initrd\n");
    }
    return 0;
}
