#include "machine/semihosting.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "base/log.hpp"
#include "cpu-arm64/cpu.hpp"

namespace armvm {

namespace {

enum Op : uint32_t {
    SYS_OPEN = 0x01, SYS_CLOSE = 0x02, SYS_WRITEC = 0x03, SYS_WRITE0 = 0x04, SYS_WRITE = 0x05, SYS_READ = 0x06,
    SYS_READC = 0x07, SYS_ISERROR = 0x08, SYS_ISTTY = 0x09, SYS_SEEK = 0x0a, SYS_FLEN = 0x0c, SYS_TMPNAM = 0x0d,
    SYS_REMOVE = 0x0e, SYS_RENAME = 0x0f, SYS_CLOCK = 0x10, SYS_TIME = 0x11, SYS_SYSTEM = 0x12, SYS_ERRNO = 0x13,
    SYS_GET_CMDLINE = 0x15, SYS_HEAPINFO = 0x16, SYS_EXIT = 0x18, SYS_EXIT_EXTENDED = 0x20, SYS_ELAPSED = 0x30,
    SYS_TICKFREQ = 0x31,
};
constexpr uint64_t kApplicationExit = 0x20026;  // ADP_Stopped_ApplicationExit
constexpr uint64_t kMaxString = 1 << 16;        // a path or command longer than this is refused
// ":semihosting-features": the magic and the feature bits armvm has
// (SH_EXT_EXIT_EXTENDED, SH_EXT_STDOUT_STDERR), as QEMU's.
const char kFeatures[5] = {'S', 'H', 'F', 'B', 0x03};

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

Semihosting::Semihosting(Config cfg) : cfg_(std::move(cfg)), start_ns_(now_ns()) {}

Semihosting::~Semihosting() {
    for (File& f : files_)
        if (f.kind == File::Host && f.fd >= 0) ::close(f.fd);
}

void Semihosting::set_heap(uint64_t base, uint64_t limit, uint64_t stack_base, uint64_t stack_limit) {
    std::lock_guard<std::mutex> g(m_);
    cfg_.heap_base = base;
    cfg_.heap_limit = limit;
    cfg_.stack_base = stack_base;
    cfg_.stack_limit = stack_limit;
}

void Semihosting::out(const std::string& s) {
    if (cfg_.console) return cfg_.console(s);
    ssize_t n = ::write(2, s.data(), s.size());
    (void)n;
}

bool Semihosting::call(Cpu& c) {
    if (c.s.el == 0 && !cfg_.userspace) return false;
    std::lock_guard<std::mutex> g(m_);
    bool fault = false;
    int64_t r = dispatch(c, static_cast<uint32_t>(c.s.x[0]), c.s.x[1], fault);
    if (fault) {  // a parameter block or buffer that does not translate
        errno_ = EFAULT;
        r = -1;
    }
    c.s.x[0] = static_cast<uint64_t>(r);
    return true;
}

int64_t Semihosting::dispatch(Cpu& c, uint32_t op, uint64_t arg, bool& fault) {
    // The parameter block's words, read on demand.
    auto param = [&](unsigned i) -> uint64_t {
        uint64_t v = 0;
        if (!c.read_virt(arg + 8ull * i, &v, 8)) fault = true;
        return v;
    };
    auto string_at = [&](uint64_t va, uint64_t len, std::string& s) {
        if (len > kMaxString) return false;
        s.resize(len);
        if (len && !c.read_virt(va, s.data(), len)) return false;
        return true;
    };
    auto file = [&](uint64_t h) -> File* {
        if (h == 0 || h > files_.size() || files_[h - 1].fd < 0) return nullptr;
        return &files_[h - 1];
    };
    auto fail = [&](int e) -> int64_t {
        errno_ = e;
        return -1;
    };
    switch (op) {
    case SYS_WRITEC: {
        char ch;
        if (!c.read_virt(arg, &ch, 1)) return fail(EFAULT);
        out(std::string(1, ch));
        return 0;
    }
    case SYS_WRITE0: {
        std::string s;
        for (uint64_t va = arg; s.size() < kMaxString; ++va) {
            char ch;
            if (!c.read_virt(va, &ch, 1)) return fail(EFAULT);
            if (!ch) break;
            s += ch;
        }
        out(s);
        return 0;
    }
    case SYS_OPEN: {
        uint64_t name_va = param(0), mode = param(1), len = param(2);
        std::string name;
        if (fault || !string_at(name_va, len, name)) return fail(EFAULT);
        if (mode > 11) return fail(EINVAL);
        File f;
        if (name == ":tt") {
            f.kind = File::Tty;
            f.fd = mode < 4 ? 0 : mode < 8 ? 1 : 2;  // stdin, stdout, stderr
        } else if (name == ":semihosting-features") {
            if (mode > 1) return fail(EACCES);
            f.kind = File::Features;
            f.fd = 0;
        } else {
            static const int flags[] = {O_RDONLY, O_RDWR, O_WRONLY | O_CREAT | O_TRUNC, O_RDWR | O_CREAT | O_TRUNC,
                                        O_WRONLY | O_CREAT | O_APPEND, O_RDWR | O_CREAT | O_APPEND};
            f.fd = ::open(name.c_str(), flags[mode / 2] | O_CLOEXEC, 0644);
            if (f.fd < 0) return fail(errno);
        }
        for (size_t i = 0; i < files_.size(); ++i)
            if (files_[i].fd < 0) {
                files_[i] = f;
                return static_cast<int64_t>(i + 1);
            }
        files_.push_back(f);
        return static_cast<int64_t>(files_.size());
    }
    case SYS_CLOSE: {
        File* f = file(param(0));
        if (!f) return fail(EBADF);
        if (f->kind == File::Host) ::close(f->fd);
        f->fd = -1;
        return 0;
    }
    case SYS_WRITE: {
        uint64_t h = param(0), buf = param(1), len = param(2);
        File* f = file(h);
        if (fault) return -1;
        if (!f || f->kind == File::Features) return fail(EBADF);
        std::string data;
        if (!string_at(buf, std::min(len, kMaxString), data)) return fail(EFAULT);
        ssize_t n = ::write(f->fd, data.data(), data.size());
        if (n < 0) return errno_ = errno, static_cast<int64_t>(len);
        return static_cast<int64_t>(len - static_cast<uint64_t>(n));  // bytes not written
    }
    case SYS_READ: {
        uint64_t h = param(0), buf = param(1), len = param(2);
        File* f = file(h);
        if (fault) return -1;
        if (!f) return fail(EBADF);
        std::string data(std::min(len, kMaxString), '\0');
        ssize_t n;
        if (f->kind == File::Features) {
            n = static_cast<ssize_t>(std::min<uint64_t>(data.size(), sizeof kFeatures - std::min<uint64_t>(f->pos, sizeof kFeatures)));
            std::copy(kFeatures + f->pos, kFeatures + f->pos + n, data.begin());
            f->pos += static_cast<uint64_t>(n);
        } else {
            n = ::read(f->fd, data.data(), data.size());
            if (n < 0) return errno_ = errno, static_cast<int64_t>(len);
        }
        if (n > 0 && !c.write_virt(buf, data.data(), static_cast<size_t>(n))) return fail(EFAULT);
        return static_cast<int64_t>(len - static_cast<uint64_t>(n));  // bytes not read
    }
    case SYS_READC: {
        unsigned char ch = 0;
        ssize_t n = ::read(0, &ch, 1);
        return n == 1 ? ch : -1;
    }
    case SYS_ISERROR:
        return static_cast<int64_t>(param(0)) < 0 ? 1 : 0;
    case SYS_ISTTY: {
        File* f = file(param(0));
        if (!f) return fail(EBADF);
        if (f->kind == File::Features) return 0;
        return ::isatty(f->fd) ? 1 : (errno_ = errno, 0);
    }
    case SYS_SEEK: {
        uint64_t h = param(0), pos = param(1);
        File* f = file(h);
        if (!f) return fail(EBADF);
        if (f->kind == File::Features) {
            if (pos > sizeof kFeatures) return fail(EINVAL);
            f->pos = pos;
            return 0;
        }
        return ::lseek(f->fd, static_cast<off_t>(pos), SEEK_SET) < 0 ? fail(errno) : 0;
    }
    case SYS_FLEN: {
        File* f = file(param(0));
        if (!f) return fail(EBADF);
        if (f->kind == File::Features) return sizeof kFeatures;
        struct stat st;
        if (::fstat(f->fd, &st) < 0) return fail(errno);
        return st.st_size;
    }
    case SYS_TMPNAM: {
        uint64_t buf = param(0), id = param(1), len = param(2);
        if (fault) return -1;
        const char* dir = std::getenv("TMPDIR");
        char name[512];
        int n = std::snprintf(name, sizeof name, "%s/armvm-%x%02x", dir && *dir ? dir : "/tmp",
                              static_cast<unsigned>(::getpid()), static_cast<unsigned>(id & 0xff));
        if (n < 0 || static_cast<uint64_t>(n) + 1 > len) return -1;
        return c.write_virt(buf, name, static_cast<size_t>(n) + 1) ? 0 : fail(EFAULT);
    }
    case SYS_REMOVE: {
        std::string name;
        uint64_t va = param(0), len = param(1);
        if (fault || !string_at(va, len, name)) return fail(EFAULT);
        return ::unlink(name.c_str()) < 0 ? fail(errno) : 0;
    }
    case SYS_RENAME: {
        std::string a, b;
        uint64_t va = param(0), la = param(1), vb = param(2), lb = param(3);
        if (fault || !string_at(va, la, a) || !string_at(vb, lb, b)) return fail(EFAULT);
        return std::rename(a.c_str(), b.c_str()) < 0 ? fail(errno) : 0;
    }
    case SYS_CLOCK:
        return static_cast<int64_t>((now_ns() - start_ns_) / 10000000);  // centiseconds
    case SYS_TIME:
        return static_cast<int64_t>(std::time(nullptr));
    case SYS_SYSTEM: {
        std::string cmd;
        uint64_t va = param(0), len = param(1);
        if (fault || !string_at(va, len, cmd)) return fail(EFAULT);
        int st = std::system(cmd.c_str());
        return st < 0 ? fail(errno) : st;
    }
    case SYS_ERRNO:
        return errno_;
    case SYS_GET_CMDLINE: {
        uint64_t buf = param(0), len = param(1);
        if (fault) return -1;
        const std::string& s = cfg_.cmdline;
        if (s.size() + 1 > len) return -1;
        uint64_t n = s.size();
        if (!c.write_virt(buf, s.c_str(), s.size() + 1) || !c.write_virt(arg + 8, &n, 8)) return fail(EFAULT);
        return 0;
    }
    case SYS_HEAPINFO: {
        uint64_t block;
        if (!c.read_virt(arg, &block, 8)) return fail(EFAULT);
        uint64_t v[4] = {cfg_.heap_base, cfg_.heap_limit, cfg_.stack_base, cfg_.stack_limit};
        return c.write_virt(block, v, sizeof v) ? 0 : fail(EFAULT);
    }
    case SYS_EXIT:
    case SYS_EXIT_EXTENDED: {
        uint64_t reason = param(0), code = param(1);
        int status = fault ? 1 : reason == kApplicationExit ? static_cast<int>(code) : 1;
        if (!exiting_) {
            exiting_ = true;
            if (cfg_.exit) cfg_.exit(status);
        }
        return 0;
    }
    case SYS_ELAPSED: {
        uint64_t ticks = now_ns() - start_ns_;
        return c.write_virt(arg, &ticks, 8) ? 0 : fail(EFAULT);
    }
    case SYS_TICKFREQ:
        return 1000000000;  // (SYS_ELAPSED counts nanoseconds)
    default:
        if (qlog::allow(qlog::Unimp)) qlog::printf("Unsupported SemiHosting SWI 0x%02x\n", op);
        return fail(ENOSYS);
    }
}

}  // namespace armvm
