// The guest physical address space: RAM (one host mapping, accessed
// directly) and regions dispatched to devices under the machine lock.
// Regions come, go and overlap while the guest runs (a PCI BAR appears in
// its host's window with a higher priority, moves when the guest
// reprograms it, and goes when the guest disables decoding): each change,
// made under the machine lock, flattens them into a new immutable view
// and publishes it (an RCU-like snapshot: readers take a reference without
// any lock; a remover waits until no reader holds the view it replaced).
// ROM-mode reads and doorbells are served from the view without the
// machine lock; device accesses take the lock and look there. It is the
// CPU's Bus.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cpu-arm64/cpu.hpp"
#include "hw/core/mmio.hpp"

namespace armvm {

// Someone who keeps their own copy of the map in step with it: KVM's
// memory slots and ioeventfds (the TCG's TLBs are flushed by the address
// space itself). Called under the machine lock, on the thread that changed
// the map (a vCPU's, in a device write).
// A doorbell's data match: only a write of `size` bytes (2 or 4) of this
// value rings it (virtio-mmio's QueueNotify, virtio-pci's legacy notify
// name the queue in the value).
struct DoorbellMatch {
    uint32_t value;
    unsigned size = 4;
    bool operator==(const DoorbellMatch&) const = default;
};

class MemoryListener {
public:
    virtual ~MemoryListener() = default;
    // A ROM device entered (`on`) or left ROM mode: reads of [base,
    // base+size) see `host` directly, or reach the device.
    virtual void romd_changed(uint64_t base, uint64_t size, uint8_t* host, bool on) = 0;
    // A doorbell (add_eventfd) appeared or went.
    virtual void eventfd_changed(uint64_t addr, int fd, std::optional<DoorbellMatch> match, bool added) = 0;
};

// How a region sits in the map.
struct RegionOpts {
    // Where regions overlap, the higher priority is seen (equal: the later).
    int priority = 0;
    // The device answers at offsets from this one.
    uint64_t dev_offset = 0;
    // What HMP's info mtree shows, as QEMU's would for its region of the
    // same name: its priority (-1: `priority`) and the offset of the
    // region's start (a window's bus address).
    int shown_priority = -1;
    uint64_t shown_offset = 0;
};

// One entry of a flattened view (info mtree -f): [base, base+size) reaches
// its region's device at `dev_offset`.
struct FlatRange {
    uint64_t base, size;
    std::string name;
    uint64_t dev_offset;
    uint64_t offset_in_region;  // as info mtree shows it (@...)
    int priority;               // as info mtree shows it
    const char* type;           // "ram", "romd" (a ROM device in ROM mode), "i/o"
};

class AddressSpace : public Bus {
public:
    // A region's handle (del_region).
    using RegionId = uint64_t;

    explicit AddressSpace(std::mutex& machine_lock);
    ~AddressSpace() override;

    void add_ram(uint64_t base, uint8_t* host, uint64_t size, std::string name = "ram");
    // `dev` answers [base, base+size) (at offsets from opts.dev_offset).
    // At run time the caller holds the machine lock (as for every change
    // below).
    RegionId add_mmio(uint64_t base, uint64_t size, MmioDevice* dev, std::string name, RegionOpts opts = {});
    // The region goes; when this returns, no vCPU still reads through it
    // without the lock.
    void del_region(RegionId id);
    // A ROM device (QEMU's romd): while in ROM mode, which it starts in,
    // reads come from `host` (size bytes) without the device or the
    // machine lock (the TCG reads it at RAM speed, KVM maps it as a
    // read-only slot); writes always reach the device, which switches the
    // mode with set_romd().
    RegionId add_rom_device(uint64_t base, uint64_t size, MmioDevice* dev, uint8_t* host, std::string name);
    // Caller holds the machine lock (a device write): listeners hear of it.
    void set_romd(MmioDevice* dev, bool on);
    // Changes made while one is alive are published once, when the last
    // goes (a PCI host moving several BARs at once).
    class Batch {
    public:
        explicit Batch(AddressSpace& as) : as_(as) { ++as_.batch_; }
        ~Batch() {
            if (--as_.batch_ == 0 && (as_.dirty_ || as_.wait_)) as_.publish();
        }
        Batch(const Batch&) = delete;
        Batch& operator=(const Batch&) = delete;

    private:
        AddressSpace& as_;
    };
    // The flattened map as the vCPUs see it (RAM first), for HMP's info
    // mtree. Caller holds the machine lock.
    std::vector<FlatRange> flat_view() const;
    // The regions as added (overlapping), RAM among them, by address.
    std::vector<FlatRange> regions() const;
    // Views published so far (each change of the map publishes one).
    uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }
    void add_listener(MemoryListener* l) { listeners_.push_back(l); }
    void remove_listener(MemoryListener* l) { std::erase(listeners_, l); }
    // A doorbell (QEMU's ioeventfd): a write of any size to `addr` signals
    // eventfd `fd` instead of reaching the device (under KVM the kernel
    // does it without leaving the guest). Caller holds the machine lock.
    // With `match`, only a write of that size and value rings it.
    void add_eventfd(uint64_t addr, int fd, std::optional<DoorbellMatch> match = {});
    void del_eventfd(uint64_t addr, int fd, std::optional<DoorbellMatch> match = {});
    // Doorbell writes seen here (accesses that exited to armvm although
    // KVM had the doorbell, or all of them if KVM refused it): ARMVM_STATS.
    uint64_t eventfd_writes() const { return eventfd_writes_.load(std::memory_order_relaxed); }
    // Doorbell writes served without the machine lock (a TCG vCPU's).
    uint64_t eventfd_writes_unlocked() const { return eventfd_unlocked_.load(std::memory_order_relaxed); }
    const uint8_t* rom_page(uint64_t pa_page) override;

    bool read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who) override;
    int try_read(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who,
                 const PolledReg** polled = nullptr) override;
    const std::atomic<uint64_t>* map_generation() const override { return &generation_; }
    bool write(uint64_t pa, unsigned size, uint64_t value, MemAttrs who) override;
    bool cmpxchg(uint64_t pa, unsigned size, uint64_t expected, uint64_t desired, bool& swapped,
                 uint64_t expected_hi, uint64_t desired_hi, MemAttrs who) override;

    // A write made by a device with the BQL already held (an MSI: `who`
    // carries its requester ID).
    bool write_locked(uint64_t pa, unsigned size, uint64_t value, MemAttrs who = {});
    // A read with the BQL already held (the monitor's xp).
    bool read_locked(uint64_t pa, unsigned size, uint64_t& value, MemAttrs who = {});

    // Host pointer for [pa, pa+len) if it lies in RAM (boot loading).
    uint8_t* ram_ptr(uint64_t pa, uint64_t len) const;
    uint64_t ram_base() const { return ram_base_; }
    uint64_t ram_size() const { return ram_size_; }

    // A device wrote guest RAM at host pointer `p` (from ram_ptr): the
    // translated code of the pages it touched is dropped (the TCG's code
    // cluster, when one is attached; KVM needs nothing).
    void device_wrote(const uint8_t* p, uint64_t len) {
        if (!code_ || !len || p < ram_ || p >= ram_ + ram_size_) return;
        code_->ram_written(ram_base_, static_cast<uint64_t>(p - ram_), len);
    }
    void attach_code(CpuCluster* c) { code_ = c; }

private:
    struct Region {
        RegionId id;
        uint64_t base, size;
        MmioDevice* dev;
        std::string name;
        RegionOpts opts;
        uint8_t* rom;                // a ROM device's bytes
        std::atomic<bool> romd{false};  // in ROM mode (read without the lock)
    };
    struct Doorbell {
        uint64_t addr;
        int fd;
        std::optional<DoorbellMatch> match;
        bool operator==(const Doorbell&) const = default;
    };
    // A published map: sorted, non-overlapping ranges; it keeps its
    // regions alive for readers that still hold it.
    struct Range {
        uint64_t base, size;
        const Region* r;
        uint64_t offset;  // of base in the region's device
    };
    struct View {
        std::vector<std::shared_ptr<const Region>> keep;
        std::vector<Range> ranges;
        std::vector<Doorbell> doorbells;
        const Range* find(uint64_t pa) const;
        // The range find() found last (a device polled in a loop is found
        // again without the search; relaxed: a stale hint is only checked).
        mutable std::atomic<const Range*> last{nullptr};
    };
    // Flatten the regions into a new view and publish it (or mark the
    // batch dirty). Machine lock held (or before the vCPUs run).
    void publish();
    // A device's register access, in the widths the device takes
    // (MmioDevice::access_sizes). Caller holds the machine lock.
    static uint64_t dev_read(MmioDevice* dev, uint64_t off, unsigned size, MemAttrs who);
    static void dev_write(MmioDevice* dev, uint64_t off, unsigned size, uint64_t value, MemAttrs who);
    // The bytes of a ROM device in ROM mode for [pa, pa+size), or nullptr.
    static const uint8_t* rom_bytes(const Range* r, uint64_t pa, unsigned size);
    // A doorbell write (true: rung).
    bool ring(const View& v, uint64_t pa, unsigned size, uint64_t value);
    // An access through the current view, split where it crosses ranges.
    // Machine lock held.
    bool access_locked(uint64_t pa, unsigned size, uint64_t* value, bool write, MemAttrs who);

    std::mutex& lock_;
    uint64_t ram_base_ = 0, ram_size_ = 0;
    uint8_t* ram_ = nullptr;
    std::string ram_name_;
    CpuCluster* code_ = nullptr;
    std::vector<std::shared_ptr<Region>> regions_;  // machine lock
    std::vector<Doorbell> eventfds_;                 // machine lock
    RegionId next_id_ = 1;
    unsigned batch_ = 0;
    bool dirty_ = false, wait_ = false;
    std::atomic<std::shared_ptr<const View>> view_;  // read anywhere
    std::atomic<bool> any_doorbell_{false};          // view_ has doorbells (a write skips it otherwise)
    std::shared_ptr<const View> cur_;                // the same, machine lock
    std::atomic<uint64_t> generation_{0};
    std::vector<MemoryListener*> listeners_;
    std::atomic<uint64_t> eventfd_writes_{0}, eventfd_unlocked_{0};
    std::mutex pair_lock_;  // 16-byte store-exclusive pairs
};

}  // namespace armvm
