// Shared pieces of the A64 executors, written after the ARM ARM's
// pseudocode (J1 "shared/functions").
#pragma once
#include <cstdint>

#include "cpu-arm64/cpu.hpp"

namespace armvm::a64 {

// An AdvSIMD modified immediate (MOVI, MVNI, ORR, BIC, FMOV vector): the
// 64-bit pattern of each half and what it does to Vd.
struct ModImm {
    uint64_t imm = 0;
    enum Kind : uint8_t { Move, Orr, Bic } kind = Move;
};
bool modimm(uint32_t insn, ModImm& m);
// VFPExpandImm: imm8 as a single, double or half (type 0, 1, 3) (fp.cpp).
uint64_t fp_expand_imm(unsigned imm8, unsigned type);
// The specialised handler of PACIASP, AUTIASP, PACIBSP, AUTIBSP and their Z
// forms, by op2 (Aut:Key:SP) (pauth.cpp).
Handler pac_lr_handler(unsigned op2);
// What those do to X30, given X30 and the modifier (the SP or 0), by op2
// (Aut:Key:SP; the JIT calls it directly). No exception: FEAT_FPAC is not
// implemented, a failed authentication corrupts the pointer.
using PacLrFn = uint64_t (*)(Cpu&, uint64_t x30, uint64_t modifier);
PacLrFn pac_lr_function(unsigned op2);
// ERET's exception return to `target` (system.cpp; ERETAA/ERETAB's is
// ELR authenticated).
void exception_return(Cpu& c, uint64_t target);

// AddWithCarry(): result and NZCV for a `datasize`-bit add.
struct AddResult {
    uint64_t value;
    uint32_t nzcv;
};

inline AddResult add_with_carry(uint64_t x, uint64_t y, bool carry, bool is64) {
    if (is64) {
        unsigned __int128 u = static_cast<unsigned __int128>(x) + y + carry;
        __int128 sres = static_cast<__int128>(static_cast<int64_t>(x)) + static_cast<int64_t>(y) + carry;
        uint64_t r = static_cast<uint64_t>(u);
        uint32_t f = 0;
        if (r >> 63) f |= kN;
        if (r == 0) f |= kZ;
        if (u >> 64) f |= kC;
        if (sres != static_cast<int64_t>(r)) f |= kV;
        return {r, f};
    }
    uint64_t u = static_cast<uint64_t>(static_cast<uint32_t>(x)) + static_cast<uint32_t>(y) + carry;
    int64_t sres = static_cast<int64_t>(static_cast<int32_t>(x)) + static_cast<int32_t>(y) + carry;
    uint32_t r = static_cast<uint32_t>(u);
    uint32_t f = 0;
    if (r >> 31) f |= kN;
    if (r == 0) f |= kZ;
    if (u >> 32) f |= kC;
    if (sres != static_cast<int32_t>(r)) f |= kV;
    return {r, f};
}

// ConditionHolds() (ARM ARM J1.3).
inline bool condition_holds(uint32_t cond, uint32_t nzcv) {
    bool n = nzcv & kN, z = nzcv & kZ, c = nzcv & kC, v = nzcv & kV;
    bool r;
    switch (cond >> 1) {
    case 0: r = z; break;
    case 1: r = c; break;
    case 2: r = n; break;
    case 3: r = v; break;
    case 4: r = c && !z; break;
    case 5: r = n == v; break;
    case 6: r = n == v && !z; break;
    default: r = true; break;
    }
    if ((cond & 1) && cond != 0xf) r = !r;
    return r;
}

inline uint64_t mask_for(bool is64) { return is64 ? ~0ull : 0xffffffffull; }

// ShiftReg(): LSL, LSR, ASR, ROR by `amount` (< datasize).
inline uint64_t shift_reg(uint64_t v, unsigned type, unsigned amount, bool is64) {
    unsigned size = is64 ? 64 : 32;
    v &= mask_for(is64);
    amount %= size;
    if (amount == 0) return v;
    switch (type) {
    case 0: return (v << amount) & mask_for(is64);
    case 1: return v >> amount;
    case 2: {
        int64_t sv = is64 ? static_cast<int64_t>(v) : static_cast<int64_t>(static_cast<int32_t>(v));
        return static_cast<uint64_t>(sv >> amount) & mask_for(is64);
    }
    default: return ((v >> amount) | (v << (size - amount))) & mask_for(is64);
    }
}

// ExtendReg(): UXTB..SXTX then LSL by `shift` (0..4).
inline uint64_t extend_reg(uint64_t v, unsigned option, unsigned shift) {
    unsigned len = 8u << (option & 3);
    bool sign = option & 4;
    uint64_t r = len == 64 ? v : (v & ((1ull << len) - 1));
    if (sign && len < 64 && (r >> (len - 1)) & 1) r |= ~((1ull << len) - 1);
    return r << shift;
}

// DecodeBitMasks() for logical immediates and bitfield moves. false: the
// encoding is reserved.
inline bool decode_bit_masks(unsigned n, unsigned imms, unsigned immr, bool immediate, bool is64,
                             uint64_t& wmask, uint64_t& tmask) {
    unsigned combined = (n << 6) | (~imms & 0x3f);
    int len = -1;
    for (int i = 6; i >= 0; --i)
        if (combined & (1u << i)) {
            len = i;
            break;
        }
    if (len < 1) return false;
    unsigned esize = 1u << len;
    if (esize > (is64 ? 64u : 32u)) return false;
    unsigned levels = esize - 1;
    if (immediate && (imms & levels) == levels) return false;
    unsigned s = imms & levels, r = immr & levels;
    unsigned diff = (s - r) & levels;
    auto ones = [](unsigned k) { return k >= 64 ? ~0ull : ((1ull << k) - 1); };
    auto ror = [&](uint64_t v, unsigned amt) {
        v &= ones(esize);
        amt %= esize;
        return amt ? ((v >> amt) | (v << (esize - amt))) & ones(esize) : v;
    };
    uint64_t welem = ror(ones(s + 1), r);
    uint64_t telem = ones(diff + 1);
    auto replicate = [&](uint64_t e) {
        uint64_t out = 0;
        for (unsigned i = 0; i < 64; i += esize) out |= e << i;
        return out;
    };
    wmask = replicate(welem) & mask_for(is64);
    tmask = replicate(telem) & mask_for(is64);
    return true;
}

inline uint32_t nz_flags(uint64_t r, bool is64) {
    uint32_t f = 0;
    if (is64 ? (r >> 63) : ((r >> 31) & 1)) f |= kN;
    if ((r & mask_for(is64)) == 0) f |= kZ;
    return f;
}

}  // namespace armvm::a64
