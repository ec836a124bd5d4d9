// SPDX-License-Identifier: MIT
/*
 * ipcx_pool with remote workers over tcp:// loopback: worker processes
 * calling ipcx_pool_serve (the test binary re-run as its helper), one of
 * them SIGKILLed mid-run and started again while the job still completes,
 * one stopped (SIGSTOP) and dropped by the heartbeat,
 * local and remote workers in one pool, `ipcx worker` (echo and --exec),
 * the pyzmq worker examples/worker.py, and malformed frames from a hostile
 * peer (dropped and counted; the pool goes on).
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#ifndef IPCX_PYZMQ_PYTHON
#define IPCX_PYZMQ_PYTHON ""
#endif
#ifndef IPCX_WORKER_PY
#define IPCX_WORKER_PY ""
#endif

#define SEC 1000000000LL

static uint64_t digest(const uint8_t *d, size_t n, unsigned rounds)
{
    uint64_t h = 1469598103934665603ULL;
    for (unsigned r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++)
            h = (h ^ d[i]) * 1099511628211ULL;
    }
    return h;
}

/* The job: the task's digest, repeated so a task takes a moment. */
static int digest_fn(void *ctx, const ipcx_pool_task *t, void *result, size_t cap)
{
    (void)ctx;
    if (cap < 8)
        return -EMSGSIZE;
    uint64_t h = digest(t->data, t->len, 300);
    memcpy(result, &h, 8);
    return 8;
}

static int run_helper(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[0], "serve") == 0) {
        int rc = ipcx_pool_serve(argv[1], digest_fn, NULL, 4, 0, 30 * SEC);
        return rc == 0 ? 0 : 10;
    }
    return 99;
}

static ipcx_pool *listen_pool(uint32_t local, char *url, size_t cap)
{
    ipcx_pool_opts o = {0};
    o.workers = local;
    o.fn = digest_fn;
    o.listen = "tcp://127.0.0.1:0";
    ipcx_pool *p = NULL;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    assert_true(ipcx_pool_endpoint(p, url, cap) > 0);
    assert_true(strncmp(url, "tcp://127.0.0.1:", 16) == 0);
    return p;
}

static void random_task(uint64_t *rs, uint8_t *buf, size_t *len)
{
    *len = 1 + (size_t)(tu_rand(rs) % 200);
    for (size_t i = 0; i < *len; i++)
        buf[i] = (uint8_t)tu_rand(rs);
}

/* Submit n random tasks; wait for all; check each against digest();
 * between results, call @between(k) with the count so far. */
static void run_job(ipcx_pool *p, int n, void (*between)(int k, void *arg), void *arg)
{
    uint64_t rs = tu_seed();
    uint8_t(*tasks)[200] = calloc((size_t)n, 200);
    size_t *lens = calloc((size_t)n, sizeof(size_t));
    int *seen = calloc((size_t)n, sizeof(int));
    assert_true(tasks != NULL && lens != NULL && seen != NULL);
    uint64_t first = 0;
    for (int i = 0; i < n; i++) {
        random_task(&rs, tasks[i], &lens[i]);
        uint64_t id;
        assert_int_equal(ipcx_pool_submit(p, tasks[i], lens[i], &id, 10 * SEC), 0);
        if (i == 0)
            first = id;
        assert_true(id == first + (uint64_t)i);
    }
    for (int k = 0; k < n; k++) {
        ipcx_pool_result r;
        uint64_t h;
        assert_int_equal(ipcx_pool_wait(p, &r, &h, sizeof(h), 60 * SEC), 0);
        int i = (int)(r.id - first);
        assert_true(i >= 0 && i < n && !seen[i]);
        seen[i] = 1;
        assert_int_equal(r.status, 8);
        assert_true(h == digest(tasks[i], lens[i], 300));
        if (between != NULL)
            between(k, arg);
    }
    free(tasks);
    free(lens);
    free(seen);
}

static void test_remote_serve_workers(void **state)
{
    (void)state;
    char url[128];
    ipcx_pool *p = listen_pool(IPCX_POOL_NO_WORKERS, url, sizeof(url));
    pid_t a = tu_spawn("--helper", "serve", url, NULL);
    pid_t b = tu_spawn("--helper", "serve", url, NULL);
    assert_int_equal(ipcx_pool_await_workers(p, 2, 30 * SEC), 0);
    run_job(p, 300, NULL, NULL);
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_int_equal(st.local, 0);
    assert_true(st.remote >= 1 && st.remote <= 2);
    ipcx_pool_destroy(p); /* says STOP: both exit 0 */
    assert_int_equal(tu_wait(a, 20000), 0);
    assert_int_equal(tu_wait(b, 20000), 0);
}

struct killer {
    pid_t victim, replacement;
    const char *url;
    ipcx_pool *p;
};

static void kill_and_restart(int k, void *arg)
{
    struct killer *c = arg;
    if (k != 40)
        return;
    assert_int_equal(kill(c->victim, SIGKILL), 0);
    assert_true(tu_wait(c->victim, 10000) == 128 + SIGKILL);
    /* The pool sees the death (its connection ended)... */
    ipcx_pool_stats st;
    for (int tries = 0; tries < 30000; tries++) {
        assert_int_equal(ipcx_pool_stats_get(c->p, &st), 0);
        if (st.deaths >= 1)
            break;
        assert_int_equal(ipcx_pool_await_workers(c->p, 99, 1000000), -ETIMEDOUT);
    }
    assert_true(st.deaths >= 1);
    /* ... and the replacement joins while the job runs. */
    c->replacement = tu_spawn("--helper", "serve", c->url, NULL);
    assert_int_equal(ipcx_pool_await_workers(c->p, 2, 30 * SEC), 0);
}

static void test_remote_killed_and_restarted(void **state)
{
    (void)state;
    char url[128];
    ipcx_pool *p = listen_pool(IPCX_POOL_NO_WORKERS, url, sizeof(url));
    struct killer c = {.url = url, .p = p};
    c.victim = tu_spawn("--helper", "serve", url, NULL);
    pid_t other = tu_spawn("--helper", "serve", url, NULL);
    assert_int_equal(ipcx_pool_await_workers(p, 2, 30 * SEC), 0);
    run_job(p, 400, kill_and_restart, &c);
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_true(st.deaths >= 1);
    assert_true(c.replacement > 0);
    ipcx_pool_destroy(p);
    assert_int_equal(tu_wait(other, 20000), 0);
    assert_int_equal(tu_wait(c.replacement, 20000), 0);
}

/* A remote worker that stops answering without closing its connection
 * (SIGSTOP: its kernel still acknowledges TCP) is dropped by the ZMTP
 * heartbeat, and its tasks run elsewhere. */
static void stop_one(int k, void *arg)
{
    struct killer *c = arg;
    if (k == 10)
        assert_int_equal(kill(c->victim, SIGSTOP), 0);
}

static void test_remote_silent_worker_dropped(void **state)
{
    (void)state;
    char url[128];
    ipcx_pool *p = listen_pool(IPCX_POOL_NO_WORKERS, url, sizeof(url));
    struct killer c = {.url = url, .p = p};
    c.victim = tu_spawn("--helper", "serve", url, NULL);
    pid_t other = tu_spawn("--helper", "serve", url, NULL);
    assert_int_equal(ipcx_pool_await_workers(p, 2, 30 * SEC), 0);
    run_job(p, 200, stop_one, &c);
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_true(st.deaths >= 1);
    assert_int_equal(st.remote, 1);
    ipcx_pool_destroy(p);
    assert_int_equal(tu_wait(other, 20000), 0);
    kill(c.victim, SIGKILL);
    assert_int_equal(tu_wait(c.victim, 10000), 128 + SIGKILL);
}

static void test_local_and_remote_together(void **state)
{
    (void)state;
    char url[128];
    ipcx_pool *p = listen_pool(1, url, sizeof(url));
    pid_t a = tu_spawn("--helper", "serve", url, NULL);
    assert_int_equal(ipcx_pool_await_workers(p, 2, 30 * SEC), 0);
    run_job(p, 300, NULL, NULL);
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_int_equal(st.local, 1);
    assert_int_equal(st.remote, 1);
    ipcx_pool_destroy(p);
    assert_int_equal(tu_wait(a, 20000), 0);
}

/* `ipcx worker URL` (echo) and `ipcx worker --exec CMD URL`. */
static void test_ipcx_worker_command(void **state)
{
    (void)state;
    char tool[4096];
    tu_build_path("tools/ipcx/ipcx", tool, sizeof(tool));
    for (int mode = 0; mode < 2; mode++) {
        char url[128];
        ipcx_pool *p = listen_pool(IPCX_POOL_NO_WORKERS, url, sizeof(url));
        pid_t w = fork();
        assert_true(w >= 0);
        if (w == 0) {
            if (mode == 0)
                execl(tool, tool, "worker", "--quiet", url, (char *)NULL);
            else
                execl(tool, tool, "worker", "-q", "--exec", "tr a-z A-Z", url, (char *)NULL);
            _exit(127);
        }
        enum { N = 50 };
        for (int i = 0; i < N; i++) {
            char t[32];
            int n = snprintf(t, sizeof(t), "task number %d", i);
            assert_int_equal(ipcx_pool_submit(p, t, (size_t)n, NULL, 10 * SEC), 0);
        }
        for (int i = 0; i < N; i++) {
            ipcx_pool_result r;
            char got[64], want[32];
            assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got) - 1, 60 * SEC), 0);
            assert_true(r.status > 0);
            got[r.len] = '\0';
            snprintf(want, sizeof(want), mode == 0 ? "task number %d" : "TASK NUMBER %d",
                     (int)r.id - 1);
            assert_string_equal(got, want);
        }
        ipcx_pool_destroy(p);
        assert_int_equal(tu_wait(w, 20000), 0);
    }
    char out[4096];
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "%s worker --help", tool);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "usage: ipcx worker"));
    snprintf(cmd, sizeof(cmd), "%s worker 2>/dev/null", tool);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 2);
    snprintf(cmd, sizeof(cmd), "%s worker --timeout 1 tcp://127.0.0.1:1 2>&1", tool);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "ipcx: worker: tcp://127.0.0.1:1:"));
}

static uint64_t words(const char *s, size_t n)
{
    uint64_t c = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        int sp = s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r');
        c += (uint64_t)(!sp && !in);
        in = !sp;
    }
    return c;
}

static void test_pyzmq_worker(void **state)
{
    (void)state;
    if (IPCX_PYZMQ_PYTHON[0] == '\0') {
        print_message("python3-zmq not found at configure time: skipped\n");
        skip();
    }
    char url[128];
    ipcx_pool *p = listen_pool(IPCX_POOL_NO_WORKERS, url, sizeof(url));
    pid_t w = fork();
    assert_true(w >= 0);
    if (w == 0) {
        execl(IPCX_PYZMQ_PYTHON, IPCX_PYZMQ_PYTHON, IPCX_WORKER_PY, url, (char *)NULL);
        _exit(127);
    }
    uint64_t rs = tu_seed() + 5;
    enum { N = 200 };
    static char tasks[N][128];
    static size_t lens[N];
    for (int i = 0; i < N; i++) {
        lens[i] = (size_t)(tu_rand(&rs) % sizeof(tasks[i]));
        for (size_t k = 0; k < lens[i]; k++)
            tasks[i][k] = tu_rand(&rs) % 4 == 0 ? ' ' : (char)('a' + tu_rand(&rs) % 26);
        assert_int_equal(ipcx_pool_submit(p, tasks[i], lens[i], NULL, 10 * SEC), 0);
    }
    for (int i = 0; i < N; i++) {
        ipcx_pool_result r;
        uint64_t c;
        assert_int_equal(ipcx_pool_wait(p, &r, &c, sizeof(c), 60 * SEC), 0);
        assert_int_equal(r.status, 8);
        int k = (int)r.id - 1;
        assert_true(c == words(tasks[k], lens[k]));
    }
    ipcx_pool_destroy(p);
    assert_int_equal(tu_wait(w, 20000), 0);
}

/* A peer that sends malformed frames: each is dropped and counted; a
 * malformed RESULT for the task it holds finishes that task with -EPROTO;
 * a RESULT for a task it does not hold changes nothing; the pool then
 * completes a job with a good worker. */
static void send2(ipcx_socket *s, const char *cmd, const void *a, size_t alen)
{
    assert_true(ipcx_send(s, cmd, strlen(cmd), a != NULL ? IPCX_MORE : 0) >= 0);
    if (a != NULL)
        assert_true(ipcx_send(s, a, alen, 0) >= 0);
}

static void test_bad_frames(void **state)
{
    (void)state;
    char url[128];
    ipcx_pool *p = listen_pool(IPCX_POOL_NO_WORKERS, url, sizeof(url));
    ipcx_socket *s;
    assert_int_equal(ipcx_socket_open(IPCX_DEALER, &s), 0);
    assert_int_equal(ipcx_dial(s, url), 0);
    const uint8_t one[4] = {1, 0, 0, 0}, c3[3] = {1, 0, 0}, zero12[12] = {0};
    assert_int_equal(ipcx_pool_submit(p, "x", 1, NULL, SEC), 0);
    send2(s, "READY", one, 4);
    /* Pump the pool until the fake worker holds task 1. */
    ipcx_msg *m = NULL;
    for (int tries = 0; tries < 30000 && m == NULL; tries++) {
        ipcx_pool_result r;
        assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 1000000), -ETIMEDOUT);
        if (ipcx_msg_recv(s, &m, IPCX_DONTWAIT) != 0)
            m = NULL;
    }
    assert_non_null(m);
    size_t len;
    assert_true(ipcx_msg_parts(m) == 3 && memcmp(ipcx_msg_data(m, 0, &len), "TASK", 4) == 0);
    ipcx_msg_destroy(m);
    uint8_t unknown[12] = {99}, plus5[12] = {1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0};
    send2(s, "READY", c3, 3);        /* credit of 3 bytes: bad */
    send2(s, "RESULT", zero12, 5);   /* short header: bad */
    send2(s, "RESULT", unknown, 12); /* a task it does not hold: ignored */
    send2(s, "HELLO", NULL, 0);      /* unknown command: bad */
    send2(s, "", NULL, 0);           /* empty command: bad */
    send2(s, "RESULT", plus5, 12);   /* status > 0: bad, task 1 fails */
    ipcx_pool_result r;
    assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 30 * SEC), 0);
    assert_int_equal(r.id, 1);
    assert_int_equal(r.status, -EPROTO);
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_int_equal(st.bad, 5);
    assert_int_equal(st.done, 1);
    ipcx_socket_close(s);
    pid_t a = tu_spawn("--helper", "serve", url, NULL);
    assert_int_equal(ipcx_pool_await_workers(p, 1, 30 * SEC), 0);
    run_job(p, 50, NULL, NULL);
    ipcx_pool_destroy(p);
    assert_int_equal(tu_wait(a, 20000), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_serve_workers),
        cmocka_unit_test(test_remote_killed_and_restarted),
        cmocka_unit_test(test_remote_silent_worker_dropped),
        cmocka_unit_test(test_local_and_remote_together),
        cmocka_unit_test(test_ipcx_worker_command),
        cmocka_unit_test(test_pyzmq_worker),
        cmocka_unit_test(test_bad_frames),
    };
    return cmocka_run_group_tests_name("pool_remote", tests, NULL, NULL);
}
