// SPDX-License-Identifier: MIT
/*
 * `ipcx send` and `ipcx recv`, run as the real binary from the build tree
 * in pairs of processes over unix:// and tcp://: every format round trip
 * (multipart and empty messages included), stdin streamed as it arrives,
 * req/rep with --reply and echo, pub/sub with --subscribe, --count,
 * --timeout (exit 1, counted from the last message), --max-size at and
 * over the limit, usage errors (exit 2), an address in use (exit 1), a
 * stale unix:// socket file replaced, SIGINT/SIGTERM ending recv with 0, a
 * recv that outlives a misbehaving peer and a listener that went away, and
 * diagnostics only ever on stderr.
 *
 * Every process gets a unique unix:// path in a private directory or a tcp
 * port the kernel just handed out; waits are bounded retry loops on what
 * the other process visibly did (its output, its exit), not sleeps.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#define WAITMS 30000

static char tmpdir[256];

typedef struct proc {
    pid_t pid;
    int status;
    char outp[512], errp[512];
    char *out, *err; /* after finish(): NUL-terminated */
    size_t out_len, err_len;
} proc;

static const char *tool(void)
{
    static char path[1024];
    if (path[0] == '\0')
        tu_build_path("tools/ipcx/ipcx", path, sizeof(path));
    return path;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    assert_non_null(b);
    if (f != NULL) {
        size_t k;
        while ((k = fread(b + n, 1, cap - n, f)) > 0) {
            n += k;
            if (n == cap) {
                cap *= 2;
                b = realloc(b, cap + 1);
                assert_non_null(b);
            }
        }
        fclose(f);
    }
    b[n] = '\0';
    if (len != NULL)
        *len = n;
    return b;
}

/* Every process a test started, so that a failed test leaves none behind
 * (the teardown kills what is still running). */
static pid_t started[64];
static size_t nstarted;

/* Start @prog with ARGS..., stdin from @in_fd (-1: /dev/null), stdout and
 * stderr into files of the private directory. */
static void startp(proc *p, const char *prog, int in_fd, const char *const *args)
{
    static int n;
    memset(p, 0, sizeof(*p));
    n++;
    snprintf(p->outp, sizeof(p->outp), "%s/out-%d", tmpdir, n);
    snprintf(p->errp, sizeof(p->errp), "%s/err-%d", tmpdir, n);
    char *argv[64];
    size_t k = 0;
    argv[k++] = (char *)prog;
    for (; args[k - 1] != NULL && k < 63; k++)
        argv[k] = (char *)args[k - 1];
    argv[k] = NULL;
    fflush(NULL);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
        int o = open(p->outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(p->errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    if (nstarted < sizeof(started) / sizeof(started[0]))
        started[nstarted++] = p->pid;
}

/* `ipcx ARGS...` */
static void startv(proc *p, int in_fd, const char *const *args)
{
    startp(p, tool(), in_fd, args);
}

/* This test binary as a helper: `--helper ARGS...` */
static void start_helper(proc *p, const char *const *args)
{
    const char *full[64] = {"--helper"};
    size_t k = 1;
    for (; args[k - 1] != NULL && k < 63; k++)
        full[k] = args[k - 1];
    full[k] = NULL;
    startp(p, tu_self(), -1, full);
}

/* @pid was reaped: its number may be reused, never kill it again. */
static void forget(pid_t pid)
{
    for (size_t i = 0; i < nstarted; i++) {
        if (started[i] == pid)
            started[i] = started[--nstarted];
    }
}

static int kill_leftovers(void **state)
{
    (void)state;
    for (size_t i = 0; i < nstarted; i++) {
        if (kill(started[i], SIGKILL) == 0)
            (void)waitpid(started[i], NULL, 0);
    }
    nstarted = 0;
    return 0;
}

/* A file holding @len bytes of @data, open for reading. */
static int data_fd(const void *data, size_t len)
{
    char path[512];
    static int n;
    snprintf(path, sizeof(path), "%s/in-%d", tmpdir, ++n);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    unlink(path);
    return fd;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void start(proc *p, const char *const *args)
{
    startv(p, -1, args);
}

static void start_in(proc *p, const void *in, size_t len, const char *const *args)
{
    int fd = data_fd(in, len);
    startv(p, fd, args);
    close(fd);
}

/* Wait for the process (bounded) and read what it wrote. */
static int finish(proc *p, int timeout_ms)
{
    p->status = tu_wait(p->pid, timeout_ms);
    forget(p->pid);
    p->out = read_file(p->outp, &p->out_len);
    p->err = read_file(p->errp, &p->err_len);
    if (p->status != 0 && p->err_len > 0)
        fprintf(stderr, "# ipcx (status %d) said: %s", p->status, p->err);
    return p->status;
}

static void proc_free(proc *p)
{
    free(p->out);
    free(p->err);
    unlink(p->outp);
    unlink(p->errp);
    p->out = p->err = NULL;
}

/* 1 while the process runs (not reaped). */
static int running(const proc *p)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return 0;
    return si.si_pid == 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Wait until @p's stdout contains @needle (bounded). */
static int wait_output(const proc *p, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 2) {
        char *o = read_file(p->outp, NULL);
        int found = strstr(o, needle) != NULL;
        free(o);
        if (found)
            return 1;
        if (!running(p))
            return 0;
        nap_ms(2); /* polls another process's output: bounds the wait */
    }
    return 0;
}

static const char *unix_url(char *buf, size_t cap)
{
    static int n;
    snprintf(buf, cap, "unix://%s/s%d", tmpdir, ++n);
    return buf;
}

/* A tcp:// URL on a loopback port the kernel just handed out. */
static const char *tcp_url(char *buf, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    snprintf(buf, cap, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    return buf;
}

/* Both ends exit 0, recv printed exactly @want and nobody wrote to stderr. */
static void expect_pair(proc *r, proc *s, const char *want)
{
    assert_int_equal(finish(s, WAITMS), 0);
    assert_int_equal(finish(r, WAITMS), 0);
    assert_string_equal(r->out, want);
    assert_string_equal(s->out, "");
    assert_string_equal(r->err, "");
    assert_string_equal(s->err, "");
    proc_free(r);
    proc_free(s);
}

/* ------------------------------------------------------------ tests */

static void test_unix_args(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--count", "3"));
    start(&s, ARGS("send", "--dial", url, "--timeout", "20", "hello", "two words", ""));
    expect_pair(&r, &s, "hello\ntwo words\n\n");
}

/* recv dials before anybody listens; send listens and waits for it. */
static void test_tcp_dial_first(void **state)
{
    (void)state;
    char url[128];
    tcp_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--dial", url, "--count", "2"));
    start(&s, ARGS("send", "--listen", url, "--timeout", "20", "one", "two"));
    expect_pair(&r, &s, "one\ntwo\n");
    /* ipc:// is unix:// under libzmq's name. */
    char path[512], ipc[600];
    snprintf(path, sizeof(path), "%s/ipc-sock", tmpdir);
    snprintf(ipc, sizeof(ipc), "ipc://%s", path);
    start(&r, ARGS("recv", "--listen", ipc, "--count", "1"));
    start(&s, ARGS("send", "--dial", ipc, "--timeout", "20", "via ipc"));
    expect_pair(&r, &s, "via ipc\n");
}

/* shm:// works as is: both ways round, multipart lines included. */
static void test_shm(void **state)
{
    (void)state;
    char url[512];
    snprintf(url, sizeof(url), "shm://%s/shm-sock", tmpdir);
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--count", "3"));
    start(&s, ARGS("send", "--dial", url, "--timeout", "20", "over", "shared\tmemory", ""));
    expect_pair(&r, &s, "over\nshared\tmemory\n\n");
    start(&r, ARGS("recv", "--dial", url, "--count", "1"));
    start(&s, ARGS("send", "--listen", url, "--timeout", "20", "dialled"));
    expect_pair(&r, &s, "dialled\n");
}

/* stdin in @fmt to recv in @fmt, @n messages: the output is @want. */
static void roundtrip(const char *fmt, const char *url, const char *in, const char *want,
                      const char *n)
{
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--format", fmt, "--count", n));
    start_in(&s, in, strlen(in), ARGS("send", "--dial", url, "--format", fmt, "--timeout", "20"));
    expect_pair(&r, &s, want);
}

static void test_formats_roundtrip(void **state)
{
    (void)state;
    char url[512];
    /* line: tabs separate parts, an empty line is an empty message. */
    roundtrip("line", unix_url(url, sizeof(url)), "plain\na\tb\tc\n\n\t\nlast",
              "plain\na\tb\tc\n\n\t\nlast\n", "5");
    /* hex: either case in, lowercase out; a space separates parts. */
    roundtrip("hex", tcp_url(url, sizeof(url)), "00FF0a\nDEAD beef\n\n00 \n",
              "00ff0a\ndead beef\n\n00 \n", "4");
    /* json: exactly {"parts":[...]} out; white space and \/ accepted in. */
    roundtrip("json", unix_url(url, sizeof(url)),
              "{\"parts\":[\"aGk=\"]}\n\n{ \"parts\" : [ \"\" , \"AP8K\", \"\\/w==\" ] }\n",
              "{\"parts\":[\"aGk=\"]}\n{\"parts\":[\"\",\"AP8K\",\"/w==\"]}\n", "2");

    /* raw: all of stdin is one message, every byte kept. */
    char raw[300];
    for (int i = 0; i < 300; i++)
        raw[i] = (char)(i * 7);
    unix_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--format", "raw", "--count", "1"));
    start_in(&s, raw, sizeof(raw), ARGS("send", "--dial", url, "--format", "raw"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_int_equal(r.out_len, sizeof(raw));
    assert_memory_equal(r.out, raw, sizeof(raw));
    proc_free(&r);
    proc_free(&s);

    /* Across formats: a line message read back as hex and as json. */
    unix_url(url, sizeof(url));
    start(&r, ARGS("recv", "--listen", url, "--format", "hex", "--count", "2"));
    start_in(&s, "ab\tc\n\n", 6, ARGS("send", "--dial", url));
    expect_pair(&r, &s, "6162 63\n\n");
    unix_url(url, sizeof(url));
    start(&r, ARGS("recv", "--listen", url, "--format", "json", "--count", "1"));
    start(&s, ARGS("send", "--dial", url, "--format", "hex", "--multipart", "00", "", "ff"));
    expect_pair(&r, &s, "{\"parts\":[\"AA==\",\"\",\"/w==\"]}\n");
}

static void test_multipart_args(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--count", "2"));
    start(&s, ARGS("send", "--dial", url, "--multipart", "a", "", "c"));
    /* One message of three parts, then one of two given as json. */
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    assert_true(running(&r)); /* one message so far */
    start(&s, ARGS("send", "--dial", url, "--format", "json", "{\"parts\":[\"eA==\",\"eQ==\"]}"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out, "a\t\tc\nx\ty\n");
    proc_free(&r);
    proc_free(&s);
}

/* Without MSG, stdin lines go out as they arrive, not at the end. */
static void test_stdin_streams(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--count", "3"));
    startv(&s, pfd[0], ARGS("send", "--dial", url, "--timeout", "20"));
    close(pfd[0]);
    assert_int_equal(write(pfd[1], "first\n", 6), 6);
    assert_true(wait_output(&r, "first\n", WAITMS));
    assert_int_equal(write(pfd[1], "sec", 3), 3); /* half a line: not sent yet */
    assert_int_equal(write(pfd[1], "ond\n", 4), 4);
    assert_true(wait_output(&r, "first\nsecond\n", WAITMS));
    assert_true(running(&s));
    assert_int_equal(write(pfd[1], "third", 5), 5); /* the end of stdin ends the line */
    close(pfd[1]);
    expect_pair(&r, &s, "first\nsecond\nthird\n");
}

/* A long stream from stdin arrives whole and in order (batched sends
 * across the high-water mark). */
static void test_stream_many_lines(void **state)
{
    (void)state;
    enum { N = 50000 };
    char *text = malloc(N * 8);
    assert_non_null(text);
    size_t len = 0;
    for (int i = 1; i <= N; i++)
        len += (size_t)snprintf(text + len, 16, "%d\n", i);
    char url[512], count[16];
    snprintf(count, sizeof(count), "%d", N);
    unix_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--count", count));
    start_in(&s, text, len, ARGS("send", "--dial", url, "--timeout", "20"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_int_equal(r.out_len, len);
    assert_memory_equal(r.out, text, len);
    free(text);
    proc_free(&r);
    proc_free(&s);
}

static void test_req_rep(void **state)
{
    (void)state;
    char url[512];
    tcp_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--pattern", "rep", "--count", "2", "--reply",
                   "pong\tpart"));
    start(&s, ARGS("send", "--dial", url, "--pattern", "req", "--timeout", "20", "a", "b"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(s.out, "pong\tpart\npong\tpart\n");
    assert_string_equal(r.out, "a\nb\n");
    assert_string_equal(s.err, "");
    assert_string_equal(r.err, "");
    proc_free(&r);
    proc_free(&s);

    /* Echo, in hex, over unix://, requests from stdin. */
    unix_url(url, sizeof(url));
    start(&r, ARGS("recv", "--dial", url, "--pattern", "rep", "--format", "hex", "--count", "3"));
    start_in(&s, "00\nCAFE 01\n\n", 12,
             ARGS("send", "--listen", url, "--pattern", "req", "--format", "hex"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(s.out, "00\ncafe 01\n\n");
    assert_string_equal(r.out, "00\ncafe 01\n\n");
    proc_free(&r);
    proc_free(&s);
}

/* Connect to a unix:// listener once it is up (bounded). */
static int connect_unix(const char *path)
{
    for (int i = 0; i < WAITMS / 2; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        memcpy(un.sun_path, path, strlen(path) + 1);
        if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0)
            return fd;
        close(fd);
        nap_ms(2); /* the listener is starting: bounded retry */
    }
    return -1;
}

/* A rep peer that takes one request and never answers. */
static int helper_silent_rep(const char *url)
{
    ipcx_socket *s = NULL;
    if (ipcx_socket_open(IPCX_REP, &s) != 0 || ipcx_listen(s, url) != 0)
        return 1;
    ipcx_msg *m = NULL;
    if (ipcx_msg_recv(s, &m, 0) != 0)
        return 1;
    ipcx_msg_destroy(m);
    pause(); /* the test kills it */
    ipcx_socket_close(s);
    return 0;
}

static void test_req_timeout(void **state)
{
    (void)state;
    char path[512], url[600];
    snprintf(path, sizeof(path), "%s/silent", tmpdir);
    snprintf(url, sizeof(url), "unix://%s", path);
    pid_t h = tu_spawn("--helper", "silent-rep", url, NULL);
    started[nstarted++] = h;
    int probe = connect_unix(path); /* it listens: the 0.5 s go to the reply */
    assert_true(probe >= 0);
    close(probe);
    proc s;
    start(&s, ARGS("send", "--dial", url, "--pattern", "req", "--timeout", "0.5", "ping"));
    assert_int_equal(finish(&s, WAITMS), 1);
    assert_string_equal(s.out, "");
    assert_non_null(strstr(s.err, "ipcx: send: "));
    assert_non_null(strstr(s.err, "reply"));
    kill(h, SIGKILL);
    tu_wait(h, WAITMS);
    forget(h);
    proc_free(&s);
}

/* Run pub senders with @in until recv @r is done (a pub loses what goes
 * out before the subscriber's subscriptions reached it). */
static void publish_until_done(proc *r, const char *mode, const char *url, const char *in,
                               const char *fmt)
{
    for (int i = 0; i < 50 && running(r); i++) {
        proc s;
        start_in(&s, in, strlen(in),
                 ARGS("send", mode, url, "--pattern", "pub", "--format", fmt, "--timeout", "3"));
        int st = finish(&s, WAITMS);
        assert_true(st == 0 || !running(r));
        assert_string_equal(s.out, "");
        proc_free(&s);
    }
}

static void test_pub_sub(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    proc r;
    start(&r, ARGS("recv", "--listen", url, "--pattern", "sub", "--subscribe", "keep",
                   "--subscribe", "also", "--count", "3"));
    publish_until_done(&r, "--dial", url, "drop1\nkeep1\ndrop2\nalso2\nkeep3\n", "line");
    assert_int_equal(finish(&r, WAITMS), 0);
    for (char *save = NULL, *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        assert_true(strcmp(l, "keep1") == 0 || strcmp(l, "also2") == 0 || strcmp(l, "keep3") == 0);
    assert_string_equal(r.err, "");
    proc_free(&r);

    /* Hex prefixes; a sub dials the pub that listens. */
    tcp_url(url, sizeof(url));
    start(&r, ARGS("recv", "--dial", url, "--pattern", "sub", "--format", "hex", "--subscribe",
                   "FF", "--count", "2"));
    publish_until_done(&r, "--listen", url, "00ff\nff00\nffee 01\n", "hex");
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_true(strstr(r.out, "00ff") == NULL);
    assert_true(strncmp(r.out, "ff", 2) == 0);
    proc_free(&r);

    /* No --subscribe: everything. */
    unix_url(url, sizeof(url));
    start(&r, ARGS("recv", "--listen", url, "--pattern", "sub", "--count", "2"));
    publish_until_done(&r, "--dial", url, "x\ny\n", "line");
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_true(strcmp(r.out, "x\ny\n") == 0 || strcmp(r.out, "x\nx\n") == 0 ||
                strcmp(r.out, "y\nx\n") == 0 || strcmp(r.out, "y\ny\n") == 0);
    proc_free(&r);
}

static void test_pair(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--pattern", "pair", "--count", "1"));
    start(&s, ARGS("send", "--dial", url, "--pattern", "pair", "paired"));
    expect_pair(&r, &s, "paired\n");
}

static void test_timeouts(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    proc r, s;
    /* Nobody there: both give up with status 1 and say so on stderr. */
    start(&r, ARGS("recv", "--listen", url, "--timeout", "0.3"));
    assert_int_equal(finish(&r, WAITMS), 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "ipcx: recv: "));
    proc_free(&r);
    start(&s, ARGS("send", "--dial", url, "--timeout", "0.3", "x"));
    assert_int_equal(finish(&s, WAITMS), 1);
    assert_string_equal(s.out, "");
    assert_non_null(strstr(s.err, "ipcx: send: "));
    proc_free(&s);

    /* recv's timeout counts from the last message, not from the start. */
    unix_url(url, sizeof(url));
    int64_t t0 = now_ns();
    start(&r, ARGS("recv", "--listen", url, "--timeout", "3"));
    start(&s, ARGS("send", "--dial", url, "A"));
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    assert_true(wait_output(&r, "A\n", WAITMS));
    nap_ms(1500); /* part of the behaviour under test: time passing */
    start(&s, ARGS("send", "--dial", url, "B"));
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    assert_true(wait_output(&r, "A\nB\n", WAITMS));
    nap_ms(1700);
    assert_true(now_ns() - t0 > 3000000000LL);
    assert_true(running(&r)); /* over 3 s since the start, under 3 s since B */
    assert_int_equal(finish(&r, WAITMS), 1);
    assert_string_equal(r.out, "A\nB\n");
    assert_non_null(strstr(r.err, "no message for 3 s"));
    proc_free(&r);
}

static void expect_usage(const char *const *args, const char *needle)
{
    proc p;
    start(&p, args);
    assert_int_equal(finish(&p, WAITMS), 2);
    assert_string_equal(p.out, "");
    assert_non_null(strstr(p.err, needle));
    proc_free(&p);
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *u = "unix:///nonexistent/x";
    expect_usage(ARGS("recv", u), "one of --listen and --dial");
    expect_usage(ARGS("send", "--listen", "--dial", u, "m"), "exclude");
    expect_usage(ARGS("recv", "--listen", "foo://bar"), "unknown URL scheme");
    expect_usage(ARGS("send", "--dial", "http://x:1", "m"), "unknown URL scheme");
    expect_usage(ARGS("recv", "--listen", u, "extra"), "too many arguments");
    expect_usage(ARGS("recv", "--listen"), "missing URL");
    expect_usage(ARGS("recv", "--listen", "--format", "xml", u), "--format xml");
    expect_usage(ARGS("recv", "--listen", "--pattern", "dealer", u), "--pattern dealer");
    expect_usage(ARGS("send", "--listen", "--pattern", "pull", u, "m"), "cannot send");
    expect_usage(ARGS("recv", "--listen", "--pattern", "push", u), "cannot recv");
    expect_usage(ARGS("recv", "--listen", "--subscribe", "a", u), "--subscribe needs");
    expect_usage(ARGS("recv", "--listen", "--reply", "a", u), "--reply needs");
    expect_usage(ARGS("recv", "--listen", "--count", "0", u), "--count 0");
    expect_usage(ARGS("recv", "--listen", "--timeout", "-1", u), "--timeout -1");
    expect_usage(ARGS("send", "--listen", "--timeout", "soon", u), "--timeout soon");
    expect_usage(ARGS("send", "--listen", "--max-size", "1T", u), "--max-size 1T");
    expect_usage(ARGS("send", "--listen", "--format", "hex", u, "abc"), "MSG 1");
    expect_usage(ARGS("send", "--listen", "--format", "hex", u, "00", "zz"), "MSG 2");
    expect_usage(ARGS("send", "--listen", "--format", "json", u, "{\"parts\":[]}"), "MSG 1");
    expect_usage(
        ARGS("recv", "--listen", "--pattern", "sub", "--format", "hex", "--subscribe", "q", u),
        "--subscribe q");
    expect_usage(ARGS("recv", "--listen", "--bogus", u), "unknown option");
    expect_usage(ARGS("send", "--listen", "--count", "1", u), "unknown option");
    expect_usage(ARGS("recv", "--listen", "tcp://127.0.0.1"), "malformed URL");
    expect_usage(ARGS("recv", "--listen", "--name", "../x", u), "--name ../x");

    proc p;
    start(&p, ARGS("send", "--help"));
    assert_int_equal(finish(&p, WAITMS), 0);
    assert_non_null(strstr(p.out, "usage: ipcx send"));
    assert_string_equal(p.err, "");
    proc_free(&p);
    start(&p, ARGS("help", "recv"));
    assert_int_equal(finish(&p, WAITMS), 0);
    assert_non_null(strstr(p.out, "usage: ipcx recv"));
    proc_free(&p);
    start(&p, ARGS("--help"));
    assert_int_equal(finish(&p, WAITMS), 0);
    assert_non_null(strstr(p.out, "  send "));
    assert_non_null(strstr(p.out, "  recv "));
    proc_free(&p);
}

/* A second listener on a live address fails with 1; the first keeps it. */
static void address_in_use(const char *url)
{
    proc a, b, s;
    start(&a, ARGS("recv", "--listen", url, "--count", "2"));
    start(&s, ARGS("send", "--dial", url, "first"));
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    assert_true(wait_output(&a, "first\n", WAITMS));
    start(&b, ARGS("recv", "--listen", url));
    assert_int_equal(finish(&b, WAITMS), 1);
    assert_string_equal(b.out, "");
    assert_non_null(strstr(b.err, "ipcx: recv: "));
    assert_non_null(strstr(b.err, "address already in use"));
    proc_free(&b);
    start(&s, ARGS("send", "--dial", url, "second"));
    expect_pair(&a, &s, "first\nsecond\n");
}

static void test_address_in_use(void **state)
{
    (void)state;
    char url[512];
    address_in_use(unix_url(url, sizeof(url)));
    address_in_use(tcp_url(url, sizeof(url)));
    /* send --listen too, once recv listens. */
    unix_url(url, sizeof(url));
    proc r, s, b;
    start(&r, ARGS("recv", "--listen", url, "--count", "1"));
    int probe = connect_unix(url + strlen("unix://"));
    assert_true(probe >= 0);
    close(probe);
    start(&s, ARGS("send", "--listen", url, "x"));
    assert_int_equal(finish(&s, WAITMS), 1);
    assert_non_null(strstr(s.err, "address already in use"));
    proc_free(&s);
    start(&b, ARGS("send", "--dial", url, "y"));
    expect_pair(&r, &b, "y\n");
}

static void test_stale_socket_file(void **state)
{
    (void)state;
    char path[512], url[600];
    snprintf(path, sizeof(path), "%s/stale", tmpdir);
    snprintf(url, sizeof(url), "unix://%s", path);
    /* A socket file whose listener is gone: bound, never listening, closed. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--count", "1"));
    start(&s, ARGS("send", "--dial", url, "after stale"));
    expect_pair(&r, &s, "after stale\n");
    assert_int_equal(stat(path, &st), -1); /* removed again at close */

    /* A file that is not a socket is never replaced. */
    int f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    close(f);
    start(&r, ARGS("recv", "--listen", url));
    assert_int_equal(finish(&r, WAITMS), 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "ipcx: recv: "));
    proc_free(&r);
    assert_int_equal(stat(path, &st), 0);
    unlink(path);
}

static void signal_ends(int sig)
{
    char url[512];
    unix_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url));
    start(&s, ARGS("send", "--dial", url, "before the signal"));
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    assert_true(wait_output(&r, "before the signal\n", WAITMS)); /* handlers are in */
    assert_int_equal(kill(r.pid, sig), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out, "before the signal\n");
    assert_string_equal(r.err, "");
    proc_free(&r);
}

static void test_signals_end_recv(void **state)
{
    (void)state;
    signal_ends(SIGTERM);
    signal_ends(SIGINT);
}

/* 1 when the other end of @fd hangs up (after whatever it sends first)
 * within the bound. */
static int hung_up(int fd)
{
    char sink[4096];
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, WAITMS) != 1)
            return 0;
        ssize_t n = read(fd, sink, sizeof(sink));
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

/* A peer that sends garbage, and one that leaves, never end recv. */
static void test_recv_outlives_peers(void **state)
{
    (void)state;
    char path[512], url[600];
    snprintf(path, sizeof(path), "%s/peers", tmpdir);
    snprintf(url, sizeof(url), "unix://%s", path);
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--count", "2"));
    int fd = connect_unix(path);
    assert_true(fd >= 0);
    const char junk[] = "GET / HTTP/1.0\r\n\r\n";
    assert_int_equal(write(fd, junk, sizeof(junk) - 1), (ssize_t)sizeof(junk) - 1);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    (void)poll(&pf, 1, 2000); /* give it a chance to hang up on us */
    close(fd);
    /* A ZMTP 2.0 peer (revision 1): refused, and the reason logged. */
    fd = connect_unix(path);
    assert_true(fd >= 0);
    const unsigned char old[] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1, 7};
    assert_int_equal(write(fd, old, sizeof(old)), (ssize_t)sizeof(old));
    assert_true(hung_up(fd));
    close(fd);
    start(&s, ARGS("send", "--dial", url, "one"));
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    start(&s, ARGS("send", "--dial", url, "two"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out, "one\ntwo\n");
    assert_non_null(strstr(r.err, "handshake failed")); /* said on stderr, not stdout */
    proc_free(&r);
    proc_free(&s);

    /* A dialling recv reconnects when the listener goes and comes back. */
    unix_url(url, sizeof(url));
    start(&r, ARGS("recv", "--dial", url, "--count", "2"));
    start(&s, ARGS("send", "--listen", url, "from the first"));
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    assert_true(wait_output(&r, "from the first\n", WAITMS));
    start(&s, ARGS("send", "--listen", url, "from the second"));
    expect_pair(&r, &s, "from the first\nfrom the second\n");
}

static void test_max_size(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    proc r, s;
    /* Exactly the limit passes, all parts together. */
    start(&r, ARGS("recv", "--listen", url, "--max-size", "16", "--count", "2"));
    start(&s, ARGS("send", "--dial", url, "--max-size", "16", "0123456789abcdef"));
    assert_int_equal(finish(&s, WAITMS), 0);
    proc_free(&s);
    /* One over: refused by the sender (exit 1), nothing sent. */
    start(&s,
          ARGS("send", "--dial", url, "--max-size", "16", "--multipart", "01234567", "89abcdefX"));
    assert_int_equal(finish(&s, WAITMS), 1);
    assert_non_null(strstr(s.err, "--max-size"));
    assert_string_equal(s.out, "");
    proc_free(&s);
    /* One over from a sender that allows it: recv drops that peer only. */
    start(&s, ARGS("send", "--dial", url, "0123456789abcdefX"));
    (void)finish(&s, WAITMS);
    proc_free(&s);
    start(&s, ARGS("send", "--dial", url, "--multipart", "01234567", "89abcdef"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out, "0123456789abcdef\n01234567\t89abcdef\n");
    proc_free(&r);
    proc_free(&s);

    /* A 16 MiB message under the default limit, byte for byte. */
    size_t big = 16u << 20;
    char *data = malloc(big);
    assert_non_null(data);
    uint64_t seed = tu_seed();
    for (size_t i = 0; i < big; i += 8) {
        uint64_t v = tu_rand(&seed);
        memcpy(data + i, &v, 8);
    }
    tcp_url(url, sizeof(url));
    start(&r, ARGS("recv", "--listen", url, "--format", "raw", "--count", "1"));
    start_in(&s, data, big, ARGS("send", "--dial", url, "--format", "raw"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_int_equal(r.out_len, big);
    assert_memory_equal(r.out, data, big);
    free(data);
    proc_free(&r);
    proc_free(&s);
}

/* A bad stdin line fails send with 1 after what came before it went out. */
static void test_bad_stdin(void **state)
{
    (void)state;
    char url[512];
    unix_url(url, sizeof(url));
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--format", "json", "--count", "1"));
    const char *in = "{\"parts\":[\"b2s=\"]}\n{\"parts\":[\"b2s\"]} trailing\n";
    start_in(&s, in, strlen(in), ARGS("send", "--dial", url, "--format", "json"));
    assert_int_equal(finish(&s, WAITMS), 1);
    assert_string_equal(s.out, "");
    assert_non_null(strstr(s.err, "ipcx: send: stdin line 2: "));
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out, "{\"parts\":[\"b2s=\"]}\n");
    proc_free(&r);
    proc_free(&s);
}

/* 1 once the region @name exists in the private region directory. */
static int wait_region(const char *name, int present, int timeout_ms)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/ipcx.%s", tmpdir, name);
    for (int waited = 0; waited < timeout_ms; waited += 2) {
        struct stat st;
        if ((stat(path, &st) == 0) == present)
            return 1;
        nap_ms(2); /* another process creates or removes it: bounded */
    }
    return 0;
}

/* recv and send show their sockets to `ipcx ls` and `ipcx stat`. */
/* The line of `ipcx ls --json` output @out about region @name, cut at
 * its end (the output is changed). */
static char *ls_json_line(char *out, const char *name)
{
    char want[200];
    snprintf(want, sizeof(want), "\"name\":\"%s\"", name);
    char *line = strstr(out, want);
    assert_non_null(line);
    char *eol = strchr(line, '\n');
    if (eol != NULL)
        *eol = '\0';
    return line;
}

static void test_ls_and_stat(void **state)
{
    (void)state;
    char url[512], name[128];
    unix_url(url, sizeof(url));
    tu_unique(name, sizeof(name), "climsg");
    proc r, s, q;
    start(&r, ARGS("recv", "--listen", url, "--name", name, "--count", "1"));
    assert_true(wait_region(name, 1, WAITMS));
    start(&q, ARGS("ls", "--json"));
    assert_int_equal(finish(&q, WAITMS), 0);
    char *line = ls_json_line(q.out, name);
    assert_non_null(strstr(line, "\"kind\":\"socket\""));
    assert_non_null(strstr(line, url));
    proc_free(&q);
    start(&q, ARGS("stat", name));
    assert_int_equal(finish(&q, WAITMS), 0);
    assert_non_null(strstr(q.out, "pull"));
    assert_non_null(strstr(q.out, url));
    proc_free(&q);

    /* The default name carries the command and its pid. */
    char def[64];
    start(&s, ARGS("send", "--dial", url, "bye"));
    snprintf(def, sizeof(def), "ipcx-send-%d", (int)s.pid);
    expect_pair(&r, &s, "bye\n");
    assert_true(wait_region(name, 0, WAITMS)); /* closed: gone */
    assert_true(wait_region(def, 0, WAITMS));
    start(&r, ARGS("recv", "--listen", url, "--timeout", "20"));
    snprintf(def, sizeof(def), "ipcx-recv-%d", (int)r.pid);
    assert_true(wait_region(def, 1, WAITMS));
    assert_int_equal(kill(r.pid, SIGTERM), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_true(wait_region(def, 0, WAITMS));
    proc_free(&r);
}

/* Wait until the exposed socket @name lists one connection with @in
 * messages in and @out out; fills *c.  0, or -ETIMEDOUT. */
static int wait_conn(const char *name, uint64_t in, uint64_t out, ipcx_socket_conn *c)
{
    for (int i = 0; i < WAITMS / 10; i++) {
        size_t total = 0;
        if (ipcx_socket_conns_read(name, c, 1, &total) == 1 && total == 1 && c->msgs_in == in &&
            c->msgs_out == out)
            return 0;
        usleep(10000);
    }
    return -ETIMEDOUT;
}

/* An exposed socket lists its connections (issue 14): over shm://, each
 * side names the other's pid and uid, the messages that went each way, and
 * the rings' sizes; `ipcx ls` and `ipcx stat URL` show them. */
static void test_conns_shown(void **state)
{
    (void)state;
    char url[512], rname[128], sname[128], want[256];
    snprintf(url, sizeof(url), "shm://%s/conns-sock", tmpdir);
    tu_unique(rname, sizeof(rname), "conns-r");
    tu_unique(sname, sizeof(sname), "conns-s");
    int in[2]; /* send's stdin: close-on-exec, so only send reads it */
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    proc r, s, q;
    start(&r, ARGS("recv", "--listen", url, "--name", rname, "--count", "4"));
    assert_true(wait_region(rname, 1, WAITMS));
    startv(&s, in[0], ARGS("send", "--dial", url, "--name", sname, "--timeout", "20"));
    close(in[0]);
    assert_int_equal(write(in[1], "a\nb\nc\n", 6), 6);

    ipcx_socket_conn rc, sc;
    assert_int_equal(wait_conn(rname, 3, 0, &rc), 0);
    assert_int_equal(wait_conn(sname, 0, 3, &sc), 0);
    assert_int_equal(rc.transport, 3); /* shm:// */
    assert_int_equal(sc.transport, 3);
    assert_int_equal(rc.peer_pid, s.pid);
    assert_int_equal(sc.peer_pid, r.pid);
    assert_int_equal(rc.peer_uid, (int64_t)getuid());
    assert_int_equal(sc.peer_uid, (int64_t)getuid());
    assert_int_equal(rc.drops, 0);
    assert_true(rc.rx_cap > 0 && rc.rx_used <= rc.rx_cap);
    assert_true(sc.tx_cap > 0 && sc.tx_used <= sc.tx_cap);
    /* max 0: nothing filled, the total still told */
    size_t total = 99;
    assert_int_equal(ipcx_socket_conns_read(rname, NULL, 0, &total), 0);
    assert_int_equal(total, 1);

    start(&q, ARGS("ls", "--json"));
    assert_int_equal(finish(&q, WAITMS), 0);
    char *line = ls_json_line(q.out, rname);
    snprintf(want, sizeof(want),
             "\"conns\":[{\"transport\":\"shm\",\"peer_pid\":%d,\"peer_uid\":%d,", (int)s.pid,
             (int)getuid());
    assert_non_null(strstr(line, want));
    assert_non_null(strstr(line, "\"msgs_in\":3,\"msgs_out\":0,\"drops\":0"));
    assert_non_null(strstr(line, "\"conns_total\":1"));
    proc_free(&q);

    start(&q, ARGS("ls"));
    assert_int_equal(finish(&q, WAITMS), 0);
    snprintf(want, sizeof(want), "conn shm pid %d uid %d: in 3, out 0, drops 0; rx ", (int)s.pid,
             (int)getuid());
    assert_non_null(strstr(q.out, want));
    snprintf(want, sizeof(want), "conn shm pid %d uid %d: in 0, out 3, drops 0; rx ", (int)r.pid,
             (int)getuid());
    assert_non_null(strstr(q.out, want));
    proc_free(&q);

    /* stat URL: both sockets have the endpoint: one is shown, the other
     * named on stderr. */
    start(&q, ARGS("stat", "--json", url));
    assert_int_equal(finish(&q, WAITMS), 0);
    assert_non_null(strstr(q.out, "\"conns\":[{\"transport\":\"shm\""));
    assert_non_null(strstr(q.err, "also an endpoint of socket conns-"));
    proc_free(&q);
    start(&q, ARGS("stat", "shm:///nowhere/at-all"));
    assert_int_equal(finish(&q, WAITMS), 1);
    assert_non_null(strstr(q.err, "no exposed socket has this endpoint"));
    proc_free(&q);

    /* Not a socket, or no region: said so. */
    assert_int_equal(ipcx_socket_conns_read("no-such-region-here", &rc, 1, NULL), -ENOENT);
    assert_int_equal(ipcx_socket_conns_read(rname, NULL, 1, NULL), -EINVAL);

    assert_int_equal(write(in[1], "d\n", 2), 2);
    close(in[1]);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_string_equal(r.out, "a\nb\nc\nd\n");
    proc_free(&r);
    proc_free(&s);
}

/* A connection that never sends its greeting is dropped after
 * --handshake-timeout, and recv says why on stderr. */
static void test_handshake_timeout(void **state)
{
    (void)state;
    char path[512], url[600];
    snprintf(path, sizeof(path), "%s/hs", tmpdir);
    snprintf(url, sizeof(url), "unix://%s", path);
    proc r, s;
    start(&r, ARGS("recv", "--listen", url, "--handshake-timeout", "0.3", "--count", "1"));
    int fd = connect_unix(path);
    assert_true(fd >= 0);
    int64_t t0 = now_ns();
    assert_true(hung_up(fd)); /* its greeting, then the hang-up */
    int64_t waited = now_ns() - t0;
    close(fd);
    assert_true(waited < 10000000000LL); /* well before the 30 s default */
    start(&s, ARGS("send", "--dial", url, "still serving"));
    assert_int_equal(finish(&s, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out, "still serving\n");
    assert_non_null(strstr(r.err, "handshake timed out"));
    proc_free(&r);
    proc_free(&s);
}

#ifdef TEST_CLI_HAVE_ZMQ
#include <zmq.h>

/* Send one message given as "part|part|...". */
static int zsend(void *z, const char *spec)
{
    for (;;) {
        const char *bar = strchr(spec, '|');
        size_t len = bar != NULL ? (size_t)(bar - spec) : strlen(spec);
        if (zmq_send(z, spec, len, bar != NULL ? ZMQ_SNDMORE : 0) < 0)
            return -1;
        if (bar == NULL)
            return 0;
        spec = bar + 1;
    }
}

/* Receive one message and print it as "part|part|...\n". */
static int zrecv_print(void *z, char *first, size_t cap)
{
    int more = 1;
    for (int i = 0; more; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z, 0) < 0)
            return -1;
        size_t len = zmq_msg_size(&m);
        if (i == 0 && first != NULL) {
            size_t k = len < cap - 1 ? len : cap - 1;
            memcpy(first, zmq_msg_data(&m), k);
            first[k] = '\0';
        }
        printf("%s%.*s", i > 0 ? "|" : "", (int)len, (const char *)zmq_msg_data(&m));
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    printf("\n");
    fflush(stdout);
    return 0;
}

/* --helper zmq TYPE bind|connect URL ARGS...: a libzmq peer.  push, req,
 * pub: ARGS are messages (pub sends them every 10 ms, for at most 20 s);
 * pull, rep: ARGS[0] messages are printed (rep answers "re:<first part>");
 * sub: ARGS[0] is the prefix, ARGS[1] how many to print. */
static int helper_zmq(int argc, char **argv)
{
    if (argc < 4)
        return 99;
    static const struct {
        const char *name;
        int type;
    } types[] = {{"push", ZMQ_PUSH}, {"pull", ZMQ_PULL}, {"req", ZMQ_REQ},
                 {"rep", ZMQ_REP},   {"pub", ZMQ_PUB},   {"sub", ZMQ_SUB}};
    int type = -1;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(argv[0], types[i].name) == 0)
            type = types[i].type;
    void *ctx = zmq_ctx_new();
    void *z = type >= 0 ? zmq_socket(ctx, type) : NULL;
    if (z == NULL)
        return 98;
    int linger = 5000;
    zmq_setsockopt(z, ZMQ_LINGER, &linger, sizeof(linger));
    if (type == ZMQ_SUB)
        zmq_setsockopt(z, ZMQ_SUBSCRIBE, argv[3], strlen(argv[3]));
    int rc = strcmp(argv[1], "bind") == 0 ? zmq_bind(z, argv[2]) : zmq_connect(z, argv[2]);
    char first[256], reply[300];
    int n = type == ZMQ_SUB ? atoi(argv[4]) : atoi(argv[3]);
    for (int i = 3; rc == 0 && (type == ZMQ_PUSH || type == ZMQ_REQ) && i < argc; i++) {
        rc = zsend(z, argv[i]);
        if (rc == 0 && type == ZMQ_REQ)
            rc = zrecv_print(z, NULL, 0);
    }
    for (int k = 0; rc == 0 && type == ZMQ_PUB && k < 2000; k++) {
        for (int i = 3; rc == 0 && i < argc; i++)
            rc = zsend(z, argv[i]);
        nap_ms(10); /* a publisher's pace, not synchronisation */
    }
    for (int i = 0; rc == 0 && (type == ZMQ_PULL || type == ZMQ_REP || type == ZMQ_SUB) && i < n;
         i++) {
        rc = zrecv_print(z, first, sizeof(first));
        if (rc == 0 && type == ZMQ_REP) {
            snprintf(reply, sizeof(reply), "re:%s", first);
            rc = zsend(z, reply);
        }
    }
    zmq_close(z);
    zmq_ctx_term(ctx);
    return rc == 0 ? 0 : 1;
}

/* ipcx send and recv against real libzmq sockets, both roles, both
 * transports, multipart and subscriptions included. */
static void test_zmq_interop(void **state)
{
    (void)state;
    char tcp[128], ipc[600];
    proc r, z;
    /* libzmq PUSH dials ipcx recv: multipart with empty parts. */
    tcp_url(tcp, sizeof(tcp));
    start(&r, ARGS("recv", "--listen", tcp, "--format", "json", "--count", "2"));
    start_helper(&z, ARGS("zmq", "push", "connect", tcp, "a|", "|b|c"));
    assert_int_equal(finish(&z, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out,
                        "{\"parts\":[\"YQ==\",\"\"]}\n{\"parts\":[\"\",\"Yg==\",\"Yw==\"]}\n");
    proc_free(&r);
    proc_free(&z);

    /* ipcx send dials a libzmq PULL over ipc://. */
    snprintf(ipc, sizeof(ipc), "ipc://%s/zpull", tmpdir);
    start_helper(&z, ARGS("zmq", "pull", "bind", ipc, "2"));
    start(&r, ARGS("send", "--dial", ipc, "--timeout", "20", "--multipart", "x", "", "z"));
    assert_int_equal(finish(&r, WAITMS), 0);
    proc_free(&r);
    start(&r, ARGS("send", "--dial", ipc, "--timeout", "20", "single"));
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_int_equal(finish(&z, WAITMS), 0);
    assert_string_equal(z.out, "x||z\nsingle\n");
    proc_free(&r);
    proc_free(&z);

    /* libzmq REQ asks ipcx rep; ipcx req asks libzmq REP. */
    tcp_url(tcp, sizeof(tcp));
    start(&r, ARGS("recv", "--listen", tcp, "--pattern", "rep", "--count", "2", "--reply", "pong"));
    start_helper(&z, ARGS("zmq", "req", "connect", tcp, "ping", "pi|ng"));
    assert_int_equal(finish(&z, WAITMS), 0);
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(z.out, "pong\npong\n");
    assert_string_equal(r.out, "ping\npi\tng\n");
    proc_free(&r);
    proc_free(&z);
    snprintf(ipc, sizeof(ipc), "ipc://%s/zrep", tmpdir);
    start_helper(&z, ARGS("zmq", "rep", "bind", ipc, "2"));
    start(&r, ARGS("send", "--dial", ipc, "--pattern", "req", "--timeout", "20", "one", "two"));
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_int_equal(finish(&z, WAITMS), 0);
    assert_string_equal(r.out, "re:one\nre:two\n");
    assert_string_equal(z.out, "one\ntwo\n");
    proc_free(&r);
    proc_free(&z);

    /* libzmq PUB to ipcx sub (prefix filtered by the PUB), and back. */
    tcp_url(tcp, sizeof(tcp));
    start_helper(&z, ARGS("zmq", "pub", "bind", tcp, "drop", "keep|1", "drop|2"));
    start(&r, ARGS("recv", "--dial", tcp, "--pattern", "sub", "--subscribe", "ke", "--count", "2"));
    assert_int_equal(finish(&r, WAITMS), 0);
    assert_string_equal(r.out, "keep\t1\nkeep\t1\n");
    kill(z.pid, SIGKILL);
    (void)finish(&z, WAITMS);
    proc_free(&r);
    proc_free(&z);
    snprintf(ipc, sizeof(ipc), "ipc://%s/zsub", tmpdir);
    start_helper(&z, ARGS("zmq", "sub", "bind", ipc, "ne", "2"));
    publish_until_done(&z, "--dial", ipc, "old\nnews\tpart\nnew\n", "line");
    assert_int_equal(finish(&z, WAITMS), 0);
    assert_true(strcmp(z.out, "news|part\nnew\n") == 0 || strcmp(z.out, "new\nnews|part\n") == 0 ||
                strcmp(z.out, "news|part\nnews|part\n") == 0 || strcmp(z.out, "new\nnew\n") == 0);
    proc_free(&z);
}
#endif

static void rm_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", tmpdir);
}

int main(int argc, char **argv)
{
    if (argc > 3 && strcmp(argv[1], "--helper") == 0 && strcmp(argv[2], "silent-rep") == 0)
        return helper_silent_rep(argv[3]);
#ifdef TEST_CLI_HAVE_ZMQ
    if (argc > 2 && strcmp(argv[1], "--helper") == 0 && strcmp(argv[2], "zmq") == 0)
        return helper_zmq(argc - 3, argv + 3);
#endif
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ipcx-climsg-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    setenv("IPCX_SHM_DIR", tmpdir, 1); /* the regions send and recv expose */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unix_args, kill_leftovers),
        cmocka_unit_test_teardown(test_tcp_dial_first, kill_leftovers),
        cmocka_unit_test_teardown(test_shm, kill_leftovers),
        cmocka_unit_test_teardown(test_formats_roundtrip, kill_leftovers),
        cmocka_unit_test_teardown(test_multipart_args, kill_leftovers),
        cmocka_unit_test_teardown(test_stdin_streams, kill_leftovers),
        cmocka_unit_test_teardown(test_stream_many_lines, kill_leftovers),
        cmocka_unit_test_teardown(test_req_rep, kill_leftovers),
        cmocka_unit_test_teardown(test_req_timeout, kill_leftovers),
        cmocka_unit_test_teardown(test_pub_sub, kill_leftovers),
        cmocka_unit_test_teardown(test_pair, kill_leftovers),
        cmocka_unit_test_teardown(test_timeouts, kill_leftovers),
        cmocka_unit_test_teardown(test_usage_errors, kill_leftovers),
        cmocka_unit_test_teardown(test_address_in_use, kill_leftovers),
        cmocka_unit_test_teardown(test_stale_socket_file, kill_leftovers),
        cmocka_unit_test_teardown(test_signals_end_recv, kill_leftovers),
        cmocka_unit_test_teardown(test_recv_outlives_peers, kill_leftovers),
        cmocka_unit_test_teardown(test_max_size, kill_leftovers),
        cmocka_unit_test_teardown(test_bad_stdin, kill_leftovers),
        cmocka_unit_test_teardown(test_handshake_timeout, kill_leftovers),
        cmocka_unit_test_teardown(test_ls_and_stat, kill_leftovers),
        cmocka_unit_test_teardown(test_conns_shown, kill_leftovers),
#ifdef TEST_CLI_HAVE_ZMQ
        cmocka_unit_test_teardown(test_zmq_interop, kill_leftovers),
#endif
    };
    int rc = cmocka_run_group_tests_name("cli_msg", tests, NULL, NULL);
    rm_tmpdir();
    return rc;
}
