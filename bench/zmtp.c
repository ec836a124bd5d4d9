// SPDX-License-Identifier: MIT
/*
 * bench_suite_zmtp: the ZMTP codec on one core, no I/O.
 *
 *   decode 64 B    64-octet frames, the stream fed in 64 KiB chunks as a
 *                  socket read would deliver it (frames straddling a chunk
 *                  are assembled; the rest are handed out by pointer)
 *   decode 64 KiB  65536-octet frames lying whole in the buffer: the payload
 *                  is handed out by pointer, never copied
 *   encode 64 B    64-octet frames copied back to back into a 64 KiB buffer
 *
 * bytes_per_s counts payload octets, so the rows compare directly with
 * floor-memcpy at the same size.  Uses the public API only.
 */
#include "bench.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#define CHUNK (64u * 1024u)

static volatile uint64_t sink;

/* A decoder past the handshake: greeting and READY fed in. */
static ipcx_zmtp_decoder *ready_decoder(void)
{
    uint8_t hs[256];
    size_t n = ipcx_zmtp_encode_greeting(hs);
    n += (size_t)ipcx_zmtp_encode_ready(hs + n, sizeof(hs) - n, IPCX_ZMTP_SOCKET_PUSH, NULL, 0,
                                        NULL, 0);
    ipcx_zmtp_decoder *d;
    if (ipcx_zmtp_decoder_create(NULL, &d) != 0)
        return NULL;
    size_t at = 0, used;
    ipcx_zmtp_event ev;
    while (at < n && ipcx_zmtp_decode(d, hs + at, n - at, &used, &ev) > 0)
        at += used;
    return d;
}

/* A stream of @count frames of @size octets. */
static uint8_t *frame_stream(size_t size, size_t count, size_t *len)
{
    size_t one = size + (size <= 255 ? 2 : 9);
    uint8_t *s = malloc(one * count);
    uint8_t *payload = malloc(size);
    if (!s || !payload) {
        free(s);
        free(payload);
        return NULL;
    }
    memset(payload, 'z', size);
    for (size_t i = 0; i < count; i++)
        ipcx_zmtp_encode_frame(s + i * one, one, payload, size, 0);
    free(payload);
    *len = one * count;
    return s;
}

/* Decode @len octets fed @chunk at a time; returns frames decoded or -1. */
static int64_t decode_pass(ipcx_zmtp_decoder *d, const uint8_t *s, size_t len, size_t chunk)
{
    int64_t frames = 0;
    uint64_t acc = 0;
    for (size_t at = 0; at < len;) {
        size_t n = len - at < chunk ? len - at : chunk;
        const uint8_t *p = s + at;
        size_t used;
        ipcx_zmtp_event ev;
        int rc;
        while ((rc = ipcx_zmtp_decode(d, p, n, &used, &ev)) > 0) {
            p += used;
            n -= used;
            acc += ev.len + ev.data[0];
            if (ev.owned)
                free(ev.owned);
            frames++;
        }
        if (rc < 0)
            return -1;
        at += (size_t)(p - (s + at)) + n;
    }
    sink += acc;
    return frames;
}

static void emit_rate(bench_ctx *ctx, const char *kase, uint64_t size, const char *api,
                      uint64_t msgs, uint64_t ns)
{
    bench_row r = {.kase = kase, .transport = "zmtp", .size = size, .api = api};
    double secs = (double)ns / 1e9;
    r.msgs_per_s = (double)msgs / secs;
    r.bytes_per_s = r.msgs_per_s * (double)size;
    r.samples = msgs;
    bench_emit(ctx, &r);
}

static void bench_decode(bench_ctx *ctx, size_t size, size_t count, size_t chunk,
                         uint64_t budget_ns)
{
    size_t len;
    uint8_t *s = frame_stream(size, count, &len);
    ipcx_zmtp_decoder *d = ready_decoder();
    if (!s || !d) {
        bench_fail(ctx, "zmtp", "decode", "out of memory");
        free(s);
        ipcx_zmtp_decoder_destroy(d);
        return;
    }
    decode_pass(d, s, len, chunk); /* warm up */
    uint64_t frames = 0, t0 = bench_now_ns(), t;
    do {
        int64_t f = decode_pass(d, s, len, chunk);
        if (f < 0) {
            bench_fail(ctx, "zmtp", "decode", "decoder error");
            break;
        }
        frames += (uint64_t)f;
        t = bench_now_ns();
    } while (t - t0 < budget_ns);
    if (frames)
        emit_rate(ctx, "decode", size, "zerocopy", frames, t - t0);
    ipcx_zmtp_decoder_destroy(d);
    free(s);
}

static void bench_encode(bench_ctx *ctx, size_t size, uint64_t budget_ns)
{
    uint8_t *out = malloc(CHUNK), *payload = malloc(size);
    if (!out || !payload) {
        bench_fail(ctx, "zmtp", "encode", "out of memory");
        free(out);
        free(payload);
        return;
    }
    memset(payload, 'e', size);
    uint64_t frames = 0, acc = 0, t0 = bench_now_ns(), t;
    do {
        /* One 64 KiB buffer's worth per round, as a writer would send it. */
        size_t at = 0;
        int w;
        while ((w = ipcx_zmtp_encode_frame(out + at, CHUNK - at, payload, size, 0)) > 0) {
            at += (size_t)w;
            frames++;
        }
        acc += out[at / 2];
        t = bench_now_ns();
    } while (t - t0 < budget_ns);
    sink += acc;
    emit_rate(ctx, "encode", size, "copy", frames, t - t0);
    free(out);
    free(payload);
}

void bench_suite_zmtp(bench_ctx *ctx)
{
    if (!bench_want(ctx, "zmtp"))
        return;
    uint64_t budget = ctx->quick ? 250000000ull : 1000000000ull;
    bench_decode(ctx, 64, 65536, CHUNK, budget);
    bench_decode(ctx, 65536, 64, 64 * (65536 + 9), budget);
    bench_encode(ctx, 64, budget);
}
