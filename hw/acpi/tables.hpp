// ACPI tables handed to firmware the way QEMU does it: the tables in one
// fw_cfg file (etc/acpi/tables), the RSDP in another (etc/acpi/rsdp), and
// the "table loader" script (etc/table-loader) telling the firmware where
// to put each file, which fields point into which file (patched with the
// address it chose) and which checksums to compute. edk2's
// AcpiPlatformDxe (ArmVirtQemu) and SeaBIOS run that script; the guest
// OS then finds the tables as the firmware installed them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace armvm::acpi {

// The loader script: QEMU's 128-byte commands.
class Linker {
public:
    enum class Zone : uint8_t { High = 1, FSeg = 2 };
    void allocate(const std::string& file, uint32_t align, Zone zone);
    // The `size`-byte field at `offset` of `dest` holds an offset into
    // `src`; the firmware adds src's address to it.
    void add_pointer(const std::string& dest, uint32_t offset, uint8_t size, const std::string& src);
    // The byte at `result` of `file` becomes the checksum of [start, start + length).
    void add_checksum(const std::string& file, uint32_t start, uint32_t length, uint32_t result);
    const std::vector<uint8_t>& bytes() const { return script_; }

private:
    std::vector<uint8_t> script_;
};

// A growing file of tables (or the RSDP) with the helpers to write one.
class TableFile {
public:
    explicit TableFile(std::string name) : name_(std::move(name)) {}
    const std::string& name() const { return name_; }
    std::vector<uint8_t>& data() { return data_; }
    size_t size() const { return data_.size(); }

    void u8(uint64_t v) { le(v, 1); }
    void u16(uint64_t v) { le(v, 2); }
    void u32(uint64_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void bytes(const std::vector<uint8_t>& b) { data_.insert(data_.end(), b.begin(), b.end()); }
    void chars(const char* s, size_t n);  // exactly n characters of s
    void zeros(size_t n) { data_.resize(data_.size() + n, 0); }
    void patch(size_t at, uint64_t v, unsigned n);
    // A Generic Address Structure (ACPI 6.4 §5.2.3.2).
    void gas(uint8_t space, uint8_t bit_width, uint8_t bit_offset, uint8_t access_size, uint64_t address);

    // A table: its 36-byte header (QEMU's OEM and creator IDs), begun at
    // the current end; end_table() fills in the length and asks the
    // loader for the checksum.
    size_t begin_table(const char sig[4], uint8_t revision);
    void end_table(size_t start, Linker& linker);

private:
    void le(uint64_t v, unsigned n);
    std::string name_;
    std::vector<uint8_t> data_;
};

}  // namespace armvm::acpi
