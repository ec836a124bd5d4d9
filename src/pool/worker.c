// SPDX-License-Identifier: MIT
/*
 * A local worker: the child side of fork() in ipcx_pool_create() (and of
 * the replacements started later), or a program started with posix_spawn
 * (opts.exec_path) that calls ipcx_pool_worker() with the fds it inherited.
 *
 * It asks for SIGKILL when the thread that forked it dies
 * (PR_SET_PDEATHSIG) and checks getppid() right after (the parent may have
 * died before the prctl) and whenever a wait for a task times out, so a
 * worker never outlives its parent.  It drops its copies of what belongs to
 * the other workers (their task rings and pidfds), attaches new ring
 * handles over the mappings it inherited (handles inherited across fork
 * are the parent's and refuse use with -ECHILD), and then loops: peek a
 * task in place, check it, run the function into a private buffer, release
 * the task, copy the result into the shared result ring.  It leaves with
 * _exit(), never running the parent program's atexit handlers.
 *
 * Everything in a task record was written by another process: the kind,
 * the lengths and a ref's slice are checked against what this worker
 * knows; a bad one becomes a -EPROTO result for that id.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/pool_int.h"
#include "region/region.h"
#include "ring/ring_int.h"

#define WORKER_POLL_NS (100 * 1000 * 1000LL)

struct wctx {
    ipcx_pool_fn fn;
    void *ctx;
    const uint8_t *input;
    size_t input_len;
    void *output;
    size_t output_len;
    uint32_t max_result;
    uint32_t slot;
    pid_t parent;
    ipcx_ring *tr, *rr;
    uint8_t *buf;
};

static void parent_check(const struct wctx *c)
{
    if (getppid() != c->parent)
        _exit(0);
}

static int attach_copy(ipcx_ring *inherited, ipcx_ring **out)
{
    ipcx_region *reg = inherited->region;
    int rc = ipcx__ring_attach(ipcx_region_data(reg), ipcx_region_size(reg), out);
    if (rc == 0)
        ipcx__ring_use_lock(*out, ipcx_region_fd(reg)); /* our own lock description */
    return rc;
}

/* Run one task record; fills c->buf with the result record and returns
 * its length. */
static size_t run_one(struct wctx *c, const uint8_t *d, size_t len, int *stop)
{
    struct pool_task_view v;
    struct pool_result_rec r = {.worker = c->slot};
    int kind = ipcx__pool_task_parse(d, len, c->input_len, &v);
    if (kind == -EBADMSG || kind == POOL_REC_STOP) {
        *stop = 1; /* told to, or not even an id to answer: not ours to trust */
        return 0;
    }
    r.id = v.id;
    ipcx_pool_task t = {.id = v.id,
                        .worker = c->slot,
                        .attempt = v.attempt,
                        .input = c->input,
                        .input_len = c->input_len,
                        .output = c->output,
                        .output_len = c->output_len};
    int status = kind < 0 ? kind : 0;
    if (kind > 0) {
        t.data = (kind == POOL_REC_TASK ? d : c->input) + v.off;
        t.len = v.len;
    }
    uint8_t *out = c->buf + sizeof(r);
    if (status == 0)
        status = c->fn(c->ctx, &t, out, c->max_result);
    if (status > (int)c->max_result)
        status = -EMSGSIZE;
    if (status < -POOL_ERRNO_MAX)
        status = -EINVAL;
    r.status = status;
    r.len = status > 0 ? (uint32_t)status : 0;
    memcpy(c->buf, &r, sizeof(r));
    return sizeof(r) + r.len;
}

static void loop(struct wctx *c)
{
    for (;;) {
        const void *d;
        size_t len;
        int rc = ipcx_ring_peek(c->tr, &d, &len, WORKER_POLL_NS);
        if (rc == -ETIMEDOUT || rc == -EINTR) { /* EINTR: a handler of the worker's program ran */
            parent_check(c);
            continue;
        }
        if (rc < 0)
            return;
        int stop = 0;
        size_t n = run_one(c, d, len, &stop);
        ipcx_ring_release(c->tr, d);
        if (stop)
            return;
        while ((rc = ipcx_ring_send(c->rr, c->buf, n, WORKER_POLL_NS)) == -ETIMEDOUT ||
               rc == -EINTR)
            parent_check(c);
        if (rc < 0)
            return;
    }
}

/* Join both rings and run until told to stop. */
static int serve_rings(struct wctx *c)
{
    if (ipcx_ring_join(c->tr, IPCX_RING_CONSUMER) != 0 ||
        ipcx_ring_join(c->rr, IPCX_RING_PRODUCER) != 0)
        return -EPROTO;
    c->buf = malloc(sizeof(struct pool_result_rec) + c->max_result);
    if (c->buf == NULL)
        return -ENOMEM;
    loop(c);
    free(c->buf);
    return 0;
}

_Noreturn void ipcx__pool_worker_main(ipcx_pool *p, uint32_t slot, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct wctx c = {.fn = p->o.fn,
                     .ctx = p->o.ctx,
                     .input = p->input,
                     .input_len = p->input_len,
                     .output = p->outreg != NULL ? ipcx_region_data(p->outreg) : NULL,
                     .output_len = p->outreg != NULL ? ipcx_region_size(p->outreg) : 0,
                     .max_result = p->o.max_result,
                     .slot = slot,
                     .parent = parent};
    parent_check(&c);
    /* What belongs to the other workers is not ours to keep open: their
     * rings would otherwise live as long as we do. */
    for (uint32_t i = 0; i < p->nslots; i++) {
        if (i == slot || p->w[i].kind != W_LOCAL)
            continue;
        if (p->w[i].pidfd >= 0)
            close(p->w[i].pidfd);
        ipcx_ring_close(p->w[i].tring); /* our copy only (see ring.h, fork) */
        p->w[i].tring = NULL;
    }
    if (attach_copy(p->w[slot].tring, &c.tr) != 0 || attach_copy(p->rring, &c.rr) != 0)
        _exit(2);
    int rc = serve_rings(&c);
    ipcx__ring_detach(c.tr);
    ipcx__ring_detach(c.rr);
    _exit(rc == 0 ? 0 : 2);
}

/* ------------------------------------------------------------ spawned workers */

/* An inherited memfd region: it must carry the grow/shrink seals (its size
 * is then fixed and mapping it is safe) and a valid region header. */
static int adopt_fd(int fd, ipcx_region **out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    const int need = F_SEAL_SHRINK | F_SEAL_GROW;
    int seals = fcntl(fd, F_GET_SEALS);
    if (!S_ISREG(st.st_mode) || seals < 0 || (seals & need) != need)
        return -EPROTO;
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the handle owns a copy */
    if (dup < 0)
        return -errno;
    close(fd);
    return ipcx__region_adopt(dup, NULL, &st, out);
}

static int ring_from_fd(int fd, ipcx_ring **out)
{
    ipcx_region *reg;
    int rc = adopt_fd(fd, &reg);
    if (rc != 0)
        return rc;
    rc = ipcx__ring_attach(ipcx_region_data(reg), ipcx_region_size(reg), out);
    if (rc != 0) {
        ipcx_region_close(reg);
        return rc;
    }
    (*out)->region = reg;
    ipcx__ring_use_lock(*out, ipcx_region_fd(reg));
    return 0;
}

IPCX_API int ipcx_pool_worker(ipcx_pool_fn fn, void *ctx)
{
    if (fn == NULL)
        return -EINVAL;
    const char *env = getenv(IPCX__POOL_ENV);
    if (env == NULL)
        return -ENOENT;
    unsigned long long v[9];
    if (sscanf(env, "1:%llu:%llu:%llu:%llu:%llu:%llu:%llu:%llu:%llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7], &v[8]) != 9 ||
        v[0] >= IPCX_POOL_MAX_WORKERS || v[1] == 0 || v[1] > INT32_MAX || v[2] > INT32_MAX ||
        v[3] > INT32_MAX || v[4] > INT32_MAX || v[6] > INT32_MAX || v[8] == 0 || v[8] > (16u << 20))
        return -EPROTO;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct wctx c = {.fn = fn,
                     .ctx = ctx,
                     .slot = (uint32_t)v[0],
                     .parent = (pid_t)v[1],
                     .max_result = (uint32_t)v[8]};
    if (getppid() != c.parent)
        return -ECHILD;       /* the pool's process is gone already */
    unsetenv(IPCX__POOL_ENV); /* not for this worker's own children */
    ipcx_region *in = NULL, *out = NULL;
    void *in_map = NULL;
    int rc = ring_from_fd((int)v[2], &c.tr);
    if (rc == 0)
        rc = ring_from_fd((int)v[3], &c.rr);
    if (rc == 0 && v[4] > 0 && v[5] > 0) { /* input: a region, or a file mapped as it is */
        if (adopt_fd((int)v[4], &in) == 0) {
            c.input = ipcx_region_data(in);
            c.input_len = ipcx_region_size(in) < v[5] ? ipcx_region_size(in) : (size_t)v[5];
        } else if ((in_map = mmap(NULL, (size_t)v[5], PROT_READ, MAP_SHARED, (int)v[4], 0)) !=
                   MAP_FAILED) {
            c.input = in_map;
            c.input_len = (size_t)v[5];
        } else {
            in_map = NULL;
            rc = -errno;
        }
    }
    if (rc == 0 && v[6] > 0 && v[7] > 0) {
        rc = adopt_fd((int)v[6], &out);
        if (rc == 0) {
            c.output = ipcx_region_data(out);
            c.output_len = ipcx_region_size(out);
        }
    }
    if (rc == 0)
        rc = serve_rings(&c);
    ipcx_ring_close(c.tr);
    ipcx_ring_close(c.rr);
    ipcx_region_close(in);
    ipcx_region_close(out);
    if (in_map != NULL)
        munmap(in_map, c.input_len);
    return rc;
}
