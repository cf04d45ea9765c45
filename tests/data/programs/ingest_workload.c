/* Workload for the strace ingest and parity tests: deterministic, multi-process,
 * multi-threaded, with signals.
 *
 * main: opens and reads argv[1], writes a line with quotes, parentheses and " = ", starts three
 * pthreads (each opens a missing file /nonexistent/thread-<i> and sleeps 1 ms), handles a
 * SIGUSR1 it raises itself, forks three children: one execs /bin/true, one says it is ready
 * through a pipe, waits in pause() and is killed with SIGKILL, one exits with status 7; waits for
 * all and exits with status 3. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

static void *worker(void *arg) {
    long i = (long)arg;
    char path[64];
    snprintf(path, sizeof path, "/nonexistent/thread-%ld", i);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) close(fd);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    return NULL;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/etc/hostname";
    char buf[64];
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        if (read(fd, buf, sizeof buf) < 0) return 1;
        close(fd);
    }
    const char *line = "a \"quoted\" (x) = 1 ...\n";
    if (write(1, line, strlen(line)) < 0) return 1;

    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);

    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);

    pid_t c1 = fork();
    if (c1 == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(c1, NULL, 0);
    int ready[2];
    if (pipe(ready) != 0) return 1;
    pid_t c2 = fork();
    if (c2 == 0) {
        /* Say "about to pause" so that the SIGKILL finds this child in pause(), not before. */
        if (write(ready[1], "r", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    if (read(ready[0], buf, 1) != 1) return 1;
    pid_t c3 = fork();
    if (c3 == 0) {
        (void)getppid();
        _exit(7);
    }
    waitpid(c3, NULL, 0);
    kill(c2, SIGKILL);
    waitpid(c2, NULL, 0);
    return 3;
}
