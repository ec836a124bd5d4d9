// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the ZMTP decoder on untrusted bytes.
 *
 * Input layout: octet 0 picks the limits (bit 0: tiny limits, so the
 * limit paths are reached with small inputs) and bits 1-3 an allocation n
 * to fail in the split run (0: none), through the codec's fault hook: the
 * -ENOMEM must leave no event and no error, and the retry must give the
 * same events as the whole run; octet 1 is the number k of
 * chunk-size octets that follow; the rest is the stream.  The stream is
 * decoded twice, whole and in the chunks the input names (each chunk in its
 * own exact-size allocation, so a read past what was given is caught), and
 * the two event traces must be identical: any split gives the same events.
 * Every byte of every event is read, every owned buffer freed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/zmtp.h>

#include "zmtp/zmtp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct digest {
    uint64_t h;
    uint64_t events;
    int last_rc;
    int oom; /* a real allocation failure: the runs cannot be compared */
} digest;

static void mix(digest *g, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        g->h = (g->h ^ b[i]) * 1099511628211ull;
}

static void mix_u64(digest *g, uint64_t v)
{
    mix(g, &v, sizeof(v));
}

static void record(digest *g, const ipcx_zmtp_event *ev)
{
    g->events++;
    mix_u64(g, (uint64_t)ev->type);
    switch (ev->type) {
    case IPCX_ZMTP_EV_GREETING:
        mix_u64(g, (uint64_t)ev->major << 8 | ev->minor);
        return;
    case IPCX_ZMTP_EV_READY:
        mix_u64(g, ev->socket_type);
        mix_u64(g, ev->has_identity);
        if (ev->has_identity) {
            mix_u64(g, ev->identity_len);
            mix(g, ev->identity, ev->identity_len);
        }
        break;
    case IPCX_ZMTP_EV_FRAME:
        mix_u64(g, ev->more);
        break;
    case IPCX_ZMTP_EV_PING:
        mix_u64(g, ev->ttl);
        break;
    case IPCX_ZMTP_EV_SUBSCRIBE:
    case IPCX_ZMTP_EV_CANCEL:
        mix_u64(g, ev->legacy);
        break;
    case IPCX_ZMTP_EV_COMMAND:
        mix_u64(g, ev->name_len);
        mix(g, ev->name, ev->name_len);
        break;
    default:
        break;
    }
    mix_u64(g, ev->len);
    mix(g, ev->data, ev->len);
    if (ev->type == IPCX_ZMTP_EV_FRAME)
        free(ev->owned);
}

/* Feed one chunk; returns nonzero once the decoder failed. */
static int feed(ipcx_zmtp_decoder *d, const uint8_t *p, size_t n, digest *g)
{
    for (;;) {
        size_t used;
        ipcx_zmtp_event ev;
        int rc = ipcx_zmtp_decode(d, p, n, &used, &ev);
        if (used > n)
            abort();
        p += used;
        n -= used;
        if (rc == -ENOMEM) {
            /* Not sticky, no event: retry once (an injected failure fires
             * once); failing again is real memory exhaustion. */
            if (ev.type != IPCX_ZMTP_EV_NONE || ev.err != 0 || ipcx_zmtp_decoder_error(d) != 0)
                abort();
            if (g->oom++)
                return 1;
            continue;
        }
        g->oom = 0;
        if (rc < 0) {
            g->last_rc = rc;
            mix_u64(g, (uint64_t)ev.err);
            /* Sticky. */
            if (ipcx_zmtp_decode(d, p, n, &used, &ev) != rc)
                abort();
            return 1;
        }
        if (rc == 0) {
            if (n != 0)
                abort();
            return 0;
        }
        record(g, &ev);
    }
}

static void run(const ipcx_zmtp_limits *lim, const uint8_t *s, size_t n, const uint8_t *cuts,
                size_t k, digest *g)
{
    ipcx_zmtp_decoder *d;
    if (ipcx_zmtp_decoder_create(lim, &d) != 0)
        return;
    size_t at = 0, c = 0;
    while (at < n) {
        size_t step = n - at;
        if (k) {
            step = (size_t)cuts[c++ % k] + 1;
            if (step > n - at)
                step = n - at;
        }
        uint8_t *chunk = malloc(step);
        if (!chunk)
            break;
        memcpy(chunk, s + at, step);
        int stop = feed(d, chunk, step, g);
        free(chunk);
        at += step;
        if (stop)
            break;
    }
    ipcx_zmtp_decoder_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    ipcx_zmtp_limits lim = {0};
    if (data[0] & 1) {
        lim.max_frame_size = 300;
        lim.max_message_size = 600;
        lim.max_frames = 4;
        lim.max_command_size = 400; /* > 262: READYs refused on the header */
        lim.max_metadata_size = 100;
    }
    size_t k = data[1];
    if (k > size - 2)
        k = size - 2;
    const uint8_t *cuts = data + 2, *s = data + 2 + k;
    size_t n = size - 2 - k;
    digest whole = {1469598103934665603ull, 0, 0, 0}, split = whole;
    run(&lim, s, n, NULL, 0, &whole);
    ipcx__zmtp_fail_alloc = (unsigned)(data[0] >> 1) & 7u;
    run(&lim, s, n, cuts, k, &split);
    ipcx__zmtp_fail_alloc = 0;
    if (whole.oom || split.oom)
        return 0;
    if (whole.h != split.h || whole.events != split.events || whole.last_rc != split.last_rc)
        abort();
    return 0;
}
