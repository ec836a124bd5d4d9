// SPDX-License-Identifier: MIT
/*
 * ipcx queues: creating and opening a queue, attaching a handle as producer
 * or consumer, detaching, statistics, and the read-only walk behind
 * `ipcx queue dump`.  The hot paths are in queue_io.c, the chain (its lock,
 * linking, reclaim, repair and the liveness of slot owners) in
 * queue_chain.c, the files in queue_store.c.  The files are layers:
 * queue.c -> queue_io.c -> queue_chain.c -> queue_store.c, and each calls
 * only the ones after it (queue.c, opening and closing, calls the chain and
 * the store directly: it has nothing to ask of the hot paths).
 *
 * Design note.  The creator writes the whole control block and the first
 * segment, then stores the version with release (queue_store.c); openers
 * load it with acquire, copy the configuration once into the handle and
 * validate it there, and never read it from shared memory again.  Slots are
 * claimed and given up under the chain lock; a slot's `state` is stored
 * with release after its other fields so that readers outside the lock
 * (reclaim, stats) that load it with acquire see a complete slot.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "queue/queue.h"
#include "region/region.h"

/* Pid namespaces: a control block made before 1.2 gets ours; an attacher
 * from another namespace (or one that cannot read its own) marks the queue
 * mixed, for good: no check of a slot or lock owner's pid proves death
 * from then on (platform/liveness.c). */
static void note_namespace(ipcx_queue *q)
{
    uint64_t self = ipcx__live_self_ns(), ns = 0;
    /* Relaxed, both: identities, not publications. */
    if (self != 0 && cas_relaxed(&q->ctl->pidns, &ns, self))
        return;
    if (self == 0 || ns != self)
        store_relaxed(&q->ctl->mixed_ns, 1);
}

/* ------------------------------------------------------------ options */

static uint64_t default_limit(const char *name)
{
    struct statvfs sv;
    const char *dir = ipcx__qname_durable(name) ? name : ipcx__region_dir();
    if (statvfs(dir, &sv) != 0 && (ipcx__qname_durable(name) ? statvfs(".", &sv) : -1) != 0)
        return UINT64_C(1) << 30;
    return (uint64_t)sv.f_bavail * sv.f_frsize / 4;
}

/* -EINVAL for a handle option, with a log line that names the field and
 * what is allowed (ipcx_log_set), as for the queue's configuration. */
#define BAD_OPT(...) (IPCX_LOGE("queue options: " __VA_ARGS__), -EINVAL)

static int check_handle_opts(const ipcx_queue_opts *o)
{
    for (size_t i = 0; i < IPCX_ARRAY_LEN(o->reserved); i++)
        if (o->reserved[i] != 0)
            return BAD_OPT("reserved[%zu] is %u, must be 0", i, (unsigned)o->reserved[i]);
    if ((o->role & ~(uint32_t)(IPCX_QUEUE_PRODUCER | IPCX_QUEUE_CONSUMER)) != 0)
        return BAD_OPT("role %u: IPCX_QUEUE_PRODUCER and/or IPCX_QUEUE_CONSUMER (or 0)",
                       (unsigned)o->role);
    if (o->wait > 1)
        return BAD_OPT("wait %u: IPCX_QUEUE_WAIT_BLOCK (0) or IPCX_QUEUE_WAIT_SPIN (1)",
                       (unsigned)o->wait);
    if (o->start > IPCX_QUEUE_START_SEQ)
        return BAD_OPT("start %u: IPCX_QUEUE_START_OLDEST, _NEWEST or _SEQ (0 .. %u)",
                       (unsigned)o->start, (unsigned)IPCX_QUEUE_START_SEQ);
    return 0;
}

/* Fill the handle's configuration from @o with the defaults applied. */
static int config_from_opts(ipcx_queue *q, const ipcx_queue_opts *o)
{
    q->initial_segment = o->initial_segment ? o->initial_segment : 64 << 10;
    q->initial_segment = (q->initial_segment + IPCX__QPAGE - 1) & ~(uint64_t)(IPCX__QPAGE - 1);
    q->max_segment = o->max_segment ? o->max_segment : 64 << 20;
    q->max_segment = (q->max_segment + IPCX__QPAGE - 1) & ~(uint64_t)(IPCX__QPAGE - 1);
    if (q->max_segment < q->initial_segment)
        q->max_segment = o->max_segment ? 0 : q->initial_segment;
    q->max_message = o->max_message ? o->max_message : q->max_segment / 4;
    q->memory_limit = o->memory_limit ? o->memory_limit : default_limit(q->name);
    q->flags = o->flags | (q->durable ? IPCX__QF_DURABLE : 0);
    q->delivery = o->delivery;
    q->on_limit = o->on_limit;
    q->max_consumers = o->max_consumers ? o->max_consumers : 16;
    uint32_t np = o->max_producers ? o->max_producers : 8;
    q->nslots = q->max_consumers + ((o->flags & IPCX_QUEUE_MULTI_PRODUCER) ? np : 1);
    q->fsync = o->fsync;
    q->fsync_ms = o->fsync_ms ? o->fsync_ms : 100;
    q->retain_bytes = o->retain_bytes;
    q->retain_ns = o->retain_ns;
    if ((o->flags & ~(uint32_t)IPCX_QUEUE_MULTI_PRODUCER) != 0) {
        IPCX_LOGE("queue options: flags 0x%x: only IPCX_QUEUE_MULTI_PRODUCER", (unsigned)o->flags);
        return -EINVAL;
    }
    if ((o->create & ~(uint32_t)(IPCX_CREATE_OPEN | IPCX_CREATE_REPLACE_STALE)) != 0) {
        IPCX_LOGE("queue options: create %u: IPCX_CREATE_OPEN and/or IPCX_CREATE_REPLACE_STALE",
                  (unsigned)o->create);
        return -EINVAL;
    }
    return 0;
}

/* The configuration rules, for opts at create and for a control block
 * read at open alike. */
/* -EINVAL with a log line naming the field and what is allowed (the
 * options at create, or a control block read at open). */
#define BAD_CFG(fmt, ...) (IPCX_LOGE("queue %s: " fmt, q->name, __VA_ARGS__), -EINVAL)

static int config_check(const ipcx_queue *q)
{
    const unsigned long long page = IPCX__QPAGE;
    if (q->initial_segment < IPCX__QPAGE || (q->initial_segment & (IPCX__QPAGE - 1)) != 0)
        return BAD_CFG("initial_segment %llu: a multiple of %llu, at least %llu",
                       (unsigned long long)q->initial_segment, page, page);
    if (q->max_segment > IPCX__QMAX_SEGMENT || q->max_segment < q->initial_segment ||
        (q->max_segment & 7) != 0)
        return BAD_CFG("max_segment %llu: initial_segment (%llu) to %llu",
                       (unsigned long long)q->max_segment, (unsigned long long)q->initial_segment,
                       (unsigned long long)IPCX__QMAX_SEGMENT);
    if (q->max_message == 0 || q->max_message > IPCX__QMAX_MESSAGE)
        return BAD_CFG("max_message %llu: 1 to %llu", (unsigned long long)q->max_message,
                       (unsigned long long)IPCX__QMAX_MESSAGE);
    if (q->memory_limit < q->initial_segment)
        return BAD_CFG("memory_limit %llu: at least initial_segment (%llu)",
                       (unsigned long long)q->memory_limit, (unsigned long long)q->initial_segment);
    if (q->delivery > 1 || q->on_limit > 1 || q->fsync > IPCX_QUEUE_FSYNC_INTERVAL)
        return BAD_CFG("delivery %u (0..1), on_limit %u (0..1) or fsync %u (0..3) out of range",
                       (unsigned)q->delivery, (unsigned)q->on_limit, (unsigned)q->fsync);
    if (q->max_consumers < 1 || q->max_consumers > IPCX__QMAX_SLOTS ||
        q->nslots <= q->max_consumers || q->nslots > 2 * IPCX__QMAX_SLOTS)
        return BAD_CFG("max_consumers %u / max_producers %u: 1 to %u each",
                       (unsigned)q->max_consumers, (unsigned)(q->nslots - q->max_consumers),
                       (unsigned)IPCX__QMAX_SLOTS);
    if (q->retain_ns < 0)
        return BAD_CFG("retain_ns %lld: 0 or more", (long long)q->retain_ns);
    return 0;
}

static size_t ctl_size(const ipcx_queue *q)
{
    size_t n = sizeof(struct ipcx__qctl) + (size_t)q->nslots * sizeof(struct ipcx__qslot);
    return (n + IPCX__QPAGE - 1) & ~(size_t)(IPCX__QPAGE - 1);
}

static void config_write(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    c->magic = IPCX__QCTL_MAGIC;
    c->ctl_size = (uint32_t)ctl_size(q);
    c->flags = q->flags;
    c->delivery = q->delivery;
    c->on_limit = q->on_limit;
    c->nslots = q->nslots;
    c->max_consumers = q->max_consumers;
    c->fsync = q->fsync;
    c->fsync_ms = q->fsync_ms;
    c->initial_segment = q->initial_segment;
    c->max_segment = q->max_segment;
    c->max_message = q->max_message;
    c->memory_limit = q->memory_limit;
    c->retain_bytes = q->retain_bytes;
    c->retain_ns = q->retain_ns;
    c->creator_pid = q->pid;
    c->creator_start = q->start;
    store_relaxed(&c->pidns, ipcx__live_self_ns()); /* published with version */
    store_relaxed(&c->mixed_ns, 0);
}

/* Copy the configuration out of the control block once, then check it. */
static int config_read(ipcx_queue *q)
{
    struct ipcx__qctl *c = q->ctl;
    /* Acquire: pairs with the store_release of version in
     * queue_store.c:ipcx__qstore_ctl_publish. */
    uint32_t v = load_acquire(&c->version);
    if (v == 0)
        return -EAGAIN;
    if (c->magic != IPCX__QCTL_MAGIC || v >> 16 != IPCX__QLAYOUT_MAJOR) {
        IPCX_LOGE("queue %s: layout %u.%u, this library reads %u.x", q->name, v >> 16, v & 0xffff,
                  IPCX__QLAYOUT_MAJOR);
        return -EPROTO;
    }
    q->flags = c->flags;
    q->delivery = c->delivery;
    q->on_limit = c->on_limit;
    q->nslots = c->nslots;
    q->max_consumers = c->max_consumers;
    q->fsync = c->fsync;
    q->fsync_ms = c->fsync_ms;
    q->initial_segment = c->initial_segment;
    q->max_segment = c->max_segment;
    q->max_message = c->max_message;
    q->memory_limit = c->memory_limit;
    q->retain_bytes = c->retain_bytes;
    q->retain_ns = c->retain_ns;
    if (config_check(q) != 0 || ctl_size(q) > q->ctl_len ||
        ((q->flags & IPCX__QF_DURABLE) != 0) != (q->durable != 0))
        return -EPROTO;
    return 0;
}

/* ------------------------------------------------------------ slots */

static void slot_take(ipcx_queue *q, struct ipcx__qslot *s, uint32_t state)
{
    s->pid = q->pid;
    s->start = q->start;
    /* Release: pid/start/pos before the state; pairs with the load_acquire
     * of state in queue_chain.c:ipcx__qchain_min_pos and stats. */
    store_release(&s->state, state);
}

static int attach_producer(ipcx_queue *q)
{
    int others = 0, idx = -1;
    for (uint32_t i = q->max_consumers; i < q->nslots; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        uint32_t st = load_relaxed(&s->state);
        int live = st == IPCX__QS_PRODUCER && ipcx__qslot_alive(q, s) != 0;
        others += live;
        /* a free slot first: a dead one still tells repairers its claim */
        if (!live && (idx < 0 ||
                      (st == IPCX__QS_FREE && load_relaxed(&q->slots[idx].state) != IPCX__QS_FREE)))
            idx = (int)i;
    }
    if (idx < 0)
        return -EBUSY;
    int rc = ipcx__qchain_repair(q);
    if (rc == 0 && (q->flags & IPCX_QUEUE_MULTI_PRODUCER))
        ipcx__qchain_repair_dead_intents(q);
    /* Nobody else can be writing: finish what dead producers left. */
    if (rc == 0 && others == 0)
        rc = ipcx__qchain_skip_abandoned(q);
    if (rc != 0)
        return rc;
    /* The tail as of now, under the lock: our pos keeps it from reclaim. */
    q->pseg_id = load_relaxed(&q->ctl->tail_id);
    q->mb_registered = ipcx__sys_membarrier_register() == 0;
    store_relaxed(&q->slots[idx].pos, ipcx__qpos(q->pseg_id, 0));
    slot_take(q, &q->slots[idx], IPCX__QS_PRODUCER);
    q->pslot = idx;
    return 0;
}

static void start_position(ipcx_queue *q, struct ipcx__qslot *s, const ipcx_queue_opts *o)
{
    struct ipcx__qctl *c = q->ctl;
    uint64_t pos = ipcx__qpos(load_relaxed(&c->head_id), IPCX__QSEG_HDR);
    if (o->start == IPCX_QUEUE_START_NEWEST) {
        struct ipcx__qmap *m = NULL;
        uint64_t tid = load_relaxed(&c->tail_id);
        if (ipcx__qstore_seg_map(q, load_relaxed(&c->tail_file), &m) == 0 &&
            ipcx__qseg_check(m, tid) == 0) {
            /* pairs with the producers' claim store/CAS */
            uint64_t cl = load_acquire(&((struct ipcx__qseg *)m->base)->claim);
            pos = ipcx__qpos(tid, ipcx__qclaim_off(cl));
        }
    }
    q->skip_below = o->start == IPCX_QUEUE_START_SEQ ? o->start_seq : 0;
    q->cseq = 0;
    store_relaxed(&s->pos, pos);
    store_relaxed(&s->next_seq, q->cseq);
    store_relaxed(&s->hold, IPCX__QNOHOLD);
}

static int attach_consumer(ipcx_queue *q, const ipcx_queue_opts *o)
{
    int idx = -1;
    if (o->consumer_id > q->max_consumers)
        return BAD_OPT("consumer_id %u: 0 (any free slot) or 1 .. max_consumers (%u)",
                       (unsigned)o->consumer_id, (unsigned)q->max_consumers);
    if (q->delivery == IPCX_QUEUE_DELIVER_QUEUE)
        ipcx__qchain_unclaim_dead(q);
    for (uint32_t i = 0; o->consumer_id == 0 && i < q->max_consumers && idx < 0; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        uint32_t st = load_relaxed(&s->state);
        if (st == IPCX__QS_FREE ||
            (st == IPCX__QS_CONSUMER && !s->named && !ipcx__qslot_alive(q, s)))
            idx = (int)i;
    }
    if (o->consumer_id != 0)
        idx = (int)o->consumer_id - 1;
    if (idx < 0)
        return -EBUSY;
    struct ipcx__qslot *s = &q->slots[idx];
    uint32_t st = load_relaxed(&s->state);
    if (st == IPCX__QS_CONSUMER && ipcx__qslot_alive(q, s) != 0)
        return -EBUSY;
    if (st != IPCX__QS_CONSUMER || !s->named || o->consumer_id == 0)
        start_position(q, s, o);
    else
        q->cseq = 0; /* resume at pos, the authority; next_seq is a figure
                      * a kill (or an older library) may leave off by one */
    s->named = o->consumer_id != 0;
    store_relaxed(&s->hold, IPCX__QNOHOLD);
    q->cpos = load_relaxed(&s->pos);
    slot_take(q, s, IPCX__QS_CONSUMER);
    q->cslot = idx;
    if (q->wait == IPCX_QUEUE_WAIT_BLOCK) {
        /* Fenced when membarrier works here: producers then keep their
         * cheap release store (queue_io.c:tag_store).  seq_cst: pairs with
         * the producers' loads there (a stale 0 is caught by the slice). */
        q->blocking = ipcx__sys_membarrier_global() == 0 ? 2 : 1;
        fetch_add_seq_cst(q->blocking == 2 ? &q->ctl->fenced_blockers : &q->ctl->blockers, 1);
    }
    return 0;
}

static int attach(ipcx_queue *q, const ipcx_queue_opts *o)
{
    int rc = ipcx__qlock(q, ipcx__deadline_make(0));
    if (rc != 0)
        return rc;
    if (q->role & IPCX_QUEUE_PRODUCER)
        rc = attach_producer(q);
    if (rc == 0 && (q->role & IPCX_QUEUE_CONSUMER))
        rc = attach_consumer(q, o);
    ipcx__qunlock(q);
    if (rc == 0 && (q->role & IPCX_QUEUE_PRODUCER))
        rc = ipcx__qchain_find(q, q->pseg_id, ipcx__deadline_make(0), &q->pseg);
    return rc;
}

/* Lazy roles (as on a ring): a handle becomes a producer at its first
 * send or reserve and a consumer at its first recv or peek, unless
 * opts.role took the role at open already.  -EBUSY when every slot of
 * that role is held by a live process (the single producer, the named
 * consumer slot). */
static int take_role(ipcx_queue *q, uint32_t role)
{
    /* The role held: the call checks the fork itself (queue_io.c). */
    if (IPCX_LIKELY(role == IPCX_QUEUE_PRODUCER ? q->pslot >= 0 : q->cslot >= 0))
        return 0;
    if (ipcx__qforked(q))
        return -ECHILD;
    if (q->broken)
        return ipcx__qbroken_rc(q);
    ipcx_queue_opts o = {
        .consumer_id = q->consumer_id, .start = q->start_at, .start_seq = q->start_seq};
    uint32_t had = q->role;
    q->role = role;
    int rc = attach(q, &o);
    q->role = had | (rc == 0 ? role : 0);
    return rc;
}

int ipcx_queue_reserve(ipcx_queue *q, size_t len, void **data, int64_t timeout_ns)
{
    if (q == NULL || data == NULL)
        return -EINVAL;
    int rc = take_role(q, IPCX_QUEUE_PRODUCER);
    return rc != 0 ? rc : ipcx__qio_reserve(q, len, data, timeout_ns);
}

int ipcx_queue_send(ipcx_queue *q, const void *buf, size_t len, uint64_t *seq, int64_t timeout_ns)
{
    if (q == NULL || (buf == NULL && len != 0))
        return -EINVAL;
    int rc = take_role(q, IPCX_QUEUE_PRODUCER);
    return rc != 0 ? rc : ipcx__qio_send(q, buf, len, seq, timeout_ns);
}

int ipcx_queue_peek(ipcx_queue *q, const void **data, size_t *len, uint64_t *seq,
                    int64_t timeout_ns)
{
    if (q == NULL || data == NULL)
        return -EINVAL;
    int rc = take_role(q, IPCX_QUEUE_CONSUMER);
    return rc != 0 ? rc : ipcx__qio_peek(q, data, len, seq, timeout_ns);
}

int ipcx_queue_recv(ipcx_queue *q, void *buf, size_t cap, uint64_t *seq, int64_t timeout_ns)
{
    if (q == NULL || (buf == NULL && cap != 0))
        return -EINVAL;
    int rc = take_role(q, IPCX_QUEUE_CONSUMER);
    return rc != 0 ? rc : ipcx__qio_recv(q, buf, cap, seq, timeout_ns);
}

static void detach(ipcx_queue *q)
{
    if (q->ctl == NULL || (q->pslot < 0 && q->cslot < 0) ||
        ipcx__qlock(q, ipcx__deadline_make(0)) != 0)
        return;
    if (q->pslot >= 0)
        store_release(&q->slots[q->pslot].state, IPCX__QS_FREE); /* pairs with min_pos/attach */
    if (q->cslot >= 0) {
        struct ipcx__qslot *s = &q->slots[q->cslot];
        if (s->named)
            s->pid = 0; /* keeps its position; free to reopen */
        else
            store_release(&s->state, IPCX__QS_FREE); /* pairs with min_pos/attach */
        if (q->blocking)
            fetch_sub_seq_cst(q->blocking == 2 ? &q->ctl->fenced_blockers : &q->ctl->blockers, 1);
        ipcx__qchain_reclaim(q);
    }
    ipcx__qunlock(q);
}

/* ------------------------------------------------------------ create, open */

static int handle_new(const char *name, const ipcx_queue_opts *o, ipcx_queue **out)
{
    static const ipcx_queue_opts zero;
    if (name == NULL || out == NULL)
        return -EINVAL;
    if (o == NULL)
        o = &zero;
    int rc = check_handle_opts(o);
    int durable = ipcx__qname_durable(name);
    if (rc == 0 && !durable)
        rc = ipcx_region_name_valid(name);
    /* room for ".seg.4294967295" in a region name */
    if (rc == 0 && !durable && strlen(name) > IPCX_QUEUE_NAME_MAX)
        rc = -ENAMETOOLONG;
    if (rc == 0 && strlen(name) + 20 >= sizeof((*out)->name))
        rc = -ENAMETOOLONG;
    if (rc != 0)
        return rc;
    ipcx_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return -ENOMEM;
    if (ipcx__fork_watch(&q->fork_gen) != 0) {
        free(q);
        return -ENOMEM;
    }
    strcpy(q->name, name);
    q->durable = durable;
    q->pid = getpid();
    q->start = ipcx__proc_start_time(q->pid);
    /* Roles named in opts are taken at open; the others lazily.  A named
     * consumer slot (consumer_id) is a consumer role. */
    q->role = o->role | (o->consumer_id != 0 ? (uint32_t)IPCX_QUEUE_CONSUMER : 0u);
    q->consumer_id = o->consumer_id;
    q->start_at = o->start;
    q->start_seq = o->start_seq;
    q->wait = o->wait;
    q->pslot = q->cslot = -1;
    *out = q;
    return 0;
}

static void handle_free(ipcx_queue *q)
{
    ipcx__qstore_cache_drop_all(q);
    ipcx__qstore_ctl_close(q);
    free(q);
}

static int create_new(const char *name, const ipcx_queue_opts *opts, ipcx_queue **out);
static int open_handle(const char *name, const ipcx_queue_opts *o, int observe, ipcx_queue **out);

/* An in-memory queue whose creator is dead and whose every producer and
 * consumer slot is free or held by a dead process (or that never became
 * ready).  Durable queues and unknown liveness are never stale. */
static int queue_stale(const char *name)
{
    ipcx_region_info ri;
    if (ipcx__qname_durable(name) || ipcx_region_stat(name, &ri) != 0 ||
        ri.kind != IPCX_REGION_QUEUE || ri.creator_alive != 0)
        return 0;
    ipcx_queue *q = NULL;
    int rc = open_handle(name, NULL, 1, &q);
    if (rc == -EAGAIN)
        return 1; /* its creator died before publishing it */
    if (rc != 0)
        return 0;
    int stale = 1;
    for (uint32_t i = 0; i < q->nslots && stale; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        /* Relaxed: a liveness look; the answer is only as good as its moment. */
        if (load_relaxed(&s->state) != IPCX__QS_FREE && ipcx__qslot_alive(q, s) != 0)
            stale = 0;
    }
    ipcx_queue_close(q);
    return stale;
}

int ipcx_queue_create(const char *name, const ipcx_queue_opts *opts, ipcx_queue **out)
{
    int rc = create_new(name, opts, out);
    uint32_t how = opts != NULL ? opts->create : 0;
    for (int round = 0; rc == -EEXIST && how != 0 && round < 16; round++) {
        if ((how & IPCX_CREATE_REPLACE_STALE) && queue_stale(name)) {
            IPCX_LOGI("queue %s: replacing a stale queue (creator and every peer dead)", name);
            ipcx_queue_unlink(name);
            rc = create_new(name, opts, out);
            continue;
        }
        if (!(how & IPCX_CREATE_OPEN))
            return -EEXIST;
        rc = open_handle(name, opts, 0, out);
        if (rc == 0)
            return 1;
        if (rc == -ENOENT) {
            rc = create_new(name, opts, out); /* removed meanwhile */
        } else if (rc == -EAGAIN) {
            const struct timespec ms = {0, 1000000}; /* being created */
            nanosleep(&ms, NULL);
            rc = -EEXIST;
        }
    }
    return rc;
}

static int create_new(const char *name, const ipcx_queue_opts *opts, ipcx_queue **out)
{
    static const ipcx_queue_opts zero;
    const ipcx_queue_opts *o = opts ? opts : &zero;
    ipcx_queue *q = NULL;
    int rc = handle_new(name, o, &q);
    if (rc != 0)
        return rc;
    rc = config_from_opts(q, o);
    if (rc == 0)
        rc = config_check(q);
    if (rc == 0)
        rc = ipcx__qstore_ctl_create(q, ctl_size(q));
    if (rc != 0) {
        handle_free(q);
        return rc;
    }
    q->ctl_len = ctl_size(q);
    q->slots = (struct ipcx__qslot *)(q->ctl + 1);
    config_write(q);
    rc = ipcx__qchain_init(q);
    if (rc == 0)
        rc = attach(q, o);
    if (rc != 0) {
        handle_free(q);
        ipcx__qstore_unlink_all(name);
        return rc;
    }
    ipcx__qstore_ctl_publish(q);
    *out = q;
    return 0;
}

static int open_handle(const char *name, const ipcx_queue_opts *o, int observe, ipcx_queue **out)
{
    ipcx_queue *q = NULL;
    int rc = handle_new(name, o, &q);
    if (rc != 0)
        return rc;
    rc = ipcx__qstore_ctl_open(q);
    if (rc == 0)
        rc = config_read(q);
    if (rc == 0) {
        q->slots = (struct ipcx__qslot *)(q->ctl + 1);
        if (observe) {
            q->role = 0;
        } else {
            note_namespace(q);
            rc = attach(q, o ? o : &(ipcx_queue_opts){0});
        }
    }
    if (rc != 0) {
        detach(q);
        handle_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

int ipcx_queue_open(const char *name, const ipcx_queue_opts *opts, ipcx_queue **out)
{
    return open_handle(name, opts, 0, out);
}

void ipcx_queue_close(ipcx_queue *q)
{
    if (q == NULL)
        return;
    if (ipcx__qforked(q)) {
        /* A child's copy of a parent's handle: the slots, the reservation
         * and the peeked message are the parent's.  Unmap, touch nothing. */
        handle_free(q);
        return;
    }
    if (q->res_hdr != NULL) {
        /* A reservation left open is not sent (its bytes may be half
         * written): it becomes a skip record.  Release: len before the tag,
         * pairs with queue_io.c:read_at. */
        struct ipcx__qrec *r = (struct ipcx__qrec *)q->res_hdr;
        store_release(&r->commit, ipcx__qtag(q->pseg_id, IPCX__QT_SKIP));
        fetch_add_relaxed(&q->ctl->skipped, 1);
        q->res_hdr = NULL;
    }
    if (q->peeked && q->delivery == IPCX_QUEUE_DELIVER_QUEUE) {
        /* Hand the claimed message back if nobody claimed past it. */
        if (ipcx__qchain_unclaim(q, q->peek_pos, q->peek_next))
            store_seq_cst(&q->slots[q->cslot].hold, IPCX__QNOHOLD); /* pairs with min_pos */
        else
            ipcx__qio_release_held(q); /* counted as taken */
        q->peeked = 0;
    }
    detach(q);
    handle_free(q);
}

int ipcx_queue_unlink(const char *name)
{
    return ipcx__qstore_unlink_all(name);
}

/* ------------------------------------------------------------ stats */

static uint64_t tail_next_seq(ipcx_queue *q, uint64_t *head_seq)
{
    struct ipcx__qctl *c = q->ctl;
    struct ipcx__qmap *m = NULL;
    uint64_t next = 0;
    if (ipcx__qchain_find(q, load_relaxed(&c->head_id), ipcx__deadline_make(0), &m) == 0)
        *head_seq = ((struct ipcx__qseg *)m->base)->base_seq;
    if (ipcx__qchain_find(q, load_relaxed(&c->tail_id), ipcx__deadline_make(0), &m) == 0) {
        struct ipcx__qseg *h = (struct ipcx__qseg *)m->base;
        next = h->base_seq + ipcx__qclaim_count(load_acquire(&h->claim)); /* pairs with claim */
    }
    return next;
}

static void consumer_stats(ipcx_queue *q, ipcx_queue_info *out)
{
    for (uint32_t i = 0; i < q->max_consumers; i++) {
        struct ipcx__qslot *s = &q->slots[i];
        if (load_acquire(&s->state) != IPCX__QS_CONSUMER) /* pairs with slot_take */
            continue;
        out->consumers++;
        if (out->nconsumer >= IPCX_QUEUE_STATS_CONSUMERS)
            continue;
        ipcx_queue_consumer_info *cs = &out->consumer[out->nconsumer++];
        cs->id = i + 1;
        cs->pid = s->pid;
        cs->alive = ipcx__qslot_alive(q, s);
        cs->next_seq = load_relaxed(&s->next_seq);
        cs->msgs = load_relaxed(&s->msgs);
        cs->lag = out->next_seq > cs->next_seq ? out->next_seq - cs->next_seq : 0;
    }
}

int ipcx_queue_stats(ipcx_queue *q, ipcx_queue_info *out)
{
    if (q == NULL || out == NULL)
        return -EINVAL;
    if (ipcx__qforked(q))
        return -ECHILD;
    struct ipcx__qctl *c = q->ctl;
    memset(out, 0, sizeof *out);
    out->durable = q->durable;
    out->delivery = q->delivery;
    out->segments = load_relaxed(&c->nsegs);
    out->free_segments = load_relaxed(&c->free_n);
    out->bytes_used = load_relaxed(&c->mem_used);
    out->memory_limit = q->memory_limit;
    out->initial_segment = q->initial_segment;
    out->max_segment = q->max_segment;
    out->max_message = q->max_message;
    out->next_seq = tail_next_seq(q, &out->head_seq);
    out->skipped = load_relaxed(&c->skipped);
    out->sent = out->next_seq - out->skipped;
    out->limit_hits = load_relaxed(&c->limit_hits);
    for (uint32_t i = q->max_consumers; i < q->nslots; i++)
        if (load_acquire(&q->slots[i].state) == IPCX__QS_PRODUCER && /* pairs with slot_take */
            ipcx__qslot_alive(q, &q->slots[i]) > 0)
            out->producers++;
    consumer_stats(q, out);
    return 0;
}

int ipcx_queue_stat(const char *name, ipcx_queue_info *out)
{
    ipcx_queue *q = NULL;
    int rc = open_handle(name, NULL, 1, &q);
    if (rc != 0)
        return rc;
    rc = ipcx_queue_stats(q, out);
    ipcx_queue_close(q);
    return rc;
}

/* ------------------------------------------------------------ dump */

/* Call @fn for each committed record of segment @m (chain id @id).
 * Returns the count, fn's non-zero result as (rc, *stop = 1), or -EPROTO. */
static int dump_seg(struct ipcx__qmap *m, uint64_t id, ipcx_queue_dump_fn fn, void *ctx, int *stop)
{
    struct ipcx__qseg *h = (struct ipcx__qseg *)m->base;
    uint64_t end = ipcx__qclaim_off(load_acquire(&h->claim)); /* pairs with claim */
    int n = 0;
    if (end > m->size || end < IPCX__QSEG_HDR)
        return -EPROTO;
    for (uint64_t p = IPCX__QSEG_HDR; p + IPCX__QREC_HDR <= end;) {
        struct ipcx__qrec *r = (struct ipcx__qrec *)(m->base + p);
        uint32_t tag = load_acquire(&r->commit); /* pairs with the commit store */
        /* Read once (after the tag's acquire) into locals: checked, then used. */
        uint32_t len = load_relaxed(&r->len);
        uint64_t seq = load_relaxed(&r->seq);
        if (tag != ipcx__qtag(id, IPCX__QT_MSG) && tag != ipcx__qtag(id, IPCX__QT_SKIP))
            break; /* not committed (yet): the end of what can be read */
        if (ipcx__qrec_size(len) > end - p)
            return -EPROTO;
        if (tag == ipcx__qtag(id, IPCX__QT_MSG)) {
            int rc = fn(ctx, seq, m->base + p + IPCX__QREC_HDR, len);
            if (rc != 0) {
                *stop = 1;
                return rc;
            }
            n++;
        }
        p += ipcx__qrec_size(len);
    }
    return n;
}

int ipcx_queue_dump(const char *name, ipcx_queue_dump_fn fn, void *ctx)
{
    ipcx_queue *q = NULL;
    if (fn == NULL)
        return -EINVAL;
    int rc = open_handle(name, NULL, 1, &q);
    if (rc != 0)
        return rc;
    int total = 0, stop = 0;
    uint64_t id = load_relaxed(&q->ctl->head_id);
    for (; id <= load_relaxed(&q->ctl->tail_id) && !stop; id++) {
        struct ipcx__qmap *m = NULL;
        rc = ipcx__qchain_find(q, id, ipcx__deadline_make(0), &m);
        if (rc == -ENOENT && id < load_relaxed(&q->ctl->head_id))
            continue; /* given back while we walked (a live queue) */
        if (rc == 0)
            rc = dump_seg(m, id, fn, ctx, &stop);
        if (rc < 0 || stop)
            break;
        total += rc;
        rc = total;
    }
    ipcx_queue_close(q);
    return rc;
}
