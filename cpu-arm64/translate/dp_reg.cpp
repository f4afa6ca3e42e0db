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

void exec_ADC_SBC(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31), sub = bit(i, 30), setflags = bit(i, 29);
    uint64_t op2 = c.x(bits(i, 20, 16));
    if (sub) op2 = ~op2;
    auto r = add_with_carry(c.x(bits(i, 9, 5)), op2, c.s.nzcv & kC, is64);
    if (setflags) c.s.nzcv = r.nzcv;
    c.set_x(bits(i, 4, 0), r.value & mask_for(is64));
}

namespace {
void ccmp(Cpu& c, uint32_t i, uint64_t op2) {
    bool is64 = bit(i, 31), sub = bit(i, 30);
    if (condition_holds(bits(i, 15, 12), c.s.nzcv)) {
        uint64_t op1 = c.x(bits(i, 9, 5));
        auto r = sub ? add_with_carry(op1, ~op2, true, is64) : add_with_carry(op1, op2, false, is64);
        c.s.nzcv = r.nzcv;
    } else {
        c.s.nzcv = bits(i, 3, 0) << 28;
    }
}
}  // namespace

void exec_CCMP_reg(Cpu& c, uint32_t i) { ccmp(c, i, c.x(bits(i, 20, 16))); }
void exec_CCMP_imm(Cpu& c, uint32_t i) { ccmp(c, i, bits(i, 20, 16)); }

void exec_CSEL(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31);
    uint64_t r;
    if (condition_holds(bits(i, 15, 12), c.s.nzcv)) {
        r = c.x(bits(i, 9, 5));
    } else {
        r = c.x(bits(i, 20, 16));
        bool inv = bit(i, 30), inc = bit(i, 10);
        if (inv) r = ~r;
        if (inc) r += 1;  // CSINC (+1), CSNEG (~x + 1)
    }
    c.set_x(bits(i, 4, 0), r & mask_for(is64));
}

void exec_DP_1src(Cpu& c, uint32_t i) { run_sem<sem::dp_1src<InterpBuilder>>(c, i); }

void exec_DP_2src(Cpu& c, uint32_t i) { run_sem<sem::dp_2src<InterpBuilder>>(c, i); }

void exec_DP_3src(Cpu& c, uint32_t i) { run_sem<sem::dp_3src<InterpBuilder>>(c, i); }

}  // namespace armvm::a64
