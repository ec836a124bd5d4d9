// SPDX-License-Identifier: MIT
/*
 * The data path of shm:// pipes: messages into and out of ring records,
 * the output that waits for room, waking a peer only when it sleeps, and
 * spinning in memory.  The design notes and the shared-memory layouts are
 * in shm_int.h; the connection's set-up and end in shm_conn.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "socket/shm_int.h"

void ipcx__shm_ev_write(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w; /* a full counter already wakes the reader */
}

static void ev_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r; /* EAGAIN: nothing was pending */
}

static uint32_t rd32(const uint8_t *b)
{
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

static void wr32(uint8_t *b, uint32_t v)
{
    memcpy(b, &v, 4);
}

/* ------------------------------------------------------------ epoll */

void ipcx__shm_ev_sync(sk_pipe *p)
{
    sk_shm *m = p->shm;
    ipcx_socket *s = p->s;
    if (m->ev_mine < 0)
        return;
    bool bg = s->drains_input || m->q_n > 0;
    if (bg != m->ev_bg) {
        int op = bg ? EPOLL_CTL_ADD : EPOLL_CTL_DEL;
        if (ipcx__sk_bg_epoll(s, op, m->ev_mine, p->id, EPOLLIN) == 0 || !bg)
            m->ev_bg = bg;
    }
}

void ipcx__shm_q_mirror(sk_pipe *p)
{
    /* flush_all and the lingering close look at out_len - out_pos. */
    p->out_pos = 0;
    p->out_len = p->shm->q_n;
    ipcx__shm_ev_sync(p);
}

/* ------------------------------------------------------------ waking */

/* After committing @k records to the peer's ring. */
static void post(sk_shm *m, uint64_t k)
{
    m->sent += k;
    /* Publishes the count after the ring's commit; pairs with the
     * load_seq_cst in sleep_register (the peer): of this RMW and the load of
     * sleep_in below, and the peer's store of sleep_in and load of posted,
     * one side sees the other's write (seq_cst: a release would let the
     * load below pass it). */
    fetch_add_seq_cst(&m->peer->posted, k);
    /* Pairs with the store_seq_cst in sleep_register (the peer). */
    if (load_seq_cst(&m->peer->sleep_in) != 0 && exchange_seq_cst(&m->peer->sleep_in, 0) != 0)
        ipcx__shm_ev_write(m->ev_peer);
}

/* After releasing records of our ring. */
static void released(sk_shm *m, uint64_t k)
{
    m->released += k;
    /* Publishes the room made; pairs with the load_seq_cst in room_check
     * (the peer), a Dekker pair with sleep_room as in post(). */
    store_seq_cst(&m->mine->consumed, m->released);
    /* Pairs with the store_seq_cst of sleep_room in room_check (the peer). */
    if (load_seq_cst(&m->peer->sleep_room) != 0 && exchange_seq_cst(&m->peer->sleep_room, 0) != 0)
        ipcx__shm_ev_write(m->ev_peer);
}

/* Our ring is empty: register asleep.  Returns true when the peer posted
 * a record meanwhile (look again). */
static bool sleep_register(sk_shm *m, uint64_t *posted_out)
{
    /* Pairs with the exchange_seq_cst in post() (the peer): it took the
     * flag, so it wrote, or will write, our eventfd. */
    if (m->asleep && load_seq_cst(&m->mine->sleep_in) == 0)
        ev_drain(m->ev_mine);
    /* Pairs with the load_seq_cst of sleep_in in post() (the peer). */
    store_seq_cst(&m->mine->sleep_in, 1);
    m->asleep = true;
    /* Pairs with the fetch_add_seq_cst in post() (the peer). */
    uint64_t posted = load_seq_cst(&m->mine->posted);
    *posted_out = posted;
    return (int64_t)(posted - m->taken) > 0;
}

/* ------------------------------------------------------------ output */

static int ring_err(int rc)
{
    return rc == -EAGAIN ? 0 : -EPROTO;
}

/* Where records go: a pipe's own ring (its peer is told), or a PUB's
 * broadcast ring (every shm:// subscriber is told). */
typedef struct shm_tx {
    ipcx_ring *ring;
    uint64_t max_rec;
    sk_shm *m;
    ipcx_socket *bc;
} shm_tx;

static void bc_post(ipcx_socket *s);

static void tx_post(const shm_tx *t)
{
    if (t->bc != NULL)
        bc_post(t->bc);
    else
        post(t->m, 1);
}

static shm_tx tx_of(sk_pipe *p)
{
    shm_tx t = {.ring = p->shm->out, .max_rec = p->shm->max_rec, .m = p->shm};
    return t;
}

/* Write @parts from part *pi, byte *off on.  Returns 1 when all of it is
 * in the ring, 0 when the ring is full (progress kept), -EPROTO. */
static int emit(const shm_tx *t, const sk_part *parts, size_t n, uint32_t cmd, size_t *pi,
                size_t *off, bool *started)
{
    void *d;
    if (cmd != 0) {
        size_t len = parts[0].len;
        if (8 + len > t->max_rec)
            return 1; /* a topic longer than a record: not sent */
        int rc = ipcx_ring_reserve(t->ring, 8 + len, &d, 0);
        if (rc != 0)
            return ring_err(rc);
        wr32(d, cmd);
        wr32((uint8_t *)d + 4, 0);
        if (len > 0)
            memcpy((uint8_t *)d + 8, parts[0].data, len);
        if (ipcx_ring_commit(t->ring, d) < 0)
            return -EPROTO;
        tx_post(t);
        *pi = 1;
        return 1;
    }
    if (!*started && n <= SHM_PARTS_MAX) {
        uint64_t total = 8 + 4 * (uint64_t)n;
        for (size_t i = 0; i < n; i++)
            total += parts[i].len;
        if (total <= t->max_rec) {
            int rc = ipcx_ring_reserve(t->ring, (size_t)total, &d, 0);
            if (rc != 0)
                return ring_err(rc);
            uint8_t *b = d;
            wr32(b, REC_MSG);
            wr32(b + 4, (uint32_t)n);
            size_t at = 8 + 4 * n;
            for (size_t i = 0; i < n; i++) {
                wr32(b + 8 + 4 * i, (uint32_t)parts[i].len);
                if (parts[i].len > 0)
                    ipcx__copy_msg(b + at, parts[i].data, parts[i].len);
                at += parts[i].len;
            }
            if (ipcx_ring_commit(t->ring, d) < 0)
                return -EPROTO;
            tx_post(t);
            *pi = n;
            return 1;
        }
    }
    while (*pi < n) {
        size_t len = parts[*pi].len;
        size_t chunk = len - *off;
        if (chunk > t->max_rec - 8)
            chunk = (size_t)t->max_rec - 8;
        int rc = ipcx_ring_reserve(t->ring, 8 + chunk, &d, 0);
        if (rc != 0)
            return ring_err(rc);
        uint32_t fl = (*off + chunk == len ? FRAG_LAST : 0u) | (*pi + 1 < n ? FRAG_MORE : 0u);
        wr32(d, REC_FRAG);
        wr32((uint8_t *)d + 4, fl);
        if (chunk > 0)
            memcpy((uint8_t *)d + 8, parts[*pi].data + *off, chunk);
        if (ipcx_ring_commit(t->ring, d) < 0)
            return -EPROTO;
        tx_post(t);
        *started = true;
        *off += chunk;
        if (*off == len) {
            (*pi)++;
            *off = 0;
        }
    }
    return 1;
}

/* Queue what is left of a message (from part @pi, byte @off) or a command. */
static int q_push(sk_pipe *p, const sk_part *parts, size_t n, uint32_t cmd, size_t pi, size_t off,
                  bool started)
{
    sk_shm *m = p->shm;
    size_t k = n - pi, bytes = 0;
    for (size_t i = pi; i < n; i++)
        bytes += parts[i].len - (i == pi ? off : 0);
    shm_out *o = calloc(1, sizeof(*o));
    sk_part *v = malloc((k > 0 ? k : 1) * sizeof(*v));
    uint8_t *buf = malloc(bytes > 0 ? bytes : 1);
    if (o == NULL || v == NULL || buf == NULL) {
        free(o);
        free(v);
        free(buf);
        return -ENOMEM;
    }
    size_t at = 0;
    for (size_t i = pi; i < n; i++) {
        size_t skip = i == pi ? off : 0;
        size_t l = parts[i].len - skip;
        if (l > 0)
            memcpy(buf + at, parts[i].data + skip, l);
        v[i - pi] = (sk_part){buf + at, l};
        at += l;
    }
    o->cmd = cmd;
    o->n = k;
    o->parts = v;
    o->buf = buf;
    o->started = started;
    if (m->q_tail != NULL)
        m->q_tail->next = o;
    else
        m->q_head = o;
    m->q_tail = o;
    m->q_n++;
    ipcx__shm_q_mirror(p);
    return 0;
}

void ipcx__shm_q_pop(sk_pipe *p)
{
    sk_shm *m = p->shm;
    shm_out *o = m->q_head;
    m->q_head = o->next;
    if (m->q_head == NULL)
        m->q_tail = NULL;
    m->q_n--;
    free(o->parts);
    free(o->buf);
    free(o);
}

/* Write what waits.  Returns 0 or -EPIPE (the pipe failed). */
int ipcx__shm_q_flush(sk_pipe *p)
{
    sk_shm *m = p->shm;
    size_t before = m->q_n;
    bool registered = false;
    while (m->q_head != NULL) {
        shm_out *o = m->q_head;
        /* Pairs with the store_seq_cst in released() (the peer). */
        uint64_t c = load_seq_cst(&m->peer->consumed);
        shm_tx tx = tx_of(p);
        int r = emit(&tx, o->parts, o->n, o->cmd, &o->pi, &o->off, &o->started);
        if (r < 0) {
            ipcx__shm_fail(p, -EPROTO, "the peer's ring is corrupt");
            return -EPIPE;
        }
        if (r == 1) {
            ipcx__shm_q_pop(p);
            continue;
        }
        /* Full: ask for a wake-up when the peer makes room, then look
         * once more in case it did meanwhile (the Dekker pair of
         * room_check). */
        if (registered)
            break;
        /* Pairs with the load_seq_cst of sleep_room in released() (the peer). */
        store_seq_cst(&m->mine->sleep_room, 1);
        registered = true;
        /* Pairs with the store_seq_cst in released(). */
        if (load_seq_cst(&m->peer->consumed) == c)
            break;
    }
    if (m->q_n != before) {
        p->out_base += before - m->q_n;
        p->s->news = true;
        ipcx__shm_q_mirror(p);
    }
    return 0;
}

int ipcx__shm_put(sk_pipe *p, const sk_part *parts, size_t n, bool batch)
{
    (void)batch; /* a commit is as cheap as an append: nothing to batch */
    sk_shm *m = p->shm;
    size_t pi = 0, off = 0;
    bool started = false;
    if (p->state == P_ACTIVE && m->q_n == 0) {
        shm_tx tx = tx_of(p);
        int r = emit(&tx, parts, n, 0, &pi, &off, &started);
        if (r < 0) {
            ipcx__shm_fail(p, -EPROTO, "the peer's ring is corrupt");
            return -EPIPE;
        }
        if (r == 1)
            return 0;
    }
    int rc = q_push(p, parts, n, 0, pi, off, started);
    /* The rest waits in the queue: ask the peer for the wake-up that says
     * room was made (q_flush registers sleep_room and looks once more), so
     * the I/O assistant writes it out even if the caller makes no other
     * call (test_queued_tail_goes_out). */
    if (rc == 0 && p->state == P_ACTIVE)
        (void)ipcx__shm_q_flush(p);
    return rc;
}

void ipcx__shm_send_sub(sk_pipe *p, bool subscribe, const void *topic, size_t len)
{
    sk_shm *m = p->shm;
    sk_part part = {(uint8_t *)topic, len};
    uint32_t cmd = subscribe ? REC_SUB : REC_CANCEL;
    size_t pi = 0, off = 0;
    bool started = false;
    if (p->state == P_ACTIVE && m->q_n == 0) {
        shm_tx tx = tx_of(p);
        int r = emit(&tx, &part, 1, cmd, &pi, &off, &started);
        if (r != 0) {
            if (r < 0)
                ipcx__shm_fail(p, -EPROTO, "the peer's ring is corrupt");
            return;
        }
    }
    if (q_push(p, &part, 1, cmd, 0, 0, false) == 0 && p->state == P_ACTIVE)
        (void)ipcx__shm_q_flush(p); /* the room wake-up, as in ipcx__shm_put() */
}

int ipcx__shm_flush(sk_pipe *p)
{
    if (p->state != P_ACTIVE)
        return 0;
    return ipcx__shm_q_flush(p);
}

size_t ipcx__shm_queued(const sk_pipe *p)
{
    return p->shm->q_n;
}

/* Room for one more message now?  Registers for a wake-up when not. */
static bool room_check(sk_pipe *p)
{
    sk_shm *m = p->shm;
    uint64_t hwm = p->s->send_hwm;
    for (int pass = 0; pass < 2; pass++) {
        /* Pairs with the store_seq_cst in released() (the peer). */
        uint64_t c = load_seq_cst(&m->peer->consumed);
        if (m->q_n > 0 && ipcx__shm_q_flush(p) != 0)
            return false;
        bool ok = m->q_n == 0 && (hwm == 0 || (int64_t)(m->sent - c) < (int64_t)hwm);
        if (ok)
            return true;
        if (pass == 1)
            break;
        /* Pairs with the load_seq_cst of sleep_room in released() (the peer). */
        store_seq_cst(&m->mine->sleep_room, 1);
        /* Pairs with the store_seq_cst in released(): a release after our
         * first look shows here, or that side sees our flag. */
        if (load_seq_cst(&m->peer->consumed) == c)
            return false;
    }
    return false;
}

bool ipcx__shm_room(const sk_pipe *p)
{
    const sk_shm *m = p->shm;
    if (p->state != P_ACTIVE) {
        /* A dialled pipe between connections queues, as a stream does. */
        uint64_t hwm = p->s->send_hwm;
        return hwm == 0 || m->q_n < hwm;
    }
    /* Looking for room may write out what waits, and registers for the
     * wake-up that says room was made: the pipe changes, its caller's view
     * of it does not. */
    return room_check((sk_pipe *)p);
}

/* ------------------------------------------------------------ input */

static int view_parts(sk_shm *m, size_t n)
{
    if (n <= m->vcap)
        return 0;
    size_t ncap = m->vcap ? m->vcap : 4;
    while (ncap < n)
        ncap *= 2;
    sk_part *np = realloc(m->vcap ? m->view.parts : NULL, ncap * sizeof(*np));
    if (np == NULL)
        return -ENOMEM;
    m->view.parts = np;
    m->vcap = ncap;
    return 0;
}

/* The ring this pipe reads. */
static ipcx_ring *rx_ring(const sk_shm *m)
{
    return m->bin != NULL ? m->bin : m->in;
}

/* Returns 0, -EOVERFLOW (broadcast: the record was overwritten while we
 * read it) or -EPROTO. */
static int release_now(sk_pipe *p, const void *d)
{
    sk_shm *m = p->shm;
    int rc = ipcx_ring_release(rx_ring(m), d);
    if (rc == -EOVERFLOW && m->bin != NULL)
        return rc;
    if (rc < 0)
        return -EPROTO;
    if (m->bin == NULL)
        released(m, (uint64_t)rc); /* a PUB never waits for room */
    else
        m->released += (uint64_t)rc;
    return 0;
}

/* Forget a message arriving in fragments. */
void ipcx__shm_asm_drop(sk_shm *m)
{
    ipcx_msg_destroy(m->asm_msg);
    m->asm_msg = NULL;
    free(m->frag);
    m->frag = NULL;
    m->frag_len = m->frag_cap = 0;
    m->asm_bytes = 0;
}

/* A subscriber fell behind: what it had of a message is lost too. */
static void bc_lost(sk_pipe *p, uint64_t records)
{
    p->s->st.drops += records > 0 ? records : 1;
    ipcx__shm_asm_drop(p->shm);
}

/* A whole message in one record: the head is a view into the ring. */
static int on_msg(sk_pipe *p, const uint8_t *d, size_t len)
{
    sk_shm *m = p->shm;
    uint32_t n = rd32(d + 4);
    if (m->asm_msg != NULL || n == 0 || n > SHM_PARTS_MAX || 8 + 4 * (uint64_t)n > len)
        return -EPROTO;
    if (len > p->s->max_msg + 8 + 4 * (uint64_t)n)
        return -EMSGSIZE;
    if (view_parts(m, n) != 0)
        return -ENOMEM;
    uint64_t at = 8 + 4 * (uint64_t)n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = rd32(d + 8 + 4 * i);
        if (l > len - at)
            return -EPROTO;
        m->view.parts[i] = (sk_part){(uint8_t *)d + at, l};
        at += l;
    }
    if (at != len)
        return -EPROTO;
    if (m->bin != NULL) {
        /* Broadcast: the producer may overwrite the record under us, so
         * the message is copied out and kept only if release says it was
         * not (a seqlock read). */
        ipcx_msg *own = ipcx__msg_new();
        for (uint32_t i = 0; own != NULL && i < n; i++) {
            if (ipcx_msg_append(own, m->view.parts[i].data, m->view.parts[i].len) < 0) {
                ipcx_msg_destroy(own);
                own = NULL;
            }
        }
        int rc = release_now(p, d);
        if (own == NULL)
            return rc == -EPROTO ? rc : -ENOMEM;
        if (rc != 0) {
            ipcx_msg_destroy(own);
            if (rc != -EOVERFLOW)
                return rc;
            bc_lost(p, ipcx_ring_overrun(m->bin));
            return 0;
        }
        p->hm = own;
        p->head = H_MSG;
        return 1;
    }
    m->view.n = n;
    m->held = d;
    p->hm = &m->view;
    p->head = H_MSG;
    return 1;
}

/* A chunk of a large message: copied out, the record released at once. */
static int on_frag(sk_pipe *p, const uint8_t *d, size_t len)
{
    sk_shm *m = p->shm;
    uint32_t fl = rd32(d + 4);
    size_t bytes = len - 8;
    if (fl & ~(uint32_t)(FRAG_LAST | FRAG_MORE))
        return -EPROTO;
    if (m->asm_bytes + bytes > p->s->max_msg)
        return -EMSGSIZE;
    if (m->frag_len + bytes > m->frag_cap) {
        size_t ncap = m->frag_cap ? m->frag_cap : 4096;
        while (ncap < m->frag_len + bytes)
            ncap *= 2;
        uint8_t *nb = realloc(m->frag, ncap);
        if (nb == NULL)
            return -ENOMEM;
        m->frag = nb;
        m->frag_cap = ncap;
    }
    if (bytes > 0)
        memcpy(m->frag + m->frag_len, d + 8, bytes);
    m->frag_len += bytes;
    m->asm_bytes += bytes;
    int rc = release_now(p, d);
    if (rc == -EOVERFLOW) {
        bc_lost(p, ipcx_ring_overrun(m->bin));
        return 0;
    }
    if (rc != 0)
        return rc;
    if (!(fl & FRAG_LAST))
        return 0;
    if (m->asm_msg == NULL && (m->asm_msg = ipcx__msg_new()) == NULL)
        return -ENOMEM;
    uint8_t *part = m->frag_len > 0 ? m->frag : NULL;
    if (m->frag_len > 0 && m->frag_len < m->frag_cap) {
        uint8_t *fit = realloc(m->frag, m->frag_len);
        part = fit != NULL ? fit : m->frag;
    }
    if (ipcx__msg_push(m->asm_msg, part, m->frag_len) < 0)
        return -ENOMEM;
    if (m->frag_len == 0)
        free(m->frag);
    m->frag = NULL;
    m->frag_len = m->frag_cap = 0;
    if (fl & FRAG_MORE)
        return 0;
    p->hm = m->asm_msg;
    p->head = H_MSG;
    m->asm_msg = NULL;
    m->asm_bytes = 0;
    return 1;
}

static int on_cmd(sk_pipe *p, uint32_t kind, const uint8_t *d, size_t len)
{
    ipcx_socket *s = p->s;
    int rc = 0;
    if (s->pattern == IPCX_PUB) {
        if (kind == REC_SUB)
            rc = ipcx__topics_add(&p->subs, d + 8, len - 8);
        else
            (void)ipcx__topics_del(&p->subs, d + 8, len - 8);
    }
    int r = release_now(p, d);
    return rc != 0 ? rc : r;
}

/* Returns 1 (a head), 0 (taken in: look for the next), or -errno. */
static int on_record(sk_pipe *p, const void *rec, size_t len)
{
    const uint8_t *d = rec;
    if (len < 8)
        return -EPROTO;
    uint32_t kind = rd32(d);
    switch (kind) {
    case REC_MSG:
        return on_msg(p, d, len);
    case REC_FRAG:
        return on_frag(p, d, len);
    case REC_SUB:
    case REC_CANCEL:
        return on_cmd(p, kind, d, len);
    default:
        return -EPROTO;
    }
}

const char *ipcx__shm_why(int err)
{
    switch (err) {
    case -EMSGSIZE:
        return "message over the maximum size";
    case -ENOMEM:
        return "out of memory";
    case -EPIPE:
        return "peer closed the connection";
    default:
        return "the peer's ring is corrupt";
    }
}

static int next_fail(sk_pipe *p, int err, bool defer)
{
    sk_shm *m = p->shm;
    if (!defer) {
        ipcx__shm_fail(p, err, ipcx__shm_why(err));
        return -EPIPE;
    }
    if (m->err == 0) {
        m->err = err;
        ipcx__shm_ev_write(m->ev_mine); /* the next look (on_io) fails it */
    }
    return 0;
}

/* Looks in a row that may find a point-to-point ring's posted record
 * missing before the peer is called a liar (a record is visible within
 * microseconds of its count). */
#define SHM_UNSEEN_MAX 100000u

/* @defer: do not fail the pipe here (the caller's view may still point
 * into it): keep the error for the next call, and wake it. */
static int next_head(sk_pipe *p, bool defer)
{
    sk_shm *m = p->shm;
    if (p->head != H_NONE)
        return 1;
    if (p->state != P_ACTIVE || m->in == NULL)
        return 0;
    if (m->err != 0 && !defer) {
        int err = m->err;
        m->err = 0;
        ipcx__shm_fail(p, err, ipcx__shm_why(err));
        return -EPIPE;
    }
    bool retried = false;
    for (;;) {
        const void *d;
        size_t len;
        int rc = ipcx_ring_peek(rx_ring(m), &d, &len, 0);
        if (rc == -EAGAIN) {
            if (m->peer_gone)
                return next_fail(p, -EPIPE, defer);
            uint64_t posted;
            if (sleep_register(m, &posted)) {
                if (!retried) {
                    retried = true;
                    continue;
                }
                if (m->bin != NULL) {
                    /* Posted, looked for after the count, and not there:
                     * not ours (a broadcast record from before we joined).
                     * Count it seen, or every sleep would end at once. */
                    m->taken = posted;
                } else if (++m->unseen > SHM_UNSEEN_MAX) {
                    /* A point-to-point ring holds every record its count
                     * says: one that stays missing is a peer's lie.  Never
                     * counted seen (that lost a record and hung both sides
                     * when one was merely not visible yet): the next look
                     * (the spin sees posted ahead) finds it. */
                    return next_fail(p, -EPROTO, defer);
                }
            }
            return 0;
        }
        if (rc == -EOVERFLOW && m->bin != NULL) {
            bc_lost(p, ipcx_ring_overrun(m->bin));
            continue;
        }
        if (rc < 0)
            return next_fail(p, -EPROTO, defer);
        m->taken++;
        m->unseen = 0;
        int r = on_record(p, d, len);
        if (r == 1) {
            ipcx__pipe_update_buffered(p);
            p->s->news = true;
            return 1;
        }
        if (r < 0) {
            if (r == -ENOMEM)
                return r;
            return next_fail(p, r, defer);
        }
    }
}

int ipcx__shm_next(sk_pipe *p)
{
    return next_head(p, false);
}

void ipcx__shm_consume(sk_pipe *p)
{
    sk_shm *m = p->shm;
    int rc = 0;
    if (p->head == H_MSG && p->hm == &m->view) {
        if (m->held != NULL && rx_ring(m) != NULL)
            rc = release_now(p, m->held);
        m->held = NULL;
        m->view.n = 0;
    } else if (p->head == H_MSG) {
        ipcx_msg_destroy(p->hm);
    }
    p->hm = NULL;
    p->head = H_NONE;
    ipcx__pipe_update_buffered(p);
    if (rc != 0) {
        (void)next_fail(p, rc, true);
        return;
    }
    /* Look ahead: the next message becomes the head at once, so the socket
     * stays readable while one waits (or the pipe registers asleep).  Not
     * a failure here: the caller's view of this pipe's message is still
     * being finished. */
    (void)next_head(p, true);
}

/* ------------------------------------------------------------ connection */

/* After a broadcast record: every shm:// subscriber's peer side is told. */
static void bc_post(ipcx_socket *s)
{
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if (p->shm != NULL && p->state == P_ACTIVE && p->shm->peer != NULL)
            post(p->shm, 1);
}

int ipcx__shm_pub_send(ipcx_socket *s, const sk_part *parts, size_t n)
{
    struct sk_shm_bc *bc = s->shm_bc;
    if (bc == NULL)
        return 0;
    /* Written once if anybody wants it (the subscribers filter again). */
    bool wanted = false;
    for (sk_pipe *p = s->pipes; p != NULL && !wanted; p = p->next)
        wanted = p->shm != NULL && p->state == P_ACTIVE &&
                 ipcx__topics_match(&p->subs, parts[0].data, parts[0].len);
    if (!wanted)
        return 0;
    shm_tx tx = {.ring = bc->ring, .max_rec = bc->max_rec, .bc = s};
    size_t pi = 0, off = 0;
    bool started = false;
    int r = emit(&tx, parts, n, 0, &pi, &off, &started);
    if (r == 1)
        return 0;
    /* The overwrite policy never waits: anything else is a broken ring
     * (a subscriber scribbled on it).  Its subscribers go; the next ones
     * get a new ring. */
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if (p->shm != NULL && p->state == P_ACTIVE)
            ipcx__shm_fail(p, -EPROTO, "the broadcast ring is corrupt");
    ipcx__shm_socket_free(s);
    s->st.drops++;
    return 0;
}

void ipcx__shm_on_io(sk_pipe *p, uint32_t events)
{
    sk_shm *m = p->shm;
    if (p->fd < 0)
        return;
    if (p->state == P_HANDSHAKE) {
        ipcx__shm_handshake(p);
        return;
    }
    if (p->state != P_ACTIVE)
        return;
    if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && m->ctl_live) {
        /* The peer is gone.  Messages it committed are still ours: a
         * receiver is given them, and the pipe fails once they are taken
         * (next, on the empty ring). */
        (void)ipcx__sk_epoll(p->s, EPOLL_CTL_DEL, p->fd, &p->ep, 0);
        (void)ipcx__sk_bg_epoll(p->s, EPOLL_CTL_DEL, p->fd, 0, 0);
        m->ctl_live = false;
        p->registered = false;
        m->peer_gone = true;
        if (p->s->drains_input)
            ipcx__shm_fail(p, -EPIPE, ipcx__shm_why(-EPIPE));
        else if (p->head == H_NONE)
            (void)ipcx__shm_next(p);
        return;
    }
    if (events & EPOLLIN) {
        ev_drain(m->ev_mine);
        m->asleep = false;
    }
    if (ipcx__shm_q_flush(p) != 0)
        return;
    if (p->head == H_NONE)
        (void)ipcx__shm_next(p);
}

int64_t ipcx__shm_timers(sk_pipe *p, int64_t now)
{
    if (p->state != P_HANDSHAKE || p->fd < 0)
        return 0;
    if (now >= p->hs_deadline) {
        ipcx__shm_fail(p, -ETIMEDOUT, "handshake timed out");
        return 0;
    }
    return p->hs_deadline;
}

/* ------------------------------------------------------------ spinning */

size_t ipcx__shm_spin_begin(ipcx_socket *s, ipcx__shm_spin *sp)
{
    sp->n = 0;
    for (sk_pipe *p = s->pipes; p != NULL && sp->n < IPCX__SHM_SPIN_MAX; p = p->next) {
        sk_shm *m = p->shm;
        if (m == NULL || p->state != P_ACTIVE || m->in == NULL || p->head != H_NONE || m->err != 0)
            continue;
        sp->w[sp->n].posted = &m->mine->posted;
        sp->w[sp->n].sleep_in = &m->mine->sleep_in;
        sp->w[sp->n].taken = m->taken;
        sp->n++;
        /* While we spin the peer need not signal: a commit shows in posted.
         * Pairs with the load_seq_cst of sleep_in in post() (the peer); an
         * eventfd write it made already is drained by on_io later. */
        store_seq_cst(&m->mine->sleep_in, 0);
        m->asleep = false;
    }
    return sp->n;
}

bool ipcx__shm_spin_ready(const ipcx__shm_spin *sp)
{
    for (size_t i = 0; i < sp->n; i++)
        /* Pairs with the fetch_add_seq_cst in post() (the peer); a hint:
         * the caller looks again under the mutex. */
        if ((int64_t)(load_acquire(sp->w[i].posted) - sp->w[i].taken) > 0)
            return true;
    return false;
}

bool ipcx__shm_spin_end(const ipcx__shm_spin *sp)
{
    bool came = false;
    for (size_t i = 0; i < sp->n; i++) {
        /* As in sleep_register: the Dekker pair with post() (the peer). */
        store_seq_cst(sp->w[i].sleep_in, 1);
        if ((int64_t)(load_seq_cst(sp->w[i].posted) - sp->w[i].taken) > 0)
            came = true;
    }
    return came;
}

/* ------------------------------------------------------------ figures */

static uint64_t clamp_used(uint64_t end, uint64_t start, uint64_t cap)
{
    return end > start ? (end - start > cap ? cap : end - start) : 0;
}

/* For ipcx ls (expose.c): our own positions where we keep them, the
 * peer's as published - a hint, clamped to the capacity. */
void ipcx__shm_fill(const sk_pipe *p, uint64_t *rx_used, uint64_t *rx_cap, uint64_t *tx_used,
                    uint64_t *tx_cap)
{
    const sk_shm *m = p->shm;
    *rx_used = *rx_cap = *tx_used = *tx_cap = 0;
    if (m == NULL)
        return;
    const ipcx_ring *in = m->bin != NULL ? m->bin : m->in;
    if (in != NULL) {
        *rx_cap = in->cap;
        *rx_used = clamp_used(load_relaxed(&in->hdr->tail), in->crel, in->cap);
    }
    if (m->out != NULL) {
        *tx_cap = m->out->cap;
        *tx_used = clamp_used(m->out->ptail, load_relaxed(&m->out->hdr->head), m->out->cap);
    }
}
