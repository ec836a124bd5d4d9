// SPDX-License-Identifier: MIT
/*
 * zmtp interop: the codec against a real libzmq peer (libzmq is linked into
 * this test only, never into the library).
 *
 * For each socket type, a libzmq socket binds to loopback TCP (port 0, the
 * endpoint read back with ZMQ_LAST_ENDPOINT) and the test connects a raw
 * TCP socket to it.  The raw side speaks through ipcx's encoder (greeting,
 * READY, messages, subscriptions, PING) and decodes everything libzmq sends
 * with ipcx's decoder.  Checked: libzmq's greeting and READY byte for byte
 * (against what ipcx's encoder writes for the same properties), messages
 * both ways including multipart and long frames, subscriptions both ways,
 * PING/PONG both ways; and that every split of what libzmq sent decodes to
 * the same events.  Every wait is bounded (poll with a timeout, RCVTIMEO).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include <ipcx/ipcx.h>

#include "zmtp_vec.h"

#define WAIT_MS 5000

typedef struct peer {
    void *ctx, *zs;
    int fd;
    int zmq_type;
    ipcx_zmtp_decoder *dec;
    uint8_t buf[1 << 16];
    size_t have, off;
    zv_buf raw; /* everything libzmq sent */
    int minor;  /* libzmq's greeting minor version */
    int ready_type;
} peer;

static void send_raw(peer *p, const void *b, size_t n)
{
    const uint8_t *c = b;
    while (n) {
        ssize_t w = send(p->fd, c, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

/* Wait for the raw socket to become readable, in short slices: between
 * them ZMQ_EVENTS makes the libzmq socket process its pending commands (a
 * SUB, for one, only sends its subscriptions to a new peer once the
 * application thread has seen the connection).  Returns 0 on a timeout. */
static int wait_readable(peer *p, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 10);
        assert_true(pr >= 0);
        if (pr > 0)
            return 1;
        int events;
        size_t el = sizeof(events);
        zmq_getsockopt(p->zs, ZMQ_EVENTS, &events, &el);
    }
    return 0;
}

/* Decode the next event, reading from the socket as needed.  With
 * @timeout_ms < 0 fails the test on a timeout; otherwise returns 0 on one. */
static int next_event_for(peer *p, ipcx_zmtp_event *ev, int timeout_ms)
{
    for (;;) {
        if (p->off < p->have) {
            size_t used;
            int rc = ipcx_zmtp_decode(p->dec, p->buf + p->off, p->have - p->off, &used, ev);
            if (rc < 0)
                fail_msg("decode: %d %s", rc, ipcx_zmtp_strerror(ev->err));
            p->off += used;
            if (rc > 0)
                return rc;
        }
        p->have = p->off = 0;
        if (!wait_readable(p, timeout_ms < 0 ? WAIT_MS : timeout_ms)) {
            if (timeout_ms < 0)
                fail_msg("no data from libzmq within %d ms", WAIT_MS);
            return 0;
        }
        ssize_t n = recv(p->fd, p->buf, sizeof(p->buf), 0);
        if (n <= 0)
            fail_msg("libzmq closed the connection (%zd)", n);
        p->have = (size_t)n;
        zv_put(&p->raw, p->buf, (size_t)n);
    }
}

static int next_event(peer *p, ipcx_zmtp_event *ev)
{
    return next_event_for(p, ev, -1);
}

/* The next event that is not a PING (libzmq may heartbeat at any time). */
static int next_traffic(peer *p, ipcx_zmtp_event *ev)
{
    int t;
    while ((t = next_event(p, ev)) == IPCX_ZMTP_EV_PING)
        ;
    return t;
}

static void expect_frame(peer *p, const char *data, int more)
{
    ipcx_zmtp_event ev;
    assert_int_equal(next_traffic(p, &ev), IPCX_ZMTP_EV_FRAME);
    assert_int_equal(ev.len, strlen(data));
    assert_memory_equal(ev.data, data, ev.len);
    assert_int_equal(ev.more, more);
    free(ev.owned);
}

static int tcp_connect(const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    assert_non_null(colon);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Bind a libzmq socket of @zmq_type, connect a raw socket to it, exchange
 * greetings and READY (ours says @our_type and @identity).  @hb_ivl_ms > 0
 * turns libzmq heartbeats on. */
static void peer_open_v(peer *p, int zmq_type, int our_type, const char *identity, int hb_ivl_ms,
                        uint8_t our_minor)
{
    memset(p, 0, sizeof(*p));
    p->zmq_type = zmq_type;
    p->ctx = zmq_ctx_new();
    assert_non_null(p->ctx);
    p->zs = zmq_socket(p->ctx, zmq_type);
    assert_non_null(p->zs);
    int linger = 0, tmo = WAIT_MS;
    assert_int_equal(zmq_setsockopt(p->zs, ZMQ_LINGER, &linger, sizeof(linger)), 0);
    assert_int_equal(zmq_setsockopt(p->zs, ZMQ_RCVTIMEO, &tmo, sizeof(tmo)), 0);
    assert_int_equal(zmq_setsockopt(p->zs, ZMQ_SNDTIMEO, &tmo, sizeof(tmo)), 0);
    if (hb_ivl_ms > 0) {
        int ttl = 2000;
        assert_int_equal(zmq_setsockopt(p->zs, ZMQ_HEARTBEAT_IVL, &hb_ivl_ms, sizeof(int)), 0);
        assert_int_equal(zmq_setsockopt(p->zs, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl)), 0);
    }
    assert_int_equal(zmq_bind(p->zs, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t eplen = sizeof(ep);
    assert_int_equal(zmq_getsockopt(p->zs, ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    p->fd = tcp_connect(ep);
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, &p->dec), 0);

    uint8_t out[512];
    size_t n = ipcx_zmtp_encode_greeting(out);
    out[11] = our_minor; /* 0: pose as a ZMTP 3.0 peer */
    int w = ipcx_zmtp_encode_ready(out + n, sizeof(out) - n, our_type, identity,
                                   identity ? strlen(identity) : 0, NULL, 0);
    assert_true(w > 0);
    send_raw(p, out, n + (size_t)w);

    ipcx_zmtp_event ev;
    assert_int_equal(next_event(p, &ev), IPCX_ZMTP_EV_GREETING);
    assert_int_equal(ev.major, 3);
    p->minor = ev.minor;
    assert_int_equal(ipcx_zmtp_decoder_peer_minor(p->dec), ev.minor >= 1);
    assert_int_equal(next_event(p, &ev), IPCX_ZMTP_EV_READY);
    p->ready_type = ev.socket_type;

    /* libzmq's greeting and READY, byte for byte: the signature padding
     * carries its ZMTP 1.0 compatibility length (1), and the READY is what
     * ipcx's encoder writes for the same Socket-Type and Identity. */
    static const uint8_t sig[] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3};
    assert_memory_equal(p->raw.p, sig, sizeof(sig));
    static const uint8_t null_rest[21] = {'N', 'U', 'L', 'L'};
    assert_memory_equal(p->raw.p + 12, null_rest, sizeof(null_rest));
    uint8_t mine[512];
    w = ipcx_zmtp_encode_ready(mine, sizeof(mine), ev.socket_type,
                               ev.has_identity ? ev.identity : NULL, ev.identity_len, NULL, 0);
    assert_true(w > 0);
    assert_memory_equal(p->raw.p + 64, mine, (size_t)w);
}

static void peer_open(peer *p, int zmq_type, int our_type, const char *identity, int hb_ivl_ms)
{
    peer_open_v(p, zmq_type, our_type, identity, hb_ivl_ms, 1);
}

/* Everything libzmq sent decodes to the same events under every split. */
static void check_splits(const peer *p)
{
    char *t = zv_trace_all_splits(p->raw.p, p->raw.len, NULL);
    assert_null(strchr(t, '!'));
    free(t);
}

static void peer_close(peer *p)
{
    check_splits(p);
    close(p->fd);
    ipcx_zmtp_decoder_destroy(p->dec);
    zmq_close(p->zs);
    zmq_ctx_term(p->ctx);
    zv_free(&p->raw);
}

/* Send a multipart message from the raw side with ipcx's encoder. */
static void send_parts(peer *p, const char *const *parts, size_t n)
{
    ipcx_zmtp_part v[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        v[i].data = parts[i];
        v[i].len = strlen(parts[i]);
    }
    uint8_t out[1024];
    int w = ipcx_zmtp_encode_msg(out, sizeof(out), v, n);
    assert_true(w > 0);
    send_raw(p, out, (size_t)w);
}

/* libzmq receives exactly @parts (RCVMORE on all but the last). */
static void zmq_expect(peer *p, const char *const *parts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char buf[2048];
        int r = zmq_recv(p->zs, buf, sizeof(buf), 0);
        assert_int_equal(r, (int)strlen(parts[i]));
        assert_memory_equal(buf, parts[i], (size_t)r);
        int more = 0;
        size_t ml = sizeof(more);
        assert_int_equal(zmq_getsockopt(p->zs, ZMQ_RCVMORE, &more, &ml), 0);
        assert_int_equal(more, i + 1 < n);
    }
}

static void zmq_send_parts(peer *p, const char *const *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(zmq_send(p->zs, parts[i], strlen(parts[i]), i + 1 < n ? ZMQ_SNDMORE : 0),
                         (int)strlen(parts[i]));
}

/* ------------------------------------------------------------ the tests */

static void test_pair(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_PAIR, IPCX_ZMTP_SOCKET_PAIR, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_PAIR);
    static const char *const out[] = {"one", "", "three"};
    zmq_send_parts(&p, out, 3);
    expect_frame(&p, "one", 1);
    expect_frame(&p, "", 1);
    expect_frame(&p, "three", 0);
    static const char *const in[] = {"from", "ipcx"};
    send_parts(&p, in, 2);
    zmq_expect(&p, in, 2);
    peer_close(&p);
}

static void test_push(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_PUSH, IPCX_ZMTP_SOCKET_PULL, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_PUSH);
    char big[301];
    memset(big, 'L', 300);
    big[300] = 0;
    static const char *const m1[] = {"m1", "m2"};
    zmq_send_parts(&p, m1, 2);
    const char *m2[] = {big};
    zmq_send_parts(&p, m2, 1);
    expect_frame(&p, "m1", 1);
    expect_frame(&p, "m2", 0);
    expect_frame(&p, big, 0);
    /* The long form on the wire: flags 0x02 and an 8-octet size. */
    static const uint8_t long_hdr[] = {0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2c};
    assert_memory_equal(p.raw.p + p.raw.len - 300 - 9, long_hdr, 9);
    peer_close(&p);
}

static void test_pull(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_PULL, IPCX_ZMTP_SOCKET_PUSH, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_PULL);
    static const char *const m[] = {"a", "bb", "ccc"};
    send_parts(&p, m, 3);
    zmq_expect(&p, m, 3);
    /* A 100 KB frame: header from the encoder, payload by pointer. */
    size_t n = 100000;
    char *big = malloc(n + 1);
    memset(big, 'P', n);
    big[n] = 0;
    uint8_t h[IPCX_ZMTP_HDR_MAX];
    send_raw(&p, h, ipcx_zmtp_encode_header(h, n, 0));
    send_raw(&p, big, n);
    char *got = malloc(n + 10);
    assert_int_equal(zmq_recv(p.zs, got, n + 10, 0), (int)n);
    assert_memory_equal(got, big, n);
    free(got);
    free(big);
    peer_close(&p);
}

static void test_pub(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_PUB, IPCX_ZMTP_SOCKET_SUB, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_PUB);
    /* Subscribe to "news" in the form libzmq's version wants. */
    uint8_t h[IPCX_ZMTP_SUB_HDR_MAX];
    send_raw(&p, h, ipcx_zmtp_encode_subscribe(h, 1, 4, p.minor));
    send_raw(&p, "news", 4);
    /* libzmq applies the subscription asynchronously: publish until the
     * first message arrives (bounded), then check the filter held. */
    ipcx_zmtp_event ev;
    int got = 0;
    for (int i = 0; i < 500 && !got; i++) {
        assert_int_equal(zmq_send(p.zs, "other", 5, 0), 5);
        assert_int_equal(zmq_send(p.zs, "news-1", 6, 0), 6);
        got = next_event_for(&p, &ev, 10);
    }
    assert_int_equal(got, IPCX_ZMTP_EV_FRAME);
    assert_int_equal(ev.len, 6);
    assert_memory_equal(ev.data, "news-1", 6);
    free(ev.owned);
    peer_close(&p);
}

static void test_sub(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_SUB, IPCX_ZMTP_SOCKET_PUB, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_SUB);
    assert_int_equal(zmq_setsockopt(p.zs, ZMQ_SUBSCRIBE, "ab", 2), 0);
    ipcx_zmtp_event ev;
    assert_int_equal(next_traffic(&p, &ev), IPCX_ZMTP_EV_SUBSCRIBE);
    assert_int_equal(ev.len, 2);
    assert_memory_equal(ev.data, "ab", 2);
    print_message("libzmq subscribes with the %s form\n",
                  ev.legacy ? "3.0 message" : "3.1 command");
    assert_int_equal(zmq_setsockopt(p.zs, ZMQ_UNSUBSCRIBE, "ab", 2), 0);
    assert_int_equal(next_traffic(&p, &ev), IPCX_ZMTP_EV_CANCEL);
    assert_int_equal(ev.len, 2);
    assert_int_equal(zmq_setsockopt(p.zs, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(next_traffic(&p, &ev), IPCX_ZMTP_EV_SUBSCRIBE);
    assert_int_equal(ev.len, 0);
    static const char *const m[] = {"abc", "tail"};
    send_parts(&p, m, 2);
    zmq_expect(&p, m, 2);
    peer_close(&p);
}

/* Posing as a ZMTP 3.0 peer, libzmq's SUB falls back to the 3.0 form:
 * messages whose first octet is 1 or 0, which the decoder turns into
 * SUBSCRIBE/CANCEL because the peer's Socket-Type is SUB. */
static void test_sub_zmtp30(void **state)
{
    (void)state;
    peer p;
    peer_open_v(&p, ZMQ_SUB, IPCX_ZMTP_SOCKET_PUB, NULL, 0, 0);
    assert_int_equal(zmq_setsockopt(p.zs, ZMQ_SUBSCRIBE, "xy", 2), 0);
    ipcx_zmtp_event ev;
    assert_int_equal(next_traffic(&p, &ev), IPCX_ZMTP_EV_SUBSCRIBE);
    assert_int_equal(ev.legacy, 1);
    assert_int_equal(ev.len, 2);
    assert_memory_equal(ev.data, "xy", 2);
    /* On the wire: a plain one-frame message 0x01 "xy". */
    static const uint8_t legacy[] = {0x00, 0x03, 0x01, 'x', 'y'};
    assert_memory_equal(p.raw.p + p.raw.len - sizeof(legacy), legacy, sizeof(legacy));
    assert_int_equal(zmq_setsockopt(p.zs, ZMQ_UNSUBSCRIBE, "xy", 2), 0);
    assert_int_equal(next_traffic(&p, &ev), IPCX_ZMTP_EV_CANCEL);
    assert_int_equal(ev.legacy, 1);
    peer_close(&p);
}

static void test_req(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_REQ, IPCX_ZMTP_SOCKET_REP, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_REQ);
    assert_int_equal(zmq_send(p.zs, "hello", 5, 0), 5);
    expect_frame(&p, "", 1); /* the REQ envelope delimiter */
    expect_frame(&p, "hello", 0);
    static const char *const reply[] = {"", "world"};
    send_parts(&p, reply, 2);
    static const char *const got[] = {"world"};
    zmq_expect(&p, got, 1);
    peer_close(&p);
}

static void test_rep(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_REP, IPCX_ZMTP_SOCKET_REQ, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_REP);
    static const char *const req[] = {"", "question"};
    send_parts(&p, req, 2);
    static const char *const got[] = {"question"};
    zmq_expect(&p, got, 1);
    assert_int_equal(zmq_send(p.zs, "answer", 6, 0), 6);
    expect_frame(&p, "", 1);
    expect_frame(&p, "answer", 0);
    peer_close(&p);
}

static void test_dealer(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_DEALER, IPCX_ZMTP_SOCKET_DEALER, NULL, 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_DEALER);
    static const char *const out[] = {"a", "b"};
    zmq_send_parts(&p, out, 2);
    expect_frame(&p, "a", 1);
    expect_frame(&p, "b", 0);
    static const char *const in[] = {"c", "d", "e"};
    send_parts(&p, in, 3);
    zmq_expect(&p, in, 3);
    peer_close(&p);
}

static void test_router(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_ROUTER, IPCX_ZMTP_SOCKET_DEALER, "peer-1", 0);
    assert_int_equal(p.ready_type, IPCX_ZMTP_SOCKET_ROUTER);
    static const char *const in[] = {"x", "y"};
    send_parts(&p, in, 2);
    /* The ROUTER prefixes the Identity ipcx's READY announced. */
    static const char *const got[] = {"peer-1", "x", "y"};
    zmq_expect(&p, got, 3);
    static const char *const out[] = {"peer-1", "z"};
    zmq_send_parts(&p, out, 2);
    expect_frame(&p, "z", 0);
    peer_close(&p);
}

static void test_heartbeat(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_PAIR, IPCX_ZMTP_SOCKET_PAIR, NULL, 20);
    /* libzmq heartbeats: a PING carrying its TTL (2000 ms = 20 tenths). */
    ipcx_zmtp_event ev;
    assert_int_equal(next_event(&p, &ev), IPCX_ZMTP_EV_PING);
    assert_int_equal(ev.ttl, 20);
    /* ipcx's PING gets libzmq's PONG echoing the context. */
    uint8_t out[64];
    int w = ipcx_zmtp_encode_ping(out, sizeof(out), 0, "ctx-42", 6);
    assert_true(w > 0);
    send_raw(&p, out, (size_t)w);
    int t;
    while ((t = next_event(&p, &ev)) == IPCX_ZMTP_EV_PING)
        ;
    assert_int_equal(t, IPCX_ZMTP_EV_PONG);
    assert_int_equal(ev.len, 6);
    assert_memory_equal(ev.data, "ctx-42", 6);
    peer_close(&p);
}

/* libzmq's own PONG to the heartbeat-less side: PING with ttl from ipcx
 * on a connection where libzmq sends no heartbeats itself. */
static void test_ping_pong_plain(void **state)
{
    (void)state;
    peer p;
    peer_open(&p, ZMQ_DEALER, IPCX_ZMTP_SOCKET_ROUTER, NULL, 0);
    uint8_t out[64];
    int w = ipcx_zmtp_encode_ping(out, sizeof(out), 100, "", 0);
    send_raw(&p, out, (size_t)w);
    ipcx_zmtp_event ev;
    assert_int_equal(next_event(&p, &ev), IPCX_ZMTP_EV_PONG);
    assert_int_equal(ev.len, 0);
    peer_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair),      cmocka_unit_test(test_push),
        cmocka_unit_test(test_pull),      cmocka_unit_test(test_pub),
        cmocka_unit_test(test_sub),       cmocka_unit_test(test_sub_zmtp30),
        cmocka_unit_test(test_req),       cmocka_unit_test(test_rep),
        cmocka_unit_test(test_dealer),    cmocka_unit_test(test_router),
        cmocka_unit_test(test_heartbeat), cmocka_unit_test(test_ping_pong_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
