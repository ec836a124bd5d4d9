// SPDX-License-Identifier: MIT
/*
 * Regressions from the adversarial review of the ZMTP codec: the -ENOMEM
 * path (failed assembly allocations, through the codec's fault-injection
 * hook, SQLite-style: fail the nth allocation, check the same events come
 * out once the caller retries), buffer ownership when a decoder is
 * destroyed mid-frame or fails after a partial assembly, the peer's minor
 * after a refused greeting, and READY properties the encoder must refuse
 * because the decoder would.
 */
#include "testutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "zmtp/zmtp_internal.h"
#include "zmtp_faults.h"
#include "zmtp_vec.h"

/* A decoder past the greeting and READY of a @type peer. */
static ipcx_zmtp_decoder *handshaken(const char *type)
{
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_ready(&b, type, NULL, 0);
    ipcx_zmtp_decoder *d;
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
    size_t at = 0, used;
    ipcx_zmtp_event ev;
    assert_int_equal(ipcx_zmtp_decode(d, b.p, b.len, &used, &ev), IPCX_ZMTP_EV_GREETING);
    at += used;
    assert_int_equal(ipcx_zmtp_decode(d, b.p + at, b.len - at, &used, &ev), IPCX_ZMTP_EV_READY);
    assert_int_equal(at + used, b.len);
    zv_free(&b);
    return d;
}

/* -ENOMEM on an assembled frame: no event (a stale ev->type/owned from
 * the previous event must not survive, or a caller that frees ev.owned
 * would free a buffer twice), not sticky, the header stays consumed, and
 * the retry yields the frame. */
static void test_enomem_frame_retry(void **state)
{
    (void)state;
    ipcx_zmtp_decoder *d = handshaken("PULL");
    uint8_t body[1000];
    memset(body, 'q', sizeof(body));
    zv_buf f = {0};
    zv_frame(&f, body, sizeof(body), 0);
    zv_frame(&f, "tail", 4, 0);
    ipcx_zmtp_event ev;
    size_t used;
    ipcx__zmtp_fail_alloc = 1;
    ev.type = IPCX_ZMTP_EV_FRAME;
    ev.owned = &ev;
    ev.err = 99;
    assert_int_equal(ipcx_zmtp_decode(d, f.p, 500, &used, &ev), -ENOMEM);
    assert_int_equal(ev.type, IPCX_ZMTP_EV_NONE);
    assert_int_equal(ev.err, 0);
    assert_int_equal(used, 9); /* the header, not a body octet */
    assert_int_equal(ipcx_zmtp_decoder_error(d), IPCX_ZMTP_OK);
    assert_int_equal(ipcx__zmtp_fail_alloc, 0);
    assert_int_equal(ipcx_zmtp_decode(d, f.p + 9, 491, &used, &ev), 0);
    assert_int_equal(used, 491);
    assert_int_equal(ipcx_zmtp_decode(d, f.p + 500, f.len - 500, &used, &ev), IPCX_ZMTP_EV_FRAME);
    assert_non_null(ev.owned);
    assert_int_equal(ev.len, sizeof(body));
    assert_memory_equal(ev.data, body, sizeof(body));
    free(ev.owned);
    /* The fast path is back: the next frame is handed out by pointer. */
    size_t at = 500 + used;
    assert_int_equal(ipcx_zmtp_decode(d, f.p + at, f.len - at, &used, &ev), IPCX_ZMTP_EV_FRAME);
    assert_null(ev.owned);
    assert_memory_equal(ev.data, "tail", 4);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&f);
}

/* Two -ENOMEM in a row on the same body, then success. */
static void test_enomem_twice(void **state)
{
    (void)state;
    ipcx_zmtp_decoder *d = handshaken("PAIR");
    uint8_t body[300];
    memset(body, 'w', sizeof(body));
    zv_buf f = {0};
    zv_frame(&f, body, sizeof(body), 1);
    ipcx_zmtp_event ev;
    size_t used;
    ipcx__zmtp_fail_alloc = 1;
    assert_int_equal(ipcx_zmtp_decode(d, f.p, 100, &used, &ev), -ENOMEM);
    assert_int_equal(used, 9);
    ipcx__zmtp_fail_alloc = 1;
    assert_int_equal(ipcx_zmtp_decode(d, f.p + 9, 91, &used, &ev), -ENOMEM);
    assert_int_equal(used, 0);
    assert_int_equal(ipcx_zmtp_decode(d, f.p + 9, 91, &used, &ev), 0);
    assert_int_equal(ipcx_zmtp_decode(d, f.p + 100, f.len - 100, &used, &ev), IPCX_ZMTP_EV_FRAME);
    assert_int_equal(ev.more, 1);
    assert_memory_equal(ev.data, body, sizeof(body));
    free(ev.owned);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&f);
}

/* A stream with assembled frames, commands and a READY: failing the nth
 * assembly allocation, for every n, gives the events of a clean run once
 * the tracer retries (zv_trace retries on -ENOMEM).  Limits and multipart
 * accounting must come out the same: tiny limits, so an accounting slip on
 * the retry path would turn into a limit error. */
static void test_enomem_every_allocation(void **state)
{
    (void)state;
    zv_buf b = {0}, meta = {0};
    uint8_t v[200];
    memset(v, 'v', sizeof(v));
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_prop(&meta, "Socket-Type", "DEALER", 6);
    zv_prop(&meta, "X-Pad", v, sizeof(v));
    zv_command(&b, "READY", meta.p, meta.len);
    for (int m = 0; m < 3; m++) {
        zv_frame(&b, v, 150, 1);
        zv_command(&b, "PING",
                   "\x00\x05"
                   "ctx",
                   5);
        zv_frame(&b, v, 150, 1);
        zv_frame(&b, v, 0, 0);
    }
    zv_command(&b, "JOIN", v, 190);
    ipcx_zmtp_limits lim = {.max_message_size = 300, .max_frames = 3, .max_frame_size = 150};
    char *clean = zv_trace(b.p, b.len, 0, 7, &lim);
    assert_null(strchr(clean, '!'));
    for (unsigned n = 1; n <= 12; n++) {
        ipcx__zmtp_fail_alloc = n;
        char *t = zv_trace(b.p, b.len, 0, 7, &lim);
        if (strcmp(t, clean) != 0)
            fail_msg("failing allocation %u:\n  %s\nvs clean:\n  %s", n, t, clean);
        free(t);
        ipcx__zmtp_fail_alloc = 0;
    }
    free(clean);
    zv_free(&b);
    zv_free(&meta);
}

/* Destroying a decoder mid-assembly frees the partial body (ASan's leak
 * check would see it), whether it was a frame or a command. */
static void test_destroy_mid_frame(void **state)
{
    (void)state;
    for (int cmd = 0; cmd < 2; cmd++) {
        ipcx_zmtp_decoder *d = handshaken("PAIR");
        zv_buf f = {0};
        uint8_t body[400];
        memset(body, 'd', sizeof(body));
        if (cmd)
            zv_command(&f, "JOIN", body, sizeof(body));
        else
            zv_frame(&f, body, sizeof(body), 1);
        ipcx_zmtp_event ev;
        size_t used;
        assert_int_equal(ipcx_zmtp_decode(d, f.p, f.len - 1, &used, &ev), 0);
        assert_int_equal(used, f.len - 1);
        ipcx_zmtp_decoder_destroy(d);
        zv_free(&f);
    }
}

/* An assembled command that turns out malformed: the decoder keeps (and
 * later frees) the body, the caller owns nothing, the error is sticky. */
static void test_error_after_assembly(void **state)
{
    (void)state;
    ipcx_zmtp_decoder *d = handshaken("PAIR");
    zv_buf f = {0};
    uint8_t ctx[300];
    memset(ctx, 'p', sizeof(ctx));
    zv_command(&f, "PING", ctx, sizeof(ctx)); /* context > 16 octets */
    ipcx_zmtp_event ev;
    size_t used;
    assert_int_equal(ipcx_zmtp_decode(d, f.p, 100, &used, &ev), 0);
    ev.owned = NULL;
    assert_int_equal(ipcx_zmtp_decode(d, f.p + 100, f.len - 100, &used, &ev), -EPROTO);
    assert_int_equal(ev.err, IPCX_ZMTP_ERR_PING_MALFORMED);
    assert_int_equal(ev.type, IPCX_ZMTP_EV_NONE);
    assert_null(ev.owned);
    assert_int_equal(ipcx_zmtp_decode(d, NULL, 0, &used, &ev), -EPROTO);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&f);
}

/* A refused greeting has all 64 octets but no peer version to speak of. */
static void test_peer_minor_refused_greeting(void **state)
{
    (void)state;
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "PLAIN", 0);
    ipcx_zmtp_decoder *d;
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
    ipcx_zmtp_event ev;
    size_t used;
    assert_int_equal(ipcx_zmtp_decoder_peer_minor(d), -EAGAIN);
    assert_int_equal(ipcx_zmtp_decode(d, b.p, b.len, &used, &ev), -EPROTONOSUPPORT);
    assert_int_equal(ipcx_zmtp_decoder_peer_minor(d), -EAGAIN);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&b);

    zv_greeting(&b, 3, 0, "NULL", 0);
    assert_int_equal(ipcx_zmtp_decoder_create(NULL, &d), 0);
    assert_int_equal(ipcx_zmtp_decode(d, b.p, b.len, &used, &ev), IPCX_ZMTP_EV_GREETING);
    assert_int_equal(ipcx_zmtp_decoder_peer_minor(d), 0);
    ipcx_zmtp_decoder_destroy(d);
    zv_free(&b);
}

/* Feed a READY we encoded to a fresh decoder; returns the decode result. */
static int decode_own_ready(const uint8_t *r, size_t n)
{
    zv_buf b = {0};
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_put(&b, r, n);
    char *t = zv_trace(b.p, b.len, 0, 0, NULL);
    int ok = strchr(t, '!') == NULL;
    free(t);
    zv_free(&b);
    return ok;
}

/* The encoder refuses extra properties named Socket-Type or Identity (any
 * case): they would produce a READY its own decoder refuses. */
static void test_encode_ready_reserved_props(void **state)
{
    (void)state;
    static const char *const names[] = {"Socket-Type", "socket-type", "IDENTITY", "identity"};
    uint8_t out[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ipcx_zmtp_prop p = {names[i], strlen(names[i]), "PUB", 3};
        assert_int_equal(
            ipcx_zmtp_encode_ready(out, sizeof(out), IPCX_ZMTP_SOCKET_SUB, NULL, 0, &p, 1),
            -EINVAL);
    }
    /* Neighbours of those names are fine, and decode. */
    ipcx_zmtp_prop ok[] = {
        {"Socket-Types", 12, "x", 1}, {"Identit", 7, "y", 1}, {"X-Identity", 10, "z", 1}};
    int w = ipcx_zmtp_encode_ready(out, sizeof(out), IPCX_ZMTP_SOCKET_SUB, "id", 2, ok, 3);
    assert_true(w > 0);
    assert_true(decode_own_ready(out, (size_t)w));
}

/* A READY whose size would not fit the int return: -EMSGSIZE, decided
 * before anything is read from the property value. */
static void test_encode_ready_int_overflow(void **state)
{
    (void)state;
    uint8_t out[64], dummy = 0;
    ipcx_zmtp_prop p[2] = {{"X-A", 3, &dummy, (size_t)INT32_MAX - 20},
                           {"X-B", 3, &dummy, (size_t)INT32_MAX - 20}};
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), IPCX_ZMTP_SOCKET_PAIR, NULL, 0, p, 1),
                     -EMSGSIZE);
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), IPCX_ZMTP_SOCKET_PAIR, NULL, 0, p, 2),
                     -EMSGSIZE);
    p[0].value_len = 100;
    assert_int_equal(ipcx_zmtp_encode_ready(out, sizeof(out), IPCX_ZMTP_SOCKET_PAIR, NULL, 0, p, 1),
                     -ENOSPC);
}

/* max_metadata_size held only once the READY was whole (bounded by
 * max_command_size meanwhile): now a handshake command too large for any
 * READY within the limit, and for any ERROR, is refused on its header -
 * nothing buffered, no allocation (the fault hook would turn one into
 * -ENOMEM). */
static void test_metadata_limit_on_header(void **state)
{
    (void)state;
    ipcx_zmtp_limits lim = {.max_metadata_size = 300};
    static const struct {
        uint64_t size;
        int rc;
    } cases[] = {
        {6 + 300 + 1, -EMSGSIZE}, /* one past the largest acceptable READY */
        {60000, -EMSGSIZE},
        {6 + 300, 0}, /* may still be a valid READY: buffered */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zv_buf b = {0};
        zv_greeting(&b, 3, 1, "NULL", 0);
        size_t g = b.len;
        zv_header(&b, IPCX_ZMTP_FLAG_COMMAND, cases[i].size, 1);
        zv_put(&b, "\x05READY", 6);
        ipcx_zmtp_decoder *d;
        assert_int_equal(ipcx_zmtp_decoder_create(&lim, &d), 0);
        ipcx_zmtp_event ev;
        size_t used;
        assert_int_equal(ipcx_zmtp_decode(d, b.p, g, &used, &ev), IPCX_ZMTP_EV_GREETING);
        ipcx__zmtp_fail_alloc = 1;
        int rc = ipcx_zmtp_decode(d, b.p + g, b.len - g, &used, &ev);
        if (cases[i].rc) {
            assert_int_equal(rc, cases[i].rc);
            assert_int_equal(ev.err, IPCX_ZMTP_ERR_METADATA_TOO_LARGE);
            assert_int_equal(ipcx__zmtp_fail_alloc, 1); /* nothing allocated */
        } else {
            assert_int_equal(rc, -ENOMEM);
        }
        ipcx__zmtp_fail_alloc = 0;
        ipcx_zmtp_decoder_destroy(d);
        zv_free(&b);
    }
    /* An ERROR of 262 octets is still an ERROR with a tiny metadata limit. */
    lim.max_metadata_size = 1;
    zv_buf b = {0};
    char reason[256];
    memset(reason, 'r', 255);
    reason[255] = 0;
    uint8_t cmd[300];
    int w = ipcx_zmtp_encode_error(cmd, sizeof(cmd), reason);
    assert_true(w > 0);
    zv_greeting(&b, 3, 1, "NULL", 0);
    zv_put(&b, cmd, (size_t)w);
    char *t = zv_trace_all_splits(b.p, b.len, &lim);
    assert_non_null(strstr(t, "E/"));
    free(t);
    zv_free(&b);
}

/* ipcx_zmtp_prop_find() wrote through a NULL @p when the name matched. */
static void test_prop_find_null_args(void **state)
{
    (void)state;
    zv_buf m = {0};
    zv_prop(&m, "Socket-Type", "PUB", 3);
    ipcx_zmtp_prop p;
    assert_int_equal(ipcx_zmtp_prop_find(m.p, m.len, "socket-type", NULL), 0);
    assert_int_equal(ipcx_zmtp_prop_find(m.p, m.len, NULL, &p), 0);
    assert_int_equal(ipcx_zmtp_prop_find(m.p, m.len, "socket-type", &p), 1);
    assert_int_equal(p.value_len, 3);
    zv_free(&m);
}

int zf_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enomem_frame_retry),
        cmocka_unit_test(test_enomem_twice),
        cmocka_unit_test(test_enomem_every_allocation),
        cmocka_unit_test(test_destroy_mid_frame),
        cmocka_unit_test(test_error_after_assembly),
        cmocka_unit_test(test_peer_minor_refused_greeting),
        cmocka_unit_test(test_encode_ready_reserved_props),
        cmocka_unit_test(test_encode_ready_int_overflow),
        cmocka_unit_test(test_metadata_limit_on_header),
        cmocka_unit_test(test_prop_find_null_args),
    };
    return cmocka_run_group_tests_name("zmtp_review", tests, NULL, NULL);
}
