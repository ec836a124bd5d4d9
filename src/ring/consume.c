// SPDX-License-Identifier: MIT
/*
 * The consumer side of a ring: find the next record, hand it out, release
 * its space; and the recovery of records left behind by dead peers.
 *
 * Design note.  A consumer polls the tag of the record at its position
 * (load_acquire; pairs with the producer's store of the COMMIT tag, so the
 * payload is visible once the tag is).  A tag is only valid at the one
 * position it was written for, so stale bytes never pass for a record.
 *
 *  - Single-consumer queue: the consumer alone owns `head`; it publishes
 *    head (seq_cst, or release with light wake-ups: wait.c) after it has
 *    read the records below it - in
 *    batches of capacity/8, or at once when a producer waits or before it
 *    waits itself.  Producers load head with acquire before reusing space.
 *    ipcx__ring_recv() does the common case (a COMMIT at cpos, nothing
 *    peeked) inline: the same tag load and checks as sc_try(), the same
 *    bookkeeping as ipcx__ring_release().
 *  - Broadcast: the same with a private cursor in the consumer's slot.
 *  - Multi-consumer queue: a consumer takes the record at head by CAS of
 *    its tag COMMIT -> TAKEN(owner), then CASes head forward (anyone who
 *    sees a TAKEN record at head helps).  Release stores RELEASED (release)
 *    and advances the frontier `free` over released records.
 *  - Overwrite (broadcast, one producer): a seqlock on the floor: check the
 *    floor before and (after an acquire fence) after reading a record.
 *  - Waiting: a consumer that catches up with a busy stream first backs
 *    off without touching the ring, so that it does not take the record's
 *    line from a producer still writing it (core.h ipcx__streak_backoff);
 *    then it polls as usual.
 *
 * Recovery (only on the rate-limited liveness check, never on the fast
 * path): a CLAIM whose owner is gone, or whose owner no longer covers it,
 * is skipped by its own length and counted lost; a hole left by a producer
 * that died between its tail CAS and its claim header is skipped by the
 * span its intent names.  Recovery writes nothing into the ring - a header
 * write could race with a live owner's - so every reader (consumers, and
 * producers walking a frontier) reaches the same span on its own.
 * A consumer killed with records peeked: single-consumer queue - head never
 * moved past them, the next consumer gets them again (redelivered);
 * multi-consumer - they stay TAKEN until a producer's check finds the owner
 * gone, then they are RELEASED and counted lost.
 */
#include <string.h>

#include "ring/ring_int.h"

/* ------------------------------------------------------------ recovery */

/* Is the claim at pos still owned by a live producer?  1 yes, 0 no, -1 bad owner. */
static int claim_live(ipcx_ring *r, uint64_t pos, unsigned owner)
{
    if (owner == 0 || owner > r->nprod)
        return -1;
    struct ring_slot *s = &r->pslots[owner - 1];
    /* Pairs with the store_release of pos in produce.c write_claim() and
     * commit: a pos that does not cover us means the claim was committed
     * (the caller re-reads the tag) or given up. */
    uint64_t p1 = load_acquire(&s->pos);
    if (p1 == 0 || p1 - 1 > pos)
        return 0;
    return ipcx__ring_slot_alive(r, s);
}

/* Intents boundary_ok() may follow in one call.  A chain of holes has one
 * intent per dead producer; the budget stops a peer that plants many
 * intents at each step of a chain from making the search exponential. */
#define RING_BOUNDARY_BUDGET 64u

/* Is pos where a record starts: tail, a valid tag, or the start of another
 * claim intent that itself ends where a record starts (a producer that died
 * right after its claim can be followed by another that did the same, so
 * holes can follow holes)?  depth bounds the chain, *budget the intents
 * followed in all (when it runs out the answer is no: the caller waits). */
static int boundary_ok(ipcx_ring *r, uint64_t pos, uint64_t tail, unsigned depth, unsigned *budget)
{
    if (pos >= tail)
        return pos == tail;
    if (ring_kind(r, pos, load_acquire(&ring_rec_at(r, pos)->tag)) != 0)
        return 1;
    for (uint32_t i = 0; depth > 0 && i < r->nprod; i++) {
        struct ring_slot *s = &r->pslots[i];
        uint64_t ip = load_acquire(&s->ipos); /* as in intent_covers() */
        uint64_t sz = load_relaxed(&s->isize);
        if (ip == 0 || ip - 1 != pos || ring_pos_bad(sz) || sz == 0 || sz > r->cap)
            continue;
        if (*budget == 0)
            return 0;
        --*budget;
        if (boundary_ok(r, pos + sz, tail, depth - 1, budget))
            return 1;
    }
    return 0;
}

/* The hole at pos (header never written, tail > pos) of a producer that
 * died between its claim CAS and its claim header: fill it from that
 * producer's intent.  Multi-producer only. */
/* The intent of slot s, if it covers pos: 1 and [*st, *end). */
static int intent_covers(ipcx_ring *r, struct ring_slot *s, uint64_t pos, uint64_t *st,
                         uint64_t *end)
{
    /* Pairs with the store_release of ipos in produce.c claim_mp(). */
    uint64_t ip = load_acquire(&s->ipos);
    uint64_t sz = load_relaxed(&s->isize);
    if (ip == 0 || ip - 1 > pos || ip - 1 + sz <= pos || ring_pos_bad(ip - 1) || ring_pos_bad(sz) ||
        sz > r->cap)
        return 0;
    *st = ip - 1;
    *end = ip - 1 + sz;
    return 1;
}

/* The hole at pos (header never written, tail > pos) of a producer that
 * died between its claim CAS and its claim header: its span, from that
 * producer's intent, or 0 (wait).  *kind: PAD when the hole is the pad
 * that would have started the claim, else SKIPPED.  Nothing is written to
 * the ring: every reader (consumers, the producers walking a frontier)
 * computes the same span from the intent, which stays in the dead slot
 * while the hole has no header (layout.c intent_pending()). */
static int64_t intent_span(ipcx_ring *r, uint64_t pos, uint64_t tail, unsigned *kind)
{
    uint64_t st, end;
    /* First: a live producer whose intent covers pos may own it - wait.
     * Only then choose among the dead ones (a dead one's CAS may have
     * failed while a live one holds the claim). */
    for (uint32_t i = 0; i < r->nprod; i++)
        if (intent_covers(r, &r->pslots[i], pos, &st, &end) &&
            ipcx__ring_slot_alive(r, &r->pslots[i]))
            return 0;
    unsigned budget = RING_BOUNDARY_BUDGET; /* for all the candidates together */
    for (uint32_t i = 0; i < r->nprod; i++) {
        struct ring_slot *s = &r->pslots[i];
        if (!intent_covers(r, s, pos, &st, &end) || ipcx__ring_slot_alive(r, s))
            continue;
        uint64_t sz = end - st, off = st & r->mask;
        int padded = off + sz > r->cap;
        /* A claim starts at pos, or at a PAD that ends at pos; an intent
         * that merely spans pos is a failed CAS. */
        if (st != pos && !(padded && st + (r->cap - off) == pos))
            continue;
        /* Its CAS may have failed (someone else owns pos): accept the
         * intent only if it is consistent with what follows. */
        if (!boundary_ok(r, end, tail, r->nprod < 16 ? r->nprod : 16, &budget))
            continue;
        if (padded && st == pos) {
            *kind = REC_PAD;
            return (int64_t)(r->cap - off);
        }
        if ((pos & r->mask) + (end - pos) > r->cap || end - pos < RING_REC_HDR)
            continue;
        *kind = REC_SKIPPED;
        return (int64_t)(end - pos);
    }
    return 0;
}

/* The span of the record at pos of kind k, or -1 when its length field is
 * not valid.  Acquire on len: a caller that then re-reads an index to
 * check that the space was not reused meanwhile needs the len load to
 * come first. */
static int64_t span_check(const ipcx_ring *r, uint64_t pos, unsigned k, struct ring_rec *rec)
{
    uint64_t off = pos & r->mask;
    uint32_t len = load_acquire(&rec->len);
    if (k == REC_PAD) {
        if (off == 0 || len != r->cap - off || len > r->cap / 2 + RING_REC_HDR)
            return -1;
        return len;
    }
    uint64_t rs = ring_rec_size(r, len);
    if ((len > r->max_msg && k != REC_SKIPPED) || off + rs > r->cap)
        return -1;
    return (int64_t)rs;
}

static int64_t span_of(ipcx_ring *r, uint64_t pos, unsigned k, struct ring_rec *rec)
{
    int64_t sp = span_check(r, pos, k, rec);
    return sp < 0 ? ipcx__ring_corrupt(r, "record length") : sp;
}

/* Multi-consumer helpers read records other consumers may already have
 * passed (and producers reused): a bad length only means corruption when
 * the index has not moved past pos meanwhile.  0 = retry. */
int64_t ipcx__ring_span_at_index(ipcx_ring *r, ipcx_atomic_u64 *index, uint64_t pos, unsigned k,
                                 struct ring_rec *rec)
{
    int64_t sp = span_check(r, pos, k, rec);
    if (sp >= 0)
        return sp;
    /* Pairs with the CASes on the index; after the acquire of len above. */
    if (load_acquire(index) != pos)
        return 0;
    return ipcx__ring_corrupt(r, "record length");
}

int64_t ipcx__ring_rec_span(ipcx_ring *r, uint64_t pos, uint64_t tail, int check,
                            ipcx_atomic_u64 *index, unsigned *kind)
{
    struct ring_rec *rec = ring_rec_at(r, pos);
    /* Pairs with the producers' stores of the tag (release / seq_cst). */
    uint64_t t = load_acquire(&rec->tag);
    unsigned k = ring_kind(r, pos, t);
    *kind = k;
    if (k >= REC_COMMIT && k <= REC_SKIPPED)
        return index != NULL ? ipcx__ring_span_at_index(r, index, pos, k, rec)
                             : span_of(r, pos, k, rec);
    if (k > REC_SKIPPED)
        return ipcx__ring_corrupt(r, "record kind");
    if (!check || tail <= pos)
        return 0;
    if (k == REC_CLAIM) {
        int live = claim_live(r, pos, ring_owner(t));
        if (live < 0)
            return ipcx__ring_corrupt(r, "claim owner");
        /* Re-read: pos may have moved because the claim was committed. */
        if (live || load_acquire(&rec->tag) != t)
            return 0;
        /* Abandoned: skip it by its own length (nothing is written: every
         * reader reaches the same answer). */
        int64_t rs = span_check(r, pos, REC_SKIPPED, rec);
        if (rs < 0) /* corrupt - unless the record was reused meanwhile */
            return load_acquire(&rec->tag) == t ? ipcx__ring_corrupt(r, "claim length") : 0;
        *kind = REC_SKIPPED;
        return rs;
    }
    if (!r->mp) {
        /* One producer writes the claim header before tail: a hole below
         * tail is corruption - unless we raced with that very store. */
        if (load_acquire(&rec->tag) == t)
            return ipcx__ring_corrupt(r, "hole below tail");
        return 0;
    }
    int64_t sp = intent_span(r, pos, tail, kind);
    /* The header may have been written meanwhile (a live owner): then the
     * caller looks again. */
    if (sp > 0 && load_acquire(&rec->tag) != t)
        return 0;
    return sp;
}

int ipcx__ring_taken_dead(ipcx_ring *r, uint64_t pos, uint64_t t)
{
    unsigned o = ring_owner(t);
    if (o == 0 || o > r->ncons)
        return ipcx__ring_corrupt(r, "taken owner"), 0;
    struct ring_slot *s = &r->cslots[o - 1];
    /* Pairs with the store_release of the consumer's pos in mc_take(). */
    uint64_t p1 = load_acquire(&s->pos);
    if (p1 != 0 && p1 - 1 <= pos && ipcx__ring_slot_alive(r, s))
        return 0;
    struct ring_rec *rec = ring_rec_at(r, pos);
    if (!cas_acq_rel(&rec->tag, &t, ring_tag(r, pos, REC_RELEASED, 0)))
        return 0;
    fetch_add_relaxed(&r->hdr->gone_lost, 1); /* statistics */
    return 1;
}

/* ------------------------------------------------------------ stalled claims */

/* With stall_ms set (ipcx_ring_opts), the claim at pos of a producer that
 * is alive but has not finished it for stall_ms - stopped, swapped out, or
 * holding a reservation - is skipped and counted lost, so that consumers
 * go on with the other producers' records.  Its space is not given back
 * while the producer may still write it: a single-consumer queue keeps
 * head at or below it (r->cbar, publish()); broadcast producers' floor and
 * the multi-consumer release frontier stop at a live claim by themselves.
 * Called only on the rate-limited liveness check (check != 0), when
 * ipcx__ring_rec_span() found the claim live.  Returns its span (and
 * *kind = REC_SKIPPED) once the same claim has been seen there for
 * stall_ms, else 0; -EPROTO for a bad length. */
static int64_t stalled_span(ipcx_ring *r, uint64_t pos, unsigned *kind)
{
    if (r->stall_limit_ns == 0)
        return 0;
    struct ring_rec *rec = ring_rec_at(r, pos);
    /* Pairs with the CLAIM tag's store_release in produce.c write_claim(). */
    uint64_t t = load_acquire(&rec->tag);
    if (ring_kind(r, pos, t) != REC_CLAIM || claim_live(r, pos, ring_owner(t)) != 1)
        return 0; /* changed meanwhile: the caller looks again */
    int64_t now = ipcx__now_ns();
    if (r->stall_pos != pos + 1 || r->stall_tag != t) {
        r->stall_pos = pos + 1;
        r->stall_tag = t;
        r->stall_seen_ns = now;
        return 0;
    }
    if (now - r->stall_seen_ns < r->stall_limit_ns)
        return 0;
    int64_t rs = span_check(r, pos, REC_SKIPPED, rec);
    if (rs < 0) /* as for an abandoned claim: corrupt unless it changed */
        return load_acquire(&rec->tag) == t ? ipcx__ring_corrupt(r, "claim length") : 0;
    if (!r->bcast && !r->mc && (r->cbar == 0 || pos < r->cbar - 1)) {
        r->cbar = pos + 1;
        r->cbar_tag = t;
    }
    r->stall_pos = 0;
    *kind = REC_SKIPPED;
    return rs;
}

/* Single-consumer queue with a skipped live claim at cbar - 1: the highest
 * position head may take, v or less.  While the claim's tag is unchanged
 * that is the claim's position (one load); otherwise (committed, or the
 * liveness check asked for a full look by clearing cbar_tag) walk from the
 * claim towards v over whatever can be passed, and stop at the next live
 * claim, if any. */
static uint64_t barrier_limit(ipcx_ring *r, uint64_t v)
{
    uint64_t x = r->cbar - 1;
    if (x >= v)
        return v;
    /* Pairs with the tag stores of the claim's producer. */
    if (load_acquire(&ring_rec_at(r, x)->tag) == r->cbar_tag)
        return x;
    for (uint64_t steps = 0; x < v && steps <= r->cap / RING_REC_HDR; steps++) {
        unsigned k;
        /* Pairs with the producers' tail CAS (produce.c claim_mp()). */
        int64_t sp = ipcx__ring_rec_span(r, x, load_acquire(&r->hdr->tail), 1, NULL, &k);
        if (sp <= 0) { /* a live claim (or corruption, now latched): stop here */
            r->cbar = x + 1;
            r->cbar_tag = load_acquire(&ring_rec_at(r, x)->tag);
            return x;
        }
        x += (uint64_t)sp;
    }
    r->cbar = 0;
    return v;
}

/* ------------------------------------------------------------ publishing */

static void publish(ipcx_ring *r)
{
    uint64_t v = r->crel;
    if (IPCX_UNLIKELY(r->cbar != 0))
        v = barrier_limit(r, v);
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

/* ------------------------------------------------------------ overwrite */

/* Broadcast + overwrite: has the floor passed pos?  0 no, -EOVERFLOW after
 * moving to the floor, -EPROTO. */
static int overrun_check(ipcx_ring *r, uint64_t pos)
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

/* After reading a record at pos: was it overwritten meanwhile? */
static int overrun_after(ipcx_ring *r, uint64_t pos)
{
#ifdef IPCX_MUTANT_NO_OVERWRITE_FLOOR
    /* scripts/mutants.sh: the floor check after reading is gone. */
    (void)r, (void)pos;
    return 0;
#endif
    /* Seqlock read side: our plain reads of the record above must complete
     * before we load the floor again.  Pairs with the release fence in
     * produce.c bcast_space(). */
    atomic_thread_fence(memory_order_acquire);
    if (load_relaxed(&r->hdr->free) <= pos)
        return 0;
    return overrun_check(r, pos);
}

/* Overwrite: the walk over the peeked records of a release broke (a tag
 * that is no longer the one peeked there).  Only an overwrite does that,
 * and the producer moves the floor before it writes (produce.c
 * bcast_space()), so the floor has passed the first peeked record:
 * report the overrun.  A floor that has not is corruption. */
static int overrun_broken_walk(ipcx_ring *r)
{
    int rc = overrun_after(r, r->cfirst);
    return rc != 0 ? rc : ipcx__ring_corrupt(r, "peeked record changed");
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
            int rc = overrun_check(r, p);
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
            span = stalled_span(r, p, &k);
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

/* Multi-consumer queue: take the record at head.  1 found, 0 none. */
static int mc_try(ipcx_ring *r, int check, uint64_t *at, uint32_t *len)
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
        uint64_t t = load_acquire(&rec->tag); /* pairs with commit_one() */
        unsigned k = ring_kind(r, hd, t);
        if (k == 0 || k == REC_CLAIM) {
            if (!check)
                return 0;
            int64_t sp = ipcx__ring_rec_span(r, hd, load_acquire(&h->tail), 1, &h->head, &k);
            if (sp == 0 && k == REC_CLAIM)
                sp = stalled_span(r, hd, &k);
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
            if (!cas_acq_rel(&rec->tag, &t, ring_tag(r, hd, REC_TAKEN, (unsigned)r->cidx + 1)))
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

/* Polls before the general wait loop of ipcx__ring_peek(). */
#define RING_TIGHT_SPINS 64u

/* Wait for the record at cpos with the tightest loop there is: one tag
 * load and one pause per poll, up to RING_TIGHT_SPINS polls.  1 when a
 * COMMIT or PAD tag for cpos appeared (what sc_try() takes without a
 * liveness check), 0 when none did: any other tag there (a live claim, or
 * a peer's garbage) is the general path's to judge, with its deadline.
 * The general wait loop (peek, then wait_step) does much more per poll; on
 * a 16-core Xeon it doubled a 64-byte round trip (0.80 us against 0.43 us
 * with this loop in front of it, alternating runs; docs/ring.md).  Not for
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
    uint64_t t = load_seq_cst(&ring_rec_at(r, p)->tag);
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
        int rc = r->mc ? mc_try(r, check, &at, &l) : sc_try(r, check, &at, &l);
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
        if (rc == -ETIMEDOUT)
            return -ETIMEDOUT;
        check = ipcx__ring_check_due(r, &w);
        /* A check that fell due is made now, before any sleep: a sleep
         * ends at the next check (a period away), and nobody wakes us for
         * a dead producer, so sleeping first made every dead claim met in
         * a new call cost a whole period (docs/ring.md, dead claims in a
         * row). */
        if (rc == 2 && !check) {
            rc = ipcx__ring_sleep(r, &r->hdr->data_seq, &r->hdr->data_waiters, &w, d, data_ready,
                                  NULL);
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

/* Multi-consumer (never OVERWRITE): count a released record. */
static void count_out(ipcx_ring *r, struct ring_rec *rec)
{
    r->c_msgs++;
    r->c_bytes += load_relaxed(&rec->len);
    if (++r->c_unflushed >= 32)
        ipcx__ring_flush_stats(r);
}

static int mc_release(ipcx_ring *r, uint64_t off)
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
         * of the tag in produce.c ipcx__ring_mc_free(). */
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
        return mc_release(r, off);
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
        int64_t span = k != 0 ? span_check(r, p, k, rec) : peeked_hole_span(r, p);
        if (span <= 0) {
            if (r->policy == IPCX_RING_OVERWRITE)
                return overrun_broken_walk(r);
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
        int rc = overrun_after(r, r->cfirst);
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
