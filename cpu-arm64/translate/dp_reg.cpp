// Data processing, register (ARM ARM C4.1.6): logical and add/subtract
// (shifted and extended register), add/subtract with carry, conditional
// compare and select, 1-, 2- and 3-source operations.
#include <bit>

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

// RMIF (FEAT_FlagM): the flags `mask` selects from Xn rotated right by imm6.
void exec_RMIF(Cpu& c, uint32_t i) {
    if (!c.has_flagm()) return c.undefined();
    uint64_t v = c.x(bits(i, 9, 5));
    unsigned sh = bits(i, 20, 15), mask = bits(i, 3, 0);
    uint32_t r = static_cast<uint32_t>(std::rotr(v, static_cast<int>(sh))) & 0xf;
    c.s.nzcv = (c.s.nzcv & ~(mask << 28)) | ((r & mask) << 28);
}

// SETF8, SETF16 (FEAT_FlagM): N, Z and V from the low byte or halfword of
// Wn as a signed value (V: whether bit 8/16 differs from the sign); C kept.
void exec_SETF(Cpu& c, uint32_t i) {
    if (!c.has_flagm()) return c.undefined();
    uint64_t v = c.x(bits(i, 9, 5));
    unsigned msb = bit(i, 14) ? 15 : 7;
    uint32_t n = (v >> msb) & 1, z = (v & ((2ull << msb) - 1)) == 0, ov = ((v >> (msb + 1)) ^ (v >> msb)) & 1;
    c.s.nzcv = (c.s.nzcv & (2u << 28)) | (n << 31) | (z << 30) | (ov << 28);
}

}  // namespace armvm::a64
