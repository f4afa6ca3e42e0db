#include "block/image.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/fdset.hpp"
#include "block/qcow2.hpp"

namespace armvm {

Result<std::unique_ptr<File>> File::open(const std::string& filename, bool read_only, bool auto_read_only,
                                         const FileOptions& opts) {
    int extra = O_CLOEXEC | (opts.direct ? O_DIRECT : 0);
    auto file_like = [](const struct stat& st) { return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode); };
    struct stat pre;
    if (::stat(filename.c_str(), &pre) == 0 && !file_like(pre))  // (a directory: before open() says EISDIR)
        return make_error("'file' driver requires '" + filename + "' to be a regular file");
    int fd = open_or_fdset(filename, (read_only ? O_RDONLY : O_RDWR) | extra);
    if (fd < 0 && !read_only && auto_read_only && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        read_only = true;
        fd = open_or_fdset(filename, O_RDONLY | extra);
    }
    if (fd < 0) return make_error("Could not open '" + filename + "': " + std::strerror(errno));
    std::unique_ptr<File> f(new File);
    f->fd_ = fd;
    f->name_ = filename;
    f->read_only_ = read_only;
    f->opts_ = opts;
    struct stat st;
    // (QEMU's 'file' driver takes regular files and, as it does, devices:
    // a character device such as /dev/null is an empty disk)
    if (::fstat(fd, &st) != 0 || !file_like(st))
        return make_error("'file' driver requires '" + filename + "' to be a regular file");
    if (opts.direct) {
        // (an fd from an fd set was opened by the caller: it must say O_DIRECT itself)
        if (!(::fcntl(fd, F_GETFL) & O_DIRECT)) return make_error("Could not open '" + filename + "': Invalid argument");
        f->align_ = f->mem_align_ = 4096;  // (safe when the kernel does not say)
#ifdef STATX_DIOALIGN
        struct statx sx {};
        if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
            if (!sx.stx_dio_offset_align)
                return make_error("Could not open '" + filename + "': Invalid argument");
            f->align_ = sx.stx_dio_offset_align;
            f->mem_align_ = std::max<uint64_t>(sx.stx_dio_mem_align, 1);
        }
#endif
    }
    if (opts.aio != AioMode::Threads) {
        auto e = AioEngine::create(opts.aio, fd);
        if (!e) return make_error(e.error().msg);
        f->engine_ = std::move(*e);
    }
    // QEMU's image locking (its file-posix protocol), so that armvm, QEMU and
    // qemu-img see each other: one shared lock byte at 100 + n for each
    // permission held, at 200 + n for each one not shared with others
    // (n: 0 consistent read, 1 write, 2 write unchanged, 3 resize). A reader
    // holds consistent read; a writer all four; neither shares write or
    // resize.
    static const char* const kPerm[] = {"consistent read", "write", "write unchanged", "resize"};
    unsigned held = read_only ? 0x1 : 0xf, unshared = 0x2 | 0x8;
    auto lock_byte = [&](int type, off_t at, bool test) {
        struct flock fl {};
        fl.l_type = static_cast<short>(type);
        fl.l_whence = SEEK_SET;
        fl.l_start = at;
        fl.l_len = 1;
        if (test) return ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_UNLCK;
        return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
    };
    for (unsigned i = 0; i < 4; ++i) {
        if ((held >> i & 1) && !lock_byte(F_WRLCK, 200 + i, true))
            return make_error(std::string("Failed to get \"") + kPerm[i] +
                              "\" lock\nIs another process using the image [" + filename + "]?");
        if ((unshared >> i & 1) && !lock_byte(F_WRLCK, 100 + i, true))
            return make_error(std::string("Failed to get shared \"") + kPerm[i] +
                              "\" lock\nIs another process using the image [" + filename + "]?");
    }
    for (unsigned i = 0; i < 4; ++i) {
        if (((held >> i & 1) && !lock_byte(F_RDLCK, 100 + i, false)) ||
            ((unshared >> i & 1) && !lock_byte(F_RDLCK, 200 + i, false)))
            return make_error("Failed to lock byte " + std::to_string(100 + i) + " of '" + filename + "'");
    }
    return f;
}

File::~File() {
    if (fd_ >= 0) ::close(fd_);
}

uint64_t File::length() const {
    off_t end = ::lseek(fd_, 0, SEEK_END);
    return end < 0 ? 0 : static_cast<uint64_t>(end);
}

uint64_t File::allocated() const {
    struct stat st {};
    return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

void File::wrote(uint64_t end) const { store_max(wr_highest_, end); }

bool File::aligned(const IoReq& r) const {
    if (r.off % align_) return false;
    for (unsigned i = 0; i < r.iovcnt; ++i)
        if (reinterpret_cast<uintptr_t>(r.iov[i].iov_base) % mem_align_ || r.iov[i].iov_len % align_) return false;
    return true;
}

bool File::sync_rw(const IoReq& r) const {
    uint64_t off = r.off;
    for (unsigned i = 0; i < r.iovcnt; ++i) {
        auto* p = static_cast<uint8_t*>(r.iov[i].iov_base);
        size_t len = r.iov[i].iov_len;
        while (len) {
            ssize_t n = r.write ? ::pwrite(fd_, p, len, static_cast<off_t>(off)) : ::pread(fd_, p, len, static_cast<off_t>(off));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && !(r.write || errno != EINVAL || off < length())) n = 0;  // (O_DIRECT at the end)
            if (n < 0 || (n == 0 && r.write)) return false;
            if (n == 0) {  // past the end: zeroes
                std::memset(p, 0, len);
                for (unsigned j = i + 1; j < r.iovcnt; ++j) std::memset(r.iov[j].iov_base, 0, r.iov[j].iov_len);
                return true;
            }
            p += n;
            off += static_cast<uint64_t>(n);
            len -= static_cast<size_t>(n);
        }
    }
    return true;
}

// A direct file's request that is not aligned: the blocks it touches go
// through an aligned buffer.
bool File::bounce_rw(const IoReq& r) const {
    size_t total = 0;
    for (unsigned i = 0; i < r.iovcnt; ++i) total += r.iov[i].iov_len;
    if (!total) return true;
    std::lock_guard<std::mutex> g(bounce_mu_);
    uint64_t a0 = r.off / align_ * align_, a1 = (r.off + total + align_ - 1) / align_ * align_;
    size_t blen = static_cast<size_t>(a1 - a0);
    void* mem = nullptr;
    if (::posix_memalign(&mem, std::max<uint64_t>(mem_align_, align_), blen) != 0) return false;
    std::unique_ptr<void, void (*)(void*)> hold(mem, std::free);
    auto* b = static_cast<uint8_t*>(mem);
    iovec whole{b, blen};
    uint64_t end = 0;
    if (r.write) {  // the partial head and tail blocks are read first
        end = length();
        if (r.off != a0 || (r.off + total) % align_) {
            iovec head{b, static_cast<size_t>(align_)};
            if (!sync_rw(IoReq{false, a0, &head, 1, 0})) return false;
            if (blen > align_) {
                iovec tail{b + blen - align_, static_cast<size_t>(align_)};
                if (!sync_rw(IoReq{false, a1 - align_, &tail, 1, 0})) return false;
            }
        }
    } else if (!sync_rw(IoReq{false, a0, &whole, 1, 0})) {
        return false;
    }
    uint8_t* p = b + (r.off - a0);
    for (unsigned i = 0; i < r.iovcnt; ++i) {
        if (r.write)
            std::memcpy(p, r.iov[i].iov_base, r.iov[i].iov_len);
        else
            std::memcpy(r.iov[i].iov_base, p, r.iov[i].iov_len);
        p += r.iov[i].iov_len;
    }
    if (!r.write) return true;
    if (!sync_rw(IoReq{true, a0, &whole, 1, 0})) return false;
    // A write that ends in the file's last block leaves the file as long as before.
    uint64_t want = std::max<uint64_t>(end, r.off + total);
    return a1 <= want || ::ftruncate(fd_, static_cast<off_t>(want)) == 0;
}

bool File::submit(IoReq* reqs, size_t n) const {
    bool ok = true;
    std::vector<IoReq> batch;
    std::vector<size_t> where;
    std::vector<size_t> totals(n);
    for (size_t i = 0; i < n; ++i) {
        IoReq& r = reqs[i];
        for (unsigned k = 0; k < r.iovcnt; ++k) totals[i] += r.iov[k].iov_len;
        if (r.write && read_only_) {
            r.res = -EBADF;
        } else if (opts_.direct && !aligned(r)) {
            r.res = bounce_rw(r) ? static_cast<ssize_t>(totals[i]) : -EIO;
        } else if (engine_) {
            batch.push_back(r);
            where.push_back(i);
            continue;
        } else {
            r.res = sync_rw(r) ? static_cast<ssize_t>(totals[i]) : -EIO;
        }
        ok = ok && r.res >= 0;
    }
    if (!batch.empty()) engine_->run(batch.data(), batch.size());
    for (size_t j = 0; j < batch.size(); ++j) {
        IoReq& r = reqs[where[j]];
        ssize_t res = batch[j].res;
        // Short (the end of the file, or a partial transfer) or not
        // submitted: done again the plain way, which knows both.
        if (res != static_cast<ssize_t>(totals[where[j]]) && (res >= 0 || res == -EAGAIN || res == -EINTR))
            res = sync_rw(r) ? static_cast<ssize_t>(totals[where[j]]) : -EIO;
        r.res = res;
        ok = ok && res >= 0;
    }
    for (size_t i = 0; i < n; ++i)
        if (reqs[i].write && reqs[i].res > 0) {
            wrote(reqs[i].off + static_cast<uint64_t>(reqs[i].res));
            if (log_) log_write(reqs[i].off, reqs[i].iov, reqs[i].iovcnt);
        }
    return ok;
}

void File::log_write(uint64_t off, const iovec* iov, unsigned n) const {
    FileOp op{FileOp::Write, off, {}};
    for (unsigned k = 0; k < n; ++k) {
        auto* b = static_cast<const uint8_t*>(iov[k].iov_base);
        op.data.insert(op.data.end(), b, b + iov[k].iov_len);
    }
    log_->push_back(std::move(op));
}

bool File::pread_full(uint64_t off, void* buf, size_t len) const {
    iovec v{buf, len};
    IoReq r{false, off, &v, 1, 0};
    return opts_.direct || engine_ ? submit(&r, 1) : sync_rw(r);
}

bool File::pwrite_full(uint64_t off, const void* buf, size_t len) {
    if (read_only_) return false;
    iovec v{const_cast<void*>(buf), len};
    IoReq r{true, off, &v, 1, 0};
    if (opts_.direct || engine_) return submit(&r, 1);
    if (!sync_rw(r)) return false;
    wrote(off + len);
    if (log_) log_write(off, &v, 1);
    return true;
}

bool File::sync() {
    if (read_only_ || opts_.no_flush) return true;
    if (::fdatasync(fd_) != 0) return false;
    if (log_) log_->push_back({FileOp::Sync, 0, {}});
    return true;
}

bool File::punch_hole(uint64_t off, uint64_t len) {
    if (read_only_) return false;
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                    static_cast<off_t>(len)) == 0) {
        if (log_) log_->push_back({FileOp::Write, off, std::vector<uint8_t>(len, 0)});
        ++discard_ok_;
        discard_bytes_ += len;
        return true;
    }
    ++discard_failed_;
    return errno == EOPNOTSUPP;  // (a file system without holes: still a valid discard)
}

bool File::zero_range(uint64_t off, uint64_t len) {
    if (read_only_) return false;
    if (::fallocate(fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                    static_cast<off_t>(len)) == 0) {
        if (log_) log_->push_back({FileOp::Write, off, std::vector<uint8_t>(len, 0)});
        return true;
    }
    static const uint8_t zeros[65536] = {};
    while (len) {
        size_t n = len < sizeof zeros ? static_cast<size_t>(len) : sizeof zeros;
        if (!pwrite_full(off, zeros, n)) return false;
        off += n;
        len -= n;
    }
    return true;
}

bool File::truncate(uint64_t len) {
    if (read_only_ || ::ftruncate(fd_, static_cast<off_t>(len)) != 0) return false;
    if (log_) log_->push_back({FileOp::Truncate, len, {}});
    return true;
}

bool is_qcow2(const File& f) {
    uint8_t m[4] = {};
    return f.length() >= 4 && f.pread_full(0, m, 4) && std::memcmp(m, "QFI\xfb", 4) == 0;
}

namespace {

// The raw format: the file is the disk.
class RawImage final : public Image {
public:
    explicit RawImage(std::unique_ptr<File> f) : Image(std::move(f)), size_(file_->length()) {}
    const char* format() const override { return "raw"; }
    uint64_t size() const override { return size_; }
    bool read(uint64_t off, void* buf, size_t len) override { return file_->pread_full(off, buf, len); }
    bool write(uint64_t off, const void* buf, size_t len) override { return file_->pwrite_full(off, buf, len); }
    bool flush() override { return file_->sync(); }
    bool discard(uint64_t off, uint64_t len) override {
        if (file_->read_only()) return false;
        return !pass_discard || file_->punch_hole(off, len);  // discard=ignore: the hint is dropped
    }
    bool write_zeroes(uint64_t off, uint64_t len) override { return file_->zero_range(off, len); }

private:
    uint64_t size_;
};

}  // namespace

Result<std::shared_ptr<Image>> open_image(std::unique_ptr<File> file, ImageOptions opts) {
    std::string fmt = opts.format;
    if (fmt.empty()) fmt = is_qcow2(*file) ? "qcow2" : "raw";
    if (fmt == "raw") return std::shared_ptr<Image>(std::make_shared<RawImage>(std::move(file)));
    if (fmt == "qcow2") {
        auto q = Qcow2Image::open(std::move(file), std::move(opts));
        if (!q) return q.error();
        return std::shared_ptr<Image>(std::move(*q));
    }
    return make_error("Unknown driver '" + fmt + "'");
}

}  // namespace armvm
