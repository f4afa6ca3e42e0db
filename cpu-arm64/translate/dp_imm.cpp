// Data processing, immediate (ARM ARM C4.1.4): PC-relative addressing,
// add/subtract, logical, move wide, bitfield, extract: the semantics of
// cpu-arm64/ir/sem.hpp (which the JIT compiles too), run on the CPU state.
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"

namespace armvm::a64 {

void exec_ADR(Cpu& c, uint32_t i) { run_sem<sem::adr<InterpBuilder>>(c, i); }
void exec_ADRP(Cpu& c, uint32_t i) { run_sem<sem::adr<InterpBuilder>>(c, i); }
void exec_ADD_SUB_imm(Cpu& c, uint32_t i) { run_sem<sem::add_sub_imm<InterpBuilder>>(c, i); }
void exec_LOGICAL_imm(Cpu& c, uint32_t i) { run_sem<sem::logical_imm<InterpBuilder>>(c, i); }
void exec_MOVE_wide(Cpu& c, uint32_t i) { run_sem<sem::move_wide<InterpBuilder>>(c, i); }
void exec_BITFIELD(Cpu& c, uint32_t i) { run_sem<sem::bitfield<InterpBuilder>>(c, i); }
void exec_EXTR(Cpu& c, uint32_t i) { run_sem<sem::extr<InterpBuilder>>(c, i); }

}  // namespace armvm::a64
