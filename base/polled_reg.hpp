// A device register a CPU may read without the machine lock: one whose
// reads have no side effects and whose value the device keeps where any
// thread may read it (a status register a driver polls in a loop, such
// as the PL011's flags). The device owns it and lives as long as the
// machine; read() is called from vCPU threads with no lock held.
#pragma once
#include <cstdint>

namespace armvm {

class PolledReg {
public:
    virtual uint64_t read() const = 0;

protected:
    ~PolledReg() = default;
};

}  // namespace armvm
