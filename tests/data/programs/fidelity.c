// Hostile programs for the capture-fidelity tests (tests/tests/fidelity.rs): each mode makes
// calls a tracer could name wrongly, lose, or read other than the kernel did.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

// A string at an address below 4 GiB, where a 32-bit register can point.
static char *low_string(const char *s) {
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                   -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    strcpy(p, s);
    return p;
}

// i386 calls through int $0x80 from 64-bit code: the kernel runs them as 32-bit calls.
static long int80(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

static int mode_int80(void) {
    char *path = low_string("/etc/passwd");
    char *msg = low_string("int80\n");
    long fd = int80(5, (long)path, O_RDONLY, 0);   // i386 open
    long n = int80(4, 1, (long)msg, 6);             // i386 write
    long pid = int80(20, 0, 0, 0);                   // i386 getpid
    printf("fd=%ld n=%ld pid=%ld\n", fd, n, pid);
    return fd >= 0 && n == 6 && pid == getpid() ? 0 : 1;
}

static int mode_badnr(void) {
    long a = syscall(-1);
    long b = syscall(5000);
    long c = syscall(0x40000002, "/etc/shadow", O_RDONLY);   // x32 open
    printf("%ld %ld %ld\n", a, b, c);
    return 0;
}

static void on_sigsys(int sig, siginfo_t *info, void *ctx) {
    (void)sig;
    (void)ctx;
    // Async-signal-safe report of the call seccomp trapped, then out.
    char msg[64];
    int n = snprintf(msg, sizeof msg, "trapped %d\n", info->si_syscall);
    write(1, msg, n);
    _exit(0);
}

// Filter: `action` for mkdir, everything else allowed.
static void seccomp_mkdir(unsigned int action) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdir, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = 4, .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("seccomp");
        exit(2);
    }
}

static int mode_seccomp(const char *how, const char *dir) {
    if (!strcmp(how, "trap")) {
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
        sigaction(SIGSYS, &sa, NULL);
        seccomp_mkdir(SECCOMP_RET_TRAP);
    } else if (!strcmp(how, "errno")) {
        seccomp_mkdir(SECCOMP_RET_ERRNO | EACCES);
    } else {
        seccomp_mkdir(SECCOMP_RET_KILL_PROCESS);
    }
    long r = syscall(__NR_mkdir, dir, 0700);
    printf("mkdir=%ld errno=%d\n", r, errno);
    return 0;
}

// Paths changed or unmapped while the call that took them blocks (on a FIFO).
static char *shared;
static const char *fifo;
static int how;   // 0: rewrite the buffer, 1: unmap its page

static void *meddle(void *arg) {
    (void)arg;
    usleep(200 * 1000);
    if (how == 0) {
        strcpy(shared, "/tmp/innocent-file");
    } else {
        munmap(shared, 4096);
    }
    int w = open(fifo, O_WRONLY);   // lets the blocked open return
    usleep(100 * 1000);
    close(w);
    return NULL;
}

static int mode_meddle(const char *what, const char *path) {
    fifo = path;
    how = strcmp(what, "rewrite") ? 1 : 0;
    shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(shared, path);
    if (mkfifo(path, 0600)) {
        perror("mkfifo");
        return 2;
    }
    pthread_t t;
    pthread_create(&t, NULL, meddle, NULL);
    int fd = open(shared, O_RDONLY);   // blocks until the writer opens
    printf("fd=%d\n", fd);
    pthread_join(t, NULL);
    return fd >= 0 ? 0 : 1;
}

static int mode_paths(const char *file) {
    // 311 bytes that name /etc/shadow; then a path longer than PATH_MAX.
    char longp[400] = "";
    for (int i = 0; i < 150; i++) strcat(longp, "/.");
    strcat(longp, "/etc/shadow");
    int a = open(longp, O_RDONLY);
    char *huge = malloc(5001);
    memset(huge, 'a', 5000);
    huge[0] = '/';
    huge[5000] = 0;
    int b = open(huge, O_RDONLY);
    int c = open((const char *)1, O_RDONLY);   // a pointer no one can read
    // A path in a file-backed page never touched: seccomp denies the open before the kernel
    // reads it, so nothing faulted the page in.
    int fd = open(file, O_RDONLY);
    char *untouched = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_open, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = 4, .filter = filter};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
    int d = syscall(__NR_open, untouched, O_RDONLY);
    printf("%d %d %d %d %d\n", (int)strlen(longp), a, b, c, d);
    return 0;
}

static int mode_net(const char *unix_path) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    int c = connect(s, (struct sockaddr *)&in, sizeof in);
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, unix_path);
    int b = bind(u, (struct sockaddr *)&un, sizeof un);
    int d = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 six = {.sin6_family = AF_INET6, .sin6_port = htons(5353),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    ssize_t n = sendto(d, "x", 1, 0, (struct sockaddr *)&six, sizeof six);
    printf("%d %d %zd\n", c, b, n);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "int80")) return mode_int80();
    if (!strcmp(m, "badnr")) return mode_badnr();
    if (!strcmp(m, "seccomp") && argc > 3) return mode_seccomp(argv[2], argv[3]);
    if ((!strcmp(m, "rewrite") || !strcmp(m, "unmap")) && argc > 2) return mode_meddle(m, argv[2]);
    if (!strcmp(m, "paths") && argc > 2) return mode_paths(argv[2]);
    if (!strcmp(m, "net") && argc > 2) return mode_net(argv[2]);
    fprintf(stderr, "usage: fidelity int80|badnr|seccomp HOW DIR|rewrite FIFO|unmap FIFO|paths FILE|net SOCK\n");
    return 2;
}
