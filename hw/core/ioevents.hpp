// Doorbells served off the vCPU thread (QEMU's ioeventfd): a device binds
// a guest-physical address to a handler; a guest write there (of any size,
// or of one size and value) signals an eventfd — in the kernel under
// KVM, without leaving the guest; in the address space's write path for
// an access that exits anyway — and the handler runs on the main loop with
// the BQL. Virtio transports bind their queue-notify addresses so a vCPU
// that kicks a queue goes straight back to the guest. The board makes a
// hub under KVM only, as QEMU (its TCG has no ioeventfds).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "hw/core/address_space.hpp"

namespace armvm {

class EventLoop;

class IoEvents {
public:
    virtual ~IoEvents() = default;
    // An id for unbind(), or 0 if no eventfd could be made (the device
    // then keeps taking the write itself).
    // With `match`, only a write of that size and value rings it.
    virtual uint64_t bind(uint64_t pa, std::function<void()> fn, std::optional<DoorbellMatch> match = {}) = 0;
    // With `drain`, a kick still pending runs its handler first (a doorbell
    // that moves or stops loses no kick).
    virtual void unbind(uint64_t id, bool drain) = 0;
};

// Caller holds the BQL for every call.
class IoEventHub : public IoEvents {
public:
    IoEventHub(EventLoop& loop, AddressSpace& as) : loop_(loop), as_(as) {}
    ~IoEventHub() override;
    uint64_t bind(uint64_t pa, std::function<void()> fn, std::optional<DoorbellMatch> match = {}) override;
    void unbind(uint64_t id, bool drain) override;
    uint64_t signals() const { return signals_; }  // handler runs (ARMVM_STATS)

private:
    struct Bound {
        uint64_t pa;
        int fd;
        std::function<void()> fn;
        std::optional<DoorbellMatch> match;
    };
    EventLoop& loop_;
    AddressSpace& as_;
    std::map<uint64_t, Bound> bound_;
    uint64_t next_ = 1;
    uint64_t signals_ = 0;
};

}  // namespace armvm
