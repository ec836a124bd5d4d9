// SPDX-License-Identifier: MIT
/*
 * The in-memory queue across real processes (the test binary re-runs itself
 * as the producer or consumer helper): the API contract, a burst with no
 * consumer and the memory returning after the drain, producers and
 * consumers at different speeds (1 and 4 producers, queue and broadcast
 * delivery) with checksums and sequence numbers, the memory limit, a
 * producer SIGKILLed mid-record, and a hostile peer scribbling over the
 * control block, segment headers and record headers.
 *
 * `test_queue --stress` runs the streams with 10 million messages.
 */
#include "testutil.h"
#include "queue_testutil.h"
#include "region_testutil.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "platform/platform.h"
#include "queue/queue.h"
#include "region/region.h"

#define WAITMS 60000
#define SEC    INT64_C(1000000000)

static uint64_t g_msgs = 50000;

/* ------------------------------------------------------------ helpers */

static int open_q(const char *name, uint32_t role, uint32_t wait, ipcx_queue **q)
{
    ipcx_queue_opts o = {.role = role, .wait = wait};
    int rc;
    for (int i = 0; i < 2000; i++) { /* the creator may still be publishing */
        rc = ipcx_queue_open(name, &o, q);
        if (rc != -EAGAIN && rc != -ENOENT)
            break;
        usleep(1000);
    }
    return rc;
}

/* produce NAME PROD COUNT SPAN PACE: COUNT self-checking messages; PACE > 0
 * spins that many iterations between messages (a slow producer). */
static int helper_produce(char **a)
{
    ipcx_queue *q = NULL;
    if (open_q(a[0], IPCX_QUEUE_PRODUCER, 0, &q) != 0)
        return 10;
    uint32_t prod = (uint32_t)atoi(a[1]);
    uint64_t count = strtoull(a[2], NULL, 10);
    uint32_t span = (uint32_t)atoi(a[3]);
    long pace = atol(a[4]);
    static uint8_t buf[70000];
    for (uint64_t i = 0; i < count; i++) {
        uint32_t len = qt_len(prod, i, span);
        qt_fill(buf, prod, i, len);
        int rc = ipcx_queue_send(q, buf, len, NULL, 30 * SEC);
        if (rc != 0) {
            fprintf(stderr, "produce: send %" PRIu64 ": %s\n", i, ipcx_strerror(rc));
            return 11;
        }
        for (volatile long s = 0; s < pace; s++)
            ;
    }
    ipcx_queue_close(q);
    return 0;
}

/* forever NAME: send until killed. */
static int helper_forever(char **a)
{
    ipcx_queue *q = NULL;
    if (open_q(a[0], IPCX_QUEUE_PRODUCER, 0, &q) != 0)
        return 20;
    static uint8_t buf[5000];
    for (uint64_t i = 0;; i++) {
        uint32_t len = qt_len(0, i, 4000);
        qt_fill(buf, 0, i, len);
        if (ipcx_queue_send(q, buf, len, NULL, 30 * SEC) != 0)
            return 21;
    }
}

/* mpforever NAME PROD: a producer of a multi-producer queue, until killed. */
static int helper_mpforever(char **a)
{
    ipcx_queue *q = NULL;
    if (open_q(a[0], IPCX_QUEUE_PRODUCER, 0, &q) != 0)
        return 40;
    uint32_t prod = (uint32_t)atoi(a[1]);
    static uint8_t buf[3000];
    for (uint64_t i = 0;; i++) {
        uint32_t len = qt_len(prod, i, 2000);
        qt_fill(buf, prod, i, len);
        if (ipcx_queue_send(q, buf, len, NULL, 30 * SEC) != 0)
            return 41;
    }
}

static int helper_consume(char **a);

/* Every blocking wait sleeps at once and without the 50 ms safety slice:
 * a lost wake-up then hangs until the recv timeout instead of hiding. */
static void no_safety_net(void)
{
    ipcx__qspin_limit = 0;
    ipcx__qslice_ns = INT64_C(3600) * SEC;
}

/* pong PING PONG N: receive N messages on PING (blocking), echo each on PONG. */
static int helper_pong(char **a)
{
    ipcx_queue *in = NULL, *out = NULL;
    no_safety_net();
    if (open_q(a[0], IPCX_QUEUE_CONSUMER, IPCX_QUEUE_WAIT_BLOCK, &in) != 0 ||
        open_q(a[1], IPCX_QUEUE_PRODUCER, 0, &out) != 0)
        return 80;
    long n = atol(a[2]);
    uint64_t v = 0;
    for (long i = 0; i < n; i++) {
        if (ipcx_queue_recv(in, &v, sizeof v, NULL, 20 * SEC) != 8 || v != (uint64_t)i)
            return 81;
        if (ipcx_queue_send(out, &v, sizeof v, NULL, 0) != 0)
            return 82;
    }
    ipcx_queue_close(in);
    ipcx_queue_close(out);
    return 0;
}

/* gconsume NAME OUT: a queue-delivery consumer competing with others;
 * until a 1-byte stop message, checks each message and that the counters
 * it gets only go up, then writes "count sum" to file OUT. */
static int helper_gconsume(char **a)
{
    ipcx_queue *q = NULL;
    if (open_q(a[0], IPCX_QUEUE_CONSUMER, IPCX_QUEUE_WAIT_BLOCK, &q) != 0)
        return 70;
    static uint8_t buf[4096];
    uint64_t count = 0, sum = 0, last = UINT64_MAX;
    for (;;) {
        int n = ipcx_queue_recv(q, buf, sizeof buf, NULL, 30 * SEC);
        if (n == 1)
            break;
        uint32_t prod;
        uint64_t counter;
        if (n < 0) {
            fprintf(stderr, "gconsume: recv: %s\n", ipcx_strerror(n));
            return 71;
        }
        if (qt_check(buf, (size_t)n, &prod, &counter) != 0 ||
            (last != UINT64_MAX && counter <= last))
            return 72;
        last = counter;
        count++;
        sum += qt_mix(counter + 1);
    }
    ipcx_queue_close(q);
    FILE *f = fopen(a[1], "w");
    if (f == NULL)
        return 73;
    fprintf(f, "%" PRIu64 " %" PRIu64 "\n", count, sum);
    return fclose(f) == 0 ? 0 : 74;
}

/* pendinghold NAME: a queue-delivery consumer that dies right after storing
 * its pending hold on the group position, before its claiming CAS (the
 * state step_group leaves when killed there). */
static int helper_pendinghold(char **a)
{
    ipcx_queue *q = NULL;
    if (open_q(a[0], IPCX_QUEUE_CONSUMER, 0, &q) != 0)
        return 60;
    uint64_t g = load_seq_cst(&q->ctl->group);
    store_seq_cst(&q->slots[q->cslot].hold, g | IPCX__QHOLD_PENDING);
    _exit(0); /* dies with its slot in use */
}

/* holdlock NAME FD: take the chain lock, say so with one byte on FD (the
 * open also takes the lock for a moment: the test cannot tell the two
 * apart by the lock word), and keep it, alive, until killed. */
static int helper_holdlock(char **a)
{
    ipcx_queue *q = NULL;
    if (open_q(a[0], IPCX_QUEUE_CONSUMER, 0, &q) != 0)
        return 50;
    if (ipcx__qlock(q, ipcx__deadline_make(-1)) != 0)
        return 51;
    if (write(atoi(a[1]), "L", 1) != 1)
        return 52;
    /* Never outlive the test (a failed assertion skips its kill): ctest
     * would wait for our inherited stdout until its timeout. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);
    for (;;)
        pause();
}

static int run_helper(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[0], "produce") == 0)
        return helper_produce(argv + 1);
    if (argc >= 2 && strcmp(argv[0], "forever") == 0)
        return helper_forever(argv + 1);
    if (argc >= 3 && strcmp(argv[0], "mpforever") == 0)
        return helper_mpforever(argv + 1);
    if (argc >= 2 && strcmp(argv[0], "pendinghold") == 0)
        return helper_pendinghold(argv + 1);
    if (argc >= 3 && strcmp(argv[0], "gconsume") == 0)
        return helper_gconsume(argv + 1);
    if (argc >= 4 && strcmp(argv[0], "pong") == 0)
        return helper_pong(argv + 1);
    if (argc >= 3 && strcmp(argv[0], "holdlock") == 0)
        return helper_holdlock(argv + 1);
    if (argc >= 5 && strcmp(argv[0], "consume") == 0)
        return helper_consume(argv + 1);
    return 99;
}

static pid_t spawn_producer(const char *name, int prod, uint64_t count, int span, long pace)
{
    char p[16], c[32], s[16], pc[32];
    snprintf(p, sizeof p, "%d", prod);
    snprintf(c, sizeof c, "%" PRIu64, count);
    snprintf(s, sizeof s, "%d", span);
    snprintf(pc, sizeof pc, "%ld", pace);
    return tu_spawn("--helper", "produce", name, p, c, s, pc, NULL);
}

static int count_cb(void *ctx, const ipcx_region_info *info)
{
    struct {
        const char *prefix;
        int n;
    } *c = ctx;
    if (strncmp(info->name, c->prefix, strlen(c->prefix)) == 0)
        c->n++;
    return 0;
}

/* Number of segment regions of queue @name. */
static int seg_regions(const char *name)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s.seg.", name);
    struct {
        const char *prefix;
        int n;
    } c = {prefix, 0};
    ipcx_region_list(count_cb, &c);
    return c.n;
}

/* Receive and check @total messages from @nprod producers in per-producer
 * order.  Returns 0 or a step number. */
static int drain_check(ipcx_queue *q, uint32_t nprod, uint64_t total, int64_t timeout)
{
    static uint8_t buf[70000];
    uint64_t next[16] = {0}, last_seq = 0;
    for (uint64_t i = 0; i < total; i++) {
        uint64_t seq = 0, counter = 0;
        uint32_t prod = 0;
        int n = ipcx_queue_recv(q, buf, sizeof buf, &seq, timeout);
        if (n < 0) {
            fprintf(stderr, "recv %" PRIu64 "/%" PRIu64 ": %s\n", i, total, ipcx_strerror(n));
            return 1;
        }
        int bad = qt_check(buf, (size_t)n, &prod, &counter);
        if (bad != 0 || prod >= nprod) {
            fprintf(stderr, "message %" PRIu64 " (seq %" PRIu64 ", %d bytes): check %d, prod %u\n",
                    i, seq, n, bad, prod);
            return 2;
        }
        if (counter != next[prod]) {
            fprintf(stderr, "prod %u: got %" PRIu64 " want %" PRIu64 "\n", prod, counter,
                    next[prod]);
            return 3;
        }
        if (i > 0 && seq <= last_seq)
            return 4;
        last_seq = seq;
        next[prod]++;
    }
    return 0;
}

/* consume NAME NPROD TOTAL WAIT: a consumer process (broadcast fan-out). */
static int helper_consume(char **a)
{
    ipcx_queue *q = NULL;
    ipcx_queue_opts o = {.role = IPCX_QUEUE_CONSUMER, .wait = (uint32_t)atoi(a[3])};
    if (ipcx_queue_open(a[0], &o, &q) != 0)
        return 30;
    int rc = drain_check(q, (uint32_t)atoi(a[1]), strtoull(a[2], NULL, 10), 30 * SEC);
    ipcx_queue_close(q);
    return rc == 0 ? 0 : 30 + rc;
}

static ipcx_queue *create_q(char *name, size_t cap, const ipcx_queue_opts *o)
{
    tu_unique(name, cap, "q");
    ipcx_queue *q = NULL;
    int rc = ipcx_queue_create(name, o, &q);
    assert_int_equal(rc, 0);
    return q;
}

/* ------------------------------------------------------------ API contract */

static void test_basic(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 4096,
                         .role = IPCX_QUEUE_PRODUCER | IPCX_QUEUE_CONSUMER};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    char buf[4096];
    uint64_t seq = 99;
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 0), -EAGAIN);
    int64_t t0 = ipcx__now_ns();
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 20000000), -ETIMEDOUT);
    assert_true(ipcx__now_ns() - t0 >= 20000000);
    /* The deadline is made lazily (queue_io.c struct qwait): a spinning
     * consumer must still time out, and not much later (a generous bound:
     * this checks that it ends, not how fast). */
    ipcx_queue *sp = NULL;
    ipcx_queue_opts os = {.role = IPCX_QUEUE_CONSUMER, .wait = IPCX_QUEUE_WAIT_SPIN};
    assert_int_equal(ipcx_queue_open(name, &os, &sp), 0);
    t0 = ipcx__now_ns();
    assert_int_equal(ipcx_queue_recv(sp, buf, sizeof buf, NULL, 20000000), -ETIMEDOUT);
    int64_t took = ipcx__now_ns() - t0;
    assert_true(took >= 20000000 && took < 1000000000);
    ipcx_queue_close(sp);
    assert_int_equal(ipcx_queue_send(q, "", 0, &seq, 0), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(ipcx_queue_send(q, "hello", 5, &seq, 0), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, &seq, 0), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(ipcx_queue_recv(q, buf, 2, &seq, 0), -EMSGSIZE);
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, &seq, -1), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(seq, 1);
    /* the default max message is max_segment / 4 */
    assert_int_equal(ipcx_queue_send(q, buf, (64 << 20) / 4 + 1, NULL, 0), -EMSGSIZE);
    /* a message larger than a segment gets its own */
    static uint8_t big[200000];
    qt_fill(big, 0, 7, sizeof big);
    assert_int_equal(ipcx_queue_send(q, big, sizeof big, &seq, 0), 0);
    static uint8_t got[200000];
    assert_int_equal(ipcx_queue_recv(q, got, sizeof got, NULL, 0), (int)sizeof big);
    assert_memory_equal(big, got, sizeof big);
    /* reserve/commit, peek/release */
    void *d = NULL;
    assert_int_equal(ipcx_queue_reserve(q, 3, &d, 0), 0);
    assert_int_equal(((uintptr_t)d) & 7, 0);
    memcpy(d, "abc", 3);
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 0), -EAGAIN);
    assert_int_equal(ipcx_queue_commit(q, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(ipcx_queue_commit(q, NULL), -EINVAL);
    const void *p = NULL;
    size_t len = 0;
    assert_int_equal(ipcx_queue_peek(q, &p, &len, &seq, 0), 3);
    /* peek means "the next message not yet peeked", as on a ring; a queue
     * handle holds one at a time, so a second peek (or a recv) before the
     * release is -EALREADY, and the first stays valid. */
    const void *p2 = NULL;
    assert_int_equal(ipcx_queue_peek(q, &p2, &len, &seq, 0), -EALREADY);
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 0), -EALREADY);
    assert_memory_equal(p, "abc", 3);
    assert_int_equal(ipcx_queue_release(q, "abc"), -EINVAL); /* not the peeked record */
    assert_int_equal(ipcx_queue_release(q, NULL), -EINVAL);
    assert_int_equal(ipcx_queue_release(q, p), 1); /* the number released, as on a ring */
    assert_int_equal(ipcx_queue_release(q, p), -EINVAL);
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(q, &info), 0);
    assert_int_equal(info.next_seq, 4);
    assert_int_equal(info.sent, 4);
    ipcx_queue_close(q);
    assert_int_equal(ipcx_queue_unlink(name), 0);
    assert_int_equal(seg_regions(name), 0);
    assert_int_equal(ipcx_queue_open(name, NULL, &q), -ENOENT);
}

static void test_roles_and_options(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue *q = create_q(name, sizeof name, NULL), *q2 = NULL;
    char buf[16];
    /* Lazy roles, as on a ring: the creator (opts NULL) took no role; its
     * first recv makes it a consumer as well (nothing there yet). */
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 0), -EAGAIN);
    /* one producer at a time on a single-producer queue: the role is taken
     * by the first send, and a second handle's send is -EBUSY (the
     * wrong-role error of both rings and queues) */
    assert_int_equal(ipcx_queue_open(name, NULL, &q2), 0);
    assert_int_equal(ipcx_queue_send(q2, "x", 1, NULL, 0), 0);
    assert_int_equal(ipcx_queue_send(q, "y", 1, NULL, 0), -EBUSY);
    ipcx_queue_opts p = {.role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *q4 = NULL;
    assert_int_equal(ipcx_queue_open(name, &p, &q4), -EBUSY); /* explicit: at open */
    ipcx_queue_close(q2);
    assert_int_equal(ipcx_queue_send(q, "y", 1, NULL, 0), 0); /* free again */
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 0), 1);
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 0), 1);
    ipcx_queue_opts c = {.role = IPCX_QUEUE_CONSUMER};
    assert_int_equal(ipcx_queue_open(name, &c, &q2), 0);
    assert_int_equal(ipcx_queue_send(q2, "x", 1, NULL, 0), -EBUSY); /* q holds it */
    ipcx_queue_close(q2);
    ipcx_queue *q3 = NULL;
    assert_int_equal(ipcx_queue_create(name, NULL, &q3), -EEXIST);
    ipcx_queue_opts bad = {.max_segment = 4096, .initial_segment = 8192};
    assert_int_equal(ipcx_queue_create("bad-opts", &bad, &q3), -EINVAL);
    bad = (ipcx_queue_opts){.reserved = {1}};
    assert_int_equal(ipcx_queue_create("bad-opts", &bad, &q3), -EINVAL);
    assert_int_equal(ipcx_queue_create("bad name", NULL, &q3), -EINVAL);
    char longname[IPCX_QUEUE_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(ipcx_queue_create(longname, NULL, &q3), -ENAMETOOLONG);
    ipcx_queue_close(q);
    ipcx_queue_close(NULL);
    ipcx_queue_unlink(name);
}

static void test_close_with_reservation_and_unlink(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 4096, .max_segment = 4096};
    ipcx_queue *p = create_q(name, sizeof name, &o), *c = NULL;
    assert_int_equal(open_q(name, IPCX_QUEUE_CONSUMER, 0, &c), 0);
    void *d = NULL;
    uint64_t seq = 0, v = 0;
    assert_int_equal(ipcx_queue_reserve(p, 8, &d, 0), 0);
    memset(d, 0xee, 8);
    ipcx_queue_close(p); /* the half-made message is dropped, not sent */
    assert_int_equal(open_q(name, IPCX_QUEUE_PRODUCER, 0, &p), 0);
    v = 42;
    assert_int_equal(ipcx_queue_send(p, &v, sizeof v, &seq, 0), 0);
    assert_int_equal(seq, 1);
    v = 0;
    assert_int_equal(ipcx_queue_recv(c, &v, sizeof v, &seq, 0), 8);
    assert_int_equal(v, 42);
    assert_int_equal(seq, 1);
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(c, &info), 0);
    assert_int_equal(info.skipped, 1);
    /* removed while open: what is mapped works, growing does not */
    assert_int_equal(ipcx_queue_unlink(name), 0);
    assert_int_equal(ipcx_queue_send(p, &v, sizeof v, NULL, 0), 0);
    assert_int_equal(ipcx_queue_recv(c, &v, sizeof v, NULL, 0), 8);
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        rc = ipcx_queue_send(p, &v, sizeof v, NULL, 0);
    assert_int_equal(rc, -EIDRM);
    ipcx_queue_close(p);
    ipcx_queue_close(c);
    assert_int_equal(seg_regions(name), 0);
}

/* ------------------------------------------------------------ burst */

static void test_burst_and_memory_return(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 16384};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    ipcx_queue_info before, after;
    assert_int_equal(ipcx_queue_stats(q, &before), 0);
    int regions_before = seg_regions(name);
    assert_int_equal(regions_before, 1);
    ipcx_queue_close(q); /* the producer is another process */
    /* 10x the initial segment, no consumer attached */
    uint64_t count = 10 * 16384 / 140;
    pid_t p = spawn_producer(name, 0, count, 200, 0);
    assert_int_equal(tu_wait(p, WAITMS), 0);
    ipcx_queue *c = NULL;
    assert_int_equal(open_q(name, IPCX_QUEUE_CONSUMER, 0, &c), 0);
    ipcx_queue_info mid;
    assert_int_equal(ipcx_queue_stats(c, &mid), 0);
    assert_true(mid.segments > 2);
    assert_true(mid.bytes_used >= 10 * 16384);
    assert_int_equal(drain_check(c, 1, count, 0), 0);
    assert_int_equal(ipcx_queue_recv(c, NULL, 0, NULL, 0), -EAGAIN);
    assert_int_equal(ipcx_queue_stats(c, &after), 0);
    fprintf(stderr,
            "burst: before %" PRIu64 " B / %u seg, peak %" PRIu64 " B / %u seg, after %" PRIu64
            " B / %u seg + %u free, largest %" PRIu64 "\n",
            before.bytes_used, before.segments, mid.bytes_used, mid.segments, after.bytes_used,
            after.segments, after.free_segments, mid.bytes_used - before.bytes_used);
    /* back to within one segment: the one the consumer stands in, plus at
     * most one recycled initial-size file */
    assert_int_equal(after.segments, 1);
    assert_true(after.free_segments <= 1);
    assert_true(seg_regions(name) <= regions_before + 1);
    assert_true(after.bytes_used <= before.bytes_used + o.initial_segment * 8);
    ipcx_queue_close(c);
    ipcx_queue_unlink(name);
}

/* ------------------------------------------------------------ limit */

static void test_limit(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 8192,
                         .max_segment = 8192,
                         .memory_limit = 4 * 8192,
                         .role = IPCX_QUEUE_PRODUCER | IPCX_QUEUE_CONSUMER};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    static uint8_t buf[2000];
    uint64_t sent = 0;
    int rc = 0;
    for (; sent < 10000; sent++) {
        uint32_t len = qt_len(0, sent, 1000);
        qt_fill(buf, 0, sent, len);
        if ((rc = ipcx_queue_send(q, buf, len, NULL, 0)) != 0)
            break;
    }
    assert_int_equal(rc, -ENOSPC);
    assert_true(sent > 10);
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(q, &info), 0);
    assert_true(info.bytes_used <= o.memory_limit);
    assert_true(info.limit_hits >= 1);
    ipcx_queue_close(q);
    assert_int_equal(open_q(name, IPCX_QUEUE_CONSUMER | IPCX_QUEUE_PRODUCER, 0, &q), 0);
    assert_int_equal(drain_check(q, 1, sent, 0), 0); /* nothing lost */
    assert_int_equal(ipcx_queue_recv(q, buf, sizeof buf, NULL, 0), -EAGAIN);
    /* usable again (the closed tail and one recycled file are still held,
     * so half of what fitted before) */
    sent /= 2;
    for (uint64_t i = 0; i < sent; i++) {
        uint32_t len = qt_len(0, i, 1000);
        qt_fill(buf, 0, i, len);
        assert_int_equal(ipcx_queue_send(q, buf, len, NULL, 0), 0);
    }
    assert_int_equal(drain_check(q, 1, sent, 0), 0);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

static void test_limit_wait(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 8192,
                         .max_segment = 8192,
                         .memory_limit = 3 * 8192,
                         .on_limit = IPCX_QUEUE_LIMIT_WAIT};
    o.role = IPCX_QUEUE_PRODUCER | IPCX_QUEUE_CONSUMER;
    ipcx_queue *q = create_q(name, sizeof name, &o);
    /* full: a finite timeout expires, a zero timeout fails at once */
    static uint8_t fill[1000];
    int rc;
    while ((rc = ipcx_queue_send(q, fill, sizeof fill, NULL, 0)) == 0)
        ;
    assert_int_equal(rc, -ENOSPC);
    int64_t t0 = ipcx__now_ns();
    assert_int_equal(ipcx_queue_send(q, fill, sizeof fill, NULL, 30000000), -ETIMEDOUT);
    assert_true(ipcx__now_ns() - t0 >= 30000000);
    void *d = NULL;
    assert_int_equal(ipcx_queue_reserve(q, 10, &d, 1000000), -ETIMEDOUT);
    while (ipcx_queue_recv(q, fill, sizeof fill, NULL, 0) >= 0)
        ;
    ipcx_queue_close(q);
    /* the producer waits at the limit while the consumer drains slowly */
    pid_t p = spawn_producer(name, 0, 3000, 500, 0);
    ipcx_queue *c = NULL;
    assert_int_equal(open_q(name, IPCX_QUEUE_CONSUMER, 0, &c), 0);
    assert_int_equal(drain_check(c, 1, 3000, 30 * SEC), 0);
    assert_int_equal(tu_wait(p, WAITMS), 0);
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(c, &info), 0);
    assert_true(info.limit_hits >= 1);
    ipcx_queue_close(c);
    ipcx_queue_unlink(name);
}

/* ------------------------------------------------------------ streams */

static void stream(uint32_t nprod, uint32_t delivery, uint32_t nbcast, long ppace, int wait)
{
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 65536,
                         .flags = nprod > 1 ? IPCX_QUEUE_MULTI_PRODUCER : 0,
                         .delivery = delivery,
                         .role = IPCX_QUEUE_CONSUMER,
                         .wait = (uint32_t)wait};
    ipcx_queue *c = create_q(name, sizeof name, &o);
    uint64_t per = g_msgs / nprod;
    pid_t cons[4];
    char total[32], np[16], w[8];
    snprintf(total, sizeof total, "%" PRIu64, per * nprod);
    snprintf(np, sizeof np, "%u", nprod);
    snprintf(w, sizeof w, "%d", wait);
    for (uint32_t i = 0; i < nbcast; i++)
        cons[i] = tu_spawn("--helper", "consume", name, np, total, w, NULL);
    /* broadcast consumers must be attached before the first message */
    ipcx_queue_info ci = {0};
    for (int i = 0; i < 20000 && ci.consumers < 1 + nbcast; i++) {
        assert_int_equal(ipcx_queue_stats(c, &ci), 0);
        usleep(1000);
    }
    assert_int_equal(ci.consumers, 1 + nbcast);
    pid_t prods[4];
    for (uint32_t i = 0; i < nprod; i++)
        prods[i] = spawn_producer(name, (int)i, per, 300, ppace > 0 && i == 0 ? ppace : 0);
    int64_t t0 = ipcx__now_ns();
    /* this process is a consumer too, sometimes slower than the producers */
    assert_int_equal(drain_check(c, nprod, per * nprod, 60 * SEC), 0);
    for (uint32_t i = 0; i < nprod; i++)
        assert_int_equal(tu_wait(prods[i], WAITMS), 0);
    for (uint32_t i = 0; i < nbcast; i++)
        assert_int_equal(tu_wait(cons[i], WAITMS), 0);
    fprintf(stderr, "stream %u->%u (%s): %" PRIu64 " msgs in %.2f s\n", nprod, 1 + nbcast,
            delivery ? "broadcast" : "queue", per * nprod, (double)(ipcx__now_ns() - t0) / 1e9);
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(c, &info), 0);
    assert_int_equal(info.sent, per * nprod);
    ipcx_queue_close(c);
    ipcx_queue_unlink(name);
}

static void test_spsc(void **state)
{
    (void)state;
    stream(1, IPCX_QUEUE_DELIVER_QUEUE, 0, 0, IPCX_QUEUE_WAIT_BLOCK);
}

static void test_spsc_slow_producer(void **state)
{
    (void)state;
    stream(1, IPCX_QUEUE_DELIVER_QUEUE, 0, 300, IPCX_QUEUE_WAIT_BLOCK);
}

static void test_mpsc(void **state)
{
    (void)state;
    stream(4, IPCX_QUEUE_DELIVER_QUEUE, 0, 200, IPCX_QUEUE_WAIT_SPIN);
}

static void test_broadcast(void **state)
{
    (void)state;
    stream(2, IPCX_QUEUE_DELIVER_BROADCAST, 2, 0, IPCX_QUEUE_WAIT_BLOCK);
}

/* Queue delivery to several consumers: each message exactly once. */
static void test_queue_many_consumers(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 8192, .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *p = create_q(name, sizeof name, &o);
    ipcx_queue *c[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(open_q(name, IPCX_QUEUE_CONSUMER, 0, &c[i]), 0);
    enum { N = 3000 };
    static uint8_t seen[N];
    uint64_t v;
    for (uint64_t i = 0; i < N; i++)
        assert_int_equal(ipcx_queue_send(p, &i, sizeof i, NULL, 0), 0);
    for (int got = 0, k = 0; got < N; k++) {
        int n = ipcx_queue_recv(c[k % 3], &v, sizeof v, NULL, 0);
        if (n == -EAGAIN)
            continue;
        assert_int_equal(n, 8);
        assert_true(v < N);
        assert_int_equal(seen[v], 0);
        seen[v] = 1;
        got++;
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipcx_queue_recv(c[i], &v, sizeof v, NULL, 0), -EAGAIN);
        ipcx_queue_close(c[i]);
    }
    ipcx_queue_close(p);
    ipcx_queue_unlink(name);
}

/* Queue delivery with consumers in three processes competing for the group
 * over one-page segments that are reclaimed and recycled all the time: a
 * consumer whose copy of the group cursor went stale while its segment was
 * recycled must retry, not report -EPROTO; no message lost or duplicated. */
static void test_queue_group_recycling(void **state)
{
    (void)state;
    char name[64], out[3][128];
    ipcx_queue_opts o = {.initial_segment = 4096, .max_segment = 4096};
    ipcx_queue *p = create_q(name, sizeof name, &o);
    pid_t cons[3];
    for (int i = 0; i < 3; i++) {
        snprintf(out[i], sizeof out[i], "/tmp/ipcx-%s-%d", name, i);
        cons[i] = tu_spawn("--helper", "gconsume", name, out[i], NULL);
    }
    enum { N = 60000 };
    static uint8_t buf[128];
    uint64_t want = 0;
    for (uint64_t i = 0; i < N; i++) {
        uint32_t len = qt_len(0, i, 60);
        qt_fill(buf, 0, i, len);
        assert_int_equal(ipcx_queue_send(p, buf, len, NULL, 30 * SEC), 0);
        want += qt_mix(i + 1);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipcx_queue_send(p, "", 1, NULL, 0), 0); /* one stop each */
    uint64_t count = 0, sum = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tu_wait(cons[i], WAITMS), 0);
        FILE *f = fopen(out[i], "r");
        assert_non_null(f);
        uint64_t c = 0, s = 0;
        assert_int_equal(fscanf(f, "%" SCNu64 " %" SCNu64, &c, &s), 2);
        fclose(f);
        unlink(out[i]);
        count += c;
        sum += s;
    }
    assert_int_equal(count, N);
    assert_int_equal(sum, want);
    ipcx_queue_close(p);
    ipcx_queue_unlink(name);
}

/* ------------------------------------------------------------ crash */

static void test_producer_killed_mid_record(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 16384, .role = IPCX_QUEUE_CONSUMER};
    ipcx_queue *c = create_q(name, sizeof name, &o);
    uint64_t st = tu_seed(), next = 0;
    static uint8_t buf[5000];
    for (int round = 0; round < 20; round++) {
        pid_t p = tu_spawn("--helper", "forever", name, NULL);
        /* let it run for a random while, reading as we go */
        int64_t until = ipcx__now_ns() + 1000000 + (int64_t)(tu_rand(&st) % 20000000);
        while (ipcx__now_ns() < until) {
            int n = ipcx_queue_recv(c, buf, sizeof buf, NULL, 1000000);
            if (n == -ETIMEDOUT)
                continue;
            uint32_t prod;
            uint64_t counter;
            assert_true(n >= 0);
            assert_int_equal(qt_check(buf, (size_t)n, &prod, &counter), 0);
            assert_int_equal(counter, next);
            next++;
        }
        kill(p, SIGKILL);
        tu_wait(p, WAITMS);
        /* everything committed before the kill is intact; then nothing */
        int n;
        while ((n = ipcx_queue_recv(c, buf, sizeof buf, NULL, 0)) >= 0) {
            uint32_t prod;
            uint64_t counter;
            assert_int_equal(qt_check(buf, (size_t)n, &prod, &counter), 0);
            assert_int_equal(counter, next);
            next++;
        }
        assert_int_equal(n, -EAGAIN);
        next = 0; /* the next producer counts from 0 again */
    }
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(c, &info), 0);
    fprintf(stderr, "kills: 20, abandoned claims skipped: %" PRIu64 "\n", info.skipped);
    ipcx_queue_close(c);
    ipcx_queue_unlink(name);
}

/* Several producers, one killed at a random moment each round: the others'
 * messages keep flowing (a claim the dead one left is skipped, not waited
 * for), and every message delivered is intact and in per-producer order. */
static void test_mp_producer_killed(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {
        .initial_segment = 16384, .flags = IPCX_QUEUE_MULTI_PRODUCER, .role = IPCX_QUEUE_CONSUMER};
    ipcx_queue *c = create_q(name, sizeof name, &o);
    uint64_t st = tu_seed();
    static uint8_t buf[3000];
    static uint64_t next[64];
    pid_t steady = tu_spawn("--helper", "mpforever", name, "0", NULL);
    for (int round = 1; round <= 10; round++) {
        char pn[16];
        snprintf(pn, sizeof pn, "%d", round);
        pid_t victim = tu_spawn("--helper", "mpforever", name, pn, NULL);
        int64_t until = ipcx__now_ns() + 2000000 + (int64_t)(tu_rand(&st) % 10000000);
        int killed = 0;
        uint64_t after_kill = 0;
        while (after_kill < 2000) {
            if (!killed && ipcx__now_ns() >= until) {
                kill(victim, SIGKILL);
                tu_wait(victim, WAITMS);
                killed = 1;
            }
            int n = ipcx_queue_recv(c, buf, sizeof buf, NULL, 5 * SEC);
            assert_true(n >= 0); /* no stall behind the dead producer's claim */
            uint32_t prod = UINT32_MAX;
            uint64_t counter = 0;
            assert_int_equal(qt_check(buf, (size_t)n, &prod, &counter), 0);
            assert_true(prod <= (uint32_t)round);
            assert_int_equal(counter, next[prod]);
            next[prod]++;
            after_kill += killed && prod == 0;
        }
    }
    kill(steady, SIGKILL);
    tu_wait(steady, WAITMS);
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(c, &info), 0);
    fprintf(stderr, "mp kills: 10, abandoned claims skipped: %" PRIu64 "\n", info.skipped);
    ipcx_queue_close(c);
    ipcx_queue_unlink(name);
}

/* ------------------------------------------------------------ the chain lock */

/* Send until a call fails; return its result (only the link needs the lock). */
static int send_until_error(ipcx_queue *q, int64_t timeout_ns, int max)
{
    static uint8_t buf[512];
    for (int i = 0; i < max; i++) {
        int rc = ipcx_queue_send(q, buf, sizeof buf, NULL, timeout_ns);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A live process that keeps the chain lock forever: calls that need it
 * fail with -ETIMEDOUT soon after their deadline (at least the 2 s grace),
 * never hang; once the holder dies, the lock is stolen and all works. */
static void test_lock_live_holder_times_out(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 4096, .memory_limit = 1 << 20};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char fd[16];
    snprintf(fd, sizeof fd, "%d", fds[1]);
    pid_t h = tu_spawn("--helper", "holdlock", name, fd, NULL);
    assert_true(h > 0);
    close(fds[1]);
    /* Not a poll of the lock word: the helper's open holds the lock for a
     * moment too, and a test that started sending then (CI, under load)
     * linked segments up to the memory limit before the helper took the
     * lock for good, and got -ENOSPC. */
    char b[2];
    assert_int_equal(tu_line_read(fds[0], b, sizeof b, 30000), 1);
    close(fds[0]);
    assert_int_equal(load_relaxed(&q->ctl->lock), (uint32_t)h);
    /* the first segment fills without the lock; linking the next needs it */
    int64_t t0 = ipcx__now_ns();
    /* Enough to pass any segment already linked (the holder may have
     * attached before it took the lock): some send must link. */
    int rc = send_until_error(q, 100000000, 4000);
    if (rc != -ETIMEDOUT)
        fprintf(stderr,
                "send: %d; lock %u start %" PRIu64 ", holder %d alive %d start %" PRIu64 "\n", rc,
                load_relaxed(&q->ctl->lock), load_relaxed(&q->ctl->lock_start), (int)h,
                ipcx__proc_alive(h, 0), ipcx__proc_start_time(h));
    assert_int_equal(rc, -ETIMEDOUT);
    int64_t took = ipcx__now_ns() - t0;
    ipcx_queue *c = NULL;
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER};
    int64_t t1 = ipcx__now_ns();
    assert_int_equal(ipcx_queue_open(name, &oc, &c), -ETIMEDOUT); /* attach locks */
    int64_t took_open = ipcx__now_ns() - t1;
    fprintf(stderr, "live lock holder: send gave up after %.2f s, open after %.2f s\n",
            (double)took / 1e9, (double)took_open / 1e9);
    assert_true(took < 20 * SEC && took_open < 20 * SEC); /* bounded, not a speed check */
    kill(h, SIGKILL);
    assert_int_equal(tu_wait(h, WAITMS), 128 + SIGKILL);
    /* dead holder: stolen (and the chain repaired) on the next lock */
    ipcx_log_set(NULL, NULL, 0);
    assert_int_equal(send_until_error(q, 5 * SEC, 20), 0);
    assert_int_equal(ipcx_queue_open(name, &oc, &c), 0);
    assert_true(ipcx_queue_recv(c, NULL, 0, NULL, 0) == -EMSGSIZE);
    ipcx_queue_close(c);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

/* A queue-delivery consumer that died between its hold store and its
 * claiming CAS must not get "its" message handed back once another
 * consumer claimed it: that would deliver the message twice. */
static void test_queue_dead_pending_hold(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 4096, .delivery = IPCX_QUEUE_DELIVER_QUEUE};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    assert_int_equal(ipcx_queue_send(q, "one", 3, NULL, 0), 0);
    assert_int_equal(ipcx_queue_send(q, "two", 3, NULL, 0), 0);
    ipcx_queue *a = NULL, *b = NULL;
    assert_int_equal(open_q(name, IPCX_QUEUE_CONSUMER, 0, &a), 0);
    pid_t h = tu_spawn("--helper", "pendinghold", name, NULL);
    assert_int_equal(tu_wait(h, WAITMS), 0);
    const void *d = NULL;
    size_t len = 0;
    assert_int_equal(ipcx_queue_peek(a, &d, &len, NULL, 0), 3); /* claims "one" */
    assert_memory_equal(d, "one", 3);
    assert_int_equal(open_q(name, IPCX_QUEUE_CONSUMER, 0, &b), 0); /* unclaims the dead */
    char buf[8];
    assert_int_equal(ipcx_queue_recv(b, buf, sizeof buf, NULL, 0), 3);
    assert_memory_equal(buf, "two", 3); /* not "one" a second time */
    assert_int_equal(ipcx_queue_release(a, d), 1);
    assert_int_equal(ipcx_queue_recv(a, buf, sizeof buf, NULL, 0), -EAGAIN);
    assert_int_equal(ipcx_queue_recv(b, buf, sizeof buf, NULL, 0), -EAGAIN);
    ipcx_queue_close(a);
    ipcx_queue_close(b);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

/* Ping-pong between two processes, both consumers blocking, every wait a
 * futex sleep with no safety slice: each message must be delivered by the
 * producer's wake (the Dekker pair of tag_store/wake_data and wait_data,
 * fenced with membarrier where the kernel has it); a lost wake-up shows as
 * a recv timeout. */
static void test_block_no_lost_wakeup(void **state)
{
    (void)state;
    char ping[64], pong[64];
    ipcx_queue_opts o = {.initial_segment = 4096};
    ipcx_queue *out = create_q(ping, sizeof ping, &o);
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER, .wait = IPCX_QUEUE_WAIT_BLOCK};
    ipcx_queue *in = create_q(pong, sizeof pong, &oc);
    int spin = ipcx__qspin_limit;
    int64_t slice = ipcx__qslice_ns;
    no_safety_net();
    enum { N = 3000 };
    char n[16];
    snprintf(n, sizeof n, "%d", N);
    pid_t h = tu_spawn("--helper", "pong", ping, pong, n, NULL);
    uint64_t v = 0;
    for (uint64_t i = 0; i < N; i++) {
        assert_int_equal(ipcx_queue_send(out, &i, sizeof i, NULL, 0), 0);
        assert_int_equal(ipcx_queue_recv(in, &v, sizeof v, NULL, 20 * SEC), 8);
        assert_int_equal(v, i);
    }
    assert_int_equal(tu_wait(h, WAITMS), 0);
    fprintf(stderr, "block ping-pong: %d round trips, consumer fenced: %s\n", N,
            in->blocking == 2 ? "membarrier" : "no (seq_cst stores)");
    ipcx__qspin_limit = spin;
    ipcx__qslice_ns = slice;
    ipcx_queue_close(in);
    ipcx_queue_close(out);
    ipcx_queue_unlink(ping);
    ipcx_queue_unlink(pong);
}

/* A hostile free-list count in the control block (free_n past the 4 slots
 * of free_files) at the memory limit: the producer gets an error, never an
 * out-of-bounds read of the control block. */
static void test_hostile_free_count(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {
        .initial_segment = 4096, .memory_limit = 1 << 20, .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    ipcx_log_set(NULL, NULL, 0);
    store_relaxed(&q->ctl->free_n, 0x7fffffffu);
    store_relaxed(&q->ctl->mem_used, UINT64_C(1) << 40);
    int rc = send_until_error(q, 0, 100);
    assert_true(rc == -EPROTO || rc == -ENOSPC);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

/* ------------------------------------------------------------ hostile peer */

/* Map region @name raw, for scribbling. */
static uint8_t *raw_map(const char *name, size_t *len)
{
    ipcx_region *r = NULL;
    if (ipcx_region_open(name, &r) != 0)
        return NULL;
    *len = ipcx_region_size(r);
    uint8_t *p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, ipcx_region_fd(r), 4096);
    ipcx_region_close(r);
    return p == MAP_FAILED ? NULL : p;
}

static void scribble(uint8_t *p, size_t len, uint64_t *st, size_t limit)
{
    int n = 1 + (int)(tu_rand(st) % 4);
    for (int i = 0; i < n; i++) {
        size_t off = (size_t)(tu_rand(st) % (limit < len ? limit : len));
        switch (tu_rand(st) % 3) {
        case 0:
            p[off] ^= (uint8_t)(1u << (tu_rand(st) % 8));
            break;
        case 1:
            p[off] = (uint8_t)tu_rand(st);
            break;
        default:
            if (off + 8 <= len) {
                uint64_t v = tu_rand(st);
                memcpy(p + (off & ~(size_t)7), &v, 8);
            }
        }
    }
}

static int hostile_round(uint64_t *st, int target)
{
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 4096,
                         .delivery = (uint32_t)(tu_rand(st) % 2),
                         .role = IPCX_QUEUE_PRODUCER | IPCX_QUEUE_CONSUMER};
    tu_unique(name, sizeof name, "qh");
    ipcx_queue *q = NULL;
    if (ipcx_queue_create(name, &o, &q) != 0)
        return 1;
    static uint8_t buf[3000];
    for (uint64_t i = 0; i < 60; i++) {
        uint32_t len = qt_len(0, i, 200);
        qt_fill(buf, 0, i, len);
        if (ipcx_queue_send(q, buf, len, NULL, 0) != 0)
            return 2;
    }
    for (int i = 0; i < 5; i++)
        ipcx_queue_recv(q, buf, sizeof buf, NULL, 0);
    char rn[128];
    size_t len = 0;
    if (target == 0)
        snprintf(rn, sizeof rn, "%s", name);
    else
        snprintf(rn, sizeof rn, "%s.seg.%d", name, target - 1);
    uint8_t *p = raw_map(rn, &len);
    if (p != NULL) {
        /* The lock word (ctl bytes 128..143) is left alone: a live peer
         * that holds the lock forever stalls the slow paths (documented). */
        uint8_t keep[16];
        memcpy(keep, p + 128, 16);
        scribble(p, len, st, target == 0 ? 1024 : (tu_rand(st) % 2 ? 128 : 4096));
        if (target == 0)
            memcpy(p + 128, keep, 16);
        munmap(p, len);
    }
    /* the victim: everything it does ends in a result, never a crash */
    for (int i = 0; i < 200; i++) {
        int rc = ipcx_queue_recv(q, buf, sizeof buf, NULL, 0);
        if (rc == -EAGAIN || rc == -EPROTO)
            break;
        if (rc < 0 && rc != -EMSGSIZE)
            return 3;
        if (i % 3 == 0)
            ipcx_queue_send(q, buf, 100, NULL, 0);
    }
    ipcx_queue_info info;
    ipcx_queue_stats(q, &info);
    ipcx_queue *q2 = NULL;
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER};
    if (ipcx_queue_open(name, &oc, &q2) == 0) {
        for (int i = 0; i < 200 && ipcx_queue_recv(q2, buf, sizeof buf, NULL, 0) >= 0; i++)
            ;
        ipcx_queue_close(q2);
    }
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
    return 0;
}

static void test_hostile_peer(void **state)
{
    (void)state;
    uint64_t st = tu_seed();
    ipcx_log_set(NULL, NULL, 0);
    for (int round = 0; round < 300; round++)
        assert_int_equal(hostile_round(&st, round % 4), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    rt_private_dir();
    if (argc > 1 && strcmp(argv[1], "--stress") == 0) {
        g_msgs = 10000000;
        const struct CMUnitTest stress[] = {
            cmocka_unit_test(test_spsc),
            cmocka_unit_test(test_spsc_slow_producer),
            cmocka_unit_test(test_mpsc),
            cmocka_unit_test(test_broadcast),
        };
        return cmocka_run_group_tests_name("queue_stress", stress, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_roles_and_options),
        cmocka_unit_test(test_close_with_reservation_and_unlink),
        cmocka_unit_test(test_burst_and_memory_return),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_limit_wait),
        cmocka_unit_test(test_spsc),
        cmocka_unit_test(test_spsc_slow_producer),
        cmocka_unit_test(test_mpsc),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_queue_many_consumers),
        cmocka_unit_test(test_producer_killed_mid_record),
        cmocka_unit_test(test_mp_producer_killed),
        cmocka_unit_test(test_hostile_peer),
        cmocka_unit_test(test_lock_live_holder_times_out),
        cmocka_unit_test(test_hostile_free_count),
        cmocka_unit_test(test_queue_dead_pending_hold),
        cmocka_unit_test(test_queue_group_recycling),
        cmocka_unit_test(test_block_no_lost_wakeup),
    };
    return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
