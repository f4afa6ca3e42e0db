#include "hw/smbios/smbios.hpp"

#include <algorithm>

namespace armvm {
namespace {

// One structure: its formatted area (type, length, handle, then the
// fields) and the strings after it.
class Structure {
public:
    Structure(uint8_t type, uint16_t handle) : f_{type, 0, static_cast<uint8_t>(handle), static_cast<uint8_t>(handle >> 8)} {}
    void u8(uint64_t v) { le(v, 1); }
    void u16(uint64_t v) { le(v, 2); }
    void u32(uint64_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void bytes(const uint8_t* p, size_t n) { f_.insert(f_.end(), p, p + n); }
    // A string field: its number (0: none).
    void str(const std::string& s) {
        if (s.empty()) return u8(0);
        strings_.push_back(s);
        u8(strings_.size());
    }
    void append_to(std::vector<uint8_t>& out) {
        f_[1] = static_cast<uint8_t>(f_.size());
        out.insert(out.end(), f_.begin(), f_.end());
        for (const auto& s : strings_) {
            out.insert(out.end(), s.begin(), s.end());
            out.push_back(0);
        }
        if (strings_.empty()) out.push_back(0);
        out.push_back(0);
    }

private:
    void le(uint64_t v, unsigned n) {
        for (unsigned i = 0; i < n; ++i) f_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    std::vector<uint8_t> f_;
    std::vector<std::string> strings_;
};

constexpr uint64_t kDimmMax = 16ull << 30;  // QEMU's DIMMs: 16 GiB at most each

}  // namespace

SmbiosBlobs build_smbios(const SmbiosParams& p) {
    std::vector<uint8_t> t;
    const std::string vendor = "QEMU";
    {  // System information
        Structure s(1, 0x100);
        s.str(vendor);
        s.str("QEMU Virtual Machine");
        s.str(p.version);
        s.str("");  // serial
        std::array<uint8_t, 16> u{};
        if (p.uuid) {
            // (SMBIOS 2.6+: the first three fields little endian)
            const auto& b = *p.uuid;
            u = {b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]};
        }
        s.bytes(u.data(), u.size());
        s.u8(6);    // wake-up: power switch
        s.str("");  // SKU
        s.str("");  // family
        s.append_to(t);
    }
    {  // Chassis
        Structure s(3, 0x300);
        s.str(vendor);
        s.u8(1);  // other
        s.str(p.version);
        s.str("");
        s.str("");
        s.u8(3);  // boot-up, power supply and thermal states: safe
        s.u8(3);
        s.u8(3);
        s.u8(2);  // security: unknown
        s.u32(0);
        s.u8(0);  // height
        s.u8(0);  // power cords
        s.u8(0);  // contained elements
        s.u8(0);
        s.str("");  // SKU
        s.append_to(t);
    }
    for (unsigned so = 0; so < p.sockets; ++so) {  // Processors
        Structure s(4, static_cast<uint16_t>(0x400 + so));
        s.str("CPU " + std::to_string(so));
        s.u8(3);  // central processor
        s.u8(1);  // family: other
        s.str(vendor);
        s.u64(0);  // processor ID
        s.str(p.version);
        s.u8(0);       // voltage
        s.u16(0);      // external clock
        s.u16(2000);   // max speed, MHz
        s.u16(2000);   // current speed
        s.u8(0x41);    // socket populated, CPU enabled
        s.u8(1);       // upgrade: other
        s.u16(0xffff);  // no cache information
        s.u16(0xffff);
        s.u16(0xffff);
        s.str("");
        s.str("");
        s.str("");
        s.u8(std::min(p.cores_per_socket, 255u));
        s.u8(std::min(p.cores_per_socket, 255u));
        s.u8(std::min(p.threads_per_socket, 255u));
        s.u16(0x0002);  // characteristics: unknown
        s.u16(0x0001);  // family 2: other
        s.u16(p.cores_per_socket);
        s.u16(p.cores_per_socket);
        s.u16(p.threads_per_socket);
        s.append_to(t);
    }
    unsigned dimms = static_cast<unsigned>((p.ram_bytes + kDimmMax - 1) / kDimmMax);
    {  // Physical memory array
        Structure s(16, 0x1000);
        s.u8(1);  // location: other
        s.u8(3);  // system memory
        s.u8(6);  // multi-bit ECC
        uint64_t kib = p.ram_bytes >> 10;
        bool ext = kib >= 0x80000000ull;
        s.u32(ext ? 0x80000000u : kib);
        s.u16(0xfffe);  // no error information
        s.u16(dimms);
        s.u64(ext ? p.ram_bytes : 0);
        s.append_to(t);
    }
    for (unsigned i = 0; i < dimms; ++i) {  // Memory devices
        uint64_t size = std::min(kDimmMax, p.ram_bytes - i * kDimmMax);
        uint64_t mib = size >> 20;
        Structure s(17, static_cast<uint16_t>(0x1100 + i));
        s.u16(0x1000);  // the array
        s.u16(0xfffe);
        s.u16(0xffff);  // total and data width: unknown
        s.u16(0xffff);
        s.u16(mib < 0x7fff ? mib : 0x7fff);
        s.u8(9);  // DIMM
        s.u8(0);
        s.str("DIMM " + std::to_string(i));
        s.str("");
        s.u8(7);        // RAM
        s.u16(0x0002);  // type detail: other
        s.u16(0);       // speed
        s.str(vendor);
        s.str("");
        s.str("");
        s.str("");
        s.u8(0);  // attributes
        s.u32(mib < 0x7fff ? 0 : mib);
        s.u16(0);  // configured speed
        s.u16(0);  // voltages
        s.u16(0);
        s.u16(0);
        s.append_to(t);
    }
    {  // System boot: no errors
        Structure s(32, 0x2000);
        for (int i = 0; i < 6; ++i) s.u8(0);
        s.u8(0);
        s.append_to(t);
    }
    Structure(127, 0x7f00).append_to(t);

    // The SMBIOS 3.0 entry point (64-bit); the firmware sets the table
    // address and the checksum.
    SmbiosBlobs out;
    std::vector<uint8_t>& a = out.anchor;
    a = {'_', 'S', 'M', '3', '_', 0, 24, 3, 0, 0, 1, 0};
    uint32_t max = static_cast<uint32_t>(t.size());
    for (int i = 0; i < 4; ++i) a.push_back(static_cast<uint8_t>(max >> (8 * i)));
    a.resize(24, 0);
    out.tables = std::move(t);
    return out;
}

}  // namespace armvm
