// SPDX-License-Identifier: MIT
/*
 * A socket's endpoints and statistics, published in a named region for
 * `ipcx ls` and `ipcx stat` (ipcx_socket_expose, ipcx_socket_info_read).
 *
 * Design note.  The region is written by the one process that owns the
 * socket, under the socket's mutex, and read by anyone who may open it.
 * Counters are independent relaxed atomics: each only grows, and a reader
 * may see them from slightly different moments, which is fine for
 * statistics.  An endpoint string is written in full before the count that
 * covers it is stored with release (publish_endpoint); the reader loads
 * the count with acquire (ipcx_socket_info_read), so every string it then
 * reads is complete.  The reader trusts nothing: the count is clamped, each
 * string is cut at its slot's end, the pattern is checked.  A crash leaves
 * the region behind with its creator's pid; `ipcx ls` shows it as gone and
 * `ipcx rm` removes it.
 *
 * Layout of the region's data (all little-endian host order, one host):
 *
 *   offset  size  field
 *        0     4  layout     (1)
 *        4     4  pattern    (IPCX_PAIR..IPCX_PUSH)
 *        8     4  n_endpoints, atomic, release/acquire
 *       12     4  peers, atomic relaxed
 *       16    96  counters[12], atomic relaxed u64 (see enum below)
 *      112  1984  endpoints[8][248], NUL-terminated URLs
 *   (layout 2, the connection table)
 *     2096     4  conn_seq, atomic: odd while the table is rebuilt
 *     2100     4  n_conns, atomic relaxed: entries in use (<= 16)
 *     2104     4  conns_total, atomic relaxed: active connections (may
 *                 be more than the table holds)
 *     2108     4  (zero)
 *     2112  2048  conns[16], 128 bytes each, every field an atomic:
 *                   +0 peer_pid i64   +8 peer_uid i64 (-1: unknown)
 *                  +16 transport u32 (1 tcp, 2 unix, 3 shm)  +20 (zero)
 *                  +24 msgs_in u64  +32 msgs_out u64  +40 drops u64
 *                  +48 rx_used u64  +56 rx_cap u64
 *                  +64 tx_used u64  +72 tx_cap u64
 *                  +80 peer[48]: the peer's address, 6 u64 words of
 *                      NUL-padded text
 *     4160        end
 *
 * The connection table.  Identity fields (pid, uid, transport, peer) and
 * n_conns change only when the set of connections changes (connects +
 * disconnects moved): the owner then makes conn_seq odd (relaxed store,
 * release fence), rewrites the table, and makes it even again (release
 * store).  A reader loads conn_seq (acquire), copies, issues an acquire
 * fence and loads conn_seq again: an odd or changed value means it read a
 * rebuild and it tries again (a seqlock; every field is an atomic, so a
 * torn read is a retry, never undefined behaviour).  The figures (msgs,
 * drops, fill) are relaxed stores refreshed at the end of every call on
 * the socket (the fill every 64th call: reading a ring's counters touches
 * the peer's cache lines), outside the seqlock: statistics.
 */
#include <stdio.h>
#include <string.h>

#include "socket/socket_int.h"

enum {
    C_MSGS_SENT,
    C_MSGS_RECEIVED,
    C_BYTES_SENT,
    C_BYTES_RECEIVED,
    C_DROPS,
    C_FILTERED,
    C_CONNECTS,
    C_DISCONNECTS,
    C_RECONNECTS,
    C_HS_FAILURES,
    C_EVENTS_DROPPED,
    C_UPDATED_NS,
    C_COUNT
};

#define PUB_LAYOUT     2
#define PUB_CONNS      16
#define PUB_PEER_WORDS 6

struct pub_conn {
    ipcx_atomic_u64 peer_pid, peer_uid;
    ipcx_atomic_u32 transport, zero;
    ipcx_atomic_u64 msgs_in, msgs_out, drops;
    ipcx_atomic_u64 rx_used, rx_cap, tx_used, tx_cap;
    ipcx_atomic_u64 peer[PUB_PEER_WORDS];
};

struct ipcx__sock_pub {
    uint32_t layout;
    uint32_t pattern;
    ipcx_atomic_u32 n_endpoints;
    ipcx_atomic_u32 peers;
    ipcx_atomic_u64 counters[C_COUNT];
    char endpoints[IPCX_SOCKET_INFO_ENDPOINTS][248];
    /* layout 2 */
    ipcx_atomic_u32 conn_seq, n_conns, conns_total, zero;
    struct pub_conn conns[PUB_CONNS];
};

_Static_assert(sizeof(struct pub_conn) == 128, "layout");
_Static_assert(offsetof(struct pub_conn, transport) == 16, "layout");
_Static_assert(offsetof(struct pub_conn, msgs_in) == 24, "layout");
_Static_assert(offsetof(struct pub_conn, rx_used) == 48, "layout");
_Static_assert(offsetof(struct pub_conn, peer) == 80, "layout");
_Static_assert(PUB_CONNS <= IPCX_SOCKET_INFO_CONNS, "the table fits what readers take");
_Static_assert(PUB_PEER_WORDS * 8 == sizeof(((ipcx_socket_conn *)0)->peer), "peer text");

_Static_assert(offsetof(struct ipcx__sock_pub, n_endpoints) == 8, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, peers) == 12, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, counters) == 16, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, endpoints) == 112, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, conn_seq) == 2096, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, conns) == 2112, "layout");
_Static_assert(sizeof(struct ipcx__sock_pub) == 4160, "layout");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2, "lock-free atomics");

static void fill_of(const sk_pipe *p, uint64_t f[4])
{
    if (p->shm != NULL) {
        ipcx__shm_fill(p, &f[0], &f[1], &f[2], &f[3]);
        return;
    }
    /* A ZMTP connection: what was read ahead and not decoded yet, and what
     * is queued for the kernel (no fixed capacity: caps 0). */
    f[0] = p->in_len > p->in_pos ? p->in_len - p->in_pos : 0;
    f[1] = 0;
    f[2] = p->out_len > p->out_pos ? p->out_len - p->out_pos : 0;
    f[3] = 0;
}

/* The connection table (layout above): rebuilt under the seqlock when
 * connections came or went, else the figures of the entries refreshed. */
static void publish_conns(ipcx_socket *s, struct ipcx__sock_pub *pub)
{
    uint64_t sig = s->st.connects + s->st.disconnects + 1;
    bool rebuild = sig != s->pub_sig;
    bool sample = rebuild || (++s->pub_tick & 63) == 0;
    if (rebuild) {
        /* Odd: readers retry.  The release fence keeps the table's stores
         * below after this one (pairs with the reader's acquire fence). */
        store_relaxed(&pub->conn_seq, load_relaxed(&pub->conn_seq) | 1u);
        atomic_thread_fence(memory_order_release);
    }
    /* The first PUB_CONNS active pipes only: a socket with thousands of
     * connections pays for 16 per call, not for all of them. */
    uint32_t n = 0;
    for (sk_pipe *p = s->pipes; p != NULL && n < PUB_CONNS; p = p->next) {
        if (p->state != P_ACTIVE)
            continue;
        struct pub_conn *c = &pub->conns[n++];
        if (rebuild) {
            store_relaxed(&c->peer_pid, (uint64_t)p->peer_pid);
            store_relaxed(&c->peer_uid, (uint64_t)p->peer_uid);
            store_relaxed(&c->transport, (uint32_t)p->tp_kind);
            uint64_t w[PUB_PEER_WORDS] = {0};
            size_t len = strnlen(p->peer_addr, sizeof(w) - 1);
            memcpy(w, p->peer_addr, len);
            for (int i = 0; i < PUB_PEER_WORDS; i++)
                store_relaxed(&c->peer[i], w[i]);
        }
        store_relaxed(&c->msgs_in, p->n_in);
        store_relaxed(&c->msgs_out, p->n_out);
        store_relaxed(&c->drops, p->n_drops);
        if (sample) {
            uint64_t f[4];
            fill_of(p, f);
            store_relaxed(&c->rx_used, f[0]);
            store_relaxed(&c->rx_cap, f[1]);
            store_relaxed(&c->tx_used, f[2]);
            store_relaxed(&c->tx_cap, f[3]);
        }
    }
    store_relaxed(&pub->conns_total, s->nactive > n ? s->nactive : n);
    if (rebuild) {
        store_relaxed(&pub->n_conns, n);
        /* Even again: publishes the rebuilt table; pairs with the reader's
         * acquire load of conn_seq. */
        store_release(&pub->conn_seq, (load_relaxed(&pub->conn_seq) | 1u) + 1);
        s->pub_sig = sig;
    }
}

void ipcx__sk_publish(ipcx_socket *s)
{
    struct ipcx__sock_pub *pub = s->pub;
    const ipcx_socket_stats *st = &s->st;
    const uint64_t v[C_COUNT] = {st->msgs_sent,          st->msgs_received,  st->bytes_sent,
                                 st->bytes_received,     st->drops,          st->filtered,
                                 st->connects,           st->disconnects,    st->reconnects,
                                 st->handshake_failures, st->events_dropped, 0};
    for (int i = 0; i < C_UPDATED_NS; i++)
        store_relaxed(&pub->counters[i], v[i]);
    store_relaxed(&pub->peers, s->nactive);
    publish_conns(s, pub);
}

void ipcx__sk_publish_endpoint(ipcx_socket *s, const char *url)
{
    struct ipcx__sock_pub *pub = s->pub;
    if (pub == NULL)
        return;
    uint32_t n = load_relaxed(&pub->n_endpoints); /* only we write it */
    if (n >= IPCX_SOCKET_INFO_ENDPOINTS)
        return;
    /* A longer URL is shown cut (the socket itself keeps it whole). */
    size_t len = strnlen(url, sizeof(pub->endpoints[n]) - 1);
    memcpy(pub->endpoints[n], url, len);
    pub->endpoints[n][len] = '\0';
    /* Publishes the string written above; pairs with the acquire load in
     * ipcx_socket_info_read(). */
    store_release(&pub->n_endpoints, n + 1);
}

IPCX_API int ipcx_socket_expose(ipcx_socket *s, const char *name)
{
    if (s == NULL || name == NULL)
        return -EINVAL;
    pthread_mutex_lock(&s->mu);
    int rc = -EALREADY;
    if (s->pub_region == NULL) {
        ipcx_region_opts o = {.kind = IPCX_REGION_SOCKET};
        rc = ipcx_region_create(name, sizeof(struct ipcx__sock_pub), &o, &s->pub_region);
    } else {
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    if (rc == 0) {
        snprintf(s->pub_name, sizeof(s->pub_name), "%s", name);
        s->pub = ipcx_region_data(s->pub_region);
        s->pub->layout = PUB_LAYOUT;
        s->pub_sig = 0; /* the first publish builds the table */
        s->pub->pattern = (uint32_t)s->pattern;
        char url[300];
        for (sk_listener *l = s->listeners; l != NULL; l = l->next)
            if (ipcx__tp_endpoint(&l->addr, l->fd, url, sizeof(url)) > 0)
                ipcx__sk_publish_endpoint(s, url);
        for (sk_dialer *d = s->dialers; d != NULL; d = d->next)
            ipcx__sk_publish_endpoint(s, d->addr.url);
        ipcx__sk_publish(s);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void ipcx__sk_unexpose(ipcx_socket *s)
{
    if (s->pub_region == NULL)
        return;
    ipcx_region_close(s->pub_region);
    (void)ipcx_region_unlink(s->pub_name);
    s->pub_region = NULL;
    s->pub = NULL;
}

/* Open the socket region @name for reading: 0 with *r, *pub and *ri, or
 * -errno (nothing left open).  Only the kind and size are checked here. */
static int pub_open(const char *name, ipcx_region **r, struct ipcx__sock_pub **pub,
                    ipcx_region_info *ri)
{
    int rc = ipcx_region_open(name, r);
    if (rc != 0)
        return rc;
    rc = ipcx_region_get_info(*r, ri);
    if (rc == 0 && ri->kind != IPCX_REGION_SOCKET)
        rc = -ENOTSUP;
    if (rc == 0 && ipcx_region_size(*r) < sizeof(struct ipcx__sock_pub))
        rc = -EPROTO;
    if (rc != 0) {
        ipcx_region_close(*r);
        return rc;
    }
    *pub = ipcx_region_data(*r);
    return 0;
}

IPCX_API int ipcx_socket_info_read(const char *name, ipcx_socket_info *out)
{
    if (name == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    ipcx_region *r;
    struct ipcx__sock_pub *pub;
    ipcx_region_info ri;
    int rc = pub_open(name, &r, &pub, &ri);
    if (rc != 0)
        return rc;
    uint32_t pattern = pub->pattern;
    /* Pairs with the release store in ipcx__sk_publish_endpoint(). */
    uint32_t n = load_acquire(&pub->n_endpoints);
    if (pub->layout != PUB_LAYOUT || pattern < IPCX_PAIR || pattern > IPCX_PUSH) {
        ipcx_region_close(r);
        return -EPROTO;
    }
    out->pattern = (int)pattern;
    out->creator_pid = ri.creator_pid;
    out->creator_alive = ri.creator_alive;
    out->n_endpoints = n > IPCX_SOCKET_INFO_ENDPOINTS ? IPCX_SOCKET_INFO_ENDPOINTS : n;
    for (uint32_t i = 0; i < out->n_endpoints; i++) {
        memcpy(out->endpoints[i], pub->endpoints[i], sizeof(out->endpoints[i]) - 1);
        out->endpoints[i][sizeof(out->endpoints[i]) - 1] = '\0';
    }
    ipcx_socket_stats *st = &out->stats;
    uint64_t v[C_COUNT];
    for (int i = 0; i < C_COUNT; i++)
        v[i] = load_relaxed(&pub->counters[i]);
    st->msgs_sent = v[C_MSGS_SENT];
    st->msgs_received = v[C_MSGS_RECEIVED];
    st->bytes_sent = v[C_BYTES_SENT];
    st->bytes_received = v[C_BYTES_RECEIVED];
    st->drops = v[C_DROPS];
    st->filtered = v[C_FILTERED];
    st->connects = v[C_CONNECTS];
    st->disconnects = v[C_DISCONNECTS];
    st->reconnects = v[C_RECONNECTS];
    st->handshake_failures = v[C_HS_FAILURES];
    st->events_dropped = v[C_EVENTS_DROPPED];
    st->peers = load_relaxed(&pub->peers);
    ipcx_region_close(r);
    return 0;
}

IPCX_API int ipcx_socket_conns_read(const char *name, ipcx_socket_conn *out, size_t max,
                                    size_t *total)
{
    if (name == NULL || (out == NULL && max > 0))
        return -EINVAL;
    ipcx_region *r;
    struct ipcx__sock_pub *pub;
    ipcx_region_info ri;
    int rc = pub_open(name, &r, &pub, &ri);
    if (rc != 0)
        return rc;
    if (pub->layout != PUB_LAYOUT)
        rc = -EPROTO;
    size_t n = 0;
    for (int tries = 0; rc == 0; tries++) {
        if (tries == 1000) {
            rc = -EAGAIN; /* rebuilt all the time, or a writer died mid-rebuild */
            break;
        }
        /* Pairs with the owner's release store that ends a rebuild. */
        uint32_t seq = load_acquire(&pub->conn_seq);
        if (seq & 1u)
            continue;
        uint32_t nc = load_relaxed(&pub->n_conns);
        n = nc > PUB_CONNS ? PUB_CONNS : nc;
        if (n > max)
            n = max;
        for (size_t i = 0; i < n; i++) {
            const struct pub_conn *c = &pub->conns[i];
            ipcx_socket_conn *o = &out[i];
            memset(o, 0, sizeof(*o));
            o->peer_pid = (int64_t)load_relaxed(&c->peer_pid);
            o->peer_uid = (int64_t)load_relaxed(&c->peer_uid);
            o->transport = (int)load_relaxed(&c->transport);
            uint64_t w[PUB_PEER_WORDS];
            for (int k = 0; k < PUB_PEER_WORDS; k++)
                w[k] = load_relaxed(&c->peer[k]);
            memcpy(o->peer, w, sizeof(o->peer));
            o->peer[sizeof(o->peer) - 1] = '\0';
            o->msgs_in = load_relaxed(&c->msgs_in);
            o->msgs_out = load_relaxed(&c->msgs_out);
            o->drops = load_relaxed(&c->drops);
            o->rx_used = load_relaxed(&c->rx_used);
            o->rx_cap = load_relaxed(&c->rx_cap);
            o->tx_used = load_relaxed(&c->tx_used);
            o->tx_cap = load_relaxed(&c->tx_cap);
        }
        if (total != NULL)
            *total = load_relaxed(&pub->conns_total);
        /* Our loads above before the second look at conn_seq; pairs with
         * the owner's release fence at the start of a rebuild. */
        atomic_thread_fence(memory_order_acquire);
        if (load_relaxed(&pub->conn_seq) == seq)
            break;
    }
    ipcx_region_close(r);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        /* Untrusted: a transport we do not know reads as 0. */
        if (out[i].transport < 1 || out[i].transport > 3)
            out[i].transport = 0;
    }
    return (int)n;
}
