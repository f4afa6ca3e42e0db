#include "hw/acpi/tables.hpp"

#include <cstring>

namespace armvm::acpi {
namespace {

constexpr size_t kCommandSize = 128, kFileName = 56;
enum : uint32_t { kAllocate = 1, kAddPointer = 2, kAddChecksum = 3 };

void put_le(std::vector<uint8_t>& out, size_t at, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

void put_name(std::vector<uint8_t>& out, size_t at, const std::string& file) {
    std::memcpy(out.data() + at, file.data(), std::min(file.size(), kFileName - 1));
}

}  // namespace

void Linker::allocate(const std::string& file, uint32_t align, Zone zone) {
    size_t at = script_.size();
    script_.resize(at + kCommandSize, 0);
    put_le(script_, at, kAllocate, 4);
    put_name(script_, at + 4, file);
    put_le(script_, at + 4 + kFileName, align, 4);
    script_[at + 8 + kFileName] = static_cast<uint8_t>(zone);
}

void Linker::add_pointer(const std::string& dest, uint32_t offset, uint8_t size, const std::string& src) {
    size_t at = script_.size();
    script_.resize(at + kCommandSize, 0);
    put_le(script_, at, kAddPointer, 4);
    put_name(script_, at + 4, dest);
    put_name(script_, at + 4 + kFileName, src);
    put_le(script_, at + 4 + 2 * kFileName, offset, 4);
    script_[at + 8 + 2 * kFileName] = size;
}

void Linker::add_checksum(const std::string& file, uint32_t start, uint32_t length, uint32_t result) {
    size_t at = script_.size();
    script_.resize(at + kCommandSize, 0);
    put_le(script_, at, kAddChecksum, 4);
    put_name(script_, at + 4, file);
    put_le(script_, at + 4 + kFileName, result, 4);
    put_le(script_, at + 8 + kFileName, start, 4);
    put_le(script_, at + 12 + kFileName, length, 4);
}

void TableFile::le(uint64_t v, unsigned n) {
    size_t at = data_.size();
    data_.resize(at + n);
    put_le(data_, at, v, n);
}

void TableFile::patch(size_t at, uint64_t v, unsigned n) { put_le(data_, at, v, n); }

void TableFile::chars(const char* s, size_t n) {
    size_t len = std::strlen(s);
    for (size_t i = 0; i < n; ++i) data_.push_back(static_cast<uint8_t>(i < len ? s[i] : ' '));
}

void TableFile::gas(uint8_t space, uint8_t bit_width, uint8_t bit_offset, uint8_t access_size, uint64_t address) {
    u8(space);
    u8(bit_width);
    u8(bit_offset);
    u8(access_size);
    u64(address);
}

size_t TableFile::begin_table(const char sig[4], uint8_t revision) {
    size_t start = data_.size();
    chars(sig, 4);
    u32(0);  // length: end_table()
    u8(revision);
    u8(0);  // checksum: the firmware's, from the loader script
    chars("BOCHS", 6);
    chars("BXPC", 8);
    u32(1);  // OEM revision
    chars("BXPC", 4);
    u32(1);  // creator revision
    return start;
}

void TableFile::end_table(size_t start, Linker& linker) {
    size_t len = data_.size() - start;
    patch(start + 4, len, 4);
    linker.add_checksum(name_, static_cast<uint32_t>(start), static_cast<uint32_t>(len),
                        static_cast<uint32_t>(start + 9));
}

}  // namespace armvm::acpi
