/* SPDX-License-Identifier: MIT */
/*
 * ipcx pools: co-operating worker processes that run sub-tasks of a job.
 *
 * ipcx_pool_create() starts N worker processes that run a function of the
 * calling program (fork), or another program that links libipcx and calls
 * ipcx_pool_worker() (posix_spawn, opts.exec_path).  The parent submits
 * tasks (byte strings, or slices of a shared read-only input), the workers
 * run the function on them, and the parent waits for the results, in
 * completion order or in submission order.  Tasks and results travel
 * through rings in anonymous shared memory (memfd regions: nothing is left
 * in /dev/shm, unless the figures are exposed with ipcx_pool_expose()), one
 * task ring per worker and one result ring for all (docs/pool.md).
 *
 * Large read-only input is placed once in a region that every worker maps
 * (opts.input, or opts.input_fd for a file mapped as it is), and workers
 * may write results straight into a shared output region (opts.output_size).
 *
 * Failures: a worker that dies is seen within a few milliseconds through
 * its pidfd; the tasks it held are run again on other workers (at least
 * once, at most 1 + opts.retries times), after which the task's result is
 * -EOWNERDEAD with the signal that ended the worker in
 * ipcx_pool_result.signal; a replacement worker is started and the dead one
 * reaped.  The pool never installs signal handlers and never touches
 * SIGCHLD: each worker is reaped through its own pidfd.  Every worker asks
 * the kernel for SIGKILL when the thread that created it dies
 * (PR_SET_PDEATHSIG) and also checks getppid(), so SIGINT or SIGTERM with
 * their default action, or any other death of the parent, ends every
 * worker.  A program that handles SIGINT itself calls ipcx_pool_kill() from
 * its handler (async-signal-safe) or ipcx_pool_destroy() afterwards.
 *
 * Remote workers: with opts.listen = "tcp://host:port" the pool also
 * listens there (a ROUTER socket) and hands tasks to workers that join
 * over ZMTP: `ipcx worker tcp://host:port`, a program calling
 * ipcx_pool_serve(), or any ZeroMQ DEALER speaking the frames of
 * docs/pool.md (examples/worker.py).  A remote worker whose connection
 * ends has its tasks run again elsewhere, like a local one that dies.
 *
 * Thread safety: a pool is used by one thread at a time, the one that
 * created it (PR_SET_PDEATHSIG follows that thread).  fork(): a child does
 * not inherit the pool's use; it may only ipcx_pool_destroy() its copy,
 * which then touches nothing of the parent's.
 */
#ifndef IPCX_POOL_H
#define IPCX_POOL_H

#include <ipcx/core.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a worker function gets for one task. */
typedef struct ipcx_pool_task {
    const void *data;  /**< the task's bytes (valid during the call only) */
    size_t len;        /**< their length */
    uint64_t id;       /**< the id ipcx_pool_submit() returned */
    uint32_t worker;   /**< index of the worker slot running it */
    uint32_t attempt;  /**< 1 on the first run, 2 on the first retry, ... */
    const void *input; /**< the shared read-only input, or NULL */
    size_t input_len;  /**< its length */
    void *output;      /**< the shared output region, or NULL */
    size_t output_len; /**< its length */
} ipcx_pool_task;

/**
 * ipcx_pool_fn - the worker function.  Runs in a worker process.
 * @ctx:    opts.ctx (in a forked worker, the parent's pointer: the memory
 *          it points to is the worker's copy of the parent's at fork time),
 *          or what the worker program gave ipcx_pool_worker() or
 *          ipcx_pool_serve().
 * @task:   the task.
 * @result: where to write the result, @cap bytes (opts.max_result).
 *
 * Returns the result's length (0 .. cap), or a negative errno that becomes
 * the task's status.  A larger length is reported as -EMSGSIZE.
 */
typedef int (*ipcx_pool_fn)(void *ctx, const ipcx_pool_task *task, void *result, size_t cap);

/** Result order (ipcx_pool_opts.order). */
enum {
    IPCX_POOL_COMPLETION = 0, /**< ipcx_pool_wait() returns results as they finish (default) */
    IPCX_POOL_SUBMISSION = 1, /**< ... in the order the tasks were submitted */
};

/** Options for ipcx_pool_create().  All-zero means the defaults. */
typedef struct ipcx_pool_opts {
    /** Local worker processes; 0 means one per online CPU.  At most 256.
     *  With listen set, -1 (as uint32_t: UINT32_MAX) means none (remote
     *  workers only). */
    uint32_t workers;
    /** Tasks handed to one worker before it returns results; 0 means 64. */
    uint32_t depth;
    /** Largest task in bytes; 0 means 64 KiB.  At most 16 MiB. */
    uint32_t max_task;
    /** Largest result in bytes; 0 means 64 KiB.  At most 16 MiB. */
    uint32_t max_result;
    /** Times a task is run again after the worker running it died; 0 means
     *  3; IPCX_POOL_NO_RETRY (UINT32_MAX) means never. */
    uint32_t retries;
    /** IPCX_POOL_COMPLETION (default) or IPCX_POOL_SUBMISSION. */
    uint32_t order;
    /** Tasks submitted and not yet handed to a worker before submit waits
     *  (up to its timeout); 0 means 4096. */
    uint32_t max_queued;
    uint32_t reserved0; /**< must be zero */
    /** The function forked workers run (required unless workers is none). */
    ipcx_pool_fn fn;
    void *ctx; /**< passed to fn */
    /** Shared read-only input: input_len bytes copied once into a region
     *  every worker maps (ipcx_pool_task.input).  NULL: none. */
    const void *input;
    size_t input_len;
    /** Or a file to map read-only in every worker as it is, without any
     *  copy (input_len bytes from offset 0, at most the file's size, else
     *  -EINVAL; input must then be NULL).  The file must not shrink while
     *  the pool runs (workers reading past its end would get SIGBUS).
     *  -1 or 0 means none (0 is stdin, never a sensible input). */
    int input_fd;
    int reserved1; /**< must be zero */
    /** Bytes of a shared writable output region (ipcx_pool_output() in the
     *  parent, ipcx_pool_task.output in workers); 0: none. */
    size_t output_size;
    /** NULL, or a tcp:// (or unix://) endpoint on which remote workers join. */
    const char *listen;
    /** Workers started with posix_spawn(3) instead of fork: the program to
     *  run (a path) and its argv (NULL-terminated; NULL: just the path).  It
     *  must call ipcx_pool_worker() with its own function; fn is then not
     *  needed here.  The worker inherits the fds of its rings and regions,
     *  named in the environment variable IPCX_POOL_WORKER. */
    const char *exec_path;
    char *const *exec_argv;
    /** destroy() waits at most this long for queued tasks to finish; 0
     *  means 30 s, IPCX_FOREVER without limit. */
    int64_t drain_ns;
    uint64_t reserved[4]; /**< must be zero */
} ipcx_pool_opts;

#define IPCX_POOL_NO_RETRY    UINT32_MAX
#define IPCX_POOL_NO_WORKERS  UINT32_MAX
#define IPCX_POOL_MAX_WORKERS 256

/** One finished task (ipcx_pool_wait()). */
typedef struct ipcx_pool_result {
    uint64_t id;       /**< the task's id */
    int status;        /**< >= 0: the function's result length; < 0: its error,
                            -EOWNERDEAD when every worker that ran it died,
                            -EPROTO when a worker sent a malformed result */
    int signal;        /**< -EOWNERDEAD: the signal that ended the last worker
                            that ran it (0: it exited, or the connection of a
                            remote worker ended) */
    uint32_t attempts; /**< runs started (1 = no retry) */
    uint32_t worker;   /**< slot of the worker whose result this is */
    size_t len;        /**< result bytes (status >= 0), else 0 */
} ipcx_pool_result;

typedef struct ipcx_pool ipcx_pool;

/**
 * ipcx_pool_create - start a pool.
 *
 * Creates the rings and regions, then forks the workers (each one
 * PR_SET_PDEATHSIG SIGKILL, closes what belongs to the other workers, and
 * runs opts->fn until told to stop).  With opts->listen it also listens.
 * Returns 0, -EINVAL (bad options), -ENOMEM, -EAGAIN (fork failed), or
 * what the region, ring or socket calls return.  On failure every worker
 * started is killed and reaped.
 */
IPCX_API int ipcx_pool_create(const ipcx_pool_opts *opts, ipcx_pool **out);

/**
 * ipcx_pool_destroy - drain, stop and reap.  Waits up to opts.drain_ns for
 * queued and running tasks (their results are discarded), tells every
 * worker to stop, gives them a second, SIGKILLs those still there and
 * reaps every one.  Accepts NULL.  In a forked child of the pool's process
 * it only frees the child's copy.
 */
IPCX_API void ipcx_pool_destroy(ipcx_pool *p);

/**
 * ipcx_pool_submit - queue a task (its bytes are copied).
 * @id: NULL, or where to store the task's id (ids start at 1 and grow by 1).
 * @timeout_ns: how long to wait when max_queued tasks already wait for a
 *              worker (results that arrive meanwhile are kept for wait).
 *
 * Returns 0, -EMSGSIZE (len over max_task), -ETIMEDOUT / -EAGAIN (still
 * full at the deadline / with IPCX_NOWAIT), -ENOMEM, -ECHILD (every local
 * worker keeps dying at start and there is no remote one: the pool gave up
 * restarting), -EINVAL.
 */
IPCX_API int ipcx_pool_submit(ipcx_pool *p, const void *task, size_t len, uint64_t *id,
                              int64_t timeout_ns);

/**
 * ipcx_pool_submit_ref - queue a task that is the slice [off, off + len)
 * of the shared input (zero copy: only the offset and length travel; the
 * worker's task.data points into its mapping of the input).  Remote
 * workers get the slice's bytes.  -ERANGE when the slice is outside the
 * input; otherwise as ipcx_pool_submit().
 */
IPCX_API int ipcx_pool_submit_ref(ipcx_pool *p, uint64_t off, uint64_t len, uint64_t *id,
                                  int64_t timeout_ns);

/**
 * ipcx_pool_wait - take one finished task.
 * @res: filled on success and on -EMSGSIZE.
 * @buf, @cap: where the result's bytes are copied.
 *
 * Completion order, or submission order (opts.order).  Returns 0,
 * -ENOENT (no task outstanding), -ETIMEDOUT / -EAGAIN (none finished by
 * the deadline / at once), -EMSGSIZE (cap < res->len: the result stays,
 * call again with a larger buffer).
 */
IPCX_API int ipcx_pool_wait(ipcx_pool *p, ipcx_pool_result *res, void *buf, size_t cap,
                            int64_t timeout_ns);

/**
 * ipcx_pool_map - run n tasks and gather their results in order.
 * @tasks:  n tasks of task_size bytes each, back to back.
 * @results: n slots of result_size bytes; result i is copied into slot i
 *           (the part that fits; a longer result is status -EMSGSIZE).
 * @status:  NULL, or n ints: each task's status (as ipcx_pool_result.status).
 *
 * The pool must have no other task outstanding (-EBUSY).  Returns the
 * number of tasks whose status is negative (0: all succeeded), or
 * -ETIMEDOUT (the deadline passed first: the tasks still running are
 * finished and their results discarded), -EINVAL, -EMSGSIZE, -ENOMEM.
 */
IPCX_API int ipcx_pool_map(ipcx_pool *p, const void *tasks, size_t task_size, size_t n,
                           void *results, size_t result_size, int *status, int64_t timeout_ns);

/**
 * ipcx_pool_await_workers - wait until at least @n workers (local and
 * remote) are running, handling results and deaths meanwhile.  For a pool
 * whose workers join over the network.  Returns 0, -ETIMEDOUT, -EAGAIN
 * (IPCX_NOWAIT and fewer are there) or -EINVAL.
 */
IPCX_API int ipcx_pool_await_workers(ipcx_pool *p, uint32_t n, int64_t timeout_ns);

/** ipcx_pool_endpoint - the URL remote workers dial (opts.listen with the
 *  port the kernel picked for ":0"), NUL-terminated into @buf.  Returns its
 *  length, -ENOENT (the pool does not listen), -ENOSPC (cap too small). */
IPCX_API int ipcx_pool_endpoint(ipcx_pool *p, char *buf, size_t cap);

/** ipcx_pool_output - the shared output region in the parent (NULL if
 *  none); *len gets its size when len is not NULL. */
IPCX_API void *ipcx_pool_output(ipcx_pool *p, size_t *len);

/**
 * ipcx_pool_kill - SIGKILL every local worker now.  Async-signal-safe
 * (only kill(2) over a fixed array): call it from a SIGINT/SIGTERM handler
 * the program installed, then ipcx_pool_destroy() outside the handler
 * reaps them.  Accepts NULL.
 */
IPCX_API void ipcx_pool_kill(ipcx_pool *p);

/** Figures of a pool (ipcx_pool_stats_get()). */
typedef struct ipcx_pool_stats {
    uint32_t workers;   /**< workers running now (local + remote) */
    uint32_t local;     /**< of which local processes */
    uint32_t remote;    /**< of which remote */
    uint32_t nworker;   /**< entries filled in worker[] */
    uint64_t submitted; /**< tasks submitted */
    uint64_t queued;    /**< waiting for a worker */
    uint64_t running;   /**< handed to a worker, no result yet */
    uint64_t done;      /**< finished (successfully or not), waited for or not */
    uint64_t failed;    /**< finished with a negative status */
    uint64_t retried;   /**< runs started again after a worker died */
    uint64_t deaths;    /**< workers that died or disconnected */
    uint64_t restarts;  /**< local replacement workers started */
    uint64_t bad;       /**< malformed records or frames from workers */
    struct {
        int32_t pid;      /**< local worker's pid, 0 for a remote one */
        uint32_t remote;  /**< 1 for a remote worker */
        uint32_t running; /**< tasks it holds now */
        uint32_t slot;    /**< its slot index (ipcx_pool_task.worker) */
        uint64_t done;    /**< results it returned */
    } worker[64];         /**< the first 64 workers */
} ipcx_pool_stats;

/** ipcx_pool_stats_get - the pool's figures.  Returns 0 or -EINVAL. */
IPCX_API int ipcx_pool_stats_get(ipcx_pool *p, ipcx_pool_stats *st);

/**
 * ipcx_pool_worker - the worker side of a pool started with opts.exec_path:
 * called by that program (usually first thing in main), it maps the rings
 * and regions it inherited, runs @fn on every task until the pool says
 * stop, and returns 0.  It removes IPCX_POOL_WORKER from the environment
 * (unsetenv: call it before starting threads).  Like a forked worker it asks for SIGKILL when the
 * pool's thread dies and exits (_exit(0)) when it finds its parent gone.
 * Returns -ENOENT when the program was not started by a pool (the variable
 * IPCX_POOL_WORKER is not set: run normally then), -EPROTO when what it
 * names is not usable, -ECHILD when the pool's process is already gone.
 */
IPCX_API int ipcx_pool_worker(ipcx_pool_fn fn, void *ctx);

/**
 * ipcx_pool_expose - publish the pool's figures (ipcx_pool_stats) in a
 * named region @name (kind IPCX_REGION_POOL) for `ipcx ls` and
 * `ipcx stat NAME`.  They are refreshed at most every 10 ms while the pool
 * waits, and on every ipcx_pool_stats_get().  ipcx_pool_destroy() removes
 * the region; a pool whose process died leaves it behind (ipcx ls shows its
 * creator gone, ipcx rm removes it): the only thing a pool may leave in
 * /dev/shm, and only when asked to expose.  Returns 0, -EALREADY, or what
 * ipcx_region_create() returns (-EEXIST, -EINVAL, ...).
 */
IPCX_API int ipcx_pool_expose(ipcx_pool *p, const char *name);

/**
 * ipcx_pool_info_read - read an exposed pool's figures from any process of
 * the same user.  Returns 0, -ENOENT, -EMEDIUMTYPE (not a pool's region), -EPROTO (a
 * layout this library does not read) or another -errno.
 */
IPCX_API int ipcx_pool_info_read(const char *name, ipcx_pool_stats *out);

/**
 * ipcx_pool_serve - be a worker of a pool that listens on @url (tcp:// or
 * unix://): connect, ask for up to @depth tasks at a time (0: 16), run @fn
 * on each and send the results back, until the pool says stop (returns 0)
 * or the connection cannot be made or is lost for longer than
 * @timeout_ns (-ETIMEDOUT; IPCX_FOREVER: keep trying).  Task.input and
 * task.output are NULL; task.worker is 0.  @max_result: result buffer
 * (0: 64 KiB).  Returns 0 or a negative errno.
 */
IPCX_API int ipcx_pool_serve(const char *url, ipcx_pool_fn fn, void *ctx, uint32_t depth,
                             uint32_t max_result, int64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_POOL_H */
