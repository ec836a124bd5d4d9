// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus of socket_fuzz (run by hand, output committed
 * under tests/fuzz/corpus/socket_fuzz/):
 *
 *     socket_corpus_gen tests/fuzz/corpus/socket_fuzz
 *
 * Each seed is [cfg][k][k chunk sizes][stream] (see socket_fuzz.c): a
 * peer's greeting and READY built with the codec's encoder, so the fuzzer
 * starts past the handshake, then messages, multipart messages, commands
 * (SUBSCRIBE, PING, PONG, ERROR), and the broken cases: a truncated frame,
 * an oversize header, a refused socket type, an old ZMTP version, garbage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/zmtp.h>

/* socket_fuzz's configuration octet. */
enum { L_PULL = 0, L_SUB = 1, L_REP = 2, L_ROUTER = 3, L_PAIR = 4 };
enum { UNIX = 0x08, SMALL = 0x10, PARTS = 0x20, REPLY = 0x40, ABORT = 0x80 };

typedef struct buf {
    uint8_t p[8192];
    size_t len;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->len + n > sizeof(b->p))
        abort();
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void greeting(buf *b, uint8_t major, uint8_t minor)
{
    uint8_t g[IPCX_ZMTP_GREETING_SIZE];
    ipcx_zmtp_encode_greeting(g);
    g[10] = major;
    g[11] = minor;
    put(b, g, sizeof(g));
}

static void ready(buf *b, int type, const char *id)
{
    uint8_t r[512];
    int n = ipcx_zmtp_encode_ready(r, sizeof(r), type, id, id ? strlen(id) : 0, NULL, 0);
    if (n < 0)
        abort();
    put(b, r, (size_t)n);
}

static void start(buf *b, int type, const char *id)
{
    b->len = 0;
    greeting(b, 3, 1);
    ready(b, type, id);
}

/* A whole message: parts separated by '|' in @spec ("" is one empty part). */
static void msg(buf *b, const char *spec)
{
    ipcx_zmtp_part parts[16];
    size_t n = 0;
    const char *p = spec;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        parts[n++] = (ipcx_zmtp_part){p, len};
        if (!bar)
            break;
        p = bar + 1;
    }
    uint8_t out[4096];
    int w = ipcx_zmtp_encode_msg(out, sizeof(out), parts, n);
    if (w < 0)
        abort();
    put(b, out, (size_t)w);
}

static void big_msg(buf *b, size_t len, uint8_t fill)
{
    uint8_t body[2048], out[2100];
    if (len > sizeof(body))
        abort();
    memset(body, fill, len);
    int w = ipcx_zmtp_encode_frame(out, sizeof(out), body, len, 0);
    if (w < 0)
        abort();
    put(b, out, (size_t)w);
}

static void command(buf *b, int (*enc)(void *, size_t))
{
    uint8_t out[512];
    int w = enc(out, sizeof(out));
    if (w < 0)
        abort();
    put(b, out, (size_t)w);
}

static int enc_ping(void *o, size_t cap)
{
    return ipcx_zmtp_encode_ping(o, cap, 10, "ctx", 3);
}

static int enc_pong(void *o, size_t cap)
{
    return ipcx_zmtp_encode_pong(o, cap, "ctx", 3);
}

static int enc_error(void *o, size_t cap)
{
    return ipcx_zmtp_encode_error(o, cap, "go away");
}

static void subscribe(buf *b, int on, const char *topic, int minor)
{
    uint8_t h[IPCX_ZMTP_SUB_HDR_MAX];
    put(b, h, ipcx_zmtp_encode_subscribe(h, on, strlen(topic), minor));
    put(b, topic, strlen(topic));
}

static const char *dir;

static void emit(const char *name, int cfg, const uint8_t *cuts, size_t k, const buf *s)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputc(cfg, f);
    fputc((int)k, f);
    fwrite(cuts, 1, k, f);
    fwrite(s->p, 1, s->len, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    static const uint8_t cuts[] = {0, 9, 63, 1, 200, 2};
    buf b;

    start(&b, IPCX_ZMTP_SOCKET_PUSH, NULL);
    msg(&b, "hello");
    msg(&b, "");
    big_msg(&b, 300, 'B'); /* a long-form header */
    emit("pull-messages", L_PULL, NULL, 0, &b);
    emit("pull-messages-chunked-parts", L_PULL | PARTS, cuts, sizeof(cuts), &b);
    emit("pull-messages-unix-small", L_PULL | UNIX | SMALL, NULL, 0, &b);

    start(&b, IPCX_ZMTP_SOCKET_PUSH, NULL);
    msg(&b, "a|b|c");
    msg(&b, "|one empty part first|");
    msg(&b, "0123456789abcdefghij|x");
    emit("pull-multipart-parts", L_PULL | PARTS, NULL, 0, &b);

    start(&b, IPCX_ZMTP_SOCKET_PUB, NULL);
    msg(&b, "A matches");
    msg(&b, "top|ic matches too");
    msg(&b, "zzz is filtered");
    subscribe(&b, 1, "x", 1); /* a SUB ignores a peer's subscriptions */
    subscribe(&b, 0, "x", 1);
    emit("sub-messages-subscriptions", L_SUB, NULL, 0, &b);

    start(&b, IPCX_ZMTP_SOCKET_REQ, NULL);
    msg(&b, "|request 1");
    msg(&b, "no delimiter");
    msg(&b, "hop|two|");
    msg(&b, "|request 2|more");
    emit("rep-requests", L_REP, NULL, 0, &b);
    emit("rep-requests-parts", L_REP | PARTS, NULL, 0, &b);

    start(&b, IPCX_ZMTP_SOCKET_DEALER, "peer-1");
    msg(&b, "to the router");
    msg(&b, "multi|part");
    emit("router-dealer-reply", L_ROUTER | REPLY, NULL, 0, &b);
    start(&b, IPCX_ZMTP_SOCKET_REQ, NULL);
    msg(&b, "|anonymous request");
    emit("router-req-unix", L_ROUTER | UNIX | REPLY, NULL, 0, &b);

    start(&b, IPCX_ZMTP_SOCKET_PAIR, NULL);
    command(&b, enc_ping);
    msg(&b, "after a ping");
    command(&b, enc_pong);
    msg(&b, "x|y");
    emit("pair-ping-reply", L_PAIR | REPLY, NULL, 0, &b);
    command(&b, enc_error);
    emit("pair-error-abort", L_PAIR | ABORT, NULL, 0, &b);

    /* A frame that announces 100 octets and brings 10. */
    start(&b, IPCX_ZMTP_SOCKET_PUSH, NULL);
    msg(&b, "whole");
    put(&b,
        "\x00\x64"
        "0123456789",
        12);
    emit("pull-truncated-frame", L_PULL, NULL, 0, &b);

    /* A long header of 2^40 octets, and one just over the small limit. */
    start(&b, IPCX_ZMTP_SOCKET_PUSH, NULL);
    put(&b, "\x02\x00\x00\x01\x00\x00\x00\x00\x00", 9);
    emit("pull-oversize-header", L_PULL, NULL, 0, &b);
    start(&b, IPCX_ZMTP_SOCKET_PAIR, NULL);
    big_msg(&b, 257, 'O');
    emit("pair-over-small-limit", L_PAIR | SMALL, NULL, 0, &b);

    /* Refused: a socket type that cannot talk to PULL, a ZMTP 2.0 peer. */
    start(&b, IPCX_ZMTP_SOCKET_PULL, NULL);
    emit("pull-wrong-type", L_PULL, NULL, 0, &b);
    b.len = 0;
    greeting(&b, 2, 0);
    emit("pair-zmtp2", L_PAIR, NULL, 0, &b);

    /* The greeting cut short, then garbage. */
    b.len = 0;
    greeting(&b, 3, 0);
    b.len = 20;
    emit("rep-greeting-truncated", L_REP, NULL, 0, &b);
    b.len = 0;
    for (int i = 0; i < 200; i++) {
        uint8_t v = (uint8_t)(i * 37 + 11);
        put(&b, &v, 1);
    }
    emit("sub-garbage-abort", L_SUB | ABORT, NULL, 0, &b);
    return 0;
}
