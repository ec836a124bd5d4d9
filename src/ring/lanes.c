// SPDX-License-Identifier: MIT
/*
 * Lane rings (ipcx_ring_opts.lanes): one single-producer ring per producer
 * slot, read by every consumer in turn.
 *
 * Design note.  Producers of an ordinary multi-producer ring share one claim
 * position (`tail`): each claim is a compare-and-swap on one line, a locked
 * instruction that waits for the producer's store buffer to drain and moves
 * the line between producers, so 4 producers on 2 cores made 0.2-0.4 x the
 * single-producer rate, and one producer descheduled between claim and
 * commit stops every consumer behind its claim.  Here each producer slot
 * owns a lane: a complete ordinary ring with one producer slot, so a
 * producer runs the single-producer path (no claim is shared, no CLAIM tag,
 * nothing to recover after a crash but what the single-producer ring
 * already handles) and a stalled or dead producer holds back only its own
 * lane.  Order across producers is given up (the ordinary ring promises
 * only per-producer order too, since claims commit in any order).
 *
 *  - Layout: ring_int.h (a top block, then the lanes).  Each lane is
 *    validated as an ordinary ring at attach and must agree with the top.
 *  - Consumers join every lane (all or none).  A consumer reads the lane it
 *    read last until it is empty, then probes the others (one acquire load
 *    of the tag at each lane's position: lane_ready()) and reads the first
 *    that has a record.  A probe that finds a lane empty publishes that
 *    lane's read position, as a single ring's consumer does before waiting,
 *    so its producer is never left waiting for space that was freed.
 *  - Waking: every lane's producer wakes the top block's data_seq (each lane
 *    handle's dseq / dwait point there), so a consumer sleeps on one futex
 *    word for all lanes: it registers in the top's data_waiters, then
 *    re-checks every lane with seq_cst loads (lanes_ready()) - the same
 *    Dekker handshake as a single ring's (wait.c), with the producer's
 *    COMMIT store on one side and the re-check of its lane on the other.
 *    The sleeper's slot for RING_SLOT_SLEEPING is its slot in lane 0, and
 *    whoever takes that slot over gives the count back to the top's word.
 *  - Peeked records: a lane releases in its own order, so the handle keeps
 *    the runs of records it peeked per lane, in peek order (at most
 *    RING_LANE_RUNS); releasing a record releases every run before its own
 *    and its own lane up to it - "every peeked record up to and including
 *    this one", as on a single ring.
 *  - Corruption: a lane that finds its state corrupt latches -EPROTO on its
 *    handle; the lane ring's handle latches it too.  The probe trusts no tag
 *    (it only chooses which lane to read); a lane whose tag never becomes a
 *    record is read in full at every liveness check, which reports it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring/ring_int.h"

/* A lane's result seen by the lane ring: -EPROTO latches, an overrun is
 * reported through ipcx_ring_overrun() of the lane ring's handle. */
static int lane_rc(ipcx_ring *r, const ipcx_ring *l, int rc)
{
    if (rc == -EPROTO)
        r->broken = 1;
    else if (rc == -EOVERFLOW)
        r->overrun = l->overrun;
    return rc;
}

/* ------------------------------------------------------------ attach */

static int bad_top(const char *what)
{
    IPCX_LOGE("ring: lane ring header fails validation (%s)", what);
    return -EPROTO;
}

int ipcx__lanes_attach(void *mem, size_t size, ipcx_ring **out)
{
    struct ring_hdr *h = mem;
    /* The caller loaded `ready` with acquire: the config line is complete.
     * Each field is read once, into locals, then checked. */
    uint32_t np = h->max_producers, nc = h->max_consumers, flags = h->flags;
    uint64_t cap = h->capacity, lsz = h->lane_size, total = h->total_size;
    if (h->magic != RING_MAGIC || h->ver_major != RING_LANES_MAJOR || h->data_off != RING_HDR_SIZE)
        return bad_top("magic or version");
    if (np == 0 || nc == 0 || np > IPCX_RING_MAX_SLOTS || nc > IPCX_RING_MAX_SLOTS)
        return bad_top("slot counts");
    if ((flags & ~(7u | RING_F_LANES)) != 0 || (flags & RING_F_LANES) == 0 ||
        RING_F_POLICY(flags) > IPCX_RING_OVERWRITE)
        return bad_top("flags");
    if (lsz == 0 || lsz != ipcx__ring_lane_size(nc, cap) || total != RING_HDR_SIZE + np * lsz ||
        total > size)
        return bad_top("sizes");
    ipcx_ring *r = calloc(1, sizeof(*r));
    ipcx_ring **lane = calloc(np, sizeof(*lane));
    if (r == NULL || lane == NULL) {
        free(r);
        free(lane);
        return -ENOMEM;
    }
    int rc = ipcx__fork_watch(&r->fork_gen);
    r->hdr = h;
    r->dseq = &h->data_seq;
    r->dwait = &h->data_waiters;
    r->lane = lane;
    r->lockfd = -1;
    r->pidx = r->cidx = r->plane = -1;
    r->cap = cap;
    r->mask = cap - 1;
    r->max_msg = h->max_msg;
    r->slot_size = h->slot_size;
    r->flags = flags & 7u;
    r->policy = RING_F_POLICY(flags);
    r->bcast = (flags & RING_F_BROADCAST) != 0;
    r->nprod = np;
    r->ncons = nc;
    r->liveness_ns = (int64_t)(h->liveness_ms == 0 ? 100 : h->liveness_ms) * 1000000;
    r->ident = (uint64_t)(uint32_t)getpid() << 32;
    for (uint32_t i = 0; rc == 0 && i < np; i++) {
        uint8_t *lm = (uint8_t *)mem + RING_HDR_SIZE + i * lsz;
        /* Pairs with the lane's own ready store (format): the top was
         * published after it, so a lane that is not an ordinary ready ring
         * now is corruption, not a creation in progress. */
        uint32_t ready = load_acquire(&((struct ring_hdr *)(void *)lm)->ready);
        if ((ready >> 16) != RING_VER_MAJOR) {
            rc = bad_top("a lane is not a ring");
            break;
        }
        ipcx_ring *l = NULL;
        rc = ipcx__ring_attach(lm, (size_t)lsz, &l);
        if (rc != 0) {
            rc = rc == -EAGAIN ? -EPROTO : rc;
            break;
        }
        lane[i] = l;
        if (l->cap != cap || l->max_msg != r->max_msg || l->slot_size != r->slot_size ||
            l->flags != r->flags || l->nprod != 1 || l->ncons != nc) {
            rc = bad_top("a lane differs from the top");
            break;
        }
        l->dseq = r->dseq;
        l->dwait = r->dwait;
        l->lock_base = RING_HDR_SIZE + i * lsz;
    }
    r->nlanes = np;
    if (rc != 0) {
        ipcx__lanes_detach(r);
        return rc;
    }
    r->light = ipcx__ring_light_init();
    *out = r;
    return 0;
}

void ipcx__lanes_detach(ipcx_ring *r)
{
    /* Each lane leaves its own roles (unless this is a child's copy, which
     * the lane handles tell for themselves) while the lock file is open. */
    for (uint32_t i = 0; i < r->nlanes; i++)
        ipcx__ring_detach(r->lane[i]);
    if (r->lockfd >= 0)
        close(r->lockfd);
    free(r->lane);
    free(r);
}

void ipcx__lanes_use_lock(ipcx_ring *r, int fd)
{
    /* One private description for every lane: each slot's lock byte is its
     * offset in the whole block (lock_base), so no two slots share one. */
    int l = fd >= 0 ? ipcx__live_lock_open(fd) : -1;
    r->lockfd = l >= 0 ? l : -1;
    for (uint32_t i = 0; i < r->nlanes; i++) {
        r->lane[i]->lockfd = r->lockfd;
        r->lane[i]->lock_borrowed = 1;
    }
}

int ipcx__lanes_any_alive(const ipcx_ring *r)
{
    for (uint32_t i = 0; i < r->nlanes; i++) {
        const ipcx_ring *l = r->lane[i];
        if (ipcx__ring_slot_alive(l, &l->pslots[0]))
            return 1;
        for (uint32_t j = 0; j < l->ncons; j++)
            if (ipcx__ring_slot_alive(l, &l->cslots[j]))
                return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ roles */

static int join_producer(ipcx_ring *r)
{
    if (r->plane >= 0)
        return 0;
    /* Start at a lane of our own so that processes joining together do not
     * all try lane 0 first. */
    uint32_t n = r->nlanes, start = (uint32_t)(r->ident >> 32) % n;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (start + k) % n;
        int rc = ipcx__ring_join_producer(r->lane[i]);
        if (rc == 0) {
            r->plane = (int)i;
            r->pidx = 0;
            return 0;
        }
        if (rc != -EBUSY)
            return lane_rc(r, r->lane[i], rc);
    }
    return -EBUSY;
}

static int join_consumer(ipcx_ring *r, int oldest)
{
    if (r->cjoined)
        return 0;
    for (uint32_t i = 0; i < r->nlanes; i++) {
        int rc = ipcx__ring_join_consumer(r->lane[i], oldest);
        if (rc != 0) {
            /* All or none: a consumer of some lanes would strand the rest. */
            for (uint32_t j = 0; j < i; j++)
                ipcx__ring_leave_consumer(r->lane[j]);
            return lane_rc(r, r->lane[i], rc);
        }
    }
    r->cjoined = 1;
    r->cidx = 0;
    r->lcur = 0;
    r->nruns = 0;
    return 0;
}

int ipcx__lanes_join(ipcx_ring *r, unsigned roles)
{
    int rc = 0;
    if (roles & IPCX_RING_PRODUCER)
        rc = join_producer(r);
    if (rc == 0 && (roles & IPCX_RING_CONSUMER))
        rc = join_consumer(r, (roles & IPCX_RING_FROM_OLDEST) != 0);
    return rc;
}

int ipcx__lanes_set_wait(ipcx_ring *r, int mode)
{
    r->wait_mode = mode;
    for (uint32_t i = 0; i < r->nlanes; i++)
        ipcx_ring_set_wait(r->lane[i], mode);
    return 0;
}

/* ------------------------------------------------------------ producing */

int ipcx__lanes_send(ipcx_ring *r, const void *buf, size_t len, int64_t timeout_ns)
{
    ipcx_ring *l = r->lane[r->plane];
    return lane_rc(r, l, ipcx__ring_send(l, buf, len, timeout_ns));
}

int ipcx__lanes_reserve(ipcx_ring *r, size_t len, void **data, int64_t timeout_ns)
{
    ipcx_ring *l = r->lane[r->plane];
    return lane_rc(r, l, ipcx__ring_reserve(l, len, data, timeout_ns));
}

int ipcx__lanes_commit(ipcx_ring *r, void *data)
{
    ipcx_ring *l = r->lane[r->plane];
    return lane_rc(r, l, ipcx__ring_commit(l, data));
}

/* ------------------------------------------------------------ consuming */

/* Is there something for lane l's consumer to take (a record or a pad at
 * its position, a record given back for a larger buffer, or an overrun to
 * report)?  A hint: the lane's own read decides. */
static int lane_ready(const ipcx_ring *l, int seq_cst)
{
    if (l->held)
        return 1;
    uint64_t p = l->cpos;
    /* Relaxed: a hint that the floor passed us; the read checks it again. */
    if (l->policy == IPCX_RING_OVERWRITE && load_relaxed(&l->hdr->free) > p)
        return 1;
    struct ring_rec *rec = ring_rec_at(l, p);
    /* acquire pairs with the producer's COMMIT store (produce.c); seq_cst
     * is the re-check after registering as a sleeper (wait.c). */
    uint64_t t = seq_cst ? load_seq_cst(&rec->tag) : load_acquire(&rec->tag);
    unsigned k = ring_kind(l, p, t);
    return k != 0 && k != REC_CLAIM;
}

/* The lane had nothing: publish its read position (its producer may be
 * waiting for that space) and its counters, as a single ring's consumer
 * does when it finds nothing. */
static void lane_idle(ipcx_ring *l)
{
    if (l->npeek == 0)
        l->crel = l->cpos;
    ipcx__ring_publish(l);
    if (l->c_unflushed != 0)
        ipcx__ring_flush_stats(l);
}

static int lanes_ready(ipcx_ring *l0, void *arg)
{
    (void)l0;
    ipcx_ring *r = arg;
    for (uint32_t i = 0; i < r->nlanes; i++)
        if (lane_ready(r->lane[i], 1))
            return 1;
    return 0;
}

/* One step of waiting for any lane: 1 poll again, 3 poll every lane in
 * full (a liveness check is due: the lanes' own reads then check their
 * state), or -ETIMEDOUT / -ECANCELED / -EINTR. */
static int lanes_wait(ipcx_ring *r, ring_waiter *w, ipcx__deadline *d)
{
    int rc = ipcx__ring_wait_step(r, w, d);
    if (rc < 0)
        return rc;
    if (ipcx__ring_check_due(r, w))
        return 3;
    if (rc == 2) {
        rc = ipcx__ring_sleep(r->lane[0], r->dseq, r->dwait, w, *d, lanes_ready, r);
        if (rc < 0)
            return rc;
    }
    return 1;
}

static void note_run(ipcx_ring *r, uint32_t lane, uint64_t last)
{
    if (r->nruns != 0 && r->runs[r->nruns - 1].lane == lane) {
        r->runs[r->nruns - 1].last = last;
        return;
    }
    r->runs[r->nruns].lane = lane;
    r->runs[r->nruns].last = last;
    r->nruns++;
}

/* What a consumer's call takes from the first lane that has something:
 * a peek (data, len) or a copy (buf, cap); rc is the lane call's result. */
struct take {
    int peek;
    const void **data;
    size_t *len;
    void *buf;
    size_t cap;
    int rc;
};

/* Try the lanes from the current one on.  all: read every lane, not only
 * those the probe finds ready.  1 when the call has its result in t->rc
 * (a record, or an error), 0 when no lane had anything. */
static int try_lanes(ipcx_ring *r, struct take *t, int all)
{
    uint32_t n = r->nlanes;
    /* With every run slot taken, a peek may go on in the last run's lane
     * only. */
    int only = t->peek && r->nruns == RING_LANE_RUNS ? (int)r->runs[r->nruns - 1].lane : -1;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (r->lcur + k) % n;
        if (only >= 0 && i != (uint32_t)only)
            continue;
        ipcx_ring *l = r->lane[i];
        if (!all && !lane_ready(l, 0)) {
            lane_idle(l);
            continue;
        }
        int rc = t->peek ? ipcx__ring_peek(l, t->data, t->len, IPCX_NOWAIT)
                         : ipcx__ring_recv(l, t->buf, t->cap, IPCX_NOWAIT);
        if (rc == -EAGAIN)
            continue;
        t->rc = lane_rc(r, l, rc);
        if (rc < 0)
            return 1;
        r->lcur = i; /* also for -EMSGSIZE: that record is offered first again */
        if (t->peek)
            note_run(r, i, l->clast);
        return 1;
    }
    if (only < 0)
        return 0;
    t->rc = -ENOBUFS;
    return 1;
}

/* The consumer's call over the lanes: take at once, or after the busy-
 * stream back-off, or wait (timeout_ns as for ipcx_ring_recv()). */
static int take(ipcx_ring *r, struct take *t, int64_t timeout_ns)
{
    if (try_lanes(r, t, 0)) {
        r->c_streak++;
        return t->rc;
    }
    if (timeout_ns != 0 && r->c_streak >= IPCX_STREAK_MIN) {
        /* Caught up with busy producers: let them run ahead (core.h), as
         * a single ring's consumer does. */
        ipcx__streak_backoff();
        if (try_lanes(r, t, 0))
            return t->rc;
    }
    r->c_streak = 0;
    if (timeout_ns == 0) {
        /* A consumer that never waits still reads every lane in full once
         * per liveness period. */
        if (ipcx__ring_nowait_check_due(r) && try_lanes(r, t, 1))
            return t->rc;
        return -EAGAIN;
    }
    ring_waiter w = {0};
    ipcx__deadline d = ipcx__ring_wait_begin(&w, timeout_ns);
    for (;;) {
        int rc = lanes_wait(r, &w, &d);
        if (rc < 0)
            return rc;
        if (try_lanes(r, t, rc == 3))
            return t->rc;
    }
}

int ipcx__lanes_peek(ipcx_ring *r, const void **data, size_t *len, int64_t timeout_ns)
{
    struct take t = {.peek = 1, .data = data, .len = len};
    return take(r, &t, timeout_ns);
}

int ipcx__lanes_recv(ipcx_ring *r, void *buf, size_t cap, int64_t timeout_ns)
{
    if (r->nruns != 0) {
        /* Records are peeked: receive as peek, copy, release, which also
         * releases those peeked before (as on a single ring). */
        const void *p;
        size_t len;
        int rc = ipcx__lanes_peek(r, &p, &len, timeout_ns);
        if (rc < 0)
            return rc;
        if (len > cap) {
            r->lane[r->lcur]->held = 1; /* the next peek / recv returns it again */
            IPCX_LOGI("ring: receive buffer too small (message is %zu bytes, buffer %zu): "
                      "it stays",
                      len, cap);
            return -EMSGSIZE;
        }
        ipcx__copy_msg(buf, p, len);
        rc = ipcx__lanes_release(r, p);
        return rc < 0 ? rc : (int)len;
    }
    struct take t = {.buf = buf, .cap = cap};
    return take(r, &t, timeout_ns);
}

/* Keep only the runs that still hold peeked records. */
static void runs_prune(ipcx_ring *r)
{
    unsigned j = 0;
    for (unsigned i = 0; i < r->nruns; i++) {
        const ipcx_ring *l = r->lane[r->runs[i].lane];
        if (l->npeek != 0 && r->runs[i].last >= l->cfirst)
            r->runs[j++] = r->runs[i];
    }
    r->nruns = j;
}

int ipcx__lanes_release(ipcx_ring *r, const void *data)
{
    const uint8_t *p = data;
    const uint8_t *base = (const uint8_t *)r->hdr + RING_HDR_SIZE;
    uint64_t lsz = ipcx__ring_lane_size(r->ncons, r->cap);
    if (p == NULL || p < base || lsz == 0)
        return -EINVAL;
    uint64_t i = (uint64_t)(p - base) / lsz;
    if (i >= r->nlanes)
        return -EINVAL;
    ipcx_ring *l = r->lane[i];
    if (l->npeek == 0 || p < l->data + RING_REC_HDR || p >= l->data + l->cap)
        return -EINVAL;
    uint64_t off = (uint64_t)(p - l->data) - RING_REC_HDR;
    uint64_t target = l->cfirst + ((off - (l->cfirst & l->mask)) & l->mask);
    if (target >= l->cpos)
        return -EINVAL;
    /* The runs before the one that holds the record, oldest first. */
    unsigned j = 0;
    while (j < r->nruns && !(r->runs[j].lane == i && r->runs[j].last >= target))
        j++;
    int n = 0;
    for (unsigned k = 0; j < r->nruns && k < j; k++) {
        ipcx_ring *m = r->lane[r->runs[k].lane];
        if (m->npeek == 0 || r->runs[k].last < m->cfirst)
            continue; /* released with a later run of its lane */
        int rc =
            ipcx__ring_release(m, (const struct ring_rec *)ring_rec_at(m, r->runs[k].last) + 1);
        if (rc < 0) {
            runs_prune(r);
            return lane_rc(r, m, rc);
        }
        n += rc;
    }
    int rc = ipcx__ring_release(l, data);
    runs_prune(r);
    return rc < 0 ? lane_rc(r, l, rc) : n + rc;
}

/* ------------------------------------------------------------ stats */

int ipcx__lanes_stats(ipcx_ring *r, ipcx_ring_stat *o)
{
    memset(o, 0, sizeof(*o));
    o->capacity = r->cap;
    o->max_msg = r->max_msg;
    o->slot_size = r->slot_size;
    o->delivery = r->bcast ? IPCX_RING_BROADCAST : IPCX_RING_QUEUE;
    o->full = r->policy;
    o->max_producers = r->nlanes;
    o->max_consumers = r->ncons;
    for (uint32_t i = 0; i < r->nlanes; i++) {
        ipcx_ring_stat t;
        int rc = ipcx_ring_stats(r->lane[i], &t);
        if (rc != 0)
            return rc;
        o->write_pos += t.write_pos;
        o->read_pos += t.read_pos;
        o->msgs_in += t.msgs_in;
        o->bytes_in += t.bytes_in;
        o->msgs_out += t.msgs_out;
        o->bytes_out += t.bytes_out;
        o->full_waits += t.full_waits;
        o->lost += t.lost;
        o->overruns += t.overruns;
        o->producers += t.producers;
        o->producers_alive += t.producers_alive;
        /* Every consumer is in every lane: count it once. */
        if (t.consumers > o->consumers)
            o->consumers = t.consumers;
        if (t.consumers_alive > o->consumers_alive)
            o->consumers_alive = t.consumers_alive;
        for (uint32_t k = 0; k < t.npeers; k++) {
            uint32_t m = 0;
            /* A consumer's figures are summed over the lanes (by pid). */
            while (t.peer[k].role == IPCX_RING_CONSUMER && m < o->npeers &&
                   !(o->peer[m].role == IPCX_RING_CONSUMER && o->peer[m].pid == t.peer[k].pid))
                m++;
            if (t.peer[k].role == IPCX_RING_CONSUMER && m < o->npeers) {
                o->peer[m].msgs += t.peer[k].msgs;
                o->peer[m].bytes += t.peer[k].bytes;
                o->peer[m].lag += t.peer[k].lag;
            } else if (o->npeers < IPCX_ARRAY_LEN(o->peer)) {
                o->peer[o->npeers++] = t.peer[k];
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------ interrupt */

int ipcx__lanes_interrupt(ipcx_ring *r)
{
    /* Async-signal-safe, as ipcx_ring_interrupt(): the flags (seq_cst,
     * pairing with ipcx__ring_cancelled() after a sleeper's load of its
     * word), then every word a handle of ours may sleep on. */
    store_seq_cst(&r->interrupted, 1);
    for (uint32_t i = 0; i < r->nlanes; i++) {
        ipcx_ring *l = r->lane[i];
        store_seq_cst(&l->interrupted, 1);
        fetch_add_seq_cst(&l->hdr->space_seq, 1);
        ipcx__futex_wake(&l->hdr->space_seq, INT32_MAX);
    }
    fetch_add_seq_cst(r->dseq, 1);
    ipcx__futex_wake(r->dseq, INT32_MAX);
    return 0;
}
