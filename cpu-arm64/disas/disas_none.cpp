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

}  // namespace armvm
