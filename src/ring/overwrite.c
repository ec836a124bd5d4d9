// SPDX-License-Identifier: MIT
/*
 * Broadcast rings in OVERWRITE mode: the consumer's side of the seqlock on
 * the floor.
 *
 * Design note.  The one producer of an overwrite ring never waits: when a
 * claim would pass the slowest reader it moves the floor (`free`) past the
 * records it is about to overwrite (CAS), issues a release fence, and only
 * then writes (produce.c bcast_space()).  A consumer checks the floor
 * before it reads a record (ipcx__ring_overrun_check(), from consume.c
 * sc_try()) and again after it read it, behind an acquire fence
 * (ipcx__ring_overrun_after(), inline in ring_int.h): a record the floor
 * passed meanwhile may be torn, so the consumer moves to the floor and
 * reports -EOVERFLOW with the number of records it lost.  Releasing several
 * peeked records checks the floor against the first of them
 * (ipcx__ring_overrun_broken_walk()).
 */
#include "ring/ring_int.h"

/* Broadcast + overwrite: has the floor passed pos?  0 no, -EOVERFLOW after
 * moving to the floor, -EPROTO. */
int ipcx__ring_overrun_check(ipcx_ring *r, uint64_t pos)
{
    struct ring_hdr *h = r->hdr;
    for (int tries = 0; tries < 1000; tries++) {
        /* Pairs with the floor CAS in produce.c bcast_space(). */
        uint64_t f = load_acquire(&h->free);
        if (pos >= f)
            return 0;
        if (ring_pos_bad(f))
            return ipcx__ring_corrupt(r, "floor");
        struct ring_rec *rec = ring_rec_at(r, f);
        uint64_t t = load_acquire(&rec->tag);
        uint32_t seq = load_relaxed(&rec->seq);
        if (ring_kind(r, f, t) == 0 || load_acquire(&h->free) != f)
            continue; /* the floor moved again meanwhile */
        uint64_t lost = r->cseq_valid ? (uint32_t)(seq - r->cseq) : 0;
        r->overrun = lost;
        r->c_overruns += lost;
        r->cpos = r->crel = f;
        r->npeek = 0;
        r->cseq = seq;
        r->cseq_valid = 1;
        return -EOVERFLOW;
    }
    return 0;
}

/* Overwrite: the walk over the peeked records of a release broke (a tag
 * that is no longer the one peeked there).  Only an overwrite does that,
 * and the producer moves the floor before it writes (produce.c
 * bcast_space()), so the floor has passed the first peeked record:
 * report the overrun.  A floor that has not is corruption. */
int ipcx__ring_overrun_broken_walk(ipcx_ring *r)
{
    int rc = ipcx__ring_overrun_after(r, r->cfirst);
    return rc != 0 ? rc : ipcx__ring_corrupt(r, "peeked record changed");
}
