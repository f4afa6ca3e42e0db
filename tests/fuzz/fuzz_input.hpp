// The fuzz targets' input: a stream of operations read field by field
// (a field past the end of the input reads as zeros).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

struct FuzzReader {
    const uint8_t* p;
    size_t n;
    template <typename T> T get() {
        T v{};
        size_t k = n < sizeof v ? n : sizeof v;
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
};
