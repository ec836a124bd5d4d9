// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: encode, then decode, and compare.
 *
 * The input is read as a script: octet 0 picks our socket type and the
 * version in our greeting, octet 1 the chunk size the stream is fed in,
 * then items - message parts (with or without MORE), PING, PONG,
 * SUBSCRIBE/CANCEL - each with its data taken from the input.  The items
 * are written with ipcx's encoder (greeting, READY with an Identity, frame
 * headers plus payloads, back-to-back frames, commands) and decoded in
 * chunks; every decoded event must be the item that was encoded, in order,
 * and the decoder must end without an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/zmtp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct item {
    int type;
    unsigned more, legacy;
    uint16_t ttl;
    const uint8_t *data;
    size_t len;
} item;

typedef struct stream {
    uint8_t *p;
    size_t len, cap;
} stream;

static void put(stream *s, const void *d, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = (s->cap + n) * 2;
        uint8_t *np = realloc(s->p, cap);
        if (!np)
            abort();
        s->p = np;
        s->cap = cap;
    }
    if (n)
        memcpy(s->p + s->len, d, n);
    s->len += n;
}

/* Take @n octets of input (fewer at its end). */
static const uint8_t *take(const uint8_t **in, size_t *left, size_t *n)
{
    if (*n > *left)
        *n = *left;
    const uint8_t *p = *in;
    *in += *n;
    *left -= *n;
    return p;
}

static int sub_peer(int type)
{
    return type == IPCX_ZMTP_SOCKET_SUB || type == IPCX_ZMTP_SOCKET_XSUB;
}

/* Encode one item from the script; returns 1 for an item, 2 when the op
 * was skipped, 0 at the end of the input. */
static int encode_item(const uint8_t **in, size_t *left, int type, int minor, unsigned *in_msg,
                       stream *s, item *it)
{
    if (*left == 0)
        return 0;
    uint8_t op = **in;
    size_t one = 1, n;
    take(in, left, &one);
    uint8_t hdr[IPCX_ZMTP_SUB_HDR_MAX + IPCX_ZMTP_HDR_MAX];
    uint8_t cmd[64];
    memset(it, 0, sizeof(*it));
    switch (op & 3) {
    case 0: /* a message part: header + payload, or copied back to back */
        n = (size_t)(op >> 3) * 9;
        it->data = take(in, left, &n);
        it->len = n;
        it->more = (op >> 2) & 1;
        it->type = IPCX_ZMTP_EV_FRAME;
        if (sub_peer(type) && !*in_msg && !it->more && n >= 1 && it->data[0] <= 1) {
            it->type = it->data[0] ? IPCX_ZMTP_EV_SUBSCRIBE : IPCX_ZMTP_EV_CANCEL;
            it->legacy = 1;
            it->data++;
            it->len--;
        }
        if (op & 0x80) {
            uint8_t *buf = malloc(n + IPCX_ZMTP_HDR_MAX);
            int w = ipcx_zmtp_encode_frame(buf, n + IPCX_ZMTP_HDR_MAX, it->data - it->legacy, n,
                                           (int)((op >> 2) & 1));
            if (w < 0)
                abort();
            put(s, buf, (size_t)w);
            free(buf);
        } else {
            put(s, hdr, ipcx_zmtp_encode_header(hdr, n, (op >> 2) & 1));
            put(s, it->data - it->legacy, n);
        }
        *in_msg = (op >> 2) & 1;
        return 1;
    case 1: /* PING */
        n = (op >> 2) % 17;
        it->type = IPCX_ZMTP_EV_PING;
        it->ttl = (uint16_t)(op * 257u);
        it->data = take(in, left, &n);
        it->len = n;
        put(s, cmd, (size_t)ipcx_zmtp_encode_ping(cmd, sizeof(cmd), it->ttl, it->data, n));
        return 1;
    case 2: /* PONG */
        n = (op >> 2) % 17;
        it->type = IPCX_ZMTP_EV_PONG;
        it->data = take(in, left, &n);
        it->len = n;
        put(s, cmd, (size_t)ipcx_zmtp_encode_pong(cmd, sizeof(cmd), it->data, n));
        return 1;
    default: /* SUBSCRIBE / CANCEL in the form the peer's version wants */
        n = (op >> 3) * 3;
        it->data = take(in, left, &n);
        it->len = n;
        it->type = (op & 4) ? IPCX_ZMTP_EV_SUBSCRIBE : IPCX_ZMTP_EV_CANCEL;
        /* The 3.0 form is a message: it is a subscription only coming
         * from SUB/XSUB outside a multipart message. */
        if (minor == 0 && (!sub_peer(type) || *in_msg))
            return 2; /* skipped (a loop, not recursion: inputs may skip thousands) */
        it->legacy = minor == 0;
        put(s, hdr, ipcx_zmtp_encode_subscribe(hdr, (op & 4) != 0, n, minor));
        put(s, it->data, n);
        return 1;
    }
}

static void check(const item *want, const ipcx_zmtp_event *ev)
{
    if (ev->type != want->type || ev->len != want->len)
        abort();
    if (ev->len && memcmp(ev->data, want->data, ev->len) != 0)
        abort();
    if (ev->type == IPCX_ZMTP_EV_FRAME && ev->more != want->more)
        abort();
    if (ev->type == IPCX_ZMTP_EV_PING && ev->ttl != want->ttl)
        abort();
    if ((ev->type == IPCX_ZMTP_EV_SUBSCRIBE || ev->type == IPCX_ZMTP_EV_CANCEL) &&
        ev->legacy != want->legacy)
        abort();
}

static void decode_and_compare(const stream *s, size_t step, const item *items, size_t n_items,
                               int type, const uint8_t *id, size_t id_len)
{
    ipcx_zmtp_decoder *d;
    if (ipcx_zmtp_decoder_create(NULL, &d) != 0)
        return;
    size_t at = 0, next = 0;
    int phase = 0; /* 0 greeting, 1 ready, 2 items */
    while (at < s->len) {
        size_t n = s->len - at < step ? s->len - at : step;
        uint8_t *chunk = malloc(n);
        memcpy(chunk, s->p + at, n);
        size_t off = 0, used;
        ipcx_zmtp_event ev;
        int rc;
        while ((rc = ipcx_zmtp_decode(d, chunk + off, n - off, &used, &ev)) > 0) {
            off += used;
            if (phase == 0 && rc == IPCX_ZMTP_EV_GREETING) {
                phase = 1;
            } else if (phase == 1 && rc == IPCX_ZMTP_EV_READY) {
                if (ev.socket_type != type || ev.identity_len != id_len ||
                    (id_len && memcmp(ev.identity, id, id_len) != 0))
                    abort();
                phase = 2;
            } else if (phase == 2 && next < n_items) {
                check(&items[next++], &ev);
                free(ev.type == IPCX_ZMTP_EV_FRAME ? ev.owned : NULL);
            } else {
                abort();
            }
        }
        free(chunk);
        if (rc < 0)
            abort();
        at += n;
    }
    if (next != n_items || phase != 2)
        abort();
    ipcx_zmtp_decoder_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int type = 1 + data[0] % (IPCX_ZMTP_SOCKET_COUNT_ - 1);
    int minor = (data[0] & 0x80) ? 0 : 1;
    size_t step = (size_t)data[1] + 1;
    const uint8_t *in = data + 2;
    size_t left = size - 2;
    stream s = {0};
    uint8_t g[IPCX_ZMTP_GREETING_SIZE];
    ipcx_zmtp_encode_greeting(g);
    g[11] = (uint8_t)minor;
    put(&s, g, sizeof(g));
    static const uint8_t id[] = "fuzz-peer";
    size_t id_len = data[1] % sizeof(id);
    uint8_t ready[256];
    int w = ipcx_zmtp_encode_ready(ready, sizeof(ready), type, id, id_len, NULL, 0);
    if (w < 0)
        abort();
    put(&s, ready, (size_t)w);
    item *items = calloc(size, sizeof(*items)); /* each item takes an input octet */
    size_t n_items = 0;
    unsigned in_msg = 0;
    int r;
    while (n_items < size &&
           (r = encode_item(&in, &left, type, minor, &in_msg, &s, &items[n_items])))
        n_items += r == 1;
    decode_and_compare(&s, step, items, n_items, type, id, id_len);
    free(items);
    free(s.p);
    return 0;
}
