// Branches (ARM ARM C4.1.3: conditional, unconditional immediate and
// register, compare-and-branch, test-and-branch): the semantics of
// ir/sem.hpp (which the JIT compiles too), run on the CPU state.
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"
#include "cpu-arm64/translate/interp_builder.hpp"

namespace armvm::a64 {

void exec_B_cond(Cpu& c, uint32_t i) { run_sem<sem::b_cond<InterpBuilder>>(c, i); }
void exec_B(Cpu& c, uint32_t i) { run_sem<sem::b_imm<InterpBuilder>>(c, i); }
void exec_BL(Cpu& c, uint32_t i) { run_sem<sem::b_imm<InterpBuilder>>(c, i); }
void exec_CBZ_CBNZ(Cpu& c, uint32_t i) { run_sem<sem::cbz<InterpBuilder>>(c, i); }
void exec_TBZ_TBNZ(Cpu& c, uint32_t i) { run_sem<sem::tbz<InterpBuilder>>(c, i); }

namespace {
template <unsigned Kind>
bool b_reg(InterpBuilder& b, uint32_t i) {
    return sem::b_reg(b, i, Kind);
}
}  // namespace

void exec_BR(Cpu& c, uint32_t i) { run_sem<b_reg<0>>(c, i); }
void exec_BLR(Cpu& c, uint32_t i) { run_sem<b_reg<1>>(c, i); }
void exec_RET(Cpu& c, uint32_t i) { run_sem<b_reg<2>>(c, i); }

}  // namespace armvm::a64
