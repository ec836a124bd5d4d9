// SPDX-License-Identifier: MIT
/*
 * The parent's side of a pool: the task table, submit, wait, map, results,
 * dispatch, create and destroy (docs/pool.md).  Starting, watching and
 * reaping local workers is in local.c, remote workers in remote.c.
 *
 * Design note.  Only the thread that created the pool touches this state;
 * nothing here is shared with other threads.  What is shared with the
 * workers lives in rings (one task ring per local worker: we are its only
 * producer and the worker its only consumer; one result ring that every
 * worker produces into and we alone consume) and in the input and output
 * regions, all anonymous memfds created before the workers are forked, so
 * the kernel frees them with the last process that maps them and a crash
 * leaves nothing in /dev/shm.
 *
 * Every task is kept here (a copy of its bytes, or its input slice) until
 * its result arrives, so a worker's death loses nothing: the tasks it held
 * are queued again at the front (at-least-once), or finished with
 * -EOWNERDEAD once they have been started 1 + retries times.  A result for
 * a task that is already done (a late one from a worker that died after
 * sending it) is dropped.  Deaths are seen through pidfds (local.c), polled
 * between waits that are cut into slices of POOL_SLICE_NS.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/pool_int.h"
#include "region/region.h"
#include "ring/ring_int.h"

#define POOL_SLICE_NS       (2 * 1000 * 1000LL)
#define POOL_SPIN_USEFUL_NS (200 * 1000LL) /* a longer wait: the next one sleeps at once */
#define POOL_MAX_BYTES      (16u << 20)

/* ------------------------------------------------------------ small helpers */

/* ------------------------------------------------------------ the task table */

struct ptask *ipcx__pool_task(ipcx_pool *p, uint64_t id)
{
    if (id < p->base || id >= p->next_id)
        return NULL;
    return p->tab[id & p->mask];
}

static int table_add(ipcx_pool *p, struct ptask *t)
{
    if (p->next_id - p->base > p->mask) {
        uint64_t ncap = (p->mask + 1) * 2;
        struct ptask **nt = calloc(ncap, sizeof(*nt));
        if (nt == NULL)
            return -ENOMEM;
        for (uint64_t id = p->base; id < p->next_id; id++)
            nt[id & (ncap - 1)] = p->tab[id & p->mask];
        free(p->tab);
        p->tab = nt;
        p->mask = ncap - 1;
    }
    t->id = p->next_id++;
    p->tab[t->id & p->mask] = t;
    return 0;
}

/* Task entries are recycled: a stream of small tasks then costs no
 * malloc/free pair per task for the entry itself. */
#define POOL_SPARE_MAX 4096u

static struct ptask *task_new(ipcx_pool *p)
{
    struct ptask *t = p->spare;
    if (t == NULL)
        return calloc(1, sizeof(*t));
    p->spare = t->next;
    p->nspare--;
    memset(t, 0, sizeof(*t));
    return t;
}

static void task_drop(ipcx_pool *p, struct ptask *t)
{
    free(t->data);
    free(t->res);
    if (p->nspare >= POOL_SPARE_MAX) {
        free(t);
        return;
    }
    t->data = t->res = NULL;
    t->next = p->spare;
    p->spare = t;
    p->nspare++;
}

static void task_free(ipcx_pool *p, struct ptask *t)
{
    p->tab[t->id & p->mask] = NULL;
    while (p->base < p->next_id && p->tab[p->base & p->mask] == NULL)
        p->base++;
    task_drop(p, t);
}

static void queue_push(ipcx_pool *p, struct ptask *t, int front)
{
    t->state = T_QUEUED;
    t->worker = -1;
    p->nqueued++;
    if (front) {
        t->next = p->qhead;
        p->qhead = t;
        if (p->qtail == NULL)
            p->qtail = t;
        return;
    }
    t->next = NULL;
    if (p->qtail != NULL)
        p->qtail->next = t;
    else
        p->qhead = t;
    p->qtail = t;
}

static struct ptask *queue_pop(ipcx_pool *p)
{
    struct ptask *t = p->qhead;
    if (t == NULL)
        return NULL;
    p->qhead = t->next;
    if (p->qhead == NULL)
        p->qtail = NULL;
    t->next = NULL;
    p->nqueued--;
    return t;
}

const void *ipcx__pool_task_bytes(ipcx_pool *p, const struct ptask *t, size_t *len)
{
    *len = t->len;
    return t->is_ref ? (const void *)(p->input + t->ref_off) : t->data;
}

void ipcx__pool_finish(ipcx_pool *p, struct ptask *t, int status, const void *res, size_t len,
                       uint32_t worker)
{
    if (t->state == T_RUNNING) {
        p->nrunning--;
        if (t->worker >= 0 && p->w[t->worker].running > 0)
            p->w[t->worker].running--;
    }
    t->state = T_DONE;
    t->worker = -1;
    t->status = status;
    t->res_worker = worker;
    p->done++;
    if (status < 0)
        p->failed++;
    free(t->data); /* the task's bytes are no longer needed for a retry */
    t->data = NULL;
    if (t->discard) {
        task_free(p, t);
        return;
    }
    if (status >= 0 && len > 0) {
        t->res = malloc(len);
        if (t->res == NULL) {
            t->status = -ENOMEM;
            p->failed++;
        } else {
            memcpy(t->res, res, len);
            t->res_len = len;
        }
    }
    if (t->mapped || p->o.order == IPCX_POOL_SUBMISSION)
        return;
    t->next = NULL;
    if (p->dtail != NULL)
        p->dtail->next = t;
    else
        p->dhead = t;
    p->dtail = t;
}

/* ------------------------------------------------------------ local workers */

/* Put every task that slot held back in the queue, or finish it. */
void ipcx__pool_requeue(ipcx_pool *p, int slot, int sig)
{
    for (uint64_t id = p->base; id < p->next_id; id++) {
        struct ptask *t = p->tab[id & p->mask];
        if (t == NULL || t->state != T_RUNNING || t->worker != slot)
            continue;
        p->nrunning--;
        t->worker = -1;
        if (p->o.retries != IPCX_POOL_NO_RETRY && t->attempts <= p->o.retries) {
            p->retried++;
            queue_push(p, t, 1);
        } else {
            t->state = T_QUEUED; /* not running: finish does not count it again */
            t->sig = sig;
            ipcx__pool_finish(p, t, -EOWNERDEAD, NULL, 0, (uint32_t)slot);
        }
    }
    p->w[slot].running = 0;
}

/* ------------------------------------------------------------ results */

static void take_result(ipcx_pool *p, const uint8_t *d, size_t len)
{
    struct pool_result_rec h;
    int rc = ipcx__pool_result_parse(d, len, p->nslots, p->o.max_result, &h);
    if (rc == -EBADMSG) {
        p->bad++;
        return;
    }
    struct ptask *t = ipcx__pool_task(p, h.id);
    if (t == NULL || t->state == T_DONE) {
        p->bad += rc != 0;
        return; /* a late duplicate of a retried task, or an unknown id */
    }
    uint32_t worker = h.worker < p->nslots ? h.worker : 0;
    if (rc != 0) {
        p->bad++;
        ipcx__pool_finish(p, t, -EPROTO, NULL, 0, worker);
        return;
    }
    if (t->worker >= 0) {
        p->w[t->worker].done++;
    }
    p->quick_deaths = 0;
    ipcx__pool_finish(p, t, h.status, d + sizeof(h), h.len, worker);
}

/* Take every result that is there now.  Returns how many. */
/*
 * Take up to 256 results, waiting up to @timeout_ns for the first.
 *
 * Spin or sleep: a wait spins 30 us before it sleeps (wait.c), which
 * catches a result that comes soon without a wake-up.  When results come
 * slower than that (CPU-bound tasks: one every few hundred microseconds or
 * more), the spin never catches one and only takes CPU time from the
 * workers on the same cores: about 30 us per result and per slice, a few
 * per cent of a 2-CPU job.  So a wait that lasted over POOL_SPIN_USEFUL_NS
 * (well past the spin and a wake-up) makes the next one sleep at once;
 * one that ended sooner turns the spin back on.
 */
static int collect(ipcx_pool *p, int64_t timeout_ns)
{
    int n = 0;
    for (;;) {
        const void *d;
        size_t len;
        int64_t t0 = n == 0 && timeout_ns != 0 ? ipcx__now_ns() : 0;
        int rc = ipcx_ring_peek(p->rring, &d, &len, n == 0 ? timeout_ns : 0);
        if (t0 != 0)
            p->rring->nospin = ipcx__now_ns() - t0 > POOL_SPIN_USEFUL_NS;
        if (rc < 0)
            return n;
        take_result(p, d, len);
        ipcx_ring_release(p->rring, d);
        n++;
        if (n >= 256)
            return n;
    }
}

/* ------------------------------------------------------------ dispatch */

static int send_task(ipcx_pool *p, struct pworker *w, struct ptask *t)
{
    size_t len;
    const void *bytes = ipcx__pool_task_bytes(p, t, &len);
    size_t rec = sizeof(struct pool_task_rec) + (t->is_ref ? 0 : len);
    void *dst;
    int rc = ipcx_ring_reserve(w->tring, rec, &dst, 0);
    if (rc != 0)
        return rc;
    struct pool_task_rec h = {.id = t->id,
                              .kind = t->is_ref ? POOL_REC_REF : POOL_REC_TASK,
                              .attempt = t->attempts + 1,
                              .ref_off = t->is_ref ? t->ref_off : 0,
                              .ref_len = t->is_ref ? len : 0};
    memcpy(dst, &h, sizeof(h));
    if (!t->is_ref && len > 0)
        memcpy((uint8_t *)dst + sizeof(h), bytes, len);
    rc = ipcx_ring_commit(w->tring, dst);
    return rc < 0 ? rc : 0;
}

static void dispatch_local(ipcx_pool *p)
{
    uint32_t depth = p->o.depth;
    while (p->qhead != NULL) {
        /* The least loaded local worker with room. */
        int best = -1;
        for (uint32_t i = 0; i < p->nslots; i++) {
            struct pworker *w = &p->w[i];
            if (w->kind == W_LOCAL && w->running < depth &&
                (best < 0 || w->running < p->w[best].running))
                best = (int)i;
        }
        if (best < 0)
            return;
        struct ptask *t = p->qhead;
        if (send_task(p, &p->w[best], t) != 0)
            return; /* its ring is full (large tasks): try again on the next pump */
        queue_pop(p);
        t->state = T_RUNNING;
        t->worker = best;
        t->attempts++;
        p->w[best].running++;
        p->nrunning++;
    }
}

/* One step of progress: dispatch, take results, notice deaths; sleep at
 * most one slice (not past @d) when nothing happened.  Returns > 0 when
 * something happened, 0 otherwise. */
static int pump(ipcx_pool *p, ipcx__deadline d)
{
    dispatch_local(p);
    if (p->router != NULL)
        ipcx__pool_remote_dispatch(p);
    int n = collect(p, 0);
    if (p->router != NULL) {
        int r = ipcx__pool_remote_pump(p);
        if (r > 0)
            n += r;
    }
    int64_t now = 0;
    if (n == 0 || ((p->done & 63) == 0)) {
        now = ipcx__now_ns();
        ipcx__pool_publish_due(p, now);
        if (n == 0 || now - p->last_death_check > POOL_SLICE_NS) {
            p->last_death_check = now;
            uint64_t before = p->deaths;
            ipcx__pool_check_deaths(p);
            if (p->deaths != before)
                n++;
        }
    }
    if (n > 0 || ipcx__deadline_is_nowait(d))
        return n;
    int64_t left = ipcx__deadline_left_ns(d);
    int64_t slice = left < POOL_SLICE_NS ? left : POOL_SLICE_NS;
    if (slice <= 0)
        return 0;
    if (p->router != NULL) {
        /* Remote workers: sleep on the router's fd, results ring checked after. */
        struct pollfd pf = {.fd = p->router_fd, .events = POLLIN};
        poll(&pf, 1, (int)(slice / 1000000 > 0 ? slice / 1000000 : 1));
        n = collect(p, 0);
    } else {
        n = collect(p, slice);
    }
    return n;
}

static int have_workers(const ipcx_pool *p)
{
    for (uint32_t i = 0; i < p->nslots; i++) {
        if (p->w[i].kind != W_NONE)
            return 1;
    }
    return p->router != NULL; /* remote workers may still come */
}

/* ------------------------------------------------------------ create / destroy */

static int check_opts(const ipcx_pool_opts *o)
{
    if (o->reserved0 != 0 || o->reserved1 != 0)
        return -EINVAL;
    for (size_t i = 0; i < IPCX_ARRAY_LEN(o->reserved); i++) {
        if (o->reserved[i] != 0)
            return -EINVAL;
    }
    if (o->max_task > POOL_MAX_BYTES || o->max_result > POOL_MAX_BYTES || o->order > 1)
        return -EINVAL;
    if (o->input != NULL && o->input_fd > 0)
        return -EINVAL;
    if (o->workers != IPCX_POOL_NO_WORKERS && o->workers > IPCX_POOL_MAX_WORKERS)
        return -EINVAL;
    if (o->workers == IPCX_POOL_NO_WORKERS && o->listen == NULL)
        return -EINVAL;
    if (o->fn == NULL && o->exec_path == NULL && o->workers != IPCX_POOL_NO_WORKERS)
        return -EINVAL;
    return 0;
}

static int make_regions(ipcx_pool *p)
{
    const ipcx_pool_opts *o = &p->o;
    int rc;
    if (o->input != NULL && o->input_len > 0) {
        rc = ipcx_region_create_anon(o->input_len, NULL, &p->inreg);
        if (rc != 0)
            return rc;
        memcpy(ipcx_region_data(p->inreg), o->input, o->input_len);
        p->input = ipcx_region_data(p->inreg);
        p->input_len = o->input_len;
    } else if (o->input_fd > 0 && o->input_len > 0) {
        struct stat st; /* mapping past the end would be SIGBUS in a worker */
        if (fstat(o->input_fd, &st) != 0)
            return -errno;
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < o->input_len)
            return -EINVAL;
        void *m = mmap(NULL, o->input_len, PROT_READ, MAP_SHARED, o->input_fd, 0);
        if (m == MAP_FAILED)
            return -errno;
        p->in_map = m;
        p->input = m;
        p->input_len = o->input_len;
    }
    if (o->output_size > 0) {
        rc = ipcx_region_create_anon(o->output_size, NULL, &p->outreg);
        if (rc != 0)
            return rc;
    }
    ipcx_ring_opts ro = {0};
    uint64_t rec = 16 + sizeof(struct pool_result_rec) + o->max_result + 8;
    ro.capacity = ipcx__pool_pow2(rec * 4 > 262144 ? rec * 4 : 262144);
    ro.max_msg = (uint32_t)(sizeof(struct pool_result_rec) + o->max_result);
    uint32_t prod = p->nslots * 2 + 2;
    ro.max_producers = prod > IPCX_RING_MAX_SLOTS ? IPCX_RING_MAX_SLOTS : prod;
    ro.liveness_ms = 2;
    rc = ipcx__pool_ring_anon(&ro, &p->rring);
    if (rc == 0)
        rc = ipcx_ring_join(p->rring, IPCX_RING_CONSUMER);
    if (rc == 0) {
        p->rbuf = malloc(sizeof(struct pool_result_rec) + o->max_result);
        if (p->rbuf == NULL)
            rc = -ENOMEM;
    }
    return rc;
}

static void free_all(ipcx_pool *p)
{
    for (uint32_t i = 0; p->w != NULL && i < p->nslots; i++) {
        if (p->w[i].pidfd >= 0)
            close(p->w[i].pidfd);
        ipcx_ring_close(p->w[i].tring);
    }
    if (p->tab != NULL) {
        for (uint64_t id = p->base; id < p->next_id; id++) {
            struct ptask *t = p->tab[id & p->mask];
            if (t != NULL) {
                free(t->data);
                free(t->res);
                free(t);
            }
        }
    }
    while (p->spare != NULL) {
        struct ptask *t = p->spare;
        p->spare = t->next;
        free(t);
    }
    free(p->tab);
    free(p->w);
    free(p->rbuf);
    free(p->fbuf);
    ipcx_ring_close(p->rring);
    ipcx_region_close(p->inreg);
    ipcx_region_close(p->outreg);
    if (p->in_map != NULL)
        munmap(p->in_map, p->input_len);
    free(p);
}

IPCX_API int ipcx_pool_create(const ipcx_pool_opts *opts, ipcx_pool **out)
{
    ipcx_pool_opts o = {0};
    if (opts != NULL)
        o = *opts;
    if (out == NULL)
        return -EINVAL;
    int rc = check_opts(&o);
    if (rc != 0)
        return rc;
    if (o.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.workers = n < 1 ? 1 : n > IPCX_POOL_MAX_WORKERS ? IPCX_POOL_MAX_WORKERS : (uint32_t)n;
    }
    if (o.depth == 0)
        o.depth = 64;
    if (o.max_task == 0)
        o.max_task = 65536;
    if (o.max_result == 0)
        o.max_result = 65536;
    if (o.retries == 0)
        o.retries = 3;
    if (o.max_queued == 0)
        o.max_queued = 4096;
    if (o.drain_ns == 0)
        o.drain_ns = 30 * 1000000000LL;
    ipcx_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->o = o;
    p->owner = getpid();
    p->router_fd = -1;
    uint32_t local = o.workers == IPCX_POOL_NO_WORKERS ? 0 : o.workers;
    p->nslots = local;
    p->w = calloc(IPCX_POOL_MAX_WORKERS, sizeof(*p->w));
    p->tab = calloc(1024, sizeof(*p->tab));
    if (p->w == NULL || p->tab == NULL) {
        free_all(p);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < IPCX_POOL_MAX_WORKERS; i++)
        p->w[i].pidfd = -1;
    p->mask = 1023;
    p->base = p->next_id = p->next_wait = 1;
    rc = make_regions(p);
    for (uint32_t i = 0; rc == 0 && i < local; i++)
        rc = ipcx__pool_start_local(p, i);
    if (rc == 0 && o.listen != NULL)
        rc = ipcx__pool_remote_open(p);
    if (rc != 0) {
        ipcx__pool_kill_all(p);
        ipcx__pool_remote_close(p, 0);
        free_all(p);
        return rc;
    }
    p->o.input = NULL; /* the caller's buffer is not kept */
    *out = p;
    return 0;
}

int ipcx__pool_slot_new(ipcx_pool *p)
{
    uint32_t local = p->o.workers == IPCX_POOL_NO_WORKERS ? 0 : p->o.workers;
    for (uint32_t i = local; i < p->nslots; i++) {
        if (p->w[i].kind == W_NONE)
            return (int)i;
    }
    if (p->nslots >= IPCX_POOL_MAX_WORKERS)
        return -ENOSPC;
    return (int)p->nslots++;
}

IPCX_API void ipcx_pool_destroy(ipcx_pool *p)
{
    if (p == NULL)
        return;
    if (p->owner != getpid()) { /* a forked copy: free ours, touch nothing else */
        p->router = NULL;       /* the parent's socket: not ours to close */
        ipcx__pool_unexpose(p, 0);
        free_all(p);
        return;
    }
    /* Drain: whatever is queued or running finishes, its result dropped. */
    for (uint64_t id = p->base; id < p->next_id; id++) {
        struct ptask *t = p->tab[id & p->mask];
        if (t != NULL)
            t->discard = 1;
    }
    ipcx__deadline d = ipcx__deadline_make(p->o.drain_ns);
    while ((p->nqueued > 0 || p->nrunning > 0) && !ipcx__deadline_expired(d) && have_workers(p))
        pump(p, d);
    ipcx__pool_stop_local(p);
    ipcx__pool_remote_close(p, 1);
    ipcx__pool_unexpose(p, 1);
    free_all(p);
}

IPCX_API void ipcx_pool_kill(ipcx_pool *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < IPCX_POOL_MAX_WORKERS; i++) {
        pid_t pid = (pid_t)load_relaxed(&p->kill_pids[i]); /* see pool_int.h */
        if (pid > 0)
            kill(pid, SIGKILL);
    }
}

/* ------------------------------------------------------------ submit / wait */

static int no_workers_left(const ipcx_pool *p)
{
    return p->gave_up && !have_workers(p);
}

static int submit(ipcx_pool *p, struct ptask *t, uint64_t *id, int64_t timeout_ns)
{
    ipcx__deadline d = ipcx__deadline_make(timeout_ns);
    while (p->nqueued >= p->o.max_queued) {
        if (no_workers_left(p))
            return -ECHILD;
        if (pump(p, d) == 0 && ipcx__deadline_expired(d))
            return ipcx__deadline_is_nowait(d) ? -EAGAIN : -ETIMEDOUT;
    }
    if (no_workers_left(p))
        return -ECHILD;
    int rc = table_add(p, t);
    if (rc != 0)
        return rc;
    p->submitted++;
    p->owed++;
    queue_push(p, t, 0);
    if (id != NULL)
        *id = t->id;
    dispatch_local(p);
    if (p->router != NULL)
        ipcx__pool_remote_dispatch(p);
    return 0;
}

IPCX_API int ipcx_pool_submit(ipcx_pool *p, const void *task, size_t len, uint64_t *id,
                              int64_t timeout_ns)
{
    if (p == NULL || (task == NULL && len > 0))
        return -EINVAL;
    if (len > p->o.max_task)
        return -EMSGSIZE;
    struct ptask *t = task_new(p);
    if (t == NULL)
        return -ENOMEM;
    if (len > 0) {
        t->data = malloc(len);
        if (t->data == NULL) {
            task_drop(p, t);
            return -ENOMEM;
        }
        memcpy(t->data, task, len);
    }
    t->len = len;
    int rc = submit(p, t, id, timeout_ns);
    if (rc != 0)
        task_drop(p, t);
    return rc;
}

IPCX_API int ipcx_pool_submit_ref(ipcx_pool *p, uint64_t off, uint64_t len, uint64_t *id,
                                  int64_t timeout_ns)
{
    if (p == NULL)
        return -EINVAL;
    if (off > p->input_len || len > p->input_len - off)
        return -ERANGE;
    struct ptask *t = task_new(p);
    if (t == NULL)
        return -ENOMEM;
    t->is_ref = 1;
    t->ref_off = off;
    t->len = (size_t)len;
    int rc = submit(p, t, id, timeout_ns);
    if (rc != 0)
        task_drop(p, t);
    return rc;
}

/* The next result wait would return, or NULL. */
static struct ptask *next_done(ipcx_pool *p)
{
    if (p->o.order == IPCX_POOL_COMPLETION)
        return p->dhead;
    while (p->next_wait < p->next_id) {
        struct ptask *t = ipcx__pool_task(p, p->next_wait);
        if (t != NULL && !t->discard && !t->mapped)
            return t->state == T_DONE ? t : NULL;
        p->next_wait++;
    }
    return NULL;
}

static void fill_result(const struct ptask *t, ipcx_pool_result *res)
{
    memset(res, 0, sizeof(*res));
    res->id = t->id;
    res->status = t->status;
    res->signal = t->sig;
    res->attempts = t->attempts;
    res->worker = t->res_worker;
    res->len = t->status >= 0 ? t->res_len : 0;
}

IPCX_API int ipcx_pool_wait(ipcx_pool *p, ipcx_pool_result *res, void *buf, size_t cap,
                            int64_t timeout_ns)
{
    if (p == NULL || res == NULL || (buf == NULL && cap > 0))
        return -EINVAL;
    ipcx__deadline d = ipcx__deadline_make(timeout_ns);
    struct ptask *t;
    while ((t = next_done(p)) == NULL) {
        if (p->owed == 0)
            return -ENOENT;
        if (no_workers_left(p))
            return -ECHILD;
        if (pump(p, d) == 0 && ipcx__deadline_expired(d))
            return ipcx__deadline_is_nowait(d) ? -EAGAIN : -ETIMEDOUT;
    }
    fill_result(t, res);
    if (res->len > cap)
        return -EMSGSIZE;
    if (res->len > 0)
        memcpy(buf, t->res, res->len);
    if (p->o.order == IPCX_POOL_COMPLETION) {
        p->dhead = t->next;
        if (p->dhead == NULL)
            p->dtail = NULL;
    } else {
        p->next_wait++;
    }
    p->owed--;
    task_free(p, t);
    return 0;
}

IPCX_API int ipcx_pool_map(ipcx_pool *p, const void *tasks, size_t task_size, size_t n,
                           void *results, size_t result_size, int *status, int64_t timeout_ns)
{
    if (p == NULL ||
        (n > 0 && ((tasks == NULL && task_size > 0) || (results == NULL && result_size > 0))))
        return -EINVAL;
    if (p->owed > 0)
        return -EBUSY;
    if (task_size > p->o.max_task)
        return -EMSGSIZE;
    ipcx__deadline d = ipcx__deadline_make(timeout_ns);
    uint64_t first = p->next_id;
    int rc = 0;
    size_t sent = 0;
    for (; sent < n && rc == 0; sent++) {
        struct ptask *t = task_new(p);
        if (t == NULL) {
            rc = -ENOMEM;
            break;
        }
        t->mapped = 1;
        t->len = task_size;
        if (task_size > 0 && (t->data = malloc(task_size)) == NULL) {
            task_drop(p, t);
            rc = -ENOMEM;
            break;
        }
        if (task_size > 0)
            memcpy(t->data, (const uint8_t *)tasks + sent * task_size, task_size);
        int64_t left = ipcx__deadline_is_forever(d) ? -1 : ipcx__deadline_left_ns(d);
        rc = submit(p, t, NULL, left == 0 ? 1 : left);
        if (rc != 0) {
            task_drop(p, t);
            break;
        }
    }
    p->owed -= sent;
    int failed = 0;
    for (size_t i = 0; i < sent && rc == 0; i++) {
        struct ptask *t;
        while ((t = ipcx__pool_task(p, first + i))->state != T_DONE) {
            if (no_workers_left(p)) {
                rc = -ECHILD;
                break;
            }
            if (pump(p, d) == 0 && ipcx__deadline_expired(d)) {
                rc = -ETIMEDOUT;
                break;
            }
        }
        if (rc != 0)
            break;
        int st = t->status;
        if (st >= 0 && t->res_len > result_size)
            st = -EMSGSIZE;
        if (st >= 0 && t->res_len > 0)
            memcpy((uint8_t *)results + i * result_size, t->res, t->res_len);
        if (status != NULL)
            status[i] = st;
        failed += st < 0;
        task_free(p, t);
    }
    if (rc != 0) { /* what is left of this map: nobody waits for it */
        for (uint64_t id = first; id < first + sent; id++) {
            struct ptask *t = ipcx__pool_task(p, id);
            if (t == NULL)
                continue;
            if (t->state == T_DONE)
                task_free(p, t);
            else
                t->discard = 1;
        }
        return rc;
    }
    return failed;
}

static uint32_t count_workers(const ipcx_pool *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nslots; i++)
        n += p->w[i].kind != W_NONE;
    return n;
}

IPCX_API int ipcx_pool_await_workers(ipcx_pool *p, uint32_t n, int64_t timeout_ns)
{
    if (p == NULL)
        return -EINVAL;
    ipcx__deadline d = ipcx__deadline_make(timeout_ns);
    while (count_workers(p) < n) {
        if (pump(p, d) == 0 && ipcx__deadline_expired(d))
            return ipcx__deadline_is_nowait(d) ? -EAGAIN : -ETIMEDOUT;
    }
    return 0;
}

IPCX_API void *ipcx_pool_output(ipcx_pool *p, size_t *len)
{
    if (len != NULL)
        *len = p != NULL && p->outreg != NULL ? ipcx_region_size(p->outreg) : 0;
    return p != NULL && p->outreg != NULL ? ipcx_region_data(p->outreg) : NULL;
}

IPCX_API int ipcx_pool_stats_get(ipcx_pool *p, ipcx_pool_stats *st)
{
    if (p == NULL || st == NULL)
        return -EINVAL;
    memset(st, 0, sizeof(*st));
    for (uint32_t i = 0; i < p->nslots; i++) {
        struct pworker *w = &p->w[i];
        if (w->kind == W_NONE)
            continue;
        st->workers++;
        if (w->kind == W_LOCAL)
            st->local++;
        else
            st->remote++;
        if (st->nworker < IPCX_ARRAY_LEN(st->worker)) {
            uint32_t k = st->nworker++;
            st->worker[k].pid = w->kind == W_LOCAL ? (int32_t)w->pid : 0;
            st->worker[k].remote = w->kind == W_REMOTE;
            st->worker[k].running = w->running;
            st->worker[k].slot = i;
            st->worker[k].done = w->done;
        }
    }
    st->submitted = p->submitted;
    st->queued = p->nqueued;
    st->running = p->nrunning;
    st->done = p->done;
    st->failed = p->failed;
    st->retried = p->retried;
    st->deaths = p->deaths;
    st->restarts = p->restarts;
    st->bad = p->bad;
    ipcx__pool_publish(p, st);
    return 0;
}
