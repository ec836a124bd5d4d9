// SPDX-License-Identifier: MIT
/*
 * Byte builder and event tracer for the ZMTP codec tests (see zmtp_vec.h).
 */
#include "zmtp_vec.h"

#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zv_put(zv_buf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
}

void zv_u8(zv_buf *b, uint8_t v)
{
    zv_put(b, &v, 1);
}

void zv_be32(zv_buf *b, uint32_t v)
{
    uint8_t o[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    zv_put(b, o, 4);
}

void zv_be64(zv_buf *b, uint64_t v)
{
    zv_be32(b, (uint32_t)(v >> 32));
    zv_be32(b, (uint32_t)v);
}

void zv_free(zv_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void zv_greeting(zv_buf *b, uint8_t major, uint8_t minor, const char *mech, uint8_t as_server)
{
    uint8_t g[64] = {0};
    g[0] = 0xFF;
    g[8] = 1; /* padding, as libzmq writes it: not significant */
    g[9] = 0x7F;
    g[10] = major;
    g[11] = minor;
    memcpy(g + 12, mech, strlen(mech));
    g[32] = as_server;
    zv_put(b, g, sizeof(g));
}

void zv_header(zv_buf *b, uint8_t flags, uint64_t size, int force_long)
{
    if (size <= 255 && !force_long) {
        zv_u8(b, flags);
        zv_u8(b, (uint8_t)size);
    } else {
        zv_u8(b, (uint8_t)(flags | 2));
        zv_be64(b, size);
    }
}

void zv_command(zv_buf *b, const char *name, const void *data, size_t len)
{
    size_t nl = strlen(name);
    zv_header(b, 4, 1 + nl + len, 0);
    zv_u8(b, (uint8_t)nl);
    zv_put(b, name, nl);
    zv_put(b, data, len);
}

void zv_prop(zv_buf *b, const char *name, const void *value, size_t len)
{
    zv_u8(b, (uint8_t)strlen(name));
    zv_put(b, name, strlen(name));
    zv_be32(b, (uint32_t)len);
    zv_put(b, value, len);
}

void zv_ready(zv_buf *b, const char *type, const void *id, size_t id_len)
{
    zv_buf m = {0};
    if (type)
        zv_prop(&m, "Socket-Type", type, strlen(type));
    if (id)
        zv_prop(&m, "Identity", id, id_len);
    zv_command(b, "READY", m.p, m.len);
    zv_free(&m);
}

void zv_frame(zv_buf *b, const void *data, size_t len, int more)
{
    zv_header(b, more ? 1 : 0, len, 0);
    zv_put(b, data, len);
}

/* ------------------------------------------------------------ tracer */

typedef struct trace {
    char *s;
    size_t len, cap;
} trace;

static void tr_add(trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tr_add(trace *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(tmp));
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->cap ? t->cap : 1024) * 2 + (size_t)n;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, tmp, (size_t)n + 1);
    t->len += (size_t)n;
}

/* Data as a short checksum plus its first octets: enough to tell events
 * apart without making traces of large frames huge. */
static void tr_data(trace *t, const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ull;
    tr_add(t, "%zu:%016llx:", n, (unsigned long long)h);
    for (size_t i = 0; i < n && i < 8; i++)
        tr_add(t, "%02x", d[i]);
}

static void tr_event(trace *t, const ipcx_zmtp_event *ev)
{
    switch (ev->type) {
    case IPCX_ZMTP_EV_GREETING:
        tr_add(t, "G%u.%u ", ev->major, ev->minor);
        return;
    case IPCX_ZMTP_EV_READY:
        tr_add(t, "R%u/%u", ev->socket_type, ev->has_identity);
        if (ev->has_identity)
            tr_data(t, ev->identity, ev->identity_len);
        tr_add(t, "/");
        tr_data(t, ev->data, ev->len);
        break;
    case IPCX_ZMTP_EV_FRAME:
        tr_add(t, "F%u/", ev->more);
        tr_data(t, ev->data, ev->len);
        free(ev->owned);
        break;
    case IPCX_ZMTP_EV_PING:
        tr_add(t, "PI%u/", ev->ttl);
        tr_data(t, ev->data, ev->len);
        break;
    case IPCX_ZMTP_EV_PONG:
        tr_add(t, "PO/");
        tr_data(t, ev->data, ev->len);
        break;
    case IPCX_ZMTP_EV_SUBSCRIBE:
    case IPCX_ZMTP_EV_CANCEL:
        tr_add(t, "%s%u/", ev->type == IPCX_ZMTP_EV_SUBSCRIBE ? "S" : "C", ev->legacy);
        tr_data(t, ev->data, ev->len);
        break;
    case IPCX_ZMTP_EV_ERROR:
        tr_add(t, "E/");
        tr_data(t, ev->data, ev->len);
        break;
    case IPCX_ZMTP_EV_COMMAND:
        tr_add(t, "X/");
        tr_data(t, ev->name, ev->name_len);
        tr_add(t, "/");
        tr_data(t, ev->data, ev->len);
        break;
    default:
        fail_msg("unexpected event type %d", ev->type);
    }
    tr_add(t, " ");
}

/* Feed one chunk; returns 0 to go on, -1 after a failure. */
static int feed(ipcx_zmtp_decoder *d, const uint8_t *p, size_t n, trace *t)
{
    for (;;) {
        size_t used = 99999;
        ipcx_zmtp_event ev;
        memset(&ev, 0xA5, sizeof(ev));
        int rc = ipcx_zmtp_decode(d, p, n, &used, &ev);
        assert_true(used <= n);
        p += used;
        n -= used;
        if (rc == -ENOMEM) {
            /* Not sticky and no event (fault injection in the unit test):
             * nothing recorded, retry with the rest. */
            assert_int_equal(ev.type, IPCX_ZMTP_EV_NONE);
            assert_int_equal(ev.err, 0);
            assert_int_equal(ipcx_zmtp_decoder_error(d), 0);
            continue;
        }
        if (rc < 0) {
            assert_int_equal(ev.err, ipcx_zmtp_decoder_error(d));
            tr_add(t, "!%d:%d", rc, ev.err);
            /* Sticky: the next call fails the same way. */
            size_t used2;
            ipcx_zmtp_event ev2;
            assert_int_equal(ipcx_zmtp_decode(d, p, n, &used2, &ev2), rc);
            assert_int_equal(ev2.err, ev.err);
            return -1;
        }
        assert_int_equal(ev.err, 0);
        if (rc == 0) {
            assert_int_equal(n, 0);
            return 0;
        }
        assert_int_equal(rc, ev.type);
        tr_event(t, &ev);
    }
}

char *zv_trace(const uint8_t *buf, size_t len, size_t split, size_t step,
               const ipcx_zmtp_limits *lim)
{
    ipcx_zmtp_decoder *d;
    assert_int_equal(ipcx_zmtp_decoder_create(lim, &d), 0);
    trace t = {0};
    tr_add(&t, "%s", "");
    if (step) {
        /* Copy each chunk into its own allocation so ASan sees any read
         * past what the decoder was given. */
        for (size_t at = 0; at < len; at += step) {
            size_t n = len - at < step ? len - at : step;
            uint8_t *c = malloc(n);
            memcpy(c, buf + at, n);
            int r = feed(d, c, n, &t);
            free(c);
            if (r < 0)
                break;
        }
    } else if (split) {
        uint8_t *a = malloc(split), *b = malloc(len - split + 1);
        memcpy(a, buf, split);
        memcpy(b, buf + split, len - split);
        if (feed(d, a, split, &t) == 0)
            feed(d, b, len - split, &t);
        free(a);
        free(b);
    } else {
        uint8_t *a = malloc(len + 1);
        memcpy(a, buf, len);
        feed(d, a, len, &t);
        free(a);
    }
    ipcx_zmtp_decoder_destroy(d);
    return t.s;
}

char *zv_trace_all_splits(const uint8_t *buf, size_t len, const ipcx_zmtp_limits *lim)
{
    char *whole = zv_trace(buf, len, 0, 0, lim);
    for (size_t s = 1; s < len; s++) {
        char *one = zv_trace(buf, len, s, 0, lim);
        if (strcmp(one, whole) != 0)
            fail_msg("split at %zu:\n  %s\nvs whole:\n  %s", s, one, whole);
        free(one);
    }
    char *bytes = zv_trace(buf, len, 0, 1, lim);
    if (strcmp(bytes, whole) != 0)
        fail_msg("one byte at a time:\n  %s\nvs whole:\n  %s", bytes, whole);
    free(bytes);
    return whole;
}
