// SPDX-License-Identifier: MIT
/*
 * `ipcx bench --rounds N`: the ratios the ring and queue issues set targets
 * for, each between rows of one round, per round and as median, minimum
 * and maximum over the rounds (what scripts/bench-ratios.py computed from
 * outside from several runs; it is now a thin wrapper around this).
 *
 * bench_emit() hands every row of the round to bench_ratios_keep(); at the
 * end of a round bench_ratios_round() computes that round's ratios (and
 * prints them as rows with --json); bench_ratios_summary() closes the run.
 * A ratio whose rows a round lacks (filtered out, failed) has no value in
 * that round; one with no value in any round is left out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* What a round keeps of each row: the fields the selectors and figures use. */
struct kept {
    char kase[16], transport[32], wait[8], api[16], variant[16];
    uint64_t size;
    int producers;
    double p50, p99, msgs, bytes, floor;
};

#define KEEP_MAX 512
static struct kept g_rows[KEEP_MAX];
static int g_nrows;

/* A row selector: NULL strings, size < 0 and producers 0 match anything;
 * an absent field ("") never matches a named value. */
struct sel {
    const char *kase, *transport, *wait, *api, *variant;
    int64_t size;
    int producers;
};

enum fig { FIG_P50, FIG_P99, FIG_MSGS, FIG_BYTES, FIG_FLOOR };

struct ratio_def {
    const char *name, *target;
    int at_most; /* target: ratio <= goal (else >= goal) */
    double goal;
    struct sel a;
    enum fig fa;
    struct sel b; /* unused for FIG_FLOOR: the floor beside row a */
    enum fig fb;
};

#define ANY -1
#define RING_PP(w)                                                                                 \
    {                                                                                              \
        .kase = "pingpong", .transport = "ring", .wait = w, .size = ANY                            \
    }
#define RING_64                                                                                    \
    {                                                                                              \
        .kase = "stream", .transport = "ring", .api = "copy", .size = 64, .producers = 1           \
    }
#define RING_64K                                                                                   \
    {                                                                                              \
        .kase = "stream", .transport = "ring", .api = "copy", .size = 65536, .producers = 1        \
    }
#define FLOOR_PP                                                                                   \
    {                                                                                              \
        .kase = "pingpong", .transport = "floor-cacheline", .size = ANY                            \
    }
#define QUEUE(v, w, sz)                                                                            \
    {                                                                                              \
        .kase = "stream", .transport = "queue", .variant = v, .wait = w, .size = sz                \
    }
#define AERON_PP                                                                                   \
    {                                                                                              \
        .kase = "pingpong", .transport = "aeron-ipc", .wait = "spin", .size = 64                   \
    }
#define AERON_64                                                                                   \
    {                                                                                              \
        .kase = "stream", .transport = "aeron-ipc", .size = 64                                     \
    }

/* The targets of issue 17 (docs/bench.md lists them). */
static const struct ratio_def g_defs[] = {
    {"ring pingpong spin p50 / floor p50",
     "<= 2",
     1,
     2.0,
     RING_PP("spin"),
     FIG_P50,
     {0},
     FIG_FLOOR},
    {"ring pingpong spin p99 / floor p99", "<= 2", 1, 2.0, RING_PP("spin"), FIG_P99, FLOOR_PP,
     FIG_P99},
    {"ring pingpong block p50 / spin p50", "<= 1.5", 1, 1.5, RING_PP("block"), FIG_P50,
     RING_PP("spin"), FIG_P50},
    {"ring stream 64 B / pipe",
     ">= 15",
     0,
     15.0,
     RING_64,
     FIG_MSGS,
     {.kase = "stream", .transport = "pipe", .size = 64},
     FIG_MSGS},
    {"ring stream 64 KiB copy / floor-memcpy 64 KiB",
     ">= 0.5",
     0,
     0.5,
     RING_64K,
     FIG_BYTES,
     {.kase = "stream", .transport = "floor-memcpy", .size = 65536},
     FIG_BYTES},
    {"ring zero-copy 1 KiB / 1 MiB msgs/s",
     "<= 1.5",
     1,
     1.5,
     {.kase = "stream", .transport = "ring", .api = "zerocopy", .size = 1024},
     FIG_MSGS,
     {.kase = "stream", .transport = "ring", .api = "zerocopy", .size = 1 << 20},
     FIG_MSGS},
    {"ring 4P1C / SPSC",
     ">= 0.8",
     0,
     0.8,
     {.kase = "stream",
      .transport = "ring",
      .api = "copy",
      .variant = "lanes",
      .size = 64,
      .producers = 4},
     FIG_MSGS,
     RING_64,
     FIG_MSGS},
    {"queue steady / ring 64 B", ">= 0.9", 0, 0.9, QUEUE("steady", "spin", 64), FIG_MSGS, RING_64,
     FIG_MSGS},
    {"queue growing / ring 64 B", ">= 0.5", 0, 0.5, QUEUE("growing", NULL, 64), FIG_MSGS, RING_64,
     FIG_MSGS},
    {"queue durable 64 B / ring 64 B", ">= 0.7", 0, 0.7, QUEUE("durable", NULL, 64), FIG_MSGS,
     RING_64, FIG_MSGS},
    {"queue durable 64 KiB / ring 64 KiB", ">= 0.7", 0, 0.7, QUEUE("durable", NULL, 65536),
     FIG_BYTES, RING_64K, FIG_BYTES},
    /* The lead over Aeron (rows only when the bench was built with it). */
    {"ring pingpong spin p50 / aeron-ipc p50", "<= 1", 1, 1.0, RING_PP("spin"), FIG_P50, AERON_PP,
     FIG_P50},
    {"ring pingpong spin p99 / aeron-ipc p99", "<= 1", 1, 1.0, RING_PP("spin"), FIG_P99, AERON_PP,
     FIG_P99},
    {"ring stream 64 B / aeron-ipc 64 B", ">= 1", 0, 1.0, RING_64, FIG_MSGS, AERON_64, FIG_MSGS},
};

#define NDEFS ((int)(sizeof(g_defs) / sizeof(g_defs[0])))

static double g_vals[NDEFS][BENCH_MAX_ROUNDS]; /* NAN: none that round */
static int g_nvals;                            /* rounds closed */

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void bench_ratios_keep(const bench_row *r)
{
    if (g_nrows >= KEEP_MAX)
        return;
    struct kept *k = &g_rows[g_nrows++];
    copy_str(k->kase, sizeof(k->kase), r->kase);
    copy_str(k->transport, sizeof(k->transport), r->transport);
    copy_str(k->wait, sizeof(k->wait), r->wait);
    copy_str(k->api, sizeof(k->api), r->api);
    copy_str(k->variant, sizeof(k->variant), r->variant);
    k->size = r->size;
    k->producers = r->producers;
    k->p50 = r->rtt_ns_p50;
    k->p99 = r->rtt_ns_p99;
    k->msgs = r->msgs_per_s;
    k->bytes = r->bytes_per_s;
    k->floor = r->floor_rtt_ns;
}

static int str_ok(const char *want, const char *have)
{
    return want == NULL || strcmp(want, have) == 0;
}

/* The first row of the round that @s selects, or NULL. */
static const struct kept *find(const struct sel *s)
{
    for (int i = 0; i < g_nrows; i++) {
        const struct kept *k = &g_rows[i];
        if (str_ok(s->kase, k->kase) && str_ok(s->transport, k->transport) &&
            str_ok(s->wait, k->wait) && str_ok(s->api, k->api) && str_ok(s->variant, k->variant) &&
            (s->size < 0 || k->size == (uint64_t)s->size) &&
            (s->producers == 0 || k->producers == s->producers))
            return k;
    }
    return NULL;
}

static double figure(const struct kept *k, enum fig f)
{
    switch (f) {
    case FIG_P50:
        return k->p50;
    case FIG_P99:
        return k->p99;
    case FIG_MSGS:
        return k->msgs;
    case FIG_BYTES:
        return k->bytes;
    case FIG_FLOOR:
        return k->floor;
    }
    return 0;
}

/* One ratio in this round, or NAN.  Over the floor: the one probed beside
 * row a, else (a build or row without it) the round's floor-cacheline row. */
static double ratio_of(const struct ratio_def *d)
{
    const struct kept *a = find(&d->a);
    if (a == NULL)
        return NAN;
    double num = figure(a, d->fa), den = 0;
    if (d->fb == FIG_FLOOR) {
        static const struct sel floor_row = FLOOR_PP;
        const struct kept *f = find(&floor_row);
        den = a->floor > 0 ? a->floor : f != NULL ? f->p50 : 0;
    } else {
        const struct kept *b = find(&d->b);
        den = b != NULL ? figure(b, d->fb) : 0;
    }
    return num > 0 && den > 0 ? num / den : NAN;
}

void bench_ratios_round(bench_ctx *ctx)
{
    if (g_nvals >= BENCH_MAX_ROUNDS)
        return;
    FILE *f = ctx->out;
    for (int i = 0; i < NDEFS; i++) {
        double v = ratio_of(&g_defs[i]);
        g_vals[i][g_nvals] = v;
        if (ctx->json && !isnan(v))
            fprintf(f,
                    "{\"case\":\"ratio\",\"name\":\"%s\",\"target\":\"%s\",\"ratio\":%.4f,"
                    "\"round\":%d}\n",
                    g_defs[i].name, g_defs[i].target, v, ctx->round);
    }
    fflush(f);
    g_nvals++;
    g_nrows = 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median (the mean of the middle two for an even count), min and max of
 * a ratio's values; returns how many rounds had one. */
static int spread(int i, double *median, double *min, double *max)
{
    double v[BENCH_MAX_ROUNDS];
    int n = 0;
    for (int r = 0; r < g_nvals; r++)
        if (!isnan(g_vals[i][r]))
            v[n++] = g_vals[i][r];
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    *min = v[0];
    *max = v[n - 1];
    return n;
}

static void summary_table(FILE *f)
{
    fprintf(f, "\nratios over %d round%s (each between rows of one round; median, min, max)\n",
            g_nvals, g_nvals == 1 ? "" : "s");
    fprintf(f, "%-46s %-7s %7s %7s %7s %-4s  %s\n", "ratio", "target", "median", "min", "max",
            "met", "per round");
    for (int i = 0; i < NDEFS; i++) {
        const struct ratio_def *d = &g_defs[i];
        double med, lo, hi;
        if (spread(i, &med, &lo, &hi) == 0)
            continue;
        int met = d->at_most ? med <= d->goal : med >= d->goal;
        fprintf(f, "%-46s %-7s %7.2f %7.2f %7.2f %-4s ", d->name, d->target, med, lo, hi,
                met ? "yes" : "no");
        for (int r = 0; r < g_nvals; r++) {
            if (isnan(g_vals[i][r]))
                fprintf(f, " -");
            else
                fprintf(f, " %.2f", g_vals[i][r]);
        }
        fprintf(f, "\n");
    }
}

void bench_ratios_summary(bench_ctx *ctx)
{
    FILE *f = ctx->out;
    if (!ctx->json) {
        summary_table(f);
        fflush(f);
        return;
    }
    for (int i = 0; i < NDEFS; i++) {
        double med, lo, hi;
        int n = spread(i, &med, &lo, &hi);
        if (n == 0)
            continue;
        fprintf(f,
                "{\"case\":\"ratio\",\"name\":\"%s\",\"target\":\"%s\",\"median\":%.4f,"
                "\"min\":%.4f,\"max\":%.4f,\"rounds\":%d}\n",
                g_defs[i].name, g_defs[i].target, med, lo, hi, n);
    }
    fflush(f);
}
