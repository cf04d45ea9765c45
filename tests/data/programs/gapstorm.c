/* A storm that loses records on a tiny ring, with each call numbered: getppid(i) for i in 0..N,
 * so a reader can tell exactly which calls are missing (args[0] is the raw register). Pinned to
 * CPU 0 so that every record is that CPU's (a gap sits before its CPU's next record). Waits
 * 50 ms first so the ring is empty when the storm starts (the exec records get through). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0)
        return 2;
    usleep(50000);
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid, i);
    return 0;
}
