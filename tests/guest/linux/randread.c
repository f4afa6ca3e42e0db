// A Linux user program for scripts/bench-pci: N 4 KiB reads at random
// 4 KiB-aligned offsets of a block device with O_DIRECT (no page cache),
// one at a time; prints the count and the elapsed seconds.
//   randread /dev/vda COUNT
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    int fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (fd < 0) return perror("open"), 1;
    uint64_t bytes = 0;
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) return perror("size"), 1;
    long n = atol(argv[2]);
    void* buf;
    if (posix_memalign(&buf, 4096, 4096)) return 1;
    uint64_t blocks = bytes / 4096, x = 88172645463325252ull;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
        if (pread(fd, buf, 4096, (off_t)((x % blocks) * 4096)) != 4096) return perror("pread"), 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%ld %.3f\n", n, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
