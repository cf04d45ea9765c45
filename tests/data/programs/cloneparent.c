/* Lineage from the kernel's real parent: this process (R) forks A; A makes G with
 * clone(CLONE_PARENT), so G's parent is R, not A. Prints "A G" (pids) on stdout; R reaps both. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[64 * 1024];

static int grandchild(void *arg) {
    (void)arg;
    return 0;
}

int main(void) {
    int fds[2];
    if (pipe(fds) != 0)
        return 2;
    pid_t a = fork();
    if (a < 0)
        return 2;
    if (a == 0) {
        pid_t g = clone(grandchild, stack + sizeof stack, CLONE_PARENT | SIGCHLD, NULL);
        if (g < 0)
            _exit(3);
        if (write(fds[1], &g, sizeof g) != sizeof g)
            _exit(4);
        _exit(0);
    }
    pid_t g = 0;
    if (read(fds[0], &g, sizeof g) != sizeof g)
        return 5;
    /* Both are R's children now: reap both. */
    int status;
    if (waitpid(a, &status, 0) != a || waitpid(g, &status, 0) != g)
        return 6;
    printf("%d %d\n", (int)a, (int)g);
    return 0;
}
