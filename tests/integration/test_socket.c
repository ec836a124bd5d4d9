// SPDX-License-Identifier: MIT
/*
 * Sockets between real processes: every pattern over tcp:// and unix://,
 * multipart and 16 MiB messages, and the faults a serious user meets - a
 * peer killed mid-stream, garbage and stalled handshakes, a slow
 * subscriber, 1,000 connections, a dial before the listener exists,
 * oversize messages, the uid allow-list, a paused peer and heartbeats,
 * short reads and writes and EINTR at every I/O call, the level-triggered
 * fd, REQ's ways out of a lost reply, stale and live unix socket files.
 *
 * The test binary re-runs itself as the peer process (--helper ...).
 * Every endpoint is unique to the test run (pid, counter) so ctest -j can
 * run everything at once.  Nothing sleeps to synchronise: peers report
 * over a pipe, and every wait is bounded.
 */
#include "testutil.h"

#include <ipcx/ipcx.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "socket/socket_int.h"

#define SEC  ((int64_t)1000000000)
#define MSEC ((int64_t)1000000)

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ < 0)                                                                               \
            fail_msg("%s:%d: %s: %s", __FILE__, __LINE__, #x, ipcx_strerror(rc_));                 \
    } while (0)

/* In the helper: exit 1 with a line on stderr. */
#define HCHECK(x)                                                                                  \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ < 0) {                                                                             \
            fprintf(stderr, "helper %s:%d: %s: %s\n", __FILE__, __LINE__, #x, ipcx_strerror(rc_)); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static char tmpdir[128];

static void url_for(char *buf, size_t cap, const char *tp)
{
    char u[96];
    tu_unique(u, sizeof(u), "sk");
    if (strcmp(tp, "tcp") == 0)
        snprintf(buf, cap, "tcp://127.0.0.1:0");
    else if (strcmp(tp, "shm") == 0)
        snprintf(buf, cap, "shm://%s/%s", tmpdir, u);
    else
        snprintf(buf, cap, "unix://%s/%s", tmpdir, u);
}

/* Listen on a fresh endpoint of @tp and write the bound URL to @bound. */
static void listen_on(ipcx_socket *s, const char *tp, char *bound, size_t cap)
{
    char url[300];
    url_for(url, sizeof(url), tp);
    CHECK(ipcx_listen(s, url));
    CHECK(ipcx_socket_endpoint(s, 0, bound, cap));
}

static ipcx_socket *open_sock(int pattern, int64_t timeout)
{
    ipcx_socket *s;
    CHECK(ipcx_socket_open(pattern, &s));
    CHECK(ipcx_socket_set(s, IPCX_OPT_RECV_TIMEOUT, timeout));
    CHECK(ipcx_socket_set(s, IPCX_OPT_SEND_TIMEOUT, timeout));
    return s;
}

/* A payload whose bytes depend on (i, len): a mix-up or a torn copy shows. */
static void fill(uint8_t *b, size_t len, uint32_t i)
{
    uint32_t x = i * 2654435761u + (uint32_t)len;
    for (size_t k = 0; k < len; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[k] = (uint8_t)x;
    }
}

static bool check(const uint8_t *b, size_t len, uint32_t i)
{
    uint8_t *e = malloc(len > 0 ? len : 1);
    fill(e, len, i);
    bool ok = len == 0 || memcmp(b, e, len) == 0;
    free(e);
    return ok;
}

/* Message i: part 0 is "i" as 4 bytes, part 1 a payload of size_of(i). */
static size_t size_of(uint32_t i, bool big)
{
    if (big && i == 3)
        return (size_t)16 << 20;
    static const size_t sizes[] = {0, 1, 64, 1000, 65536, 7, 300000, 255, 256};
    return sizes[i % IPCX_ARRAY_LEN(sizes)];
}

static int send_indexed(ipcx_socket *s, uint32_t i, bool big, const void *prefix, size_t plen)
{
    size_t len = size_of(i, big);
    uint8_t *b = malloc(len > 0 ? len : 1);
    fill(b, len, i);
    int rc = 0;
    if (prefix != NULL)
        rc = ipcx_send(s, prefix, plen, IPCX_MORE);
    if (rc >= 0)
        rc = ipcx_send(s, &i, 4, IPCX_MORE);
    if (rc >= 0)
        rc = ipcx_send(s, b, len, 0);
    free(b);
    return rc < 0 ? rc : 0;
}

/* Check a received message [prefix...] [i] [payload]: returns i or -1. */
static int64_t check_indexed(ipcx_msg *m, size_t skip, bool big)
{
    if (ipcx_msg_parts(m) != skip + 2)
        return -1;
    size_t l0, l1;
    uint32_t i;
    void *d0 = ipcx_msg_data(m, skip, &l0);
    uint8_t *d1 = ipcx_msg_data(m, skip + 1, &l1);
    if (l0 != 4)
        return -1;
    memcpy(&i, d0, 4);
    if (l1 != size_of(i, big) || !check(d1, l1, i))
        return -1;
    return i;
}

/* ------------------------------------------------------------ the peer process */

static int helper_peer(int argc, char **argv)
{
    /* peer PATTERN URL COUNT BIG REPORTFD */
    if (argc < 5)
        return 2;
    int pattern = atoi(argv[0]);
    const char *url = argv[1];
    uint32_t count = (uint32_t)atoi(argv[2]);
    bool big = atoi(argv[3]) != 0;
    int report = atoi(argv[4]);
    ipcx_socket *s;
    HCHECK(ipcx_socket_open(pattern, &s));
    HCHECK(ipcx_socket_set(s, IPCX_OPT_RECV_TIMEOUT, 20 * SEC));
    HCHECK(ipcx_socket_set(s, IPCX_OPT_SEND_TIMEOUT, 20 * SEC));
    if (pattern == IPCX_SUB)
        HCHECK(ipcx_socket_set_bytes(s, IPCX_OPT_SUBSCRIBE, "A", 1));
    HCHECK(ipcx_dial(s, url));
    uint32_t next = 0;
    for (uint32_t got = 0; got < count;) {
        ipcx_msg *m;
        HCHECK(ipcx_msg_recv(s, &m, 0));
        switch (pattern) {
        case IPCX_PULL:
        case IPCX_PAIR:
        case IPCX_DEALER:
        case IPCX_REP: {
            int64_t i = check_indexed(m, 0, big);
            if (i != (int64_t)next) {
                fprintf(stderr, "helper: message %u: got %lld\n", next, (long long)i);
                return 1;
            }
            next++;
            got++;
            if (pattern != IPCX_PULL)
                HCHECK(ipcx_msg_send(s, m, 0)); /* echo */
            else
                ipcx_msg_destroy(m);
            break;
        }
        case IPCX_SUB: {
            size_t l;
            char *d = ipcx_msg_data(m, 0, &l);
            if (l == 0 || d[0] != 'A') {
                fprintf(stderr, "helper: SUB got an unsubscribed message\n");
                return 1;
            }
            if (l == 4 && memcmp(d, "Async", 4) == 0) {
                /* The PUB's probe: tell the test the subscription is live. */
                static bool told;
                if (!told && write(report, "sub\n", 4) != 4)
                    return 1;
                told = true;
                ipcx_msg_destroy(m);
                break;
            }
            int64_t i = check_indexed(m, 1, big);
            if (i != (int64_t)next) {
                fprintf(stderr, "helper: SUB message %u: got %lld\n", next, (long long)i);
                return 1;
            }
            next++;
            got++;
            ipcx_msg_destroy(m);
            break;
        }
        case IPCX_ROUTER: {
            /* [identity] ([empty], from a REQ) [i] [payload]: send it
             * back to the identity, envelope and all */
            size_t parts = ipcx_msg_parts(m);
            int64_t i = parts >= 3 ? check_indexed(m, parts - 2, big) : -1;
            if (i != (int64_t)next) {
                fprintf(stderr, "helper: ROUTER message %u: got %lld\n", next, (long long)i);
                return 1;
            }
            next++;
            got++;
            HCHECK(ipcx_msg_send(s, m, 0));
            break;
        }
        default:
            return 2;
        }
    }
    if (write(report, "done\n", 5) != 5)
        return 1;
    ipcx_socket_close(s); /* lingers until the echoes are out */
    return 0;
}

/* ------------------------------------------------------------ child processes */

/* Children are started with tu_spawn (fork and exec of this binary), never
 * with a bare fork(): this process's sockets have assistant threads, and a
 * child forked while one of them held an allocator lock inherits it held
 * (seen under ASan: the child hung in free()). */

static int helper_client(int argc, char **argv)
{
    /* client MINE PEER URL COUNT: the requesting side of run_answering */
    if (argc < 4)
        return 2;
    int mine = atoi(argv[0]), peer = atoi(argv[1]);
    uint32_t count = (uint32_t)atoi(argv[3]);
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(peer, &c));
    HCHECK(ipcx_socket_set(c, IPCX_OPT_RECV_TIMEOUT, 20 * SEC));
    HCHECK(ipcx_dial(c, argv[2]));
    for (uint32_t i = 0; i < count; i++) {
        if (peer == IPCX_DEALER && mine == IPCX_REP)
            HCHECK(ipcx_send(c, "", 0, IPCX_MORE)); /* DEALER speaks REQ's envelope */
        HCHECK(send_indexed(c, i, false, NULL, 0));
        ipcx_msg *m;
        HCHECK(ipcx_msg_recv(c, &m, 0));
        size_t skip = peer == IPCX_DEALER && mine == IPCX_REP ? 1 : 0;
        if (check_indexed(m, skip, false) != (int64_t)i)
            return 3;
        ipcx_msg_destroy(m);
    }
    ipcx_socket_close(c);
    return 0;
}

static int helper_npusher(int argc, char **argv)
{
    /* npusher URL N: push N indexed messages, linger, exit */
    if (argc < 2)
        return 2;
    uint32_t n = (uint32_t)atoi(argv[1]);
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PUSH, &c));
    HCHECK(ipcx_dial(c, argv[0]));
    for (uint32_t i = 0; i < n; i++)
        HCHECK(send_indexed(c, i, false, NULL, 0));
    ipcx_socket_set(c, IPCX_OPT_LINGER, 10 * SEC);
    ipcx_socket_close(c);
    return 0;
}

static int helper_oversize(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    uint8_t big[2000] = {0};
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PUSH, &c));
    HCHECK(ipcx_socket_set(c, IPCX_OPT_MAX_MSG_SIZE, 1000));
    HCHECK(ipcx_dial(c, argv[0]));
    if (ipcx_send(c, big, 1001, 0) != -EMSGSIZE)
        return 3;
    if (ipcx_send(c, big, 600, IPCX_MORE) != 600 || ipcx_send(c, big, 600, 0) != -EMSGSIZE)
        return 4;
    HCHECK(ipcx_send(c, big, 1000, 0)); /* exactly the maximum passes */
    HCHECK(ipcx_socket_set(c, IPCX_OPT_MAX_MSG_SIZE, 5000));
    HCHECK(ipcx_send(c, big, 1500, 0)); /* the listener drops us for this */
    ipcx_socket_set(c, IPCX_OPT_LINGER, 5 * SEC);
    ipcx_socket_close(c);
    return 0;
}

static int helper_thousand(int argc, char **argv)
{
    /* One socket, 1,000 dials: 1,000 connections, each gets one message. */
    if (argc < 1)
        return 2;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2200) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PUSH, &c));
    for (int i = 0; i < 1000; i++)
        HCHECK(ipcx_dial(c, argv[0]));
    for (;;) {
        ipcx_socket_stats st;
        HCHECK(ipcx_socket_stats_get(c, &st));
        if (st.peers == 1000)
            break;
        ipcx_pollitem it = {.socket = c, .events = IPCX_POLLIN};
        HCHECK(ipcx_poll(&it, 1, 10 * MSEC));
    }
    for (uint32_t i = 0; i < 1000; i++)
        HCHECK(send_indexed(c, 2, false, NULL, 0));
    ipcx_socket_set(c, IPCX_OPT_LINGER, 10 * SEC);
    ipcx_socket_close(c);
    return 0;
}

static int helper_slow_pull(int argc, char **argv)
{
    /* slow_pull URL REPORTFD: take one small message, then never read */
    if (argc < 2)
        return 2;
    int report = atoi(argv[1]);
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PULL, &c));
    HCHECK(ipcx_socket_set(c, IPCX_OPT_RECV_BUFFER, 4096));
    HCHECK(ipcx_dial(c, argv[0]));
    uint8_t b[16];
    HCHECK(ipcx_recv(c, b, sizeof(b), 0));
    if (write(report, "r\n", 2) != 2)
        return 1;
    pause(); /* killed by the test */
    return 0;
}

static int helper_both_large(int argc, char **argv)
{
    /* both_large URL: send three 8 MiB messages, then receive three */
    if (argc < 1)
        return 2;
    const size_t big = (size_t)8 << 20;
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PAIR, &c));
    HCHECK(ipcx_socket_set(c, IPCX_OPT_SEND_TIMEOUT, 20 * SEC));
    HCHECK(ipcx_socket_set(c, IPCX_OPT_RECV_TIMEOUT, 20 * SEC));
    HCHECK(ipcx_dial(c, argv[0]));
    uint8_t *b = malloc(big);
    for (uint32_t i = 0; i < 3; i++) {
        fill(b, big, 100 + i);
        HCHECK(ipcx_send(c, b, big, 0));
    }
    for (uint32_t i = 0; i < 3; i++)
        if (ipcx_recv(c, b, big, 0) != (int)big || !check(b, big, i))
            return 3;
    free(b);
    ipcx_socket_set(c, IPCX_OPT_LINGER, 20 * SEC);
    ipcx_socket_close(c);
    return 0;
}

static int fault_hook(int site);
static uint64_t fault_rng;

static int helper_fault_echo(int argc, char **argv)
{
    /* fault_echo URL: echo 300 messages with I/O faults injected */
    if (argc < 1)
        return 2;
    fault_rng = tu_seed() ^ 0x5555;
    ipcx__sk_fault = fault_hook;
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PAIR, &c));
    HCHECK(ipcx_socket_set(c, IPCX_OPT_RECV_TIMEOUT, 20 * SEC));
    HCHECK(ipcx_dial(c, argv[0]));
    for (uint32_t i = 0; i < 300; i++) {
        ipcx_msg *m;
        HCHECK(ipcx_msg_recv(c, &m, 0));
        if (check_indexed(m, 0, false) != (int64_t)i)
            return 3;
        HCHECK(ipcx_msg_send(c, m, i % 3 == 0 ? IPCX_BATCH : 0));
    }
    ipcx_socket_set(c, IPCX_OPT_LINGER, 10 * SEC);
    ipcx_socket_close(c);
    return 0;
}

static int helper_big_pusher(int argc, char **argv)
{
    /* big_pusher URL COUNT: the sizes of test_recv_large_into_buffer */
    static const size_t sizes[] = {40000, 65536, 300000, 1000000, 32768, 5};
    if (argc < 2)
        return 2;
    uint32_t count = (uint32_t)atoi(argv[1]);
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PUSH, &c));
    HCHECK(ipcx_dial(c, argv[0]));
    uint8_t *b = malloc(1000000);
    for (uint32_t i = 0; i < count; i++) {
        size_t len = sizes[i % IPCX_ARRAY_LEN(sizes)];
        fill(b, len, i);
        HCHECK(ipcx_send(c, b, len, 0));
    }
    free(b);
    ipcx_socket_set(c, IPCX_OPT_LINGER, 20 * SEC);
    ipcx_socket_close(c);
    return 0;
}

static int helper_rep_dies(int argc, char **argv)
{
    /* rep_dies URL REPORTFD: take one request, never answer */
    if (argc < 2)
        return 2;
    int report = atoi(argv[1]);
    ipcx_socket *r;
    HCHECK(ipcx_socket_open(IPCX_REP, &r));
    HCHECK(ipcx_listen(r, argv[0]));
    uint8_t b[16];
    HCHECK(ipcx_recv(r, b, sizeof(b), 0));
    if (write(report, "x\n", 2) != 2)
        return 1;
    pause(); /* killed with the request unanswered */
    return 0;
}

static int helper_stale(int argc, char **argv)
{
    /* stale URL: listen and exit without closing: the file stays */
    if (argc < 1)
        return 2;
    ipcx_socket *c;
    HCHECK(ipcx_socket_open(IPCX_PULL, &c));
    HCHECK(ipcx_listen(c, argv[0]));
    _exit(0);
}

/* ------------------------------------------------------------ patterns */

struct pat_case {
    int mine, peer;
};

static pid_t spawn_peer(int pattern, const char *url, uint32_t count, bool big, int *rfd)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char ps[16], cs[16], bs[4], fs[16];
    snprintf(ps, sizeof(ps), "%d", pattern);
    snprintf(cs, sizeof(cs), "%u", count);
    snprintf(bs, sizeof(bs), "%d", big ? 1 : 0);
    snprintf(fs, sizeof(fs), "%d", pfd[1]);
    pid_t pid = tu_spawn("--helper", "peer", ps, url, cs, bs, fs, NULL);
    close(pfd[1]);
    *rfd = pfd[0];
    return pid;
}

static void run_pattern(const char *tp, int mine, int peer, bool big)
{
    const uint32_t count = 40;
    ipcx_socket *s = open_sock(mine, 20 * SEC);
    char ep[300];
    listen_on(s, tp, ep, sizeof(ep));
    int rfd;
    pid_t pid = spawn_peer(peer, ep, count, big, &rfd);
    char line[32];
    if (mine == IPCX_PUB) {
        /* Probe until the subscriber has seen a message: from then on its
         * subscription is known here and nothing more is lost. */
        for (int k = 0;; k++) {
            CHECK(ipcx_send(s, "B-not-subscribed", 16, 0));
            CHECK(ipcx_send(s, "Async", 4, 0));
            struct pollfd pf = {.fd = rfd, .events = POLLIN};
            if (poll(&pf, 1, 5) == 1)
                break;
            assert_true(k < 4000);
        }
        assert_int_equal(tu_line_read(rfd, line, sizeof(line), 10000), 3);
    }
    bool envelope = mine == IPCX_DEALER && peer == IPCX_REP; /* speak REQ's envelope */
    for (uint32_t i = 0; i < count; i++) {
        if (mine == IPCX_PUB) {
            CHECK(ipcx_send(s, "B", 1, 0)); /* filtered out by the SUB */
            CHECK(send_indexed(s, i, big, "A", 1));
            continue;
        }
        CHECK(send_indexed(s, i, big, envelope ? "" : NULL, 0));
        if (mine == IPCX_REQ || mine == IPCX_PAIR || mine == IPCX_DEALER) {
            ipcx_msg *m;
            CHECK(ipcx_msg_recv(s, &m, 0));
            assert_int_equal(check_indexed(m, envelope ? 1 : 0, big), i);
            ipcx_msg_destroy(m);
        }
    }
    assert_int_equal(tu_line_read(rfd, line, sizeof(line), 30000), 4);
    assert_string_equal(line, "done");
    assert_int_equal(tu_wait(pid, 20000), 0);
    close(rfd);
    ipcx_socket_stats st;
    CHECK(ipcx_socket_stats_get(s, &st));
    assert_true(st.connects >= 1);
    ipcx_socket_close(s);
}

/* The answering patterns on the listening side: @mine (ROUTER or REP)
 * listens here and answers the requests of a client of pattern @peer in a
 * forked child. */
static void run_answering(const char *tp, int mine, int peer)
{
    if (getenv("IPCX_TEST_LOG") != NULL)
        fprintf(stderr, "run_answering %s mine %d peer %d\n", tp, mine, peer);
    const uint32_t count = 40;
    ipcx_socket *s = open_sock(mine, 20 * SEC);
    char ep[300];
    listen_on(s, tp, ep, sizeof(ep));
    char ms[8], ps[8], cs[16];
    snprintf(ms, sizeof(ms), "%d", mine);
    snprintf(ps, sizeof(ps), "%d", peer);
    snprintf(cs, sizeof(cs), "%u", count);
    pid_t pid = tu_spawn("--helper", "client", ms, ps, ep, cs, NULL);
    for (uint32_t i = 0; i < count; i++) {
        ipcx_msg *m;
        CHECK(ipcx_msg_recv(s, &m, 0));
        size_t skip = mine == IPCX_ROUTER ? (peer == IPCX_REQ ? 2 : 1) : 0;
        assert_int_equal(check_indexed(m, skip, false), i);
        CHECK(ipcx_msg_send(s, m, 0));
    }
    assert_int_equal(tu_wait(pid, 20000), 0);
    ipcx_socket_close(s);
}

static void patterns_over(const char *tp)
{
    run_pattern(tp, IPCX_PUSH, IPCX_PULL, true);
    run_pattern(tp, IPCX_PAIR, IPCX_PAIR, true);
    run_pattern(tp, IPCX_PUB, IPCX_SUB, false);
    run_pattern(tp, IPCX_REQ, IPCX_REP, false);
    run_pattern(tp, IPCX_DEALER, IPCX_ROUTER, false);
    run_pattern(tp, IPCX_REQ, IPCX_ROUTER, false);
    run_pattern(tp, IPCX_DEALER, IPCX_DEALER, false);
    run_pattern(tp, IPCX_DEALER, IPCX_REP, false);
    run_answering(tp, IPCX_ROUTER, IPCX_DEALER);
    run_answering(tp, IPCX_ROUTER, IPCX_REQ);
    run_answering(tp, IPCX_REP, IPCX_REQ);
    run_answering(tp, IPCX_REP, IPCX_DEALER);
}

static void test_patterns_tcp(void **state)
{
    (void)state;
    patterns_over("tcp");
}

static void test_patterns_unix(void **state)
{
    (void)state;
    patterns_over("unix");
}

static void test_patterns_shm(void **state)
{
    (void)state;
    patterns_over("shm");
}

/* ------------------------------------------------------------ faults */

static int helper_pusher(int argc, char **argv)
{
    /* pusher URL REPORTFD: push numbered messages forever */
    if (argc < 2)
        return 2;
    int report = atoi(argv[1]);
    ipcx_socket *s;
    HCHECK(ipcx_socket_open(IPCX_PUSH, &s));
    HCHECK(ipcx_dial(s, argv[0]));
    for (uint32_t i = 0;; i++) {
        HCHECK(send_indexed(s, i, false, NULL, 0));
        if (i == 100 && write(report, "go\n", 3) != 3)
            return 1;
    }
}

/* A pusher killed mid-stream: the listener sees it go, loses nothing it
 * delivered whole, and a second pusher is served; no fd leaks. */
static void kill_mid_stream(const char *tp)
{
    int fds0 = tu_fd_count();
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    CHECK(ipcx_socket_set(s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED));
    char ep[300];
    listen_on(s, tp, ep, sizeof(ep));
    for (int round = 0; round < 2; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        char fs[16];
        snprintf(fs, sizeof(fs), "%d", pfd[1]);
        pid_t pid = tu_spawn("--helper", "pusher", ep, fs, NULL);
        close(pfd[1]);
        uint32_t next = 0;
        for (; next < 150; next++) {
            ipcx_msg *m;
            CHECK(ipcx_msg_recv(s, &m, 0));
            assert_int_equal(check_indexed(m, 0, false), next);
            ipcx_msg_destroy(m);
        }
        kill(pid, SIGKILL);
        assert_int_equal(tu_wait(pid, 5000), 128 + SIGKILL);
        close(pfd[0]);
        /* Whatever arrived whole is delivered in order; then the peer is
         * seen gone. */
        for (;;) {
            ipcx_msg *m;
            int rc = ipcx_msg_recv(s, &m, IPCX_DONTWAIT);
            if (rc == -EAGAIN) {
                ipcx_socket_stats st;
                CHECK(ipcx_socket_stats_get(s, &st));
                if (st.peers == 0)
                    break;
                ipcx_pollitem it = {.socket = s, .events = IPCX_POLLIN};
                CHECK(ipcx_poll(&it, 1, 100 * MSEC));
                continue;
            }
            CHECK(rc);
            assert_int_equal(check_indexed(m, 0, false), next);
            next++;
            ipcx_msg_destroy(m);
        }
        ipcx_event ev;
        bool saw_disc = false;
        while (ipcx_socket_event(s, &ev) == 0)
            saw_disc |= ev.type == IPCX_EV_DISCONNECTED;
        assert_true(saw_disc);
    }
    ipcx_socket_close(s);
    assert_int_equal(tu_fd_count(), fds0);
}

static void test_kill_mid_stream_tcp(void **state)
{
    (void)state;
    kill_mid_stream("tcp");
}

static void test_kill_mid_stream_unix(void **state)
{
    (void)state;
    kill_mid_stream("unix");
}

static void test_kill_mid_stream_shm(void **state)
{
    (void)state;
    kill_mid_stream("shm");
}

static int helper_puller(int argc, char **argv)
{
    /* puller URL REPORTFD: listen, receive forever */
    if (argc < 2)
        return 2;
    int report = atoi(argv[1]);
    ipcx_socket *s;
    HCHECK(ipcx_socket_open(IPCX_PULL, &s));
    HCHECK(ipcx_listen(s, argv[0]));
    if (write(report, "up\n", 3) != 3)
        return 1;
    for (;;) {
        ipcx_msg *m;
        HCHECK(ipcx_msg_recv(s, &m, 0));
        if (check_indexed(m, 0, false) < 0)
            return 3;
        ipcx_msg_destroy(m);
        if (write(report, "m\n", 2) != 2)
            return 1;
    }
}

/* A dialer whose listener is killed reconnects when a new one appears at
 * the same address, and sends what it queued meanwhile. */
static void test_dialer_reconnects(void **state)
{
    (void)state;
    char ep[300];
    url_for(ep, sizeof(ep), "unix");
    ipcx_socket *s = open_sock(IPCX_PUSH, 10 * SEC);
    CHECK(ipcx_socket_set(s, IPCX_OPT_RECONNECT_IVL, 10 * MSEC));
    CHECK(ipcx_socket_set(s, IPCX_OPT_RECONNECT_IVL_MAX, 50 * MSEC));
    /* Dial first: nothing listens yet. */
    CHECK(ipcx_dial(s, ep));
    for (int round = 0; round < 2; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        char fs[16], line[16];
        snprintf(fs, sizeof(fs), "%d", pfd[1]);
        pid_t pid = tu_spawn("--helper", "puller", ep, fs, NULL);
        close(pfd[1]);
        assert_int_equal(tu_line_read(pfd[0], line, sizeof(line), 10000), 2);
        /* The send waits until the dialer has connected (a first
         * connection takes no messages before it is up). */
        CHECK(send_indexed(s, 0, false, NULL, 0));
        assert_int_equal(tu_line_read(pfd[0], line, sizeof(line), 10000), 1);
        kill(pid, SIGKILL);
        assert_int_equal(tu_wait(pid, 5000), 128 + SIGKILL);
        close(pfd[0]);
    }
    ipcx_socket_stats st;
    CHECK(ipcx_socket_stats_get(s, &st));
    assert_true(st.reconnects >= 1);
    assert_int_equal(st.connects, 2);
    CHECK(ipcx_socket_set(s, IPCX_OPT_LINGER, 0));
    ipcx_socket_close(s);
}

/* A raw socket to an ipcx listener. */
static int raw_connect(const char *ep)
{
    int fd;
    if (strncmp(ep, "tcp://", 6) == 0) {
        const char *colon = strrchr(ep, ':');
        struct sockaddr_in in = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)atoi(colon + 1))};
        inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    } else {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", ep + 7);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
    }
    return fd;
}

/* A good ipcx peer in a child process that pushes @n messages and exits. */
static pid_t fork_pusher(const char *ep, uint32_t n)
{
    char ns[16];
    snprintf(ns, sizeof(ns), "%u", n);
    return tu_spawn("--helper", "npusher", ep, ns, NULL);
}

static void recv_indexed_n(ipcx_socket *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        ipcx_msg *m;
        CHECK(ipcx_msg_recv(s, &m, 0));
        assert_int_equal(check_indexed(m, 0, false), i);
        ipcx_msg_destroy(m);
    }
}

/* Garbage and a stalled handshake: those connections are dropped (the
 * stalled one at the handshake timeout, with the reason in the event),
 * the socket and its good peer carry on. */
static void bad_peers(const char *tp)
{
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    CHECK(ipcx_socket_set(s, IPCX_OPT_HANDSHAKE_TIMEOUT, 500 * MSEC));
    CHECK(ipcx_socket_set(s, IPCX_OPT_EVENTS, IPCX_EV_HANDSHAKE_FAILED));
    char ep[300];
    listen_on(s, tp, ep, sizeof(ep));
    int junk = raw_connect(ep);
    static const char garbage[] =
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789012345678901234567890123456789"
        "012345678901234567890123456789";
    assert_int_equal(write(junk, garbage, sizeof(garbage)), sizeof(garbage));
    int stall = raw_connect(ep);
    uint8_t half[10] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f};
    assert_int_equal(write(stall, half, sizeof(half)), sizeof(half));
    int old = raw_connect(ep);
    uint8_t v2[12] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1, 0}; /* ZMTP 2.0 */
    assert_int_equal(write(old, v2, sizeof(v2)), sizeof(v2));
    pid_t pid = fork_pusher(ep, 50);
    recv_indexed_n(s, 50);
    assert_int_equal(tu_wait(pid, 10000), 0);
    /* Wait for the three failures to be reported (the stall needs 500 ms). */
    int failures = 0;
    bool timed_out = false, version = false;
    for (int k = 0; k < 100 && failures < 3; k++) {
        ipcx_pollitem it = {.socket = s, .events = IPCX_POLLEVENT};
        CHECK(ipcx_poll(&it, 1, 100 * MSEC));
        ipcx_event ev;
        while (ipcx_socket_event(s, &ev) == 0) {
            assert_int_equal(ev.type, IPCX_EV_HANDSHAKE_FAILED);
            assert_true(ev.reason[0] != '\0');
            timed_out |= ev.err == -ETIMEDOUT;
            version |= ev.err == -EPROTONOSUPPORT;
            failures++;
        }
    }
    assert_int_equal(failures, 3);
    assert_true(timed_out);
    assert_true(version);
    /* Each bad connection was closed by the listener. */
    char b[8];
    assert_int_equal(read(stall, b, sizeof(b)) >= 0, 1);
    close(junk);
    close(stall);
    close(old);
    ipcx_socket_close(s);
}

static void test_bad_peers_tcp(void **state)
{
    (void)state;
    bad_peers("tcp");
}

static void test_bad_peers_unix(void **state)
{
    (void)state;
    bad_peers("unix");
}

/* Oversize: the sender gets -EMSGSIZE and nothing is lost; a peer that
 * sends a message over our maximum is dropped. */
static void test_oversize(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    CHECK(ipcx_socket_set(s, IPCX_OPT_MAX_MSG_SIZE, 1000));
    CHECK(ipcx_socket_set(s, IPCX_OPT_EVENTS, IPCX_EV_DISCONNECTED));
    char ep[300];
    listen_on(s, "tcp", ep, sizeof(ep));
    uint8_t big[2000] = {0};
    assert_int_equal(ipcx_send(s, big, 10, 0), -ENOTSUP); /* PULL sends nothing */
    pid_t pid = tu_spawn("--helper", "oversize", ep, NULL);
    uint8_t buf[2000];
    assert_int_equal(ipcx_recv(s, buf, sizeof(buf), 0), 1000);
    ipcx_event ev;
    for (int k = 0; k < 100; k++) {
        ipcx_pollitem it = {.socket = s, .events = IPCX_POLLEVENT | IPCX_POLLIN};
        CHECK(ipcx_poll(&it, 1, 100 * MSEC));
        if (it.revents & IPCX_POLLIN)
            fail_msg("the oversize message was delivered");
        if (ipcx_socket_event(s, &ev) == 0)
            break;
    }
    assert_int_equal(ev.type, IPCX_EV_DISCONNECTED);
    assert_int_equal(ev.err, -EMSGSIZE);
    assert_int_equal(tu_wait(pid, 10000), 0);
    ipcx_socket_close(s);
}

/* A receive buffer too small: -EMSGSIZE, and the part stays. */
static void test_small_buffer_keeps_message(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    char ep[300];
    listen_on(s, "unix", ep, sizeof(ep));
    pid_t pid = fork_pusher(ep, 5);
    uint8_t small[8], large[1000];
    for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(ipcx_recv(s, small, 4, 0), 4); /* the index part fits */
        int64_t more;
        CHECK(ipcx_socket_get(s, IPCX_OPT_RECV_MORE, &more));
        assert_int_equal(more, 1);
        int len = ipcx_recv_size(s, 0);
        assert_int_equal(len, (int)size_of(i, false) > 1000 ? len : (int)size_of(i, false));
        if (len > 1000)
            break;
        if (len > 8) {
            assert_int_equal(ipcx_recv(s, small, sizeof(small), 0), -EMSGSIZE);
        }
        assert_int_equal(ipcx_recv(s, large, sizeof(large), 0), len);
        assert_true(check(large, (size_t)len, i));
        CHECK(ipcx_socket_get(s, IPCX_OPT_RECV_MORE, &more));
        assert_int_equal(more, 0);
    }
    assert_int_equal(tu_wait(pid, 10000), 0);
    ipcx_socket_close(s);
}

/* unix:// allow-list: a peer of a uid not on it is refused. */
static void test_allow_list(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 2 * SEC);
    CHECK(ipcx_socket_set(s, IPCX_OPT_ALLOW_UID, (int64_t)getuid() + 4242));
    CHECK(ipcx_socket_set(s, IPCX_OPT_EVENTS, IPCX_EV_HANDSHAKE_FAILED | IPCX_EV_CONNECTED));
    char ep[300];
    listen_on(s, "unix", ep, sizeof(ep));
    struct stat st;
    assert_int_equal(stat(ep + 7, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    int c = raw_connect(ep);
    ipcx_event ev;
    bool refused = false;
    for (int k = 0; k < 50 && !refused; k++) {
        ipcx_pollitem it = {.socket = s, .events = IPCX_POLLEVENT};
        CHECK(ipcx_poll(&it, 1, 100 * MSEC));
        while (ipcx_socket_event(s, &ev) == 0) {
            assert_int_equal(ev.type, IPCX_EV_HANDSHAKE_FAILED);
            assert_int_equal(ev.err, -EACCES);
            assert_int_equal(ev.peer_uid, getuid());
            refused = true;
        }
    }
    assert_true(refused);
    char b[8];
    assert_int_equal(read(c, b, sizeof(b)), 0); /* closed, nothing said */
    close(c);
    /* Our own uid on the list: accepted. */
    CHECK(ipcx_socket_set(s, IPCX_OPT_ALLOW_UID, (int64_t)getuid()));
    pid_t pid = fork_pusher(ep, 3);
    recv_indexed_n(s, 3);
    assert_int_equal(tu_wait(pid, 10000), 0);
    ipcx_socket_close(s);
}

/* A slow subscriber among fast ones: the others get everything, the slow
 * one's loss is counted at the PUB. */
static void test_slow_subscriber(void **state)
{
    (void)state;
    ipcx_socket *pub = open_sock(IPCX_PUB, 10 * SEC);
    CHECK(ipcx_socket_set(pub, IPCX_OPT_SEND_HWM, 16));
    char ep[300];
    listen_on(pub, "unix", ep, sizeof(ep));
    ipcx_socket *fast = open_sock(IPCX_SUB, 10 * SEC), *slow = open_sock(IPCX_SUB, 10 * SEC);
    CHECK(ipcx_socket_set_bytes(fast, IPCX_OPT_SUBSCRIBE, "", 0));
    CHECK(ipcx_socket_set_bytes(slow, IPCX_OPT_SUBSCRIBE, "", 0));
    CHECK(ipcx_socket_set(slow, IPCX_OPT_RECV_BUFFER, 4096));
    CHECK(ipcx_dial(fast, ep));
    CHECK(ipcx_dial(slow, ep));
    /* Both connected and subscribed: each sees a probe. */
    uint8_t b[70000];
    for (int k = 0;; k++) {
        CHECK(ipcx_send(pub, "p", 1, 0));
        int a = ipcx_recv(fast, b, sizeof(b), IPCX_DONTWAIT);
        int c = ipcx_recv(slow, b, sizeof(b), IPCX_DONTWAIT);
        (void)ipcx_socket_events(pub, IPCX_POLLOUT);
        ipcx_socket_stats st;
        CHECK(ipcx_socket_stats_get(pub, &st));
        if (a > 0 && c > 0 && st.peers == 2)
            break;
        assert_true(k < 100000);
    }
    while (ipcx_recv(fast, b, sizeof(b), IPCX_DONTWAIT) > 0)
        ;
    while (ipcx_recv(slow, b, sizeof(b), IPCX_DONTWAIT) > 0)
        ;
    /* 2,000 messages of 64 KiB: far more than the slow one's kernel
     * buffers and 16-message queue hold.  The fast one reads as we go. */
    uint32_t got = 0;
    for (uint32_t i = 0; i < 2000; i++) {
        memcpy(b, &i, 4);
        CHECK(ipcx_send(pub, b, 65536, 0));
        int n;
        while ((n = ipcx_recv(fast, b + 4, sizeof(b) - 4, IPCX_DONTWAIT)) > 0) {
            uint32_t j;
            memcpy(&j, b + 4, 4);
            assert_int_equal(j, got);
            got++;
        }
        (void)ipcx_socket_events(pub, IPCX_POLLOUT); /* flush what waits */
    }
    while (got < 2000) {
        int n = ipcx_recv(fast, b + 4, sizeof(b) - 4, 0);
        assert_int_equal(n, 65536);
        uint32_t j;
        memcpy(&j, b + 4, 4);
        assert_int_equal(j, got);
        got++;
        (void)ipcx_socket_events(pub, IPCX_POLLOUT);
    }
    ipcx_socket_stats st;
    CHECK(ipcx_socket_stats_get(pub, &st));
    assert_true(st.drops > 0);
    /* The slow one gets some, in order, with gaps. */
    uint32_t last = 0, n_slow = 0;
    while (ipcx_recv(slow, b + 4, sizeof(b) - 4, IPCX_DONTWAIT) > 0) {
        uint32_t j;
        memcpy(&j, b + 4, 4);
        assert_true(n_slow == 0 || j > last);
        last = j;
        n_slow++;
    }
    assert_true(n_slow < 2000);
    ipcx_socket_close(fast);
    ipcx_socket_close(slow);
    CHECK(ipcx_socket_set(pub, IPCX_OPT_LINGER, 0));
    ipcx_socket_close(pub);
}

/* 1,000 concurrent tcp:// connections to one listener. */
static void test_thousand_connections(void **state)
{
    (void)state;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2200) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < 2200)
        skip();
    ipcx_socket *s = open_sock(IPCX_PULL, 20 * SEC);
    char ep[300];
    listen_on(s, "tcp", ep, sizeof(ep));
    pid_t pid = tu_spawn("--helper", "thousand", ep, NULL);
    for (uint32_t i = 0; i < 1000; i++) {
        ipcx_msg *m;
        CHECK(ipcx_msg_recv(s, &m, 0));
        assert_int_equal(check_indexed(m, 0, false), 2);
        ipcx_msg_destroy(m);
    }
    assert_int_equal(tu_wait(pid, 20000), 0);
    ipcx_socket_stats st;
    CHECK(ipcx_socket_stats_get(s, &st));
    assert_int_equal(st.connects, 1000);
    ipcx_socket_close(s);
}

static int helper_hb_pusher(int argc, char **argv)
{
    /* hb_pusher URL REPORTFD: heartbeating pusher, one message a report */
    if (argc < 2)
        return 2;
    int report = atoi(argv[1]);
    ipcx_socket *s;
    HCHECK(ipcx_socket_open(IPCX_PUSH, &s));
    HCHECK(ipcx_socket_set(s, IPCX_OPT_RECONNECT_IVL, 10 * MSEC));
    HCHECK(ipcx_socket_set(s, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED));
    HCHECK(ipcx_dial(s, argv[0]));
    for (uint32_t i = 0; i < 2; i++) {
        /* Wait for a connection, then send. */
        for (;;) {
            ipcx_event ev;
            if (ipcx_socket_event(s, &ev) == 0 && ev.type == IPCX_EV_CONNECTED)
                break;
            ipcx_pollitem it = {.socket = s, .events = IPCX_POLLEVENT};
            HCHECK(ipcx_poll(&it, 1, 100 * MSEC));
        }
        HCHECK(send_indexed(s, i, false, NULL, 0));
        if (write(report, "sent\n", 5) != 5)
            return 1;
    }
    ipcx_socket_set(s, IPCX_OPT_LINGER, 5 * SEC);
    ipcx_socket_close(s);
    return 0;
}

/* A paused peer (SIGSTOP past the heartbeat timeout): the listener drops
 * it with a clear error; after SIGCONT the peer finds its connection gone,
 * reconnects and is served again. */
static void test_paused_peer_heartbeat(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    CHECK(ipcx_socket_set(s, IPCX_OPT_HEARTBEAT_IVL, 50 * MSEC));
    CHECK(ipcx_socket_set(s, IPCX_OPT_HEARTBEAT_TIMEOUT, 300 * MSEC));
    CHECK(ipcx_socket_set(s, IPCX_OPT_EVENTS, IPCX_EV_DISCONNECTED));
    char ep[300];
    listen_on(s, "tcp", ep, sizeof(ep));
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char fs[16], line[16];
    snprintf(fs, sizeof(fs), "%d", pfd[1]);
    pid_t pid = tu_spawn("--helper", "hb_pusher", ep, fs, NULL);
    close(pfd[1]);
    uint8_t b[100000];
    CHECK(ipcx_recv(s, b, sizeof(b), 0));
    assert_int_equal(tu_line_read(pfd[0], line, sizeof(line), 10000), 4);
    CHECK(ipcx_recv(s, b, sizeof(b), 0));
    kill(pid, SIGSTOP);
    ipcx_event ev = {0};
    for (int k = 0; k < 100; k++) {
        ipcx_pollitem it = {.socket = s, .events = IPCX_POLLEVENT};
        CHECK(ipcx_poll(&it, 1, 100 * MSEC));
        if (ipcx_socket_event(s, &ev) == 0)
            break;
    }
    assert_int_equal(ev.type, IPCX_EV_DISCONNECTED);
    assert_int_equal(ev.err, -ETIMEDOUT);
    assert_non_null(strstr(ev.reason, "heartbeat"));
    kill(pid, SIGCONT);
    /* It reconnects and sends its second message. */
    CHECK(ipcx_recv(s, b, sizeof(b), 0));
    CHECK(ipcx_recv(s, b, sizeof(b), 0));
    assert_int_equal(tu_wait(pid, 10000), 0);
    close(pfd[0]);
    ipcx_socket_close(s);
}

/* The scenario of the next test: the peer dies while we write. */
static void *kill_later(void *arg)
{
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(*(pid_t *)arg, SIGKILL);
    return NULL;
}

/* A large message written in place to a peer that stops reading and then
 * dies: the send returns (the rest is queued once the kernel stops taking
 * it), nothing hangs, and the message is counted as lost with the peer. */
static void test_inplace_peer_killed(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PUSH, 3 * SEC);
    char ep[300];
    listen_on(s, "unix", ep, sizeof(ep));
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char fs[16];
    snprintf(fs, sizeof(fs), "%d", pfd[1]);
    pid_t pid = tu_spawn("--helper", "slow_pull", ep, fs, NULL);
    close(pfd[1]);
    CHECK(ipcx_send(s, "x", 1, 0));
    char line[8];
    assert_int_equal(tu_line_read(pfd[0], line, sizeof(line), 10000), 1);
    size_t big = (size_t)16 << 20;
    uint8_t *b = calloc(1, big);
    pthread_t killer;
    assert_int_equal(pthread_create(&killer, NULL, kill_later, &pid), 0);
    int64_t t0 = ipcx__now_ns();
    int rc = ipcx_send(s, b, big, 0);
    assert_true(rc == (int)big || rc == -ETIMEDOUT);
    assert_true(ipcx__now_ns() - t0 < 3500 * MSEC);
    pthread_join(killer, NULL);
    assert_int_equal(tu_wait(pid, 5000), 128 + SIGKILL);
    /* The send has returned (written, or the rest queued once the kernel
     * stopped taking it); the peer's death is then seen, and what was
     * queued for it is counted as lost. */
    ipcx_socket_stats st;
    for (int k = 0; k < 100; k++) {
        CHECK(ipcx_socket_stats_get(s, &st));
        if (st.disconnects >= 1)
            break;
        ipcx_pollitem it = {.socket = s, .events = IPCX_POLLOUT};
        CHECK(ipcx_poll(&it, 1, 50 * MSEC));
    }
    assert_int_equal(st.disconnects, 1);
    assert_true(st.drops >= 1);
    free(b);
    close(pfd[0]);
    CHECK(ipcx_socket_set(s, IPCX_OPT_LINGER, 0));
    ipcx_socket_close(s);
}

/* Two peers that both write large messages before reading any: the
 * in-place writes give up waiting for a peer that does not read and queue
 * the rest, so neither waits for the other for ever. */
static void test_both_send_large(void **state)
{
    (void)state;
    const size_t big = (size_t)8 << 20;
    ipcx_socket *s = open_sock(IPCX_PAIR, 20 * SEC);
    char ep[300];
    listen_on(s, "unix", ep, sizeof(ep));
    pid_t pid = tu_spawn("--helper", "both_large", ep, NULL);
    uint8_t *b = malloc(big);
    int64_t t0 = ipcx__now_ns();
    for (uint32_t i = 0; i < 3; i++) {
        fill(b, big, i);
        CHECK(ipcx_send(s, b, big, 0));
    }
    /* Deadlocked, each send would end only at its 20 s timeout. */
    assert_true(ipcx__now_ns() - t0 < 10 * SEC);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(ipcx_recv(s, b, big, 0), (int)big);
        assert_true(check(b, big, 100 + i));
    }
    free(b);
    assert_int_equal(tu_wait(pid, 30000), 0);
    ipcx_socket_close(s);
}

/* Heartbeats while the caller takes no messages: the peer answers, the
 * connection stays up (the assistant reads the PONGs). */
static void test_heartbeat_idle_caller(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    CHECK(ipcx_socket_set(s, IPCX_OPT_HEARTBEAT_IVL, 50 * MSEC));
    CHECK(ipcx_socket_set(s, IPCX_OPT_HEARTBEAT_TIMEOUT, 400 * MSEC));
    char ep[300];
    listen_on(s, "tcp", ep, sizeof(ep));
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char fs[16], line[16];
    snprintf(fs, sizeof(fs), "%d", pfd[1]);
    pid_t pid = tu_spawn("--helper", "hb_pusher", ep, fs, NULL);
    close(pfd[1]);
    recv_indexed_n(s, 1);
    assert_int_equal(tu_line_read(pfd[0], line, sizeof(line), 10000), 4);
    /* The caller is busy elsewhere for 30 heartbeat intervals, four
     * timeouts (margins for a loaded CI machine under ASan). */
    struct timespec ts = {1, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ipcx_socket_stats st;
    CHECK(ipcx_socket_stats_get(s, &st));
    assert_int_equal(st.disconnects, 0);
    assert_int_equal(st.peers, 1);
    assert_int_equal(st.connects, 1);
    kill(pid, SIGKILL);
    assert_int_equal(tu_wait(pid, 10000), 128 + SIGKILL);
    close(pfd[0]);
    ipcx_socket_close(s);
}

/* Short reads and writes and EINTR / EAGAIN at every I/O call. */
static int fault_hook(int site)
{
    (void)site;
    uint64_t r = tu_rand(&fault_rng) % 16;
    if (r == 0)
        return -EINTR;
    if (r == 1)
        return -EAGAIN;
    if (r < 8)
        return (int)(1 + tu_rand(&fault_rng) % 100);
    return 0;
}

static void test_io_faults(void **state)
{
    (void)state;
    fault_rng = tu_seed();
    ipcx_socket *s = open_sock(IPCX_PAIR, 20 * SEC);
    char ep[300];
    listen_on(s, "tcp", ep, sizeof(ep));
    pid_t pid = tu_spawn("--helper", "fault_echo", ep, NULL);
    ipcx__sk_fault = fault_hook;
    uint32_t rx = 0;
    for (uint32_t i = 0; i < 300; i++) {
        CHECK(send_indexed(s, i, false, NULL, 0));
        if (i % 3 == 0)
            continue; /* the peer batches these: they come with the next */
        while (rx <= i) {
            ipcx_msg *m;
            CHECK(ipcx_msg_recv(s, &m, 0));
            assert_int_equal(check_indexed(m, 0, false), rx);
            rx++;
            ipcx_msg_destroy(m);
        }
    }
    ipcx__sk_fault = NULL;
    assert_int_equal(tu_wait(pid, 20000), 0);
    ipcx_socket_close(s);
}

/* Large single-part messages received with ipcx_recv into a large buffer
 * are read straight into it (caller-read bodies); with short reads and
 * EAGAIN injected, and with non-blocking receives that return halfway
 * through a body (which then moves to the pipe's own buffer), every byte
 * still arrives in order. */
static void test_recv_large_into_buffer(void **state)
{
    (void)state;
    static const size_t sizes[] = {40000, 65536, 300000, 1000000, 32768, 5};
    const uint32_t count = 60;
    ipcx_socket *s = open_sock(IPCX_PULL, 20 * SEC);
    char ep[300];
    listen_on(s, "tcp", ep, sizeof(ep));
    char cs[16];
    snprintf(cs, sizeof(cs), "%u", count);
    pid_t pid = tu_spawn("--helper", "big_pusher", ep, cs, NULL);
    fault_rng = tu_seed() ^ 0x77;
    uint8_t *buf = malloc(1 << 20);
    for (uint32_t i = 0; i < count; i++) {
        size_t len = sizes[i % IPCX_ARRAY_LEN(sizes)];
        int n;
        if (i % 2 == 0) {
            ipcx__sk_fault = fault_hook;
            n = ipcx_recv(s, buf, 1 << 20, 0);
            ipcx__sk_fault = NULL;
        } else {
            /* Non-blocking, with EAGAIN injected: returns halfway through
             * bodies. */
            ipcx__sk_fault = fault_hook;
            while ((n = ipcx_recv(s, buf, 1 << 20, IPCX_DONTWAIT)) == -EAGAIN) {
                ipcx__sk_fault = NULL;
                ipcx_pollitem it = {.socket = s, .events = IPCX_POLLIN};
                CHECK(ipcx_poll(&it, 1, 100 * MSEC));
                ipcx__sk_fault = fault_hook;
            }
            ipcx__sk_fault = NULL;
        }
        assert_int_equal(n, (int)len);
        assert_true(check(buf, len, i));
    }
    free(buf);
    assert_int_equal(tu_wait(pid, 20000), 0);
    ipcx_socket_close(s);
}

/* A body being read into the caller's buffer when the receive returns
 * (nothing more has come) moves to the pipe's own buffer; the message is
 * complete and intact once the rest comes, and the caller's buffer is its
 * own again in between. */
static void test_body_moves_when_recv_returns(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 5 * SEC);
    char ep[300];
    listen_on(s, "unix", ep, sizeof(ep));
    int c = raw_connect(ep);
    uint8_t g[IPCX_ZMTP_GREETING_SIZE + 64];
    size_t gl = ipcx_zmtp_encode_greeting(g);
    int rl =
        ipcx_zmtp_encode_ready(g + gl, sizeof(g) - gl, IPCX_ZMTP_SOCKET_PUSH, NULL, 0, NULL, 0);
    assert_true(rl > 0);
    assert_int_equal(write(c, g, gl + (size_t)rl), (ssize_t)(gl + (size_t)rl));
    size_t len = 200000;
    uint8_t *body = malloc(len), *buf = malloc(len);
    fill(body, len, 7);
    uint8_t hdr[IPCX_ZMTP_HDR_MAX];
    size_t hl = ipcx_zmtp_encode_header(hdr, len, 0);
    assert_int_equal(write(c, hdr, hl), (ssize_t)hl);
    assert_int_equal(write(c, body, 50000), 50000);
    /* The first 50,000 bytes are there, the rest is not: no message. */
    for (int k = 0; k < 20; k++) {
        assert_int_equal(ipcx_recv(s, buf, len, IPCX_DONTWAIT), -EAGAIN);
        ipcx_pollitem it = {.socket = s, .events = IPCX_POLLIN};
        CHECK(ipcx_poll(&it, 1, 10 * MSEC));
    }
    memset(buf, 0xee, len); /* the caller's buffer is the caller's */
    size_t off = 50000;
    while (off < len) {
        ssize_t w = write(c, body + off, len - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    assert_int_equal(ipcx_recv(s, buf, len, 0), (int)len);
    assert_memory_equal(buf, body, len);
    free(body);
    free(buf);
    close(c);
    ipcx_socket_close(s);
}

/* The pollable fd is level-triggered: readable while a message waits,
 * quiet once it is taken. */
static void test_fd_level_triggered(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    char ep[300];
    listen_on(s, "unix", ep, sizeof(ep));
    int fd = ipcx_socket_fd(s);
    assert_true(fd >= 0);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 0);
    pid_t pid = fork_pusher(ep, 2);
    assert_int_equal(tu_wait(pid, 10000), 0);
    /* The peer has gone; its two messages wait in the kernel. */
    assert_int_equal(poll(&pf, 1, 5000), 1);
    /* Still readable, however often asked, until they are taken. */
    assert_int_equal(ipcx_socket_events(s, IPCX_POLLIN), IPCX_POLLIN);
    assert_int_equal(poll(&pf, 1, 0), 1);
    assert_int_equal(poll(&pf, 1, 0), 1);
    ipcx_msg *m;
    CHECK(ipcx_msg_recv(s, &m, 0));
    ipcx_msg_destroy(m);
    assert_int_equal(poll(&pf, 1, 0), 1); /* the second one */
    CHECK(ipcx_msg_recv(s, &m, 0));
    ipcx_msg_destroy(m);
    /* Let the hang-up be processed, then nothing is left: quiet. */
    for (int k = 0; k < 50 && poll(&pf, 1, 0) == 1; k++) {
        assert_int_equal(ipcx_socket_events(s, IPCX_POLLIN), 0);
    }
    assert_int_equal(poll(&pf, 1, 0), 0);
    ipcx_socket_close(s);
}

/* REQ: a lost reply does not wedge the socket. */
static void test_req_lost_reply(void **state)
{
    (void)state;
    ipcx_socket *rep = open_sock(IPCX_REP, 10 * SEC);
    char ep[300];
    listen_on(rep, "unix", ep, sizeof(ep));
    ipcx_socket *req = open_sock(IPCX_REQ, 300 * MSEC);
    CHECK(ipcx_dial(req, ep));
    uint8_t b[64];
    /* Strict REQ: recv before send, send twice. */
    assert_int_equal(ipcx_recv(req, b, sizeof(b), 0), -EBADFD);
    CHECK(ipcx_socket_set(req, IPCX_OPT_REQ_RELAXED, 1));
    CHECK(ipcx_socket_set(req, IPCX_OPT_REQ_CORRELATE, 1));
    /* The REP reads but never answers request 1; the REQ times out, sends
     * request 2 (relaxed), which is answered; a late answer to 1 would be
     * dropped (correlate). */
    CHECK(ipcx_send(req, "one", 3, 0));
    /* REP in this process: it must run to take the request. */
    assert_int_equal(ipcx_recv(rep, b, sizeof(b), 0), 3);
    assert_memory_equal(b, "one", 3);
    assert_int_equal(ipcx_recv(req, b, sizeof(b), 0), -ETIMEDOUT);
    CHECK(ipcx_send(req, "two", 3, 0));
    CHECK(ipcx_send(rep, "late-one", 8, 0)); /* the answer to "one" comes late */
    assert_int_equal(ipcx_recv(rep, b, sizeof(b), 0), 3);
    assert_memory_equal(b, "two", 3);
    CHECK(ipcx_send(rep, "answer-two", 10, 0));
    assert_int_equal(ipcx_recv(req, b, sizeof(b), 0), 10);
    assert_memory_equal(b, "answer-two", 10);
    ipcx_socket_stats st;
    CHECK(ipcx_socket_stats_get(req, &st));
    assert_true(st.drops >= 1); /* the late one */
    ipcx_socket_close(req);
    ipcx_socket_close(rep);
}

/* A strict REQ whose REP peer dies with the request gets -EPIPE, and may
 * send again. */
static void test_req_peer_died(void **state)
{
    (void)state;
    char ep[300];
    url_for(ep, sizeof(ep), "unix");
    ipcx_socket *req = open_sock(IPCX_REQ, 10 * SEC);
    CHECK(ipcx_socket_set(req, IPCX_OPT_RECONNECT_IVL, 10 * MSEC));
    CHECK(ipcx_dial(req, ep));
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char fs[16];
    snprintf(fs, sizeof(fs), "%d", pfd[1]);
    pid_t pid = tu_spawn("--helper", "rep_dies", ep, fs, NULL);
    close(pfd[1]);
    CHECK(ipcx_send(req, "q", 1, 0));
    char line[8];
    assert_int_equal(tu_line_read(pfd[0], line, sizeof(line), 10000), 1);
    kill(pid, SIGKILL);
    assert_int_equal(tu_wait(pid, 5000), 128 + SIGKILL);
    uint8_t b[16];
    assert_int_equal(ipcx_recv(req, b, sizeof(b), 0), -EPIPE);
    close(pfd[0]);
    CHECK(ipcx_socket_set(req, IPCX_OPT_LINGER, 0));
    ipcx_socket_close(req);
}

/* unix:// socket files: a live listener is never displaced, a stale file
 * is replaced, a file that is not a socket is left alone. */
static void test_unix_socket_files(void **state)
{
    (void)state;
    char ep[300];
    url_for(ep, sizeof(ep), "unix");
    ipcx_socket *a = open_sock(IPCX_PULL, SEC), *b = open_sock(IPCX_PULL, SEC);
    CHECK(ipcx_listen(a, ep));
    assert_int_equal(ipcx_listen(b, ep), -EADDRINUSE);
    /* A stale file: a listener that died without removing it. */
    char ep2[310];
    snprintf(ep2, sizeof(ep2), "%s-stale", ep);
    pid_t pid = tu_spawn("--helper", "stale", ep2, NULL);
    assert_int_equal(tu_wait(pid, 5000), 0);
    struct stat st;
    assert_int_equal(stat(ep2 + 7, &st), 0);
    CHECK(ipcx_listen(b, ep2));
    ipcx_socket_close(b);
    assert_int_equal(stat(ep2 + 7, &st), -1); /* removed on close */
    /* A regular file at the path is not ours to remove. */
    char ep3[310];
    snprintf(ep3, sizeof(ep3), "%s-file", ep);
    int fd = open(ep3 + 7, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    close(fd);
    ipcx_socket *c = open_sock(IPCX_PULL, SEC);
    assert_int_equal(ipcx_listen(c, ep3), -EEXIST);
    assert_int_equal(stat(ep3 + 7, &st), 0);
    unlink(ep3 + 7);
    ipcx_socket_close(c);
    ipcx_socket_close(a);
}

/* tcp:// over IPv6, and the assistant stays out of a stream's way. */
static void test_ipv6_and_quiet_assistant(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    int rc = ipcx_listen(s, "tcp://[::1]:0");
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
        ipcx_socket_close(s);
        skip(); /* no IPv6 loopback here */
    }
    CHECK(rc);
    char ep[300];
    CHECK(ipcx_socket_endpoint(s, 0, ep, sizeof(ep)));
    assert_non_null(strstr(ep, "tcp://[::1]:"));
    pid_t pid = fork_pusher(ep, 2000);
    recv_indexed_n(s, 2000);
    assert_int_equal(tu_wait(pid, 20000), 0);
    ipcx_socket_stats st;
    CHECK(ipcx_socket_stats_get(s, &st));
    /* A receiving socket's assistant woke for the accept and the handshake
     * (and the peer's hang-up), never per message. */
    assert_true(st.assistant_wakeups < 20);
    ipcx_socket_close(s);
}

static void test_bad_urls(void **state)
{
    (void)state;
    ipcx_socket *s = open_sock(IPCX_PAIR, SEC);
    assert_int_equal(ipcx_listen(s, "udp://127.0.0.1:1"), -EPROTONOSUPPORT);
    assert_int_equal(ipcx_dial(s, "foo"), -EINVAL);
    assert_int_equal(ipcx_dial(s, "tcp://127.0.0.1"), -EINVAL);
    assert_int_equal(ipcx_dial(s, "tcp://127.0.0.1:0"), -EINVAL);
    assert_int_equal(ipcx_dial(s, "tcp://*:5555"), -EINVAL);
    assert_int_equal(ipcx_dial(s, "tcp://127.0.0.1:99999"), -EINVAL);
    assert_int_equal(ipcx_listen(s, "unix://"), -EINVAL);
    char longp[200];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, "unix:///", 8);
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(ipcx_listen(s, longp), -ENAMETOOLONG);
    ipcx_socket *none;
    assert_int_equal(ipcx_socket_open(99, &none), -EINVAL);
    assert_null(none);
    char buf[64];
    assert_int_equal(ipcx_socket_endpoint(s, 0, buf, sizeof(buf)), -ENOENT);
    assert_int_equal(ipcx_socket_set(s, IPCX_OPT_SEND_HWM, -1), -EINVAL);
    assert_int_equal(ipcx_socket_set(s, 12345, 1), -EINVAL);
    assert_int_equal(ipcx_socket_set_bytes(s, IPCX_OPT_SUBSCRIBE, "a", 1), -ENOTSUP);
    ipcx_socket_close(s);
}

/* An exposed socket: its region shows endpoints and live figures, is
 * validated when read, and goes away with the socket. */
static void test_expose(void **state)
{
    (void)state;
    char name[64];
    tu_unique(name, sizeof(name), "sockpub");
    ipcx_socket *s = open_sock(IPCX_PULL, 10 * SEC);
    char ep[300];
    listen_on(s, "unix", ep, sizeof(ep));
    CHECK(ipcx_socket_expose(s, name));
    assert_int_equal(ipcx_socket_expose(s, name), -EALREADY);
    CHECK(ipcx_dial(s, "tcp://127.0.0.1:9")); /* nothing there: a second endpoint */
    pid_t pid = fork_pusher(ep, 3);
    recv_indexed_n(s, 3);
    assert_int_equal(tu_wait(pid, 10000), 0);
    ipcx_socket_info si;
    CHECK(ipcx_socket_info_read(name, &si));
    assert_int_equal(si.pattern, IPCX_PULL);
    assert_int_equal(si.creator_pid, getpid());
    assert_int_equal(si.n_endpoints, 2);
    assert_string_equal(si.endpoints[0], ep);
    assert_string_equal(si.endpoints[1], "tcp://127.0.0.1:9");
    assert_int_equal(si.stats.msgs_received, 3);
    assert_true(si.stats.connects >= 1);
    /* Hostile bytes in the region: clamped or refused, never trusted. */
    ipcx_region *r;
    CHECK(ipcx_region_open(name, &r));
    uint8_t *d = ipcx_region_data(r);
    uint32_t huge = 1000000;
    memcpy(d + 8, &huge, 4);
    memset(d + 112, 'x', 248 * 8); /* no NUL anywhere */
    CHECK(ipcx_socket_info_read(name, &si));
    assert_int_equal(si.n_endpoints, IPCX_SOCKET_INFO_ENDPOINTS);
    assert_int_equal(strlen(si.endpoints[7]), 247);
    /* The connection table: once the pusher's disconnection is counted,
     * it lists nothing (and nothing rewrites it while we scribble). */
    ipcx_socket_stats st;
    for (int i = 0; i < 3000; i++) {
        (void)ipcx_socket_events(s, IPCX_POLLIN); /* a receiver reads its EOF in calls */
        CHECK(ipcx_socket_stats_get(s, &st));
        if (st.disconnects >= 1)
            break;
        usleep(10000);
    }
    assert_true(st.disconnects >= 1);
    ipcx_socket_conn cs[IPCX_SOCKET_INFO_CONNS];
    size_t total = 99;
    assert_int_equal(ipcx_socket_conns_read(name, cs, IPCX_SOCKET_INFO_CONNS, &total), 0);
    assert_int_equal(total, 0);
    /* Hostile bytes there too (layout in expose.c: n_conns at 2100, the
     * entries from 2112, 128 bytes each, transport at +16, peer at +80). */
    uint32_t many = 1000000, tp = 77, odd = 3;
    memcpy(d + 2100, &many, 4);
    memcpy(d + 2112 + 16, &tp, 4);
    memset(d + 2112 + 80, 'y', 48);
    assert_int_equal(ipcx_socket_conns_read(name, cs, IPCX_SOCKET_INFO_CONNS, &total),
                     IPCX_SOCKET_INFO_CONNS);
    assert_int_equal(cs[0].transport, 0);
    assert_int_equal(strlen(cs[0].peer), sizeof(cs[0].peer) - 1);
    assert_int_equal(ipcx_socket_conns_read(name, cs, 2, &total), 2);
    memcpy(d + 2096, &odd, 4); /* a rebuild that never ends (a writer died in it) */
    assert_int_equal(ipcx_socket_conns_read(name, cs, 2, &total), -EAGAIN);
    uint32_t bad = 99;
    memcpy(d + 4, &bad, 4);
    assert_int_equal(ipcx_socket_info_read(name, &si), -EPROTO);
    uint32_t old_layout = 1; /* no connection table */
    memcpy(d, &old_layout, 4);
    assert_int_equal(ipcx_socket_conns_read(name, cs, 2, &total), -EPROTO);
    ipcx_region_close(r);
    assert_int_equal(ipcx_socket_info_read("no-such-socket-region", &si), -ENOENT);
    ipcx_socket_close(s);
    assert_int_equal(ipcx_socket_info_read(name, &si), -ENOENT);
}

/* ipcx_msg keeps small parts in its own arena and large ones apart: every
 * part keeps its bytes and its address while the message grows, through
 * a send and a receive of all of them. */
static void test_msg_parts(void **state)
{
    (void)state;
    enum { N = 40 };
    ipcx_msg *m;
    CHECK(ipcx_msg_create(3, &m));
    memcpy(ipcx_msg_data(m, 0, NULL), "abc", 3);
    void *first = ipcx_msg_data(m, 0, NULL);
    uint8_t buf[5000];
    for (int i = 1; i < N; i++) {
        size_t len = (size_t)(i * 37 % 300) + (i % 7 == 0 ? 4000 : 0);
        memset(buf, i, len);
        assert_int_equal(ipcx_msg_append(m, buf, len), i + 1);
    }
    assert_ptr_equal(ipcx_msg_data(m, 0, NULL), first);
    assert_memory_equal(first, "abc", 3);
    for (int i = 1; i < N; i++) {
        size_t len;
        const uint8_t *d = ipcx_msg_data(m, (size_t)i, &len);
        assert_int_equal(len, (size_t)(i * 37 % 300) + (i % 7 == 0 ? 4000 : 0));
        for (size_t k = 0; k < len; k++)
            assert_int_equal(d[k], i);
    }
    /* Through a unix:// PAIR and back as one message. */
    ipcx_socket *a = open_sock(IPCX_PAIR, 10 * SEC), *b = open_sock(IPCX_PAIR, 10 * SEC);
    char ep[300];
    listen_on(a, "unix", ep, sizeof(ep));
    CHECK(ipcx_dial(b, ep));
    CHECK(ipcx_msg_send(b, m, 0));
    ipcx_msg *r;
    CHECK(ipcx_msg_recv(a, &r, 0));
    assert_int_equal(ipcx_msg_parts(r), N);
    assert_memory_equal(ipcx_msg_data(r, 0, NULL), "abc", 3);
    for (int i = 1; i < N; i++) {
        size_t len;
        const uint8_t *d = ipcx_msg_data(r, (size_t)i, &len);
        assert_int_equal(len, (size_t)(i * 37 % 300) + (i % 7 == 0 ? 4000 : 0));
        for (size_t k = 0; k < len; k++)
            assert_int_equal(d[k], i);
    }
    ipcx_msg_destroy(r);
    ipcx_socket_close(a);
    ipcx_socket_close(b);
}

static int run_helper(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    if (strcmp(argv[0], "peer") == 0)
        return helper_peer(argc - 1, argv + 1);
    if (strcmp(argv[0], "pusher") == 0)
        return helper_pusher(argc - 1, argv + 1);
    if (strcmp(argv[0], "puller") == 0)
        return helper_puller(argc - 1, argv + 1);
    if (strcmp(argv[0], "hb_pusher") == 0)
        return helper_hb_pusher(argc - 1, argv + 1);
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } roles[] = {
        {"client", helper_client},         {"npusher", helper_npusher},
        {"oversize", helper_oversize},     {"thousand", helper_thousand},
        {"slow_pull", helper_slow_pull},   {"both_large", helper_both_large},
        {"fault_echo", helper_fault_echo}, {"big_pusher", helper_big_pusher},
        {"rep_dies", helper_rep_dies},     {"stale", helper_stale},
    };
    for (size_t i = 0; i < IPCX_ARRAY_LEN(roles); i++)
        if (strcmp(argv[0], roles[i].name) == 0)
            return roles[i].fn(argc - 1, argv + 1);
    return 2;
}

static int setup(void **state)
{
    (void)state;
    char u[64];
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s", tu_unique(u, sizeof(u), "ipcx-sock"));
    return mkdir(tmpdir, 0700);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void log_stderr(void *ctx, int level, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "[%d] ipcx(%d): %s\n", (int)getpid(), level, msg);
}

int main(int argc, char **argv)
{
    if (getenv("IPCX_TEST_LOG") != NULL)
        ipcx_log_set(log_stderr, NULL, IPCX_LOG_DEBUG);
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns_tcp),
        cmocka_unit_test(test_patterns_unix),
        cmocka_unit_test(test_patterns_shm),
        cmocka_unit_test(test_kill_mid_stream_tcp),
        cmocka_unit_test(test_kill_mid_stream_unix),
        cmocka_unit_test(test_kill_mid_stream_shm),
        cmocka_unit_test(test_dialer_reconnects),
        cmocka_unit_test(test_bad_peers_tcp),
        cmocka_unit_test(test_bad_peers_unix),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_small_buffer_keeps_message),
        cmocka_unit_test(test_allow_list),
        cmocka_unit_test(test_slow_subscriber),
        cmocka_unit_test(test_thousand_connections),
        cmocka_unit_test(test_paused_peer_heartbeat),
        cmocka_unit_test(test_inplace_peer_killed),
        cmocka_unit_test(test_both_send_large),
        cmocka_unit_test(test_heartbeat_idle_caller),
        cmocka_unit_test(test_io_faults),
        cmocka_unit_test(test_recv_large_into_buffer),
        cmocka_unit_test(test_body_moves_when_recv_returns),
        cmocka_unit_test(test_fd_level_triggered),
        cmocka_unit_test(test_req_lost_reply),
        cmocka_unit_test(test_req_peer_died),
        cmocka_unit_test(test_unix_socket_files),
        cmocka_unit_test(test_ipv6_and_quiet_assistant),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_expose),
        cmocka_unit_test(test_msg_parts),
    };
    if (getenv("IPCX_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("IPCX_TEST_FILTER"));
    return cmocka_run_group_tests_name("socket", tests, setup, teardown);
}
