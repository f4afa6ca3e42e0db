// armvm-user-run: runs a static AArch64 Linux ELF on armvm's CPU core with
// just enough of the Linux syscall ABI for the differential tests
// (write(2), exit(2), exit_group(2), rt_sigaction(2) for SIGILL, SIGBUS and
// SIGSEGV, whose handlers get Linux's signal frame: siginfo and a ucontext
// with the registers, PC, NZCV and the FP/SIMD record). The reference runs
// the same ELF under Debian's qemu-aarch64; tests compare what both write.
//
// usage: armvm-user-run PROGRAM.elf
// exit status: the program's, or 132 for an undefined instruction (as a
// shell reports SIGILL), 139 for a memory fault, when no handler is set.
#include <elf.h>

#include <cstdio>
#include <cstdlib>
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

// Linux's arm64 signal numbers and the si_code values used here (for an
// undefined instruction ILL_ILLOPN, as qemu-aarch64 reports it).
constexpr unsigned kSigIll = 4, kSigBus = 7, kSigSegv = 11;
constexpr int kIllIllOpn = 2, kBusAdrAln = 1, kSegvMapErr = 1;

// Delivers `sig` to `handler` as Linux does: struct rt_sigframe (siginfo,
// then the ucontext) below the stack pointer, X0-X2 the handler's
// arguments. Returns false if the frame cannot be written.
bool deliver(Cpu& cpu, UserBus& bus, unsigned sig, int code, uint64_t addr, uint64_t handler) {
    constexpr uint64_t kInfo = 0, kUc = 128, kMc = kUc + 176, kFpsimd = kMc + 288, kSize = kFpsimd + 528 + 16;
    uint64_t frame = (cpu.s.sp_el0 - kSize) & ~uint64_t{15};
    bool ok = true;
    auto put = [&](uint64_t off, unsigned size, uint64_t v) { ok = ok && bus.write(frame + off, size, v, MemAttrs{}); };
    for (uint64_t off = 0; off < kSize; off += 8) put(off, 8, 0);
    put(kInfo + 0, 4, sig);
    put(kInfo + 8, 4, static_cast<uint32_t>(code));
    put(kInfo + 16, 8, addr);                       // si_addr
    put(kMc + 0, 8, sig == kSigIll ? 0 : addr);     // fault_address
    for (unsigned r = 0; r < 31; ++r) put(kMc + 8 + 8 * r, 8, cpu.s.x[r]);
    put(kMc + 256, 8, cpu.s.sp_el0);
    put(kMc + 264, 8, cpu.s.pc);
    put(kMc + 272, 8, cpu.s.nzcv);                  // PSTATE: EL0t with NZCV
    put(kFpsimd + 0, 4, 0x46508001);                // FPSIMD_MAGIC
    put(kFpsimd + 4, 4, 528);
    put(kFpsimd + 8, 4, cpu.s.fpsr);
    put(kFpsimd + 12, 4, cpu.s.fpcr);
    for (unsigned r = 0; r < 32; ++r) {
        put(kFpsimd + 16 + 16 * r, 8, cpu.s.v[r][0]);
        put(kFpsimd + 24 + 16 * r, 8, cpu.s.v[r][1]);
    }
    if (!ok) return false;
    cpu.s.x[0] = sig;
    cpu.s.x[1] = frame + kInfo;
    cpu.s.x[2] = frame + kUc;
    cpu.s.x[30] = 0;  // (no sa_restorer: the tests' handlers exit)
    cpu.s.sp_el0 = frame;
    cpu.s.pc = handler;
    return true;
}

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
    // (ARMVM_USER_CPU: the model whose features the program may use, as
    // qemu-aarch64 -cpu; cortex-a57 by default)
    if (const char* model = std::getenv("ARMVM_USER_CPU")) {
        cpu.ids = id_regs_for(model, true);
        if (!std::strcmp(model, "max")) {  // (what qemu-aarch64's max has, not qemu-system's)
            cpu.ids.ctr = 0x80038003;  // 32-byte lines, VIPT instruction cache
            cpu.ids.dczid = 7;         // DC ZVA: 512 bytes
        }
    }
    if (!bus.ram.empty()) cpu.set_ram_window(bus.ram_base, bus.ram.data(), bus.ram.size());
    cpu.s.el = 0;
    cpu.s.cpacr_el1 = 3u << 20;  // FP/AdvSIMD enabled, as Linux gives a process
    // DC ZVA (DZE), CTR_EL0 (UCT) and cache maintenance by VA (UCI) at
    // EL0, as Linux allows
    cpu.s.sctlr_el1 |= (1u << 14) | (1u << 15) | (1u << 26);
    // Pointer authentication as Linux (and qemu-aarch64) gives a process:
    // all four keys enabled (these fixed; the kernel's are random), the
    // PAC field above a 48-bit address with the top byte ignored (TBI0)
    if (cpu.has_pauth()) {
        cpu.s.sctlr_el1 |= (1u << 31) | (1u << 30) | (1u << 27) | (1u << 13);
        for (unsigned k = 0; k < 5; ++k) cpu.s.pac_keys[k] = {0x9e3779b97f4a7c15ull * (k + 1), 0xbf58476d1ce4e5b9ull ^ k};
        cpu.s.tcr_el1 = 16 | (1ull << 37);
    }
    cpu.mode_changed();
    cpu.s.spsel = false;
    cpu.s.sp_el0 = stack_top - 4096;
    cpu.s.pc = eh.e_entry;
    cpu.stop_on_exception = true;
    std::map<unsigned, uint64_t> handlers;  // signal -> handler
    bool in_handler = false;
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
            if (nr == 134) {  // rt_sigaction(sig, act, oldact, sigsetsize)
                unsigned sig = static_cast<unsigned>(cpu.s.x[0]);
                uint64_t handler = 0;
                if ((sig != kSigIll && sig != kSigBus && sig != kSigSegv) || cpu.s.x[2] != 0 ||
                    !bus.read(cpu.s.x[1], 8, handler, MemAttrs{})) {
                    std::fprintf(stderr, "armvm-user-run: unsupported rt_sigaction(%u)\n", sig);
                    return 2;
                }
                handlers[sig] = handler;
                cpu.s.x[0] = 0;
                continue;
            }
            if (nr == 93 || nr == 94) {
                std::fflush(stdout);
                return static_cast<int>(cpu.s.x[0] & 0xff);
            }
            std::fprintf(stderr, "armvm-user-run: unsupported syscall %llu\n", static_cast<unsigned long long>(nr));
            return 2;
        }
        // A fault of the program's own code (not of its handler) goes to
        // the handler of its signal, if one is set.
        unsigned sig = 0;
        int code = 0;
        uint64_t addr = cpu.last_far;
        if (cpu.last_ec == Ec::Unknown) {
            sig = kSigIll, code = kIllIllOpn, addr = cpu.s.pc;
        } else if (cpu.last_ec == Ec::DataAbortLower && (cpu.last_iss & 0x3f) == 0x21) {
            sig = kSigBus, code = kBusAdrAln;
        } else if (cpu.last_ec == Ec::DataAbortLower || cpu.last_ec == Ec::InsnAbortLower) {
            sig = kSigSegv, code = kSegvMapErr;
        }
        if (sig && handlers.count(sig) && !in_handler) {
            in_handler = true;
            if (deliver(cpu, bus, sig, code, addr, handlers[sig])) continue;
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
