#include "hw/tpm/tpm_tis.hpp"

#include <algorithm>

namespace armvm {
namespace {

// Registers (offsets in a locality's 4 KiB) and bits.
enum : unsigned {
    kAccess = 0x00, kIntEnable = 0x08, kIntVector = 0x0c, kIntStatus = 0x10, kIntfCapability = 0x14, kSts = 0x18,
    kDataFifo = 0x24, kInterfaceId = 0x30, kXDataFifo = 0x80, kXDataFifoEnd = 0x840, kDidVid = 0xf00, kRid = 0xf04,
};
enum : uint8_t {
    kAccessEstablishmentClear = 0x01, kAccessRequestUse = 0x02, kAccessPending = 0x04, kAccessActive = 0x20,
    kAccessValid = 0x80,
};
enum : uint32_t {
    kStsResponseRetry = 0x02, kStsExpect = 0x08, kStsDataAvail = 0x10, kStsGo = 0x20, kStsCommandReady = 0x40,
    kStsValid = 0x80, kStsFamily2 = 1u << 26,
};
// QEMU's values for a TPM 2.0.
constexpr uint32_t kCapability = 0x30000697, kIfaceId = 0x00002100, kDidVidValue = 0x00011014;
constexpr uint32_t kIntPolarityLowLevel = 0x08;
constexpr unsigned kLocalities = 5;

}  // namespace

TpmTis::TpmTis(std::unique_ptr<TpmEmulator> backend, EventLoop& loop) : backend_(std::move(backend)), loop_(loop) {
    self_ = std::make_shared<TpmTis*>(this);
    thread_ = std::thread([this] { worker(); });
}

// (BQL held) Waits for a command in flight and forgets it: its completion,
// posted to the loop, then finds nothing to do.
void TpmTis::drop_job() {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return !job_ || !job_resp_.empty(); });
    job_ = false;
    job_resp_.clear();
}

TpmTis::~TpmTis() {
    drop_job();
    {
        std::lock_guard<std::mutex> g(m_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    *self_ = nullptr;
}

void TpmTis::reset_enter() {
    drop_job();
    active_ = -1;
    pending_ = 0;
    state_ = State::Idle;
    sts_ = 0;
    abort_ = false;
    cmd_.clear();
    resp_.clear();
    rw_ = 0;
    for (unsigned l = 0; l < kLocalities; ++l) {
        int_enable_[l] = kIntPolarityLowLevel;
        int_status_[l] = 0;
        int_vector_[l] = 5;  // (QEMU's default irq property, reported though not wired)
    }
    // The TPM's power cycle (its state stays in swtpm's files).
    (void)backend_->startup();
    established_ = backend_->established();
}

uint32_t TpmTis::burst() const {
    size_t max = backend_->buffer_size();
    switch (state_) {
    case State::Reception: return static_cast<uint32_t>(max - std::min(cmd_.size(), max));
    case State::Completion: return static_cast<uint32_t>(resp_.size() - rw_);
    case State::Execution: return 0;
    default: return static_cast<uint32_t>(max);
    }
}

uint32_t TpmTis::read_reg(unsigned loc, unsigned reg) {
    bool mine = active_ == static_cast<int>(loc);
    switch (reg) {
    case kAccess: {
        uint32_t v = kAccessValid | (established_ ? 0 : kAccessEstablishmentClear);
        if (mine) v |= kAccessActive;
        if (pending_ & ~(1u << loc)) v |= kAccessPending;
        return v;
    }
    case kIntEnable: return int_enable_[loc];
    case kIntVector: return int_vector_[loc];
    case kIntStatus: return int_status_[loc];
    case kIntfCapability: return kCapability;
    case kSts: return mine ? (kStsFamily2 | (burst() & 0xffff) << 8 | sts_) : 0xffffffffu;
    case kInterfaceId: return kIfaceId;
    case kDidVid: return kDidVidValue;
    case kRid: return 0x01;
    default: return 0;
    }
}

uint64_t TpmTis::read(uint64_t offset, unsigned size) {
    unsigned loc = static_cast<unsigned>(offset >> 12), off = static_cast<unsigned>(offset & 0xfff);
    if (loc >= kLocalities) return 0;
    if ((off >= kDataFifo && off < kDataFifo + 4) || (off >= kXDataFifo && off < kXDataFifoEnd)) {
        if (active_ != static_cast<int>(loc)) return ~0ull >> (64 - 8 * std::min(size, 8u));
        uint64_t v = 0;
        for (unsigned i = 0; i < size && i < 8; ++i) v |= uint64_t{fifo_read()} << (8 * i);
        return v;
    }
    uint32_t dword = read_reg(loc, off & ~3u);
    uint64_t v = dword >> (8 * (off & 3));
    return size >= 4 ? v : v & ((1ull << (8 * size)) - 1);
}

uint8_t TpmTis::fifo_read() {
    if (state_ != State::Completion || rw_ >= resp_.size()) return 0xff;
    uint8_t b = resp_[rw_++];
    if (rw_ >= resp_.size()) sts_ = kStsValid;  // all read: no more data
    return b;
}

void TpmTis::fifo_write(uint8_t b) {
    if (state_ == State::Ready) {
        state_ = State::Reception;
        cmd_.clear();
    }
    if (state_ != State::Reception) return;
    if (cmd_.size() < backend_->buffer_size()) cmd_.push_back(b);
    // The header's size field says how much is still expected.
    size_t want = cmd_.size() >= 6
                      ? (size_t{cmd_[2]} << 24 | size_t{cmd_[3]} << 16 | size_t{cmd_[4]} << 8 | cmd_[5])
                      : SIZE_MAX;
    sts_ = kStsValid | (cmd_.size() < want && cmd_.size() < backend_->buffer_size() ? uint32_t{kStsExpect} : 0u);
}

void TpmTis::write(uint64_t offset, unsigned size, uint64_t value) {
    unsigned loc = static_cast<unsigned>(offset >> 12), off = static_cast<unsigned>(offset & 0xfff);
    if (loc >= kLocalities) return;
    if (off == kAccess) return write_access(loc, static_cast<uint8_t>(value));
    bool mine = active_ == static_cast<int>(loc);
    if ((off >= kDataFifo && off < kDataFifo + 4) || (off >= kXDataFifo && off < kXDataFifoEnd)) {
        if (!mine) return;
        for (unsigned i = 0; i < size && i < 8; ++i) fifo_write(static_cast<uint8_t>(value >> (8 * i)));
        return;
    }
    switch (off) {
    case kIntEnable: int_enable_[loc] = static_cast<uint32_t>(value) & 0x8000001f; return;
    case kIntVector: int_vector_[loc] = static_cast<uint8_t>(value & 0xf); return;
    case kIntStatus: int_status_[loc] &= ~static_cast<uint32_t>(value); return;
    case kSts:
        if (mine && size >= 1) write_sts(static_cast<uint32_t>(value));
        return;
    default: return;  // (read-only or reserved)
    }
}

void TpmTis::write_access(unsigned loc, uint8_t v) {
    if (v & kAccessActive) {  // relinquish
        if (active_ == static_cast<int>(loc)) {
            active_ = -1;
            for (unsigned l = kLocalities; l-- > 0;)  // (the highest waiting locality gets it)
                if (pending_ & (1u << l)) {
                    active_ = static_cast<int>(l);
                    pending_ &= static_cast<uint8_t>(~(1u << l));
                    break;
                }
        }
        pending_ &= static_cast<uint8_t>(~(1u << loc));
    }
    if (v & kAccessRequestUse) {
        if (active_ < 0)
            active_ = static_cast<int>(loc);
        else if (active_ != static_cast<int>(loc))
            pending_ |= static_cast<uint8_t>(1u << loc);
    }
}

void TpmTis::write_sts(uint32_t v) {
    if (v & kStsCommandReady) {
        if (state_ == State::Execution) {
            abort_ = true;  // (back to ready when the command finishes)
            return;
        }
        state_ = State::Ready;
        sts_ = kStsCommandReady;
        cmd_.clear();
        resp_.clear();
        rw_ = 0;
        return;
    }
    if ((v & kStsGo) && state_ == State::Reception && !(sts_ & kStsExpect)) return execute();
    if ((v & kStsResponseRetry) && state_ == State::Completion) {
        rw_ = 0;
        sts_ = kStsValid | kStsDataAvail;
    }
}

void TpmTis::execute() {
    state_ = State::Execution;
    sts_ = 0;
    {
        std::lock_guard<std::mutex> g(m_);
        job_cmd_ = cmd_;
        job_loc_ = static_cast<uint8_t>(active_);
        job_ = true;
    }
    cv_.notify_all();
}

void TpmTis::worker() {
    std::unique_lock<std::mutex> l(m_);
    for (;;) {
        cv_.wait(l, [&] { return stop_ || (job_ && job_resp_.empty()); });
        if (stop_) return;
        std::vector<uint8_t> cmd = job_cmd_;
        uint8_t loc = job_loc_;
        l.unlock();
        std::vector<uint8_t> resp = backend_->execute(cmd, loc);
        l.lock();
        job_resp_ = std::move(resp);
        cv_.notify_all();  // (drop_job may be waiting)
        loop_.post([w = std::weak_ptr<TpmTis*>(self_)] {
            if (auto s = w.lock(); s && *s) (*s)->done();
        });
    }
}

void TpmTis::done() {
    {
        std::lock_guard<std::mutex> g(m_);
        if (!job_) return;
        resp_ = std::move(job_resp_);
        job_resp_.clear();
        job_ = false;
    }
    cv_.notify_all();
    rw_ = 0;
    if (abort_) {
        abort_ = false;
        state_ = State::Ready;
        sts_ = kStsCommandReady;
        resp_.clear();
        return;
    }
    state_ = State::Completion;
    sts_ = kStsValid | kStsDataAvail;
}

}  // namespace armvm
