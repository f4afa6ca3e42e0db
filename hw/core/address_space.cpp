#include "hw/core/address_space.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <thread>

namespace armvm {

AddressSpace::AddressSpace(std::mutex& machine_lock) : lock_(machine_lock) { publish(); }

AddressSpace::~AddressSpace() = default;

void AddressSpace::add_ram(uint64_t base, uint8_t* host, uint64_t size, std::string name) {
    ram_name_ = std::move(name);
    ram_base_ = base;
    ram_ = host;
    ram_size_ = size;
}

AddressSpace::RegionId AddressSpace::add_mmio(uint64_t base, uint64_t size, MmioDevice* dev, std::string name,
                                              RegionOpts opts) {
    auto r = std::make_shared<Region>();
    r->id = next_id_++;
    r->base = base;
    r->size = std::min<uint64_t>(size, ~0ull - base);  // (nothing wraps past the top)
    r->dev = dev;
    r->name = std::move(name);
    if (opts.shown_priority < 0) opts.shown_priority = opts.priority;
    r->opts = opts;
    r->rom = nullptr;
    regions_.push_back(std::move(r));
    publish();
    return regions_.back()->id;
}

AddressSpace::RegionId AddressSpace::add_rom_device(uint64_t base, uint64_t size, MmioDevice* dev, uint8_t* host,
                                                    std::string name) {
    Batch b(*this);
    RegionId id = add_mmio(base, size, dev, std::move(name));
    regions_.back()->rom = host;
    regions_.back()->romd.store(true);
    return id;
}

void AddressSpace::del_region(RegionId id) {
    auto it = std::find_if(regions_.begin(), regions_.end(), [id](const auto& r) { return r->id == id; });
    if (it == regions_.end()) return;
    regions_.erase(it);
    wait_ = true;
    publish();
}

void AddressSpace::set_romd(MmioDevice* dev, bool on) {
    for (auto& r : regions_) {
        if (r->dev != dev || !r->rom) continue;
        if (r->romd.load() == on) continue;
        r->romd.store(on, std::memory_order_release);
        for (MemoryListener* l : listeners_) l->romd_changed(r->base, r->size, r->rom, on);
        if (code_) code_->flush_tlbs();  // (the CPUs' TLBs hold ROM pages' host addresses)
    }
}

void AddressSpace::add_eventfd(uint64_t addr, int fd, std::optional<DoorbellMatch> match) {
    eventfds_.push_back({addr, fd, match});
    publish();
    for (MemoryListener* l : listeners_) l->eventfd_changed(addr, fd, match, true);
}

void AddressSpace::del_eventfd(uint64_t addr, int fd, std::optional<DoorbellMatch> match) {
    auto it = std::find(eventfds_.begin(), eventfds_.end(), Doorbell{addr, fd, match});
    if (it == eventfds_.end()) return;
    eventfds_.erase(it);
    wait_ = true;  // (the caller closes fd next: no vCPU may still write it)
    publish();
    for (MemoryListener* l : listeners_) l->eventfd_changed(addr, fd, match, false);
}

// Each elementary interval between region edges goes to the region of the
// highest priority covering it (the later one on a tie); neighbours that
// continue one region merge.
void AddressSpace::publish() {
    if (batch_) {
        dirty_ = true;
        return;
    }
    dirty_ = false;
    auto v = std::make_shared<View>();
    std::vector<uint64_t> edges;
    for (const auto& r : regions_) {
        v->keep.push_back(r);
        edges.push_back(r->base);
        edges.push_back(r->base + r->size);
    }
    std::sort(edges.begin(), edges.end());
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    for (size_t i = 0; i + 1 < edges.size(); ++i) {
        uint64_t lo = edges[i], hi = edges[i + 1];
        const Region* best = nullptr;
        for (const auto& r : regions_)
            if (lo - r->base < r->size && (!best || r->opts.priority >= best->opts.priority)) best = r.get();
        if (!best) continue;
        uint64_t off = best->opts.dev_offset + (lo - best->base);
        if (!v->ranges.empty()) {
            Range& last = v->ranges.back();
            if (last.r == best && last.base + last.size == lo) {
                last.size += hi - lo;
                continue;
            }
        }
        v->ranges.push_back({lo, hi - lo, best, off});
    }
    v->doorbells = eventfds_;
    std::shared_ptr<const View> old = std::move(cur_);
    cur_ = std::move(v);
    view_.store(cur_, std::memory_order_release);
    any_doorbell_.store(!cur_->doorbells.empty(), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    if (wait_ && old) {
        // The grace period: readers hold a view only across one access
        // and never while waiting for the machine lock.
        while (old.use_count() > 1) std::this_thread::yield();
    }
    wait_ = false;
}

const AddressSpace::Range* AddressSpace::View::find(uint64_t pa) const {
    if (const Range* h = last.load(std::memory_order_relaxed); h && pa - h->base < h->size) return h;
    auto it = std::upper_bound(ranges.begin(), ranges.end(), pa, [](uint64_t a, const Range& r) { return a < r.base; });
    if (it == ranges.begin()) return nullptr;
    --it;
    if (pa - it->base >= it->size) return nullptr;
    last.store(&*it, std::memory_order_relaxed);
    return &*it;
}

std::vector<FlatRange> AddressSpace::flat_view() const {
    std::vector<FlatRange> out;
    for (const Range& r : cur_->ranges) {
        const Region& g = *r.r;
        const char* type = g.rom && g.romd.load() ? "romd" : "i/o";
        out.push_back({r.base, r.size, g.name, r.offset, g.opts.shown_offset + (r.base - g.base),
                       g.opts.shown_priority, type});
    }
    if (ram_size_) {
        FlatRange ram{ram_base_, ram_size_, ram_name_, 0, 0, 0, "ram"};
        auto at = std::lower_bound(out.begin(), out.end(), ram_base_, [](const FlatRange& f, uint64_t a) { return f.base < a; });
        out.insert(at, ram);
    }
    return out;
}

std::vector<FlatRange> AddressSpace::regions() const {
    std::vector<FlatRange> out;
    for (const auto& r : regions_)
        out.push_back({r->base, r->size, r->name, r->opts.dev_offset, r->opts.shown_offset,
                       r->opts.shown_priority, r->rom && r->romd.load() ? "romd" : "i/o"});
    if (ram_size_) out.push_back({ram_base_, ram_size_, ram_name_, 0, 0, 0, "ram"});
    std::stable_sort(out.begin(), out.end(), [](const FlatRange& a, const FlatRange& b) {
        return a.base != b.base ? a.base < b.base : a.size > b.size;  // (a container before what it holds)
    });
    return out;
}

const uint8_t* AddressSpace::rom_bytes(const Range* r, uint64_t pa, unsigned size) {
    if (!r->r->rom || !r->r->romd.load(std::memory_order_acquire)) return nullptr;
    if (pa - r->base + size > r->size) return nullptr;
    return r->r->rom + r->offset + (pa - r->base);
}

const uint8_t* AddressSpace::rom_page(uint64_t pa_page) {
    std::shared_ptr<const View> v = view_.load(std::memory_order_acquire);
    const Range* r = v->find(pa_page);
    return r ? rom_bytes(r, pa_page, 0x1000) : nullptr;
}

namespace {
uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }
}  // namespace

uint64_t AddressSpace::dev_read(MmioDevice* dev, uint64_t off, unsigned size, MemAttrs who) {
    AccessSizes a = dev->access_sizes(off);
    if (a.max && size > a.max) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i += a.max) v |= dev_read(dev, off + i, a.max, who) << (8 * i);
        return v;
    }
    return dev->read_by(off, std::max(size, a.min), who) & size_mask(size);
}

void AddressSpace::dev_write(MmioDevice* dev, uint64_t off, unsigned size, uint64_t value, MemAttrs who) {
    AccessSizes a = dev->access_sizes(off);
    if (a.max && size > a.max) {
        for (unsigned i = 0; i < size; i += a.max)
            dev_write(dev, off + i, a.max, (value >> (8 * i)) & size_mask(a.max), who);
        return;
    }
    dev->write_by(off, std::max(size, a.min), value & size_mask(size), who);
}

uint8_t* AddressSpace::ram_ptr(uint64_t pa, uint64_t len) const {
    if (pa < ram_base_ || len > ram_size_ || pa - ram_base_ > ram_size_ - len) return nullptr;
    return ram_ + (pa - ram_base_);
}

bool AddressSpace::ring(const View& v, uint64_t pa, unsigned size, uint64_t value) {
    for (const Doorbell& d : v.doorbells) {
        if (d.addr != pa || (d.match && (size != d.match->size || value != d.match->value))) continue;
        uint64_t one = 1;
        ssize_t n = ::write(d.fd, &one, sizeof one);  // (a full counter means pending anyway)
        (void)n;
        eventfd_writes_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    return false;
}

// An access that crosses from one range into the next goes as pieces, each
// within one range, naturally aligned and a power of two long (as QEMU's
// dispatch splits it).
bool AddressSpace::access_locked(uint64_t pa, unsigned size, uint64_t* value, bool write, MemAttrs who) {
    const Range* r = cur_->find(pa);
    if (!r) return false;
    if (pa - r->base + size <= r->size) {
        if (!write)
            if (const uint8_t* p = rom_bytes(r, pa, size)) {
                *value = 0;
                std::memcpy(value, p, size);
                return true;
            }
        MmioDevice* dev = r->r->dev;
        uint64_t off = r->offset + (pa - r->base);
        if (!dev->decodes(off, size)) return false;
        if (write) dev_write(dev, off, size, *value, who);
        else *value = dev_read(dev, off, size, who);
        return true;
    }
    uint64_t v = write ? *value : 0;
    for (unsigned done = 0; done < size;) {
        uint64_t a = pa + done;
        const Range* p = cur_->find(a);
        if (!p) return false;
        uint64_t l = std::min<uint64_t>(size - done, p->base + p->size - a);
        uint64_t align = a & (~a + 1);
        if (align && align < l) l = align;
        l = std::bit_floor(l);
        uint64_t piece = (v >> (8 * done)) & size_mask(static_cast<unsigned>(l));
        if (!access_locked(a, static_cast<unsigned>(l), &piece, write, who)) return false;
        if (!write) v |= piece << (8 * done);
        done += static_cast<unsigned>(l);
    }
    if (!write) *value = v;
    return true;
}

bool AddressSpace::read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        value = 0;
        std::memcpy(&value, p, size);  // little-endian host
        return true;
    }
    std::lock_guard<std::mutex> g(lock_);  // (a ROM's bytes are read under it too: CPUs map ROM pages for reads)
    return access_locked(pa, size, &value, false, who);
}

int AddressSpace::try_read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who, const PolledReg** polled) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        value = 0;
        std::memcpy(&value, p, size);
        return 1;
    }
    std::unique_lock<std::mutex> g(lock_, std::try_to_lock);
    if (!g.owns_lock()) return -1;
    if (!access_locked(pa, size, &value, false, who)) return 0;
    if (polled) {
        const Range* r = cur_->find(pa);  // (the one just read: found at once)
        if (r && pa - r->base + size <= r->size && !(r->r->rom && r->r->romd.load(std::memory_order_relaxed)))
            *polled = r->r->dev->polled_reg(r->offset + (pa - r->base), size);
    }
    return 1;
}

bool AddressSpace::read_locked(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        value = 0;
        std::memcpy(&value, p, size);
        return true;
    }
    return access_locked(pa, size, &value, false, who);
}

bool AddressSpace::write(uint64_t pa, unsigned size, uint64_t value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        std::memcpy(p, &value, size);
        return true;
    }
    if (any_doorbell_.load(std::memory_order_acquire)) {  // (TCG has none: no view taken)
        std::shared_ptr<const View> v = view_.load(std::memory_order_acquire);
        if (ring(*v, pa, size, value)) {
            eventfd_unlocked_.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
    }
    std::lock_guard<std::mutex> g(lock_);
    return write_locked(pa, size, value, who);
}

bool AddressSpace::write_locked(uint64_t pa, unsigned size, uint64_t value, MemAttrs who) {
    if (uint8_t* p = ram_ptr(pa, size)) {
        std::memcpy(p, &value, size);
        return true;
    }
    if (ring(*cur_, pa, size, value)) return true;
    return access_locked(pa, size, &value, true, who);
}

}  // namespace armvm

namespace armvm {

namespace {
template <typename T>
bool cas(uint8_t* p, uint64_t expected, uint64_t desired) {
    T e = static_cast<T>(expected);
    return __atomic_compare_exchange_n(reinterpret_cast<T*>(p), &e, static_cast<T>(desired), false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
}  // namespace

bool AddressSpace::cmpxchg(uint64_t pa, unsigned size, uint64_t expected, uint64_t desired, bool& swapped,
                           uint64_t expected_hi, uint64_t desired_hi, MemAttrs who) {
    uint8_t* p = ram_ptr(pa, size);
    if (!p || (pa & (size - 1)) != 0)
        return Bus::cmpxchg(pa, size, expected, desired, swapped, expected_hi, desired_hi, who);
    switch (size) {
    case 1: swapped = cas<uint8_t>(p, expected, desired); return true;
    case 2: swapped = cas<uint16_t>(p, expected, desired); return true;
    case 4: swapped = cas<uint32_t>(p, expected, desired); return true;
    case 8: swapped = cas<uint64_t>(p, expected, desired); return true;
    default: {
        std::lock_guard<std::mutex> g(pair_lock_);
        uint64_t lo, hi;
        std::memcpy(&lo, p, 8);
        std::memcpy(&hi, p + 8, 8);
        swapped = lo == expected && hi == expected_hi;
        if (swapped) {
            std::memcpy(p, &desired, 8);
            std::memcpy(p + 8, &desired_hi, 8);
        }
        return true;
    }
    }
}

}  // namespace armvm
