// Branches (ARM ARM C4.1.3: conditional, unconditional immediate and
// register, compare-and-branch, test-and-branch).
#include "cpu-arm64/translate/executors.hpp"
#include "cpu-arm64/translate/helpers.hpp"

namespace armvm::a64 {

void exec_B_cond(Cpu& c, uint32_t i) {
    if (condition_holds(bits(i, 3, 0), c.s.nzcv)) c.branch_to(c.s.pc + (sext(bits(i, 23, 5), 19) << 2));
}

void exec_B(Cpu& c, uint32_t i) { c.branch_to(c.s.pc + (sext(bits(i, 25, 0), 26) << 2)); }

void exec_BL(Cpu& c, uint32_t i) {
    c.set_x(30, c.s.pc + 4);
    c.branch_to(c.s.pc + (sext(bits(i, 25, 0), 26) << 2));
}

void exec_BR(Cpu& c, uint32_t i) { c.branch_to(c.x(bits(i, 9, 5))); }

void exec_BLR(Cpu& c, uint32_t i) {
    uint64_t target = c.x(bits(i, 9, 5));  // read before X30 is written (BLR X30)
    c.set_x(30, c.s.pc + 4);
    c.branch_to(target);
}

void exec_RET(Cpu& c, uint32_t i) { c.branch_to(c.x(bits(i, 9, 5))); }

void exec_CBZ_CBNZ(Cpu& c, uint32_t i) {
    bool is64 = bit(i, 31);
    uint64_t v = c.x(bits(i, 4, 0)) & mask_for(is64);
    bool nonzero = bit(i, 24);
    if ((v != 0) == nonzero) c.branch_to(c.s.pc + (sext(bits(i, 23, 5), 19) << 2));
}

void exec_TBZ_TBNZ(Cpu& c, uint32_t i) {
    unsigned b = (bit(i, 31) << 5) | bits(i, 23, 19);
    bool set = (c.x(bits(i, 4, 0)) >> b) & 1;
    if (set == static_cast<bool>(bit(i, 24))) c.branch_to(c.s.pc + (sext(bits(i, 18, 5), 14) << 2));
}

}  // namespace armvm::a64
