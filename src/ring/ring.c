// SPDX-License-Identifier: MIT
/*
 * The ring's public calls over the core: argument checks, lazy roles, the
 * copy API, statistics.  The algorithms live in produce.c (producers),
 * consume.c (consumer entry points; single consumer and broadcast),
 * consume_mc.c (many consumers), overwrite.c and recover.c; named rings
 * (regions) in named.c.
 *
 * Design note.  Nothing here touches shared memory except through the core
 * and ipcx_ring_stats(), which only reads (relaxed loads of counters that
 * are statistics; a stale figure is harmless).  A handle is used by one
 * thread at a time, so its private state needs no synchronisation.
 */
#include <string.h>

#include "ring/ring_int.h"

/* -ECHILD for a handle inherited across fork (its slots are the parent's),
 * -EPROTO for a broken one, else 0. */
static inline int gate(const ipcx_ring *r)
{
    if (ring_forked(r))
        return -ECHILD;
    return IPCX_UNLIKELY(r->broken) ? -EPROTO : 0;
}

static int ensure_producer(ipcx_ring *r)
{
    int rc = gate(r);
    if (IPCX_UNLIKELY(rc != 0))
        return rc;
    if (IPCX_LIKELY(r->pidx >= 0))
        return 0;
    if (r->nlanes != 0)
        return ipcx__lanes_join(r, IPCX_RING_PRODUCER);
    return ipcx__ring_join_producer(r);
}

static int ensure_consumer(ipcx_ring *r)
{
    int rc = gate(r);
    if (IPCX_UNLIKELY(rc != 0))
        return rc;
    if (IPCX_LIKELY(r->cidx >= 0))
        return 0;
    if (r->nlanes != 0)
        return ipcx__lanes_join(r, IPCX_RING_CONSUMER);
    return ipcx__ring_join_consumer(r, 0);
}

int ipcx_ring_join(ipcx_ring *r, unsigned roles)
{
    if (r == NULL || roles == 0 || (roles & ~7u) != 0 || (roles & 3u) == 0)
        return -EINVAL;
    int rc = gate(r);
    if (rc != 0)
        return rc;
    if (r->nlanes != 0)
        return ipcx__lanes_join(r, roles);
    if (roles & IPCX_RING_PRODUCER)
        rc = ipcx__ring_join_producer(r);
    if (rc == 0 && (roles & IPCX_RING_CONSUMER))
        rc = ipcx__ring_join_consumer(r, (roles & IPCX_RING_FROM_OLDEST) != 0);
    return rc;
}

int ipcx_ring_set_wait(ipcx_ring *r, int mode)
{
    if (r == NULL || (mode != IPCX_WAIT_BLOCK && mode != IPCX_WAIT_SPIN))
        return -EINVAL;
    if (ring_forked(r))
        return -ECHILD;
    if (r->nlanes != 0)
        return ipcx__lanes_set_wait(r, mode);
    r->wait_mode = mode;
    /* Shown by stat only. */
    if (r->pidx >= 0)
        store_relaxed(&r->pslots[r->pidx].wait, (uint32_t)mode);
    if (r->cidx >= 0)
        store_relaxed(&r->cslots[r->cidx].wait, (uint32_t)mode);
    return 0;
}

int ipcx_ring_reserve(ipcx_ring *r, size_t len, void **data, int64_t timeout_ns)
{
    if (r == NULL || data == NULL)
        return -EINVAL;
    int rc = ensure_producer(r);
    if (rc != 0)
        return rc;
    if (r->nlanes != 0)
        return ipcx__lanes_reserve(r, len, data, timeout_ns);
    return ipcx__ring_reserve(r, len, data, timeout_ns);
}

int ipcx_ring_commit(ipcx_ring *r, void *data)
{
    if (r == NULL || r->pidx < 0)
        return -EINVAL;
    int rc = gate(r);
    if (rc != 0)
        return rc;
    return r->nlanes != 0 ? ipcx__lanes_commit(r, data) : ipcx__ring_commit(r, data);
}

int ipcx_ring_send(ipcx_ring *r, const void *buf, size_t len, int64_t timeout_ns)
{
    if (r == NULL || (buf == NULL && len != 0))
        return -EINVAL;
    int rc = ensure_producer(r);
    if (rc != 0)
        return rc;
    if (r->nlanes != 0)
        return ipcx__lanes_send(r, buf, len, timeout_ns);
    return ipcx__ring_send(r, buf, len, timeout_ns);
}

int ipcx_ring_peek(ipcx_ring *r, const void **data, size_t *len, int64_t timeout_ns)
{
    if (r == NULL || data == NULL || len == NULL)
        return -EINVAL;
    int rc = ensure_consumer(r);
    if (rc != 0)
        return rc;
    rc = r->nlanes != 0 ? ipcx__lanes_peek(r, data, len, timeout_ns)
                        : ipcx__ring_peek(r, data, len, timeout_ns);
    if (rc == 0)
        RING_FAULT(RING_STEP_PEEKED);
    return rc;
}

int ipcx_ring_release(ipcx_ring *r, const void *data)
{
    if (r == NULL || r->cidx < 0)
        return -EINVAL;
    int rc = gate(r);
    if (rc != 0)
        return rc;
    return r->nlanes != 0 ? ipcx__lanes_release(r, data) : ipcx__ring_release(r, data);
}

int ipcx_ring_recv(ipcx_ring *r, void *buf, size_t cap, int64_t timeout_ns)
{
    if (r == NULL || (buf == NULL && cap != 0))
        return -EINVAL;
    int rc = ensure_consumer(r);
    if (rc != 0)
        return rc;
    if (r->nlanes != 0)
        return ipcx__lanes_recv(r, buf, cap, timeout_ns);
    return ipcx__ring_recv(r, buf, cap, timeout_ns);
}

uint64_t ipcx_ring_overrun(const ipcx_ring *r)
{
    return r != NULL ? r->overrun : 0;
}

/* ------------------------------------------------------------ stats */

static void stats_config(const ipcx_ring *r, ipcx_ring_stat *o)
{
    o->capacity = r->cap;
    o->max_msg = r->max_msg;
    o->slot_size = r->slot_size;
    o->delivery = r->bcast ? IPCX_RING_BROADCAST : IPCX_RING_QUEUE;
    o->full = r->policy;
    o->max_producers = r->nprod;
    o->max_consumers = r->ncons;
}

static void stats_peer(ipcx_ring_stat *o, const struct ring_slot *s, uint32_t role, uint64_t lag,
                       int alive)
{
    if (o->npeers >= IPCX_ARRAY_LEN(o->peer))
        return;
    o->peer[o->npeers].pid = (int32_t)(load_relaxed(&s->owner) >> 32);
    o->peer[o->npeers].role = role;
    o->peer[o->npeers].alive = alive;
    o->peer[o->npeers].msgs = load_relaxed(&s->msgs);
    o->peer[o->npeers].bytes = load_relaxed(&s->bytes);
    o->peer[o->npeers].lag = lag;
    o->npeers++;
}

int ipcx_ring_stats(ipcx_ring *r, ipcx_ring_stat *o)
{
    if (r == NULL || o == NULL)
        return -EINVAL;
    if (ring_forked(r))
        return -ECHILD; /* flushing would write the parent's slot counters */
    if (r->nlanes != 0)
        return ipcx__lanes_stats(r, o);
    memset(o, 0, sizeof(*o));
    ipcx__ring_flush_stats(r);
    stats_config(r, o);
    struct ring_hdr *h = r->hdr;
    /* Statistics: relaxed loads; figures may be a moment apart. */
    o->write_pos = load_relaxed(&h->tail);
    o->read_pos = load_relaxed(r->bcast || r->mc ? &h->free : &h->head);
    o->msgs_in = load_relaxed(&h->gone_msgs_in);
    o->bytes_in = load_relaxed(&h->gone_bytes_in);
    o->msgs_out = load_relaxed(&h->gone_msgs_out);
    o->bytes_out = load_relaxed(&h->gone_bytes_out);
    o->full_waits = load_relaxed(&h->gone_full_waits);
    o->lost = load_relaxed(&h->gone_lost);
    o->overruns = load_relaxed(&h->gone_overruns);
    for (uint32_t i = 0; i < r->nprod; i++) {
        const struct ring_slot *s = &r->pslots[i];
        if (load_relaxed(&s->owner) == 0)
            continue;
        int alive = ipcx__ring_slot_alive(r, s);
        o->producers++;
        o->producers_alive += (uint32_t)alive;
        o->msgs_in += load_relaxed(&s->msgs);
        o->bytes_in += load_relaxed(&s->bytes);
        o->full_waits += load_relaxed(&s->c1);
        stats_peer(o, s, IPCX_RING_PRODUCER, 0, alive);
    }
    for (uint32_t i = 0; i < r->ncons; i++) {
        const struct ring_slot *s = &r->cslots[i];
        if (load_relaxed(&s->owner) == 0)
            continue;
        int alive = ipcx__ring_slot_alive(r, s);
        o->consumers++;
        o->consumers_alive += (uint32_t)alive;
        o->msgs_out += load_relaxed(&s->msgs);
        o->bytes_out += load_relaxed(&s->bytes);
        o->lost += load_relaxed(&s->c1);
        o->overruns += load_relaxed(&s->c2);
        uint64_t at = r->bcast ? load_relaxed(&s->pos) : 0;
        at = r->bcast ? (at != 0 ? at - 1 : o->write_pos) : load_relaxed(&h->head);
        stats_peer(o, s, IPCX_RING_CONSUMER, o->write_pos > at ? o->write_pos - at : 0, alive);
    }
    return 0;
}
