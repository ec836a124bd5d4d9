// SPDX-License-Identifier: MIT
/*
 * The benchmark runner: options, the suite sequence, row output (JSON lines
 * or a table), percentiles.  The measurements themselves live in the suite
 * files (suites.h).
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "suites.h"

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_pin(int cpu)
{
    if (cpu < 0)
        return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double rank(const uint64_t *s, size_t n, double q)
{
    /* Nearest-rank percentile over sorted samples. */
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k == 0)
        k = 1;
    if (k > n)
        k = n;
    return (double)s[k - 1];
}

void bench_percentiles(bench_row *row, uint64_t *samples, size_t n)
{
    row->samples = n;
    if (n == 0)
        return;
    qsort(samples, n, sizeof(*samples), cmp_u64);
    row->rtt_ns_p50 = rank(samples, n, 0.50);
    row->rtt_ns_p99 = rank(samples, n, 0.99);
    row->rtt_ns_p999 = rank(samples, n, 0.999);
}

/* Every transport name a suite asked about, for --filter checking: the
 * valid names are those the suites know, whatever this build links in. */
static char g_known[64][32];
static int g_nknown;

static void note_name(const char *name)
{
    for (int i = 0; i < g_nknown; i++) {
        if (strcmp(g_known[i], name) == 0)
            return;
    }
    if (g_nknown < (int)(sizeof(g_known) / sizeof(g_known[0])))
        snprintf(g_known[g_nknown++], sizeof(g_known[0]), "%s", name);
}

bool bench_want(const bench_ctx *ctx, const char *transport)
{
    note_name(transport);
    if (ctx->dry)
        return false;
    if (ctx->filter == NULL || ctx->filter[0] == '\0')
        return true;
    return bench_named(ctx, transport);
}

bool bench_named(const bench_ctx *ctx, const char *transport)
{
    note_name(transport);
    if (ctx->filter == NULL || ctx->dry)
        return false;
    size_t tl = strlen(transport);
    for (const char *p = ctx->filter; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == tl && strncmp(p, transport, l) == 0)
            return true;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return false;
}

static void fmt_size(char *buf, size_t cap, uint64_t size)
{
    if (size >= (1u << 20) && size % (1u << 20) == 0)
        snprintf(buf, cap, "%lluM", (unsigned long long)(size >> 20));
    else if (size >= 1024 && size % 1024 == 0)
        snprintf(buf, cap, "%lluK", (unsigned long long)(size >> 10));
    else
        snprintf(buf, cap, "%llu", (unsigned long long)size);
}

static void fmt_rate(char *buf, size_t cap, double v, const char *unit)
{
    if (v >= 1e9)
        snprintf(buf, cap, "%.2f G%s", v / 1e9, unit);
    else if (v >= 1e6)
        snprintf(buf, cap, "%.2f M%s", v / 1e6, unit);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.2f k%s", v / 1e3, unit);
    else
        snprintf(buf, cap, "%.0f %s", v, unit);
}

/* ---- the ratio column of the table: each row beside its floor or
 * baseline (the figure people read first; scripts/bench-ratios.py gives
 * the targets' ratios over several runs). */

struct ref_row {
    char kase[16], transport[32], api[16];
    uint64_t size;
    int producers;
    double p50, msgs;
};
static struct ref_row g_refs[512];
static int g_nrefs;

static void remember(const bench_row *r)
{
    if (g_nrefs >= (int)(sizeof(g_refs) / sizeof(g_refs[0])))
        return;
    struct ref_row *x = &g_refs[g_nrefs++];
    snprintf(x->kase, sizeof(x->kase), "%s", r->kase);
    snprintf(x->transport, sizeof(x->transport), "%s", r->transport);
    snprintf(x->api, sizeof(x->api), "%s", r->api ? r->api : "");
    x->size = r->size;
    x->producers = r->producers;
    x->p50 = r->rtt_ns_p50;
    x->msgs = r->msgs_per_s;
}

static const struct ref_row *find_ref(const char *kase, const char *transport, int match_size,
                                      uint64_t size)
{
    for (int i = 0; i < g_nrefs; i++) {
        const struct ref_row *x = &g_refs[i];
        if (strcmp(x->kase, kase) == 0 && strcmp(x->transport, transport) == 0 &&
            (!match_size || x->size == size) && x->producers <= 1 &&
            (x->api[0] == '\0' || strcmp(x->api, "copy") == 0))
            return x;
    }
    return NULL;
}

/* "1.12x floor-cacheline" (round trip: lower is better) or "18.3x pipe"
 * (rate: higher is better), or "-" where no baseline applies. */
static void fmt_ratio(char *buf, size_t cap, const bench_row *r)
{
    snprintf(buf, cap, "-");
    if (strncmp(r->transport, "floor-", 6) == 0)
        return;
    if (strcmp(r->kase, "pingpong") == 0) {
        /* The floor probed beside this row when it has one (and the floor
         * in ns, as the row saw it), else the run's floor-cacheline row. */
        if (r->floor_rtt_ns > 0) {
            snprintf(buf, cap, "%.2fx floor-cacheline (%.0f ns)", r->rtt_ns_p50 / r->floor_rtt_ns,
                     r->floor_rtt_ns);
            return;
        }
        const struct ref_row *f = find_ref("pingpong", "floor-cacheline", 0, 0);
        if (f != NULL && f->p50 > 0)
            snprintf(buf, cap, "%.2fx floor-cacheline", r->rtt_ns_p50 / f->p50);
        return;
    }
    if (strcmp(r->kase, "stream") != 0 || r->msgs_per_s <= 0)
        return;
    /* A zero-copy row hands records over without moving their bytes: a
     * copying baseline of the same size is no measure of it (it read
     * "193x pipe" at 64 KiB). */
    if (r->api != NULL && strcmp(r->api, "zerocopy") == 0)
        return;
    static const char *const baselines[] = {"unix-raw", "pipe"};
    const char *self = r->transport;
    if (strcmp(self, "pipe") == 0 || strcmp(self, "unix-raw") == 0 || strcmp(self, "tcp-raw") == 0)
        return; /* the baselines themselves */
    const struct ref_row *b = NULL;
    if (strcmp(self, "queue") == 0)
        b = find_ref("stream", "ring", 1, r->size);
    for (size_t i = 0; b == NULL && i < sizeof(baselines) / sizeof(baselines[0]); i++)
        b = find_ref("stream", baselines[i], 1, r->size);
    if (b != NULL && b->msgs > 0)
        snprintf(buf, cap, "%.2fx %s", r->msgs_per_s / b->msgs, b->transport);
}

static void emit_json(FILE *f, const bench_row *r, int round)
{
    fprintf(f, "{\"case\":\"%s\",\"transport\":\"%s\",\"size\":%llu", r->kase, r->transport,
            (unsigned long long)r->size);
    if (r->wait)
        fprintf(f, ",\"wait\":\"%s\"", r->wait);
    if (r->api)
        fprintf(f, ",\"api\":\"%s\"", r->api);
    if (r->variant)
        fprintf(f, ",\"variant\":\"%s\"", r->variant);
    if (r->producers)
        fprintf(f, ",\"producers\":%d", r->producers);
    if (r->consumers)
        fprintf(f, ",\"consumers\":%d", r->consumers);
    if (r->workers)
        fprintf(f, ",\"workers\":%d", r->workers);
    if (strcmp(r->kase, "pingpong") == 0) {
        fprintf(f, ",\"rtt_ns_p50\":%.0f,\"rtt_ns_p99\":%.0f,\"rtt_ns_p999\":%.0f", r->rtt_ns_p50,
                r->rtt_ns_p99, r->rtt_ns_p999);
    } else if (strcmp(r->kase, "tasks") == 0) {
        fprintf(f, ",\"tasks_per_s\":%.0f", r->tasks_per_s);
    } else if (strcmp(r->kase, "speedup") == 0) {
        fprintf(f, ",\"speedup\":%.3f", r->speedup);
    } else if (strcmp(r->kase, "handshakes") == 0) {
        fprintf(f, ",\"handshakes_per_s\":%.0f", r->handshakes_per_s);
    } else if (strcmp(r->kase, "idle") == 0) {
        fprintf(f, ",\"conns\":%d,\"bytes_per_conn\":%.0f", r->conns, r->bytes_per_conn);
        if (r->heap_bytes_per_conn > 0)
            fprintf(f, ",\"heap_bytes_per_conn\":%.0f", r->heap_bytes_per_conn);
    } else {
        fprintf(f, ",\"msgs_per_s\":%.0f,\"bytes_per_s\":%.0f", r->msgs_per_s, r->bytes_per_s);
    }
    if (r->samples)
        fprintf(f, ",\"samples\":%llu", (unsigned long long)r->samples);
    if (r->floor_rtt_ns > 0)
        fprintf(f, ",\"floor_rtt_ns\":%.0f", r->floor_rtt_ns);
    if (r->floor_rtt_ns_before > 0)
        fprintf(f, ",\"floor_rtt_ns_before\":%.0f", r->floor_rtt_ns_before);
    if (r->floor_rtt_ns_after > 0)
        fprintf(f, ",\"floor_rtt_ns_after\":%.0f", r->floor_rtt_ns_after);
    if (round > 0)
        fprintf(f, ",\"round\":%d", round);
    fprintf(f, "}\n");
}

static void emit_table(FILE *f, bench_ctx *ctx, const bench_row *r)
{
    if (ctx->rows == 0) {
        fprintf(f, "%-9s %-16s %6s %-5s %-22s %12s %12s %12s %14s %12s  %s\n", "case", "transport",
                "size", "wait", "detail", "p50", "p99", "p99.9", "msgs/s", "bytes/s",
                "vs baseline");
    }
    char size[32], detail[64] = "", a[32], b[32], c[32], m[32], by[32], ratio[48];
    fmt_ratio(ratio, sizeof(ratio), r);
    fmt_size(size, sizeof(size), r->size);
    size_t dl = 0;
    if (r->api)
        dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "%s ", r->api);
    if (r->producers || r->consumers)
        dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "%dP%dC ", r->producers,
                               r->consumers);
    if (r->workers)
        dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "%dw ", r->workers);
    if (r->conns)
        dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "%d conns ", r->conns);
    if (r->variant)
        dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "%s", r->variant);
    if (strcmp(r->kase, "pingpong") == 0) {
        snprintf(a, sizeof(a), "%.0f ns", r->rtt_ns_p50);
        snprintf(b, sizeof(b), "%.0f ns", r->rtt_ns_p99);
        snprintf(c, sizeof(c), "%.0f ns", r->rtt_ns_p999);
        fprintf(f, "%-9s %-16s %6s %-5s %-22s %12s %12s %12s %14s %12s  %s\n", r->kase,
                r->transport, size, r->wait ? r->wait : "-", detail, a, b, c, "-", "-", ratio);
    } else if (strcmp(r->kase, "idle") == 0) {
        /* The memory per connection, where a rate would be. */
        fmt_rate(by, sizeof(by), r->bytes_per_conn, "B/conn");
        if (r->heap_bytes_per_conn > 0) /* fits the column: "1000 conns 67.0k heap" */
            snprintf(detail + dl, sizeof(detail) - dl, "%.1fk heap", r->heap_bytes_per_conn / 1e3);
        fprintf(f, "%-9s %-16s %6s %-5s %-22s %12s %12s %12s %14s %12s  %s\n", r->kase,
                r->transport, size, r->wait ? r->wait : "-", detail, "-", "-", "-", "-", by, "-");
    } else if (strcmp(r->kase, "speedup") == 0) {
        snprintf(m, sizeof(m), "%.2fx", r->speedup);
        fprintf(f, "%-9s %-16s %6s %-5s %-22s %12s %12s %12s %14s %12s  %s\n", r->kase,
                r->transport, size, r->wait ? r->wait : "-", detail, "-", "-", "-", m, "-", "-");
    } else if (strcmp(r->kase, "tasks") == 0 || strcmp(r->kase, "handshakes") == 0) {
        if (strcmp(r->kase, "tasks") == 0)
            fmt_rate(m, sizeof(m), r->tasks_per_s, "t/s");
        else
            fmt_rate(m, sizeof(m), r->handshakes_per_s, "hs/s");
        fprintf(f, "%-9s %-16s %6s %-5s %-22s %12s %12s %12s %14s %12s  %s\n", r->kase,
                r->transport, size, r->wait ? r->wait : "-", detail, "-", "-", "-", m, "-", "-");
    } else {
        fmt_rate(m, sizeof(m), r->msgs_per_s, "");
        fmt_rate(by, sizeof(by), r->bytes_per_s, "B");
        if (r->variant != NULL && strcmp(r->variant, "handoff") == 0)
            /* Zero-copy hand-offs move a pointer, not the bytes: msgs/s is
             * what they measure, a bytes/s figure would be fiction. */
            snprintf(by, sizeof(by), "(hand-offs)");
        fprintf(f, "%-9s %-16s %6s %-5s %-22s %12s %12s %12s %14s %12s  %s\n", r->kase,
                r->transport, size, r->wait ? r->wait : "-", detail, "-", "-", "-", m, by, ratio);
    }
}

void bench_emit(bench_ctx *ctx, const bench_row *row)
{
    FILE *f = ctx->out;
    if (ctx->json)
        emit_json(f, row, ctx->round);
    else
        emit_table(f, ctx, row);
    remember(row);
    if (ctx->rounds > 0)
        bench_ratios_keep(row);
    fflush(f);
    ctx->rows++;
}

void bench_fail(bench_ctx *ctx, const char *transport, const char *kase, const char *why)
{
    fprintf(stderr, "ipcx: bench: %s %s: %s\n", transport, kase, why);
    ctx->failures++;
}

void bench_skip(bench_ctx *ctx, const char *transport, const char *kase, const char *why)
{
    (void)ctx;
    fprintf(stderr, "ipcx: bench: %s %s: skipped: %s\n", transport, kase, why);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ipcx bench [--quick] [--json] [--filter T1,T2,...] [--cpus A,B]\n"
            "                  [--rounds N]\n\n"
            "Measure every ipcx transport against the physical floors and the kernel and\n"
            "peer baselines in the same run.  Two-process cases pin the sides to CPUs A\n"
            "and B (default: the first two CPUs this process may run on).  Only ratios\n"
            "between rows of one run are meaningful: the table shows each row's ratio to\n"
            "its floor or baseline (round trips: x the floor-cacheline p50 probed\n"
            "beside each two-process row, its floor_rtt_ns; lower is better;\n"
            "rates: x unix-raw or pipe of the same size, queue rows x ring, higher is\n"
            "better).\n\n"
            "  -q, --quick          short run (under 30 s in all)\n"
            "  -j, --json           one JSON object per line (the contract of docs/bench.md)\n"
            "  -f, --filter LIST    only these transports (e.g. ring,pipe,floor-cacheline;\n"
            "                       an unknown name lists the valid ones);\n"
            "                       idle-conns, only when named: memory per idle tcp\n"
            "                       connection, 1000 connections to one listener;\n"
            "                       aeron-ipc: Aeron, in a build configured with\n"
            "                       -DAERON_DIR=<an Aeron C build> only\n"
            "  -c, --cpus A,B       CPUs for the two sides\n"
            "  -r, --rounds N       measure the selected cases N times over (1..%d),\n"
            "                       all of them in each round, and end with the target\n"
            "                       ratios (each between rows of one round) per round\n"
            "                       and their median, min and max; with --json every\n"
            "                       row gains \"round\":K, each round ends with its\n"
            "                       {\"case\":\"ratio\",\"name\":..,\"target\":..,\"ratio\":..,\n"
            "                       \"round\":K} rows and the run with summary rows\n"
            "                       {\"case\":\"ratio\",\"name\":..,\"target\":..,\"median\":..,\n"
            "                       \"min\":..,\"max\":..,\"rounds\":R} (docs/bench.md)\n"
            "  -h, --help           this help\n",
            BENCH_MAX_ROUNDS);
}

/* Parse the options into ctx.  Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, bench_ctx *ctx)
{
    static const struct option opts[] = {{"quick", no_argument, NULL, 'q'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"filter", required_argument, NULL, 'f'},
                                         {"cpus", required_argument, NULL, 'c'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, end = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qjf:c:r:h", opts, NULL)) != -1) {
        if (c == 'q') {
            ctx->quick = true;
        } else if (c == 'j') {
            ctx->json = true;
        } else if (c == 'f') {
            ctx->filter = optarg;
        } else if (c == 'c') {
            if (sscanf(optarg, "%d,%d%n", &ctx->cpu_a, &ctx->cpu_b, &end) != 2 ||
                optarg[end] != '\0' || ctx->cpu_a < 0 || ctx->cpu_b < 0) {
                fprintf(stderr, "ipcx: bench: --cpus: expected A,B (two CPU numbers)\n");
                return 2;
            }
        } else if (c == 'r') {
            if (sscanf(optarg, "%d%n", &ctx->rounds, &end) != 1 || optarg[end] != '\0' ||
                ctx->rounds < 1 || ctx->rounds > BENCH_MAX_ROUNDS) {
                fprintf(stderr, "ipcx: bench: --rounds: expected a number from 1 to %d\n",
                        BENCH_MAX_ROUNDS);
                return 2;
            }
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "Try 'ipcx bench --help'.\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ipcx: bench: unexpected argument '%s'\nTry 'ipcx bench --help'.\n",
                argv[optind]);
        return 2;
    }
    return -1;
}

/* The default CPUs: the first two this process may run on (a container's
 * cpuset need not contain CPUs 0 and 1); both the same when only one is. */
static void default_cpus(bench_ctx *ctx)
{
    cpu_set_t set;
    int found = 0;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        *(found++ == 0 ? &ctx->cpu_a : &ctx->cpu_b) = c;
    }
    if (found == 1)
        ctx->cpu_b = ctx->cpu_a;
}

/* Probe pinning once without a child: pin to each CPU, then restore the
 * original affinity.  The table says which CPUs the sides use, or that
 * they run unpinned. */
static void probe_pinning(bench_ctx *ctx)
{
    cpu_set_t saved;
    sched_getaffinity(0, sizeof(saved), &saved);
    ctx->pinned = bench_pin(ctx->cpu_a) == 0 && bench_pin(ctx->cpu_b) == 0;
    sched_setaffinity(0, sizeof(saved), &saved);
    if (ctx->json)
        return;
    if (ctx->pinned && ctx->cpu_a == ctx->cpu_b)
        printf("ipcx bench%s: note: both sides share CPU %d (spinning cases yield to each other)\n",
               ctx->quick ? " --quick" : "", ctx->cpu_a);
    else if (ctx->pinned)
        printf("ipcx bench%s: two-process cases pinned to CPUs %d (measuring side) and %d\n",
               ctx->quick ? " --quick" : "", ctx->cpu_a, ctx->cpu_b);
    else
        printf("ipcx bench%s: note: cannot pin to CPUs %d and %d; sides run unpinned\n",
               ctx->quick ? " --quick" : "", ctx->cpu_a, ctx->cpu_b);
}

static int by_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* 0 when every --filter name is a transport a suite knows; otherwise the
 * unknown ones and the valid ones on stderr, and -1. */
static int check_filter(const bench_ctx *ctx)
{
    int bad = 0;
    for (const char *p = ctx->filter; *p;) {
        const char *e = strchr(p, ',');
        int l = e ? (int)(e - p) : (int)strlen(p);
        int found = 0;
        for (int i = 0; i < g_nknown && !found; i++)
            found = (int)strlen(g_known[i]) == l && strncmp(g_known[i], p, (size_t)l) == 0;
        if (!found) {
            fprintf(stderr, "ipcx: bench: --filter: unknown transport '%.*s'\n", l, p);
            bad = 1;
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
    if (!bad)
        return 0;
    qsort(g_known, (size_t)g_nknown, sizeof(g_known[0]), by_str);
    fprintf(stderr, "valid transports:");
    for (int i = 0; i < g_nknown; i++)
        fprintf(stderr, "%s %s", i ? "," : "", g_known[i]);
    fprintf(stderr, "\nTry 'ipcx bench --help'.\n");
    return -1;
}

int bench_main(int argc, char **argv)
{
    bench_ctx ctx = {.cpu_a = 0, .cpu_b = 1, .out = stdout};
    default_cpus(&ctx);
    int rc = parse_args(argc, argv, &ctx);
    if (rc >= 0)
        return rc;
    void (*const suites[])(bench_ctx *) = {
        bench_suite_floors,  bench_suite_kernel, bench_suite_ring, bench_suite_queue,
        bench_suite_sockets, bench_suite_zmtp,   bench_suite_pool, bench_suite_peers,
        bench_suite_aeron,   bench_suite_idle,
    };
    const size_t nsuites = sizeof(suites) / sizeof(suites[0]);
    if (ctx.filter != NULL && ctx.filter[0] != '\0') {
        /* A dry pass (every suite asks about its names and measures
         * nothing), then every name in the filter must be one of them. */
        ctx.dry = true;
        for (size_t i = 0; i < nsuites; i++) {
            if (suites[i] != NULL)
                suites[i](&ctx);
        }
        ctx.dry = false;
        if (check_filter(&ctx) != 0)
            return 2;
    }
    probe_pinning(&ctx);
    /* Without --rounds, one pass as ever; with it, every selected case once
     * per round, so each case's rounds are spread over the whole run. */
    int rounds = ctx.rounds > 0 ? ctx.rounds : 1;
    for (int k = 1; k <= rounds; k++) {
        if (ctx.rounds > 0) {
            ctx.round = k;
            g_nrefs = 0; /* the table's ratios: rows of this round only */
            if (!ctx.json)
                printf("%sround %d of %d\n", k > 1 ? "\n" : "", k, ctx.rounds);
        }
        for (size_t i = 0; i < nsuites; i++) {
            if (suites[i] != NULL)
                suites[i](&ctx);
        }
        if (ctx.rounds > 0)
            bench_ratios_round(&ctx);
    }
    if (ctx.rounds > 0 && ctx.rows > 0)
        bench_ratios_summary(&ctx);
    if (ctx.rows == 0) {
        fprintf(stderr, "ipcx: bench: no case was measured\n");
        return 1;
    }
    return ctx.failures ? 1 : 0;
}
