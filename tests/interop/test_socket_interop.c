// SPDX-License-Identifier: MIT
/*
 * socket interop: ipcx sockets against real libzmq sockets (libzmq is
 * linked into this test only, never into the library).
 *
 * Every pattern pair - PAIR-PAIR, PUSH-PULL, PUB-SUB (and libzmq's XPUB and
 * XSUB, which show the subscriptions on the wire), REQ-REP, DEALER-ROUTER,
 * REQ-ROUTER, DEALER-REP, DEALER-DEALER - runs with ipcx on either side of
 * the pair, over tcp://127.0.0.1, a unix:// path (ipc:// to libzmq) and the
 * abstract namespace, with ipcx listening and libzmq dialling and the
 * reverse.  Each combination is one cmocka test; its name says all four,
 * e.g. "REQ-REP ipcx=REQ tcp ipcx-listens".
 *
 * The ipcx socket lives in the test process.  The libzmq socket lives in a
 * helper process: the test binary re-run with --helper (libzmq has its own
 * I/O thread, ipcx is caller-driven, so each side blocks in its own calls
 * without starving the other).  Both processes run the same scripts
 * through a small "side" interface with an ipcx and a libzmq
 * implementation, and both check every message they receive byte for
 * byte: single parts, multipart with an empty part, an empty message, a
 * 40-part message, frames longer than 255 bytes, and a 16 MiB message.
 * Besides the sockets, the two processes share two pipes, used only to
 * synchronise what ZeroMQ leaves unsynchronised (a subscription has reached
 * the publisher) and to agree on the end ("fin" both ways).  Every wait is
 * bounded (socket timeouts, poll timeouts, tu_wait).
 *
 * Run one pair only with an argument: test_socket_interop PUB-SUB (ctest
 * registers one entry per pair, so ctest -j runs them side by side).
 */
#include "zmq_side.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include <ipcx/ipcx.h>

#define BURST 1000

/* The messages every conversation carries, in order. */
enum { N_CATALOGUE = 8 };

static msgv catalogue(int i)
{
    msgv m = {0};
    switch (i) {
    case 0:
        mv_str(&m, "hello");
        break;
    case 1: /* multipart with an empty part in the middle */
        mv_str(&m, "first");
        mv_str(&m, "");
        mv_str(&m, "third");
        break;
    case 2: /* every byte value */
        mv_add(&m, (part){g_bin, sizeof(g_bin)});
        break;
    case 3: /* one empty part */
        mv_str(&m, "");
        break;
    case 4: /* long frames (8-byte ZMTP lengths) */
        mv_add(&m, (part){g_big + 1000, 300});
        mv_add(&m, (part){g_big + 5000, 70000});
        break;
    case 5: /* more parts than one writev of ipcx's takes (32) */
        for (size_t k = 0; k < 40; k++)
            mv_add(&m, (part){g_big + 7 * k, k});
        break;
    case 6:
        mv_add(&m, (part){g_big, BIG});
        break;
    default:
        mv_str(&m, "bye");
        break;
    }
    return m;
}

/* ------------------------------------------------------------ scripts */

enum { F_ECHO, F_PUSHPULL, F_PUBSUB };
enum { TP_TCP, TP_IPC, TP_ABSTRACT };

static const char *const tp_names[] = {"tcp", "ipc", "abstract"};

typedef struct scase {
    char name[96];
    const char *pair; /* "REQ-REP": the filter */
    int fam;
    int a, b;             /* client / sender and server / receiver: ipcx patterns */
    int za, zb;           /* the libzmq types for a and b */
    bool ipcx_is_a;       /* which of the two ipcx plays */
    int tp;               /* TP_* */
    bool ipcx_listens;    /* else libzmq listens */
    int cli_env;          /* empty parts the client puts before the body (DEALER to REP) */
    int srv_env;          /* parts the server sees before the body: ROUTER's identity (1), and
                             the REQ's empty delimiter (2) */
    const char *identity; /* the client's routing identity, or NULL */
} scase;

static const part reply_part = {(const uint8_t *)"reply", 5};
static const part empty_part = {(const uint8_t *)"", 0};

/* Request/reply shaped conversations (PAIR, DEALER-DEALER, REQ-REP,
 * DEALER-ROUTER, REQ-ROUTER, DEALER-REP): the client sends each catalogue
 * message, the server answers it with the same parts and one more,
 * "reply", under the envelope it received. */
static void echo_client(const scase *c, side *s)
{
    for (int i = 0; i < N_CATALOGUE; i++) {
        msgv body = catalogue(i), out = {0};
        for (int k = 0; k < c->cli_env; k++)
            mv_add(&out, empty_part);
        for (size_t k = 0; k < body.n; k++)
            mv_add(&out, body.p[k]);
        side_send(s, &out, 0);
        mv_add(&out, reply_part);
        rmsg r = {0};
        side_recv(s, &r);
        char what[64];
        snprintf(what, sizeof(what), "reply %d", i);
        expect_msg(&r, 0, &out, what);
        rmsg_free(&r);
    }
}

static void echo_server(const scase *c, side *s)
{
    uint8_t first_id[256];
    size_t first_len = 0;
    for (int i = 0; i < N_CATALOGUE; i++) {
        rmsg r = {0};
        side_recv(s, &r);
        msgv body = catalogue(i);
        char what[64];
        snprintf(what, sizeof(what), "request %d", i);
        expect_msg(&r, (size_t)c->srv_env, &body, what);
        if (c->srv_env >= 1) { /* a ROUTER: the identity first */
            if (c->identity != NULL)
                CHECK(part_is(&r, 0, c->identity, strlen(c->identity)),
                      "request %d: identity %zu bytes, not the client's \"%s\"", i, r.len[0],
                      c->identity);
            CHECK(r.len[0] > 0 && r.len[0] <= 255, "request %d: identity of %zu bytes", i,
                  r.len[0]);
            if (i == 0) {
                first_len = r.len[0];
                memcpy(first_id, r.data[0], first_len);
            }
            CHECK(part_is(&r, 0, first_id, first_len), "request %d: the identity changed", i);
        }
        if (c->srv_env >= 2)
            CHECK(r.len[1] == 0, "request %d: no empty delimiter after the identity", i);
        msgv out = {0};
        for (int k = 0; k < c->srv_env; k++)
            mv_add(&out, (part){r.data[k], r.len[k]});
        for (size_t k = 0; k < body.n; k++)
            mv_add(&out, body.p[k]);
        mv_add(&out, reply_part);
        side_send(s, &out, 0);
        rmsg_free(&r);
    }
}

static void burst_msg(char *buf, size_t cap, int i, msgv *m)
{
    snprintf(buf, cap, "burst-%04d", i);
    m->n = 0;
    mv_str(m, buf);
}

/* PUSH-PULL: the catalogue, then a burst of small messages (ipcx batches
 * them), in order. */
static void push_script(side *s)
{
    for (int i = 0; i < N_CATALOGUE; i++) {
        msgv m = catalogue(i);
        side_send(s, &m, 0);
    }
    for (int i = 0; i < BURST; i++) {
        char b[32];
        msgv m;
        burst_msg(b, sizeof(b), i, &m);
        side_send(s, &m, i + 1 < BURST ? SEND_BATCH : 0);
    }
}

static void pull_script(side *s)
{
    for (int i = 0; i < N_CATALOGUE; i++) {
        msgv m = catalogue(i);
        rmsg r = {0};
        side_recv(s, &r);
        char what[32];
        snprintf(what, sizeof(what), "message %d", i);
        expect_msg(&r, 0, &m, what);
        rmsg_free(&r);
    }
    for (int i = 0; i < BURST; i++) {
        char b[32];
        msgv m;
        burst_msg(b, sizeof(b), i, &m);
        rmsg r = {0};
        side_recv(s, &r);
        expect_msg(&r, 0, &m, b);
        rmsg_free(&r);
    }
}

/*
 * PUB-SUB.  The subscriber subscribes to "A", "B" and "S"; the publisher
 * sends "S-sync" until the subscriber says it got one (then the
 * subscriptions have reached it), then batch 1, in which only the A and B
 * messages match.  The subscriber unsubscribes "A" and subscribes "T"; a
 * second sync on "T-sync" proves the publisher has seen both (they travel
 * in order), and batch 2 has only its B messages match.  A libzmq XSUB
 * does not filter what it receives, so against it the messages that arrive
 * show ipcx's PUB filtering; a libzmq XPUB receives the subscriptions
 * themselves, checked byte for byte.
 */
static msgv pub_batch(int batch, int i)
{
    msgv m = {0};
    static const char *const b1[] = {"A-one",   "C-not", "B-two", "a-lower", "",
                                     "A-multi", "B-big", "Z",     "A-many",  "S-end1"};
    static const char *const b2[] = {"A-gone", "B-three", "Bx", "T-end2"};
    const char *first = batch == 1 ? b1[i] : b2[i];
    mv_str(&m, first);
    if (strcmp(first, "A-multi") == 0 || strcmp(first, "Bx") == 0) {
        mv_str(&m, "");
        mv_str(&m, "tail");
    } else if (strcmp(first, "B-big") == 0) {
        mv_add(&m, (part){g_big, BIG});
    } else if (strcmp(first, "A-many") == 0) {
        for (size_t k = 1; k < 40; k++)
            mv_add(&m, (part){g_big + 11 * k, k});
    }
    return m;
}

static int pub_batch_len(int batch)
{
    return batch == 1 ? 10 : 4;
}

static bool pub_matches(int batch, const msgv *m)
{
    const part *p = &m->p[0];
    if (p->len == 0)
        return false;
    if (p->data[0] == 'B')
        return true;
    if (batch == 1)
        return p->data[0] == 'A' || p->data[0] == 'S';
    return p->data[0] == 'T';
}

static void pub_sync(side *s, const char *msg, const char *word)
{
    msgv m = {0};
    mv_str(&m, msg);
    int64_t end = now_ns() + 2 * WAIT_NS;
    for (;;) {
        side_send(s, &m, 0);
        if (side_wait(s, word, 20))
            return;
        CHECK(now_ns() < end, "the subscriber never got \"%s\"", msg);
    }
}

/* A libzmq XPUB receives each subscription as a message: 1 (subscribe)
 * or 0 (unsubscribe), then the topic. */
static void xpub_expect(side *s, int on, const char *topic)
{
    uint8_t want[64];
    size_t n = strlen(topic);
    want[0] = (uint8_t)on;
    memcpy(want + 1, topic, n);
    rmsg r = {0};
    side_recv(s, &r);
    CHECK(r.n == 1 && part_is(&r, 0, want, n + 1),
          "XPUB: expected %s \"%s\", got %zu parts (first of %zu bytes)",
          on ? "subscribe" : "unsubscribe", topic, r.n, r.n ? r.len[0] : 0);
    rmsg_free(&r);
}

static void pub_script(side *s)
{
    if (s->zs != NULL && s->ztype == ZMQ_XPUB) {
        xpub_expect(s, 1, "A");
        xpub_expect(s, 1, "B");
        xpub_expect(s, 1, "S");
    }
    pub_sync(s, "S-sync", "synced");
    for (int i = 0; i < pub_batch_len(1); i++) {
        msgv m = pub_batch(1, i);
        side_send(s, &m, 0);
    }
    if (s->zs != NULL && s->ztype == ZMQ_XPUB) {
        xpub_expect(s, 0, "A");
        xpub_expect(s, 1, "T");
    }
    pub_sync(s, "T-sync", "synced2");
    for (int i = 0; i < pub_batch_len(2); i++) {
        msgv m = pub_batch(2, i);
        side_send(s, &m, 0);
    }
}

/* The next message that is not @skip (sync messages come several times). */
static void sub_next(side *s, rmsg *r, const char *skip)
{
    for (;;) {
        side_recv(s, r);
        if (!rmsg_is_str(r, skip))
            return;
        rmsg_free(r);
    }
}

static void sub_sync(side *s, const char *msg, const char *word)
{
    rmsg r = {0};
    side_recv(s, &r);
    CHECK(rmsg_is_str(&r, msg), "first message after subscribing: %zu parts, not \"%s\"", r.n, msg);
    rmsg_free(&r);
    side_signal(s, word);
}

static void sub_batch(side *s, int batch, const char *skip)
{
    for (int i = 0; i < pub_batch_len(batch); i++) {
        msgv m = pub_batch(batch, i);
        if (!pub_matches(batch, &m))
            continue;
        rmsg r = {0};
        sub_next(s, &r, skip);
        char what[64];
        snprintf(what, sizeof(what), "batch %d message %d (%.*s)", batch, i, (int)m.p[0].len,
                 (const char *)m.p[0].data);
        expect_msg(&r, 0, &m, what);
        rmsg_free(&r);
    }
}

static void sub_script(side *s)
{
    side_sub(s, "A", true);
    side_sub(s, "B", true);
    side_sub(s, "S", true);
    sub_sync(s, "S-sync", "synced");
    sub_batch(s, 1, "S-sync");
    side_sub(s, "A", false);
    side_sub(s, "T", true);
    /* Messages of batch 1 are all taken; what follows is T-sync only. */
    sub_sync(s, "T-sync", "synced2");
    sub_batch(s, 2, "T-sync");
}

static void run_script(const scase *c, side *s, bool as_a)
{
    switch (c->fam) {
    case F_ECHO:
        if (as_a)
            echo_client(c, s);
        else
            echo_server(c, s);
        break;
    case F_PUSHPULL:
        if (as_a)
            push_script(s);
        else
            pull_script(s);
        break;
    default:
        if (as_a)
            pub_script(s);
        else
            sub_script(s);
        break;
    }
}

/* ------------------------------------------------------------ the cases */

typedef struct pairdef {
    const char *pair;
    int fam;
    int a, b, za, zb;
    int cli_env, srv_env;
    bool identity;
    bool ipcx_a, ipcx_b; /* which sides ipcx can play */
} pairdef;

static const pairdef pairs[] = {
    {"PAIR-PAIR", F_ECHO, IPCX_PAIR, IPCX_PAIR, ZMQ_PAIR, ZMQ_PAIR, 0, 0, false, true, true},
    {"PUSH-PULL", F_PUSHPULL, IPCX_PUSH, IPCX_PULL, ZMQ_PUSH, ZMQ_PULL, 0, 0, false, true, true},
    {"PUB-SUB", F_PUBSUB, IPCX_PUB, IPCX_SUB, ZMQ_PUB, ZMQ_SUB, 0, 0, false, true, true},
    {"XPUB-SUB", F_PUBSUB, IPCX_PUB, IPCX_SUB, ZMQ_XPUB, ZMQ_SUB, 0, 0, false, false, true},
    {"PUB-XSUB", F_PUBSUB, IPCX_PUB, IPCX_SUB, ZMQ_PUB, ZMQ_XSUB, 0, 0, false, true, false},
    {"REQ-REP", F_ECHO, IPCX_REQ, IPCX_REP, ZMQ_REQ, ZMQ_REP, 0, 0, false, true, true},
    {"DEALER-ROUTER", F_ECHO, IPCX_DEALER, IPCX_ROUTER, ZMQ_DEALER, ZMQ_ROUTER, 0, 1, true, true,
     true},
    {"REQ-ROUTER", F_ECHO, IPCX_REQ, IPCX_ROUTER, ZMQ_REQ, ZMQ_ROUTER, 0, 2, false, true, true},
    {"DEALER-REP", F_ECHO, IPCX_DEALER, IPCX_REP, ZMQ_DEALER, ZMQ_REP, 1, 0, false, true, true},
    {"DEALER-DEALER", F_ECHO, IPCX_DEALER, IPCX_DEALER, ZMQ_DEALER, ZMQ_DEALER, 0, 0, false, true,
     true},
};

#define MAX_CASES 160
static scase cases[MAX_CASES];
static int n_cases;

static const char *pattern_name(int p)
{
    static const char *const names[] = {"?",   "PAIR",   "PUB",    "SUB",  "REQ",
                                        "REP", "DEALER", "ROUTER", "PULL", "PUSH"};
    return p >= 1 && p <= 9 ? names[p] : "?";
}

/* The same list in both processes: the helper is told a case's index. */
static void cases_build(void)
{
    n_cases = 0;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const pairdef *d = &pairs[i];
        for (int as_a = 1; as_a >= 0; as_a--) {
            if (!(as_a ? d->ipcx_a : d->ipcx_b))
                continue;
            for (int tp = TP_TCP; tp <= TP_ABSTRACT; tp++) {
                for (int listens = 1; listens >= 0; listens--) {
                    scase *c = &cases[n_cases++];
                    *c = (scase){.pair = d->pair,
                                 .fam = d->fam,
                                 .a = d->a,
                                 .b = d->b,
                                 .za = d->za,
                                 .zb = d->zb,
                                 .ipcx_is_a = as_a,
                                 .tp = tp,
                                 .ipcx_listens = listens,
                                 .cli_env = d->cli_env,
                                 .srv_env = d->srv_env,
                                 .identity = d->identity ? "dealer-\001\377" : NULL};
                    snprintf(c->name, sizeof(c->name), "%s ipcx=%s %s %s", d->pair,
                             pattern_name(as_a ? d->a : d->b), tp_names[tp],
                             listens ? "ipcx-listens" : "libzmq-listens");
                }
            }
        }
    }
}

/* ------------------------------------------------------------ the helper */

/* --helper <case> bind|connect <url> <rfd> <wfd>: the libzmq side. */
static int run_helper(int argc, char **argv)
{
    zs_in_helper = 1;
    if (argc != 5)
        return 2;
    payload_init();
    const scase *c = &cases[atoi(argv[0])];
    bool bind = strcmp(argv[1], "bind") == 0;
    side s = {.rfd = atoi(argv[3]), .wfd = atoi(argv[4])};
    bool as_a = !c->ipcx_is_a;
    s.ztype = as_a ? c->za : c->zb;
    void *ctx = zmq_ctx_new();
    CHECK(ctx != NULL, "zmq_ctx_new: %s", zmq_strerror(errno));
    s.zs = zmq_socket(ctx, s.ztype);
    CHECK(s.zs != NULL, "zmq_socket: %s", zmq_strerror(errno));
    int t = WAIT_MS;
    zmq_setsockopt(s.zs, ZMQ_RCVTIMEO, &t, sizeof(t));
    zmq_setsockopt(s.zs, ZMQ_SNDTIMEO, &t, sizeof(t));
    zmq_setsockopt(s.zs, ZMQ_LINGER, &t, sizeof(t));
    if (as_a && c->identity != NULL)
        zmq_setsockopt(s.zs, ZMQ_ROUTING_ID, c->identity, strlen(c->identity));
    if (bind) {
        CHECK(zmq_bind(s.zs, argv[2]) == 0, "zmq_bind %s: %s", argv[2], zmq_strerror(errno));
        char ep[256];
        size_t len = sizeof(ep);
        CHECK(zmq_getsockopt(s.zs, ZMQ_LAST_ENDPOINT, ep, &len) == 0, "ZMQ_LAST_ENDPOINT");
        char line[300];
        snprintf(line, sizeof(line), "ep %s", ep);
        side_signal(&s, line);
    } else {
        CHECK(zmq_connect(s.zs, argv[2]) == 0, "zmq_connect %s: %s", argv[2], zmq_strerror(errno));
    }
    run_script(c, &s, as_a);
    side_finish(&s);
    /* Both sides have everything.  Linger 0: a libzmq SUB whose publisher
     * went away keeps its subscriptions queued for the reconnect, and
     * zmq_ctx_term() would wait the whole linger for them (libzmq does
     * that against a libzmq PUB too). */
    int zero = 0;
    zmq_setsockopt(s.zs, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(s.zs);
    zmq_ctx_term(ctx);
    return 0;
}

/* ------------------------------------------------------------ the test */

static struct {
    pid_t child;
    ipcx_socket *s;
    int fds[4];
    char path[128];
} g;

static int case_setup(void **state)
{
    (void)state;
    g.child = -1;
    g.s = NULL;
    for (int i = 0; i < 4; i++)
        g.fds[i] = -1;
    g.path[0] = '\0';
    return 0;
}

static int case_teardown(void **state)
{
    (void)state;
    if (g.child > 0) {
        kill(g.child, SIGKILL);
        waitpid(g.child, NULL, 0);
    }
    ipcx_socket_close(g.s);
    for (int i = 0; i < 4; i++)
        if (g.fds[i] >= 0)
            close(g.fds[i]);
    if (g.path[0] != '\0')
        unlink(g.path);
    return 0;
}

static void run_case(void **state)
{
    const scase *c = *state;
    int idx = (int)(c - cases);
    /* fds[0]/[1]: helper to test; fds[2]/[3]: test to helper. */
    assert_int_equal(pipe(g.fds), 0);
    assert_int_equal(pipe(g.fds + 2), 0);
    fcntl(g.fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(g.fds[3], F_SETFD, FD_CLOEXEC);
    side s = {.rfd = g.fds[0], .wfd = g.fds[3]};

    int pattern = c->ipcx_is_a ? c->a : c->b;
    assert_int_equal(ipcx_socket_open(pattern, &g.s), 0);
    s.is = g.s;
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, WAIT_NS), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_SEND_TIMEOUT, WAIT_NS), 0);
    if (c->ipcx_is_a && c->identity != NULL)
        assert_int_equal(
            ipcx_socket_set_bytes(g.s, IPCX_OPT_IDENTITY, c->identity, strlen(c->identity)), 0);

    char name[64], iurl[256], zurl[256];
    tu_unique(name, sizeof(name), "ipcx-si");
    if (c->tp == TP_IPC)
        snprintf(g.path, sizeof(g.path), "/tmp/%s.sock", name);
    char rfd[16], wfd[16], idxs[16];
    snprintf(rfd, sizeof(rfd), "%d", g.fds[2]);
    snprintf(wfd, sizeof(wfd), "%d", g.fds[1]);
    snprintf(idxs, sizeof(idxs), "%d", idx);

    if (c->ipcx_listens) {
        /* unix:// spelled both ways: ipc:// here, unix:// when ipcx dials. */
        if (c->tp == TP_TCP)
            snprintf(iurl, sizeof(iurl), "tcp://127.0.0.1:0");
        else if (c->tp == TP_IPC)
            snprintf(iurl, sizeof(iurl), "ipc://%s", g.path);
        else
            snprintf(iurl, sizeof(iurl), "unix://@%s", name);
        int rc = ipcx_listen(g.s, iurl);
        assert_int_equal(rc, 0);
        char ep[256];
        rc = ipcx_socket_endpoint(g.s, 0, ep, sizeof(ep));
        assert_true(rc > 0);
        if (c->tp == TP_TCP)
            snprintf(zurl, sizeof(zurl), "%s", ep);
        else if (c->tp == TP_IPC)
            snprintf(zurl, sizeof(zurl), "ipc://%s", g.path);
        else
            snprintf(zurl, sizeof(zurl), "ipc://@%s", name);
        g.child = tu_spawn("--helper", idxs, "connect", zurl, rfd, wfd, NULL);
    } else {
        if (c->tp == TP_TCP)
            snprintf(zurl, sizeof(zurl), "tcp://127.0.0.1:*");
        else if (c->tp == TP_IPC)
            snprintf(zurl, sizeof(zurl), "ipc://%s", g.path);
        else
            snprintf(zurl, sizeof(zurl), "ipc://@%s", name);
        g.child = tu_spawn("--helper", idxs, "bind", zurl, rfd, wfd, NULL);
        char line[300];
        int n = tu_line_read(g.fds[0], line, sizeof(line), WAIT_MS);
        if (n < 4 || strncmp(line, "ep ", 3) != 0)
            fail_msg("no endpoint from the libzmq helper");
        if (c->tp == TP_IPC)
            snprintf(iurl, sizeof(iurl), "unix://%s", g.path);
        else
            assert_true(snprintf(iurl, sizeof(iurl), "%s", line + 3) < (int)sizeof(iurl));
        /* tcp://127.0.0.1:N, ipc://@name */
        int rc = ipcx_dial(g.s, iurl);
        assert_int_equal(rc, 0);
    }
    close(g.fds[1]);
    close(g.fds[2]);
    g.fds[1] = g.fds[2] = -1;

    run_script(c, &s, c->ipcx_is_a);

    /* Before "fin": the helper is still connected. */
    ipcx_socket_stats st;
    assert_int_equal(ipcx_socket_stats_get(g.s, &st), 0);
    assert_int_equal(st.peers, 1);
    assert_int_equal(st.handshake_failures, 0);
    side_finish(&s);
    ipcx_socket_close(g.s);
    g.s = NULL;
    int status = tu_wait(g.child, WAIT_MS);
    g.child = -1;
    assert_int_equal(status, 0);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    cases_build();
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    payload_init();
    const char *only = argc > 1 ? argv[1] : NULL;
    static struct CMUnitTest tests[MAX_CASES];
    size_t n = 0;
    for (int i = 0; i < n_cases; i++) {
        if (only != NULL && strcmp(only, cases[i].pair) != 0)
            continue;
        tests[n++] = (struct CMUnitTest){.name = cases[i].name,
                                         .test_func = run_case,
                                         .setup_func = case_setup,
                                         .teardown_func = case_teardown,
                                         .initial_state = &cases[i]};
    }
    if (n == 0) {
        fprintf(stderr, "test_socket_interop: no pair named %s\n", only);
        return 2;
    }
    char group[64];
    snprintf(group, sizeof(group), "socket_interop %s", only ? only : "all");
    return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}
