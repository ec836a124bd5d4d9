// SPDX-License-Identifier: MIT
/*
 * The queue's hot paths: claiming room and committing (producers), reading
 * and releasing (consumers), and waiting.
 *
 * Design note.
 *  - Producers claim room in the newest segment by advancing its `claim`
 *    word (end offset and record count, packed): a plain store for the one
 *    producer of a single-producer queue, a CAS for several.  A claim that
 *    does not fit closes the segment (sets the closed bit; the end offset
 *    is then final) and links the next one under the chain lock.  The record
 *    header's `commit` tag is written last, with release (seq_cst when a
 *    consumer may sleep), after len, seq and the payload: a consumer that
 *    loads the tag and finds it complete sees the whole record.  A producer
 *    killed before the tag leaves a claim that is never delivered; the next
 *    producer to attach while no other lives turns it into a skip record.
 *  - Consumers read records in order at their position.  Loads of the tag,
 *    of `claim` and of `next` are seq_cst (a plain load on x86, LDAR on
 *    arm64): they pair with the producers' release stores, and seq_cst also
 *    closes the sleep/wake race with data_waiters (below).  Everything read
 *    from a segment is read once and checked: a length that runs past the
 *    claimed end, a tag of the wrong segment, a sequence that goes back, a
 *    claim end behind a committed record: -EPROTO, and the handle stays
 *    broken.
 *  - Broadcast consumers own their position (slot.pos), stored with release
 *    when they release a message; reclaim loads it with acquire.  Queue
 *    delivery shares one position (ctl.group) advanced by CAS; a consumer
 *    first stores the position it is about to claim in its slot's `hold`
 *    so reclaim keeps the segment while the message is peeked.
 *  - Sleeping: a consumer that found nothing after a bounded spin reads
 *    data_word, increments data_waiters (seq_cst), re-checks, then
 *    FUTEX_WAITs on data_word.  A producer whose queue has blocking
 *    consumers stores the tag seq_cst and then loads data_waiters (seq_cst):
 *    one of the two sees the other.  Waits are sliced at 50 ms as a safety
 *    net for the moment a consumer switches to blocking mode.
 */
#include <string.h>
#include <time.h>

#include "platform/platform.h"
#include "queue/queue.h"

/* Polls before a blocking consumer sleeps, and the slice its futex waits
 * are cut into (the safety net for a producer that read a stale count of
 * blocking consumers).  Variables only so that tests can make every wait
 * sleep and take the net away (test_queue.c:test_block_no_lost_wakeup). */
int ipcx__qspin_limit = 4000;
int64_t ipcx__qslice_ns = 50000000;
void (*ipcx__qfault)(int step, ipcx_atomic_u64 *claim);

/* ------------------------------------------------------------ waiting */

static ipcx__deadline slice(ipcx__deadline d, int64_t ns)
{
    int64_t now = ipcx__now_ns();
    if (ipcx__deadline_is_forever(d) || d.abs_ns > now + ns)
        d.abs_ns = now + ns;
    return d;
}

static int cancelled(ipcx_queue *q)
{
    /* seq_cst: pairs with the store in ipcx_queue_interrupt(), after our
     * load of the futex word: we see the flag, or its bump of the word
     * comes after our load and FUTEX_WAIT returns at once. */
    return load_seq_cst(&q->interrupted) != 0 ? -ECANCELED : 0;
}

int ipcx_queue_interrupt(ipcx_queue *q)
{
    if (q == NULL || q->ctl == NULL)
        return -EINVAL;
    struct ipcx__qctl *c = q->ctl;
    /* Async-signal-safe: lock-free atomics and the futex system call.
     * seq_cst: the flag before the bumps, pairs with cancelled(). */
    store_seq_cst(&q->interrupted, 1);
    /* seq_cst: word changes every sleeper sees (others re-check, sleep on). */
    fetch_add_seq_cst(&c->data_word, 1);
    fetch_add_seq_cst(&c->space_word, 1);
    ipcx__futex_wake(&c->data_word, INT32_MAX);
    ipcx__futex_wake(&c->space_word, INT32_MAX);
    return 0;
}

/* One step of waiting for data.  Returns 0 to re-check, -EAGAIN (do not
 * wait), -ETIMEDOUT, -EINTR (a signal) or -ECANCELED (interrupted).  *reg
 * tracks whether we are counted as a waiter. */
static int wait_data(ipcx_queue *q, ipcx__lazy_deadline *w, int *reg, uint32_t *word)
{
    struct ipcx__qctl *c = q->ctl;
    if (ipcx__lazy_is_nowait(w))
        return -EAGAIN;
    if (q->spins < ipcx__qspin_limit || q->wait == IPCX_QUEUE_WAIT_SPIN) {
        q->spins++;
        ipcx__cpu_relax();
        if ((q->spins & 255) == 0 && ipcx__deadline_expired(ipcx__lazy_get(w)))
            return -ETIMEDOUT;
        if ((q->spins & 63) == 0 && cancelled(q) != 0)
            return -ECANCELED;
        return 0;
    }
    ipcx__deadline d = ipcx__lazy_get(w);
    if (!*reg) {
        *word = load_seq_cst(&c->data_word);
        /* seq_cst: pairs with the producer's load_seq_cst of data_waiters
         * after its tag store (tag_store, wake_data); the caller re-checks. */
        fetch_add_seq_cst(&c->data_waiters, 1);
        *reg = 1;
        /* Fenced: the heavy side of the asymmetric fence with producers'
         * plain release tag stores (tag_store).  If it fails now, become a
         * plain blocker: producers go back to seq_cst stores. */
        if (q->blocking == 2 && ipcx__sys_membarrier_global() != 0) {
            fetch_add_seq_cst(&c->blockers, 1);
            fetch_sub_seq_cst(&c->fenced_blockers, 1);
            q->blocking = 1;
        }
        return 0;
    }
    int rc = cancelled(q); /* after the word was loaded (above, when registering) */
    if (rc == 0)
        rc = ipcx__futex_wait(&c->data_word, *word, slice(d, ipcx__qslice_ns));
    fetch_sub_seq_cst(&c->data_waiters, 1);
    *reg = 0;
    if (rc == -ETIMEDOUT && !ipcx__deadline_expired(d))
        rc = 0;
    if ((rc == 0 || rc == -EINTR) && cancelled(q) != 0)
        rc = -ECANCELED; /* the handler that interrupted us asked for it */
    return rc == 0 || rc == -EINTR || rc == -ECANCELED ? rc : -ETIMEDOUT;
}

static void wait_done(ipcx_queue *q, int *reg)
{
    if (*reg)
        fetch_sub_seq_cst(&q->ctl->data_waiters, 1);
    *reg = 0;
    q->spins = 0;
}

static void wake_data(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    /* seq_cst: pairs with fetch_add_seq_cst of data_waiters in wait_data. */
    if (load_seq_cst(&c->data_waiters) != 0) {
        fetch_add_seq_cst(&c->data_word, 1);
        ipcx__futex_wake(&c->data_word, INT32_MAX);
    }
}

/* Sleep until space_word moves from @w, which the caller read before the
 * attempt that failed (see next_segment). */
static int wait_space(ipcx_queue *q, ipcx__deadline d, uint32_t w)
{
    struct ipcx__qctl *c = q->ctl;
    if (ipcx__deadline_expired(d))
        return -ETIMEDOUT;
    /* seq_cst: pairs with queue_chain.c:ipcx__qwake_space (word bump, then
     * waiters load): either it sees us, or the futex sees the new word. */
    fetch_add_seq_cst(&c->space_waiters, 1);
    int rc = cancelled(q); /* @w was loaded before: see cancelled() */
    if (rc == 0)
        rc = ipcx__futex_wait(&c->space_word, w, slice(d, 10000000));
    fetch_sub_seq_cst(&c->space_waiters, 1);
    if ((rc == 0 || rc == -EINTR) && cancelled(q) != 0)
        rc = -ECANCELED;
    return rc == -EINTR || rc == -ECANCELED ? rc : 0;
}

/* ------------------------------------------------------------ producer */

/* Close the segment (idempotent): 0, or -EPROTO when the claim word kept
 * changing for longer than honest producers can make it (see try_claim).
 * Release: the final end offset and every earlier claim; pairs with the
 * consumers' load of claim in read_at. */
static int seg_close(ipcx_queue *q, struct ipcx__qseg *h, uint64_t size, uint64_t c)
{
    if (!(q->flags & IPCX_QUEUE_MULTI_PRODUCER)) {
        store_release(&h->claim, c | IPCX__QCLOSED);
        return 0;
    }
    for (uint64_t fails = 0; !(c & IPCX__QCLOSED); fails++) {
        if (fails > size / IPCX__QREC_HDR)
            return -EPROTO;
        if (IPCX_UNLIKELY(ipcx__qfault != NULL))
            ipcx__qfault(IPCX__QFAULT_CLOSE_CAS, &h->claim);
        /* acq_rel: as the claim CAS in try_claim. */
        if (cas_acq_rel(&h->claim, &c, c | IPCX__QCLOSED))
            break;
    }
    return 0;
}

/* Move the producer to the next segment, linking one if needed. */
static int next_segment(ipcx_queue *q, uint64_t rec, ipcx__deadline d)
{
    struct ipcx__qseg *h = (struct ipcx__qseg *)q->pseg->base;
    for (;;) {
        /* Read before the attempt, not after it failed: a reclaim that frees
         * memory between our -ENOSPC and our sleep bumps the word in
         * between, and the futex wait then returns at once.  Read after,
         * the wake-up was lost until the 10 ms slice ran out. */
        uint32_t w = load_seq_cst(&q->ctl->space_word);
        int rc = ipcx__qlock(q, d);
        if (rc != 0)
            return rc;
        if (h->closed_ns == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            h->closed_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        }
        rc = ipcx__qchain_link(q, q->pseg, rec);
        ipcx__qunlock(q);
        if (rc == 0)
            break;
        if (rc != -ENOSPC)
            return rc;
        fetch_add_relaxed(&q->ctl->limit_hits, 1);
        if (q->on_limit != IPCX_QUEUE_LIMIT_WAIT || ipcx__deadline_is_nowait(d))
            return -ENOSPC;
        int wrc = wait_space(q, d, w);
        if (wrc != 0)
            return wrc; /* -ETIMEDOUT, -EINTR or -ECANCELED */
    }
    /* The segment we leave is complete: sync it whole (SEGMENT), or the
     * part an INTERVAL sync would otherwise never reach again. */
    if (q->durable &&
        (q->fsync == IPCX_QUEUE_FSYNC_SEGMENT || q->fsync == IPCX_QUEUE_FSYNC_INTERVAL) &&
        ipcx__qstore_sync(q->pseg->base, 0, q->pseg->size) != 0)
        return ipcx__qsync_failed(q);
    uint64_t next = load_acquire(&h->next); /* pairs with ipcx__qchain_link */
    struct ipcx__qmap *m = NULL;
    int rc = next == 0 || next > UINT32_MAX ? -EPROTO
                                            : ipcx__qstore_seg_map(q, (uint32_t)(next - 1), &m);
    if (rc == 0)
        rc = ipcx__qseg_check(m, q->pseg_id + 1);
    if (rc != 0)
        return rc;
    /* seq_cst: announces the segment we move into to reclaim (min_pos_all)
     * before we use it; the one we leave stays protected until then. */
    store_seq_cst(&q->slots[q->pslot].pos, ipcx__qpos(q->pseg_id + 1, 0));
    q->pseg = m;
    q->pseg_id++;
    return 0;
}

#define CLAIM_BAD (UINT64_MAX - 1)

/* Try to claim @rec bytes in the current segment.  Returns the claim word
 * before ours, UINT64_MAX when the segment is (now) closed, or CLAIM_BAD
 * when the claim word is corrupt.
 *
 * The CAS loop is bounded.  Honest producers only move the claim of a live
 * segment forward (by at least one record header per claim) or close it,
 * and a segment this producer is in is never recycled under it; so each
 * failed CAS means the end offset grew by IPCX__QREC_HDR or more, and after
 * size / IPCX__QREC_HDR failures the segment must be full.  More failures
 * than that are a peer rewriting the word: -EPROTO, not a spin inside send
 * for as long as the peer keeps at it. */
static uint64_t try_claim(ipcx_queue *q, struct ipcx__qseg *h, uint64_t size, uint64_t rec)
{
    uint64_t add = rec + (UINT64_C(1) << 32);
    struct ipcx__qslot *s = &q->slots[q->pslot];
    /* Relaxed: we only need the latest value to compute ours; a single
     * producer is the only writer, several serialise through the CAS. */
    uint64_t c = load_relaxed(&h->claim);
    for (uint64_t fails = 0;; fails++) {
        if (c & IPCX__QCLOSED)
            return UINT64_MAX;
        uint64_t off = ipcx__qclaim_off(c);
        if ((off & 7) != 0 || off < IPCX__QSEG_HDR || fails > size / IPCX__QREC_HDR)
            return CLAIM_BAD; /* not a claim this code wrote */
        if (off + rec > size)
            return seg_close(q, h, size, c) == 0 ? UINT64_MAX : CLAIM_BAD;
        if (!(q->flags & IPCX_QUEUE_MULTI_PRODUCER)) {
            /* Relaxed: the claim is published by the record's tag store. */
            store_relaxed(&h->claim, c + add);
            return c;
        }
        /* Relaxed: published by the CAS's release; read by repairers in
         * queue_chain.c:dead_claim after they acquire the claim word. */
        store_relaxed(&s->intent_len, (uint32_t)rec);
        store_relaxed(&s->intent, ipcx__qpos(q->pseg_id, off));
        if (IPCX_UNLIKELY(ipcx__qfault != NULL))
            ipcx__qfault(IPCX__QFAULT_CLAIM_CAS, &h->claim);
        /* acq_rel: orders our claim among the other producers' and
         * publishes the intent above. */
        if (cas_acq_rel(&h->claim, &c, c + add))
            return c;
    }
}

static int reserve(ipcx_queue *q, size_t len, void **data, ipcx__lazy_deadline *w)
{
    if (ipcx__qforked(q))
        return -ECHILD;
    if (q->pslot < 0)
        return -EBUSY; /* queue.c took the role first: not reached */
    if (q->broken)
        return ipcx__qbroken_rc(q);
    if (q->res_hdr != NULL)
        return -EINVAL;
    if (len > q->max_message)
        return -EMSGSIZE;
    uint64_t rec = ipcx__qrec_size(len);
    for (;;) {
        struct ipcx__qseg *h = (struct ipcx__qseg *)q->pseg->base;
        uint64_t c = try_claim(q, h, q->pseg->size, rec);
        if (c == CLAIM_BAD) {
            q->broken = 1;
            return -EPROTO;
        }
        if (c == UINT64_MAX) {
            int rc = next_segment(q, rec, ipcx__lazy_get(w));
            if (rc == -EPROTO)
                q->broken = 1; /* (-EIO: ipcx__qsync_failed() did) */
            if (rc != 0)
                return rc;
            continue;
        }
        struct ipcx__qrec *r = (struct ipcx__qrec *)(q->pseg->base + ipcx__qclaim_off(c));
        if (!(q->flags & IPCX_QUEUE_MULTI_PRODUCER))
            ipcx__qclear_next(q->pseg, ipcx__qclaim_off(c) + rec);
        q->res_seq = h->base_seq + ipcx__qclaim_count(c);
        /* Relaxed: published by the tag's release store (commit_tag). */
        store_relaxed(&r->len, (uint32_t)len);
        store_relaxed(&r->seq, q->res_seq);
        q->res_hdr = (uint8_t *)r;
        q->res_len = (uint32_t)len;
        *data = r + 1;
        return 0;
    }
}

/* Store the tag; returns 1 when a consumer may sleep (wake_data needed).
 *
 * Release: len, seq and payload before the tag; pairs with the load of the
 * tag in read_at.  A consumer may sleep: the tag store must be ordered
 * before wake_data's load of data_waiters (Dekker with wait_data), or a
 * consumer that registered and re-checked just before the store became
 * visible sleeps through the message (until its 50 ms slice ends).  Two
 * ways to get that order:
 *  - seq_cst store (a locked instruction on x86, a full barrier's worth),
 *    needed while any blocking consumer cannot fence (`blockers`), or
 *    when this process is not membarrier-registered;
 *  - an asymmetric fence: fenced consumers call membarrier(GLOBAL_EXPEDITED)
 *    after registering (wait_data), which runs a full barrier on this CPU
 *    if we are between the store and the load; the store stays a plain
 *    release store and only the compiler must keep program order. */
static int tag_store(ipcx_queue *q, struct ipcx__qrec *r, uint32_t tag)
{
    /* Relaxed: counts of blocking consumers; a stale 0 right after one
     * attaches costs it at most one slice (wait_data). */
    uint32_t plain = load_relaxed(&q->ctl->blockers);
    uint32_t fenced = load_relaxed(&q->ctl->fenced_blockers);
    if (plain == 0 && (fenced == 0 || q->mb_registered)) {
        store_release(&r->commit, tag);
        if (fenced == 0)
            return 0;
        /* Compiler only: the data_waiters load stays after the store;
         * the CPU's store-load order comes from the consumer's membarrier. */
        atomic_signal_fence(memory_order_seq_cst);
        return 1;
    }
    store_seq_cst(&r->commit, tag);
    return 1;
}

/* The tag store of a durable queue with its policy's syncs.  Returns
 * tag_store()'s wake flag, or -EIO when a sync failed (the handle is then
 * broken: what it committed may not be on disk). */
static int durable_commit(ipcx_queue *q, struct ipcx__qrec *r, uint32_t tag)
{
    uint64_t off = (uint64_t)((uint8_t *)r - q->pseg->base);
    int wake;
    if (q->fsync == IPCX_QUEUE_FSYNC_COMMIT) {
        /* Payload first, then the tag: a machine crash never keeps a tag
         * whose payload was lost. */
        if (ipcx__qstore_sync(q->pseg->base, off, ipcx__qrec_size(q->res_len)) != 0) {
            /* Not sent: a skip, so that consumers pass it. */
            wake = tag_store(q, r, ipcx__qtag(q->pseg_id, IPCX__QT_SKIP));
            fetch_add_relaxed(&q->ctl->skipped, 1);
            if (wake)
                wake_data(q);
            return ipcx__qsync_failed(q);
        }
        wake = tag_store(q, r, tag);
        /* The tag, and with it the segment header's claim word (page 0):
         * a reader after a restart checks every record against the claimed
         * end, and one behind a committed record is corruption.  One msync
         * of the range; only its dirty pages (the header's, the tag's) are
         * written. */
        if (ipcx__qstore_sync(q->pseg->base, 0, off + IPCX__QREC_HDR) != 0) {
            if (wake)
                wake_data(q); /* it is committed in memory all the same */
            return ipcx__qsync_failed(q);
        }
        return wake;
    }
    wake = tag_store(q, r, tag);
    if (q->fsync == IPCX_QUEUE_FSYNC_INTERVAL) {
        int64_t now = ipcx__now_ns();
        if (now - q->last_sync_ns >= (int64_t)q->fsync_ms * 1000000) {
            if (ipcx__qstore_sync(q->pseg->base, 0, off + ipcx__qrec_size(q->res_len)) != 0 ||
                ipcx__qstore_sync(q->ctl, 0, q->ctl_len) != 0) {
                if (wake)
                    wake_data(q);
                return ipcx__qsync_failed(q);
            }
            q->last_sync_ns = now;
        }
    }
    return wake;
}

/* Returns 0, or -EIO (durable: a sync failed; the handle is broken). */
static int commit_tag(ipcx_queue *q, struct ipcx__qrec *r, uint32_t tag)
{
    int wake = q->durable && q->fsync != IPCX_QUEUE_FSYNC_NEVER ? durable_commit(q, r, tag)
                                                                : tag_store(q, r, tag);
    if (wake > 0)
        wake_data(q);
    return wake < 0 ? wake : 0;
}

int ipcx__qio_reserve(ipcx_queue *q, size_t len, void **data, int64_t timeout_ns)
{
    if (q == NULL || data == NULL)
        return -EINVAL;
    ipcx__lazy_deadline w = ipcx__lazy_make(timeout_ns);
    return reserve(q, len, data, &w);
}

int ipcx_queue_commit(ipcx_queue *q, uint64_t *seq)
{
    if (q == NULL || q->res_hdr == NULL)
        return -EINVAL;
    if (ipcx__qforked(q))
        return -ECHILD;
    struct ipcx__qslot *s = &q->slots[q->pslot];
    int rc = commit_tag(q, (struct ipcx__qrec *)q->res_hdr, ipcx__qtag(q->pseg_id, IPCX__QT_MSG));
    q->res_hdr = NULL;
    if (rc != 0)
        return rc;
    /* Relaxed: statistics; this handle is the slot's only writer. */
    store_relaxed(&s->msgs, load_relaxed(&s->msgs) + 1);
    store_relaxed(&s->bytes, load_relaxed(&s->bytes) + q->res_len);
    if (seq != NULL)
        *seq = q->res_seq;
    return 0;
}

int ipcx__qio_send(ipcx_queue *q, const void *buf, size_t len, uint64_t *seq, int64_t timeout_ns)
{
    if (q == NULL || (buf == NULL && len != 0))
        return -EINVAL;
    void *d = NULL;
    ipcx__lazy_deadline w = ipcx__lazy_make(timeout_ns);
    int rc = reserve(q, len, &d, &w);
    if (rc != 0)
        return rc;
    if (len != 0)
        ipcx__copy_msg(d, buf, len);
    return ipcx_queue_commit(q, seq);
}

/* ------------------------------------------------------------ consumer */

enum { R_NOTHING = 0, R_MSG, R_SKIP, R_END };

struct rec_view {
    uint32_t len;
    uint64_t seq;
    const uint8_t *data;
};

/* What is at offset @off of segment @m (chain id @id).  Every field is read
 * once and checked.  Returns R_* or -EPROTO. */
static int read_at(ipcx_queue *q, struct ipcx__qmap *m, uint64_t id, uint64_t off,
                   struct rec_view *v)
{
    struct ipcx__qseg *h = (struct ipcx__qseg *)m->base;
    if ((off & 7) != 0 || off < IPCX__QSEG_HDR)
        return -EPROTO; /* a position from shared memory (group, saved pos) */
    if (off + IPCX__QREC_HDR <= m->size) {
        struct ipcx__qrec *r = (struct ipcx__qrec *)(m->base + off);
        /* seq_cst (acquire at least): pairs with commit_tag's store. */
        uint32_t tag = load_seq_cst(&r->commit);
        int kind = tag == ipcx__qtag(id, IPCX__QT_MSG)    ? R_MSG
                   : tag == ipcx__qtag(id, IPCX__QT_SKIP) ? R_SKIP
                                                          : R_NOTHING;
        if (kind != R_NOTHING) {
            /* Read once (after the tag's acquire), checked, then only the
             * copies are used. */
            v->len = load_relaxed(&r->len);
            v->seq = load_relaxed(&r->seq);
            v->data = m->base + off + IPCX__QREC_HDR;
            /* a skip's seq is a hint (a repairer may not know the real one) */
            if (ipcx__qrec_size(v->len) > m->size - off ||
                (kind == R_MSG && (v->len > q->max_message || v->seq < q->cseq)))
                return -EPROTO;
            return kind;
        }
    }
    /* The claim word is the producers' hottest line: a consumer that has
     * caught up looks at it only every 16th poll while it spins (an end of
     * segment is noticed a few polls later), and always before it sleeps
     * or when no header fits at its offset. */
    if (off + IPCX__QREC_HDR <= m->size && (q->spins & 15) != 0 &&
        !(q->wait == IPCX_QUEUE_WAIT_BLOCK && q->spins >= ipcx__qspin_limit))
        return R_NOTHING;
    /* seq_cst (acquire at least): pairs with seg_close's release. */
    uint64_t c = load_seq_cst(&h->claim);
    if (ipcx__qclaim_off(c) < off || ipcx__qclaim_off(c) > m->size)
        return -EPROTO;
    return (c & IPCX__QCLOSED) && ipcx__qclaim_off(c) == off ? R_END : R_NOTHING;
}

/* The next segment after @m, or NULL (not linked yet) with *err set on
 * corruption. */
static struct ipcx__qmap *follow(ipcx_queue *q, struct ipcx__qmap *m, uint64_t id, int *err)
{
    /* seq_cst (acquire at least): pairs with ipcx__qchain_link's release. */
    uint64_t next = load_seq_cst(&((struct ipcx__qseg *)m->base)->next);
    struct ipcx__qmap *n = NULL;
    *err = 0;
    if (next == 0)
        return NULL;
    if (next > UINT32_MAX)
        *err = -EPROTO;
    else
        *err = ipcx__qstore_seg_map(q, (uint32_t)(next - 1), &n);
    if (*err == 0)
        *err = ipcx__qseg_check(n, id + 1);
    return *err == 0 ? n : NULL;
}

static void release_pos(ipcx_queue *q, uint64_t pos)
{
    q->cpos = pos;
    /* Release: our reads of the segment happen before reclaim (which loads
     * pos with acquire in ipcx__qchain_min_pos) can recycle it. */
    store_release(&q->slots[q->cslot].pos, pos);
}

static void reclaim_now(ipcx_queue *q, ipcx__deadline d)
{
    if (ipcx__qlock(q, d) == 0) {
        ipcx__qchain_reclaim(q);
        ipcx__qunlock(q);
    }
}

/* Broadcast: the next message at our own position.  Returns R_MSG,
 * R_NOTHING or -errno. */
static int step_own(ipcx_queue *q, ipcx__lazy_deadline *w, struct rec_view *v)
{
    for (int guard = 0; guard < 1 << 20; guard++) {
        uint64_t id = ipcx__qpos_id(q->cpos), off = ipcx__qpos_off(q->cpos);
        int rc = q->cseg ? ipcx__qseg_check(q->cseg, id) : -ENOENT;
        if (rc != 0)
            rc = ipcx__qchain_find(q, id, ipcx__lazy_get(w), &q->cseg);
        if (rc != 0)
            return rc == -ENOENT ? -EPROTO : rc;
        rc = read_at(q, q->cseg, id, off, v);
        if (rc == R_MSG && v->seq < q->skip_below)
            rc = R_SKIP; /* before the requested start: released unseen */
        if (rc == R_SKIP) {
            if (v->seq >= q->cseq)
                q->cseq = v->seq + 1;
            release_pos(q, q->cpos + ipcx__qrec_size(v->len));
            continue;
        }
        if (rc != R_END)
            return rc;
        struct ipcx__qmap *n = follow(q, q->cseg, id, &rc);
        if (n == NULL)
            return rc != 0 ? rc : R_NOTHING;
        q->cseg = n;
        release_pos(q, ipcx__qpos(id + 1, IPCX__QSEG_HDR));
        reclaim_now(q, ipcx__lazy_get(w));
    }
    return -EPROTO;
}

/* Queue delivery: claim the next message of the group.  Returns R_MSG
 * (claimed: q->peek_pos set), R_NOTHING or -errno. */
static int step_group(ipcx_queue *q, ipcx__lazy_deadline *w, struct rec_view *v)
{
    struct ipcx__qctl *c = q->ctl;
    struct ipcx__qslot *s = &q->slots[q->cslot];
    for (int guard = 0; guard < 1 << 20; guard++) {
        uint64_t pos = load_seq_cst(&c->group); /* pairs with the CAS below */
        uint64_t id = ipcx__qpos_id(pos), off = ipcx__qpos_off(pos), to = 0;
        int rc = q->cseg ? ipcx__qseg_check(q->cseg, id) : -ENOENT;
        if (rc != 0)
            rc = ipcx__qchain_find(q, id, ipcx__lazy_get(w), &q->cseg);
        if (rc == -ENOENT && load_seq_cst(&c->group) != pos)
            continue; /* the group moved on and the segment went back */
        if (rc == -ENOENT)
            rc = -EPROTO; /* a position outside the chain */
        if (rc != 0)
            return rc;
        rc = read_at(q, q->cseg, id, off, v);
        q->cpos = pos; /* where we wait, for check_stuck */
        if (rc < 0 || rc == R_NOTHING) {
            if (rc < 0 && load_seq_cst(&c->group) != pos)
                continue; /* read a segment being recycled under us */
            return rc;
        }
        if (rc == R_END) {
            int err = 0;
            if (follow(q, q->cseg, id, &err) == NULL) {
                /* Nothing protects the group's segment from reclaim until
                 * we hold a position in it: once the group moved on, it may
                 * have been recycled (its `next` then names another life's
                 * segment, or a file already removed).  Not corruption. */
                if (err != 0 && load_seq_cst(&c->group) != pos)
                    continue;
                return err != 0 ? err : R_NOTHING;
            }
            to = ipcx__qpos(id + 1, IPCX__QSEG_HDR);
        } else {
            to = pos + ipcx__qrec_size(v->len);
        }
        /* seq_cst: hold is visible to reclaim before our claim is.  Pending
         * until the CAS succeeds: if we die before it, another consumer
         * may claim this message, and ours must not be handed back. */
        if (rc == R_MSG)
            store_seq_cst(&s->hold, pos | IPCX__QHOLD_PENDING);
        if (cas_seq_cst(&c->group, &pos, to)) {
            if (rc == R_MSG) {
                /* Relaxed: only a repairer reads the pending bit, after we
                 * died; reclaim keeps the same position either way. */
                store_relaxed(&s->hold, pos);
                q->peek_pos = pos;
                q->peek_next = to;
                return R_MSG;
            }
            if (rc == R_END)
                reclaim_now(q, ipcx__lazy_get(w));
        } else if (rc == R_MSG) {
            store_seq_cst(&s->hold, IPCX__QNOHOLD);
        }
    }
    return -EPROTO;
}

/* Multi-producer: a record claimed but not committed for 10 ms may belong
 * to a dead producer; look (ipcx__qrepair_at) every 10 ms while stuck. */
static void check_stuck(ipcx_queue *q)
{
    int64_t now = ipcx__now_ns();
    if (q->stuck_pos != q->cpos || q->stuck_seg != q->cseg) {
        q->stuck_pos = q->cpos;
        q->stuck_seg = q->cseg;
        q->stuck_ns = now;
        return;
    }
    if (now - q->stuck_ns < 10000000 || q->cseg == NULL)
        return;
    q->stuck_ns = now;
    uint64_t id = ipcx__qpos_id(q->cpos), off = ipcx__qpos_off(q->cpos);
    if (q->delivery != IPCX_QUEUE_DELIVER_QUEUE) {
        /* Our own position: reclaim keeps its segment (slot.pos). */
        ipcx__qrepair_at(q, q->cseg, id, off, q->cseq);
        return;
    }
    /* Queue delivery: cpos is a copy of the group cursor, which may have
     * moved on since, and its segment been recycled under a new id: a
     * repair there would overwrite a record of the new life.  Hold the
     * position first (pending: we claim nothing), then check that the
     * group is still there; reclaim keeps every held segment.  seq_cst:
     * the hold store is ordered before our load of group, pairing with
     * min_pos's loads of group then hold. */
    struct ipcx__qslot *s = &q->slots[q->cslot];
    store_seq_cst(&s->hold, q->cpos | IPCX__QHOLD_PENDING);
    if (load_seq_cst(&q->ctl->group) == q->cpos && ipcx__qseg_check(q->cseg, id) == 0)
        ipcx__qrepair_at(q, q->cseg, id, off, q->cseq);
    store_seq_cst(&s->hold, IPCX__QNOHOLD); /* pairs with min_pos */
}

static int peek(ipcx_queue *q, ipcx__lazy_deadline *w, struct rec_view *v)
{
    if (ipcx__qforked(q))
        return -ECHILD;
    if (q->cslot < 0)
        return -EBUSY; /* queue.c took the role first: not reached */
    if (q->broken)
        return ipcx__qbroken_rc(q);
    int reg = 0, rc, tries = 0;
    uint32_t word = 0;
    for (;; tries++) {
        rc = q->delivery == IPCX_QUEUE_DELIVER_QUEUE ? step_group(q, w, v) : step_own(q, w, v);
        if (rc != R_NOTHING)
            break;
        if (tries == 0 && q->streak >= IPCX_STREAK_MIN && !ipcx__lazy_is_nowait(w)) {
            /* Caught up with a busy producer: let it run ahead before
             * polling the record it is writing. */
            q->streak = 0;
            ipcx__streak_backoff();
            continue;
        }
        if ((q->flags & IPCX_QUEUE_MULTI_PRODUCER) && q->spins >= ipcx__qspin_limit)
            check_stuck(q);
        rc = wait_data(q, w, &reg, &word);
        if (rc != 0)
            break;
    }
    wait_done(q, &reg);
    if (rc == -EPROTO)
        q->broken = 1;
    if (rc != R_MSG)
        return rc;
    q->streak = tries == 0 ? q->streak + 1 : 0;
    if (q->delivery != IPCX_QUEUE_DELIVER_QUEUE) {
        q->peek_pos = q->cpos;
        q->peek_next = q->cpos + ipcx__qrec_size(v->len);
    }
    q->peeked = 1;
    q->peek_seq = v->seq;
    q->peek_len = v->len;
    q->cseq = v->seq + 1;
    return 0;
}

/* Where the peeked message is (it cannot have moved: we hold it). */
static const uint8_t *peeked_data(ipcx_queue *q)
{
    return q->cseg->base + ipcx__qpos_off(q->peek_pos) + IPCX__QREC_HDR;
}

/* The peeked message, peeking it first when none is. */
static int peek_held(ipcx_queue *q, const void **data, size_t *len, uint64_t *seq,
                     int64_t timeout_ns)
{
    if (ipcx__qforked(q))
        return -ECHILD;
    if (!q->peeked) {
        struct rec_view v;
        ipcx__lazy_deadline w = ipcx__lazy_make(timeout_ns);
        int rc = peek(q, &w, &v);
        if (rc != 0)
            return rc;
    }
    q->recv_held = 0;
    *data = peeked_data(q);
    if (len != NULL)
        *len = q->peek_len;
    if (seq != NULL)
        *seq = q->peek_seq;
    return (int)q->peek_len;
}

int ipcx__qio_peek(ipcx_queue *q, const void **data, size_t *len, uint64_t *seq, int64_t timeout_ns)
{
    if (q == NULL || data == NULL)
        return -EINVAL;
    /* One meaning for peek (as on a ring): the next message not yet
     * peeked.  A queue handle holds one at a time, so a second peek
     * before the release is refused - except for a message a recv left
     * held because its buffer was too small: that one was never handed
     * out. */
    if (q->peeked && !q->recv_held)
        return ipcx__qforked(q) ? -ECHILD : -EALREADY;
    return peek_held(q, data, len, seq, timeout_ns);
}

/* Give the peeked message back (released: delivered).  Returns 1 or -errno. */
int ipcx__qio_release_held(ipcx_queue *q)
{
    struct ipcx__qslot *s = &q->slots[q->cslot];
    q->peeked = 0;
    /* The position first, the figures after: a consumer killed between the
     * two leaves next_seq behind its position, never ahead of it (a
     * successor resumes at pos; next_seq is only a figure, see attach).
     * Relaxed: statistics; this handle is the slot's only writer. */
    if (q->delivery == IPCX_QUEUE_DELIVER_QUEUE)
        store_seq_cst(&s->hold, IPCX__QNOHOLD); /* pairs with min_pos */
    else
        release_pos(q, q->peek_next);
    store_relaxed(&s->next_seq, q->peek_seq + 1);
    store_relaxed(&s->msgs, load_relaxed(&s->msgs) + 1);
    store_relaxed(&s->bytes, load_relaxed(&s->bytes) + q->peek_len);
    if (q->durable && q->fsync == IPCX_QUEUE_FSYNC_COMMIT) {
        /* The position: the slot, and with queue delivery the group
         * cursor it claimed from (one range, usually one page). */
        uint64_t end = (uint64_t)((uint8_t *)(s + 1) - (uint8_t *)q->ctl);
        uint64_t from = q->delivery == IPCX_QUEUE_DELIVER_QUEUE
                            ? (uint64_t)offsetof(struct ipcx__qctl, group)
                            : end - sizeof *s;
        if (ipcx__qstore_sync(q->ctl, from, end - from) != 0)
            return ipcx__qsync_failed(q);
    }
    return 1;
}

int ipcx_queue_release(ipcx_queue *q, const void *data)
{
    if (q == NULL || !q->peeked || q->recv_held || data == NULL || data != peeked_data(q))
        return -EINVAL;
    if (ipcx__qforked(q))
        return -ECHILD;
    return ipcx__qio_release_held(q);
}

int ipcx__qio_recv(ipcx_queue *q, void *buf, size_t cap, uint64_t *seq, int64_t timeout_ns)
{
    const void *d = NULL;
    size_t len = 0;
    if (q == NULL || (buf == NULL && cap != 0))
        return -EINVAL;
    if (q->peeked && !q->recv_held)
        return ipcx__qforked(q) ? -ECHILD : -EALREADY; /* release the peeked one first */
    int rc = peek_held(q, &d, &len, seq, timeout_ns);
    if (rc < 0)
        return rc;
    if (len > cap) {
        q->recv_held = 1; /* it stays: the next recv or peek gets it */
        IPCX_LOGI("queue %s: receive buffer too small (message is %zu bytes, buffer %zu): it "
                  "stays",
                  q->name, (size_t)len, cap);
        return -EMSGSIZE;
    }
    if (len != 0)
        ipcx__copy_msg(buf, d, len);
    /* -EIO (durable, COMMIT): the message is in buf, but its release may
     * not survive a crash (it may be delivered again). */
    rc = ipcx__qio_release_held(q);
    return rc < 0 ? rc : (int)len;
}
