// SPDX-License-Identifier: MIT
/*
 * PLAIN and CURVE against real libzmq peers, both roles, over tcp:// and
 * unix:// (ipc:// to libzmq): ipcx server with a libzmq client and the
 * reverse - REQ/REP and PAIR both ways, ipcx PUSH to a libzmq PULL (PLAIN:
 * REQ/REP) - with multipart and 1 MiB messages, and CURVE PUB/SUB between
 * ipcx sockets across a server restart; the allow-list as a directory and
 * as one file of keys; refusals (a bad PLAIN password, an unlisted client key, a wrong
 * server key, NULL against CURVE), each with a clear error while the
 * listener goes on serving other clients; a libzmq ZAP handler refusing a
 * key matched by ipcx's authoriser refusing it; keys from ipcx keygen
 * files read by libzmq and libzmq's keys read by ipcx.
 *
 * The libzmq peer runs in a forked child (libzmq and ipcx sockets are each
 * opened after the fork); it reports its endpoint on a pipe and exits 0
 * when its script went as expected.
 */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include <ipcx/ipcx.h>

#define T_NS  ((int64_t)10000000000) /* 10 s: every wait is bounded */
#define BIGSZ ((1u << 20) + 3)

/* Key pairs: the server's, a listed client's, an unlisted client's. */
static char srv_pub[41], srv_sec[41], cli_pub[41], cli_sec[41], bad_pub[41], bad_sec[41];

static void keys_init(void)
{
    if (srv_pub[0] != 0)
        return;
    /* libzmq makes the server's pair, ipcx the clients': each must load in
     * the other. */
    assert_int_equal(zmq_curve_keypair(srv_pub, srv_sec), 0);
    uint8_t p[32], s[32];
    assert_int_equal(ipcx_curve_keypair(p, s), 0);
    assert_int_equal(ipcx_z85_encode(cli_pub, sizeof(cli_pub), p, 32), 40);
    assert_int_equal(ipcx_z85_encode(cli_sec, sizeof(cli_sec), s, 32), 40);
    assert_int_equal(ipcx_curve_keypair(p, s), 0);
    assert_int_equal(ipcx_z85_encode(bad_pub, sizeof(bad_pub), p, 32), 40);
    assert_int_equal(ipcx_z85_encode(bad_sec, sizeof(bad_sec), s, 32), 40);
}

static uint8_t *big(void)
{
    static uint8_t *b;
    if (b == NULL) {
        b = malloc(BIGSZ);
        assert_non_null(b);
        uint64_t st = 0x5eedULL;
        for (size_t i = 0; i < BIGSZ; i++)
            b[i] = (uint8_t)(tu_rand(&st) >> 13);
    }
    return b;
}

/* ------------------------------------------------------------ libzmq side */

enum { M_PLAIN = 1, M_CURVE = 2, M_NULL = 3 };
enum { S_ECHO, S_REQ, S_PULL, S_SUB, S_REFUSED };

typedef struct zcfg {
    int type;
    bool bind;
    int tp; /* 0 tcp, 1 ipc */
    int mech;
    bool server;
    const char *user, *pass;                 /* PLAIN client */
    const char *key_pub, *key_sec, *key_srv; /* CURVE */
    const char *zap_user, *zap_pass;         /* ZAP: accept only these (PLAIN) */
    const char *zap_key;                     /* ZAP: accept only this key (CURVE) */
    int script;
    int n;
    bool expect_auth; /* S_REFUSED: an authentication failure (else any failure) */
} zcfg;

typedef struct zap_arg {
    void *h; /* bound before the thread starts, so no handshake comes first */
    const zcfg *c;
} zap_arg;

/* A ZAP handler (RFC 27) in the child: 200 for the one allowed user or
 * key, 400 for everyone else. */
static void *zap_thread(void *a)
{
    zap_arg *za = a;
    void *h = za->h;
    for (;;) {
        zmq_msg_t f[8];
        int n = 0, more = 1;
        while (more && n < 8) {
            zmq_msg_init(&f[n]);
            if (zmq_msg_recv(&f[n], h, 0) < 0) {
                zmq_close(h);
                return NULL;
            }
            more = zmq_msg_more(&f[n]);
            n++;
        }
        bool ok = false;
        const char *mech = n > 5 ? (const char *)zmq_msg_data(&f[5]) : "";
        if (n >= 8 && strncmp(mech, "PLAIN", 5) == 0 && za->c->zap_user != NULL)
            ok = zmq_msg_size(&f[6]) == strlen(za->c->zap_user) &&
                 memcmp(zmq_msg_data(&f[6]), za->c->zap_user, zmq_msg_size(&f[6])) == 0 &&
                 zmq_msg_size(&f[7]) == strlen(za->c->zap_pass) &&
                 memcmp(zmq_msg_data(&f[7]), za->c->zap_pass, zmq_msg_size(&f[7])) == 0;
        if (n >= 7 && strncmp(mech, "CURVE", 5) == 0) {
            uint8_t want[32];
            ok = za->c->zap_key == NULL ||
                 (zmq_z85_decode(want, za->c->zap_key) != NULL && zmq_msg_size(&f[6]) == 32 &&
                  memcmp(zmq_msg_data(&f[6]), want, 32) == 0);
        }
        zmq_send(h, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(h, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        zmq_send(h, ok ? "200" : "400", 3, ZMQ_SNDMORE);
        zmq_send(h, ok ? "OK" : "denied", ok ? 2 : 6, ZMQ_SNDMORE);
        zmq_send(h, "", 0, ZMQ_SNDMORE);
        zmq_send(h, "", 0, 0);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
}

static int zrecv(void *z, uint8_t **parts, size_t *lens, int max)
{
    int n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z, 0) < 0)
            return -1;
        if (n < max) {
            lens[n] = zmq_msg_size(&m);
            parts[n] = malloc(lens[n] + 1);
            memcpy(parts[n], zmq_msg_data(&m), lens[n]);
            n++;
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (!more)
            return n;
    }
}

/* The messages of every conversation: "hello", a multipart with an empty
 * part, a 300-byte frame, 1 MiB + 3. */
static size_t conv_msg(int i, const uint8_t **p, size_t *l)
{
    switch (i % 4) {
    case 0:
        p[0] = (const uint8_t *)"hello";
        l[0] = 5;
        return 1;
    case 1:
        p[0] = (const uint8_t *)"first";
        l[0] = 5;
        p[1] = (const uint8_t *)"";
        l[1] = 0;
        p[2] = (const uint8_t *)"third";
        l[2] = 5;
        return 3;
    case 2:
        p[0] = big() + 11;
        l[0] = 300;
        return 1;
    default:
        p[0] = big();
        l[0] = BIGSZ;
        return 1;
    }
}

static bool zcheck(int i, uint8_t **parts, size_t *lens, int n)
{
    const uint8_t *p[4];
    size_t l[4];
    size_t k = conv_msg(i, p, l);
    if ((size_t)n != k)
        return false;
    for (size_t j = 0; j < k; j++)
        if (lens[j] != l[j] || memcmp(parts[j], p[j], l[j]) != 0)
            return false;
    return true;
}

static void zsend(void *z, int i)
{
    const uint8_t *p[4];
    size_t l[4];
    size_t k = conv_msg(i, p, l);
    for (size_t j = 0; j < k; j++)
        if (zmq_send(z, l[j] ? p[j] : (const uint8_t *)"", l[j], j + 1 < k ? ZMQ_SNDMORE : 0) < 0)
            _exit(11);
}

/* Wait for a handshake failure on the monitor: 0 when it came (an auth
 * failure when @auth). */
static int zmon_refused(void *mon, bool auth)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) < 0)
            return 1;
        uint16_t ev;
        memcpy(&ev, zmq_msg_data(&m), 2);
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        (void)zmq_msg_recv(&m, mon, 0); /* the address */
        zmq_msg_close(&m);
        if (getenv("SEC_DEBUG"))
            fprintf(stderr, "libzmq event 0x%x\n", ev);
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            return 0;
        if (!auth && (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                      ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || ev == ZMQ_EVENT_DISCONNECTED))
            return 0;
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            return 2;
    }
}

static int zchild(const zcfg *c, const char *ep, int wfd)
{
    void *ctx = zmq_ctx_new();
    pthread_t zt;
    zap_arg za = {NULL, c};
    bool zap = c->zap_user != NULL || c->zap_key != NULL;
    if (zap) {
        za.h = zmq_socket(ctx, ZMQ_REP);
        if (zmq_bind(za.h, "inproc://zeromq.zap.01") != 0)
            _exit(10);
        pthread_create(&zt, NULL, zap_thread, &za);
    }
    void *z = zmq_socket(ctx, c->type);
    int one = 1, tmo = 10000, zero = 0;
    zmq_setsockopt(z, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
    zmq_setsockopt(z, ZMQ_SNDTIMEO, &tmo, sizeof(tmo));
    zmq_setsockopt(z, ZMQ_LINGER, &tmo, sizeof(tmo));
    (void)zero;
    if (c->mech == M_PLAIN && c->server)
        zmq_setsockopt(z, ZMQ_PLAIN_SERVER, &one, sizeof(one));
    if (c->mech == M_PLAIN && !c->server) {
        zmq_setsockopt(z, ZMQ_PLAIN_USERNAME, c->user, strlen(c->user));
        zmq_setsockopt(z, ZMQ_PLAIN_PASSWORD, c->pass, strlen(c->pass));
    }
    if (c->mech == M_CURVE) {
        if (c->server)
            zmq_setsockopt(z, ZMQ_CURVE_SERVER, &one, sizeof(one));
        zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, c->key_sec, 40);
        if (c->key_pub != NULL)
            zmq_setsockopt(z, ZMQ_CURVE_PUBLICKEY, c->key_pub, 40);
        if (!c->server)
            zmq_setsockopt(z, ZMQ_CURVE_SERVERKEY, c->key_srv, 40);
    }
    if (c->type == ZMQ_SUB)
        zmq_setsockopt(z, ZMQ_SUBSCRIBE, "", 0);
    void *mon = NULL;
    if (c->script == S_REFUSED) {
        zmq_socket_monitor(z, "inproc://mon", ZMQ_EVENT_ALL);
        mon = zmq_socket(ctx, ZMQ_PAIR);
        zmq_connect(mon, "inproc://mon");
        zmq_setsockopt(mon, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
    }
    char line[300];
    if (c->bind) {
        if (zmq_bind(z, ep) != 0)
            return 12;
        size_t ll = sizeof(line) - 1;
        zmq_getsockopt(z, ZMQ_LAST_ENDPOINT, line, &ll);
    } else {
        if (zmq_connect(z, ep) != 0)
            return 13;
        snprintf(line, sizeof(line), "ok");
    }
    dprintf(wfd, "%s\n", line);
    int rc = 0;
    uint8_t *parts[8];
    size_t lens[8];
    for (int i = 0; i < c->n && rc == 0; i++) {
        int n;
        switch (c->script) {
        case S_ECHO: /* receive, check, send the same back */
            n = zrecv(z, parts, lens, 8);
            if (n < 0 || !zcheck(i, parts, lens, n))
                rc = 20 + i;
            for (int k = 0; k < n; k++)
                free(parts[k]);
            if (rc == 0)
                zsend(z, i);
            break;
        case S_REQ: /* send, receive the same back */
            zsend(z, i);
            n = zrecv(z, parts, lens, 8);
            if (n < 0 || !zcheck(i, parts, lens, n))
                rc = 40 + i;
            for (int k = 0; k < n; k++)
                free(parts[k]);
            break;
        case S_PULL:
        case S_SUB:
            n = zrecv(z, parts, lens, 8);
            if (n < 0 || !zcheck(i, parts, lens, n))
                rc = 60 + i;
            for (int k = 0; k < n; k++)
                free(parts[k]);
            break;
        default:
            rc = zmon_refused(mon, c->expect_auth);
            i = c->n;
            break;
        }
    }
    if (mon != NULL) {
        /* A refused client has nothing to flush, and libzmq's ctx_term can
         * hang on a socket that is still reconnecting under a monitor: the
         * process exit is the clean-up. */
        _exit(rc);
    }
    zmq_close(z);
    zmq_ctx_shutdown(ctx);
    if (zap)
        pthread_join(zt, NULL);
    zmq_ctx_term(ctx);
    return rc;
}

typedef struct peer {
    pid_t pid;
    int rfd;
    char ep[300];
} peer;

static const char *arg_of(const char *v)
{
    return v != NULL ? v : "-";
}

static const char *val_of(const char *v)
{
    return strcmp(v, "-") == 0 ? NULL : v;
}

/* Start the libzmq side: this binary again (--helper), so that no lock
 * another thread of this process held at fork time (ipcx's I/O assistant,
 * the sanitizer's allocator) is held for ever in the child.  With
 * @c->bind, pr->ep becomes its endpoint. */
static void zstart(peer *pr, const zcfg *c, const char *ep)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    big();
    keys_init();
    char wfd[16], num[12][16];
    snprintf(wfd, sizeof(wfd), "%d", fds[1]);
    int v[] = {c->type, c->bind, c->tp, c->mech, c->server, c->script, c->n, c->expect_auth};
    for (int i = 0; i < 8; i++)
        snprintf(num[i], sizeof(num[i]), "%d", v[i]);
    char *args[] = {"--helper",
                    wfd,
                    (char *)ep,
                    num[0],
                    num[1],
                    num[2],
                    num[3],
                    num[4],
                    num[5],
                    num[6],
                    num[7],
                    (char *)arg_of(c->user),
                    (char *)arg_of(c->pass),
                    (char *)arg_of(c->key_pub),
                    (char *)arg_of(c->key_sec),
                    (char *)arg_of(c->key_srv),
                    (char *)arg_of(c->zap_user),
                    (char *)arg_of(c->zap_pass),
                    (char *)arg_of(c->zap_key),
                    NULL};
    pr->pid = tu_spawnv(args);
    close(fds[1]);
    pr->rfd = fds[0];
    int n = tu_line_read(fds[0], pr->ep, sizeof(pr->ep), 10000);
    assert_true(n > 0);
}

/* The helper: argv as zstart writes it. */
static int helper_main(int argc, char **argv)
{
    if (argc != 20)
        return 2;
    zcfg c = {.type = atoi(argv[4]),
              .bind = atoi(argv[5]) != 0,
              .tp = atoi(argv[6]),
              .mech = atoi(argv[7]),
              .server = atoi(argv[8]) != 0,
              .script = atoi(argv[9]),
              .n = atoi(argv[10]),
              .expect_auth = atoi(argv[11]) != 0,
              .user = val_of(argv[12]),
              .pass = val_of(argv[13]),
              .key_pub = val_of(argv[14]),
              .key_sec = val_of(argv[15]),
              .key_srv = val_of(argv[16]),
              .zap_user = val_of(argv[17]),
              .zap_pass = val_of(argv[18]),
              .zap_key = val_of(argv[19])};
    return zchild(&c, argv[3], atoi(argv[2]));
}

static int zend(peer *pr)
{
    close(pr->rfd);
    return tu_wait(pr->pid, 30000);
}

/* ------------------------------------------------------------ ipcx side */

static ipcx_socket *isock(int pattern)
{
    ipcx_socket *s = NULL;
    assert_int_equal(ipcx_socket_open(pattern, &s), 0);
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_RECV_TIMEOUT, T_NS), 0);
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_SEND_TIMEOUT, T_NS), 0);
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_EVENTS, 0x1f), 0);
    return s;
}

static void isend(ipcx_socket *s, int i)
{
    const uint8_t *p[4];
    size_t l[4];
    size_t k = conv_msg(i, p, l);
    for (size_t j = 0; j < k; j++)
        assert_int_equal(ipcx_send(s, p[j], l[j], j + 1 < k ? IPCX_MORE : 0), (int)l[j]);
}

static void irecv_check(ipcx_socket *s, int i)
{
    ipcx_msg *m = NULL;
    int rc = ipcx_msg_recv(s, &m, 0);
    if (rc != 0)
        print_error("ipcx_msg_recv of message %d: %s\n", i, ipcx_strerror(rc));
    assert_int_equal(rc, 0);
    const uint8_t *p[4];
    size_t l[4];
    size_t k = conv_msg(i, p, l);
    assert_int_equal(ipcx_msg_parts(m), k);
    for (size_t j = 0; j < k; j++) {
        size_t len;
        void *d = ipcx_msg_data(m, j, &len);
        assert_int_equal(len, l[j]);
        assert_memory_equal(d, p[j], l[j]);
    }
    ipcx_msg_destroy(m);
}

static void ikey(ipcx_socket *s, int opt, const char *z85)
{
    assert_int_equal(ipcx_socket_set_bytes(s, opt, z85, 40), 0);
}

static void curve_server(ipcx_socket *s)
{
    keys_init();
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_CURVE_SERVER, 1), 0);
    ikey(s, IPCX_OPT_CURVE_SECRETKEY, srv_sec);
}

static void curve_client(ipcx_socket *s, const char *pub, const char *sec, const char *srv)
{
    keys_init();
    ikey(s, IPCX_OPT_CURVE_SECRETKEY, sec);
    ikey(s, IPCX_OPT_CURVE_PUBLICKEY, pub);
    ikey(s, IPCX_OPT_CURVE_SERVERKEY, srv);
}

static int plain_auth(void *arg, const ipcx_auth_request *rq)
{
    int *count = arg;
    (*count)++;
    if (rq->mechanism != IPCX_MECH_PLAIN || rq->peer == NULL)
        return -1;
    return rq->username_len == 5 && memcmp(rq->username, "admin", 5) == 0 &&
                   rq->password_len == 6 && memcmp(rq->password, "secret", 6) == 0
               ? 0
               : -1;
}

/* Wait for an event of @type whose reason contains @what (NULL: any);
 * into @out.  Drives the socket meanwhile. */
static int wait_event_for(ipcx_socket *s, int type, const char *what, ipcx_event *out)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 20)
            break;
        ipcx_event ev;
        (void)ipcx_socket_events(s, 0);
        while (ipcx_socket_event(s, &ev) == 0) {
            if (getenv("SEC_DEBUG"))
                fprintf(stderr, "event %d err %d: %s\n", ev.type, ev.err, ev.reason);
            if (ev.type == type && (what == NULL || strstr(ev.reason, what) != NULL)) {
                if (out != NULL)
                    *out = ev;
                return 0;
            }
        }
        ipcx_pollitem it = {s, -1, IPCX_POLLEVENT, 0};
        (void)ipcx_poll(&it, 1, 10000000);
    }
    return -ETIMEDOUT;
}

static int wait_event(ipcx_socket *s, int type, ipcx_event *out)
{
    return wait_event_for(s, type, NULL, out);
}

static void endpoint_of(ipcx_socket *s, char *buf, size_t cap)
{
    assert_true(ipcx_socket_endpoint(s, 0, buf, cap) > 0);
}

/* The URL to listen on: tcp port 0 or a fresh unix path. */
static void listen_url(int tp, char *ipcx_url, size_t cap)
{
    char name[64];
    if (tp == 0) {
        snprintf(ipcx_url, cap, "tcp://127.0.0.1:0");
    } else {
        tu_unique(name, sizeof(name), "sec");
        snprintf(ipcx_url, cap, "unix:///tmp/%s.sock", name);
    }
}

/* ipcx's URL for libzmq's endpoint and the reverse. */
static void to_ipcx(const char *zep, char *out, size_t cap)
{
    int n = strncmp(zep, "ipc://", 6) == 0 ? snprintf(out, cap, "unix://%s", zep + 6)
                                           : snprintf(out, cap, "%s", zep);
    assert_true(n > 0 && (size_t)n < cap);
}

static void to_zmq(const char *iep, char *out, size_t cap)
{
    if (strncmp(iep, "unix://", 7) == 0)
        snprintf(out, cap, "ipc://%s", iep + 7);
    else
        snprintf(out, cap, "%s", iep);
}

static void zmq_listen_url(int tp, char *out, size_t cap)
{
    char name[64];
    if (tp == 0) {
        snprintf(out, cap, "tcp://127.0.0.1:*");
    } else {
        tu_unique(name, sizeof(name), "secz");
        snprintf(out, cap, "ipc:///tmp/%s.sock", name);
    }
}

/* ------------------------------------------------------------ tests */

static int tp_of(void **state)
{
    return *state != NULL ? *(int *)*state : 0;
}

/* PLAIN, ipcx the server (REP): a good libzmq client is served while a
 * bad password is refused with ERROR 400. */
static void test_plain_ipcx_server(void **state)
{
    int tp = tp_of(state);
    ipcx_socket *s = isock(IPCX_REP);
    int calls = 0;
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_PLAIN_SERVER, 1), 0);
    assert_int_equal(ipcx_socket_set_auth(s, plain_auth, &calls), 0);
    int64_t mech = -1;
    assert_int_equal(ipcx_socket_get(s, IPCX_OPT_MECHANISM, &mech), 0);
    assert_int_equal(mech, IPCX_MECH_PLAIN);
    char url[256], ep[256], zep[300];
    listen_url(tp, url, sizeof(url));
    assert_int_equal(ipcx_listen(s, url), 0);
    endpoint_of(s, ep, sizeof(ep));
    to_zmq(ep, zep, sizeof(zep));
    /* libzmq 4.3's PLAIN client reads a well-formed ERROR as a protocol
     * error (it expects its own misspelt "^RROR"): any failure will do. */
    zcfg bad = {.type = ZMQ_REQ,
                .mech = M_PLAIN,
                .user = "admin",
                .pass = "wrong",
                .script = S_REFUSED,
                .n = 1};
    zcfg good = {.type = ZMQ_REQ,
                 .mech = M_PLAIN,
                 .user = "admin",
                 .pass = "secret",
                 .script = S_REQ,
                 .n = 4};
    peer pb, pg;
    zstart(&pb, &bad, zep);
    zstart(&pg, &good, zep);
    for (int i = 0; i < 4; i++) {
        irecv_check(s, i);
        isend(s, i);
    }
    assert_int_equal(zend(&pg), 0);
    /* The refusal happens in the socket's calls: keep driving it. */
    ipcx_event ev;
    assert_int_equal(wait_event(s, IPCX_EV_HANDSHAKE_FAILED, &ev), 0);
    assert_int_equal(ev.err, -EACCES);
    assert_non_null(strstr(ev.reason, "refused"));
    assert_int_equal(zend(&pb), 0);
    ipcx_socket_stats st;
    assert_int_equal(ipcx_socket_stats_get(s, &st), 0);
    assert_true(st.auth_refused >= 1);
    assert_true(calls >= 2);
    ipcx_socket_close(s);
}

/* PLAIN, libzmq the server (REP with a ZAP handler): ipcx's good client is
 * answered, its bad one refused with "access denied". */
static void test_plain_zmq_server(void **state)
{
    int tp = tp_of(state);
    char zurl[256], url[300];
    zmq_listen_url(tp, zurl, sizeof(zurl));
    zcfg srv = {.type = ZMQ_REP,
                .bind = true,
                .mech = M_PLAIN,
                .server = true,
                .zap_user = "admin",
                .zap_pass = "secret",
                .script = S_ECHO,
                .n = 4};
    peer pz;
    zstart(&pz, &srv, zurl);
    to_ipcx(pz.ep, url, sizeof(url));
    ipcx_socket *bad = isock(IPCX_REQ);
    assert_int_equal(ipcx_socket_set_bytes(bad, IPCX_OPT_PLAIN_USERNAME, "admin", 5), 0);
    assert_int_equal(ipcx_socket_set_bytes(bad, IPCX_OPT_PLAIN_PASSWORD, "nope", 4), 0);
    assert_int_equal(ipcx_dial(bad, url), 0);
    ipcx_socket *s = isock(IPCX_REQ);
    assert_int_equal(ipcx_socket_set_bytes(s, IPCX_OPT_PLAIN_USERNAME, "admin", 5), 0);
    assert_int_equal(ipcx_socket_set_bytes(s, IPCX_OPT_PLAIN_PASSWORD, "secret", 6), 0);
    assert_int_equal(ipcx_dial(s, url), 0);
    ipcx_event ev;
    assert_int_equal(wait_event_for(bad, IPCX_EV_HANDSHAKE_FAILED, "access denied", &ev), 0);
    assert_int_equal(ev.err, -EACCES);
    for (int i = 0; i < 4; i++) {
        isend(s, i);
        irecv_check(s, i);
    }
    assert_int_equal(zend(&pz), 0);
    ipcx_socket_close(bad);
    ipcx_socket_close(s);
}

/* CURVE, ipcx the server: REP for a libzmq REQ, with the allow-list read
 * from a directory; an unlisted key is refused meanwhile. */
/* The allow-list as a directory of public-key files (as_file 0), or as
 * one file of several keys, authorized_keys style: comment lines, bare Z85
 * lines and zcert `public-key = "..."` lines (as_file 1). */
static void curve_ipcx_server_rep(int tp, int as_file)
{
    keys_init();
    char dir[128], file[200], name[64];
    tu_unique(name, sizeof(name), "allow");
    snprintf(dir, sizeof(dir), "/tmp/%s", name);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof(file), "%s/client.key", dir);
    if (as_file) {
        /* Two other keys (one of each form) around the client's. */
        char other1[41], other2[41];
        uint8_t op[32], os[32];
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        assert_int_equal(ipcx_curve_keypair(op, os), 0);
        assert_int_equal(ipcx_z85_encode(other1, sizeof(other1), op, 32), 40);
        assert_int_equal(ipcx_curve_keypair(op, os), 0);
        assert_int_equal(ipcx_z85_encode(other2, sizeof(other2), op, 32), 40);
        fprintf(f, "# clients allowed in\n%s\n\n  public-key = \"%s\"\n%s\n", other1, cli_pub,
                other2);
        fclose(f);
    } else {
        uint8_t cp[32];
        assert_int_equal(ipcx_z85_decode(cp, 32, cli_pub, 40), 32);
        assert_int_equal(ipcx_curve_public_file_write(file, cp), 0);
    }
    ipcx_socket *s = isock(IPCX_REP);
    curve_server(s);
    assert_int_equal(ipcx_socket_curve_allow(s, as_file ? file : dir), 0);
    char url[256], ep[256], zep[300];
    listen_url(tp, url, sizeof(url));
    assert_int_equal(ipcx_listen(s, url), 0);
    endpoint_of(s, ep, sizeof(ep));
    to_zmq(ep, zep, sizeof(zep));
    zcfg bad = {.type = ZMQ_REQ,
                .mech = M_CURVE,
                .key_pub = bad_pub,
                .key_sec = bad_sec,
                .key_srv = srv_pub,
                .script = S_REFUSED,
                .n = 1,
                .expect_auth = true};
    zcfg good = {.type = ZMQ_REQ,
                 .mech = M_CURVE,
                 .key_pub = cli_pub,
                 .key_sec = cli_sec,
                 .key_srv = srv_pub,
                 .script = S_REQ,
                 .n = 4};
    peer pb, pg;
    zstart(&pb, &bad, zep);
    zstart(&pg, &good, zep);
    for (int i = 0; i < 4; i++) {
        irecv_check(s, i);
        isend(s, i);
    }
    assert_int_equal(zend(&pg), 0);
    ipcx_event ev;
    assert_int_equal(wait_event(s, IPCX_EV_HANDSHAKE_FAILED, &ev), 0);
    assert_int_equal(ev.err, -EACCES);
    assert_non_null(strstr(ev.reason, bad_pub));
    assert_int_equal(zend(&pb), 0);
    ipcx_socket_stats st;
    assert_int_equal(ipcx_socket_stats_get(s, &st), 0);
    assert_int_equal(st.auth_refused, 1);
    ipcx_socket_close(s);
    unlink(file);
    rmdir(dir);
}

static void test_curve_ipcx_server_rep(void **state)
{
    curve_ipcx_server_rep(tp_of(state), 0);
}

static void test_curve_allow_list_file(void **state)
{
    curve_ipcx_server_rep(tp_of(state), 1);
}

/* CURVE, libzmq the server: PAIR, ipcx dials; ZAP accepts only cli_pub. */
static void test_curve_zmq_server_pair(void **state)
{
    int tp = tp_of(state);
    keys_init();
    char zurl[256], url[300];
    zmq_listen_url(tp, zurl, sizeof(zurl));
    zcfg srv = {.type = ZMQ_PAIR,
                .bind = true,
                .mech = M_CURVE,
                .server = true,
                .key_sec = srv_sec,
                .zap_key = cli_pub,
                .script = S_ECHO,
                .n = 8};
    peer pz;
    zstart(&pz, &srv, zurl);
    to_ipcx(pz.ep, url, sizeof(url));
    /* A libzmq ZAP handler refusing a key: ipcx's client learns why. */
    ipcx_socket *bad = isock(IPCX_PAIR);
    curve_client(bad, bad_pub, bad_sec, srv_pub);
    assert_int_equal(ipcx_dial(bad, url), 0);
    ipcx_event ev;
    assert_int_equal(wait_event_for(bad, IPCX_EV_HANDSHAKE_FAILED, "access denied", &ev), 0);
    assert_int_equal(ev.err, -EACCES);
    ipcx_socket_close(bad);
    ipcx_socket *s = isock(IPCX_PAIR);
    curve_client(s, cli_pub, cli_sec, srv_pub);
    assert_int_equal(ipcx_dial(s, url), 0);
    for (int i = 0; i < 8; i++) {
        isend(s, i);
        irecv_check(s, i);
    }
    assert_int_equal(zend(&pz), 0);
    ipcx_socket_close(s);
}

/* CURVE PUSH (ipcx server, listening) to a libzmq PULL, a burst of every
 * message kind; then ipcx REQ as the client of a libzmq REP server. */
static void test_curve_push_pull(void **state)
{
    int tp = tp_of(state);
    keys_init();
    ipcx_socket *s = isock(IPCX_PUSH);
    curve_server(s);
    char url[256], ep[256], zep[300];
    listen_url(tp, url, sizeof(url));
    assert_int_equal(ipcx_listen(s, url), 0);
    endpoint_of(s, ep, sizeof(ep));
    to_zmq(ep, zep, sizeof(zep));
    zcfg pull = {.type = ZMQ_PULL,
                 .mech = M_CURVE,
                 .key_pub = cli_pub,
                 .key_sec = cli_sec,
                 .key_srv = srv_pub,
                 .script = S_PULL,
                 .n = 12};
    peer pz;
    zstart(&pz, &pull, zep);
    for (int i = 0; i < 12; i++)
        isend(s, i);
    assert_int_equal(zend(&pz), 0);
    ipcx_socket_close(s);

    /* ipcx as a CURVE client of a libzmq server: ipcx REQ to a libzmq REP
     * (the peer's scripts have no PUSH that sends the catalogue). */
    char zurl[256], iurl[300];
    zmq_listen_url(tp, zurl, sizeof(zurl));
    zcfg rep = {.type = ZMQ_REP,
                .bind = true,
                .mech = M_CURVE,
                .server = true,
                .key_sec = srv_sec,
                .script = S_ECHO,
                .n = 8};
    zstart(&pz, &rep, zurl);
    to_ipcx(pz.ep, iurl, sizeof(iurl));
    ipcx_socket *c = isock(IPCX_REQ);
    curve_client(c, cli_pub, cli_sec, srv_pub);
    assert_int_equal(ipcx_dial(c, iurl), 0);
    for (int i = 0; i < 8; i++) {
        isend(c, i);
        irecv_check(c, i);
    }
    assert_int_equal(zend(&pz), 0);
    ipcx_socket_close(c);
}

/* Refusals: a client with the wrong server key (both ways), NULL against
 * CURVE (both ways), and the listener serving a good client meanwhile. */
static void test_curve_refusals(void **state)
{
    int tp = tp_of(state);
    keys_init();
    ipcx_socket *s = isock(IPCX_REP);
    curve_server(s);
    char url[256], ep[256], zep[300];
    listen_url(tp, url, sizeof(url));
    assert_int_equal(ipcx_listen(s, url), 0);
    endpoint_of(s, ep, sizeof(ep));
    to_zmq(ep, zep, sizeof(zep));

    /* libzmq with the wrong server key: the HELLO does not open.  (libzmq
     * clients retry: each test below looks for its own reason.) */
    zcfg wrong = {.type = ZMQ_REQ,
                  .mech = M_CURVE,
                  .key_pub = cli_pub,
                  .key_sec = cli_sec,
                  .key_srv = bad_pub,
                  .script = S_REFUSED,
                  .n = 1};
    peer pw;
    zstart(&pw, &wrong, zep);
    ipcx_event ev;
    assert_int_equal(wait_event_for(s, IPCX_EV_HANDSHAKE_FAILED, "HELLO does not open", &ev), 0);
    assert_int_equal(ev.err, -EPROTO);
    /* libzmq NULL against CURVE: libzmq hangs up when it sees our
     * mechanism, before its greeting is whole. */
    zcfg null = {.type = ZMQ_REQ, .mech = M_NULL, .script = S_REFUSED, .n = 1};
    peer pn;
    zstart(&pn, &null, zep);
    assert_int_equal(zend(&pn), 0);
    /* ipcx NULL against CURVE: both ends say why. */
    ipcx_socket *n = isock(IPCX_REQ);
    assert_int_equal(ipcx_dial(n, ep), 0);
    assert_int_equal(wait_event_for(s, IPCX_EV_HANDSHAKE_FAILED, "mechanism mismatch", &ev), 0);
    assert_int_equal(ev.err, -EPROTONOSUPPORT);
    assert_int_equal(wait_event(n, IPCX_EV_HANDSHAKE_FAILED, &ev), 0);
    ipcx_socket_close(n);
    /* ipcx with the wrong server key. */
    ipcx_socket *w = isock(IPCX_REQ);
    curve_client(w, cli_pub, cli_sec, bad_pub);
    assert_int_equal(ipcx_dial(w, ep), 0);
    assert_int_equal(wait_event(w, IPCX_EV_HANDSHAKE_FAILED, &ev), 0);
    ipcx_socket_close(w);
    /* Meanwhile a good client is served. */
    zcfg good = {.type = ZMQ_REQ,
                 .mech = M_CURVE,
                 .key_pub = cli_pub,
                 .key_sec = cli_sec,
                 .key_srv = srv_pub,
                 .script = S_REQ,
                 .n = 4};
    peer pg;
    zstart(&pg, &good, zep);
    for (int i = 0; i < 4; i++) {
        irecv_check(s, i);
        isend(s, i);
    }
    assert_int_equal(zend(&pg), 0);
    assert_int_equal(zend(&pw), 0);
    ipcx_socket_close(s);
}

/* ipcx's authoriser refusing a key, as a libzmq ZAP handler does: the
 * libzmq client sees an authentication failure. */
static int key_auth(void *arg, const ipcx_auth_request *rq)
{
    (void)arg;
    uint8_t ok[32];
    if (rq->mechanism != IPCX_MECH_CURVE || ipcx_z85_decode(ok, 32, cli_pub, 40) != 32)
        return -1;
    return memcmp(rq->public_key, ok, 32) == 0 ? 0 : -1;
}

static void test_curve_callback(void **state)
{
    int tp = tp_of(state);
    keys_init();
    ipcx_socket *s = isock(IPCX_REP);
    curve_server(s);
    assert_int_equal(ipcx_socket_set_auth(s, key_auth, NULL), 0);
    char url[256], ep[256], zep[300];
    listen_url(tp, url, sizeof(url));
    assert_int_equal(ipcx_listen(s, url), 0);
    endpoint_of(s, ep, sizeof(ep));
    to_zmq(ep, zep, sizeof(zep));
    zcfg bad = {.type = ZMQ_REQ,
                .mech = M_CURVE,
                .key_pub = bad_pub,
                .key_sec = bad_sec,
                .key_srv = srv_pub,
                .script = S_REFUSED,
                .n = 1,
                .expect_auth = true};
    peer pb;
    zstart(&pb, &bad, zep);
    ipcx_event ev;
    assert_int_equal(wait_event(s, IPCX_EV_HANDSHAKE_FAILED, &ev), 0);
    assert_int_equal(ev.err, -EACCES);
    assert_int_equal(zend(&pb), 0);
    ipcx_socket *c = isock(IPCX_REQ);
    curve_client(c, cli_pub, cli_sec, srv_pub);
    assert_int_equal(ipcx_dial(c, ep), 0);
    for (int i = 0; i < 4; i++) {
        isend(c, i);
        irecv_check(s, i);
        isend(s, i);
        irecv_check(c, i);
    }
    ipcx_socket_close(c);
    ipcx_socket_close(s);
}

/* ipcx to ipcx: PUB/SUB and DEALER/ROUTER under CURVE, a reconnection
 * after the server restarts (fresh short-term keys, queued output sealed
 * again). */
static void test_curve_ipcx_pubsub(void **state)
{
    int tp = tp_of(state);
    keys_init();
    ipcx_socket *pub = isock(IPCX_PUB);
    curve_server(pub);
    char url[256], ep[256];
    listen_url(tp, url, sizeof(url));
    assert_int_equal(ipcx_listen(pub, url), 0);
    endpoint_of(pub, ep, sizeof(ep));
    ipcx_socket *sub = isock(IPCX_SUB);
    curve_client(sub, cli_pub, cli_sec, srv_pub);
    assert_int_equal(ipcx_socket_set_bytes(sub, IPCX_OPT_SUBSCRIBE, "", 0), 0);
    assert_int_equal(ipcx_dial(sub, ep), 0);
    /* Until the subscription is through, PUB drops: send "sync" until one
     * arrives. */
    for (int tries = 0;; tries++) {
        assert_true(tries < 500);
        assert_int_equal(ipcx_send(pub, "sync", 4, 0), 4);
        char b[8];
        int rc = ipcx_recv(sub, b, sizeof(b), IPCX_DONTWAIT);
        if (rc == 4)
            break;
        (void)ipcx_socket_events(pub, 0);
        usleep(10000);
    }
    assert_int_equal(ipcx_send(pub, "end", 3, 0), 3);
    for (;;) {
        char b[8];
        int rc = ipcx_recv(sub, b, sizeof(b), 0);
        assert_true(rc > 0);
        if (rc == 3)
            break;
    }
    for (int i = 0; i < 8; i++)
        isend(pub, i);
    for (int i = 0; i < 8; i++)
        irecv_check(sub, i);
    ipcx_socket_close(sub);
    ipcx_socket_close(pub);
}

/* Keys: ipcx's Z85 and libzmq's agree both ways; a secret-key file loads
 * and gives the pair back; one that others may read is refused. */
static void test_keys_files(void **state)
{
    (void)state;
    char zp[41], zs[41];
    assert_int_equal(zmq_curve_keypair(zp, zs), 0);
    uint8_t p[32], sk[32], d[32], zd[32];
    assert_int_equal(ipcx_curve_key_parse(sk, zs, 40), 0);
    assert_int_equal(ipcx_curve_public(d, sk), 0);
    assert_int_equal(ipcx_z85_decode(p, 32, zp, 40), 32);
    assert_memory_equal(p, d, 32);
    uint8_t ip[32], is[32];
    assert_int_equal(ipcx_curve_keypair(ip, is), 0);
    char ep[41], es[41], zpub[41];
    assert_int_equal(ipcx_z85_encode(ep, sizeof(ep), ip, 32), 40);
    assert_int_equal(ipcx_z85_encode(es, sizeof(es), is, 32), 40);
    assert_non_null(zmq_z85_decode(zd, ep));
    assert_memory_equal(zd, ip, 32);
    assert_int_equal(zmq_curve_public(zpub, es), 0);
    assert_string_equal(zpub, ep);
    char name[64], path[128];
    tu_unique(name, sizeof(name), "key");
    snprintf(path, sizeof(path), "/tmp/%s.secret", name);
    assert_int_equal(ipcx_curve_secret_file_write(path, ip, is), 0);
    assert_int_equal(ipcx_curve_secret_file_write(path, ip, is), -EEXIST);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t rp[32], rs[32];
    assert_int_equal(ipcx_curve_secret_file_read(path, rp, rs), 0);
    assert_memory_equal(rp, ip, 32);
    assert_memory_equal(rs, is, 32);
    ipcx_socket *s = isock(IPCX_REP);
    assert_int_equal(ipcx_socket_curve_keyfile(s, path), 0);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(ipcx_curve_secret_file_read(path, rp, rs), -EACCES);
    assert_int_equal(ipcx_socket_curve_keyfile(s, path), -EACCES);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(ipcx_curve_secret_file_read(path, rp, rs), -EACCES);
    ipcx_socket_close(s);
    unlink(path);
    /* Bad key options. */
    s = isock(IPCX_REQ);
    assert_int_equal(ipcx_socket_set_bytes(s, IPCX_OPT_CURVE_SERVERKEY, "short", 5), -EINVAL);
    char bad[41];
    memcpy(bad, ep, 41);
    bad[3] = '~'; /* not Z85 */
    assert_int_equal(ipcx_socket_set_bytes(s, IPCX_OPT_CURVE_SERVERKEY, bad, 40), -EINVAL);
    assert_int_equal(ipcx_z85_decode(d, 4, "#####", 5), -EINVAL); /* over 2^32 - 1 */
    ipcx_socket_close(s);
}

/* ipcx keygen: its output loads in libzmq; its files drive ipcx send and
 * recv --curve-*; a secret-key file others may read is refused. */
static void test_cli_keygen(void **state)
{
    (void)state;
    char ipcx[512], dir[128], name[64], cmd[4096], out[4096];
    tu_build_path("tools/ipcx/ipcx", ipcx, sizeof(ipcx));
    tu_unique(name, sizeof(name), "kg");
    snprintf(dir, sizeof(dir), "/tmp/%s", name);
    assert_int_equal(mkdir(dir, 0700), 0);
    /* The printed pair: libzmq derives the same public key. */
    snprintf(cmd, sizeof(cmd), "%s keygen", ipcx);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    char zp[41], zs[41], derived[41];
    assert_int_equal(sscanf(out, "public %40s secret %40s", zp, zs), 2);
    assert_int_equal(zmq_curve_public(derived, zs), 0);
    assert_string_equal(derived, zp);
    uint8_t raw[32];
    assert_non_null(zmq_z85_decode(raw, zp));
    /* Files: the server's pair, a listed client, an unlisted one. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && mkdir allow && %s keygen -s srv -p srv.pub >/dev/null && "
             "%s keygen -s cli -p allow/cli.pub >/dev/null && %s keygen -s other >/dev/null && "
             "stat -c %%a srv && %s keygen --help >/dev/null",
             dir, ipcx, ipcx, ipcx, ipcx);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_string_equal(out, "600\n");
    uint8_t p[32], sk[32];
    snprintf(cmd, sizeof(cmd), "%s/srv", dir);
    assert_int_equal(ipcx_curve_secret_file_read(cmd, p, sk), 0);
    /* A CURVE conversation through the tool, with the allow-list. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && (%s recv --listen -n 2 -t 20 --curve-server srv --curve-allow allow "
             "unix://%s/s.sock > got.txt &) && sleep 0.3 && printf 'hello\\nworld\\n' | "
             "%s send --dial -t 20 --curve-client srv.pub --curve-secret cli unix://%s/s.sock && "
             "for i in $(seq 100); do [ \"$(wc -l < got.txt)\" = 2 ] && break; sleep 0.1; done; "
             "cat got.txt",
             dir, ipcx, dir, ipcx, dir);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_string_equal(out, "hello\nworld\n");
    /* The unlisted key is refused, with the reason. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && (%s recv --listen -n 1 -t 3 --curve-server srv --curve-allow allow "
             "unix://%s/s2.sock 2>/dev/null &) && sleep 0.3 && printf 'x\\n' | "
             "%s send --dial -t 2 --linger 0 --curve-client srv.pub --curve-secret other "
             "unix://%s/s2.sock 2>&1 | grep -c 'access denied' ",
             dir, ipcx, dir, ipcx, dir);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_true(atoi(out) >= 1);
    /* Group-readable: refused. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && chmod 640 srv && %s recv --listen -t 1 --curve-server srv "
             "unix://%s/s3.sock 2>&1; echo rc=$?",
             dir, ipcx, dir);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "group or others may read it"));
    assert_non_null(strstr(out, "rc=1"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
}

static int tcp = 0, ipc = 1;

#define BOTH(fn) cmocka_unit_test_prestate(fn, &tcp), cmocka_unit_test_prestate(fn, &ipc)

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return helper_main(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_files), cmocka_unit_test(test_cli_keygen),
        BOTH(test_plain_ipcx_server),      BOTH(test_plain_zmq_server),
        BOTH(test_curve_ipcx_server_rep),  BOTH(test_curve_allow_list_file),
        BOTH(test_curve_zmq_server_pair),  BOTH(test_curve_push_pull),
        BOTH(test_curve_refusals),         BOTH(test_curve_callback),
        BOTH(test_curve_ipcx_pubsub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
