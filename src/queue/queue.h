/* SPDX-License-Identifier: MIT */
/*
 * Internal side of ipcx queues: the shared layouts (control block, consumer
 * and producer slots, segment header, record header), the handle, and the
 * functions the queue files share.  docs/queue.md explains the protocol;
 * the byte diagrams below are the reference for the layout.
 *
 * Control block (start of the control region's data, or of queue.ctl):
 *
 *   offset  size  field
 *   0       8     magic            "IPCXQCTL"
 *   8       4     version          atomic; major<<16|minor, 0 = not ready;
 *                                  written last by the creator (release)
 *   12      4     ctl_size         bytes of control block + slots
 *   16      4     flags            IPCX_QUEUE_MULTI_PRODUCER | IPCX__QF_DURABLE
 *   20      4     delivery
 *   24      4     on_limit
 *   28      4     nslots           max_consumers + max_producers
 *   32      4     max_consumers
 *   36      4     fsync
 *   40      4     fsync_ms
 *   44      4     reserved
 *   48      8     initial_segment
 *   56      8     max_segment
 *   64      8     max_message
 *   72      8     memory_limit
 *   80      8     retain_bytes
 *   88      8     retain_ns
 *   96      4     creator_pid
 *   100     4     reserved
 *   104     8     creator_start
 *   112     8     pidns            atomic; the creator's pid namespace (1.2)
 *   120     4     mixed_ns         atomic; 1 once a process of another pid
 *                                  namespace attached (liveness then never
 *                                  proves death)
 *   124     4     reserved
 *   128     --- chain line: every field below is written under `lock`
 *   128     4     lock             atomic; 0 = free, else the owner's pid
 *   132     4     lock_waiters     atomic
 *   136     8     lock_start       atomic; owner's start time (liveness)
 *   144     8     head_id          oldest segment kept
 *   152     4     head_file
 *   156     4     tail_file        newest segment (hint; repaired by walking)
 *   160     8     tail_id
 *   168     8     mem_used         bytes of chain + free segments
 *   176     4     nsegs            segments in the chain
 *   180     4     next_file        next file number to create
 *   184     4     free_n           recycled files kept (<= IPCX__QFREE_MAX)
 *   188     4     reserved
 *   192     16    free_files[4]
 *   208     8     skipped          abandoned claims turned into skips
 *   216     8     limit_hits       atomic
 *   224     32    reserved
 *   256     --- group line (queue delivery)
 *   256     8     group            atomic packed position of the next
 *                                  message to hand out
 *   264     56    reserved
 *   320     --- wake line
 *   320     4     data_word        atomic futex word consumers sleep on
 *   324     4     data_waiters     atomic count of consumers about to sleep
 *   328     4     space_word       atomic futex word producers sleep on
 *   332     4     space_waiters
 *   336     4     blockers         atomic: consumer handles in block mode
 *                                  that need a seq_cst tag store
 *   340     4     fenced_blockers  atomic: consumer handles in block mode
 *                                  that fence with membarrier (1.1)
 *   344     40    reserved
 *   384     128   reserved
 *   512           slots[nslots], 128 bytes each: consumers first, then
 *                 producers
 *
 * A position is packed into 64 bits as id << 30 | offset (offset < 2^30,
 * the largest segment); positions compare as integers in chain order.
 */
#ifndef IPCX_SRC_QUEUE_H
#define IPCX_SRC_QUEUE_H

#include <ipcx/queue.h>
#include <ipcx/region.h>

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "platform/platform.h"

#define IPCX__QCTL_MAGIC    0x4c54435158435049ULL /* "IPCXQCTL" */
#define IPCX__QSEG_MAGIC    0x4745535158435049ULL /* "IPCXQSEG" */
#define IPCX__QLAYOUT_MAJOR 1u
#define IPCX__QLAYOUT_MINOR 2u /* 1.1: fenced_blockers; 1.2: pidns, mixed_ns */
#define IPCX__QVERSION      (IPCX__QLAYOUT_MAJOR << 16 | IPCX__QLAYOUT_MINOR)
#define IPCX__QF_DURABLE    0x100u
#define IPCX__QFREE_MAX     1u /* recycled files kept; room for 4 in the layout */
#define IPCX__QPAGE         4096u
#define IPCX__QOFF_BITS     30
#define IPCX__QOFF_MASK     ((UINT64_C(1) << IPCX__QOFF_BITS) - 1)
#define IPCX__QMAX_SEGMENT  (UINT64_C(1) << IPCX__QOFF_BITS)
#define IPCX__QMAX_MESSAGE  (UINT64_C(512) << 20)
#define IPCX__QMAX_SLOTS    128u

static inline uint64_t ipcx__qpos(uint64_t id, uint64_t off)
{
    return id << IPCX__QOFF_BITS | off;
}
static inline uint64_t ipcx__qpos_id(uint64_t pos)
{
    return pos >> IPCX__QOFF_BITS;
}
static inline uint64_t ipcx__qpos_off(uint64_t pos)
{
    return pos & IPCX__QOFF_MASK;
}

struct ipcx__qctl {
    uint64_t magic;
    ipcx_atomic_u32 version;
    uint32_t ctl_size;
    uint32_t flags;
    uint32_t delivery;
    uint32_t on_limit;
    uint32_t nslots;
    uint32_t max_consumers;
    uint32_t fsync;
    uint32_t fsync_ms;
    uint32_t reserved0;
    uint64_t initial_segment;
    uint64_t max_segment;
    uint64_t max_message;
    uint64_t memory_limit;
    uint64_t retain_bytes;
    int64_t retain_ns;
    int32_t creator_pid;
    uint32_t reserved1;
    uint64_t creator_start;
    ipcx_atomic_u64 pidns;    /* since 1.2; 0 before */
    ipcx_atomic_u32 mixed_ns; /* since 1.2 */
    uint32_t reserved2;
    /* chain line */
    ipcx_atomic_u32 lock;
    ipcx_atomic_u32 lock_waiters;
    ipcx_atomic_u64 lock_start;
    ipcx_atomic_u64 head_id;
    ipcx_atomic_u32 head_file;
    ipcx_atomic_u32 tail_file;
    ipcx_atomic_u64 tail_id;
    ipcx_atomic_u64 mem_used;
    ipcx_atomic_u32 nsegs;
    ipcx_atomic_u32 next_file;
    ipcx_atomic_u32 free_n;
    uint32_t reserved3;
    ipcx_atomic_u32 free_files[4];
    ipcx_atomic_u64 skipped;
    ipcx_atomic_u64 limit_hits;
    uint8_t reserved4[32];
    /* group line */
    ipcx_atomic_u64 group;
    uint8_t reserved5[56];
    /* wake line */
    ipcx_atomic_u32 data_word;
    ipcx_atomic_u32 data_waiters;
    ipcx_atomic_u32 space_word;
    ipcx_atomic_u32 space_waiters;
    ipcx_atomic_u32 blockers;
    ipcx_atomic_u32 fenced_blockers;
    uint8_t reserved6[40];
    uint8_t reserved7[128];
};

_Static_assert(sizeof(struct ipcx__qctl) == 512, "queue control block is 512 bytes");
_Static_assert(offsetof(struct ipcx__qctl, version) == 8, "version at 8");
_Static_assert(offsetof(struct ipcx__qctl, ctl_size) == 12, "ctl_size at 12");
_Static_assert(offsetof(struct ipcx__qctl, flags) == 16, "flags at 16");
_Static_assert(offsetof(struct ipcx__qctl, nslots) == 28, "nslots at 28");
_Static_assert(offsetof(struct ipcx__qctl, initial_segment) == 48, "initial_segment at 48");
_Static_assert(offsetof(struct ipcx__qctl, retain_ns) == 88, "retain_ns at 88");
_Static_assert(offsetof(struct ipcx__qctl, creator_start) == 104, "creator_start at 104");
_Static_assert(offsetof(struct ipcx__qctl, pidns) == 112, "pidns at 112");
_Static_assert(offsetof(struct ipcx__qctl, mixed_ns) == 120, "mixed_ns at 120");
_Static_assert(offsetof(struct ipcx__qctl, lock) == 128, "lock at 128");
_Static_assert(offsetof(struct ipcx__qctl, head_id) == 144, "head_id at 144");
_Static_assert(offsetof(struct ipcx__qctl, tail_id) == 160, "tail_id at 160");
_Static_assert(offsetof(struct ipcx__qctl, mem_used) == 168, "mem_used at 168");
_Static_assert(offsetof(struct ipcx__qctl, free_files) == 192, "free_files at 192");
_Static_assert(offsetof(struct ipcx__qctl, skipped) == 208, "skipped at 208");
_Static_assert(offsetof(struct ipcx__qctl, group) == 256, "group at 256");
_Static_assert(offsetof(struct ipcx__qctl, data_word) == 320, "data_word at 320");
_Static_assert(offsetof(struct ipcx__qctl, blockers) == 336, "blockers at 336");
_Static_assert(offsetof(struct ipcx__qctl, fenced_blockers) == 340, "fenced_blockers at 340");

/*
 * Slot (128 bytes, one per consumer or producer, at 512 + 128 * i):
 *
 *   0   4  state     atomic; IPCX__QS_* (written under the chain lock)
 *   4   4  pid       owner (last owner once it is gone)
 *   8   8  start     owner's start time
 *   16  8  pos       atomic; consumer: packed position of the first message
 *                    it has not released (broadcast); producer: the
 *                    segment it writes in (id << 30), kept by reclaim
 *   24  8  next_seq  atomic; consumer: sequence after the last released
 *   32  8  hold      atomic; queue delivery: position of the message it
 *                    claimed and has not released, or IPCX__QNOHOLD;
 *                    with IPCX__QHOLD_PENDING: a position it is about to
 *                    claim (reclaim keeps it; not handed back if it dies)
 *   40  8  msgs      atomic; messages released (consumer) or committed
 *   48  8  bytes     atomic; payload bytes of those
 *   56  4  named     1 when opened with a consumer_id (kept when it dies)
 *   60  4  intent_len  atomic; multi-producer: bytes of the claim below
 *   64  8  intent    atomic; multi-producer: packed position it is
 *                    claiming or has claimed last, stored before its CAS
 *   72  56 reserved
 */
enum { IPCX__QS_FREE = 0, IPCX__QS_CONSUMER = 1, IPCX__QS_PRODUCER = 2 };
#define IPCX__QNOHOLD UINT64_MAX
/* Bit 63 of a hold other than IPCX__QNOHOLD (no position has it). */
#define IPCX__QHOLD_PENDING (UINT64_C(1) << 63)

/* The position a hold keeps from reclaim, pending or not (UINT64_MAX: none). */
static inline uint64_t ipcx__qhold_pos(uint64_t hold)
{
    return hold == IPCX__QNOHOLD ? hold : hold & ~IPCX__QHOLD_PENDING;
}

struct ipcx__qslot {
    ipcx_atomic_u32 state;
    int32_t pid;
    uint64_t start;
    ipcx_atomic_u64 pos;
    ipcx_atomic_u64 next_seq;
    ipcx_atomic_u64 hold;
    ipcx_atomic_u64 msgs;
    ipcx_atomic_u64 bytes;
    uint32_t named;
    ipcx_atomic_u32 intent_len;
    ipcx_atomic_u64 intent;
    uint8_t reserved[56];
};

_Static_assert(sizeof(struct ipcx__qslot) == 128, "queue slot is 128 bytes");
_Static_assert(offsetof(struct ipcx__qslot, pos) == 16, "pos at 16");
_Static_assert(offsetof(struct ipcx__qslot, hold) == 32, "hold at 32");
_Static_assert(offsetof(struct ipcx__qslot, named) == 56, "named at 56");
_Static_assert(offsetof(struct ipcx__qslot, intent) == 64, "intent at 64");

/*
 * Segment header (first 128 bytes of a segment; records follow at 128):
 *
 *   0   8  magic     "IPCXQSEG"
 *   8   8  id        atomic; chain position, consecutive; rewritten when a
 *                    recycled segment is relinked
 *   16  8  size      bytes of the segment, header included
 *   24  8  base_seq  sequence of its first record
 *   32  8  closed_ns CLOCK_REALTIME when it was closed (retention)
 *   40  4  file      its own file number
 *   44  20 reserved
 *   64  8  claim     atomic; closed << 63 | count << 32 | end offset
 *   72  8  next      atomic; file number of the next segment + 1, 0 = none
 *   80  48 reserved
 */
#define IPCX__QSEG_HDR 128u
#define IPCX__QCLOSED  (UINT64_C(1) << 63)

struct ipcx__qseg {
    uint64_t magic;
    ipcx_atomic_u64 id;
    uint64_t size;
    uint64_t base_seq;
    int64_t closed_ns;
    uint32_t file;
    uint8_t reserved0[20];
    ipcx_atomic_u64 claim;
    ipcx_atomic_u64 next;
    uint8_t reserved1[48];
};

_Static_assert(sizeof(struct ipcx__qseg) == IPCX__QSEG_HDR, "segment header is 128 bytes");
_Static_assert(offsetof(struct ipcx__qseg, id) == 8, "id at 8");
_Static_assert(offsetof(struct ipcx__qseg, base_seq) == 24, "base_seq at 24");
_Static_assert(offsetof(struct ipcx__qseg, file) == 40, "file at 40");
_Static_assert(offsetof(struct ipcx__qseg, claim) == 64, "claim at 64");
_Static_assert(offsetof(struct ipcx__qseg, next) == 72, "next at 72");

static inline uint64_t ipcx__qclaim_off(uint64_t c)
{
    return c & 0xffffffffu;
}
static inline uint64_t ipcx__qclaim_count(uint64_t c)
{
    return (c >> 32) & 0x7fffffffu;
}

/*
 * Record header (16 bytes, 8-byte aligned, payload follows, padded to 8):
 *
 *   0   4  commit   atomic; tag(id, type), written LAST with release
 *   4   4  len      payload bytes
 *   8   8  seq      sequence number
 *
 * tag(id, type) = (uint32_t)(id << 2 | type), type 1 = message, 2 = skip
 * (an abandoned claim: len covers the bytes to step over), 3 = busy (a
 * repairer owns the header for a moment).  Zero is never a tag.  No
 * consumer reads a header word its segment's current life did not write: a
 * single producer zeroes the next header word before each commit, several
 * get recycled segments cleared whole (a stale payload word could equal a
 * tag of the new life).  A consumer holding a stale position in a segment
 * recycled since finds tags of another id: "not written yet".
 */
#define IPCX__QREC_HDR 16u
enum { IPCX__QT_MSG = 1, IPCX__QT_SKIP = 2, IPCX__QT_BUSY = 3 };

/* len and seq are atomics only so that every access is explicit: each
 * is read once (load_relaxed) into a local that is checked and then used,
 * never re-read by the compiler (a plain field may be fetched twice, and a
 * peer can change it in between).  Ordering comes from the commit tag. */
struct ipcx__qrec {
    ipcx_atomic_u32 commit;
    ipcx_atomic_u32 len;
    ipcx_atomic_u64 seq;
};

_Static_assert(sizeof(struct ipcx__qrec) == IPCX__QREC_HDR, "record header is 16 bytes");
_Static_assert(offsetof(struct ipcx__qrec, len) == 4, "len at 4");
_Static_assert(offsetof(struct ipcx__qrec, seq) == 8, "seq at 8");

static inline uint32_t ipcx__qtag(uint64_t id, uint32_t type)
{
    return (uint32_t)(id << 2) | type;
}

static inline uint64_t ipcx__qrec_size(uint64_t len)
{
    return IPCX__QREC_HDR + ((len + 7) & ~(uint64_t)7);
}

struct ipcx__qmap;

/* ------------------------------------------------------------ the handle */

/* One mapped segment file, cached by file number (a file keeps its number
 * for its whole life, so a cached mapping stays right across recycling). */
struct ipcx__qmap {
    uint32_t file;
    uint32_t used; /* 0 = empty cache entry */
    uint64_t size;
    uint64_t lru;
    uint8_t *base;       /* the segment (header at base) */
    ipcx_region *region; /* in-memory queues */
    size_t map_len;      /* durable: the mmap length */
};

#define IPCX__QCACHE 8

struct ipcx_queue {
    char name[4096];
    int durable;
    ipcx_region *ctl_region; /* in-memory */
    void *ctl_map;           /* durable */
    size_t ctl_len;
    struct ipcx__qctl *ctl;
    struct ipcx__qslot *slots;
    /* validated snapshot of the configuration */
    uint32_t flags, delivery, on_limit, nslots, max_consumers, fsync, fsync_ms;
    uint64_t initial_segment, max_segment, max_message, memory_limit, retain_bytes;
    int64_t retain_ns;
    /* this handle */
    uint32_t role, wait;
    int32_t pid;
    uint64_t start;
    int pslot, cslot;  /* slot indexes, -1 when not that role */
    int blocking;      /* counted in ctl->blockers (1) or fenced_blockers (2) */
    int mb_registered; /* producer: membarrier-registered, may skip seq_cst */
    int broken;        /* -EPROTO (or, with eio, -EIO) seen: every later call fails */
    int eio;           /* durable: a sync failed; broken calls say -EIO */
    uint32_t fork_gen; /* ipcx__fork_gen() at open: another one is a child's */
    struct ipcx__qmap cache[IPCX__QCACHE];
    uint64_t lru_clock;
    /* producer */
    struct ipcx__qmap *pseg;
    uint64_t pseg_id;
    uint8_t *res_hdr; /* reservation */
    uint64_t res_seq;
    uint32_t res_len;
    int64_t last_sync_ns;
    uint64_t synced_off;
    /* consumer */
    struct ipcx__qmap *cseg;
    uint64_t cpos;       /* position read next (broadcast: own; queue: last seen) */
    uint64_t cseq;       /* expected next sequence at least */
    uint64_t skip_below; /* IPCX_QUEUE_START_SEQ: drop messages before it */
    uint64_t stuck_pos;  /* where nothing was found last, and since when */
    int64_t stuck_ns;
    struct ipcx__qmap *stuck_seg;
    int spins;
    unsigned streak; /* peeks in a row that found a message at once */
    int peeked;      /* a message is peeked */
    uint64_t peek_pos, peek_next, peek_seq;
    uint32_t peek_len;
};

/* The error of a broken handle: -EIO after a failed sync, else -EPROTO. */
static inline int ipcx__qbroken_rc(const ipcx_queue *q)
{
    return q->eio ? -EIO : -EPROTO;
}

/* A sync of a durable queue failed: the handle is broken, for good, and
 * says -EIO (what was committed may not be on disk). */
static inline int ipcx__qsync_failed(ipcx_queue *q)
{
    q->broken = 1;
    q->eio = 1;
    return -EIO;
}

/* A handle inherited across fork() (platform.h ipcx__fork_gen()): its slots,
 * pid and lock identity are the parent's.  One load of a process-local word. */
static inline int ipcx__qforked(const ipcx_queue *q)
{
    return IPCX_UNLIKELY(q->fork_gen != ipcx__fork_gen()) ? 1 : 0;
}

/* ------------------------------------------------------------ queue_store.c */

int ipcx__qstore_ctl_create(ipcx_queue *q, size_t size);
int ipcx__qstore_ctl_open(ipcx_queue *q);
void ipcx__qstore_ctl_publish(ipcx_queue *q);
void ipcx__qstore_ctl_close(ipcx_queue *q);
/* Create segment file @file of @size bytes, map it (cached). */
int ipcx__qstore_seg_create(ipcx_queue *q, uint32_t file, uint64_t size, struct ipcx__qmap **out);
/* Map segment file @file (from the cache when possible) and check its
 * header's magic, size and file number. */
int ipcx__qstore_seg_map(ipcx_queue *q, uint32_t file, struct ipcx__qmap **out);
/* Drop @file from the cache and remove it. */
void ipcx__qstore_seg_unlink(ipcx_queue *q, uint32_t file);
void ipcx__qstore_cache_drop_all(ipcx_queue *q);
/* Durable: msync bytes [off, off+len) of a mapping (page aligned out). */
int ipcx__qstore_sync(void *base, uint64_t off, uint64_t len);
int ipcx__qstore_sync_dir(ipcx_queue *q);
/* Remove every file of the queue @name. */
int ipcx__qstore_unlink_all(const char *name);
int ipcx__qname_durable(const char *name);

/* ------------------------------------------------------------ queue_chain.c */

/* Take the chain lock, stealing it from a dead owner (and repairing the
 * chain).  Waits until @d, but at least 2 s: -ETIMEDOUT when a live owner
 * keeps it that long (IPCX_FOREVER waits forever). */
int ipcx__qlock(ipcx_queue *q, ipcx__deadline d);
void ipcx__qunlock(ipcx_queue *q);
/* Under the lock: link a segment after @cur (if none is linked yet) that
 * holds at least @need bytes of records.  Returns 0, -ENOSPC, -errno. */
int ipcx__qchain_link(ipcx_queue *q, struct ipcx__qmap *cur, uint64_t need);
/* Under the lock: give back every segment all consumers have passed. */
void ipcx__qchain_reclaim(ipcx_queue *q);
/* Take the lock if free and reclaim; never waits. */
void ipcx__qchain_try_reclaim(ipcx_queue *q);
/* Map the segment with chain id @id (walking from the head under the
 * lock when it is not cached; the lock wait ends at @d as in ipcx__qlock).
 * Returns 0, -ENOENT (already given back), -EPROTO, -ETIMEDOUT. */
int ipcx__qchain_find(ipcx_queue *q, uint64_t id, ipcx__deadline d, struct ipcx__qmap **out);
/* Under the lock: make the chain consistent after a crash (tail, counts). */
int ipcx__qchain_repair(ipcx_queue *q);
/* Under the lock: turn uncommitted claims of the tail into skip records. */
int ipcx__qchain_skip_abandoned(ipcx_queue *q);
/* Under the lock, queue delivery: give the messages dead consumers had
 * claimed but not released back to the group where possible. */
void ipcx__qchain_unclaim_dead(ipcx_queue *q);
/* Move the group cursor back from @next to @pos; 1 if it was still there. */
int ipcx__qchain_unclaim(ipcx_queue *q, uint64_t pos, uint64_t next);
/* Multi-producer: if the claim at @off of segment @m (chain id @id) is
 * uncommitted and belongs to a dead producer (its slot's intent), turn it
 * into a skip record with sequence @seq.  Returns 1 if it did. */
int ipcx__qrepair_at(ipcx_queue *q, struct ipcx__qmap *m, uint64_t id, uint64_t off, uint64_t seq);
/* Under the lock: ipcx__qrepair_at() for every dead producer's intent. */
void ipcx__qchain_repair_dead_intents(ipcx_queue *q);
/* Create the first segment of a new queue. */
int ipcx__qchain_init(ipcx_queue *q);
/* Validate a mapped segment's id against the expected chain id. */
int ipcx__qseg_check(const struct ipcx__qmap *m, uint64_t id);
/* Oldest position any consumer still needs (UINT64_MAX: none). */
uint64_t ipcx__qchain_min_pos(ipcx_queue *q);
/* Wake producers waiting at the memory limit. */
void ipcx__qwake_space(ipcx_queue *q);

/* Single producer: zero the header word at @off (the next record's), if a
 * header fits there, before the record ending at @off is committed. */
static inline void ipcx__qclear_next(struct ipcx__qmap *m, uint64_t off)
{
    /* Relaxed: published by the release store of the record's tag (or the
     * skip's), which consumers acquire before they read this word.  Only
     * stored when not already 0 (fresh segments): no needless ownership
     * request for the line a caught-up consumer polls. */
    if (off + IPCX__QREC_HDR > m->size)
        return;
    ipcx_atomic_u32 *w = &((struct ipcx__qrec *)(m->base + off))->commit;
    if (load_relaxed(w) != 0)
        store_relaxed(w, 0);
}

/* ------------------------------------------------------------ queue.c */

/* Test hooks (queue_io.c): polls before sleeping, futex wait slice. */
extern int ipcx__qspin_limit;
extern int64_t ipcx__qslice_ns;
/* Test hook: called (when not NULL) right before the claim CAS of a
 * multi-producer try_claim (IPCX__QFAULT_CLAIM_CAS) and before each CAS
 * that closes a segment (IPCX__QFAULT_CLOSE_CAS), with the claim word; a
 * test plays a hostile peer there. */
enum { IPCX__QFAULT_CLAIM_CAS = 1, IPCX__QFAULT_CLOSE_CAS = 2 };
extern void (*ipcx__qfault)(int step, ipcx_atomic_u64 *claim);
/* Test-only sync hook (NULL outside tests): called by ipcx__qstore_sync()
 * before its msync with the page-aligned range [addr, addr + len), and by
 * ipcx__qstore_sync_dir() before its fsync with addr NULL and the
 * directory.  A non-zero result (-EIO, ...) is returned as the sync's
 * failure instead of syncing.  tests/integration/test_queue_rel.c models a
 * power loss with it: only the bytes it saw synced survive. */
extern int (*ipcx__qsync_hook)(const void *addr, size_t len, const char *dir);

/* Liveness of a slot's owner (queue_chain.c), through the liveness module (platform.h):
 * 1 alive, 0 proven gone, -1 cannot tell (counts as alive everywhere). */
int ipcx__qslot_alive(const ipcx_queue *q, const struct ipcx__qslot *s);
/* Cheap and conservative (pid only): for reclaim decisions; 0 only when
 * proven gone. */
int ipcx__qslot_maybe_alive(const ipcx_queue *q, const struct ipcx__qslot *s);
/* 1 when every attached process is known to share our pid namespace. */
int ipcx__qsame_ns(const ipcx_queue *q);

#endif /* IPCX_SRC_QUEUE_H */
