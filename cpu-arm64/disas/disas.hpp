// A64 disassembly for people: HMP's x/i and xp/i, and -d in_asm. With
// capstone (Debian's libcapstone-dev, the library QEMU prints with) each
// line reads as QEMU's: "0x40080000:  aa0003f3  mov      x19, x0". A build
// without capstone (the static arm64 build) prints the word alone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace armvm {

// One instruction at `addr` as QEMU's disassembler prints it (no newline).
std::string disas_line(uint64_t addr, uint32_t insn);
// Host (x86-64) code as QEMU's -d out_asm prints it: a line per
// instruction, "0x7f...:  bytes (8 a line)  mnemonic operands" in AT&T
// syntax. Without capstone (or on another host): the bytes alone.
std::string disas_host(const uint8_t* code, size_t size);

}  // namespace armvm
