// SPDX-License-Identifier: MIT
/*
 * A pool's figures, published in a named region for `ipcx ls` and
 * `ipcx stat` (ipcx_pool_expose, ipcx_pool_info_read).
 *
 * Design note.  The region is written only by the thread that uses the
 * pool - at most every 10 ms from its waits, and whenever it calls
 * ipcx_pool_stats_get() - and read by anyone who may open it.  Every field
 * after `layout` is an independent relaxed atomic: figures only, a reader
 * may see them from slightly different moments.  `layout` is written before
 * the region's header is published (ipcx__region_publish, a release store
 * that ipcx_region_open's acquire load pairs with), so a reader that could
 * open the region sees it.  The reader trusts nothing: the layout is
 * checked and the worker count clamped.  A crash leaves the region behind
 * with its creator's pid; `ipcx ls` shows it as gone, `ipcx rm` removes it.
 *
 * Layout of the region's data (host byte order, one host):
 *
 *   offset  size  field
 *        0     4  layout (1)
 *        4     4  nworker, entries filled in worker[]
 *        8    96  counters[12], u64: workers, local, remote, submitted,
 *                 queued, running, done, failed, retried, deaths,
 *                 restarts, bad
 *      104  1536  worker[64]: pid u32, remote u32, running u32, slot u32,
 *                 done u64 (24 bytes each)
 *     1640        end
 */
#include <stdio.h>
#include <string.h>

#include "pool/pool_int.h"
#include "region/region.h"

#define PUB_WORKERS  64
#define PUB_EVERY_NS (10 * 1000 * 1000LL)

enum {
    P_WORKERS,
    P_LOCAL,
    P_REMOTE,
    P_SUBMITTED,
    P_QUEUED,
    P_RUNNING,
    P_DONE,
    P_FAILED,
    P_RETRIED,
    P_DEATHS,
    P_RESTARTS,
    P_BAD,
    P_COUNT
};

struct pool_pub_worker {
    ipcx_atomic_u32 pid;
    ipcx_atomic_u32 remote;
    ipcx_atomic_u32 running;
    ipcx_atomic_u32 slot;
    ipcx_atomic_u64 done;
};

struct pool_pub {
    uint32_t layout;
    ipcx_atomic_u32 nworker;
    ipcx_atomic_u64 c[P_COUNT];
    struct pool_pub_worker w[PUB_WORKERS];
};

_Static_assert(sizeof(struct pool_pub_worker) == 24, "worker entry is 24 bytes");
_Static_assert(offsetof(struct pool_pub_worker, done) == 16, "done at 16");
_Static_assert(offsetof(struct pool_pub, nworker) == 4, "nworker at 4");
_Static_assert(offsetof(struct pool_pub, c) == 8, "counters at 8");
_Static_assert(offsetof(struct pool_pub, w) == 104, "workers at 104");
_Static_assert(sizeof(struct pool_pub) == 1640, "pool figures are 1640 bytes");
_Static_assert(PUB_WORKERS == IPCX_ARRAY_LEN(((ipcx_pool_stats *)0)->worker), "same table");

static void stats_to_counters(const ipcx_pool_stats *st, uint64_t v[P_COUNT])
{
    const uint64_t x[P_COUNT] = {st->workers, st->local,   st->remote,   st->submitted,
                                 st->queued,  st->running, st->done,     st->failed,
                                 st->retried, st->deaths,  st->restarts, st->bad};
    memcpy(v, x, sizeof(x));
}

void ipcx__pool_publish(ipcx_pool *p, const ipcx_pool_stats *st)
{
    struct pool_pub *pub = p->pub;
    if (pub == NULL)
        return;
    uint64_t v[P_COUNT];
    stats_to_counters(st, v);
    for (int i = 0; i < P_COUNT; i++)
        store_relaxed(&pub->c[i], v[i]);
    for (uint32_t i = 0; i < st->nworker && i < PUB_WORKERS; i++) {
        store_relaxed(&pub->w[i].pid, (uint32_t)st->worker[i].pid);
        store_relaxed(&pub->w[i].remote, st->worker[i].remote);
        store_relaxed(&pub->w[i].running, st->worker[i].running);
        store_relaxed(&pub->w[i].slot, st->worker[i].slot);
        store_relaxed(&pub->w[i].done, st->worker[i].done);
    }
    store_relaxed(&pub->nworker, st->nworker);
}

void ipcx__pool_publish_due(ipcx_pool *p, int64_t now)
{
    if (p->pub == NULL || now - p->last_pub < PUB_EVERY_NS)
        return;
    p->last_pub = now;
    ipcx_pool_stats st;
    ipcx_pool_stats_get(p, &st); /* publishes */
}

IPCX_API int ipcx_pool_expose(ipcx_pool *p, const char *name)
{
    if (p == NULL || name == NULL)
        return -EINVAL;
    if (p->pub_region != NULL)
        return -EALREADY;
    int rc = ipcx_region_name_valid(name);
    if (rc != 0)
        return rc;
    struct ipcx__region_spec spec = {
        .name = name, .size = sizeof(struct pool_pub), .kind = IPCX_REGION_POOL, .publish = 0};
    rc = ipcx__region_make(&spec, &p->pub_region);
    if (rc != 0)
        return rc;
    struct pool_pub *pub = ipcx_region_data(p->pub_region);
    pub->layout = 1;
    ipcx__region_publish(p->pub_region); /* after layout: openers see it */
    snprintf(p->pub_name, sizeof(p->pub_name), "%s", name);
    p->pub = pub;
    ipcx_pool_stats st;
    ipcx_pool_stats_get(p, &st);
    return 0;
}

void ipcx__pool_unexpose(ipcx_pool *p, int unlink)
{
    if (p->pub_region == NULL)
        return;
    ipcx_region_close(p->pub_region);
    if (unlink)
        (void)ipcx_region_unlink(p->pub_name);
    p->pub_region = NULL;
    p->pub = NULL;
}

IPCX_API int ipcx_pool_info_read(const char *name, ipcx_pool_stats *out)
{
    if (name == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    ipcx_region *r;
    int rc = ipcx__region_open_kind(name, IPCX_REGION_POOL, &r);
    if (rc != 0)
        return rc;
    if (ipcx_region_size(r) < sizeof(struct pool_pub))
        rc = -EPROTO;
    const struct pool_pub *pub = rc == 0 ? ipcx_region_data(r) : NULL;
    if (rc == 0 && pub->layout != 1)
        rc = -EPROTO;
    if (rc != 0) {
        ipcx_region_close(r);
        return rc;
    }
    uint64_t v[P_COUNT];
    for (int i = 0; i < P_COUNT; i++)
        v[i] = load_relaxed(&pub->c[i]);
    out->workers = (uint32_t)v[P_WORKERS];
    out->local = (uint32_t)v[P_LOCAL];
    out->remote = (uint32_t)v[P_REMOTE];
    out->submitted = v[P_SUBMITTED];
    out->queued = v[P_QUEUED];
    out->running = v[P_RUNNING];
    out->done = v[P_DONE];
    out->failed = v[P_FAILED];
    out->retried = v[P_RETRIED];
    out->deaths = v[P_DEATHS];
    out->restarts = v[P_RESTARTS];
    out->bad = v[P_BAD];
    uint32_t n = load_relaxed(&pub->nworker);
    out->nworker = n > PUB_WORKERS ? PUB_WORKERS : n;
    for (uint32_t i = 0; i < out->nworker; i++) {
        out->worker[i].pid = (int32_t)load_relaxed(&pub->w[i].pid);
        out->worker[i].remote = load_relaxed(&pub->w[i].remote) != 0;
        out->worker[i].running = load_relaxed(&pub->w[i].running);
        out->worker[i].slot = load_relaxed(&pub->w[i].slot);
        out->worker[i].done = load_relaxed(&pub->w[i].done);
    }
    ipcx_region_close(r);
    return 0;
}
