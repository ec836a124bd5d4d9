// SPDX-License-Identifier: MIT
/*
 * Queue benchmarks (`transport` "queue"): one producer and one consumer in
 * two forked processes pinned to ctx->cpu_a / cpu_b, copy API
 * (send/recv), public API only.  Rows (`case` "stream", `api` "copy"):
 *
 *  steady   64 B; the consumer keeps up, so the chain cycles two recycled
 *           1 MiB segments and never grows (wait spin and block).
 *  growing  64 B; the consumer starts once the producer is a quarter of the
 *           way through, so the chain grows from 64 KiB segments to 64x
 *           (4 MiB) and shrinks back as the consumer catches up; the rate
 *           covers the producer's first message to the consumer's last.
 *  durable  64 B and 64 KiB into a durable queue (files under $TMPDIR or
 *           /tmp, fsync never).
 *
 * Steady and durable rates are measured by the consumer from its first
 * message to its last.  Results come back through a shared page.  Every row
 * carries the floor probed just before and after it.
 */
#include <ipcx/ipcx.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"

/* Times are read by the runner after waitpid(); `produced` is polled by
 * the consumer while the producer runs (relaxed: a progress hint). */
struct qb_shared {
    uint64_t t_first, t_last, t_start;
    _Atomic uint64_t produced;
};

struct qb_case {
    bench_ctx *ctx;
    const char *variant;
    int block;      /* consumer waits with FUTEX_WAIT */
    size_t size;    /* message bytes */
    uint64_t n;     /* messages */
    uint64_t head;  /* growing: the consumer waits for this many first */
    char name[256]; /* queue name or durable directory */
    ipcx_queue_opts opts;
    struct qb_shared *sh;
};

static unsigned g_qcase;

static void qb_pin(const struct qb_case *c, int cpu)
{
    if (c->ctx->pinned && cpu >= 0)
        bench_pin(cpu);
}

static void qb_consumer(struct qb_case *c)
{
    qb_pin(c, c->ctx->cpu_b);
    ipcx_queue *q = NULL;
    ipcx_queue_opts o = {.role = IPCX_QUEUE_CONSUMER,
                         .consumer_id = 1,
                         .wait = c->block ? IPCX_QUEUE_WAIT_BLOCK : IPCX_QUEUE_WAIT_SPIN};
    if (ipcx_queue_open(c->name, &o, &q) != 0)
        _exit(3);
    while (atomic_load_explicit(&c->sh->produced, memory_order_relaxed) < c->head)
        usleep(100);
    char *buf = malloc(c->size + 1);
    for (uint64_t i = 0; i < c->n; i++) {
        int rc = ipcx_queue_recv(q, buf, c->size, NULL, 10 * INT64_C(1000000000));
        if (rc != (int)c->size)
            _exit(4);
        if (i == 0)
            c->sh->t_first = bench_now_ns();
    }
    c->sh->t_last = bench_now_ns();
    free(buf);
    ipcx_queue_close(q);
    _exit(0);
}

static void qb_producer(struct qb_case *c)
{
    qb_pin(c, c->ctx->cpu_a);
    ipcx_queue *q = NULL;
    if (ipcx_queue_open(c->name, NULL, &q) != 0)
        _exit(3);
    char *buf = calloc(1, c->size + 1);
    c->sh->t_start = bench_now_ns();
    for (uint64_t i = 0; i < c->n; i++) {
        memcpy(buf, &i, sizeof i < c->size ? sizeof i : c->size);
        if (ipcx_queue_send(q, buf, c->size, NULL, 10 * INT64_C(1000000000)) != 0)
            _exit(4);
        if ((i & 1023) == 0)
            atomic_store_explicit(&c->sh->produced, i, memory_order_relaxed);
    }
    atomic_store_explicit(&c->sh->produced, c->n, memory_order_relaxed);
    free(buf);
    ipcx_queue_close(q);
    _exit(0);
}

static int qb_wait(pid_t p)
{
    int st = 0;
    return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Create the queue (with consumer slot 1 so no message is missed), run
 * both sides, emit the row. */
static void qb_run(struct qb_case *c)
{
    ipcx_queue *q = NULL;
    ipcx_queue_opts o = c->opts;
    o.role = IPCX_QUEUE_CONSUMER;
    o.consumer_id = 1;
    o.delivery = IPCX_QUEUE_DELIVER_BROADCAST;
    ipcx_queue_unlink(c->name);
    int rc = ipcx_queue_create(c->name, &o, &q);
    if (rc != 0) {
        bench_fail(c->ctx, "queue", "stream", ipcx_strerror(rc));
        return;
    }
    ipcx_queue_close(q);
    memset((void *)c->sh, 0, sizeof *c->sh);
    bench_floor_before(c->ctx);
    pid_t pc = fork();
    if (pc == 0)
        qb_consumer(c);
    pid_t pp = fork();
    if (pp == 0)
        qb_producer(c);
    int bad = qb_wait(pc) | qb_wait(pp);
    ipcx_queue_unlink(c->name);
    if (bad || pc < 0 || pp < 0) {
        bench_fail(c->ctx, "queue", "stream", "a side failed");
        return;
    }
    uint64_t t0 = c->head ? c->sh->t_start : c->sh->t_first;
    double secs = (double)(c->sh->t_last - t0) / 1e9;
    bench_row row = {.kase = "stream",
                     .transport = "queue",
                     .size = c->size,
                     .wait = c->block ? "block" : "spin",
                     .api = "copy",
                     .variant = c->variant,
                     .producers = 1,
                     .consumers = 1,
                     .samples = c->n};
    row.msgs_per_s = secs > 0 ? (double)c->n / secs : 0;
    row.bytes_per_s = row.msgs_per_s * (double)c->size;
    bench_floor_after(c->ctx, &row);
    bench_emit(c->ctx, &row);
}

static void qb_name(struct qb_case *c, int durable)
{
    const char *tmp = getenv("TMPDIR");
    if (durable)
        snprintf(c->name, sizeof c->name, "%s/ipcx-bench-q-%d-%u", tmp ? tmp : "/tmp",
                 (int)getpid(), g_qcase++);
    else
        snprintf(c->name, sizeof c->name, "bench-queue-%d-%u", (int)getpid(), g_qcase++);
}

void bench_suite_queue(bench_ctx *ctx)
{
    if (!bench_want(ctx, "queue"))
        return;
    struct qb_shared *sh =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        bench_fail(ctx, "queue", "stream", "mmap");
        return;
    }
    uint64_t small = ctx->quick ? 2000000 : 10000000;
    uint64_t big = ctx->quick ? 10000 : 50000;
    for (int block = 0; block < 2; block++) {
        struct qb_case c = {.ctx = ctx,
                            .variant = "steady",
                            .block = block,
                            .size = 64,
                            .n = small,
                            .sh = sh,
                            .opts = {.initial_segment = 1 << 20, .max_segment = 1 << 20}};
        qb_name(&c, 0);
        qb_run(&c);
    }
    struct qb_case g = {.ctx = ctx,
                        .variant = "growing",
                        .size = 64,
                        .n = small,
                        .head = small / 4,
                        .sh = sh,
                        .opts = {.initial_segment = 64 << 10, .max_segment = 4 << 20}};
    qb_name(&g, 0);
    qb_run(&g);
    size_t sizes[2] = {64, 65536};
    for (int i = 0; i < 2; i++) {
        struct qb_case d = {
            .ctx = ctx,
            .variant = "durable",
            .size = sizes[i],
            .n = i ? big : small / 2,
            .sh = sh,
            .opts = {.initial_segment = 4 << 20, .max_segment = 4 << 20, .max_message = 1 << 20}};
        qb_name(&d, 1);
        qb_run(&d);
    }
    munmap(sh, 4096);
}
