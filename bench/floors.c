// SPDX-License-Identifier: MIT
/*
 * The physical floors every ipcx transport is compared with:
 *
 *  floor-cacheline  two processes bounce one cache line of a MAP_SHARED page,
 *                   busy-spinning: the least a cross-core round trip costs.
 *  floor-futex      the same word, but each side sleeps in FUTEX_WAIT until
 *                   the other stores and calls FUTEX_WAKE: the least a
 *                   sleeping (blocking) round trip costs.
 *  floor-memcpy     single-thread copy bandwidth: the least a copying
 *                   transport pays per message, without any synchronisation.
 *
 * Design notes (the two shared-word floors):
 *  - One 64-bit (cacheline) or 32-bit (futex) word lives alone in a page
 *    mapped MAP_SHARED before the fork.  Its value is (sequence << 2) | flag.
 *    The sides strictly alternate: a side stores (its last value's sequence
 *    + 1), then waits until the word differs from what it stored.  Only the
 *    side whose turn it is writes, so plain store/load suffice; release on
 *    the store and acquire on the load are what a real transport would need
 *    to publish a payload, and cost nothing extra on x86.
 *  - A side that dies leaves the other spinning; the harness kills it at the
 *    case deadline.
 */
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"

#define FLOOR_MIN_ROUND_TRIPS 100000u

struct word_state {
    void *page;     /* MAP_SHARED page holding the word, at offset 0 */
    uint64_t cur;   /* the value this side last stored or saw */
    unsigned spins; /* bench_spin_pause() counter */
};

static int page_prepare(void *arg)
{
    struct word_state *s = arg;
    s->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s->cur = 0;
    return s->page == MAP_FAILED ? -ENOMEM : 0;
}

static void page_cleanup(void *arg)
{
    struct word_state *s = arg;
    if (s->page != MAP_FAILED && s->page != NULL)
        munmap(s->page, 4096);
    s->page = NULL;
}

static uint64_t next_value(uint64_t cur, enum bench_flag flag)
{
    return (((cur >> 2) + 1) << 2) | (uint64_t)flag;
}

/* ------------------------------------------------------- floor-cacheline */

static int line_send(void *arg, enum bench_flag flag)
{
    struct word_state *s = arg;
    _Atomic uint64_t *line = s->page;
    s->cur = next_value(s->cur, flag);
    /* Release: publishes this side's turn; pairs with the acquire load in
     * line_recv() on the other side. */
    atomic_store_explicit(line, s->cur, memory_order_release);
    return 0;
}

static int line_recv(void *arg)
{
    struct word_state *s = arg;
    _Atomic uint64_t *line = s->page;
    uint64_t v;
    s->spins = 0;
    /* Acquire: pairs with the release store in line_send() on the other
     * side, so whatever it wrote before its turn is visible here. */
    while ((v = atomic_load_explicit(line, memory_order_acquire)) == s->cur)
        bench_spin_pause(&s->spins);
    s->cur = v;
    return (int)(v & 3u);
}

static const bench_ops line_ops = {
    .prepare = page_prepare,
    .send = line_send,
    .recv = line_recv,
    .cleanup = page_cleanup,
};

/* ------------------------------------------------- the floor beside a case */

/*
 * A probe is the floor-cacheline pingpong in miniature: 1 ms of warm-up and
 * 3 ms of round trips in --quick (2 and 10 ms otherwise), at most 2^16 of
 * them, which at 100-500 ns a round trip is thousands: plenty for a p50.
 * With the fork and the handshake it costs a few ms, so the ~60 two-process
 * rows of a --quick run add well under a second.
 */
#define PROBE_MAX_SAMPLES (1u << 16)

int bench_floor_probe(bench_ctx *ctx, double *p50_ns)
{
    struct word_state st = {0};
    bench_case c = {.transport = "floor-cacheline",
                    .size = 64,
                    .wait = "spin",
                    .budget_ns = ctx->quick ? 3000000u : 10000000u,
                    .warmup_ns = ctx->quick ? 1000000u : 2000000u,
                    .min_count = 1000,
                    .max_count = PROBE_MAX_SAMPLES,
                    .deadline_ns = 10000000000ull};
    bench_row row = {0};
    int rc = bench_measure_pingpong(ctx, &c, &line_ops, &st, &row);
    if (rc == 0 && row.rtt_ns_p50 <= 0)
        rc = -EPROTO;
    if (rc == 0)
        *p50_ns = row.rtt_ns_p50;
    return rc;
}

/* A fresh probe, remembered as the last one; 0 when it failed. */
static double probe_now(bench_ctx *ctx)
{
    double p50 = 0;
    int rc = bench_floor_probe(ctx, &p50);
    if (rc < 0) {
        fprintf(stderr, "ipcx: bench: floor probe: %s (row without floor_rtt_ns)\n", strerror(-rc));
        p50 = 0;
    }
    ctx->floor_last_ns = p50;
    ctx->floor_last_at = bench_now_ns();
    return p50;
}

void bench_floor_before(bench_ctx *ctx)
{
    bool fresh =
        ctx->floor_last_ns > 0 && bench_now_ns() - ctx->floor_last_at < BENCH_FLOOR_REUSE_NS;
    ctx->floor_before_ns = fresh ? ctx->floor_last_ns : probe_now(ctx);
}

void bench_floor_after(bench_ctx *ctx, bench_row *row)
{
    double before = ctx->floor_before_ns, after = probe_now(ctx);
    ctx->floor_before_ns = 0;
    row->floor_rtt_ns_before = before;
    row->floor_rtt_ns_after = after;
    if (before > 0 && after > 0)
        row->floor_rtt_ns = (before + after) / 2;
    else
        row->floor_rtt_ns = before > 0 ? before : after;
}

/* ----------------------------------------------------------- floor-futex */

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
    /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static int futex_send(void *arg, enum bench_flag flag)
{
    struct word_state *s = arg;
    _Atomic uint32_t *word = s->page;
    s->cur = (uint32_t)next_value(s->cur, flag);
    /* Release: pairs with the acquire load in futex_recv(); the store must
     * precede the wake so the woken side sees the new value. */
    atomic_store_explicit(word, (uint32_t)s->cur, memory_order_release);
    return futex(word, FUTEX_WAKE, 1) < 0 ? -errno : 0;
}

static int futex_recv(void *arg)
{
    struct word_state *s = arg;
    _Atomic uint32_t *word = s->page;
    uint32_t v;
    /* Acquire: pairs with the release store in futex_send().  FUTEX_WAIT
     * re-checks the word in the kernel, so a store between our load and the
     * sleep makes it return EAGAIN instead of missing the wake. */
    while ((v = atomic_load_explicit(word, memory_order_acquire)) == (uint32_t)s->cur) {
        if (futex(word, FUTEX_WAIT, v) < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    s->cur = v;
    return (int)(v & 3u);
}

static const bench_ops futex_ops = {
    .prepare = page_prepare,
    .send = futex_send,
    .recv = futex_recv,
    .cleanup = page_cleanup,
};

/* ---------------------------------------------------------- floor-memcpy */

/*
 * Method: copy `size` bytes from slot i of a source buffer to slot i of a
 * destination buffer, i cycling over max(size, 8 KiB) / size slots, so 64 B
 * and 1 KiB copies run from L1 (16 KiB touched), 64 KiB from L2 (128 KiB)
 * and 1 MiB from L2/L3 (2 MiB).  memcpy is called through a volatile
 * function pointer, so the compiler can neither inline a fixed-size copy
 * nor drop copies whose results are never read; it is the libc memcpy a
 * copying transport calls.  A byte of the destination is read into a
 * volatile sink at the end.  The clock is read once per batch of ~64 KiB.
 */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;
static volatile unsigned char memcpy_sink;

static int memcpy_case(bench_ctx *ctx, size_t size, uint64_t budget)
{
    size_t span = size < 8192 ? 8192 : size, slots = span / size;
    unsigned char *src = aligned_alloc(64, span), *dst = aligned_alloc(64, span);
    if (src == NULL || dst == NULL) {
        free(src);
        free(dst);
        bench_fail(ctx, "floor-memcpy", "stream", "out of memory");
        return -ENOMEM;
    }
    memset(src, 0x5a, span);
    memset(dst, 0, span);
    size_t batch = size >= 65536 ? 1 : 65536 / size, slot = 0;
    uint64_t n = 0, t0 = bench_now_ns(), stop = t0 + budget, now;
    do {
        for (size_t k = 0; k < batch; k++) {
            copy_fn(dst + slot * size, src + slot * size, size);
            slot = slot + 1 == slots ? 0 : slot + 1;
        }
        n += batch;
    } while ((now = bench_now_ns()) < stop);
    memcpy_sink = dst[size - 1];
    /* "spin": the copy never sleeps, it runs flat out on one CPU. */
    bench_row row = {.kase = "stream", .transport = "floor-memcpy", .size = size, .wait = "spin"};
    row.msgs_per_s = (double)n * 1e9 / (double)(now - t0);
    row.bytes_per_s = row.msgs_per_s * (double)size;
    row.samples = n;
    bench_emit(ctx, &row);
    free(src);
    free(dst);
    return 0;
}

static void memcpy_cases(bench_ctx *ctx)
{
    static const size_t sizes[] = {64, 1024, 65536, 1u << 20};
    if (!bench_want(ctx, "floor-memcpy"))
        return;
    uint64_t budget = ctx->quick ? 60000000u : 500000000u;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        memcpy_case(ctx, sizes[i], budget);
}

void bench_suite_floors(bench_ctx *ctx)
{
    struct word_state st = {0};
    /* Fast: in --quick 0.1 s gives far more than the 10^5 round trips that
     * are recorded in any case. */
    bench_case line = {.transport = "floor-cacheline",
                       .size = 64,
                       .wait = "spin",
                       .budget_ns = ctx->quick ? 100000000u : 0,
                       .min_count = FLOOR_MIN_ROUND_TRIPS};
    bench_run_pingpong(ctx, &line, &line_ops, &st);

    bench_case fut = {.transport = "floor-futex", .size = 4, .wait = "block"};
    bench_run_pingpong(ctx, &fut, &futex_ops, &st);

    memcpy_cases(ctx);
}
