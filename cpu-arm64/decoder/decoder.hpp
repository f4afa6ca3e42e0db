// The A64 decoder: a64.inc's patterns become (mask, value) matchers at
// compile time; decode() returns the first matching entry.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace armvm::a64 {

enum class Op : uint16_t {
#define INST(name, pattern) name,
#include "cpu-arm64/decoder/a64.inc"
#undef INST
    Unallocated,
};

struct Matcher {
    Op op;
    const char* name;
    uint32_t mask;
    uint32_t value;
};

// Pattern characters: '0'/'1' fixed bits; anything else an operand bit.
constexpr Matcher make_matcher(Op op, const char* name, std::string_view pat) {
    uint32_t mask = 0, value = 0;
    for (size_t i = 0; i < pat.size(); ++i) {
        uint32_t bit = 1u << (31 - i);
        if (pat[i] == '0' || pat[i] == '1') {
            mask |= bit;
            if (pat[i] == '1') value |= bit;
        }
    }
    return Matcher{op, name, mask, value};
}

constexpr bool all_patterns_32_bits() {
    constexpr std::string_view pats[] = {
#define INST(name, pattern) pattern,
#include "cpu-arm64/decoder/a64.inc"
#undef INST
    };
    for (auto p : pats)
        if (p.size() != 32) return false;
    return true;
}
static_assert(all_patterns_32_bits(), "every a64.inc pattern has 32 bits");

inline constexpr auto kMatchers = std::to_array<Matcher>({
#define INST(name, pattern) make_matcher(Op::name, #name, pattern),
#include "cpu-arm64/decoder/a64.inc"
#undef INST
});

constexpr Op decode(uint32_t insn) {
    for (const auto& m : kMatchers)
        if ((insn & m.mask) == m.value) return m.op;
    return Op::Unallocated;
}

constexpr const char* op_name(Op op) {
    for (const auto& m : kMatchers)
        if (m.op == op) return m.name;
    return "Unallocated";
}

// Field extraction helpers for the executors.
constexpr uint32_t bits(uint32_t insn, unsigned hi, unsigned lo) {
    return (insn >> lo) & ((hi - lo == 31) ? 0xffffffffu : ((1u << (hi - lo + 1)) - 1));
}
constexpr uint32_t bit(uint32_t insn, unsigned n) { return (insn >> n) & 1; }
constexpr int64_t sext(uint64_t v, unsigned width) {
    uint64_t m = 1ull << (width - 1);
    v &= (width == 64) ? ~0ull : ((1ull << width) - 1);
    return static_cast<int64_t>((v ^ m) - m);
}

}  // namespace armvm::a64
