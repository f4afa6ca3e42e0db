#include "block/aio.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#if ARMVM_HAVE_IO_URING
#include <liburing.h>
#endif
#if ARMVM_HAVE_LINUX_AIO
#include <libaio.h>
#endif

namespace armvm {

std::optional<AioMode> parse_aio(const std::string& s) {
    if (s == "threads") return AioMode::Threads;
    if (s == "native") return AioMode::Native;
    if (s == "io_uring") return AioMode::IoUring;
    return std::nullopt;
}

const char* aio_name(AioMode m) {
    switch (m) {
    case AioMode::Native: return "native";
    case AioMode::IoUring: return "io_uring";
    default: return "threads";
    }
}

bool aio_available(AioMode m) {
    switch (m) {
    case AioMode::Native: return ARMVM_HAVE_LINUX_AIO;
    case AioMode::IoUring: return ARMVM_HAVE_IO_URING;
    default: return true;
    }
}

namespace {

constexpr unsigned kDepth = 128;  // requests in flight at once (a batch goes in chunks)

#if ARMVM_HAVE_IO_URING
class IoUringEngine final : public AioEngine {
public:
    explicit IoUringEngine(int fd) : fd_(fd) {}
    ~IoUringEngine() override {
        if (ready_) io_uring_queue_exit(&ring_);
    }
    int init() {
        int r = io_uring_queue_init(kDepth, &ring_, 0);
        ready_ = r == 0;
        return r;
    }
    void run(IoReq* reqs, size_t n) override {
        std::lock_guard<std::mutex> g(mu_);
        for (size_t base = 0; base < n; base += kDepth) {
            size_t m = std::min<size_t>(kDepth, n - base);
            for (size_t i = 0; i < m; ++i) {
                IoReq& r = reqs[base + i];
                io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
                if (r.write)
                    io_uring_prep_writev(sqe, fd_, r.iov, r.iovcnt, r.off);
                else
                    io_uring_prep_readv(sqe, fd_, r.iov, r.iovcnt, r.off);
                io_uring_sqe_set_data64(sqe, base + i);
                r.res = -EINPROGRESS;
            }
            int s = io_uring_submit(&ring_);
            size_t got = 0;
            if (s < 0) {  // nothing went in: every request of the chunk fails
                for (size_t i = 0; i < m; ++i) reqs[base + i].res = s;
                continue;
            }
            while (got < static_cast<size_t>(s)) {
                io_uring_cqe* cqe = nullptr;
                int w = io_uring_wait_cqe(&ring_, &cqe);
                if (w == -EINTR) continue;
                if (w < 0) break;
                reqs[io_uring_cqe_get_data64(cqe)].res = cqe->res;
                io_uring_cqe_seen(&ring_, cqe);
                ++got;
            }
            for (size_t i = 0; i < m; ++i)  // (not submitted, or lost: the caller redoes them)
                if (reqs[base + i].res == -EINPROGRESS) reqs[base + i].res = -EAGAIN;
        }
    }

private:
    int fd_;
    bool ready_ = false;
    io_uring ring_{};
    std::mutex mu_;
};
#endif

#if ARMVM_HAVE_LINUX_AIO
class LinuxAioEngine final : public AioEngine {
public:
    explicit LinuxAioEngine(int fd) : fd_(fd) {}
    ~LinuxAioEngine() override {
        if (ctx_) io_destroy(ctx_);
    }
    int init() { return io_setup(kDepth, &ctx_); }
    void run(IoReq* reqs, size_t n) override {
        std::lock_guard<std::mutex> g(mu_);
        for (size_t base = 0; base < n; base += kDepth) {
            size_t m = std::min<size_t>(kDepth, n - base);
            std::vector<iocb> cbs(m);
            std::vector<iocb*> ptrs(m);
            for (size_t i = 0; i < m; ++i) {
                IoReq& r = reqs[base + i];
                if (r.write)
                    io_prep_pwritev(&cbs[i], fd_, r.iov, static_cast<int>(r.iovcnt), static_cast<long long>(r.off));
                else
                    io_prep_preadv(&cbs[i], fd_, r.iov, static_cast<int>(r.iovcnt), static_cast<long long>(r.off));
                cbs[i].data = &r;
                ptrs[i] = &cbs[i];
                r.res = -EAGAIN;  // (not submitted: the caller redoes it)
            }
            int s = io_submit(ctx_, static_cast<long>(m), ptrs.data());
            if (s <= 0) continue;
            std::vector<io_event> ev(static_cast<size_t>(s));
            long got = 0;
            while (got < s) {
                int k = io_getevents(ctx_, 1, s - got, ev.data(), nullptr);
                if (k == -EINTR) continue;
                if (k < 0) break;
                for (int i = 0; i < k; ++i) {
                    auto* r = static_cast<IoReq*>(ev[static_cast<size_t>(i)].data);
                    r->res = static_cast<ssize_t>(static_cast<long>(ev[static_cast<size_t>(i)].res));
                }
                got += k;
            }
        }
    }

private:
    int fd_;
    io_context_t ctx_ = nullptr;
    std::mutex mu_;
};
#endif

}  // namespace

Result<std::unique_ptr<AioEngine>> AioEngine::create(AioMode mode, int fd) {
    (void)fd;
    switch (mode) {
    case AioMode::IoUring: {
#if ARMVM_HAVE_IO_URING
        auto e = std::make_unique<IoUringEngine>(fd);
        if (int r = e->init(); r < 0) return make_error(std::string("Unable to use io_uring: ") + std::strerror(-r));
        return std::unique_ptr<AioEngine>(std::move(e));
#else
        break;
#endif
    }
    case AioMode::Native: {
#if ARMVM_HAVE_LINUX_AIO
        auto e = std::make_unique<LinuxAioEngine>(fd);
        if (int r = e->init(); r < 0) return make_error(std::string("Unable to use native AIO: ") + std::strerror(-r));
        return std::unique_ptr<AioEngine>(std::move(e));
#else
        break;
#endif
    }
    case AioMode::Threads:
        return std::unique_ptr<AioEngine>();
    }
    return make_error(std::string("aio=") + aio_name(mode) + " is not available in this build");
}

}  // namespace armvm
