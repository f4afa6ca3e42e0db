// Hosts without a JIT backend: the interpreter runs every block.
#include "cpu-arm64/jit/jit.hpp"

namespace armvm::jit {

bool enabled_by_default() { return false; }
std::unique_ptr<Backend> make_backend(Cpu&, size_t) { return nullptr; }
uint32_t hot_threshold(uint32_t normal) { return normal; }

}  // namespace armvm::jit
