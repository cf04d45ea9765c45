/* A steady producer for journal and rotation tests: for SECONDS seconds, CALLS getppid calls
 * every 10 ms; then writes "done" into MARKER (when given) and exits 0.
 * Usage: paced SECONDS CALLS [MARKER] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    long calls = argc > 2 ? atol(argv[2]) : 1000;
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    for (int t = 0; t < (int)(secs * 100); t++) {
        for (long i = 0; i < calls; i++)
            syscall(SYS_getppid);
        nanosleep(&ten_ms, NULL);
    }
    if (argc > 3) {
        FILE *f = fopen(argv[3], "w");
        if (!f)
            return 1;
        fputs("done\n", f);
        fclose(f);
    }
    return 0;
}
