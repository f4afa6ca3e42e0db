#include "hw/virtio/virtio_blk.hpp"

#include "base/fault.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>

#include <cstring>
#include <algorithm>
#include <vector>

namespace armvm {

namespace {

// Feature bits (section 5.2.3).
constexpr uint64_t kSegMax = 1ull << 2, kRo = 1ull << 5, kBlkSize = 1ull << 6, kFlush = 1ull << 9,
                   kConfigWce = 1ull << 11, kMq = 1ull << 12, kDiscard = 1ull << 13, kWriteZeroes = 1ull << 14;
// Request types and status values (5.2.6).
enum : uint32_t { kIn = 0, kOut = 1, kFlushReq = 4, kGetId = 8, kDiscardReq = 11, kWriteZeroesReq = 13 };
enum : uint8_t { kOk = 0, kIoErr = 1, kUnsupp = 2 };
constexpr uint64_t kSector = 512;
constexpr uint32_t kMaxSegSectors = 0x3fffff;  // max_discard_sectors, max_write_zeroes_sectors

struct ReqHeader {
    uint32_t type, reserved;
    uint64_t sector;
};
struct Segment {  // discard / write zeroes
    uint64_t sector;
    uint32_t num_sectors, flags;
};

}  // namespace

VirtioBlk::VirtioBlk(BlockDev& disk, std::string serial, unsigned queues, EventLoop* loop)
    : disk_(disk), serial_(std::move(serial)), queues_(queues), loop_(loop) {
    if (!loop_) return;
    s_ = std::make_shared<Shared>();
    s_->owner = this;
    thread_ = std::thread([this] { io_thread(); });
}

VirtioBlk::~VirtioBlk() {
    if (!s_) return;
    drain();
    {
        std::lock_guard<std::mutex> g(s_->m);
        s_->stop = true;
        s_->owner = nullptr;
    }
    s_->cv.notify_all();
    thread_.join();
}

void VirtioBlk::reset() {
    if (s_) drain();  // (the driver reset the device: what was in flight is not reported)
    // (the write cache stays as the driver left it, as QEMU's)
}

uint64_t VirtioBlk::device_features() const {
    uint64_t f = kSegMax | kBlkSize | kFlush | kConfigWce | kDiscard | kWriteZeroes;
    if (disk_.read_only()) f |= kRo;
    if (queues_ > 1) f |= kMq;
    return f;
}

uint64_t VirtioBlk::config_read(uint64_t off, unsigned size) {
    // struct virtio_blk_config, as far as write_zeroes_may_unmap.
    uint8_t cfg[64] = {};
    auto put = [&](size_t at, uint64_t v, size_t n) { std::memcpy(cfg + at, &v, n); };
    put(0, disk_.size() / kSector, 8);      // capacity
    put(12, 256 - 2, 4);                     // seg_max: the queue size less the header and status
    put(16, 16, 2);                          // geometry: cylinders, heads, sectors (as QEMU's defaults)
    cfg[18] = 16;
    cfg[19] = 63;
    put(20, kSector, 4);                     // blk_size
    cfg[32] = disk_.write_cache() ? 1 : 0;   // writeback
    put(34, queues_, 2);                     // num_queues
    put(36, kMaxSegSectors, 4);              // max_discard_sectors
    put(40, 1, 4);                           // max_discard_seg
    put(44, 4096 / kSector, 4);              // discard_sector_alignment
    put(48, kMaxSegSectors, 4);              // max_write_zeroes_sectors
    put(52, 1, 4);                           // max_write_zeroes_seg
    cfg[56] = disk_.discard() ? 1 : 0;       // write_zeroes_may_unmap
    if (off >= sizeof cfg || size > sizeof cfg - off) return 0;
    uint64_t v = 0;
    std::memcpy(&v, cfg + off, size);
    return v;
}

void VirtioBlk::config_write(uint64_t off, unsigned size, uint64_t value) {
    if (off == 32 && size == 1) disk_.set_write_cache(value & 1);
}

uint8_t VirtioBlk::handle(const VirtqElement& e, uint32_t& written) {
    ReqHeader h;
    if (e.read_out(0, &h, sizeof h) != sizeof h) return kIoErr;
    size_t in_data = e.in_bytes() - 1;  // (the last writable byte is the status)
    uint64_t t0 = BlockStats::now_ns();
    // (QEMU's accounting: one operation per request; refused ones are "invalid")
    auto account = [&](BlockStats::Kind k, uint64_t bytes, bool ok) {
        disk_.stats.done(k, bytes, BlockStats::now_ns() - t0, ok);
        return ok ? kOk : kIoErr;
    };
    switch (h.type) {
    case kIn:
    case kOut:  // (run_batch serves the ones in range: what comes here is refused)
        disk_.stats.refused(h.type == kIn ? BlockStats::kRead : BlockStats::kWrite);
        return kIoErr;
    case kFlushReq:
        if (fault_point("virtio-blk-slow-flush")) std::this_thread::sleep_for(std::chrono::seconds(3));
        return account(BlockStats::kFlush, 0, disk_.flush());
    case kGetId: {
        char id[20] = {};
        std::memcpy(id, serial_.data(), std::min(serial_.size(), sizeof id));
        written = static_cast<uint32_t>(e.write_in(0, id, std::min(sizeof id, in_data)));
        return kOk;
    }
    case kDiscardReq:
    case kWriteZeroesReq: {
        size_t n = (e.out_bytes() - sizeof h) / sizeof(Segment);
        if (n != 1) return kUnsupp;  // (max_*_seg is 1)
        Segment s;
        e.read_out(sizeof h, &s, sizeof s);
        auto kind = h.type == kDiscardReq ? BlockStats::kUnmap : BlockStats::kWrite;
        if (s.num_sectors > kMaxSegSectors || s.sector > disk_.size() / kSector) {
            disk_.stats.refused(kind);
            return kIoErr;
        }
        uint64_t o = s.sector * kSector, len = static_cast<uint64_t>(s.num_sectors) * kSector;
        if (h.type == kDiscardReq) return account(kind, len, disk_.discard_range(o, len));
        return account(kind, len, disk_.write_zeroes(o, len));
    }
    default:
        return kUnsupp;
    }
}

void VirtioBlk::run(Job& j) {
    uint8_t status = kIoErr;
    if (j.e.in_bytes() >= 1) {
        status = handle(j.e, j.written);
        j.e.write_in(j.e.in_bytes() - 1, &status, 1);
    }
}

void VirtioBlk::queue_notify(unsigned q) {
    std::vector<Job> jobs;
    Job j{q, {}, 0};
    while (transport->pop(q, j.e)) {
        jobs.push_back(std::move(j));
        j = Job{q, {}, 0};
    }
    if (jobs.empty()) return;
    if (s_) {  // to the I/O thread
        {
            std::lock_guard<std::mutex> g(s_->m);
            for (auto& job : jobs) s_->todo.push_back(std::move(job));
        }
        s_->cv.notify_all();
        return;
    }
    run_batch(jobs);  // (no loop: at once, on this thread)
    for (auto& job : jobs) transport->push(q, job.e, job.written + 1);
    transport->notify_used(q);
}

// Reads and writes that follow each other in `jobs` go to the disk as one
// batch (in parallel with aio=io_uring|native); any other request first
// ends the batch before it, so a flush still follows the writes queued
// before it.
void VirtioBlk::run_batch(std::vector<Job>& jobs) {
    std::vector<IoReq> reqs;
    std::vector<std::vector<iovec>> iovs;
    std::vector<size_t> owner;
    auto finish = [&] {
        if (reqs.empty()) return;
        for (size_t i = 0; i < reqs.size(); ++i) {  // (the vectors are final now)
            reqs[i].iov = iovs[i].data();
            reqs[i].iovcnt = static_cast<unsigned>(iovs[i].size());
        }
        uint64_t t0 = BlockStats::now_ns();
        disk_.submit(reqs.data(), reqs.size());
        bool wrote = false;
        for (auto& r : reqs) wrote = wrote || (r.write && r.res >= 0);
        bool flushed = !wrote || disk_.write_cache() || disk_.flush();  // writethrough
        uint64_t ns = BlockStats::now_ns() - t0;
        for (size_t i = 0; i < reqs.size(); ++i) {
            Job& j = jobs[owner[i]];
            uint8_t status = reqs[i].res >= 0 && (flushed || !reqs[i].write) ? kOk : kIoErr;
            size_t bytes = 0;
            for (unsigned k = 0; k < reqs[i].iovcnt; ++k) bytes += reqs[i].iov[k].iov_len;
            disk_.stats.done(reqs[i].write ? BlockStats::kWrite : BlockStats::kRead, status == kOk ? bytes : 0, ns,
                             status == kOk);
            if (!reqs[i].write && status == kOk) j.written = static_cast<uint32_t>(reqs[i].res);
            j.e.write_in(j.e.in_bytes() - 1, &status, 1);
        }
        reqs.clear();
        iovs.clear();
        owner.clear();
    };
    for (size_t k = 0; k < jobs.size(); ++k) {
        Job& j = jobs[k];
        ReqHeader h{};
        bool rw = j.e.in_bytes() >= 1 && j.e.read_out(0, &h, sizeof h) == sizeof h && (h.type == kIn || h.type == kOut);
        uint64_t off = h.sector * kSector;
        if (rw && h.sector <= disk_.size() / kSector) {
            std::vector<iovec> v;
            size_t total = 0;
            if (h.type == kIn) {
                size_t left = j.e.in_bytes() - 1;  // (the last writable byte is the status)
                for (auto& p : j.e.in) {
                    size_t n = std::min<size_t>(p.len, left);
                    if (n) v.push_back({p.p, n});
                    left -= n;
                    total += n;
                    if (!left) break;
                }
            } else {
                size_t skip = sizeof h;  // the header comes first in the readable pieces
                for (auto& p : j.e.out) {
                    if (skip >= p.len) {
                        skip -= p.len;
                        continue;
                    }
                    v.push_back({p.p + skip, p.len - skip});
                    total += p.len - skip;
                    skip = 0;
                }
            }
            if (total <= disk_.size() - off) {
                reqs.push_back(IoReq{h.type == kOut, off, nullptr, 0, 0});
                iovs.push_back(std::move(v));
                owner.push_back(k);
                continue;
            }
        }
        finish();
        run(j);
    }
    finish();
}

void VirtioBlk::io_thread() {
    Shared& s = *s_;
    std::unique_lock<std::mutex> l(s.m);
    for (;;) {
        s.cv.wait(l, [&] { return s.stop || !s.todo.empty(); });
        if (s.todo.empty()) return;  // (stop)
        std::vector<Job> jobs;
        while (!s.todo.empty() && jobs.size() < 256) {
            jobs.push_back(std::move(s.todo.front()));
            s.todo.pop_front();
        }
        s.busy += static_cast<unsigned>(jobs.size());
        l.unlock();
        run_batch(jobs);
        l.lock();
        s.busy -= static_cast<unsigned>(jobs.size());
        for (auto& j : jobs) s.done.push_back(std::move(j));
        bool post = !s.posted;
        s.posted = true;
        s.cv.notify_all();  // (a drain waits for this)
        if (post) {
            l.unlock();
            loop_->post([w = std::weak_ptr<Shared>(s_)] {
                if (auto sh = w.lock(); sh && sh->owner) sh->owner->complete();
            });
            l.lock();
        }
    }
}

void VirtioBlk::complete() {
    std::vector<Job> done;
    {
        std::lock_guard<std::mutex> g(s_->m);
        done.swap(s_->done);
        s_->posted = false;
    }
    std::vector<bool> touched(queues_);
    for (auto& j : done) {
        transport->push(j.q, j.e, j.written + 1);
        touched[j.q] = true;
    }
    for (unsigned q = 0; q < queues_; ++q)
        if (touched[q]) transport->notify_used(q);
}

void VirtioBlk::drain() {
    std::unique_lock<std::mutex> l(s_->m);
    s_->cv.wait(l, [&] { return s_->todo.empty() && s_->busy == 0; });
    s_->done.clear();
}

VirtioRng::~VirtioRng() {
    if (fd_ >= 0) ::close(fd_);
}

void VirtioRng::queue_notify(unsigned q) {
    VirtqElement e;
    bool any = false;
    while (transport->pop(q, e)) {
        uint32_t written = 0;
        for (auto& p : e.in) {
            size_t got = 0;
            while (got < p.len) {
                ssize_t n = fd_ >= 0 ? ::read(fd_, p.p + got, p.len - got) : getrandom(p.p + got, p.len - got, 0);
                if (n <= 0) break;
                got += static_cast<size_t>(n);
            }
            written += static_cast<uint32_t>(got);
            if (got < p.len) break;
        }
        transport->push(q, e, written);
        any = true;
    }
    if (any) transport->notify_used(q);
}

}  // namespace armvm
