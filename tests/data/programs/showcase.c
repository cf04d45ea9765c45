/* A chosen set of calls whose strace lines `tracer show` must reproduce (tests/tests/show.rs).
 *   showcase OUTFILE
 * Opens an existing and a missing file, creates OUTFILE, maps anonymous memory, checks access,
 * installs a signal handler, signals itself with 0, writes to stdout, forks a child that exits
 * with 7 and a second one that the parent kills with SIGKILL, and exits with 3. Calls go
 * through syscall(2) so that libc cannot pick a different call than the one tested. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void handler(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    long fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
    syscall(SYS_openat, AT_FDCWD, "/nonexistent/showcase", O_RDONLY | O_CLOEXEC);
    long out = syscall(SYS_openat, AT_FDCWD, argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    syscall(SYS_mmap, NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    syscall(SYS_access, "/etc/passwd", F_OK);
    syscall(SYS_access, "/etc/passwd", R_OK);
    syscall(SYS_access, "/nonexistent/showcase", R_OK | W_OK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    syscall(SYS_kill, syscall(SYS_getpid), 0);
    const char msg[] = "showcase\n";
    syscall(SYS_write, 1, msg, sizeof msg - 1);
    syscall(SYS_close, fd);
    syscall(SYS_close, out);
    syscall(SYS_close, 1000);
    pid_t child = fork();
    if (child == 0)
        syscall(SYS_exit_group, 7);
    waitpid(child, NULL, 0);
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 4;
    pid_t victim = fork();
    if (victim == 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        for (;;)
            pause();
    }
    close(pipefd[1]);
    /* The child has closed its end once read sees EOF: it is in (or about to enter) pause. */
    char c;
    while (read(pipefd[0], &c, 1) > 0)
        ;
    syscall(SYS_kill, victim, SIGKILL);
    waitpid(victim, NULL, 0);
    syscall(SYS_exit_group, 3);
    return 5;
}
