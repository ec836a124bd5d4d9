// SPDX-License-Identifier: MIT
/*
 * Lane rings (ipcx_ring_opts.lanes): a lane per producer, every consumer
 * reading them all (src/ring/lanes.c).  One process with several handles,
 * plus forked children for sleeping, killed and interrupted consumers.
 * The multi-process streams and kill tests with lanes are in
 * integration/test_ring_procs.c.
 */
#include "testutil.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "ring/ring_int.h"
#include "ring_block.h"

#define SEC 1000000000LL

static ipcx_ring_opts lane_opts(uint32_t lanes, uint32_t delivery)
{
    ipcx_ring_opts o = {.capacity = 4096,
                        .max_msg = 256,
                        .max_producers = lanes,
                        .delivery = delivery,
                        .max_consumers = delivery == IPCX_RING_BROADCAST ? 4 : 1,
                        .lanes = 1};
    return o;
}

static void send_u32(ipcx_ring *p, uint32_t v)
{
    assert_int_equal(ipcx_ring_send(p, &v, sizeof(v), IPCX_NOWAIT), 0);
}

static uint32_t peek_u32(ipcx_ring *c, const void **d)
{
    size_t len = 0;
    assert_int_equal(ipcx_ring_peek(c, d, &len, IPCX_NOWAIT), 0);
    assert_int_equal(len, sizeof(uint32_t));
    uint32_t v;
    memcpy(&v, *d, sizeof(v));
    return v;
}

/* Each producer handle takes a lane of its own; one more is -EBUSY; every
 * record arrives, in order per producer; the figures add up over lanes. */
static void test_lanes_basic(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(3, IPCX_RING_QUEUE);
    ipcx_ring *c = ring_block_new(&b, &o);
    assert_int_equal(c->nlanes, 3);
    ipcx_ring *p[4];
    int lane_used[3] = {0};
    for (int i = 0; i < 3; i++) {
        p[i] = ring_block_handle(&b);
        assert_int_equal(ipcx_ring_join(p[i], IPCX_RING_PRODUCER), 0);
        assert_true(p[i]->plane >= 0 && p[i]->plane < 3);
        assert_int_equal(lane_used[p[i]->plane]++, 0);
    }
    p[3] = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(p[3], IPCX_RING_PRODUCER), -EBUSY);
    for (uint32_t k = 0; k < 20; k++)
        for (uint32_t i = 0; i < 3; i++)
            send_u32(p[i], i << 16 | k);
    uint32_t next[3] = {0};
    for (int n = 0; n < 60; n++) {
        uint32_t v = 0;
        assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), (int)sizeof(v));
        uint32_t id = v >> 16;
        assert_true(id < 3);
        assert_int_equal(v & 0xffff, next[id]);
        next[id]++;
    }
    uint32_t v;
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), -EAGAIN);
    ipcx_ring_stat s;
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipcx_ring_stats(p[i], &s), 0); /* publishes its counters */
    assert_int_equal(ipcx_ring_stats(c, &s), 0);
    assert_int_equal(s.max_producers, 3);
    assert_int_equal(s.producers, 3);
    assert_int_equal(s.consumers, 1);
    assert_int_equal(s.msgs_in, 60);
    assert_int_equal(s.msgs_out, 60);
    assert_int_equal(s.bytes_out, 240);
    assert_int_equal(s.lost, 0);
    /* The consumer appears once, with its total over the lanes. */
    int consumers = 0;
    for (uint32_t i = 0; i < s.npeers; i++)
        if (s.peer[i].role == IPCX_RING_CONSUMER) {
            consumers++;
            assert_int_equal(s.peer[i].msgs, 60);
        }
    assert_int_equal(consumers, 1);
    /* A closed producer's lane is free again. */
    ipcx_ring_close(p[1]);
    assert_int_equal(ipcx_ring_join(p[3], IPCX_RING_PRODUCER), 0);
    for (int i = 0; i < 4; i++)
        if (i != 1)
            ipcx_ring_close(p[i]);
    ipcx_ring_close(c);
    munmap(b.mem, b.size);
}

/* Peeked records from several lanes: releasing one releases every record
 * peeked before it (and none after), as on a single ring. */
static void test_lanes_peek_release(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(2, IPCX_RING_QUEUE);
    ipcx_ring *c = ring_block_new(&b, &o);
    ipcx_ring *pa = ring_block_handle(&b), *pb = ring_block_handle(&b);
    send_u32(pa, 1);
    send_u32(pa, 2);
    send_u32(pb, 101);
    send_u32(pb, 102);
    const void *d[4];
    uint32_t got[4];
    for (int i = 0; i < 4; i++)
        got[i] = peek_u32(c, &d[i]);
    /* A lane is read until it is empty: two runs of two. */
    assert_int_equal(c->nruns, 2);
    assert_true(got[0] / 100 == got[1] / 100 && got[2] / 100 == got[3] / 100);
    assert_true(got[0] / 100 != got[2] / 100);
    assert_int_equal(got[1], got[0] + 1);
    assert_int_equal(got[3], got[2] + 1);
    /* Not a peeked record: a pointer outside every lane, and one inside a
     * lane's data but not a record. */
    uint32_t local = 0;
    assert_int_equal(ipcx_ring_release(c, &local), -EINVAL);
    assert_int_equal(ipcx_ring_release(c, (const uint8_t *)b.mem + 8), -EINVAL);
    /* The third: the first run and the third record. */
    assert_int_equal(ipcx_ring_release(c, d[2]), 3);
    assert_int_equal(c->nruns, 1);
    assert_int_equal(ipcx_ring_release(c, d[2]), -EINVAL); /* released already */
    assert_int_equal(ipcx_ring_release(c, d[3]), 1);
    assert_int_equal(c->nruns, 0);
    /* recv with records peeked releases them too. */
    send_u32(pa, 3);
    send_u32(pb, 103);
    const void *x;
    uint32_t first = peek_u32(c, &x);
    uint32_t v = 0;
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), (int)sizeof(v));
    assert_true((first == 3 && v == 103) || (first == 103 && v == 3));
    assert_int_equal(c->nruns, 0);
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), -EAGAIN);
    /* A buffer too small keeps the record, which comes first next time. */
    send_u32(pb, 104);
    send_u32(pa, 4);
    uint8_t small[2];
    int rc = ipcx_ring_recv(c, small, sizeof(small), IPCX_NOWAIT);
    assert_int_equal(rc, -EMSGSIZE);
    uint32_t a = 0, z = 0;
    assert_int_equal(ipcx_ring_recv(c, &a, sizeof(a), IPCX_NOWAIT), 4);
    assert_int_equal(ipcx_ring_recv(c, &z, sizeof(z), IPCX_NOWAIT), 4);
    assert_true((a == 104 && z == 4) || (a == 4 && z == 104));
    ipcx_ring_stat s;
    ipcx_ring_stats(pa, &s);
    ipcx_ring_stats(pb, &s);
    assert_int_equal(ipcx_ring_stats(c, &s), 0);
    assert_int_equal(s.msgs_out, 8);
    assert_int_equal(s.lost, 0);
    ipcx_ring_close(pa);
    ipcx_ring_close(pb);
    ipcx_ring_close(c);
    munmap(b.mem, b.size);
}

/* At most RING_LANE_RUNS runs of peeked records: then -ENOBUFS until the
 * consumer releases, and nothing is lost. */
static void test_lanes_runs_limit(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(2, IPCX_RING_QUEUE);
    o.capacity = 65536;
    ipcx_ring *c = ring_block_new(&b, &o);
    ipcx_ring *p[2] = {ring_block_handle(&b), ring_block_handle(&b)};
    const void *d = NULL;
    for (uint32_t i = 0; i < RING_LANE_RUNS; i++) {
        send_u32(p[i & 1], i);
        assert_int_equal(peek_u32(c, &d), i);
    }
    assert_int_equal(c->nruns, RING_LANE_RUNS);
    /* The last run's lane may go on; another lane may not. */
    send_u32(p[(RING_LANE_RUNS - 1) & 1], 1000);
    assert_int_equal(peek_u32(c, &d), 1000);
    send_u32(p[RING_LANE_RUNS & 1], 2000);
    size_t len;
    const void *e;
    assert_int_equal(ipcx_ring_peek(c, &e, &len, IPCX_NOWAIT), -ENOBUFS);
    assert_int_equal(ipcx_ring_peek(c, &e, &len, SEC / 100), -ENOBUFS);
    assert_int_equal(ipcx_ring_release(c, d), (int)RING_LANE_RUNS + 1);
    assert_int_equal(peek_u32(c, &e), 2000);
    assert_int_equal(ipcx_ring_release(c, e), 1);
    ipcx_ring_close(p[0]);
    ipcx_ring_close(p[1]);
    ipcx_ring_close(c);
    munmap(b.mem, b.size);
}

/* Broadcast: every consumer gets every producer's records; a late one
 * starts at the oldest kept when it asks to. */
static void test_lanes_broadcast(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(2, IPCX_RING_BROADCAST);
    ipcx_ring *c1 = ring_block_new(&b, &o);
    assert_int_equal(ipcx_ring_join(c1, IPCX_RING_CONSUMER), 0);
    ipcx_ring *p[2] = {ring_block_handle(&b), ring_block_handle(&b)};
    for (uint32_t k = 0; k < 5; k++) {
        send_u32(p[0], k);
        send_u32(p[1], 100 + k);
    }
    ipcx_ring *c2 = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c2, IPCX_RING_CONSUMER | IPCX_RING_FROM_OLDEST), 0);
    for (int h = 0; h < 2; h++) {
        ipcx_ring *c = h == 0 ? c1 : c2;
        uint32_t sum = 0, v;
        for (int n = 0; n < 10; n++) {
            assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), 4);
            sum += v;
        }
        assert_int_equal(sum, 10 + 510);
        assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), -EAGAIN);
    }
    ipcx_ring_close(p[0]);
    ipcx_ring_close(p[1]);
    ipcx_ring_close(c1);
    ipcx_ring_close(c2);
    munmap(b.mem, b.size);
}

static void test_lanes_bad_options(void **st)
{
    (void)st;
    ipcx_ring_opts o = lane_opts(2, IPCX_RING_QUEUE);
    o.lanes = 2;
    assert_int_equal(ipcx__ring_size_for(&o), 0);
    o = lane_opts(2, IPCX_RING_QUEUE);
    o.max_consumers = 2; /* a queue with lanes takes one consumer */
    assert_int_equal(ipcx__ring_size_for(&o), 0);
    char name[64];
    tu_unique(name, sizeof(name), "rl");
    ipcx_ring *r = NULL;
    assert_int_equal(ipcx_ring_create(name, &o, &r), -EINVAL);
    /* A named lane ring opens, joins and streams like any ring. */
    o = lane_opts(4, IPCX_RING_QUEUE);
    assert_int_equal(ipcx_ring_create(name, &o, &r), 0);
    ipcx_ring *c = NULL;
    assert_int_equal(ipcx_ring_open(name, &c), 0);
    assert_int_equal(c->nlanes, 4);
    send_u32(r, 7);
    uint32_t v = 0;
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), SEC), 4);
    assert_int_equal(v, 7);
    ipcx_ring_close(c);
    ipcx_ring_close(r);
    /* Stale: its creator (us) is alive, so IPCX_CREATE_REPLACE_STALE keeps it. */
    o.create = IPCX_CREATE_REPLACE_STALE;
    assert_int_equal(ipcx_ring_create(name, &o, &r), -EEXIST);
    assert_int_equal(ipcx_ring_unlink(name), 0);
}

/* Hostile top or lanes: open refuses the block (-EPROTO), never reads out
 * of it. */
static void test_lanes_corrupt_layout(void **st)
{
    (void)st;
    ipcx_ring_opts o = lane_opts(3, IPCX_RING_QUEUE);
    for (int how = 0; how < 6; how++) {
        struct ring_block b;
        ipcx_ring *r = ring_block_new(&b, &o);
        struct ring_hdr *top = b.mem;
        struct ring_hdr *lane1 =
            (struct ring_hdr *)(void *)((uint8_t *)b.mem + RING_HDR_SIZE + top->lane_size);
        switch (how) {
        case 0:
            top->lane_size += 64;
            break;
        case 1:
            top->max_producers = 1000; /* more lanes than the block holds */
            break;
        case 2:
            top->flags &= ~RING_F_LANES;
            break;
        case 3:
            lane1->capacity *= 2;
            break;
        case 4:
            store_relaxed(&lane1->ready, 0);
            break;
        case 5:
            store_relaxed(&lane1->ready, (uint32_t)RING_LANES_MAJOR << 16); /* a lane in a lane */
            break;
        }
        ipcx_ring *x = NULL;
        assert_int_equal(ipcx__ring_attach(b.mem, b.size, &x), -EPROTO);
        ipcx_ring_close(r);
        munmap(b.mem, b.size);
    }
}

/* A consumer asleep in block mode (no spin, a long liveness period: a lost
 * wake-up would hang) is woken by a record in any lane. */
static void test_lanes_wakeup(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(4, IPCX_RING_QUEUE);
    o.liveness_ms = 60000;
    ipcx_ring *r = ring_block_new(&b, &o);
    int64_t spin0 = ipcx__ring_block_spin_ns;
    ipcx__ring_block_spin_ns = 0;
    _Atomic uint32_t *done =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(done != MAP_FAILED);
    atomic_store(done, 0);
    pid_t pid = fork();
    if (pid == 0) {
        ipcx_ring *c = ring_block_handle(&b);
        uint32_t v = 0;
        int rc;
        for (uint32_t k = 0; k < 4; k++) {
            if ((rc = ipcx_ring_recv(c, &v, sizeof(v), 10 * SEC)) != 4 || v != 10 + k) {
                fprintf(stderr, "wake-up %u: rc %d value %u\n", k, rc, v);
                _exit(1);
            }
            atomic_store(done, k + 1);
        }
        _exit(0);
    }
    ipcx_ring *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = ring_block_handle(&b);
        assert_int_equal(ipcx_ring_join(p[i], IPCX_RING_PRODUCER), 0);
    }
    for (uint32_t k = 0; k < 4; k++) {
        /* Wait until the consumer took the last record and sleeps again,
         * then send from another lane. */
        struct ring_hdr *top = b.mem;
        for (int t = 0;
             t < 5000 && (atomic_load(done) != k || load_relaxed(&top->data_waiters) == 0); t++)
            usleep(1000);
        assert_int_not_equal(load_relaxed(&top->data_waiters), 0);
        send_u32(p[(k * 3) % 4], 10 + k);
    }
    assert_int_equal(tu_wait(pid, 20000), 0);
    assert_int_equal(atomic_load(done), 4);
    munmap((void *)done, 4096);
    ipcx__ring_block_spin_ns = spin0;
    for (int i = 0; i < 4; i++)
        ipcx_ring_close(p[i]);
    ipcx_ring_close(r);
    munmap(b.mem, b.size);
}

/* A consumer killed asleep: the one that takes its slots over gives its
 * registration back to the top block's word (else every commit would make
 * a FUTEX_WAKE call for ever). */
static void test_lanes_dead_sleeper(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(2, IPCX_RING_QUEUE);
    o.liveness_ms = 20;
    ipcx_ring *r = ring_block_new(&b, &o);
    struct ring_hdr *top = b.mem;
    pid_t pid = fork();
    if (pid == 0) {
        ipcx_ring *c = ring_block_handle(&b);
        uint32_t v;
        ipcx_ring_recv(c, &v, sizeof(v), IPCX_FOREVER);
        _exit(1);
    }
    for (int t = 0; t < 5000 && load_relaxed(&top->data_waiters) == 0; t++)
        usleep(1000);
    assert_int_equal(load_relaxed(&top->data_waiters), 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ipcx_ring *c = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);
    assert_int_equal(load_relaxed(&top->data_waiters), 0);
    ipcx_ring *p = ring_block_handle(&b);
    send_u32(p, 5);
    uint32_t v = 0;
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), SEC), 4);
    assert_int_equal(v, 5);
    ipcx_ring_close(p);
    ipcx_ring_close(c);
    ipcx_ring_close(r);
    munmap(b.mem, b.size);
}

/* ipcx_ring_interrupt() from a signal handler ends a lane ring's wait. */
static ipcx_ring *g_intr;
static void on_alarm(int sig)
{
    (void)sig;
    ipcx_ring_interrupt(g_intr);
}

static void test_lanes_interrupt(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(3, IPCX_RING_QUEUE);
    ipcx_ring *r = ring_block_new(&b, &o);
    pid_t pid = fork();
    if (pid == 0) {
        g_intr = ring_block_handle(&b);
        signal(SIGALRM, on_alarm);
        alarm(1);
        uint32_t v;
        int rc = ipcx_ring_recv(g_intr, &v, sizeof(v), 30 * SEC);
        _exit(rc == -ECANCELED ? 0 : 1);
    }
    assert_int_equal(tu_wait(pid, 20000), 0);
    ipcx_ring_close(r);
    munmap(b.mem, b.size);
}

/* A producer may reserve several records and commit them at once; a
 * reservation holds back its own lane only. */
static void test_lanes_zero_copy(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(2, IPCX_RING_QUEUE);
    ipcx_ring *c = ring_block_new(&b, &o);
    ipcx_ring *pa = ring_block_handle(&b), *pb = ring_block_handle(&b);
    void *d1, *d2;
    assert_int_equal(ipcx_ring_reserve(pa, 4, &d1, IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_reserve(pa, 4, &d2, IPCX_NOWAIT), 0);
    memcpy(d1, &(uint32_t){1}, 4);
    memcpy(d2, &(uint32_t){2}, 4);
    send_u32(pb, 50); /* another lane goes past the open reservations */
    uint32_t v = 0;
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), 4);
    assert_int_equal(v, 50);
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), -EAGAIN);
    assert_int_equal(ipcx_ring_commit(pa, d2), 2);
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), 4);
    assert_int_equal(v, 1);
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), 4);
    assert_int_equal(v, 2);
    assert_int_equal(ipcx_ring_commit(pb, d1), -EINVAL); /* not its record */
    ipcx_ring_close(pa);
    ipcx_ring_close(pb);
    ipcx_ring_close(c);
    munmap(b.mem, b.size);
}

/* Overwrite with many producers: each lane has one, so each may overwrite
 * its oldest; a consumer that fell behind in a lane gets -EOVERFLOW once,
 * with the count, and goes on. */
static void test_lanes_overwrite(void **st)
{
    (void)st;
    struct ring_block b;
    ipcx_ring_opts o = lane_opts(2, IPCX_RING_BROADCAST);
    o.full = IPCX_RING_OVERWRITE;
    o.max_msg = 64;
    ipcx_ring *c = ring_block_new(&b, &o);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);
    ipcx_ring *pa = ring_block_handle(&b), *pb = ring_block_handle(&b);
    uint32_t v = 0, got = 0, last = 0;
    send_u32(pa, 0); /* read one first: the overrun is counted from it */
    assert_int_equal(ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT), 4);
    for (uint32_t k = 1; k < 1000; k++) /* 20 KiB of records into a 4 KiB lane */
        send_u32(pa, k);
    send_u32(pb, 5000);
    int overflows = 0;
    for (;;) {
        int rc = ipcx_ring_recv(c, &v, sizeof(v), IPCX_NOWAIT);
        if (rc == -EAGAIN)
            break;
        if (rc == -EOVERFLOW) {
            overflows++;
            assert_true(ipcx_ring_overrun(c) > 0);
            continue;
        }
        assert_int_equal(rc, 4);
        got++;
        if (v < 5000) {
            assert_true(v > last);
            last = v;
        }
    }
    assert_int_equal(overflows, 1);
    assert_int_equal(last, 999); /* the newest of the overwritten lane arrived */
    assert_true(got > 2 && got < 1000);
    ipcx_ring_close(pa);
    ipcx_ring_close(pb);
    ipcx_ring_close(c);
    munmap(b.mem, b.size);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lanes_basic),       cmocka_unit_test(test_lanes_peek_release),
        cmocka_unit_test(test_lanes_runs_limit),  cmocka_unit_test(test_lanes_broadcast),
        cmocka_unit_test(test_lanes_bad_options), cmocka_unit_test(test_lanes_corrupt_layout),
        cmocka_unit_test(test_lanes_wakeup),      cmocka_unit_test(test_lanes_dead_sleeper),
        cmocka_unit_test(test_lanes_interrupt),   cmocka_unit_test(test_lanes_zero_copy),
        cmocka_unit_test(test_lanes_overwrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
