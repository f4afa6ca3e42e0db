#include "hw/acpi/aml.hpp"

#include <cstdlib>
#include <stdexcept>

namespace armvm::acpi {
namespace {

enum : uint8_t {
    kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0a, kWordPrefix = 0x0b, kDWordPrefix = 0x0c,
    kStringPrefix = 0x0d, kQWordPrefix = 0x0e, kScopeOp = 0x10, kBufferOp = 0x11, kPackageOp = 0x12, kVarPackageOp = 0x13,
    kMethodOp = 0x14, kDualNamePrefix = 0x2e, kMultiNamePrefix = 0x2f, kExtOpPrefix = 0x5b, kRootChar = 0x5c,
    kParentPrefix = 0x5e, kLocal0 = 0x60, kArg0 = 0x68, kStoreOp = 0x70, kAndOp = 0x7b, kOrOp = 0x7d,
    kNotifyOp = 0x86, kCreateDWordFieldOp = 0x8a, kLNotOp = 0x92, kLEqualOp = 0x93, kIfOp = 0xa0, kElseOp = 0xa1,
    kReturnOp = 0xa4,
    // after kExtOpPrefix
    kOpRegionOp = 0x80, kFieldOp = 0x81, kDeviceOp = 0x82,
};

void put(Aml& out, const Aml& a) { out.insert(out.end(), a.begin(), a.end()); }

void put_le(Aml& out, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// PkgLength (§20.2.4) of `n` bytes that follow it; `self`: the count
// includes the encoding's own bytes (every package but a field unit's).
Aml pkg_length(size_t n, bool self = true) {
    Aml out;
    for (unsigned extra = 0; extra < 4; ++extra) {
        size_t total = n + (self ? extra + 1 : 0);
        size_t limit = extra == 0 ? 0x3f : (size_t{1} << (4 + 8 * extra)) - 1;
        if (total > limit) continue;
        if (extra == 0) {
            out.push_back(static_cast<uint8_t>(total));
        } else {
            out.push_back(static_cast<uint8_t>((extra << 6) | (total & 0xf)));
            for (unsigned i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
        }
        return out;
    }
    throw std::length_error("AML package longer than 256 MiB");
}

Aml join(const AmlList& list) {
    Aml out;
    for (const auto& a : list) put(out, a);
    return out;
}

// Op PkgLength contents
Aml with_length(std::initializer_list<uint8_t> op, const Aml& contents) {
    Aml out(op);
    put(out, pkg_length(contents.size()));
    put(out, contents);
    return out;
}

Aml op2(uint8_t op, const Aml& a, const Aml& b) {
    Aml out{op};
    put(out, a);
    put(out, b);
    return out;
}

Aml op3(uint8_t op, const Aml& a, const Aml& b, const Aml& c) {
    Aml out = op2(op, a, b);
    put(out, c);
    return out;
}

// A large resource descriptor (§6.4.3): tag, length, body.
Aml large(uint8_t tag, const Aml& body) {
    Aml out{tag};
    put_le(out, body.size(), 2);
    put(out, body);
    return out;
}

// The address space descriptors' common start (§6.4.3.5): resource type,
// general flags (producer, positive decode, fixed min and max), type flags.
Aml address_head(uint8_t type, uint8_t type_flags) { return Aml{type, 0x0c, type_flags}; }

}  // namespace

Aml integer(uint64_t v) {
    if (v == 0) return {kZeroOp};
    if (v == 1) return {kOneOp};
    Aml out;
    unsigned bytes = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
    out.push_back(bytes == 1 ? kBytePrefix : bytes == 2 ? kWordPrefix : bytes == 4 ? kDWordPrefix : kQWordPrefix);
    put_le(out, v, bytes);
    return out;
}

Aml string(std::string_view s) {
    Aml out;
    out.reserve(s.size() + 2);
    out.push_back(kStringPrefix);
    for (char c : s) out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
    return out;
}

Aml buffer(const std::vector<uint8_t>& bytes) {
    Aml body = integer(bytes.size());
    put(body, bytes);
    return with_length({kBufferOp}, body);
}

Aml unicode(std::string_view ascii) {
    std::vector<uint8_t> bytes;
    for (char c : ascii) bytes.insert(bytes.end(), {static_cast<uint8_t>(c), 0});
    bytes.insert(bytes.end(), {0, 0});
    return buffer(bytes);
}

Aml uuid(std::string_view text) {
    // aabbccdd-eeff-gghh-iijj-kkllmmnnoopp: the first three fields little
    // endian, the rest in order (§19.6.142).
    std::string hex;
    for (char c : text)
        if (c != '-') hex += c;
    if (hex.size() != 32) throw std::invalid_argument("bad UUID");
    std::vector<uint8_t> b(16);
    for (size_t i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>(std::strtoul(hex.substr(2 * i, 2).c_str(), nullptr, 16));
    std::vector<uint8_t> out;
    for (size_t i : {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}) out.push_back(b[i]);
    return buffer(out);
}

Aml package(const AmlList& elements) {
    if (elements.size() > 255) throw std::length_error("AML package of more than 255 elements");
    Aml body{static_cast<uint8_t>(elements.size())};
    put(body, join(elements));
    return with_length({kPackageOp}, body);
}

Aml var_package(const AmlList& elements) {
    Aml body = integer(elements.size());
    put(body, join(elements));
    return with_length({kVarPackageOp}, body);
}

Aml name_string(std::string_view path) {
    Aml out;
    while (!path.empty() && (path.front() == '\\' || path.front() == '^')) {
        out.push_back(path.front() == '\\' ? kRootChar : kParentPrefix);
        path.remove_prefix(1);
    }
    std::vector<std::string> segs;
    while (!path.empty()) {
        size_t dot = path.find('.');
        std::string seg(path.substr(0, dot));
        if (seg.empty() || seg.size() > 4) throw std::invalid_argument("bad AML name segment");
        seg.resize(4, '_');
        segs.push_back(seg);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    }
    if (segs.empty()) {
        out.push_back(0);  // NullName
        return out;
    }
    if (segs.size() == 2) out.push_back(kDualNamePrefix);
    if (segs.size() > 2) out.insert(out.end(), {kMultiNamePrefix, static_cast<uint8_t>(segs.size())});
    for (const auto& s : segs) out.insert(out.end(), s.begin(), s.end());
    return out;
}

Aml name(std::string_view n, const Aml& value) {
    Aml out{kNameOp};
    put(out, name_string(n));
    put(out, value);
    return out;
}

Aml scope(std::string_view n, const AmlList& body) {
    Aml c = name_string(n);
    put(c, join(body));
    return with_length({kScopeOp}, c);
}

Aml device(std::string_view n, const AmlList& body) {
    Aml c = name_string(n);
    put(c, join(body));
    return with_length({kExtOpPrefix, kDeviceOp}, c);
}

Aml method(std::string_view n, unsigned args, bool serialized, const AmlList& body) {
    Aml c = name_string(n);
    c.push_back(static_cast<uint8_t>((args & 7) | (serialized ? 8 : 0)));
    put(c, join(body));
    return with_length({kMethodOp}, c);
}

Aml operation_region(std::string_view n, RegionSpace space, const Aml& offset, const Aml& length) {
    Aml out{kExtOpPrefix, kOpRegionOp};
    put(out, name_string(n));
    out.push_back(static_cast<uint8_t>(space));
    put(out, offset);
    put(out, length);
    return out;
}

Aml field(std::string_view region, FieldAccess access, bool lock, FieldUpdate update,
          const std::vector<FieldUnit>& units) {
    Aml c = name_string(region);
    c.push_back(static_cast<uint8_t>(static_cast<uint8_t>(access) | (lock ? 0x10 : 0) |
                                     (static_cast<uint8_t>(update) << 5)));
    for (const auto& u : units) {
        Aml seg = name_string(u.name);
        put(c, seg);
        put(c, pkg_length(u.bits, false));
    }
    return with_length({kExtOpPrefix, kFieldOp}, c);
}

Aml create_dword_field(const Aml& source, const Aml& byte_index, std::string_view n) {
    return op3(kCreateDWordFieldOp, source, byte_index, name_string(n));
}

Aml local(unsigned n) { return {static_cast<uint8_t>(kLocal0 + (n & 7))}; }
Aml arg(unsigned n) { return {static_cast<uint8_t>(kArg0 + (n % 7))}; }
Aml null_target() { return {0}; }
Aml store(const Aml& source, const Aml& target) { return op2(kStoreOp, source, target); }
Aml and_(const Aml& a, const Aml& b, const Aml& target) { return op3(kAndOp, a, b, target); }
Aml or_(const Aml& a, const Aml& b, const Aml& target) { return op3(kOrOp, a, b, target); }
Aml lequal(const Aml& a, const Aml& b) { return op2(kLEqualOp, a, b); }

Aml lnot(const Aml& a) {
    Aml out{kLNotOp};
    put(out, a);
    return out;
}

Aml if_(const Aml& predicate, const AmlList& body) {
    Aml c = predicate;
    put(c, join(body));
    return with_length({kIfOp}, c);
}

Aml else_(const AmlList& body) { return with_length({kElseOp}, join(body)); }

Aml return_(const Aml& value) {
    Aml out{kReturnOp};
    put(out, value);
    return out;
}

Aml notify(const Aml& object, const Aml& value) { return op2(kNotifyOp, object, value); }

Aml resources(const AmlList& descriptors) {
    Aml bytes = join(descriptors);
    bytes.insert(bytes.end(), {0x79, 0x00});  // End Tag (checksum 0: none)
    return buffer(bytes);
}

Aml memory32_fixed(uint32_t base, uint32_t length, bool writable) {
    Aml body{static_cast<uint8_t>(writable ? 1 : 0)};
    put_le(body, base, 4);
    put_le(body, length, 4);
    return large(0x86, body);
}

Aml interrupt(IrqFlags f, const std::vector<uint32_t>& gsis) {
    Aml body{static_cast<uint8_t>((f.consumer ? 1 : 0) | (f.edge ? 2 : 0) | (f.active_low ? 4 : 0) |
                                  (f.shared ? 8 : 0)),
             static_cast<uint8_t>(gsis.size())};
    for (uint32_t g : gsis) put_le(body, g, 4);
    return large(0x89, body);
}

Aml word_bus_number(uint16_t min, uint16_t max) {
    Aml body = address_head(2, 0);
    for (uint64_t v : {uint64_t{0}, uint64_t{min}, uint64_t{max}, uint64_t{0}, uint64_t{max - min + 1u}})
        put_le(body, v, 2);
    return large(0x88, body);
}

Aml dword_memory(uint32_t min, uint32_t max, uint32_t length) {
    Aml body = address_head(0, 0x01);  // read-write, non-cacheable, memory range
    for (uint64_t v : {uint64_t{0}, uint64_t{min}, uint64_t{max}, uint64_t{0}, uint64_t{length}}) put_le(body, v, 4);
    return large(0x87, body);
}

Aml dword_io(uint32_t min, uint32_t max, uint32_t translation, uint32_t length) {
    Aml body = address_head(1, 0x03);  // entire range, type static, dense
    for (uint64_t v : {uint64_t{0}, uint64_t{min}, uint64_t{max}, uint64_t{translation}, uint64_t{length}})
        put_le(body, v, 4);
    return large(0x87, body);
}

Aml qword_memory(uint64_t min, uint64_t max, uint64_t length) {
    Aml body = address_head(0, 0x01);
    for (uint64_t v : {uint64_t{0}, min, max, uint64_t{0}, length}) put_le(body, v, 8);
    return large(0x8a, body);
}

}  // namespace armvm::acpi
