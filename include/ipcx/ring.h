/* SPDX-License-Identifier: MIT */
/*
 * ipcx rings: the bounded buffer between co-operating processes.
 *
 * A ring is a lock-free circular buffer of records inside a shared-memory
 * region (docs/ring.md has the layout byte by byte and the algorithms).
 * Records are variable-size (the default, up to a maximum fixed at creation)
 * or fixed-size slots; zero-length records are allowed.  One or many
 * producers; delivery is either "queue" (every record goes to exactly one
 * consumer) or "broadcast" (every attached consumer sees every record).
 *
 * A handle takes a role the first time it is used - ipcx_ring_send() or
 * ipcx_ring_reserve() attach it as a producer, ipcx_ring_recv() or
 * ipcx_ring_peek() as a consumer - or explicitly with ipcx_ring_join().
 * Each role occupies a slot in the ring's table (with the process's pid and
 * start time, so a dead process's slot is reclaimed by whoever needs it).
 *
 * Crash safety: a producer killed at any instruction never makes a consumer
 * deliver a torn record; a claim left by a dead producer is skipped and
 * counted in `lost`.  A claim of a producer that is alive but stalled is
 * waited on (the consumers' calls return at their timeout), or, with
 * stall_ms set, skipped and counted in `lost` once it is that old.  A queue-mode record a dead
 * consumer had peeked but not released is redelivered (single-consumer rings: the shared read
 * position never moved past it - nor past the last records it received, which it publishes in
 * batches, so those come again too: at-least-once) or counted in `lost` (multi-consumer rings).  A
 * dead broadcast consumer's cursor is dropped as soon as a producer needs the space.
 *
 * Shared memory is untrusted: a peer that corrupts the ring makes calls on
 * this side return -EPROTO (and the handle stays broken: every later call
 * returns -EPROTO), never crash or read outside the region.
 *
 * Life cycle (docs/lifecycle.md): one side creates (opts.create: open an
 * existing ring, or replace a stale one), the other opens - retrying on
 * -ENOENT and -EAGAIN while the ring does not exist yet or is being made;
 * whoever owns the name's life unlinks it (open handles keep working).
 * Records are not connections: end a stream with an agreed record (an
 * empty one, say); ipcx_ring_stat.producers_alive tells a consumer whose
 * recv timed out whether any producer is still alive.
 *
 * Thread safety: a handle is used by one thread at a time (use one handle
 * per thread; several handles of one process may share a ring).  The one
 * exception is ipcx_ring_interrupt(), callable from any thread and from a
 * signal handler.  To read statistics while another thread sends, open a
 * second handle (opening takes no role).
 *
 * fork(): a handle belongs to the process that opened it (its slots carry
 * that process's pid and start time).  In a child, every call on a handle
 * inherited across fork() returns -ECHILD and changes nothing; ipcx_ring_close()
 * there only frees the child's copy (the parent's roles, reservations and
 * peeked records stay the parent's).  A child opens the ring again to use
 * it.  The check is one load per call of a word that a pthread_atfork()
 * child handler bumps: a process made by a raw clone(2) is not detected.
 */
#ifndef IPCX_RING_H
#define IPCX_RING_H

#include <ipcx/core.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Delivery (ipcx_ring_opts.delivery). */
enum {
    IPCX_RING_QUEUE = 0,     /**< each record to exactly one consumer (default) */
    IPCX_RING_BROADCAST = 1, /**< each record to every attached consumer */
};

/** What a producer does when the ring is full (ipcx_ring_opts.full). */
enum {
    IPCX_RING_BLOCK = 0,     /**< wait for space or the timeout (default) */
    IPCX_RING_FAIL = 1,      /**< -EAGAIN at once */
    IPCX_RING_OVERWRITE = 2, /**< broadcast with one producer (or one per lane,
                                  ipcx_ring_opts.lanes): never wait,
                                  overwrite the oldest; a consumer that fell behind
                                  gets -EOVERFLOW once, then continues */
};

/** Waiting, per handle (ipcx_ring_set_wait()). */
enum {
    IPCX_WAIT_BLOCK = 0, /**< a bounded spin, then FUTEX_WAIT (default) */
    IPCX_WAIT_SPIN = 1,  /**< busy-poll until ready or the deadline */
};

/** Roles for ipcx_ring_join(). */
enum {
    IPCX_RING_PRODUCER = 1,
    IPCX_RING_CONSUMER = 2,
    IPCX_RING_FROM_OLDEST = 4, /**< broadcast consumer: start at the oldest record
                                    still in the ring instead of the newest */
};

/** Limits. */
#define IPCX_RING_MIN_CAPACITY ((uint64_t)4096)
#define IPCX_RING_MAX_CAPACITY ((uint64_t)1 << 30)
#define IPCX_RING_MAX_SLOTS    1024 /**< most producers, most consumers */

/**
 * Options for ipcx_ring_create().  All-zero means the defaults.
 */
typedef struct ipcx_ring_opts {
    /** Bytes of record space, rounded up to a power of two; 0 means 256 KiB.
     *  At most IPCX_RING_MAX_CAPACITY (-EINVAL above); a value below
     *  IPCX_RING_MIN_CAPACITY (4 KiB) is raised to it.  ipcx_ring_stats()
     *  reports the capacity in effect. */
    uint64_t capacity;
    /** Largest payload in bytes; 0 means capacity / 4.  A record (16-byte
     *  header + payload rounded up to 8) must fit in half the capacity. */
    uint32_t max_msg;
    /** 0: variable-size records (default).  Otherwise every record takes a
     *  fixed slot of this many payload bytes (and max_msg is slot_size). */
    uint32_t slot_size;
    /** IPCX_RING_QUEUE (default) or IPCX_RING_BROADCAST. */
    uint32_t delivery;
    /** IPCX_RING_BLOCK (default), IPCX_RING_FAIL or IPCX_RING_OVERWRITE. */
    uint32_t full;
    /** Most producers attached at once; 0 means 1.  With 1 the faster
     *  single-producer algorithm is used. */
    uint32_t max_producers;
    /** Most consumers attached at once; 0 means 1 for queue delivery
     *  (single-consumer algorithm) and 64 for broadcast. */
    uint32_t max_consumers;
    /** How often, in milliseconds, a side that waits on a stuck peer checks
     *  whether that peer's process is still alive; 0 means 100.  It is a
     *  check period, not a stall limit (see stall_ms). */
    uint32_t liveness_ms;
    /** File mode of a named ring, as for regions; 0 means 0600. */
    uint32_t mode;
    /** Multiple producers: a claim whose producer is alive but has not
     *  committed it for this many milliseconds (stopped, descheduled, in a
     *  debugger, or holding a reservation) is skipped by consumers and
     *  counted in `lost`, so that they go on with the other producers'
     *  records; it is noticed on the liveness check, so between stall_ms
     *  and stall_ms + liveness_ms after the consumer reached it.  Its space
     *  is not given to anyone while the producer may still write there:
     *  producers can fill the rest of that lap, then wait until it commits
     *  (the record is then dropped: it was counted lost) or dies.  0 (the
     *  default): such a claim is waited on however long it stalls, and each
     *  call's own timeout bounds the wait. */
    uint32_t stall_ms;
    /** What ipcx_ring_create() does when the name is taken: 0 (-EEXIST), or
     *  IPCX_CREATE_OPEN and/or IPCX_CREATE_REPLACE_STALE (ipcx/core.h). */
    uint32_t create;
    /** 0 (the default): producers share one claim position (the ring has one
     *  order of records).  1: one lane per producer slot - each of the
     *  max_producers slots gets a single-producer ring of its own, of
     *  `capacity` bytes each, and every consumer reads them all - so
     *  producers never contend (a multi-producer stream runs at the
     *  single-producer rate; docs/ring.md "Lanes").  Records keep their order
     *  per producer only; a reserved record holds back its own lane only;
     *  stall_ms does not apply.  Queue delivery with lanes takes one
     *  consumer (max_consumers 0 or 1); broadcast any number.  A consumer may
     *  hold peeked records from at most 64 runs of lanes (it reads a lane
     *  until it is empty before moving on), then peek returns -ENOBUFS until
     *  it releases. */
    uint32_t lanes;
    uint32_t reserved[3]; /**< must be zero */
} ipcx_ring_opts;

/** Statistics (ipcx_ring_stats()).  Counters cover the ring's lifetime. */
typedef struct ipcx_ring_stat {
    uint64_t capacity, max_msg, slot_size;
    uint32_t delivery, full, max_producers, max_consumers;
    uint64_t write_pos;  /**< bytes ever claimed by producers */
    uint64_t read_pos;   /**< queue: shared read position; broadcast: oldest kept */
    uint64_t msgs_in;    /**< records committed */
    uint64_t bytes_in;   /**< payload bytes committed */
    uint64_t msgs_out;   /**< records delivered (summed over consumers) */
    uint64_t bytes_out;  /**< payload bytes delivered */
    uint64_t full_waits; /**< times a producer found the ring full */
    uint64_t lost;       /**< records abandoned by dead producers or consumers */
    uint64_t overruns;   /**< records overwritten before a consumer read them */
    uint32_t producers;  /**< slots held now, by live or dead processes */
    uint32_t consumers;
    /** Of those, held by a process that is alive (or whose liveness cannot
     *  be told).  producers_alive == 0 means no live process is a producer
     *  now (none joined yet, or every one closed or died): a consumer whose
     *  recv timed out can tell "nothing more will come" from "slow". */
    uint32_t producers_alive;
    uint32_t consumers_alive;
    struct {
        int32_t pid;
        uint32_t role; /**< IPCX_RING_PRODUCER or IPCX_RING_CONSUMER */
        int32_t alive; /**< 1 alive (or cannot tell), 0 the process is gone */
        uint32_t reserved;
        uint64_t msgs, bytes;
        uint64_t lag; /**< consumer: bytes between its position and write_pos */
    } peer[16];       /**< the first 16 attached handles */
    uint32_t npeers;  /**< entries filled in peer[] */
} ipcx_ring_stat;

typedef struct ipcx_ring ipcx_ring;

/**
 * ipcx_ring_create - create a named ring (a region of kind IPCX_REGION_RING).
 * @name: region name (see ipcx/region.h).
 * @opts: NULL or options.
 * @out:  the new handle (no role yet); untouched on failure.
 *
 * When the name is taken: -EEXIST, unless opts->create says otherwise.
 * IPCX_CREATE_REPLACE_STALE removes a stale ring (its creator is dead and
 * no live process holds a producer or consumer slot; or its creator died
 * before the ring was ready) and creates a new one; IPCX_CREATE_OPEN opens
 * the existing ring instead (its options stand, whatever @opts says) and
 * returns 1.  Both together: replace if stale, else open.  A process that
 * has the old ring open without a role yet is not seen; it keeps the old
 * mapping.  Bad options are -EINVAL with a log line (ipcx_log_set()) naming
 * the field and what is allowed.
 *
 * Returns 0 (created), 1 (opened, IPCX_CREATE_OPEN), -EINVAL, -EEXIST,
 * -EMEDIUMTYPE (the name holds another kind of object), or what
 * ipcx_region_create() returns.
 */
IPCX_API int ipcx_ring_create(const char *name, const ipcx_ring_opts *opts, ipcx_ring **out);

/**
 * ipcx_ring_open - open an existing named ring.  The ring's header is
 * validated (-EPROTO when it is corrupt or of a layout this library does
 * not read).  A ring that does not exist yet is -ENOENT and one whose
 * creator has not finished -EAGAIN: a consumer that starts first retries
 * (examples/ring_pingpong.c), or both sides use ipcx_ring_create() with
 * IPCX_CREATE_OPEN.  Returns 0, -ENOENT, -EAGAIN, -EMEDIUMTYPE (another
 * kind of object: a raw region, a queue), -EPROTO or -errno.
 */
IPCX_API int ipcx_ring_open(const char *name, ipcx_ring **out);

/** ipcx_ring_unlink - remove a named ring; mapped handles keep working. */
IPCX_API int ipcx_ring_unlink(const char *name);

/**
 * ipcx_ring_close - detach every role of the handle (its slots are freed,
 * its counters folded into the ring's totals) and unmap.  Accepts NULL.
 * Records reserved or peeked and not committed or released are given up
 * (a reserved record is skipped by consumers and counted lost; a peeked one
 * is redelivered or counted lost as for a crash).
 */
IPCX_API void ipcx_ring_close(ipcx_ring *r);

/**
 * ipcx_ring_join - take a role explicitly: IPCX_RING_PRODUCER and/or
 * IPCX_RING_CONSUMER, optionally with IPCX_RING_FROM_OLDEST.  Joining a role
 * the handle already has is a no-op.  Returns 0, -EBUSY (every slot for that
 * role is held by a live process), -EINVAL or -EPROTO.
 */
IPCX_API int ipcx_ring_join(ipcx_ring *r, unsigned roles);

/** ipcx_ring_set_wait - IPCX_WAIT_BLOCK or IPCX_WAIT_SPIN for this handle. */
IPCX_API int ipcx_ring_set_wait(ipcx_ring *r, int mode);

/**
 * ipcx_ring_send - copy one record in.
 * @timeout_ns: IPCX_NOWAIT, IPCX_FOREVER or nanoseconds to wait for space.
 *
 * Timeouts of every ring call: a call that finds what it needs at once
 * reads no clock; one that must wait turns a finite timeout into a
 * deadline at its first clock reading, taken after a short spin of 64
 * polls (microseconds), so a timeout may end that much later than asked.
 *
 * Returns 0, -EMSGSIZE (len over the maximum), -EAGAIN (full and no wait,
 * or the FAIL policy), -ETIMEDOUT, -EINTR (a signal, see
 * ipcx_ring_interrupt()), -ECANCELED (ipcx_ring_interrupt() was called),
 * -EBUSY (no producer slot), -EPROTO,
 * -ECHILD (a handle inherited across fork(); every call says so).
 */
IPCX_API int ipcx_ring_send(ipcx_ring *r, const void *buf, size_t len, int64_t timeout_ns);

/**
 * ipcx_ring_recv - copy the next record out.
 *
 * Returns the record's length, -EAGAIN (empty, no wait), -ETIMEDOUT,
 * -EMSGSIZE (cap too small: the record stays, call again with a larger
 * buffer), -EOVERFLOW (overwrite policy: records were lost; the number is
 * in ipcx_ring_overrun(); the next call goes on with the oldest record),
 * -EINTR, -ECANCELED (as for send), -EBUSY (no consumer slot), -EPROTO.
 */
IPCX_API int ipcx_ring_recv(ipcx_ring *r, void *buf, size_t cap, int64_t timeout_ns);

/**
 * ipcx_ring_reserve - claim space for a record of @len bytes and return a
 * pointer to its payload in *data.  Several records may be reserved before
 * committing.  Same errors as ipcx_ring_send(), and -EDEADLK: this handle
 * holds reserved records that are not committed, and the new one does not
 * fit now.  Consumers stop at the first uncommitted record, so waiting
 * would wait on itself (and, with several producers, stall every producer
 * behind it): a multi-producer ring never waits while the handle holds a
 * reservation; a single-producer one returns -EDEADLK only when its own
 * reservations leave no room.  Commit, then reserve again.  Nothing is
 * reserved on any error.
 */
IPCX_API int ipcx_ring_reserve(ipcx_ring *r, size_t len, void **data, int64_t timeout_ns);

/**
 * ipcx_ring_commit - publish every reserved record up to and including the
 * one whose payload is @data, in order, with one index update.  Returns the
 * number of records committed, -EINVAL (@data is not a reserved record) or
 * -EPROTO.
 */
IPCX_API int ipcx_ring_commit(ipcx_ring *r, void *data);

/**
 * ipcx_ring_peek - the next record not yet peeked, in place.  The memory
 * stays valid and unchanged until it is released (not under the OVERWRITE
 * policy, where ipcx_ring_release() tells whether it was overwritten).
 * Several records may be peeked before releasing.  Errors as recv.
 */
IPCX_API int ipcx_ring_peek(ipcx_ring *r, const void **data, size_t *len, int64_t timeout_ns);

/**
 * ipcx_ring_release - give back every peeked record up to and including
 * the one at @data, with one index update.  Returns the number released,
 * -EINVAL, -EOVERFLOW (OVERWRITE policy: the producer overwrote the record
 * while it was peeked; what was read from it is not valid) or -EPROTO.
 */
IPCX_API int ipcx_ring_release(ipcx_ring *r, const void *data);

/**
 * ipcx_ring_interrupt - end every wait on this handle, for shutdown.
 *
 * Sets a flag on the handle and wakes the ring's sleepers: a send, recv,
 * reserve or peek of this handle that is waiting returns -ECANCELED, and
 * so does every later one that would wait (one that finds what it needs at
 * once still succeeds).  The flag stays: close the handle after it.  Other
 * handles of the ring are woken too, find nothing new and wait on.
 * Async-signal-safe (lock-free atomics and the futex system call), and may
 * be called from any thread.  Returns 0 or -EINVAL.
 *
 * Signals: a blocking call during whose sleep in the kernel a signal
 * handler runs returns -EINTR, with or without SA_RESTART (its sleeps are
 * timed, and the kernel does not restart timed futex waits), as libzmq
 * returns EINTR.  A signal that lands while the call is not asleep (the
 * first tens of microseconds of a wait are a spin, and a sleep is cut in
 * slices for liveness checks) is not seen by it; call
 * ipcx_ring_interrupt() from the handler for a wake-up that cannot be
 * missed.
 */
IPCX_API int ipcx_ring_interrupt(ipcx_ring *r);

/** ipcx_ring_overrun - records lost by this consumer at its last -EOVERFLOW. */
IPCX_API uint64_t ipcx_ring_overrun(const ipcx_ring *r);

/**
 * ipcx_ring_stats - read the ring's statistics.  Handles publish their
 * counters in batches (every 32 records, when they wait, and on close); this
 * call first publishes the calling handle's own.  Figures of different
 * handles may be a moment apart.  Opening a ring only to call this takes no
 * role in it.  Returns 0 or -EINVAL.
 */
IPCX_API int ipcx_ring_stats(ipcx_ring *r, ipcx_ring_stat *out);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_RING_H */
