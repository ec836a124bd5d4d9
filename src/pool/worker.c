// SPDX-License-Identifier: MIT
/*
 * A local worker: the child side of fork() in ipcx_pool_create() (and of
 * the replacements started later).
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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "pool/pool_int.h"
#include "ring/ring_int.h"

#define WORKER_POLL_NS (100 * 1000 * 1000LL)

struct wctx {
    ipcx_pool *p;
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
    return ipcx__ring_attach(ipcx_region_data(reg), ipcx_region_size(reg), out);
}

/* Run one task record; fills c->buf with the result record and returns
 * its length. */
static size_t run_one(struct wctx *c, const uint8_t *d, size_t len, int *stop)
{
    ipcx_pool *p = c->p;
    struct pool_task_rec h;
    struct pool_result_rec r = {.worker = c->slot};
    if (len < sizeof(h)) {
        *stop = 1; /* not even an id to answer: the ring is not ours to trust */
        return 0;
    }
    memcpy(&h, d, sizeof(h)); /* read once, then check */
    r.id = h.id;
    if (h.kind == POOL_REC_STOP) {
        *stop = 1;
        return 0;
    }
    ipcx_pool_task t = {.id = h.id,
                        .worker = c->slot,
                        .attempt = h.attempt,
                        .input = p->input,
                        .input_len = p->input_len,
                        .output = p->outreg != NULL ? ipcx_region_data(p->outreg) : NULL,
                        .output_len = p->outreg != NULL ? ipcx_region_size(p->outreg) : 0};
    int status;
    if (h.kind == POOL_REC_TASK) {
        t.data = d + sizeof(h);
        t.len = len - sizeof(h);
        status = 0;
    } else if (h.kind == POOL_REC_REF && len == sizeof(h) && h.ref_off <= p->input_len &&
               h.ref_len <= p->input_len - h.ref_off) {
        t.data = p->input + h.ref_off;
        t.len = (size_t)h.ref_len;
        status = 0;
    } else {
        status = -EPROTO;
    }
    uint8_t *out = c->buf + sizeof(r);
    if (status == 0)
        status = p->o.fn(p->o.ctx, &t, out, p->o.max_result);
    if (status > (int)p->o.max_result)
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
        if (rc == -ETIMEDOUT) {
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
        while ((rc = ipcx_ring_send(c->rr, c->buf, n, WORKER_POLL_NS)) == -ETIMEDOUT)
            parent_check(c);
        if (rc < 0)
            return;
    }
}

_Noreturn void ipcx__pool_worker_main(ipcx_pool *p, uint32_t slot, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct wctx c = {.p = p, .slot = slot, .parent = parent};
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
    if (ipcx_ring_join(c.tr, IPCX_RING_CONSUMER) != 0 ||
        ipcx_ring_join(c.rr, IPCX_RING_PRODUCER) != 0)
        _exit(2);
    c.buf = malloc(sizeof(struct pool_result_rec) + p->o.max_result);
    if (c.buf == NULL)
        _exit(2);
    loop(&c);
    ipcx__ring_detach(c.tr);
    ipcx__ring_detach(c.rr);
    _exit(0);
}
