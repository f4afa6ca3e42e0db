#include "machine/ram.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace armvm {

Result<std::unique_ptr<GuestRam>> GuestRam::create(uint64_t size, const ObjectConfig* backend) {
    auto fail = [&](const std::string& what) {
        return make_error("-m: cannot allocate " + std::to_string(size >> 20) + " MiB of guest RAM: " + what);
    };
    int fd = -1;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (backend && backend->qom_type == "memory-backend-ram" && backend->props.value("share", false))
        flags = MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE;
    if (backend && backend->qom_type == "memory-backend-file") {
        std::string path = backend->props["mem-path"].get<std::string>();
        auto bad = [&](const std::string& what) {
            return make_error("-object " + backend->origin + ": " + what + " '" + path + "': " +
                              std::strerror(errno));
        };
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            // A directory (e.g. a hugetlbfs mount): a fresh unlinked file in it.
            std::string tmpl = path + "/armvm_back_mem.XXXXXX";
            fd = ::mkstemp(tmpl.data());
            if (fd < 0) return bad("cannot create a file in");
            ::unlink(tmpl.c_str());
        } else {
            fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (fd < 0) return bad("cannot open");
        }
        if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < size && ::ftruncate(fd, size) < 0) {
            ::close(fd);
            return bad("cannot resize");
        }
        flags = (backend->props.value("share", false) ? MAP_SHARED : MAP_PRIVATE) | MAP_NORESERVE;
    }
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, fd, 0);
    int err = errno;
    if (fd >= 0) ::close(fd);
    if (p == MAP_FAILED) return fail(std::strerror(err));
    return std::unique_ptr<GuestRam>(new GuestRam(static_cast<uint8_t*>(p), size));
}

GuestRam::~GuestRam() { ::munmap(base_, size_); }

}  // namespace armvm
