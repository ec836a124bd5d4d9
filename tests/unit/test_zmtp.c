// SPDX-License-Identifier: MIT
/*
 * zmtp: the ZMTP 3.x codec.  Valid vectors (every split point and one byte
 * at a time give the same events), one test per malformed input, the two
 * libzmq CVE patterns, the limits, zero copy versus assembly, the encoder's
 * exact bytes, and a seeded encode/decode round trip.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "zmtp_faults.h"
#include "zmtp_vec.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ helpers */

static void start(zv_buf *b, const char *type)
{
    zv_greeting(b, 3, 1, "NULL", 0);
    zv_ready(b, type, NULL, 0);
}

/* Every split of @b fails with @rc / @err, after the same events. */
static void expect_fail_lim(const zv_buf *b, int rc, int err, const ipcx_zmtp_limits *lim)
{
    char *t = zv_trace_all_splits(b->p, b->len, lim);
    char want[32];
    snprintf(want, sizeof(want), "!%d:%d", rc, err);
    size_t tl = strlen(t), wl = strlen(want);
    if (tl < wl || strcmp(t + tl - wl, want) != 0)
        fail_msg("trace '%s' does not end in '%s' (%s)", t, want, ipcx_zmtp_strerror(err));
    free(t);
}

static void expect_fail(const zv_buf *b, int rc, int err)
{
    expect_fail_lim(b, rc, err, NULL);
}

/* Decode @b whole and return the number of events before the end; checks
 * there was no error. */
static int count_events(const zv_buf *b)
{
    char *t = zv_trace_all_splits(b->p, b->len, NULL);
    int n = 0;
    for (char *s = t; *s; s++)
        n += *s == ' ';
    assert_null(strchr(t, '!'));
    free(t);
    return n;
}

/* ------------------------------------------------------------ valid vectors */

static void test_vector_pair(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_frame(&b, "hello", 5, 0);
    zv_frame(&b, "a", 1, 1);
    zv_frame(&b, "", 0, 1);
    zv_frame(&b, "c", 1, 0);
    uint8_t big[300];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    zv_frame(&b, big, sizeof(big), 0);
    zv_header(&b, 0, 3, 1); /* long form for a short body is accepted */
    zv_put(&b, "xyz", 3);
    zv_command(&b, "PING",
               "\x00\x0a"
               "ctx",
               5);
    zv_command(&b, "PONG", "ctx", 3);
    zv_command(&b, "SUBSCRIBE", "topic", 5);
    zv_command(&b, "CANCEL", "topic", 5);
    zv_command(&b, "JOIN", "group", 5);
    zv_command(&b, "ERROR",
               "\x03"
               "bye",
               4);
    char *t = zv_trace_all_splits(b.p, b.len, NULL);
    /* greeting, READY, 6 frames, PING, PONG, SUB, CANCEL, COMMAND, ERROR,
     * then the sticky "peer sent ERROR" for nothing more: no '!' yet. */
    int n = 0;
    for (char *s = t; *s; s++)
        n += *s == ' ';
    assert_int_equal(n, 14);
    assert_non_null(strstr(t, "G3.1 R1/0/"));
    assert_non_null(strstr(t, "PI10/3:"));
    assert_non_null(strstr(t, "S0/5:"));
    assert_non_null(strstr(t, "C0/5:"));
    assert_non_null(strstr(t, "X/4:"));
    assert_non_null(strstr(t, "E/3:"));
    free(t);
    zv_free(&b);
}

static void test_vector_sub_legacy(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 0, "NULL", 0);
    zv_ready(&b, "SUB", NULL, 0);
    zv_frame(&b,
             "\x01"
             "abc",
             4, 0); /* 3.0 subscribe */
    zv_frame(&b,
             "\x00"
             "abc",
             4, 0);             /* 3.0 cancel */
    zv_frame(&b, "\x01", 1, 0); /* subscribe to everything */
    zv_frame(&b,
             "\x02"
             "x",
             2, 0);             /* not a subscription */
    zv_frame(&b, "\x01", 1, 1); /* multipart: plain frames */
    zv_frame(&b, "\x01", 1, 0);
    zv_frame(&b, "", 0, 0);
    uint8_t big[400] = {1, 'b', 'i', 'g'};
    zv_frame(&b, big, sizeof(big), 0); /* assembled when split */
    char *t = zv_trace_all_splits(b.p, b.len, NULL);
    assert_non_null(strstr(t, "G3.0 R3/0/"));
    const char *want[] = {"S1/3:", "C1/3:", "S1/0:", "F0/2:", "F1/1:", "F0/1:", "F0/0:", "S1/399:"};
    const char *at = t;
    for (size_t i = 0; i < N_OF(want); i++) {
        const char *hit = strstr(at, want[i]);
        if (!hit)
            fail_msg("'%s' missing after '%s'", want[i], at);
        at = hit + 1;
    }
    free(t);
    zv_free(&b);
}

static void test_vector_ready_props(void **state)
{
    (void)state;
    zv_buf m = {0}, b = {0};
    zv_prop(&m, "socket-type", "DEALER", 6); /* names ignore case */
    zv_prop(&m, "IDENTITY", "peer-1", 6);
    zv_prop(&m, "X-App", "", 0);
    zv_prop(&m, "Resource", "a/b", 3);
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_command(&b, "READY", m.p, m.len);

    ipcx_zmtp_decoder *d;
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
    ipcx_zmtp_event ev;
    size_t used, at = 0;
    assert_int_equal(ipcx_zmtp_decode(d, b.p, b.len, &used, &ev), IPCX_ZMTP_EV_GREETING);
    at += used;
    assert_int_equal(ipcx_zmtp_decoder_peer_minor(d), 1);
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev), IPCX_ZMTP_EV_READY);
    assert_int_equal(ev.socket_type, IPCX_ZMTP_SOCKET_DEALER);
    assert_true(ev.has_identity);
    assert_int_equal(ev.identity_len, 6);
    assert_memory_equal(ev.identity, "peer-1", 6);
    size_t pos = 0;
    ipcx_zmtp_prop p;
    int n = 0;
    while (ipcx_zmtp_prop_next(ev.data, ev.len, &pos, &p) > 0)
        n++;
    assert_int_equal(n, 4);
    assert_int_equal(ipcx_zmtp_prop_find(ev.data, ev.len, "resource", &p), 1);
    assert_int_equal(p.value_len, 3);
    assert_memory_equal(p.value, "a/b", 3);
    assert_int_equal(ipcx_zmtp_prop_find(ev.data, ev.len, "x-app", &p), 1);
    assert_int_equal(p.value_len, 0);
    assert_int_equal(ipcx_zmtp_prop_find(ev.data, ev.len, "Nope", &p), 0);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&b);
    zv_free(&m);
    (void)count_events;
}

static void test_versions_accepted(void **state)
{
    (void)state;
    static const uint8_t ver[][2] = {{3, 0}, {3, 1}, {3, 9}, {4, 0}, {255, 255}};
    for (size_t i = 0; i < N_OF(ver); i++) {
        zv_buf b = {0};
        zv_greeting(&b, ver[i][0], ver[i][1], "NULL", 0);
        ipcx_zmtp_decoder *d;
        assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
        assert_int_equal(ipcx_zmtp_decoder_peer_minor(d), -EAGAIN);
        ipcx_zmtp_event ev;
        size_t used;
        assert_int_equal(ipcx_zmtp_decode(d, b.p, b.len, &used, &ev), IPCX_ZMTP_EV_GREETING);
        assert_int_equal(used, 64);
        assert_int_equal(ev.major, ver[i][0]);
        assert_int_equal(ipcx_zmtp_decoder_peer_minor(d), ver[i][0] == 3 && ver[i][1] == 0 ? 0 : 1);
        ipcx_zmtp_decoder_destroy(d);
        zv_free(&b);
    }
}

static void test_zero_copy_and_assembly(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PULL");
    size_t hs = b.len;
    uint8_t body[1000];
    memset(body, 'q', sizeof(body));
    zv_frame(&b, body, sizeof(body), 0);
    ipcx_zmtp_decoder *d;
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
    ipcx_zmtp_event ev;
    size_t used, at = 0;
    while (ipcx_zmtp_decode(d, b.p + at, hs - at, &used, &ev) > 0)
        at += used;
    at += used;
    assert_int_equal(at, hs);
    /* Whole in the buffer: a pointer into it. */
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev), IPCX_ZMTP_EV_FRAME);
    assert_null(ev.owned);
    assert_ptr_equal(ev.data, b.p + at + 9);
    assert_int_equal(ev.len, 1000);
    /* Split: assembled into an owned buffer of exactly the size. */
    zv_frame(&b, body, sizeof(body), 0);
    at += used;
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, 500, &used, &ev), 0);
    assert_int_equal(used, 500);
    at += used;
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev), IPCX_ZMTP_EV_FRAME);
    assert_non_null(ev.owned);
    assert_ptr_equal(ev.owned, ev.data);
    assert_int_equal(ev.len, 1000);
    assert_memory_equal(ev.data, body, 1000);
    free(ev.owned);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&b);
}

/* Caller-read bodies: a large body not whole in the buffer is announced,
 * not assembled; decoding waits for body_done; limits still hold; a body
 * that is whole in the buffer is still a plain view. */
static void test_direct_body(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PULL");
    size_t hs = b.len;
    uint8_t body[1000];
    memset(body, 'd', sizeof(body));
    zv_frame(&b, body, sizeof(body), 1); /* MORE */
    zv_frame(&b, body, 10, 0);
    ipcx_zmtp_limits lim = {.max_message_size = 1500};
    ipcx_zmtp_decoder *d;
    assert_int_equal(ipcx_zmtp_decoder_create(&lim, &d), 0);
    assert_int_equal(ipcx_zmtp_decoder_direct(d, 500), 0);
    assert_int_equal(ipcx_zmtp_decoder_body_done(d), -EINVAL); /* none owed */
    ipcx_zmtp_event ev;
    size_t used, at = 0;
    while (ipcx_zmtp_decode(d, b.p + at, hs - at, &used, &ev) > 0)
        at += used;
    at += used;
    /* The header and 100 octets of the body: announced, header consumed. */
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, 9 + 100, &used, &ev), IPCX_ZMTP_EV_BODY);
    assert_int_equal(used, 9);
    assert_int_equal(ev.len, 1000);
    assert_int_equal(ev.more, 1);
    at += used + 1000; /* the caller reads the body itself */
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev), -EINVAL);
    assert_int_equal(ipcx_zmtp_decoder_body_done(d), 0);
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev), IPCX_ZMTP_EV_FRAME);
    assert_int_equal(ev.len, 10);
    assert_int_equal(ev.more, 0);
    at += used;
    /* The message limit counts caller-read bodies too. */
    zv_frame(&b, body, sizeof(body), 1);
    zv_frame(&b, body, 600, 0);
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, 9 + 1, &used, &ev), IPCX_ZMTP_EV_BODY);
    at += used + 1000;
    assert_int_equal(ipcx_zmtp_decoder_body_done(d), 0);
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev), -EMSGSIZE);
    assert_int_equal(ev.err, IPCX_ZMTP_ERR_MESSAGE_TOO_LARGE);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&b);
}

static void test_bad_args(void **state)
{
    (void)state;
    ipcx_zmtp_decoder *d;
    ipcx_zmtp_event ev;
    size_t used = 7;
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, NULL), -EINVAL);
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
    assert_int_equal(ipcx_zmtp_decode(NULL, "x", 1, &used, &ev), -EINVAL);
    assert_int_equal(used, 0);
    assert_int_equal(ipcx_zmtp_decode(d, NULL, 1, &used, &ev), -EINVAL);
    assert_int_equal(ipcx_zmtp_decode(d, "x", 1, NULL, &ev), -EINVAL);
    assert_int_equal(ipcx_zmtp_decode(d, "x", 1, &used, NULL), -EINVAL);
    assert_int_equal(ipcx_zmtp_decode(d, NULL, 0, &used, &ev), 0);
    assert_int_equal(ipcx_zmtp_decoder_error(d), 0);
    ipcx_zmtp_decoder_destroy(d);
    ipcx_zmtp_decoder_destroy(NULL);
    for (int e = 0; e <= IPCX_ZMTP_ERR_COUNT_; e++)
        assert_non_null(ipcx_zmtp_strerror(e));
    assert_string_equal(ipcx_zmtp_strerror(-1), "unknown zmtp error");
}

/* ------------------------------------------------------------ greeting errors */

static void test_err_signature_first(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    b.p[0] = 0x01; /* a ZMTP 1.0 identity length, or garbage */
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_SIGNATURE);
    zv_free(&b);
}

static void test_err_signature_last(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    b.p[9] = 0x00; /* ZMTP 1.0 with a long identity */
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_SIGNATURE);
    zv_free(&b);
}

static void test_err_version_2(void **state)
{
    (void)state;
    for (uint8_t major = 0; major < 3; major++) {
        zv_buf b = {0};
        zv_greeting(&b, major, 0, "NULL", 0);
        expect_fail(&b, -EPROTONOSUPPORT, IPCX_ZMTP_ERR_VERSION);
        /* Decided on the 11th octet: a 2.0 peer gets its answer at once. */
        char *t = zv_trace(b.p, 11, 0, 0, NULL);
        assert_non_null(strstr(t, "!"));
        free(t);
        zv_free(&b);
    }
}

static void test_err_mechanism(void **state)
{
    (void)state;
    const char *mechs[] = {"PLAIN", "CURVE", "NULLX", "null", ""};
    for (size_t i = 0; i < N_OF(mechs); i++) {
        zv_buf b = {0};
        zv_greeting(&b, 3, 1, mechs[i], 0);
        expect_fail(&b, -EPROTONOSUPPORT, IPCX_ZMTP_ERR_MECHANISM);
        zv_free(&b);
    }
}

static void test_err_as_server(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 1);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_AS_SERVER);
    zv_free(&b);
}

static void test_filler_not_validated(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    memset(b.p + 1, 0xEE, 8);   /* padding: not significant (RFC 37) */
    memset(b.p + 33, 0xEE, 31); /* filler: ignored like libzmq */
    zv_ready(&b, "PUSH", NULL, 0);
    assert_int_equal(count_events(&b), 2);
    zv_free(&b);
}

/* ------------------------------------------------------------ frame errors */

static void test_err_flags_reserved(void **state)
{
    (void)state;
    for (unsigned bit = 3; bit < 8; bit++) {
        zv_buf b = {0};
        start(&b, "PAIR");
        zv_header(&b, (uint8_t)(1u << bit), 1, 0);
        zv_u8(&b, 'x');
        expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_FLAGS);
        zv_free(&b);
    }
}

static void test_err_command_more(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_header(&b, 0x05, 5, 0);
    zv_put(&b, "\x04PING", 5);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_COMMAND_MORE);
    zv_free(&b);
}

static void test_err_frame_before_ready(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_frame(&b, "early", 5, 0);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_FRAME_BEFORE_READY);
    zv_free(&b);
}

static void test_err_command_empty(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_header(&b, 0x04, 0, 0);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_COMMAND_EMPTY);
    zv_free(&b);
    start(&b, "PAIR");
    zv_header(&b, 0x04, 3, 0);
    zv_put(&b, "\x00xy", 3);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_COMMAND_EMPTY);
    zv_free(&b);
}

static void test_err_command_name_long(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_header(&b, 0x04, 4, 0);
    zv_put(&b, "\x05REA", 4); /* name claims 5 octets, frame has 3 */
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_COMMAND_NAME);
    zv_free(&b);
}

static void test_err_command_name_char(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_command(&b, "PI-G", "", 0);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_COMMAND_NAME_CHAR);
    zv_free(&b);
}

static void test_err_unexpected_command(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_command(&b, "PING", "\x00\x00", 2);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_UNEXPECTED_COMMAND);
    zv_free(&b);
}

static void test_err_duplicate_ready(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_ready(&b, "PAIR", NULL, 0);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_DUPLICATE_READY);
    zv_free(&b);
}

/* ------------------------------------------------------------ metadata errors */

static void ready_raw(zv_buf *b, const zv_buf *meta)
{
    zv_greeting(b, 3, 1, "NULL", 0);
    zv_command(b, "READY", meta->p, meta->len);
}

static void test_err_property_name_empty(void **state)
{
    (void)state;
    zv_buf m = {0}, b = {0};
    zv_u8(&m, 0);
    zv_be32(&m, 0);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_NAME);
    zv_free(&b);
    zv_free(&m);
}

static void test_err_property_name_past(void **state)
{
    (void)state;
    zv_buf m = {0}, b = {0};
    zv_u8(&m, 200);
    zv_put(&m, "Socket", 6);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_NAME);
    zv_free(&b);
    zv_free(&m);
}

static void test_err_property_name_char(void **state)
{
    (void)state;
    zv_buf m = {0}, b = {0};
    zv_prop(&m, "Bad Name", "v", 1);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_NAME);
    zv_free(&b);
    zv_free(&m);
}

static void test_err_property_length_past(void **state)
{
    (void)state;
    zv_buf m = {0}, b = {0};
    zv_u8(&m, 11);
    zv_put(&m, "Socket-Type", 11);
    zv_be32(&m, 7); /* 7 octets claimed, 4 present */
    zv_put(&m, "PAIR", 4);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_LENGTH);
    zv_free(&b);
    zv_free(&m);
}

static void test_err_property_length_truncated(void **state)
{
    (void)state;
    zv_buf m = {0}, b = {0};
    zv_u8(&m, 1);
    zv_put(&m, "A", 1);
    zv_put(&m, "\x00\x00", 2); /* 2 of the 4 size octets */
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_LENGTH);
    zv_free(&b);
    zv_free(&m);
}

static void test_err_property_duplicate(void **state)
{
    (void)state;
    zv_buf m = {0}, b = {0};
    zv_prop(&m, "Socket-Type", "PAIR", 4);
    zv_prop(&m, "SOCKET-TYPE", "PUB", 3);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_DUPLICATE);
    zv_free(&b);
    zv_free(&m);
    zv_prop(&m, "Identity", "a", 1);
    zv_prop(&m, "identity", "b", 1);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_DUPLICATE);
    zv_free(&b);
    zv_free(&m);
}

static void test_err_socket_type(void **state)
{
    (void)state;
    const char *bad[] = {"pair", "FOO", "", "PAIRS"};
    for (size_t i = 0; i < N_OF(bad); i++) {
        zv_buf b = {0};
        zv_greeting(&b, 3, 1, "NULL", 0);
        zv_ready(&b, bad[i], NULL, 0);
        expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_SOCKET_TYPE);
        zv_free(&b);
    }
}

static void test_identity_limits(void **state)
{
    (void)state;
    uint8_t id[256];
    memset(id, 'i', sizeof(id));
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_ready(&b, "DEALER", id, 255); /* 255: the largest allowed */
    assert_int_equal(count_events(&b), 2);
    zv_free(&b);
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_ready(&b, "DEALER", id, 0); /* empty identity: allowed */
    assert_int_equal(count_events(&b), 2);
    zv_free(&b);
}

static void test_err_identity_size(void **state)
{
    (void)state;
    uint8_t id[256];
    memset(id, 'i', sizeof(id));
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_ready(&b, "DEALER", id, 256);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_IDENTITY_SIZE);
    zv_free(&b);
}

static void test_err_identity_reserved(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_ready(&b, "DEALER", "\x00id", 3);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_IDENTITY_RESERVED);
    zv_free(&b);
}

/* ------------------------------------------------------------ command errors */

static void test_err_error_malformed(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_command(&b, "ERROR",
               "\x09"
               "short",
               6);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_ERROR_MALFORMED);
    zv_free(&b);
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_command(&b, "ERROR", "", 0);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_ERROR_MALFORMED);
    zv_free(&b);
}

static void test_error_in_handshake(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_command(&b, "ERROR",
               "\x06"
               "denied",
               7);
    zv_frame(&b, "late", 4, 0); /* after ERROR: the connection is over */
    char *t = zv_trace_all_splits(b.p, b.len, NULL);
    assert_non_null(strstr(t, "E/6:"));
    char want[32];
    snprintf(want, sizeof(want), "!%d:%d", -EPROTO, IPCX_ZMTP_ERR_PEER_ERROR);
    assert_non_null(strstr(t, want));
    free(t);
    zv_free(&b);
}

static void test_err_ping_malformed(void **state)
{
    (void)state;
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_command(&b, "PING", "\x00", 1);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PING_MALFORMED);
    zv_free(&b);
    uint8_t ctx[19] = {0};
    start(&b, "PAIR");
    zv_command(&b, "PING", ctx, 2 + 17);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PING_MALFORMED);
    zv_free(&b);
    start(&b, "PAIR");
    zv_command(&b, "PING", ctx, 2 + 16); /* 16: the largest context */
    assert_int_equal(count_events(&b), 3);
    zv_free(&b);
}

static void test_err_pong_malformed(void **state)
{
    (void)state;
    uint8_t ctx[17] = {0};
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_command(&b, "PONG", ctx, 17);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PONG_MALFORMED);
    zv_free(&b);
}

/* ------------------------------------------------------------ limits */

static void test_err_frame_too_large(void **state)
{
    (void)state;
    ipcx_zmtp_limits lim = {.max_frame_size = 100};
    uint8_t body[101] = {0};
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_frame(&b, body, 100, 0);
    zv_frame(&b, body, 101, 0);
    expect_fail_lim(&b, -EMSGSIZE, IPCX_ZMTP_ERR_FRAME_TOO_LARGE, &lim);
    zv_free(&b);
}

static void test_err_message_too_large(void **state)
{
    (void)state;
    ipcx_zmtp_limits lim = {.max_message_size = 250};
    uint8_t body[100] = {0};
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_frame(&b, body, 100, 1);
    zv_frame(&b, body, 100, 1);
    zv_frame(&b, body, 50, 0); /* exactly 250: fine */
    zv_frame(&b, body, 100, 1);
    zv_frame(&b, body, 100, 1);
    zv_frame(&b, body, 51, 0);
    expect_fail_lim(&b, -EMSGSIZE, IPCX_ZMTP_ERR_MESSAGE_TOO_LARGE, &lim);
    zv_free(&b);
}

static void test_err_too_many_frames(void **state)
{
    (void)state;
    ipcx_zmtp_limits lim = {.max_frames = 3};
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_frame(&b, "a", 1, 1);
    zv_frame(&b, "b", 1, 1);
    zv_frame(&b, "c", 1, 0);
    zv_frame(&b, "a", 1, 1);
    zv_command(&b, "PING", "\x00\x01", 2); /* commands do not count */
    zv_frame(&b, "b", 1, 1);
    zv_frame(&b, "c", 1, 1);
    zv_frame(&b, "d", 1, 0);
    expect_fail_lim(&b, -EMSGSIZE, IPCX_ZMTP_ERR_TOO_MANY_FRAMES, &lim);
    zv_free(&b);
}

static void test_err_command_too_large(void **state)
{
    (void)state;
    ipcx_zmtp_limits lim = {.max_command_size = 64};
    uint8_t pad[64] = {0};
    zv_buf b = {0};
    start(&b, "PAIR");
    zv_command(&b, "HELLO", pad, 64 - 6);
    zv_command(&b, "HELLO", pad, 64 - 5);
    expect_fail_lim(&b, -EMSGSIZE, IPCX_ZMTP_ERR_COMMAND_TOO_LARGE, &lim);
    zv_free(&b);
}

static void test_err_metadata_too_large(void **state)
{
    (void)state;
    ipcx_zmtp_limits lim = {.max_metadata_size = 40};
    uint8_t v[64];
    memset(v, 'v', sizeof(v));
    zv_buf m = {0}, b = {0};
    zv_prop(&m, "Socket-Type", "PAIR", 4);
    zv_prop(&m, "X-Pad", v, 41 - m.len - 10);
    assert_int_equal(m.len, 41);
    ready_raw(&b, &m);
    expect_fail_lim(&b, -EMSGSIZE, IPCX_ZMTP_ERR_METADATA_TOO_LARGE, &lim);
    zv_free(&b);
    zv_free(&m);
}

/* CVE-2019-6250: a long frame header with a huge size, straddling buffers.
 * It must be refused on the header - never allocated, never used in a bound
 * computed as pointer + size. */
static void test_cve_2019_6250_huge_frame(void **state)
{
    (void)state;
    static const struct {
        uint64_t size;
        int rc, err;
    } cases[] = {
        {UINT64_MAX, -EPROTO, IPCX_ZMTP_ERR_SIZE_INVALID},
        {(uint64_t)1 << 63, -EPROTO, IPCX_ZMTP_ERR_SIZE_INVALID},
        {INT64_MAX, -EMSGSIZE, IPCX_ZMTP_ERR_FRAME_TOO_LARGE},
        {UINT64_MAX - 8, -EPROTO, IPCX_ZMTP_ERR_SIZE_INVALID},
        {IPCX_ZMTP_DEFAULT_MAX_FRAME + 1, -EMSGSIZE, IPCX_ZMTP_ERR_FRAME_TOO_LARGE},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        for (int more = 0; more < 2; more++) {
            zv_buf b = {0};
            start(&b, "PAIR");
            zv_header(&b, (uint8_t)more, cases[i].size, 1);
            zv_put(&b, "payload bytes", 13);
            expect_fail(&b, cases[i].rc, cases[i].err);
            zv_free(&b);
        }
        /* The same as a command. */
        zv_buf b = {0};
        start(&b, "PAIR");
        zv_header(&b, 4, cases[i].size, 1);
        zv_put(&b, "\x04PING", 5);
        expect_fail(&b, cases[i].rc,
                    cases[i].rc == -EPROTO ? cases[i].err : IPCX_ZMTP_ERR_COMMAND_TOO_LARGE);
        zv_free(&b);
    }
}

/* CVE-2019-13132: oversized handshake metadata.  A READY claiming a huge
 * body, and properties claiming values far past the command, are refused
 * before anything is allocated or copied. */
static void test_cve_2019_13132_metadata(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_header(&b, 4, (uint64_t)1 << 40, 1);
    zv_put(&b, "\x05READY", 6);
    expect_fail(&b, -EMSGSIZE, IPCX_ZMTP_ERR_COMMAND_TOO_LARGE);
    zv_free(&b);

    zv_buf m = {0};
    zv_u8(&m, 8);
    zv_put(&m, "Identity", 8);
    zv_be32(&m, 0xFFFFFFFFu);
    zv_put(&m, "AAAAAAAAAAAAAAAA", 16);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_LENGTH);
    zv_free(&b);
    zv_free(&m);

    zv_u8(&m, 8);
    zv_put(&m, "Identity", 8);
    zv_be32(&m, 0x7FFFFFFFu);
    zv_put(&m, "AAAA", 4);
    ready_raw(&b, &m);
    expect_fail(&b, -EPROTO, IPCX_ZMTP_ERR_PROPERTY_LENGTH);
    zv_free(&b);
    zv_free(&m);

    /* A 60 KiB metadata with a long Identity: within the command limit, so
     * only the identity rule stops it. */
    uint8_t *big = malloc(60000);
    memset(big, 'A', 60000);
    zv_prop(&m, "Socket-Type", "ROUTER", 6);
    zv_prop(&m, "Identity", big, 60000);
    ready_raw(&b, &m);
    char *t = zv_trace(b.p, b.len, 0, 4096, NULL);
    char want[32];
    snprintf(want, sizeof(want), "!%d:%d", -EPROTO, IPCX_ZMTP_ERR_IDENTITY_SIZE);
    assert_non_null(strstr(t, want));
    free(t);
    free(big);
    zv_free(&b);
    zv_free(&m);
}

/* ------------------------------------------------------------ encoder */

static void test_encode_greeting_and_header(void **state)
{
    (void)state;
    uint8_t g[64], want[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1, 'N', 'U', 'L', 'L'};
    assert_int_equal(ipcx_zmtp_encode_greeting(g), 64);
    assert_memory_equal(g, want, 64);
    uint8_t h[9];
    assert_int_equal(ipcx_zmtp_encode_header(h, 0, 0), 2);
    assert_memory_equal(h, "\x00\x00", 2);
    assert_int_equal(ipcx_zmtp_encode_header(h, 255, IPCX_ZMTP_FLAG_MORE), 2);
    assert_memory_equal(h, "\x01\xff", 2);
    assert_int_equal(ipcx_zmtp_encode_header(h, 256, 0), 9);
    assert_memory_equal(h, "\x02\x00\x00\x00\x00\x00\x00\x01\x00", 9);
    assert_int_equal(ipcx_zmtp_encode_header(h, 0x0102030405060708ull, IPCX_ZMTP_FLAG_COMMAND), 9);
    assert_memory_equal(h, "\x06\x01\x02\x03\x04\x05\x06\x07\x08", 9);
    /* Stray flag bits are not written. */
    assert_int_equal(ipcx_zmtp_encode_header(h, 1, 0xF8 | IPCX_ZMTP_FLAG_LONG), 2);
    assert_int_equal(h[0], 0);
}

static void test_encode_frames(void **state)
{
    (void)state;
    uint8_t out[600];
    assert_int_equal(ipcx_zmtp_encode_frame(out, sizeof(out), "abc", 3, 1), 5);
    assert_memory_equal(out,
                        "\x01\x03"
                        "abc",
                        5);
    assert_int_equal(ipcx_zmtp_encode_frame(out, 4, "abc", 3, 0), -ENOSPC);
    assert_int_equal(ipcx_zmtp_encode_frame(out, 1, "", 0, 0), -ENOSPC);
    assert_int_equal(ipcx_zmtp_encode_frame(out, 2, NULL, 0, 0), 2);
    uint8_t big[300] = {7};
    assert_int_equal(ipcx_zmtp_encode_frame(out, sizeof(out), big, 300, 0), 309);
    assert_int_equal(ipcx_zmtp_encode_frame(out, 308, big, 300, 0), -ENOSPC);
    ipcx_zmtp_part parts[3] = {{"id", 2}, {"", 0}, {big, 300}};
    assert_int_equal(ipcx_zmtp_encode_msg(out, sizeof(out), parts, 3), 4 + 2 + 309);
    assert_memory_equal(out, "\x01\x02id\x01\x00\x02", 7);
    memset(out, 0xCC, sizeof(out));
    assert_int_equal(ipcx_zmtp_encode_msg(out, 314, parts, 3), -ENOSPC);
    assert_int_equal(out[0], 0xCC); /* nothing written */
    assert_int_equal(ipcx_zmtp_encode_msg(out, sizeof(out), parts, 0), -EINVAL);
}

static void test_encode_commands(void **state)
{
    (void)state;
    uint8_t out[512];
    int n = ipcx_zmtp_encode_ready(out, sizeof(out), IPCX_ZMTP_SOCKET_DEALER, "", 0, NULL, 0);
    /* The RFC 37 worked example, byte for byte. */
    static const uint8_t dealer[] = "\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06"
                                    "DEALER\x08Identity\x00\x00\x00\x00";
    assert_int_equal(n, sizeof(dealer) - 1);
    assert_memory_equal(out, dealer, sizeof(dealer) - 1);
    n = ipcx_zmtp_encode_ready(out, sizeof(out), IPCX_ZMTP_SOCKET_ROUTER, NULL, 0, NULL, 0);
    static const uint8_t router[] = "\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER";
    assert_int_equal(n, sizeof(router) - 1);
    assert_memory_equal(out, router, sizeof(router) - 1);
    assert_int_equal(ipcx_zmtp_encode_ready(out, 20, IPCX_ZMTP_SOCKET_ROUTER, NULL, 0, NULL, 0),
                     -ENOSPC);
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), 0, NULL, 0, NULL, 0), -EINVAL);
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), 99, NULL, 0, NULL, 0), -EINVAL);
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), 1, "\0x", 2, NULL, 0), -EINVAL);
    ipcx_zmtp_prop bad = {"bad name", 8, "v", 1};
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), 1, NULL, 0, &bad, 1), -EINVAL);
    ipcx_zmtp_prop empty = {"", 0, "v", 1};
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), 1, NULL, 0, &empty, 1), -EINVAL);

    assert_int_equal(ipcx_zmtp_encode_error(out, sizeof(out), "no"), 2 + 6 + 3);
    assert_memory_equal(out,
                        "\x04\x09\x05"
                        "ERROR\x02no",
                        11);
    char longr[300];
    memset(longr, 'r', sizeof(longr) - 1);
    longr[299] = 0;
    assert_int_equal(ipcx_zmtp_encode_error(out, sizeof(out), longr), -EINVAL);
    assert_int_equal(ipcx_zmtp_encode_ping(out, sizeof(out), 0x1234, "ab", 2), 2 + 5 + 2 + 2);
    assert_memory_equal(out,
                        "\x04\x09\x04PING\x12\x34"
                        "ab",
                        11);
    assert_int_equal(ipcx_zmtp_encode_ping(out, sizeof(out), 1, out, 17), -EINVAL);
    assert_int_equal(ipcx_zmtp_encode_pong(out, sizeof(out), "ab", 2), 2 + 5 + 2);
    assert_memory_equal(out,
                        "\x04\x07\x04PONG"
                        "ab",
                        9);
    assert_int_equal(ipcx_zmtp_encode_pong(out, 8, "ab", 2), -ENOSPC);

    uint8_t h[IPCX_ZMTP_SUB_HDR_MAX];
    assert_int_equal(ipcx_zmtp_encode_subscribe(h, 1, 3, 1), 12);
    assert_memory_equal(h, "\x04\x0d\x09SUBSCRIBE", 12);
    assert_int_equal(ipcx_zmtp_encode_subscribe(h, 0, 3, 1), 9);
    assert_memory_equal(h,
                        "\x04\x0a\x06"
                        "CANCEL",
                        9);
    assert_int_equal(ipcx_zmtp_encode_subscribe(h, 1, 3, 0), 3);
    assert_memory_equal(h, "\x00\x04\x01", 3);
    assert_int_equal(ipcx_zmtp_encode_subscribe(h, 0, 300, 0), 10);
    assert_memory_equal(h, "\x02\x00\x00\x00\x00\x00\x00\x01\x2d\x00", 10);
    assert_int_equal(ipcx_zmtp_encode_subscribe(h, 1, 300, 1), 19);
}

static void test_socket_tables(void **state)
{
    (void)state;
    assert_string_equal(ipcx_zmtp_socket_name(IPCX_ZMTP_SOCKET_ROUTER), "ROUTER");
    assert_null(ipcx_zmtp_socket_name(IPCX_ZMTP_SOCKET_NONE));
    assert_null(ipcx_zmtp_socket_name(IPCX_ZMTP_SOCKET_COUNT_));
    assert_true(ipcx_zmtp_socket_compatible(IPCX_ZMTP_SOCKET_REQ, IPCX_ZMTP_SOCKET_ROUTER));
    assert_true(ipcx_zmtp_socket_compatible(IPCX_ZMTP_SOCKET_PUB, IPCX_ZMTP_SOCKET_SUB));
    assert_true(ipcx_zmtp_socket_compatible(IPCX_ZMTP_SOCKET_PAIR, IPCX_ZMTP_SOCKET_PAIR));
    assert_false(ipcx_zmtp_socket_compatible(IPCX_ZMTP_SOCKET_PUB, IPCX_ZMTP_SOCKET_PUB));
    assert_false(ipcx_zmtp_socket_compatible(IPCX_ZMTP_SOCKET_REQ, IPCX_ZMTP_SOCKET_REQ));
    assert_false(ipcx_zmtp_socket_compatible(0, 0));
    /* The table is symmetric. */
    for (int a = 0; a <= IPCX_ZMTP_SOCKET_COUNT_; a++)
        for (int b = 0; b <= IPCX_ZMTP_SOCKET_COUNT_; b++)
            assert_int_equal(ipcx_zmtp_socket_compatible(a, b), ipcx_zmtp_socket_compatible(b, a));
}

/* Random multipart messages and commands, encoded, then decoded in random
 * chunks: the same content comes out. */
static void test_roundtrip_random(void **state)
{
    (void)state;
    uint64_t rs = tu_seed();
    for (int round = 0; round < 50; round++) {
        zv_buf b = {0}, want = {0};
        uint8_t tmp[1024];
        size_t n = ipcx_zmtp_encode_greeting(tmp);
        zv_put(&b, tmp, n);
        int w = ipcx_zmtp_encode_ready(tmp, sizeof(tmp), IPCX_ZMTP_SOCKET_PAIR, NULL, 0, NULL, 0);
        zv_put(&b, tmp, (size_t)w);
        for (int m = 0; m < 20; m++) {
            int parts = 1 + (int)(tu_rand(&rs) % 4);
            for (int p = 0; p < parts; p++) {
                size_t len = (size_t)(tu_rand(&rs) % 600);
                uint8_t *data = malloc(len + 1);
                for (size_t i = 0; i < len; i++)
                    data[i] = (uint8_t)tu_rand(&rs);
                uint8_t *fr = malloc(len + 9);
                w = ipcx_zmtp_encode_frame(fr, len + 9, data, len, p + 1 < parts);
                assert_true(w > 0);
                zv_put(&b, fr, (size_t)w);
                zv_u8(&want, p + 1 < parts);
                zv_be32(&want, (uint32_t)len);
                zv_put(&want, data, len);
                free(fr);
                free(data);
            }
            if (tu_rand(&rs) % 4 == 0) {
                w = ipcx_zmtp_encode_ping(tmp, sizeof(tmp), 7, "c", 1);
                zv_put(&b, tmp, (size_t)w);
            }
        }
        size_t step = 1 + (size_t)(tu_rand(&rs) % 700);
        char *t = zv_trace(b.p, b.len, 0, step, NULL);
        char *whole = zv_trace(b.p, b.len, 0, 0, NULL);
        assert_string_equal(t, whole);
        assert_null(strchr(t, '!'));
        free(t);
        free(whole);
        /* Check the content itself once, whole. */
        ipcx_zmtp_decoder *d;
        assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
        size_t at = 0, wat = 0, used;
        ipcx_zmtp_event ev;
        int rc;
        while ((rc = ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev)) > 0) {
            at += used;
            if (rc != IPCX_ZMTP_EV_FRAME)
                continue;
            assert_int_equal(ev.more, want.p[wat]);
            uint32_t len = (uint32_t)want.p[wat + 1] << 24 | (uint32_t)want.p[wat + 2] << 16 |
                           (uint32_t)want.p[wat + 3] << 8 | want.p[wat + 4];
            assert_int_equal(ev.len, len);
            assert_memory_equal(ev.data, want.p + wat + 5, len);
            wat += 5 + len;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(wat, want.len);
        ipcx_zmtp_decoder_destroy(d);
        zv_free(&b);
        zv_free(&want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_pair),
        cmocka_unit_test(test_vector_sub_legacy),
        cmocka_unit_test(test_vector_ready_props),
        cmocka_unit_test(test_versions_accepted),
        cmocka_unit_test(test_zero_copy_and_assembly),
        cmocka_unit_test(test_direct_body),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_err_signature_first),
        cmocka_unit_test(test_err_signature_last),
        cmocka_unit_test(test_err_version_2),
        cmocka_unit_test(test_err_mechanism),
        cmocka_unit_test(test_err_as_server),
        cmocka_unit_test(test_filler_not_validated),
        cmocka_unit_test(test_err_flags_reserved),
        cmocka_unit_test(test_err_command_more),
        cmocka_unit_test(test_err_frame_before_ready),
        cmocka_unit_test(test_err_command_empty),
        cmocka_unit_test(test_err_command_name_long),
        cmocka_unit_test(test_err_command_name_char),
        cmocka_unit_test(test_err_unexpected_command),
        cmocka_unit_test(test_err_duplicate_ready),
        cmocka_unit_test(test_err_property_name_empty),
        cmocka_unit_test(test_err_property_name_past),
        cmocka_unit_test(test_err_property_name_char),
        cmocka_unit_test(test_err_property_length_past),
        cmocka_unit_test(test_err_property_length_truncated),
        cmocka_unit_test(test_err_property_duplicate),
        cmocka_unit_test(test_err_socket_type),
        cmocka_unit_test(test_identity_limits),
        cmocka_unit_test(test_err_identity_size),
        cmocka_unit_test(test_err_identity_reserved),
        cmocka_unit_test(test_err_error_malformed),
        cmocka_unit_test(test_error_in_handshake),
        cmocka_unit_test(test_err_ping_malformed),
        cmocka_unit_test(test_err_pong_malformed),
        cmocka_unit_test(test_err_frame_too_large),
        cmocka_unit_test(test_err_message_too_large),
        cmocka_unit_test(test_err_too_many_frames),
        cmocka_unit_test(test_err_command_too_large),
        cmocka_unit_test(test_err_metadata_too_large),
        cmocka_unit_test(test_cve_2019_6250_huge_frame),
        cmocka_unit_test(test_cve_2019_13132_metadata),
        cmocka_unit_test(test_encode_greeting_and_header),
        cmocka_unit_test(test_encode_frames),
        cmocka_unit_test(test_encode_commands),
        cmocka_unit_test(test_socket_tables),
        cmocka_unit_test(test_roundtrip_random),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + zf_run();
}
