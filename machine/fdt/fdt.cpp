#include "machine/fdt/fdt.hpp"

extern "C" {
#include <libfdt.h>
}

namespace armvm {

namespace {
constexpr size_t kInitialSize = 64 * 1024;
}

FdtWriter::FdtWriter() : buf_(kInitialSize) {
    check(fdt_create(buf_.data(), static_cast<int>(buf_.size())), "fdt_create");
    check(fdt_finish_reservemap(buf_.data()), "fdt_finish_reservemap");
    check(fdt_begin_node(buf_.data(), ""), "fdt_begin_node /");
}

void FdtWriter::check(int rc, const char* what) {
    if (rc < 0 && error_.empty()) error_ = std::string(what) + ": " + fdt_strerror(rc);
}

void FdtWriter::begin_node(const std::string& name) { check(fdt_begin_node(buf_.data(), name.c_str()), name.c_str()); }
void FdtWriter::end_node() { check(fdt_end_node(buf_.data()), "fdt_end_node"); }
void FdtWriter::prop_empty(const char* name) { check(fdt_property(buf_.data(), name, nullptr, 0), name); }
void FdtWriter::prop_u32(const char* name, uint32_t v) { check(fdt_property_u32(buf_.data(), name, v), name); }

void FdtWriter::prop_cells(const char* name, std::initializer_list<uint32_t> cells) {
    prop_cells(name, std::vector<uint32_t>(cells));
}

void FdtWriter::prop_cells(const char* name, const std::vector<uint32_t>& cells) {
    std::vector<fdt32_t> be;
    for (uint32_t c : cells) be.push_back(cpu_to_fdt32(c));
    prop_bytes(name, be.data(), be.size() * sizeof(fdt32_t));
}

void FdtWriter::prop_reg64(const char* name, std::initializer_list<uint64_t> values) {
    std::vector<uint32_t> cells;
    for (uint64_t v : values) {
        cells.push_back(static_cast<uint32_t>(v >> 32));
        cells.push_back(static_cast<uint32_t>(v));
    }
    prop_cells(name, cells);
}

void FdtWriter::prop_string(const char* name, std::string_view s) {
    std::string z(s);
    prop_bytes(name, z.c_str(), z.size() + 1);
}

void FdtWriter::prop_strings(const char* name, std::initializer_list<std::string_view> list) {
    std::string all;
    for (auto s : list) {
        all.append(s);
        all.push_back('\0');
    }
    prop_bytes(name, all.data(), all.size());
}

void FdtWriter::prop_bytes(const char* name, const void* data, size_t len) {
    check(fdt_property(buf_.data(), name, data, static_cast<int>(len)), name);
}

Result<std::vector<uint8_t>> FdtWriter::finish() {
    end_node();  // "/"
    check(fdt_finish(buf_.data()), "fdt_finish");
    if (!error_.empty()) return make_error("device tree: " + error_);
    buf_.resize(fdt_totalsize(buf_.data()));
    return std::move(buf_);
}

}  // namespace armvm
