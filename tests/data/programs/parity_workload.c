/* Deterministic multi-process workload for the live parity test (strace vs tracer record):
 * no threads and no timing-dependent waits, so both captures must see the same calls.
 *
 * Three children, created and waited for one at a time: child 0 reads argv[1] in 4-byte chunks
 * and stats existing and missing paths; child 1 redirects stdout to /dev/null and execs
 * /bin/cat on argv[1]; child 2 forks a grandchild that exits with 5, reaps it, exits with 2.
 * The parent then makes 200 getppid calls and exits with 0. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void reader(const char *path) {
    char buf[4];
    int fd = open(path, O_RDONLY);
    if (fd < 0) _exit(1);
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
    struct stat st;
    const char *paths[] = {"/etc/hostname", "/nonexistent/a", "/tmp", "/nonexistent/b"};
    for (int i = 0; i < 4; i++) (void)stat(paths[i], &st);
    int null = open("/dev/null", O_WRONLY);
    if (write(null, "done\n", 5) != 5) _exit(1);
    close(null);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/etc/hostname";
    for (int i = 0; i < 3; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (i == 0) {
                reader(path);
                _exit(0);
            } else if (i == 1) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                close(null);
                execl("/bin/cat", "cat", path, (char *)NULL);
                _exit(127);
            } else {
                pid_t g = fork();
                if (g == 0) _exit(5);
                int st;
                waitpid(g, &st, 0);
                _exit(2);
            }
        }
        int st;
        waitpid(c, &st, 0);
    }
    for (int i = 0; i < 200; i++) (void)getppid();
    return 0;
}
