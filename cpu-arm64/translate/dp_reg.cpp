// Data processing, register (ARM ARM C4.1.6): logical and add/subtract
// (shifted and extended register), add/subtract with carry, conditional
// compare and select, 1-, 2- and 3-source operations.
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"

namespace armvm::a64 {

// Logical and add/subtract (shifted and extended register): the semantics
// of ir/sem.hpp (which the JIT compiles too), run on the CPU state.
void exec_LOGICAL_reg(Cpu& c, uint32_t i) { run_sem<sem::logical_reg<InterpBuilder>>(c, i); }
void exec_ADD_SUB_shift(Cpu& c, uint32_t i) { run_sem<sem::add_sub_shift<InterpBuilder>>(c, i); }
void exec_ADD_SUB_ext(Cpu& c, uint32_t i) { run_sem<sem::add_sub_ext<InterpBuilder>>(c, i); }

void exec_ADC_SBC(Cpu& c, uint32_t i) { run_sem<sem::adc_sbc<InterpBuilder>>(c, i); }

void exec_CCMP_reg(Cpu& c, uint32_t i) { run_sem<sem::ccmp<InterpBuilder>>(c, i); }
void exec_CCMP_imm(Cpu& c, uint32_t i) { run_sem<sem::ccmp<InterpBuilder>>(c, i); }

void exec_CSEL(Cpu& c, uint32_t i) { run_sem<sem::csel<InterpBuilder>>(c, i); }

void exec_DP_1src(Cpu& c, uint32_t i) { run_sem<sem::dp_1src<InterpBuilder>>(c, i); }

void exec_DP_2src(Cpu& c, uint32_t i) { run_sem<sem::dp_2src<InterpBuilder>>(c, i); }

void exec_DP_3src(Cpu& c, uint32_t i) { run_sem<sem::dp_3src<InterpBuilder>>(c, i); }

}  // namespace armvm::a64
