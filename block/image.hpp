// Disk images: a host file (File: opened, locked, read and written whole)
// and the format on it (Image: raw, where the file is the disk, or qcow2).
// A BlockDev holds one Image; a qcow2 image holds its backing Image (shared:
// with -blockdev, the backing is a node of its own).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <atomic>
#include <mutex>

#include "base/result.hpp"
#include "block/aio.hpp"

namespace armvm {

// a = max(a, v), for counters several threads raise.
inline void store_max(std::atomic<uint64_t>& a, uint64_t v) {
    uint64_t cur = a.load(std::memory_order_relaxed);
    while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
}

// The file driver's cache and aio options (QEMU's `cache.direct`,
// `cache.no-flush`, `aio`; `-drive cache=` sets the first two).
struct FileOptions {
    bool direct = false;    // O_DIRECT: past the host's page cache
    bool no_flush = false;  // flushes are not passed on (cache=unsafe)
    AioMode aio = AioMode::Threads;
};

// Tests (crash simulation): every change made to a file, in order, with
// the syncs between them.
struct FileOp {
    enum Kind { Write, Sync, Truncate } kind;
    uint64_t off = 0;           // Write: where; Truncate: the new length
    std::vector<uint8_t> data;  // Write: the bytes (a hole punched: zeroes)
};

class File {
public:
    // Opens and locks (OFD lock: exclusive when writable, shared when
    // read-only, so two emulators cannot write one image at once). With
    // auto_read_only, a file that may not be written is opened read-only.
    static Result<std::unique_ptr<File>> open(const std::string& filename, bool read_only, bool auto_read_only,
                                              const FileOptions& opts = {});
    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    const std::string& name() const { return name_; }
    bool read_only() const { return read_only_; }
    int fd() const { return fd_; }
    uint64_t length() const;        // the file's size now
    uint64_t allocated() const;     // bytes the host file system holds for it

    const FileOptions& options() const { return opts_; }

    // Whole reads and writes; a read past the end gives zeroes. With
    // cache.direct, a request the host's alignment rules refuse goes
    // through an aligned bounce buffer (a write as read-modify-write).
    bool pread_full(uint64_t off, void* buf, size_t len) const;
    bool pwrite_full(uint64_t off, const void* buf, size_t len);
    // Reads and writes at once (through the aio engine: io_uring and
    // native run them in parallel); each request's `res` is its byte count
    // or -errno. False if any failed.
    bool submit(IoReq* reqs, size_t n) const;
    bool sync();
    bool punch_hole(uint64_t off, uint64_t len);
    // The file node's counters (query-blockstats): the end of the furthest
    // write, and the discards passed to the host (holes punched).
    uint64_t wr_highest() const { return wr_highest_; }
    uint64_t discards_ok() const { return discard_ok_; }
    uint64_t discards_failed() const { return discard_failed_; }
    uint64_t discard_bytes_ok() const { return discard_bytes_; }
    bool zero_range(uint64_t off, uint64_t len);
    bool truncate(uint64_t len);
    // Tests: record every change from now on into `log` (nullptr: stop).
    void set_log(std::vector<FileOp>* log) { log_ = log; }

private:
    File() = default;
    bool aligned(const IoReq& r) const;
    bool sync_rw(const IoReq& r) const;  // plain pread/pwrite, whole
    bool bounce_rw(const IoReq& r) const;
    std::string name_;
    int fd_ = -1;
    bool read_only_ = false;
    FileOptions opts_;
    uint64_t align_ = 1, mem_align_ = 1;  // O_DIRECT's offset/length and buffer alignment
    std::unique_ptr<AioEngine> engine_;
    mutable std::mutex bounce_mu_;  // read-modify-write of a direct file's blocks
    mutable std::atomic<uint64_t> wr_highest_{0};
    std::atomic<uint64_t> discard_ok_{0}, discard_failed_{0}, discard_bytes_{0};
    void wrote(uint64_t end) const;
    void log_write(uint64_t off, const iovec* iov, unsigned n) const;
    std::vector<FileOp>* log_ = nullptr;
};

class Image {
public:
    virtual ~Image() = default;
    virtual const char* format() const = 0;
    virtual uint64_t size() const = 0;
    // False on an I/O error, a corrupt image or a write to a read-only one.
    virtual bool read(uint64_t off, void* buf, size_t len) = 0;
    virtual bool write(uint64_t off, const void* buf, size_t len) = 0;
    virtual bool flush() = 0;
    // Whole clusters/blocks may be dropped; a discard is a hint.
    virtual bool discard(uint64_t off, uint64_t len) = 0;
    virtual bool write_zeroes(uint64_t off, uint64_t len) = 0;
    virtual std::shared_ptr<Image> backing() const { return nullptr; }
    virtual bool dirty() const { return false; }
    File& file() { return *file_; }
    const File& file() const { return *file_; }
    bool read_only() const { return file_->read_only(); }
    // Hands the file over (to be opened under another format); the image
    // is unusable after.
    std::unique_ptr<File> release_file() { return std::move(file_); }
    // discard=unmap: freed space is returned to the host file system.
    bool pass_discard = false;

protected:
    explicit Image(std::unique_ptr<File> f) : file_(std::move(f)) {}
    std::unique_ptr<File> file_;
};

struct ImageOptions {
    // "raw", "qcow2", or "" to probe (qcow2's magic, else raw).
    std::string format;
    // qcow2: the backing image is given (-blockdev backing=NODE) or refused
    // (backing=null) instead of opened from the name in the header.
    bool backing_given = false;
    std::shared_ptr<Image> backing;
    // How backing files named in a qcow2 header are opened (QEMU: they
    // inherit cache.direct and cache.no-flush).
    FileOptions backing_file;
};

// The format on an open file. Backing files named in a qcow2 header are
// opened read-only, relative to the image's folder.
Result<std::shared_ptr<Image>> open_image(std::unique_ptr<File> file, ImageOptions opts);
// Whether the file starts with qcow2's magic.
bool is_qcow2(const File& f);

}  // namespace armvm
