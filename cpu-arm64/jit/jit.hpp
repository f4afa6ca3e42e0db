// A backend that compiles translation blocks to host code (DESIGN.md:
// decoding, block management and execution are separate). The run loop
// (Cpu::run) stays in charge: it enters compiled code for a block that
// fits the instruction budget; compiled code runs that block and the
// blocks chained after it (through the same Block::links the interpreter
// keeps) while nothing needs the run loop's attention — an exit request,
// a mailbox, an unmasked IRQ, the budget or the PMU deadline — and stops
// at an instruction that did more than fall through exactly as the
// interpreter's handler loop stops, so the run loop finishes the block in
// one place for both.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace armvm {
class Cpu;
struct Block;
}  // namespace armvm

namespace armvm::jit {

// Result::index when compiled code stopped at the head of a block it
// was about to enter through a direct link: nothing of that block ran,
// Cpu::block_va_ is its VA and everything before it is counted.
constexpr uint64_t kUnstarted = 0xffffffff;

struct Result {
    uint64_t index;     // the entry of Cpu::jit_block_ that stopped (its n: ran to the end)
    int64_t remaining;  // the limit left after the blocks run before that one
};

class Backend {
public:
    virtual ~Backend() = default;
    // Compiles `b` (sets b.jit); false when the code space is full: the
    // caller drops every block, then reset().
    virtual bool compile(const Block& b) = 0;
    // Runs `b` (compiled) at `va`, chaining while the next block's entries
    // fit in `limit` instructions.
    virtual Result enter(const Block& b, uint64_t va, int64_t limit) = 0;
    // Forgets all code; only when no block holds any.
    virtual void reset() = 0;
    virtual uint64_t resets() const = 0;
};

// The backend for this host, or nullptr where there is none (the
// interpreter runs everything).
// `arena`: bytes of code space (0: the default, 64 MiB).
std::unique_ptr<Backend> make_backend(Cpu& cpu, size_t arena = 0);
// From the environment, for tests that compare the two executors:
// ARMVM_JIT=0 leaves everything to the interpreter, ARMVM_JIT=eager
// compiles every block the first time it runs, ARMVM_JIT=hot=N after N
// runs (measurements; a Linux boot is as fast from 16 to 128).
bool enabled_by_default();
uint32_t hot_threshold(uint32_t normal);

}  // namespace armvm::jit
