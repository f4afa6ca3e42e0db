#include "cli/pidfile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace armvm {

Result<std::unique_ptr<Pidfile>> Pidfile::create(const std::string& path) {
    auto fail = [&](const std::string& what) {
        return make_error("-pidfile " + path + ": cannot create PID file: " + what);
    };
    for (int attempt = 0; attempt < 3; ++attempt) {
        int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) return fail("Could not create '" + path + "': " + std::strerror(errno));
        struct flock lk {};
        lk.l_type = F_WRLCK;
        lk.l_whence = SEEK_SET;
        if (::fcntl(fd, F_SETLK, &lk) < 0) {
            int e = errno;
            ::close(fd);
            if (e == EAGAIN || e == EACCES)
                return fail("Cannot lock pid file: it is held by another running process");
            return fail(std::string("Cannot lock pid file: ") + std::strerror(e));
        }
        // The holder of the lock may have unlinked the file between our
        // open() and the lock: make sure we locked the file at `path`.
        struct stat a {}, b {};
        if (::fstat(fd, &a) < 0 || ::stat(path.c_str(), &b) < 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev) {
            ::close(fd);
            continue;
        }
        if (::ftruncate(fd, 0) < 0) {
            int e = errno;
            ::close(fd);
            return fail(std::string("Failed to truncate pid file: ") + std::strerror(e));
        }
        std::string pid = std::to_string(::getpid()) + "\n";
        if (::write(fd, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
            int e = errno;
            ::close(fd);
            ::unlink(path.c_str());
            return fail(std::string("Failed to write pid file: ") + std::strerror(e));
        }
        return std::unique_ptr<Pidfile>(new Pidfile(path, fd));
    }
    return fail("the file keeps being replaced");
}

Pidfile::~Pidfile() {
    // Unlink while still holding the lock, so a new instance cannot lock a
    // file we are about to remove.
    ::unlink(path_.c_str());
    ::close(fd_);
}

}  // namespace armvm
