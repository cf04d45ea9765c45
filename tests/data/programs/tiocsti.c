/* Safety test: a hostile traced command pushes TEXT into its terminal's input queue with
 * ioctl(TIOCSTI), through standard input and through /dev/tty, hoping that the shell that ran
 * the tracer reads it after the capture. Prints which terminal it has and what each try gave.
 * Usage: tiocsti TEXT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int push(int fd, const char *text) {
    for (const char *c = text; *c; c++)
        if (ioctl(fd, TIOCSTI, c) != 0)
            return errno;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    const char *name = ttyname(0);
    printf("tty=%s\n", name ? name : "none");
    printf("stdin=%s\n", strerror(push(0, argv[1])));
    int t = open("/dev/tty", O_RDWR);
    if (t < 0) {
        printf("devtty=%s\n", strerror(errno));
    } else {
        printf("devtty=%s\n", strerror(push(t, argv[1])));
        close(t);
    }
    fflush(stdout);
    return 0;
}
