// SPDX-License-Identifier: MIT
/*
 * The mechanisms' glue to sockets and pipes: the security options, and the
 * hooks pipe.c calls for a connection under PLAIN or CURVE - the greeting
 * written at attach, the raw reads turned into the NULL stream the decoder
 * reads (ipcx__mech_read), and, under CURVE, the flush that seals queued
 * frames into MESSAGE commands (ipcx__mech_flush).  mech.h has the design
 * notes.  All of it runs under the socket's mutex.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket/mech.h"
#include "socket/socket_int.h"

/* Raw input buffered for the mechanism: a whole MESSAGE at most. */
#define RAW_FIRST (16u << 10)
/* Plain frames sealed per flush, at most (then written before more). */
#define SEAL_CHUNK (256u << 10)

/* ------------------------------------------------------------ options */

static ipcx__sec *sec_get(ipcx_socket *s)
{
    if (s->sec == NULL)
        s->sec = calloc(1, sizeof(*s->sec));
    return s->sec;
}

void ipcx__sec_free(ipcx__sec *sec)
{
    if (sec == NULL)
        return;
    ipcx__keylist_free(&sec->allow);
    sodium_memzero(sec, sizeof(*sec));
    free(sec);
}

int ipcx__sec_set(ipcx_socket *s, int opt, int64_t v)
{
    if (opt != IPCX_OPT_PLAIN_SERVER && opt != IPCX_OPT_CURVE_SERVER)
        return -EINVAL;
    if (v != 0 && v != 1)
        return -EINVAL;
    ipcx__sec *sec = sec_get(s);
    if (sec == NULL)
        return -ENOMEM;
    int mech = opt == IPCX_OPT_PLAIN_SERVER ? IPCX__MECH_PLAIN : IPCX__MECH_CURVE;
    if (v == 1) {
        sec->mech = mech;
        sec->server = true;
    } else if (sec->mech == mech && sec->server) {
        sec->server = false;
        if (mech == IPCX__MECH_CURVE && !sec->have_server_key)
            sec->mech = IPCX__MECH_NULL;
        if (mech == IPCX__MECH_PLAIN && sec->user_len == 0 && sec->pass_len == 0)
            sec->mech = IPCX__MECH_NULL;
    }
    return 0;
}

int ipcx__sec_set_bytes(ipcx_socket *s, int opt, const void *data, size_t len)
{
    if (opt < IPCX_OPT_PLAIN_USERNAME || opt > IPCX_OPT_CURVE_ALLOW || opt == IPCX_OPT_CURVE_SERVER)
        return -EINVAL;
    ipcx__sec *sec = sec_get(s);
    if (sec == NULL)
        return -ENOMEM;
    uint8_t k[32];
    switch (opt) {
    case IPCX_OPT_PLAIN_USERNAME:
    case IPCX_OPT_PLAIN_PASSWORD:
        if (len > 255)
            return -EINVAL;
        if (opt == IPCX_OPT_PLAIN_USERNAME) {
            memcpy(sec->user, data, len);
            sec->user_len = len;
        } else {
            memcpy(sec->pass, data, len);
            sec->pass_len = len;
        }
        sec->mech = IPCX__MECH_PLAIN;
        sec->server = false;
        return 0;
    default:
        break;
    }
    if (ipcx_curve_key_parse(k, data, len) != 0)
        return -EINVAL;
    switch (opt) {
    case IPCX_OPT_CURVE_PUBLICKEY:
        memcpy(sec->pub, k, 32);
        sec->have_pub = true;
        break;
    case IPCX_OPT_CURVE_SECRETKEY:
        memcpy(sec->sec, k, 32);
        sec->have_sec = true;
        if (!sec->have_pub && ipcx_curve_public(sec->pub, sec->sec) == 0)
            sec->have_pub = true;
        break;
    case IPCX_OPT_CURVE_SERVERKEY:
        memcpy(sec->server_key, k, 32);
        sec->have_server_key = true;
        sec->mech = IPCX__MECH_CURVE;
        sec->server = false;
        break;
    default: /* IPCX_OPT_CURVE_ALLOW: a public key, nothing to wipe */
        return ipcx__keylist_add(&sec->allow, k);
    }
    sodium_memzero(k, sizeof(k));
    return 0;
}

int ipcx__sec_mechanism(const ipcx_socket *s)
{
    return s->sec != NULL ? s->sec->mech : IPCX__MECH_NULL;
}

IPCX_API int ipcx_socket_set_auth(ipcx_socket *s, ipcx_auth_fn fn, void *arg)
{
    if (s == NULL)
        return -EINVAL;
    pthread_mutex_lock(&s->mu);
    ipcx__sec *sec = sec_get(s);
    int rc = sec == NULL ? -ENOMEM : 0;
    if (sec != NULL) {
        sec->auth = fn;
        sec->auth_arg = arg;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

IPCX_API int ipcx_socket_curve_keyfile(ipcx_socket *s, const char *path)
{
    if (s == NULL || path == NULL)
        return -EINVAL;
    uint8_t pub[32], sec[32];
    int rc = ipcx_curve_secret_file_read(path, pub, sec);
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        ipcx__sec *x = sec_get(s);
        if (x == NULL) {
            rc = -ENOMEM;
        } else {
            memcpy(x->pub, pub, 32);
            memcpy(x->sec, sec, 32);
            x->have_pub = x->have_sec = true;
        }
        pthread_mutex_unlock(&s->mu);
    }
    sodium_memzero(sec, sizeof(sec));
    return rc;
}

IPCX_API int ipcx_socket_curve_allow(ipcx_socket *s, const char *path)
{
    if (s == NULL || path == NULL)
        return -EINVAL;
    ipcx__keylist l = {0};
    int rc = ipcx__keylist_load(&l, path);
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        ipcx__sec *x = sec_get(s);
        for (size_t i = 0; x != NULL && i < l.n && rc == 0; i++)
            rc = ipcx__keylist_add(&x->allow, l.keys[i]);
        if (x == NULL)
            rc = -ENOMEM;
        pthread_mutex_unlock(&s->mu);
    }
    ipcx__keylist_free(&l);
    return rc;
}

/* ------------------------------------------------------------ pipes */

bool ipcx__mech_seals(const sk_pipe *p)
{
    return p->mx != NULL && p->mx->mech == IPCX__MECH_CURVE;
}

bool ipcx__mech_pending(const sk_pipe *p)
{
    return p->mx != NULL && p->mx->sealed.pos < p->mx->sealed.len;
}

const char *ipcx__mech_reason(const sk_pipe *p, const char *otherwise)
{
    return p->mx != NULL && p->mx->state == MX_FAILED ? p->mx->reason : otherwise;
}

void ipcx__mech_reset(sk_pipe *p)
{
    ipcx__mx_destroy(p->mx);
    p->mx = NULL;
}

/* Move what the mechanism has to say into the handshake bytes. */
static int mech_to_hs(sk_pipe *p)
{
    ipcx__buf *tx = &p->mx->tx;
    size_t n = tx->len - tx->pos;
    if (n == 0)
        return 0;
    if (p->hs_pos == p->hs_len)
        p->hs_pos = p->hs_len = 0;
    if (p->hs_len + n > sizeof(p->hs) && p->hs_pos > 0) {
        memmove(p->hs, p->hs + p->hs_pos, p->hs_len - p->hs_pos);
        p->hs_len -= p->hs_pos;
        p->hs_pos = 0;
    }
    if (p->hs_len + n > sizeof(p->hs))
        return -ENOBUFS;
    memcpy(p->hs + p->hs_len, tx->d + tx->pos, n);
    p->hs_len += n;
    tx->pos = tx->len = 0;
    return 0;
}

int ipcx__mech_attach(sk_pipe *p)
{
    ipcx_socket *s = p->s;
    uint8_t ready[IPCX_ZMTP_HDR_MAX + 6 + 512];
    int r = ipcx_zmtp_encode_ready(ready, sizeof(ready), s->zmtp_type,
                                   s->identity_len ? s->identity : NULL, s->identity_len, NULL, 0);
    if (r < 0)
        return r;
    size_t hl = (ready[0] & IPCX_ZMTP_FLAG_LONG) ? 9 : 2;
    ipcx__mx_cfg c = {.sec = s->sec,
                      .meta = ready + hl + 6,
                      .meta_len = (size_t)r - hl - 6,
                      .max_msg = s->max_msg,
                      .peer = p->peer_addr};
    ipcx__mech_reset(p);
    int rc = ipcx__mx_create(&c, &p->mx);
    if (rc != 0)
        return rc;
    p->hs_pos = p->hs_len = 0;
    return mech_to_hs(p);
}

static ssize_t fail_read(int err)
{
    errno = -err;
    return -1;
}

/* read(2) for the decoder under a mechanism: the NULL stream's next bytes,
 * 0 at the end, or -1 and errno (EAGAIN when nothing more is there). */
ssize_t ipcx__mech_read(sk_pipe *p, uint8_t *buf, size_t cap)
{
    ipcx__mx *m = p->mx;
    for (;;) {
        ipcx__buf *pl = &m->plain;
        if (pl->pos < pl->len) {
            size_t n = pl->len - pl->pos < cap ? pl->len - pl->pos : cap;
            memcpy(buf, pl->d + pl->pos, n);
            pl->pos += n;
            if (pl->pos == pl->len)
                pl->pos = pl->len = 0;
            return (ssize_t)n;
        }
        if (m->state == MX_FAILED)
            return fail_read(m->err);
        ipcx__buf *raw = &m->raw;
        if (m->state == MX_ACTIVE && m->mech == IPCX__MECH_PLAIN && raw->pos == raw->len)
            return read(p->fd, buf, cap); /* PLAIN frames are NULL's */
        if (raw->len == raw->cap) {
            /* Full: move the partial frame to the front, or, when it fills
             * the buffer, double it (the header was checked against the
             * limits, so this stops at one MESSAGE). */
            size_t more = raw->cap == 0 ? RAW_FIRST : raw->pos > 0 ? 1 : raw->cap;
            if (ipcx__buf_reserve(raw, more) != 0)
                return fail_read(-ENOMEM);
        }
        ssize_t n = read(p->fd, raw->d + raw->len, raw->cap - raw->len);
        if (n <= 0)
            return n;
        raw->len += (size_t)n;
        size_t used = 0;
        int rc = ipcx__mx_input(m, raw->d + raw->pos, raw->len - raw->pos, &used);
        raw->pos += used;
        if (raw->pos == raw->len)
            raw->pos = raw->len = 0;
        if (m->tx.len > m->tx.pos) {
            if (mech_to_hs(p) != 0)
                rc = ipcx__mx_fail(m, -ENOBUFS, false, NULL, "handshake output too large");
            (void)ipcx__pipe_flush(p);
            if (p->fd < 0)
                return fail_read(-EPIPE); /* the write failed: the pipe is closed */
        }
        if (rc != 0) {
            if (m->refused)
                p->s->st.auth_refused++;
            return fail_read(rc);
        }
    }
}

/* Seal up to SEAL_CHUNK of whole queued messages (at least one). */
static int seal_some(sk_pipe *p)
{
    uint64_t from = p->out_base + p->out_pos, upto = from;
    for (size_t i = 0; i < p->ends_n; i++) {
        uint64_t e = p->ends[(p->ends_head + i) % p->ends_cap];
        if (e <= upto)
            continue;
        if (upto > from && e - from > SEAL_CHUNK)
            break;
        upto = e;
    }
    if (upto == from)
        upto = p->out_base + p->out_len; /* nothing listed (cannot happen): all of it */
    int rc = ipcx__mx_seal(p->mx, p->out + p->out_pos, (size_t)(upto - from), &p->mx->sealed);
    if (rc != 0)
        return rc;
    p->out_pos += (size_t)(upto - from);
    ipcx__pipe_written(p);
    return 0;
}

/* ipcx__pipe_flush under CURVE: handshake bytes, then sealed messages. */
int ipcx__mech_flush(sk_pipe *p)
{
    ipcx__buf *sd = &p->mx->sealed;
    for (;;) {
        if (p->state == P_ACTIVE && sd->pos == sd->len && p->out_pos < p->out_len) {
            int rc = seal_some(p);
            if (rc != 0) {
                ipcx__pipe_fail(p, rc, "sealing a message failed");
                return -EPIPE;
            }
        }
        struct iovec iov[2];
        size_t n = 0;
        size_t hs_left = p->hs_len - p->hs_pos;
        if (hs_left > 0)
            iov[n++] = (struct iovec){p->hs + p->hs_pos, hs_left};
        size_t sd_left = p->state == P_ACTIVE ? sd->len - sd->pos : 0;
        if (sd_left > 0)
            iov[n++] = (struct iovec){sd->d + sd->pos, sd_left};
        if (n == 0) {
            p->batching = false;
            if (p->out_armed)
                p->s->news = true;
            ipcx__pipe_arm_out(p, false);
            return 0;
        }
        ssize_t w = ipcx__pipe_writev(p, iov, n);
        if (w < 0) {
            ipcx__pipe_fail(p, (int)w, "write failed");
            return -EPIPE;
        }
        size_t uw = (size_t)w;
        size_t h = uw < hs_left ? uw : hs_left;
        p->hs_pos += h;
        sd->pos += uw - h;
        if (sd->pos == sd->len)
            sd->pos = sd->len = 0;
        if (w > 0 && p->s->hb_ivl > 0)
            p->last_tx = ipcx__now_ns();
        if (uw < hs_left + sd_left) {
            ipcx__pipe_arm_out(p, true);
            return 0;
        }
    }
}
