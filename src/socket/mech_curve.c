// SPDX-License-Identifier: MIT
/*
 * CURVE (CurveZMQ, ZeroMQ RFC 26, in ZMTP as RFC 25 says).  Every
 * primitive is libsodium's; this file frames, checks sizes and nonces, and
 * wipes.  Notation as in RFC 26: C, S long-term keys of client and server,
 * C', S' short-term (one pair per connection), Box[M](A->B) M boxed from
 * A's secret key to B's public key.
 *
 *   HELLO    (200)  version 1.0, 72 zeros, C', short nonce, Box[64 zeros](C'->S)
 *   WELCOME  (168)  long nonce, Box[S' + cookie](S->C')
 *   INITIATE        cookie, short nonce, Box[C + vouch + metadata](C'->S')
 *                   vouch = long nonce, Box[C' + S](C->S')
 *   READY           short nonce, Box[metadata](S'->C')
 *   MESSAGE         short nonce, Box[flags + data](C'->S' or S'->C'), sent as a
 *                   message frame (flags 0), as libzmq does; flags inside:
 *                   MORE 0x01, COMMAND 0x02 (PING, SUBSCRIBE, ... go boxed too)
 *
 * Short nonces count up from 1 in each direction; a peer's must grow
 * strictly (replay, reordering and any altered byte fail the connection).
 * The server's cookie is Box[C' + s'] under a key of this connection only.
 */
#include <sodium.h>
#include <string.h>

#include "socket/mech.h"
#include <ipcx/zmtp.h>

#define HELLO_LEN    200u
#define WELCOME_LEN  168u
#define INITIATE_MIN 257u
#define READY_MIN    30u
#define MESSAGE_MIN  33u

/* The flags octet inside a MESSAGE box: libzmq's message flags (MORE 1,
 * COMMAND 2), not the ZMTP frame header's (MORE 1, COMMAND 4). */
#define BOX_MORE    0x01u
#define BOX_COMMAND 0x02u

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A 24-byte nonce: a 16-byte prefix and a short nonce, or an 8-byte prefix
 * and 16 bytes. */
static void nonce_short(uint8_t n[24], const char *prefix16, uint64_t v)
{
    memcpy(n, prefix16, 16);
    put64(n + 16, v);
}

static void nonce_long(uint8_t n[24], const char *prefix8, const uint8_t tail[16])
{
    memcpy(n, prefix8, 8);
    memcpy(n + 8, tail, 16);
}

/* The peer's next short nonce must be above the last one. */
static int check_nonce(ipcx__mx *m, const uint8_t *p, const char *what)
{
    uint64_t v = get64(p);
    if (v <= m->rx_nonce)
        return ipcx__mx_fail(m, -EPROTO, false, NULL,
                             "CURVE %s nonce %llu not above %llu: replayed or reordered", what,
                             (unsigned long long)v, (unsigned long long)m->rx_nonce);
    m->rx_nonce = v;
    return 0;
}

int ipcx__curve_init(ipcx__mx *m)
{
    const ipcx__sec *s = m->sec;
    if (!s->have_sec)
        return ipcx__mx_fail(m, -EINVAL, false, NULL, "CURVE %s without a secret key",
                             m->server ? "server" : "client");
    if (!m->server && !s->have_server_key)
        return ipcx__mx_fail(m, -EINVAL, false, NULL, "CURVE client without the server's key");
    if (crypto_box_keypair(m->cn_public, m->cn_secret) != 0)
        return ipcx__mx_fail(m, -EIO, false, NULL, "libsodium failed");
    if (m->server)
        randombytes_buf(m->cookie_key, sizeof(m->cookie_key));
    else
        memcpy(m->peer_long, s->server_key, 32);
    return 0;
}

int ipcx__curve_start(ipcx__mx *m)
{
    uint8_t body[HELLO_LEN - 6];
    memset(body, 0, sizeof(body));
    body[0] = 1; /* version 1.0 */
    memcpy(body + 74, m->cn_public, 32);
    put64(body + 106, ++m->tx_nonce);
    uint8_t zero[64] = {0}, n[24];
    nonce_short(n, "CurveZMQHELLO---", m->tx_nonce);
    if (crypto_box_easy(body + 114, zero, sizeof(zero), n, m->peer_long, m->cn_secret) != 0)
        return ipcx__mx_fail(m, -EIO, false, NULL, "libsodium failed");
    m->state = MX_WELCOME;
    return ipcx__mx_emit_cmd(m, "HELLO", body, sizeof(body), NULL, 0);
}

/* Server: HELLO -> WELCOME. */
static int curve_hello(ipcx__mx *m, const uint8_t *b, size_t len)
{
    if (len != HELLO_LEN)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE HELLO of %zu bytes, not 200", len);
    if (b[6] != 1 || b[7] != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE HELLO version %u.%u, not 1.0", b[6],
                             b[7]);
    /* The padding is not authenticated: zeros only, so that no byte of a
     * HELLO can change unnoticed. */
    static const uint8_t zeros[72];
    if (memcmp(b + 8, zeros, sizeof(zeros)) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE HELLO padding is not zero");
    memcpy(m->peer_cn, b + 80, 32);
    if (check_nonce(m, b + 112, "HELLO") != 0)
        return m->err;
    uint8_t n[24], zero[64];
    nonce_short(n, "CurveZMQHELLO---", get64(b + 112));
    if (crypto_box_open_easy(zero, b + 120, 80, n, m->peer_cn, m->sec->sec) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL,
                             "CURVE HELLO does not open: the client has another server key");
    /* The cookie: Box[C' + s'](K), K known to this connection only. */
    uint8_t cpt[64], cookie[96], wpt[128], body[WELCOME_LEN - 8];
    memcpy(cpt, m->peer_cn, 32);
    memcpy(cpt + 32, m->cn_secret, 32);
    randombytes_buf(cookie, 16);
    nonce_long(n, "COOKIE--", cookie);
    int rc = crypto_secretbox_easy(cookie + 16, cpt, sizeof(cpt), n, m->cookie_key);
    memcpy(wpt, m->cn_public, 32);
    memcpy(wpt + 32, cookie, 96);
    randombytes_buf(body, 16);
    nonce_long(n, "WELCOME-", body);
    if (rc == 0)
        rc = crypto_box_easy(body + 16, wpt, sizeof(wpt), n, m->peer_cn, m->sec->sec);
    sodium_memzero(cpt, sizeof(cpt));
    sodium_memzero(wpt, sizeof(wpt));
    if (rc != 0)
        return ipcx__mx_fail(m, -EIO, false, NULL, "libsodium failed");
    m->state = MX_INITIATE;
    return ipcx__mx_emit_cmd(m, "WELCOME", body, sizeof(body), NULL, 0);
}

/* Client: WELCOME -> INITIATE. */
static int curve_welcome(ipcx__mx *m, const uint8_t *b, size_t len)
{
    if (len != WELCOME_LEN)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE WELCOME of %zu bytes, not 168", len);
    uint8_t n[24], wpt[128];
    nonce_long(n, "WELCOME-", b + 8);
    if (crypto_box_open_easy(wpt, b + 24, 144, n, m->peer_long, m->cn_secret) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL,
                             "CURVE WELCOME does not open: wrong server key, or altered");
    memcpy(m->peer_cn, wpt, 32);
    memcpy(m->cookie, wpt + 32, 96);
    sodium_memzero(wpt, sizeof(wpt));
    if (crypto_box_beforenm(m->box_key, m->peer_cn, m->cn_secret) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE: the server's short-term key is weak");
    /* vouch = long nonce, Box[C' + S](C->S') */
    size_t ptl = 128 + m->meta_len;
    if (ipcx__buf_reserve(&m->sealed, 2 * ptl + 16 + 104) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    uint8_t *pt = m->sealed.d, *out = m->sealed.d + ptl;
    uint8_t vpt[64];
    memcpy(vpt, m->cn_public, 32);
    memcpy(vpt + 32, m->peer_long, 32);
    memcpy(pt, m->sec->pub, 32);
    randombytes_buf(pt + 32, 16);
    nonce_long(n, "VOUCH---", pt + 32);
    int rc = crypto_box_easy(pt + 48, vpt, sizeof(vpt), n, m->peer_cn, m->sec->sec);
    if (m->meta_len > 0)
        memcpy(pt + 128, m->meta, m->meta_len);
    memcpy(out, m->cookie, 96);
    put64(out + 96, ++m->tx_nonce);
    nonce_short(n, "CurveZMQINITIATE", m->tx_nonce);
    if (rc == 0)
        rc = crypto_box_easy_afternm(out + 104, pt, ptl, n, m->box_key);
    sodium_memzero(pt, ptl);
    if (rc != 0)
        return ipcx__mx_fail(m, -EIO, false, NULL, "libsodium failed");
    m->state = MX_READY;
    rc = ipcx__mx_emit_cmd(m, "INITIATE", out, 104 + 16 + ptl, NULL, 0);
    m->sealed.len = m->sealed.pos = 0;
    return rc;
}

/* Server: INITIATE -> READY, once the client's key is accepted. */
static int curve_initiate(ipcx__mx *m, const uint8_t *b, size_t len)
{
    if (len < INITIATE_MIN)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE INITIATE of %zu bytes, under 257",
                             len);
    uint8_t n[24], cpt[64];
    nonce_long(n, "COOKIE--", b + 9);
    if (crypto_secretbox_open_easy(cpt, b + 25, 80, n, m->cookie_key) != 0 ||
        sodium_memcmp(cpt, m->peer_cn, 32) != 0 || sodium_memcmp(cpt + 32, m->cn_secret, 32) != 0) {
        sodium_memzero(cpt, sizeof(cpt));
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE INITIATE with a cookie not ours");
    }
    sodium_memzero(cpt, sizeof(cpt));
    if (check_nonce(m, b + 105, "INITIATE") != 0)
        return m->err;
    if (crypto_box_beforenm(m->box_key, m->peer_cn, m->cn_secret) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE: the client's short-term key is weak");
    size_t ptl = len - 113 - 16;
    if (ipcx__buf_reserve(&m->sealed, ptl) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    uint8_t *pt = m->sealed.d;
    nonce_short(n, "CurveZMQINITIATE", get64(b + 105));
    if (crypto_box_open_easy_afternm(pt, b + 113, len - 113, n, m->box_key) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE INITIATE does not open (altered?)");
    uint8_t vpt[64];
    memcpy(m->peer_long, pt, 32);
    nonce_long(n, "VOUCH---", pt + 32);
    if (crypto_box_open_easy(vpt, pt + 48, 80, n, m->peer_long, m->cn_secret) != 0 ||
        sodium_memcmp(vpt, m->peer_cn, 32) != 0 || sodium_memcmp(vpt + 32, m->sec->pub, 32) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL,
                             "CURVE INITIATE: the vouch does not prove the client's key");
    int rc = ipcx__mx_authorise(m, m->peer_long, NULL, 0, NULL, 0);
    if (rc != 0)
        return rc;
    /* READY: short nonce, Box[metadata](S'->C') */
    if (ipcx__buf_reserve(&m->sealed, ptl + 8 + 16 + m->meta_len) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    pt = m->sealed.d;
    uint8_t *out = m->sealed.d + ptl;
    put64(out, ++m->tx_nonce);
    nonce_short(n, "CurveZMQREADY---", m->tx_nonce);
    if (crypto_box_easy_afternm(out + 8, m->meta, m->meta_len, n, m->box_key) != 0)
        return ipcx__mx_fail(m, -EIO, false, NULL, "libsodium failed");
    if (ipcx__mx_emit_cmd(m, "READY", out, 8 + 16 + m->meta_len, NULL, 0) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    rc = ipcx__mx_deliver_ready(m, pt + 128, ptl - 128);
    m->sealed.len = m->sealed.pos = 0;
    return rc;
}

/* Client: READY: the handshake is done. */
static int curve_ready(ipcx__mx *m, const uint8_t *b, size_t len)
{
    if (len < READY_MIN)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE READY of %zu bytes, under 30", len);
    if (check_nonce(m, b + 6, "READY") != 0)
        return m->err;
    size_t ml = len - 14 - 16;
    if (ipcx__buf_reserve(&m->sealed, ml + 1) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    uint8_t n[24];
    nonce_short(n, "CurveZMQREADY---", get64(b + 6));
    if (crypto_box_open_easy_afternm(m->sealed.d, b + 14, len - 14, n, m->box_key) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE READY does not open (altered?)");
    int rc = ipcx__mx_deliver_ready(m, m->sealed.d, ml);
    m->sealed.len = m->sealed.pos = 0;
    return rc;
}

int ipcx__curve_command(ipcx__mx *m, const uint8_t *b, size_t len)
{
    if (m->state == MX_HELLO && ipcx__mx_is(b, len, "HELLO", 5))
        return curve_hello(m, b, len);
    if (m->state == MX_WELCOME && ipcx__mx_is(b, len, "WELCOME", 7))
        return curve_welcome(m, b, len);
    if (m->state == MX_INITIATE && ipcx__mx_is(b, len, "INITIATE", 8))
        return curve_initiate(m, b, len);
    if (m->state == MX_READY && ipcx__mx_is(b, len, "READY", 5))
        return curve_ready(m, b, len);
    return ipcx__mx_fail(m, -EPROTO, false, NULL,
                         "unexpected command \"%.*s\" in the CURVE handshake", (int)b[0],
                         (const char *)b + 1);
}

/* An established connection's MESSAGE: opened straight into the decoder's
 * stream as a ZMTP frame. */
int ipcx__curve_message(ipcx__mx *m, const uint8_t *b, size_t len)
{
    if (!ipcx__mx_is(b, len, "MESSAGE", 7))
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE: a command other than MESSAGE");
    if (len < MESSAGE_MIN)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE MESSAGE of %zu bytes, under 33", len);
    if (check_nonce(m, b + 8, "MESSAGE") != 0)
        return m->err;
    size_t pl = len - 16 - 16; /* flags + data */
    if (ipcx__buf_reserve(&m->plain, pl + IPCX_ZMTP_HDR_MAX) != 0)
        return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
    uint8_t n[24];
    nonce_short(n, m->server ? "CurveZMQMESSAGEC" : "CurveZMQMESSAGES", get64(b + 8));
    uint8_t *o = m->plain.d + m->plain.len;
    /* Opened 8 bytes in: the flags octet lands where a long header's last
     * size octet goes. */
    if (crypto_box_open_easy_afternm(o + 8, b + 16, len - 16, n, m->box_key) != 0)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE MESSAGE does not open: altered");
    uint8_t inner = o[8];
    if (inner & ~(BOX_MORE | BOX_COMMAND))
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "CURVE MESSAGE with flags 0x%02x", inner);
    uint8_t flags = (uint8_t)(((inner & BOX_MORE) ? IPCX_ZMTP_FLAG_MORE : 0) |
                              ((inner & BOX_COMMAND) ? IPCX_ZMTP_FLAG_COMMAND : 0));
    size_t dl = pl - 1;
    if (dl > 255) {
        (void)ipcx_zmtp_encode_header(o, dl, flags);
        m->plain.len += 9 + dl;
    } else {
        o[0] = flags;
        o[1] = (uint8_t)dl;
        memmove(o + 2, o + 9, dl);
        m->plain.len += 2 + dl;
    }
    return 0;
}

int ipcx__mx_seal(ipcx__mx *m, const uint8_t *s, size_t len, ipcx__buf *out)
{
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *f = s + pos;
        size_t hl = (f[0] & IPCX_ZMTP_FLAG_LONG) ? 9 : 2;
        if (len - pos < hl)
            return -EPROTO;
        uint64_t size = f[1];
        if (hl == 9) {
            size = 0;
            for (int i = 1; i < 9; i++)
                size = size << 8 | f[i];
        }
        if (len - pos - hl < size)
            return -EPROTO;
        size_t body = 16 + 16 + 1 + (size_t)size;
        if (ipcx__buf_reserve(out, body + IPCX_ZMTP_HDR_MAX) != 0)
            return -ENOMEM;
        uint8_t *o = out->d + out->len;
        size_t h = ipcx_zmtp_encode_header(o, body, 0); /* a message frame, as libzmq sends */
        memcpy(o + h, "\x07MESSAGE", 8);
        put64(o + h + 8, ++m->tx_nonce);
        uint8_t *c = o + h + 16;
        c[16] = (uint8_t)(((f[0] & IPCX_ZMTP_FLAG_MORE) ? BOX_MORE : 0) |
                          ((f[0] & IPCX_ZMTP_FLAG_COMMAND) ? BOX_COMMAND : 0));
        memcpy(c + 17, f + hl, (size_t)size);
        uint8_t n[24];
        nonce_short(n, m->server ? "CurveZMQMESSAGES" : "CurveZMQMESSAGEC", m->tx_nonce);
        /* In place: libsodium allows the message to overlap the box. */
        if (crypto_box_easy_afternm(c, c + 16, 1 + (size_t)size, n, m->box_key) != 0)
            return -EIO;
        out->len += h + body;
        pos += hl + (size_t)size;
    }
    return 0;
}
