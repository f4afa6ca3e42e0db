// Split virtqueues (virtio 1.1 section 2.6): descriptor table, available
// ring (driver to device), used ring (device to driver). The driver's
// memory is checked at every step: a bad address, a loop in a chain or a
// malformed indirect table marks the queue broken instead of crashing.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "hw/virtio/virtio.hpp"

namespace armvm {

namespace {

constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;
constexpr uint16_t kAvailNoInterrupt = 1;

struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
static_assert(sizeof(Desc) == 16);

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

size_t VirtqElement::out_bytes() const {
    size_t n = 0;
    for (auto& p : out) n += p.len;
    return n;
}
size_t VirtqElement::in_bytes() const {
    size_t n = 0;
    for (auto& p : in) n += p.len;
    return n;
}

size_t VirtqElement::read_out(size_t offset, void* dst, size_t len) const {
    size_t done = 0;
    auto* d = static_cast<uint8_t*>(dst);
    for (auto& p : out) {
        if (offset >= p.len) {
            offset -= p.len;
            continue;
        }
        size_t n = std::min<size_t>(p.len - offset, len - done);
        std::memcpy(d + done, p.p + offset, n);
        done += n;
        offset = 0;
        if (done == len) break;
    }
    return done;
}

size_t VirtqElement::write_in(size_t offset, const void* src, size_t len) const {
    size_t done = 0;
    auto* s = static_cast<const uint8_t*>(src);
    for (auto& p : in) {
        if (offset >= p.len) {
            offset -= p.len;
            continue;
        }
        size_t n = std::min<size_t>(p.len - offset, len - done);
        std::memcpy(p.p + offset, s + done, n);
        done += n;
        offset = 0;
        if (done == len) break;
    }
    return done;
}

void VirtQueue::reset() {
    num = 0;
    ready = false;
    desc = avail = used = 0;
    last_avail_ = used_idx_ = 0;
    broken_ = false;
}

bool VirtQueue::usable(AddressSpace& as) const {
    return ready && num && !broken_ && as.ram_ptr(desc, 16ull * num) && as.ram_ptr(avail, 6 + 2ull * num) &&
           as.ram_ptr(used, 6 + 8ull * num);
}

bool VirtQueue::pop(AddressSpace& as, VirtqElement& e, bool indirect_ok) {
    if (!usable(as)) {
        if (ready && num && !broken_) broken_ = true;  // set up, but the rings are not in RAM
        return false;
    }
    uint8_t* av = as.ram_ptr(avail, 4 + 2ull * num);
    uint16_t idx = __atomic_load_n(reinterpret_cast<uint16_t*>(av + 2), __ATOMIC_ACQUIRE);
    if (idx == last_avail_) return false;
    if (static_cast<uint16_t>(idx - last_avail_) > num) {  // more available than the ring holds
        broken_ = true;
        return false;
    }
    uint16_t head = load<uint16_t>(av + 4 + 2 * (last_avail_ % num));
    std::atomic_thread_fence(std::memory_order_acquire);  // the descriptors after the index
    e = VirtqElement{};
    e.head = head;
    if (head >= num) {
        broken_ = true;
        return false;
    }
    // Walk the chain (in the table, or in one indirect table).
    const uint8_t* table = as.ram_ptr(desc, 16ull * num);
    uint32_t table_len = num;
    uint32_t i = head, steps = 0;
    bool in_indirect = false;
    for (;;) {
        if (i >= table_len || ++steps > table_len + 1) {
            broken_ = true;
            return false;
        }
        Desc d = load<Desc>(table + 16ull * i);
        if (d.flags & kDescIndirect) {
            // An indirect table: only as the whole of a chain's head, not nested.
            if (!indirect_ok || in_indirect || (d.flags & kDescNext) || d.len % 16 || d.len == 0) {
                broken_ = true;
                return false;
            }
            const uint8_t* t = as.ram_ptr(d.addr, d.len);
            if (!t) {
                broken_ = true;
                return false;
            }
            table = t;
            table_len = d.len / 16;
            i = 0;
            steps = 0;
            in_indirect = true;
            continue;
        }
        uint8_t* p = d.len ? as.ram_ptr(d.addr, d.len) : nullptr;
        if (d.len && !p) {
            broken_ = true;
            return false;
        }
        if (d.flags & kDescWrite)
            e.in.push_back({p, d.len});
        else if (!e.in.empty()) {  // a readable piece after a writable one
            broken_ = true;
            return false;
        } else
            e.out.push_back({p, d.len});
        if (!(d.flags & kDescNext)) break;
        i = d.next;
    }
    ++last_avail_;
    return true;
}

void VirtQueue::push(AddressSpace& as, const VirtqElement& e, uint32_t written) {
    if (!usable(as)) return;
    // What the device wrote may overwrite code: dropped before the driver
    // can see the buffer back.
    uint64_t left = written;
    for (const auto& piece : e.in) {
        if (!left) break;
        uint64_t n = std::min<uint64_t>(left, piece.len);
        as.device_wrote(piece.p, n);
        left -= n;
    }
    uint8_t* u = as.ram_ptr(used, 4 + 8ull * num);
    uint8_t* slot = u + 4 + 8ull * (used_idx_ % num);
    uint32_t id = e.head;
    std::memcpy(slot, &id, 4);
    std::memcpy(slot + 4, &written, 4);
    ++used_idx_;
    __atomic_store_n(reinterpret_cast<uint16_t*>(u + 2), used_idx_, __ATOMIC_RELEASE);
}

bool VirtQueue::interrupt_suppressed(AddressSpace& as) const {
    if (!usable(as)) return false;
    // A full fence between publishing used->idx (push) and reading the
    // driver's flags (virtio 1.1 section 2.7.7.2): the driver clears the
    // flag, then reads used->idx; without the store-load order here both
    // sides could see the other's old value and the interrupt be lost.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    uint8_t* av = as.ram_ptr(avail, 2);
    return __atomic_load_n(reinterpret_cast<uint16_t*>(av), __ATOMIC_ACQUIRE) & kAvailNoInterrupt;
}

}  // namespace armvm
