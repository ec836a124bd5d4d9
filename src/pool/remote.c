// SPDX-License-Identifier: MIT
/*
 * Remote workers: the pool's ROUTER socket and the worker's DEALER side
 * (ipcx_pool_serve).  The frames are in docs/pool.md; integers are
 * little-endian, whatever the host.
 *
 *   worker -> pool   "READY"  credit:u32          (on every connection)
 *                    "RESULT" id:u64 status:i32 [result bytes]
 *   pool -> worker   "TASK"   id:u64 attempt:u32 [task bytes]
 *                    "PING"                       (ignored: a liveness probe)
 *                    "STOP"
 *
 * (the ROUTER adds, and takes, the worker's identity as a first part).
 *
 * Design note.  Everything here runs in the thread that uses the pool
 * (the socket's own I/O thread does the reading and writing between calls).
 * A worker holds at most `credit` tasks; each result gives one back.  A
 * remote worker is gone when its connection ends: the ROUTER queues a
 * DISCONNECTED event, and we then probe every remote worker with a PING
 * under ROUTER_MANDATORY, whose -EHOSTUNREACH names the ones whose
 * connection is gone (the event does not carry the identity).  Their tasks
 * go back to the queue exactly as a dead local worker's do.  Heartbeats
 * (ZMTP PING, 1 s, dropped after 5 s of silence) turn a host that vanished
 * without closing its connection into the same event.  Frames from the
 * network are untrusted: lengths, ids and status values are checked; a bad
 * frame is dropped and counted in `bad`, never trusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_int.h"

#define HEARTBEAT_NS   (1000 * 1000 * 1000LL)
#define HEARTBEAT_TMO  (5 * HEARTBEAT_NS)
#define SERVE_SLICE_NS (100 * 1000 * 1000LL)
#define SERVE_BURST    64 /* tasks taken before their results go out */

static void put_u32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static int part_is(ipcx_msg *m, size_t i, const char *word)
{
    size_t len;
    const void *d = ipcx_msg_data(m, i, &len);
    return d != NULL && len == strlen(word) && memcmp(d, word, len) == 0;
}

/* ------------------------------------------------------------ pool side */

int ipcx__pool_remote_open(ipcx_pool *p)
{
    ipcx_socket *s;
    int rc = ipcx_socket_open(IPCX_ROUTER, &s);
    if (rc != 0)
        return rc;
    int64_t max_msg = (int64_t)p->o.max_task + p->o.max_result + 4096;
    if ((rc = ipcx_socket_set(s, IPCX_OPT_ROUTER_MANDATORY, 1)) != 0 ||
        (rc = ipcx_socket_set(s, IPCX_OPT_EVENTS, IPCX_EV_DISCONNECTED)) != 0 ||
        (rc = ipcx_socket_set(s, IPCX_OPT_HEARTBEAT_IVL, HEARTBEAT_NS)) != 0 ||
        (rc = ipcx_socket_set(s, IPCX_OPT_HEARTBEAT_TIMEOUT, HEARTBEAT_TMO)) != 0 ||
        (rc = ipcx_socket_set(s, IPCX_OPT_MAX_MSG_SIZE, max_msg)) != 0 ||
        (rc = ipcx_socket_set(s, IPCX_OPT_LINGER, 200 * 1000 * 1000LL)) != 0 ||
        (rc = ipcx_listen(s, p->o.listen)) != 0) {
        ipcx_socket_close(s);
        return rc;
    }
    p->router = s;
    p->router_fd = ipcx_socket_fd(s);
    return 0;
}

IPCX_API int ipcx_pool_endpoint(ipcx_pool *p, char *buf, size_t cap)
{
    if (p == NULL || buf == NULL)
        return -EINVAL;
    if (p->router == NULL)
        return -ENOENT;
    return ipcx_socket_endpoint(p->router, 0, buf, cap);
}

static int send_frames_flags(ipcx_pool *p, const struct pworker *w, const void *a, size_t alen,
                             const void *b, size_t blen, const void *c, size_t clen, int flags)
{
    ipcx_msg *m;
    int rc = ipcx_msg_create(w->ident_len, &m);
    if (rc != 0)
        return rc;
    memcpy(ipcx_msg_data(m, 0, NULL), w->ident, w->ident_len);
    if ((rc = ipcx_msg_append(m, a, alen)) < 0 ||
        (b != NULL && (rc = ipcx_msg_append(m, b, blen)) < 0) ||
        (c != NULL && (rc = ipcx_msg_append(m, c, clen)) < 0)) {
        ipcx_msg_destroy(m);
        return rc;
    }
    rc = ipcx_msg_send(p->router, m, IPCX_DONTWAIT | flags);
    if (rc != 0)
        ipcx_msg_destroy(m);
    return rc;
}

static int send_frames(ipcx_pool *p, const struct pworker *w, const void *a, size_t alen,
                       const void *b, size_t blen, const void *c, size_t clen)
{
    return send_frames_flags(p, w, a, alen, b, blen, c, clen, 0);
}

static void remote_gone(ipcx_pool *p, int slot)
{
    p->deaths++;
    ipcx__pool_requeue(p, slot, 0);
    memset(&p->w[slot], 0, sizeof(p->w[slot]));
    p->w[slot].pidfd = -1;
}

void ipcx__pool_remote_close(ipcx_pool *p, int say_stop)
{
    if (p->router == NULL)
        return;
    if (say_stop)
        ipcx__pool_remote_pump(p); /* workers whose READY is still unread */
    for (uint32_t i = 0; say_stop && i < p->nslots; i++) {
        if (p->w[i].kind == W_REMOTE)
            send_frames(p, &p->w[i], "STOP", 4, NULL, 0, NULL, 0);
    }
    ipcx_socket_close(p->router);
    p->router = NULL;
    p->router_fd = -1;
}

/* Hand queued tasks to remote workers with credit.  When this call will
 * send several, they go with IPCX_BATCH and out together after the loop
 * (one system call for all, not one each: the pump that calls this sleeps
 * in poll(2) on the router's fd, which does not flush a batch, so the
 * flush is explicit).  A lone task is sent as before (a stream of submits
 * is batched by the socket's automatic batching). */
void ipcx__pool_remote_dispatch(ipcx_pool *p)
{
    uint64_t room = 0;
    for (uint32_t i = 0; i < p->nslots && room < 2; i++) {
        if (p->w[i].kind == W_REMOTE)
            room += p->w[i].credit;
    }
    int flags = room >= 2 && p->nqueued >= 2 ? IPCX_BATCH : 0;
    uint64_t sent = 0;
    for (uint32_t i = 0; i < p->nslots && p->qhead != NULL; i++) {
        struct pworker *w = &p->w[i];
        while (w->kind == W_REMOTE && w->credit > 0 && p->qhead != NULL) {
            struct ptask *t = p->qhead;
            uint8_t hdr[12];
            put_u64(hdr, t->id);
            put_u32(hdr + 8, t->attempts + 1);
            size_t len;
            const void *bytes = ipcx__pool_task_bytes(p, t, &len);
            int rc = send_frames_flags(p, w, "TASK", 4, hdr, sizeof(hdr), bytes, len, flags);
            if (rc == -EHOSTUNREACH) {
                remote_gone(p, (int)i);
                break;
            }
            if (rc != 0)
                break; /* queue full: later */
            sent++;
            p->qhead = t->next;
            if (p->qhead == NULL)
                p->qtail = NULL;
            p->nqueued--;
            t->next = NULL;
            t->state = T_RUNNING;
            t->worker = (int32_t)i;
            t->attempts++;
            w->running++;
            w->credit--;
            p->nrunning++;
        }
        if (p->qhead != NULL && w->kind == W_REMOTE && w->credit > 0)
            break; /* its queue is full: later */
    }
    if (flags != 0 && sent > 0)
        (void)ipcx_socket_events(p->router, 0); /* out with the batch */
}

static int find_ident(ipcx_pool *p, const void *id, size_t len)
{
    for (uint32_t i = 0; i < p->nslots; i++) {
        const struct pworker *w = &p->w[i];
        if (w->kind == W_REMOTE && w->ident_len == len && memcmp(w->ident, id, len) == 0)
            return (int)i;
    }
    return -1;
}

static void on_ready(ipcx_pool *p, ipcx_msg *m, int slot, const void *id, size_t idlen)
{
    size_t len;
    const uint8_t *c = ipcx_msg_data(m, 2, &len);
    uint32_t credit;
    if (ipcx_msg_parts(m) != 3 || ipcx__pool_wire_ready(c, len, &credit) != 0 || idlen == 0 ||
        idlen > sizeof(p->w[0].ident)) {
        p->bad++;
        return;
    }
    if (slot >= 0) { /* the same worker again: what it held is lost */
        ipcx__pool_requeue(p, slot, 0);
    } else {
        slot = ipcx__pool_slot_new(p);
        if (slot < 0)
            return;
        struct pworker *w = &p->w[slot];
        memset(w, 0, sizeof(*w));
        w->pidfd = -1;
        w->kind = W_REMOTE;
        memcpy(w->ident, id, idlen);
        w->ident_len = idlen;
    }
    p->w[slot].credit = credit;
    p->w[slot].last_seen = ipcx__now_ns();
}

static int on_result(ipcx_pool *p, ipcx_msg *m, int slot)
{
    size_t hlen, rlen = 0;
    const uint8_t *h = ipcx_msg_data(m, 2, &hlen);
    const void *res = NULL;
    size_t parts = ipcx_msg_parts(m);
    if (parts == 4)
        res = ipcx_msg_data(m, 3, &rlen);
    uint64_t id;
    int32_t status;
    int rc = ipcx__pool_wire_result(h, hlen, rlen, p->o.max_result, &id, &status);
    if (slot < 0 || rc == -EBADMSG || parts < 3 || parts > 4) {
        p->bad++;
        return 0;
    }
    struct pworker *w = &p->w[slot];
    struct ptask *t = ipcx__pool_task(p, id);
    if (t == NULL || t->state != T_RUNNING || t->worker != slot) {
        if (w->credit < POOL_CREDIT_MAX)
            w->credit++; /* a late duplicate still frees its place */
        return 0;
    }
    w->credit++;
    w->done++;
    if (rc != 0) {
        p->bad++;
        ipcx__pool_finish(p, t, -EPROTO, NULL, 0, (uint32_t)slot);
        return 1;
    }
    ipcx__pool_finish(p, t, status < 0 ? status : (int)rlen, res, status < 0 ? 0 : rlen,
                      (uint32_t)slot);
    return 1;
}

/* After a disconnection: which remote workers are unreachable now. */
static void probe(ipcx_pool *p)
{
    for (uint32_t i = 0; i < p->nslots; i++) {
        if (p->w[i].kind == W_REMOTE &&
            send_frames(p, &p->w[i], "PING", 4, NULL, 0, NULL, 0) == -EHOSTUNREACH)
            remote_gone(p, (int)i);
    }
}

int ipcx__pool_remote_pump(ipcx_pool *p)
{
    int n = 0;
    ipcx_event ev;
    int lost = 0;
    while (ipcx_socket_event(p->router, &ev) == 0)
        lost |= ev.type == IPCX_EV_DISCONNECTED;
    if (lost)
        probe(p);
    for (int k = 0; k < 256; k++) {
        ipcx_msg *m;
        if (ipcx_msg_recv(p->router, &m, IPCX_DONTWAIT) != 0)
            break;
        size_t idlen;
        const void *id = ipcx_msg_data(m, 0, &idlen);
        int slot = find_ident(p, id, idlen);
        if (slot >= 0)
            p->w[slot].last_seen = ipcx__now_ns();
        if (ipcx_msg_parts(m) >= 2 && part_is(m, 1, "READY"))
            on_ready(p, m, slot, id, idlen);
        else if (ipcx_msg_parts(m) >= 2 && part_is(m, 1, "RESULT"))
            n += on_result(p, m, slot);
        else
            p->bad++;
        ipcx_msg_destroy(m);
    }
    if (n > 0 || lost)
        ipcx__pool_remote_dispatch(p);
    return n + lost;
}

/* ------------------------------------------------------------ worker side */

struct serve {
    ipcx_socket *s;
    ipcx_pool_fn fn;
    void *ctx;
    uint32_t depth, max_result;
    uint8_t *buf;
};

static int send_ready(struct serve *sv)
{
    uint8_t c[4];
    put_u32(c, sv->depth);
    ipcx_msg *m;
    int rc = ipcx_msg_create(5, &m);
    if (rc != 0)
        return rc;
    memcpy(ipcx_msg_data(m, 0, NULL), "READY", 5);
    if ((rc = ipcx_msg_append(m, c, 4)) < 0 || (rc = ipcx_msg_send(sv->s, m, 0)) != 0)
        ipcx_msg_destroy(m);
    return rc < 0 ? rc : 0;
}

/* One TASK message: run it and send the RESULT (with @flags: IPCX_BATCH
 * when more results follow at once).  Returns 0 or -errno. */
static int serve_task(struct serve *sv, ipcx_msg *m, int flags)
{
    size_t hlen, tlen = 0;
    const uint8_t *h = ipcx_msg_data(m, 1, &hlen);
    const void *data = ipcx_msg_parts(m) >= 3 ? ipcx_msg_data(m, 2, &tlen) : "";
    ipcx_pool_task t = {.data = data, .len = tlen};
    if (ipcx__pool_wire_task(h, hlen, &t.id, &t.attempt) != 0 || ipcx_msg_parts(m) > 3)
        return 0; /* not a task we can answer: no id to name */
    int status = sv->fn(sv->ctx, &t, sv->buf, sv->max_result);
    if (status > (int)sv->max_result)
        status = -EMSGSIZE;
    if (status < -POOL_ERRNO_MAX)
        status = -EINVAL;
    uint8_t rh[12];
    memcpy(rh, h, 8);
    put_u32(rh + 8, (uint32_t)(status < 0 ? status : 0));
    ipcx_msg *r;
    int rc = ipcx_msg_create(6, &r);
    if (rc != 0)
        return rc;
    memcpy(ipcx_msg_data(r, 0, NULL), "RESULT", 6);
    if ((rc = ipcx_msg_append(r, rh, sizeof(rh))) < 0 ||
        (status > 0 && (rc = ipcx_msg_append(r, sv->buf, (size_t)status)) < 0) ||
        (rc = ipcx_msg_send(sv->s, r, flags)) != 0) {
        ipcx_msg_destroy(r);
        return rc < 0 ? rc : 0;
    }
    return 0;
}

static int serve_loop(struct serve *sv, int64_t timeout_ns)
{
    int connected = 0;
    int64_t since = ipcx__now_ns();
    for (;;) {
        ipcx_event ev;
        while (ipcx_socket_event(sv->s, &ev) == 0) {
            if (ev.type == IPCX_EV_CONNECTED) {
                connected = 1;
                int rc = send_ready(sv);
                if (rc != 0)
                    return rc;
            } else if (ev.type == IPCX_EV_DISCONNECTED) {
                connected = 0;
                since = ipcx__now_ns();
            }
        }
        if (!connected && timeout_ns >= 0 && ipcx__now_ns() - since > timeout_ns)
            return -ETIMEDOUT;
        /* A burst: the first message waits, the ones already here (at
         * most the credit we gave) are taken without waiting, then all are
         * run and their results go out together, one system call for the
         * burst instead of one per result (a receive would flush a batch,
         * so the burst is taken first).  A result of a long task waits in
         * the batch at most the socket's batch time (50 us). */
        ipcx_msg *burst[SERVE_BURST];
        size_t n = 0;
        int rc = ipcx_msg_recv(sv->s, &burst[0], 0);
        if (rc == -ETIMEDOUT || rc == -EAGAIN || rc == -EINTR)
            continue;
        if (rc != 0)
            return rc;
        for (n = 1; n < SERVE_BURST && n < sv->depth; n++) {
            if (ipcx_msg_recv(sv->s, &burst[n], IPCX_DONTWAIT) != 0)
                break;
        }
        int stop = 0;
        for (size_t i = 0; i < n; i++) {
            if (rc == 0 && !stop) {
                if (part_is(burst[i], 0, "STOP"))
                    stop = 1;
                else if (part_is(burst[i], 0, "TASK"))
                    rc = serve_task(sv, burst[i], i + 1 < n ? IPCX_BATCH : 0);
            }
            ipcx_msg_destroy(burst[i]);
        }
        if (rc != 0 || stop) {
            (void)ipcx_socket_events(sv->s, 0); /* the batch out before STOP's close */
            return rc;
        }
    }
}

IPCX_API int ipcx_pool_serve(const char *url, ipcx_pool_fn fn, void *ctx, uint32_t depth,
                             uint32_t max_result, int64_t timeout_ns)
{
    if (url == NULL || fn == NULL)
        return -EINVAL;
    struct serve sv = {.fn = fn,
                       .ctx = ctx,
                       .depth = depth == 0                ? 16
                                : depth > POOL_CREDIT_MAX ? POOL_CREDIT_MAX
                                                          : depth,
                       .max_result = max_result == 0 ? 65536 : max_result};
    if (sv.max_result > (16u << 20))
        return -EINVAL;
    sv.buf = malloc(sv.max_result);
    if (sv.buf == NULL)
        return -ENOMEM;
    int rc = ipcx_socket_open(IPCX_DEALER, &sv.s);
    if (rc == 0) {
        if ((rc = ipcx_socket_set(sv.s, IPCX_OPT_EVENTS,
                                  IPCX_EV_CONNECTED | IPCX_EV_DISCONNECTED)) == 0 &&
            (rc = ipcx_socket_set(sv.s, IPCX_OPT_RECV_TIMEOUT, SERVE_SLICE_NS)) == 0 &&
            (rc = ipcx_socket_set(sv.s, IPCX_OPT_HEARTBEAT_IVL, HEARTBEAT_NS)) == 0 &&
            (rc = ipcx_socket_set(sv.s, IPCX_OPT_HEARTBEAT_TIMEOUT, HEARTBEAT_TMO)) == 0 &&
            (rc = ipcx_socket_set(sv.s, IPCX_OPT_LINGER, 1000 * 1000 * 1000LL)) == 0 &&
            (rc = ipcx_socket_set(sv.s, IPCX_OPT_RECONNECT_IVL_MAX, HEARTBEAT_NS)) == 0 &&
            (rc = ipcx_dial(sv.s, url)) == 0)
            rc = serve_loop(&sv, timeout_ns);
        ipcx_socket_close(sv.s);
    }
    free(sv.buf);
    return rc;
}
