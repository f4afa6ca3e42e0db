// For the nested KVM rig: prints CLOCK_MONOTONIC in nanoseconds, then
// execs its arguments. armvm (ARMVM_STATS=1) prints the same clock when
// its first vCPU enters KVM_RUN; the difference is the time from exec to
// the first guest instruction.
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("stamp: exec at %lld ns\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    fflush(stdout);
    execv(argv[1], argv + 1);
    perror("execv");
    return 127;
}
