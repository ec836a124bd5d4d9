// SPDX-License-Identifier: MIT
/*
 * The consumer side of a ring: find the next record, hand it out, release
 * its space.  This file holds the entry points (peek, release, recv) and
 * the single-reader algorithm (single-consumer queue and broadcast); the
 * many-consumer algorithm is consume_mc.c, the overwrite seqlock
 * overwrite.c, and the recovery of dead or stalled peers' records
 * recover.c.
 *
 * Design note.  A consumer polls the tag of the record at its position
 * (load_acquire; pairs with the producer's store of the COMMIT tag, so the
 * payload is visible once the tag is).  A tag is only valid at the one
 * position it was written for, so stale bytes never pass for a record.
 *
 *  - Single-consumer queue: the consumer alone owns `head`; it publishes
 *    head (seq_cst, or release with light wake-ups: wait.c) after it has
 *    read the records below it - in batches of capacity/8, or at once when
 *    a producer waits or before it waits itself.  Producers load head with
 *    acquire before reusing space.  ipcx__ring_recv() does the common case
 *    (a COMMIT at cpos, nothing peeked) inline: the same tag load and
 *    checks as sc_try(), the same bookkeeping as ipcx__ring_release().
 *  - Broadcast: the same with a private cursor in the consumer's slot.
 *  - Multi-consumer queue: consume_mc.c.
 *  - Overwrite (broadcast, one producer): overwrite.c.
 *  - Waiting: a consumer that catches up with a busy stream first backs
 *    off without touching the ring, so that it does not take the record's
 *    line from a producer still writing it (core.h ipcx__streak_backoff);
 *    then it polls as usual.  Before the general wait loop a consumer
 *    that waits for one record spins on its tag alone (sc_spin(); the
 *    measurements that chose this are in docs/ring.md, Performance
 *    notes).
 */
#include <string.h>

#include "ring/ring_int.h"

/* ------------------------------------------------------------ publishing */

static void publish(ipcx_ring *r);

void ipcx__ring_publish(ipcx_ring *r)
{
    publish(r);
}

static void publish(ipcx_ring *r)
{
    uint64_t v = r->crel;
    if (IPCX_UNLIKELY(r->cbar != 0))
        v = ipcx__ring_barrier_limit(r, v);
    if (v == r->cpub)
        return;
    r->cpub = v;
    RING_FAULT(RING_STEP_RELEASE);
    /* seq_cst: releases the space (our reads of the records below happened
     * before; pairs with the load_acquire in produce.c refresh_space() /
     * min_cursor()) and is the store half of the space_waiters Dekker pair
     * (wait.c). */
    ipcx_atomic_u64 *idx = r->bcast ? &r->cslots[r->cidx].pos : &r->hdr->head;
    v = r->bcast ? v + 1 : v;
    if (r->light)
        store_release(idx, v); /* the sleeper's membarrier orders it (wait.c) */
    else
        store_seq_cst(idx, v);
    ipcx__ring_wake(&r->hdr->space_seq, &r->hdr->space_waiters, r->light);
}

/* ------------------------------------------------------------ finding */

/* Single reader of a position (queue SC, broadcast).  1 found, 0 none. */
static int sc_try(ipcx_ring *r, int check, uint64_t *at, uint32_t *len)
{
    if (check && r->cbar != 0)
        r->cbar_tag = 0; /* the next publish() looks at the skipped claim in full */
    for (uint64_t steps = 0; steps <= r->cap / RING_REC_HDR; steps++) {
        uint64_t p = r->cpos;
        if (r->policy == IPCX_RING_OVERWRITE) {
            int rc = ipcx__ring_overrun_check(r, p);
            if (rc != 0)
                return rc;
        }
        struct ring_rec *rec = ring_rec_at(r, p);
        /* Pairs with the COMMIT store in produce.c commit_one(). */
        uint64_t t = load_acquire(&rec->tag);
        unsigned k = ring_kind(r, p, t);
        if (IPCX_LIKELY(k == REC_COMMIT)) {
            uint32_t l = load_relaxed(&rec->len);
            if (l > r->max_msg || (p & r->mask) + ring_rec_size(r, l) > r->cap)
                return ipcx__ring_corrupt(r, "record length");
            *at = p;
            *len = l;
            return 1;
        }
        if (k != REC_PAD && !check)
            return 0;
        /* Pairs with the store_release of tail in produce.c. */
        uint64_t tail = load_acquire(&r->hdr->tail);
        int64_t span = ipcx__ring_rec_span(r, p, tail, check, NULL, &k);
        /* Not while records are peeked: release() walks from the first
         * of them and would count the claim, should it be committed by
         * then, as one of them. */
        if (span == 0 && check && k == REC_CLAIM && r->npeek == 0)
            span = ipcx__ring_stalled_span(r, p, &k);
        if (span <= 0)
            return (int)span;
        if (k == REC_COMMIT)
            continue;
        if (k != REC_PAD && k != REC_SKIPPED)
            return ipcx__ring_corrupt(r, "record kind for this mode");
        if (k == REC_SKIPPED)
            r->c_lost++;
        r->cpos = p + (uint64_t)span;
        if (r->npeek == 0)
            r->crel = r->cpos;
    }
    return ipcx__ring_corrupt(r, "no record in a whole lap");
}

/* Polls before the general wait loop of ipcx__ring_peek(). */
#define RING_TIGHT_SPINS 64u

/* Wait for the record at cpos with the tightest loop there is: one tag
 * load and one pause per poll, up to RING_TIGHT_SPINS polls.  1 when a
 * COMMIT or PAD tag for cpos appeared (what sc_try() takes without a
 * liveness check), 0 when none did: any other tag there (a live claim, or
 * a peer's garbage) is the general path's to judge, with its deadline.
 * The general wait loop (peek, then wait_step) does much more per poll
 * (docs/ring.md, Performance notes, has what this loop saves).  Not for
 * a consumer that streams (see the back-off in ipcx__ring_peek()).  The
 * caller has published its index, as before any wait. */
static int sc_spin(ipcx_ring *r)
{
    uint64_t p = r->cpos;
    struct ring_rec *rec = ring_rec_at(r, p);
    for (unsigned i = 0; i < RING_TIGHT_SPINS; i++) {
        /* Pairs with the COMMIT store in produce.c commit_one(). */
        unsigned k = ring_kind(r, p, load_acquire(&rec->tag));
        if (k == REC_COMMIT || k == REC_PAD)
            return 1;
        ipcx__cpu_relax();
    }
    return 0;
}

static int data_ready(ipcx_ring *r, void *arg)
{
    (void)arg;
    uint64_t p = r->mc ? load_acquire(&r->hdr->head) : r->cpos; /* pairs with head CAS */
    if (ring_pos_bad(p))
        return 1; /* let the caller find and report it */
    /* seq_cst: the re-check after registering as a waiter (wait.c). */
    uint64_t t = ipcx__ring_peer_tag_seq_cst(ring_rec_at(r, p));
    unsigned k = ring_kind(r, p, t);
    return k != 0 && k != REC_CLAIM;
}

/* The peek; spun: the caller already ran sc_spin() for this record and
 * nothing came (recv's fast path), so the general loop starts at once. */
static int peek(ipcx_ring *r, const void **data, size_t *len, int64_t timeout_ns, int spun)
{
    ring_waiter w = {0};
    ipcx__deadline d = {0};
    int check = 0;
    uint64_t at = 0;
    uint32_t l = 0;
    if (r->held) {
        /* recv() gave this one back for a larger buffer.  Its length is
         * the copy validated when it was first peeked, not a re-read of
         * the shared header (a peer may have changed it since). */
        r->held = 0;
        *data = ring_rec_at(r, r->clast) + 1;
        *len = r->clen;
        return 0;
    }
    if (r->mc && r->npeek >= IPCX_ARRAY_LEN(r->taken))
        return -ENOBUFS;
    uint64_t lost0 = r->c_lost;
    for (;;) {
        int rc = r->mc ? ipcx__ring_mc_try(r, check, &at, &l) : sc_try(r, check, &at, &l);
        if (IPCX_LIKELY(rc == 1))
            break;
        if (rc < 0)
            return rc;
        if (r->npeek == 0 && !r->mc) {
            r->crel = r->cpos;
            publish(r);
        }
        if (r->c_unflushed != 0)
            ipcx__ring_flush_stats(r);
        if (w.spins == 0) {
            if (timeout_ns == 0) {
                /* As in reserve: a consumer that never waits still skips
                 * dead producers' claims, once per liveness period. */
                if (!check && ipcx__ring_nowait_check_due(r)) {
                    check = 1;
                    continue;
                }
                return -EAGAIN;
            }
            d = ipcx__ring_wait_begin(&w, timeout_ns);
            if (r->c_streak >= IPCX_STREAK_MIN) {
                /* Caught up with a busy producer: let it run ahead. */
                r->c_streak = 0;
                ipcx__streak_backoff();
                continue;
            }
            /* Once per call: a tag that sc_spin() takes and sc_try() then
             * refuses must not loop here without a deadline. */
            if (!spun && !r->mc) {
                spun = 1;
                if (sc_spin(r))
                    continue;
            }
        }
        rc = ipcx__ring_wait_step(r, &w, &d);
        if (rc < 0)
            return rc; /* -ETIMEDOUT, or -ECANCELED (ipcx_ring_interrupt) */
        check = ipcx__ring_check_due(r, &w);
        /* A check that fell due is made now, before any sleep: a sleep
         * ends at the next check (a period away), and nobody wakes us for
         * a dead producer, so sleeping first made every dead claim met in
         * a new call cost a whole period (docs/ring.md, dead claims in a
         * row). */
        if (rc == 2 && !check) {
            rc = ipcx__ring_sleep(r, r->dseq, r->dwait, &w, d, data_ready, NULL);
            if (rc < 0)
                return rc;
        }
    }
    r->c_streak = w.spins == 0 ? r->c_streak + 1 : 0;
    if (IPCX_UNLIKELY(r->c_lost != lost0)) {
        /* This call skipped dead claims: the next may meet more (producers
         * killed together leave them in a row, with records between), so
         * a call that does not wait may check again at once.  Each such
         * check follows a skip, so /proc is still read only once per
         * period when nothing is found dead. */
        r->nowait_check_ns = 0;
    }
    r->clast = at;
    r->clen = l;
    if (r->mc) {
        r->taken[r->npeek] = at;
    } else {
        if (r->npeek == 0)
            r->cfirst = at;
        r->cpos = at + ring_rec_size(r, l);
    }
    r->npeek++;
    *data = ring_rec_at(r, at) + 1;
    *len = l;
    return 0;
}

int ipcx__ring_peek(ipcx_ring *r, const void **data, size_t *len, int64_t timeout_ns)
{
    return peek(r, data, len, timeout_ns, 0);
}

/* ------------------------------------------------------------ release */

/* A header-less hole between two peeked records: sc_try() passed it as a
 * dead producer's claim (multi-producer; its intent stays in the dead slot
 * while the hole has no header, layout.c intent_pending()).  Work out the
 * same span again; anything else is corruption (-1). */
static int64_t peeked_hole_span(ipcx_ring *r, uint64_t p)
{
    if (!r->mp || r->policy == IPCX_RING_OVERWRITE)
        return -1;
    unsigned k;
    /* Pairs with the producers' tail CAS (produce.c claim_mp()). */
    int64_t span = ipcx__ring_rec_span(r, p, load_acquire(&r->hdr->tail), 1, NULL, &k);
    return span > 0 && (k == REC_SKIPPED || k == REC_PAD) ? span : -1;
}

int ipcx__ring_release(ipcx_ring *r, const void *data)
{
    if (r->npeek == 0 || data == NULL || (const uint8_t *)data < r->data + RING_REC_HDR)
        return -EINVAL;
    uint64_t off = (uint64_t)((const uint8_t *)data - r->data) - RING_REC_HDR;
    if (off >= r->cap)
        return -EINVAL;
    if (r->mc)
        return ipcx__ring_mc_release(r, off);
    uint64_t target = r->cfirst + ((off - (r->cfirst & r->mask)) & r->mask);
    if (target >= r->cpos)
        return -EINVAL;
    int n = 0;
    uint64_t p = r->cfirst;
    if (IPCX_LIKELY(r->npeek == 1 && target == r->clast && r->policy != IPCX_RING_OVERWRITE)) {
        /* The common case: the one record just peeked, whose length was
         * validated by peek; nothing to walk. */
        r->c_msgs++;
        r->c_bytes += r->clen;
        if (++r->c_unflushed >= 32)
            ipcx__ring_flush_stats(r);
        n = 1;
        p = r->cpos;
    }
    /* What the walk passes is counted only after the overrun check below:
     * under OVERWRITE, a length or sequence read from a record that the
     * check then finds overwritten is not the record's. */
    uint64_t bytes = 0;
    uint32_t last_seq = 0;
    int walked = 0;
    while (p <= target && walked <= (int)r->npeek) {
        struct ring_rec *rec = ring_rec_at(r, p);
        unsigned k = ring_kind(r, p, load_acquire(&rec->tag)); /* as in sc_try() */
        int64_t span = k != 0 ? ipcx__ring_span_check(r, p, k, rec) : peeked_hole_span(r, p);
        if (span <= 0) {
            if (r->policy == IPCX_RING_OVERWRITE)
                return ipcx__ring_overrun_broken_walk(r);
            return ipcx__ring_corrupt(r, "peeked record changed");
        }
        if (k == REC_COMMIT) {
            bytes += load_relaxed(&rec->len);
            last_seq = load_relaxed(&rec->seq);
            walked++;
        }
        p += (uint64_t)span;
    }
    if (r->policy == IPCX_RING_OVERWRITE) {
        /* The floor against the first peeked record: everything from it
         * up to target was read, and the producer overwrites oldest first. */
        int rc = ipcx__ring_overrun_after(r, r->cfirst);
        if (rc != 0)
            return rc;
        if (walked != 0) {
            r->cseq = last_seq + 1;
            r->cseq_valid = 1;
        }
    }
    r->c_msgs += (uint64_t)walked;
    r->c_bytes += bytes;
    r->c_unflushed += (unsigned)walked;
    if (r->c_unflushed >= 32)
        ipcx__ring_flush_stats(r);
    n += walked;
    r->npeek -= (unsigned)n;
    r->cfirst = p;
    r->crel = p;
    if (r->crel - r->cpub >= RING_PUBLISH_EVERY(r->cap) ||
        load_relaxed(&r->hdr->space_waiters) != 0)
        publish(r); /* the relaxed load is a hint only; see sc publish rule */
    return n;
}

void ipcx__ring_abandon_peeked(ipcx_ring *r)
{
    if (r->cidx < 0)
        return;
    if (r->mc) {
        /* Give them back as lost (the producers' frontier passes them). */
        for (unsigned i = 0; i < r->npeek; i++) {
            uint64_t p = r->taken[i];
            r->c_lost++;
            store_release(&ring_rec_at(r, p)->tag, ring_tag(r, p, REC_RELEASED, 0));
        }
        r->npeek = 0;
        ipcx__ring_mc_free(r, 0);
        return;
    }
    /* Single consumer / broadcast: publish only what was released; a
     * queue's unreleased records are redelivered to the next consumer. */
    r->npeek = 0;
    publish(r);
}

/* The common receive, inlined: a single reader of its position (not
 * overwrite, which needs the seqlock checks), nothing peeked, and a
 * committed record at cpos that fits buf.  The same checks as sc_try() and
 * the same bookkeeping as the one-record case of ipcx__ring_release(). */
static inline int sc_recv_now(ipcx_ring *r, void *buf, size_t cap)
{
    uint64_t p = r->cpos;
    struct ring_rec *rec = ring_rec_at(r, p);
    /* Pairs with the COMMIT store in produce.c commit_one(): the payload
     * and len are visible once the tag is. */
    uint64_t t = load_acquire(&rec->tag);
    if (t != ring_tag(r, p, REC_COMMIT, 0))
        return -EAGAIN;
    uint32_t l = load_relaxed(&rec->len);
    uint64_t rs = ring_rec_size(r, l);
    if (l > cap || l > r->max_msg || (p & r->mask) + rs > r->cap)
        return -EAGAIN; /* the general path reports it */
    ipcx__copy_msg(buf, rec + 1, l);
    r->cpos = r->crel = r->cfirst = p + rs;
    r->c_streak++;
    r->c_msgs++;
    r->c_bytes += l;
    if (IPCX_UNLIKELY(++r->c_unflushed >= 32))
        ipcx__ring_flush_stats(r);
    if (IPCX_UNLIKELY(r->crel - r->cpub >= RING_PUBLISH_EVERY(r->cap) ||
                      load_relaxed(&r->hdr->space_waiters) != 0))
        publish(r); /* the relaxed load is a hint only, as in release */
    return (int)l;
}

/* Copy-out receive, the general way: peek (waiting if need be), copy,
 * release (which does the overrun check).  Out of line: see recv below. */
static __attribute__((noinline)) int recv_slow(ipcx_ring *r, void *buf, size_t cap,
                                               int64_t timeout_ns, int spun)
{
    const void *data;
    size_t len;
    int rc = peek(r, &data, &len, timeout_ns, spun);
    if (rc < 0)
        return rc;
    if (IPCX_UNLIKELY(len > cap)) {
        r->held = 1; /* the next peek / recv returns it again */
        IPCX_LOGI("ring: receive buffer too small (message is %zu bytes, buffer %zu): it stays",
                  len, cap);
        return -EMSGSIZE;
    }
    ipcx__copy_msg(buf, data, len);
    rc = ipcx__ring_release(r, data);
    return rc < 0 ? rc : (int)len;
}

int ipcx__ring_recv(ipcx_ring *r, void *buf, size_t cap, int64_t timeout_ns)
{
    if (IPCX_LIKELY(!r->mc && r->npeek == 0 && !r->held && r->policy != IPCX_RING_OVERWRITE)) {
        int n = sc_recv_now(r, buf, cap);
        if (IPCX_LIKELY(n >= 0))
            return n;
        if (timeout_ns != 0 && r->c_streak < IPCX_STREAK_MIN) {
            publish(r);      /* as before any wait */
            if (!sc_spin(r)) /* nothing came: peek need not spin again */
                return recv_slow(r, buf, cap, timeout_ns, 1);
            n = sc_recv_now(r, buf, cap);
            if (n >= 0) {
                r->c_streak = 0; /* it did not find the record at once */
                return n;
            }
        }
    }
    return recv_slow(r, buf, cap, timeout_ns, 0);
}
