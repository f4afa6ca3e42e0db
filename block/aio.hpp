// How a disk file's reads and writes reach the host kernel: QEMU's `aio=`
// option of the file driver.
//
//   threads   pread/pwrite on the calling thread (the device's I/O thread)
//   io_uring  a batch of requests submitted at once on an io_uring (liburing)
//             and waited for together
//   native    the same through Linux AIO (libaio; needs cache.direct=on, as
//             QEMU says)
//
// An engine serves one open file; its batches are serialised by a lock (a
// device's I/O thread, a qcow2 image under its own lock, and a flash bank's
// vCPU may share one file).
#pragma once
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.hpp"

namespace armvm {

enum class AioMode { Threads, Native, IoUring };

// "threads", "native", "io_uring"; nullopt for anything else.
std::optional<AioMode> parse_aio(const std::string& s);
const char* aio_name(AioMode m);
// Whether this build has the engine (io_uring and native are optional
// libraries).
bool aio_available(AioMode m);

// One read or write of a batch: `res` is the byte count done or -errno.
struct IoReq {
    bool write = false;
    uint64_t off = 0;
    const iovec* iov = nullptr;
    unsigned iovcnt = 0;
    ssize_t res = 0;
};

class AioEngine {
public:
    virtual ~AioEngine() = default;
    // Submits every request at once and returns when all are done.
    virtual void run(IoReq* reqs, size_t n) = 0;

    // The engine for `mode` on file descriptor fd (none for threads).
    static Result<std::unique_ptr<AioEngine>> create(AioMode mode, int fd);
};

}  // namespace armvm
