// SPDX-License-Identifier: MIT
/*
 * ring: regressions of the reliability defects of issue 12, each over
 * hand-made shared state (a MAP_SHARED block, forked children as peers):
 * several peeked records released under the OVERWRITE policy while the
 * producer overwrites the first of them (finished, and paused mid-copy);
 * the slots of a handle that went broken, given back on close.
 */
#include "testutil.h"
#include "ring_testutil.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "ring/ring_int.h"
#include "ring_block.h"

/* ------------------------------------------------------------ overwrite */

/* 48-byte payloads: 64-byte records, 64 to a lap of a 4096-byte ring. */
#define OW_LEN 48

static void ow_send(ipcx_ring *p, uint32_t seq)
{
    uint8_t buf[OW_LEN];
    rtm_fill(buf, OW_LEN, 1, seq);
    assert_int_equal(ipcx_ring_send(p, buf, OW_LEN, IPCX_NOWAIT), 0);
}

/* An overwrite ring with record 0 sent and received (the consumer's
 * sequence is known), then records 1 (A, at 64) and 2 (B, at 128) sent and
 * peeked, and records 3..64 sent: one more record overwrites A, not B. */
static void ow_setup(struct ring_block *b, ipcx_ring **p, ipcx_ring **c, const void **da,
                     const void **db)
{
    ipcx_ring_opts o = {
        .capacity = 4096, .delivery = IPCX_RING_BROADCAST, .full = IPCX_RING_OVERWRITE};
    *p = ring_block_new(b, &o);
    *c = ring_block_handle(b);
    assert_int_equal(ipcx_ring_join(*c, IPCX_RING_CONSUMER), 0);
    uint8_t buf[64];
    uint32_t id, seq;
    ow_send(*p, 0);
    assert_int_equal(ipcx_ring_recv(*c, buf, sizeof(buf), IPCX_NOWAIT), OW_LEN);
    ow_send(*p, 1);
    ow_send(*p, 2);
    size_t n;
    assert_int_equal(ipcx_ring_peek(*c, da, &n, IPCX_NOWAIT), 0);
    assert_int_equal(rtm_check(*da, n, &id, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(ipcx_ring_peek(*c, db, &n, IPCX_NOWAIT), 0);
    assert_int_equal(rtm_check(*db, n, &id, &seq), 0);
    assert_int_equal(seq, 2);
    for (uint32_t i = 3; i <= 64; i++)
        ow_send(*p, i);
    assert_int_equal(load_relaxed(&(*p)->hdr->free), 64); /* A not yet passed */
}

/* After the -EOVERFLOW: one record (A) lost, then B and the rest in order,
 * and msgs_out counts what was delivered. */
static void ow_after(struct ring_block *b, ipcx_ring *p, ipcx_ring *c)
{
    assert_int_equal(ipcx_ring_overrun(c), 1);
    uint8_t buf[64];
    uint32_t id, seq;
    for (uint32_t want = 2; want <= 65; want++) {
        int n = ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT);
        assert_int_equal(n, OW_LEN);
        assert_int_equal(rtm_check(buf, (size_t)n, &id, &seq), 0);
        assert_int_equal(seq, want);
    }
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(c, &st), 0);
    assert_int_equal(st.msgs_out, 1 + 64); /* record 0, then 2..65 */
    assert_int_equal(st.overruns, 1);
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(b);
}

/* Peek A and B; the producer overwrites A only (B is intact), and has
 * finished.  Releasing B must report the overrun of A: it used to check
 * only B against the floor, find the walk from A broken, release nothing
 * and return 0 - a handle stuck with a peek count that only grew. */
static void test_overwrite_release_first_overwritten(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring *p, *c;
    const void *da, *db;
    ow_setup(&b, &p, &c, &da, &db);
    ow_send(p, 65); /* overwrites A */
    assert_int_equal(ipcx_ring_release(c, db), -EOVERFLOW);
    ow_after(&b, p, c);
}

static ipcx_ring *g_ow_c;
static const void *g_ow_db;
static int g_ow_rc;

static void fault_release_mid_copy(int step)
{
    if (step == RING_STEP_COPY_HALF && g_ow_c != NULL) {
        g_ow_rc = ipcx_ring_release(g_ow_c, g_ow_db);
        g_ow_c = NULL;
    }
}

/* The same, with the producer paused half-way through its copy over A
 * (the consumer releases from the fault hook, in the producer's call):
 * A's tag still reads COMMIT but its bytes are changing.  Release must say
 * -EOVERFLOW; it used to return 2, as if both records had been read
 * intact. */
static void test_overwrite_release_first_mid_copy(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring *p, *c;
    const void *da, *db;
    ow_setup(&b, &p, &c, &da, &db);
    g_ow_c = c;
    g_ow_db = db;
    g_ow_rc = 1;
    ipcx__ring_fault = fault_release_mid_copy;
    ow_send(p, 65); /* overwrites A; release runs half-way through */
    ipcx__ring_fault = NULL;
    assert_null(g_ow_c);
    assert_int_equal(g_ow_rc, -EOVERFLOW);
    ow_after(&b, p, c);
}

/* ------------------------------------------------------------ broken handles */

/* A transient scribble: a COMMIT tag with an impossible length at pos,
 * seen by c (-EPROTO, latched), then wiped. */
static void scribble_consumer(ipcx_ring *c, uint64_t pos, int peek)
{
    struct ring_rec *rec = ring_rec_at(c, pos);
    store_relaxed(&rec->len, 0xfffffff0u);
    store_release(&rec->tag, ring_tag(c, pos, REC_COMMIT, 0));
    uint8_t buf[64];
    const void *d;
    size_t n;
    int rc = peek ? ipcx_ring_peek(c, &d, &n, IPCX_NOWAIT)
                  : ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT);
    assert_int_equal(rc, -EPROTO);
    assert_true(c->broken);
    store_relaxed(&rec->tag, 0);
    store_relaxed(&rec->len, 0);
}

/* One scribble makes a handle broken; closing it must give its slots back,
 * so that the same process can open the ring again and join - a consumer
 * and a producer.  Both used to stay taken (-EBUSY) until the process
 * exited: close returned early for a broken handle. */
static void test_broken_close_frees_slots(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *p = ring_block_new(&b, &o);
    ipcx_ring *c = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);
    scribble_consumer(c, 0, 0);
    ipcx__ring_detach(c);
    c = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);

    /* The producer: a read position that is not 8-aligned, once. */
    assert_int_equal(ipcx_ring_join(p, IPCX_RING_PRODUCER), 0);
    store_relaxed(&p->hdr->head, 3);
    uint8_t buf[64] = {0};
    assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), -EPROTO);
    store_relaxed(&p->hdr->head, 0);
    ipcx__ring_detach(p);
    p = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(p, IPCX_RING_PRODUCER), 0);
    for (int i = 0; i < 300; i++) { /* several laps */
        assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), 0);
        assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), 32);
    }
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

/* Multi-consumer: a consumer holds a taken record when it goes broken, and
 * is closed.  Its record must be reclaimed (counted lost), or the release
 * frontier stops there and every producer blocks within a lap: its owner
 * (this process) is alive, so nothing else ever reclaimed it. */
static void test_broken_mc_close_reclaims_taken(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_consumers = 2, .liveness_ms = 1};
    ipcx_ring *p = ring_block_new(&b, &o);
    ipcx_ring *c1 = ring_block_handle(&b), *c2 = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c1, IPCX_RING_CONSUMER), 0);
    assert_int_equal(ipcx_ring_join(c2, IPCX_RING_CONSUMER), 0);
    uint8_t buf[64] = {0};
    assert_int_equal(ipcx_ring_send(p, buf, OW_LEN, IPCX_NOWAIT), 0);
    const void *d;
    size_t n;
    assert_int_equal(ipcx_ring_peek(c1, &d, &n, IPCX_NOWAIT), 0); /* TAKEN at 0 */
    scribble_consumer(c1, 64, 1);
    ipcx__ring_detach(c1);
    for (int i = 0; i < 200; i++) { /* three laps */
        assert_int_equal(ipcx_ring_send(p, buf, OW_LEN, 2 * 1000000000LL), 0);
        assert_int_equal(ipcx_ring_recv(c2, buf, sizeof(buf), 2 * 1000000000LL), OW_LEN);
    }
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(c2, &st), 0);
    assert_int_equal(st.lost, 1);
    ipcx__ring_detach(c2);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overwrite_release_first_overwritten),
        cmocka_unit_test(test_overwrite_release_first_mid_copy),
        cmocka_unit_test(test_broken_close_frees_slots),
        cmocka_unit_test(test_broken_mc_close_reclaims_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
