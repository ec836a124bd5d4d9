// SPDX-License-Identifier: MIT
/*
 * socket interop, the edges: ipcx sockets against real libzmq sockets in
 * the situations the pattern matrix (test_socket_interop.c) does not
 * reach.
 *
 *   stream_*       1,000 messages of random shape each way (1-4 parts,
 *                  sizes around ZMTP's 255/256 length switch and ipcx's
 *                  64 KiB read-ahead, up to 300 KiB), some batched; also
 *                  with a 4 KiB receive buffer
 *   hb_*           libzmq heartbeats (ZMQ_HEARTBEAT_IVL) against an idle
 *                  ipcx socket, and ipcx's against libzmq; a peer stopped
 *                  with SIGSTOP is dropped after the timeout (ipcx's, or
 *                  the TTL in libzmq's PINGs) and comes back
 *   maxmsg_*       a message over ipcx's IPCX_OPT_MAX_MSG_SIZE from libzmq
 *                  (exactly the size passes), and over libzmq's
 *                  ZMQ_MAXMSGSIZE from ipcx: the connection is dropped and
 *                  the conversation goes on after the reconnect
 *   mismatch_*     incompatible socket types: the handshake fails, with a
 *                  reason, and nothing is delivered
 *   rr_push, fq_pull, router3   three libzmq peers on one ipcx socket
 *   sub_two_pubs   ipcx SUB dialling two libzmq PUBs (tcp and ipc)
 *   slow_subscriber  ipcx PUB, two libzmq SUBs, one stopped: the other
 *                  keeps up, the stopped one's losses are all counted
 *   correlate_*    REQ_CORRELATE + REQ_RELAXED each way
 *   req_peer_dies_poll, rep_multi_hop, dealer_id255   a REQ's REP dies
 *                  under ipcx_poll; a two-hop envelope through REP; the
 *                  longest identity both ways
 *   ipv6           tcp://[::1]
 *   reconnect      a dialled libzmq listener goes away; what ipcx sends
 *                  meanwhile reaches the next listener on the same path
 *   fd_level       ipcx_socket_fd() is level-triggered with a libzmq peer;
 *                  ipcx_poll sleeps while a message it was not asked
 *                  about waits
 *   pair_second    a second libzmq PAIR is refused; the first carries on
 *
 * As in the matrix, the libzmq sockets live in helper processes (this
 * binary with --helper) and every wait is bounded.  Three of these found
 * socket bugs, fixed since (SO_RCVBUF after the TCP handshake, a REQ's
 * lost-peer news eaten by ipcx_poll, ipcx_poll spinning on an unwanted
 * ready state).  Run one test with its name as the argument.
 */
#include "zmq_side.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <zmq.h>

#define MAXPEERS 4

/* ------------------------------------------------------------ random messages */

/* A message of random shape, its bytes taken from g_big: the same in both
 * processes for the same state. */
static void rand_msg(uint64_t *st, msgv *m)
{
    m->n = 0;
    size_t parts = 1 + tu_rand(st) % 4;
    for (size_t i = 0; i < parts; i++) {
        uint64_t r = tu_rand(st);
        size_t len;
        switch (r % 8) {
        case 0:
            len = 0;
            break;
        case 1:
            len = 1 + (r >> 8) % 16;
            break;
        case 2:
            len = 253 + (r >> 8) % 5; /* 253..257: the 1- to 8-byte length switch */
            break;
        case 3:
            len = (r >> 8) % 1000;
            break;
        case 4:
            len = (r >> 8) % 70000;
            break;
        case 5:
            len = 65530 + (r >> 8) % 12; /* around the 64 KiB read-ahead */
            break;
        case 6:
            len = (r >> 8) % 300000;
            break;
        default:
            len = 1 + (r >> 8) % 100;
            break;
        }
        size_t off = (r >> 24) % (BIG - len);
        mv_add(m, (part){g_big + off, len});
    }
}

#define STREAM_N 1000

static void stream_send(side *s, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < STREAM_N; i++) {
        msgv m;
        rand_msg(&st, &m);
        side_send(s, &m, (tu_rand(&st) % 3 == 0 && i + 1 < STREAM_N) ? SEND_BATCH : 0);
    }
}

static void stream_recv(side *s, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < STREAM_N; i++) {
        msgv m;
        rand_msg(&st, &m);
        (void)tu_rand(&st);
        rmsg r = {0};
        side_recv(s, &r);
        char what[64];
        snprintf(what, sizeof(what), "random message %d (seed %llu)", i, (unsigned long long)seed);
        expect_msg(&r, 0, &m, what);
        rmsg_free(&r);
    }
}

/* ------------------------------------------------------------ the helpers */

/* --helper <scenario> <zmq type> bind|connect <url> <rfd> <wfd> <extra> */

static void z_set_int(void *zs, int opt, int v)
{
    CHECK(zmq_setsockopt(zs, opt, &v, sizeof(v)) == 0, "zmq_setsockopt %d: %s", opt,
          zmq_strerror(errno));
}

static void z_recv_expect_str(side *s, const char *want)
{
    rmsg r = {0};
    side_recv(s, &r);
    CHECK(rmsg_is_str(&r, want), "libzmq got %zu parts (first %zu bytes), not \"%s\"", r.n,
          r.n ? r.len[0] : 0, want);
    rmsg_free(&r);
}

static void z_send_str(side *s, const char *str)
{
    msgv m = {0};
    mv_str(&m, str);
    side_send(s, &m, 0);
}

static void z_send_len(side *s, size_t len)
{
    msgv m = {0};
    mv_add(&m, (part){g_big, len});
    side_send(s, &m, 0);
}

static void z_recv_len(side *s, size_t len)
{
    msgv m = {0};
    mv_add(&m, (part){g_big, len});
    rmsg r = {0};
    side_recv(s, &r);
    expect_msg(&r, 0, &m, "sized message");
    rmsg_free(&r);
}

/* Options before bind/connect. */
static void helper_opts(const char *scn, void *zs, const char *extra)
{
    if (strcmp(scn, "hb_zmq") == 0) {
        z_set_int(zs, ZMQ_HEARTBEAT_IVL, 20);
        z_set_int(zs, ZMQ_HEARTBEAT_TIMEOUT, 150);
    } else if (strcmp(scn, "hb_zmq_ttl") == 0) {
        z_set_int(zs, ZMQ_HEARTBEAT_IVL, 20);
        z_set_int(zs, ZMQ_HEARTBEAT_TTL, 300); /* sent in tenths of a second: 3 */
    } else if (strcmp(scn, "maxmsg_out") == 0) {
        int64_t max = 1000;
        zmq_setsockopt(zs, ZMQ_MAXMSGSIZE, &max, sizeof(max));
    } else if (strcmp(scn, "correlate_zmq_req") == 0) {
        z_set_int(zs, ZMQ_REQ_CORRELATE, 1);
        z_set_int(zs, ZMQ_REQ_RELAXED, 1);
    } else if (strcmp(scn, "ipv6") == 0) {
        z_set_int(zs, ZMQ_IPV6, 1);
    } else if (strcmp(scn, "router3") == 0) {
        zmq_setsockopt(zs, ZMQ_ROUTING_ID, extra, strlen(extra));
    }
    z_set_int(zs, ZMQ_RECONNECT_IVL, 20);
}

static void helper_run(const char *scn, side *s, const char *extra)
{
    if (strncmp(scn, "stream", 6) == 0) {
        uint64_t seed = strtoull(extra, NULL, 10);
        stream_recv(s, seed);
        stream_send(s, seed + 1);
    } else if (strcmp(scn, "hb_zmq") == 0 || strcmp(scn, "hb_ipcx") == 0 ||
               strcmp(scn, "hb_zmq_ttl") == 0 || strcmp(scn, "ipv6") == 0) {
        z_recv_expect_str(s, "hello");
        side_signal(s, "connected");
        z_recv_expect_str(s, "after-idle");
        z_send_str(s, "ack");
    } else if (strcmp(scn, "maxmsg_in") == 0) {
        z_send_len(s, 1000); /* exactly the maximum: passes */
        if (strcmp(extra, "multi") == 0) {
            msgv m = {0};
            mv_add(&m, (part){g_big, 600});
            mv_add(&m, (part){g_big, 401}); /* 1001 together */
            side_send(s, &m, 0);
        } else {
            z_send_len(s, 1001);
        }
        CHECK(side_wait(s, "dropped", WAIT_MS), "no word from the test");
        z_send_str(s, "after");
    } else if (strcmp(scn, "maxmsg_out") == 0) {
        z_recv_len(s, 1000);
        if (strcmp(extra, "dial") == 0)
            z_recv_expect_str(s, "after");
    } else if (strncmp(scn, "mismatch", 8) == 0) {
        /* Nothing to do: the test watches its handshake fail. */
    } else if (strcmp(scn, "rr_push") == 0) {
        int resid = -1, last = -1;
        for (int i = 0; i < 100; i++) {
            rmsg r = {0};
            side_recv(s, &r);
            CHECK(r.n == 1 && r.len[0] == 4, "round-robin: odd message");
            int k = atoi((char *)r.data[0] + 1);
            if (resid < 0)
                resid = k % 3;
            CHECK(k % 3 == resid && k > last,
                  "round-robin: message %d after %d (this peer gets those = %d mod 3)", k, last,
                  resid);
            last = k;
            rmsg_free(&r);
        }
    } else if (strcmp(scn, "fq_pull") == 0) {
        for (int i = 0; i < 200; i++) {
            char b[32];
            snprintf(b, sizeof(b), "p%s-%03d", extra, i);
            z_send_str(s, b);
        }
    } else if (strcmp(scn, "router3") == 0) {
        z_send_str(s, "hi");
        for (int i = 0; i < 10; i++) {
            char b[300];
            snprintf(b, sizeof(b), "for %s #%d", extra, i);
            z_recv_expect_str(s, b);
        }
    } else if (strcmp(scn, "correlate_ipcx_req") == 0) {
        /* A libzmq REP: both requests are answered; ipcx must deliver the
         * second reply only. */
        z_recv_expect_str(s, "q1");
        z_send_str(s, "r1");
        z_recv_expect_str(s, "q2");
        z_send_str(s, "r2");
    } else if (strcmp(scn, "correlate_zmq_req") == 0) {
        z_send_str(s, "q1");
        z_send_str(s, "q2"); /* relaxed: before the reply to q1 */
        z_recv_expect_str(s, "r2");
    } else if (strcmp(scn, "reconnect") == 0) {
        int n = atoi(extra);
        for (int i = 0; i < 3; i++) {
            char b[32];
            snprintf(b, sizeof(b), "m%d", n * 3 + i);
            z_recv_expect_str(s, b);
        }
    } else if (strcmp(scn, "fd_level") == 0) {
        for (int i = 0; i < 5; i++)
            z_send_str(s, "five");
        CHECK(side_wait(s, "one-more", WAIT_MS), "no word from the test");
        z_send_str(s, "six");
    } else if (strcmp(scn, "slow_sub") == 0) {
        /* fast: every message, in order, an "ack" after each hundred;
         * slow: stopped by the test meanwhile, then whatever is left,
         * still in order, and how many. */
        bool fast = strcmp(extra, "fast") == 0;
        CHECK(zmq_setsockopt(s->zs, ZMQ_SUBSCRIBE, "", 0) == 0, "subscribe");
        rmsg r = {0};
        side_recv(s, &r);
        CHECK(rmsg_is_str(&r, "S-sync"), "first message not S-sync");
        rmsg_free(&r);
        side_signal(s, "synced");
        int last = -1, got = 0;
        if (!fast)
            z_set_int(s->zs, ZMQ_RCVTIMEO, 500);
        for (;;) {
            zmq_msg_t zm;
            zmq_msg_init(&zm);
            int rc = zmq_msg_recv(&zm, s->zs, 0);
            if (rc < 0 && !fast)
                break; /* the rest was dropped for us */
            CHECK(rc >= 0, "fast subscriber: recv after %d: %s", got, zmq_strerror(errno));
            const char *d = zmq_msg_data(&zm);
            if (rc == 6 && memcmp(d, "S-sync", 6) == 0) {
                zmq_msg_close(&zm);
                continue;
            }
            CHECK(rc == 4096, "message of %d bytes", rc);
            int k = atoi(d);
            zmq_msg_close(&zm);
            CHECK(k > last && (!fast || k == last + 1), "message %d after %d", k, last);
            last = k;
            got++;
            if (fast && got % 100 == 0)
                side_signal(s, "ack");
            if (fast && got == 5000)
                break;
        }
        char line[32];
        snprintf(line, sizeof(line), "got %d", got);
        side_signal(s, line);
    } else if (strcmp(scn, "two_pubs") == 0) {
        char sync[32];
        snprintf(sync, sizeof(sync), "A-sync-%s", extra);
        int64_t end = now_ns() + WAIT_NS;
        do {
            z_send_str(s, sync);
            CHECK(now_ns() < end, "the subscriber never got %s", sync);
        } while (!side_wait(s, "synced", 20));
        for (int n = 0; n < 100; n++) {
            char b[32];
            snprintf(b, sizeof(b), "A-%s-%03d", extra, n);
            z_send_str(s, b);
            b[0] = 'B'; /* not subscribed */
            z_send_str(s, b);
        }
        snprintf(sync, sizeof(sync), "A-end-%s", extra);
        z_send_str(s, sync);
    } else if (strcmp(scn, "rep_dies") == 0) {
        z_recv_expect_str(s, "q");
        _exit(0); /* gone without replying */
    } else if (strcmp(scn, "multi_hop") == 0) {
        /* A DEALER speaking for two hops of routers: REP must hand the
         * whole envelope back. */
        msgv m = {0};
        mv_str(&m, "hop1");
        mv_str(&m, "hop2");
        mv_str(&m, "");
        mv_str(&m, "body");
        side_send(s, &m, 0);
        m.n = 3;
        mv_str(&m, "answer");
        rmsg r = {0};
        side_recv(s, &r);
        expect_msg(&r, 0, &m, "reply through two hops");
        rmsg_free(&r);
    } else if (strcmp(scn, "router_id255") == 0) {
        rmsg r = {0};
        side_recv(s, &r);
        CHECK(r.n == 2 && r.len[0] == 255 && part_is(&r, 1, "hi", 2),
              "ROUTER got %zu parts, identity of %zu bytes", r.n, r.n ? r.len[0] : 0);
        for (size_t i = 0; i < 255; i++)
            CHECK(r.data[0][i] == (uint8_t)('a' + i % 26), "identity byte %zu", i);
        msgv m = {0};
        mv_add(&m, (part){r.data[0], 255});
        mv_str(&m, "back");
        side_send(s, &m, 0);
        rmsg_free(&r);
    } else if (strcmp(scn, "pair_second") == 0) {
        if (strcmp(extra, "first") == 0) {
            z_recv_expect_str(s, "to-first");
            CHECK(side_wait(s, "again", WAIT_MS), "no word from the test");
            z_recv_expect_str(s, "to-first-again");
            z_send_str(s, "from-first");
        }
    } else {
        CHECK(0, "unknown scenario %s", scn);
    }
}

static int run_helper(int argc, char **argv)
{
    zs_in_helper = 1;
    if (argc != 7)
        return 2;
    payload_init();
    const char *scn = argv[0];
    side s = {.rfd = atoi(argv[4]), .wfd = atoi(argv[5]), .ztype = atoi(argv[1])};
    void *ctx = zmq_ctx_new();
    s.zs = zmq_socket(ctx, s.ztype);
    CHECK(s.zs != NULL, "zmq_socket: %s", zmq_strerror(errno));
    z_set_int(s.zs, ZMQ_RCVTIMEO, WAIT_MS);
    z_set_int(s.zs, ZMQ_SNDTIMEO, WAIT_MS);
    helper_opts(scn, s.zs, argv[6]);
    if (strcmp(argv[2], "bind") == 0) {
        CHECK(zmq_bind(s.zs, argv[3]) == 0, "zmq_bind %s: %s", argv[3], zmq_strerror(errno));
        char ep[256], line[300];
        size_t len = sizeof(ep);
        CHECK(zmq_getsockopt(s.zs, ZMQ_LAST_ENDPOINT, ep, &len) == 0, "ZMQ_LAST_ENDPOINT");
        snprintf(line, sizeof(line), "ep %s", ep);
        side_signal(&s, line);
    } else {
        CHECK(zmq_connect(s.zs, argv[3]) == 0, "zmq_connect %s: %s", argv[3], zmq_strerror(errno));
    }
    helper_run(scn, &s, argv[6]);
    side_finish(&s);
    z_set_int(s.zs, ZMQ_LINGER, 0); /* everything is through: see test_socket_interop.c */
    zmq_close(s.zs);
    zmq_ctx_term(ctx);
    return 0;
}

/* ------------------------------------------------------------ the test side */

typedef struct peer {
    pid_t pid;
    int fds[4]; /* [0] from the helper, [3] to it; [1], [2] the helper's ends */
    char ep[256];
    side s;
} peer;

static struct {
    ipcx_socket *s;
    peer peers[MAXPEERS];
    char path[128];
    char name[64];
} g;

static int case_setup(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    for (int i = 0; i < MAXPEERS; i++) {
        g.peers[i].pid = -1;
        for (int k = 0; k < 4; k++)
            g.peers[i].fds[k] = -1;
    }
    tu_unique(g.name, sizeof(g.name), "ipcx-sie");
    snprintf(g.path, sizeof(g.path), "/tmp/%s.sock", g.name);
    return 0;
}

static void peer_kill(peer *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = -1;
    }
    for (int k = 0; k < 4; k++) {
        if (p->fds[k] >= 0)
            close(p->fds[k]);
        p->fds[k] = -1;
    }
}

static int case_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAXPEERS; i++)
        peer_kill(&g.peers[i]);
    ipcx_socket_close(g.s);
    g.s = NULL;
    unlink(g.path);
    return 0;
}

static ipcx_socket *open_ipcx(int pattern)
{
    assert_int_equal(ipcx_socket_open(pattern, &g.s), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, WAIT_NS), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_SEND_TIMEOUT, WAIT_NS), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECONNECT_IVL, 20 * 1000000LL), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECONNECT_IVL_MAX, 100 * 1000000LL), 0);
    return g.s;
}

/* Start a libzmq helper; with mode "bind", learn its endpoint. */
static peer *peer_start(int i, const char *scn, int ztype, const char *mode, const char *url,
                        const char *extra)
{
    peer *p = &g.peers[i];
    assert_int_equal(pipe(p->fds), 0);
    assert_int_equal(pipe(p->fds + 2), 0);
    fcntl(p->fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(p->fds[3], F_SETFD, FD_CLOEXEC);
    char t[16], rfd[16], wfd[16];
    snprintf(t, sizeof(t), "%d", ztype);
    snprintf(rfd, sizeof(rfd), "%d", p->fds[2]);
    snprintf(wfd, sizeof(wfd), "%d", p->fds[1]);
    p->pid = tu_spawn("--helper", scn, t, mode, url, rfd, wfd, extra, NULL);
    close(p->fds[1]);
    close(p->fds[2]);
    p->fds[1] = p->fds[2] = -1;
    p->s = (side){.is = g.s, .rfd = p->fds[0], .wfd = p->fds[3]};
    if (strcmp(mode, "bind") == 0) {
        char line[300];
        if (tu_line_read(p->fds[0], line, sizeof(line), WAIT_MS) < 4 ||
            strncmp(line, "ep ", 3) != 0)
            fail_msg("no endpoint from the libzmq helper");
        assert_true(snprintf(p->ep, sizeof(p->ep), "%s", line + 3) < (int)sizeof(p->ep));
    }
    return p;
}

/* ipcx listens on @url and a helper dials it. */
static peer *peer_dials_us(int i, const char *scn, int ztype, const char *url, const char *extra)
{
    if (i == 0)
        assert_int_equal(ipcx_listen(g.s, url), 0);
    char ep[256];
    assert_true(ipcx_socket_endpoint(g.s, 0, ep, sizeof(ep)) > 0);
    if (strncmp(ep, "unix://", 7) == 0) {
        char z[300];
        snprintf(z, sizeof(z), "ipc://%s", ep + 7);
        return peer_start(i, scn, ztype, "connect", z, extra);
    }
    return peer_start(i, scn, ztype, "connect", ep, extra);
}

/* A helper listens on @url and ipcx dials it. */
static peer *we_dial_peer(int i, const char *scn, int ztype, const char *url, const char *extra)
{
    peer *p = peer_start(i, scn, ztype, "bind", url, extra);
    assert_int_equal(ipcx_dial(g.s, p->ep), 0);
    return p;
}

static void peer_end(peer *p)
{
    side_finish(&p->s);
    int st = tu_wait(p->pid, WAIT_MS);
    p->pid = -1;
    assert_int_equal(st, 0);
}

static void ipc_url(char *buf, size_t cap)
{
    snprintf(buf, cap, "ipc://%s", g.path);
}

/* The next peer event of @type, others skipped; fails after WAIT_MS. */
static ipcx_event next_event(int type)
{
    int64_t end = now_ns() + WAIT_NS;
    for (;;) {
        ipcx_event ev;
        if (ipcx_socket_event(g.s, &ev) == 0) {
            if (ev.type == type)
                return ev;
            continue;
        }
        int64_t left = end - now_ns();
        if (left <= 0)
            fail_msg("no peer event %#x within %d ms", type, WAIT_MS);
        ipcx_pollitem it = {g.s, -1, IPCX_POLLEVENT, 0};
        assert_true(ipcx_poll(&it, 1, left) >= 0);
    }
}

static void send_str(const char *str)
{
    assert_int_equal(ipcx_send(g.s, str, strlen(str), 0), (int)strlen(str));
}

static void recv_str(const char *want)
{
    char buf[256];
    int rc = ipcx_recv(g.s, buf, sizeof(buf), 0);
    if (rc < 0)
        fail_msg("ipcx_recv, waiting for \"%s\": %s", want, ipcx_strerror(rc));
    assert_int_equal(rc, (int)strlen(want));
    assert_memory_equal(buf, want, (size_t)rc);
}

static ipcx_socket_stats stats(void)
{
    ipcx_socket_stats st;
    assert_int_equal(ipcx_socket_stats_get(g.s, &st), 0);
    return st;
}

/* ------------------------------------------------------------ stream */

static void stream_case(const char *url, bool ipcx_listens, int64_t recv_buffer)
{
    open_ipcx(IPCX_DEALER);
    if (recv_buffer)
        assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_BUFFER, recv_buffer), 0);
    uint64_t seed = tu_seed();
    char extra[32];
    snprintf(extra, sizeof(extra), "%llu", (unsigned long long)seed);
    peer *p = ipcx_listens ? peer_dials_us(0, "stream", ZMQ_DEALER, url, extra)
                           : we_dial_peer(0, "stream", ZMQ_DEALER, url, extra);
    stream_send(&p->s, seed);
    stream_recv(&p->s, seed + 1);
    peer_end(p);
}

static void test_stream_tcp(void **state)
{
    (void)state;
    stream_case("tcp://127.0.0.1:0", true, 0);
}

static void test_stream_ipc_small_buffer(void **state)
{
    (void)state;
    char url[200];
    ipc_url(url, sizeof(url));
    stream_case(url, false, 4096);
}

static void test_stream_tcp_small_buffer(void **state)
{
    (void)state;
    stream_case("tcp://127.0.0.1:*", false, 4096);
}

/* ------------------------------------------------------------ heartbeats */

/* Connect, idle in ipcx_recv and in ipcx_poll for 600 ms each (more than
 * four heartbeat timeouts), and check the connection survived. */
static void hb_case(const char *scn, bool ipcx_listens)
{
    open_ipcx(IPCX_DEALER);
    if (strcmp(scn, "hb_ipcx") == 0) {
        assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_HEARTBEAT_IVL, 20 * 1000000LL), 0);
        assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_HEARTBEAT_TIMEOUT, 150 * 1000000LL), 0);
        assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_HEARTBEAT_TTL, 1000 * 1000000LL), 0);
    }
    peer *p = ipcx_listens ? peer_dials_us(0, scn, ZMQ_DEALER, "tcp://127.0.0.1:0", "-")
                           : we_dial_peer(0, scn, ZMQ_DEALER, "tcp://127.0.0.1:*", "-");
    send_str("hello");
    assert_int_equal(side_wait(&p->s, "connected", WAIT_MS), 1);
    /* Idle inside a receive that times out, then inside ipcx_poll. */
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, 600 * 1000000LL), 0);
    char buf[16];
    assert_int_equal(ipcx_recv(g.s, buf, sizeof(buf), 0), -ETIMEDOUT);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, WAIT_NS), 0);
    assert_int_equal(side_wait(&p->s, "never", 600), 0);
    ipcx_socket_stats st = stats();
    assert_int_equal(st.disconnects, 0);
    assert_int_equal(st.connects, 1);
    send_str("after-idle");
    recv_str("ack");
    st = stats();
    assert_int_equal(st.disconnects, 0);
    peer_end(p);
}

static void test_hb_zmq_pings_idle_ipcx(void **state)
{
    (void)state;
    hb_case("hb_zmq", true);
}

static void test_hb_ipcx_pings_zmq(void **state)
{
    (void)state;
    hb_case("hb_ipcx", false);
}

/* ipcx heartbeats a libzmq peer stopped with SIGSTOP: the connection is
 * dropped after the timeout; after SIGCONT, ipcx dials again and the
 * conversation goes on. */
static void test_hb_ipcx_drops_stopped_zmq(void **state)
{
    (void)state;
    open_ipcx(IPCX_DEALER);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_HEARTBEAT_IVL, 20 * 1000000LL), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_HEARTBEAT_TIMEOUT, 100 * 1000000LL), 0);
    assert_int_equal(
        ipcx_socket_set(g.s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED), 0);
    peer *p = we_dial_peer(0, "hb_ipcx", ZMQ_DEALER, "tcp://127.0.0.1:*", "-");
    send_str("hello");
    assert_int_equal(side_wait(&p->s, "connected", WAIT_MS), 1);
    (void)next_event(IPCX_EV_CONNECTED);
    assert_int_equal(kill(p->pid, SIGSTOP), 0);
    ipcx_event ev = next_event(IPCX_EV_DISCONNECTED);
    print_message("# heartbeat timeout: err %d (%s), reason \"%s\"\n", ev.err,
                  ipcx_strerror(ev.err), ev.reason);
    assert_int_equal(kill(p->pid, SIGCONT), 0);
    (void)next_event(IPCX_EV_CONNECTED);
    send_str("after-idle");
    recv_str("ack");
    peer_end(p);
}

/* A libzmq peer that sends PINGs with a TTL (ZMQ_HEARTBEAT_TTL) and then
 * stops (SIGSTOP): ipcx, with no heartbeats of its own, gives up on it
 * once the TTL has passed. */
static void test_hb_zmq_ttl_drops_stopped(void **state)
{
    (void)state;
    open_ipcx(IPCX_DEALER);
    assert_int_equal(
        ipcx_socket_set(g.s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED), 0);
    peer *p = peer_dials_us(0, "hb_zmq_ttl", ZMQ_DEALER, "tcp://127.0.0.1:0", "-");
    send_str("hello");
    assert_int_equal(side_wait(&p->s, "connected", WAIT_MS), 1);
    (void)next_event(IPCX_EV_CONNECTED);
    /* Let a few PINGs (with their TTL) arrive, inside a receive. */
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, 100 * 1000000LL), 0);
    char buf[8];
    assert_int_equal(ipcx_recv(g.s, buf, sizeof(buf), 0), -ETIMEDOUT);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, WAIT_NS), 0);
    int64_t t0 = now_ns();
    assert_int_equal(kill(p->pid, SIGSTOP), 0);
    ipcx_event ev = next_event(IPCX_EV_DISCONNECTED);
    int64_t ms = (now_ns() - t0) / 1000000;
    print_message("# TTL 0.3 s: dropped after %lld ms: err %d, reason \"%s\"\n", (long long)ms,
                  ev.err, ev.reason);
    assert_true(ms >= 250 && ms < 2000);
    assert_int_equal(kill(p->pid, SIGCONT), 0);
    (void)next_event(IPCX_EV_CONNECTED); /* libzmq dials again */
    send_str("after-idle");
    recv_str("ack");
    peer_end(p);
}

/* ------------------------------------------------------------ sizes */

static void maxmsg_in_case(bool ipcx_listens, const char *extra)
{
    open_ipcx(IPCX_PULL);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_MAX_MSG_SIZE, 1000), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_EVENTS, IPCX_EV_DISCONNECTED), 0);
    char url[200];
    ipc_url(url, sizeof(url));
    peer *p = ipcx_listens ? peer_dials_us(0, "maxmsg_in", ZMQ_PUSH, url, extra)
                           : we_dial_peer(0, "maxmsg_in", ZMQ_PUSH, url, extra);
    uint8_t *buf = malloc(2000);
    assert_non_null(buf);
    assert_int_equal(ipcx_recv(g.s, buf, 2000, 0), 1000);
    assert_memory_equal(buf, g_big, 1000);
    /* ipcx decodes lazily: the next receive finds the oversize message,
     * drops its sender and then finds nothing more (the helper sends
     * "after" only once it hears of the drop). */
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, 300 * 1000000LL), 0);
    assert_int_equal(ipcx_recv(g.s, buf, 2000, 0), -ETIMEDOUT);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, WAIT_NS), 0);
    ipcx_event ev = next_event(IPCX_EV_DISCONNECTED);
    print_message("# over IPCX_OPT_MAX_MSG_SIZE: err %d (%s), reason \"%s\"\n", ev.err,
                  ipcx_strerror(ev.err), ev.reason);
    assert_int_equal(ev.err, -EMSGSIZE);
    side_signal(&p->s, "dropped");
    int rc = ipcx_recv(g.s, buf, 2000, 0);
    free(buf);
    assert_int_equal(rc, 5); /* "after", over the new connection */
    peer_end(p);
}

static void test_maxmsg_in_listen(void **state)
{
    (void)state;
    maxmsg_in_case(true, "single");
}

static void test_maxmsg_in_dial_multipart(void **state)
{
    (void)state;
    maxmsg_in_case(false, "multi");
}

static void maxmsg_out_case(bool ipcx_listens)
{
    open_ipcx(IPCX_PUSH);
    assert_int_equal(
        ipcx_socket_set(g.s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED), 0);
    peer *p = ipcx_listens ? peer_dials_us(0, "maxmsg_out", ZMQ_PULL, "tcp://127.0.0.1:0", "listen")
                           : we_dial_peer(0, "maxmsg_out", ZMQ_PULL, "tcp://127.0.0.1:*", "dial");
    (void)next_event(IPCX_EV_CONNECTED);
    assert_int_equal(ipcx_send(g.s, g_big, 1000, 0), 1000);
    assert_int_equal(ipcx_send(g.s, g_big, 1001, 0), 1001); /* libzmq hangs up on it */
    (void)next_event(IPCX_EV_DISCONNECTED);
    if (ipcx_listens) {
        /* libzmq's dialling side does not reconnect after a protocol error
         * (session_base_t::engine_error terminates the session): the
         * conversation ends here. */
        peer_end(p);
        return;
    }
    (void)next_event(IPCX_EV_CONNECTED); /* ipcx dials again */
    send_str("after");
    peer_end(p);
}

static void test_maxmsg_out_listen(void **state)
{
    (void)state;
    maxmsg_out_case(true);
}

static void test_maxmsg_out_dial(void **state)
{
    (void)state;
    maxmsg_out_case(false);
}

/* ------------------------------------------------------------ mismatch */

static void mismatch_case(int ours, int theirs, bool ipcx_listens)
{
    open_ipcx(ours);
    assert_int_equal(
        ipcx_socket_set(g.s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED | IPCX_EV_HANDSHAKE_FAILED), 0);
    peer *p = ipcx_listens ? peer_dials_us(0, "mismatch", theirs, "tcp://127.0.0.1:0", "-")
                           : we_dial_peer(0, "mismatch", theirs, "tcp://127.0.0.1:*", "-");
    ipcx_event ev = next_event(IPCX_EV_HANDSHAKE_FAILED);
    print_message("# mismatch: err %d (%s), reason \"%s\"\n", ev.err, ipcx_strerror(ev.err),
                  ev.reason);
    assert_true(ev.err < 0);
    assert_true(ev.reason[0] != '\0');
    ipcx_socket_stats st = stats();
    assert_int_equal(st.connects, 0);
    assert_int_equal(st.peers, 0);
    peer_end(p);
}

static void test_mismatch_pull_pull(void **state)
{
    (void)state;
    mismatch_case(IPCX_PULL, ZMQ_PULL, true);
}

static void test_mismatch_push_pub(void **state)
{
    (void)state;
    mismatch_case(IPCX_PUSH, ZMQ_PUB, false);
}

static void test_mismatch_rep_rep(void **state)
{
    (void)state;
    mismatch_case(IPCX_REP, ZMQ_REP, true);
}

/* ------------------------------------------------------------ three peers */

static void wait_peers(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        (void)next_event(IPCX_EV_CONNECTED);
    assert_int_equal(stats().peers, n);
}

/* ipcx PUSH hands out 300 messages to three libzmq PULLs: exactly
 * round-robin, each gets every third, in order. */
static void test_rr_push(void **state)
{
    (void)state;
    open_ipcx(IPCX_PUSH);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED), 0);
    for (int i = 0; i < 3; i++)
        peer_dials_us(i, "rr_push", ZMQ_PULL, "tcp://127.0.0.1:0", "-");
    wait_peers(3);
    for (int k = 0; k < 300; k++) {
        char b[8];
        snprintf(b, sizeof(b), "m%03d", k);
        send_str(b);
    }
    for (int i = 0; i < 3; i++)
        peer_end(&g.peers[i]);
}

/* ipcx PULL takes 200 messages from each of three libzmq PUSHes: all of
 * them, each peer's in order. */
static void test_fq_pull(void **state)
{
    (void)state;
    open_ipcx(IPCX_PULL);
    char url[200];
    ipc_url(url, sizeof(url));
    for (int i = 0; i < 3; i++) {
        char id[4];
        snprintf(id, sizeof(id), "%d", i);
        peer_dials_us(i, "fq_pull", ZMQ_PUSH, url, id);
    }
    int next[3] = {0, 0, 0};
    for (int k = 0; k < 600; k++) {
        char buf[32];
        int rc = ipcx_recv(g.s, buf, sizeof(buf) - 1, 0);
        if (rc < 0)
            fail_msg("ipcx_recv after %d messages: %s", k, ipcx_strerror(rc));
        buf[rc] = '\0';
        int who = buf[1] - '0', n = atoi(buf + 3);
        assert_true(who >= 0 && who < 3);
        if (n != next[who])
            fail_msg("from peer %d: message %d, expected %d", who, n, next[who]);
        next[who]++;
    }
    for (int i = 0; i < 3; i++)
        peer_end(&g.peers[i]);
}

/* ipcx ROUTER with three libzmq DEALERs, each with its identity: replies
 * routed by identity reach the right one. */
static void test_router3(void **state)
{
    (void)state;
    open_ipcx(IPCX_ROUTER);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_ROUTER_MANDATORY, 1), 0);
    static char long_id[256];
    for (size_t i = 0; i < 255; i++)
        long_id[i] = (char)('A' + i % 26); /* the longest identity ZMTP carries */
    const char *const ids[] = {"dealer-a", "dealer-b", long_id};
    for (int i = 0; i < 3; i++)
        peer_dials_us(i, "router3", ZMQ_DEALER, "tcp://127.0.0.1:0", ids[i]);
    bool seen[3] = {false, false, false};
    for (int k = 0; k < 3; k++) {
        char id[256], body[16];
        int n = ipcx_recv(g.s, id, sizeof(id), 0);
        assert_true(n > 0);
        int64_t more = 0;
        ipcx_socket_get(g.s, IPCX_OPT_RECV_MORE, &more);
        assert_int_equal(more, 1);
        assert_int_equal(ipcx_recv(g.s, body, sizeof(body), 0), 2);
        assert_memory_equal(body, "hi", 2);
        int who = -1;
        for (int i = 0; i < 3; i++)
            if ((size_t)n == strlen(ids[i]) && memcmp(id, ids[i], (size_t)n) == 0)
                who = i;
        assert_true(who >= 0 && !seen[who]);
        seen[who] = true;
    }
    for (int k = 0; k < 30; k++) {
        const char *id = ids[k % 3];
        char b[300];
        snprintf(b, sizeof(b), "for %s #%d", id, k / 3);
        assert_int_equal(ipcx_send(g.s, id, strlen(id), IPCX_MORE), (int)strlen(id));
        send_str(b);
    }
    assert_int_equal(ipcx_send(g.s, "nobody", 6, IPCX_MORE), 6);
    assert_int_equal(ipcx_send(g.s, "x", 1, 0), -EHOSTUNREACH);
    for (int i = 0; i < 3; i++)
        peer_end(&g.peers[i]);
}

/* ipcx PUB with two libzmq SUBs, one stopped (SIGSTOP): the other gets
 * every message at its own pace; the stopped one loses what goes past its
 * high-water mark, and every loss is counted: what it receives after
 * SIGCONT plus the drops is exactly what was published. */
static int got_count(peer *p)
{
    char line[32];
    int n = tu_line_read(p->s.rfd, line, sizeof(line), 2 * WAIT_MS);
    assert_true(n > 4 && strncmp(line, "got ", 4) == 0);
    return atoi(line + 4);
}

static void test_slow_subscriber(void **state)
{
    (void)state;
    open_ipcx(IPCX_PUB);
    peer *fast = peer_dials_us(0, "slow_sub", ZMQ_SUB, "tcp://127.0.0.1:0", "fast");
    peer *slow = peer_dials_us(1, "slow_sub", ZMQ_SUB, "tcp://127.0.0.1:0", "slow");
    msgv sync = {0};
    mv_str(&sync, "S-sync");
    for (int i = 0; i < 2; i++) {
        peer *p = i == 0 ? fast : slow;
        int64_t end = now_ns() + WAIT_NS;
        do {
            side_send(&p->s, &sync, 0);
            assert_true(now_ns() < end);
        } while (!side_wait(&p->s, "synced", 20));
    }
    assert_int_equal(kill(slow->pid, SIGSTOP), 0);
    char *msg = malloc(4096);
    assert_non_null(msg);
    memset(msg, 'm', 4096);
    for (int k = 0; k < 5000; k++) {
        snprintf(msg, 8, "%06d", k);
        assert_int_equal(ipcx_send(g.s, msg, 4096, 0), 4096);
        if ((k + 1) % 100 == 0)
            assert_int_equal(side_wait(&fast->s, "ack", WAIT_MS), 1);
    }
    free(msg);
    assert_int_equal(got_count(fast), 5000);
    ipcx_socket_stats st = stats();
    assert_int_equal(kill(slow->pid, SIGCONT), 0);
    int slow_got = got_count(slow);
    print_message("# stopped subscriber: %d received, %llu dropped\n", slow_got,
                  (unsigned long long)st.drops);
    assert_true(st.drops > 0);
    assert_int_equal((uint64_t)slow_got + st.drops, 5000);
    peer_end(fast);
    peer_end(slow);
}

/* ipcx SUB dialling two libzmq PUBs: its subscription reaches both, and
 * it takes from both, each publisher's messages in order. */
static void test_sub_two_pubs(void **state)
{
    (void)state;
    open_ipcx(IPCX_SUB);
    assert_int_equal(ipcx_socket_set_bytes(g.s, IPCX_OPT_SUBSCRIBE, "A", 1), 0);
    char url[200];
    ipc_url(url, sizeof(url));
    peer *p[2];
    p[0] = we_dial_peer(0, "two_pubs", ZMQ_PUB, "tcp://127.0.0.1:*", "0");
    p[1] = we_dial_peer(1, "two_pubs", ZMQ_PUB, url, "1");
    int next[2] = {0, 0};
    bool synced[2] = {false, false}, ended[2] = {false, false};
    while (!ended[0] || !ended[1]) {
        char buf[32];
        int rc = ipcx_recv(g.s, buf, sizeof(buf) - 1, 0);
        if (rc < 0)
            fail_msg("ipcx_recv: %s", ipcx_strerror(rc));
        buf[rc] = '\0';
        assert_true(buf[0] == 'A');
        int k = buf[rc - 1] - '0';
        if (strncmp(buf, "A-sync-", 7) == 0) {
            if (!synced[k])
                side_signal(&p[k]->s, "synced");
            synced[k] = true;
        } else if (strncmp(buf, "A-end-", 6) == 0) {
            assert_int_equal(next[k], 100);
            ended[k] = true;
        } else {
            k = buf[2] - '0';
            assert_true(k == 0 || k == 1);
            if (atoi(buf + 4) != next[k])
                fail_msg("from publisher %d: \"%s\", expected number %d", k, buf, next[k]);
            next[k]++;
        }
    }
    peer_end(p[0]);
    peer_end(p[1]);
}

/* ------------------------------------------------------------ correlate */

static void test_correlate_ipcx_req(void **state)
{
    (void)state;
    open_ipcx(IPCX_REQ);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_REQ_CORRELATE, 1), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_REQ_RELAXED, 1), 0);
    peer *p = we_dial_peer(0, "correlate_ipcx_req", ZMQ_REP, "tcp://127.0.0.1:*", "-");
    send_str("q1");
    send_str("q2"); /* relaxed: the reply to q1 is dropped when it comes */
    recv_str("r2");
    peer_end(p);
}

static void test_correlate_zmq_req(void **state)
{
    (void)state;
    open_ipcx(IPCX_REP);
    char url[200];
    ipc_url(url, sizeof(url));
    peer *p = peer_dials_us(0, "correlate_zmq_req", ZMQ_REQ, url, "-");
    recv_str("q1");
    send_str("r1");
    recv_str("q2");
    send_str("r2");
    peer_end(p);
}

/* ipcx REQ whose libzmq REP dies before it answers: an event loop polls
 * for the reply, then receives.  ipcx_recv() alone says -EPIPE. */
static void test_req_peer_dies_poll(void **state)
{
    (void)state;
    open_ipcx(IPCX_REQ);
    peer *p = we_dial_peer(0, "rep_dies", ZMQ_REP, "tcp://127.0.0.1:*", "-");
    send_str("q");
    assert_int_equal(tu_wait(p->pid, WAIT_MS), 0);
    p->pid = -1;
    ipcx_pollitem it = {g.s, -1, IPCX_POLLIN, 0};
    int n = ipcx_poll(&it, 1, 500 * 1000000LL);
    char buf[8];
    int rc = ipcx_recv(g.s, buf, sizeof(buf), IPCX_DONTWAIT);
    print_message("# ipcx_poll = %d (revents %#x), then ipcx_recv = %d (%s)\n", n, it.revents, rc,
                  ipcx_strerror(rc));
    /* Whether the poll reports POLLIN (the receive will not block, it
     * fails) is for the library to say; the receive must tell the truth. */
    assert_int_equal(rc, -EPIPE);
}

/* libzmq DEALER speaking for two routers: ipcx REP keeps the whole
 * envelope and puts it back on the reply. */
static void test_rep_multi_hop(void **state)
{
    (void)state;
    open_ipcx(IPCX_REP);
    peer *p = peer_dials_us(0, "multi_hop", ZMQ_DEALER, "tcp://127.0.0.1:0", "-");
    recv_str("body");
    send_str("answer");
    peer_end(p);
}

/* ipcx DEALER with the longest identity (255 bytes) to a libzmq ROUTER. */
static void test_dealer_id255(void **state)
{
    (void)state;
    open_ipcx(IPCX_DEALER);
    char id[255];
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (char)('a' + i % 26);
    assert_int_equal(ipcx_socket_set_bytes(g.s, IPCX_OPT_IDENTITY, id, sizeof(id)), 0);
    peer *p = we_dial_peer(0, "router_id255", ZMQ_ROUTER, "tcp://127.0.0.1:*", "-");
    send_str("hi");
    recv_str("back");
    peer_end(p);
}

/* ------------------------------------------------------------ ipv6 */

static bool have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void test_ipv6(void **state)
{
    (void)state;
    if (!have_ipv6_loopback()) {
        print_message("no IPv6 loopback here: skipped\n");
        skip();
    }
    for (int listen = 1; listen >= 0; listen--) {
        open_ipcx(IPCX_DEALER);
        peer *p = listen ? peer_dials_us(0, "ipv6", ZMQ_DEALER, "tcp://[::1]:0", "-")
                         : we_dial_peer(0, "ipv6", ZMQ_DEALER, "tcp://[::1]:*", "-");
        send_str("hello");
        assert_int_equal(side_wait(&p->s, "connected", WAIT_MS), 1);
        send_str("after-idle");
        recv_str("ack");
        peer_end(p);
        peer_kill(p);
        ipcx_socket_close(g.s);
        g.s = NULL;
    }
}

/* ------------------------------------------------------------ reconnect */

/* ipcx PUSH dials a path where nothing listens yet; a first libzmq PULL
 * binds it and takes three messages and goes; the three sent while
 * nobody is there wait in ipcx and reach the second PULL on the path. */
static void test_reconnect(void **state)
{
    (void)state;
    open_ipcx(IPCX_PUSH);
    assert_int_equal(
        ipcx_socket_set(g.s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED), 0);
    char url[200];
    ipc_url(url, sizeof(url));
    assert_int_equal(ipcx_dial(g.s, url), 0); /* before anyone listens */
    peer *p = peer_start(0, "reconnect", ZMQ_PULL, "bind", url, "0");
    for (int i = 0; i < 3; i++) {
        char b[8];
        snprintf(b, sizeof(b), "m%d", i);
        send_str(b);
    }
    peer_end(p);
    peer_kill(p);
    (void)next_event(IPCX_EV_DISCONNECTED);
    for (int i = 3; i < 6; i++) {
        char b[8];
        snprintf(b, sizeof(b), "m%d", i);
        send_str(b); /* queued for the dialled peer while it reconnects */
    }
    p = peer_start(1, "reconnect", ZMQ_PULL, "bind", url, "1");
    peer_end(p);
    ipcx_socket_stats st = stats();
    assert_int_equal(st.connects, 2);
    assert_int_equal(st.drops, 0);
}

/* ------------------------------------------------------------ fd */

static bool fd_readable(int fd, int timeout_ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    return poll(&pf, 1, timeout_ms) == 1;
}

/* Level-triggered: readable while a message waits, not after the last one
 * is taken, readable again when the next comes. */
static void test_fd_level(void **state)
{
    (void)state;
    open_ipcx(IPCX_PULL);
    peer *p = peer_dials_us(0, "fd_level", ZMQ_PUSH, "tcp://127.0.0.1:0", "-");
    int fd = ipcx_socket_fd(g.s);
    int got = 0;
    int64_t end = now_ns() + WAIT_NS;
    while (got < 5) {
        assert_true(now_ns() < end);
        if (!fd_readable(fd, WAIT_MS))
            fail_msg("fd not readable, %d of 5 messages taken", got);
        int ev = ipcx_socket_events(g.s, IPCX_POLLIN);
        assert_true(ev >= 0);
        while (ev & IPCX_POLLIN) {
            char buf[8];
            assert_int_equal(ipcx_recv(g.s, buf, sizeof(buf), IPCX_DONTWAIT), 4);
            got++;
            ev = ipcx_socket_events(g.s, IPCX_POLLIN);
        }
    }
    /* Everything taken, nothing more sent: the fd must be quiet. */
    assert_int_equal(ipcx_socket_events(g.s, IPCX_POLLIN), 0);
    assert_false(fd_readable(fd, 50));
    side_signal(&p->s, "one-more");
    end = now_ns() + WAIT_NS;
    for (;;) {
        if (!fd_readable(fd, WAIT_MS))
            fail_msg("fd not readable after the sixth message was sent");
        if (ipcx_socket_events(g.s, IPCX_POLLIN) & IPCX_POLLIN)
            break;
        assert_true(now_ns() < end);
    }
    recv_str("six");
    assert_false(fd_readable(fd, 0));
    peer_end(p);
}

/* ipcx_poll() waiting for what is not there (no event; POLLOUT not
 * asked) on a socket whose next incoming message waits must sleep, not
 * spin. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void test_poll_sleeps_with_message_waiting(void **state)
{
    (void)state;
    open_ipcx(IPCX_PULL);
    peer *p = peer_dials_us(0, "fd_level", ZMQ_PUSH, "tcp://127.0.0.1:0", "-");
    char buf[8];
    assert_int_equal(ipcx_recv(g.s, buf, sizeof(buf), 0), 4); /* four more are coming */
    assert_int_equal(ipcx_socket_events(g.s, IPCX_POLLIN), IPCX_POLLIN);
    ipcx_pollitem it = {g.s, -1, IPCX_POLLEVENT, 0};
    double c0 = cpu_s();
    assert_int_equal(ipcx_poll(&it, 1, 300 * 1000000LL), 0);
    double used = cpu_s() - c0;
    print_message("# 300 ms in ipcx_poll took %.0f ms of CPU\n", used * 1000);
    assert_true(used < 0.1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ipcx_recv(g.s, buf, sizeof(buf), 0), 4);
    side_signal(&p->s, "one-more");
    recv_str("six");
    peer_end(p);
}

/* ------------------------------------------------------------ pair */

static void test_pair_second(void **state)
{
    (void)state;
    open_ipcx(IPCX_PAIR);
    assert_int_equal(
        ipcx_socket_set(g.s, IPCX_OPT_EVENTS,
                        IPCX_EV_CONNECTED | IPCX_EV_HANDSHAKE_FAILED | IPCX_EV_DISCONNECTED),
        0);
    peer *first = peer_dials_us(0, "pair_second", ZMQ_PAIR, "tcp://127.0.0.1:0", "first");
    send_str("to-first");
    (void)next_event(IPCX_EV_CONNECTED);
    peer *second = peer_dials_us(1, "pair_second", ZMQ_PAIR, "tcp://127.0.0.1:0", "second");
    ipcx_event ev = next_event(IPCX_EV_HANDSHAKE_FAILED);
    print_message("# second PAIR: err %d (%s), reason \"%s\"\n", ev.err, ipcx_strerror(ev.err),
                  ev.reason);
    side_signal(&first->s, "again");
    send_str("to-first-again");
    recv_str("from-first");
    assert_int_equal(stats().peers, 1);
    peer_end(first);
    peer_end(second);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    payload_init();
#define T(f) cmocka_unit_test_setup_teardown(f, case_setup, case_teardown)
    const struct CMUnitTest tests[] = {
        T(test_stream_tcp),
        T(test_stream_ipc_small_buffer),
        T(test_stream_tcp_small_buffer),
        T(test_hb_zmq_pings_idle_ipcx),
        T(test_hb_ipcx_pings_zmq),
        T(test_hb_ipcx_drops_stopped_zmq),
        T(test_hb_zmq_ttl_drops_stopped),
        T(test_maxmsg_in_listen),
        T(test_maxmsg_in_dial_multipart),
        T(test_maxmsg_out_listen),
        T(test_maxmsg_out_dial),
        T(test_mismatch_pull_pull),
        T(test_mismatch_push_pub),
        T(test_mismatch_rep_rep),
        T(test_rr_push),
        T(test_fq_pull),
        T(test_router3),
        T(test_slow_subscriber),
        T(test_sub_two_pubs),
        T(test_correlate_ipcx_req),
        T(test_correlate_zmq_req),
        T(test_req_peer_dies_poll),
        T(test_rep_multi_hop),
        T(test_dealer_id255),
        T(test_ipv6),
        T(test_reconnect),
        T(test_fd_level),
        T(test_poll_sleeps_with_message_waiting),
        T(test_pair_second),
    };
#undef T
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("socket_interop_edge", tests, NULL, NULL);
}
