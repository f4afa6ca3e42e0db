#include "base/fault.hpp"

#include <cstdlib>

namespace armvm {

#if ARMVM_FAULT_INJECTION
bool fault_point(std::string_view name) {
    const char* v = std::getenv("ARMVM_FAULT");
    return v && name == v;
}
#endif

}  // namespace armvm
