/* Syscall storm for the capture benchmark: N getppid calls in a tight loop.
 * Prints the loop's own elapsed time ("storm_ns=<ns>") on stderr so a benchmark can compare the
 * traced and untraced program without the tracer's start-up and file-writing time. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    long sum = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    fprintf(stderr, "storm_ns=%lld\n",
            (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    return sum == 0 ? 1 : 0;
}
