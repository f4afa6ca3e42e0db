#include "hw/virtio/virtio_balloon.hpp"

#include <sys/mman.h>

#include <cstring>
#include <ctime>

namespace armvm {

namespace {
constexpr uint64_t kStatsVq = 1ull << 1, kPagePoison = 1ull << 4;
constexpr uint64_t kPage = 4096;  // the balloon's page unit (VIRTIO_BALLOON_PFN_SHIFT 12)
// Statistic tags (section 5.5.6.3), named as QEMU's guest-stats.
const char* stat_name(uint16_t tag) {
    static const char* const names[] = {"stat-swap-in", "stat-swap-out", "stat-major-faults", "stat-minor-faults",
                                        "stat-free-memory", "stat-total-memory", "stat-available-memory",
                                        "stat-disk-caches", "stat-htlb-pgalloc", "stat-htlb-pgfail"};
    return tag < sizeof names / sizeof names[0] ? names[tag] : nullptr;
}
}  // namespace

uint64_t VirtioBalloon::device_features() const { return kStatsVq | kPagePoison; }

uint64_t VirtioBalloon::config_read(uint64_t off, unsigned size) {
    // num_pages, actual, free_page_hint_cmd_id, poison_val.
    uint8_t cfg[16] = {};
    std::memcpy(cfg, &num_pages_, 4);
    std::memcpy(cfg + 4, &actual_pages_, 4);
    std::memcpy(cfg + 12, &poison_, 4);
    return config_bytes(cfg, sizeof cfg, off, size);
}

void VirtioBalloon::config_write(uint64_t off, unsigned size, uint64_t value) {
    if (off == 4 && size == 4) {
        uint32_t old = actual_pages_;
        actual_pages_ = static_cast<uint32_t>(value);
        if (actual_pages_ != old && on_actual_changed) on_actual_changed(actual());
    } else if (off == 12 && size == 4) {
        poison_ = static_cast<uint32_t>(value);
    }
}

void VirtioBalloon::request_stats() {
    if (!transport || !stats_held_) return;
    transport->push(2, stats_elem_, 0);
    transport->notify_used(2);
    stats_held_ = false;
}

void VirtioBalloon::reset() {
    num_pages_ = actual_pages_ = poison_ = 0;
    stats_held_ = false;
}

void VirtioBalloon::set_target(uint64_t bytes) {
    if (bytes > ram_size_) bytes = ram_size_;
    num_pages_ = static_cast<uint32_t>((ram_size_ - bytes) / kPage);
    if (transport) transport->notify_config();
}

// An array of 32-bit page frame numbers. Inflated pages go back to the
// host unless the driver poisons freed pages (their contents then matter).
void VirtioBalloon::inflate(const VirtqElement& e, bool give_back) {
    if (!give_back || (transport->negotiated_features() & kPagePoison)) return;
    size_t n = e.out_bytes() / 4;
    for (size_t i = 0; i < n; ++i) {
        uint32_t pfn = 0;
        e.read_out(4 * i, &pfn, 4);
        uint8_t* p = transport->memory().ram_ptr(static_cast<uint64_t>(pfn) * kPage, kPage);
        if (p && (reinterpret_cast<uintptr_t>(p) & (kPage - 1)) == 0) {
            madvise(p, kPage, MADV_DONTNEED);
            transport->memory().device_wrote(p, kPage);  // (it reads as zeroes now)
        }
    }
}

void VirtioBalloon::queue_notify(unsigned q) {
    VirtqElement e;
    bool any = false;
    while (transport->pop(q, e)) {
        if (q == 2) {
            // The statistics buffer: {le16 tag, le64 value} pairs. The device
            // keeps it until it wants fresh numbers.
            size_t n = e.out_bytes() / 10;
            for (size_t i = 0; i < n; ++i) {
                uint16_t tag = 0;
                uint64_t val = 0;
                e.read_out(10 * i, &tag, 2);
                e.read_out(10 * i + 2, &val, 8);
                if (const char* name = stat_name(tag)) stats_[name] = val;
            }
            stats_time_ = static_cast<int64_t>(std::time(nullptr));
            stats_elem_ = e;
            stats_held_ = true;
            continue;
        }
        inflate(e, q == 0);
        transport->push(q, e, 0);
        any = true;
    }
    if (any) transport->notify_used(q);
}

}  // namespace armvm
