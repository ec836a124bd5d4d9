// SPDX-License-Identifier: MIT
/*
 * The producer side of a ring: claim space, write, commit.
 *
 * Design note.  Producers own `tail` (the claim position; bytes ever
 * claimed) and write records at tail mod capacity.  Every record carries a
 * tag that binds it to its position (ring_int.h), so a consumer polls the
 * tag of the record at its own position and needs no producer index on the
 * fast path: one cache-line transfer per record.
 *
 *  - Single producer: a claim is private (ptail moves, nothing shared is
 *    written but len and seq, which nobody reads before the tag); the
 *    payload is copied; the COMMIT tag is stored (release) and only then
 *    tail (release).  A consumer that loads the COMMIT tag with acquire
 *    therefore sees the whole payload: a torn record cannot be delivered,
 *    whatever instruction the producer dies at, and tail never passes a
 *    record without its tag (no CLAIM tag, so the line the consumer polls
 *    is written once per record, not twice).  ipcx__ring_send() is that
 *    path inlined for one record.
 *  - Multiple producers: a producer writes its intent (ipos, isize) in its
 *    slot, CASes tail from t to t + size, then writes the claim header and
 *    clears the intent.  A death between the CAS and the claim header leaves
 *    an intent that names the claim; consumers use it to skip the hole
 *    (recover.c, intent_span()).
 *  - Multiple producers: the producer's slot `pos` names its first
 *    uncommitted record (release before the CLAIM tag), so a consumer that
 *    finds a CLAIM can tell a live claim from an abandoned one: owner alive
 *    and pos covering the record.
 *  - A producer of a multi-producer ring that holds uncommitted
 *    reservations never waits for space (-EDEADLK): its first claim stops
 *    the consumers, so it would wait on itself and stall every producer.
 *  - Space: the producer caches the limit below which it may claim
 *    (`plimit`) and re-reads the consumers' position (head, the release
 *    frontier `free`, or the broadcast cursors) only when a claim would pass
 *    it.  Commit is batched: reserve N records, commit them with one call.
 *  - Waking: the last COMMIT store of a batch is seq_cst and is followed by
 *    a seq_cst load of data_waiters (wait.c); FUTEX_WAKE only when non-zero.
 *
 * Crash: single producer - dying before a COMMIT leaves nothing (tail has
 * not moved; at most a PAD, which the next producer steps over: layout.c
 * skip_dead_pad()); an uncommitted reservation was never sent and is not
 * counted lost.  Multiple producers - dying before the CAS leaves nothing;
 * after it, a CLAIM (or an intent) that consumers skip and count as lost
 * once the owner is gone.  Dying after COMMIT leaves a good record.
 */
#include <string.h>

#include "ring/ring_int.h"

/* ------------------------------------------------------------ space */

/* Lowest cursor of the attached broadcast consumers (UINT64_MAX: none). */
static uint64_t min_cursor(ipcx_ring *r)
{
    uint64_t m = UINT64_MAX;
    for (uint32_t i = 0; i < r->ncons; i++) {
        struct ring_slot *s = &r->cslots[i];
        /* seq_cst: the second half of the join handshake (layout.c,
         * ipcx__ring_join_consumer): a joiner stores its cursor, then loads
         * the floor; we store the floor, then load the cursors. */
        if (load_seq_cst(&s->owner) == 0)
            continue;
        uint64_t c = load_seq_cst(&s->pos);
        if (c != 0 && c - 1 < m && !ring_pos_bad(c - 1))
            m = c - 1;
    }
    return m;
}

/* Drop broadcast consumers whose process is gone (a dead cursor must not
 * hold producers back).  Called only from the rate-limited liveness check. */
static void drop_dead_consumers(ipcx_ring *r)
{
    for (uint32_t i = 0; i < r->ncons; i++) {
        struct ring_slot *s = &r->cslots[i];
        uint64_t id = load_acquire(&s->owner); /* pairs with the joiner's CAS */
        if (id == 0 || ipcx__ring_slot_alive(r, s))
            continue;
        uint32_t w = load_relaxed(&s->wait); /* the dead owner's, before the CAS */
        /* Fold its counters, then free the slot; the CAS decides between us
         * and a joiner taking the same slot over. */
        if (cas_acq_rel(&s->owner, &id, 0)) {
            ipcx__ring_undo_sleeper(r, w, 0);
            fetch_add_relaxed(&r->hdr->gone_msgs_out, load_relaxed(&s->msgs));
            fetch_add_relaxed(&r->hdr->gone_bytes_out, load_relaxed(&s->bytes));
            fetch_add_relaxed(&r->hdr->gone_lost, load_relaxed(&s->c1));
            store_relaxed(&s->msgs, 0);
            store_relaxed(&s->bytes, 0);
            store_relaxed(&s->c1, 0);
        }
    }
}

/* Broadcast: make the floor reach end - cap.  1 ok, 0 wait, < 0 error. */
static int bcast_space(ipcx_ring *r, uint64_t end, int check)
{
    struct ring_hdr *h = r->hdr;
    int ow = r->policy == IPCX_RING_OVERWRITE;
    uint64_t need = end > r->cap ? end - r->cap : 0;
    /* Pairs with the CAS below in other producers. */
    uint64_t f = load_acquire(&h->free);
    uint64_t tail = r->mp ? load_acquire(&h->tail) : r->ptail;
    if (f > tail || ring_pos_bad(f) || ring_pos_bad(tail))
        return ipcx__ring_corrupt(r, "broadcast floor");
    if (!ow && min_cursor(r) < need)
        return 0;
    for (uint64_t steps = 0; f < need; steps++) {
        unsigned kind;
        int64_t span = ipcx__ring_rec_span(r, f, tail, check, r->mp ? &h->free : NULL, &kind);
        if (span <= 0 || steps > r->cap / RING_REC_HDR)
            return span < 0 ? (int)span : 0;
        /* seq_cst: the floor store of the join handshake (min_cursor). */
        if (cas_seq_cst(&h->free, &f, f + (uint64_t)span))
            f += (uint64_t)span;
        else if (ring_pos_bad(f))
            return ipcx__ring_corrupt(r, "broadcast floor");
    }
    if (ow) {
        /* Seqlock write side: the floor store above must be visible before
         * any byte of the reclaimed space changes.  Pairs with the acquire
         * fence in overwrite.c (ipcx__ring_overrun_after()).  A fence, not an ordered
         * access, because the data is written with plain stores. */
        atomic_thread_fence(memory_order_release);
        r->plimit = f + r->cap;
        return 1;
    }
    uint64_t m = min_cursor(r); /* re-scan after the floor store: joiners */
    if (m < need)
        return 0;
    r->plimit = (m < f ? m : f) + r->cap;
    return 1;
}

/* Refresh the cached limit; 1 when end fits, 0 when it does not yet. */
static int refresh_space(ipcx_ring *r, uint64_t end, int check)
{
    struct ring_hdr *h = r->hdr;
    uint64_t lim;
    if (r->bcast)
        return bcast_space(r, end, check);
    if (r->mc) {
        int rc = ipcx__ring_mc_free(r, check);
        if (rc < 0)
            return rc;
        /* Pairs with the CAS of free in ipcx__ring_mc_free(): the records
         * below it were released after their payload was read. */
        lim = load_acquire(&h->free) + r->cap;
    } else {
        /* Pairs with the store_seq_cst of head in consume.c publish():
         * the consumer finished reading everything below head. */
        lim = load_acquire(&h->head) + r->cap;
    }
    uint64_t tail = r->mp ? load_acquire(&h->tail) : r->ptail;
    if (lim - r->cap > tail || ring_pos_bad(lim) || ring_pos_bad(tail))
        return ipcx__ring_corrupt(r, "read position");
    r->plimit = lim;
    return end <= lim;
}

/* ------------------------------------------------------------ claim */

static void write_pad(ipcx_ring *r, uint64_t pos, uint64_t pad)
{
    struct ring_rec *rec = ring_rec_at(r, pos);
    store_relaxed(&rec->len, (uint32_t)pad);
    store_relaxed(&rec->seq, r->pseq);
    /* Publishes len; pairs with the load_acquire of the tag by consumers. */
    store_release(&rec->tag, ring_tag(r, pos, REC_PAD, 0));
}

static void write_claim(ipcx_ring *r, uint64_t pos, uint32_t len)
{
    struct ring_rec *rec = ring_rec_at(r, pos);
    struct ring_slot *s = &r->pslots[r->pidx];
    if (r->nres == 0) {
        /* Pairs with the load_acquire of pos in recover.c claim_live():
         * whoever sees our CLAIM tag sees that we still own the record. */
        store_release(&s->pos, pos + 1);
    }
    store_relaxed(&rec->len, len);
    store_relaxed(&rec->seq, r->pseq++);
    /* Publishes len/seq and (above) the slot's pos; pairs with the
     * load_acquire of the tag in consume.c sc_try() and consume_mc.c. */
    store_release(&rec->tag, ring_tag(r, pos, REC_CLAIM, (unsigned)r->pidx + 1));
    RING_FAULT(RING_STEP_CLAIM_HDR);
}

/* Space for [pos, end) is known to be free (single producer).  The claim
 * is private: no tag, no tail (commit publishes both); len and seq are
 * read by nobody before the COMMIT tag. */
static uint64_t claim_sp(ipcx_ring *r, uint32_t len, uint64_t pos, uint64_t pad, uint64_t end)
{
    if (pad != 0)
        write_pad(r, pos, pad);
    struct ring_rec *rec = ring_rec_at(r, pos + pad);
    store_relaxed(&rec->len, len);
    store_relaxed(&rec->seq, r->pseq++);
    RING_FAULT(RING_STEP_CLAIM_HDR);
    r->ptail = end;
    return pos + pad;
}

/* Multi-producer claim; 1 claimed (*at set), 0 no space, < 0 error. */
static int claim_mp(ipcx_ring *r, uint32_t len, uint64_t rs, int check, uint64_t *at)
{
    struct ring_hdr *h = r->hdr;
    struct ring_slot *s = &r->pslots[r->pidx];
    /* Pairs with the CAS below in other producers. */
    uint64_t t = load_acquire(&h->tail);
    for (uint64_t fails = 0;; fails++) {
        /* Each failed CAS means tail moved: others claimed (or a peer
         * scribbles).  After a lap's worth, report "no space yet": the
         * caller waits and retries within its timeout, never spins for
         * ever on a tail that a hostile peer keeps moving. */
        if (fails > r->cap / RING_REC_HDR)
            return 0;
        if (ring_pos_bad(t))
            return ipcx__ring_corrupt(r, "tail");
        uint64_t off = t & r->mask, pad = off + rs > r->cap ? r->cap - off : 0;
        uint64_t end = t + pad + rs;
        if (RING_LIMIT_PASSED(end, r->plimit)) {
            int rc = refresh_space(r, end, check);
            if (rc <= 0) {
                /* A failed CAS may have left our intent: a waiting producer
                 * must not look like the owner of someone else's hole. */
                store_release(&s->ipos, 0);
                return rc;
            }
        }
        /* The intent is (ipos, isize); ipos is 0 while isize changes, so a
         * producer that dies at any point leaves no intent or a whole one. */
        store_relaxed(&s->isize, (uint32_t)(end - t));
        /* Publishes isize; pairs with the load_acquire of ipos in
         * recover.c intent_covers() and layout.c intent_pending(). */
        store_release(&s->ipos, t + 1);
        RING_FAULT(RING_STEP_CLAIM_INTENT);
        /* acq_rel: the intent above is published before the claim. */
        if (!cas_acq_rel(&h->tail, &t, end)) {
            /* Someone else has that place: withdraw the intent at once, so
             * a dead producer rarely leaves one that names another's claim. */
            store_release(&s->ipos, 0);
            continue;
        }
        RING_FAULT(RING_STEP_CLAIM_DONE);
        if (pad != 0)
            write_pad(r, t, pad);
        write_claim(r, t + pad, len);
        /* After the claim header: the intent is no longer needed.  Release
         * so that whoever sees it cleared sees the header. */
        store_release(&s->ipos, 0);
        *at = t + pad;
        return 1;
    }
}

/* One attempt: 1 claimed, 0 no space yet, < 0 error. */
static int try_claim(ipcx_ring *r, uint32_t len, int check, uint64_t *at)
{
    uint64_t rs = ring_rec_size(r, len);
    if (r->mp)
        return claim_mp(r, len, rs, check, at);
    uint64_t pos = r->ptail, off = pos & r->mask;
    uint64_t pad = off + rs > r->cap ? r->cap - off : 0;
    uint64_t end = pos + pad + rs;
    if (IPCX_UNLIKELY(RING_LIMIT_PASSED(end, r->plimit))) {
        if (r->nres != 0 && end - r->resv[0] > r->cap)
            return -EDEADLK; /* our own reservations fill the ring */
        int rc = refresh_space(r, end, check);
        if (rc <= 0)
            return rc;
    }
    *at = claim_sp(r, len, pos, pad, end);
    return 1;
}

/* Would a record of *arg payload bytes fit now?  (The sleeper's re-check.) */
static int space_ready(ipcx_ring *r, void *arg)
{
    uint64_t rs = ring_rec_size(r, *(const size_t *)arg);
    /* The load half of the space_waiters Dekker pair (wait.c) must be
     * seq_cst: the registration is a seq_cst RMW, and only a seq_cst load
     * after it is sure to see a seq_cst index store whose waker missed the
     * registration.  refresh_space() loads the index with acquire; this
     * load comes first, so by coherence it sees that value or a later one.
     * (Broadcast: min_cursor() loads the cursors seq_cst itself.) */
    if (!r->bcast)
        (void)load_seq_cst(r->mc ? &r->hdr->free : &r->hdr->head);
    /* Pairs with the claim CAS of other producers. */
    uint64_t t = r->mp ? load_acquire(&r->hdr->tail) : r->ptail;
    uint64_t off = t & r->mask, pad = off + rs > r->cap ? r->cap - off : 0;
    return refresh_space(r, t + pad + rs, 0) != 0;
}

int ipcx__ring_reserve(ipcx_ring *r, size_t len, void **data, int64_t timeout_ns)
{
    ipcx__deadline d = {0};
    if (len > r->max_msg)
        return -EMSGSIZE;
    if (r->nres >= IPCX_ARRAY_LEN(r->resv))
        return -ENOBUFS;
    ring_waiter w = {0};
    uint64_t at = 0;
    int check = 0, counted = 0;
    for (;;) {
        int rc = try_claim(r, (uint32_t)len, check, &at);
        if (IPCX_LIKELY(rc == 1))
            break;
        if (rc < 0)
            return rc;
        if (r->mp && r->nres != 0) {
            /* Consumers stop at our first uncommitted claim, so the space
             * we would wait for frees (at best) only up to it, while every
             * other producer waits behind it too: never wait holding
             * reservations.  (A lap of failed claim CASes also lands here:
             * the same answer, commit and retry.) */
            return -EDEADLK;
        }
        if (!counted) {
            r->p_waits++;
            counted = 1;
            ipcx__ring_flush_stats(r);
        }
        if (r->policy == IPCX_RING_FAIL || timeout_ns == 0) {
            /* No wait, so no waiting-time liveness check: one more try with
             * recovery (at most once per liveness period), or a dead
             * consumer would keep a FAIL / NOWAIT producer full for ever. */
            if (!check && ipcx__ring_nowait_check_due(r)) {
                check = 1;
                if (r->bcast)
                    drop_dead_consumers(r);
                continue;
            }
            return -EAGAIN;
        }
        if (w.spins == 0)
            d = ipcx__ring_wait_begin(&w, timeout_ns);
        rc = ipcx__ring_wait_step(r, &w, &d);
        if (rc < 0)
            return rc; /* -ETIMEDOUT, or -ECANCELED (ipcx_ring_interrupt) */
        check = ipcx__ring_check_due(r, &w);
        if (check && r->bcast)
            drop_dead_consumers(r);
        if (rc == 2 && !check) { /* a due check first, as in consume.c peek() */
            rc = ipcx__ring_sleep(r, &r->hdr->space_seq, &r->hdr->space_waiters, &w, d, space_ready,
                                  &len);
            if (rc < 0)
                return rc;
        }
    }
    r->resv[r->nres++] = at;
    *data = ring_rec_at(r, at) + 1;
    return 0;
}

/* ------------------------------------------------------------ commit */

static void commit_one(ipcx_ring *r, struct ring_rec *rec, uint64_t pos, uint32_t len, int last)
{
    RING_FAULT(RING_STEP_COMMIT);
    r->p_msgs++;
    r->p_bytes += len;
    uint64_t t = ring_tag(r, pos, REC_COMMIT, 0);
    if (!last || r->light) {
        /* Publishes the payload; pairs with the consumers' load_acquire.
         * (Light wake-ups: the sleeper's membarrier supplies the store->load
         * order; wait.c.) */
        store_release(&rec->tag, t);
        return;
    }
    /* seq_cst: publishes the payload (as release would) and orders the
     * store before the load of data_waiters in ipcx__ring_wake() - the
     * Dekker pair of wait.c. */
    store_seq_cst(&rec->tag, t);
}

int ipcx__ring_commit(ipcx_ring *r, void *data)
{
    if (r->nres == 0 || data == NULL || (uint8_t *)data < r->data + RING_REC_HDR)
        return -EINVAL;
    uint64_t off = (uint64_t)((uint8_t *)data - r->data) - RING_REC_HDR, end = 0;
    unsigned i = 0;
    while (i < r->nres && (r->resv[i] & r->mask) != off)
        i++;
    if (i == r->nres)
        return -EINVAL;
    for (unsigned j = 0; j <= i; j++) {
        uint64_t pos = r->resv[j];
        struct ring_rec *rec = ring_rec_at(r, pos);
        /* Our own claim: relaxed reads of what we wrote, validated in case
         * a hostile peer changed them. */
        uint32_t len = load_relaxed(&rec->len);
        if ((r->mp && ring_kind(r, pos, load_relaxed(&rec->tag)) != REC_CLAIM) ||
            len > r->max_msg || (pos & r->mask) + ring_rec_size(r, len) > r->cap)
            return ipcx__ring_corrupt(r, "own claim overwritten");
        commit_one(r, rec, pos, len, j == i);
        end = pos + ring_rec_size(r, len);
    }
    r->nres -= i + 1;
    memmove(r->resv, r->resv + i + 1, r->nres * sizeof(r->resv[0]));
    if (r->mp) {
        /* Pairs with recover.c claim_live(): a consumer that sees pos past
         * a record then re-reads its tag and finds COMMIT. */
        store_release(&r->pslots[r->pidx].pos, r->nres == 0 ? 0 : r->resv[0] + 1);
    } else {
        /* After the COMMIT tags: a consumer that loads tail with acquire
         * (consume.c sc_try(), recover.c ipcx__ring_rec_span(); layout.c
         * ipcx__ring_join_producer()) finds a tag below it. */
        store_release(&r->hdr->tail, end);
    }
    ipcx__ring_wake(r->dseq, r->dwait, r->light);
    if (++r->p_unflushed >= 32)
        ipcx__ring_flush_stats(r);
    return (int)i + 1;
}

/* Copy one record in, the general way: reserve (waiting if need be), copy,
 * commit.  Out of line so that the fast path below needs no stack frame. */
static __attribute__((noinline)) int send_slow(ipcx_ring *r, const void *buf, size_t len,
                                               int64_t timeout_ns)
{
    void *d;
    int rc = ipcx__ring_reserve(r, len, &d, timeout_ns);
    if (rc != 0)
        return rc;
    if (IPCX_UNLIKELY(ipcx__ring_fault != NULL)) {
        memcpy(d, buf, len / 2);
        RING_FAULT(RING_STEP_COPY_HALF);
        memcpy((uint8_t *)d + len / 2, (const uint8_t *)buf + len / 2, len - len / 2);
    } else if (len != 0) {
        ipcx__copy_msg(d, buf, len);
    }
    rc = ipcx__ring_commit(r, d);
    return rc < 0 ? rc : 0;
}

/* Copy one record in.  The single-producer path is claim_sp(), the copy
 * and ipcx__ring_commit() inlined for one record that fits below the
 * cached limit; anything else goes the general way. */
int ipcx__ring_send(ipcx_ring *r, const void *buf, size_t len, int64_t timeout_ns)
{
    uint64_t pos = r->ptail, rs = ring_rec_size(r, len), end = pos + rs;
    if (IPCX_UNLIKELY(r->mp || r->nres != 0 || len > r->max_msg || (pos & r->mask) + rs > r->cap ||
                      RING_LIMIT_PASSED(end, r->plimit) || ipcx__ring_fault != NULL))
        return send_slow(r, buf, len, timeout_ns);
    struct ring_rec *rec = ring_rec_at(r, pos);
    store_relaxed(&rec->len, (uint32_t)len);
    store_relaxed(&rec->seq, r->pseq++);
    if (len != 0) /* buf may be NULL then */
        ipcx__copy_msg(rec + 1, buf, len);
    r->ptail = end;
    r->p_msgs++;
    r->p_bytes += len;
    uint64_t t = ring_tag(r, pos, REC_COMMIT, 0);
    if (r->light)
        store_release(&rec->tag, t); /* as in commit_one() */
    else
        store_seq_cst(&rec->tag, t); /* as in commit_one() */
    /* After the COMMIT tag, as in ipcx__ring_commit(). */
    store_release(&r->hdr->tail, end);
    ipcx__ring_wake(r->dseq, r->dwait, r->light);
    if (IPCX_UNLIKELY(++r->p_unflushed >= 32))
        ipcx__ring_flush_stats(r);
    return 0;
}

void ipcx__ring_abandon_reserved(ipcx_ring *r)
{
    if (r->pidx < 0 || r->nres == 0)
        return;
    /* Multiple producers: leave the CLAIMs: consumers skip them as
     * abandoned once pos no longer covers them, and count them lost.
     * Single producer (called on leave only): the claims were private; the
     * next producer starts at tail, over them (layout.c join_producer). */
    r->nres = 0;
    if (r->mp)
        store_release(&r->pslots[r->pidx].pos, 0); /* pairs with claim_live() */
}
