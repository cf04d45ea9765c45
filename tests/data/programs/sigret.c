/* Installs a SIGUSR1 handler, raises the signal 3 times; each handler return is an
 * rt_sigreturn syscall. */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static void handler(int sig) {
    (void)sig;
    syscall(SYS_getppid);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 3; i++)
        raise(SIGUSR1);
    return 0;
}
