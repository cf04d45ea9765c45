/* A program with known syscall behaviour for the capture tests.
 *   known FILE N M
 * writes "hello tracer\n" to FILE, forks a child that makes N getppid calls and exits with 7,
 * starts a thread that makes M getuid calls, waits for both, and exits with 3. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long m_calls;

static void *thread_main(void *arg) {
    (void)arg;
    for (long i = 0; i < m_calls; i++)
        syscall(SYS_getuid);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4)
        return 2;
    long n = atol(argv[2]);
    m_calls = atol(argv[3]);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 4;
    const char *msg = "hello tracer\n";
    if (write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg))
        return 5;
    close(fd);
    pid_t child = fork();
    if (child == 0) {
        for (long i = 0; i < n; i++)
            syscall(SYS_getppid);
        syscall(SYS_exit_group, 7);
    }
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 3 : 6;
}
