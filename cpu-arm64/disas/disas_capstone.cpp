#include <capstone/capstone.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>

#include "cpu-arm64/disas/disas.hpp"

namespace armvm {
namespace {

// Capstone, loaded the first time something is disassembled: linked in,
// its relocated tables cost every VM 3 MiB of memory, and most never log
// a disassembly. Not found: the bytes alone, as without capstone.
struct Api {
    decltype(&cs_open) open = nullptr;
    decltype(&cs_option) option = nullptr;
    decltype(&cs_close) close = nullptr;
    decltype(&cs_disasm) disasm = nullptr;
    decltype(&cs_free) free = nullptr;
    bool ok = false;
    Api() {
        void* lib = nullptr;
        for (const char* name : {"libcapstone.so.4", "libcapstone.so.5", "libcapstone.so"})
            if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
        if (!lib) return;
        open = reinterpret_cast<decltype(open)>(dlsym(lib, "cs_open"));
        option = reinterpret_cast<decltype(option)>(dlsym(lib, "cs_option"));
        close = reinterpret_cast<decltype(close)>(dlsym(lib, "cs_close"));
        disasm = reinterpret_cast<decltype(disasm)>(dlsym(lib, "cs_disasm"));
        free = reinterpret_cast<decltype(free)>(dlsym(lib, "cs_free"));
        ok = open && option && close && disasm && free;
    }
};

const Api& cs_api() {
    static const Api api;
    return api;
}

// One handle per thread (capstone's are not shared between threads), for
// one architecture; `att`: AT&T syntax (x86, as QEMU's out_asm).
struct Handle {
    csh h = 0;
    bool ok = false;
    const Api& api = cs_api();
    Handle(cs_arch arch, cs_mode mode, bool att = false) {
        ok = api.ok && api.open(arch, mode, &h) == CS_ERR_OK;
        if (ok && att) api.option(h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    }
    ~Handle() {
        if (ok) api.close(&h);
    }
};

// An instruction's address and up to 8 of its bytes, as QEMU lays out a
// host instruction (the rest on lines of their own).
void host_bytes(std::string& out, uint64_t addr, const uint8_t* b, size_t n, size_t pad_to) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%08llx: ", static_cast<unsigned long long>(addr));
    out += buf;
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, " %02x", b[i]);
        out += buf;
    }
    if (n < pad_to) out.append((pad_to - n) * 3, ' ');
}

}  // namespace

std::string disas_host(const uint8_t* code, size_t size) {
#if defined(__x86_64__)
    constexpr bool kX86Host = true;
#else
    constexpr bool kX86Host = false;  // (another host: the bytes alone)
#endif
    thread_local Handle cs(CS_ARCH_X86, CS_MODE_64, true);
    constexpr size_t kSplit = 8;
    std::string out;
    uint64_t addr = reinterpret_cast<uintptr_t>(code);
    cs_insn* insn = nullptr;
    size_t n = kX86Host && cs.ok ? cs.api.disasm(cs.h, code, size, addr, 0, &insn) : 0;
    size_t done = 0;
    for (size_t k = 0; k < n; ++k) {
        const cs_insn& i = insn[k];
        host_bytes(out, i.address, i.bytes, std::min<size_t>(i.size, kSplit), kSplit);
        char text[224];
        std::snprintf(text, sizeof text, "  %-8s %s\n", i.mnemonic, i.op_str);
        out += text;
        for (size_t at = kSplit; at < i.size; at += kSplit) {
            host_bytes(out, i.address + at, i.bytes + at, std::min<size_t>(kSplit, i.size - at), 0);
            out += "\n";
        }
        done = i.address + i.size - addr;
    }
    if (insn) cs.api.free(insn, n);
    for (; done < size; done += kSplit) {  // (what capstone could not decode: bytes)
        host_bytes(out, addr + done, code + done, std::min<size_t>(kSplit, size - done), 0);
        out += "\n";
    }
    return out;
}

std::string disas_line(uint64_t addr, uint32_t insn) {
    thread_local Handle cs(CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN);
    char head[64];
    std::snprintf(head, sizeof head, "0x%08llx:  %08x  ", static_cast<unsigned long long>(addr), insn);
    std::string line = head;
    uint8_t bytes[4] = {static_cast<uint8_t>(insn), static_cast<uint8_t>(insn >> 8), static_cast<uint8_t>(insn >> 16),
                        static_cast<uint8_t>(insn >> 24)};
    cs_insn* out = nullptr;
    if (cs.ok && cs.api.disasm(cs.h, bytes, 4, addr, 1, &out) == 1) {
        char text[192];
        std::snprintf(text, sizeof text, "%-8s %s", out->mnemonic, out->op_str);
        line += text;
        cs.api.free(out, 1);
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
