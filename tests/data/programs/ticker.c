/* For -p tests: makes one getppid every 10 ms for SECONDS seconds, then forks a child that makes
 * one getpid call and exits 9; the parent waits and exits 0. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    for (int i = 0; i < (int)(secs * 100); i++) {
        syscall(SYS_getppid);
        nanosleep(&ten_ms, NULL);
    }
    pid_t c = fork();
    if (c == 0) {
        syscall(SYS_getpid);
        syscall(SYS_exit_group, 9);
    }
    waitpid(c, NULL, 0);
    return 0;
}
