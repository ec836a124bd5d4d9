// SPDX-License-Identifier: MIT
/*
 * ring under ThreadSanitizer: producers and consumers as threads of one
 * process over one mapping (TSan cannot see other processes), so every
 * acquire/release pair of the ring is checked for the happens-before it
 * claims: SPSC, MPSC, MPMC and broadcast, copy and zero-copy, with the
 * block wait mode so the futex handshake runs too.  Also runs as a plain
 * unit test in the other builds.  (The overwrite policy is left out: its
 * reader is a seqlock that reads racing bytes by design.)
 */
#include "testutil.h"
#include "ring_testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "ring/ring_int.h"

#define PER 20000

struct tctx {
    void *mem;
    size_t size;
    int np, nc, bcast;
    _Atomic uint64_t received;
    _Atomic int errors;
    int index;
};

struct targ {
    struct tctx *c;
    int i;
};

static void *producer(void *p)
{
    struct targ *a = p;
    ipcx_ring *r;
    if (ipcx__ring_attach(a->c->mem, a->c->size, &r) != 0) {
        atomic_fetch_add(&a->c->errors, 1);
        return NULL;
    }
    uint8_t buf[300];
    for (uint32_t q = 0; q < PER; q++) {
        size_t n = RTM_HDR + (q * 7u) % 200;
        if (q & 1) {
            void *d;
            if (ipcx_ring_reserve(r, n, &d, IPCX_FOREVER) != 0) {
                atomic_fetch_add(&a->c->errors, 1);
                break;
            }
            rtm_fill(d, n, (uint32_t)a->i, q);
            ipcx_ring_commit(r, d);
        } else {
            rtm_fill(buf, n, (uint32_t)a->i, q);
            if (ipcx_ring_send(r, buf, n, IPCX_FOREVER) != 0) {
                atomic_fetch_add(&a->c->errors, 1);
                break;
            }
        }
    }
    ipcx__ring_detach(r);
    return NULL;
}

static void *consumer(void *p)
{
    struct targ *a = p;
    struct tctx *c = a->c;
    ipcx_ring *r;
    if (ipcx__ring_attach(c->mem, c->size, &r) != 0 ||
        ipcx_ring_join(r, IPCX_RING_CONSUMER | IPCX_RING_FROM_OLDEST) != 0) {
        atomic_fetch_add(&c->errors, 1);
        return NULL;
    }
    uint64_t want = (uint64_t)PER * (uint64_t)c->np, mine = 0;
    uint32_t next[8] = {0};
    uint8_t buf[300];
    while (c->bcast ? mine < want : atomic_load(&c->received) < want) {
        const void *d;
        size_t n;
        int rc = ipcx_ring_peek(r, &d, &n, 10 * 1000000);
        if (rc == -ETIMEDOUT)
            continue;
        uint32_t id = 0, seq = 0;
        if (rc != 0 || n > sizeof(buf)) {
            atomic_fetch_add(&c->errors, 1);
            break;
        }
        memcpy(buf, d, n);
        ipcx_ring_release(r, d);
        if (rtm_check(buf, n, &id, &seq) != 0 || id >= 8 || seq < next[id])
            atomic_fetch_add(&c->errors, 1);
        next[id] = seq + 1;
        mine++;
        atomic_fetch_add(&c->received, 1);
    }
    ipcx__ring_detach(r);
    return NULL;
}

/* Consumers joined so far (a handle of our own that takes no role). */
static uint32_t consumers_joined(struct tctx *c)
{
    ipcx_ring *r = NULL;
    ipcx_ring_stat st;
    if (ipcx__ring_attach(c->mem, c->size, &r) != 0)
        return 0;
    int rc = ipcx_ring_stats(r, &st);
    ipcx__ring_detach(r);
    return rc == 0 ? st.consumers : 0;
}

static void run(int np, int nc, int bcast, uint32_t lanes)
{
    struct tctx c = {.np = np, .nc = nc, .bcast = bcast};
    ipcx_ring_opts o = {.capacity = 8192,
                        .max_msg = 512,
                        .max_producers = (uint32_t)np,
                        .max_consumers = (uint32_t)nc,
                        .delivery = bcast ? IPCX_RING_BROADCAST : IPCX_RING_QUEUE,
                        .lanes = lanes};
    c.size = ipcx__ring_size_for(&o);
    c.mem = aligned_alloc(4096, (c.size + 4095) / 4096 * 4096);
    assert_non_null(c.mem);
    assert_int_equal(ipcx__ring_format(c.mem, c.size, &o), 0);
    pthread_t t[8];
    struct targ a[8];
    int n = 0;
    for (int i = 0; i < nc; i++) {
        a[n] = (struct targ){&c, i};
        assert_int_equal(pthread_create(&t[n], NULL, consumer, &a[n]), 0);
        n++;
    }
    if (bcast) {
        /* Consumers join before the first record (they start at oldest). */
        for (int k = 0; lanes && k < 100000 && consumers_joined(&c) != (uint32_t)nc; k++)
            sched_yield();
        for (int k = 0; !lanes && k < 100000; k++) {
            uint32_t joined = 0;
            struct ring_slot *cs = (struct ring_slot *)((uint8_t *)c.mem + RING_HDR_SIZE) + np;
            for (int i = 0; i < nc; i++)
                joined += atomic_load(&cs[i].owner) != 0;
            if (joined == (uint32_t)nc)
                break;
            sched_yield();
        }
    }
    for (int i = 0; i < np; i++) {
        a[n] = (struct targ){&c, i};
        assert_int_equal(pthread_create(&t[n], NULL, producer, &a[n]), 0);
        n++;
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&c.errors), 0);
    assert_int_equal(atomic_load(&c.received),
                     (uint64_t)PER * (uint64_t)np * (uint64_t)(bcast ? nc : 1));
    free(c.mem);
}

static void test_spsc(void **s)
{
    (void)s;
    run(1, 1, 0, 0);
}
static void test_mpsc(void **s)
{
    (void)s;
    run(3, 1, 0, 0);
}
static void test_mpmc(void **s)
{
    (void)s;
    run(2, 2, 0, 0);
}
static void test_bcast(void **s)
{
    (void)s;
    run(1, 3, 1, 0);
}
/* Lane rings: three producers' lanes read by one consumer, and two
 * producers to two broadcast consumers (src/ring/lanes.c). */
static void test_mpsc_lanes(void **s)
{
    (void)s;
    run(3, 1, 0, 1);
}
static void test_bcast_lanes(void **s)
{
    (void)s;
    run(2, 2, 1, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spsc),       cmocka_unit_test(test_mpsc),
        cmocka_unit_test(test_mpmc),       cmocka_unit_test(test_bcast),
        cmocka_unit_test(test_mpsc_lanes), cmocka_unit_test(test_bcast_lanes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
