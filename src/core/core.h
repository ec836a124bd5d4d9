/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers every part uses: deadlines, futex waits with deadlines,
 * logging, small utilities.  Internal non-static names are ipcx__*.
 */
#ifndef IPCX_SRC_CORE_H
#define IPCX_SRC_CORE_H

#include <ipcx/core.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/atomics.h"

#define IPCX_LIKELY(x)      __builtin_expect(!!(x), 1)
#define IPCX_UNLIKELY(x)    __builtin_expect(!!(x), 0)
#define IPCX_ARRAY_LEN(a)   (sizeof(a) / sizeof((a)[0]))
#define IPCX_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define IPCX_PRINTF(f, a)   __attribute__((format(printf, f, a)))

/* ------------------------------------------------------------ copies */

/* Messages up to this size are copied by ipcx__copy_msg() in 8-byte words. */
#define IPCX_WORD_COPY_MAX 256u

/*
 * Copy a message into or out of shared memory.  Up to IPCX_WORD_COPY_MAX
 * bytes it moves 8-byte words (then one 4-byte word, then bytes), never a
 * wider load or store:
 *  - a sender usually writes its message just before sending it; a wider
 *    load over bytes it stored a moment ago cannot be forwarded from the
 *    store buffer and waits for those stores to retire, behind the ring
 *    stores still waiting for their cache lines (glibc's memcpy moves 64
 *    bytes with one 64-byte load and store);
 *  - records are 8-aligned, so no word store splits a cache line.
 * docs/ring.md, Performance notes, has the measurements.
 * The empty asm keeps the compiler from turning the loop back into a
 * memcpy call.  Larger copies use memcpy.
 */
static inline void ipcx__copy_msg(void *dst, const void *src, size_t n)
{
    if (n > IPCX_WORD_COPY_MAX) {
        memcpy(dst, src, n);
        return;
    }
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        __asm__("" : "+r"(w));
        memcpy(d, &w, 8);
    }
    if (n >= 4) {
        uint32_t w;
        memcpy(&w, s, 4);
        memcpy(d, &w, 4);
        n -= 4, d += 4, s += 4;
    }
    while (n-- > 0)
        *d++ = *s++;
}

/* ------------------------------------------------------------ deadlines */

/*
 * An absolute CLOCK_MONOTONIC deadline.  abs_ns < 0 means "never";
 * abs_ns == 0 means "already expired" (IPCX_NOWAIT).
 */
typedef struct ipcx__deadline {
    int64_t abs_ns;
} ipcx__deadline;

/* CLOCK_MONOTONIC now, in nanoseconds. */
int64_t ipcx__now_ns(void);

/* Turn a relative timeout (0, -1 or > 0 ns) into a deadline, once, at the
 * start of a call.  Any negative timeout means forever. */
ipcx__deadline ipcx__deadline_make(int64_t timeout_ns);

static inline bool ipcx__deadline_is_forever(ipcx__deadline d)
{
    return d.abs_ns < 0;
}

static inline bool ipcx__deadline_is_nowait(ipcx__deadline d)
{
    return d.abs_ns == 0;
}

/* True when the deadline has passed (never true for "forever"). */
bool ipcx__deadline_expired(ipcx__deadline d);

/* Nanoseconds left (0 when expired, INT64_MAX when forever). */
int64_t ipcx__deadline_left_ns(ipcx__deadline d);

/*
 * A call's timeout, turned into a deadline only when the call first needs
 * one (a sleep, a lock wait, a periodic expiry check), never on the path
 * that succeeds at once: a clock read there can cost more than the rest of
 * a small send or recv (a third of a streaming queue consumer's samples).
 * The deadline thus starts when first needed, a few microseconds late at
 * most when the caller checks it every few hundred polls.  The ring keeps
 * the same idea inside its waiter (ring_int.h ring_waiter), where the
 * resolving clock read is one its spin loop takes anyway.
 */
typedef struct ipcx__lazy_deadline {
    int64_t rel;      /* > 0: a timeout not yet turned into a deadline */
    ipcx__deadline d; /* valid when rel == 0 */
} ipcx__lazy_deadline;

static inline ipcx__lazy_deadline ipcx__lazy_make(int64_t timeout_ns)
{
    ipcx__lazy_deadline l = {.rel = timeout_ns > 0 ? timeout_ns : 0, .d = {0}};
    if (timeout_ns <= 0)
        l.d = ipcx__deadline_make(timeout_ns); /* forever or now: no clock */
    return l;
}

/* The deadline, made now if it was not yet. */
static inline ipcx__deadline ipcx__lazy_get(ipcx__lazy_deadline *l)
{
    if (l->rel > 0) {
        l->d = ipcx__deadline_make(l->rel);
        l->rel = 0;
    }
    return l->d;
}

static inline bool ipcx__lazy_is_nowait(const ipcx__lazy_deadline *l)
{
    return l->rel == 0 && ipcx__deadline_is_nowait(l->d);
}

/* ------------------------------------------------------------ stream back-off */

/*
 * A consumer that found a message at once on IPCX_STREAK_MIN calls in a row
 * and then finds none has caught up with a producer that is still writing:
 * polling the record being written takes its cache line away mid-write,
 * many times per record.  Waiting IPCX_STREAK_BACKOFF pauses first (a few
 * microseconds) lets the producer run
 * ahead, and the consumer then reads finished lines.  A round trip never
 * triggers it (each receive there waits); only the first message after a
 * burst can be up to that much later.  Used by the ring and the queue
 * (docs/ring.md, Waiting, has the measurements).
 */
#define IPCX_STREAK_MIN     4u
#define IPCX_STREAK_BACKOFF 128u

static inline void ipcx__streak_backoff(void)
{
    for (unsigned i = 0; i < IPCX_STREAK_BACKOFF; i++)
        ipcx__cpu_relax();
}

/* ------------------------------------------------------------ futex */

/*
 * Sleep while *word == expected, until woken, the deadline passes, or a
 * signal arrives.  Works on process-shared memory (no FUTEX_PRIVATE_FLAG).
 * Returns 0 when woken or when *word no longer equals expected (the caller
 * re-checks its condition in both cases: futex wake-ups may be spurious),
 * -ETIMEDOUT when the deadline passed (also returned at once for a
 * NOWAIT deadline).  EINTR is absorbed and reported as 0 so the caller
 * re-checks and waits again with the same absolute deadline.
 */
int ipcx__futex_wait(ipcx_atomic_u32 *word, uint32_t expected, ipcx__deadline d);

/* Wake up to n waiters (INT32_MAX for all) sleeping on word.  Returns the
 * number woken or -errno. */
int ipcx__futex_wake(ipcx_atomic_u32 *word, int n);

/* ------------------------------------------------------------ logging */

/* Formats and hands a message to the installed hook; does nothing (and does
 * not format) when no hook is installed or the level is filtered. */
void ipcx__log(int level, const char *fmt, ...) IPCX_PRINTF(2, 3);

#define IPCX_LOGE(...) ipcx__log(IPCX_LOG_ERROR, __VA_ARGS__)
#define IPCX_LOGW(...) ipcx__log(IPCX_LOG_WARN, __VA_ARGS__)
#define IPCX_LOGI(...) ipcx__log(IPCX_LOG_INFO, __VA_ARGS__)
#define IPCX_LOGD(...) ipcx__log(IPCX_LOG_DEBUG, __VA_ARGS__)

#endif /* IPCX_SRC_CORE_H */
