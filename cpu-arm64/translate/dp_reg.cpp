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

void exec_DP_2src(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31);
    unsigned op = bits(i, 15, 10);
    uint64_t a = c.x(bits(i, 9, 5)) & mask_for(is64), b = c.x(bits(i, 20, 16)) & mask_for(is64);
    uint64_t r;
    switch (op) {
    case 2:  // UDIV
        r = b == 0 ? 0 : a / b;
        break;
    case 3: {  // SDIV
        if (b == 0) {
            r = 0;
        } else if (is64) {
            int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
            r = (sa == INT64_MIN && sb == -1) ? a : static_cast<uint64_t>(sa / sb);
        } else {
            int32_t sa = static_cast<int32_t>(a), sb = static_cast<int32_t>(b);
            r = (sa == INT32_MIN && sb == -1) ? a : static_cast<uint32_t>(sa / sb);
        }
        break;
    }
    case 8: case 9: case 10: case 11:  // LSLV LSRV ASRV RORV
        r = shift_reg(a, op - 8, static_cast<unsigned>(b % (is64 ? 64 : 32)), is64);
        break;
    case 16: case 17: case 18: case 19: case 20: case 21: case 22: case 23: {  // CRC32{B,H,W,X}, CRC32C*
        // Where ID_AA64ISAR0_EL1.CRC32 says so; X needs sf = 1, the others 0.
        unsigned sz = op & 3;
        if (!((c.ids.id_aa64isar0 >> 16) & 0xf) || (sz == 3) != is64) return c.undefined();
        uint32_t poly = (op & 4) ? 0x82f63b78u : 0xedb88320u;  // CRC-32C (Castagnoli) : CRC-32 (reflected)
        uint32_t acc = static_cast<uint32_t>(c.x(bits(i, 9, 5)));
        uint64_t data = c.x(bits(i, 20, 16));
        for (unsigned byte = 0; byte < (1u << sz); ++byte) {
            acc ^= static_cast<uint8_t>(data >> (8 * byte));
            for (int k = 0; k < 8; ++k) acc = (acc >> 1) ^ ((acc & 1) ? poly : 0);
        }
        c.set_x(bits(i, 4, 0), acc);
        return;
    }
    default:
        return c.undefined();
    }
    c.set_x(bits(i, 4, 0), r & mask_for(is64));
}

void exec_DP_3src(Cpu& c, uint32_t i) { run_sem<sem::dp_3src<InterpBuilder>>(c, i); }

}  // namespace armvm::a64
