// SPDX-License-Identifier: MIT
/*
 * ring, mostly in one process: options and header validation, copy and
 * zero-copy calls, batching, wrap-around at every offset of a small ring,
 * sizes (zero, maximum, over the maximum), fixed slots, every full policy,
 * timeouts on every blocking call (a forked child provides the other side
 * for the "wait forever" cases), broadcast joiners, multi-producer /
 * multi-consumer handles interleaved, statistics and named rings.
 */
#include "testutil.h"
#include "region_testutil.h"
#include "ring_testutil.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "ring/ring_int.h"
#include "ring_block.h"

static void test_opts(void **state)
{
    (void)state;
    ipcx_ring_opts o = {0};
    assert_int_equal(ipcx__ring_size_for(&o), 512 + 2 * 64 + 256 * 1024 + 64);
    o.capacity = 5000; /* rounded up to 8192 */
    assert_int_equal(ipcx__ring_size_for(&o), 512 + 2 * 64 + 8192 + 64);
    o.max_msg = 8192;
    assert_int_equal(ipcx__ring_size_for(&o), 0);
    o.max_msg = 0;
    o.full = IPCX_RING_OVERWRITE; /* queue + overwrite */
    assert_int_equal(ipcx__ring_size_for(&o), 0);
    o.delivery = IPCX_RING_BROADCAST;
    assert_true(ipcx__ring_size_for(&o) > 0);
    o.max_producers = 2; /* overwrite needs one producer */
    assert_int_equal(ipcx__ring_size_for(&o), 0);
    ipcx_ring_opts z = {0};
    z.reserved[0] = 1;
    assert_int_equal(ipcx__ring_size_for(&z), 0);
    z.reserved[0] = 0;
    z.slot_size = 100;
    z.max_msg = 50;
    assert_int_equal(ipcx__ring_size_for(&z), 0);
    z.max_producers = IPCX_RING_MAX_SLOTS + 1;
    z.max_msg = 0;
    assert_int_equal(ipcx__ring_size_for(&z), 0);
}

static void test_attach_validation(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *r = ring_block_new(&m, &o);
    ipcx__ring_detach(r);
    struct ring_hdr *h = m.mem;
    struct ring_hdr saved = *h;
    ipcx_ring *x = NULL;
    /* each field broken on its own */
    h->magic ^= 1;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    h->capacity = 4095;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    h->capacity = 1ull << 40;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    h->data_off = 64;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    h->max_msg = 4096;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    h->max_consumers = 0;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    h->flags = 0x10;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    h->total_size = m.size + 4096;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    store_relaxed(&h->ready, 0);
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EAGAIN);
    store_relaxed(&h->ready, 7u << 16);
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), -EPROTO);
    *h = saved;
    assert_int_equal(ipcx__ring_attach(m.mem, m.size - 1, &x), -EPROTO);
    assert_int_equal(ipcx__ring_attach(m.mem, m.size, &x), 0);
    ipcx__ring_detach(x);
    ring_block_free(&m);
}

static void test_send_recv_basic(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *r = ring_block_new(&m, &o);
    char buf[2048];
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    assert_int_equal(ipcx_ring_send(r, "hello", 5, IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_send(r, NULL, 0, IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    /* sizes: maximum, over the maximum, too small a buffer */
    uint32_t max = 1024;
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(ipcx_ring_send(r, buf, max + 1, IPCX_NOWAIT), -EMSGSIZE);
    assert_int_equal(ipcx_ring_send(r, buf, max, IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_recv(r, buf, 10, IPCX_NOWAIT), -EMSGSIZE);
    assert_int_equal(ipcx_ring_recv(r, buf, 10, IPCX_NOWAIT), -EMSGSIZE);
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), (int)max);
    /* bad arguments */
    assert_int_equal(ipcx_ring_send(NULL, buf, 1, 0), -EINVAL);
    assert_int_equal(ipcx_ring_recv(r, NULL, 5, 0), -EINVAL);
    assert_int_equal(ipcx_ring_release(r, buf), -EINVAL);
    assert_int_equal(ipcx_ring_commit(r, buf), -EINVAL);
    assert_int_equal(ipcx_ring_set_wait(r, 9), -EINVAL);
    assert_int_equal(ipcx_ring_join(r, 0), -EINVAL);
    ipcx__ring_detach(r);
    ring_block_free(&m);
}

/* Move the ring's position to offset `to` with filler records. */
static void advance_to(ipcx_ring *r, uint64_t to)
{
    char buf[4096];
    while ((r->ptail & r->mask) != to) {
        uint64_t at = r->ptail & r->mask;
        uint64_t delta = (to - at) & r->mask;
        uint64_t left = r->cap - at;
        uint64_t rs = 32;
        if (delta >= 16 && delta <= 1024 && at + delta <= r->cap)
            rs = delta;
        else if (left >= 16 && left <= 1024)
            rs = left;
        assert_int_equal(ipcx_ring_send(r, buf, rs - 16, IPCX_NOWAIT), 0);
        assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), (int)(rs - 16));
    }
}

static void test_wrap_every_offset(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096, .max_msg = 1500};
    ipcx_ring *r = ring_block_new(&m, &o);
    uint8_t in[1600], out[1600];
    uint32_t seq = 0;
    /* Offset 8 can never start a record (the smallest is 16 bytes and none
     * wraps); every other 8-aligned offset is tried. */
    for (uint64_t off = 0; off < 4096; off += off == 0 ? 16 : 8) {
        advance_to(r, off);
        size_t sizes[3] = {1500, 0, (size_t)(off % 97) + 16};
        for (int i = 0; i < 3; i++) {
            size_t n = sizes[i] < RTM_HDR ? 0 : sizes[i];
            if (n != 0)
                rtm_fill(in, n, 1, seq);
            assert_int_equal(ipcx_ring_send(r, in, n, IPCX_NOWAIT), 0);
        }
        for (int i = 0; i < 3; i++) {
            size_t n = sizes[i] < RTM_HDR ? 0 : sizes[i];
            assert_int_equal(ipcx_ring_recv(r, out, sizeof(out), IPCX_NOWAIT), (int)n);
            uint32_t id = 0, sq = 0;
            if (n != 0) {
                assert_int_equal(rtm_check(out, n, &id, &sq), 0);
                assert_int_equal(sq, seq);
            }
        }
        seq++;
    }
    ipcx__ring_detach(r);
    ring_block_free(&m);
}

static void test_zero_copy_batches(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *r = ring_block_new(&m, &o);
    void *d[10];
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ipcx_ring_reserve(r, 100, &d[i], IPCX_NOWAIT), 0);
        memset(d[i], 'a' + i, 100);
    }
    const void *p;
    size_t len;
    /* nothing is visible before the commit */
    ipcx_ring *c = ring_block_handle(&m);
    assert_int_equal(ipcx_ring_peek(c, &p, &len, IPCX_NOWAIT), -EAGAIN);
    assert_int_equal(ipcx_ring_commit(r, d[3]), 4);
    assert_int_equal(ipcx_ring_commit(r, (char *)d[3] + 1), -EINVAL);
    const void *seen[10];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ipcx_ring_peek(c, &seen[i], &len, IPCX_NOWAIT), 0);
        assert_int_equal(len, 100);
        assert_int_equal(((const char *)seen[i])[99], 'a' + i);
    }
    assert_int_equal(ipcx_ring_peek(c, &p, &len, IPCX_NOWAIT), -EAGAIN);
    assert_int_equal(ipcx_ring_commit(r, d[9]), 6);
    assert_int_equal(ipcx_ring_release(c, seen[1]), 2);
    assert_int_equal(ipcx_ring_release(c, seen[3]), 2);
    assert_int_equal(ipcx_ring_release(c, seen[3]), -EINVAL);
    for (int i = 4; i < 10; i++)
        assert_int_equal(ipcx_ring_peek(c, &seen[i], &len, IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_release(c, seen[9]), 6);
    ipcx_ring_stat st;
    /* Counters reach the ring in batches: each handle's stats call
     * flushes its own. */
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    assert_int_equal(ipcx_ring_stats(c, &st), 0);
    assert_int_equal(st.msgs_in, 10);
    assert_int_equal(st.msgs_out, 10);
    assert_int_equal(st.bytes_out, 1000);
    assert_int_equal(st.producers, 1);
    assert_int_equal(st.consumers, 1);
    ipcx__ring_detach(c);
    ipcx__ring_detach(r);
    ring_block_free(&m);
}

/* Multi-producer batches: reservations of two producers interleave in the
 * ring; each commits its own, in its own order, with one call. */
static void test_mp_batches(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096, .max_producers = 2};
    ipcx_ring *a = ring_block_new(&m, &o);
    ipcx_ring *b = ring_block_handle(&m);
    ipcx_ring *c = ring_block_handle(&m);
    void *da[3], *db[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipcx_ring_reserve(a, 40, &da[i], IPCX_NOWAIT), 0);
        memset(da[i], 'A' + i, 40);
        assert_int_equal(ipcx_ring_reserve(b, 40, &db[i], IPCX_NOWAIT), 0);
        memset(db[i], 'a' + i, 40);
    }
    char buf[64];
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    assert_int_equal(ipcx_ring_commit(a, da[1]), 2);
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), 40);
    assert_int_equal(buf[0], 'A');
    /* b's first record sits between a's: nothing more until b commits */
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    assert_int_equal(ipcx_ring_commit(b, db[2]), 3);
    assert_int_equal(ipcx_ring_commit(a, da[2]), 1);
    assert_int_equal(ipcx_ring_commit(a, da[2]), -EINVAL);
    const char want[] = {'a', 'B', 'b', 'C', 'c'};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), 40);
        assert_int_equal(buf[39], want[i]);
    }
    ipcx__ring_detach(c);
    ipcx__ring_detach(b);
    ipcx__ring_detach(a);
    ring_block_free(&m);
}

static void test_fixed_slots(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096, .slot_size = 40};
    ipcx_ring *r = ring_block_new(&m, &o);
    char b[64];
    assert_int_equal(ipcx_ring_send(r, b, 41, IPCX_NOWAIT), -EMSGSIZE);
    int n = 0;
    while (ipcx_ring_send(r, b, (size_t)(n % 41), IPCX_NOWAIT) == 0)
        n++;
    assert_int_equal(n, 4096 / 56); /* every record takes a 16 + 40 byte slot */
    for (int i = 0; i < n; i++)
        assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), IPCX_NOWAIT), i % 41);
    for (int i = 0; i < 1000; i++) { /* and around the end, with pads */
        assert_int_equal(ipcx_ring_send(r, b, 40, IPCX_NOWAIT), 0);
        assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), IPCX_NOWAIT), 40);
    }
    ipcx__ring_detach(r);
    ring_block_free(&m);
}

static int64_t ms_since(int64_t t0)
{
    return (ipcx__now_ns() - t0) / 1000000;
}

static void test_full_block_fail(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *r = ring_block_new(&m, &o);
    ipcx_ring *c = ring_block_handle(&m);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);
    char b[1000] = {0};
    int n = 0;
    while (ipcx_ring_send(r, b, 1000, IPCX_NOWAIT) == 0)
        n++;
    assert_int_equal(n, 4);
    int64_t t0 = ipcx__now_ns();
    assert_int_equal(ipcx_ring_send(r, b, 1000, 50 * 1000000), -ETIMEDOUT);
    assert_true(ms_since(t0) >= 49);
    assert_true(ms_since(t0) < 2000);
    ipcx_ring_set_wait(r, IPCX_WAIT_SPIN);
    t0 = ipcx__now_ns();
    assert_int_equal(ipcx_ring_send(r, b, 1000, 20 * 1000000), -ETIMEDOUT);
    assert_true(ms_since(t0) >= 19);
    /* a reserve waits the same way */
    void *d;
    assert_int_equal(ipcx_ring_reserve(r, 1000, &d, IPCX_NOWAIT), -EAGAIN);
    assert_int_equal(ipcx_ring_reserve(r, 1000, &d, 10 * 1000000), -ETIMEDOUT);
    assert_int_equal(ipcx_ring_recv(c, b, sizeof(b), IPCX_NOWAIT), 1000);
    assert_int_equal(ipcx_ring_reserve(r, 1000, &d, 10 * 1000000), 0);
    assert_int_equal(ipcx_ring_commit(r, d), 1);
    ipcx_ring_stat st;
    ipcx_ring_stats(r, &st);
    assert_true(st.full_waits >= 4);
    ipcx__ring_detach(c);
    ipcx__ring_detach(r);
    ring_block_free(&m);

    /* FAIL: -EAGAIN at once even with a timeout */
    o.full = IPCX_RING_FAIL;
    r = ring_block_new(&m, &o);
    while (ipcx_ring_send(r, b, 1000, IPCX_NOWAIT) == 0)
        ;
    t0 = ipcx__now_ns();
    assert_int_equal(ipcx_ring_send(r, b, 1000, IPCX_FOREVER), -EAGAIN);
    assert_true(ms_since(t0) < 1000);
    ipcx__ring_detach(r);
    ring_block_free(&m);
}

/* Until a waiter is registered on *waiters (the other process has reached
 * its FUTEX_WAIT, or the re-check right before it: wait.c), at most 10 s.
 * 1 when one was.  Relaxed: a test's probe, not a publication; what the
 * wake itself needs is the seq_cst pair of wait.c. */
static int sleeper_registered(ipcx_atomic_u32 *waiters)
{
    for (int64_t t0 = ipcx__now_ns(); ms_since(t0) < 10000;) {
        if (load_relaxed(waiters) != 0)
            return 1;
        sched_yield();
    }
    return 0;
}

static void test_recv_timeouts(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *r = ring_block_new(&m, &o);
    char b[64];
    const void *p;
    size_t len;
    int64_t t0 = ipcx__now_ns();
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 30 * 1000000), -ETIMEDOUT);
    assert_true(ms_since(t0) >= 29);
    assert_int_equal(ipcx_ring_peek(r, &p, &len, 10 * 1000000), -ETIMEDOUT);
    assert_int_equal(ipcx_ring_peek(r, &p, &len, IPCX_NOWAIT), -EAGAIN);
    ipcx_ring_set_wait(r, IPCX_WAIT_SPIN);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 10 * 1000000), -ETIMEDOUT);
    /* forever, in both wait modes, woken by another process */
    for (int mode = 0; mode < 2; mode++) {
        ipcx_ring_set_wait(r, mode);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            ipcx_ring *w = ring_block_handle(&m);
            /* Block mode: send only once the parent sleeps, so that the
             * send must wake it.  (A spinning recv registers nothing and
             * needs no wake.) */
            if (mode == IPCX_WAIT_BLOCK && !sleeper_registered(&w->hdr->data_waiters))
                _exit(2);
            _exit(ipcx_ring_send(w, "late", 4, IPCX_FOREVER) == 0 ? 0 : 1);
        }
        assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), IPCX_FOREVER), 4);
        assert_int_equal(tu_wait(pid, 5000), 0);
    }
    ipcx__ring_detach(r);
    ring_block_free(&m);
}

static void test_send_forever_woken(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *r = ring_block_new(&m, &o);
    char b[1000] = {0};
    while (ipcx_ring_send(r, b, 1000, IPCX_NOWAIT) == 0)
        ;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        ipcx_ring *c = ring_block_handle(&m);
        /* Only once the parent's send sleeps for space: the first recv
         * must wake it. */
        int ok = sleeper_registered(&c->hdr->space_waiters);
        for (int i = 0; i < 5; i++)
            ok &= ipcx_ring_recv(c, b, sizeof(b), IPCX_FOREVER) == 1000;
        ipcx__ring_detach(c);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(ipcx_ring_send(r, b, 1000, IPCX_FOREVER), 0);
    assert_int_equal(tu_wait(pid, 5000), 0);
    ipcx__ring_detach(r);
    ring_block_free(&m);
}

static void test_broadcast_joiners(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096, .delivery = IPCX_RING_BROADCAST, .max_consumers = 4};
    ipcx_ring *p = ring_block_new(&m, &o);
    ipcx_ring *c[5];
    char b[64];
    /* With no consumer a broadcast producer never waits: old records go. */
    for (int i = 0; i < 500; i++)
        assert_int_equal(ipcx_ring_send(p, &i, sizeof(i), IPCX_NOWAIT), 0);
    c[0] = ring_block_handle(&m);
    c[1] = ring_block_handle(&m);
    assert_int_equal(ipcx_ring_join(c[0], IPCX_RING_CONSUMER), 0);
    assert_int_equal(ipcx_ring_join(c[1], IPCX_RING_CONSUMER | IPCX_RING_FROM_OLDEST), 0);
    assert_int_equal(ipcx_ring_recv(c[0], b, sizeof(b), IPCX_NOWAIT), -EAGAIN);
    int first;
    assert_int_equal(ipcx_ring_recv(c[1], &first, sizeof(first), IPCX_NOWAIT), 4);
    assert_true(first > 0 && first < 499);
    for (int v = first + 1; v < 500; v++) {
        int x;
        assert_int_equal(ipcx_ring_recv(c[1], &x, sizeof(x), IPCX_NOWAIT), 4);
        assert_int_equal(x, v);
    }
    /* both see everything from now on; the ring fills up to the slowest */
    int sent = 0;
    while (ipcx_ring_send(p, &sent, sizeof(sent), IPCX_NOWAIT) == 0)
        sent++;
    assert_true(sent > 100 && sent < 4096 / 24 + 1);
    for (int k = 0; k < 2; k++)
        for (int v = 0; v < sent; v++) {
            int x;
            assert_int_equal(ipcx_ring_recv(c[k], &x, sizeof(x), IPCX_NOWAIT), 4);
            assert_int_equal(x, v);
        }
    c[2] = ring_block_handle(&m);
    c[3] = ring_block_handle(&m);
    c[4] = ring_block_handle(&m);
    assert_int_equal(ipcx_ring_join(c[2], IPCX_RING_CONSUMER), 0);
    assert_int_equal(ipcx_ring_join(c[3], IPCX_RING_CONSUMER), 0);
    assert_int_equal(ipcx_ring_join(c[4], IPCX_RING_CONSUMER), -EBUSY);
    ipcx__ring_detach(c[4]);
    ipcx__ring_detach(c[3]);
    ipcx__ring_detach(c[2]);
    ipcx__ring_detach(c[1]);
    ipcx__ring_detach(c[0]);
    ipcx__ring_detach(p);
    ring_block_free(&m);
}

static void test_overwrite(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {
        .capacity = 4096, .delivery = IPCX_RING_BROADCAST, .full = IPCX_RING_OVERWRITE};
    ipcx_ring *p = ring_block_new(&m, &o);
    ipcx_ring *c = ring_block_handle(&m);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);
    int x;
    for (int i = 0; i < 10; i++)
        assert_int_equal(ipcx_ring_send(p, &i, sizeof(i), IPCX_NOWAIT), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ipcx_ring_recv(c, &x, sizeof(x), IPCX_NOWAIT), 4);
        assert_int_equal(x, i);
    }
    /* 1000 more: the producer never waits; the consumer lost the oldest */
    for (int i = 10; i < 1010; i++)
        assert_int_equal(ipcx_ring_send(p, &i, sizeof(i), IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_recv(c, &x, sizeof(x), IPCX_NOWAIT), -EOVERFLOW);
    uint64_t lost = ipcx_ring_overrun(c);
    assert_true(lost > 0);
    assert_int_equal(ipcx_ring_recv(c, &x, sizeof(x), IPCX_NOWAIT), 4);
    assert_int_equal((uint64_t)x, 10 + lost);
    for (int i = x + 1; i < 1010; i++) {
        assert_int_equal(ipcx_ring_recv(c, &x, sizeof(x), IPCX_NOWAIT), 4);
        assert_int_equal(x, i);
    }
    /* a peeked record overwritten before its release */
    const void *d;
    size_t len;
    assert_int_equal(ipcx_ring_send(p, &x, sizeof(x), IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_peek(c, &d, &len, IPCX_NOWAIT), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ipcx_ring_send(p, &i, sizeof(i), IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_release(c, d), -EOVERFLOW);
    ipcx_ring_stat st;
    ipcx_ring_stats(c, &st);
    assert_true(st.overruns >= lost);
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(&m);
}

static void test_mpmc_handles(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 8192, .max_producers = 3, .max_consumers = 3};
    ipcx_ring *p[3], *c[3];
    p[0] = ring_block_new(&m, &o);
    for (int i = 1; i < 3; i++)
        p[i] = ring_block_handle(&m);
    for (int i = 0; i < 3; i++)
        c[i] = ring_block_handle(&m);
    uint8_t buf[600];
    uint32_t next[3] = {0}, got[3] = {0}, sent[3] = {0};
    uint64_t rnd = 42;
    for (int round = 0; round < 20000; round++) {
        int k = (int)(tu_rand(&rnd) % 3);
        if (tu_rand(&rnd) % 2) {
            size_t n = RTM_HDR + tu_rand(&rnd) % 500;
            rtm_fill(buf, n, (uint32_t)k, sent[k]);
            int rc = ipcx_ring_send(p[k], buf, n, IPCX_NOWAIT);
            assert_true(rc == 0 || rc == -EAGAIN);
            if (rc == 0)
                sent[k]++;
        } else {
            int rc = ipcx_ring_recv(c[k], buf, sizeof(buf), IPCX_NOWAIT);
            if (rc == -EAGAIN)
                continue;
            uint32_t id = 0, sq = 0;
            assert_true(rc >= 0);
            assert_int_equal(rtm_check(buf, (size_t)rc, &id, &sq), 0);
            assert_true(id < 3);
            assert_true(sq >= next[id]); /* order per producer */
            next[id] = sq + 1;
            got[id]++;
        }
    }
    for (int k = 0; k < 3; k++) {
        int rc;
        while ((rc = ipcx_ring_recv(c[k], buf, sizeof(buf), IPCX_NOWAIT)) >= 0) {
            uint32_t id = 0, sq = 0;
            assert_int_equal(rtm_check(buf, (size_t)rc, &id, &sq), 0);
            got[id]++;
        }
    }
    for (int k = 0; k < 3; k++)
        assert_int_equal(got[k], sent[k]);
    for (int i = 0; i < 3; i++) {
        ipcx__ring_detach(p[i]);
        ipcx__ring_detach(c[i]);
    }
    ring_block_free(&m);
}

static void test_busy_roles(void **state)
{
    (void)state;
    struct ring_block m;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *a = ring_block_new(&m, &o);
    ipcx_ring *b = ring_block_handle(&m);
    assert_int_equal(ipcx_ring_join(a, IPCX_RING_PRODUCER | IPCX_RING_CONSUMER), 0);
    assert_int_equal(ipcx_ring_send(b, "x", 1, 0), -EBUSY);
    assert_int_equal(ipcx_ring_join(b, IPCX_RING_CONSUMER), -EBUSY);
    ipcx__ring_detach(a);
    assert_int_equal(ipcx_ring_send(b, "x", 1, 0), 0);
    char c;
    assert_int_equal(ipcx_ring_recv(b, &c, 1, 0), 1);
    ipcx__ring_detach(b);
    ring_block_free(&m);
}

static void test_named(void **state)
{
    (void)state;
    char name[96];
    tu_unique(name, sizeof(name), "ring");
    ipcx_ring *r = NULL, *o = NULL;
    ipcx_ring_opts opts = {.capacity = 8192};
    assert_int_equal(ipcx_ring_create(name, &opts, &r), 0);
    assert_int_equal(ipcx_ring_create(name, &opts, &o), -EEXIST);
    assert_int_equal(ipcx_ring_open(name, &o), 0);
    assert_int_equal(ipcx_ring_send(r, "abc", 3, 0), 0);
    char b[8];
    assert_int_equal(ipcx_ring_recv(o, b, sizeof(b), 0), 3);
    ipcx_region_info info;
    assert_int_equal(ipcx_region_stat(name, &info), 0);
    assert_int_equal(info.kind, IPCX_REGION_RING);
    ipcx_ring_close(o);
    ipcx_ring_close(r);
    ipcx_ring_close(NULL);
    /* reopen after everyone closed: still there, still works */
    assert_int_equal(ipcx_ring_open(name, &r), 0);
    assert_int_equal(ipcx_ring_send(r, "d", 1, 0), 0);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 0), 1);
    ipcx_ring_close(r);
    assert_int_equal(ipcx_ring_unlink(name), 0);
    assert_int_equal(ipcx_ring_open(name, &r), -ENOENT);
    /* a region that is not a ring: the wrong-kind error, not corruption's -EPROTO */
    ipcx_region *reg;
    assert_int_equal(ipcx_region_create(name, 4096, NULL, &reg), 0);
    assert_int_equal(ipcx_ring_open(name, &r), -EMEDIUMTYPE);
    ipcx_region_close(reg);
    ipcx_region_unlink(name);
    /* a ring opened as a queue, a queue opened as a ring */
    assert_int_equal(ipcx_ring_create(name, &opts, &r), 0);
    ipcx_queue *q = NULL;
    ipcx_queue_opts qo = {.role = IPCX_QUEUE_CONSUMER};
    assert_int_equal(ipcx_queue_open(name, &qo, &q), -EMEDIUMTYPE);
    ipcx_queue_info qi;
    assert_int_equal(ipcx_queue_stat(name, &qi), -EMEDIUMTYPE);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
    assert_int_equal(ipcx_queue_create(name, NULL, &q), 0);
    assert_int_equal(ipcx_ring_open(name, &r), -EMEDIUMTYPE);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
    assert_string_equal(
        ipcx_strerror(-EMEDIUMTYPE),
        "wrong kind of object (a ring opened as a queue, a raw region as a ring, ...)");
}

/* `ipcx stat`: the public figures of a live ring, as text and JSON. */
static void test_stat_command(void **state)
{
    (void)state;
    char name[96], tool[512], cmd[1024], out[8192];
    tu_unique(name, sizeof(name), "rst");
    ipcx_ring *r;
    assert_int_equal(ipcx_ring_create(name, NULL, &r), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipcx_ring_send(r, "abc", 3, 0), 0);
    char b[8];
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 0), 3);
    ipcx_ring_stat st;
    ipcx_ring_stats(r, &st); /* flushes this handle's counters */
    tu_build_path("tools/ipcx/ipcx", tool, sizeof(tool));
    snprintf(cmd, sizeof(cmd), "%s stat %s --json", tool, name);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"msgs_in\":3,"));
    assert_non_null(strstr(out, "\"msgs_out\":1,"));
    assert_non_null(strstr(out, "\"role\":\"producer\""));
    snprintf(cmd, sizeof(cmd), "%s stat %s", tool, name);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "in   3 msgs"));
    snprintf(cmd, sizeof(cmd), "%s stat no-such-ring-%d 2>/dev/null", tool, (int)getpid());
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 1);
    snprintf(cmd, sizeof(cmd), "%s stat 2>/dev/null", tool);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 2);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
}

int main(void)
{
    rt_private_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_attach_validation),
        cmocka_unit_test(test_send_recv_basic),
        cmocka_unit_test(test_wrap_every_offset),
        cmocka_unit_test(test_zero_copy_batches),
        cmocka_unit_test(test_mp_batches),
        cmocka_unit_test(test_fixed_slots),
        cmocka_unit_test(test_full_block_fail),
        cmocka_unit_test(test_recv_timeouts),
        cmocka_unit_test(test_send_forever_woken),
        cmocka_unit_test(test_broadcast_joiners),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_mpmc_handles),
        cmocka_unit_test(test_busy_roles),
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_stat_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
