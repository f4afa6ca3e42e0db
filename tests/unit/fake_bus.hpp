// RAM from address 0 as the CPU's Bus, for the unit tests that run the CPU
// core without a board (DESIGN.md "Boundaries"); nothing answers above it.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "cpu-arm64/cpu.hpp"

struct FakeBus : armvm::Bus {
    explicit FakeBus(size_t size = 64 * 1024) : ram(size) {}
    std::vector<uint8_t> ram;
    unsigned reads = 0, writes = 0;
    bool read(uint64_t pa, unsigned size, uint64_t& v, armvm::MemAttrs) override {
        if (pa + size > ram.size()) return false;
        v = 0;
        for (unsigned i = 0; i < size; ++i) v |= uint64_t{ram[pa + i]} << (8 * i);
        ++reads;
        return true;
    }
    bool write(uint64_t pa, unsigned size, uint64_t v, armvm::MemAttrs) override {
        if (pa + size > ram.size()) return false;
        for (unsigned i = 0; i < size; ++i) ram[pa + i] = static_cast<uint8_t>(v >> (8 * i));
        ++writes;
        return true;
    }
    // (the tests' own accesses: no CPU makes them)
    bool read(uint64_t pa, unsigned size, uint64_t& v) { return read(pa, size, v, armvm::MemAttrs{}); }
    bool write(uint64_t pa, unsigned size, uint64_t v) { return write(pa, size, v, armvm::MemAttrs{}); }
    void put(uint64_t pa, const std::vector<uint32_t>& insns) {
        for (uint32_t w : insns) {
            write(pa, 4, w);
            pa += 4;
        }
    }
    void put64(uint64_t pa, uint64_t v) { write(pa, 8, v); }
};
