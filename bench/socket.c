// SPDX-License-Identifier: MIT
/*
 * ipcx socket rows (`transport` "unix", "tcp" and "shm"): ipcx_send / ipcx_recv
 * between two processes over the public API, measured by the same harness
 * (harness.h), with the same sizes and budgets as the unix-raw, tcp-raw and
 * zmq-ipc / zmq-tcp rows, so that ratios between them hold.
 *
 *  pingpong  64 B, "wait":"block": default options (a side with nothing to
 *            do sleeps in epoll_wait);
 *            64 B, "wait":"spin": both sides set IPCX_OPT_SPIN (SPIN_NS),
 *            so a call about to sleep polls its connections first.
 *  stream    64 B and 64 KiB, "wait":"block", one ipcx_send per message;
 *            the same with "variant":"batch": the producer passes
 *            IPCX_BATCH on every message but each BATCH_EVERY-th (and the
 *            harness's SYNC and LAST, which must go out at once), so the
 *            messages between leave in one system call.
 *
 * shm:// has the pingpong rows and the plain stream rows (IPCX_BATCH
 * changes nothing there: a commit costs what an append does), and
 *  stream    64 B, "variant":"pubsub", "consumers":1 and 4: one PUB (this
 *            process) to N SUB processes over one broadcast ring; each
 *            subscriber measures its own rate (first to last message it
 *            got) and the row is the slowest subscriber's.
 *  curve     tcp only, "variant":"curve": pingpong 64 B and stream 64 B and
 *            64 KiB with A a CURVE server and B its client (RFC 26);
 *            "case":"handshakes": CURVE handshakes per second against one
 *            listener (sock_handshakes), beside libzmq's (bench/peers.c).
 *
 * Every row is "api":"copy" (the payload is copied in and out of a caller
 * buffer, as zmq_send/zmq_recv do in the peer rows).  The pattern is
 * IPCX_PAIR, as for the libzmq and nng peers (bench/peers.c says why), with
 * the default high-water mark of 1000 messages, libzmq's default too.
 *
 * Side A listens (unix: a socket file under $TMPDIR or /tmp; tcp:
 * 127.0.0.1 port 0) and hands its endpoint to side B over the control
 * channel; B dials.  Both sides then drive their socket until the ZMTP
 * handshake is done, so no connection set-up falls into the warm-up.  Send
 * and receive time out after SOCK_TIMEOUT_NS: a stuck socket fails its row
 * with the reason instead of running into the harness's hard deadline.
 */
#include <ipcx/ipcx.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"

#define SOCK_TIMEOUT_NS (10LL * 1000000000) /* a send/recv that waits longer failed */
#define CONNECT_WAIT_NS (10LL * 1000000000) /* setup: the handshake must be done by then */
#define SPIN_NS         (50LL * 1000)       /* the spin row's IPCX_OPT_SPIN */
#define BATCH_EVERY     64                  /* batch row: every 64th message flushes */
#define SOCK_URL_CAP    160

struct sock_state {
    int tcp;              /* 0: unix:// (or shm://), 1: tcp:// */
    int shm;              /* 1: shm:// */
    size_t size;          /* message size */
    int64_t spin_ns;      /* IPCX_OPT_SPIN on both sides; 0 = default */
    unsigned batch_every; /* 0: no IPCX_BATCH; else flush every Nth message */
    int curve;            /* CURVE: A the server, B the client (keys made before the fork) */
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
    char url[SOCK_URL_CAP];
    char path[96]; /* unix: the socket file */
    ipcx_socket *s;
    unsigned long long sent; /* messages sent by this side */
    unsigned char *buf;
};

static int sock_prepare(void *arg)
{
    static unsigned counter;
    struct sock_state *st = arg;
    st->path[0] = '\0';
    st->s = NULL;
    st->buf = NULL;
    st->sent = 0;
    if (st->tcp)
        return 0;
    /* $TMPDIR when the path fits a sockaddr_un (108 bytes), else /tmp. */
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] != '/' || strlen(dir) > 60)
        dir = "/tmp";
    snprintf(st->path, sizeof(st->path), "%s/ipcx-bench-sock-%d-%u.sock", dir, (int)getpid(),
             counter++);
    return 0;
}

static void sock_cleanup(void *arg)
{
    struct sock_state *st = arg;
    if (st->path[0] != '\0')
        unlink(st->path);
}

/* Side A: listen and learn the endpoint (the port the kernel picked). */
static int sock_listen(struct sock_state *st)
{
    char url[SOCK_URL_CAP];
    if (st->tcp)
        snprintf(url, sizeof(url), "tcp://127.0.0.1:0");
    else
        snprintf(url, sizeof(url), "%s://%s", st->shm ? "shm" : "unix", st->path);
    int rc = ipcx_listen(st->s, url);
    if (rc < 0)
        return rc;
    rc = ipcx_socket_endpoint(st->s, 0, st->url, sizeof(st->url));
    return rc < 0 ? rc : 0;
}

/* Drive the socket until its peer completed the handshake. */
static int sock_wait_peer(ipcx_socket *s)
{
    uint64_t end = bench_now_ns() + (uint64_t)CONNECT_WAIT_NS;
    for (;;) {
        int ev = ipcx_socket_events(s, IPCX_POLLIN);
        if (ev < 0)
            return ev;
        ipcx_socket_stats stats;
        int rc = ipcx_socket_stats_get(s, &stats);
        if (rc < 0)
            return rc;
        if (stats.peers >= 1)
            return 0;
        if (bench_now_ns() >= end)
            return -ETIMEDOUT;
        /* The fd is readable when there is work; the timeout covers a
         * dialler's reconnect timer as well. */
        struct pollfd p = {.fd = ipcx_socket_fd(s), .events = POLLIN};
        (void)poll(&p, 1, 10);
    }
}

static int sock_setup(void *arg, enum bench_side side, int ctl)
{
    struct sock_state *st = arg;
    st->buf = calloc(1, st->size);
    if (st->buf == NULL)
        return -ENOMEM;
    int rc = ipcx_socket_open(IPCX_PAIR, &st->s);
    if (rc < 0)
        return rc;
    if ((rc = ipcx_socket_set(st->s, IPCX_OPT_SEND_TIMEOUT, SOCK_TIMEOUT_NS)) < 0 ||
        (rc = ipcx_socket_set(st->s, IPCX_OPT_RECV_TIMEOUT, SOCK_TIMEOUT_NS)) < 0)
        return rc;
    if (st->spin_ns > 0 && (rc = ipcx_socket_set(st->s, IPCX_OPT_SPIN, st->spin_ns)) < 0)
        return rc;
    if (st->curve && side == BENCH_SIDE_A &&
        ((rc = ipcx_socket_set(st->s, IPCX_OPT_CURVE_SERVER, 1)) < 0 ||
         (rc = ipcx_socket_set_bytes(st->s, IPCX_OPT_CURVE_SECRETKEY, st->ssec, 32)) < 0))
        return rc;
    if (st->curve && side == BENCH_SIDE_B &&
        ((rc = ipcx_socket_set_bytes(st->s, IPCX_OPT_CURVE_SECRETKEY, st->csec, 32)) < 0 ||
         (rc = ipcx_socket_set_bytes(st->s, IPCX_OPT_CURVE_SERVERKEY, st->spub, 32)) < 0))
        return rc;
    if (side == BENCH_SIDE_A) {
        if ((rc = sock_listen(st)) < 0)
            return rc;
        rc = bench_ctl_send(ctl, st->url, sizeof(st->url));
    } else {
        rc = bench_ctl_recv(ctl, st->url, sizeof(st->url));
        st->url[sizeof(st->url) - 1] = '\0';
        if (rc == 0)
            rc = ipcx_dial(st->s, st->url);
    }
    return rc < 0 ? rc : sock_wait_peer(st->s);
}

static int sock_send(void *arg, enum bench_flag flag)
{
    struct sock_state *st = arg;
    int flags = 0;
    /* SYNC and LAST are waited for on the control channel, where the
     * producer no longer drives the socket: they must leave at once. */
    if (st->batch_every != 0 && flag == BENCH_MORE && ++st->sent % st->batch_every != 0)
        flags = IPCX_BATCH;
    bench_msg_set_flag(st->buf, flag);
    int rc;
    do
        rc = ipcx_send(st->s, st->buf, st->size, flags);
    while (rc == -EINTR);
    if (rc < 0)
        return rc;
    return (size_t)rc == st->size ? 0 : -EPROTO;
}

static int sock_recv(void *arg)
{
    struct sock_state *st = arg;
    int n;
    do
        n = ipcx_recv(st->s, st->buf, st->size, 0);
    while (n == -EINTR);
    if (n < 0)
        return n;
    return (size_t)n == st->size ? bench_msg_flag(st->buf) : -EPROTO;
}

/* The producer waits for the consumer's acknowledgement on the control
 * channel.  ipcx_send() returns once a message is queued; what the kernel
 * did not take yet is written by later calls on the socket (socket.h:
 * caller-driven I/O) or by the socket's I/O assistant thread where there
 * is one, so a producer that slept on ctl alone could, without that
 * thread, leave the tail of the stream, LAST included, in its own memory
 * while the consumer waits for it.  So wait as an event loop would: on ctl
 * and on the socket's fd, doing the socket's work whenever its fd is
 * readable. */
static int sock_wait_ctl(void *arg, int ctl)
{
    struct sock_state *st = arg;
    uint64_t end = bench_now_ns() + (uint64_t)SOCK_TIMEOUT_NS;
    for (;;) {
        struct pollfd p[2] = {{.fd = ctl, .events = POLLIN},
                              {.fd = ipcx_socket_fd(st->s), .events = POLLIN}};
        int n = poll(p, 2, 100);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            return 0; /* the ack (or EOF, which the harness reports) */
        if (n > 0 && (p[1].revents & POLLIN)) {
            int ev = ipcx_socket_events(st->s, 0);
            if (ev < 0)
                return ev;
        }
        if (bench_now_ns() >= end)
            return -ETIMEDOUT;
    }
}

static void sock_teardown(void *arg, enum bench_side side)
{
    struct sock_state *st = arg;
    /* Default linger: B's echo of LAST may still be queued. */
    ipcx_socket_close(st->s);
    st->s = NULL;
    free(st->buf);
    st->buf = NULL;
    if (side == BENCH_SIDE_A)
        sock_cleanup(st);
}

static const bench_ops sock_ops = {
    .prepare = sock_prepare,
    .setup = sock_setup,
    .send = sock_send,
    .recv = sock_recv,
    .wait_ctl = sock_wait_ctl,
    .teardown = sock_teardown,
    .cleanup = sock_cleanup,
};

/* ------------------------------------------------------------------- suite */

static void sock_cases(bench_ctx *ctx, const char *transport, int tcp, int shm)
{
    static const size_t stream_sizes[] = {64, 65536};
    static const bench_row copy = {.api = "copy"};
    static const bench_row batch = {.api = "copy", .variant = "batch"};
    struct sock_state st = {.tcp = tcp, .shm = shm, .size = 64};
    bench_case c = {.transport = transport, .size = 64, .wait = "block", .row = &copy};
    bench_run_pingpong(ctx, &c, &sock_ops, &st);
    c.wait = "spin";
    st.spin_ns = SPIN_NS;
    bench_run_pingpong(ctx, &c, &sock_ops, &st);
    c.wait = "block";
    st.spin_ns = 0;
    for (size_t b = 0; b < (shm ? 1u : 2u); b++) {
        c.row = b ? &batch : &copy;
        st.batch_every = b ? BATCH_EVERY : 0;
        for (size_t i = 0; i < 2; i++) {
            c.size = st.size = stream_sizes[i];
            bench_run_stream(ctx, &c, &sock_ops, &st);
        }
    }
}

/* ------------------------------------------------------------ PUB -> N SUB */

#define FANOUT_MAX  4
#define FANOUT_SIZE 64

/* A subscriber (a forked child, which has no socket yet): reports "r" when
 * it sees the publisher's probes, then "COUNT NS" for the data it got. */
static void fanout_sub(const char *url, int report)
{
    ipcx_socket *s;
    unsigned char buf[FANOUT_SIZE];
    if (ipcx_socket_open(IPCX_SUB, &s) != 0)
        _exit(1);
    (void)ipcx_socket_set(s, IPCX_OPT_RECV_TIMEOUT, SOCK_TIMEOUT_NS);
    (void)ipcx_socket_set_bytes(s, IPCX_OPT_SUBSCRIBE, "", 0);
    if (ipcx_dial(s, url) != 0)
        _exit(1);
    bool told = false;
    unsigned long long count = 0;
    uint64_t t0 = 0, t1 = 0;
    for (;;) {
        int n = ipcx_recv(s, buf, sizeof(buf), 0);
        if (n < 1)
            _exit(2);
        if (buf[0] == 'P' && !told) {
            told = true;
            if (bench_write_full(report, "r", 1) != 0)
                _exit(1);
        } else if (buf[0] == 'D') {
            t1 = bench_now_ns();
            if (count++ == 0)
                t0 = t1;
        } else if (buf[0] == 'E') {
            break;
        }
    }
    char line[64];
    int l = snprintf(line, sizeof(line), "%llu %llu\n", count, (unsigned long long)(t1 - t0));
    (void)bench_write_full(report, line, (size_t)l);
    ipcx_socket_close(s);
    _exit(0);
}

/* Probe until every subscriber said "r".  0 or -ETIMEDOUT. */
static int fanout_wait_subs(ipcx_socket *pub, const int *rfd, int subs)
{
    unsigned char probe[FANOUT_SIZE] = {'P'};
    bool in[FANOUT_MAX] = {false};
    int ready = 0;
    uint64_t end = bench_now_ns() + (uint64_t)CONNECT_WAIT_NS;
    while (ready < subs) {
        if (bench_now_ns() >= end)
            return -ETIMEDOUT;
        (void)ipcx_send(pub, probe, sizeof(probe), IPCX_DONTWAIT);
        for (int k = 0; k < subs; k++) {
            struct pollfd p = {.fd = rfd[k], .events = POLLIN};
            char c;
            if (!in[k] && poll(&p, 1, 1) == 1 && read(rfd[k], &c, 1) == 1) {
                in[k] = true;
                ready++;
            }
        }
    }
    return 0;
}

static void fanout_case(bench_ctx *ctx, int subs)
{
    static unsigned counter;
    char url[SOCK_URL_CAP];
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] != '/' || strlen(dir) > 60)
        dir = "/tmp";
    snprintf(url, sizeof(url), "shm://%s/ipcx-bench-fanout-%d-%u.sock", dir, (int)getpid(),
             counter++);
    pid_t pid[FANOUT_MAX];
    int rfd[FANOUT_MAX];
    int made = 0;
    bench_floor_before(ctx);
    for (; made < subs; made++) {
        int pfd[2];
        if (pipe(pfd) != 0)
            break;
        pid[made] = fork();
        if (pid[made] == 0) {
            close(pfd[0]);
            fanout_sub(url, pfd[1]);
        }
        close(pfd[1]);
        rfd[made] = pfd[0];
        if (pid[made] < 0) {
            close(pfd[0]);
            break;
        }
    }
    const char *why = made < subs ? "fork failed" : NULL;
    ipcx_socket *pub = NULL;
    double slowest = 0;
    unsigned long long samples = 0;
    if (why == NULL && (ipcx_socket_open(IPCX_PUB, &pub) != 0 || ipcx_listen(pub, url) != 0))
        why = "cannot listen";
    if (why == NULL && fanout_wait_subs(pub, rfd, subs) != 0)
        why = "subscribers did not connect";
    if (why == NULL) {
        unsigned char msg[FANOUT_SIZE] = {'D'};
        uint64_t end = bench_now_ns() + bench_warmup_ns(ctx) + bench_budget_ns(ctx);
        for (unsigned i = 0;; i++) {
            (void)ipcx_send(pub, msg, sizeof(msg), 0);
            if ((i & 1023) == 0 && bench_now_ns() >= end)
                break;
        }
        msg[0] = 'E';
        for (int k = 0; k < 64; k++)
            (void)ipcx_send(pub, msg, sizeof(msg), 0);
        for (int k = 0; k < subs && why == NULL; k++) {
            char line[64] = "";
            size_t at = 0;
            while (at < sizeof(line) - 1 && bench_read_full(rfd[k], line + at, 1) == 0 &&
                   line[at] != '\n')
                at++;
            unsigned long long count = 0, ns = 0;
            if (sscanf(line, "%llu %llu", &count, &ns) != 2 || count < 2 || ns == 0) {
                why = "a subscriber got nothing";
                break;
            }
            double rate = (double)(count - 1) * 1e9 / (double)ns;
            if (k == 0 || rate < slowest) {
                slowest = rate;
                samples = count;
            }
        }
    }
    for (int k = 0; k < made; k++) {
        if (why != NULL)
            kill(pid[k], SIGKILL);
        (void)waitpid(pid[k], NULL, 0);
        close(rfd[k]);
    }
    ipcx_socket_close(pub);
    if (why != NULL) {
        bench_fail(ctx, "shm", "stream", why);
        return;
    }
    bench_row r = {.kase = "stream",
                   .transport = "shm",
                   .size = FANOUT_SIZE,
                   .wait = "block",
                   .api = "copy",
                   .variant = "pubsub",
                   .consumers = subs,
                   .msgs_per_s = slowest,
                   .bytes_per_s = slowest * FANOUT_SIZE,
                   .samples = samples};
    bench_floor_after(ctx, &r);
    bench_emit(ctx, &r);
}

/* CURVE over tcp: pingpong 64 B, stream 64 B and 64 KiB, "variant":"curve". */
static void sock_curve_cases(bench_ctx *ctx)
{
    static const bench_row curve = {.api = "copy", .variant = "curve"};
    struct sock_state st = {.tcp = 1, .size = 64, .curve = 1};
    if (ipcx_curve_keypair(st.spub, st.ssec) != 0 || ipcx_curve_keypair(st.cpub, st.csec) != 0) {
        bench_fail(ctx, "tcp", "pingpong", "no CURVE key pair (libsodium)");
        return;
    }
    bench_case c = {.transport = "tcp", .size = 64, .wait = "block", .row = &curve};
    bench_run_pingpong(ctx, &c, &sock_ops, &st);
    c.size = st.size = 64;
    bench_run_stream(ctx, &c, &sock_ops, &st);
    c.size = st.size = 65536;
    bench_run_stream(ctx, &c, &sock_ops, &st);
}

/* Handshakes per second against one CURVE listener (PULL, its I/O
 * assistant answering): a PUSH client connects, waits for its handshake,
 * closes; again until the budget is spent.  Runs in a child process. */
static double sock_handshakes(void *arg)
{
    const bench_hs_arg *a = arg;
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
    if (ipcx_curve_keypair(spub, ssec) != 0 || ipcx_curve_keypair(cpub, csec) != 0)
        return -EIO;
    ipcx_socket *l = NULL;
    char url[SOCK_URL_CAP];
    int rc = ipcx_socket_open(IPCX_PULL, &l);
    if (rc == 0)
        rc = ipcx_socket_set(l, IPCX_OPT_CURVE_SERVER, 1);
    if (rc == 0)
        rc = ipcx_socket_set_bytes(l, IPCX_OPT_CURVE_SECRETKEY, ssec, 32);
    if (rc == 0)
        rc = ipcx_listen(l, "tcp://127.0.0.1:0");
    if (rc == 0)
        rc = ipcx_socket_endpoint(l, 0, url, sizeof(url)) < 0 ? -EINVAL : 0;
    uint64_t start = bench_now_ns(), n = 0;
    while (rc == 0 && bench_now_ns() - start < a->budget_ns) {
        ipcx_socket *c = NULL;
        rc = ipcx_socket_open(IPCX_PUSH, &c);
        if (rc == 0)
            rc = ipcx_socket_set(c, IPCX_OPT_LINGER, 0);
        if (rc == 0)
            rc = ipcx_socket_set_bytes(c, IPCX_OPT_CURVE_SECRETKEY, csec, 32);
        if (rc == 0)
            rc = ipcx_socket_set_bytes(c, IPCX_OPT_CURVE_SERVERKEY, spub, 32);
        if (rc == 0)
            rc = ipcx_dial(c, url);
        if (rc == 0)
            rc = sock_wait_peer(c);
        ipcx_socket_close(c);
        n++;
    }
    double secs = (double)(bench_now_ns() - start) / 1e9;
    ipcx_socket_close(l);
    return rc != 0 ? (double)rc : (double)n / secs;
}

void bench_suite_sockets(bench_ctx *ctx)
{
    sock_cases(ctx, "unix", 0, 0);
    sock_cases(ctx, "tcp", 1, 0);
    sock_cases(ctx, "shm", 0, 1);
    if (bench_want(ctx, "shm")) {
        fanout_case(ctx, 1);
        fanout_case(ctx, FANOUT_MAX);
    }
    sock_curve_cases(ctx);
    bench_run_handshakes(ctx, "tcp", sock_handshakes);
}
