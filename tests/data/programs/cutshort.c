/* A thread blocks in read() on a pipe nobody writes; the main thread calls exit_group(5) after
 * 100 ms. The read is cut short by the thread's death: it never returns to the program. */
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int fds[2];

static void *reader(void *arg) {
    (void)arg;
    char c;
    read(fds[0], &c, 1);
    return NULL;
}

int main(void) {
    pipe(fds);
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    syscall(SYS_exit_group, 5);
    return 0;
}
