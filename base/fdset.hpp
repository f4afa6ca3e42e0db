// File descriptor sets (-add-fd fd=N,set=S): fds the caller passed in,
// opened by name as /dev/fdset/S (libvirt's way of handing over files the
// emulator may not open itself). As QEMU: the first fd of the set whose
// access mode matches the flags is duplicated.
#pragma once
#include <string>

namespace armvm {

void fdset_add(unsigned set, int fd);
// open(2), or for /dev/fdset/S a dup of a matching fd of set S; -1 with
// errno set on failure (ENOENT: no such set, EACCES: no fd with that mode).
int open_or_fdset(const std::string& path, int flags, int mode = 0);

}  // namespace armvm
