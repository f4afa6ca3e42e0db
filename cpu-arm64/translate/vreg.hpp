// Elements of the vector registers: V[t] as lanes of 1, 2, 4 or 8 bytes
// (a lane never straddles the two 64-bit halves).
#pragma once
#include <cstdint>

#include "cpu-arm64/cpu.hpp"

namespace armvm::a64 {

inline uint64_t lane_mask(unsigned esize) { return esize == 8 ? ~0ull : (1ull << (8 * esize)) - 1; }

inline uint64_t get_elem(const Cpu& c, unsigned t, unsigned idx, unsigned esize) {
    unsigned byte = idx * esize;
    uint64_t half = c.s.v[t][byte / 8];
    return esize == 8 ? half : (half >> (8 * (byte % 8))) & lane_mask(esize);
}

inline void set_elem(Cpu& c, unsigned t, unsigned idx, unsigned esize, uint64_t v) {
    unsigned byte = idx * esize;
    uint64_t& half = c.s.v[t][byte / 8];
    if (esize == 8) {
        half = v;
        return;
    }
    uint64_t m = lane_mask(esize) << (8 * (byte % 8));
    half = (half & ~m) | ((v << (8 * (byte % 8))) & m);
}

}  // namespace armvm::a64
