// SPDX-License-Identifier: MIT
/*
 * The benchmark harness end to end: `ipcx bench --quick --json` prints one
 * flat JSON object per line that follows the docs/bench.md contract (parsed here
 * by a small strict parser), every reference transport appears with its
 * cases, the table mode prints a header and rows, and usage errors exit 2.
 * Values must be positive and consistent; speed is never asserted.
 */
#include "testutil.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_CAP    (256 * 1024)
#define MAX_FIELDS 32
#define MAX_ROWS   256

/* ------------------------------------------------------ strict flat JSON */

struct field {
    char key[32];
    bool is_str;
    char str[64];
    double num;
};

struct obj {
    int n;
    struct field f[MAX_FIELDS];
};

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A JSON string without control characters; escapes \" \\ \/ only (the
 * bench never needs more).  Returns the position after it or NULL. */
static const char *parse_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        char c = *p;
        if (c == '\0' || (unsigned char)c < 0x20)
            return NULL;
        if (c == '\\') {
            c = *++p;
            if (c != '"' && c != '\\' && c != '/')
                return NULL;
        }
        if (n + 1 >= cap)
            return NULL;
        out[n++] = c;
    }
    out[n] = '\0';
    return p + 1;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *parse_number(const char *p, double *out)
{
    const char *s = p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    char tmp[64];
    if ((size_t)(p - s) >= sizeof(tmp))
        return NULL;
    memcpy(tmp, s, (size_t)(p - s));
    tmp[p - s] = '\0';
    *out = strtod(tmp, NULL);
    return p;
}

static const struct field *get(const struct obj *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->f[i].key, key) == 0)
            return &o->f[i];
    return NULL;
}

static const char *parse_member(const char *p, struct obj *o)
{
    if (o->n == MAX_FIELDS)
        return NULL;
    struct field *f = &o->f[o->n];
    memset(f, 0, sizeof(*f));
    if ((p = parse_string(skip_ws(p), f->key, sizeof(f->key))) == NULL)
        return NULL;
    if (get(o, f->key) != NULL) /* duplicate key */
        return NULL;
    p = skip_ws(p);
    if (*p++ != ':')
        return NULL;
    p = skip_ws(p);
    f->is_str = *p == '"';
    p = f->is_str ? parse_string(p, f->str, sizeof(f->str)) : parse_number(p, &f->num);
    if (p != NULL)
        o->n++;
    return p;
}

/* One whole line must be exactly one flat object. */
static bool parse_object(const char *line, struct obj *o)
{
    o->n = 0;
    const char *p = skip_ws(line);
    if (*p++ != '{')
        return false;
    for (;;) {
        if ((p = parse_member(p, o)) == NULL)
            return false;
        p = skip_ws(p);
        if (*p == '}')
            break;
        if (*p++ != ',')
            return false;
    }
    return *skip_ws(p + 1) == '\0';
}

/* ------------------------------------------------------------ the tool */

static char *run_bench(const char *args, int *status)
{
    char tool[1024], cmd[2048];
    tu_build_path("tools/ipcx/ipcx", tool, sizeof(tool));
    snprintf(cmd, sizeof(cmd), "'%s' bench %s", tool, args);
    char *out = malloc(OUT_CAP);
    assert_non_null(out);
    *status = tu_run_capture(cmd, out, OUT_CAP);
    return out;
}

static const char *str_of(const struct obj *o, const char *key)
{
    const struct field *f = get(o, key);
    assert_non_null(f);
    assert_true(f->is_str);
    return f->str;
}

static double num_of(const struct obj *o, const char *key)
{
    const struct field *f = get(o, key);
    if (f == NULL)
        fail_msg("field %s missing", key);
    assert_false(f->is_str);
    return f->num;
}

/* floor_rtt_ns (when present) is the mean of the probes before and after
 * the case, each a positive round trip. */
static void check_floor(const struct obj *o)
{
    if (get(o, "floor_rtt_ns") == NULL) {
        assert_null(get(o, "floor_rtt_ns_before"));
        assert_null(get(o, "floor_rtt_ns_after"));
        return;
    }
    double mean = num_of(o, "floor_rtt_ns"), before = num_of(o, "floor_rtt_ns_before"),
           after = num_of(o, "floor_rtt_ns_after");
    assert_true(mean > 0 && before > 0 && after > 0);
    assert_true(fabs(mean - (before + after) / 2) <= 1); /* all rounded to ns */
}

/* A two-process pingpong or stream row: one that must carry its floor. */
static bool two_process(const struct obj *o)
{
    const char *kase = str_of(o, "case"), *t = str_of(o, "transport");
    return (strcmp(kase, "pingpong") == 0 || strcmp(kase, "stream") == 0) &&
           strcmp(t, "floor-cacheline") != 0 && strcmp(t, "floor-memcpy") != 0;
}

/* A --rounds ratio row: one round's value ("ratio", "round") or the
 * summary ("median" within "min".."max", "rounds"). */
static void check_ratio(const struct obj *o)
{
    assert_true(str_of(o, "name")[0] != '\0');
    const char *target = str_of(o, "target");
    assert_true(strncmp(target, "<= ", 3) == 0 || strncmp(target, ">= ", 3) == 0);
    assert_null(get(o, "transport"));
    if (get(o, "ratio") != NULL) {
        assert_true(num_of(o, "ratio") > 0);
        assert_true(num_of(o, "round") >= 1);
        assert_null(get(o, "median"));
        return;
    }
    double med = num_of(o, "median"), lo = num_of(o, "min"), hi = num_of(o, "max");
    assert_true(lo > 0 && lo <= med && med <= hi);
    assert_true(num_of(o, "rounds") >= 1);
    assert_null(get(o, "round"));
}

/* The contract's required fields for the row's case, values positive. */
static void check_row(const struct obj *o)
{
    check_floor(o);
    const char *kase = str_of(o, "case");
    if (strcmp(kase, "ratio") == 0) {
        check_ratio(o);
        return;
    }
    assert_true(str_of(o, "transport")[0] != '\0');
    double size = num_of(o, "size");
    assert_true(size >= 0 && size == floor(size));
    /* decode/encode run on one core and wait for nobody: no wait field;
     * idle connections wait for nothing either. */
    bool single = strcmp(kase, "decode") == 0 || strcmp(kase, "encode") == 0;
    bool idle = strcmp(kase, "idle") == 0;
    bool hs = strcmp(kase, "handshakes") == 0;
    if (!single && !idle && !hs) {
        const char *wait = str_of(o, "wait");
        assert_true(strcmp(wait, "spin") == 0 || strcmp(wait, "block") == 0);
    }
    if (strcmp(kase, "pingpong") == 0) {
        double p50 = num_of(o, "rtt_ns_p50"), p99 = num_of(o, "rtt_ns_p99"),
               p999 = num_of(o, "rtt_ns_p999");
        assert_true(p50 > 0 && p50 <= p99 && p99 <= p999);
    } else if (strcmp(kase, "stream") == 0 || single) {
        double m = num_of(o, "msgs_per_s"), b = num_of(o, "bytes_per_s");
        assert_true(m > 0 && b > 0);
        assert_true(fabs(b - m * size) <= size + 1); /* both rounded to units */
    } else if (strcmp(kase, "tasks") == 0) {
        assert_true(num_of(o, "tasks_per_s") > 0);
        assert_true(num_of(o, "workers") >= 1);
    } else if (strcmp(kase, "speedup") == 0) {
        assert_true(num_of(o, "speedup") > 0);
        assert_true(num_of(o, "workers") >= 1);
    } else if (idle) {
        double conns = num_of(o, "conns"), per = num_of(o, "bytes_per_conn");
        assert_true(conns > 0 && conns == floor(conns) && per >= 0);
        assert_null(get(o, "wait"));
        if (get(o, "heap_bytes_per_conn") != NULL)
            assert_true(num_of(o, "heap_bytes_per_conn") > 0);
    } else if (hs) {
        assert_true(num_of(o, "handshakes_per_s") > 0);
        assert_string_equal(str_of(o, "variant"), "curve");
        assert_null(get(o, "wait"));
    } else {
        fail_msg("unexpected case %s", kase);
    }
}

struct rows {
    int n;
    struct obj o[MAX_ROWS];
};

/* Split the output into lines; every one must be a valid row. */
static void parse_rows(char *out, struct rows *rows)
{
    rows->n = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        assert_true(rows->n < MAX_ROWS);
        if (!parse_object(line, &rows->o[rows->n]))
            fail_msg("not a flat JSON object: %s", line);
        check_row(&rows->o[rows->n]);
        rows->n++;
    }
}

static bool has_row(const struct rows *r, const char *transport, const char *kase, double size)
{
    for (int i = 0; i < r->n; i++) {
        const struct field *t = get(&r->o[i], "transport"), *c = get(&r->o[i], "case"),
                           *z = get(&r->o[i], "size");
        if (t != NULL && c != NULL && z != NULL && strcmp(t->str, transport) == 0 &&
            strcmp(c->str, kase) == 0 && z->num == size)
            return true;
    }
    return false;
}

static void expect(const struct rows *r, const char *transport, const char *kase, double size)
{
    if (!has_row(r, transport, kase, size))
        fail_msg("no %s %s row of size %.0f", transport, kase, size);
}

/* A row with these fields; wait and variant NULL: the field is absent. */
static const struct obj *find_row(const struct rows *r, const char *transport, const char *kase,
                                  double size, const char *wait, const char *variant)
{
    for (int i = 0; i < r->n; i++) {
        const struct obj *o = &r->o[i];
        const struct field *w = get(o, "wait"), *v = get(o, "variant");
        if (strcmp(str_of(o, "transport"), transport) != 0 ||
            strcmp(str_of(o, "case"), kase) != 0 || num_of(o, "size") != size)
            continue;
        if ((wait == NULL) != (w == NULL) || (w != NULL && strcmp(w->str, wait) != 0))
            continue;
        if ((variant == NULL) != (v == NULL) || (v != NULL && strcmp(v->str, variant) != 0))
            continue;
        return o;
    }
    return NULL;
}

/* ipcx sockets: pingpong 64 B block and spin, stream 64 B and 64 KiB plain
 * and "variant":"batch", every row "api":"copy". */
static void expect_socket(const struct rows *r, const char *transport)
{
    static const struct {
        const char *kase, *wait, *variant;
        double size;
    } rows[] = {
        {"pingpong", "block", NULL, 64},  {"pingpong", "spin", NULL, 64},
        {"stream", "block", NULL, 64},    {"stream", "block", NULL, 65536},
        {"stream", "block", "batch", 64}, {"stream", "block", "batch", 65536},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct obj *o =
            find_row(r, transport, rows[i].kase, rows[i].size, rows[i].wait, rows[i].variant);
        if (o == NULL)
            fail_msg("no %s %s %.0f %s%s row", transport, rows[i].kase, rows[i].size, rows[i].wait,
                     rows[i].variant ? " batch" : "");
        assert_string_equal(str_of(o, "api"), "copy");
        assert_true(num_of(o, "samples") > 0);
    }
}

/* shm://: the socket rows but batch, and PUB to 1 and 4 SUBs. */
static void expect_shm(const struct rows *r)
{
    static const struct {
        const char *kase, *wait, *variant;
        double size;
    } rows[] = {
        {"pingpong", "block", NULL, 64},   {"pingpong", "spin", NULL, 64},
        {"stream", "block", NULL, 64},     {"stream", "block", NULL, 65536},
        {"stream", "block", "pubsub", 64},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct obj *o =
            find_row(r, "shm", rows[i].kase, rows[i].size, rows[i].wait, rows[i].variant);
        if (o == NULL)
            fail_msg("no shm %s %.0f %s row", rows[i].kase, rows[i].size, rows[i].wait);
        assert_string_equal(str_of(o, "api"), "copy");
        assert_true(num_of(o, "samples") > 0);
    }
    int fanout = 0;
    for (int i = 0; i < r->n; i++) {
        const struct obj *o = &r->o[i];
        const struct field *v = get(o, "variant");
        if (strcmp(str_of(o, "transport"), "shm") == 0 && v != NULL && v->is_str &&
            strcmp(v->str, "pubsub") == 0)
            fanout |= (int)num_of(o, "consumers"); /* 1 and 4 */
    }
    assert_int_equal(fanout, 5);
}

/* CURVE over tcp (ipcx's or libzmq's): pingpong 64 B, stream
 * 64 B and 64 KiB with "variant":"curve", and a handshakes row. */
static void expect_curve(const struct rows *r, const char *transport)
{
    static const struct {
        const char *kase;
        double size;
    } rows[] = {{"pingpong", 64}, {"stream", 64}, {"stream", 65536}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct obj *o = find_row(r, transport, rows[i].kase, rows[i].size, "block", "curve");
        if (o == NULL)
            fail_msg("no %s %s %.0f curve row", transport, rows[i].kase, rows[i].size);
        assert_string_equal(str_of(o, "api"), "copy");
    }
    if (find_row(r, transport, "handshakes", 0, NULL, "curve") == NULL)
        fail_msg("no %s handshakes row", transport);
}

/* pingpong 64 B, stream 64 B and 64 KiB. */
static void expect_three(const struct rows *r, const char *transport)
{
    expect(r, transport, "pingpong", 64);
    expect(r, transport, "stream", 64);
    expect(r, transport, "stream", 65536);
}

/* ------------------------------------------------------------------ tests */

static void test_json_quick_all(void **state)
{
    (void)state;
    int status;
    char *out = run_bench("--quick --json", &status);
    assert_int_equal(status, 0);
    struct rows *r = malloc(sizeof(*r));
    assert_non_null(r);
    parse_rows(out, r);
    expect(r, "floor-cacheline", "pingpong", 64);
    expect(r, "floor-futex", "pingpong", 4);
    expect(r, "floor-memcpy", "stream", 64);
    expect(r, "floor-memcpy", "stream", 65536);
    expect(r, "floor-memcpy", "stream", 1048576);
    static const char *const kernel[] = {"pipe", "unix-raw", "tcp-raw", "posix-mq"};
    for (size_t i = 0; i < 4; i++)
        expect_three(r, kernel[i]);
#ifdef TEST_BENCH_HAVE_ZMQ
    expect_three(r, "zmq-ipc");
    expect_three(r, "zmq-tcp");
    expect_curve(r, "zmq-tcp");
#endif
#ifdef TEST_BENCH_HAVE_NNG
    expect_three(r, "nng-ipc");
    expect_three(r, "nng-tcp");
#endif
    /* ipcx's own rows */
    expect(r, "zmtp", "decode", 64);
    expect(r, "zmtp", "decode", 65536);
    expect(r, "zmtp", "encode", 64);
    expect(r, "ring", "pingpong", 64);
    expect(r, "ring", "stream", 64);
    expect(r, "ring", "stream", 65536);
    expect(r, "queue", "stream", 64);
    expect(r, "queue", "stream", 65536);
    expect_socket(r, "unix");
    expect_socket(r, "tcp");
    /* the pool's rows (bench/pool.c) */
    expect(r, "pool", "tasks", 0);
    expect(r, "pipe-pool", "tasks", 0);
    expect(r, "pool-tcp", "tasks", 0);
    expect(r, "pool", "speedup", 0);
#ifdef TEST_BENCH_HAVE_ZMQ
    expect(r, "zmq-tcp", "tasks", 0);
#endif
    expect_shm(r);
    expect_curve(r, "tcp");
    /* idle connections are a one-off: only when --filter names them. */
    for (int i = 0; i < r->n; i++)
        assert_string_not_equal(str_of(&r->o[i], "case"), "idle");
    /* Every two-process row carries the floor probed beside it. */
    for (int i = 0; i < r->n; i++)
        if (two_process(&r->o[i]) && get(&r->o[i], "floor_rtt_ns") == NULL)
            fail_msg("%s %s row without floor_rtt_ns", str_of(&r->o[i], "transport"),
                     str_of(&r->o[i], "case"));
    /* floor-cacheline records at least 10^5 round trips even in --quick. */
    for (int i = 0; i < r->n; i++)
        if (strcmp(str_of(&r->o[i], "transport"), "floor-cacheline") == 0)
            assert_true(num_of(&r->o[i], "samples") >= 100000);
    free(r);
    free(out);
}

static void test_json_filter(void **state)
{
    (void)state;
    int status;
    char *out = run_bench("--quick --json --filter pipe,floor-futex", &status);
    assert_int_equal(status, 0);
    struct rows *r = malloc(sizeof(*r));
    assert_non_null(r);
    parse_rows(out, r);
    assert_int_equal(r->n, 4);
    expect_three(r, "pipe");
    expect(r, "floor-futex", "pingpong", 4);
    free(r);
    free(out);
}

/* --filter idle-conns: one row per listener, 1000 connections each. */
static void test_json_idle(void **state)
{
    (void)state;
    int status;
    char *out = run_bench("--quick --json --filter idle-conns", &status);
    assert_int_equal(status, 0);
    struct rows *r = malloc(sizeof(*r));
    assert_non_null(r);
    parse_rows(out, r);
    static const char *const listeners[] = {"tcp", "shm",
#ifdef TEST_BENCH_HAVE_ZMQ
                                            "zmq-tcp"
#endif
    };
    size_t n = sizeof(listeners) / sizeof(listeners[0]);
    assert_int_equal(r->n, (int)n);
    for (size_t i = 0; i < n; i++) {
        const struct obj *o = find_row(r, listeners[i], "idle", 0, NULL, NULL);
        if (o == NULL)
            fail_msg("no %s idle row", listeners[i]);
        assert_int_equal((int)num_of(o, "conns"), 1000);
    }
    free(r);
    free(out);
}

static void test_table(void **state)
{
    (void)state;
    int status;
    char *out = run_bench("--quick --filter unix-raw,floor-cacheline,ring --cpus 1,0", &status);
    assert_int_equal(status, 0);
    char *hdr = strstr(out, "case");
    assert_non_null(hdr);
    assert_non_null(strstr(hdr, "transport"));
    assert_non_null(strstr(hdr, "p99.9"));
    assert_non_null(strstr(hdr, "msgs/s"));
    assert_non_null(strstr(hdr, "vs baseline"));
    /* Rows by their transport column; each ring row beside its baseline:
     * round trips x floor-cacheline, streams x unix-raw of the same size;
     * zero-copy hand-offs say so instead of a bytes/s figure and a ratio. */
    int rows = 0, ring_rtt = 0, ring_stream = 0, handoff = 0;
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char kase[32], transport[32];
        if (sscanf(l, "%31s %31s", kase, transport) != 2)
            continue;
        rows += strcmp(transport, "unix-raw") == 0;
        if (strcmp(transport, "ring") != 0)
            continue;
        if (strcmp(kase, "pingpong") == 0 && strstr(l, "x floor-cacheline") != NULL)
            ring_rtt++;
        if (strstr(l, "(hand-offs)") != NULL) {
            handoff++;
            /* ... and are compared with no copying baseline. */
            assert_null(strstr(l, "x unix-raw"));
            assert_null(strstr(l, "x pipe"));
        } else if (strcmp(kase, "stream") == 0 && strstr(l, "x unix-raw") != NULL)
            ring_stream++;
    }
    assert_int_equal(rows, 3);
    assert_true(ring_rtt >= 1);
    assert_true(ring_stream >= 1);
    assert_true(handoff >= 1);
    assert_null(strchr(out, '{'));
    free(out);
}

/* Count the rows with case @kase and, when @round > 0, that "round". */
static int count_rows(const struct rows *r, const char *kase, int round)
{
    int n = 0;
    for (int i = 0; i < r->n; i++) {
        const struct field *k = get(&r->o[i], "round");
        if (strcmp(str_of(&r->o[i], "case"), kase) == 0 &&
            (round == 0 || (k != NULL && !k->is_str && (int)k->num == round)))
            n++;
    }
    return n;
}

/* The summary row of the ratio @name, or NULL. */
static const struct obj *summary_of(const struct rows *r, const char *name)
{
    for (int i = 0; i < r->n; i++) {
        const struct obj *o = &r->o[i];
        if (strcmp(str_of(o, "case"), "ratio") == 0 && get(o, "median") != NULL &&
            strcmp(str_of(o, "name"), name) == 0)
            return o;
    }
    return NULL;
}

/* --rounds 2: every measured row twice, tagged with its round; per-round
 * ratio rows after each round; summaries at the end for the ratios whose
 * rows were measured, none for the rest (queue, filtered out). */
static void test_json_rounds(void **state)
{
    (void)state;
    int status;
    char *out = run_bench("--quick --json --rounds 2 --filter ring,pipe,floor-cacheline", &status);
    assert_int_equal(status, 0);
    struct rows *r = malloc(sizeof(*r));
    assert_non_null(r);
    parse_rows(out, r);
    int pp1 = count_rows(r, "pingpong", 1), st1 = count_rows(r, "stream", 1);
    assert_true(pp1 >= 4 && st1 >= 3); /* floor, pipe, ring spin and block; streams */
    assert_int_equal(count_rows(r, "pingpong", 2), pp1);
    assert_int_equal(count_rows(r, "stream", 2), st1);
    assert_int_equal(count_rows(r, "pingpong", 0) + count_rows(r, "stream", 0), 2 * (pp1 + st1));
    for (int i = 0; i < r->n; i++) /* every row of a --rounds run names its round */
        if (get(&r->o[i], "median") == NULL)
            assert_non_null(get(&r->o[i], "round"));
    static const char *const names[] = {
        "ring pingpong spin p50 / floor p50",  "ring pingpong spin p99 / floor p99",
        "ring pingpong block p50 / spin p50",  "ring stream 64 B / pipe",
        "ring zero-copy 1 KiB / 1 MiB msgs/s", "ring 4P1C / SPSC"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct obj *o = summary_of(r, names[i]);
        if (o == NULL)
            fail_msg("no summary row for '%s'", names[i]);
        assert_int_equal((int)num_of(o, "rounds"), 2);
    }
    assert_null(summary_of(r, "queue steady / ring 64 B"));
    assert_null(summary_of(r, "ring stream 64 KiB copy / floor-memcpy 64 KiB"));
    /* Per round, one ratio row for each summarised name; the last rows
     * are the summaries. */
    int ratio_rows = count_rows(r, "ratio", 0);
    assert_int_equal(count_rows(r, "ratio", 1), count_rows(r, "ratio", 2));
    assert_int_equal(ratio_rows, 3 * count_rows(r, "ratio", 1));
    assert_non_null(get(&r->o[r->n - 1], "median"));
    free(r);
    free(out);
}

/* The table of a --rounds run: a heading per round, then the ratios. */
static void test_table_rounds(void **state)
{
    (void)state;
    int status;
    char *out = run_bench("--quick --rounds 2 --filter ring", &status);
    assert_int_equal(status, 0);
    const char *r1 = strstr(out, "round 1 of 2"), *r2 = strstr(out, "round 2 of 2"),
               *sum = strstr(out, "ratios over 2 rounds");
    assert_true(r1 != NULL && r2 != NULL && sum != NULL && r1 < r2 && r2 < sum);
    assert_non_null(strstr(sum, "median"));
    /* The floor beside the ring row: no floor-cacheline row needed. */
    assert_non_null(strstr(sum, "ring pingpong spin p50 / floor p50"));
    assert_non_null(strstr(sum, "ring 4P1C / SPSC"));
    assert_null(strstr(sum, "/ pipe"));
    assert_null(strchr(out, '{'));
    free(out);
}

static void test_nothing_measured(void **state)
{
    (void)state;
    int status;
    /* An unknown --filter name is a usage error that lists the valid names. */
    char *out = run_bench("--quick --json --filter no-such-transport 2>&1", &status);
    assert_int_equal(status, 2);
    assert_non_null(strstr(out, "ipcx: bench: --filter: unknown transport 'no-such-transport'"));
    assert_non_null(strstr(out, "valid transports:"));
    assert_non_null(strstr(out, " ring,"));
    assert_non_null(strstr(out, " floor-cacheline,"));
    assert_null(strchr(out, '{'));
    free(out);
    out = run_bench("--quick --json --filter ring,bogus 2>/dev/null", &status);
    assert_int_equal(status, 2);
    assert_string_equal(out, ""); /* nothing measured before the check */
    free(out);
}

/* aeron-ipc is a name every build knows.  A build without Aeron (CI's)
 * says so and measures nothing; one configured with AERON_DIR measures the
 * three cases. */
static void test_aeron_filter(void **state)
{
    (void)state;
    int status;
    char *out = run_bench("--quick --json --filter aeron-ipc 2>&1", &status);
    if (strstr(out, "\"transport\":\"aeron-ipc\"") == NULL) {
        assert_int_equal(status, 1);
        assert_non_null(strstr(out, "aeron-ipc pingpong: skipped: this build has no Aeron"));
        assert_non_null(strstr(out, "no case was measured"));
        assert_null(strchr(out, '{'));
    } else {
        assert_int_equal(status, 0);
        assert_non_null(strstr(out, "\"case\":\"pingpong\",\"transport\":\"aeron-ipc\""));
        int streams = 0;
        for (const char *p = out;
             (p = strstr(p, "\"case\":\"stream\",\"transport\":\"aeron-ipc\"")); p++)
            streams++;
        assert_int_equal(streams, 2);
    }
    free(out);
}

static void test_usage(void **state)
{
    (void)state;
    static const char *const bad[] = {"--bogus",      "extra-arg",   "--cpus",      "--cpus 1",
                                      "--cpus x,y",   "--cpus -1,0", "--cpus 1,2x", "--filter",
                                      "--rounds",     "--rounds 0",  "--rounds x",  "--rounds 2x",
                                      "--rounds 1001"};
    int status;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char args[64];
        snprintf(args, sizeof(args), "%s 2>/dev/null", bad[i]);
        char *out = run_bench(args, &status);
        if (status != 2)
            fail_msg("'ipcx bench %s' exited %d, not 2", bad[i], status);
        free(out);
    }
    char *out = run_bench("--help", &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "usage: ipcx bench"));
    assert_non_null(strstr(out, "--rounds N"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),        cmocka_unit_test(test_nothing_measured),
        cmocka_unit_test(test_aeron_filter), cmocka_unit_test(test_json_filter),
        cmocka_unit_test(test_table),        cmocka_unit_test(test_json_quick_all),
        cmocka_unit_test(test_json_idle),    cmocka_unit_test(test_json_rounds),
        cmocka_unit_test(test_table_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
