// One executor per a64.inc entry: exec_<NAME>(Cpu&, insn).
#pragma once
#include <cstdint>

namespace armvm {
class Cpu;
}

namespace armvm::a64 {
#define INST(name, pattern) void exec_##name(Cpu& c, uint32_t insn);
#include "cpu-arm64/decoder/a64.inc"
#undef INST
void exec_Unallocated(Cpu& c, uint32_t insn);
}  // namespace armvm::a64
