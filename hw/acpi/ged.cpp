#include "hw/acpi/ged.hpp"

namespace armvm {

uint64_t AcpiGed::read(uint64_t offset, unsigned size) {
    if (offset != 0 || size != 4) return 0;
    uint32_t v = selector_;
    selector_ = 0;  // reading the selector takes the events
    return v;
}

void AcpiGed::raise(uint32_t events) {
    selector_ |= events;
    irq_.set(true);
    irq_.set(false);
}

}  // namespace armvm
