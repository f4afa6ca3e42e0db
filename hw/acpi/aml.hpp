// An encoder for ACPI Machine Language (ACPI 6.4, chapter 20): the terms a
// board's DSDT needs, each a function returning its encoded bytes, so a
// namespace is written as nested calls:
//
//   scope("\\_SB", {device("COM0", {name("_HID", string("ARMH0011")),
//                                   name("_CRS", resources({memory32_fixed(...)}))})})
//
// Integers take the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/
// QWordPrefix) and package lengths the fewest bytes, as ASL compilers and
// QEMU do, so the tables can be compared byte for byte.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace armvm::acpi {

using Aml = std::vector<uint8_t>;
using AmlList = std::vector<Aml>;

// Data
Aml integer(uint64_t v);
Aml string(std::string_view s);                  // StringPrefix "s" NUL
Aml buffer(const std::vector<uint8_t>& bytes);   // Buffer (n) { bytes }
Aml unicode(std::string_view ascii);             // ASL Unicode(): a UTF-16LE buffer
Aml uuid(std::string_view text);                 // ASL ToUUID(): a 16-byte buffer
Aml package(const AmlList& elements);
Aml var_package(const AmlList& elements);        // VarPackageOp: the count is a term
Aml name_string(std::string_view path);          // "\\_SB.PCI0", "^CTRL", "GED" (padded with '_')

// Named objects and their scopes
Aml name(std::string_view n, const Aml& value);
Aml scope(std::string_view n, const AmlList& body);
Aml device(std::string_view n, const AmlList& body);
Aml method(std::string_view n, unsigned args, bool serialized, const AmlList& body);

enum class RegionSpace : uint8_t { SystemMemory = 0, SystemIo = 1, PciConfig = 2 };
Aml operation_region(std::string_view n, RegionSpace space, const Aml& offset, const Aml& length);
enum class FieldAccess : uint8_t { Any = 0, Byte = 1, Word = 2, DWord = 3, QWord = 4 };
enum class FieldUpdate : uint8_t { Preserve = 0, WriteAsOnes = 1, WriteAsZeros = 2 };
struct FieldUnit {
    std::string name;
    unsigned bits;
};
Aml field(std::string_view region, FieldAccess access, bool lock, FieldUpdate update,
          const std::vector<FieldUnit>& units);
Aml create_dword_field(const Aml& source, const Aml& byte_index, std::string_view n);

// Statements and expressions (targets: a name_string, local() or arg();
// null_target() discards the result)
Aml local(unsigned n);  // Local0..7
Aml arg(unsigned n);    // Arg0..6
Aml null_target();
Aml store(const Aml& source, const Aml& target);
Aml and_(const Aml& a, const Aml& b, const Aml& target);
Aml or_(const Aml& a, const Aml& b, const Aml& target);
Aml lequal(const Aml& a, const Aml& b);
Aml lnot(const Aml& a);
Aml if_(const Aml& predicate, const AmlList& body);
Aml else_(const AmlList& body);
Aml return_(const Aml& value);
Aml notify(const Aml& object, const Aml& value);

// Resource descriptors (ACPI 6.4 §6.4), joined by resources() into the
// buffer of a _CRS/_PRS with its end tag.
Aml resources(const AmlList& descriptors);
Aml memory32_fixed(uint32_t base, uint32_t length, bool writable);
struct IrqFlags {
    bool consumer = true, edge = false, active_low = false, shared = false;
};
Aml interrupt(IrqFlags flags, const std::vector<uint32_t>& gsis);
// Address space descriptors of a bridge (producer, fixed min and max,
// positive decode): bus numbers, memory (non-cacheable, read-write) and
// I/O (entire range, dense, with a translation to the memory window).
Aml word_bus_number(uint16_t min, uint16_t max);
Aml dword_memory(uint32_t min, uint32_t max, uint32_t length);
Aml dword_io(uint32_t min, uint32_t max, uint32_t translation, uint32_t length);
Aml qword_memory(uint64_t min, uint64_t max, uint64_t length);

}  // namespace armvm::acpi
