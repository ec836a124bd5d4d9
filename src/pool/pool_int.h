/* SPDX-License-Identifier: MIT */
/*
 * Internal side of ipcx pools (docs/pool.md).
 *
 * Records (native byte order: rings never leave their host).  A task record
 * in a worker's task ring is a pool_task_rec followed, for POOL_REC_TASK,
 * by the task's bytes; a result record in the shared result ring is a
 * pool_result_rec followed by the result's bytes.
 *
 *   pool_task_rec                 pool_result_rec
 *   offset size field             offset size field
 *   0      8    id                0      8    id
 *   8      4    kind (1 task,     8      4    status (int32: length or -errno)
 *               2 ref, 3 stop)    12     4    worker (slot index)
 *   12     4    attempt           16     4    len (bytes after the header)
 *   16     8    ref_off           20     4    reserved (0)
 *   24     8    ref_len           24          (result bytes follow)
 *   32          (task bytes follow)
 *
 * Everything in these records is written by another process: workers check
 * kind, lengths and the ref slice against their input; the parent checks
 * id, len, status and worker before using a result (-EPROTO results and the
 * `bad` counter, never a crash).
 */
#ifndef IPCX_SRC_POOL_INT_H
#define IPCX_SRC_POOL_INT_H

#include <ipcx/pool.h>
#include <ipcx/region.h>
#include <ipcx/ring.h>
#include <ipcx/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

enum { POOL_REC_TASK = 1, POOL_REC_REF = 2, POOL_REC_STOP = 3 };

struct pool_task_rec {
    uint64_t id;
    uint32_t kind;
    uint32_t attempt;
    uint64_t ref_off;
    uint64_t ref_len;
};

struct pool_result_rec {
    uint64_t id;
    int32_t status;
    uint32_t worker;
    uint32_t len;
    uint32_t reserved;
};

_Static_assert(sizeof(struct pool_task_rec) == 32, "task record header is 32 bytes");
_Static_assert(offsetof(struct pool_task_rec, id) == 0, "id at 0");
_Static_assert(offsetof(struct pool_task_rec, kind) == 8, "kind at 8");
_Static_assert(offsetof(struct pool_task_rec, attempt) == 12, "attempt at 12");
_Static_assert(offsetof(struct pool_task_rec, ref_off) == 16, "ref_off at 16");
_Static_assert(offsetof(struct pool_task_rec, ref_len) == 24, "ref_len at 24");
_Static_assert(sizeof(struct pool_result_rec) == 24, "result record header is 24 bytes");
_Static_assert(offsetof(struct pool_result_rec, id) == 0, "id at 0");
_Static_assert(offsetof(struct pool_result_rec, status) == 8, "status at 8");
_Static_assert(offsetof(struct pool_result_rec, worker) == 12, "worker at 12");
_Static_assert(offsetof(struct pool_result_rec, len) == 16, "len at 16");
_Static_assert(offsetof(struct pool_result_rec, reserved) == 20, "reserved at 20");

/* The environment variable that hands a spawned worker its fds:
 * "1:slot:ppid:task_fd:result_fd:input_fd:input_len:output_fd:output_len:max_result". */
#define IPCX__POOL_ENV "IPCX_POOL_WORKER"

/* Largest magnitude of an errno a worker may report. */
#define POOL_ERRNO_MAX 4095

/* Most tasks a remote worker may hold. */
#define POOL_CREDIT_MAX 1024u

/* ---- checks on untrusted records and frames (records.c) ---- */

/* A task record as the worker may use it: the task's bytes are
 * [off, off + len) of the record (POOL_REC_TASK) or of the input (REF). */
struct pool_task_view {
    uint64_t id;
    uint32_t attempt;
    size_t off, len;
};

/* Returns POOL_REC_TASK, POOL_REC_REF or POOL_REC_STOP, -EBADMSG (shorter
 * than a header: no id), -EPROTO (bad kind, length or slice; v->id valid). */
int ipcx__pool_task_parse(const uint8_t *d, size_t len, size_t input_len, struct pool_task_view *v);
/* Returns 0, -EBADMSG (no header: no id) or -EPROTO (h->id valid). */
int ipcx__pool_result_parse(const uint8_t *d, size_t len, uint32_t nslots, uint32_t max_result,
                            struct pool_result_rec *h);
/* READY's credit frame: 0 (*credit clamped to 1..POOL_CREDIT_MAX) or -EPROTO. */
int ipcx__pool_wire_ready(const uint8_t *c, size_t len, uint32_t *credit);
/* RESULT's 12-byte header and the result's length: 0, -EBADMSG (no id) or
 * -EPROTO (status out of range, or a result too long; *id valid). */
int ipcx__pool_wire_result(const uint8_t *h, size_t hlen, size_t rlen, uint32_t max_result,
                           uint64_t *id, int32_t *status);
/* TASK's 12-byte header: 0 or -EPROTO. */
int ipcx__pool_wire_task(const uint8_t *h, size_t hlen, uint64_t *id, uint32_t *attempt);

/* ---- the parent's bookkeeping (pool.c) ---- */

enum { T_QUEUED = 1, T_RUNNING = 2, T_DONE = 3 };
enum { W_NONE = 0, W_LOCAL = 1, W_REMOTE = 2 };

struct ptask {
    uint64_t id;
    uint8_t state;
    uint8_t is_ref;
    uint8_t discard; /* nobody will wait for it: freed when done */
    uint8_t mapped;  /* collected by ipcx_pool_map, not the done list */
    int32_t worker;  /* slot running it, -1 */
    uint32_t attempts;
    int status, sig;
    uint32_t res_worker;
    void *data; /* task bytes (copy), NULL for a ref */
    size_t len;
    uint64_t ref_off;
    void *res; /* result bytes */
    size_t res_len;
    struct ptask *next; /* queued list or done list */
};

struct pworker {
    int kind;  /* W_* */
    pid_t pid; /* local */
    int pidfd;
    ipcx_ring *tring; /* local: its task ring, we produce */
    uint32_t running;
    uint32_t quick; /* local: started and not yet returned a result */
    uint64_t done;
    /* remote */
    uint8_t ident[256];
    size_t ident_len;
    uint32_t credit;   /* tasks it asked for and has not been sent */
    int64_t last_seen; /* CLOCK_MONOTONIC ns of its last frame */
};

struct ipcx_pool {
    ipcx_pool_opts o;
    pid_t owner; /* the creating process: a forked copy only frees */
    uint32_t nslots;
    struct pworker *w;
    /* Local workers' pids for ipcx_pool_kill(), which may run in a signal
     * handler interrupting the pool's own thread: lock-free atomics, so
     * it never reads a torn value (relaxed: a pid is all it needs). */
    ipcx_atomic_u32 kill_pids[IPCX_POOL_MAX_WORKERS];
    ipcx_region *rreg; /* the result ring's region */
    ipcx_ring *rring;  /* we consume */
    size_t rring_size;
    uint8_t *rbuf; /* one result, for the worker side */
    const uint8_t *input;
    size_t input_len;
    ipcx_region *inreg; /* input copy, or NULL */
    void *in_map;       /* input_fd mapping, or NULL */
    ipcx_region *outreg;
    /* tasks: ids [base, next_id) in tab[id & mask] */
    struct ptask **tab;
    uint64_t mask, base, next_id, next_wait;
    struct ptask *qhead, *qtail; /* queued */
    struct ptask *dhead, *dtail; /* done, completion order */
    struct ptask *spare;         /* recycled entries (task_new) */
    uint32_t nspare;
    uint64_t nqueued, nrunning, owed;
    uint64_t submitted, done, failed, retried, deaths, restarts, bad;
    uint32_t quick_deaths; /* local deaths in a row before any result */
    int gave_up;
    int64_t last_death_check;
    /* exposed figures (expose.c) */
    ipcx_region *pub_region;
    void *pub;
    char pub_name[IPCX_REGION_NAME_MAX + 1];
    int64_t last_pub;
    /* remote workers (remote.c) */
    ipcx_socket *router;
    int router_fd;
    uint8_t *fbuf;
    size_t fbuf_cap;
};

/* pool.c, used by remote.c */
struct ptask *ipcx__pool_task(ipcx_pool *p, uint64_t id);
void ipcx__pool_finish(ipcx_pool *p, struct ptask *t, int status, const void *res, size_t len,
                       uint32_t worker);
void ipcx__pool_requeue(ipcx_pool *p, int slot, int sig);
int ipcx__pool_slot_new(ipcx_pool *p);
const void *ipcx__pool_task_bytes(ipcx_pool *p, const struct ptask *t, size_t *len);

/* expose.c */
void ipcx__pool_publish(ipcx_pool *p, const ipcx_pool_stats *st);
void ipcx__pool_publish_due(ipcx_pool *p, int64_t now);
void ipcx__pool_unexpose(ipcx_pool *p, int unlink);

/* local.c: local workers, the parent's side */
/* A ring in a fresh anonymous region, with the lock proof of liveness. */
int ipcx__pool_ring_anon(const ipcx_ring_opts *ro, ipcx_ring **out);
/* The smallest ring capacity >= v. */
uint64_t ipcx__pool_pow2(uint64_t v);
/* Start (fork or spawn) the worker of a slot.  Returns 0 or -errno. */
int ipcx__pool_start_local(ipcx_pool *p, uint32_t slot);
/* Reap, requeue and replace every local worker that died. */
void ipcx__pool_check_deaths(ipcx_pool *p);
/* SIGKILL and reap every local worker. */
void ipcx__pool_kill_all(ipcx_pool *p);
/* STOP every local worker, a second's grace, then ipcx__pool_kill_all. */
void ipcx__pool_stop_local(ipcx_pool *p);

/* worker.c: the loop of a local worker; never returns. */
_Noreturn void ipcx__pool_worker_main(ipcx_pool *p, uint32_t slot, pid_t parent);

/* remote.c */
int ipcx__pool_remote_open(ipcx_pool *p);
void ipcx__pool_remote_close(ipcx_pool *p, int say_stop);
/* Read what the router has, hand tasks to remote workers with credit.
 * Returns the number of results handled, or -errno. */
int ipcx__pool_remote_pump(ipcx_pool *p);
void ipcx__pool_remote_dispatch(ipcx_pool *p);

#endif /* IPCX_SRC_POOL_INT_H */
