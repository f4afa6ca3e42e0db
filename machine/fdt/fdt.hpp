// A small RAII wrapper over libfdt's sequential-write API (DESIGN.md habit
// 7): begin a node, add properties, end it; finish() gives the blob.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace armvm {

class FdtWriter {
public:
    FdtWriter();
    void begin_node(const std::string& name);
    void end_node();
    void prop_empty(const char* name);
    void prop_u32(const char* name, uint32_t v);
    void prop_cells(const char* name, std::initializer_list<uint32_t> cells);
    void prop_cells(const char* name, const std::vector<uint32_t>& cells);
    // Address/size pairs as 2+2 cells each (#address-cells = #size-cells = 2).
    void prop_reg64(const char* name, std::initializer_list<uint64_t> values);
    void prop_string(const char* name, std::string_view s);
    // A string list: "a\0b\0".
    void prop_strings(const char* name, std::initializer_list<std::string_view> list);
    void prop_bytes(const char* name, const void* data, size_t len);

    // Completes the tree; the first libfdt error seen, if any, is returned.
    Result<std::vector<uint8_t>> finish();

private:
    void check(int rc, const char* what);
    std::vector<uint8_t> buf_;
    std::string error_;
};

}  // namespace armvm
