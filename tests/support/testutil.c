// SPDX-License-Identifier: MIT
/* Shared test support; see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *tu_unique(char *buf, size_t cap, const char *prefix)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(buf, cap, "%s-%d-%u-%lx", prefix, (int)getpid(), ++counter,
             (unsigned long)(ts.tv_nsec ^ (ts.tv_sec << 20)) & 0xffffffUL);
    return buf;
}

const char *tu_self(void)
{
    static char path[4096];
    if (path[0] == '\0') {
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        if (n <= 0) {
            fprintf(stderr, "readlink /proc/self/exe: %s\n", strerror(errno));
            abort();
        }
        path[n] = '\0';
    }
    return path;
}

pid_t tu_spawnv(char *const args[])
{
    size_t n = 0;
    while (args[n] != NULL)
        n++;
    char **argv = calloc(n + 2, sizeof(char *));
    assert_non_null(argv);
    argv[0] = (char *)tu_self();
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A helper never outlives its test: a failed check returns from
         * the test without reaping it, and a helper that waits for ever
         * would hold ctest's output pipe until the test's timeout. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    free(argv);
    return pid;
}

pid_t tu_spawn(const char *arg0, ...)
{
    char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a != NULL && n < 63; a = va_arg(ap, const char *))
        args[n++] = (char *)a;
    va_end(ap);
    args[n] = NULL;
    return tu_spawnv(args);
}

int tu_wait(pid_t pid, int timeout_ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st))
                return WEXITSTATUS(st);
            if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        } else if (r < 0 && errno != EINTR) {
            return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (timeout_ms >= 0 && ms > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        /* Polling a child's exit; this bounds the wait, it does not order
         * anything between processes. */
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
}

int tu_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* the directory stream's own fd */
}

int tu_line_read(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r <= 0)
            return -1;
        ssize_t k = read(fd, buf + len, 1);
        if (k <= 0)
            return -1;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return (int)len;
}

uint64_t tu_seed(void)
{
    static uint64_t seed;
    static int printed;
    if (!printed) {
        const char *s = getenv("IPCX_TEST_SEED");
        seed = s ? strtoull(s, NULL, 0) : 0x1dc5eedULL;
        fprintf(stderr, "# seed %llu (set IPCX_TEST_SEED to replay)\n", (unsigned long long)seed);
        printed = 1;
    }
    return seed;
}

uint64_t tu_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

int tu_run_capture(const char *cmdline, char *out, size_t cap)
{
    FILE *f = popen(cmdline, "r");
    if (f == NULL)
        return -1;
    size_t len = 0;
    if (cap > 0) {
        len = fread(out, 1, cap - 1, f);
        out[len] = '\0';
    }
    char sink[4096];
    while (fread(sink, 1, sizeof(sink), f) > 0) {
    }
    int st = pclose(f);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

const char *tu_build_path(const char *rel, char *buf, size_t cap)
{
    const char *bin = getenv("IPCX_TEST_BINDIR");
    snprintf(buf, cap, "%s/%s", bin ? bin : ".", rel);
    return buf;
}
