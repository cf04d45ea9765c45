/* Forks K children in quick succession; each makes exactly one getppid call the instant it
 * starts and exits with exit_group(0). A follower that registers children late misses some. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int k = argc > 1 ? atoi(argv[1]) : 50;
    for (int i = 0; i < k; i++) {
        if (fork() == 0) {
            syscall(SYS_getppid);
            syscall(SYS_exit_group, 0);
        }
    }
    while (wait(NULL) > 0) {
    }
    return 0;
}
