// SPDX-License-Identifier: MIT
/*
 * ring: regression tests for the recovery and validation paths, over
 * hand-made shared state (a MAP_SHARED block, forked children as peers):
 * a length re-read after validation (a held record, a multi-consumer
 * take), a dead producer's hole between two peeked records, a peer that
 * plants claim intents to make the hole search exponential, a stalled
 * (alive) producer that is waited on (the default) or, with stall_ms, whose
 * claim is skipped while its space is held, a
 * side killed asleep whose waiter registration must be taken back, rings
 * used only without waiting that must still recover from dead peers, a
 * claim CAS that keeps failing, and a forged tag at a consumer's position.
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

/* The identity of a process that is gone (a reaped child). */
static uint64_t dead_ident(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return (uint64_t)(uint32_t)pid << 32 | 1u;
}

/* recv() hands a too-large record back (-EMSGSIZE); a peer then rewrites
 * its length.  The next peek must give the length validated the first
 * time, never the rewritten one (which could reach past the data area). */
static void test_held_length_is_the_validated_one(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *r = ring_block_new(&b, &o);
    uint8_t buf[100];
    memset(buf, 7, sizeof(buf));
    assert_int_equal(ipcx_ring_send(r, buf, sizeof(buf), IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_recv(r, buf, 10, IPCX_NOWAIT), -EMSGSIZE);
    store_relaxed(&ring_rec_at(r, 0)->len, r->max_msg); /* the peer's write */
    const void *d;
    size_t n = 0;
    int rc = ipcx_ring_peek(r, &d, &n, IPCX_NOWAIT);
    assert_true(rc == -EPROTO || (rc == 0 && n == sizeof(buf)));
    ipcx__ring_detach(r);
    ring_block_free(&b);
}

static ipcx_atomic_u32 *g_len_word;

static void fault_rewrite_len(int step)
{
    if (step == RING_STEP_TAKEN && g_len_word != NULL)
        store_relaxed(g_len_word, 0xfffffff0u);
}

/* Multi-consumer: the length of a record is rewritten between the
 * validation of its span and the take.  The consumer must not hand out a
 * length it has not validated. */
static void test_mc_taken_length_rewritten(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_consumers = 2};
    ipcx_ring *p = ring_block_new(&b, &o);
    ipcx_ring *c = ring_block_handle(&b);
    uint8_t buf[100] = {0};
    assert_int_equal(ipcx_ring_send(p, buf, sizeof(buf), IPCX_NOWAIT), 0);
    g_len_word = &ring_rec_at(c, 0)->len;
    ipcx__ring_fault = fault_rewrite_len;
    const void *d;
    size_t n = 0;
    int rc = ipcx_ring_peek(c, &d, &n, IPCX_NOWAIT);
    ipcx__ring_fault = NULL;
    g_len_word = NULL;
    assert_int_equal(rc, -EPROTO);
    assert_int_equal(ipcx_ring_peek(c, &d, &n, IPCX_NOWAIT), -EPROTO); /* latched */
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

/* Multi-producer, one consumer, zero-copy: record A is peeked; the next
 * place is the hole of a producer that died between its tail CAS and its
 * claim header (only its intent names the span); record B follows and is
 * peeked too.  Releasing B (and with it A) must pass the hole as the peek
 * did, not call it corruption. */
static void test_release_across_dead_hole(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_producers = 2, .liveness_ms = 1};
    ipcx_ring *p = ring_block_new(&b, &o);
    ipcx_ring *c = ring_block_handle(&b);
    uint8_t buf[16];
    rtm_fill(buf, sizeof(buf), 0, 0);
    assert_int_equal(ipcx_ring_send(p, buf, sizeof(buf), IPCX_NOWAIT), 0);
    /* Slot 1: a dead producer whose claim [32, 64) never got its header. */
    struct ring_slot *s = &p->pslots[1];
    uint64_t t = load_relaxed(&p->hdr->tail);
    assert_int_equal(t, 32);
    store_relaxed(&s->owner, dead_ident());
    store_relaxed(&s->isize, 32);
    store_relaxed(&s->ipos, t + 1);
    store_relaxed(&p->hdr->tail, t + 32);
    rtm_fill(buf, sizeof(buf), 0, 1);
    assert_int_equal(ipcx_ring_send(p, buf, sizeof(buf), IPCX_NOWAIT), 0);

    const void *d1, *d2;
    size_t n1, n2;
    uint32_t id, seq;
    assert_int_equal(ipcx_ring_peek(c, &d1, &n1, IPCX_NOWAIT), 0);
    assert_int_equal(rtm_check(d1, n1, &id, &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(ipcx_ring_peek(c, &d2, &n2, 5 * 1000000000LL), 0);
    assert_int_equal(rtm_check(d2, n2, &id, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(ipcx_ring_release(c, d2), 2);
    ipcx_ring_stat st;
    ipcx__ring_flush_stats(c);
    assert_int_equal(ipcx_ring_stats(c, &st), 0);
    assert_int_equal(st.lost, 1);
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

/* A peer plants claim intents: four at each of sixteen consecutive places
 * after a hole, none ending at a record.  Checking whether the hole may be
 * skipped must stay cheap (the old search was 4^16 deep); the consumer
 * times out as for any other hole it cannot pass. */
static void test_intent_chain_budget(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_producers = 64, .liveness_ms = 1};
    ipcx_ring *c = ring_block_new(&b, &o);
    for (uint32_t i = 0; i < 64; i++) {
        struct ring_slot *s = &c->pslots[i];
        store_relaxed(&s->isize, 8);
        store_relaxed(&s->ipos, 8 * (i / 4) + 1);
    }
    store_relaxed(&c->hdr->tail, 2048);
    int64_t t0 = ipcx__now_ns();
    uint8_t buf[64];
    int rc = ipcx_ring_recv(c, buf, sizeof(buf), 200 * 1000000LL);
    int64_t ms = (ipcx__now_ns() - t0) / 1000000;
    assert_true(rc == -ETIMEDOUT || rc == -EPROTO);
    if (ms > 3000)
        fprintf(stderr, "hole check took %lld ms\n", (long long)ms);
    assert_true(ms < 3000);
    ipcx__ring_detach(c);
    ring_block_free(&b);
}

static void fault_stop(int step)
{
    if (step == RING_STEP_CLAIM_HDR)
        raise(SIGSTOP);
}

/* The stalled-producer tests' ring: two producers, liveness_ms 1, the
 * given delivery, consumers and stall_ms over b; *p a producer, *c a
 * joined consumer, and a child producer stopped (SIGSTOP) inside its claim
 * of a 40-byte record (id 1, seq 0), whose pid is returned. */
static pid_t stall_one(struct ring_block *b, uint32_t delivery, uint32_t ncons, uint32_t stall_ms,
                       ipcx_ring **p, ipcx_ring **c)
{
    ipcx_ring_opts o = {.capacity = 4096,
                        .delivery = delivery,
                        .max_producers = 2,
                        .max_consumers = ncons,
                        .liveness_ms = 1,
                        .stall_ms = stall_ms};
    *p = ring_block_new(b, &o);
    *c = ring_block_handle(b);
    assert_int_equal(ipcx_ring_join(*c, IPCX_RING_CONSUMER), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t buf[40];
        ipcx_ring *q = ring_block_handle(b);
        ipcx__ring_fault = fault_stop;
        rtm_fill(buf, 40, 1, 0);
        _exit(ipcx_ring_send(q, buf, 40, IPCX_NOWAIT) == 0 ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
    assert_true(WIFSTOPPED(st));
    return pid;
}

/* Let the stopped producer go on; it must commit and exit cleanly. */
static void stall_resume(pid_t pid)
{
    int st;
    kill(pid, SIGCONT);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Receive one record within timeout_ns: len bytes from producer id with
 * sequence seq, intact. */
static void expect_rec(ipcx_ring *c, int64_t timeout_ns, int len, uint32_t id, uint32_t seq)
{
    uint8_t buf[64];
    uint32_t got_id, got_seq;
    int n = ipcx_ring_recv(c, buf, sizeof(buf), timeout_ns);
    assert_int_equal(n, len);
    assert_int_equal(rtm_check(buf, (size_t)n, &got_id, &got_seq), 0);
    assert_int_equal(got_id, id);
    assert_int_equal(got_seq, seq);
}

/* The consumer's lost count, then the ring is taken down. */
static void stall_end(struct ring_block *b, ipcx_ring *p, ipcx_ring *c, uint64_t lost)
{
    ipcx_ring_stat rs;
    ipcx__ring_flush_stats(c);
    assert_int_equal(ipcx_ring_stats(c, &rs), 0);
    assert_int_equal(rs.lost, lost);
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(b);
}

/* A producer that is alive but stopped in the middle of its claim is
 * waited on, never skipped (its space cannot be given to anyone else while
 * it may still write): consumers see nothing past it, and every call
 * returns at its timeout (-ETIMEDOUT, -EAGAIN without one) through many
 * liveness checks - never a hang, never a record out of order.  Once the
 * producer goes on, both records arrive, none lost.  Queue with one and
 * with several consumers, and broadcast.  This is the default (stall_ms 0). */
static void stalled_producer_waited(uint32_t delivery, uint32_t ncons)
{
    struct ring_block b;
    ipcx_ring *p, *c;
    pid_t pid = stall_one(&b, delivery, ncons, 0, &p, &c);
    uint8_t buf[64];
    rtm_fill(buf, 32, 2, 0);
    assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    int64_t t0 = ipcx__now_ns();
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), 50 * 1000000LL), -ETIMEDOUT);
    int64_t ms = (ipcx__now_ns() - t0) / 1000000;
    assert_true(ms >= 49 && ms < 2000);
    stall_resume(pid);
    expect_rec(c, 5 * 1000000000LL, 40, 1, 0);
    expect_rec(c, 5 * 1000000000LL, 32, 2, 0);
    stall_end(&b, p, c, 0);
}

/* A producer that is alive but stopped in the middle of its claim holds
 * nobody up for longer than about two liveness periods: consumers skip the
 * claim, count it lost, and go on with the other producer's records.  Its
 * space is not given to anyone while it may still write: the other
 * producer can fill the rest of one lap and then gets -EAGAIN, although
 * every record was consumed.  Once the stopped producer goes on and
 * commits, its record is not delivered (it was counted lost), the space is
 * released, and the ring goes on over several laps, in order, with no
 * other loss.  Queue with one and with several consumers, and broadcast;
 * stall_ms 5. */
static void stalled_producer_skipped(uint32_t delivery, uint32_t ncons)
{
    struct ring_block b;
    ipcx_ring *p, *c;
    pid_t pid = stall_one(&b, delivery, ncons, 5, &p, &c);
    uint8_t buf[64];
    uint32_t seq = 0;
    rtm_fill(buf, 32, 2, seq++);
    assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), 0);
    /* Skipped after a liveness period or two, well within the timeout. */
    expect_rec(c, 2 * 1000000000LL, 32, 2, 0);
    /* The rest of the lap, then no more: the claim's space is held. */
    int full = 0;
    for (int i = 0; i < 200 && !full; i++) {
        rtm_fill(buf, 32, 2, seq);
        int rc = ipcx_ring_send(p, buf, 32, IPCX_NOWAIT);
        if (rc == -EAGAIN) {
            full = 1;
            break;
        }
        assert_int_equal(rc, 0);
        expect_rec(c, 1000000000LL, 32, 2, seq++);
    }
    assert_true(full);
    assert_true(seq * 48u + 56u <= 4096u); /* never past the stalled claim's lap */
    stall_resume(pid);
    /* Three more laps: the space comes back, nothing else is lost. */
    int64_t t0 = ipcx__now_ns();
    uint32_t end = seq + 300; /* 300 x 48 bytes: more than three laps */
    while (seq < end) {
        assert_true(ipcx__now_ns() - t0 < 10 * 1000000000LL);
        rtm_fill(buf, 32, 2, seq);
        int rc = ipcx_ring_send(p, buf, 32, IPCX_NOWAIT);
        if (rc == -EAGAIN) {
            /* The consumer publishes its position when it finds nothing. */
            assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
            continue;
        }
        assert_int_equal(rc, 0);
        expect_rec(c, 1000000000LL, 32, 2, seq++);
    }
    stall_end(&b, p, c, 1);
}

static void test_stalled_producer_waited_on(void **state)
{
    (void)state;
    stalled_producer_waited(IPCX_RING_QUEUE, 1);
    stalled_producer_waited(IPCX_RING_QUEUE, 2);
    stalled_producer_waited(IPCX_RING_BROADCAST, 2);
}

static void test_stalled_producer_skipped(void **state)
{
    (void)state;
    stalled_producer_skipped(IPCX_RING_QUEUE, 1);
    stalled_producer_skipped(IPCX_RING_QUEUE, 2);
    stalled_producer_skipped(IPCX_RING_BROADCAST, 2);
}

/* Wait (bounded) until *w reads want. */
static int word_reaches(ipcx_atomic_u32 *w, uint32_t want)
{
    int64_t t0 = ipcx__now_ns();
    while (load_relaxed(w) != want) {
        if (ipcx__now_ns() - t0 > 5000000000LL)
            return 0;
        usleep(500);
    }
    return 1;
}

/* A process killed while asleep in FUTEX_WAIT leaves its registration in
 * the waiter count; whoever takes its slot over (a joiner, or a broadcast
 * producer dropping the dead cursor) must take it back, or every later
 * commit or release pays a FUTEX_WAKE system call for ever. */
static void dead_sleeper(int role, uint32_t delivery)
{
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .delivery = delivery, .liveness_ms = 1};
    ipcx_ring *r = ring_block_new(&b, &o);
    uint8_t buf[100] = {0};
    ipcx_atomic_u32 *count =
        role == IPCX_RING_CONSUMER ? &r->hdr->data_waiters : &r->hdr->space_waiters;
    if (role == IPCX_RING_PRODUCER) /* a full ring: the child's next send sleeps */
        while (ipcx_ring_send(r, buf, sizeof(buf), IPCX_NOWAIT) == 0)
            ;
    ipcx__ring_detach(r); /* leaves the producer slot, keeps the records */
    r = ring_block_handle(&b);
    /* The sleeper wakes every liveness period (1 ms) to check its peers and
     * registers again: a kill that lands between its unregistering and its
     * next registration leaves nothing to undo.  Try again then. */
    for (int attempt = 0; attempt < 50; attempt++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            ipcx_ring *q = ring_block_handle(&b);
            if (role == IPCX_RING_CONSUMER)
                ipcx_ring_recv(q, buf, sizeof(buf), IPCX_FOREVER);
            else
                ipcx_ring_send(q, buf, sizeof(buf), IPCX_FOREVER);
            _exit(1);
        }
        int ok = word_reaches(count, 1);
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(ok);
        if (load_relaxed(count) == 1)
            break;
    }
    assert_int_equal(load_relaxed(count), 1); /* its registration is left */
    if (delivery == IPCX_RING_BROADCAST) {
        /* The producer needs the space the dead cursor holds: it drops it. */
        for (int i = 0; i < 100; i++)
            assert_int_equal(ipcx_ring_send(r, buf, sizeof(buf), 2 * 1000000000LL), 0);
    } else {
        assert_int_equal(ipcx_ring_join(r, (unsigned)role), 0); /* takes the dead slot */
    }
    assert_int_equal(load_relaxed(count), 0);
    ipcx__ring_detach(r);
    ring_block_free(&b);
}

static void test_dead_sleeper_registration_undone(void **state)
{
    (void)state;
    dead_sleeper(IPCX_RING_CONSUMER, IPCX_RING_QUEUE);
    dead_sleeper(IPCX_RING_PRODUCER, IPCX_RING_QUEUE);
    dead_sleeper(IPCX_RING_CONSUMER, IPCX_RING_BROADCAST);
}

static void fault_die(int step)
{
    if (step == RING_STEP_CLAIM_HDR)
        _exit(0);
}

/* Retry a non-waiting send / recv for up to 2 s; the last result. */
static int retry_nowait(ipcx_ring *r, int send, uint8_t *buf, size_t n)
{
    int64_t t0 = ipcx__now_ns();
    for (;;) {
        int rc = send ? ipcx_ring_send(r, buf, n, 5 * 1000000000LL)
                      : ipcx_ring_recv(r, buf, n, IPCX_NOWAIT);
        if (rc != -EAGAIN || ipcx__now_ns() - t0 > 2000000000LL)
            return rc;
        usleep(200);
    }
}

/* Rings used without waiting (IPCX_NOWAIT calls, or the FAIL policy) run
 * no waiting-time liveness check; they must still recover from dead peers:
 * a broadcast producer with FAIL drops a dead consumer's cursor, and a
 * consumer polling with IPCX_NOWAIT skips a dead producer's claim. */
static void test_nowait_sides_recover(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096,
                        .delivery = IPCX_RING_BROADCAST,
                        .full = IPCX_RING_FAIL,
                        .liveness_ms = 1};
    ipcx_ring *p = ring_block_new(&b, &o);
    uint8_t buf[100] = {0};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ipcx_ring *q = ring_block_handle(&b);
        _exit(ipcx_ring_join(q, IPCX_RING_CONSUMER) == 0 ? 0 : 1); /* dies attached */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int i = 0, rc;
    while ((rc = ipcx_ring_send(p, buf, sizeof(buf), 5 * 1000000000LL)) == 0 && i < 1000)
        i++;
    assert_true(rc == -EAGAIN || rc == 0);
    for (i = 0; i < 100; i++)
        assert_int_equal(retry_nowait(p, 1, buf, sizeof(buf)), 0);
    ipcx__ring_detach(p);
    ring_block_free(&b);

    ipcx_ring_opts o2 = {.capacity = 4096, .max_producers = 2, .liveness_ms = 1};
    p = ring_block_new(&b, &o2);
    ipcx_ring *c = ring_block_handle(&b);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ipcx_ring *q = ring_block_handle(&b);
        ipcx__ring_fault = fault_die;
        ipcx_ring_send(q, buf, 40, IPCX_NOWAIT);
        _exit(1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* died inside its claim */
    assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), 0);
    assert_int_equal(retry_nowait(c, 0, buf, sizeof(buf)), 32);
    ipcx_ring_stat rs;
    ipcx__ring_flush_stats(c);
    assert_int_equal(ipcx_ring_stats(c, &rs), 0);
    assert_int_equal(rs.lost, 1);
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

static ipcx_ring *g_bump_ring;

static void fault_bump_tail(int step)
{
    if (step != RING_STEP_CLAIM_INTENT || g_bump_ring == NULL)
        return;
    /* A peer that keeps moving tail (and head, so the ring never looks
     * full): every claim CAS fails. */
    struct ring_hdr *h = g_bump_ring->hdr;
    store_relaxed(&h->head, load_relaxed(&h->head) + 8);
    store_relaxed(&h->tail, load_relaxed(&h->tail) + 8);
}

/* A producer's claim loop must not spin for ever when its CAS keeps
 * failing: the call returns at its timeout. */
static void test_claim_cas_livelock_bounded(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_producers = 2};
    ipcx_ring *p = ring_block_new(&b, &o);
    uint8_t buf[16] = {0};
    g_bump_ring = p;
    ipcx__ring_fault = fault_bump_tail;
    int rc = ipcx_ring_send(p, buf, sizeof(buf), 50 * 1000000LL);
    ipcx__ring_fault = NULL;
    g_bump_ring = NULL;
    assert_true(rc == -ETIMEDOUT || rc == -EPROTO);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

/* A peer writes, at the consumer's next position, a tag that is valid for
 * that position but of a kind a single consumer never takes there (TAKEN,
 * RELEASED, SKIPPED, or the unused kind 7).  recv and peek must still end
 * within their timeout (or report -EPROTO), never poll for ever: the
 * consumer's tight first spin once took any valid tag as "a record
 * arrived" and handed the call back to a loop that refused it, without
 * reaching the deadline check (seen as a 60 s hang in test_hostile). */
static void test_forged_kind_at_cpos_times_out(void **state)
{
    (void)state;
    static const unsigned kinds[] = {REC_TAKEN, REC_RELEASED, REC_SKIPPED, 7};
    for (size_t i = 0; i < IPCX_ARRAY_LEN(kinds); i++) {
        for (int peek = 0; peek < 2; peek++) {
            struct ring_block b;
            ipcx_ring_opts o = {.capacity = 4096};
            ipcx_ring *r = ring_block_new(&b, &o);
            assert_int_equal(ipcx_ring_join(r, IPCX_RING_CONSUMER), 0);
            store_release(&ring_rec_at(r, 0)->tag, ring_tag(r, 0, kinds[i], 1));
            alarm(10); /* a hang fails the test instead of blocking the suite */
            int64_t t0 = ipcx__now_ns();
            uint8_t buf[64];
            const void *d;
            size_t n;
            int rc = peek ? ipcx_ring_peek(r, &d, &n, 20 * 1000000LL)
                          : ipcx_ring_recv(r, buf, sizeof(buf), 20 * 1000000LL);
            int64_t took = ipcx__now_ns() - t0;
            alarm(0);
            assert_true(rc == -ETIMEDOUT || rc == -EPROTO);
            assert_true(took < 1000 * 1000000LL);
            ipcx__ring_detach(r);
            ring_block_free(&b);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_length_is_the_validated_one),
        cmocka_unit_test(test_mc_taken_length_rewritten),
        cmocka_unit_test(test_release_across_dead_hole),
        cmocka_unit_test(test_intent_chain_budget),
        cmocka_unit_test(test_stalled_producer_waited_on),
        cmocka_unit_test(test_stalled_producer_skipped),
        cmocka_unit_test(test_dead_sleeper_registration_undone),
        cmocka_unit_test(test_nowait_sides_recover),
        cmocka_unit_test(test_claim_cas_livelock_bounded),
        cmocka_unit_test(test_forged_kind_at_cpos_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
