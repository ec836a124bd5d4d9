/* SPDX-License-Identifier: MIT */
/*
 * ipcx core: version, error model, timeouts and the log hook.
 *
 * Every ipcx call returns an int: >= 0 on success (a count or a length) and
 * a negative errno value on failure (-EAGAIN, -ETIMEDOUT, -EPROTO, ...).
 * There is no global error state.  ipcx_strerror() names any such value.
 *
 * Timeouts are int64_t nanoseconds: IPCX_NOWAIT (0) does not wait,
 * IPCX_FOREVER (-1) waits without limit, any positive value is turned once
 * into an absolute CLOCK_MONOTONIC deadline at the start of the call.
 *
 * The library never prints.  A caller who wants diagnostics (for example the
 * message that names both layout versions when a region's version does not
 * match) installs a log hook with ipcx_log_set().
 */
#ifndef IPCX_CORE_H
#define IPCX_CORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IPCX_BUILDING)
#define IPCX_API __attribute__((visibility("default")))
#else
#define IPCX_API
#endif

#define IPCX_VERSION_MAJOR 0
#define IPCX_VERSION_MINOR 1
#define IPCX_VERSION_PATCH 0

/** Do not wait: fail with -EAGAIN (or return what is there) at once. */
#define IPCX_NOWAIT ((int64_t)0)
/** Wait without a time limit. */
#define IPCX_FOREVER ((int64_t)-1)

/**
 * What ipcx_ring_create() and ipcx_queue_create() do when the name is
 * taken (opts.create; bits).  0: -EEXIST.
 */
enum {
    /** Open the existing object instead (its options stand); create
     *  returns 1 instead of 0. */
    IPCX_CREATE_OPEN = 1,
    /** Remove the existing object when it is stale - its creator is dead
     *  and no live process is attached - and create a new one.  Otherwise
     *  -EEXIST, or with IPCX_CREATE_OPEN the existing one is opened. */
    IPCX_CREATE_REPLACE_STALE = 2,
};

/**
 * ipcx_version - the library's version as "MAJOR.MINOR.PATCH".
 *
 * Returns a static string.  Thread-safe.
 */
IPCX_API const char *ipcx_version(void);

/**
 * ipcx_strerror - describe an ipcx result.
 * @err: a negative errno value returned by an ipcx call (a positive value is
 *       accepted and treated as its negation).
 *
 * Returns a static string; never NULL.  For the errno values ipcx gives a
 * specific meaning (-EPROTO: a malformed shared-memory layout or wire frame,
 * -EMSGSIZE: a message over the configured maximum, -EOVERFLOW: a consumer
 * lost messages) the text says so.  Thread-safe.
 */
IPCX_API const char *ipcx_strerror(int err);

/** Log levels for ipcx_log_set(). */
enum {
    IPCX_LOG_ERROR = 0,
    IPCX_LOG_WARN = 1,
    IPCX_LOG_INFO = 2,
    IPCX_LOG_DEBUG = 3,
};

/**
 * ipcx_log_fn - a log hook.
 * @ctx:   the pointer given to ipcx_log_set().
 * @level: one of IPCX_LOG_*.
 * @msg:   a NUL-terminated message without a trailing newline; valid only
 *         during the call.
 *
 * The hook may be called from any thread that calls into ipcx, concurrently.
 */
typedef void (*ipcx_log_fn)(void *ctx, int level, const char *msg);

/**
 * ipcx_log_set - install (or with fn == NULL remove) the process-wide log hook.
 * @fn:        the hook, or NULL for silence (the default).
 * @ctx:       passed to every call of @fn.
 * @max_level: messages above this level are not formatted at all.
 *
 * Not synchronised with concurrent log calls: install the hook before other
 * threads use ipcx.
 */
IPCX_API void ipcx_log_set(ipcx_log_fn fn, void *ctx, int max_level);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_CORE_H */
