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
 *     2096        end
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

struct ipcx__sock_pub {
    uint32_t layout;
    uint32_t pattern;
    ipcx_atomic_u32 n_endpoints;
    ipcx_atomic_u32 peers;
    ipcx_atomic_u64 counters[C_COUNT];
    char endpoints[IPCX_SOCKET_INFO_ENDPOINTS][248];
};

_Static_assert(offsetof(struct ipcx__sock_pub, n_endpoints) == 8, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, peers) == 12, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, counters) == 16, "layout");
_Static_assert(offsetof(struct ipcx__sock_pub, endpoints) == 112, "layout");
_Static_assert(sizeof(struct ipcx__sock_pub) == 2096, "layout");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2, "lock-free atomics");

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
        s->pub->layout = 1;
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

IPCX_API int ipcx_socket_info_read(const char *name, ipcx_socket_info *out)
{
    if (name == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    ipcx_region *r;
    int rc = ipcx_region_open(name, &r);
    if (rc != 0)
        return rc;
    ipcx_region_info ri;
    rc = ipcx_region_get_info(r, &ri);
    if (rc == 0 && ri.kind != IPCX_REGION_SOCKET)
        rc = -ENOTSUP;
    if (rc == 0 && ipcx_region_size(r) < sizeof(struct ipcx__sock_pub))
        rc = -EPROTO;
    if (rc != 0) {
        ipcx_region_close(r);
        return rc;
    }
    struct ipcx__sock_pub *pub = ipcx_region_data(r);
    uint32_t pattern = pub->pattern;
    /* Pairs with the release store in ipcx__sk_publish_endpoint(). */
    uint32_t n = load_acquire(&pub->n_endpoints);
    if (pub->layout != 1 || pattern < IPCX_PAIR || pattern > IPCX_PUSH) {
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
