// SPDX-License-Identifier: MIT
/*
 * ring, with real processes (fork): streams in every mode with
 * self-checking messages (checksum, producer id, per-producer sequence;
 * consumers check no loss, no duplicate, no corruption, per-producer
 * order), the kill test (SIGKILL producers and consumers at random moments
 * and at each named step of claim / commit / release through the fault
 * hook, checking the invariants after every kill), the hostile-peer test
 * (random bit flips and values written into the header, the slots and the
 * record headers while victims use the ring), and the idle test (a blocked
 * consumer uses no CPU and wakes on the next record).
 *
 * `test_ring_procs` runs the short version (make test); with the argument
 * "stress" it runs 10 million messages per stream and 10,000 kills.
 */
#include "testutil.h"
#include "region_testutil.h"
#include "ring_testutil.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "ring/ring_int.h"

static uint64_t g_msgs = 30000; /* per stream (stress: 10 M) */
static int g_kills = 100;       /* kill rounds in total (stress: 10,000) */
static uint64_t g_seed;
static uint32_t g_lanes; /* opts.lanes of the rings the next test makes */

#define SEC       1000000000LL
#define NIDS      16384 /* producer and consumer incarnations */
#define STEADY_P  16000
#define STEADY_C1 16001
#define STEADY_C2 16002

/* Shared bookkeeping for the children of one test. */
struct shared {
    _Atomic uint64_t received;    /* queue: records received by all consumers */
    _Atomic uint32_t failed;      /* first failure code, 0 none */
    _Atomic uint32_t sent[NIDS];  /* per producer (incarnation): committed */
    _Atomic uint32_t got[NIDS];   /* per producer: received */
    _Atomic uint32_t first[NIDS]; /* per consumer incarnation: first seq + 1 */
    _Atomic uint32_t max[NIDS];   /* per consumer incarnation: last seq + 1 */
    _Atomic uint8_t bits[];       /* queue: one byte per (producer, seq) */
};

static struct shared *shared_new(size_t nbits)
{
    size_t sz = sizeof(struct shared) + nbits;
    void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static void note_fail(struct shared *sh, uint32_t code, const char *what)
{
    uint32_t z = 0;
    if (atomic_compare_exchange_strong(&sh->failed, &z, code))
        fprintf(stderr, "ring test failure %u: %s (seed %llu)\n", code, what,
                (unsigned long long)g_seed);
}

static pid_t g_children[64];
static int g_nchildren;

static pid_t child(void (*fn)(void *, int), void *arg, int i)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn(arg, i);
        _exit(0);
    }
    if (g_nchildren < 64)
        g_children[g_nchildren++] = pid;
    return pid;
}

/* After each test, even a failed one: no helper outlives it. */
static int kill_children(void **state)
{
    (void)state;
    for (int i = 0; i < g_nchildren; i++)
        if (kill(g_children[i], SIGKILL) == 0)
            waitpid(g_children[i], NULL, 0);
    g_nchildren = 0;
    return 0;
}

/* ------------------------------------------------------------ streams */

struct stream {
    char name[96];
    struct shared *sh;
    int np, nc, bcast, zerocopy;
    uint32_t maxlen;
    uint64_t per; /* messages per producer */
};

static size_t pick_len(uint64_t *rnd, uint32_t maxlen)
{
    uint64_t x = tu_rand(rnd);
    size_t small = maxlen < 256 ? maxlen : 256;
    if (x % 32 == 0)
        return RTM_HDR + (x >> 8) % (maxlen - RTM_HDR + 1);
    return RTM_HDR + (x >> 8) % (small - RTM_HDR + 1);
}

static void stream_producer(void *arg, int i)
{
    struct stream *s = arg;
    ipcx_ring *r;
    if (ipcx_ring_open(s->name, &r) != 0)
        _exit(10);
    uint8_t *buf = malloc(s->maxlen);
    uint64_t rnd = g_seed ^ (uint64_t)(i + 1) * 0x1234567ull;
    for (uint64_t q = 0; q < s->per; q++) {
        size_t n = pick_len(&rnd, s->maxlen);
        int rc;
        if (s->zerocopy && (q & 1)) {
            void *d;
            rc = ipcx_ring_reserve(r, n, &d, 10 * SEC);
            if (rc == 0) {
                rtm_fill(d, n, (uint32_t)i, (uint32_t)q);
                rc = ipcx_ring_commit(r, d) == 1 ? 0 : -1;
            }
        } else {
            rtm_fill(buf, n, (uint32_t)i, (uint32_t)q);
            rc = ipcx_ring_send(r, buf, n, 10 * SEC);
        }
        if (rc != 0) {
            note_fail(s->sh, 1, "producer send");
            _exit(11);
        }
    }
    free(buf);
    ipcx_ring_close(r);
}

static int stream_take(struct stream *s, const uint8_t *b, size_t n, uint32_t *next)
{
    uint32_t id = 0, seq = 0;
    int bad = rtm_check(b, n, &id, &seq);
    if (bad != 0 || id >= (uint32_t)s->np || seq >= s->per) {
        uint32_t h[4] = {0};
        memcpy(h, b, n < 16 ? n : 16);
        fprintf(stderr, "check %d len %zu: id %u seq %u len %u\n", bad, n, h[0], h[1], h[2]);
        return note_fail(s->sh, 2, "corrupt record"), -1;
    }
    /* Per-producer order; with one consumer (or broadcast) also no gap. */
    int exact = s->bcast || s->nc == 1;
    if (exact ? seq != next[id] : seq < next[id])
        return note_fail(s->sh, 3, "order / loss"), -1;
    next[id] = seq + 1;
    if (!s->bcast) {
        uint8_t old = atomic_exchange(&s->sh->bits[id * s->per + seq], 1);
        if (old != 0)
            return note_fail(s->sh, 4, "duplicate"), -1;
        atomic_fetch_add(&s->sh->received, 1);
    }
    return 0;
}

static void stream_consumer(void *arg, int i)
{
    (void)i;
    struct stream *s = arg;
    ipcx_ring *r;
    if (ipcx_ring_open(s->name, &r) != 0)
        _exit(20);
    if (ipcx_ring_join(r, IPCX_RING_CONSUMER | IPCX_RING_FROM_OLDEST) != 0)
        _exit(21);
    uint32_t next[64] = {0};
    uint8_t *buf = malloc(s->maxlen);
    uint64_t want = s->per * (uint64_t)s->np, mine = 0;
    for (;;) {
        if (s->bcast ? mine == want : atomic_load(&s->sh->received) == want)
            break;
        const void *d;
        size_t n;
        int rc;
        if (s->zerocopy && (mine & 1)) {
            rc = ipcx_ring_peek(r, &d, &n, 20 * 1000000);
            if (rc == 0) {
                rc = stream_take(s, d, n, next);
                if (ipcx_ring_release(r, d) != 1)
                    rc = -1;
            }
        } else {
            rc = ipcx_ring_recv(r, buf, s->maxlen, 20 * 1000000);
            if (rc >= 0)
                rc = stream_take(s, buf, (size_t)rc, next);
        }
        if (rc == -ETIMEDOUT)
            continue;
        if (rc != 0) {
            fprintf(stderr, "consumer rc %d\n", rc);
            note_fail(s->sh, 5, "consumer recv");
            _exit(22);
        }
        mine++;
    }
    free(buf);
    ipcx_ring_close(r);
}

static void run_stream(int np, int nc, int bcast, uint32_t slot, int zerocopy)
{
    struct stream s = {.np = np, .nc = nc, .bcast = bcast, .zerocopy = zerocopy};
    tu_unique(s.name, sizeof(s.name), "rs");
    s.per = g_msgs / (uint64_t)np;
    s.maxlen = slot != 0 ? slot : 4096;
    s.sh = shared_new(bcast ? 1 : (size_t)(s.per * (uint64_t)np));
    ipcx_ring_opts o = {.capacity = 64 * 1024,
                        .slot_size = slot,
                        .max_msg = slot != 0 ? 0 : 4096,
                        .delivery = bcast ? IPCX_RING_BROADCAST : IPCX_RING_QUEUE,
                        .max_producers = (uint32_t)np,
                        .max_consumers = (uint32_t)nc,
                        .lanes = g_lanes};
    ipcx_ring *r;
    assert_int_equal(ipcx_ring_create(s.name, &o, &r), 0);
    pid_t pids[16];
    int n = 0;
    for (int i = 0; i < nc; i++)
        pids[n++] = child(stream_consumer, &s, i);
    if (bcast) {
        /* Every consumer must have joined before the first record. */
        ipcx_ring_stat st;
        for (int k = 0; k < 10000; k++) {
            ipcx_ring_stats(r, &st);
            if (st.consumers == (uint32_t)nc)
                break;
            usleep(1000);
        }
    }
    for (int i = 0; i < np; i++)
        pids[n++] = child(stream_producer, &s, i);
    int timeout = g_msgs > 1000000 ? 1200000 : 100000;
    for (int i = 0; i < n; i++)
        assert_int_equal(tu_wait(pids[i], timeout), 0);
    assert_int_equal(atomic_load(&s.sh->failed), 0);
    if (!bcast)
        for (uint64_t b = 0; b < s.per * (uint64_t)np; b++)
            assert_int_equal(s.sh->bits[b], 1);
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    assert_int_equal(st.msgs_in, s.per * (uint64_t)np);
    assert_int_equal(st.msgs_out, s.per * (uint64_t)np * (bcast ? (uint64_t)nc : 1));
    assert_int_equal(st.lost, 0);
    ipcx_ring_close(r);
    ipcx_ring_unlink(s.name);
}

static void test_spsc(void **st)
{
    (void)st;
    run_stream(1, 1, 0, 0, 0);
}
/* The same with the seq_cst wake-up variant (no membarrier) everywhere. */
static void test_spsc_fenced(void **st)
{
    (void)st;
    ipcx__ring_no_membarrier = 1;
    run_stream(1, 1, 0, 0, 0);
    ipcx__ring_no_membarrier = 0;
}
static void test_spsc_zerocopy_fixed(void **st)
{
    (void)st;
    run_stream(1, 1, 0, 200, 1);
}
static void test_mpsc(void **st)
{
    (void)st;
    run_stream(4, 1, 0, 0, 1);
}
static void test_mpmc(void **st)
{
    (void)st;
    run_stream(4, 4, 0, 0, 1);
}
static void test_mpmc_fixed(void **st)
{
    (void)st;
    run_stream(4, 4, 0, 64, 0);
}
static void test_broadcast(void **st)
{
    (void)st;
    run_stream(1, 4, 1, 0, 1);
}
static void test_broadcast_mp_fixed(void **st)
{
    (void)st;
    run_stream(2, 3, 1, 100, 0);
}
/* Lane rings: 4 producers, one lane each, to one consumer (copy and
 * zero-copy alternately: peeks across lanes), and broadcast with fixed
 * slots. */
static void test_mpsc_lanes(void **st)
{
    (void)st;
    g_lanes = 1;
    run_stream(4, 1, 0, 0, 1);
    g_lanes = 0;
}
static void test_broadcast_lanes(void **st)
{
    (void)st;
    g_lanes = 1;
    run_stream(3, 3, 1, 100, 1);
    g_lanes = 0;
}

/* ------------------------------------------------------------ kill test */

static int g_fault_step, g_fault_after;

static void fault_kill(int step)
{
    if (step == g_fault_step && --g_fault_after <= 0)
        raise(SIGKILL);
}

struct killt {
    char name[96];
    struct shared *sh;
    int mp, mc, bcast;
    int victim_producer; /* else consumers are the victims */
    _Atomic int stop;    /* producers: stop sending */
    _Atomic int pdone;   /* consumers: every producer has exited, drain and stop */
};

/* What a stuck ring looks like, for the failure report. */
static void dump_ring(ipcx_ring *r)
{
    struct ring_hdr *h = r->hdr;
    uint64_t head = load_relaxed(&h->head), tail = load_relaxed(&h->tail);
    fprintf(stderr, "ring: head %llu tail %llu free %llu\n", (unsigned long long)head,
            (unsigned long long)tail, (unsigned long long)load_relaxed(&h->free));
    for (uint32_t i = 0; i < r->nprod; i++) {
        struct ring_slot *s = &r->pslots[i];
        fprintf(stderr, "  pslot %u owner %llx alive %d pos %llu ipos %llu isize %u\n", i,
                (unsigned long long)load_relaxed(&s->owner), ipcx__ring_slot_alive(r, s),
                (unsigned long long)load_relaxed(&s->pos),
                (unsigned long long)load_relaxed(&s->ipos), load_relaxed(&s->isize));
    }
    uint64_t p = head;
    for (int k = 0; k < 6 && p < tail; k++) {
        struct ring_rec *rec = ring_rec_at(r, p);
        uint64_t t = load_relaxed(&rec->tag);
        unsigned kind = ring_kind(r, p, t);
        uint32_t len = load_relaxed(&rec->len);
        fprintf(stderr, "  rec %llu kind %u owner %u len %u tag-kind %u tag-pos %llu\n",
                (unsigned long long)p, kind, ring_owner(t), len, (unsigned)(t & 7),
                (unsigned long long)((((t >> 16) ^ r->key) & 0xffffffffffffull) << 3));
        if (kind == 0)
            break;
        p += kind == REC_PAD ? r->cap - (p & r->mask) : ring_rec_size(r, len);
    }
}

/* A producer incarnation `id`: sends self-checking records forever (until
 * killed or told to stop), publishing how many it committed. */
static void kill_producer(void *arg, int id)
{
    struct killt *k = arg;
    ipcx_ring *r;
    if (ipcx_ring_open(k->name, &r) != 0)
        _exit(30);
    int rc = ipcx_ring_join(r, IPCX_RING_PRODUCER);
    for (int i = 0; rc == -EBUSY && i < 2000; i++) {
        usleep(1000); /* a dead slot waits for its claim to be skipped */
        rc = ipcx_ring_join(r, IPCX_RING_PRODUCER);
    }
    if (rc != 0)
        _exit(31);
    ipcx__ring_fault = g_fault_step != 0 ? fault_kill : NULL;
    uint8_t buf[512];
    uint64_t rnd = g_seed ^ (uint64_t)id;
    for (uint32_t q = 0; !atomic_load(&k->stop); q++) {
        size_t n = RTM_HDR + tu_rand(&rnd) % 300;
        rtm_fill(buf, n, (uint32_t)id, q);
        rc = ipcx_ring_send(r, buf, n, 10 * SEC);
        if (rc != 0) {
            fprintf(stderr, "producer %d: send: %s\n", id, ipcx_strerror(rc));
            if (id == STEADY_P)
                dump_ring(r);
            _exit(32);
        }
        atomic_store(&k->sh->sent[id], q + 1);
    }
    ipcx_ring_close(r);
}

/* A consumer incarnation: receives, checks, records per producer. */
static void kill_consumer(void *arg, int inc)
{
    struct killt *k = arg;
    ipcx_ring *r;
    if (ipcx_ring_open(k->name, &r) != 0)
        _exit(40);
    int rc = ipcx_ring_join(r, IPCX_RING_CONSUMER | IPCX_RING_FROM_OLDEST);
    for (int i = 0; rc == -EBUSY && i < 2000; i++) {
        usleep(1000);
        rc = ipcx_ring_join(r, IPCX_RING_CONSUMER | IPCX_RING_FROM_OLDEST);
    }
    if (rc != 0)
        _exit(41);
    ipcx__ring_fault = g_fault_step != 0 ? fault_kill : NULL;
    static uint32_t next[NIDS];
    for (;;) {
        const void *d;
        size_t n;
        rc = ipcx_ring_peek(r, &d, &n, 50 * 1000000);
        if (rc == -ETIMEDOUT) {
            /* Not on `stop`: a producer may still be inside its last send
             * (seen under load: the last record arrived after the
             * consumer had left). */
            if (atomic_load(&k->pdone))
                break;
            continue;
        }
        uint32_t id = 0, seq = 0;
        if (rc != 0)
            fprintf(stderr, "consumer %d: peek: %s\n", inc, ipcx_strerror(rc));
        if (rc != 0 || rtm_check(d, n, &id, &seq) != 0 || id >= NIDS) {
            note_fail(k->sh, 6, rc != 0 ? "peek failed" : "torn or corrupt record delivered");
            _exit(42);
        }
        /* Within one producer incarnation and one consumer: in order;
         * single-consumer without a producer kill: no gap either. */
        if (seq < next[id] || (!k->mc && !k->victim_producer && next[id] != 0 && seq != next[id]))
            note_fail(k->sh, 7, "order or gap within a producer");
        next[id] = seq + 1;
        atomic_fetch_add(&k->sh->got[id], 1);
        if (!k->victim_producer) {
            /* max before first: a kill between the two leaves max only. */
            atomic_store(&k->sh->max[inc], seq + 1);
            if (atomic_load(&k->sh->first[inc]) == 0)
                atomic_store(&k->sh->first[inc], seq + 1);
        }
        if (ipcx_ring_release(r, d) != 1)
            _exit(43);
    }
    ipcx_ring_close(r);
}

static void kill_wait_dead(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
}

/* One kill test: `rounds` victims, alternating random-moment kills and
 * fault-step kills over the steps in steps[]. */
static void run_kill(int mp, int mc, int bcast, int victim_producer, const int *steps, int nsteps,
                     int rounds)
{
    struct killt *k =
        mmap(NULL, sizeof(*k), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0, sizeof(*k));
    k->sh = shared_new(1);
    k->mp = mp;
    k->mc = mc;
    k->bcast = bcast;
    k->victim_producer = victim_producer;
    tu_unique(k->name, sizeof(k->name), "rk");
    ipcx_ring_opts o = {.capacity = 16384,
                        .max_msg = 1024,
                        .delivery = bcast ? IPCX_RING_BROADCAST : IPCX_RING_QUEUE,
                        .max_producers = mp ? 4 : 1,
                        .max_consumers = mc ? 4 : (bcast ? 4 : 1),
                        .liveness_ms = 20,
                        .lanes = g_lanes};
    ipcx_ring *r;
    assert_int_equal(ipcx_ring_create(k->name, &o, &r), 0);
    uint64_t rnd = g_seed ^ 0xabcdefull;
    pid_t steady[4];
    int nsteady = 0;
    /* The side that is not killed runs throughout. */
    g_fault_step = 0;
    if (victim_producer) {
        steady[nsteady++] = child(kill_consumer, k, STEADY_C1);
        /* Broadcast: records sent before a consumer attaches are not its
         * to get - let it attach first. */
        for (int i = 0; bcast && i < 10000; i++) {
            ipcx_ring_stat rs;
            if (ipcx_ring_stats(r, &rs) == 0 && rs.consumers > 0)
                break;
            usleep(1000);
        }
        if (mp)
            steady[nsteady++] = child(kill_producer, k, STEADY_P);
    } else {
        steady[nsteady++] = child(kill_producer, k, STEADY_P);
        if (mc || bcast)
            steady[nsteady++] = child(kill_consumer, k, STEADY_C2);
    }
    for (int round = 0; round < rounds; round++) {
        int use_step = nsteps > 0 && (round & 1);
        g_fault_step = use_step ? steps[(round / 2) % nsteps] : 0;
        g_fault_after = 1 + (int)(tu_rand(&rnd) % 50);
        pid_t v = child(victim_producer ? kill_producer : kill_consumer, k, round);
        if (use_step) {
            /* It kills itself at the step; bound the wait. */
            int rc = tu_wait(v, 20000);
            g_nchildren--; /* reaped */
            if (rc != 128 + SIGKILL && rc != -1)
                fprintf(stderr, "victim %d (step %d) ended with %d\n", round, g_fault_step, rc);
            assert_true(rc == 128 + SIGKILL || rc == -1);
        } else {
            usleep((useconds_t)(tu_rand(&rnd) % 3000));
            kill(v, SIGKILL);
            kill_wait_dead(v);
            g_nchildren--; /* reaped */
        }
        assert_int_equal(atomic_load(&k->sh->failed), 0);
    }
    g_fault_step = 0;
    /* The invariants at the end: the ring still works both ways. */
    pid_t last = child(victim_producer ? kill_producer : kill_consumer, k, rounds);
    usleep(50000);
    atomic_store(&k->stop, 1);
    /* Producers first (the last incarnation when producers are the
     * victims, else the steady producer, steady[0]); then the consumers
     * drain what is left and stop. */
    if (victim_producer) {
        assert_int_equal(tu_wait(last, 30000), 0);
        for (int i = 1; i < nsteady; i++)
            assert_int_equal(tu_wait(steady[i], 30000), 0);
        atomic_store(&k->pdone, 1);
        assert_int_equal(tu_wait(steady[0], 30000), 0);
    } else {
        assert_int_equal(tu_wait(steady[0], 30000), 0);
        atomic_store(&k->pdone, 1);
        assert_int_equal(tu_wait(last, 30000), 0);
        for (int i = 1; i < nsteady; i++)
            assert_int_equal(tu_wait(steady[i], 30000), 0);
    }
    assert_int_equal(atomic_load(&k->sh->failed), 0);
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    if (victim_producer) {
        /* Every record a dead producer committed arrived; at most a few
         * per kill (its unfinished claim) were lost. */
        for (int id = 0; id <= rounds; id++) {
            uint32_t s = atomic_load(&k->sh->sent[id]), g = atomic_load(&k->sh->got[id]);
            if (g < s || g > s + 1)
                fprintf(stderr, "producer %d: sent %u got %u\n", id, s, g);
            assert_true(g >= s && g <= s + 1);
        }
        assert_true(st.lost <= (uint64_t)rounds);
    } else if (!mc && !bcast) {
        /* Single consumer: redelivered, never lost: each incarnation
         * starts no later than where the previous one stopped. */
        uint32_t prev = 0;
        for (int inc = 0; inc <= rounds; inc++) {
            uint32_t f = atomic_load(&k->sh->first[inc]), m = atomic_load(&k->sh->max[inc]);
            if (f != 0 && f > prev + 1)
                fprintf(stderr, "consumer %d starts at seq %u, the ones before stopped at %u\n",
                        inc, f - 1, prev);
            assert_true(f == 0 || f <= prev + 1);
            prev = m > prev ? m : prev;
        }
        assert_int_equal(st.lost, 0);
    } else if (mc) {
        uint32_t s = atomic_load(&k->sh->sent[STEADY_P]), g = atomic_load(&k->sh->got[STEADY_P]);
        /* taken-not-released by a dead consumer: received or counted lost */
        assert_true(g + st.lost >= s);
    }
    ipcx_ring_close(r);
    ipcx_ring_unlink(k->name);
    munmap(k->sh, sizeof(struct shared) + 1);
    munmap(k, sizeof(*k));
}

static const int psteps_sp[] = {RING_STEP_CLAIM_HDR, RING_STEP_COPY_HALF, RING_STEP_COMMIT};
static const int psteps_mp[] = {RING_STEP_CLAIM_INTENT, RING_STEP_CLAIM_DONE, RING_STEP_CLAIM_HDR,
                                RING_STEP_COPY_HALF, RING_STEP_COMMIT};
static const int csteps_sc[] = {RING_STEP_PEEKED, RING_STEP_RELEASE};
static const int csteps_mc[] = {RING_STEP_TAKEN, RING_STEP_PEEKED};

static void test_kill_producer_sp(void **st)
{
    (void)st;
    run_kill(0, 0, 0, 1, psteps_sp, 3, g_kills * 3 / 10);
}
static void test_kill_producer_mp(void **st)
{
    (void)st;
    run_kill(1, 0, 0, 1, psteps_mp, 5, g_kills * 3 / 10);
}
/* Producer victims where the records go to a multi-consumer queue (the
 * take loop passes dead claims) and to broadcast (producers walking the
 * floor pass them too). */
static void test_kill_producer_mpmc(void **st)
{
    (void)st;
    run_kill(1, 1, 0, 1, psteps_mp, 5, g_kills * 1 / 10);
}
static void test_kill_producer_bcast_mp(void **st)
{
    (void)st;
    run_kill(1, 0, 1, 1, psteps_mp, 5, g_kills * 1 / 10);
}
static void test_kill_consumer_sc(void **st)
{
    (void)st;
    run_kill(0, 0, 0, 0, csteps_sc, 2, g_kills * 2 / 10);
}
static void test_kill_consumer_mc(void **st)
{
    (void)st;
    run_kill(1, 1, 0, 0, csteps_mc, 2, g_kills * 1 / 10);
}
static void test_kill_consumer_bcast(void **st)
{
    (void)st;
    run_kill(0, 0, 1, 0, csteps_sc, 1, g_kills * 1 / 10);
}
/* Lane rings (4 lanes): producers killed at random and at each step of the
 * single-producer path (each has a lane of its own), and the consumer
 * killed holding records of several lanes (redelivered, never lost). */
static void test_kill_producer_lanes(void **st)
{
    (void)st;
    g_lanes = 1;
    run_kill(1, 0, 0, 1, psteps_sp, 3, g_kills * 2 / 10);
    g_lanes = 0;
}
static void test_kill_consumer_lanes(void **st)
{
    (void)st;
    g_lanes = 1;
    run_kill(1, 0, 0, 0, csteps_sc, 2, g_kills * 1 / 10);
    g_lanes = 0;
}

/* ------------------------------------------------------------ hostile peer */

struct hostile {
    char name[96];
    int producer;
    _Atomic uint32_t *eproto; /* shared: [0] -EPROTO seen by the victims, [1] stop */
};

/* Zero-copy under attack: what peek hands out lies inside the data area. */
static int hostile_peek_one(ipcx_ring *r, const void **d)
{
    size_t n = 0;
    int rc = ipcx_ring_peek(r, d, &n, 1000000);
    const uint8_t *p = *d;
    if (rc == 0 && (p < r->data + RING_REC_HDR || p + n > r->data + r->cap))
        _exit(52);
    return rc;
}

/* Two records peeked, released with one call (the release walk). */
static int hostile_peek_two(ipcx_ring *r)
{
    const void *d1, *d2;
    int rc = hostile_peek_one(r, &d1);
    if (rc != 0)
        return rc;
    rc = hostile_peek_one(r, &d2);
    rc = ipcx_ring_release(r, rc == 0 ? d2 : d1);
    return rc < 0 ? rc : 0;
}

/* Two records reserved, committed with one call. */
static int hostile_reserve_two(ipcx_ring *r, size_t len)
{
    void *d1, *d2;
    int rc = ipcx_ring_reserve(r, len, &d1, 1000000);
    if (rc != 0)
        return rc;
    memset(d1, 0x5a, len);
    rc = ipcx_ring_reserve(r, len / 2, &d2, 1000000);
    rc = ipcx_ring_commit(r, rc == 0 ? d2 : d1);
    return rc < 0 ? rc : 0;
}

static void hostile_victim(void *arg, int producer)
{
    struct hostile *h = arg;
    ipcx_ring *r;
    if (ipcx_ring_open(h->name, &r) != 0)
        _exit(0); /* the header itself may already be garbage: a clean refusal */
    uint8_t buf[4096];
    /* Busy for as long as the scribbler writes (not a fixed count, which a
     * fast ring finishes before the first scribble). */
    for (int i = 0; atomic_load(&h->eproto[1]) == 0; i++) {
        int rc;
        if (producer && i % 4 == 3) {
            rc = hostile_reserve_two(r, (size_t)(i % 300));
        } else if (producer) {
            rc = ipcx_ring_send(r, buf, (size_t)(i % 300), 1000000);
        } else if (i % 4 == 3) {
            rc = hostile_peek_two(r);
        } else {
            rc = ipcx_ring_recv(r, buf, sizeof(buf), 1000000);
            if (rc > (int)sizeof(buf))
                _exit(50);
        }
        if (rc == -EPROTO) {
            atomic_fetch_add(&h->eproto[0], 1);
            /* Detached: every later call says so too. */
            if (ipcx_ring_send(r, buf, 1, 0) != -EPROTO || ipcx_ring_recv(r, buf, 1, 0) != -EPROTO)
                _exit(51);
            ipcx_ring_close(r);
            if (ipcx_ring_open(h->name, &r) != 0)
                _exit(0);
        }
    }
    ipcx_ring_close(r);
}

/* A tag that passes the position check somewhere near tail (the scribbler
 * knows the key, as any peer does): garbage that looks like a record of any
 * kind and owner, so the victims' length, kind and owner checks are reached
 * and not only the position check. */
static uint64_t forged_tag(ipcx_ring *r, uint64_t x, size_t *off)
{
    uint64_t tail = load_relaxed(&r->hdr->tail);
    uint64_t pos = (tail + ((x >> 12) % (2 * r->cap)) - r->cap) & ~(uint64_t)7;
    *off = (size_t)(r->data - (uint8_t *)r->hdr) + (size_t)(pos & r->mask);
    return ring_tag(r, pos, (unsigned)(x >> 40) % 8, (unsigned)(x >> 44) % 6);
}

/* mode: 0 queue, 1 broadcast, 2 broadcast + overwrite (one producer). */
static void run_hostile(int mp, int mc, int mode, uint32_t slot)
{
    struct hostile h;
    tu_unique(h.name, sizeof(h.name), "rh");
    ipcx_ring_opts o = {.capacity = 8192,
                        .slot_size = slot,
                        .delivery = mode != 0 ? IPCX_RING_BROADCAST : IPCX_RING_QUEUE,
                        .full = mode == 2 ? IPCX_RING_OVERWRITE : IPCX_RING_BLOCK,
                        .max_producers = mp ? 3 : 1,
                        .max_consumers = mode != 0 ? 3 : (mc ? 3 : 1),
                        .liveness_ms = 5,
                        .stall_ms = 10}; /* forged live claims reach the stall skip */
    ipcx_ring *r;
    assert_int_equal(ipcx_ring_create(h.name, &o, &r), 0);
    uint8_t *base = (uint8_t *)r->hdr;
    size_t hdr_end = r->data - base;
    h.eproto = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(h.eproto != MAP_FAILED);
    pid_t cons = child(hostile_victim, &h, 0);
    pid_t prod = child(hostile_victim, &h, 1);
    uint64_t rnd = g_seed ^ 0x5151;
    int64_t t0 = ipcx__now_ns();
    while (ipcx__now_ns() - t0 < 300 * 1000000LL) {
        uint64_t x = tu_rand(&rnd);
        size_t off;
        switch (x % 4) {
        case 0: /* header and slots, 8-aligned words */
            off = (x >> 8) % (hdr_end / 8) * 8;
            /* The config and ready lines (read only at attach) last: once
             * they are garbage a victim can no longer re-open the ring. */
            if (off < 128 && ipcx__now_ns() - t0 < 250 * 1000000LL)
                off += 128;
            break;
        default: /* record headers: a word at a record-aligned place */
            off = hdr_end + ((x >> 8) % (r->cap / 8)) * 8;
            break;
        }
        uint64_t v = tu_rand(&rnd);
        if ((x & 0xc00) == 0xc00)
            v = forged_tag(r, x, &off), x &= ~(uint64_t)0x100, x |= 0x200;
        uint64_t *w = (uint64_t *)(void *)(base + off);
        if (x & 0x100)
            __atomic_fetch_xor(w, 1ull << (v % 64), __ATOMIC_RELAXED); /* a bit flip */
        else
            __atomic_store_n(w, (x & 0x200) ? v : v % 65536, __ATOMIC_RELAXED);
        usleep(50);
    }
    atomic_store(&h.eproto[1], 1);
    assert_int_equal(tu_wait(cons, 60000), 0);
    assert_int_equal(tu_wait(prod, 60000), 0);
    if (getenv("RING_HOSTILE_VERBOSE") != NULL)
        fprintf(stderr, "hostile mp %d mc %d mode %d: %u x -EPROTO\n", mp, mc, mode,
                atomic_load(&h.eproto[0]));
    /* The victims really were hit (the scribbles reach what they read). */
    assert_true(atomic_load(&h.eproto[0]) > 0);
    munmap((void *)h.eproto, 4096);
    ipcx_ring_close(r);
    ipcx_ring_unlink(h.name);
}

static void test_hostile(void **st)
{
    (void)st;
    run_hostile(0, 0, 0, 0);  /* SPSC */
    run_hostile(1, 0, 0, 0);  /* MPSC */
    run_hostile(1, 1, 0, 0);  /* MPMC */
    run_hostile(0, 0, 1, 0);  /* broadcast, one producer */
    run_hostile(1, 0, 1, 64); /* broadcast, many producers, fixed slots */
    run_hostile(0, 0, 2, 0);  /* broadcast + overwrite */
}

/* ------------------------------------------------------------ idle */

static int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * SEC +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* An idle consumer blocked in recv uses almost no CPU, and a send wakes
 * it at once: the parent sends only after the consumer is registered as a
 * sleeper (data_waiters), and the consumer measures the time from that
 * send to its recv's return.  liveness_ms is 10 s, so a lost wake-up shows
 * as a wake-up seconds late (the next liveness check), not as one within
 * the default 100 ms period. */
static void run_idle(void)
{
    char name[96];
    tu_unique(name, sizeof(name), "ri");
    ipcx_ring_opts o = {.liveness_ms = 10000};
    ipcx_ring *r;
    assert_int_equal(ipcx_ring_create(name, &o, &r), 0);
    _Atomic int64_t *sent_at =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sent_at != MAP_FAILED);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        ipcx_ring *c;
        if (ipcx_ring_open(name, &c) != 0 || ipcx_ring_join(c, IPCX_RING_CONSUMER) != 0)
            _exit(60);
        if (write(fds[1], "r", 1) != 1)
            _exit(61);
        int64_t c0 = cpu_ns(), w0 = ipcx__now_ns();
        char b[16];
        int rc = ipcx_ring_recv(c, b, sizeof(b), IPCX_FOREVER);
        int64_t now = ipcx__now_ns();
        int64_t used = cpu_ns() - c0, wall = now - w0, late = now - atomic_load(sent_at);
        fprintf(stderr,
                "idle: blocked %lld ms, used %lld us of CPU, woken %lld us after the send\n",
                (long long)(wall / 1000000), (long long)(used / 1000), (long long)(late / 1000));
        _exit(rc == 4 && wall > 200 * 1000000LL && used < 20 * 1000000LL && late < 1000 * 1000000LL
                  ? 0
                  : 62);
    }
    char b[2]; /* one byte, "r" (a cap of 1 would read nothing) */
    assert_int_equal(tu_line_read(fds[0], b, sizeof b, 10000), 1);
    usleep(400000); /* the idle period being measured, not synchronisation */
    /* The consumer sleeps by now (30 us of spin, then FUTEX_WAIT): the send
     * below must wake it.  Relaxed: a test's probe of the waiter count. */
    for (int i = 0; i < 10000 && load_relaxed(&r->hdr->data_waiters) == 0; i++)
        usleep(1000);
    assert_int_not_equal(load_relaxed(&r->hdr->data_waiters), 0);
    atomic_store(sent_at, ipcx__now_ns());
    assert_int_equal(ipcx_ring_send(r, "wake", 4, IPCX_NOWAIT), 0);
    assert_int_equal(tu_wait(pid, 30000), 0);
    munmap((void *)sent_at, 4096);
    close(fds[0]);
    close(fds[1]);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
}

static void test_idle(void **st)
{
    (void)st;
    run_idle();
}

static void test_idle_fenced(void **st)
{
    (void)st;
    ipcx__ring_no_membarrier = 1;
    run_idle();
    ipcx__ring_no_membarrier = 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "stress") == 0) {
        g_msgs = 10000000;
        g_kills = 10000;
    }
    g_seed = tu_seed();
    rt_private_dir();
    if (getenv("RING_TEST") != NULL)
        cmocka_set_test_filter(getenv("RING_TEST"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_spsc, kill_children),
        cmocka_unit_test_teardown(test_spsc_fenced, kill_children),
        cmocka_unit_test_teardown(test_spsc_zerocopy_fixed, kill_children),
        cmocka_unit_test_teardown(test_mpsc, kill_children),
        cmocka_unit_test_teardown(test_mpmc, kill_children),
        cmocka_unit_test_teardown(test_mpmc_fixed, kill_children),
        cmocka_unit_test_teardown(test_broadcast, kill_children),
        cmocka_unit_test_teardown(test_broadcast_mp_fixed, kill_children),
        cmocka_unit_test_teardown(test_mpsc_lanes, kill_children),
        cmocka_unit_test_teardown(test_broadcast_lanes, kill_children),
        cmocka_unit_test_teardown(test_kill_producer_sp, kill_children),
        cmocka_unit_test_teardown(test_kill_producer_mp, kill_children),
        cmocka_unit_test_teardown(test_kill_producer_mpmc, kill_children),
        cmocka_unit_test_teardown(test_kill_producer_bcast_mp, kill_children),
        cmocka_unit_test_teardown(test_kill_consumer_sc, kill_children),
        cmocka_unit_test_teardown(test_kill_consumer_mc, kill_children),
        cmocka_unit_test_teardown(test_kill_consumer_bcast, kill_children),
        cmocka_unit_test_teardown(test_kill_producer_lanes, kill_children),
        cmocka_unit_test_teardown(test_kill_consumer_lanes, kill_children),
        cmocka_unit_test_teardown(test_hostile, kill_children),
        cmocka_unit_test_teardown(test_idle, kill_children),
        cmocka_unit_test_teardown(test_idle_fenced, kill_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
