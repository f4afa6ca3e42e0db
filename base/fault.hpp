// Fault points for tests: compiled in only with -Dfault_injection=true.
// A test sets ARMVM_FAULT=<name> in the environment; the named point then
// fires. In a normal build fault_point() is constant false.
#pragma once
#include <string_view>

namespace armvm {

#if ARMVM_FAULT_INJECTION
bool fault_point(std::string_view name);
#else
constexpr bool fault_point(std::string_view) { return false; }
#endif

}  // namespace armvm
