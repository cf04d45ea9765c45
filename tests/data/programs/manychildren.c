/* Forks N children that stay alive together (each waits on a pipe), so the tracer's filter
 * fills: each child makes one getppid() then blocks; the parent closes the pipe once all are
 * forked and reaps them. Prints the children's pids on stdout, one a line. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20;
    int fds[2];
    if (pipe(fds) != 0)
        return 2;
    pid_t *pids = calloc(n, sizeof *pids);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            return 3;
        if (pids[i] == 0) {
            close(fds[1]);
            syscall(SYS_getppid);
            char c;
            while (read(fds[0], &c, 1) > 0) {
            }
            _exit(0);
        }
    }
    close(fds[1]);
    for (int i = 0; i < n; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        printf("%d\n", (int)pids[i]);
    }
    return 0;
}
