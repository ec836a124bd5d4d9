// SPDX-License-Identifier: MIT
/*
 * Pools: tasks per second through ipcx_pool and its references, and the
 * speed-up of a CPU-bound job (docs/pool.md).
 *
 *   tasks    pool       empty tasks through a pool of 2 forked workers
 *   tasks    pipe-pool  the same job, multiprocessing style: the parent
 *                       writes each task (an 8-byte id) to a worker's pipe
 *                       and reads the results back from a pipe per worker
 *   tasks    pool-tcp   empty tasks to 2 remote workers (ipcx_pool_serve)
 *                       over tcp:// loopback
 *   tasks    zmq-tcp    the same job through libzmq written the obvious way:
 *                       the parent PUSHes tasks, each worker PULLs them and
 *                       PUSHes its results to the parent's PULL (when the
 *                       build found libzmq)
 *   speedup  pool       the primes job (count primes below M in chunks):
 *                       single-process time / time with 2 workers
 *
 * Every case keeps at most 64 tasks per worker outstanding (the pool's
 * default depth), so none of them measures a growing backlog.  Rows carry
 * "wait":"block": every side sleeps when it has nothing to do.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "suites.h"

#ifdef IPCX_BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

#define WORKERS 2
#define WINDOW  64 /* outstanding tasks per worker */
#define SEC     1000000000LL

static int empty_fn(void *ctx, const ipcx_pool_task *t, void *result, size_t cap)
{
    (void)ctx, (void)t, (void)result, (void)cap;
    return 0;
}

static void emit_tasks(bench_ctx *ctx, const char *transport, uint64_t n, uint64_t ns)
{
    bench_row row = {
        .kase = "tasks", .transport = transport, .wait = "block", .workers = WORKERS, .samples = n};
    row.tasks_per_s = ns > 0 ? (double)n * 1e9 / (double)ns : 0;
    bench_emit(ctx, &row);
}

/* n empty tasks through a pool, WINDOW per worker in flight.  Returns the
 * elapsed ns, or 0 on failure. */
static uint64_t pool_run(ipcx_pool *p, uint64_t n)
{
    uint64_t sent = 0, got = 0, t0 = bench_now_ns();
    while (got < n) {
        while (sent < n && sent - got < (uint64_t)WINDOW * WORKERS) {
            if (ipcx_pool_submit(p, NULL, 0, NULL, 10 * SEC) != 0)
                return 0;
            sent++;
        }
        ipcx_pool_result r;
        int rc = ipcx_pool_wait(p, &r, NULL, 0, 10 * SEC);
        if (rc != 0 || r.status != 0)
            return 0;
        got++;
    }
    return bench_now_ns() - t0;
}

static void case_pool(bench_ctx *ctx, uint64_t n)
{
    ipcx_pool_opts o = {0};
    o.workers = WORKERS;
    o.fn = empty_fn;
    o.depth = WINDOW;
    ipcx_pool *p;
    int rc = ipcx_pool_create(&o, &p);
    if (rc != 0) {
        bench_fail(ctx, "pool", "tasks", ipcx_strerror(rc));
        return;
    }
    pool_run(p, n / 10); /* warm-up */
    uint64_t ns = pool_run(p, n);
    ipcx_pool_destroy(p);
    if (ns == 0)
        bench_fail(ctx, "pool", "tasks", "a task failed or timed out");
    else
        emit_tasks(ctx, "pool", n, ns);
}

/* ------------------------------------------------------------ pipe-pool */

static void pipe_worker(int in, int out)
{
    uint64_t id;
    for (;;) {
        ssize_t r = read(in, &id, sizeof(id));
        if (r != (ssize_t)sizeof(id))
            _exit(0);
        if (write(out, &id, sizeof(id)) != (ssize_t)sizeof(id))
            _exit(1);
    }
}

static void case_pipe_pool(bench_ctx *ctx, uint64_t n)
{
    int task[WORKERS][2], res[WORKERS][2];
    pid_t pid[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        if (pipe(task[i]) != 0 || pipe(res[i]) != 0) {
            bench_fail(ctx, "pipe-pool", "tasks", strerror(errno));
            return;
        }
    }
    for (int i = 0; i < WORKERS; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            for (int k = 0; k < WORKERS; k++) {
                close(task[k][1]);
                close(res[k][0]);
                if (k != i)
                    close(task[k][0]), close(res[k][1]);
            }
            pipe_worker(task[i][0], res[i][1]);
        }
    }
    for (int i = 0; i < WORKERS; i++)
        close(task[i][0]), close(res[i][1]);
    uint64_t sent = 0, got = 0, out[WORKERS] = {0};
    uint64_t t0 = bench_now_ns();
    int ok = 1;
    while (got < n && ok) {
        for (int i = 0; i < WORKERS && sent < n; i++) {
            while (sent < n && out[i] < WINDOW) {
                if (write(task[i][1], &sent, sizeof(sent)) != (ssize_t)sizeof(sent)) {
                    ok = 0;
                    break;
                }
                sent++;
                out[i]++;
            }
        }
        struct pollfd pf[WORKERS];
        for (int i = 0; i < WORKERS; i++)
            pf[i] = (struct pollfd){.fd = res[i][0], .events = POLLIN};
        if (poll(pf, WORKERS, 10000) <= 0)
            ok = 0;
        for (int i = 0; i < WORKERS && ok; i++) {
            if (!(pf[i].revents & POLLIN))
                continue;
            uint64_t ids[WINDOW];
            ssize_t r = read(res[i][0], ids, sizeof(ids));
            if (r <= 0 || r % 8 != 0) {
                ok = 0;
                break;
            }
            got += (uint64_t)r / 8;
            out[i] -= (uint64_t)r / 8;
        }
    }
    uint64_t ns = bench_now_ns() - t0;
    for (int i = 0; i < WORKERS; i++) {
        close(task[i][1]);
        close(res[i][0]);
        waitpid(pid[i], NULL, 0);
    }
    if (!ok)
        bench_fail(ctx, "pipe-pool", "tasks", "a pipe failed");
    else
        emit_tasks(ctx, "pipe-pool", n, ns);
}

/* ------------------------------------------------------------ pool-tcp */

static void case_pool_tcp(bench_ctx *ctx, uint64_t n)
{
    ipcx_pool_opts o = {0};
    o.workers = IPCX_POOL_NO_WORKERS;
    o.listen = "tcp://127.0.0.1:0";
    ipcx_pool *p;
    int rc = ipcx_pool_create(&o, &p);
    char url[128];
    if (rc == 0)
        rc = ipcx_pool_endpoint(p, url, sizeof(url)) > 0 ? 0 : -EINVAL;
    if (rc != 0) {
        bench_fail(ctx, "pool-tcp", "tasks", ipcx_strerror(rc));
        ipcx_pool_destroy(p);
        return;
    }
    pid_t pid[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        fflush(NULL);
        pid[i] = fork();
        if (pid[i] == 0)
            _exit(ipcx_pool_serve(url, empty_fn, NULL, WINDOW, 0, 10 * SEC) == 0 ? 0 : 1);
    }
    uint64_t ns = 0;
    if (ipcx_pool_await_workers(p, WORKERS, 10 * SEC) == 0) {
        pool_run(p, n / 10);
        ns = pool_run(p, n);
    }
    ipcx_pool_destroy(p);
    for (int i = 0; i < WORKERS; i++) {
        kill(pid[i], SIGKILL); /* a worker that missed the STOP */
        waitpid(pid[i], NULL, 0);
    }
    if (ns == 0)
        bench_fail(ctx, "pool-tcp", "tasks", "workers did not join, or a task failed");
    else
        emit_tasks(ctx, "pool-tcp", n, ns);
}

/* ------------------------------------------------------------ zmq-tcp */

#ifdef IPCX_BENCH_HAVE_ZMQ
static void zmq_worker(int port_in, int port_out)
{
    char a[64], b[64];
    snprintf(a, sizeof(a), "tcp://127.0.0.1:%d", port_in);
    snprintf(b, sizeof(b), "tcp://127.0.0.1:%d", port_out);
    void *zc = zmq_ctx_new();
    void *pull = zmq_socket(zc, ZMQ_PULL), *push = zmq_socket(zc, ZMQ_PUSH);
    if (zmq_connect(pull, a) != 0 || zmq_connect(push, b) != 0)
        _exit(1);
    uint64_t id;
    for (;;) {
        if (zmq_recv(pull, &id, sizeof(id), 0) != (int)sizeof(id))
            _exit(1);
        if (zmq_send(push, &id, sizeof(id), 0) != (int)sizeof(id))
            _exit(1);
    }
}

static int zmq_port(void *sock)
{
    char ep[128];
    size_t len = sizeof(ep);
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        return -1;
    const char *colon = strrchr(ep, ':');
    return colon != NULL ? atoi(colon + 1) : -1;
}

static void case_zmq_tcp(bench_ctx *ctx, uint64_t n)
{
    /* libzmq starts threads with its context, so nothing of it exists
     * before the forks: the parent binds afterwards and tells the workers
     * its two ports through a pipe. */
    int ports[2];
    if (pipe(ports) != 0) {
        bench_fail(ctx, "zmq-tcp", "tasks", strerror(errno));
        return;
    }
    pid_t pid[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        fflush(NULL);
        pid[i] = fork();
        if (pid[i] == 0) {
            close(ports[1]);
            int pp[2];
            if (read(ports[0], pp, sizeof(pp)) != (ssize_t)sizeof(pp))
                _exit(1);
            zmq_worker(pp[0], pp[1]);
        }
    }
    close(ports[0]);
    void *zc = zmq_ctx_new();
    void *push = zmq_socket(zc, ZMQ_PUSH), *pull = zmq_socket(zc, ZMQ_PULL);
    int timeout = 10000;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    int ok = zmq_bind(push, "tcp://127.0.0.1:*") == 0 && zmq_bind(pull, "tcp://127.0.0.1:*") == 0;
    int pp[2] = {ok ? zmq_port(push) : -1, ok ? zmq_port(pull) : -1};
    for (int i = 0; i < WORKERS; i++)
        ok &= write(ports[1], pp, sizeof(pp)) == (ssize_t)sizeof(pp);
    close(ports[1]);
    /* PUSH hands tasks round-robin only over connected peers: wait until a
     * round trip through each worker has worked before timing. */
    for (uint64_t i = 0; ok && i < (uint64_t)WORKERS * 100; i++) {
        uint64_t id = i;
        ok = zmq_send(push, &id, 8, 0) == 8 && zmq_recv(pull, &id, 8, 0) == 8;
    }
    uint64_t sent = 0, got = 0, t0 = bench_now_ns();
    while (ok && got < n) {
        while (sent < n && sent - got < (uint64_t)WINDOW * WORKERS) {
            if (zmq_send(push, &sent, 8, 0) != 8) {
                ok = 0;
                break;
            }
            sent++;
        }
        uint64_t id;
        if (ok && zmq_recv(pull, &id, 8, 0) != 8)
            ok = 0;
        got++;
    }
    uint64_t ns = bench_now_ns() - t0;
    int linger = 0;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(zc);
    for (int i = 0; i < WORKERS; i++) {
        kill(pid[i], SIGKILL);
        waitpid(pid[i], NULL, 0);
    }
    if (!ok)
        bench_fail(ctx, "zmq-tcp", "tasks", "a send or receive failed");
    else
        emit_tasks(ctx, "zmq-tcp", n, ns);
}
#endif

/* ------------------------------------------------------------ speedup */

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
    for (uint64_t v = lo; v < hi; v++)
        c += (uint64_t)is_prime(v);
    return c;
}

static int primes_fn(void *ctx, const ipcx_pool_task *t, void *result, size_t cap)
{
    (void)ctx;
    uint64_t r[2];
    if (t->len != sizeof(r) || cap < 8)
        return -EINVAL;
    memcpy(r, t->data, sizeof(r));
    uint64_t c = count_range(r[0], r[1]);
    memcpy(result, &c, 8);
    return 8;
}

static void case_speedup(bench_ctx *ctx, uint64_t m)
{
    enum { CHUNKS = 256 };
    uint64_t chunk = m / CHUNKS, tasks[CHUNKS][2], counts[CHUNKS];
    for (int i = 0; i < CHUNKS; i++) {
        tasks[i][0] = (uint64_t)i * chunk;
        tasks[i][1] = i + 1 == CHUNKS ? m : (uint64_t)(i + 1) * chunk;
    }
    ipcx_pool_opts o = {0};
    o.workers = WORKERS;
    o.fn = primes_fn;
    ipcx_pool *p;
    int rc = ipcx_pool_create(&o, &p);
    if (rc != 0) {
        bench_fail(ctx, "pool", "speedup", ipcx_strerror(rc));
        return;
    }
    uint64_t t0 = bench_now_ns(), single = 0;
    for (int i = 0; i < CHUNKS; i++)
        single += count_range(tasks[i][0], tasks[i][1]);
    uint64_t t_single = bench_now_ns() - t0;
    t0 = bench_now_ns();
    rc = ipcx_pool_map(p, tasks, sizeof(tasks[0]), CHUNKS, counts, 8, NULL, 600 * SEC);
    uint64_t t_pool = bench_now_ns() - t0;
    ipcx_pool_destroy(p);
    uint64_t pooled = 0;
    for (int i = 0; i < CHUNKS; i++)
        pooled += counts[i];
    if (rc != 0 || pooled != single) {
        bench_fail(ctx, "pool", "speedup", "the pooled count differs or a task failed");
        return;
    }
    bench_row row = {.kase = "speedup",
                     .transport = "pool",
                     .wait = "block",
                     .workers = WORKERS,
                     .samples = CHUNKS};
    row.speedup = t_pool > 0 ? (double)t_single / (double)t_pool : 0;
    bench_emit(ctx, &row);
}

void bench_suite_pool(bench_ctx *ctx)
{
    uint64_t n = ctx->quick ? 20000 : 500000;
    if (bench_want(ctx, "pool"))
        case_pool(ctx, n);
    if (bench_want(ctx, "pipe-pool"))
        case_pipe_pool(ctx, n);
    if (bench_want(ctx, "pool-tcp"))
        case_pool_tcp(ctx, n / 4);
#ifdef IPCX_BENCH_HAVE_ZMQ
    if (bench_want(ctx, "zmq-tcp"))
        case_zmq_tcp(ctx, n / 4);
#endif
    if (bench_want(ctx, "pool"))
        case_speedup(ctx, ctx->quick ? 2000000 : 5000000);
}
