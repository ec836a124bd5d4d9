// SPDX-License-Identifier: MIT
/*
 * The connection of an shm:// pipe: the hello on the control socket, the
 * listener's region and eventfds, the dialer's checks of what it was
 * passed, a PUB's broadcast ring, activation, failure and release.  The
 * design notes and layouts are in shm_int.h; the data path in pipe_shm.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "region/region.h"
#include "socket/shm_int.h"

/* A thread that leads the socket's sleep may be spinning on words of this
 * mapping (ipcx__shm_spin_begin): then it is unmapped later, by the first
 * close or free that finds no leader. */
static void park_or_close(sk_pipe *p, ipcx_region *reg)
{
    sk_shm *m = p->shm;
    if (!p->s->leader) {
        for (size_t i = 0; i < m->nparked; i++)
            ipcx_region_close(m->parked[i]);
        m->nparked = 0;
        ipcx_region_close(reg);
        return;
    }
    if (reg == NULL)
        return;
    ipcx_region **n = realloc(m->parked, (m->nparked + 1) * sizeof(*n));
    if (n == NULL) {
        /* Out of memory: the mapping is kept (lost until exit) rather than
         * pulled from under a thread that may be reading it. */
        IPCX_LOGW("socket: shm: out of memory: a connection's region stays mapped");
        return;
    }
    m->parked = n;
    m->parked[m->nparked++] = reg;
}

static void conn_close(sk_pipe *p)
{
    sk_shm *m = p->shm;
    ipcx_socket *s = p->s;
    if (p->fd >= 0) {
        if (m->ctl_live || p->registered) {
            (void)ipcx__sk_epoll(s, EPOLL_CTL_DEL, p->fd, &p->ep, 0);
            (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_DEL, p->fd, 0, 0);
        }
        close(p->fd);
        p->fd = -1;
    }
    m->ctl_live = p->registered = false;
    if (m->ev_mine >= 0) {
        if (m->ev_reg)
            (void)ipcx__sk_epoll(s, EPOLL_CTL_DEL, m->ev_mine, &p->ep, 0);
        if (m->ev_bg)
            (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_DEL, m->ev_mine, 0, 0);
        close(m->ev_mine);
    }
    if (m->ev_peer >= 0)
        close(m->ev_peer);
    m->ev_mine = m->ev_peer = -1;
    m->ev_reg = m->ev_bg = false;
    if (p->head == H_MSG && p->hm != &m->view)
        ipcx_msg_destroy(p->hm);
    p->hm = NULL;
    p->head = H_NONE;
    m->held = NULL;
    m->view.n = 0;
    ipcx__pipe_update_buffered(p);
    if (m->in != NULL)
        ipcx__ring_detach(m->in);
    if (m->out != NULL)
        ipcx__ring_detach(m->out);
    if (m->bin != NULL)
        ipcx__ring_detach(m->bin);
    m->in = m->out = m->bin = NULL;
    ipcx_region_close(m->breg); /* nobody spins on it: only the block is watched */
    m->breg = NULL;
    park_or_close(p, m->reg); /* unmapped; the kernel frees it with the last fd */
    m->reg = NULL;
    m->c = NULL;
    m->mine = m->peer = NULL;
    ipcx__shm_asm_drop(m);
    m->peer_gone = m->asleep = false;
    m->err = 0;
    m->sent = m->taken = m->released = 0;
}

void ipcx__shm_fail(sk_pipe *p, int err, const char *reason)
{
    ipcx_socket *s = p->s;
    sk_shm *m = p->shm;
    if (p->state == P_DEAD || p->state == P_IDLE)
        return;
    bool was_active = p->state == P_ACTIVE;
    ipcx__pat_pipe_gone(s, p); /* before conn_close: a view may point into the ring */
    conn_close(p);
    ipcx__topics_free(&p->subs);
    if (was_active)
        IPCX_LOGI("socket: shm %s: connection lost: %s", p->peer_addr, reason);
    else
        IPCX_LOGW("socket: shm %s: connection dropped during the handshake: %s", p->peer_addr,
                  reason);
    if (was_active) {
        s->nactive--;
        s->st.disconnects++;
        ipcx__sk_event(s, IPCX_EV_DISCONNECTED, err, p, NULL, reason);
    } else {
        s->st.handshake_failures++;
        ipcx__sk_event(s, IPCX_EV_HANDSHAKE_FAILED, err, p, NULL, reason);
    }
    s->news = true;
    if (p->dialer != NULL) {
        /* A message whose first records went to the old connection is
         * lost with it; whole ones wait for the next. */
        if (m->q_head != NULL && m->q_head->started) {
            ipcx__shm_q_pop(p);
            s->st.drops++;
        }
        ipcx__shm_q_mirror(p);
        p->state = P_IDLE;
        sk_dialer *d = p->dialer;
        d->next_try = ipcx__now_ns() + d->ivl;
        d->ivl = d->ivl * 2 > s->reconnect_max ? s->reconnect_max : d->ivl * 2;
        ipcx__sk_timer_note(s, d->next_try);
        return;
    }
    s->st.drops += m->q_n;
    while (m->q_head != NULL)
        ipcx__shm_q_pop(p);
    ipcx__shm_q_mirror(p);
    p->state = P_DEAD;
    s->ndead++;
}

void ipcx__shm_free(sk_pipe *p)
{
    sk_shm *m = p->shm;
    conn_close(p);
    for (size_t i = 0; i < m->nparked; i++)
        ipcx_region_close(m->parked[i]); /* freed only with no leader (sk_reap) */
    free(m->parked);
    while (m->q_head != NULL)
        ipcx__shm_q_pop(p);
    if (m->vcap > 0)
        free(m->view.parts);
    free(m);
    p->shm = NULL;
    p->out_len = p->out_pos = 0;
}

/* 0 when @fd is an eventfd (made non-blocking), else -EPROTO. */
static int check_eventfd(int fd)
{
    char link[64], target[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -EPROTO;
    target[n] = '\0';
    if (strcmp(target, "anon_inode:[eventfd]") != 0)
        return -EPROTO;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -EPROTO;
    return 0;
}

uint64_t ipcx__shm_ring_cap(const ipcx_socket *s)
{
    uint64_t c = s->recv_buffer > 0 ? (uint64_t)s->recv_buffer : SHM_RING_DEFAULT;
    return c < SHM_RING_MIN ? SHM_RING_MIN : c > SHM_RING_MAX ? SHM_RING_MAX : c;
}

/* Map a connection region as side @me: check the block (read once, into
 * locals), attach both rings.  Takes @reg (closed on failure). */
static int conn_map(sk_pipe *p, ipcx_region *reg, int me)
{
    sk_shm *m = p->shm;
    uint8_t *base = ipcx_region_data(reg);
    uint64_t size = ipcx_region_size(reg);
    struct shm_conn *c = (struct shm_conn *)(void *)base;
    int rc = -EPROTO;
    if (size < SHM_HDR)
        goto fail;
    /* Pairs with the store_release of ready in conn_create (the listener). */
    if (load_acquire(&c->ready) != SHM_MAJOR || c->magic != SHM_MAGIC || c->major != SHM_MAJOR ||
        c->hdr_size != SHM_HDR)
        goto fail;
    uint64_t off[2], len[2];
    for (int i = 0; i < 2; i++) {
        off[i] = c->ring_off[i];
        len[i] = c->ring_size[i];
        if (off[i] < SHM_HDR || (off[i] & 63) != 0 || len[i] > size || off[i] > size - len[i])
            goto fail;
    }
    if (off[0] < off[1] ? off[0] + len[0] > off[1] : off[1] + len[1] > off[0])
        goto fail;
    ipcx_ring *in = NULL, *out = NULL;
    rc = ipcx__ring_attach(base + off[me], (size_t)len[me], &in);
    if (rc == 0)
        rc = ipcx__ring_attach(base + off[1 - me], (size_t)len[1 - me], &out);
    if (rc == 0)
        rc = ipcx_ring_join(in, IPCX_RING_CONSUMER);
    if (rc == 0)
        rc = ipcx_ring_join(out, IPCX_RING_PRODUCER);
    ipcx_ring_stat st;
    if (rc == 0)
        rc = ipcx_ring_stats(out, &st);
    if (rc == 0 && (st.max_msg < 64 || st.slot_size != 0 || st.delivery != IPCX_RING_QUEUE))
        rc = -EPROTO;
    if (rc != 0) {
        if (in != NULL)
            ipcx__ring_detach(in);
        if (out != NULL)
            ipcx__ring_detach(out);
        rc = rc == -ENOMEM ? rc : -EPROTO;
        goto fail;
    }
    m->reg = reg;
    m->c = c;
    m->mine = &c->side[me];
    m->peer = &c->side[1 - me];
    m->in = in;
    m->out = out;
    m->max_rec = st.max_msg;
    m->sent = m->taken = m->released = 0;
    return 0;
fail:
    ipcx_region_close(reg);
    return rc;
}

/* The listener: the region, its rings and the eventfds.  @fds gets what
 * the hello passes: region, the listener's eventfd, the dialer's. */
static int conn_create(sk_pipe *p, int fds[IPCX__SHM_NFDS])
{
    sk_shm *m = p->shm;
    ipcx_ring_opts ro = {.capacity = ipcx__shm_ring_cap(p->s)};
    size_t rs = ipcx__ring_size_for(&ro);
    if (rs == 0)
        return -EINVAL;
    rs = (rs + 4095) & ~(size_t)4095;
    ipcx_region *reg;
    int rc = ipcx_region_create_anon(SHM_HDR + 2 * rs, NULL, &reg);
    if (rc != 0)
        return rc;
    uint8_t *base = ipcx_region_data(reg);
    struct shm_conn *c = (struct shm_conn *)(void *)base;
    c->magic = SHM_MAGIC;
    c->major = SHM_MAJOR;
    c->minor = SHM_MINOR;
    c->hdr_size = SHM_HDR;
    c->total = ipcx_region_size(reg);
    c->creator_pid = (int32_t)getpid();
    for (int i = 0; i < 2; i++) {
        c->ring_off[i] = SHM_HDR + (uint64_t)i * rs;
        c->ring_size[i] = rs;
        if (rc == 0)
            rc = ipcx__ring_format(base + c->ring_off[i], rs, &ro);
    }
    int e0 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int e1 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (rc == 0 && (e0 < 0 || e1 < 0))
        rc = -errno;
    if (rc != 0) {
        if (e0 >= 0)
            close(e0);
        if (e1 >= 0)
            close(e1);
        ipcx_region_close(reg);
        return rc;
    }
    /* Publishes the block; pairs with the load_acquire in conn_map. */
    store_release(&c->ready, SHM_MAJOR);
    fds[0] = ipcx_region_fd(reg);
    fds[1] = e0;
    fds[2] = e1;
    rc = conn_map(p, reg, 0);
    if (rc != 0) {
        close(e0);
        close(e1);
        return rc;
    }
    m->ev_mine = e0;
    m->ev_peer = e1;
    return 0;
}

/* The dialer: adopt what the listener passed.  Closes @fds on failure. */
static int conn_adopt(sk_pipe *p, int fds[IPCX__SHM_NFDS])
{
    sk_shm *m = p->shm;
    int rc = check_eventfd(fds[1]);
    if (rc == 0)
        rc = check_eventfd(fds[2]);
    if (rc != 0) {
        for (int i = 0; i < IPCX__SHM_NFDS; i++)
            close(fds[i]);
        return rc;
    }
    ipcx_region *reg;
    rc = ipcx__region_from_fd(fds[0], &reg); /* closes fds[0] on failure */
    if (rc == 0)
        rc = conn_map(p, reg, 1);
    if (rc != 0) {
        close(fds[1]);
        close(fds[2]);
        return rc == -ENOMEM ? rc : -EPROTO;
    }
    m->ev_mine = fds[2];
    m->ev_peer = fds[1];
    return 0;
}

static void activate(sk_pipe *p, const ipcx__shm_hello *h)
{
    ipcx_socket *s = p->s;
    sk_shm *m = p->shm;
    p->peer_type = h->socket_type;
    memcpy(p->ident, h->ident, h->ident_len);
    p->ident_len = h->ident_len;
    p->state = P_ACTIVE;
    p->was_active = true;
    s->nactive++;
    s->st.connects++;
    s->news = true;
    if (p->dialer != NULL) {
        p->dialer->ivl = s->reconnect_ivl;
        p->dialer->attempts = 0;
    }
    /* From now on the control socket says one thing: the peer is gone. */
    (void)ipcx__sk_epoll(s, EPOLL_CTL_MOD, p->fd, &p->ep, EPOLLRDHUP);
    (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_MOD, p->fd, p->id, EPOLLRDHUP);
    m->ctl_live = true;
    if (ipcx__sk_epoll(s, EPOLL_CTL_ADD, m->ev_mine, &p->ep, EPOLLIN) == 0)
        m->ev_reg = true;
    ipcx__shm_ev_sync(p);
    ipcx__sk_event(s, IPCX_EV_CONNECTED, 0, p, NULL, "");
    ipcx__pat_pipe_ready(s, p);
    if (p->state == P_ACTIVE)
        (void)ipcx__shm_q_flush(p);
    if (p->state == P_ACTIVE && p->head == H_NONE)
        (void)ipcx__shm_next(p);
}

static bool type_ok(const ipcx_socket *s, int peer)
{
    return ipcx_zmtp_socket_compatible(s->zmtp_type, peer) == 1;
}

static void my_hello(const ipcx_socket *s, uint8_t status, ipcx__shm_hello *h)
{
    memset(h, 0, sizeof(*h));
    h->version = IPCX__SHM_VERSION;
    h->socket_type = (uint8_t)s->zmtp_type;
    h->status = status;
    h->ident_len = (uint8_t)s->identity_len;
    memcpy(h->ident, s->identity, s->identity_len);
}

static void refuse(sk_pipe *p, uint8_t status, int err, const char *reason)
{
    ipcx__shm_hello h;
    my_hello(p->s, status, &h);
    (void)ipcx__shm_send_hello(p->fd, &h, NULL, 0);
    ipcx__shm_fail(p, err, reason);
}

/* ------------------------------------------------------------ broadcast */

/* The PUB socket's broadcast region, made at its first shm:// subscriber. */
static int bc_get(ipcx_socket *s, struct sk_shm_bc **out)
{
    if (s->shm_bc != NULL) {
        *out = s->shm_bc;
        return 0;
    }
    struct sk_shm_bc *bc = calloc(1, sizeof(*bc));
    if (bc == NULL)
        return -ENOMEM;
    /* Eight times a connection's ring (8 MiB by default): a subscriber
     * loses only what is more than that behind the newest. */
    ipcx_ring_opts ro = {.capacity = 8 * ipcx__shm_ring_cap(s),
                         .delivery = IPCX_RING_BROADCAST,
                         .full = IPCX_RING_OVERWRITE,
                         .max_producers = 1};
    size_t rs = ipcx__ring_size_for(&ro);
    int rc = rs == 0 ? -EINVAL : ipcx_region_create_anon(SHM_HDR + rs, NULL, &bc->reg);
    if (rc != 0) {
        free(bc);
        return rc;
    }
    uint8_t *base = ipcx_region_data(bc->reg);
    struct shm_bc_hdr *h = (struct shm_bc_hdr *)(void *)base;
    h->magic = SHM_BC_MAGIC;
    h->major = SHM_MAJOR;
    h->minor = SHM_MINOR;
    h->hdr_size = SHM_HDR;
    h->ring_off = SHM_HDR;
    h->ring_size = rs;
    h->creator_pid = (int32_t)getpid();
    rc = ipcx__ring_format(base + SHM_HDR, rs, &ro);
    if (rc == 0)
        rc = ipcx__ring_attach(base + SHM_HDR, rs, &bc->ring);
    if (rc == 0)
        rc = ipcx_ring_join(bc->ring, IPCX_RING_PRODUCER);
    ipcx_ring_stat st;
    if (rc == 0)
        rc = ipcx_ring_stats(bc->ring, &st);
    if (rc != 0) {
        if (bc->ring != NULL)
            ipcx__ring_detach(bc->ring);
        ipcx_region_close(bc->reg);
        free(bc);
        return rc;
    }
    bc->max_rec = st.max_msg;
    /* Publishes the header; pairs with the load_acquire in bc_adopt. */
    store_release(&h->ready, SHM_MAJOR);
    s->shm_bc = bc;
    *out = bc;
    return 0;
}

void ipcx__shm_socket_free(ipcx_socket *s)
{
    struct sk_shm_bc *bc = s->shm_bc;
    if (bc == NULL)
        return;
    ipcx__ring_detach(bc->ring);
    ipcx_region_close(bc->reg);
    free(bc);
    s->shm_bc = NULL;
}

/* A SUB: map the PUB's broadcast region and join its ring.  Takes @fd. */
static int bc_adopt(sk_pipe *p, int fd)
{
    sk_shm *m = p->shm;
    ipcx_region *reg;
    int rc = ipcx__region_from_fd(fd, &reg);
    if (rc != 0)
        return -EPROTO;
    uint8_t *base = ipcx_region_data(reg);
    uint64_t size = ipcx_region_size(reg);
    struct shm_bc_hdr *h = (struct shm_bc_hdr *)(void *)base;
    uint64_t off = 0, len = 0;
    rc = -EPROTO;
    /* Pairs with the store_release of ready in bc_get (the PUB). */
    if (size >= SHM_HDR && load_acquire(&h->ready) == SHM_MAJOR && h->magic == SHM_BC_MAGIC &&
        h->major == SHM_MAJOR && h->hdr_size == SHM_HDR) {
        off = h->ring_off;
        len = h->ring_size;
        if (off >= SHM_HDR && (off & 63) == 0 && len <= size && off <= size - len)
            rc = 0;
    }
    ipcx_ring *r = NULL;
    if (rc == 0)
        rc = ipcx__ring_attach(base + off, (size_t)len, &r);
    ipcx_ring_stat st;
    if (rc == 0)
        rc = ipcx_ring_join(r, IPCX_RING_CONSUMER);
    if (rc == 0)
        rc = ipcx_ring_stats(r, &st);
    if (rc == 0 && st.delivery != IPCX_RING_BROADCAST)
        rc = -EPROTO;
    if (rc != 0) {
        if (r != NULL)
            ipcx__ring_detach(r);
        ipcx_region_close(reg);
        return rc == -ENOMEM ? rc : -EPROTO;
    }
    m->breg = reg;
    m->bin = r;
    return 0;
}

/* ------------------------------------------------------------ handshake */

/* The fds of a hello past the connection's: a PUB's broadcast region,
 * taken by a SUB, closed by anyone else. */
static int take_bc(sk_pipe *p, const ipcx__shm_hello *h, int *fds, size_t nfds, size_t base)
{
    if (h->socket_type != IPCX__SHM_PUB || nfds <= base)
        return 0;
    if (p->s->pattern != IPCX_SUB) {
        close(fds[base]);
        return 0;
    }
    return bc_adopt(p, fds[base]);
}

static void handshake_listener(sk_pipe *p)
{
    ipcx_socket *s = p->s;
    ipcx__shm_hello h;
    int fds[IPCX__SHM_FDS_MAX];
    size_t nfds = 0;
    int rc = ipcx__shm_recv_hello(p->fd, &h, fds, 0, &nfds);
    if (rc == -EAGAIN)
        return;
    if (rc != 0) {
        ipcx__shm_fail(p, rc == -EPIPE ? -EPIPE : -EPROTO,
                       rc == -EPIPE ? "peer closed the connection" : "bad hello from the dialer");
        return;
    }
    if (!type_ok(s, h.socket_type)) {
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        refuse(p, IPCX__SHM_REFUSED_TYPE, -EPROTOTYPE, "peer socket type cannot talk to ours");
        return;
    }
    if (s->pattern == IPCX_PAIR && s->nactive > 0) {
        refuse(p, IPCX__SHM_REFUSED_BUSY, -EISCONN, "PAIR socket already has a peer");
        return;
    }
    rc = take_bc(p, &h, fds, nfds, 0);
    if (rc != 0) {
        refuse(p, IPCX__SHM_REFUSED_ERROR, rc, "the publisher's broadcast region was refused");
        return;
    }
    int out[IPCX__SHM_FDS_MAX];
    size_t nout = IPCX__SHM_NFDS;
    struct sk_shm_bc *bc = NULL;
    rc = conn_create(p, out);
    if (rc == 0 && s->pattern == IPCX_PUB && (rc = bc_get(s, &bc)) == 0)
        out[nout++] = ipcx_region_fd(bc->reg);
    if (rc != 0) {
        refuse(p, IPCX__SHM_REFUSED_ERROR, rc, "cannot create the connection's rings");
        return;
    }
    ipcx__shm_hello mine;
    my_hello(s, IPCX__SHM_OK, &mine);
    rc = ipcx__shm_send_hello(p->fd, &mine, out, nout);
    if (rc != 0) {
        ipcx__shm_fail(p, rc, "cannot send the hello");
        return;
    }
    activate(p, &h);
}

static void handshake_dialer(sk_pipe *p)
{
    ipcx_socket *s = p->s;
    ipcx__shm_hello h;
    int fds[IPCX__SHM_FDS_MAX];
    size_t nfds = 0;
    int rc = ipcx__shm_recv_hello(p->fd, &h, fds, IPCX__SHM_NFDS, &nfds);
    if (rc == -EAGAIN)
        return;
    if (rc != 0) {
        ipcx__shm_fail(p, rc == -EPIPE ? -ECONNREFUSED : -EPROTO,
                       rc == -EPIPE ? "the listener closed the connection"
                                    : "bad hello from the listener");
        return;
    }
    if (h.status != IPCX__SHM_OK) {
        int err = h.status == IPCX__SHM_REFUSED_TYPE   ? -EPROTOTYPE
                  : h.status == IPCX__SHM_REFUSED_BUSY ? -EISCONN
                                                       : -ECONNREFUSED;
        ipcx__shm_fail(p, err, "the listener refused the connection");
        return;
    }
    if (!type_ok(s, h.socket_type)) {
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        ipcx__shm_fail(p, -EPROTOTYPE, "peer socket type cannot talk to ours");
        return;
    }
    rc = take_bc(p, &h, fds, nfds, IPCX__SHM_NFDS);
    if (rc != 0) {
        for (int i = 0; i < IPCX__SHM_NFDS; i++)
            close(fds[i]);
        ipcx__shm_fail(p, rc, "the publisher's broadcast region was refused");
        return;
    }
    rc = conn_adopt(p, fds);
    if (rc != 0) {
        ipcx__shm_fail(p, rc, "the listener's region was refused");
        return;
    }
    activate(p, &h);
}

int ipcx__shm_attach(sk_pipe *p, int fd)
{
    ipcx_socket *s = p->s;
    if (p->shm == NULL) {
        p->shm = calloc(1, sizeof(*p->shm));
        if (p->shm == NULL)
            return -ENOMEM;
        p->shm->ev_mine = p->shm->ev_peer = -1;
    }
    p->tp_kind = IPCX__TP_SHM;
    s->had_shm = true;
    p->conn_gen++;
    p->n_in = p->n_out = p->n_drops = 0;
    p->peer_type = 0;
    p->peer_minor = -1;
    p->ident_len = 0;
    if (p->listener == NULL) {
        ipcx__shm_hello h;
        my_hello(s, IPCX__SHM_OK, &h);
        int bfd[1];
        size_t nb = 0;
        struct sk_shm_bc *bc;
        if (s->pattern == IPCX_PUB) {
            int rc = bc_get(s, &bc);
            if (rc != 0)
                return rc;
            bfd[nb++] = ipcx_region_fd(bc->reg);
        }
        int rc = ipcx__shm_send_hello(fd, &h, bfd, nb);
        if (rc != 0)
            return rc; /* the caller closes fd */
    }
    int rc = ipcx__sk_epoll(s, EPOLL_CTL_ADD, fd, &p->ep, EPOLLIN);
    if (rc != 0)
        return rc;
    (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_ADD, fd, p->id, EPOLLIN);
    p->fd = fd;
    p->registered = true;
    p->state = P_HANDSHAKE;
    p->hs_deadline = ipcx__now_ns() + s->hs_timeout;
    ipcx__sk_timer_note(s, p->hs_deadline);
    return 0;
}

void ipcx__shm_handshake(sk_pipe *p)
{
    if (p->listener != NULL)
        handshake_listener(p);
    else
        handshake_dialer(p);
}
