// SPDX-License-Identifier: MIT
/*
 * The peers ipcx is measured against, in the same run: libzmq (zmq-ipc,
 * zmq-tcp) and libnng (nng-ipc, nng-tcp).  Each is compiled only when the
 * build found the library (IPCX_BENCH_HAVE_ZMQ / IPCX_BENCH_HAVE_NNG); they
 * are bench-only dependencies, libipcx never links them.
 *
 * Fairness: both libraries use their exclusive-pair pattern (ZMQ_PAIR, nng
 * pair1) for both the pingpong and the stream, the pattern ipcx's IPCX_PAIR
 * corresponds to.  REQ/REP would add an envelope delimiter frame and a
 * lock-step state machine to every message, and PUSH/PULL moves messages
 * through the same pipes as PAIR, so PAIR is the cheapest fair choice and
 * lets one setup serve both cases.  Both queue the same depth: zmq's default
 * high-water mark of 1000 messages, given to nng's pair1 send and receive
 * buffers too (their default, 0, makes every send wait for the receiver and
 * cuts nng's 64 B stream rate several times).  Messages are copied in and
 * out of a caller buffer (zmq_send/zmq_recv, nng_send/nng_recv without
 * NNG_FLAG_ALLOC), as ipcx's copy API does.
 *
 * zmq-tcp is also measured with CURVE ("variant":"curve": A the CURVE server,
 * B its client, keys made before the fork), beside ipcx's tcp CURVE rows,
 * and for CURVE handshakes per second against one listener (a child
 * process runs that loop, so libzmq's threads never start here).
 *
 * Both libraries start threads when a context/socket is created, so the
 * contexts are created in setup(), after the harness forked; the parent
 * never touches either library.  Side A binds (TCP on port 0, the kernel
 * picks a free one) and hands the resolved endpoint to side B over the
 * harness's control channel.  IPC endpoints are unique socket files under
 * $TMPDIR (or /tmp), removed by A's teardown and again by the parent's
 * cleanup; both libraries' ipc transports are measured on a filesystem path,
 * the way applications use them.
 */
#if defined(IPCX_BENCH_HAVE_ZMQ) || defined(IPCX_BENCH_HAVE_NNG)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"

#define PEER_TIMEOUT_MS 10000 /* a send/recv that waits longer failed */
#define PEER_QUEUE_MSGS 1000  /* zmq's default high-water mark, given to nng too */

struct peer_state {
    int tcp;        /* 0: ipc, 1: tcp */
    size_t size;    /* message size */
    char url[128];  /* the endpoint side B connects to */
    char path[96];  /* ipc: the socket file */
    void *ctx;      /* zmq context */
    void *zsock;    /* zmq socket */
    uint32_t nsock; /* nng socket id */
    int curve;      /* zmq CURVE: A the server, B the client (keys made before the fork) */
    char spub[41], ssec[41], cpub[41], csec[41];
    unsigned char *buf;
};

static int peer_prepare(void *arg)
{
    static unsigned counter;
    struct peer_state *s = arg;
    s->path[0] = '\0';
    s->buf = NULL;
    if (s->tcp)
        return 0;
    /* $TMPDIR when the path fits a sockaddr_un (108 bytes), else /tmp. */
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] != '/' || strlen(dir) > 60)
        dir = "/tmp";
    snprintf(s->path, sizeof(s->path), "%s/ipcx-bench-%d-%u.sock", dir, (int)getpid(), counter++);
    return 0;
}

static void peer_cleanup(void *arg)
{
    struct peer_state *s = arg;
    if (s->path[0] != '\0')
        unlink(s->path);
}

static int peer_buf(struct peer_state *s)
{
    s->buf = calloc(1, s->size);
    return s->buf == NULL ? -ENOMEM : 0;
}

static void peer_free(struct peer_state *s, enum bench_side side)
{
    free(s->buf);
    s->buf = NULL;
    if (side == BENCH_SIDE_A)
        peer_cleanup(s);
}

/* Side A sends the endpoint it bound, side B waits for it. */
static int swap_url(struct peer_state *s, enum bench_side side, int ctl)
{
    if (side == BENCH_SIDE_A)
        return bench_ctl_send(ctl, s->url, sizeof(s->url));
    int rc = bench_ctl_recv(ctl, s->url, sizeof(s->url));
    s->url[sizeof(s->url) - 1] = '\0';
    return rc;
}

/* ------------------------------------------------------------------ libzmq */
#ifdef IPCX_BENCH_HAVE_ZMQ
#include <zmq.h>

static int zmq_err(void)
{
    return errno == EAGAIN ? -ETIMEDOUT : -(errno ? errno : EIO);
}

static int zmq_bind_side(struct peer_state *s)
{
    if (s->tcp) {
        size_t len = sizeof(s->url);
        if (zmq_bind(s->zsock, "tcp://127.0.0.1:*") < 0 ||
            zmq_getsockopt(s->zsock, ZMQ_LAST_ENDPOINT, s->url, &len) < 0)
            return zmq_err();
        return 0;
    }
    snprintf(s->url, sizeof(s->url), "ipc://%s", s->path);
    return zmq_bind(s->zsock, s->url) < 0 ? zmq_err() : 0;
}

/* CURVE options: the server's secret key, or the client's pair and the
 * server's public key. */
static int zmq_curve_opts(void *z, int server, const struct peer_state *s)
{
    int one = 1;
    if (server)
        return zmq_setsockopt(z, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
                       zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, s->ssec, 40) < 0
                   ? -1
                   : 0;
    return zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, s->csec, 40) < 0 ||
                   zmq_setsockopt(z, ZMQ_CURVE_PUBLICKEY, s->cpub, 40) < 0 ||
                   zmq_setsockopt(z, ZMQ_CURVE_SERVERKEY, s->spub, 40) < 0
               ? -1
               : 0;
}

static int zmq_setup(void *arg, enum bench_side side, int ctl)
{
    struct peer_state *s = arg;
    int ms = PEER_TIMEOUT_MS, rc = peer_buf(s);
    if (rc < 0)
        return rc;
    s->ctx = zmq_ctx_new();
    s->zsock = s->ctx ? zmq_socket(s->ctx, ZMQ_PAIR) : NULL;
    if (s->zsock == NULL)
        return zmq_err();
    zmq_setsockopt(s->zsock, ZMQ_RCVTIMEO, &ms, sizeof(ms));
    zmq_setsockopt(s->zsock, ZMQ_SNDTIMEO, &ms, sizeof(ms));
    if (s->curve && zmq_curve_opts(s->zsock, side == BENCH_SIDE_A, s) < 0)
        return zmq_err();
    if (side == BENCH_SIDE_A && (rc = zmq_bind_side(s)) < 0)
        return rc;
    if ((rc = swap_url(s, side, ctl)) < 0)
        return rc;
    if (side == BENCH_SIDE_B && zmq_connect(s->zsock, s->url) < 0)
        return zmq_err();
    return 0;
}

static int zmq_send_msg(void *arg, enum bench_flag flag)
{
    struct peer_state *s = arg;
    bench_msg_set_flag(s->buf, flag);
    while (zmq_send(s->zsock, s->buf, s->size, 0) < 0) {
        if (errno != EINTR)
            return zmq_err();
    }
    return 0;
}

static int zmq_recv_msg(void *arg)
{
    struct peer_state *s = arg;
    int n;
    while ((n = zmq_recv(s->zsock, s->buf, s->size, 0)) < 0) {
        if (errno != EINTR)
            return zmq_err();
    }
    return (size_t)n == s->size ? bench_msg_flag(s->buf) : -EPROTO;
}

static void zmq_teardown(void *arg, enum bench_side side)
{
    struct peer_state *s = arg;
    int zero = 0;
    if (s->zsock) {
        /* Everything the protocol needs was delivered; don't linger. */
        zmq_setsockopt(s->zsock, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_close(s->zsock);
    }
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    s->zsock = s->ctx = NULL;
    peer_free(s, side);
}

static const bench_ops zmq_ops = {
    .prepare = peer_prepare,
    .setup = zmq_setup,
    .send = zmq_send_msg,
    .recv = zmq_recv_msg,
    .teardown = zmq_teardown,
    .cleanup = peer_cleanup,
};
#endif /* IPCX_BENCH_HAVE_ZMQ */

/* ------------------------------------------------------------------ libnng */
#ifdef IPCX_BENCH_HAVE_NNG
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

static int nng_errno(int rv)
{
    if (rv == 0)
        return 0;
    if (rv == NNG_ETIMEDOUT)
        return -ETIMEDOUT;
    if (rv == NNG_ECLOSED || rv == NNG_ECONNSHUT || rv == NNG_ECONNRESET)
        return -EPIPE;
    if (rv == NNG_ENOMEM)
        return -ENOMEM;
    if (rv & NNG_ESYSERR)
        return -(rv & ~NNG_ESYSERR);
    return -EIO;
}

static int nng_listen_side(struct peer_state *s, nng_socket sock)
{
    int rv, port = 0;
    if (!s->tcp) {
        snprintf(s->url, sizeof(s->url), "ipc://%s", s->path);
        return nng_errno(nng_listen(sock, s->url, NULL, 0));
    }
    nng_listener l;
    if ((rv = nng_listen(sock, "tcp://127.0.0.1:0", &l, 0)) != 0 ||
        (rv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port)) != 0)
        return nng_errno(rv);
    snprintf(s->url, sizeof(s->url), "tcp://127.0.0.1:%d", port);
    return 0;
}

static int nng_setup(void *arg, enum bench_side side, int ctl)
{
    struct peer_state *s = arg;
    nng_socket sock;
    int rv, rc = peer_buf(s);
    if (rc < 0)
        return rc;
    if ((rv = nng_pair1_open(&sock)) != 0)
        return nng_errno(rv);
    s->nsock = sock.id;
    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, PEER_TIMEOUT_MS);
    nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, PEER_TIMEOUT_MS);
    nng_socket_set_int(sock, NNG_OPT_SENDBUF, PEER_QUEUE_MSGS);
    nng_socket_set_int(sock, NNG_OPT_RECVBUF, PEER_QUEUE_MSGS);
    if (side == BENCH_SIDE_A && (rc = nng_listen_side(s, sock)) < 0)
        return rc;
    if ((rc = swap_url(s, side, ctl)) < 0)
        return rc;
    if (side == BENCH_SIDE_B && (rv = nng_dial(sock, s->url, NULL, 0)) != 0)
        return nng_errno(rv);
    return 0;
}

static int nng_send_msg(void *arg, enum bench_flag flag)
{
    struct peer_state *s = arg;
    nng_socket sock = {.id = s->nsock};
    bench_msg_set_flag(s->buf, flag);
    int rv = nng_send(sock, s->buf, s->size, 0);
    return rv == 0 ? 0 : nng_errno(rv);
}

static int nng_recv_msg(void *arg)
{
    struct peer_state *s = arg;
    nng_socket sock = {.id = s->nsock};
    size_t n = s->size;
    int rv = nng_recv(sock, s->buf, &n, 0);
    if (rv != 0)
        return nng_errno(rv);
    return n == s->size ? bench_msg_flag(s->buf) : -EPROTO;
}

static void nng_teardown(void *arg, enum bench_side side)
{
    struct peer_state *s = arg;
    if (s->nsock != 0) {
        nng_socket sock = {.id = s->nsock};
        nng_close(sock);
    }
    s->nsock = 0;
    peer_free(s, side);
}

static const bench_ops nng_ops = {
    .prepare = peer_prepare,
    .setup = nng_setup,
    .send = nng_send_msg,
    .recv = nng_recv_msg,
    .teardown = nng_teardown,
    .cleanup = peer_cleanup,
};
#endif /* IPCX_BENCH_HAVE_NNG */

/* ------------------------------------------------------------------- suite */

/* pingpong 64 B, stream 64 B and 64 KiB for one peer transport. */
static void peer_cases(bench_ctx *ctx, const char *transport, const bench_ops *ops, int tcp)
{
    static const size_t stream_sizes[] = {64, 65536};
    struct peer_state st = {.tcp = tcp, .size = 64};
    bench_case c = {.transport = transport, .size = 64, .wait = "block"};
    bench_run_pingpong(ctx, &c, ops, &st);
    for (size_t i = 0; i < 2; i++) {
        c.size = st.size = stream_sizes[i];
        bench_run_stream(ctx, &c, ops, &st);
    }
}

#ifdef IPCX_BENCH_HAVE_ZMQ
/* zmq-tcp with CURVE: the same three cases, "variant":"curve". */
static void zmq_curve_cases(bench_ctx *ctx)
{
    static const bench_row curve = {.api = "copy", .variant = "curve"};
    struct peer_state st = {.tcp = 1, .size = 64, .curve = 1};
    if (zmq_curve_keypair(st.spub, st.ssec) != 0 || zmq_curve_keypair(st.cpub, st.csec) != 0) {
        bench_fail(ctx, "zmq-tcp", "pingpong", "libzmq without CURVE");
        return;
    }
    bench_case c = {.transport = "zmq-tcp", .size = 64, .wait = "block", .row = &curve};
    bench_run_pingpong(ctx, &c, &zmq_ops, &st);
    static const size_t stream_sizes[] = {64, 65536};
    for (size_t i = 0; i < 2; i++) {
        c.size = st.size = stream_sizes[i];
        bench_run_stream(ctx, &c, &zmq_ops, &st);
    }
}

/* Wait for the handshake of @z's connection (its monitor @mon). */
static int zmq_wait_handshake(void *mon)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) < 0)
            return -ETIMEDOUT;
        uint16_t ev = 0;
        if (zmq_msg_size(&m) >= 2)
            memcpy(&ev, zmq_msg_data(&m), 2);
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        (void)zmq_msg_recv(&m, mon, 0); /* the endpoint */
        zmq_msg_close(&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            return 0;
    }
}

/* libzmq's CURVE handshakes per second, as sock_handshakes measures
 * ipcx's: a PUSH client connects to one PULL listener, waits for its
 * handshake (a socket monitor says when), closes; again. */
static double zmq_handshakes(void *arg)
{
    const bench_hs_arg *a = arg;
    struct peer_state st = {0};
    if (zmq_curve_keypair(st.spub, st.ssec) != 0 || zmq_curve_keypair(st.cpub, st.csec) != 0)
        return -ENOTSUP;
    void *ctx = zmq_ctx_new();
    void *l = zmq_socket(ctx, ZMQ_PULL);
    char url[128];
    size_t len = sizeof(url);
    int ms = PEER_TIMEOUT_MS, zero = 0;
    if (zmq_curve_opts(l, 1, &st) < 0 || zmq_bind(l, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt(l, ZMQ_LAST_ENDPOINT, url, &len) < 0)
        return -EIO;
    uint64_t start = bench_now_ns(), n = 0;
    int rc = 0;
    while (rc == 0 && bench_now_ns() - start < a->budget_ns) {
        void *c = zmq_socket(ctx, ZMQ_PUSH);
        char mon_url[64];
        snprintf(mon_url, sizeof(mon_url), "inproc://hs-%llu", (unsigned long long)n);
        zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
        void *mon = NULL;
        if (zmq_curve_opts(c, 0, &st) < 0 ||
            zmq_socket_monitor(c, mon_url, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0) {
            rc = -EIO;
        } else {
            mon = zmq_socket(ctx, ZMQ_PAIR);
            zmq_setsockopt(mon, ZMQ_RCVTIMEO, &ms, sizeof(ms));
            if (zmq_connect(mon, mon_url) < 0 || zmq_connect(c, url) < 0)
                rc = -EIO;
            else
                rc = zmq_wait_handshake(mon);
        }
        zmq_socket_monitor(c, NULL, 0);
        if (mon != NULL)
            zmq_close(mon);
        zmq_close(c);
        n++;
    }
    double secs = (double)(bench_now_ns() - start) / 1e9;
    zmq_setsockopt(l, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(l);
    zmq_ctx_term(ctx);
    return rc != 0 ? (double)rc : (double)n / secs;
}
#endif

void bench_suite_peers(bench_ctx *ctx)
{
#ifdef IPCX_BENCH_HAVE_ZMQ
    peer_cases(ctx, "zmq-ipc", &zmq_ops, 0);
    peer_cases(ctx, "zmq-tcp", &zmq_ops, 1);
    zmq_curve_cases(ctx);
    bench_run_handshakes(ctx, "zmq-tcp", zmq_handshakes);
#endif
#ifdef IPCX_BENCH_HAVE_NNG
    peer_cases(ctx, "nng-ipc", &nng_ops, 0);
    peer_cases(ctx, "nng-tcp", &nng_ops, 1);
#endif
}
#endif /* IPCX_BENCH_HAVE_ZMQ || IPCX_BENCH_HAVE_NNG */
