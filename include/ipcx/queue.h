/* SPDX-License-Identifier: MIT */
/*
 * ipcx queues: the unbounded buffer.
 *
 * A queue is a chain of append-only segments.  A producer never waits for a
 * consumer: when the newest segment is full it links a new one (larger,
 * geometrically, while consumers lag behind); consumers read the chain in
 * order and follow the links; a segment every consumer has passed is given
 * back (recycled or unlinked), so memory returns after a burst.  Only the
 * memory limit can stop a producer: then it gets -ENOSPC (or waits, if the
 * queue was created with IPCX_QUEUE_LIMIT_WAIT), and nothing already queued
 * is lost.  Every message carries a 64-bit sequence number.
 *
 * Names.  A name without '/' is an in-memory queue: a control region
 * "<name>" (kind IPCX_REGION_QUEUE) and segment regions "<name>.seg.<n>"
 * (kind IPCX_REGION_QSEG) in the region directory, listed by `ipcx ls`.
 * A name containing '/' is a *durable* queue: the path of a directory that
 * holds the control file "queue.ctl" and the segment files "seg.<n>",
 * mapped with mmap; committed messages and consumer positions survive the
 * death of every process (even SIGKILL); see docs/queue.md for what survives
 * a machine crash under each fsync policy.
 *
 * Handles.  A handle takes a role the first time it is used, as a ring
 * handle does: ipcx_queue_send() or ipcx_queue_reserve() make it a
 * producer, ipcx_queue_recv() or ipcx_queue_peek() a consumer (so
 * ipcx_queue_open(name, NULL, &q) takes no role and is harmless).  The
 * roles named in opts.role (and a consumer_id) are taken at open instead,
 * so that -EBUSY comes at once.  A handle may be both.  A call whose role
 * cannot be taken - every slot of it held by a live process - returns
 * -EBUSY, on rings and queues alike.  Producers: one (the default; a second live producer is
 * -EBUSY) or many (IPCX_QUEUE_MULTI_PRODUCER).  Delivery: IPCX_QUEUE_DELIVER_QUEUE (each message to
 * exactly one consumer) or IPCX_QUEUE_DELIVER_BROADCAST (every consumer sees every message, each
 * with its own position).
 *
 * Delivery guarantees.  A broadcast consumer's position moves only when it
 * releases a message (recv releases before it returns), so a consumer that
 * dies and is reopened with the same consumer_id resumes at the first
 * message it had not released: at-least-once, and the only message that can
 * repeat is the one being received or peeked when it died.  In queue
 * delivery a message is claimed by the consumer that peeks it; if that
 * consumer dies before releasing it, the message is lost to the group
 * (at-most-once) - use broadcast delivery with one consumer per id for
 * at-least-once processing.
 *
 * Life cycle: as for rings (ipcx/ring.h, docs/lifecycle.md); a queue may
 * outlive its producer, and its last consumer usually unlinks it
 * (ipcx_queue_unlink() removes every segment too).
 *
 * Thread safety: one handle is used by one thread at a time; several
 * handles (in one process or many) may be used at once.
 * ipcx_queue_interrupt() may be called from any thread or signal handler;
 * ipcx_queue_stat() reads statistics by name without a handle.
 *
 * fork(): a handle belongs to the process that opened it (its slot carries
 * that pid).  In a child, send, reserve, commit, recv, peek, release and
 * stats on a handle inherited across fork() return -ECHILD and change
 * nothing; ipcx_queue_close() there only frees the child's copy (the
 * parent's slot, reservation and peeked message stay the parent's).  A
 * child opens the queue again to use it.  The check is one load per call
 * of a word that a pthread_atfork() child handler bumps: a process made by
 * a raw clone(2) is not detected.
 */
#ifndef IPCX_QUEUE_H
#define IPCX_QUEUE_H

#include <ipcx/core.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest in-memory queue name (a region name, with room for the
 *  ".seg.<n>" suffix of its segments). */
#define IPCX_QUEUE_NAME_MAX 184

/** ipcx_queue_opts.role bits: roles taken at open; 0 means none yet (each
 *  is taken on first use). */
enum {
    IPCX_QUEUE_PRODUCER = 1,
    IPCX_QUEUE_CONSUMER = 2,
};

/** ipcx_queue_opts.delivery (fixed at creation). */
enum {
    IPCX_QUEUE_DELIVER_QUEUE = 0,     /**< one consumer per message (default) */
    IPCX_QUEUE_DELIVER_BROADCAST = 1, /**< every consumer sees every message */
};

/** ipcx_queue_opts.wait (per handle). */
enum {
    IPCX_QUEUE_WAIT_BLOCK = 0, /**< bounded spin, then FUTEX_WAIT (default) */
    IPCX_QUEUE_WAIT_SPIN = 1,  /**< busy-poll until the deadline */
};

/** ipcx_queue_opts.on_limit (fixed at creation). */
enum {
    IPCX_QUEUE_LIMIT_FAIL = 0, /**< -ENOSPC at once (default) */
    IPCX_QUEUE_LIMIT_WAIT = 1, /**< wait for a drain, up to the call's timeout */
};

/** ipcx_queue_opts.fsync (durable queues, fixed at creation). */
enum {
    IPCX_QUEUE_FSYNC_NEVER = 0,    /**< leave write-back to the kernel (default) */
    IPCX_QUEUE_FSYNC_SEGMENT = 1,  /**< msync a segment when it is closed */
    IPCX_QUEUE_FSYNC_COMMIT = 2,   /**< msync each record before commit returns */
    IPCX_QUEUE_FSYNC_INTERVAL = 3, /**< msync at a commit when fsync_ms passed */
};

/** ipcx_queue_opts.start: where a consumer that has no saved position begins. */
enum {
    IPCX_QUEUE_START_OLDEST = 0, /**< the oldest message still kept (default) */
    IPCX_QUEUE_START_NEWEST = 1, /**< the next message sent */
    IPCX_QUEUE_START_SEQ = 2,    /**< the message numbered start_seq (or the
                                      oldest kept, if it is gone) */
};

/** ipcx_queue_opts.flags */
enum {
    IPCX_QUEUE_MULTI_PRODUCER = 1, /**< allow several producers (create) */
};

/**
 * Options for ipcx_queue_create() and ipcx_queue_open().  All-zero means the
 * defaults.  The "creation" fields are stored in the queue and ignored by
 * open; the "handle" fields apply to the handle being made.
 */
typedef struct ipcx_queue_opts {
    /* ---- creation */
    /** First segment size in bytes (rounded up to 4 KiB); 0 = 64 KiB. */
    uint64_t initial_segment;
    /** Largest segment the geometric growth makes; 0 = 64 MiB, max 1 GiB. */
    uint64_t max_segment;
    /** Largest message; 0 = max_segment / 4.  A message that does not fit a
     *  segment of the current size gets a segment of its own.  Max 512 MiB. */
    uint64_t max_message;
    /** Bytes of segments the queue may hold at once (including recycled
     *  ones); 0 = a quarter of what the file system offers (statvfs). */
    uint64_t memory_limit;
    uint32_t flags;         /**< IPCX_QUEUE_MULTI_PRODUCER */
    uint32_t delivery;      /**< IPCX_QUEUE_DELIVER_* */
    uint32_t on_limit;      /**< IPCX_QUEUE_LIMIT_* */
    uint32_t max_consumers; /**< consumer slots; 0 = 16, max 128 */
    uint32_t max_producers; /**< producer slots; 0 = 8 (1 without MULTI), max 128 */
    uint32_t fsync;         /**< IPCX_QUEUE_FSYNC_* (durable only) */
    uint32_t fsync_ms;      /**< for IPCX_QUEUE_FSYNC_INTERVAL; 0 = 100 */
    /** What ipcx_queue_create() does when the name is taken: 0 (-EEXIST),
     *  or IPCX_CREATE_OPEN and/or IPCX_CREATE_REPLACE_STALE (ipcx/core.h). */
    uint32_t create;
    /** Durable retention: keep a segment every consumer has passed while
     *  the full segments after it (the newest, still filling, not counted)
     *  hold fewer than this many bytes; so at least this much history, in
     *  whole segments, stays readable by ipcx_queue_dump() and by consumers
     *  starting at the oldest (0 = give segments back as soon as every
     *  consumer passed them). */
    uint64_t retain_bytes;
    /** Durable retention: keep passed segments closed less than this many
     *  nanoseconds ago (0 = no time retention). */
    int64_t retain_ns;

    /* ---- handle */
    uint32_t role; /**< IPCX_QUEUE_PRODUCER / CONSUMER bits taken at open; 0 = lazily */
    uint32_t wait; /**< IPCX_QUEUE_WAIT_* */
    /** Consumer slot to use, 1..max_consumers: a consumer reopened with the
     *  same id resumes at its saved position (-EBUSY while its previous
     *  owner is alive).  Non-zero takes the consumer role at open.  0 = any
     *  free slot, started as opts.start says; an anonymous slot is dropped
     *  when its process dies. */
    uint32_t consumer_id;
    uint32_t start; /**< IPCX_QUEUE_START_*, for a consumer with no position */
    uint64_t start_seq;
    uint64_t reserved[4]; /**< must be zero */
} ipcx_queue_opts;

/** Per-consumer figures in ipcx_queue_info. */
typedef struct ipcx_queue_consumer_info {
    uint32_t id;       /**< consumer_id (slot number, 1-based) */
    int32_t pid;       /**< last owner */
    int alive;         /**< 1 alive, 0 gone, -1 cannot tell */
    uint64_t next_seq; /**< next sequence it will see (broadcast) */
    uint64_t lag;      /**< messages committed but not yet released by it */
    uint64_t msgs;     /**< messages it released */
} ipcx_queue_consumer_info;

#define IPCX_QUEUE_STATS_CONSUMERS 16

/** What ipcx_queue_stats() reports (a snapshot; fields race with traffic). */
typedef struct ipcx_queue_info {
    int durable;
    uint32_t delivery;
    uint32_t segments;      /**< segments in the chain */
    uint32_t free_segments; /**< recycled segments kept for reuse */
    uint64_t bytes_used;    /**< bytes of all segments held (chain + free) */
    uint64_t memory_limit;
    uint64_t initial_segment, max_segment, max_message;
    uint64_t head_seq;   /**< sequence of the first message still kept */
    uint64_t next_seq;   /**< sequence the next message will get */
    uint64_t sent;       /**< messages committed (next_seq - skipped ones) */
    uint64_t skipped;    /**< claims abandoned by dead producers */
    uint64_t limit_hits; /**< -ENOSPC results and waits at the limit */
    uint32_t producers;  /**< live producers */
    uint32_t consumers;  /**< consumer slots in use */
    uint32_t nconsumer;  /**< entries filled in consumer[] */
    uint32_t reserved0;
    ipcx_queue_consumer_info consumer[IPCX_QUEUE_STATS_CONSUMERS];
} ipcx_queue_info;

typedef struct ipcx_queue ipcx_queue;

/**
 * ipcx_queue_create - create a queue and a handle on it.
 * @name: an in-memory queue name (region name rules, at most
 *        IPCX_QUEUE_NAME_MAX characters) or a durable directory path
 *        (contains '/'; created if missing, must hold no queue yet).
 * @opts: NULL or options.
 * @out:  the new handle; untouched on failure.
 *
 * The first segment is created at once.  The handle takes the roles named
 * in opts.role (none by default: each on first use).  When the name is
 * taken: -EEXIST, unless opts->create says otherwise.
 * IPCX_CREATE_REPLACE_STALE removes a stale in-memory queue - its creator
 * is dead and no live process holds a producer or consumer slot, or its
 * creator died before it was ready - with every segment, and creates a
 * new one.  A durable queue is never stale: outliving its processes is
 * what it is for.  IPCX_CREATE_OPEN opens the existing queue instead (its
 * options stand) and returns 1.  Returns 0 (created), 1 (opened), -EEXIST,
 * -EINVAL (bad name or options; the log hook names the field), -ENOSPC
 * (the first segment exceeds the limit or the file system is full),
 * -ENOMEM, -EACCES, -EMEDIUMTYPE (the name holds another kind of object)
 * or another -errno.  On failure nothing is left behind.
 */
IPCX_API int ipcx_queue_create(const char *name, const ipcx_queue_opts *opts, ipcx_queue **out);

/**
 * ipcx_queue_open - make a handle on an existing queue.
 *
 * A producer of a single-producer queue whose previous producer died takes
 * over its slot and turns any claim it left uncommitted into a skip record
 * (never delivered, counted in ipcx_queue_info.skipped).  In a
 * multi-producer queue the same happens to a dead producer's claim when a
 * producer attaches, or when a consumer has waited 10 ms behind it (the
 * dead producer's slot names the claim), so live producers' messages keep
 * flowing.  Returns 0, -ENOENT,
 * -EAGAIN (still being created), -EBUSY (the single producer, or the named
 * consumer slot, is held by a live process; or no slot is free), -EPROTO
 * (corrupt control block, segment or record), -EINVAL or another -errno.
 */
IPCX_API int ipcx_queue_open(const char *name, const ipcx_queue_opts *opts, ipcx_queue **out);

/**
 * ipcx_queue_close - detach and free the handle; accepts NULL.  A named
 * (consumer_id != 0) consumer keeps its position; an anonymous one gives its
 * slot up.  A reservation still open is dropped (a skip record, never
 * delivered); a message peeked in queue delivery is handed back to the
 * group when nobody has claimed past it.  Does not remove the queue.
 */
IPCX_API void ipcx_queue_close(ipcx_queue *q);

/**
 * ipcx_queue_unlink - remove a queue: its control region or file and every
 * segment.  Handles still open keep working on what they have mapped, but a
 * producer that needs a new segment gets -EIDRM.  Returns 0, -ENOENT or
 * another -errno.
 */
IPCX_API int ipcx_queue_unlink(const char *name);

/**
 * ipcx_queue_send - copy one message into the queue.
 * @seq: NULL or where to store the message's sequence number.
 *
 * Only the memory limit can make it wait (IPCX_QUEUE_LIMIT_WAIT) or fail.
 * Takes the producer role if the handle has none (-EBUSY: the single
 * producer, or every producer slot, is held by a live process).
 * Returns 0, -EMSGSIZE (len > max_message), -ENOSPC (limit reached, the
 * message was not queued), -ETIMEDOUT (waited at the limit), -EINTR,
 * -ECANCELED (ipcx_queue_interrupt()), -EBUSY, -EPROTO (corrupt queue),
 * -EIDRM (the queue was unlinked and needs a new segment), -ECHILD (a handle inherited across
 * fork(); every call on it says so), -EIO (durable: an msync or fsync
 * failed; the handle is broken and every later call says -EIO) or another
 * -errno.  @buf is the
 * caller's again when it returns.
 */
IPCX_API int ipcx_queue_send(ipcx_queue *q, const void *buf, size_t len, uint64_t *seq,
                             int64_t timeout_ns);

/**
 * ipcx_queue_reserve - claim room for a message of @len bytes and return a
 * pointer to it in *data (8-byte aligned).  Nothing is visible to consumers
 * until ipcx_queue_commit().  One reservation per handle at a time.  Same
 * results as send.
 */
IPCX_API int ipcx_queue_reserve(ipcx_queue *q, size_t len, void **data, int64_t timeout_ns);

/**
 * ipcx_queue_commit - publish the reserved message.  @seq: NULL or its
 * sequence number.  Returns 0, -EINVAL (no reservation), -EIO (durable: a
 * sync failed; the message may not survive a crash - or, when its payload
 * could not be synced under IPCX_QUEUE_FSYNC_COMMIT, it was not sent; the
 * handle is broken) or -ECHILD.
 */
IPCX_API int ipcx_queue_commit(ipcx_queue *q, uint64_t *seq);

/**
 * ipcx_queue_recv - copy the next message into @buf.
 * @seq: NULL or where to store its sequence number.
 *
 * Takes the consumer role if the handle has none.  Returns the message
 * length, -EAGAIN (timeout 0 and nothing there), -ETIMEDOUT, -EMSGSIZE
 * (the message is longer than @cap; it stays queued for this handle, and
 * the next recv or peek gets it), -EALREADY (a message is peeked and not
 * released), -EBUSY (no consumer slot), -EINTR (a signal),
 * -ECANCELED (ipcx_queue_interrupt()), -EPROTO (corrupt queue),
 * -EIO (durable, IPCX_QUEUE_FSYNC_COMMIT: the release could not be synced;
 * the message is in @buf but may be delivered again after a crash; the
 * handle is broken) or -ECHILD.
 */
IPCX_API int ipcx_queue_recv(ipcx_queue *q, void *buf, size_t cap, uint64_t *seq,
                             int64_t timeout_ns);

/**
 * ipcx_queue_peek - the next message not yet peeked, in place, without
 * copying (the meaning of peek on a ring too).  *data stays valid until
 * ipcx_queue_release().  A queue handle holds one peeked message at a time
 * (a ring handle may hold several): peeking again before the release is
 * -EALREADY.  Same results as recv (but never -EMSGSIZE); returns the
 * length.
 */
IPCX_API int ipcx_queue_peek(ipcx_queue *q, const void **data, size_t *len, uint64_t *seq,
                             int64_t timeout_ns);

/** ipcx_queue_release - done with the peeked message at @data (what
 * ipcx_queue_peek() returned), as ipcx_ring_release() is for every peeked
 * record up to @data.  Returns the number released (1), -EINVAL (@data is
 * not the peeked message, or nothing is peeked), -EIO (durable: the
 * release could not be synced; the handle is broken) or -ECHILD. */
IPCX_API int ipcx_queue_release(ipcx_queue *q, const void *data);

/**
 * ipcx_queue_interrupt - end every wait on this handle, for shutdown: a
 * recv or peek waiting for a message, or a send waiting at the memory
 * limit, returns -ECANCELED, and so does every later call that would wait
 * (the flag stays; close the handle after it).  Async-signal-safe, callable
 * from any thread.  A signal handler that runs while a wait is asleep in
 * the kernel makes it return -EINTR (see ipcx_ring_interrupt()).  Returns 0 or -EINVAL.
 */
IPCX_API int ipcx_queue_interrupt(ipcx_queue *q);

/**
 * ipcx_queue_stats - fill @out with what the control block says now.
 * Works from any handle.  Returns 0 or -EPROTO.
 */
IPCX_API int ipcx_queue_stats(ipcx_queue *q, ipcx_queue_info *out);

/**
 * ipcx_queue_stat - ipcx_queue_stats() by name, without attaching as
 * producer or consumer (for tools such as `ipcx stat`).
 */
IPCX_API int ipcx_queue_stat(const char *name, ipcx_queue_info *out);

/**
 * ipcx_queue_dump_fn - one record for ipcx_queue_dump(): its sequence, its
 * length and its bytes (valid during the call).  Return non-zero to stop.
 */
typedef int (*ipcx_queue_dump_fn)(void *ctx, uint64_t seq, const void *data, size_t len);

/**
 * ipcx_queue_dump - walk every committed record still kept, oldest first,
 * without consuming.  For debugging (`ipcx queue dump`).  Returns the number
 * of records, @fn's non-zero result, or -errno (-EPROTO on a corrupt
 * segment).
 */
IPCX_API int ipcx_queue_dump(const char *name, ipcx_queue_dump_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_QUEUE_H */
