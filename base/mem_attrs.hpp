// Who makes a memory access (QEMU's MemTxAttrs, the part armvm needs): a
// CPU (its index: the GIC's banked registers answer per CPU) or a PCI
// function (its requester ID: the ITS takes it as the DeviceID). Passed
// from the CPU or device through the address space to the device that
// answers, instead of a thread-local "current CPU".
#pragma once
#include <cstdint>

namespace armvm {

struct MemAttrs {
    int cpu = -1;           // the accessing vCPU, or -1
    int requester_id = -1;  // the PCI requester ID (bus << 8 | devfn), or -1
};

}  // namespace armvm
