#include "block/image.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fdset.hpp"
#include "block/qcow2.hpp"

namespace armvm {

Result<std::unique_ptr<File>> File::open(const std::string& filename, bool read_only, bool auto_read_only) {
    int fd = open_or_fdset(filename, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0 && !read_only && auto_read_only && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        read_only = true;
        fd = open_or_fdset(filename, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) return make_error("Could not open '" + filename + "': " + std::strerror(errno));
    std::unique_ptr<File> f(new File);
    f->fd_ = fd;
    f->name_ = filename;
    f->read_only_ = read_only;
    struct stat st;
    if (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
        return make_error("'" + filename + "' is not a file");
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

bool File::pread_full(uint64_t off, void* buf, size_t len) const {
    auto* p = static_cast<uint8_t*>(buf);
    while (len) {
        ssize_t n = ::pread(fd_, p, len, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) {  // past the end: zeroes
            std::memset(p, 0, len);
            return true;
        }
        p += n;
        off += static_cast<uint64_t>(n);
        len -= static_cast<size_t>(n);
    }
    return true;
}

bool File::pwrite_full(uint64_t off, const void* buf, size_t len) {
    if (read_only_) return false;
    auto* p = static_cast<const uint8_t*>(buf);
    while (len) {
        ssize_t n = ::pwrite(fd_, p, len, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        off += static_cast<uint64_t>(n);
        len -= static_cast<size_t>(n);
    }
    return true;
}

bool File::sync() { return read_only_ || ::fdatasync(fd_) == 0; }

bool File::punch_hole(uint64_t off, uint64_t len) {
    if (read_only_) return false;
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                    static_cast<off_t>(len)) == 0)
        return true;
    return errno == EOPNOTSUPP;  // (a file system without holes: still a valid discard)
}

bool File::zero_range(uint64_t off, uint64_t len) {
    if (read_only_) return false;
    if (::fallocate(fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                    static_cast<off_t>(len)) == 0)
        return true;
    static const uint8_t zeros[65536] = {};
    while (len) {
        size_t n = len < sizeof zeros ? static_cast<size_t>(len) : sizeof zeros;
        if (!pwrite_full(off, zeros, n)) return false;
        off += n;
        len -= n;
    }
    return true;
}

bool File::truncate(uint64_t len) { return !read_only_ && ::ftruncate(fd_, static_cast<off_t>(len)) == 0; }

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
