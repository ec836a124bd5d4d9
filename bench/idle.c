// SPDX-License-Identifier: MIT
/*
 * Idle connections (`ipcx bench --filter idle-conns`, a one-off that a
 * plain run leaves out): what 1,000 idle tcp:// connections cost the one
 * process that listens for them, for ipcx ("transport":"tcp") and, when
 * the build found it, libzmq ("transport":"zmq-tcp"), and 1,000 idle
 * shm:// connections ("transport":"shm"; the listener's CPU time over one
 * further idle second goes to stderr in a table run: it should be 0):
 *
 *   {"case":"idle","transport":"tcp","size":0,"conns":1000,"bytes_per_conn":0}
 *
 * bytes_per_conn is the growth of the listener's resident set
 * (/proc/self/statm) from just after it bound, before any connection, to
 * when all IDLE_CONNS connections have completed their ZMTP handshake,
 * divided by their number.  It counts the pages the process touched for
 * them (its own state, buffers it wrote into, libzmq's I/O thread's
 * sessions and pipes), not memory malloc reserved and never touched, and
 * not the kernel's socket buffers.
 *
 * Two processes: the listener (a PULL socket on 127.0.0.1 port 0; libzmq's
 * backlog raised to ipcx's 1024) and the dialler, one ipcx PUSH socket that
 * dials the listener's endpoint IDLE_CONNS times (every ipcx_dial() is a
 * connection of its own).  The same ipcx dialler serves both listeners, so
 * only the listening side differs.  The dialler says on the control
 * channel when all its connections completed the handshake; the ipcx
 * listener counts its own peers (ipcx_socket_stats), the libzmq one counts
 * ZMQ_EVENT_HANDSHAKE_SUCCEEDED from a socket monitor.  Only then is the
 * listener's RSS read.  No message is sent: the connections are idle.
 */
#include <ipcx/ipcx.h>

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"

#ifdef IPCX_BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

#define IDLE_CONNS   1000
#define IDLE_WAIT_NS (60ull * 1000000000) /* all connections up by then */
#define IDLE_URL_CAP 160

enum idle_kind { IDLE_IPCX, IDLE_ZMQ, IDLE_SHM };

/* The result page: written by the children, read by the parent after it
 * reaped both (waitpid orders the stores before the loads). */
struct idle_result {
    uint64_t before, after;           /* listener RSS in bytes */
    uint64_t heap_before, heap_after; /* listener heap in use (mallinfo2); 0: unknown */
    uint32_t conns;
    uint64_t idle_cpu_us; /* shm: the listener's CPU time over an idle second */
    char why[2][120];     /* listener, dialler: what failed */
};

struct idle_run {
    bench_ctx *ctx;
    enum idle_kind kind;
    char shm_url[IDLE_URL_CAP]; /* IDLE_SHM: the listener's shm:// URL */
    struct idle_result *res;
    uint64_t end; /* CLOCK_MONOTONIC deadline for the connections */
};

/* Bytes malloc handed out and not freed, all arenas (glibc). */
static uint64_t heap_bytes(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
#else
    return 0;
#endif
}

static uint64_t rss_bytes(void)
{
    unsigned long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The listener's figures, before and after the connections. */
static void take_mem(uint64_t *rss, uint64_t *heap)
{
    *heap = heap_bytes();
    *rss = rss_bytes();
}

/* Room for IDLE_CONNS connections and the sockets' own fds (shm://: four
 * per connection - control socket, region, two eventfds). */
static int raise_nofile(void)
{
    struct rlimit rl;
    rlim_t need = 4 * IDLE_CONNS + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -errno;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
        return -EMFILE;
    rl.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : -errno;
}

/* Wait up to 10 ms for ctl or `fd` (may be -1) to become readable.
 * Returns 1 when ctl is, 0 otherwise, or -errno. */
static int idle_poll(int ctl, int fd)
{
    struct pollfd p[2] = {{.fd = ctl, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, 10);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

/* The dialler's word that all its connections are up (one byte). */
static int take_word(int ctl, int *dialled)
{
    char b;
    int rc = bench_ctl_recv(ctl, &b, 1);
    if (rc == 0)
        *dialled = 1;
    return rc;
}

/* ------------------------------------------------------ the ipcx listener */

static int ipcx_peers(ipcx_socket *s)
{
    ipcx_socket_stats st;
    int rc = ipcx_socket_stats_get(s, &st);
    return rc < 0 ? rc : (int)st.peers;
}

static int listen_ipcx(struct idle_run *x, int ctl, char *why, size_t cap)
{
    ipcx_socket *s = NULL;
    char url[IDLE_URL_CAP];
    int rc = ipcx_socket_open(IPCX_PULL, &s);
    const char *at = x->kind == IDLE_SHM ? x->shm_url : "tcp://127.0.0.1:0";
    if (rc == 0 && (rc = ipcx_listen(s, at)) == 0)
        rc = ipcx_socket_endpoint(s, 0, url, sizeof(url));
    if (rc < 0) {
        snprintf(why, cap, "listener: %s", strerror(-rc));
        ipcx_socket_close(s);
        return rc;
    }
    take_mem(&x->res->before, &x->res->heap_before);
    rc = bench_ctl_send(ctl, url, sizeof(url));
    int dialled = 0, peers = 0;
    while (rc >= 0 && (peers < IDLE_CONNS || !dialled)) {
        if ((rc = ipcx_socket_events(s, 0)) < 0 || (rc = peers = ipcx_peers(s)) < 0)
            break;
        if (bench_now_ns() >= x->end) {
            rc = -ETIMEDOUT;
            break;
        }
        rc = idle_poll(ctl, ipcx_socket_fd(s));
        if (rc == 1)
            rc = take_word(ctl, &dialled);
    }
    take_mem(&x->res->after, &x->res->heap_after);
    x->res->conns = (uint32_t)(peers > 0 ? peers : 0);
    /* Idle means no CPU: the listener's time over a second of nothing. */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    struct timespec second = {1, 0};
    if (rc >= 0 && x->kind == IDLE_SHM)
        nanosleep(&second, NULL);
    getrusage(RUSAGE_SELF, &ru1);
    x->res->idle_cpu_us = (uint64_t)((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000000 +
                                     (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
                                     (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000 +
                                     (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec));
    if (rc < 0)
        snprintf(why, cap, "listener: %d of %d peers: %s", peers, IDLE_CONNS, strerror(-rc));
    else
        rc = bench_ctl_send(ctl, "X", 1);
    (void)ipcx_socket_set(s, IPCX_OPT_LINGER, 0);
    ipcx_socket_close(s);
    return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------- the libzmq listener */
#ifdef IPCX_BENCH_HAVE_ZMQ

static int zerr(void)
{
    return -(errno ? errno : EIO);
}

/* Bind, and start counting handshakes on a monitor socket. */
static int zmq_idle_open(void *zctx, void **sock, void **mon, char *url)
{
    int backlog = 1024;
    size_t len = IDLE_URL_CAP;
    *sock = zmq_socket(zctx, ZMQ_PULL);
    if (*sock == NULL)
        return zerr();
    if (zmq_setsockopt(*sock, ZMQ_BACKLOG, &backlog, sizeof(backlog)) < 0 ||
        zmq_socket_monitor(*sock, "inproc://ipcx-bench-idle", ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0)
        return zerr();
    *mon = zmq_socket(zctx, ZMQ_PAIR);
    if (*mon == NULL || zmq_connect(*mon, "inproc://ipcx-bench-idle") < 0)
        return zerr();
    if (zmq_bind(*sock, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt(*sock, ZMQ_LAST_ENDPOINT, url, &len) < 0)
        return zerr();
    return 0;
}

/* Count the monitor's events (two frames each) that arrived so far. */
static int zmq_count_handshakes(void *mon)
{
    int n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return n;
        }
        if (zmq_msg_size(&m) >= 2) {
            uint16_t ev;
            memcpy(&ev, zmq_msg_data(&m), sizeof(ev));
            n += ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
        }
        while (zmq_msg_more(&m) && zmq_msg_recv(&m, mon, 0) >= 0) /* the endpoint frame */
            ;
        zmq_msg_close(&m);
    }
}

static int listen_zmq(struct idle_run *x, int ctl, char *why, size_t cap)
{
    void *zctx = zmq_ctx_new(), *sock = NULL, *mon = NULL;
    char url[IDLE_URL_CAP] = "";
    int rc = zctx ? zmq_idle_open(zctx, &sock, &mon, url) : zerr();
    int dialled = 0, peers = 0, zero = 0;
    if (rc == 0) {
        take_mem(&x->res->before, &x->res->heap_before);
        rc = bench_ctl_send(ctl, url, sizeof(url));
    } else {
        snprintf(why, cap, "listener: %s", strerror(-rc));
    }
    while (rc >= 0 && (peers < IDLE_CONNS || !dialled)) {
        int events;
        size_t len = sizeof(events);
        /* Processes the socket's commands: the new pipes get attached. */
        (void)zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len);
        peers += zmq_count_handshakes(mon);
        if (bench_now_ns() >= x->end) {
            rc = -ETIMEDOUT;
            break;
        }
        rc = idle_poll(ctl, -1);
        if (rc == 1)
            rc = take_word(ctl, &dialled);
    }
    take_mem(&x->res->after, &x->res->heap_after);
    x->res->conns = (uint32_t)peers;
    if (rc < 0 && why[0] == '\0')
        snprintf(why, cap, "listener: %d of %d peers: %s", peers, IDLE_CONNS, strerror(-rc));
    else if (rc >= 0)
        rc = bench_ctl_send(ctl, "X", 1);
    void *socks[2] = {mon, sock};
    for (int i = 0; i < 2; i++)
        if (socks[i] != NULL) {
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof(zero));
            zmq_close(socks[i]);
        }
    if (zctx)
        zmq_ctx_term(zctx);
    return rc < 0 ? rc : 0;
}
#endif /* IPCX_BENCH_HAVE_ZMQ */

/* ------------------------------------------------------------ the dialler */

static int dial_all(ipcx_socket *s, int ctl, const struct idle_run *x)
{
    char url[IDLE_URL_CAP];
    int rc = bench_ctl_recv(ctl, url, sizeof(url));
    url[sizeof(url) - 1] = '\0';
    for (int i = 0; rc == 0 && i < IDLE_CONNS; i++)
        rc = ipcx_dial(s, url);
    while (rc >= 0) {
        if ((rc = ipcx_socket_events(s, 0)) < 0 || (rc = ipcx_peers(s)) < 0)
            return rc;
        if (rc >= IDLE_CONNS)
            return bench_ctl_send(ctl, "C", 1);
        if (bench_now_ns() >= x->end)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = ipcx_socket_fd(s), .events = POLLIN};
        rc = poll(&p, 1, 10) < 0 && errno != EINTR ? -errno : 0;
    }
    return rc;
}

static int dialler(struct idle_run *x, int ctl, char *why, size_t cap)
{
    ipcx_socket *s = NULL;
    int rc = ipcx_socket_open(IPCX_PUSH, &s);
    if (rc == 0)
        rc = dial_all(s, ctl, x);
    char b;
    if (rc == 0)
        rc = bench_ctl_recv(ctl, &b, 1); /* the listener measured */
    if (rc < 0)
        snprintf(why, cap, "dialler: %d of %d peers: %s", s ? ipcx_peers(s) : 0, IDLE_CONNS,
                 strerror(-rc));
    if (s != NULL)
        (void)ipcx_socket_set(s, IPCX_OPT_LINGER, 0);
    ipcx_socket_close(s);
    return rc;
}

/* ------------------------------------------------------------------ parent */

static _Noreturn void idle_child(struct idle_run *x, int side, int ctl)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_IGN);
    if (x->ctx->pinned)
        (void)bench_pin(side == 0 ? x->ctx->cpu_a : x->ctx->cpu_b);
    char *why = x->res->why[side];
    size_t cap = sizeof(x->res->why[side]);
    int rc = raise_nofile();
    if (rc < 0)
        snprintf(why, cap, "RLIMIT_NOFILE: %s", strerror(-rc));
    else if (side == 1)
        rc = dialler(x, ctl, why, cap);
#ifdef IPCX_BENCH_HAVE_ZMQ
    else if (x->kind == IDLE_ZMQ)
        rc = listen_zmq(x, ctl, why, cap);
#endif
    else
        rc = listen_ipcx(x, ctl, why, cap);
    _exit(rc < 0 ? 1 : 0);
}

/* Reap both children by the deadline (plus a little for the goodbyes);
 * kill what still runs.  Returns 0 when both exited with status 0. */
static int idle_reap(pid_t pid[2], uint64_t end)
{
    int bad = 0;
    struct timespec tick = {0, 10 * 1000000};
    while (pid[0] > 0 || pid[1] > 0) {
        for (int i = 0; i < 2; i++) {
            int st;
            if (pid[i] <= 0 || waitpid(pid[i], &st, WNOHANG) == 0)
                continue;
            bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
            pid[i] = 0;
        }
        if (bench_now_ns() >= end + 10ull * 1000000000) {
            for (int i = 0; i < 2; i++)
                if (pid[i] > 0 && kill(pid[i], SIGKILL) == 0)
                    bad = 1;
        }
        nanosleep(&tick, NULL);
    }
    return bad ? -ECHILD : 0;
}

static void idle_case(bench_ctx *ctx, enum idle_kind kind, const char *transport)
{
    struct idle_run x = {.ctx = ctx, .kind = kind};
    snprintf(x.shm_url, sizeof(x.shm_url), "shm:///tmp/ipcx-bench-idle-%d.sock", (int)getpid());
    x.res = mmap(NULL, sizeof(*x.res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int sv[2];
    if (x.res == MAP_FAILED || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        bench_fail(ctx, transport, "idle", "cannot map the result page or make the control pair");
        if (x.res != MAP_FAILED)
            munmap(x.res, sizeof(*x.res));
        return;
    }
    x.end = bench_now_ns() + IDLE_WAIT_NS;
    fflush(NULL);
    pid_t pid[2] = {-1, -1};
    for (int i = 0; i < 2; i++)
        if ((pid[i] = fork()) == 0) {
            close(sv[1 - i]);
            idle_child(&x, i, sv[i]);
        }
    close(sv[0]);
    close(sv[1]);
    int rc = pid[0] < 0 || pid[1] < 0 ? -EAGAIN : 0;
    if (rc < 0)
        for (int i = 0; i < 2; i++)
            if (pid[i] > 0)
                kill(pid[i], SIGKILL);
    if (idle_reap(pid, x.end) < 0 && rc == 0)
        rc = -ECHILD;
    if (rc == 0 && x.res->conns == IDLE_CONNS && x.res->after >= x.res->before) {
        bench_row row = {.kase = "idle", .transport = transport, .conns = IDLE_CONNS};
        row.bytes_per_conn = (double)(x.res->after - x.res->before) / IDLE_CONNS;
        if (x.res->heap_before != 0 && x.res->heap_after >= x.res->heap_before)
            row.heap_bytes_per_conn = (double)(x.res->heap_after - x.res->heap_before) / IDLE_CONNS;
        bench_emit(ctx, &row);
        if (kind == IDLE_SHM && !ctx->json)
            fprintf(stderr, "ipcx bench: shm idle: %llu us of CPU in an idle second\n",
                    (unsigned long long)x.res->idle_cpu_us);
    } else {
        const char *why = x.res->why[0][0] ? x.res->why[0] : x.res->why[1];
        bench_fail(ctx, transport, "idle", why[0] ? why : "a side died or timed out");
    }
    munmap(x.res, sizeof(*x.res));
}

void bench_suite_idle(bench_ctx *ctx)
{
    if (!bench_named(ctx, "idle-conns"))
        return;
    idle_case(ctx, IDLE_IPCX, "tcp");
    idle_case(ctx, IDLE_SHM, "shm");
#ifdef IPCX_BENCH_HAVE_ZMQ
    idle_case(ctx, IDLE_ZMQ, "zmq-tcp");
#endif
}
