// SPDX-License-Identifier: MIT
/*
 * The chain of segments: the lock that guards it, linking a new segment,
 * giving back the segments every consumer has passed, and repairing what a
 * crash left half done.
 *
 * Design note.
 *  - Everything on the control block's chain line (head, tail, counts, free
 *    list, mem_used, next_file) is written only under `lock`, a futex
 *    mutex whose word holds the owner's pid.  A waiter that finds the owner
 *    dead (or, after a second, a different process under the same pid)
 *    steals the lock and runs ipcx__qchain_repair(), which recomputes every
 *    derived field from the segments themselves.  The hot paths (claiming
 *    room, committing, reading) never take the lock; only linking a segment,
 *    reclaiming, attaching and detaching do.
 *  - Linking: the new segment's header is written completely (id, size,
 *    base_seq, claim, next = 0) before the old segment's `next` is stored
 *    with release; whoever loads `next` with acquire sees a ready header.
 *    A crash before that store leaves an unlinked file (mem_used counts it
 *    only after the store; repair recounts; unlink removes strays by name).
 *  - Reclaiming: the oldest position any consumer still needs is read from
 *    the slots (load_acquire of each position pairs with the consumer's
 *    store_release in queue_io.c:release_pos, so every read a consumer made
 *    in a segment happens before that segment is rewritten).  Segments
 *    wholly before it are recycled (the first IPCX__QFREE_MAX of the initial
 *    size) or unlinked.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "queue/queue.h"

/* ------------------------------------------------------------ liveness */

/* Owners of slots and of the lock (queue.h); the liveness module decides
 * (platform/liveness.c: alive, dead, unknown - unknown never reclaims). */

int ipcx__qsame_ns(const ipcx_queue *q)
{
    /* Relaxed: a sticky flag (note_namespace); a stale 0 right after a
     * foreign attach is the window any liveness check has. */
    return load_relaxed(&q->ctl->mixed_ns) == 0;
}

int ipcx__qslot_alive(const ipcx_queue *q, const struct ipcx__qslot *s)
{
    return ipcx__live_check(s->pid, s->start, s->start != 0 ? 64 : 0, ipcx__qsame_ns(q));
}

int ipcx__qslot_maybe_alive(const ipcx_queue *q, const struct ipcx__qslot *s)
{
    /* kill(pid, 0) only: no /proc read on the reclaim path.  A reused pid
     * reads as alive, which only keeps memory a little longer. */
    return ipcx__live_probe(s->pid, ipcx__qsame_ns(q)) != IPCX_LIVE_DEAD;
}

/* ------------------------------------------------------------ lock */

static int owner_gone(ipcx_queue *q, uint32_t owner, int64_t waited_ns)
{
    int same_ns = ipcx__qsame_ns(q);
    if (ipcx__live_check((int32_t)owner, 0, 0, same_ns) == IPCX_LIVE_DEAD)
        return 1;
    /* Another pid namespace: a start time read here under that pid is
     * another process's (or nobody's); it proves nothing. */
    if (!same_ns)
        return 0;
    /* Same pid, another process (pid reuse after a crash): only trusted
     * after a second, so a stale lock_start from a previous owner cannot
     * make us steal from a live one that is between its CAS and its store. */
    if (waited_ns <= 1000000000)
        return 0;
    uint64_t st = load_relaxed(&q->ctl->lock_start);
    /* 0 from ipcx__proc_start_time is "could not read /proc", not "another
     * process": never steal on that. */
    uint64_t now = ipcx__proc_start_time((int)owner);
    return st != 0 && now != 0 && now != st;
}

/* How long a lock wait lasts at least, whatever the caller's deadline: the
 * lock is held for short, bounded work (linking, reclaiming, attaching), so
 * a NOWAIT call still waits for an owner that is working; only an owner
 * that is alive and never lets go makes the wait fail. */
#define LOCK_GRACE_NS INT64_C(2000000000) /* > owner_gone's 1 s */

static ipcx__deadline lock_deadline(ipcx__deadline d)
{
    int64_t min = ipcx__now_ns() + LOCK_GRACE_NS;
    if (!ipcx__deadline_is_forever(d) && d.abs_ns < min)
        d.abs_ns = min;
    return d;
}

static int lock_take(ipcx_queue *q, uint32_t *cur)
{
    /* Acquire: the chain fields written by the previous owner before its
     * store_release in ipcx__qunlock are visible to us. */
    if (!cas_acq_rel(&q->ctl->lock, cur, (uint32_t)q->pid))
        return 0;
    store_relaxed(&q->ctl->lock_start, q->start);
    return 1;
}

int ipcx__qlock(ipcx_queue *q, ipcx__deadline d)
{
    struct ipcx__qctl *c = q->ctl;
    int64_t t0 = 0;
    d = lock_deadline(d);
    for (int spins = 0;; spins++) {
        uint32_t cur = 0;
        if (lock_take(q, &cur))
            return 0;
        if (spins < 200 || cur == 0) { /* 0: freed since our CAS; retry */
            ipcx__cpu_relax();
            continue;
        }
        if (t0 == 0)
            t0 = ipcx__now_ns();
        if (owner_gone(q, cur, ipcx__now_ns() - t0) && lock_take(q, &cur)) {
            IPCX_LOGW("queue %s: lock owner %u died; repairing the chain", q->name, cur);
            int rc = ipcx__qchain_repair(q);
            if (rc != 0)
                ipcx__qunlock(q);
            return rc;
        }
        /* A live owner that never lets go: give up at the deadline rather
         * than hang the caller (docs/queue.md, "A live lock holder"). */
        if (ipcx__deadline_expired(d))
            return -ETIMEDOUT;
        /* seq_cst pairs with the load_seq_cst in ipcx__qunlock: either it
         * sees us waiting, or we see the lock already free. */
        fetch_add_seq_cst(&c->lock_waiters, 1);
        ipcx__futex_wait(&c->lock, cur, ipcx__deadline_make(2000000));
        fetch_sub_seq_cst(&c->lock_waiters, 1);
    }
}

void ipcx__qunlock(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    store_relaxed(&c->lock_start, 0);
    /* Release: publishes the chain fields written under the lock; pairs
     * with the cas_acq_rel in ipcx__qlock.  seq_cst for the waiter check. */
    store_seq_cst(&c->lock, 0);
    if (load_seq_cst(&c->lock_waiters) != 0)
        ipcx__futex_wake(&c->lock, 1);
}

/* ------------------------------------------------------------ segments */

int ipcx__qseg_check(const struct ipcx__qmap *m, uint64_t id)
{
    const struct ipcx__qseg *h = (const struct ipcx__qseg *)m->base;
    /* Relaxed: the id was published by the link or head store we came
     * through (acquire); here it is only compared. */
    if (load_relaxed(&((struct ipcx__qseg *)m->base)->id) != id)
        return -EPROTO;
    if (h->size != m->size || h->size < IPCX__QPAGE || h->size > IPCX__QMAX_SEGMENT)
        return -EPROTO;
    return 0;
}

static void seg_init(struct ipcx__qmap *m, uint64_t id, uint64_t base_seq)
{
    struct ipcx__qseg *h = (struct ipcx__qseg *)m->base;
    h->magic = IPCX__QSEG_MAGIC;
    h->size = m->size;
    h->base_seq = base_seq;
    h->closed_ns = 0;
    h->file = m->file;
    /* Relaxed: all three are published by the store_release of the link
     * (ipcx__qchain_link) or of the control block's version (create). */
    store_relaxed(&h->id, id);
    store_relaxed(&h->claim, (uint64_t)IPCX__QSEG_HDR);
    store_relaxed(&h->next, 0);
    /* The first record's header word: no stale tag there (see get_file). */
    store_relaxed(&((struct ipcx__qrec *)(m->base + IPCX__QSEG_HDR))->commit, 0);
}

/* A file of @size bytes: recycled when one of that size is free, else new
 * (within the memory limit, after dropping free files if that helps). */
static int get_file(ipcx_queue *q, uint64_t size, struct ipcx__qmap **out)
{
    struct ipcx__qctl *c = q->ctl;
    uint32_t n = load_relaxed(&c->free_n);
    if (size == q->initial_segment && n > 0 && n <= IPCX__QFREE_MAX) {
        uint32_t f = load_relaxed(&c->free_files[n - 1]);
        int rc = ipcx__qstore_seg_map(q, f, out);
        store_relaxed(&c->free_n, n - 1);
        if (rc == 0 && (*out)->size == size) {
            /* A stale payload word of the earlier life can equal a tag of
             * the new one (small integers are common) and look committed
             * to a consumer waiting there.  A single producer clears each
             * next header word before it commits (queue_io.c:reserve);
             * several cannot (the next header may be another's, already
             * committed), so their recycled segments are cleared whole.
             * Nobody reads this file any more (reclaimed). */
            if (q->flags & IPCX_QUEUE_MULTI_PRODUCER)
                memset((*out)->base + IPCX__QSEG_HDR, 0, size - IPCX__QSEG_HDR);
            return 0;
        }
        IPCX_LOGW("queue %s: dropping bad free segment %u", q->name, f);
        ipcx__qstore_seg_unlink(q, f);
        store_relaxed(&c->mem_used, load_relaxed(&c->mem_used) - size);
        return get_file(q, size, out);
    }
    /* free_n is read from shared memory: a value past IPCX__QFREE_MAX (a
     * hostile or corrupt peer) would index free_files out of bounds. */
    while (load_relaxed(&c->mem_used) + size > q->memory_limit && (n = load_relaxed(&c->free_n))) {
        if (n > IPCX__QFREE_MAX) {
            store_relaxed(&c->free_n, 0);
            return -EPROTO;
        }
        store_relaxed(&c->free_n, n - 1);
        ipcx__qstore_seg_unlink(q, load_relaxed(&c->free_files[n - 1]));
        store_relaxed(&c->mem_used, load_relaxed(&c->mem_used) - q->initial_segment);
    }
    if (load_relaxed(&c->mem_used) + size > q->memory_limit)
        return -ENOSPC;
    uint32_t f = load_relaxed(&c->next_file);
    store_relaxed(&c->next_file, f + 1);
    int rc = ipcx__qstore_seg_create(q, f, size, out);
    if (rc == 0)
        store_relaxed(&c->mem_used, load_relaxed(&c->mem_used) + size);
    return rc;
}

static uint64_t next_size(ipcx_queue *q, const struct ipcx__qseg *h, uint64_t id, uint64_t need)
{
    uint64_t s = q->initial_segment;
    /* Grow only while consumers lag (someone still reads an older segment):
     * in steady state the chain cycles initial-size segments. */
    if (ipcx__qpos_id(ipcx__qchain_min_pos(q)) < id) {
        s = h->size * 2;
        if (s > q->max_segment)
            s = q->max_segment;
        if (s < q->initial_segment)
            s = q->initial_segment;
    }
    uint64_t min = (IPCX__QSEG_HDR + need + IPCX__QPAGE - 1) & ~(uint64_t)(IPCX__QPAGE - 1);
    return s < min ? min : s;
}

int ipcx__qchain_link(ipcx_queue *q, struct ipcx__qmap *cur, uint64_t need)
{
    struct ipcx__qseg *h = (struct ipcx__qseg *)cur->base;
    /* Acquire: pairs with the store_release below in another producer. */
    if (load_acquire(&h->next) != 0)
        return 0;
    uint64_t id = load_relaxed(&h->id);
    uint64_t claim = load_acquire(&h->claim); /* pairs with the closing CAS/store */
    ipcx__qchain_reclaim(q);
    struct ipcx__qmap *m = NULL;
    int rc = get_file(q, next_size(q, h, id, need), &m);
    if (rc != 0)
        return rc;
    seg_init(m, id + 1, h->base_seq + ipcx__qclaim_count(claim));
    int sync = q->durable && q->fsync != IPCX_QUEUE_FSYNC_NEVER;
    /* On disk, in this order: the new segment's header and its directory
     * entry, then the link to it; a link to a header that is not there
     * yet would name a file whose id is another's. */
    if (sync &&
        (ipcx__qstore_sync(m->base, 0, IPCX__QSEG_HDR) != 0 || ipcx__qstore_sync_dir(q) != 0))
        return ipcx__qsync_failed(q);
    /* Release: publishes seg_init's writes; pairs with the load_acquire of
     * `next` by consumers (queue_io.c:follow) and producers (above). */
    store_release(&h->next, (uint64_t)m->file + 1);
    store_relaxed(&q->ctl->tail_id, id + 1);
    store_relaxed(&q->ctl->tail_file, m->file);
    store_relaxed(&q->ctl->nsegs, load_relaxed(&q->ctl->nsegs) + 1);
    /* The link itself, before anything is committed behind it: the chain on
     * disk must reach every record that a sync policy promises (the old
     * segment's header holds `next`; the control block the tail). */
    if (sync && (ipcx__qstore_sync(cur->base, 0, IPCX__QSEG_HDR) != 0 ||
                 ipcx__qstore_sync(q->ctl, 0, sizeof *q->ctl) != 0))
        return ipcx__qsync_failed(q);
    return 0;
}

/* ------------------------------------------------------------ reclaiming */

uint64_t ipcx__qchain_min_pos(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    uint64_t min = UINT64_MAX;
    int queue = q->delivery == IPCX_QUEUE_DELIVER_QUEUE;
    if (queue)
        min = load_seq_cst(&c->group); /* pairs with the consumers' seq_cst CAS */
    for (uint32_t i = 0; i < q->max_consumers; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        if (load_acquire(&s->state) != IPCX__QS_CONSUMER)
            continue;
        /* Acquire: pairs with the consumer's store_release of pos / the
         * seq_cst store of hold (queue_io.c). */
        uint64_t p = queue ? ipcx__qhold_pos(load_seq_cst(&s->hold)) : load_acquire(&s->pos);
        if (p < min && (s->named || ipcx__qslot_maybe_alive(q, s)))
            min = p;
    }
    if (min == UINT64_MAX && !queue)
        min = ipcx__qpos(load_relaxed(&c->head_id), 0); /* nobody yet: keep all */
    return min;
}

/* Also keep the segment each live producer stands in: a producer that
 * found its segment closed must still be able to read its `next`. */
static uint64_t min_pos_all(ipcx_queue *q)
{
    uint64_t min = ipcx__qchain_min_pos(q);
    for (uint32_t i = q->max_consumers; i < q->nslots; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        if (load_acquire(&s->state) != IPCX__QS_PRODUCER)
            continue;
        /* seq_cst: pairs with the producer's store_seq_cst of pos before
         * it uses a segment (queue_io.c:next_segment). */
        uint64_t p = load_seq_cst(&s->pos);
        if (p < min && ipcx__qslot_maybe_alive(q, s))
            min = p;
    }
    return min;
}

static int retained(ipcx_queue *q, const struct ipcx__qseg *h)
{
    if (!q->durable || (q->retain_bytes == 0 && q->retain_ns == 0))
        return 0;
    if (q->retain_ns != 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (h->closed_ns == 0 || now - h->closed_ns < q->retain_ns)
            return 1;
    }
    /* Bytes of the full segments after this one: the chain without it,
     * without the newest (still filling) and without free files.  So the
     * segment before the newest is always kept, and with it the newest
     * committed message. */
    struct ipcx__qmap *t = NULL;
    if (ipcx__qstore_seg_map(q, load_relaxed(&q->ctl->tail_file), &t) != 0)
        return 1;
    uint64_t used = load_relaxed(&q->ctl->mem_used);
    uint64_t other =
        h->size + t->size + (uint64_t)load_relaxed(&q->ctl->free_n) * q->initial_segment;
    uint64_t after = used > other ? used - other : 0;
    return q->retain_bytes != 0 && after < q->retain_bytes;
}

/* Give back the head segment (already checked: everyone passed it).
 * Returns 0, or -EIO when the new head could not be synced (the file is
 * then neither reused nor removed: a stray that repair finds). */
static int free_head(ipcx_queue *q, struct ipcx__qmap *m, uint64_t next)
{
    struct ipcx__qctl *c = q->ctl;
    store_relaxed(&c->head_id, load_relaxed(&c->head_id) + 1);
    store_relaxed(&c->head_file, (uint32_t)(next - 1));
    store_relaxed(&c->nsegs, load_relaxed(&c->nsegs) - 1);
    /* On disk, the control block must stop naming this file as the head
     * before the file is reused (its header then carries another id) or
     * removed: else a restart after a power loss finds a head that is not
     * there (-EPROTO, every message lost). */
    if (q->durable && q->fsync != IPCX_QUEUE_FSYNC_NEVER &&
        ipcx__qstore_sync(q->ctl, 0, sizeof *c) != 0)
        return ipcx__qsync_failed(q);
    uint32_t n = load_relaxed(&c->free_n);
    if (m->size == q->initial_segment && n < IPCX__QFREE_MAX) {
        store_relaxed(&c->free_files[n], m->file);
        store_relaxed(&c->free_n, n + 1);
        return 0;
    }
    store_relaxed(&c->mem_used, load_relaxed(&c->mem_used) - m->size);
    ipcx__qstore_seg_unlink(q, m->file);
    return 0;
}

void ipcx__qchain_reclaim(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    uint64_t min_id = ipcx__qpos_id(min_pos_all(q));
    int freed = 0;
    for (int guard = 0; guard < 1 << 20; guard++) {
        uint64_t hid = load_relaxed(&c->head_id);
        if (hid >= min_id || hid >= load_relaxed(&c->tail_id))
            break;
        struct ipcx__qmap *m = NULL;
        if (ipcx__qstore_seg_map(q, load_relaxed(&c->head_file), &m) != 0 ||
            ipcx__qseg_check(m, hid) != 0)
            break;
        struct ipcx__qseg *h = (struct ipcx__qseg *)m->base;
        uint64_t next = load_acquire(&h->next); /* pairs with ipcx__qchain_link */
        if (next == 0 || retained(q, h) || free_head(q, m, next) != 0)
            break;
        freed = 1;
    }
    if (freed)
        ipcx__qwake_space(q);
}

void ipcx__qchain_try_reclaim(ipcx_queue *q)
{
    uint32_t cur = 0;
    if (!lock_take(q, &cur)) /* never waits */
        return;
    ipcx__qchain_reclaim(q);
    ipcx__qunlock(q);
}

void ipcx__qwake_space(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    fetch_add_seq_cst(&c->space_word, 1);
    /* seq_cst pairs with the producer's fetch_add of space_waiters before
     * its re-check (queue_io.c:wait_space). */
    if (load_seq_cst(&c->space_waiters) != 0)
        ipcx__futex_wake(&c->space_word, INT32_MAX);
}

/* ------------------------------------------------------------ lookup, repair */

/* Where a walk of the chain got to. */
struct walk {
    uint64_t id;   /* chain id of the segment reached */
    uint32_t file; /* its file */
    uint32_t n;    /* segments visited */
    uint64_t mem;  /* their bytes */
};

/* Walk the chain from the head (the lock is held), checking every segment,
 * until chain id @until, or to the last segment when @until is UINT64_MAX.
 * Returns 0 with *out the segment reached, -ENOENT (@until is not in the
 * chain) or -EPROTO. */
static int chain_walk(ipcx_queue *q, uint64_t until, struct walk *w, struct ipcx__qmap **out)
{
    w->id = load_relaxed(&q->ctl->head_id);
    w->file = load_relaxed(&q->ctl->head_file);
    w->mem = 0;
    if (until < w->id)
        return -ENOENT;
    for (w->n = 1;; w->n++) {
        struct ipcx__qmap *m = NULL;
        int rc = ipcx__qstore_seg_map(q, w->file, &m);
        if (rc == 0 && (ipcx__qseg_check(m, w->id) != 0 || w->n > (1u << 20)))
            rc = -EPROTO;
        if (rc != 0)
            return rc;
        w->mem += m->size;
        *out = m;
        if (w->id == until)
            return 0;
        uint64_t next = load_acquire(&((struct ipcx__qseg *)m->base)->next); /* pairs with link */
        if (next > UINT32_MAX)
            return -EPROTO;
        if (next == 0)
            return until == UINT64_MAX ? 0 : -ENOENT;
        w->file = (uint32_t)(next - 1);
        w->id++;
    }
}

static int find_locked(ipcx_queue *q, uint64_t id, struct ipcx__qmap **out)
{
    struct walk w;
    return chain_walk(q, id, &w, out);
}

int ipcx__qchain_find(ipcx_queue *q, uint64_t id, ipcx__deadline d, struct ipcx__qmap **out)
{
    for (int i = 0; i < IPCX__QCACHE; i++) {
        struct ipcx__qmap *m = &q->cache[i];
        if (m->used && ipcx__qseg_check(m, id) == 0) {
            m->lru = ++q->lru_clock;
            *out = m;
            return 0;
        }
    }
    int rc = ipcx__qlock(q, d);
    if (rc != 0)
        return rc;
    rc = find_locked(q, id, out);
    ipcx__qunlock(q);
    return rc;
}

int ipcx__qchain_repair(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    struct ipcx__qmap *m = NULL;
    struct walk w;
    int rc = chain_walk(q, UINT64_MAX, &w, &m);
    if (rc != 0)
        return rc;
    uint32_t nf = load_relaxed(&c->free_n);
    if (nf > IPCX__QFREE_MAX)
        store_relaxed(&c->free_n, nf = 0);
    store_relaxed(&c->tail_id, w.id);
    store_relaxed(&c->tail_file, w.file);
    store_relaxed(&c->nsegs, w.n);
    store_relaxed(&c->mem_used, w.mem + (uint64_t)nf * q->initial_segment);
    return 0;
}

int ipcx__qchain_init(ipcx_queue *q)
{
    struct ipcx__qmap *m = NULL;
    store_relaxed(&q->ctl->next_file, 0);
    int rc = get_file(q, q->initial_segment, &m);
    if (rc != 0)
        return rc;
    seg_init(m, 1, 0);
    /* Before the control block that names it is published (and synced). */
    if (q->durable && q->fsync != IPCX_QUEUE_FSYNC_NEVER &&
        (ipcx__qstore_sync(m->base, 0, IPCX__QSEG_HDR) != 0 || ipcx__qstore_sync_dir(q) != 0))
        return -EIO;
    store_relaxed(&q->ctl->head_id, 1);
    store_relaxed(&q->ctl->head_file, m->file);
    store_relaxed(&q->ctl->tail_id, 1);
    store_relaxed(&q->ctl->tail_file, m->file);
    store_relaxed(&q->ctl->nsegs, 1);
    store_relaxed(&q->ctl->group, ipcx__qpos(1, IPCX__QSEG_HDR));
    return 0;
}

/* ------------------------------------------------------------ abandoned claims */

/* Scan segment @m (chain id @id) up to its claimed end; the first record
 * that is claimed but not committed becomes a skip record covering the rest
 * of the claimed bytes.  Returns 1 if it wrote one, 0, or -EPROTO. */
static int skip_in(ipcx_queue *q, struct ipcx__qmap *m, uint64_t id)
{
    struct ipcx__qseg *h = (struct ipcx__qseg *)m->base;
    uint64_t claim = load_acquire(&h->claim); /* pairs with the producer's claim store */
    uint64_t end = ipcx__qclaim_off(claim), seq = h->base_seq;
    if (end > m->size || end < IPCX__QSEG_HDR || (end & 7) != 0)
        return -EPROTO;
    for (uint64_t p = IPCX__QSEG_HDR; p < end; seq++) {
        if (end - p < IPCX__QREC_HDR)
            return -EPROTO;
        struct ipcx__qrec *r = (struct ipcx__qrec *)(m->base + p);
        uint32_t tag = load_acquire(&r->commit); /* pairs with the commit store */
        if (tag != ipcx__qtag(id, IPCX__QT_MSG) && tag != ipcx__qtag(id, IPCX__QT_SKIP)) {
            /* Relaxed: published by the skip tag's release below. */
            store_relaxed(&r->len, (uint32_t)(end - p - IPCX__QREC_HDR));
            store_relaxed(&r->seq, seq);
            ipcx__qclear_next(m, end);
            /* Release: len and seq before the tag; pairs with the
             * consumer's load_acquire of commit. */
            store_release(&r->commit, ipcx__qtag(id, IPCX__QT_SKIP));
            fetch_add_relaxed(&q->ctl->skipped, 1);
            return 1;
        }
        /* Read once, after the tag's acquire; the copy is checked and used. */
        uint64_t rs = ipcx__qrec_size(load_relaxed(&r->len));
        if (rs > end - p)
            return -EPROTO;
        p += rs;
    }
    return 0;
}

int ipcx__qchain_skip_abandoned(ipcx_queue *q)
{
    uint64_t id = load_relaxed(&q->ctl->head_id);
    uint64_t min = ipcx__qchain_min_pos(q);
    if (min != UINT64_MAX && ipcx__qpos_id(min) > id)
        id = ipcx__qpos_id(min);
    uint64_t tail = load_relaxed(&q->ctl->tail_id);
    for (; id <= tail; id++) {
        struct ipcx__qmap *m = NULL;
        int rc = find_locked(q, id, &m);
        if (rc != 0)
            return rc == -ENOENT ? 0 : rc;
        rc = skip_in(q, m, id);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ dead consumers */

/* Queue delivery: hand a message claimed by a consumer that died back to
 * the group, when nobody has claimed past it since (the group cursor is
 * still right after it).  Otherwise it is lost to the group.  A pending
 * hold (the consumer died before its claiming CAS, or just after it) is
 * never handed back: the group being right after it then may well mean
 * another consumer claimed that message, and moving the group back would
 * deliver it twice. */
static void unclaim_one(ipcx_queue *q, struct ipcx__qslot *s)
{
    /* seq_cst: pairs with step_group's stores; the owner is dead, so this
     * is its last value. */
    uint64_t h = load_seq_cst(&s->hold);
    struct ipcx__qmap *m = NULL;
    if (h == IPCX__QNOHOLD || (h & IPCX__QHOLD_PENDING) ||
        find_locked(q, ipcx__qpos_id(h), &m) != 0)
        return;
    uint64_t off = ipcx__qpos_off(h);
    if (off + IPCX__QREC_HDR > m->size || (off & 7) != 0 || off < IPCX__QSEG_HDR)
        return;
    struct ipcx__qrec *r = (struct ipcx__qrec *)(m->base + off);
    /* Acquire: pairs with the commit store; len is read after it. */
    if (load_acquire(&r->commit) != ipcx__qtag(ipcx__qpos_id(h), IPCX__QT_MSG))
        return;
    /* Read once, after the tag's acquire. */
    uint64_t next = h + ipcx__qrec_size(load_relaxed(&r->len));
    /* seq_cst: the same total order as the consumers' claiming CAS. */
    cas_seq_cst(&q->ctl->group, &next, h);
}

void ipcx__qchain_unclaim_dead(ipcx_queue *q)
{
    for (uint32_t i = 0; i < q->max_consumers; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        if (load_relaxed(&s->state) != IPCX__QS_CONSUMER || ipcx__qslot_alive(q, s) != 0)
            continue;
        unclaim_one(q, s);
        store_seq_cst(&s->hold, IPCX__QNOHOLD); /* pairs with min_pos */
        if (!s->named)
            store_release(&s->state, IPCX__QS_FREE); /* pairs with min_pos/attach */
    }
}

int ipcx__qchain_unclaim(ipcx_queue *q, uint64_t pos, uint64_t next)
{
    /* seq_cst: as in unclaim_one. */
    return cas_seq_cst(&q->ctl->group, &next, pos);
}

/* ------------------------------------------------------------ dead producers */

/* Is @end a plausible end for a claim starting before it in @m: the claimed
 * end, the start of a committed record, or another producer's intent? */
static int claim_end_ok(ipcx_queue *q, struct ipcx__qmap *m, uint64_t id, uint64_t end,
                        uint64_t claim_end)
{
    if (end == claim_end)
        return 1;
    if (end > claim_end || end + IPCX__QREC_HDR > m->size)
        return 0;
    struct ipcx__qrec *r = (struct ipcx__qrec *)(m->base + end);
    uint32_t tag = load_acquire(&r->commit); /* pairs with the commit store */
    if (tag == ipcx__qtag(id, IPCX__QT_MSG) || tag == ipcx__qtag(id, IPCX__QT_SKIP))
        return 1;
    for (uint32_t i = q->max_consumers; i < q->nslots; i++)
        if (load_acquire(&q->slots[i].intent) == ipcx__qpos(id, end)) /* pairs with try_claim */
            return 1;
    return 0;
}

/* The length of the dead producer's claim at (@id, @off), or 0 when a live
 * producer may own it or no dead one claims it. */
static uint64_t dead_claim(ipcx_queue *q, struct ipcx__qmap *m, uint64_t id, uint64_t off,
                           uint64_t claim_end)
{
    uint64_t pos = ipcx__qpos(id, off), found = 0;
    for (uint32_t i = q->max_consumers; i < q->nslots; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        /* Acquire: pairs with the intent stores before the producer's CAS
         * (queue_io.c:try_claim). */
        if (load_acquire(&s->intent) != pos)
            continue;
        if (load_relaxed(&s->state) == IPCX__QS_PRODUCER && ipcx__qslot_alive(q, s) != 0)
            return 0; /* it may still commit */
        uint64_t len = load_relaxed(&s->intent_len);
        if (found == 0 && len >= IPCX__QREC_HDR && (len & 7) == 0 && len <= claim_end - off &&
            claim_end_ok(q, m, id, off + len, claim_end))
            found = len;
    }
    return found;
}

int ipcx__qrepair_at(ipcx_queue *q, struct ipcx__qmap *m, uint64_t id, uint64_t off, uint64_t seq)
{
    if (!(q->flags & IPCX_QUEUE_MULTI_PRODUCER) || off + IPCX__QREC_HDR > m->size ||
        (off & 7) != 0 || off < IPCX__QSEG_HDR)
        return 0;
    struct ipcx__qseg *h = (struct ipcx__qseg *)m->base;
    uint64_t end = ipcx__qclaim_off(load_acquire(&h->claim)); /* pairs with try_claim's CAS */
    if (end <= off || end > m->size)
        return 0;
    struct ipcx__qrec *r = (struct ipcx__qrec *)(m->base + off);
    uint32_t tag = load_acquire(&r->commit); /* pairs with the commit store */
    if (tag == ipcx__qtag(id, IPCX__QT_MSG) || tag == ipcx__qtag(id, IPCX__QT_SKIP) ||
        tag == ipcx__qtag(id, IPCX__QT_BUSY))
        return 0;
    uint64_t len = dead_claim(q, m, id, off, end);
    /* acq_rel: only one repairer wins, and only if nobody committed since
     * we looked (the owner is dead, but the scan raced with live ones). */
    if (len == 0 || !cas_acq_rel(&r->commit, &tag, ipcx__qtag(id, IPCX__QT_BUSY)))
        return 0;
    /* Relaxed: published by the skip tag's release below. */
    store_relaxed(&r->len, (uint32_t)(len - IPCX__QREC_HDR));
    store_relaxed(&r->seq, seq);
    /* Release: len and seq before the skip tag; pairs with read_at. */
    store_release(&r->commit, ipcx__qtag(id, IPCX__QT_SKIP));
    fetch_add_relaxed(&q->ctl->skipped, 1);
    IPCX_LOGW("queue %s: skipped a claim abandoned by a dead producer", q->name);
    return 1;
}

void ipcx__qchain_repair_dead_intents(ipcx_queue *q)
{
    for (uint32_t i = q->max_consumers; i < q->nslots; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        uint64_t pos = load_acquire(&s->intent); /* pairs with try_claim */
        struct ipcx__qmap *m = NULL;
        if (pos == 0 || ipcx__qslot_alive(q, s) != 0 || find_locked(q, ipcx__qpos_id(pos), &m) != 0)
            continue;
        ipcx__qrepair_at(q, m, ipcx__qpos_id(pos), ipcx__qpos_off(pos),
                         ((struct ipcx__qseg *)m->base)->base_seq);
    }
}
