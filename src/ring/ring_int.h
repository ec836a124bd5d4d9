/* SPDX-License-Identifier: MIT */
/*
 * The ring's internal header: the shared-memory layout, the handle, and the
 * functions the ring's files share.  docs/ring.md is the long version.
 *
 * Layout of a ring block (any memory: a named region's data, a memfd, or a
 * test's MAP_SHARED mapping).  Offsets in bytes; every line is 64 bytes.
 *
 *   0 +--------------------------------------------------------------+
 *     | line 0, config, written once by format, then read-only:       |
 *     |  0 magic u64 "IPCXRING"   8 ver_major u16  10 ver_minor u16   |
 *     | 12 data_off u32          16 total_size u64 24 capacity u64    |
 *     | 32 max_msg u32           36 slot_size u32  40 flags u32       |
 *     | 44 max_producers u32     48 max_consumers u32                 |
 *     | 52 liveness_ms u32       56 key u64 (random tag key)          |
 *  64 | line 1: 64 ready u32 (version, written last, release)         |
 *     |  68 creator_pid i32  72 creator_start u64  80 stall_ms u32    |
 *     |  88 lane_size u64 (lane rings' top block only; 0 otherwise)   |
 * 128 | line 2, producers: 128 tail u64 (claim position)              |
 * 192 | line 3, consumers: 192 head u64 (queue read position)         |
 * 256 | line 4: 256 free u64 (MC release frontier / broadcast floor)  |
 * 320 | line 5, wait words: 320 data_seq 324 data_waiters             |
 *     |                     328 space_seq 332 space_waiters (u32)     |
 * 384 | line 6: totals folded in from handles that left (7 x u64)     |
 * 448 | line 7: 448 pidns u64 (creator's pid namespace, 1.2)           |
 *     |         456 mixed_ns u32 (1: a process of another namespace     |
 *     |             attached; liveness then never proves death)       |
 * 512 +--------------------------------------------------------------+
 *     | producer slots: max_producers x 64 bytes (struct ring_slot)   |
 *     | consumer slots: max_consumers x 64 bytes                      |
 *     +--------------------------------------------------------------+
 *     | data_off (64-aligned): capacity bytes of records              |
 *     | then a 64-byte guard line (a 16-byte header read at the last   |
 *     | 8-byte offset of the data area stays inside the block)         |
 *     +--------------------------------------------------------------+
 *
 * Record (8-aligned, never wraps; 16-byte header, then the payload):
 *
 *   0 tag u64   (check(pos) << 16) | (owner << 3) | kind; kinds below
 *   8 len u32   payload length (PAD: bytes to the end of the data area)
 *  12 seq u32   low 32 bits of the record's sequence (single producer)
 *  16 payload, then zero to 7 bytes of padding to the next 8-byte boundary
 *
 * check(pos) = ((pos >> 3) ^ key) mod 2^48: a tag is valid only at the one
 * position (in the last 2^51 bytes) it was written for, so stale bytes from
 * an older lap or from another record's payload can never pass for a record
 * here (the key is random per ring; a match by chance is 2^-48 per look).
 *
 * Lane rings (opts.lanes, lanes.c): a top block, then max_producers lanes:
 *
 *   0 | top: a ring_hdr of layout 2.0 (ver_major 2, so that a library that
 *     | reads only 1.x refuses it), flags | RING_F_LANES, max_producers =
 *     | the number of lanes, capacity etc. of each lane, data_off 512,
 *     | lane_size at 88; no slots; line 5's data_seq / data_waiters are the
 *     | consumers' shared wake-up words (every lane's producer wakes them)
 * 512 | lane 0: a complete 1.2 ring block of lane_size bytes (64-aligned)
 *     |   with one producer slot and the top's max_consumers
 *     | lane 1 ... lane max_producers - 1
 *
 * The top is published (ready, release) after every lane is formatted.
 */
#ifndef IPCX_SRC_RING_INT_H
#define IPCX_SRC_RING_INT_H

#include <ipcx/ring.h>

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "platform/platform.h"

#define RING_MAGIC       0x474e495258435049ull /* "IPCXRING" little-endian */
#define RING_VER_MAJOR   1
#define RING_VER_MINOR   2 /* 1.2: pidns, mixed_ns (line 7, zero before) */
#define RING_LANES_MAJOR 2 /* the top block of a lane ring (layout 2.0) */
#define RING_HDR_SIZE    512u
#define RING_SLOT_SIZE   64u
#define RING_REC_HDR     16u
#define RING_MAX_OWNER   8191u /* 13 bits of owner in a tag */
#define RING_GUARD                                                                                 \
    64u /* bytes after the data area: a header read at                                             \
           the last 8-byte offset stays inside the block */

/* header flags */
#define RING_F_BROADCAST 0x1u
#define RING_F_POLICY(f) (((f) >> 1) & 0x3u)
#define RING_F_LANES     0x8u /* the top block of a lane ring */

/* record kinds (tag bits 0..2) */
enum {
    REC_CLAIM = 1,    /* claimed, being written; owner = producer slot + 1 */
    REC_COMMIT = 2,   /* complete: deliverable */
    REC_PAD = 3,      /* filler up to the end of the data area */
    REC_TAKEN = 4,    /* multi-consumer: taken by consumer slot owner - 1 */
    REC_RELEASED = 5, /* multi-consumer: consumed, space can be reused */
    REC_SKIPPED = 6,  /* abandoned claim of a dead producer: skip, counted lost */
};

struct ring_hdr {
    /* line 0: config */
    uint64_t magic;
    uint16_t ver_major;
    uint16_t ver_minor;
    uint32_t data_off;
    uint64_t total_size;
    uint64_t capacity;
    uint32_t max_msg;
    uint32_t slot_size;
    uint32_t flags;
    uint32_t max_producers;
    uint32_t max_consumers;
    uint32_t liveness_ms;
    uint64_t key;
    /* line 1 */
    ipcx_atomic_u32 ready;
    int32_t creator_pid;
    uint64_t creator_start;
    uint32_t stall_ms; /* since 1.1; 0 (never skip a live claim) before */
    uint32_t rsv1;
    uint64_t lane_size; /* top block of a lane ring: bytes per lane */
    uint8_t pad1[32];
    /* line 2 */
    ipcx_atomic_u64 tail;
    uint8_t pad2[56];
    /* line 3 */
    ipcx_atomic_u64 head;
    uint8_t pad3[56];
    /* line 4 */
    ipcx_atomic_u64 free;
    uint8_t pad4[56];
    /* line 5 */
    ipcx_atomic_u32 data_seq;
    ipcx_atomic_u32 data_waiters;
    ipcx_atomic_u32 space_seq;
    ipcx_atomic_u32 space_waiters;
    uint8_t pad5[48];
    /* line 6: totals of handles that left */
    ipcx_atomic_u64 gone_msgs_in, gone_bytes_in, gone_msgs_out, gone_bytes_out;
    ipcx_atomic_u64 gone_full_waits, gone_lost, gone_overruns;
    uint8_t pad6[8];
    /* line 7: pid namespaces (since 1.2; zero in older rings) */
    ipcx_atomic_u64 pidns;    /* the creator's (or first 1.2 attacher's) */
    ipcx_atomic_u32 mixed_ns; /* 1 once a process of another one attached */
    uint8_t pad7[52];
};

/* One producer or consumer, one cache line.  Written by its owner only,
 * except `owner` (CAS when a free or dead owner's slot is taken) and the
 * counters of a dead owner, folded into the totals by whoever takes over. */
struct ring_slot {
    ipcx_atomic_u64 owner; /* pid << 32 | RING_ID_LOCKED | low 31 bits of its
                              start time; 0 free */
    ipcx_atomic_u32 wait;  /* owner's wait mode, | RING_SLOT_SLEEPING */
    ipcx_atomic_u32 isize; /* producer: bytes of the claim at ipos */
    ipcx_atomic_u64 pos;   /* producer: first uncommitted claim + 1 (0 none);
                              consumer: broadcast cursor, or multi-consumer
                              first taken-unreleased record + 1 */
    ipcx_atomic_u64 ipos;  /* producer (multi): claim being made + 1 (0 none) */
    ipcx_atomic_u64 msgs;
    ipcx_atomic_u64 bytes;
    ipcx_atomic_u64 c1; /* producer: full waits;  consumer: lost */
    ipcx_atomic_u64 c2; /* producer: unused;      consumer: overruns */
};

/* In a slot's `owner`: the owner holds the slot's lock proof (an OFD lock
 * on byte IPCX_LIVE_LOCK_BASE + the slot's offset in the ring, of the file
 * behind the ring; platform.h ipcx__live_lock_*()), taken before this
 * identity was stored and dropped after the slot was given up.  A checker
 * that finds that lock free has proof that the owner is gone. */
#define RING_ID_LOCKED (UINT64_C(1) << 31)

/* In a slot's `wait`: the owner is counted in the waiter count of its side
 * (producer slot: space_waiters, consumer slot: data_waiters).  Set after
 * the count's increment and cleared before its decrement, so whoever takes
 * the slot of an owner that died asleep takes its count back, once
 * (ipcx__ring_undo_sleeper); a sleeper that never wakes would otherwise
 * make every waker call FUTEX_WAKE for ever. */
#define RING_SLOT_SLEEPING 0x80000000u

struct ring_rec {
    ipcx_atomic_u64 tag;
    ipcx_atomic_u32 len;
    ipcx_atomic_u32 seq;
};

_Static_assert(sizeof(struct ring_hdr) == RING_HDR_SIZE, "ring header is 512 bytes");
_Static_assert(offsetof(struct ring_hdr, key) == 56, "key offset");
_Static_assert(offsetof(struct ring_hdr, ready) == 64, "ready offset");
_Static_assert(offsetof(struct ring_hdr, creator_start) == 72, "creator_start offset");
_Static_assert(offsetof(struct ring_hdr, stall_ms) == 80, "stall_ms offset");
_Static_assert(offsetof(struct ring_hdr, lane_size) == 88, "lane_size offset");
_Static_assert(offsetof(struct ring_hdr, tail) == 128, "tail on its own line");
_Static_assert(offsetof(struct ring_hdr, head) == 192, "head on its own line");
_Static_assert(offsetof(struct ring_hdr, free) == 256, "free on its own line");
_Static_assert(offsetof(struct ring_hdr, data_seq) == 320, "wait line");
_Static_assert(offsetof(struct ring_hdr, space_waiters) == 332, "wait line");
_Static_assert(offsetof(struct ring_hdr, gone_msgs_in) == 384, "totals line");
_Static_assert(offsetof(struct ring_hdr, pidns) == 448, "pid namespace line");
_Static_assert(offsetof(struct ring_hdr, mixed_ns) == 456, "mixed_ns offset");
_Static_assert(sizeof(struct ring_slot) == RING_SLOT_SIZE, "slot is one line");
_Static_assert(offsetof(struct ring_slot, pos) == 16, "slot pos");
_Static_assert(offsetof(struct ring_slot, ipos) == 24, "slot ipos");
_Static_assert(offsetof(struct ring_slot, c2) == 56, "slot c2");
_Static_assert(sizeof(struct ring_rec) == RING_REC_HDR, "record header is 16 bytes");
_Static_assert(offsetof(struct ring_rec, len) == 8, "record len");
_Static_assert(offsetof(struct ring_rec, seq) == 12, "record seq");

/* A lane ring consumer's run of records peeked from one lane (lanes.c). */
struct ring_lane_run {
    uint32_t lane;
    uint64_t last; /* position, in that lane, of the run's last record */
};
#define RING_LANE_RUNS 64u

/* The validated, private copy of the config plus each side's local state. */
struct ipcx_ring {
    struct ring_hdr *hdr;
    /* The consumers' wake-up words: &hdr->data_seq / data_waiters, or, in a
     * lane of a lane ring, the top block's (one word for every lane). */
    ipcx_atomic_u32 *dseq, *dwait;
    uint64_t lock_base; /* offset of hdr from the start of the lock file's ring */
    int lock_borrowed;  /* lockfd is the lane ring's, closed by it */
    /* Lane ring (lanes.c; nlanes 0: an ordinary ring).  The handle's own
     * hdr is the top block; every data operation goes to a lane handle. */
    uint32_t nlanes;
    struct ipcx_ring **lane;
    int plane;      /* producer: the lane this handle produces into, or -1 */
    int cjoined;    /* consumer: joined every lane */
    unsigned lcur;  /* consumer: the lane read last (read first next time) */
    unsigned nruns; /* consumer: runs of peeked records, in peek order */
    struct ring_lane_run runs[RING_LANE_RUNS];
    struct ring_slot *pslots, *cslots;
    uint8_t *data;
    void *region; /* ipcx_region * for named rings, else NULL */
    uint64_t cap, mask, key;
    uint32_t max_msg, slot_size, flags, policy, nprod, ncons;
    int64_t liveness_ns;
    int64_t stall_limit_ns;  /* skip a live claim this old (0: never) */
    int64_t nowait_check_ns; /* last liveness check of a call that does not wait */
    int bcast, mp, mc;       /* broadcast; multi-producer; multi-consumer queue */
    int wait_mode;
    /* IPCX_WAIT_BLOCK waits sleep at once, without their spin: set inside
     * the library by a caller that knows a wait will be long (the pool's
     * parent while results come slower than a spin could catch). */
    int nospin;
    int light;         /* light wake-ups (membarrier registered; see wait.c) */
    int broken;        /* latched -EPROTO */
    uint64_t ident;    /* this process: pid << 32 | low 31 bits of start time */
    int lockfd;        /* private description of the ring's file for lock proofs, or -1 */
    uint32_t fork_gen; /* ipcx__fork_gen() at attach: another one is a child's */
    /* Set by ipcx_ring_interrupt() (any thread, or a signal handler): every
     * wait on this handle ends with -ECANCELED from then on. */
    ipcx_atomic_u32 interrupted;
    /* producer side */
    int pidx;          /* slot index or -1 */
    uint64_t ptail;    /* next claim position (single producer) */
    uint64_t plimit;   /* cached: may claim below this position */
    uint32_t pseq;     /* next record sequence (single producer) */
    uint64_t resv[64]; /* records reserved and not committed, in order */
    unsigned nres;
    uint64_t p_msgs, p_bytes, p_waits, p_lost;
    /* consumer side */
    int cidx;
    uint64_t cpos;   /* next position to look at */
    uint64_t crel;   /* end of the last released record */
    uint64_t cpub;   /* position last published (head / cursor) */
    uint64_t cfirst; /* first peeked, unreleased record */
    uint64_t clast;  /* the last peeked record */
    uint32_t clen;   /* its length */
    unsigned npeek;
    int held;      /* recv gave clast back (buffer too small) */
    uint32_t cseq; /* next expected sequence (overwrite accounting) */
    int cseq_valid;
    uint64_t taken[64]; /* multi-consumer: positions taken, not released */
    uint64_t overrun;   /* reported by the last -EOVERFLOW */
    uint64_t c_msgs, c_bytes, c_lost, c_overruns;
    unsigned c_unflushed, p_unflushed;
    unsigned c_streak; /* consumer: calls in a row that found a record at once */
    /* consumer, multi-producer: the live claim that last held it up
     * (position + 1, its tag, when first seen; recover.c ipcx__ring_stalled_span()),
     * and, single-consumer queue, the lowest live claim it skipped
     * (position + 1, its tag; 0: none): head stays at or below it. */
    uint64_t stall_pos, stall_tag;
    int64_t stall_seen_ns;
    uint64_t cbar, cbar_tag;
};

/* Measurement switches (compile-time, off by default): build with
 * -DIPCX_RING_NO_CACHED_LIMIT to make a producer re-read the consumer's
 * index on every claim, -DIPCX_RING_NO_BATCH to make a consumer publish its
 * index on every release; docs/ring.md reports what each saves. */
#ifdef IPCX_RING_NO_CACHED_LIMIT
#define RING_LIMIT_PASSED(end, lim) ((void)(end), (void)(lim), 1)
#else
#define RING_LIMIT_PASSED(end, lim) ((end) > (lim))
#endif
#ifdef IPCX_RING_NO_BATCH
#define RING_PUBLISH_EVERY(cap) ((void)(cap), (uint64_t)0)
#else
#define RING_PUBLISH_EVERY(cap) ((cap) / 8)
#endif

/* A handle inherited across fork() (platform.h ipcx__fork_gen()): its
 * slots and identity are the parent's.  One load of a process-local word. */
static inline int ring_forked(const ipcx_ring *r)
{
    return IPCX_UNLIKELY(r->fork_gen != ipcx__fork_gen()) ? 1 : 0;
}

/* ---- tags ------------------------------------------------------------ */

static inline uint64_t ring_check(const struct ipcx_ring *r, uint64_t pos)
{
    return ((pos >> 3) ^ r->key) & 0xffffffffffffull;
}

static inline uint64_t ring_tag(const struct ipcx_ring *r, uint64_t pos, unsigned kind,
                                unsigned owner)
{
    return (ring_check(r, pos) << 16) | ((uint64_t)owner << 3) | kind;
}

/* The kind of tag t at pos (0: not a tag for this position). */
static inline unsigned ring_kind(const struct ipcx_ring *r, uint64_t pos, uint64_t t)
{
    if ((t >> 16) != ring_check(r, pos))
        return 0;
    return (unsigned)(t & 7u);
}

static inline unsigned ring_owner(uint64_t t)
{
    return (unsigned)((t >> 3) & RING_MAX_OWNER);
}

/* A position read from shared memory is usable only when 8-aligned. */
static inline int ring_pos_bad(uint64_t pos)
{
    return (pos & 7u) != 0;
}

static inline struct ring_rec *ring_rec_at(const struct ipcx_ring *r, uint64_t pos)
{
    return (struct ring_rec *)(void *)(r->data + (pos & r->mask));
}

/* Bytes a record of payload len occupies. */
static inline uint64_t ring_rec_size(const struct ipcx_ring *r, uint64_t len)
{
    if (r->slot_size != 0)
        len = r->slot_size;
    return RING_REC_HDR + ((len + 7u) & ~(uint64_t)7u);
}

/* ---- the core, over any memory block (layout.c) -------------------------- */

/* Bytes a block for these options needs (0 for invalid options). */
size_t ipcx__ring_size_for(const ipcx_ring_opts *opts);
/* Lay a ring out in mem[0..size) (zeroed or not).  Returns 0 or -EINVAL. */
int ipcx__ring_format(void *mem, size_t size, const ipcx_ring_opts *opts);
/* Validate a block and make a handle over it.  Returns 0, -EAGAIN (not
 * ready), -EPROTO, -ENOMEM. */
int ipcx__ring_attach(void *mem, size_t size, ipcx_ring **out);
/* Leave every role and free the handle (not the memory). */
void ipcx__ring_detach(ipcx_ring *r);
/* Flags for ipcx_region_opts.flags of a ring region. */
uint32_t ipcx__ring_region_flags(const ipcx_ring *r);

/* slots (layout.c) */
int ipcx__ring_join_producer(ipcx_ring *r);
int ipcx__ring_join_consumer(ipcx_ring *r, int oldest);
void ipcx__ring_leave(ipcx_ring *r);
/* Leave the consumer role only (a lane ring's join that failed half-way). */
void ipcx__ring_leave_consumer(ipcx_ring *r);
/* Bytes of one lane of a lane ring (64-aligned), 0 for invalid values. */
uint64_t ipcx__ring_lane_size(uint32_t ncons, uint64_t cap);
/* Publish the consumer's read position now (consume.c). */
void ipcx__ring_publish(ipcx_ring *r);

/* Lane rings (lanes.c).  Attach: the block at mem is a lane ring's top
 * (ready's major is RING_LANES_MAJOR); same returns as ipcx__ring_attach. */
int ipcx__lanes_attach(void *mem, size_t size, ipcx_ring **out);
void ipcx__lanes_detach(ipcx_ring *r);
void ipcx__lanes_use_lock(ipcx_ring *r, int fd);
int ipcx__lanes_any_alive(const ipcx_ring *r);
int ipcx__lanes_join(ipcx_ring *r, unsigned roles);
int ipcx__lanes_set_wait(ipcx_ring *r, int mode);
int ipcx__lanes_send(ipcx_ring *r, const void *buf, size_t len, int64_t timeout_ns);
int ipcx__lanes_reserve(ipcx_ring *r, size_t len, void **data, int64_t timeout_ns);
int ipcx__lanes_commit(ipcx_ring *r, void *data);
int ipcx__lanes_recv(ipcx_ring *r, void *buf, size_t cap, int64_t timeout_ns);
int ipcx__lanes_peek(ipcx_ring *r, const void **data, size_t *len, int64_t timeout_ns);
int ipcx__lanes_release(ipcx_ring *r, const void *data);
int ipcx__lanes_stats(ipcx_ring *r, ipcx_ring_stat *out);
int ipcx__lanes_interrupt(ipcx_ring *r);
/* The owner of a slot, through the liveness module (platform.h): 1 when
 * it is alive or that cannot be told (hold what it holds), 0 only when it
 * is proven gone (or a zombie).  Unknown never counts as dead. */
int ipcx__ring_slot_alive(const ipcx_ring *r, const struct ring_slot *s);
/* The ring lives in the file behind fd: use lock proofs of life for the
 * slots this handle takes (a private description of it; without one, the
 * pid checks decide alone). */
void ipcx__ring_use_lock(ipcx_ring *r, int fd);
void ipcx__ring_flush_stats(ipcx_ring *r);
/* After taking over (CAS on owner) the slot of a dead owner whose `wait`
 * read w before the CAS: give back its registration as a sleeper. */
void ipcx__ring_undo_sleeper(ipcx_ring *r, uint32_t w, int producer);

/* waiting (wait.c) */
typedef struct ring_waiter {
    unsigned spins;
    int64_t spin_until_ns;   /* block mode: sleep after this */
    int64_t next_check_ns;   /* when the next liveness check is due */
    int64_t now_ns;          /* the clock as wait_step last read it; 0 once used */
    int64_t lazy_timeout_ns; /* > 0: a finite timeout not yet turned into a deadline */
} ring_waiter;
/* Start waiting with this call's timeout.  Forever and NOWAIT need no clock;
 * a finite timeout becomes a deadline at the first clock reading, which
 * wait_step takes after SPIN_CHECK_EVERY polls (a few microseconds): reading
 * the clock on every call that waits doubled a round trip where the clock
 * is a system call (seen in a virtual machine). */
static inline ipcx__deadline ipcx__ring_wait_begin(ring_waiter *w, int64_t timeout_ns)
{
    if (timeout_ns <= 0)
        return ipcx__deadline_make(timeout_ns);
    w->lazy_timeout_ns = timeout_ns;
    ipcx__deadline d = {.abs_ns = -1}; /* resolved by ipcx__ring_wait_step */
    return d;
}
/* One step: 1 re-check, 2 register and sleep (ipcx__ring_sleep), or
 * -ETIMEDOUT. */
int ipcx__ring_wait_step(ipcx_ring *r, ring_waiter *w, ipcx__deadline *d);
/* -ECANCELED once ipcx_ring_interrupt() was called on the handle, else 0. */
int ipcx__ring_cancelled(const ipcx_ring *r);
/* Register as a waiter, re-check with ready() (non-zero: do not sleep),
 * FUTEX_WAIT until woken, the deadline or the next liveness check.
 * Returns 0 or -ETIMEDOUT. */
int ipcx__ring_sleep(ipcx_ring *r, ipcx_atomic_u32 *seq, ipcx_atomic_u32 *waiters, ring_waiter *w,
                     ipcx__deadline d, int (*ready)(ipcx_ring *, void *), void *arg);
/* Bump seq and FUTEX_WAKE its sleepers. */
void ipcx__ring_wake_all(ipcx_atomic_u32 *seq);
/* Wake sleepers on seq if any registered; light: the publication before
 * was only a release store (see wait.c).  Inline: on a busy stream this is
 * one load per record. */
static inline void ipcx__ring_wake(ipcx_atomic_u32 *seq, ipcx_atomic_u32 *waiters, int light)
{
    if (light) {
        /* Light: the publication before this was a release store; the
         * sleeper's membarrier orders it against this load (wait.c).  The
         * signal fence keeps the compiler from hoisting the load. */
        atomic_signal_fence(memory_order_seq_cst);
        if (IPCX_LIKELY(load_relaxed(waiters) == 0))
            return;
    } else if (IPCX_LIKELY(load_seq_cst(waiters) == 0)) {
        /* Pairs with the fetch_add_seq_cst in ipcx__ring_sleep(). */
        return;
    }
    ipcx__ring_wake_all(seq);
}
/* Register this process for membarrier; 1 when light wakes may be used. */
int ipcx__ring_light_init(void);
/* Tests: force the seq_cst wake-up variant everywhere. */
extern int ipcx__ring_no_membarrier;
/* Tests: the spin of a block-mode wait before it sleeps, and the delay of
 * its first liveness check (BLOCK_SPIN_NS, 30 us).  0 makes every wait
 * sleep at once with nothing but the liveness period bounding the sleep:
 * with a long liveness_ms, a lost wake-up then hangs instead of hiding. */
extern int64_t ipcx__ring_block_spin_ns;
/* True when a liveness check is due now. */
int ipcx__ring_check_due(ipcx_ring *r, ring_waiter *w);
/* For a call about to fail without waiting (-EAGAIN): true at most once
 * per liveness period, so that rings used only with IPCX_NOWAIT or the
 * FAIL policy still recover from dead peers. */
int ipcx__ring_nowait_check_due(ipcx_ring *r);

/* producing / consuming (produce.c, consume.c: the entry points) */
int ipcx__ring_reserve(ipcx_ring *r, size_t len, void **data, int64_t timeout_ns);
int ipcx__ring_commit(ipcx_ring *r, void *data);
int ipcx__ring_send(ipcx_ring *r, const void *buf, size_t len, int64_t timeout_ns);
int ipcx__ring_peek(ipcx_ring *r, const void **data, size_t *len, int64_t timeout_ns);
int ipcx__ring_release(ipcx_ring *r, const void *data);
int ipcx__ring_recv(ipcx_ring *r, void *buf, size_t cap, int64_t timeout_ns);
/* Give up reserved / peeked records (close). */
void ipcx__ring_abandon_reserved(ipcx_ring *r);
void ipcx__ring_abandon_peeked(ipcx_ring *r);
/* Bytes the record at pos spans (committed, pad, taken, released or
 * skipped; *kind says which), 0 when there is nothing to pass yet (empty,
 * or being written by a live producer), or -EPROTO.  With check, an
 * abandoned claim (dead owner) or a dead producer's hole reads as kind
 * SKIPPED (or PAD) with its span; nothing is written.
 * index: NULL when pos is the caller's own (nobody else can pass it), else
 * the shared index others move past pos (see ipcx__ring_span_at_index). */
int64_t ipcx__ring_rec_span(ipcx_ring *r, uint64_t pos, uint64_t tail, int check,
                            ipcx_atomic_u64 *index, unsigned *kind);
/* Span of the record at pos, read while other sides may move `index` past
 * it: 0 when they did (retry), -EPROTO when the length is bad although
 * the index still points at pos. */
int64_t ipcx__ring_span_at_index(ipcx_ring *r, ipcx_atomic_u64 *index, uint64_t pos, unsigned k,
                                 struct ring_rec *rec);
/*
 * Header fields read (or CASed) at a shared index - head or the release
 * frontier of a multi-consumer ring, and the recovery walk of recover.c
 * that starts there - that other consumers may already have moved past,
 * after which a producer may reuse that space and write payload bytes
 * there with plain stores.  The access itself is atomic and its
 * result is trusted only once the index is re-read
 * (ipcx__ring_span_at_index()) or a CAS on the tag or the index confirms
 * it, so the overlap is benign by design; but it is an atomic/plain pair
 * without happens-before, which ThreadSanitizer reports.  Only these
 * accesses go through these helpers: under TSan they are out of line so
 * that tests/ring_tsan.supp can name them (and nothing else) and TSan
 * checks every other access of the same functions.
 */
#if defined(__SANITIZE_THREAD__)
#define IPCX__RING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPCX__RING_TSAN 1
#endif
#endif
#ifdef IPCX__RING_TSAN
#define IPCX__RING_PEER_FN static __attribute__((noinline, unused))
#else
#define IPCX__RING_PEER_FN static inline
#endif

/* load_acquire of the tag at a shared index. */
IPCX__RING_PEER_FN uint64_t ipcx__ring_peer_tag_acquire(struct ring_rec *rec)
{
    return load_acquire(&rec->tag);
}
/* load_seq_cst of the tag at a shared index (a waiter's re-check). */
IPCX__RING_PEER_FN uint64_t ipcx__ring_peer_tag_seq_cst(struct ring_rec *rec)
{
    return load_seq_cst(&rec->tag);
}
/* load_acquire of the length at a shared index. */
IPCX__RING_PEER_FN uint32_t ipcx__ring_peer_len_acquire(struct ring_rec *rec)
{
    return load_acquire(&rec->len);
}
/* cas_acq_rel of the tag at a shared index (take a record). */
IPCX__RING_PEER_FN int ipcx__ring_peer_tag_cas(struct ring_rec *rec, uint64_t *expect, uint64_t v)
{
    return cas_acq_rel(&rec->tag, expect, v);
}

/* Recovery (recover.c). */
/* Multi-consumer: the record at pos (tag t, TAKEN) belongs to a consumer
 * that is gone: mark it RELEASED and count it lost.  1 when marked. */
int ipcx__ring_taken_dead(ipcx_ring *r, uint64_t pos, uint64_t t);
/* Span of a record of kind k at pos read from its own header: -EPROTO for
 * a bad length. */
int64_t ipcx__ring_span_check(const ipcx_ring *r, uint64_t pos, unsigned k, struct ring_rec *rec);
/* stall_ms: the span of a live producer's claim at pos that has stayed
 * unfinished for stall_ms (*kind = REC_SKIPPED), else 0; -EPROTO. */
int64_t ipcx__ring_stalled_span(ipcx_ring *r, uint64_t pos, unsigned *kind);
/* Single-consumer queue with a skipped live claim: the highest position
 * head may take, v or less. */
uint64_t ipcx__ring_barrier_limit(ipcx_ring *r, uint64_t v);

/* Multi-consumer queue (consume_mc.c). */
/* Take the record at head: 1 found (*at, *len), 0 none, -errno. */
int ipcx__ring_mc_try(ipcx_ring *r, int check, uint64_t *at, uint32_t *len);
/* Release the peeked records up to the one at offset off: their count,
 * -EINVAL when off is not one of them, -EPROTO. */
int ipcx__ring_mc_release(ipcx_ring *r, uint64_t off);
/* Advance the release frontier; with reclaim, dead consumers' TAKEN
 * records are released and counted lost.  0 or -EPROTO. */
int ipcx__ring_mc_free(ipcx_ring *r, int reclaim);

/* Overwrite (overwrite.c). */
/* Has the floor passed pos?  0 no, -EOVERFLOW after moving to the floor,
 * -EPROTO. */
int ipcx__ring_overrun_check(ipcx_ring *r, uint64_t pos);
/* The walk over peeked records broke: report the overrun (or corruption). */
int ipcx__ring_overrun_broken_walk(ipcx_ring *r);

/* Latch and return -EPROTO. */
int ipcx__ring_corrupt(ipcx_ring *r, const char *what);

/* Overwrite (overwrite.c): after reading a record at pos, was it
 * overwritten meanwhile?  0 no, -EOVERFLOW (moved to the floor), -EPROTO.
 * Inline: the seqlock re-check is on every overwrite-mode read. */
static inline int ipcx__ring_overrun_after(ipcx_ring *r, uint64_t pos)
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
    return ipcx__ring_overrun_check(r, pos);
}

/* ---- test-only fault hook ------------------------------------------- */

/* Named steps of claim / commit / release.  A test sets ipcx__ring_fault to
 * a function that kills or stops the process at the step it wants; it is
 * NULL otherwise, so the cost is one predictable branch. */
enum {
    RING_STEP_CLAIM_INTENT = 1, /* producer slot intent written, before the claim */
    RING_STEP_CLAIM_DONE,       /* tail advanced, claim header not yet written */
    RING_STEP_CLAIM_HDR,        /* claim header written, payload not yet copied */
    RING_STEP_COPY_HALF,        /* half the payload copied */
    RING_STEP_COMMIT,           /* just before the commit tag is stored */
    RING_STEP_TAKEN,            /* multi-consumer: record taken, head not advanced */
    RING_STEP_PEEKED,           /* consumer holds a record, not released */
    RING_STEP_RELEASE,          /* consumer released, index not yet published */
    RING_STEP_COUNT
};
extern void (*ipcx__ring_fault)(int step);
#define RING_FAULT(step)                                                                           \
    do {                                                                                           \
        if (IPCX_UNLIKELY(ipcx__ring_fault != NULL))                                               \
            ipcx__ring_fault(step);                                                                \
    } while (0)

#endif /* IPCX_SRC_RING_INT_H */
