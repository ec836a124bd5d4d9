// SPDX-License-Identifier: MIT
/*
 * The ZMTP 3.x decoder: an incremental, caller-driven state machine that
 * turns the bytes of one connection into greeting, handshake, command and
 * frame events.  It does no I/O.
 *
 * The states are GREETING (64 octets gathered into the decoder), HEADER (a
 * flags octet and a 1- or 8-octet size, gathered when split), BODY (a frame
 * body that straddles calls, assembled into a buffer of exactly the
 * announced size), and FAILED (sticky).  Every limit is checked on the
 * header, before the body buffer is allocated; sizes are compared by
 * subtracting from what is left, never by forming `pointer + size`, so a
 * size of 2^64 - 1 cannot wrap a bound (CVE-2019-6250).  Handshake metadata
 * is validated in place and never copied into fixed buffers
 * (CVE-2019-13132).
 *
 * The common case - a short message frame lying whole in the caller's
 * buffer after the handshake - is decided at the top of ipcx_zmtp_decode()
 * in a few compares, without a function-pointer call or an allocation.
 */
#include "zmtp/zmtp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

enum { ST_GREETING = 0, ST_HEADER, ST_BODY, ST_FAILED, ST_EXTERNAL };

struct ipcx_zmtp_decoder {
    /* Hot fields first: the fast path reads these. */
    uint8_t state;
    uint8_t fast;     /* handshake done and the peer is not SUB/XSUB */
    uint8_t ready;    /* handshake done: message frames allowed */
    uint8_t sub_peer; /* the peer is SUB or XSUB: 3.0 subscriptions */
    uint8_t in_msg;   /* the previous message frame carried MORE */
    uint8_t flags;    /* flags of the frame being decoded */
    uint8_t hdr_have;
    uint8_t minor;       /* the peer's minor, 0 or 1; valid once greeted */
    uint32_t msg_frames; /* frames of the current message so far */
    uint64_t msg_bytes;  /* and the sum of their bodies */
    ipcx_zmtp_limits lim;
    /* Cold. */
    uint64_t size;      /* body size of the frame in BODY */
    uint64_t body_have; /* octets of it assembled */
    uint8_t *body;      /* the assembly buffer, exactly size octets */
    uint8_t *scratch;   /* decoder-owned buffer an event points into */
    int err;
    uint64_t direct_min; /* bodies at least this large may be read by the caller */
    uint8_t greeted;     /* a greeting was accepted (not merely 64 octets seen) */
    uint32_t g_have;
    uint8_t hdr[IPCX_ZMTP_HDR_MAX];
    uint8_t greeting[IPCX_ZMTP_GREETING_SIZE];
};

static uint64_t pick64(uint64_t v, uint64_t dflt)
{
    return v ? v : dflt;
}

static uint32_t pick32(uint32_t v, uint32_t dflt)
{
    return v ? v : dflt;
}

int ipcx_zmtp_decoder_create(const ipcx_zmtp_limits *lim, ipcx_zmtp_decoder **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    ipcx_zmtp_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    ipcx_zmtp_limits z = {0};
    if (!lim)
        lim = &z;
    d->lim.max_frame_size = pick64(lim->max_frame_size, IPCX_ZMTP_DEFAULT_MAX_FRAME);
    d->lim.max_message_size = pick64(lim->max_message_size, IPCX_ZMTP_DEFAULT_MAX_MESSAGE);
    d->lim.max_frames = pick32(lim->max_frames, IPCX_ZMTP_DEFAULT_MAX_FRAMES);
    d->lim.max_command_size = pick32(lim->max_command_size, IPCX_ZMTP_DEFAULT_MAX_COMMAND);
    d->lim.max_metadata_size = pick32(lim->max_metadata_size, IPCX_ZMTP_DEFAULT_MAX_METADATA);
#if SIZE_MAX < UINT64_MAX
    /* A body must fit in one allocation. */
    if (d->lim.max_frame_size > SIZE_MAX)
        d->lim.max_frame_size = SIZE_MAX;
#endif
    d->state = ST_GREETING;
    *out = d;
    return 0;
}

void ipcx_zmtp_decoder_destroy(ipcx_zmtp_decoder *d)
{
    if (!d)
        return;
    free(d->body);
    free(d->scratch);
    free(d);
}

int ipcx_zmtp_decoder_error(const ipcx_zmtp_decoder *d)
{
    return d ? d->err : IPCX_ZMTP_OK;
}

int ipcx_zmtp_decoder_peer_minor(const ipcx_zmtp_decoder *d)
{
    /* greeted, not g_have: a refused greeting has all 64 octets too, and
     * the minor of a peer that was refused means nothing. */
    if (!d || !d->greeted)
        return -EAGAIN;
    return d->minor;
}

/* ------------------------------------------------------------ helpers */

unsigned ipcx__zmtp_fail_alloc;

/* malloc for an assembly buffer, honouring the test hook. */
static void *body_alloc(size_t n)
{
    if (IPCX_UNLIKELY(ipcx__zmtp_fail_alloc != 0) && --ipcx__zmtp_fail_alloc == 0)
        return NULL;
    return malloc(n);
}

static int fail(ipcx_zmtp_decoder *d, ipcx_zmtp_event *ev, int err)
{
    d->err = err;
    d->state = ST_FAILED;
    d->fast = 0;
    ev->type = IPCX_ZMTP_EV_NONE;
    ev->err = err;
    return ipcx__zmtp_err_errno(err);
}

static bool name_is(const uint8_t *name, size_t n, const char *want)
{
    size_t w = strlen(want);
    return n == w && memcmp(name, want, w) == 0;
}

/* The limits on a message frame of @size octets, given the frames of the
 * same message before it.  Subtraction only: msg_bytes never exceeds
 * max_message_size, so the right-hand side cannot wrap. */
static int message_limits(const ipcx_zmtp_decoder *d, uint64_t size)
{
    if (d->msg_frames >= d->lim.max_frames)
        return IPCX_ZMTP_ERR_TOO_MANY_FRAMES;
    if (size > d->lim.max_frame_size)
        return IPCX_ZMTP_ERR_FRAME_TOO_LARGE;
    if (size > d->lim.max_message_size - d->msg_bytes)
        return IPCX_ZMTP_ERR_MESSAGE_TOO_LARGE;
    return IPCX_ZMTP_OK;
}

/* Octets of a READY body before its properties, and the largest ERROR
 * body (name-size, "ERROR", reason-size, 255 octets of reason). */
enum { READY_NAME_LEN = 1 + 5, ERROR_BODY_MAX = 1 + 5 + 1 + 255 };

/* The limits on a command of @size octets.  During the handshake only
 * READY and ERROR are valid, so a body larger than both a READY carrying
 * max_metadata_size octets of properties and the largest ERROR can only be
 * refused: it is, on the header, so the metadata limit too holds before
 * anything is buffered or allocated. */
static int command_limits(const ipcx_zmtp_decoder *d, uint64_t size)
{
    if (size > d->lim.max_command_size)
        return IPCX_ZMTP_ERR_COMMAND_TOO_LARGE;
    if (!d->ready && size > READY_NAME_LEN + (uint64_t)d->lim.max_metadata_size &&
        size > ERROR_BODY_MAX)
        return IPCX_ZMTP_ERR_METADATA_TOO_LARGE;
    return IPCX_ZMTP_OK;
}

static void account(ipcx_zmtp_decoder *d, uint64_t size, unsigned more)
{
    if (more) {
        d->msg_frames++;
        d->msg_bytes += size;
    } else {
        d->msg_frames = 0;
        d->msg_bytes = 0;
    }
    d->in_msg = (uint8_t)more;
}

/* ------------------------------------------------------------ greeting */

/* Check the greeting fields that have arrived, in wire order, so the first
 * bad field is the one reported whatever the split. */
static int greeting_check(const uint8_t *g, uint32_t have)
{
    static const uint8_t null_mech[ZMTP_G_MECH_LEN] = {'N', 'U', 'L', 'L'};
    if (have > ZMTP_G_SIG0 && g[ZMTP_G_SIG0] != 0xFF)
        return IPCX_ZMTP_ERR_SIGNATURE;
    if (have > ZMTP_G_SIG9 && g[ZMTP_G_SIG9] != 0x7F)
        return IPCX_ZMTP_ERR_SIGNATURE;
    if (have > ZMTP_G_MAJOR && g[ZMTP_G_MAJOR] < 3)
        return IPCX_ZMTP_ERR_VERSION;
    if (have >= ZMTP_G_MECH + ZMTP_G_MECH_LEN &&
        memcmp(g + ZMTP_G_MECH, null_mech, ZMTP_G_MECH_LEN) != 0)
        return IPCX_ZMTP_ERR_MECHANISM;
    if (have > ZMTP_G_AS_SERVER && g[ZMTP_G_AS_SERVER] != 0)
        return IPCX_ZMTP_ERR_AS_SERVER;
    return IPCX_ZMTP_OK;
}

static int step_greeting(ipcx_zmtp_decoder *d, const uint8_t *p, size_t len, size_t *pos,
                         ipcx_zmtp_event *ev)
{
    size_t want = IPCX_ZMTP_GREETING_SIZE - d->g_have;
    size_t n = len - *pos < want ? len - *pos : want;
    memcpy(d->greeting + d->g_have, p + *pos, n);
    d->g_have += (uint32_t)n;
    *pos += n;
    int e = greeting_check(d->greeting, d->g_have);
    if (e)
        return fail(d, ev, e);
    if (d->g_have < IPCX_ZMTP_GREETING_SIZE)
        return 0;
    uint8_t major = d->greeting[ZMTP_G_MAJOR], minor = d->greeting[ZMTP_G_MINOR];
    /* A higher version talks our 3.1 (RFC 37 "Version Negotiation"). */
    d->minor = (major > 3 || minor >= 1) ? 1 : 0;
    d->greeted = 1;
    d->state = ST_HEADER;
    ev->type = IPCX_ZMTP_EV_GREETING;
    ev->major = major;
    ev->minor = minor;
    return IPCX_ZMTP_EV_GREETING;
}

/* ------------------------------------------------------------ commands */

/* Walk one property at *pos of meta[0..len).  Shared with
 * ipcx_zmtp_prop_next().  Returns 1, 0 at the end, or -ipcx_zmtp_err. */
int ipcx__zmtp_prop_walk(const uint8_t *meta, size_t len, size_t *pos, ipcx_zmtp_prop *p)
{
    size_t at = *pos;
    if (at >= len)
        return 0;
    size_t left = len - at;
    size_t nl = meta[at];
    if (nl == 0 || nl > left - 1)
        return -IPCX_ZMTP_ERR_PROPERTY_NAME;
    const uint8_t *name = meta + at + 1;
    for (size_t i = 0; i < nl; i++)
        if (!ipcx__zmtp_name_char(name[i]))
            return -IPCX_ZMTP_ERR_PROPERTY_NAME;
    at += 1 + nl;
    left = len - at;
    if (left < 4)
        return -IPCX_ZMTP_ERR_PROPERTY_LENGTH;
    uint32_t vl = ipcx__get_be32(meta + at);
    at += 4;
    left -= 4;
    if (vl > INT32_MAX || vl > left)
        return -IPCX_ZMTP_ERR_PROPERTY_LENGTH;
    p->name = (const char *)name;
    p->name_len = nl;
    p->value = meta + at;
    p->value_len = vl;
    *pos = at + vl;
    return 1;
}

static bool prop_is(const ipcx_zmtp_prop *p, const char *want)
{
    size_t w = strlen(want);
    return p->name_len == w && strncasecmp(p->name, want, w) == 0;
}

/* Validate READY metadata and pick out Socket-Type and Identity. */
static int parse_ready(const uint8_t *meta, size_t len, ipcx_zmtp_event *ev)
{
    size_t pos = 0;
    ipcx_zmtp_prop p;
    int rc, seen_type = 0;
    ev->socket_type = IPCX_ZMTP_SOCKET_NONE;
    ev->has_identity = 0;
    ev->identity = NULL;
    ev->identity_len = 0;
    while ((rc = ipcx__zmtp_prop_walk(meta, len, &pos, &p)) > 0) {
        if (prop_is(&p, "Socket-Type")) {
            if (seen_type++)
                return IPCX_ZMTP_ERR_PROPERTY_DUPLICATE;
            int t = ipcx__zmtp_socket_from_name(p.value, p.value_len);
            if (t == IPCX_ZMTP_SOCKET_COUNT_)
                return IPCX_ZMTP_ERR_SOCKET_TYPE;
            ev->socket_type = (uint8_t)t;
        } else if (prop_is(&p, "Identity")) {
            if (ev->has_identity)
                return IPCX_ZMTP_ERR_PROPERTY_DUPLICATE;
            if (p.value_len > IPCX_ZMTP_IDENTITY_MAX)
                return IPCX_ZMTP_ERR_IDENTITY_SIZE;
            if (p.value_len > 0 && ((const uint8_t *)p.value)[0] == 0)
                return IPCX_ZMTP_ERR_IDENTITY_RESERVED;
            ev->has_identity = 1;
            ev->identity = p.value;
            ev->identity_len = p.value_len;
        }
    }
    return rc < 0 ? -rc : IPCX_ZMTP_OK;
}

static int on_ready(ipcx_zmtp_decoder *d, const uint8_t *data, size_t n, ipcx_zmtp_event *ev)
{
    if (n > d->lim.max_metadata_size)
        return fail(d, ev, IPCX_ZMTP_ERR_METADATA_TOO_LARGE);
    int e = parse_ready(data, n, ev);
    if (e)
        return fail(d, ev, e);
    d->ready = 1;
    d->sub_peer =
        ev->socket_type == IPCX_ZMTP_SOCKET_SUB || ev->socket_type == IPCX_ZMTP_SOCKET_XSUB;
    d->fast = !d->sub_peer;
    ev->type = IPCX_ZMTP_EV_READY;
    ev->data = data;
    ev->len = n;
    return IPCX_ZMTP_EV_READY;
}

static int on_error(ipcx_zmtp_decoder *d, const uint8_t *data, size_t n, ipcx_zmtp_event *ev)
{
    if (n < 1 || data[0] != n - 1)
        return fail(d, ev, IPCX_ZMTP_ERR_ERROR_MALFORMED);
    /* The peer closes after ERROR; anything more from it is an error. */
    d->err = IPCX_ZMTP_ERR_PEER_ERROR;
    d->state = ST_FAILED;
    d->fast = 0;
    ev->type = IPCX_ZMTP_EV_ERROR;
    ev->data = data + 1;
    ev->len = n - 1;
    return IPCX_ZMTP_EV_ERROR;
}

static int on_traffic(ipcx_zmtp_decoder *d, const uint8_t *name, size_t nl, const uint8_t *data,
                      size_t n, ipcx_zmtp_event *ev)
{
    ev->data = data;
    ev->len = n;
    if (name_is(name, nl, ZMTP_CMD_PING)) {
        if (n < 2 || n - 2 > IPCX_ZMTP_PING_CONTEXT_MAX)
            return fail(d, ev, IPCX_ZMTP_ERR_PING_MALFORMED);
        ev->ttl = ipcx__get_be16(data);
        ev->data = data + 2;
        ev->len = n - 2;
        return ev->type = IPCX_ZMTP_EV_PING;
    }
    if (name_is(name, nl, ZMTP_CMD_PONG)) {
        if (n > IPCX_ZMTP_PING_CONTEXT_MAX)
            return fail(d, ev, IPCX_ZMTP_ERR_PONG_MALFORMED);
        return ev->type = IPCX_ZMTP_EV_PONG;
    }
    if (name_is(name, nl, ZMTP_CMD_SUBSCRIBE) || name_is(name, nl, ZMTP_CMD_CANCEL)) {
        ev->legacy = 0;
        return ev->type = nl == 9 ? IPCX_ZMTP_EV_SUBSCRIBE : IPCX_ZMTP_EV_CANCEL;
    }
    /* RFC 37 lets mechanisms and later versions add commands: hand them
     * to the caller, who may ignore them. */
    ev->name = name;
    ev->name_len = nl;
    return ev->type = IPCX_ZMTP_EV_COMMAND;
}

static int finish_command(ipcx_zmtp_decoder *d, const uint8_t *body, size_t n, ipcx_zmtp_event *ev)
{
    if (n == 0 || body[0] == 0)
        return fail(d, ev, IPCX_ZMTP_ERR_COMMAND_EMPTY);
    size_t nl = body[0];
    if (nl > n - 1)
        return fail(d, ev, IPCX_ZMTP_ERR_COMMAND_NAME);
    const uint8_t *name = body + 1;
    for (size_t i = 0; i < nl; i++) {
        uint8_t c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return fail(d, ev, IPCX_ZMTP_ERR_COMMAND_NAME_CHAR);
    }
    const uint8_t *data = name + nl;
    size_t dl = n - 1 - nl;
    if (name_is(name, nl, ZMTP_CMD_ERROR))
        return on_error(d, data, dl, ev);
    if (name_is(name, nl, ZMTP_CMD_READY)) {
        if (d->ready)
            return fail(d, ev, IPCX_ZMTP_ERR_DUPLICATE_READY);
        return on_ready(d, data, dl, ev);
    }
    if (!d->ready)
        return fail(d, ev, IPCX_ZMTP_ERR_UNEXPECTED_COMMAND);
    return on_traffic(d, name, nl, data, dl, ev);
}

/* ------------------------------------------------------------ frames */

static int finish_frame(ipcx_zmtp_decoder *d, const uint8_t *body, size_t n, uint8_t *owned,
                        ipcx_zmtp_event *ev)
{
    unsigned more = d->flags & IPCX_ZMTP_FLAG_MORE;
    if (d->sub_peer && !d->in_msg && !more && n >= 1 && body[0] <= 1) {
        /* ZMTP 3.0 subscription: a one-frame message from SUB/XSUB whose
         * first octet is 1 (subscribe) or 0 (cancel).  Kept by the decoder
         * when assembled: the topic is not a frame the caller owns. */
        d->scratch = owned;
        ev->type = body[0] ? IPCX_ZMTP_EV_SUBSCRIBE : IPCX_ZMTP_EV_CANCEL;
        ev->data = body + 1;
        ev->len = n - 1;
        ev->legacy = 1;
        account(d, 0, 0);
        return ev->type;
    }
    account(d, n, more);
    ev->type = IPCX_ZMTP_EV_FRAME;
    ev->data = body;
    ev->len = n;
    ev->owned = owned;
    ev->more = (uint8_t)more;
    return IPCX_ZMTP_EV_FRAME;
}

static int check_flags(const ipcx_zmtp_decoder *d, uint8_t f)
{
    if (f & ~(IPCX_ZMTP_FLAG_MORE | IPCX_ZMTP_FLAG_LONG | IPCX_ZMTP_FLAG_COMMAND))
        return IPCX_ZMTP_ERR_FLAGS;
    if ((f & IPCX_ZMTP_FLAG_COMMAND) && (f & IPCX_ZMTP_FLAG_MORE))
        return IPCX_ZMTP_ERR_COMMAND_MORE;
    if (!(f & IPCX_ZMTP_FLAG_COMMAND) && !d->ready)
        return IPCX_ZMTP_ERR_FRAME_BEFORE_READY;
    return IPCX_ZMTP_OK;
}

/* The header is complete: check the size against every limit, then either
 * finish a body that lies whole in the buffer or start assembling it. */
static int start_frame(ipcx_zmtp_decoder *d, const uint8_t *p, size_t len, size_t *pos,
                       uint64_t size, ipcx_zmtp_event *ev)
{
    int e;
    if (size >> 63)
        e = IPCX_ZMTP_ERR_SIZE_INVALID;
    else if (d->flags & IPCX_ZMTP_FLAG_COMMAND)
        e = command_limits(d, size);
    else
        e = message_limits(d, size);
    if (e)
        return fail(d, ev, e);
    if (size <= len - *pos) {
        const uint8_t *body = p + *pos;
        *pos += (size_t)size;
        if (d->flags & IPCX_ZMTP_FLAG_COMMAND)
            return finish_command(d, body, (size_t)size, ev);
        return finish_frame(d, body, (size_t)size, NULL, ev);
    }
    if (d->direct_min != 0 && size >= d->direct_min && !(d->flags & IPCX_ZMTP_FLAG_COMMAND) &&
        !d->sub_peer) {
        /* A large message body the caller reads itself (no subscription
         * can hide in it: the peer is not SUB/XSUB). */
        d->size = size;
        d->state = ST_EXTERNAL;
        ev->type = IPCX_ZMTP_EV_BODY;
        ev->data = NULL;
        ev->len = (size_t)size;
        ev->owned = NULL;
        ev->more = (uint8_t)(d->flags & IPCX_ZMTP_FLAG_MORE);
        return IPCX_ZMTP_EV_BODY;
    }
    d->size = size;
    d->body_have = 0;
    d->state = ST_BODY;
    return 0;
}

static int step_header(ipcx_zmtp_decoder *d, const uint8_t *p, size_t len, size_t *pos,
                       ipcx_zmtp_event *ev)
{
    if (d->hdr_have == 0) {
        uint8_t f = p[(*pos)++];
        int e = check_flags(d, f);
        if (e)
            return fail(d, ev, e);
        d->flags = f;
        d->hdr[0] = f;
        d->hdr_have = 1;
    }
    size_t need = (d->flags & IPCX_ZMTP_FLAG_LONG) ? 9 : 2;
    size_t n = need - d->hdr_have;
    if (n > len - *pos)
        n = len - *pos;
    memcpy(d->hdr + d->hdr_have, p + *pos, n);
    d->hdr_have = (uint8_t)(d->hdr_have + n);
    *pos += n;
    if (d->hdr_have < need)
        return 0;
    d->hdr_have = 0;
    uint64_t size = need == 2 ? d->hdr[1] : ipcx__get_be64(d->hdr + 1);
    return start_frame(d, p, len, pos, size, ev);
}

static int step_body(ipcx_zmtp_decoder *d, const uint8_t *p, size_t len, size_t *pos,
                     ipcx_zmtp_event *ev)
{
    if (!d->body) {
        /* Limits were checked in start_frame(); size > 0 here. */
        d->body = body_alloc((size_t)d->size);
        if (!d->body) {
            /* Not sticky: the header stays consumed, the state stays BODY
             * and the next call retries the allocation.  No event. */
            ev->type = IPCX_ZMTP_EV_NONE;
            return -ENOMEM;
        }
    }
    uint64_t n = d->size - d->body_have;
    if (n > len - *pos)
        n = len - *pos;
    memcpy(d->body + d->body_have, p + *pos, (size_t)n);
    d->body_have += n;
    *pos += (size_t)n;
    if (d->body_have < d->size)
        return 0;
    uint8_t *b = d->body;
    d->body = NULL;
    d->state = ST_HEADER;
    if (d->flags & IPCX_ZMTP_FLAG_COMMAND) {
        d->scratch = b; /* event pointers stay valid until the next call */
        return finish_command(d, b, (size_t)d->size, ev);
    }
    return finish_frame(d, b, (size_t)d->size, b, ev);
}

/* ------------------------------------------------------------ entry */

__attribute__((noinline)) static int decode_slow(ipcx_zmtp_decoder *d, const uint8_t *p, size_t len,
                                                 size_t *consumed, ipcx_zmtp_event *ev)
{
    size_t pos = 0;
    int rc = 0;
    ev->err = 0;
    for (;;) {
        if (d->state == ST_FAILED) {
            ev->type = IPCX_ZMTP_EV_NONE;
            ev->err = d->err;
            rc = ipcx__zmtp_err_errno(d->err);
            break;
        }
        if (d->state == ST_EXTERNAL) {
            /* The caller owes the body announced by IPCX_ZMTP_EV_BODY. */
            ev->type = IPCX_ZMTP_EV_NONE;
            rc = -EINVAL;
            break;
        }
        if (pos == len)
            break;
        if (d->state == ST_GREETING)
            rc = step_greeting(d, p, len, &pos, ev);
        else if (d->state == ST_HEADER)
            rc = step_header(d, p, len, &pos, ev);
        else
            rc = step_body(d, p, len, &pos, ev);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        ev->type = IPCX_ZMTP_EV_NONE;
    *consumed = pos;
    return rc;
}

int ipcx_zmtp_decode(ipcx_zmtp_decoder *d, const void *buf, size_t len, size_t *consumed,
                     ipcx_zmtp_event *ev)
{
    if (consumed)
        *consumed = 0;
    if (!d || !consumed || !ev || (!buf && len))
        return -EINVAL;
    const uint8_t *p = buf;
    if (IPCX_UNLIKELY(d->scratch != NULL)) {
        free(d->scratch);
        d->scratch = NULL;
    }
    /* Fast path: a short message frame, whole in the buffer, after the
     * handshake, from a peer that cannot send 3.0 subscriptions. */
    if (IPCX_LIKELY(d->fast && d->state == ST_HEADER && d->hdr_have == 0 && len >= 2)) {
        unsigned f = p[0];
        size_t n = p[1];
        if (IPCX_LIKELY(f <= IPCX_ZMTP_FLAG_MORE && n <= len - 2 &&
                        message_limits(d, n) == IPCX_ZMTP_OK)) {
            account(d, n, f);
            ev->type = IPCX_ZMTP_EV_FRAME;
            ev->err = 0;
            ev->data = p + 2;
            ev->len = n;
            ev->owned = NULL;
            ev->more = (uint8_t)f;
            *consumed = n + 2;
            return IPCX_ZMTP_EV_FRAME;
        }
    }
    return decode_slow(d, p, len, consumed, ev);
}

/* ------------------------------------------------------------ caller-read bodies */

int ipcx_zmtp_decoder_direct(ipcx_zmtp_decoder *d, uint64_t min)
{
    if (!d)
        return -EINVAL;
    d->direct_min = min;
    return 0;
}

int ipcx_zmtp_decoder_body_done(ipcx_zmtp_decoder *d)
{
    if (!d || d->state != ST_EXTERNAL)
        return -EINVAL;
    account(d, d->size, d->flags & IPCX_ZMTP_FLAG_MORE);
    d->state = ST_HEADER;
    return 0;
}
