// SPDX-License-Identifier: MIT
/*
 * Ring benchmarks (`transport` "ring"): round trips and streams between two
 * processes pinned to different CPUs (ctx->cpu_a / cpu_b), over named rings
 * and the public API only.
 *
 *  pingpong  64 B, wait spin and block: A sends on ring 1, B echoes on
 *            ring 2; A times each round trip.
 *  stream    64 B and 64 KiB copy (send/recv), one producer, one consumer;
 *            zero-copy (reserve/commit, peek/release) at 1 KiB .. 1 MiB;
 *            64 B with 4 producers -> 1 consumer, sharing one claim
 *            position and (variant "lanes") one lane each.  Rates are
 *            measured by the consumer from its first record to its last.
 *
 * The zero-copy rows measure the hand-off, not the data: the producer
 * writes one 8-byte word of each record and the consumer reads that word
 * back, so their bytes_per_s (msgs_per_s x size) is the record space
 * handed over, not bytes written or read.  They carry "variant":"handoff"
 * (docs/bench.md); the copy rows move every byte twice.
 *
 * Both sides are forked children (the runner itself is never pinned); the
 * results come back through a shared page.  Every row carries the floor
 * probed just before and after it (bench_floor_before/after).
 */
#include <ipcx/ipcx.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"

struct ring_result {
    double ns;          /* stream: consumer time first .. last record */
    uint64_t n;         /* records measured */
    int failed;         /* non-zero: the case failed */
    uint64_t samples[]; /* pingpong round trips */
};

struct ring_case {
    bench_ctx *ctx;
    char name[2][64];
    int wait;
    size_t size;
    uint64_t n;
    int producers;
    int zerocopy;
    struct ring_result *res;
};

static unsigned g_case_no;

static void case_names(struct ring_case *c)
{
    for (int i = 0; i < 2; i++)
        snprintf(c->name[i], sizeof(c->name[i]), "bench-ring-%d-%u-%d", (int)getpid(), g_case_no,
                 i);
    g_case_no++;
}

static int wait_all(pid_t *pids, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int st = 0;
        if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
    }
    return bad;
}

static ipcx_ring *open_side(const struct ring_case *c, int which, int cpu)
{
    if (c->ctx->pinned && cpu >= 0)
        bench_pin(cpu);
    ipcx_ring *r = NULL;
    if (ipcx_ring_open(c->name[which], &r) != 0)
        _exit(3);
    ipcx_ring_set_wait(r, c->wait);
    return r;
}

/* ------------------------------------------------------------ pingpong */

static void pp_echo(const struct ring_case *c)
{
    ipcx_ring *in = open_side(c, 0, c->ctx->cpu_b);
    ipcx_ring *out = NULL;
    if (ipcx_ring_open(c->name[1], &out) != 0)
        _exit(3);
    ipcx_ring_set_wait(out, c->wait);
    uint8_t buf[64];
    for (uint64_t i = 0; i < c->n; i++) {
        int len = ipcx_ring_recv(in, buf, sizeof(buf), 10LL * 1000000000);
        if (len < 0 || ipcx_ring_send(out, buf, (size_t)len, 10LL * 1000000000) != 0)
            _exit(4);
    }
    _exit(0);
}

static void pp_client(const struct ring_case *c)
{
    ipcx_ring *out = open_side(c, 0, c->ctx->cpu_a);
    ipcx_ring *in = NULL;
    if (ipcx_ring_open(c->name[1], &in) != 0)
        _exit(3);
    ipcx_ring_set_wait(in, c->wait);
    ipcx_ring_join(in, IPCX_RING_CONSUMER);
    uint8_t buf[64] = {0};
    uint64_t warm = c->n / 10;
    for (uint64_t i = 0; i < c->n; i++) {
        uint64_t t0 = bench_now_ns();
        if (ipcx_ring_send(out, buf, c->size, 10LL * 1000000000) != 0 ||
            ipcx_ring_recv(in, buf, sizeof(buf), 10LL * 1000000000) < 0)
            _exit(4);
        uint64_t t1 = bench_now_ns();
        if (i >= warm)
            c->res->samples[i - warm] = t1 - t0;
    }
    c->res->n = c->n - warm;
    _exit(0);
}

static void pingpong(bench_ctx *ctx, int wait)
{
    struct ring_case c = {.ctx = ctx, .wait = wait, .size = 64};
    c.n = ctx->quick ? 50000 : 500000;
    size_t sz = sizeof(struct ring_result) + c.n * sizeof(uint64_t);
    c.res = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const char *wname = wait == IPCX_WAIT_SPIN ? "spin" : "block";
    if (c.res == MAP_FAILED) {
        bench_fail(ctx, "ring", "pingpong", "mmap");
        return;
    }
    case_names(&c);
    ipcx_ring_opts o = {.capacity = 64 * 1024};
    ipcx_ring *r[2] = {NULL, NULL};
    if (ipcx_ring_create(c.name[0], &o, &r[0]) != 0 ||
        ipcx_ring_create(c.name[1], &o, &r[1]) != 0) {
        bench_fail(ctx, "ring", "pingpong", "ring create");
    } else {
        bench_floor_before(ctx);
        fflush(NULL);
        pid_t pids[2];
        if ((pids[0] = fork()) == 0)
            pp_echo(&c);
        if ((pids[1] = fork()) == 0)
            pp_client(&c);
        if (wait_all(pids, 2) || c.res->n == 0) {
            bench_fail(ctx, "ring", "pingpong", "a side failed");
        } else {
            bench_row row = {.kase = "pingpong",
                             .transport = "ring",
                             .size = 64,
                             .wait = wname,
                             .api = "copy",
                             .producers = 1,
                             .consumers = 1};
            bench_percentiles(&row, c.res->samples, c.res->n);
            bench_floor_after(ctx, &row);
            bench_emit(ctx, &row);
        }
    }
    for (int i = 0; i < 2; i++) {
        ipcx_ring_close(r[i]);
        ipcx_ring_unlink(c.name[i]);
    }
    munmap(c.res, sz);
}

/* ------------------------------------------------------------ streams */

static void st_producer(const struct ring_case *c, int id)
{
    int cpu = c->producers == 1 ? c->ctx->cpu_a : (id == 0 ? c->ctx->cpu_a : -1);
    ipcx_ring *r = open_side(c, 0, cpu);
    ipcx_ring_join(r, IPCX_RING_PRODUCER);
    uint8_t *buf = calloc(1, c->size + 8);
    uint64_t n = c->n / (uint64_t)c->producers;
    for (uint64_t i = 0; i < n; i++) {
        int rc;
        if (c->zerocopy) {
            void *d;
            rc = ipcx_ring_reserve(r, c->size, &d, 10LL * 1000000000);
            if (rc == 0) {
                memcpy(d, &i, sizeof(i)); /* touch the record: one word */
                rc = ipcx_ring_commit(r, d) == 1 ? 0 : -1;
            }
        } else {
            memcpy(buf, &i, sizeof(i));
            rc = ipcx_ring_send(r, buf, c->size, 10LL * 1000000000);
        }
        if (rc != 0)
            _exit(4);
    }
    _exit(0);
}

static void st_consumer(const struct ring_case *c)
{
    ipcx_ring *r = open_side(c, 0, c->ctx->cpu_b);
    ipcx_ring_join(r, IPCX_RING_CONSUMER);
    uint8_t *buf = malloc(c->size + 8);
    uint64_t t0 = 0, want = c->n / (uint64_t)c->producers * (uint64_t)c->producers, sum = 0;
    for (uint64_t i = 0; i < want; i++) {
        if (c->zerocopy) {
            const void *d;
            size_t len;
            if (ipcx_ring_peek(r, &d, &len, 10LL * 1000000000) != 0)
                _exit(4);
            uint64_t v;
            memcpy(&v, d, sizeof(v));
            sum += v;
            ipcx_ring_release(r, d);
        } else if (ipcx_ring_recv(r, buf, c->size + 8, 10LL * 1000000000) < 0) {
            _exit(4);
        }
        if (i == 0)
            t0 = bench_now_ns();
    }
    c->res->ns = (double)(bench_now_ns() - t0);
    c->res->n = want - 1;
    (void)sum;
    _exit(0);
}

static void stream(bench_ctx *ctx, size_t size, int zerocopy, int producers, int lanes, uint64_t n)
{
    struct ring_case c = {.ctx = ctx,
                          .wait = IPCX_WAIT_SPIN,
                          .size = size,
                          .n = n,
                          .producers = producers,
                          .zerocopy = zerocopy};
    c.res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c.res == MAP_FAILED)
        return;
    case_names(&c);
    /* Room for at least 32 records: with fewer, the sides take turns (at
     * 64 KiB, a 2 MiB ring streamed 36 GB/s where 4 MiB reached 39 and
     * 1 MiB 13; docs/ring.md "Sizing"). */
    uint64_t cap = 256 * 1024;
    while (cap < 32 * (size + 64))
        cap <<= 1;
    ipcx_ring_opts o = {.capacity = cap,
                        .max_msg = (uint32_t)size,
                        .max_producers = (uint32_t)producers,
                        .lanes = (uint32_t)lanes};
    ipcx_ring *r = NULL;
    if (ipcx_ring_create(c.name[0], &o, &r) != 0) {
        bench_fail(ctx, "ring", "stream", "ring create");
        munmap(c.res, 4096);
        return;
    }
    bench_floor_before(ctx);
    fflush(NULL);
    pid_t pids[9];
    int np = 0;
    if ((pids[np++] = fork()) == 0)
        st_consumer(&c);
    for (int i = 0; i < producers; i++)
        if ((pids[np++] = fork()) == 0)
            st_producer(&c, i);
    if (wait_all(pids, np) || c.res->ns <= 0) {
        bench_fail(ctx, "ring", "stream", "a side failed");
    } else {
        bench_row row = {.kase = "stream",
                         .transport = "ring",
                         .size = size,
                         .wait = "spin",
                         .api = zerocopy ? "zerocopy" : "copy",
                         .variant = zerocopy ? "handoff"
                                    : lanes  ? "lanes"
                                             : NULL,
                         .producers = producers,
                         .consumers = 1};
        row.msgs_per_s = (double)c.res->n * 1e9 / c.res->ns;
        row.bytes_per_s = row.msgs_per_s * (double)size;
        row.samples = c.res->n;
        bench_floor_after(ctx, &row);
        bench_emit(ctx, &row);
    }
    ipcx_ring_close(r);
    ipcx_ring_unlink(c.name[0]);
    munmap(c.res, 4096);
}

void bench_suite_ring(bench_ctx *ctx)
{
    if (!bench_want(ctx, "ring"))
        return;
    uint64_t k = ctx->quick ? 1 : 5;
    pingpong(ctx, IPCX_WAIT_SPIN);
    pingpong(ctx, IPCX_WAIT_BLOCK);
    stream(ctx, 64, 0, 1, 0, 2000000 * k);
    stream(ctx, 64 * 1024, 0, 1, 0, 20000 * k);
    for (size_t sz = 1024; sz <= 1024 * 1024; sz *= 4)
        stream(ctx, sz, 1, 1, 0, 200000 * k);
    stream(ctx, 64, 0, 4, 0, 2000000 * k);
    stream(ctx, 64, 0, 4, 1, 2000000 * k);
}
