/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness behind `ipcx bench`.
 *
 * A run is a sequence of *suites*; each suite measures some cases and emits
 * one row per case with bench_emit().  Rows follow the contract in
 * docs/bench.md: with --json one JSON object per line,
 * otherwise a table for people.  Field and transport names are read by
 * tools: keep them exact.
 *
 * Suites live one per file (bench/floors.c, bench/kernel.c, bench/peers.c,
 * bench/ring.c, bench/zmtp.c, ...) and are declared weak in suites.h, so a
 * suite that is not linked in is simply skipped.
 *
 * Two-process cases run the two sides in separate processes (fork) pinned to
 * different CPUs (bench_ctx.cpu_a / cpu_b); when pinning is impossible the
 * table says so once.
 */
#ifndef IPCX_BENCH_H
#define IPCX_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_row {
    const char *kase; /* "pingpong", "stream", "decode", "encode", "tasks", "speedup", "idle" */
    const char *transport; /* "shm", "ring", "floor-cacheline", "pipe", ... */
    uint64_t size;         /* message size in bytes (0 allowed) */
    const char *wait;      /* "spin" or "block"; NULL omits the field */
    const char *api;       /* "copy" or "zerocopy"; NULL omits */
    const char *variant;   /* e.g. "growing", "durable"; NULL omits */
    int producers;         /* 0 omits */
    int consumers;         /* 0 omits */
    int workers;           /* 0 omits */
    /* pingpong: round-trip percentiles in ns (from sorted samples) */
    double rtt_ns_p50, rtt_ns_p99, rtt_ns_p999;
    /* stream/decode/encode: rates */
    double msgs_per_s, bytes_per_s;
    /* tasks */
    double tasks_per_s;
    /* speedup: single-process time / pooled time */
    double speedup;
    /* handshakes: connections that completed their handshake, per second */
    double handshakes_per_s;
    /* idle: connections held open, resident memory they cost the listener */
    int conns;
    double bytes_per_conn;      /* resident set growth / conns */
    double heap_bytes_per_conn; /* malloc'd bytes / conns; 0 omits */
    uint64_t samples;           /* round trips or messages measured */
    /* Two-process pingpong and stream rows: the floor-cacheline round-trip
     * p50 probed just before and just after the case, and their mean
     * (bench_floor_before/after); 0 omits. */
    double floor_rtt_ns, floor_rtt_ns_before, floor_rtt_ns_after;
} bench_row;

typedef struct bench_ctx {
    bool quick;         /* --quick: whole run under 30 s */
    bool json;          /* --json: one object per line */
    const char *filter; /* NULL, or a comma-separated list of transports */
    int cpu_a, cpu_b;   /* CPUs for the two sides; -1 = not pinned */
    bool pinned;        /* pinning worked */
    int rows;           /* rows emitted so far */
    int failures;       /* cases that could not be measured */
    void *out;          /* FILE * the rows go to */
    bool dry;           /* --filter check: suites ask bench_want(), measure nothing */
    int round, rounds;  /* --rounds N: the round being measured (1..N); 0 = no --rounds */
    /* The last floor probe (bench_floor_before/after): its p50 and when it
     * ended; a case that starts soon after reuses it as its "before". */
    double floor_last_ns;
    uint64_t floor_last_at;
    double floor_before_ns; /* the running case's "before" probe; 0 = none */
} bench_ctx;

/* Emit one row (JSON line or table line). */
void bench_emit(bench_ctx *ctx, const bench_row *row);

/* Report a case that could not run (to stderr, counted in ctx->failures). */
void bench_fail(bench_ctx *ctx, const char *transport, const char *kase, const char *why);

/* Report a case left out on purpose (a system limit, a missing privilege):
 * a note on stderr, not a failure. */
void bench_skip(bench_ctx *ctx, const char *transport, const char *kase, const char *why);

/* True when the transport passes --filter. */
bool bench_want(const bench_ctx *ctx, const char *transport);

/* True only when --filter names `name` itself: for one-off measurements a
 * plain run leaves out (e.g. "idle-conns"). */
bool bench_named(const bench_ctx *ctx, const char *name);

/* Monotonic clock in ns. */
uint64_t bench_now_ns(void);

/* Sort samples and fill row->rtt_ns_p50/p99/p999 (nearest-rank percentiles).
 * Also sets row->samples. */
void bench_percentiles(bench_row *row, uint64_t *samples, size_t n);

/*
 * The floor beside a two-process case: call bench_floor_before() just
 * before the case forks its sides, and bench_floor_after() once they are
 * gone and the case measured something, on the row about to be emitted.
 * Each probe is a short floor-cacheline pingpong (a few ms) between the
 * two CPUs of the case; a probe that ended less than BENCH_FLOOR_REUSE_NS
 * ago serves as the next case's "before".  A probe that fails leaves its
 * field 0 (omitted) with a note on stderr.
 */
#define BENCH_FLOOR_REUSE_NS 20000000ull
void bench_floor_before(bench_ctx *ctx);
void bench_floor_after(bench_ctx *ctx, bench_row *row);

/*
 * --rounds N (bench/ratios.c): bench_emit() keeps each row of the round;
 * bench_ratios_round() computes the round's target ratios (with --json,
 * one "ratio" row each) and starts the next round; bench_ratios_summary()
 * prints their median, minimum and maximum over the rounds.
 */
#define BENCH_MAX_ROUNDS 1000
void bench_ratios_keep(const bench_row *row);
void bench_ratios_round(bench_ctx *ctx);
void bench_ratios_summary(bench_ctx *ctx);

/* Pin the calling process to a CPU; returns 0 or -errno. */
int bench_pin(int cpu);

/* Entry point used by `ipcx bench`.  Returns the process exit code. */
int bench_main(int argc, char **argv);

#endif /* IPCX_BENCH_H */
