// What `perf stat -e instructions,cycles,branches` measures, without perf:
// the Linux guest's PMU driver counts the three hardware events (user
// space only) over a loop of N iterations of two instructions (SUBS,
// B.NE), and the program prints "name count" per event, or
// "name unsupported" where the kernel refuses it. Built static for the
// busybox guest. Usage: perfcount [N]
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_event(uint64_t config) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = config;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

int main(int argc, char** argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], 0, 0) : 1000000;
    static const struct {
        const char* name;
        uint64_t config;
    } ev[] = {{"instructions", PERF_COUNT_HW_INSTRUCTIONS},
              {"cycles", PERF_COUNT_HW_CPU_CYCLES},
              {"branches", PERF_COUNT_HW_BRANCH_INSTRUCTIONS}};
    int fd[3];
    for (int i = 0; i < 3; i++) fd[i] = open_event(ev[i].config);
    for (int i = 0; i < 3; i++)
        if (fd[i] >= 0) ioctl(fd[i], PERF_EVENT_IOC_ENABLE, 0);
    __asm__ volatile("1: subs %0, %0, #1\n b.ne 1b" : "+r"(n) : : "cc");
    for (int i = 0; i < 3; i++)
        if (fd[i] >= 0) ioctl(fd[i], PERF_EVENT_IOC_DISABLE, 0);
    for (int i = 0; i < 3; i++) {
        uint64_t v;
        if (fd[i] < 0 || read(fd[i], &v, sizeof v) != sizeof v)
            printf("%s unsupported\n", ev[i].name);
        else
            printf("%s %llu\n", ev[i].name, (unsigned long long)v);
    }
    return 0;
}
