// -d ITEMS [-D FILE] [-dfilter RANGES] and HMP log/logfile: what QEMU's
// qemu_log does, in its words, for developers watching a guest. Process-
// wide as QEMU's (one log file per process: two machines in one process
// share it, the one exception to "no globals", recorded in ARCHITECTURE.md).
// A check is one relaxed load of a mask; nothing is formatted when an item
// is off, and nothing reaches stderr unless an item was asked for.
// guest_errors and unimp are rate-limited (a guest hammering a bad
// register cannot fill the disk).
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace armvm::qlog {

enum Item : uint32_t {
    InAsm = 1u << 0,      // guest code of each block when decoded (capstone)
    Int = 1u << 1,        // exceptions and interrupts taken, exception returns
    Exec = 1u << 2,       // every block run (the JIT stays off)
    Cpu = 1u << 3,        // the registers before every block (the JIT stays off)
    Fpu = 1u << 4,        // with cpu: FP/SIMD registers too
    Mmu = 1u << 5,
    Unimp = 1u << 6,      // a guest using something armvm does not implement
    GuestErrors = 1u << 7,  // a guest doing something invalid (bad device offset, ...)
    Nochain = 1u << 8,    // compiled code returns to the run loop after every block (exec and cpu see
                          // every block anyway: no compiled code runs while they log)
    CpuReset = 1u << 9,
    Page = 1u << 10,
    Tid = 1u << 11,
    OutAsm = 1u << 12,    // the JIT's host code of each block it compiles (capstone)
};

extern std::atomic<uint32_t> g_mask;
inline bool on(Item i) { return g_mask.load(std::memory_order_relaxed) & i; }

// One line or block of lines, written whole (threads do not interleave).
void write(const std::string& text);
void printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// For guest_errors/unimp: false once the item has logged too much this second.
bool allow(Item i);

// "in_asm,int" (or "none"): the mask; the error names the bad item as QEMU's.
// trace:PATTERN items switch trace events on (base/trace.hpp) when all
// the items are good.
Result<uint32_t> parse_items(const std::string& items);
// The items armvm accepts, as `-d help` lists them (`monitor`: as HMP's
// log command does).
std::string items_help(bool monitor = false);
// Applies a mask and a file ("" for stderr; "%d" becomes the pid).
Status configure(uint32_t mask, const std::string& file);
uint32_t mask();
const std::string& file();
// -dfilter "0x1000+0x100,0x2000..0x2fff,0x3000-0x10": what in_asm, exec and
// cpu log is limited to blocks starting in these ranges.
Status set_filter(const std::string& ranges);
bool in_filter(uint64_t pc);

// The guest's function symbols (an ELF -kernel's STT_FUNC symbols, as
// QEMU's lookup_symbol knows them): "IN: main" in in_asm's log.
struct Symbol {
    uint64_t addr = 0, size = 0;
    std::string name;
};
void set_symbols(std::vector<Symbol> syms);
// The function containing `addr`, or "".
std::string symbol(uint64_t addr);

}  // namespace armvm::qlog
