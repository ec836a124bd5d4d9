// SPDX-License-Identifier: MIT
/*
 * The patterns: which pipe a message goes to, which incoming message the
 * caller gets next and in what shape (ZeroMQ's semantics, so that libzmq
 * peers interoperate).
 *
 *   PAIR          one peer; a second connection is refused
 *   PUSH, DEALER  round-robin over peers with room (DEALER fair-queues in)
 *   PULL          fair-queues in
 *   PUB           to every peer whose subscriptions match; a peer past its
 *                 high-water mark loses the message (counted in drops)
 *   SUB           subscriptions go to every PUB peer; incoming messages are
 *                 filtered again here (a peer may send before it has
 *                 seen a subscription being cancelled)
 *   REQ           [request id (CORRELATE)] + empty delimiter + body out,
 *                 round-robin; only the reply to the request in flight
 *                 from the peer it went to is delivered
 *   REP           strips the envelope (everything up to the empty
 *                 delimiter), keeps it, and puts it back on the reply
 *   ROUTER        prepends the sender's identity on receipt; routes by the
 *                 first part on send
 *
 * All under the socket's mutex.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "socket/socket_int.h"

/* A message may go to @p now: connected with room, or - second choice -
 * a dialled peer that is reconnecting (it was connected before) with room. */
static sk_pipe *pick_rr(ipcx_socket *s, bool reconnecting)
{
    sk_pipe *start = s->rr_out != NULL && s->rr_out->next != NULL ? s->rr_out->next : s->pipes;
    sk_pipe *p = start;
    if (p == NULL)
        return NULL;
    do {
        bool ok = p->state == P_ACTIVE ||
                  (reconnecting && p->dialer != NULL && p->was_active && p->state != P_DEAD);
        if (ok && ipcx__pipe_room(p)) {
            s->rr_out = p;
            return p;
        }
        p = p->next != NULL ? p->next : s->pipes;
    } while (p != start);
    return NULL;
}

static sk_pipe *pick_out(ipcx_socket *s)
{
    sk_pipe *p = pick_rr(s, false);
    return p != NULL ? p : pick_rr(s, true);
}

static int put(ipcx_socket *s, sk_pipe *p, const sk_part *parts, size_t n, int flags)
{
    int rc = ipcx__pipe_put(p, parts, n, (flags & IPCX_BATCH) != 0);
    if (rc == -EPIPE) {
        s->st.drops++; /* the connection failed as it was written to */
        p->n_drops++;
        return 0;
    }
    if (rc == 0)
        p->n_out++;
    return rc;
}

static sk_pipe *router_find(ipcx_socket *s, const sk_part *id)
{
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if (p->state == P_ACTIVE && p->ident_len == id->len &&
            memcmp(p->ident, id->data, id->len) == 0)
            return p;
    return NULL;
}

int ipcx__pat_send(ipcx_socket *s, const sk_part *parts, size_t n, int flags, bool *wait)
{
    *wait = false;
    switch (s->pattern) {
    case IPCX_PUSH:
    case IPCX_DEALER:
    case IPCX_PAIR: {
        sk_pipe *p = pick_out(s);
        if (p == NULL) {
            *wait = true;
            return -EAGAIN;
        }
        return put(s, p, parts, n, flags);
    }
    case IPCX_REQ: {
        if (s->req_waiting && !s->req_relaxed)
            return -EBADFD;
        sk_pipe *p = pick_rr(s, false);
        if (p == NULL) {
            *wait = true;
            return -EAGAIN;
        }
        sk_part stack[18];
        sk_part *v = n + 2 <= IPCX_ARRAY_LEN(stack) ? stack : malloc((n + 2) * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        size_t k = 0;
        uint8_t idb[4];
        s->req_id++;
        if (s->req_correlate) {
            memcpy(idb, &s->req_id, 4);
            v[k++] = (sk_part){idb, 4};
        }
        v[k++] = (sk_part){NULL, 0};
        memcpy(v + k, parts, n * sizeof(*v));
        int rc = put(s, p, v, n + k, flags & ~IPCX_BATCH);
        if (v != stack)
            free(v);
        if (rc == 0) {
            s->req_pipe = p;
            s->req_waiting = true;
            s->req_lost = false;
        }
        return rc;
    }
    case IPCX_REP: {
        if (!s->rep_replying)
            return -EBADFD;
        sk_pipe *p = s->rep_pipe;
        int rc = 0;
        if (p != NULL && p->state == P_ACTIVE) {
            size_t ne = s->rep_env->n;
            sk_part *v = malloc((ne + n) * sizeof(*v));
            if (v == NULL)
                return -ENOMEM;
            memcpy(v, s->rep_env->parts, ne * sizeof(*v));
            memcpy(v + ne, parts, n * sizeof(*v));
            rc = put(s, p, v, ne + n, flags);
            free(v);
        } else {
            s->st.drops++;
        }
        if (rc == 0) {
            s->rep_replying = false;
            s->rep_pipe = NULL;
            ipcx__msg_clear(s->rep_env);
        }
        return rc;
    }
    case IPCX_PUB: {
        int brc = ipcx__shm_pub_send(s, parts, n); /* shm:// subscribers: one write for all */
        if (brc != 0)
            return brc;
        for (sk_pipe *p = s->pipes; p != NULL; p = p->next) {
            if (p->state != P_ACTIVE || p->shm != NULL)
                continue;
            if (!ipcx__topics_match(&p->subs, parts[0].data, parts[0].len))
                continue;
            if (!ipcx__pipe_room(p)) {
                s->st.drops++;
                p->n_drops++;
                continue;
            }
            int rc = put(s, p, parts, n, flags);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    case IPCX_ROUTER: {
        sk_pipe *p = router_find(s, &parts[0]);
        if (p == NULL) {
            if (s->router_mandatory)
                return -EHOSTUNREACH;
            s->st.drops++;
            return 0;
        }
        if (!ipcx__pipe_room(p)) {
            if (s->router_mandatory) {
                *wait = true;
                return -EAGAIN;
            }
            s->st.drops++;
            p->n_drops++;
            return 0;
        }
        if (n == 1)
            return 0; /* an identity alone: nothing to send */
        return put(s, p, parts + 1, n - 1, flags);
    }
    default:
        return -ENOTSUP;
    }
}

/* ------------------------------------------------------------ receiving */

static int view_reserve(sk_view *v, size_t n)
{
    if (n <= v->cap)
        return 0;
    size_t ncap = v->cap ? v->cap : 8;
    while (ncap < n)
        ncap *= 2;
    sk_part *np = realloc(v->parts, ncap * sizeof(*np));
    if (np == NULL)
        return -ENOMEM;
    v->parts = np;
    v->cap = ncap;
    return 0;
}

/* The next pipe with a message, fair-queued. */
static sk_pipe *next_head(ipcx_socket *s)
{
    sk_pipe *start = s->rr_in != NULL && s->rr_in->next != NULL ? s->rr_in->next : s->pipes;
    sk_pipe *p = start;
    if (p == NULL)
        return NULL;
    do {
        sk_pipe *nx = p->next != NULL ? p->next : s->pipes;
        if ((p->state == P_ACTIVE || p->state == P_HANDSHAKE) && ipcx__pipe_next(p) == 1 &&
            p->state == P_ACTIVE) {
            s->rr_in = p;
            return p;
        }
        p = nx;
    } while (p != start);
    return NULL;
}

static void drop_head(ipcx_socket *s, sk_pipe *p)
{
    s->st.drops++;
    p->n_drops++;
    ipcx__pipe_consume(p);
}

/* Shape @p's head into the view for the caller.  Returns 1 when the view
 * is ready, 0 when the message was dropped (filtered, malformed), or
 * -ENOMEM. */
static int shape(ipcx_socket *s, sk_pipe *p)
{
    size_t n = ipcx__head_parts(p);
    sk_view *v = &s->view;
    size_t skip = 0;
    switch (s->pattern) {
    case IPCX_SUB: {
        sk_part first = ipcx__head_part(p, 0);
        if (!ipcx__topics_match(&s->subs, first.data, first.len)) {
            s->st.filtered++;
            ipcx__pipe_consume(p);
            return 0;
        }
        break;
    }
    case IPCX_REQ: {
        if (!s->req_waiting || p != s->req_pipe) {
            drop_head(s, p); /* a late reply, or from a peer we did not ask */
            return 0;
        }
        if (s->req_correlate) {
            sk_part id = ipcx__head_part(p, 0);
            if (n < 2 || id.len != 4 || memcmp(id.data, &s->req_id, 4) != 0) {
                drop_head(s, p);
                return 0;
            }
            skip = 1;
        }
        if (n <= skip + 1 || ipcx__head_part(p, skip).len != 0) {
            drop_head(s, p);
            return 0;
        }
        skip++;
        break;
    }
    case IPCX_REP: {
        size_t k = 0;
        while (k < n && ipcx__head_part(p, k).len != 0)
            k++;
        if (k >= n - 1 || k > 64) {
            drop_head(s, p); /* no delimiter, or no body */
            return 0;
        }
        ipcx__msg_clear(s->rep_env);
        for (size_t i = 0; i <= k; i++) {
            sk_part e = ipcx__head_part(p, i);
            if (ipcx_msg_append(s->rep_env, e.data, e.len) < 0)
                return -ENOMEM;
        }
        skip = k + 1;
        break;
    }
    default:
        break;
    }
    bool add_id = s->pattern == IPCX_ROUTER;
    size_t vn = n - skip + (add_id ? 1 : 0);
    if (view_reserve(v, vn) != 0)
        return -ENOMEM;
    size_t j = 0;
    if (add_id)
        v->parts[j++] = (sk_part){p->ident, p->ident_len};
    for (size_t i = skip; i < n; i++)
        v->parts[j++] = ipcx__head_part(p, i);
    v->n = vn;
    v->k = 0;
    v->p = p;
    v->active = true;
    p->n_in++;
    return 1;
}

/* The caller takes the view's first part: the request is now being
 * answered (REP), the reply has come (REQ). */
void ipcx__pat_view_start(ipcx_socket *s)
{
    if (s->pattern == IPCX_REP) {
        s->rep_pipe = s->view.p;
        s->rep_replying = true;
    }
    if (s->pattern == IPCX_REQ)
        s->req_waiting = false;
}

/* 1 when a message could be sent now without waiting. */
int ipcx__pat_writable(ipcx_socket *s)
{
    switch (s->pattern) {
    case IPCX_PUB:
    case IPCX_ROUTER:
        return 1;
    case IPCX_REP:
        return s->rep_replying;
    case IPCX_REQ:
        if (s->req_waiting && !s->req_relaxed)
            return 0;
        break;
    case IPCX_SUB:
    case IPCX_PULL:
        return 0;
    default:
        break;
    }
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if ((p->state == P_ACTIVE || (p->dialer != NULL && p->was_active)) && ipcx__pipe_room(p))
            return 1;
    return 0;
}

int ipcx__pat_recv(ipcx_socket *s, bool *wait)
{
    *wait = false;
    switch (s->pattern) {
    case IPCX_PUB:
    case IPCX_PUSH:
        return -ENOTSUP;
    case IPCX_REQ:
        if (s->req_lost) {
            s->req_lost = false;
            s->req_waiting = false;
            return -EPIPE;
        }
        if (!s->req_waiting)
            return -EBADFD;
        break;
    case IPCX_REP:
        if (s->rep_replying)
            return -EBADFD;
        break;
    default:
        break;
    }
    for (;;) {
        sk_pipe *p = next_head(s);
        if (p == NULL) {
            if (s->pattern == IPCX_REQ && s->req_lost) {
                s->req_lost = false;
                s->req_waiting = false;
                return -EPIPE;
            }
            *wait = true;
            return -EAGAIN;
        }
        int rc = shape(s, p);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
}

/* ------------------------------------------------------------ peers */

void ipcx__pat_pipe_gone(ipcx_socket *s, sk_pipe *p)
{
    sk_view *v = &s->view;
    if (v->active && v->p == p) {
        /* The caller is halfway through this pipe's message: keep the rest. */
        ipcx_msg *own = ipcx__msg_new();
        bool ok = own != NULL;
        for (size_t i = v->k; ok && i < v->n; i++)
            ok = ipcx_msg_append(own, v->parts[i].data, v->parts[i].len) >= 0;
        if (ok) {
            for (size_t i = v->k; i < v->n; i++)
                v->parts[i] = own->parts[i - v->k];
            v->own = own;
            v->p = NULL;
        } else {
            ipcx_msg_destroy(own);
            v->active = false; /* out of memory: the rest is lost */
            v->p = NULL;
        }
    }
    if (s->req_pipe == p) {
        s->req_pipe = NULL;
        if (s->req_waiting && !s->req_relaxed)
            s->req_lost = true;
    }
    if (s->rep_pipe == p)
        s->rep_pipe = NULL;
}

void ipcx__pat_pipe_ready(ipcx_socket *s, sk_pipe *p)
{
    if (s->pattern == IPCX_SUB) {
        for (size_t i = 0; i < s->subs.n && p->fd >= 0; i++)
            ipcx__pipe_send_sub(p, true, s->subs.v[i].data, s->subs.v[i].len);
    }
    if (s->pattern == IPCX_ROUTER) {
        if (p->ident_len > 0) {
            sk_part id = {p->ident, p->ident_len};
            sk_pipe *other = router_find(s, &id);
            if (other != NULL && other != p)
                p->ident_len = 0; /* taken: this peer gets a generated one */
        }
        if (p->ident_len == 0) {
            /* libzmq's form: a zero byte (never a peer-chosen identity's
             * first byte) and a 32-bit counter. */
            uint32_t id = ++s->router_next_id;
            p->ident[0] = 0;
            memcpy(p->ident + 1, &id, 4);
            p->ident_len = 5;
        }
    }
}
