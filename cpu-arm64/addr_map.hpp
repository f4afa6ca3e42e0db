// AddrMap<T>: objects by a 4-byte-aligned address (the CPU's decoded
// blocks by physical address). An open-addressing table of (address,
// pointer) pairs, linear probing, at most half full, deletion by backward
// shift (no tombstones). The objects are allocated one by one and owned
// by the map: their addresses stay valid until they are extracted or the
// map is cleared, which links and caches rely on.
//
// Why not std::unordered_map: a lookup there divides by a prime and
// follows a bucket and then a node, three dependent cache misses in a
// table of tens of thousands of blocks; here a multiply and, mostly, one
// slot (a Linux boot's block lookups took ~3% of the CPU thread).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace armvm {

template <class T>
class AddrMap {
public:
    AddrMap() = default;
    AddrMap(const AddrMap&) = delete;
    AddrMap& operator=(const AddrMap&) = delete;
    AddrMap(AddrMap&& o) noexcept { swap(o); }
    AddrMap& operator=(AddrMap&& o) noexcept {
        if (this != &o) {
            clear();
            swap(o);
        }
        return *this;
    }
    ~AddrMap() { clear(); }

    T* find(uint64_t key) const {
        if (!size_) return nullptr;
        for (size_t i = home(key);; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (!s.obj) return nullptr;
            if (s.key == key) return s.obj;
        }
    }
    // Adds `v` under `key` (not in the map); returns where it lives.
    T& insert(uint64_t key, T&& v) {
        if (2 * (size_ + 1) > cap()) grow();
        auto obj = std::make_unique<T>(std::move(v));
        size_t i = home(key);
        while (slots_[i].obj) i = (i + 1) & mask_;
        slots_[i] = {key, obj.get()};
        ++size_;
        return *obj.release();
    }
    // Takes the object under `key` out of the map (null: none).
    std::unique_ptr<T> extract(uint64_t key) {
        if (!size_) return nullptr;
        size_t i = home(key);
        while (slots_[i].obj && slots_[i].key != key) i = (i + 1) & mask_;
        if (!slots_[i].obj) return nullptr;
        std::unique_ptr<T> out(slots_[i].obj);
        // Backward shift: each later entry of the run that may live at i
        // (its home is not in (i, j]) moves there, and so on.
        for (size_t j = i;;) {
            j = (j + 1) & mask_;
            if (!slots_[j].obj) break;
            size_t h = home(slots_[j].key);
            bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
            if (stays) continue;
            slots_[i] = slots_[j];
            i = j;
        }
        slots_[i] = Slot{};
        --size_;
        return out;
    }
    size_t size() const { return size_; }
    template <class F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < cap(); ++i)
            if (slots_[i].obj) f(slots_[i].key, *slots_[i].obj);
    }
    void clear() {
        for (size_t i = 0; i < cap(); ++i) delete slots_[i].obj;
        slots_.reset();
        mask_ = 0;
        shift_ = 64;
        size_ = 0;
    }

private:
    struct Slot {
        uint64_t key = 0;
        T* obj = nullptr;  // null: empty
    };
    std::unique_ptr<Slot[]> slots_;
    size_t mask_ = 0, size_ = 0;
    unsigned shift_ = 64;
    size_t cap() const { return slots_ ? mask_ + 1 : 0; }
    size_t home(uint64_t key) const {  // Fibonacci hashing of the word index
        return static_cast<size_t>(((key >> 2) * 0x9e3779b97f4a7c15ull) >> shift_);
    }
    void grow() {
        size_t old_cap = cap();
        size_t n = old_cap ? 2 * old_cap : 1024;
        std::unique_ptr<Slot[]> old = std::exchange(slots_, std::make_unique<Slot[]>(n));
        mask_ = n - 1;
        shift_ = 64;
        for (size_t c = n; c > 1; c >>= 1) --shift_;
        for (size_t i = 0; i < old_cap; ++i)
            if (old[i].obj) {
                size_t j = home(old[i].key);
                while (slots_[j].obj) j = (j + 1) & mask_;
                slots_[j] = old[i];
            }
    }
    void swap(AddrMap& o) noexcept {
        std::swap(slots_, o.slots_);
        std::swap(mask_, o.mask_);
        std::swap(shift_, o.shift_);
        std::swap(size_, o.size_);
    }
};

}  // namespace armvm
