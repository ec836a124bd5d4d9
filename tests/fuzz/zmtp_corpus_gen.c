// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpora of the ZMTP fuzz targets (run by hand, output
 * committed under tests/fuzz/corpus/):
 *
 *     zmtp_corpus_gen tests/fuzz/corpus
 *
 * zmtp_fuzz seeds are [limits octet][k][k chunk sizes][stream]: valid
 * greetings, handshakes and traffic, every malformed case the unit tests
 * name, and the CVE-2019-6250 / CVE-2019-13132 patterns.  zmtp_roundtrip_fuzz
 * seeds are small scripts (see that target).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ipcx/zmtp.h>

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

static void u8(buf *b, uint8_t v)
{
    put(b, &v, 1);
}

static void be(buf *b, uint64_t v, int octets)
{
    for (int i = octets - 1; i >= 0; i--)
        u8(b, (uint8_t)(v >> (8 * i)));
}

static void greeting(buf *b, uint8_t major, uint8_t minor, const char *mech, uint8_t as_server)
{
    uint8_t g[64];
    ipcx_zmtp_encode_greeting(g);
    g[10] = major;
    g[11] = minor;
    memset(g + 12, 0, 20);
    memcpy(g + 12, mech, strlen(mech));
    g[32] = as_server;
    put(b, g, 64);
}

static void command(buf *b, const char *name, const void *d, size_t n)
{
    size_t nl = strlen(name);
    uint8_t h[9];
    put(b, h, ipcx_zmtp_encode_header(h, 1 + nl + n, IPCX_ZMTP_FLAG_COMMAND));
    u8(b, (uint8_t)nl);
    put(b, name, nl);
    put(b, d, n);
}

static void ready(buf *b, int type, const char *id)
{
    uint8_t r[512];
    int n = ipcx_zmtp_encode_ready(r, sizeof(r), type, id, id ? strlen(id) : 0, NULL, 0);
    put(b, r, (size_t)n);
}

static void frame(buf *b, const void *d, size_t n, int more)
{
    uint8_t h[9];
    put(b, h, ipcx_zmtp_encode_header(h, n, more ? IPCX_ZMTP_FLAG_MORE : 0));
    put(b, d, n);
}

static const char *dir;

static void emit(const char *target, const char *name, uint8_t cfg, const uint8_t *cuts, size_t k,
                 const buf *s)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (strcmp(target, "zmtp_fuzz") == 0) {
        fputc(cfg, f);
        fputc((int)k, f);
        fwrite(cuts, 1, k, f);
    }
    fwrite(s->p, 1, s->len, f);
    fclose(f);
}

static void start(buf *b, int type)
{
    b->len = 0;
    greeting(b, 3, 1, "NULL", 0);
    ready(b, type, NULL);
}

static void valid_seeds(void)
{
    static const uint8_t cuts[] = {0, 9, 63, 1, 200};
    buf b = {0};
    greeting(&b, 3, 1, "NULL", 0);
    emit("zmtp_fuzz", "greeting", 0, NULL, 0, &b);
    start(&b, IPCX_ZMTP_SOCKET_PAIR);
    frame(&b, "hello", 5, 0);
    frame(&b, "a", 1, 1);
    frame(&b, "", 0, 1);
    uint8_t big[300];
    memset(big, 'B', sizeof(big));
    frame(&b, big, sizeof(big), 0);
    command(&b, "PING",
            "\x00\x0a"
            "ctx",
            5);
    command(&b, "PONG", "ctx", 3);
    command(&b, "SUBSCRIBE", "topic", 5);
    command(&b, "CANCEL", "topic", 5);
    command(&b, "JOIN", "g", 1);
    emit("zmtp_fuzz", "traffic", 0, NULL, 0, &b);
    emit("zmtp_fuzz", "traffic-split", 0, cuts, sizeof(cuts), &b);
    emit("zmtp_fuzz", "traffic-tiny-limits", 1, cuts, 3, &b);
    /* Octet 0 bits 1-3: fail the 1st / 3rd assembly allocation of the
     * split run; the retry must give the same events. */
    emit("zmtp_fuzz", "enomem-1", 0x02, cuts, sizeof(cuts), &b);
    emit("zmtp_fuzz", "enomem-3", 0x06, cuts, sizeof(cuts), &b);
    command(&b, "ERROR",
            "\x03"
            "bye",
            4);
    emit("zmtp_fuzz", "error-end", 0, NULL, 0, &b);
    b.len = 0;
    greeting(&b, 3, 0, "NULL", 0);
    ready(&b, IPCX_ZMTP_SOCKET_SUB, NULL);
    frame(&b,
          "\x01"
          "abc",
          4, 0);
    frame(&b,
          "\x00"
          "abc",
          4, 0);
    frame(&b, "\x01", 1, 1);
    frame(&b, "\x01", 1, 0);
    emit("zmtp_fuzz", "sub-legacy", 0, cuts, 2, &b);
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    ready(&b, IPCX_ZMTP_SOCKET_DEALER, "peer-1");
    ipcx_zmtp_part parts[2] = {{"", 0}, {"req", 3}};
    b.len += (size_t)ipcx_zmtp_encode_msg(b.p + b.len, sizeof(b.p) - b.len, parts, 2);
    emit("zmtp_fuzz", "dealer-identity", 0, NULL, 0, &b);
}

static void bad(const char *name, const buf *b)
{
    emit("zmtp_fuzz", name, 0, NULL, 0, b);
}

static void malformed_seeds(void)
{
    buf b = {0};
    greeting(&b, 3, 1, "NULL", 0);
    b.p[0] = 1;
    bad("bad-signature", &b);
    b.len = 0;
    greeting(&b, 2, 0, "NULL", 0);
    bad("version-2", &b);
    b.len = 0;
    greeting(&b, 3, 1, "PLAIN", 0);
    bad("mechanism-plain", &b);
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 1);
    bad("as-server", &b);
    start(&b, IPCX_ZMTP_SOCKET_PAIR);
    put(&b, "\x08\x01x", 3);
    bad("reserved-flags", &b);
    start(&b, IPCX_ZMTP_SOCKET_PAIR);
    put(&b, "\x05\x05\x04PING", 7);
    bad("command-more", &b);
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    frame(&b, "early", 5, 0);
    bad("frame-before-ready", &b);
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    put(&b, "\x04\x04\x05REA", 6);
    bad("command-name-long", &b);
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    command(&b, "READY", "\x0bSocket-Type\x00\x00\x00\x09PAIR", 20);
    bad("property-length-past", &b);
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    command(&b, "READY", "\x08Identity\x00\x00\x00\x02\x00x", 15);
    bad("identity-reserved", &b);
    start(&b, IPCX_ZMTP_SOCKET_PAIR);
    command(&b, "PING", "\x00", 1);
    bad("ping-short", &b);
}

static void cve_seeds(void)
{
    /* CVE-2019-6250: a long header with a huge size, cut inside it. */
    static const uint64_t sizes[] = {UINT64_MAX, INT64_MAX, UINT64_MAX - 8, (uint64_t)1 << 40};
    static const uint8_t cuts[] = {68, 3, 2, 200};
    buf b = {0};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        start(&b, IPCX_ZMTP_SOCKET_PAIR);
        u8(&b, 0x03);
        be(&b, sizes[i], 8);
        put(&b, "payload", 7);
        char name[64];
        snprintf(name, sizeof(name), "cve-2019-6250-%zu", i);
        emit("zmtp_fuzz", name, 0, cuts, sizeof(cuts), &b);
    }
    /* CVE-2019-13132: oversized handshake metadata. */
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    u8(&b, 0x06);
    be(&b, (uint64_t)1 << 20, 8);
    put(&b, "\x05READY\x08Identity", 15);
    be(&b, 0xFFFFFFFFu, 4);
    emit("zmtp_fuzz", "cve-2019-13132-size", 0, NULL, 0, &b);
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    command(&b, "READY",
            "\x08Identity\x7f\xff\xff\xff"
            "AAAA",
            17);
    emit("zmtp_fuzz", "cve-2019-13132-value", 0, NULL, 0, &b);
    /* A READY too big for the tiny metadata limit (100) and for any ERROR,
     * within the tiny command limit (400): refused on its header. */
    b.len = 0;
    greeting(&b, 3, 1, "NULL", 0);
    u8(&b, 0x04 | 0x02);
    be(&b, 300, 8);
    put(&b, "\x05READY", 6);
    emit("zmtp_fuzz", "metadata-on-header", 1, cuts, 2, &b);
}

static void roundtrip_seeds(void)
{
    static const uint8_t scripts[][16] = {
        {IPCX_ZMTP_SOCKET_PAIR, 0, 0x08, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 0x01, 0x02},
        {IPCX_ZMTP_SOCKET_DEALER, 3, 0x0c, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 0x00, 0x85},
        {IPCX_ZMTP_SOCKET_SUB, 5, 0x0f, 't', 'o', 'p', 0x0b, 'a', 'b', 'c', 0x08, 1, 2, 3},
        {IPCX_ZMTP_SOCKET_SUB | 0x80, 1, 0x0f, 't', 'o', 'p', 0x08, 1, 2, 3, 0x08, 0, 2, 3},
        {IPCX_ZMTP_SOCKET_PUB, 255, 0xf8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
    };
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        buf b = {0};
        put(&b, scripts[i], sizeof(scripts[i]));
        char name[32];
        snprintf(name, sizeof(name), "script-%zu", i);
        emit("zmtp_roundtrip_fuzz", name, 0, NULL, 0, &b);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    mkdir(dir, 0755);
    valid_seeds();
    malformed_seeds();
    cve_seeds();
    roundtrip_seeds();
    return 0;
}
