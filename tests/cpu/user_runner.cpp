// armvm-user-run: runs a static AArch64 Linux ELF on armvm's CPU core with
// just enough of the Linux syscall ABI for the differential tests
// (write(2), exit(2), exit_group(2)). The reference runs the same ELF under
// Debian's qemu-aarch64; tests compare what both write.
//
// usage: armvm-user-run PROGRAM.elf
// exit status: the program's, or 132 for an undefined instruction (as a
// shell reports SIGILL), 139 for a memory fault.
#include <elf.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

#include "cpu-arm64/cpu.hpp"

using namespace armvm;

namespace {

// Flat memory: the ELF's segments (one block, which the CPU is given as
// its RAM window, so loads and stores take the direct paths the board's
// RAM takes) plus a stack, page-granular.
class UserBus : public Bus {
public:
    std::map<uint64_t, std::vector<uint8_t>> pages;  // page base -> 4 KiB
    uint64_t ram_base = 0;
    std::vector<uint8_t> ram;

    uint8_t* at(uint64_t a, bool create) {
        if (a - ram_base < ram.size()) return ram.data() + (a - ram_base);
        uint64_t base = a & ~0xfffull;
        auto it = pages.find(base);
        if (it == pages.end()) {
            if (!create) return nullptr;
            it = pages.emplace(base, std::vector<uint8_t>(4096)).first;
        }
        return it->second.data() + (a & 0xfff);
    }
    bool read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs) override {
        value = 0;
        for (unsigned i = 0; i < size; ++i) {
            uint8_t* p = at(pa + i, false);
            if (!p) return false;
            value |= static_cast<uint64_t>(*p) << (8 * i);
        }
        return true;
    }
    bool write(uint64_t pa, unsigned size, uint64_t value, MemAttrs) override {
        for (unsigned i = 0; i < size; ++i) {
            uint8_t* p = at(pa + i, false);
            if (!p) return false;
            *p = static_cast<uint8_t>(value >> (8 * i));
        }
        return true;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: armvm-user-run PROGRAM.elf\n");
        return 2;
    }
    std::ifstream f(argv[1], std::ios::binary);
    std::vector<uint8_t> elf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (elf.size() < sizeof(Elf64_Ehdr)) return 2;
    Elf64_Ehdr eh;
    std::memcpy(&eh, elf.data(), sizeof eh);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_machine != EM_AARCH64) {
        std::fprintf(stderr, "not an AArch64 ELF\n");
        return 2;
    }
    UserBus bus;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        std::memcpy(&ph, elf.data() + eh.e_phoff + i * eh.e_phentsize, sizeof ph);
        if (ph.p_type != PT_LOAD) continue;
        lo = std::min<uint64_t>(lo, ph.p_vaddr & ~0xfffull);
        hi = std::max<uint64_t>(hi, (ph.p_vaddr + ph.p_memsz + 0xfff) & ~0xfffull);
    }
    if (lo < hi && hi - lo <= (64u << 20)) {
        bus.ram_base = lo;
        bus.ram.resize(hi - lo);
    }
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        std::memcpy(&ph, elf.data() + eh.e_phoff + i * eh.e_phentsize, sizeof ph);
        if (ph.p_type != PT_LOAD) continue;
        for (uint64_t a = 0; a < ph.p_memsz; ++a) {
            uint8_t* p = bus.at(ph.p_vaddr + a, true);
            *p = a < ph.p_filesz ? elf[ph.p_offset + a] : 0;
        }
    }
    const uint64_t stack_top = 0x7ff0000000;
    for (uint64_t a = stack_top - 64 * 1024; a < stack_top; a += 4096) bus.at(a, true);

    Cpu cpu(bus);
    if (!bus.ram.empty()) cpu.set_ram_window(bus.ram_base, bus.ram.data(), bus.ram.size());
    cpu.s.el = 0;
    cpu.s.cpacr_el1 = 3u << 20;  // FP/AdvSIMD enabled, as Linux gives a process
    cpu.s.sctlr_el1 |= 1u << 14;  // DC ZVA at EL0 (SCTLR_EL1.DZE), as Linux allows
    cpu.mode_changed();
    cpu.s.spsel = false;
    cpu.s.sp_el0 = stack_top - 4096;
    cpu.s.pc = eh.e_entry;
    cpu.stop_on_exception = true;
    for (;;) {
        auto stop = cpu.run(1u << 30);
        if (stop != Cpu::Stop::Exception) continue;
        if (cpu.last_ec == Ec::Svc64) {
            uint64_t nr = cpu.s.x[8];
            if (nr == 64) {  // write(fd, buf, len)
                std::vector<uint8_t> out(cpu.s.x[2]);
                for (size_t i = 0; i < out.size(); ++i) {
                    uint64_t v;
                    if (!bus.read(cpu.s.x[1] + i, 1, v, MemAttrs{})) return 139;
                    out[i] = static_cast<uint8_t>(v);
                }
                std::fwrite(out.data(), 1, out.size(), cpu.s.x[0] == 2 ? stderr : stdout);
                cpu.s.x[0] = out.size();
                continue;
            }
            if (nr == 93 || nr == 94) {
                std::fflush(stdout);
                return static_cast<int>(cpu.s.x[0] & 0xff);
            }
            std::fprintf(stderr, "armvm-user-run: unsupported syscall %llu\n", static_cast<unsigned long long>(nr));
            return 2;
        }
        uint64_t raw = 0;
        bus.read(cpu.s.pc, 4, raw, MemAttrs{});
        std::fflush(stdout);
        if (cpu.last_ec == Ec::Unknown) {
            std::fprintf(stderr, "UNDEF at %#llx: %08x (%s)\n", static_cast<unsigned long long>(cpu.s.pc),
                         static_cast<uint32_t>(raw), a64::op_name(a64::decode(static_cast<uint32_t>(raw))));
            return 132;
        }
        std::fprintf(stderr, "exception EC %#x at %#llx\n", static_cast<unsigned>(cpu.last_ec),
                     static_cast<unsigned long long>(cpu.s.pc));
        return 139;
    }
}
