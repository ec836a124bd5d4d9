// SPDX-License-Identifier: MIT
/*
 * CURVE under attack: a man-in-the-middle proxy, in a child process, sits
 * between an ipcx CURVE client and an ipcx CURVE server (PAIR, tcp://) and
 * alters the stream it relays, frame by frame:
 *   - a byte flipped in each handshake command (HELLO, WELCOME, INITIATE,
 *     READY) at several offsets: the handshake fails, nothing is delivered;
 *   - a byte flipped in a MESSAGE: the connection is dropped and the
 *     message never delivered;
 *   - a MESSAGE sent twice (replay): the first is delivered, the copy drops
 *     the connection;
 *   - two MESSAGEs swapped (reordering): the earlier one is never
 *     delivered, the connection is dropped;
 *   - a whole captured client session replayed on a new connection: the
 *     server's fresh cookie key refuses its INITIATE, nothing is delivered.
 * The proxy parses the ZMTP stream (greeting, then frames) only to find
 * frame boundaries; it knows no keys.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <ipcx/ipcx.h>

enum { OP_NONE, OP_FLIP, OP_DUP, OP_SWAP };

typedef struct tamper {
    int dir;   /* 0: client to server, 1: server to client */
    int frame; /* the frame after the greeting, counted from 0 */
    int op;
    int offset; /* OP_FLIP: the byte of the frame's body (negative: from its end) */
} tamper;

/* One direction of the relay: bytes in, whole units out. */
typedef struct flow {
    uint8_t buf[1 << 21];
    size_t len;
    int frames;
    bool greeted;
    uint8_t held[1 << 21]; /* OP_SWAP: the frame kept back */
    size_t held_len;
    int out_fd;
    int capture; /* a file the client's bytes are copied to, or -1 */
} flow;

static void write_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            _exit(0);
        b += w;
        n -= (size_t)w;
    }
}

/* Forward the whole units at the front of @f, altered as @t says. */
static void flow_pump(flow *f, int dir, const tamper *t)
{
    for (;;) {
        size_t unit;
        size_t hl = 0;
        if (!f->greeted) {
            if (f->len < 64)
                return;
            unit = 64;
        } else {
            if (f->len < 2)
                return;
            hl = (f->buf[0] & 2) ? 9 : 2;
            if (f->len < hl)
                return;
            uint64_t size = f->buf[1];
            if (hl == 9) {
                size = 0;
                for (int i = 1; i < 9; i++)
                    size = size << 8 | f->buf[i];
            }
            if (size > sizeof(f->buf) - 9)
                _exit(3);
            if (f->len < hl + size)
                return;
            unit = hl + (size_t)size;
        }
        if (f->capture >= 0)
            write_all(f->capture, f->buf, unit);
        bool hit = f->greeted && t->dir == dir && t->frame == f->frames;
        bool after_swap = f->greeted && t->op == OP_SWAP && t->dir == dir &&
                          f->frames == t->frame + 1 && f->held_len > 0;
        if (hit && t->op == OP_FLIP) {
            size_t body = unit - hl;
            size_t at = t->offset >= 0 ? (size_t)t->offset : body - (size_t)(-t->offset);
            if (at < body)
                f->buf[hl + at] ^= 0x20;
        }
        if (hit && t->op == OP_SWAP) {
            memcpy(f->held, f->buf, unit);
            f->held_len = unit;
        } else {
            write_all(f->out_fd, f->buf, unit);
            if (hit && t->op == OP_DUP)
                write_all(f->out_fd, f->buf, unit);
        }
        if (after_swap) {
            write_all(f->out_fd, f->held, f->held_len);
            f->held_len = 0;
        }
        if (f->greeted)
            f->frames++;
        f->greeted = true;
        memmove(f->buf, f->buf + unit, f->len - unit);
        f->len -= unit;
    }
}

static flow g_flows[2];

/* The proxy: one session from @lfd to the server at @port, then exit. */
static void proxy(int lfd, int port, const tamper *t, const char *capture)
{
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
        _exit(4);
    close(lfd);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        _exit(5);
    g_flows[0].out_fd = s;
    g_flows[1].out_fd = c;
    /* No stdio, no malloc: the parent had threads when it forked us. */
    g_flows[0].capture = capture != NULL ? open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    g_flows[1].capture = -1;
    int fds[2] = {c, s};
    for (;;) {
        struct pollfd pf[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
        if (poll(pf, 2, 20000) <= 0)
            break;
        for (int d = 0; d < 2; d++) {
            if (!(pf[d].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            flow *f = &g_flows[d];
            ssize_t n = read(fds[d], f->buf + f->len, sizeof(f->buf) - f->len);
            if (n <= 0)
                _exit(0);
            f->len += (size_t)n;
            flow_pump(f, d, t);
        }
    }
    _exit(0);
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t l = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static uint8_t spub[32], ssec[32], cpub[32], csec[32];

static ipcx_socket *server(int *port)
{
    if (spub[0] == 0 && spub[1] == 0) {
        assert_int_equal(ipcx_curve_keypair(spub, ssec), 0);
        assert_int_equal(ipcx_curve_keypair(cpub, csec), 0);
    }
    ipcx_socket *s = NULL;
    assert_int_equal(ipcx_socket_open(IPCX_PAIR, &s), 0);
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_CURVE_SERVER, 1), 0);
    assert_int_equal(ipcx_socket_set_bytes(s, IPCX_OPT_CURVE_SECRETKEY, ssec, 32), 0);
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_EVENTS, 0x1f), 0);
    assert_int_equal(ipcx_listen(s, "tcp://127.0.0.1:0"), 0);
    char ep[128];
    assert_true(ipcx_socket_endpoint(s, 0, ep, sizeof(ep)) > 0);
    *port = atoi(strrchr(ep, ':') + 1);
    return s;
}

static ipcx_socket *client(int port)
{
    ipcx_socket *c = NULL;
    assert_int_equal(ipcx_socket_open(IPCX_PAIR, &c), 0);
    assert_int_equal(ipcx_socket_set_bytes(c, IPCX_OPT_CURVE_SECRETKEY, csec, 32), 0);
    assert_int_equal(ipcx_socket_set_bytes(c, IPCX_OPT_CURVE_SERVERKEY, spub, 32), 0);
    assert_int_equal(ipcx_socket_set(c, IPCX_OPT_EVENTS, 0x1f), 0);
    assert_int_equal(ipcx_socket_set(c, IPCX_OPT_RECONNECT_IVL, (int64_t)5000000000), 0);
    char url[64];
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
    assert_int_equal(ipcx_dial(c, url), 0);
    return c;
}

/* Drive @s for @ms, noting handshake failures and lost connections (the
 * last reason of each into @why). */
static void events_of(ipcx_socket *s, int ms, bool *failed, bool *lost, char *why, size_t cap)
{
    for (int i = 0; i < ms / 10; i++) {
        ipcx_event ev;
        (void)ipcx_socket_events(s, 0);
        while (ipcx_socket_event(s, &ev) == 0) {
            if (ev.type == IPCX_EV_HANDSHAKE_FAILED)
                *failed = true;
            else if (ev.type == IPCX_EV_DISCONNECTED)
                *lost = true;
            else
                continue;
            snprintf(why, cap, "%s", ev.reason);
        }
        ipcx_pollitem it = {s, -1, IPCX_POLLEVENT, 0};
        (void)ipcx_poll(&it, 1, 10000000);
    }
}

static int saw_event(ipcx_socket *s, int type, char *why, size_t cap, int ms)
{
    bool failed = false, lost = false;
    events_of(s, ms, &failed, &lost, why, cap);
    return type == IPCX_EV_HANDSHAKE_FAILED ? failed : lost;
}

/* Every message the server got within @ms, appended to @got (separated by
 * '|'). */
static int collect(ipcx_socket *s, char *got, size_t cap, int ms)
{
    int n = 0;
    for (int i = 0; i < ms / 20; i++) {
        char b[64];
        int rc = ipcx_recv(s, b, sizeof(b) - 1, IPCX_DONTWAIT);
        if (rc >= 0) {
            b[rc] = 0;
            size_t l = strlen(got);
            snprintf(got + l, cap - l, "%s|", b);
            n++;
            continue;
        }
        ipcx_pollitem it = {s, -1, IPCX_POLLIN, 0};
        (void)ipcx_poll(&it, 1, 20000000);
    }
    return n;
}

typedef struct outcome {
    char got[256];
    char srv_why[160], cli_why[160];
    bool srv_failed, cli_failed, srv_lost;
} outcome;

/* One session through the proxy: the client sends m0 and m1. */
static void run(const tamper *t, const char *capture, outcome *o)
{
    memset(o, 0, sizeof(*o));
    int sport, pport;
    ipcx_socket *s = server(&sport);
    int lfd = listen_any(&pport);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        proxy(lfd, sport, t, capture);
    close(lfd);
    ipcx_socket *c = client(pport);
    /* The client's first handshake, done or spoilt: send only after one
     * completed (PAIR would wait for a peer that never comes). */
    bool up = false, down = false;
    for (int i = 0; i < 300 && !up && !down; i++) {
        ipcx_event ev;
        (void)ipcx_socket_events(c, 0);
        while (ipcx_socket_event(c, &ev) == 0) {
            up |= ev.type == IPCX_EV_CONNECTED;
            if (ev.type == IPCX_EV_HANDSHAKE_FAILED || ev.type == IPCX_EV_DISCONNECTED) {
                down = true;
                o->cli_failed |= ev.type == IPCX_EV_HANDSHAKE_FAILED;
                snprintf(o->cli_why, sizeof(o->cli_why), "%s", ev.reason);
            }
        }
        ipcx_pollitem it = {c, -1, IPCX_POLLEVENT, 0};
        (void)ipcx_poll(&it, 1, 10000000);
    }
    if (up) {
        assert_int_equal(ipcx_send(c, "m0", 2, 0), 2);
        assert_int_equal(ipcx_send(c, "m1", 2, 0), 2);
    }
    (void)collect(s, o->got, sizeof(o->got), up ? 600 : 100);
    for (int i = 0; i < 50; i++)
        (void)ipcx_socket_events(c, 0);
    events_of(s, 200, &o->srv_failed, &o->srv_lost, o->srv_why, sizeof(o->srv_why));
    bool cli_lost = false;
    events_of(c, 100, &o->cli_failed, &cli_lost, o->cli_why, sizeof(o->cli_why));
    ipcx_socket_close(c);
    ipcx_socket_close(s);
    kill(pid, SIGKILL);
    (void)tu_wait(pid, 5000);
}

static void test_untouched(void **state)
{
    (void)state;
    tamper t = {.op = OP_NONE};
    outcome o;
    run(&t, NULL, &o);
    assert_string_equal(o.got, "m0|m1|");
    assert_false(o.srv_failed);
}

/* A flipped byte in each handshake command, at its first, a middle and its
 * last body byte. */
static void test_flip_handshake(void **state)
{
    (void)state;
    static const struct {
        int dir, frame;
        const char *name;
    } cmds[] = {{0, 0, "HELLO"}, {1, 0, "WELCOME"}, {0, 1, "INITIATE"}, {1, 1, "READY"}};
    static const int offsets[] = {0, 3, 9, 40, 100, -1, -20};
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
        for (size_t j = 0; j < sizeof(offsets) / sizeof(offsets[0]); j++) {
            if (cmds[k].frame == 1 && cmds[k].dir == 1 && offsets[j] == 100)
                continue; /* READY is shorter */
            tamper t = {cmds[k].dir, cmds[k].frame, OP_FLIP, offsets[j]};
            outcome o;
            run(&t, NULL, &o);
            if (o.got[0] != 0 || !(o.srv_failed || o.cli_failed))
                print_error("%s, byte %d flipped: got \"%s\", server \"%s\", client \"%s\"\n",
                            cmds[k].name, offsets[j], o.got, o.srv_why, o.cli_why);
            assert_string_equal(o.got, "");
            assert_true(o.srv_failed || o.cli_failed);
        }
    }
}

static void test_flip_message(void **state)
{
    (void)state;
    static const int offsets[] = {0, 8, 12, 16, 20, -1};
    for (size_t j = 0; j < sizeof(offsets) / sizeof(offsets[0]); j++) {
        tamper t = {0, 2, OP_FLIP, offsets[j]};
        outcome o;
        run(&t, NULL, &o);
        if (o.got[0] != 0 || !o.srv_lost)
            print_error("MESSAGE byte %d flipped: got \"%s\", server \"%s\"\n", offsets[j], o.got,
                        o.srv_why);
        assert_string_equal(o.got, ""); /* m0 altered, m1 behind it on a dead connection */
        assert_true(o.srv_lost);
    }
}

static void test_replay_message(void **state)
{
    (void)state;
    tamper t = {0, 2, OP_DUP, 0};
    outcome o;
    run(&t, NULL, &o);
    assert_string_equal(o.got, "m0|");
    assert_true(o.srv_lost);
    assert_non_null(strstr(o.srv_why, "replayed"));
}

static void test_reorder(void **state)
{
    (void)state;
    tamper t = {0, 2, OP_SWAP, 0};
    outcome o;
    run(&t, NULL, &o);
    assert_null(strstr(o.got, "m0")); /* the earlier one came late: refused */
    assert_true(o.srv_lost);
    assert_non_null(strstr(o.srv_why, "reordered"));
}

/* A captured session replayed byte for byte on a new connection. */
static void test_replay_handshake(void **state)
{
    (void)state;
    char name[64], path[128];
    tu_unique(name, sizeof(name), "cap");
    snprintf(path, sizeof(path), "/tmp/%s", name);
    tamper t = {.op = OP_NONE};
    outcome o;
    run(&t, path, &o);
    assert_string_equal(o.got, "m0|m1|");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t cap[1 << 16];
    size_t n = fread(cap, 1, sizeof(cap), f);
    fclose(f);
    unlink(path);
    assert_true(n > 64 + 200);
    /* The server again (same long-term key, fresh short-term and cookie
     * keys), and the captured bytes from a plain socket. */
    int sport;
    ipcx_socket *s = server(&sport);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sport)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(write(fd, cap, n), (ssize_t)n);
    char got[256] = "", why[160] = "";
    (void)collect(s, got, sizeof(got), 1000);
    assert_string_equal(got, "");
    assert_int_equal(saw_event(s, IPCX_EV_HANDSHAKE_FAILED, why, sizeof(why), 2000), 1);
    assert_non_null(strstr(why, "cookie"));
    close(fd);
    ipcx_socket_close(s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched),    cmocka_unit_test(test_flip_handshake),
        cmocka_unit_test(test_flip_message), cmocka_unit_test(test_replay_message),
        cmocka_unit_test(test_reorder),      cmocka_unit_test(test_replay_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
