// SPDX-License-Identifier: MIT
/*
 * The mechanism core shared by PLAIN and CURVE (mech.h has the design
 * notes): the peer's greeting, the command framing of the handshake, the
 * ERROR command, the authoriser, and what the NULL decoder is fed.
 * Everything here parses untrusted bytes: every length is checked against
 * what the mechanism allows before anything is copied or allocated.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socket/mech.h"
#include <ipcx/zmtp.h>

static const char *const mech_names[] = {"NULL", "PLAIN", "CURVE"};

int ipcx__buf_reserve(ipcx__buf *b, size_t more)
{
    if (b->pos > 0 && b->pos == b->len)
        b->pos = b->len = 0;
    if (b->len + more <= b->cap)
        return 0;
    if (b->pos > 0) {
        memmove(b->d, b->d + b->pos, b->len - b->pos);
        b->len -= b->pos;
        b->pos = 0;
        if (b->len + more <= b->cap)
            return 0;
    }
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + more)
        ncap *= 2;
    uint8_t *n = realloc(b->d, ncap);
    if (n == NULL)
        return -ENOMEM;
    b->d = n;
    b->cap = ncap;
    return 0;
}

void ipcx__buf_free(ipcx__buf *b, bool wipe)
{
    if (b->d != NULL && wipe)
        sodium_memzero(b->d, b->cap);
    free(b->d);
    memset(b, 0, sizeof(*b));
}

int ipcx__mx_fail(ipcx__mx *m, int err, bool tell, const char *why, const char *fmt, ...)
{
    if (m->state == MX_FAILED)
        return m->err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
    va_end(ap);
    if (tell && why != NULL) {
        uint8_t e[300];
        int n = ipcx_zmtp_encode_error(e, sizeof(e), why);
        if (n > 0 && ipcx__buf_reserve(&m->tx, (size_t)n) == 0) {
            memcpy(m->tx.d + m->tx.len, e, (size_t)n);
            m->tx.len += (size_t)n;
        }
    }
    m->state = MX_FAILED;
    m->err = err;
    return err;
}

/* A command frame: name, then @a and @b. */
int ipcx__mx_emit_cmd(ipcx__mx *m, const char *name, const void *a, size_t alen, const void *b,
                      size_t blen)
{
    size_t nl = strlen(name);
    size_t body = 1 + nl + alen + blen;
    if (ipcx__buf_reserve(&m->tx, body + IPCX_ZMTP_HDR_MAX) != 0)
        return -ENOMEM;
    uint8_t *o = m->tx.d + m->tx.len;
    size_t h = ipcx_zmtp_encode_header(o, body, IPCX_ZMTP_FLAG_COMMAND);
    o[h] = (uint8_t)nl;
    memcpy(o + h + 1, name, nl);
    if (alen > 0)
        memcpy(o + h + 1 + nl, a, alen);
    if (blen > 0)
        memcpy(o + h + 1 + nl + alen, b, blen);
    m->tx.len += h + body;
    return 0;
}

/* The handshake is over: the decoder gets the peer's READY (its metadata
 * checked there as for NULL), and frames after it. */
int ipcx__mx_deliver_ready(ipcx__mx *m, const uint8_t *meta, size_t len)
{
    size_t body = 6 + len;
    if (ipcx__buf_reserve(&m->plain, body + IPCX_ZMTP_HDR_MAX) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    uint8_t *o = m->plain.d + m->plain.len;
    size_t h = ipcx_zmtp_encode_header(o, body, IPCX_ZMTP_FLAG_COMMAND);
    memcpy(o + h, "\x05READY", 6);
    if (len > 0)
        memcpy(o + h + 6, meta, len);
    m->plain.len += h + body;
    m->state = MX_ACTIVE;
    return 0;
}

int ipcx__mx_authorise(ipcx__mx *m, const uint8_t *key, const uint8_t *user, size_t ulen,
                       const uint8_t *pass, size_t plen)
{
    const ipcx__sec *sec = m->sec;
    bool ok;
    if (m->mech == IPCX__MECH_CURVE) {
        ok = sec->allow.n == 0 || ipcx__keylist_has(&sec->allow, key);
        if (ok && sec->auth == NULL && sec->allow.n == 0)
            return 0; /* an open CURVE server: encryption without access control */
    } else {
        ok = sec->auth != NULL;
    }
    if (ok && sec->auth != NULL) {
        ipcx_auth_request rq = {.mechanism = m->mech,
                                .public_key = key,
                                .username = user,
                                .username_len = ulen,
                                .password = pass,
                                .password_len = plen,
                                .peer = m->peer};
        ok = sec->auth(sec->auth_arg, &rq) == 0;
    }
    if (ok)
        return 0;
    m->refused = true;
    if (m->mech == IPCX__MECH_CURVE) {
        char z[41];
        (void)ipcx_z85_encode(z, sizeof(z), key, 32);
        return ipcx__mx_fail(m, -EACCES, true, "400", "client key %s refused", z);
    }
    return ipcx__mx_fail(m, -EACCES, true, "400", "PLAIN user \"%.*s\" refused",
                         (int)(ulen > 64 ? 64 : ulen), (const char *)user);
}

int ipcx__mx_create(const ipcx__mx_cfg *c, ipcx__mx **out)
{
    if (ipcx__sodium_init() != 0)
        return -EIO;
    ipcx__mx *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    m->sec = c->sec;
    m->mech = c->sec->mech;
    m->server = c->sec->server;
    m->max_msg = c->max_msg;
    m->peer_minor = 1;
    snprintf(m->peer, sizeof(m->peer), "%s", c->peer != NULL ? c->peer : "");
    if (c->meta_len > 0) {
        m->meta = malloc(c->meta_len);
        if (m->meta == NULL) {
            free(m);
            return -ENOMEM;
        }
        memcpy(m->meta, c->meta, c->meta_len);
        m->meta_len = c->meta_len;
    }
    uint8_t g[IPCX_ZMTP_GREETING_SIZE];
    (void)ipcx_zmtp_encode_greeting(g);
    memset(g + 12, 0, 20);
    memcpy(g + 12, mech_names[m->mech], strlen(mech_names[m->mech]));
    g[32] = m->server ? 1 : 0;
    if (ipcx__buf_reserve(&m->tx, sizeof(g)) != 0) {
        ipcx__mx_destroy(m);
        return -ENOMEM;
    }
    memcpy(m->tx.d, g, sizeof(g));
    m->tx.len = sizeof(g);
    if (m->mech == IPCX__MECH_CURVE)
        (void)ipcx__curve_init(m); /* a missing key fails the handshake, with a reason */
    *out = m;
    return 0;
}

void ipcx__mx_destroy(ipcx__mx *m)
{
    if (m == NULL)
        return;
    ipcx__buf_free(&m->tx, true);
    ipcx__buf_free(&m->plain, true);
    ipcx__buf_free(&m->sealed, false);
    ipcx__buf_free(&m->raw, false);
    free(m->meta);
    sodium_memzero(m, sizeof(*m));
    free(m);
}

static int on_greeting(ipcx__mx *m, const uint8_t *g)
{
    if (g[0] != 0xFF || (g[9] & 1) != 1)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "not a ZMTP peer (bad signature)");
    if (g[10] < 3)
        return ipcx__mx_fail(m, -EPROTONOSUPPORT, false, NULL,
                             "peer speaks ZMTP %u.x; PLAIN and CURVE need 3.0 or later", g[10]);
    char name[21];
    memcpy(name, g + 12, 20);
    name[20] = '\0';
    for (int i = 0; i < 20; i++)
        if (name[i] != '\0' && (name[i] < 0x20 || name[i] > 0x7e))
            name[i] = '?';
    const char *ours = mech_names[m->mech];
    size_t ol = strlen(ours);
    bool same = memcmp(g + 12, ours, ol) == 0;
    for (size_t i = ol; i < 20 && same; i++)
        same = g[12 + i] == 0;
    if (!same)
        return ipcx__mx_fail(m, -EPROTONOSUPPORT, false, NULL,
                             "mechanism mismatch: the peer speaks %s, this socket %s", name, ours);
    /* The as-server octet is not checked beyond its range: libzmq always
     * sends 0.  The roles come from the options, and two servers or two
     * clients fail at the first command. */
    if (g[32] > 1)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "as-server octet %u is not 0 or 1", g[32]);
    m->peer_minor = g[11] > 0 ? 1 : 0;
    /* The decoder's NULL greeting, with the peer's version. */
    if (ipcx__buf_reserve(&m->plain, IPCX_ZMTP_GREETING_SIZE) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    uint8_t *o = m->plain.d + m->plain.len;
    (void)ipcx_zmtp_encode_greeting(o);
    o[11] = (uint8_t)m->peer_minor;
    m->plain.len += IPCX_ZMTP_GREETING_SIZE;
    m->state = m->server ? MX_HELLO : MX_WELCOME;
    if (m->server)
        return 0;
    return m->mech == IPCX__MECH_PLAIN ? ipcx__plain_start(m) : ipcx__curve_start(m);
}

/* The peer's ERROR during the handshake. */
static int on_error(ipcx__mx *m, const uint8_t *body, size_t len)
{
    if (len < 7 || body[6] != len - 7)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "malformed ERROR command");
    const char *r = (const char *)body + 7;
    size_t rl = len - 7;
    char clean[101];
    size_t k = 0;
    for (size_t i = 0; i < rl && k < 100; i++)
        clean[k++] = r[i] >= 0x20 && r[i] < 0x7f ? r[i] : '?';
    clean[k] = '\0';
    if (rl == 3 && r[0] == '4')
        return ipcx__mx_fail(m, -EACCES, false, NULL, "the server refused us: access denied (%s)",
                             clean);
    return ipcx__mx_fail(m, -ECONNREFUSED, false, NULL, "the server refused us: %s", clean);
}

static int on_frame(ipcx__mx *m, uint8_t flags, const uint8_t *body, size_t len)
{
    if (m->state == MX_ACTIVE) {
        /* CURVE: every frame is a MESSAGE in a message frame of its own
         * (MORE is inside the box). */
        if (flags & (IPCX_ZMTP_FLAG_COMMAND | IPCX_ZMTP_FLAG_MORE))
            return ipcx__mx_fail(m, -EPROTO, false, NULL,
                                 "CURVE: frame flags 0x%02x where a MESSAGE belongs", flags);
        return ipcx__curve_message(m, body, len);
    }
    if (!(flags & IPCX_ZMTP_FLAG_COMMAND) || (flags & IPCX_ZMTP_FLAG_MORE))
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "%s: a message frame where a command belongs",
                             mech_names[m->mech]);
    /* libzmq 4.3's PLAIN server writes its ERROR's name as "\x5ERROR" in C,
     * which is "^RROR": the connection ends either way, so take it as the
     * ERROR it means, for its reason (docs/wire.md). */
    if (m->state != MX_ACTIVE && len >= 6 && body[0] == 0x5e && memcmp(body + 1, "RROR", 4) == 0 &&
        body[5] == len - 6) {
        uint8_t fixed[7 + 255];
        memcpy(fixed,
               "\x05"
               "ERROR",
               6);
        memcpy(fixed + 6, body + 5, len - 5);
        return on_error(m, fixed, len + 1);
    }
    if (len == 0 || body[0] == 0 || (size_t)body[0] + 1 > len)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "malformed command name");
    if (ipcx__mx_is(body, len, "ERROR", 5))
        return on_error(m, body, len);
    if (m->mech == IPCX__MECH_PLAIN)
        return ipcx__plain_command(m, body, len);
    return ipcx__curve_command(m, body, len);
}

int ipcx__mx_input(ipcx__mx *m, const uint8_t *b, size_t len, size_t *used)
{
    size_t pos = 0;
    int rc = 0;
    while (rc == 0 && m->state != MX_FAILED) {
        const uint8_t *f = b + pos;
        size_t rem = len - pos;
        if (m->state == MX_GREETING) {
            if (rem < IPCX_ZMTP_GREETING_SIZE)
                break;
            rc = on_greeting(m, f);
            pos += IPCX_ZMTP_GREETING_SIZE;
            continue;
        }
        if (m->state == MX_ACTIVE && m->mech == IPCX__MECH_PLAIN) {
            /* PLAIN frames are NULL's: the decoder checks them. */
            if (rem > 0 && ipcx__buf_reserve(&m->plain, rem) != 0)
                return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
            if (rem > 0)
                memcpy(m->plain.d + m->plain.len, f, rem);
            m->plain.len += rem;
            pos = len;
            break;
        }
        if (rem < 2)
            break;
        if (f[0] & 0xF8)
            return ipcx__mx_fail(m, -EPROTO, false, NULL, "reserved frame flag bits set");
        size_t hl = (f[0] & IPCX_ZMTP_FLAG_LONG) ? 9 : 2;
        if (rem < hl)
            break;
        uint64_t size = f[1];
        if (hl == 9) {
            size = 0;
            for (int i = 1; i < 9; i++)
                size = size << 8 | f[i];
        }
        uint64_t max = m->state == MX_ACTIVE ? m->max_msg + 33 : IPCX__MECH_CMD_MAX;
        if (size > max)
            return ipcx__mx_fail(
                m, -EMSGSIZE, false, NULL, "%s command of %llu bytes is over the limit (%llu)",
                mech_names[m->mech], (unsigned long long)size, (unsigned long long)max);
        if (rem - hl < size)
            break;
        rc = on_frame(m, f[0], f + hl, (size_t)size);
        pos += hl + (size_t)size;
    }
    *used = pos;
    return m->state == MX_FAILED ? m->err : rc;
}
