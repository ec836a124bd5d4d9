// SPDX-License-Identifier: MIT
/*
 * Recovery of what dead or stalled producers and consumers left in a ring.
 *
 * Design note.  Runs only on the rate-limited liveness check, never on the
 * fast path.  A CLAIM whose owner is gone, or whose owner no longer covers
 * it, is skipped by its own length and counted lost; a hole left by a
 * producer that died between its tail CAS and its claim header is skipped
 * by the span its intent names (intent_span()).  Recovery writes nothing
 * into the ring - a header write could race with a live owner's - so every
 * reader (consumers, and producers walking a frontier) reaches the same
 * span on its own (ipcx__ring_rec_span()).
 *
 * A consumer killed with records peeked: single-consumer queue - head never
 * moved past them, the next consumer gets them again (redelivered);
 * multi-consumer - they stay TAKEN until a producer's check finds the owner
 * gone (ipcx__ring_taken_dead()), then they are RELEASED and counted lost.
 *
 * Stalled claims (stall_ms): a live producer's claim that stays unfinished
 * is skipped and counted lost, its space kept until the producer is done
 * (ipcx__ring_stalled_span(), ipcx__ring_barrier_limit()).
 *
 * Liveness itself (alive / dead / unknown; unknown never reclaims) is
 * src/platform/liveness.c, reached through layout.c ipcx__ring_slot_alive().
 */
#include "ring/ring_int.h"

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
int64_t ipcx__ring_span_check(const ipcx_ring *r, uint64_t pos, unsigned k, struct ring_rec *rec)
{
    uint64_t off = pos & r->mask;
    uint32_t len = ipcx__ring_peer_len_acquire(rec);
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
    int64_t sp = ipcx__ring_span_check(r, pos, k, rec);
    return sp < 0 ? ipcx__ring_corrupt(r, "record length") : sp;
}

/* Multi-consumer helpers read records other consumers may already have
 * passed (and producers reused): a bad length only means corruption when
 * the index has not moved past pos meanwhile.  0 = retry. */
int64_t ipcx__ring_span_at_index(ipcx_ring *r, ipcx_atomic_u64 *index, uint64_t pos, unsigned k,
                                 struct ring_rec *rec)
{
    int64_t sp = ipcx__ring_span_check(r, pos, k, rec);
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
        int64_t rs = ipcx__ring_span_check(r, pos, REC_SKIPPED, rec);
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
int64_t ipcx__ring_stalled_span(ipcx_ring *r, uint64_t pos, unsigned *kind)
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
    int64_t rs = ipcx__ring_span_check(r, pos, REC_SKIPPED, rec);
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
uint64_t ipcx__ring_barrier_limit(ipcx_ring *r, uint64_t v)
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
