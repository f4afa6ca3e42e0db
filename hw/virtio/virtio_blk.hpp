// virtio-blk-device (virtio 1.1 section 5.2) over a BlockDev: read, write,
// flush, get-id, discard and write-zeroes requests, on one or more request
// queues (VIRTIO_BLK_F_MQ).
//
// With an event loop, requests run on the device's own I/O thread, off the
// vCPU threads and without the BQL (a guest's flush or a slow disk stalls
// neither the other vCPUs, nor timers, nor QMP): the vCPU that notifies
// only takes the requests off the queue; the I/O thread reads and writes
// guest memory and the disk (the reads and writes queued together as one
// batch: in parallel with aio=io_uring|native); the loop thread (which holds the
// BQL) puts the finished requests in the used ring and interrupts. A
// reset or the device's end first waits for the requests in flight.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/event_loop.hpp"
#include "block/block.hpp"
#include "hw/virtio/virtio.hpp"

namespace armvm {

class VirtioBlk : public VirtioDevice {
public:
    // `loop` null: requests complete at once on the notifying thread.
    VirtioBlk(BlockDev& disk, std::string serial, unsigned queues = 1, EventLoop* loop = nullptr);
    ~VirtioBlk() override;
    uint32_t device_id() const override { return 2; }
    const char* name() const override { return "virtio-blk-device"; }
    uint64_t device_features() const override;
    unsigned num_queues() const override { return queues_; }
    uint64_t config_read(uint64_t offset, unsigned size) override;
    void config_write(uint64_t offset, unsigned size, uint64_t value) override;
    void queue_notify(unsigned q) override;
    void reset() override;

private:
    struct Job {
        unsigned q;
        VirtqElement e;
        uint32_t written = 0;
    };
    // What the I/O thread and the loop share (the loop's completion task
    // holds it weakly: it may run after the device is gone).
    struct Shared {
        std::mutex m;
        std::condition_variable cv;
        std::deque<Job> todo;
        std::vector<Job> done;
        unsigned busy = 0;
        bool stop = false, posted = false;
        VirtioBlk* owner = nullptr;  // null once the device is gone (BQL)
    };
    uint8_t handle(const VirtqElement& e, uint32_t& written);
    void run(Job& j);  // the request, its status byte written
    // The requests in order: the reads and writes in range as batches,
    // the rest (and the refused) through handle().
    void run_batch(std::vector<Job>& jobs);
    void io_thread();
    void complete();  // BQL held: finished requests into the used rings
    // BQL held: waits for the requests queued and in flight, and drops
    // their completions (a reset, or the device's end: nothing to report to).
    void drain();

    BlockDev& disk_;
    std::string serial_;
    unsigned queues_;
    EventLoop* loop_;
    std::shared_ptr<Shared> s_;
    std::thread thread_;
};

// virtio-rng-device (section 5.4): fills the driver's buffers with the
// host's entropy (getrandom, or an rng-random backend's file).
class VirtioRng : public VirtioDevice {
public:
    explicit VirtioRng(int fd = -1) : fd_(fd) {}  // (takes the fd)
    ~VirtioRng() override;
    uint32_t device_id() const override { return 4; }
    const char* name() const override { return "virtio-rng-device"; }
    uint64_t device_features() const override { return 0; }
    unsigned num_queues() const override { return 1; }
    uint64_t config_read(uint64_t, unsigned) override { return 0; }
    void queue_notify(unsigned q) override;

private:
    int fd_;
};

}  // namespace armvm
