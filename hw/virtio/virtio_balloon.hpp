// virtio-balloon (virtio 1.1 section 5.5) with QEMU's defaults: the
// inflate, deflate and statistics queues (VIRTIO_BALLOON_F_STATS_VQ) and
// the page poison value (VIRTIO_BALLOON_F_PAGE_POISON). Pages the driver
// inflates are given back to the host (madvise DONTNEED: the guest reads
// zeros if it touches them again); the target comes from QMP `balloon`.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "hw/virtio/virtio.hpp"

namespace armvm {

class VirtioBalloon : public VirtioDevice {
public:
    explicit VirtioBalloon(uint64_t ram_size) : ram_size_(ram_size) {}
    uint32_t device_id() const override { return 5; }
    const char* name() const override { return "virtio-balloon-device"; }
    uint64_t device_features() const override;
    unsigned num_queues() const override { return 3; }
    unsigned queue_max() const override { return 128; }
    uint64_t config_read(uint64_t offset, unsigned size) override;
    void config_write(uint64_t offset, unsigned size, uint64_t value) override;
    void queue_notify(unsigned q) override;
    void reset() override;

    // QMP balloon: the guest's wanted size in bytes.
    void set_target(uint64_t bytes);
    // What query-balloon reports: the RAM the guest has (bytes).
    uint64_t actual() const { return ram_size_ - static_cast<uint64_t>(actual_pages_) * 4096; }
    // The last statistics the driver gave (tag name -> value), and when.
    const std::map<std::string, uint64_t>& stats() const { return stats_; }
    int64_t stats_last_update() const { return stats_time_; }
    // Ask the driver for fresh statistics: the buffer it gave is handed
    // back (it refills and returns it). Nothing if it holds none.
    void request_stats();
    // The driver changed `actual` (BALLOON_CHANGE): the RAM it now has.
    std::function<void(uint64_t)> on_actual_changed;

private:
    void inflate(const VirtqElement& e, bool give_back);
    uint64_t ram_size_;
    uint32_t num_pages_ = 0, actual_pages_ = 0, poison_ = 0;
    std::map<std::string, uint64_t> stats_;
    int64_t stats_time_ = 0;
    VirtqElement stats_elem_;  // the statistics buffer the device holds,
    bool stats_held_ = false;  // if any
};

}  // namespace armvm
