#include <capstone/capstone.h>

#include <cstdio>

#include "cpu-arm64/disas/disas.hpp"

namespace armvm {
namespace {

// One handle per thread (capstone's are not shared between threads).
struct Handle {
    csh h = 0;
    bool ok = false;
    Handle() { ok = cs_open(CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, &h) == CS_ERR_OK; }
    ~Handle() {
        if (ok) cs_close(&h);
    }
};

}  // namespace

std::string disas_line(uint64_t addr, uint32_t insn) {
    thread_local Handle cs;
    char head[64];
    std::snprintf(head, sizeof head, "0x%08llx:  %08x  ", static_cast<unsigned long long>(addr), insn);
    std::string line = head;
    uint8_t bytes[4] = {static_cast<uint8_t>(insn), static_cast<uint8_t>(insn >> 8), static_cast<uint8_t>(insn >> 16),
                        static_cast<uint8_t>(insn >> 24)};
    cs_insn* out = nullptr;
    if (cs.ok && cs_disasm(cs.h, bytes, 4, addr, 1, &out) == 1) {
        char text[192];
        std::snprintf(text, sizeof text, "%-8s %s", out->mnemonic, out->op_str);
        line += text;
        cs_free(out, 1);
    } else {
        // (capstone knows no such instruction: its bytes, as QEMU prints them)
        char text[64];
        std::snprintf(text, sizeof text, "%-8s 0x%02x, 0x%02x, 0x%02x, 0x%02x", ".byte", bytes[0], bytes[1], bytes[2],
                      bytes[3]);
        line += text;
    }
    return line;
}

}  // namespace armvm
