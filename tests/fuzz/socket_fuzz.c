// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a real ipcx listener fed a byte stream by a raw peer.
 *
 * Five listening sockets - PULL, SUB, REP, ROUTER, PAIR - each on
 * tcp://127.0.0.1:0 and on an abstract unix:// name, are opened on the
 * first input and kept for the whole run (a handshake timeout of 300 ms,
 * linger 0, every peer event queued).  Each input is one connection from a
 * plain socket: it connects, waits for the listener's greeting (so the
 * connection was accepted), writes the stream - in the chunks the input
 * names, driving the ipcx socket between them - and half-closes (or
 * aborts), then drives the ipcx socket until it has seen the connection go
 * (a handshake failure or a disconnect counted in its statistics).  The
 * ipcx side is driven only through the public calls a user makes:
 * ipcx_poll() with 1 ms timeouts, ipcx_msg_recv() or part by part
 * ipcx_recv()/ipcx_recv_size() with IPCX_DONTWAIT, replies with
 * ipcx_msg_send(), ipcx_socket_event(), ipcx_socket_stats_get(); every
 * byte handed out is read.
 *
 * Input layout (as zmtp_fuzz): octet 0 is the configuration, octet 1 the
 * number k of chunk-size octets that follow, then the stream.
 *   cfg bits 0-2  the listener: (cfg & 7) % 5 = PULL, SUB, REP, ROUTER, PAIR
 *   bit 3         unix:// instead of tcp://
 *   bit 4         IPCX_OPT_MAX_MSG_SIZE 256 (else 1 MiB), so the limit
 *                 paths are reached with small inputs
 *   bit 5         receive part by part (ipcx_recv, a 16-octet buffer
 *                 first: -EMSGSIZE, then ipcx_recv_size)
 *   bit 6         PAIR and ROUTER send what they receive back (REP always
 *                 replies: it must, to receive again)
 *   bit 7         abortive close (SO_LINGER 0) instead of a half-close
 *
 * A connection the socket has not seen gone 2.5 s after it was closed, or a
 * dead connection's state not freed, is a hang or a leak in the library:
 * the target aborts.  Seeds (a valid ZMTP prefix gets past the handshake)
 * come from socket_corpus_gen.c.  SOCKET_FUZZ_TRACE=1 in the environment
 * prints, per input, what the socket made of it.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ipcx/ipcx.h>

#include "socket/socket_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_LSN         5
#define MS            ((int64_t)1000000)
#define CONNECT_BOUND (4000 * MS) /* the kernel's handshake: one SYN retransmit */
#define GONE_BOUND    (2500 * MS) /* accepted and written, then seen gone, each by then */
#define MAX_CHUNKS    256         /* chunked writes per input; the rest goes in one */
#define MAX_REPLIES   4096        /* per input: a bound on what PAIR and ROUTER send back */

enum {
    CFG_UNIX = 0x08,
    CFG_SMALL = 0x10,
    CFG_PARTS = 0x20,
    CFG_REPLY = 0x40,
    CFG_ABORT = 0x80,
};

typedef struct lsn {
    ipcx_socket *s;
    int pattern;
    uint16_t port;
    char name[64]; /* the abstract unix:// name, without the '@' */
} lsn;

static lsn lsns[N_LSN];
static int ready;
static volatile uint64_t sink; /* what every byte handed out is folded into */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fold(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = sink;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    sink = h;
}

/* The library's log lines carry peer-chosen text (an ERROR's reason):
 * read every one. */
static void log_hook(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    fold(msg, strlen(msg));
}

static void die(const char *what)
{
    fprintf(stderr, "socket_fuzz: %s\n", what);
    abort();
}

static void close_all(void)
{
    for (int i = 0; i < N_LSN; i++) {
        ipcx_socket_close(lsns[i].s);
        lsns[i].s = NULL;
    }
}

static void setup(void)
{
    static const int patterns[N_LSN] = {IPCX_PULL, IPCX_SUB, IPCX_REP, IPCX_ROUTER, IPCX_PAIR};
    ipcx_log_set(log_hook, NULL, IPCX_LOG_DEBUG);
    for (int i = 0; i < N_LSN; i++) {
        lsn *l = &lsns[i];
        l->pattern = patterns[i];
        if (ipcx_socket_open(l->pattern, &l->s) != 0)
            die("ipcx_socket_open failed");
        if (ipcx_socket_set(l->s, IPCX_OPT_HANDSHAKE_TIMEOUT, 300 * MS) != 0 ||
            ipcx_socket_set(l->s, IPCX_OPT_LINGER, 0) != 0 ||
            ipcx_socket_set(l->s, IPCX_OPT_EVENTS,
                            IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED | IPCX_EV_HANDSHAKE_FAILED) !=
                0)
            die("ipcx_socket_set failed");
        if (l->pattern == IPCX_SUB &&
            (ipcx_socket_set_bytes(l->s, IPCX_OPT_SUBSCRIBE, "A", 1) != 0 ||
             ipcx_socket_set_bytes(l->s, IPCX_OPT_SUBSCRIBE, "top", 3) != 0))
            die("subscribe failed");
        char url[128];
        if (ipcx_listen(l->s, "tcp://127.0.0.1:0") != 0 ||
            ipcx_socket_endpoint(l->s, 0, url, sizeof(url)) < 0)
            die("tcp listen failed");
        const char *colon = strrchr(url, ':');
        l->port = (uint16_t)atoi(colon + 1);
        snprintf(l->name, sizeof(l->name), "ipcx-socket-fuzz-%ld-%d", (long)getpid(), i);
        snprintf(url, sizeof(url), "unix://@%s", l->name);
        if (ipcx_listen(l->s, url) != 0)
            die("unix listen failed");
    }
    atexit(close_all);
    ready = 1;
}

/*
 * Connect without blocking (libFuzzer's timer signal interrupts a blocking
 * connect).  A tcp:// client binds a source address that rotates over
 * 127.0.0.2-254: the listener closes first whenever it drops a peer, so
 * TIME_WAIT entries pile up at its port (tens of thousands a minute), and
 * a SYN that lands on one can wait a second for a retransmit; rotating
 * the source spreads them over 253 times as many address pairs.
 */
static int client_connect(const lsn *l, int unix_tp)
{
    static unsigned turn;
    union {
        struct sockaddr sa;
        struct sockaddr_un un;
        struct sockaddr_in in;
    } to = {0};
    socklen_t len;
    int fd = socket(unix_tp ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die("socket failed");
    if (unix_tp) {
        size_t n = strlen(l->name);
        to.un.sun_family = AF_UNIX;
        memcpy(to.un.sun_path + 1, l->name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + turn++ % 253)};
        (void)bind(fd, (struct sockaddr *)&src, sizeof(src)); /* else the kernel picks */
        to.in.sin_family = AF_INET;
        to.in.sin_port = htons(l->port);
        to.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(to.in);
    }
    if (connect(fd, &to.sa, len) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EAGAIN) {
        fprintf(stderr, "socket_fuzz: connect: %s\n", strerror(errno));
        die("connect to the listener failed");
    }
    /* unix:// answers EAGAIN only with a full backlog: the caller drives
     * the listener, so poll and try again; tcp:// completes in the kernel. */
    int64_t deadline = now_ns() + CONNECT_BOUND;
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int r = poll(&pf, 1, 10);
        if (r > 0 && !unix_tp) {
            int err = 0;
            socklen_t el = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
                fprintf(stderr, "socket_fuzz: connect: %s\n", strerror(err));
                die("connect to the listener failed");
            }
            return fd;
        }
        if (unix_tp && connect(fd, &to.sa, len) == 0)
            return fd;
        if (unix_tp && errno != EAGAIN) {
            fprintf(stderr, "socket_fuzz: connect: %s\n", strerror(errno));
            die("connect to the listener failed");
        }
        if (now_ns() > deadline)
            die("connect to the listener took over 4 s");
    }
}

/* Close without TIME_WAIT (thousands of connections a second to one port). */
static void client_close(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* Read and drop what the listener sent.  Returns the octets read, -1 at
 * end of stream or on an error (the listener closed its end). */
static ssize_t client_drain(int fd)
{
    uint8_t buf[4096];
    ssize_t total = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            total += n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return total;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static uint64_t gone_count(ipcx_socket *s)
{
    ipcx_socket_stats st;
    if (ipcx_socket_stats_get(s, &st) != 0)
        die("ipcx_socket_stats_get failed");
    return st.handshake_failures + st.disconnects;
}

/* One message, part by part: a small buffer first (the part stays queued
 * on -EMSGSIZE), then one of the size ipcx_recv_size() gives.  Returns 0
 * and the message in *out, or the error of the first part.  The parts
 * after the first are there already (messages arrive whole). */
static int recv_parts(ipcx_socket *s, ipcx_msg **out)
{
    ipcx_msg *m = NULL;
    for (;;) {
        uint8_t small[16], *big = NULL;
        int n = ipcx_recv(s, small, sizeof(small), IPCX_DONTWAIT);
        if (n == -EMSGSIZE) {
            int sz = ipcx_recv_size(s, IPCX_DONTWAIT);
            if (sz <= (int)sizeof(small))
                die("ipcx_recv_size disagrees with -EMSGSIZE");
            if ((big = malloc((size_t)sz)) == NULL)
                die("out of memory");
            if ((n = ipcx_recv(s, big, (size_t)sz, IPCX_DONTWAIT)) != sz)
                die("ipcx_recv failed after ipcx_recv_size");
        }
        if (n < 0) {
            if (m != NULL)
                die("a later part of a message is missing");
            return n;
        }
        const uint8_t *d = big != NULL ? big : small;
        fold(d, (size_t)n);
        if (m == NULL) {
            if (ipcx_msg_create((size_t)n, &m) != 0)
                die("out of memory");
            if (n > 0)
                memcpy(ipcx_msg_data(m, 0, NULL), d, (size_t)n);
        } else if (ipcx_msg_append(m, d, (size_t)n) < 0) {
            die("out of memory");
        }
        free(big);
        int64_t more = 0;
        if (ipcx_socket_get(s, IPCX_OPT_RECV_MORE, &more) != 0)
            die("ipcx_socket_get(RECV_MORE) failed");
        if (!more) {
            *out = m;
            return 0;
        }
    }
}

/* Take everything the socket has for the caller now. */
static void take(const lsn *l, int cfg, unsigned *replies)
{
    for (int i = 0; i < 64; i++) {
        ipcx_msg *m = NULL;
        int rc = (cfg & CFG_PARTS) ? recv_parts(l->s, &m) : ipcx_msg_recv(l->s, &m, IPCX_DONTWAIT);
        if (rc != 0) {
            if (rc != -EAGAIN)
                die("receive failed with something other than -EAGAIN");
            break;
        }
        size_t np = ipcx_msg_parts(m);
        for (size_t k = 0; k < np; k++) {
            size_t len;
            const void *d = ipcx_msg_data(m, k, &len);
            fold(d, len);
        }
        if (ipcx_msg_data(m, np, NULL) != NULL)
            die("ipcx_msg_data past the last part");
        bool reply = l->pattern == IPCX_REP || ((cfg & CFG_REPLY) && l->pattern != IPCX_PULL &&
                                                l->pattern != IPCX_SUB && *replies < MAX_REPLIES);
        if (reply) {
            (*replies)++;
            rc = ipcx_msg_send(l->s, m, IPCX_DONTWAIT);
            if (rc == 0)
                m = NULL;
            else if (l->pattern == IPCX_REP)
                die("REP could not reply");
        }
        ipcx_msg_destroy(m);
    }
    ipcx_event ev;
    while (ipcx_socket_event(l->s, &ev) == 0) {
        fold(ev.endpoint, strlen(ev.endpoint));
        fold(ev.peer, strlen(ev.peer));
        fold(ev.reason, strlen(ev.reason));
    }
}

static void drive(const lsn *l, int cfg, int64_t timeout_ns, unsigned *replies)
{
    ipcx_pollitem it = {.socket = l->s, .fd = -1, .events = IPCX_POLLIN};
    int rc = ipcx_poll(&it, 1, timeout_ns);
    if (rc < 0 && rc != -EINTR)
        die("ipcx_poll failed");
    take(l, cfg, replies);
}

/* The dead connection's state is freed once the socket lets go of its
 * mutex (nothing sleeps in the socket's epoll set: this is the only
 * caller), and the socket has no peer left. */
static void check_freed(const lsn *l, int cfg)
{
    ipcx_socket_stats st;
    if (ipcx_socket_stats_get(l->s, &st) != 0 || st.peers != 0)
        die("a peer is still counted after its connection went");
    static int trace = -1;
    if (trace < 0)
        trace = getenv("SOCKET_FUZZ_TRACE") != NULL;
    if (trace)
        fprintf(stderr,
                "socket_fuzz: cfg %02x %s: received %llu, sent %llu, filtered %llu, drops %llu, "
                "connects %llu, handshake failures %llu, disconnects %llu\n",
                cfg, ipcx_zmtp_socket_name(l->pattern), (unsigned long long)st.msgs_received,
                (unsigned long long)st.msgs_sent, (unsigned long long)st.filtered,
                (unsigned long long)st.drops, (unsigned long long)st.connects,
                (unsigned long long)st.handshake_failures, (unsigned long long)st.disconnects);
    pthread_mutex_lock(&l->s->mu);
    uint32_t npipes = l->s->npipes;
    pthread_mutex_unlock(&l->s->mu);
    if (npipes != 0)
        die("a dead connection's pipe was not freed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!ready)
        setup();
    int cfg = data[0];
    const lsn *l = &lsns[(cfg & 7) % N_LSN];
    size_t k = data[1];
    if (k > size - 2)
        k = size - 2;
    const uint8_t *cuts = data + 2, *s = data + 2 + k;
    size_t n = size - 2 - k;
    if (ipcx_socket_set(l->s, IPCX_OPT_MAX_MSG_SIZE, (cfg & CFG_SMALL) ? 256 : 1 << 20) != 0)
        die("ipcx_socket_set(MAX_MSG_SIZE) failed");

    uint64_t gone0 = gone_count(l->s);
    unsigned replies = 0;
    int fd = client_connect(l, cfg & CFG_UNIX);
    int64_t deadline = now_ns() + GONE_BOUND;
    /* Accepted once the listener's greeting arrives. */
    ssize_t got = 0;
    while (got == 0) {
        drive(l, cfg, MS, &replies);
        got = client_drain(fd);
        if (now_ns() > deadline)
            die("the listener never accepted the connection");
    }
    size_t at = 0, c = 0;
    bool peer_closed = got < 0;
    while (at < n && !peer_closed) {
        size_t step = n - at;
        if (k > 0 && c < MAX_CHUNKS) {
            step = (size_t)cuts[c % k] + 1;
            if (step > n - at)
                step = n - at;
        }
        ssize_t w = send(fd, s + at, step, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            at += (size_t)w;
            c++;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            break; /* the listener dropped the connection: the rest is moot */
        }
        drive(l, cfg, w > 0 ? 0 : MS, &replies);
        peer_closed = client_drain(fd) < 0;
        if (now_ns() > deadline)
            die("writing the input took over 2.5 s");
    }
    if (cfg & CFG_ABORT) {
        client_close(fd);
        fd = -1;
    } else {
        (void)shutdown(fd, SHUT_WR);
    }
    deadline = now_ns() + GONE_BOUND;
    while (gone_count(l->s) == gone0) {
        drive(l, cfg, MS, &replies);
        if (fd >= 0)
            (void)client_drain(fd);
        if (now_ns() > deadline)
            die("the socket did not see the connection go within 2.5 s of its close");
    }
    drive(l, cfg, 0, &replies); /* the peer events of its end */
    if (fd >= 0)
        client_close(fd);
    check_freed(l, cfg);
    return 0;
}
