// SPDX-License-Identifier: MIT
/*
 * parallel_primes - count the primes below N, once in this process and
 * once with an ipcx_pool, and print both times and the speed-up.
 *
 *   parallel_primes [N [WORKERS]]     (N defaults to 20000000, WORKERS to
 *                                      one per online CPU)
 *
 * The range is cut into chunks; each task is a chunk's bounds (16 bytes),
 * each result its count (8 bytes).  Workers are forked from this program
 * and run count_range(), the same function the single-process run uses.
 * The tasks go in with ipcx_pool_submit() and the counts come back with
 * ipcx_pool_wait() in completion order (ipcx_pool_map() would do both in
 * one call; this way a progress line can follow the job on a terminal).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

static int is_prime(uint64_t n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2) {
        if (n % d == 0)
            return 0;
    }
    return 1;
}

static uint64_t count_range(uint64_t lo, uint64_t hi)
{
    uint64_t c = 0;
    for (uint64_t n = lo; n < hi; n++)
        c += (uint64_t)is_prime(n);
    return c;
}

/* The worker function: task = {lo, hi}, result = the count. */
static int primes_task(void *ctx, const ipcx_pool_task *t, void *result, size_t cap)
{
    (void)ctx;
    uint64_t r[2];
    if (t->len != sizeof(r) || cap < sizeof(uint64_t))
        return -EINVAL;
    memcpy(r, t->data, sizeof(r));
    uint64_t c = count_range(r[0], r[1]);
    memcpy(result, &c, sizeof(c));
    return (int)sizeof(c);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: parallel_primes [N [WORKERS]]\n");
        return 0;
    }
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
    uint32_t workers = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
    const uint64_t chunk = n / 256 > 1000 ? n / 256 : 1000;
    size_t ntasks = (size_t)((n + chunk - 1) / chunk);

    double t0 = now_s();
    uint64_t single = 0;
    for (uint64_t lo = 0; lo < n; lo += chunk)
        single += count_range(lo, lo + chunk < n ? lo + chunk : n);
    double t_single = now_s() - t0;

    ipcx_pool_opts o = {0};
    o.workers = workers;
    o.fn = primes_task;
    ipcx_pool *pool;
    int rc = ipcx_pool_create(&o, &pool);
    if (rc != 0) {
        fprintf(stderr, "parallel_primes: pool: %s\n", ipcx_strerror(rc));
        return 1;
    }
    ipcx_pool_stats st;
    ipcx_pool_stats_get(pool, &st);
    t0 = now_s();
    for (size_t i = 0; rc == 0 && i < ntasks; i++) {
        uint64_t r[2] = {i * chunk, (i + 1) * chunk < n ? (i + 1) * chunk : n};
        rc = ipcx_pool_submit(pool, r, sizeof(r), NULL, IPCX_FOREVER);
    }
    uint64_t pooled = 0;
    int tty = isatty(STDERR_FILENO);
    for (size_t i = 0; rc == 0 && i < ntasks; i++) {
        ipcx_pool_result res;
        uint64_t c;
        rc = ipcx_pool_wait(pool, &res, &c, sizeof(c), IPCX_FOREVER);
        if (rc == 0 && res.status < 0)
            rc = res.status;
        if (rc == 0)
            pooled += c;
        if (tty && (i % 8 == 0 || i + 1 == ntasks))
            fprintf(stderr, "\r%zu/%zu chunks", i + 1, ntasks);
    }
    double t_pool = now_s() - t0;
    if (tty)
        fprintf(stderr, "\n");
    ipcx_pool_destroy(pool);
    if (rc != 0) {
        fprintf(stderr, "parallel_primes: %s\n", ipcx_strerror(rc));
        return 1;
    }
    printf("primes below %llu: %llu\n", (unsigned long long)n, (unsigned long long)pooled);
    printf("single process: %.3f s\n", t_single);
    printf("pool, %u workers: %.3f s\n", st.local, t_pool);
    printf("speed-up: %.2f\n", t_pool > 0 ? t_single / t_pool : 0.0);
    if (pooled != single) {
        fprintf(stderr, "parallel_primes: pooled count %llu != single-process %llu\n",
                (unsigned long long)pooled, (unsigned long long)single);
        return 1;
    }
    return 0;
}
