#include <memory>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

namespace armvm {

SysRegAccess el0_ok(const Cpu&, bool) { return SysRegAccess::Ok; }

SysRegAccess el0_read_only(const Cpu& c, bool write) {
    return c.s.el == 0 && write ? SysRegAccess::Undefined : SysRegAccess::Ok;
}

const SysRegDesc* find_sysreg(uint32_t key) {
    // One slot per 16-bit encoding, filled on first use (no static
    // constructors); a duplicate encoding is a programming error caught by
    // the unit tests (test_sysregs).
    static const std::unique_ptr<const SysRegDesc*[]> table = [] {
        auto t = std::make_unique<const SysRegDesc*[]>(1u << 16);
        for (auto area : {base_sysregs(), debug_sysregs(), mmu_sysregs(), timer_sysregs(), pmu_sysregs(),
                          id_sysregs()})
            for (const auto& d : area) t[d.key & 0xffff] = &d;
        return t;
    }();
    return table[key & 0xffff];
}

}  // namespace armvm
