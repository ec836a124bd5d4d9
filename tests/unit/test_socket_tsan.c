// SPDX-License-Identifier: MIT
/*
 * Sockets under ThreadSanitizer: several threads on one socket at once, in
 * one process, so that TSan checks the socket's locking (the mutex, the
 * leader sleeping in epoll while followers wait on the condition variable,
 * the I/O assistant thread) against real traffic.  Socket X has sender
 * threads and a receiver thread working at the same time, plus a thread
 * calling ipcx_socket_events(), ipcx_socket_stats_get(), ipcx_socket_event()
 * and ipcx_poll() on it all along, and reading its exposed region
 * (ipcx_socket_info_read(): a second mapping, which TSan cannot relate to
 * the first, but the reader's checks run); socket Y, its peer,
 * echoes every message back from two threads of its own.  Whole messages
 * only (ipcx_msg_send/ipcx_msg_recv: the rule when threads share a
 * socket), one to four parts, a few of them 64 KiB and more so that output
 * queues, partial writes and the assistant's flushes take part.  Every
 * message must come back exactly once and intact.  Runs as a plain unit
 * test in the other builds.
 *
 * It found a lost wake-up (test_wakeup_stolen), fixed since: a thread that
 * polled a socket stole the wake-up of the thread sleeping in its recv.
 * The streams above fail if X's receiver ever sleeps through its 100 ms
 * timeout with messages due.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include <ipcx/ipcx.h>

#define MS          ((int64_t)1000000)
#define PER         4000 /* messages per sender thread */
#define MAX_SENDERS 2
#define DEADLINE_S  90 /* the whole exchange; the ctest timeout is 120 s */

struct ctx {
    ipcx_socket *x, *y;
    int xpat;
    char region[96]; /* X is exposed under this name */
    int nsend;
    int total;
    atomic_int done; /* the receiver has everything (or gave up) */
    atomic_int errors;
    atomic_int received;
    atomic_int echoed;
    atomic_int polls;                /* calls made by the poking thread */
    atomic_int stalls;               /* X's receiver slept through its timeout with echoes due */
    uint8_t seen[MAX_SENDERS * PER]; /* written by the receiver thread only */
    char what[160];                  /* the first error, for the failure message */
    pthread_mutex_t what_mu;
};

static void note_error(struct ctx *c, const char *fmt, ...)
{
    if (atomic_fetch_add(&c->errors, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        pthread_mutex_lock(&c->what_mu);
        vsnprintf(c->what, sizeof(c->what), fmt, ap);
        pthread_mutex_unlock(&c->what_mu);
        va_end(ap);
    }
}

/* Message (sender, seq): part 0 is a 12-octet header (sender, seq, number
 * of parts); parts 1.. are bytes derived from (sender, seq, part). */
static size_t msg_parts(uint32_t seq)
{
    return 1 + seq % 4;
}

static size_t part_len(uint32_t sender, uint32_t seq, size_t i)
{
    if (i == 1 && seq % 97 == 13)
        return 65536 + (seq % 5) * 4099; /* large: over one write's worth */
    return (sender * 31u + seq * 7u + (uint32_t)i * 13u) % 300u;
}

static uint8_t part_byte(uint32_t sender, uint32_t seq, size_t i, size_t j)
{
    uint32_t v = (sender + 1u) * 2654435761u ^ seq * 40503u ^ (uint32_t)i * 97u;
    v ^= (uint32_t)j * 2246822519u;
    return (uint8_t)(v >> 13);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static ipcx_msg *make_msg(uint32_t sender, uint32_t seq)
{
    ipcx_msg *m;
    if (ipcx_msg_create(12, &m) != 0)
        return NULL;
    uint8_t *h = ipcx_msg_data(m, 0, NULL);
    size_t np = msg_parts(seq);
    put32(h, sender);
    put32(h + 4, seq);
    put32(h + 8, (uint32_t)np);
    uint8_t *buf = malloc(65536 + 5 * 4099);
    for (size_t i = 1; buf != NULL && i < np; i++) {
        size_t len = part_len(sender, seq, i);
        for (size_t j = 0; j < len; j++)
            buf[j] = part_byte(sender, seq, i, j);
        if (ipcx_msg_append(m, buf, len) < 0) {
            free(buf);
            buf = NULL;
        }
    }
    if (buf == NULL) {
        ipcx_msg_destroy(m);
        return NULL;
    }
    free(buf);
    return m;
}

/* Checks a message that came back; returns its index or -1. */
static int check_msg(struct ctx *c, ipcx_msg *m)
{
    size_t len;
    const uint8_t *h = ipcx_msg_data(m, 0, &len);
    if (h == NULL || len != 12)
        return -1;
    uint32_t sender = get32(h), seq = get32(h + 4), np = get32(h + 8);
    if (sender >= (uint32_t)c->nsend || seq >= PER || np != msg_parts(seq) ||
        ipcx_msg_parts(m) != np)
        return -1;
    for (size_t i = 1; i < np; i++) {
        const uint8_t *d = ipcx_msg_data(m, i, &len);
        if (len != part_len(sender, seq, i))
            return -1;
        for (size_t j = 0; j < len; j++)
            if (d[j] != part_byte(sender, seq, i, j))
                return -1;
    }
    return (int)(sender * PER + seq);
}

struct targ {
    struct ctx *c;
    uint32_t id;
};

static void *sender_main(void *p)
{
    struct targ *a = p;
    struct ctx *c = a->c;
    for (uint32_t seq = 0; seq < PER; seq++) {
        ipcx_msg *m = make_msg(a->id, seq);
        if (m == NULL) {
            note_error(c, "sender %d: out of memory at %d", (int)a->id, (int)seq);
            return NULL;
        }
        int rc = ipcx_msg_send(c->x, m, 0);
        if (rc != 0) {
            ipcx_msg_destroy(m);
            note_error(c, "ipcx_msg_send on X failed: %d at seq %d", rc, (int)seq);
            return NULL;
        }
    }
    return NULL;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *receiver_main(void *p)
{
    struct ctx *c = p;
    int64_t until = now_ns() + (int64_t)DEADLINE_S * 1000 * MS;
    while (atomic_load(&c->received) < c->total && atomic_load(&c->errors) == 0) {
        ipcx_msg *m;
        int rc = ipcx_msg_recv(c->x, &m, 0); /* IPCX_OPT_RECV_TIMEOUT 100 ms */
        if (rc == -ETIMEDOUT) {
            /* Y had already sent back more than X received: X's receiver
             * slept through input (the known lost wakeup, see
             * test_wakeup_stolen). */
            if (atomic_load(&c->echoed) > atomic_load(&c->received))
                atomic_fetch_add(&c->stalls, 1);
            if (now_ns() > until) {
                note_error(c, "X received %d of %d messages before the deadline",
                           atomic_load(&c->received), c->total);
                break;
            }
            continue;
        }
        if (rc != 0) {
            note_error(c, "ipcx_msg_recv on X failed: %d (%d received)", rc,
                       atomic_load(&c->received));
            break;
        }
        int idx = check_msg(c, m);
        ipcx_msg_destroy(m);
        if (idx < 0) {
            note_error(c, "message %d came back damaged", atomic_load(&c->received));
            break;
        }
        if (c->seen[idx]++ != 0) {
            note_error(c, "message (sender %d, seq %d) came back twice", idx / PER, idx % PER);
            break;
        }
        atomic_fetch_add(&c->received, 1);
    }
    atomic_store(&c->done, 1);
    return NULL;
}

/* Y's echo threads: whatever comes in goes back out as it is (a ROUTER's
 * first part, the identity, routes it back to its sender). */
static void *echo_main(void *p)
{
    struct ctx *c = p;
    while (!atomic_load(&c->done)) {
        ipcx_msg *m;
        int rc = ipcx_msg_recv(c->y, &m, 0); /* IPCX_OPT_RECV_TIMEOUT 50 ms */
        if (rc == -ETIMEDOUT)
            continue;
        if (rc != 0) {
            note_error(c, "ipcx_msg_recv on Y failed: %d", rc);
            break;
        }
        rc = ipcx_msg_send(c->y, m, 0);
        if (rc != 0) {
            ipcx_msg_destroy(m);
            if (atomic_load(&c->done))
                break;
            note_error(c, "ipcx_msg_send on Y failed: %d", rc);
            break;
        }
        atomic_fetch_add(&c->echoed, 1);
    }
    return NULL;
}

/* Reads X's state while the others work on it. */
static void *poker_main(void *p)
{
    struct ctx *c = p;
    uint64_t last_sent = 0, last_recv = 0;
    while (!atomic_load(&c->done)) {
        int ev = ipcx_socket_events(c->x, IPCX_POLLIN | IPCX_POLLOUT);
        if (ev < 0) {
            note_error(c, "ipcx_socket_events on X failed: %d", ev);
            break;
        }
        ipcx_socket_stats st;
        if (ipcx_socket_stats_get(c->x, &st) != 0 || ipcx_socket_stats_get(c->y, &st) != 0) {
            note_error(c, "ipcx_socket_stats_get failed");
            break;
        }
        if (ipcx_socket_stats_get(c->x, &st) == 0) {
            if (st.msgs_sent < last_sent || st.msgs_received < last_recv)
                note_error(c, "X's counters went back (sent %d, received %d)", (int)st.msgs_sent,
                           (int)st.msgs_received);
            last_sent = st.msgs_sent;
            last_recv = st.msgs_received;
        }
        ipcx_socket_info si;
        int rc = ipcx_socket_info_read(c->region, &si);
        if (rc != 0 || si.pattern != c->xpat || si.stats.msgs_sent > (uint64_t)c->total) {
            note_error(c, "ipcx_socket_info_read on X's region: %d", rc);
            break;
        }
        ipcx_event e;
        while (ipcx_socket_event(c->x, &e) == 0) {
        }
        ipcx_pollitem it = {.socket = c->x, .fd = -1, .events = IPCX_POLLIN};
        rc = ipcx_poll(&it, 1, MS / 2);
        if (rc < 0) {
            note_error(c, "ipcx_poll on X failed: %d", rc);
            break;
        }
        atomic_fetch_add(&c->polls, 1);
    }
    return NULL;
}

static void set_opt(ipcx_socket *s, int opt, int64_t v)
{
    assert_int_equal(ipcx_socket_set(s, opt, v), 0);
}

struct variant {
    int xpat, ypat;
    const char *url;
    int x_listens;
    int nsend;
    int64_t spin_ns, heartbeat_ns;
    int curve; /* X a CURVE server, Y its client: every frame sealed and opened */
};

static void run(const struct variant *vr)
{
    struct ctx *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    pthread_mutex_init(&c->what_mu, NULL);
    c->nsend = vr->nsend;
    c->total = vr->nsend * PER;
    c->xpat = vr->xpat;
    assert_int_equal(ipcx_socket_open(vr->xpat, &c->x), 0);
    assert_int_equal(ipcx_socket_open(vr->ypat, &c->y), 0);
    set_opt(c->x, IPCX_OPT_RECV_TIMEOUT, 100 * MS);
    set_opt(c->y, IPCX_OPT_RECV_TIMEOUT, 50 * MS);
    set_opt(c->x, IPCX_OPT_SEND_TIMEOUT, 30000 * MS);
    set_opt(c->y, IPCX_OPT_SEND_TIMEOUT, 30000 * MS);
    set_opt(c->x, IPCX_OPT_EVENTS, IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED | IPCX_EV_LISTENING);
    set_opt(c->x, IPCX_OPT_SPIN, vr->spin_ns);
    set_opt(c->y, IPCX_OPT_SPIN, vr->spin_ns);
    set_opt(c->x, IPCX_OPT_HEARTBEAT_IVL, vr->heartbeat_ns);
    set_opt(c->y, IPCX_OPT_HEARTBEAT_IVL, vr->heartbeat_ns);
    /* PINGs flow, but a peer that is merely slow (TSan, a loaded machine,
     * a receiver behind on a stream) is not dropped. */
    set_opt(c->x, IPCX_OPT_HEARTBEAT_TIMEOUT, 30000 * MS);
    set_opt(c->y, IPCX_OPT_HEARTBEAT_TIMEOUT, 30000 * MS);
    if (vr->ypat == IPCX_ROUTER)
        set_opt(c->y, IPCX_OPT_ROUTER_MANDATORY, 1); /* an echo never vanishes silently */
    if (vr->curve) {
        uint8_t sp[32], ss[32], cp[32], cs[32];
        assert_int_equal(ipcx_curve_keypair(sp, ss), 0);
        assert_int_equal(ipcx_curve_keypair(cp, cs), 0);
        set_opt(c->x, IPCX_OPT_CURVE_SERVER, 1);
        assert_int_equal(ipcx_socket_set_bytes(c->x, IPCX_OPT_CURVE_SECRETKEY, ss, 32), 0);
        assert_int_equal(ipcx_socket_set_bytes(c->x, IPCX_OPT_CURVE_ALLOW, cp, 32), 0);
        assert_int_equal(ipcx_socket_set_bytes(c->y, IPCX_OPT_CURVE_SECRETKEY, cs, 32), 0);
        assert_int_equal(ipcx_socket_set_bytes(c->y, IPCX_OPT_CURVE_SERVERKEY, sp, 32), 0);
    }
    char bound[256];
    ipcx_socket *l = vr->x_listens ? c->x : c->y, *d = vr->x_listens ? c->y : c->x;
    assert_int_equal(ipcx_listen(l, vr->url), 0);
    assert_true(ipcx_socket_endpoint(l, 0, bound, sizeof(bound)) > 0);
    assert_int_equal(ipcx_dial(d, bound), 0);
    tu_unique(c->region, sizeof(c->region), "sock-tsan");
    assert_int_equal(ipcx_socket_expose(c->x, c->region), 0);

    pthread_t t[8];
    struct targ a[MAX_SENDERS];
    int n = 0;
    assert_int_equal(pthread_create(&t[n++], NULL, receiver_main, c), 0);
    assert_int_equal(pthread_create(&t[n++], NULL, echo_main, c), 0);
    assert_int_equal(pthread_create(&t[n++], NULL, echo_main, c), 0);
    assert_int_equal(pthread_create(&t[n++], NULL, poker_main, c), 0);
    for (int i = 0; i < vr->nsend; i++) {
        a[i] = (struct targ){c, (uint32_t)i};
        assert_int_equal(pthread_create(&t[n++], NULL, sender_main, &a[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);

    ipcx_socket_stats sx, sy;
    assert_int_equal(ipcx_socket_stats_get(c->x, &sx), 0);
    assert_int_equal(ipcx_socket_stats_get(c->y, &sy), 0);
    if (atomic_load(&c->errors) != 0)
        fail_msg("%s (%d errors; %d of %d received, %d echoed; X: sent %llu, disconnects %llu, "
                 "drops %llu; Y: received %llu, disconnects %llu, drops %llu)",
                 c->what, atomic_load(&c->errors), atomic_load(&c->received), c->total,
                 atomic_load(&c->echoed), (unsigned long long)sx.msgs_sent,
                 (unsigned long long)sx.disconnects, (unsigned long long)sx.drops,
                 (unsigned long long)sy.msgs_received, (unsigned long long)sy.disconnects,
                 (unsigned long long)sy.drops);
    assert_int_equal(atomic_load(&c->received), c->total);
    for (int i = 0; i < c->total; i++)
        if (c->seen[i] != 1)
            fail_msg("message (sender %d, seq %d) seen %d times", i / PER, i % PER, c->seen[i]);
    assert_int_equal(sx.msgs_sent, (uint64_t)c->total);
    assert_int_equal(sx.msgs_received, (uint64_t)c->total);
    assert_int_equal(sy.msgs_received, (uint64_t)c->total);
    assert_int_equal(sy.msgs_sent, (uint64_t)c->total);
    assert_int_equal(sx.drops + sy.drops, 0);
    assert_true(atomic_load(&c->polls) > 0);
    int stalls = atomic_load(&c->stalls);
    if (stalls > 0)
        fail_msg("X's receiver slept through its 100 ms timeout %d times with messages due "
                 "(a lost wake-up)",
                 stalls);
    ipcx_socket_close(c->y);
    ipcx_socket_close(c->x);
    pthread_mutex_destroy(&c->what_mu);
    free(c);
}

static const char *unix_url(char *buf, size_t cap)
{
    char u[96];
    snprintf(buf, cap, "unix://@%s", tu_unique(u, sizeof(u), "sock-tsan"));
    return buf;
}

/* PAIR over unix://: X (listening) sends from one thread, receives on
 * another, is polled from a third; Y echoes from two. */
static void test_pair_unix(void **st)
{
    (void)st;
    char url[160];
    run(&(struct variant){IPCX_PAIR, IPCX_PAIR, unix_url(url, sizeof(url)), 1, 1, 0, 0, 0});
}

/* DEALER (dialling) to ROUTER over unix://: two senders on X, and
 * heartbeats every 5 ms, so the assistant's timer sends PINGs and answers
 * them while the callers stream. */
static void test_dealer_router_unix(void **st)
{
    (void)st;
    char url[160];
    run(&(struct variant){IPCX_DEALER, IPCX_ROUTER, unix_url(url, sizeof(url)), 0, 2, 0, 5 * MS,
                          0});
}

/* PAIR over shm:// (one process, so TSan sees both ends of the rings):
 * X sends from two threads, receives on another, is polled from a third;
 * both spin 20 us in memory before they sleep. */
static void test_pair_shm(void **st)
{
    (void)st;
    char url[160], u[96];
    snprintf(url, sizeof(url), "shm://@%s", tu_unique(u, sizeof(u), "sock-tsan-shm"));
    run(&(struct variant){IPCX_PAIR, IPCX_PAIR, url, 1, 2, 20000, 0, 0});
}

/* DEALER to ROUTER over shm://, two senders on X, no spinning. */
static void test_dealer_router_shm(void **st)
{
    (void)st;
    char url[160], u[96];
    snprintf(url, sizeof(url), "shm://@%s", tu_unique(u, sizeof(u), "sock-tsan-shm"));
    run(&(struct variant){IPCX_DEALER, IPCX_ROUTER, url, 0, 2, 0, 0, 0});
}

/* PAIR over tcp://, two senders on X, with a spin window of 20 us (the
 * leader polls before it sleeps). */
static void test_pair_tcp(void **st)
{
    (void)st;
    run(&(struct variant){IPCX_PAIR, IPCX_PAIR, "tcp://127.0.0.1:0", 1, 2, 20000, 0, 0});
}

/* DEALER to ROUTER over tcp:// under CURVE: two senders, heartbeats every
 * 5 ms (PINGs sealed by the assistant while the callers stream). */
static void test_dealer_router_curve(void **st)
{
    (void)st;
    run(&(struct variant){IPCX_DEALER, IPCX_ROUTER, "tcp://127.0.0.1:0", 0, 2, 0, 5 * MS, 1});
}

/*
 * A lost wake-up, fixed (only the leader takes the wake-up signal now): a
 * receiver sleeping in ipcx_msg_recv() as the leader (epoll_wait on the I/O set) is not woken
 * for a message that another thread's ipcx_socket_event() decoded.  That
 * call's sk_service() reads the connection, decodes the message, pauses
 * the pipe (out of the I/O set) and sets news, so its unlock writes
 * wakefd for the leader; but the next such call's sk_service() gets the
 * wakefd event from epoll_wait(iofd, 0) itself and dispatch() drains the
 * eventfd (EP_WAKE: efd_set(wakefd, false)) before the leader's epoll_wait
 * has reported it.  The leader then has nothing left in its set to wake it
 * and sleeps until its timeout with the message waiting.  The same holds
 * for ipcx_socket_events(), ipcx_poll() and IPCX_DONTWAIT calls, which all
 * run sk_service().  With no timeout and a peer that waits for the reply
 * (or writes a large message in place) it never wakes.
 */
#define WS_MSGS 300

struct ws {
    ipcx_socket *x;
    atomic_int stop;
    atomic_int sent;
    atomic_int got;
    atomic_int stalls;
};

static void *ws_poker(void *p)
{
    struct ws *w = p;
    while (!atomic_load(&w->stop)) {
        ipcx_event e;
        (void)ipcx_socket_event(w->x, &e);
    }
    return NULL;
}

static void *ws_receiver(void *p)
{
    struct ws *w = p;
    while (atomic_load(&w->got) < WS_MSGS && !atomic_load(&w->stop)) {
        ipcx_msg *m;
        int rc = ipcx_msg_recv(w->x, &m, 0); /* IPCX_OPT_RECV_TIMEOUT 200 ms */
        if (rc == -ETIMEDOUT) {
            if (atomic_load(&w->sent) > atomic_load(&w->got))
                atomic_fetch_add(&w->stalls, 1); /* a message was waiting */
            continue;
        }
        if (rc != 0)
            break;
        ipcx_msg_destroy(m);
        atomic_fetch_add(&w->got, 1);
    }
    return NULL;
}

static void test_wakeup_stolen(void **st)
{
    (void)st;
    struct ws w = {0};
    ipcx_socket *y;
    char url[160], bound[256];
    assert_int_equal(ipcx_socket_open(IPCX_PAIR, &w.x), 0);
    assert_int_equal(ipcx_socket_open(IPCX_PAIR, &y), 0);
    set_opt(w.x, IPCX_OPT_RECV_TIMEOUT, 200 * MS);
    assert_int_equal(ipcx_listen(w.x, unix_url(url, sizeof(url))), 0);
    assert_true(ipcx_socket_endpoint(w.x, 0, bound, sizeof(bound)) > 0);
    assert_int_equal(ipcx_dial(y, bound), 0);
    pthread_t tr, tp;
    assert_int_equal(pthread_create(&tr, NULL, ws_receiver, &w), 0);
    assert_int_equal(pthread_create(&tp, NULL, ws_poker, &w), 0);
    int sent = 0;
    for (; sent < WS_MSGS; sent++) {
        /* One message at a time, each sent once the last was received:
         * the receiver is asleep in recv when it comes. */
        assert_int_equal(ipcx_send(y, "m", 1, 0), 1);
        atomic_store(&w.sent, sent + 1);
        int64_t until = now_ns() + 5000 * MS;
        while (atomic_load(&w.got) <= sent && now_ns() < until)
            sched_yield();
        if (atomic_load(&w.got) <= sent)
            break;
    }
    atomic_store(&w.stop, 1);
    pthread_join(tr, NULL);
    pthread_join(tp, NULL);
    int stalls = atomic_load(&w.stalls);
    ipcx_socket_close(y);
    ipcx_socket_close(w.x);
    assert_int_equal(sent, WS_MSGS);
    if (stalls > 0)
        fail_msg("the receiver slept through its 200 ms timeout %d times in %d messages, each "
                 "with a message waiting",
                 stalls, WS_MSGS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_unix),         cmocka_unit_test(test_dealer_router_unix),
        cmocka_unit_test(test_pair_tcp),          cmocka_unit_test(test_pair_shm),
        cmocka_unit_test(test_dealer_router_shm), cmocka_unit_test(test_dealer_router_curve),
        cmocka_unit_test(test_wakeup_stolen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
