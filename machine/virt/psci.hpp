// The virt board's CPU power (machine/virt/psci.cpp): the PSCI firmware
// interface QEMU's virt gives a guest without EL3 (through HVC), and the
// boot state of a CPU. Internal to the board.
#pragma once
#include <cstdint>

#include "cpu-arm64/cpu.hpp"

namespace armvm::virt {

// A CPU's PSCI AFFINITY_INFO state (Board::power_).
enum Power { kOn = 0, kOff = 1, kOnPending = 2 };

// The reset state of an AArch64 CPU entering at EL1h (ARM ARM D1.9.1,
// what QEMU gives a kernel without EL2/EL3).
void boot_state(Cpu& c, uint64_t entry, uint64_t x0, unsigned index);

}  // namespace armvm::virt
