#include <cstdio>

#include "cpu-arm64/disas/disas.hpp"

namespace armvm {

// (built without capstone: the address and the word)
std::string disas_line(uint64_t addr, uint32_t insn) {
    char line[64];
    std::snprintf(line, sizeof line, "0x%08llx:  %08x  .word    0x%08x", static_cast<unsigned long long>(addr), insn,
                  insn);
    return line;
}

std::string disas_host(const uint8_t* code, size_t size) {
    std::string out;
    char line[64];
    for (size_t i = 0; i < size; i += 8) {
        std::snprintf(line, sizeof line, "0x%08llx: ", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(code + i)));
        out += line;
        for (size_t j = i; j < size && j < i + 8; ++j) {
            std::snprintf(line, sizeof line, " %02x", code[j]);
            out += line;
        }
        out += "\n";
    }
    return out;
}

}  // namespace armvm
