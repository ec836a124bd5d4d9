// SPDX-License-Identifier: MIT
/*
 * The ZMTP 3.1 encoder: the greeting, the NULL handshake's READY and ERROR,
 * PING/PONG, SUBSCRIBE/CANCEL, and frame headers.  Everything is written
 * field by field in network byte order into the caller's buffer; payloads
 * either stay where they are (the caller writev()s header and payload) or
 * are copied back to back behind their headers for many small frames.
 * Sizes are checked against the room left by subtraction before anything
 * is written, so a call that fails wrote nothing.
 */
#include "zmtp/zmtp_internal.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

size_t ipcx_zmtp_encode_greeting(uint8_t out[IPCX_ZMTP_GREETING_SIZE])
{
    memset(out, 0, IPCX_ZMTP_GREETING_SIZE);
    out[ZMTP_G_SIG0] = 0xFF;
    out[ZMTP_G_SIG9] = 0x7F;
    out[ZMTP_G_MAJOR] = 3;
    out[ZMTP_G_MINOR] = 1;
    memcpy(out + ZMTP_G_MECH, "NULL", 4);
    out[ZMTP_G_AS_SERVER] = 0; /* NULL: no roles, the field must be zero */
    return IPCX_ZMTP_GREETING_SIZE;
}

size_t ipcx_zmtp_encode_header(uint8_t out[IPCX_ZMTP_HDR_MAX], uint64_t size, unsigned flags)
{
    uint8_t f = (uint8_t)(flags & (IPCX_ZMTP_FLAG_MORE | IPCX_ZMTP_FLAG_COMMAND));
    if (size <= 255) {
        out[0] = f;
        out[1] = (uint8_t)size;
        return 2;
    }
    out[0] = (uint8_t)(f | IPCX_ZMTP_FLAG_LONG);
    ipcx__put_be64(out + 1, size);
    return 9;
}

int ipcx_zmtp_encode_frame(void *out, size_t cap, const void *data, size_t len, int more)
{
    uint8_t *o = out;
    if (IPCX_LIKELY(len <= 255)) {
        if (cap < 2 || len > cap - 2)
            return -ENOSPC;
        o[0] = more ? IPCX_ZMTP_FLAG_MORE : 0;
        o[1] = (uint8_t)len;
        if (len)
            memcpy(o + 2, data, len);
        return (int)len + 2;
    }
    if (len > (size_t)INT_MAX - IPCX_ZMTP_HDR_MAX)
        return -EMSGSIZE;
    if (cap < IPCX_ZMTP_HDR_MAX || len > cap - IPCX_ZMTP_HDR_MAX)
        return -ENOSPC;
    size_t h = ipcx_zmtp_encode_header(o, len, more ? IPCX_ZMTP_FLAG_MORE : 0);
    memcpy(o + h, data, len);
    return (int)(h + len);
}

int ipcx_zmtp_encode_msg(void *out, size_t cap, const ipcx_zmtp_part *parts, size_t n)
{
    if (!parts || n == 0)
        return -EINVAL;
    /* Size the whole message first so that a failure writes nothing. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t one = parts[i].len + (parts[i].len <= 255 ? 2 : IPCX_ZMTP_HDR_MAX);
        if (parts[i].len > (size_t)INT_MAX || one > (size_t)INT_MAX - total)
            return -EMSGSIZE;
        total += one;
    }
    if (total > cap)
        return -ENOSPC;
    uint8_t *o = out;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int w = ipcx_zmtp_encode_frame(o + at, cap - at, parts[i].data, parts[i].len, i + 1 < n);
        at += (size_t)w;
    }
    return (int)at;
}

/* ------------------------------------------------------------ commands */

/* Room check and header for a command whose body is @body octets: returns
 * the header length, or 0 when header + body do not fit in @cap. */
static size_t command_start(uint8_t *o, size_t cap, size_t body, const char *name)
{
    size_t h = body <= 255 ? 2 : IPCX_ZMTP_HDR_MAX;
    if (cap < h || body > cap - h)
        return 0;
    h = ipcx_zmtp_encode_header(o, body, IPCX_ZMTP_FLAG_COMMAND);
    size_t nl = strlen(name);
    o[h] = (uint8_t)nl;
    memcpy(o + h + 1, name, nl);
    return h + 1 + nl;
}

static size_t prop_size(size_t name_len, size_t value_len)
{
    return 1 + name_len + 4 + value_len;
}

static uint8_t *put_prop(uint8_t *o, const char *name, size_t nl, const void *v, size_t vl)
{
    *o++ = (uint8_t)nl;
    memcpy(o, name, nl);
    o += nl;
    ipcx__put_be32(o, (uint32_t)vl);
    o += 4;
    if (vl)
        memcpy(o, v, vl);
    return o + vl;
}

/* Socket-Type and Identity come from their own arguments: given again as
 * extra properties they would make a READY that RFC 37 leaves ambiguous
 * and that ipcx's own decoder refuses (IPCX_ZMTP_ERR_PROPERTY_DUPLICATE). */
static int prop_reserved(const ipcx_zmtp_prop *p)
{
    return (p->name_len == 11 && strncasecmp(p->name, "Socket-Type", 11) == 0) ||
           (p->name_len == 8 && strncasecmp(p->name, "Identity", 8) == 0);
}

static int prop_valid(const ipcx_zmtp_prop *p)
{
    if (!p->name || p->name_len == 0 || p->name_len > 255)
        return 0;
    if (p->value_len > (size_t)INT32_MAX || (p->value_len && !p->value))
        return 0;
    for (size_t i = 0; i < p->name_len; i++)
        if (!ipcx__zmtp_name_char((uint8_t)p->name[i]))
            return 0;
    return !prop_reserved(p);
}

/* The READY body size in *body: 0, -EINVAL when a property is invalid, or
 * -EMSGSIZE when the whole command (header included) would not fit the int
 * the encoder returns. */
static int ready_size(size_t type_len, const void *identity, size_t identity_len,
                      const ipcx_zmtp_prop *extra, size_t n_extra, size_t *body)
{
    size_t b = 1 + 5 + prop_size(11, type_len);
    if (identity)
        b += prop_size(8, identity_len);
    for (size_t i = 0; i < n_extra; i++) {
        if (!prop_valid(&extra[i]))
            return -EINVAL;
        size_t ps = prop_size(extra[i].name_len, extra[i].value_len);
        if (ps > (size_t)INT_MAX - IPCX_ZMTP_HDR_MAX - b)
            return -EMSGSIZE;
        b += ps;
    }
    *body = b;
    return 0;
}

int ipcx_zmtp_encode_ready(void *out, size_t cap, int socket_type, const void *identity,
                           size_t identity_len, const ipcx_zmtp_prop *extra, size_t n_extra)
{
    const char *type = ipcx_zmtp_socket_name(socket_type);
    if (!out || !type || (n_extra && !extra))
        return -EINVAL;
    if (identity && (identity_len > IPCX_ZMTP_IDENTITY_MAX ||
                     (identity_len > 0 && ((const uint8_t *)identity)[0] == 0)))
        return -EINVAL;
    size_t tl = strlen(type);
    size_t body;
    int e = ready_size(tl, identity, identity_len, extra, n_extra, &body);
    if (e)
        return e;
    uint8_t *o = out;
    size_t h = command_start(o, cap, body, ZMTP_CMD_READY);
    if (h == 0)
        return -ENOSPC;
    uint8_t *w = put_prop(o + h, "Socket-Type", 11, type, tl);
    if (identity)
        w = put_prop(w, "Identity", 8, identity, identity_len);
    for (size_t i = 0; i < n_extra; i++)
        w = put_prop(w, extra[i].name, extra[i].name_len, extra[i].value, extra[i].value_len);
    return (int)(w - o);
}

int ipcx_zmtp_encode_error(void *out, size_t cap, const char *reason)
{
    size_t rl = reason ? strlen(reason) : 0;
    if (!out || rl > 255)
        return -EINVAL;
    uint8_t *o = out;
    size_t h = command_start(o, cap, 1 + 5 + 1 + rl, ZMTP_CMD_ERROR);
    if (h == 0)
        return -ENOSPC;
    o[h] = (uint8_t)rl;
    if (rl)
        memcpy(o + h + 1, reason, rl);
    return (int)(h + 1 + rl);
}

int ipcx_zmtp_encode_ping(void *out, size_t cap, uint16_t ttl, const void *ctx, size_t ctx_len)
{
    if (!out || ctx_len > IPCX_ZMTP_PING_CONTEXT_MAX || (ctx_len && !ctx))
        return -EINVAL;
    uint8_t *o = out;
    size_t h = command_start(o, cap, 1 + 4 + 2 + ctx_len, ZMTP_CMD_PING);
    if (h == 0)
        return -ENOSPC;
    ipcx__put_be16(o + h, ttl);
    if (ctx_len)
        memcpy(o + h + 2, ctx, ctx_len);
    return (int)(h + 2 + ctx_len);
}

int ipcx_zmtp_encode_pong(void *out, size_t cap, const void *ctx, size_t ctx_len)
{
    if (!out || ctx_len > IPCX_ZMTP_PING_CONTEXT_MAX || (ctx_len && !ctx))
        return -EINVAL;
    uint8_t *o = out;
    size_t h = command_start(o, cap, 1 + 4 + ctx_len, ZMTP_CMD_PONG);
    if (h == 0)
        return -ENOSPC;
    if (ctx_len)
        memcpy(o + h, ctx, ctx_len);
    return (int)(h + ctx_len);
}

size_t ipcx_zmtp_encode_subscribe(uint8_t out[IPCX_ZMTP_SUB_HDR_MAX], int subscribe,
                                  size_t topic_len, int peer_minor)
{
    if (peer_minor >= 1) {
        const char *name = subscribe ? ZMTP_CMD_SUBSCRIBE : ZMTP_CMD_CANCEL;
        size_t nl = strlen(name);
        size_t h =
            ipcx_zmtp_encode_header(out, (uint64_t)topic_len + 1 + nl, IPCX_ZMTP_FLAG_COMMAND);
        out[h] = (uint8_t)nl;
        memcpy(out + h + 1, name, nl);
        return h + 1 + nl;
    }
    /* ZMTP 3.0: a one-frame message, first octet 1 (subscribe) or 0. */
    size_t h = ipcx_zmtp_encode_header(out, (uint64_t)topic_len + 1, 0);
    out[h] = subscribe ? 1 : 0;
    return h + 1;
}
