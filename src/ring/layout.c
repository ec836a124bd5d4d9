// SPDX-License-Identifier: MIT
/*
 * The ring's layout over any memory block: format, attach (validation of an
 * untrusted header), and the producer / consumer slot table with liveness.
 *
 * Design note.  The header's config line is written once by format before
 * `ready` is stored with release; attach loads `ready` with acquire and then
 * copies every config field into the private handle, validating each, so a
 * peer that later scribbles on the config cannot change what this process
 * believes (reads once, validate, use).  Slots are claimed with one CAS on
 * `owner` (0 -> pid|start, or a dead owner's value -> ours); nothing else in
 * a slot is trusted before that CAS succeeds.  A process that dies leaves
 * its slot owned by a pid that is gone (or a zombie): the next joiner, or a
 * side that waits on that slot, sees it through ipcx__ring_slot_alive() and
 * takes over.  A crash inside join leaves either a free slot or a slot owned
 * by a dead pid; both are recovered the same way.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "platform/platform.h"
#include "ring/ring_int.h"

void (*ipcx__ring_fault)(int step);

static uint64_t round_pow2(uint64_t v)
{
    uint64_t p = IPCX_RING_MIN_CAPACITY;
    while (p < v && p < IPCX_RING_MAX_CAPACITY)
        p <<= 1;
    return p;
}

/* -EINVAL for an option, with a log line that names the field and what is
 * allowed (ipcx_log_set), so "invalid argument" is never all a user gets. */
#define BAD_OPT(...) (IPCX_LOGE("ring options: " __VA_ARGS__), -EINVAL)

/* The effective options after defaults, or -EINVAL. */
static int resolve_opts(const ipcx_ring_opts *in, ipcx_ring_opts *o)
{
    static const ipcx_ring_opts zero;
    *o = in != NULL ? *in : zero;
    for (size_t i = 0; i < IPCX_ARRAY_LEN(o->reserved); i++)
        if (o->reserved[i] != 0)
            return BAD_OPT("reserved[%zu] is %u, must be 0", i, (unsigned)o->reserved[i]);
    if (o->capacity > IPCX_RING_MAX_CAPACITY)
        return BAD_OPT("capacity %llu is over the maximum %llu (1 GiB)",
                       (unsigned long long)o->capacity, (unsigned long long)IPCX_RING_MAX_CAPACITY);
    if (o->delivery > IPCX_RING_BROADCAST)
        return BAD_OPT("delivery %u: IPCX_RING_QUEUE (0) or IPCX_RING_BROADCAST (1)",
                       (unsigned)o->delivery);
    if (o->full > IPCX_RING_OVERWRITE)
        return BAD_OPT("full %u: IPCX_RING_BLOCK (0), _FAIL (1) or _OVERWRITE (2)",
                       (unsigned)o->full);
    if ((o->create & ~(uint32_t)(IPCX_CREATE_OPEN | IPCX_CREATE_REPLACE_STALE)) != 0)
        return BAD_OPT("create %u: IPCX_CREATE_OPEN and/or IPCX_CREATE_REPLACE_STALE",
                       (unsigned)o->create);
    /* Documented rounding: up to a power of two, at least the minimum. */
    o->capacity = round_pow2(o->capacity == 0 ? 256 * 1024 : o->capacity);
    if (o->slot_size != 0) {
        if (o->max_msg != 0 && o->max_msg != o->slot_size)
            return BAD_OPT("max_msg %u differs from slot_size %u (leave max_msg 0)",
                           (unsigned)o->max_msg, (unsigned)o->slot_size);
        o->max_msg = o->slot_size;
    }
    if (o->max_msg == 0)
        o->max_msg = (uint32_t)(o->capacity / 4);
    if (RING_REC_HDR + (((uint64_t)o->max_msg + 7) & ~(uint64_t)7) > o->capacity / 2)
        return BAD_OPT("max_msg %u does not fit half of capacity %llu: at most %llu here",
                       (unsigned)o->max_msg, (unsigned long long)o->capacity,
                       (unsigned long long)(o->capacity / 2 - RING_REC_HDR));
    if (o->max_producers == 0)
        o->max_producers = 1;
    if (o->max_consumers == 0)
        o->max_consumers = o->delivery == IPCX_RING_BROADCAST ? 64 : 1;
    if (o->max_producers > IPCX_RING_MAX_SLOTS || o->max_consumers > IPCX_RING_MAX_SLOTS)
        return BAD_OPT("max_producers %u / max_consumers %u: at most %d each",
                       (unsigned)o->max_producers, (unsigned)o->max_consumers, IPCX_RING_MAX_SLOTS);
    if (o->full == IPCX_RING_OVERWRITE &&
        (o->delivery != IPCX_RING_BROADCAST || (o->max_producers != 1 && o->lanes == 0)))
        return BAD_OPT("full IPCX_RING_OVERWRITE needs broadcast delivery and max_producers 1 "
                       "(or lanes: one producer per lane)");
    if (o->liveness_ms == 0)
        o->liveness_ms = 100;
    if (o->lanes > 1)
        return BAD_OPT("lanes %u: 0 (one claim position) or 1 (a lane per producer)",
                       (unsigned)o->lanes);
    if (o->lanes && o->delivery == IPCX_RING_QUEUE && o->max_consumers > 1)
        return BAD_OPT("lanes with queue delivery take one consumer (max_consumers %u)",
                       (unsigned)o->max_consumers);
    if (o->lanes)
        o->stall_ms = 0; /* one producer per lane: nobody's claim blocks another's */
    return 0;
}

static uint64_t data_offset(uint32_t nprod, uint32_t ncons)
{
    return RING_HDR_SIZE + (uint64_t)(nprod + ncons) * RING_SLOT_SIZE;
}

uint64_t ipcx__ring_lane_size(uint32_t ncons, uint64_t cap)
{
    if (ncons == 0 || ncons > IPCX_RING_MAX_SLOTS || cap > IPCX_RING_MAX_CAPACITY)
        return 0;
    uint64_t sz = data_offset(1, ncons) + cap + RING_GUARD;
    return (sz + IPCX_CACHELINE - 1) & ~(uint64_t)(IPCX_CACHELINE - 1);
}

size_t ipcx__ring_size_for(const ipcx_ring_opts *opts)
{
    ipcx_ring_opts o;
    if (resolve_opts(opts, &o) != 0)
        return 0;
    if (o.lanes)
        return (size_t)(RING_HDR_SIZE + (uint64_t)o.max_producers *
                                            ipcx__ring_lane_size(o.max_consumers, o.capacity));
    return (size_t)(data_offset(o.max_producers, o.max_consumers) + o.capacity + RING_GUARD);
}

uint32_t ipcx__ring_region_flags(const ipcx_ring *r)
{
    return r->flags;
}

static uint64_t random_key(void)
{
    uint64_t k = 0;
    if (getrandom(&k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k))
        k = (uint64_t)ipcx__now_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    return k;
}

/* A lane ring: every lane (an ordinary single-producer ring), then the top
 * block, published last. */
static int format_lanes(void *mem, size_t size, const ipcx_ring_opts *o)
{
    uint64_t lsz = ipcx__ring_lane_size(o->max_consumers, o->capacity);
    if (mem == NULL || ((uintptr_t)mem & (IPCX_CACHELINE - 1)) != 0 || lsz == 0 ||
        size < RING_HDR_SIZE + (uint64_t)o->max_producers * lsz)
        return -EINVAL;
    struct ring_hdr *h = mem;
    store_relaxed(&h->ready, 0); /* not yet visible to anyone */
    ipcx_ring_opts lo = *o;
    lo.lanes = 0;
    lo.max_producers = 1;
    for (uint32_t i = 0; i < o->max_producers; i++) {
        int rc = ipcx__ring_format((uint8_t *)mem + RING_HDR_SIZE + i * lsz, (size_t)lsz, &lo);
        if (rc != 0)
            return rc;
    }
    memset((uint8_t *)mem + 64 * 2, 0, RING_HDR_SIZE - 128);
    memset(h, 0, 64);
    h->magic = RING_MAGIC;
    h->ver_major = RING_LANES_MAJOR;
    h->ver_minor = 0;
    h->data_off = RING_HDR_SIZE;
    h->total_size = RING_HDR_SIZE + (uint64_t)o->max_producers * lsz;
    h->capacity = o->capacity;
    h->max_msg = o->max_msg;
    h->slot_size = o->slot_size;
    h->flags =
        (o->delivery == IPCX_RING_BROADCAST ? RING_F_BROADCAST : 0) | (o->full << 1) | RING_F_LANES;
    h->max_producers = o->max_producers;
    h->max_consumers = o->max_consumers;
    h->liveness_ms = o->liveness_ms;
    h->key = random_key();
    int pid = getpid();
    h->creator_pid = pid;
    h->creator_start = ipcx__proc_start_time(pid);
    h->stall_ms = 0;
    h->rsv1 = 0;
    h->lane_size = lsz;
    store_relaxed(&h->pidns, ipcx__live_self_ns());
    store_relaxed(&h->mixed_ns, 0);
    /* Publishes the top's config and every lane (each lane's own ready was
     * published before); pairs with the load_acquire of `ready` in
     * ipcx__ring_attach(). */
    store_release(&h->ready, (uint32_t)(RING_LANES_MAJOR << 16));
    return 0;
}

int ipcx__ring_format(void *mem, size_t size, const ipcx_ring_opts *opts)
{
    ipcx_ring_opts o;
    int rc = resolve_opts(opts, &o);
    if (rc != 0)
        return rc;
    if (o.lanes)
        return format_lanes(mem, size, &o);
    uint64_t off = data_offset(o.max_producers, o.max_consumers);
    if (mem == NULL || ((uintptr_t)mem & (IPCX_CACHELINE - 1)) != 0 ||
        size < off + o.capacity + RING_GUARD)
        return -EINVAL;
    struct ring_hdr *h = mem;
    /* Not yet visible to anyone: `ready` is still 0 (we clear it first). */
    store_relaxed(&h->ready, 0);
    memset((uint8_t *)mem + 64 * 2, 0, (size_t)off - 128);
    memset(h, 0, 64);
    h->magic = RING_MAGIC;
    h->ver_major = RING_VER_MAJOR;
    h->ver_minor = RING_VER_MINOR;
    h->data_off = (uint32_t)off;
    h->total_size = off + o.capacity + RING_GUARD;
    h->capacity = o.capacity;
    h->max_msg = o.max_msg;
    h->slot_size = o.slot_size;
    h->flags = (o.delivery == IPCX_RING_BROADCAST ? RING_F_BROADCAST : 0) | (o.full << 1);
    h->max_producers = o.max_producers;
    h->max_consumers = o.max_consumers;
    h->liveness_ms = o.liveness_ms;
    h->key = random_key();
    int pid = getpid();
    h->creator_pid = pid;
    h->creator_start = ipcx__proc_start_time(pid);
    h->stall_ms = o.stall_ms;
    store_relaxed(&h->pidns, ipcx__live_self_ns()); /* published with ready */
    store_relaxed(&h->mixed_ns, 0);
    /* Publishes every config field above; pairs with the load_acquire of
     * `ready` in ipcx__ring_attach().  Relaxed would let an attacher see
     * ready != 0 with a half-written config. */
    store_release(&h->ready, (uint32_t)(RING_VER_MAJOR << 16 | RING_VER_MINOR));
    return 0;
}

/* Copy the config into r, checking everything; 0 or -EPROTO. */
static int read_config(ipcx_ring *r, const struct ring_hdr *h, size_t size)
{
    uint64_t cap = h->capacity, total = h->total_size;
    uint32_t off = h->data_off, max_msg = h->max_msg, slot = h->slot_size;
    uint32_t flags = h->flags, np = h->max_producers, nc = h->max_consumers;
    if (h->magic != RING_MAGIC || h->ver_major != RING_VER_MAJOR)
        return -EPROTO;
    if (np == 0 || nc == 0 || np > IPCX_RING_MAX_SLOTS || nc > IPCX_RING_MAX_SLOTS)
        return -EPROTO;
    if (cap < IPCX_RING_MIN_CAPACITY || cap > IPCX_RING_MAX_CAPACITY || (cap & (cap - 1)) != 0)
        return -EPROTO;
    if (off != data_offset(np, nc) || total != off + cap + RING_GUARD || total > size)
        return -EPROTO;
    if ((slot != 0 && slot != max_msg) ||
        RING_REC_HDR + (((uint64_t)max_msg + 7) & ~(uint64_t)7) > cap / 2)
        return -EPROTO;
    if ((flags & ~7u) != 0 || RING_F_POLICY(flags) > IPCX_RING_OVERWRITE)
        return -EPROTO;
    r->bcast = (flags & RING_F_BROADCAST) != 0;
    r->policy = RING_F_POLICY(flags);
    if (r->policy == IPCX_RING_OVERWRITE && (!r->bcast || np != 1))
        return -EPROTO;
    r->cap = cap;
    r->mask = cap - 1;
    r->key = h->key;
    r->max_msg = max_msg;
    r->slot_size = slot;
    r->flags = flags;
    r->nprod = np;
    r->ncons = nc;
    r->liveness_ns = (int64_t)(h->liveness_ms == 0 ? 100 : h->liveness_ms) * 1000000;
    r->stall_limit_ns = (int64_t)h->stall_ms * 1000000;
    r->mp = np > 1;
    r->mc = !r->bcast && nc > 1;
    r->pslots = (struct ring_slot *)(void *)((uint8_t *)h + RING_HDR_SIZE);
    r->cslots = r->pslots + np;
    r->data = (uint8_t *)h + off;
    return 0;
}

/* Pid namespaces: a ring made before 1.2 gets ours as its namespace; an
 * attacher from another one (or one that cannot read its own) marks the
 * ring mixed, for good: from then on no check of a slot owner's pid can
 * prove it dead (layout.c ring_owner_live()). */
static void note_namespace(struct ring_hdr *h)
{
    uint64_t self = ipcx__live_self_ns(), ns = 0;
    /* Relaxed, both: an identity, not a publication; a racing attacher of
     * another namespace sets mixed_ns itself. */
    if (self != 0 && cas_relaxed(&h->pidns, &ns, self))
        return;
    if (self == 0 || ns != self)
        store_relaxed(&h->mixed_ns, 1);
}

int ipcx__ring_attach(void *mem, size_t size, ipcx_ring **out)
{
    if (mem == NULL || size < RING_HDR_SIZE || ((uintptr_t)mem & (IPCX_CACHELINE - 1)) != 0)
        return -EINVAL;
    struct ring_hdr *h = mem;
    /* Pairs with the store_release in ipcx__ring_format(): once we see the
     * version, the config line is complete. */
    uint32_t ready = load_acquire(&h->ready);
    if (ready == 0)
        return -EAGAIN;
    if ((ready >> 16) == RING_LANES_MAJOR)
        return ipcx__lanes_attach(mem, size, out);
    if ((ready >> 16) != RING_VER_MAJOR) {
        IPCX_LOGE("ring: layout version %u.%u, this library reads %u.x", ready >> 16,
                  ready & 0xffffu, RING_VER_MAJOR);
        return -EPROTO;
    }
    ipcx_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->hdr = h;
    r->dseq = &h->data_seq;
    r->dwait = &h->data_waiters;
    r->plane = -1;
    int rc = ipcx__fork_watch(&r->fork_gen);
    if (rc != 0) {
        free(r);
        return rc;
    }
    rc = read_config(r, h, size);
    if (rc != 0) {
        IPCX_LOGE("ring: header fails validation");
        free(r);
        return rc;
    }
    int pid = getpid();
    char st;
    uint64_t start = 0;
    /* Our identity needs our start time: without it others could not tell
     * us from a reused pid (out of fds, say: then fail, do not guess). */
    rc = ipcx__proc_stat(pid, &st, &start);
    if (rc != 0) {
        free(r);
        return rc == -ENOENT ? -ESRCH : rc;
    }
    r->ident = (uint64_t)(uint32_t)pid << 32 | (start & (RING_ID_LOCKED - 1));
    r->lockfd = -1;
    note_namespace(h);
    r->light = ipcx__ring_light_init();
    r->pidx = -1;
    r->cidx = -1;
    *out = r;
    return 0;
}

int ipcx__ring_corrupt(ipcx_ring *r, const char *what)
{
    if (!r->broken)
        IPCX_LOGE("ring: corrupt shared state (%s); handle detached", what);
    r->broken = 1;
    return -EPROTO;
}

/* ------------------------------------------------------------ liveness */

static uint64_t slot_key(const ipcx_ring *r, const struct ring_slot *s)
{
    return r->lock_base + (uint64_t)((const uint8_t *)s - (const uint8_t *)r->hdr);
}

void ipcx__ring_use_lock(ipcx_ring *r, int fd)
{
    if (r->nlanes != 0) {
        ipcx__lanes_use_lock(r, fd);
        return;
    }
    int l = fd >= 0 ? ipcx__live_lock_open(fd) : -1;
    r->lockfd = l >= 0 ? l : -1;
}

/* The liveness module's answer for the owner identity id of slot s.  The
 * lock proof first: an owner that took the slot's lock (RING_ID_LOCKED)
 * and no longer holds it is gone, in any pid namespace (or it left the
 * slot just now, which makes it gone for the slot too).  Not for our own
 * pid: our own description's locks never conflict with our query.  A held
 * lock proves less (a forked child shares the description): the pid
 * checks decide then, as they do without a lock. */
static int ring_owner_live(const ipcx_ring *r, const struct ring_slot *s, uint64_t id)
{
    if ((id & RING_ID_LOCKED) != 0 && r->lockfd >= 0 && (id >> 32) != (r->ident >> 32) &&
        ipcx__live_lock_state(r->lockfd, slot_key(r, s)) == IPCX_LIVE_DEAD)
        return IPCX_LIVE_DEAD;
    /* Relaxed: a sticky flag; a stale 0 right after a foreign attach is
     * the window any liveness check has (the owner may die just after). */
    int same_ns = load_relaxed(&r->hdr->mixed_ns) == 0;
    return ipcx__live_check((int32_t)(id >> 32), id & (RING_ID_LOCKED - 1), 31, same_ns);
}

int ipcx__ring_slot_alive(const ipcx_ring *r, const struct ring_slot *s)
{
    /* Relaxed: an identity, not a publication; a stale value is re-read on
     * the next check. */
    uint64_t id = load_relaxed(&s->owner);
    return id != 0 && ring_owner_live(r, s, id) != IPCX_LIVE_DEAD;
}

/* ------------------------------------------------------------ slots */

static void fold_slot(ipcx_ring *r, struct ring_slot *s, int producer)
{
    struct ring_hdr *h = r->hdr;
    uint64_t m = load_relaxed(&s->msgs), b = load_relaxed(&s->bytes);
    uint64_t c1 = load_relaxed(&s->c1), c2 = load_relaxed(&s->c2);
    /* Statistics only: relaxed. */
    fetch_add_relaxed(producer ? &h->gone_msgs_in : &h->gone_msgs_out, m);
    fetch_add_relaxed(producer ? &h->gone_bytes_in : &h->gone_bytes_out, b);
    fetch_add_relaxed(producer ? &h->gone_full_waits : &h->gone_lost, c1);
    if (!producer)
        fetch_add_relaxed(&h->gone_overruns, c2);
    store_relaxed(&s->msgs, 0);
    store_relaxed(&s->bytes, 0);
    store_relaxed(&s->c1, 0);
    store_relaxed(&s->c2, 0);
}

/* A dead multi-producer slot whose claim intent might still be needed to
 * skip its claim is left alone (see docs/ring.md, "crash windows"). */
static int intent_pending(ipcx_ring *r, struct ring_slot *s)
{
    uint64_t ip = load_acquire(&s->ipos); /* pairs with store_release in claim_mp() */
    if (ip == 0)
        return 0;
    uint64_t p = ip - 1, tail = load_acquire(&r->hdr->tail); /* pairs with the claim CAS */
    if (ring_pos_bad(p) || ring_pos_bad(tail))
        return 0; /* garbage: nothing worth keeping the slot for */
    /* Not claimed (tail never passed it), or so old that the space has been
     * reused since: either way nobody needs the intent. */
    if (tail <= p || tail - p > r->cap)
        return 0;
    /* Still needed while a part of the claim has no header: its start, or
     * (a claim that began with a PAD) the record after the pad. */
    uint64_t sz = load_relaxed(&s->isize), off = p & r->mask;
    if (ring_kind(r, p, load_acquire(&ring_rec_at(r, p)->tag)) == 0)
        return 1;
    if (off + sz <= r->cap || sz > r->cap)
        return 0;
    uint64_t rec = p + (r->cap - off);
    return ring_kind(r, rec, load_acquire(&ring_rec_at(r, rec)->tag)) == 0;
}

void ipcx__ring_undo_sleeper(ipcx_ring *r, uint32_t w, int producer)
{
    if ((w & RING_SLOT_SLEEPING) == 0)
        return;
    /* seq_cst like every change of a waiter count (wait.c).  A wrong
     * decrement could hide a live sleeper from its waker, but the flag
     * means the increment happened and the dead owner never made its
     * decrement, and the slot's CAS makes us the only one to do it. */
    fetch_sub_seq_cst(producer ? &r->hdr->space_waiters : r->dwait, 1);
}

/* Take slot i of table t for us; 1 on success. */
static int take_slot(ipcx_ring *r, struct ring_slot *s, int producer)
{
    uint64_t cur = load_acquire(&s->owner); /* pairs with the CAS below in other joiners */
    /* Only an owner proven gone gives its slot up: alive or unknown holds. */
    if (cur != 0 &&
        ((cur & ~RING_ID_LOCKED) == r->ident || ring_owner_live(r, s, cur) != IPCX_LIVE_DEAD))
        return 0;
    if (cur != 0 && producer && r->mp && intent_pending(r, s))
        return 0;
    /* The lock proof, before our identity says we hold it. */
    uint64_t me = r->ident;
    if (r->lockfd >= 0 && ipcx__live_lock_take(r->lockfd, slot_key(r, s)) == 0)
        me |= RING_ID_LOCKED;
    /* The dead owner's flag, read while it still owns the slot (after the
     * CAS a new owner could set its own). */
    uint32_t w = load_relaxed(&s->wait);
    /* acq_rel: acquire the dead owner's counters before folding them;
     * release is not needed for anything we wrote before. */
    if (!cas_acq_rel(&s->owner, &cur, me)) {
        if (me & RING_ID_LOCKED)
            ipcx__live_lock_drop(r->lockfd, slot_key(r, s));
        return 0;
    }
    if (cur != 0) {
        fold_slot(r, s, producer);
        ipcx__ring_undo_sleeper(r, w, producer);
    }
    store_relaxed(&s->ipos, 0);
    store_relaxed(&s->isize, 0);
    store_relaxed(&s->wait, (uint32_t)r->wait_mode);
    return 1;
}

/* A single producer that died between writing a PAD at tail and storing
 * tail leaves a pad consumers may already have passed: start after it, or
 * records written over it would sit behind the consumer's position. */
static void skip_dead_pad(ipcx_ring *r)
{
    /* A single producer publishes tail only after a record's COMMIT tag, so
     * one killed between the two leaves committed records (and perhaps a
     * PAD) above the tail it published - records the consumer may already
     * have read.  Walk over them: a tag is valid only at the one position it
     * was written for, so the walk stops at the first byte the dead producer
     * did not finish, and it never passes more than the ring's capacity. */
    uint64_t t = r->ptail, start = t;
    while (t - start < r->cap) {
        uint64_t off = t & r->mask;
        struct ring_rec *rec = ring_rec_at(r, t);
        /* Pairs with the store_release of the COMMIT / PAD tag in produce.c
         * (commit_one(), write_pad()): the length below is the final one. */
        unsigned kind = ring_kind(r, t, load_acquire(&rec->tag));
        if (kind == REC_PAD && off != 0) {
            t += r->cap - off;
        } else if (kind == REC_COMMIT) {
            uint32_t len = load_relaxed(&rec->len);
            if (len > r->max_msg || off + ring_rec_size(r, len) > r->cap)
                break; /* not ours to trust: consumers will refuse it */
            t += ring_rec_size(r, len);
        } else {
            break;
        }
    }
    if (t == start)
        return;
    r->ptail = t;
    r->plimit = t;
    /* Publishes the new tail as claim_sp() does. */
    store_release(&r->hdr->tail, t);
}

int ipcx__ring_join_producer(ipcx_ring *r)
{
    if (r->pidx >= 0)
        return 0;
    for (uint32_t i = 0; i < r->nprod; i++) {
        struct ring_slot *s = &r->pslots[i];
        if (!take_slot(r, s, 1))
            continue;
        store_relaxed(&s->pos, 0);
        r->pidx = (int)i;
        /* Pairs with the producer's own store_release of tail: continue
         * where the previous (single) producer stopped. */
        r->ptail = load_acquire(&r->hdr->tail);
        r->plimit = r->ptail;
        if (ring_pos_bad(r->ptail)) {
            store_release(&s->owner, 0);
            r->pidx = -1;
            return ipcx__ring_corrupt(r, "tail");
        }
        if (!r->mp)
            skip_dead_pad(r);
        r->pseq = 0;
        r->nres = 0;
        return 0;
    }
    return -EBUSY;
}

int ipcx__ring_join_consumer(ipcx_ring *r, int oldest)
{
    if (r->cidx >= 0)
        return 0;
    for (uint32_t i = 0; i < r->ncons; i++) {
        struct ring_slot *s = &r->cslots[i];
        if (!take_slot(r, s, 0))
            continue;
        r->cidx = (int)i;
        r->npeek = 0;
        r->cseq = 0;
        r->cseq_valid = 0;
        r->stall_pos = r->cbar = 0;
        if (!r->bcast) {
            store_relaxed(&s->pos, 0);
            /* Pairs with the store_release of head in the consumer that
             * left: resume at its published position (its unreleased
             * records are redelivered). */
            r->cpos = r->crel = r->cpub = load_acquire(&r->hdr->head);
            if (ring_pos_bad(r->cpos)) {
                store_release(&s->owner, 0);
                r->cidx = -1;
                return ipcx__ring_corrupt(r, "head");
            }
            return 0;
        }
        /* Broadcast: register the cursor, then check it against the floor
         * (see ipcx__ring_bcast_space for the other half of this Dekker
         * pair: both sides store, then load, seq_cst). */
        struct ring_hdr *h = r->hdr;
        for (int tries = 0;; tries++) {
            uint64_t c = oldest ? load_seq_cst(&h->free) : load_seq_cst(&h->tail);
            if (ring_pos_bad(c) || tries > 100000) {
                store_release(&s->owner, 0);
                r->cidx = -1;
                return ipcx__ring_corrupt(r, "broadcast position");
            }
            store_seq_cst(&s->pos, c + 1);
            uint64_t f = load_seq_cst(&h->free);
            if (c >= f) {
                r->cpos = r->crel = r->cpub = c;
                return 0;
            }
        }
    }
    return -EBUSY;
}

void ipcx__ring_flush_stats(ipcx_ring *r)
{
    /* Each counter lives on the handle's own slot line; relaxed stores of
     * running totals (statistics only, read by ipcx_ring_stats()). */
    if (r->pidx >= 0) {
        struct ring_slot *s = &r->pslots[r->pidx];
        store_relaxed(&s->msgs, r->p_msgs);
        store_relaxed(&s->bytes, r->p_bytes);
        store_relaxed(&s->c1, r->p_waits);
    }
    if (r->cidx >= 0) {
        struct ring_slot *s = &r->cslots[r->cidx];
        store_relaxed(&s->msgs, r->c_msgs);
        store_relaxed(&s->bytes, r->c_bytes);
        store_relaxed(&s->c1, r->c_lost);
        store_relaxed(&s->c2, r->c_overruns);
    }
    r->p_unflushed = r->c_unflushed = 0;
}

/* A broken handle (corrupt shared state seen) leaves without walking or
 * writing the data area: it gives its slots up as a process that died
 * would, and the usual recovery of a dead owner's leftovers takes over -
 * multi-producer claims are skipped once pos no longer covers them, a
 * multi-consumer's TAKEN records are released (counted lost) once its
 * slot's pos no longer covers them (ipcx__ring_taken_dead), and a
 * single-consumer queue's unreleased records are redelivered (head is not
 * published).  Only the slot lines and the header's totals are written. */
/* After giving slot s up (its owner word stored 0): drop its lock proof. */
static void drop_lock(ipcx_ring *r, struct ring_slot *s)
{
    if (r->lockfd >= 0)
        ipcx__live_lock_drop(r->lockfd, slot_key(r, s));
}

static void leave_broken(ipcx_ring *r)
{
    r->nres = 0;
    r->npeek = 0;
    r->held = 0;
    if (r->pidx >= 0) {
        ipcx__ring_flush_stats(r);
        struct ring_slot *s = &r->pslots[r->pidx];
        fold_slot(r, s, 1);
        /* Pairs with the load_acquire of pos in recover.c claim_live():
         * our claims read as abandoned. */
        store_release(&s->pos, 0);
        /* Releases the slot; pairs with the load_acquire in take_slot(). */
        store_release(&s->owner, 0);
        drop_lock(r, s);
        r->pidx = -1;
    }
    if (r->cidx >= 0) {
        ipcx__ring_flush_stats(r);
        struct ring_slot *s = &r->cslots[r->cidx];
        fold_slot(r, s, 0);
        /* Pairs with the load_acquire of pos in ipcx__ring_taken_dead():
         * our TAKEN records read as a gone consumer's. */
        store_release(&s->pos, 0);
        /* seq_cst as in ipcx__ring_leave() (the space_waiters Dekker pair
         * with a broadcast producer's min_cursor()). */
        store_seq_cst(&s->owner, 0);
        drop_lock(r, s);
        ipcx__ring_wake(&r->hdr->space_seq, &r->hdr->space_waiters, 0);
        r->cidx = -1;
    }
}

static void leave_consumer(ipcx_ring *r)
{
    if (r->cidx >= 0) {
        ipcx__ring_abandon_peeked(r);
        ipcx__ring_flush_stats(r);
        struct ring_slot *s = &r->cslots[r->cidx];
        fold_slot(r, s, 0);
        store_relaxed(&s->pos, 0);
        /* As for the producer slot below, and seq_cst: the store half of
         * the space_waiters Dekker pair (wait.c) with the wake below, since
         * a broadcast producer may sleep on this cursor: its re-check
         * (min_cursor()) loads owner seq_cst after registering. */
        store_seq_cst(&s->owner, 0);
        drop_lock(r, s);
        /* A producer waiting for this cursor to move may go on now. */
        ipcx__ring_wake(&r->hdr->space_seq, &r->hdr->space_waiters, 0);
        r->cidx = -1;
    }
}

void ipcx__ring_leave_consumer(ipcx_ring *r)
{
    if (!r->broken)
        leave_consumer(r);
}

void ipcx__ring_leave(ipcx_ring *r)
{
    if (r->broken) {
        leave_broken(r);
        return;
    }
    if (r->pidx >= 0) {
        ipcx__ring_abandon_reserved(r);
        ipcx__ring_flush_stats(r);
        struct ring_slot *s = &r->pslots[r->pidx];
        fold_slot(r, s, 1);
        store_relaxed(&s->pos, 0);
        /* Releases the slot after our last claim and counters; pairs with
         * the load_acquire in take_slot(). */
        store_release(&s->owner, 0);
        drop_lock(r, s);
        r->pidx = -1;
    }
    leave_consumer(r);
}

void ipcx__ring_detach(ipcx_ring *r)
{
    if (r == NULL)
        return;
    if (r->nlanes != 0) {
        ipcx__lanes_detach(r);
        return;
    }
    /* A child's copy of a parent's handle: the slots are the parent's, and
     * its records are the parent's to commit or release.  Touch nothing. */
    if (!ring_forked(r))
        ipcx__ring_leave(r);
    /* A child's copy of the descriptor: closing it leaves the parent's
     * locks in place (they go with the last descriptor of the description). */
    if (r->lockfd >= 0 && !r->lock_borrowed)
        close(r->lockfd);
    free(r);
}
