#include "base/fdset.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace armvm {

namespace {
std::mutex g_lock;
std::map<unsigned, std::vector<int>>& sets() {
    static std::map<unsigned, std::vector<int>> s;
    return s;
}
}  // namespace

void fdset_add(unsigned set, int fd) {
    std::lock_guard<std::mutex> g(g_lock);
    sets()[set].push_back(fd);
}

int open_or_fdset(const std::string& path, int flags, int mode) {
    static const std::string prefix = "/dev/fdset/";
    if (path.compare(0, prefix.size(), prefix) != 0) return ::open(path.c_str(), flags, mode);
    char* end = nullptr;
    unsigned long set = std::strtoul(path.c_str() + prefix.size(), &end, 10);
    if (path.size() == prefix.size() || !end || *end) {
        errno = EINVAL;
        return -1;
    }
    std::lock_guard<std::mutex> g(g_lock);
    auto it = sets().find(static_cast<unsigned>(set));
    if (it == sets().end()) {
        errno = ENOENT;
        return -1;
    }
    for (int fd : it->second) {
        int fl = ::fcntl(fd, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) != (flags & O_ACCMODE)) continue;
        int d = ::fcntl(fd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
        if (d >= 0 && (flags & O_APPEND) && !(fl & O_APPEND)) ::fcntl(d, F_SETFL, fl | O_APPEND);
        return d;
    }
    errno = EACCES;
    return -1;
}

}  // namespace armvm
