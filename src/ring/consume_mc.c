// SPDX-License-Identifier: MIT
/*
 * Multi-consumer queue rings: taking records and the release frontier.
 *
 * Design note.  A consumer takes the record at head by CAS of its tag
 * COMMIT -> TAKEN(owner), then CASes head forward (anyone who sees a TAKEN
 * record at head helps).  The consumer's slot `pos` covers its first taken
 * record, so a producer's liveness check can tell a live owner's TAKEN
 * record from a dead one's (recover.c ipcx__ring_taken_dead()).  Release
 * stores RELEASED (release) and advances the frontier `free` over released
 * records (ipcx__ring_mc_free(), also called by producers that need space);
 * producers claim only below `free`.
 */
#include <string.h>

#include "ring/ring_int.h"

/* Multi-consumer queue: take the record at head.  1 found, 0 none. */
int ipcx__ring_mc_try(ipcx_ring *r, int check, uint64_t *at, uint32_t *len)
{
    struct ring_hdr *h = r->hdr;
    struct ring_slot *s = &r->cslots[r->cidx];
    uint64_t hd0 = 0;
    for (uint64_t steps = 0; steps <= r->cap / RING_REC_HDR; steps++) {
        uint64_t hd = load_acquire(&h->head); /* pairs with the head CAS below */
        if (ring_pos_bad(hd))
            return ipcx__ring_corrupt(r, "head");
        if (steps == 0)
            hd0 = hd;
        struct ring_rec *rec = ring_rec_at(r, hd);
        uint64_t t = ipcx__ring_peer_tag_acquire(rec); /* pairs with commit_one() */
        unsigned k = ring_kind(r, hd, t);
        if (k == 0 || k == REC_CLAIM) {
            if (!check)
                return 0;
            int64_t sp = ipcx__ring_rec_span(r, hd, load_acquire(&h->tail), 1, &h->head, &k);
            if (sp == 0 && k == REC_CLAIM)
                sp = ipcx__ring_stalled_span(r, hd, &k);
            if (sp <= 0)
                return (int)sp;
            /* An abandoned claim or hole (SKIPPED / PAD): help head past. */
            if ((k == REC_SKIPPED || k == REC_PAD) &&
                cas_acq_rel(&h->head, &hd, hd + (uint64_t)sp) && k == REC_SKIPPED)
                r->c_lost++;
            continue;
        }
        int64_t span = ipcx__ring_span_at_index(r, &h->head, hd, k, rec);
        if (span <= 0) {
            if (span < 0)
                return (int)span;
            continue;
        }
        if (k == REC_COMMIT) {
            if (r->npeek == 0)
                store_release(&s->pos, hd + 1); /* pairs with taken_dead() */
            /* acq_rel: acquire continues the producer's release sequence
             * (the payload); release publishes our slot pos before TAKEN. */
            if (!ipcx__ring_peer_tag_cas(rec, &t,
                                         ring_tag(r, hd, REC_TAKEN, (unsigned)r->cidx + 1)))
                continue;
            RING_FAULT(RING_STEP_TAKEN);
            /* The record is ours now, but its length is still shared
             * memory: read it once more, validate it, use that copy. */
            uint32_t l = load_relaxed(&rec->len);
            if (l > r->max_msg || (hd & r->mask) + ring_rec_size(r, l) > r->cap)
                return ipcx__ring_corrupt(r, "taken record length");
            *at = hd;
            *len = l;
            /* Others may have helped already (a failed CAS rewrites hd). */
            cas_acq_rel(&h->head, &hd, hd + (uint64_t)span);
            return 1;
        }
        /* Help head past a taken / released / skipped record or a pad. */
        if (cas_acq_rel(&h->head, &hd, hd + (uint64_t)span) && k == REC_SKIPPED)
            r->c_lost++;
    }
    /* A lap of failed takes while other consumers kept moving head on is
     * contention, not corruption: report "nothing yet" (the caller waits
     * and retries within its timeout).  Only a head that stood still for
     * a whole lap of steps is corruption. */
    if (load_acquire(&h->head) != hd0) /* pairs with the head CAS above */
        return 0;
    return ipcx__ring_corrupt(r, "no record in a whole lap");
}

/* Multi-consumer (never OVERWRITE): count a released record. */
static void count_out(ipcx_ring *r, struct ring_rec *rec)
{
    r->c_msgs++;
    r->c_bytes += load_relaxed(&rec->len);
    if (++r->c_unflushed >= 32)
        ipcx__ring_flush_stats(r);
}

int ipcx__ring_mc_release(ipcx_ring *r, uint64_t off)
{
    unsigned i, n = 0;
    for (i = 0; i < r->npeek; i++)
        if ((r->taken[i] & r->mask) == off)
            break;
    if (i == r->npeek)
        return -EINVAL;
    for (unsigned j = 0; j <= i; j++) {
        uint64_t p = r->taken[j];
        struct ring_rec *rec = ring_rec_at(r, p);
        count_out(r, rec);
        /* Our reads of the payload are done: pairs with the load_acquire
         * of the tag in ipcx__ring_mc_free() below. */
        store_release(&rec->tag, ring_tag(r, p, REC_RELEASED, 0));
        n++;
    }
    memmove(r->taken, r->taken + i + 1, (r->npeek - i - 1) * sizeof(r->taken[0]));
    r->npeek -= i + 1;
    /* Pairs with taken_dead(): still covering our remaining records. */
    store_release(&r->cslots[r->cidx].pos, r->npeek == 0 ? 0 : r->taken[0] + 1);
    int rc = ipcx__ring_mc_free(r, 0);
    return rc < 0 ? rc : (int)n;
}

/* Advance `free` over released records (multi-consumer queue).  With
 * reclaim, a record taken by a consumer that died is released and counted
 * lost.  Returns 0 or -EPROTO. */
int ipcx__ring_mc_free(ipcx_ring *r, int reclaim)
{
    struct ring_hdr *h = r->hdr;
    /* Both pair with the CASes on free / head by other sides. */
    uint64_t f = load_acquire(&h->free), hd = load_acquire(&h->head);
    int moved = 0;
    if (ring_pos_bad(f) || ring_pos_bad(hd) || f > hd)
        return ipcx__ring_corrupt(r, "release frontier");
    for (uint64_t steps = 0; f < hd && steps < r->cap / RING_REC_HDR; steps++) {
        struct ring_rec *rec = ring_rec_at(r, f);
        /* Pairs with the store_release of RELEASED in ipcx__ring_mc_release(): the
         * consumer's reads of the payload happened before. */
        uint64_t t = ipcx__ring_peer_tag_acquire(rec);
        unsigned k = ring_kind(r, f, t);
        uint64_t span;
        if (k == REC_PAD) {
            span = r->cap - (f & r->mask);
        } else if (reclaim && (k == 0 || k == REC_CLAIM)) {
            /* An abandoned claim or a dead producer's hole (recover.c). */
            unsigned kk;
            int64_t sp = ipcx__ring_rec_span(r, f, load_acquire(&h->tail), 1, &h->free, &kk);
            if (sp <= 0 || (kk != REC_SKIPPED && kk != REC_PAD)) {
                if (sp < 0)
                    return (int)sp;
                break;
            }
            span = (uint64_t)sp;
        } else if (k == REC_RELEASED || k == REC_SKIPPED || k == REC_COMMIT ||
                   (k == REC_TAKEN && reclaim && ipcx__ring_taken_dead(r, f, t))) {
            /* COMMIT below head: a claim that consumers skipped while its
             * producer was stalled (recover.c ipcx__ring_stalled_span()), committed
             * since.  Consumers take a record (tag COMMIT -> TAKEN) before
             * they move head past it, so nobody will take this one. */
            if (k == REC_TAKEN)
                continue; /* now RELEASED: look again */
            int64_t sp = ipcx__ring_span_at_index(r, &h->free, f, k, rec);
            if (sp < 0)
                return (int)sp;
            if (sp == 0) {                  /* another helper moved free on */
                f = load_acquire(&h->free); /* pairs with the CAS below */
                if (ring_pos_bad(f))
                    return ipcx__ring_corrupt(r, "release frontier");
                continue;
            }
            span = (uint64_t)sp;
        } else {
            break;
        }
        if (f + span > hd)
            break;
        /* Releases the frontier to producers (refresh_space); seq_cst also
         * makes it the store half of the space_waiters Dekker pair (wait.c)
         * for the seq_cst load in the wake below. */
        if (!cas_seq_cst(&h->free, &f, f + span)) {
            if (ring_pos_bad(f))
                return ipcx__ring_corrupt(r, "release frontier");
            continue;
        }
        f += span;
        moved = 1;
    }
    if (moved)
        ipcx__ring_wake(&h->space_seq, &h->space_waiters, 0);
    return 0;
}
