// SPDX-License-Identifier: MIT
/*
 * ipcx_pool with real worker processes: pooled results equal the
 * single-process results for random inputs in both orderings and through
 * map, zero-copy slices of the shared input, the shared output region, an
 * input file mapped as it is, every documented error, workers SIGKILLed
 * mid-task 100 times in one run (every task completes or reports
 * -EOWNERDEAD after the retry limit, no zombie, no fd or mapping left),
 * SIGINT/SIGTERM to the parent, the parent's death, and the
 * async-signal-safe kill helper.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#define SEC 1000000000LL

/* ------------------------------------------------------------ the job */

/* The reference computation: FNV-1a of the bytes, their sum and count,
 * repeated `rounds` times so a task takes a moment. */
static void digest(const uint8_t *d, size_t n, unsigned rounds, uint64_t out[3])
{
    uint64_t h = 1469598103934665603ULL, s = 0;
    for (unsigned r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            h = (h ^ d[i]) * 1099511628211ULL;
            s += d[i];
        }
    }
    out[0] = h;
    out[1] = s;
    out[2] = n;
}

struct jobctx {
    unsigned rounds;
};

/* Task bytes: the first byte selects a behaviour (for the error tests),
 * the rest is digested. */
static int job_fn(void *ctx, const ipcx_pool_task *t, void *result, size_t cap)
{
    const struct jobctx *c = ctx;
    const uint8_t *d = t->data;
    if (t->len > 0 && d[0] == 0xEE)
        return -ENOTRECOVERABLE; /* the function's own error */
    if (t->len > 0 && d[0] == 0xDD)
        kill(getpid(), SIGKILL); /* a task that kills every worker running it */
    if (t->len > 0 && d[0] == 0xCC)
        return (int)cap + 1;          /* claims more than the buffer */
    if (t->len > 0 && d[0] == 0xBB) { /* 50 ms, or d[1] x 50 ms */
        long ms = 50L * (t->len > 1 ? d[1] : 1);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (t->len > 0 && d[0] == 0xAA) { /* write into the shared output */
        if (t->output == NULL || t->output_len < 8 * (size_t)d[1] + 8)
            return -ENOSPC;
        uint64_t v = t->id * 3;
        memcpy((uint8_t *)t->output + 8 * d[1], &v, 8);
        return 0;
    }
    uint64_t out[3];
    digest(d, t->len, c != NULL ? c->rounds : 1, out);
    if (cap < sizeof(out))
        return -EMSGSIZE;
    memcpy(result, out, sizeof(out));
    return (int)sizeof(out);
}

static ipcx_pool *mkpool(uint32_t workers, uint32_t order, struct jobctx *c)
{
    ipcx_pool_opts o = {0};
    o.workers = workers;
    o.order = order;
    o.fn = job_fn;
    o.ctx = c;
    ipcx_pool *p = NULL;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    return p;
}

static size_t rand_task(uint64_t *rs, uint8_t *buf, size_t cap)
{
    size_t n = (size_t)(tu_rand(rs) % cap);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)tu_rand(rs);
    if (n > 0 && buf[0] >= 0xAA)
        buf[0] = 0x11; /* never a behaviour byte */
    return n;
}

/* No child of ours is a zombie (every /proc/<pid>/stat with our pid as
 * parent is read). */
static int zombies(void)
{
    DIR *dir = opendir("/proc");
    assert_non_null(dir);
    int z = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *rp = strrchr(buf, ')');
        char st;
        int ppid;
        if (rp != NULL && sscanf(rp + 2, "%c %d", &st, &ppid) == 2 && ppid == getpid() && st == 'Z')
            z++;
    }
    closedir(dir);
    return z;
}

/* Mappings of memfds in this process (the pool's regions are memfds). */
static int memfd_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, "/memfd:") != NULL;
    fclose(f);
    return n;
}

static int alive(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp != NULL && rp[2] != 'Z' && rp[2] != 'X';
}

/* ------------------------------------------------------------ results equal */

static void check_random(uint32_t order)
{
    uint64_t rs = tu_seed() ^ order;
    enum { N = 400 };
    static uint8_t tasks[N][512];
    static size_t lens[N];
    struct jobctx c = {.rounds = 3};
    ipcx_pool *p = mkpool(3, order, &c);
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        lens[i] = rand_task(&rs, tasks[i], sizeof(tasks[i]));
        assert_int_equal(ipcx_pool_submit(p, tasks[i], lens[i], &ids[i], 10 * SEC), 0);
        assert_true(ids[i] == (uint64_t)i + 1);
    }
    int seen[N] = {0};
    for (int k = 0; k < N; k++) {
        ipcx_pool_result r;
        uint64_t got[3], want[3];
        assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 30 * SEC), 0);
        assert_true(r.id >= 1 && r.id <= N);
        int i = (int)(r.id - 1);
        if (order == IPCX_POOL_SUBMISSION)
            assert_int_equal(i, k);
        assert_false(seen[i]);
        seen[i] = 1;
        assert_int_equal(r.status, (int)sizeof(got));
        assert_int_equal(r.len, sizeof(got));
        assert_int_equal(r.attempts, 1);
        digest(tasks[i], lens[i], c.rounds, want);
        assert_memory_equal(got, want, sizeof(want));
    }
    ipcx_pool_result r;
    assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 0), -ENOENT);
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_int_equal(st.local, 3);
    assert_true(st.done == N && st.submitted == N && st.failed == 0 && st.deaths == 0);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < st.nworker; i++)
        sum += st.worker[i].done;
    assert_true(sum == N);
    ipcx_pool_destroy(p);
}

static void test_random_completion_order(void **state)
{
    (void)state;
    check_random(IPCX_POOL_COMPLETION);
}

static void test_random_submission_order(void **state)
{
    (void)state;
    check_random(IPCX_POOL_SUBMISSION);
}

static void test_map_equals_single(void **state)
{
    (void)state;
    uint64_t rs = tu_seed() + 7;
    enum { N = 300, TS = 96 };
    static uint8_t tasks[N * TS];
    for (size_t i = 0; i < sizeof(tasks); i++)
        tasks[i] = (uint8_t)(tu_rand(&rs) % 0xA0);
    uint64_t results[N][3];
    int status[N];
    struct jobctx c = {.rounds = 2};
    ipcx_pool *p = mkpool(2, IPCX_POOL_COMPLETION, &c);
    assert_int_equal(ipcx_pool_map(p, tasks, TS, N, results, sizeof(results[0]), status, 30 * SEC),
                     0);
    for (int i = 0; i < N; i++) {
        uint64_t want[3];
        digest(tasks + i * TS, TS, c.rounds, want);
        assert_int_equal(status[i], 24);
        assert_memory_equal(results[i], want, sizeof(want));
    }
    /* An empty map, and map again on the same pool. */
    assert_int_equal(ipcx_pool_map(p, tasks, TS, 0, results, sizeof(results[0]), NULL, SEC), 0);
    assert_int_equal(ipcx_pool_map(p, tasks, TS, 5, results, sizeof(results[0]), NULL, 10 * SEC),
                     0);
    /* map with a result slot too small: each status says so. */
    uint8_t small[5][8];
    assert_int_equal(ipcx_pool_map(p, tasks, TS, 5, small, sizeof(small[0]), status, 10 * SEC), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(status[i], -EMSGSIZE);
    /* map while another task is outstanding. */
    assert_int_equal(ipcx_pool_submit(p, "x", 1, NULL, SEC), 0);
    assert_int_equal(ipcx_pool_map(p, tasks, TS, 2, results, sizeof(results[0]), NULL, SEC),
                     -EBUSY);
    ipcx_pool_destroy(p);
}

static void test_shared_input_ref_and_output(void **state)
{
    (void)state;
    uint64_t rs = tu_seed() + 11;
    size_t in_len = 1 << 20;
    uint8_t *in = malloc(in_len);
    assert_non_null(in);
    for (size_t i = 0; i < in_len; i++)
        in[i] = (uint8_t)(tu_rand(&rs) % 0xA0);
    ipcx_pool_opts o = {0};
    o.workers = 2;
    o.fn = job_fn;
    o.input = in;
    o.input_len = in_len;
    o.output_size = 4096;
    o.order = IPCX_POOL_SUBMISSION;
    ipcx_pool *p = NULL;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    enum { N = 64 };
    uint64_t off[N], len[N];
    for (int i = 0; i < N; i++) {
        off[i] = tu_rand(&rs) % in_len;
        len[i] = tu_rand(&rs) % (in_len - off[i] < 100000 ? in_len - off[i] : 100000);
        assert_int_equal(ipcx_pool_submit_ref(p, off[i], len[i], NULL, 10 * SEC), 0);
    }
    memset(in, 0, in_len); /* the pool's copy is what counts */
    rs = tu_seed() + 11;
    for (size_t i = 0; i < in_len; i++)
        in[i] = (uint8_t)(tu_rand(&rs) % 0xA0);
    for (int i = 0; i < N; i++) {
        uint64_t got[3], want[3];
        ipcx_pool_result r;
        assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 30 * SEC), 0);
        assert_int_equal(r.status, 24);
        digest(in + off[i], len[i], 1, want);
        assert_memory_equal(got, want, sizeof(want));
    }
    assert_int_equal(ipcx_pool_submit_ref(p, in_len, 1, NULL, SEC), -ERANGE);
    assert_int_equal(ipcx_pool_submit_ref(p, 1, in_len, NULL, SEC), -ERANGE);
    assert_int_equal(ipcx_pool_submit_ref(p, in_len, 0, NULL, SEC), 0);
    ipcx_pool_result r;
    assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 10 * SEC), -EMSGSIZE);
    uint64_t buf[3];
    assert_int_equal(ipcx_pool_wait(p, &r, buf, sizeof(buf), 10 * SEC), 0);
    /* Workers write into the shared output region. */
    size_t olen;
    uint64_t *outp = ipcx_pool_output(p, &olen);
    assert_non_null(outp);
    assert_true(olen >= 4096);
    uint64_t ids[20];
    for (uint8_t i = 0; i < 20; i++) {
        uint8_t t[2] = {0xAA, i};
        assert_int_equal(ipcx_pool_submit(p, t, 2, &ids[i], SEC), 0);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 10 * SEC), 0);
        assert_int_equal(r.status, 0);
    }
    for (int i = 0; i < 20; i++)
        assert_true(outp[i] == ids[i] * 3);
    ipcx_pool_destroy(p);
    free(in);
}

static void test_input_file_mapped(void **state)
{
    (void)state;
    char path[] = "/tmp/ipcx-pool-in-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd > 0);
    unlink(path);
    uint8_t blk[4096];
    for (size_t i = 0; i < sizeof(blk); i++)
        blk[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 16; i++)
        assert_int_equal(write(fd, blk, sizeof(blk)), (int)sizeof(blk));
    ipcx_pool_opts o = {0};
    o.workers = 2;
    o.fn = job_fn;
    o.input_fd = fd;
    o.input_len = 16 * sizeof(blk);
    ipcx_pool *p = NULL;
    o.input_len = 16 * sizeof(blk) + 1; /* more than the file holds */
    assert_int_equal(ipcx_pool_create(&o, &p), -EINVAL);
    o.input_len = 16 * sizeof(blk);
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(ipcx_pool_submit_ref(p, (uint64_t)i * sizeof(blk), sizeof(blk), NULL, SEC),
                         0);
    for (int i = 0; i < 16; i++) {
        uint64_t got[3], want[3];
        ipcx_pool_result r;
        assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 30 * SEC), 0);
        digest(blk, sizeof(blk), 1, want);
        assert_memory_equal(got, want, sizeof(want));
    }
    ipcx_pool_destroy(p);
    close(fd);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void **state)
{
    (void)state;
    ipcx_pool *p = NULL;
    ipcx_pool_opts o = {0};
    assert_int_equal(ipcx_pool_create(&o, &p), -EINVAL); /* no function */
    assert_int_equal(ipcx_pool_create(NULL, &p), -EINVAL);
    o.fn = job_fn;
    assert_int_equal(ipcx_pool_create(&o, NULL), -EINVAL);
    o.reserved[1] = 1;
    assert_int_equal(ipcx_pool_create(&o, &p), -EINVAL);
    o.reserved[1] = 0;
    o.workers = IPCX_POOL_MAX_WORKERS + 1;
    assert_int_equal(ipcx_pool_create(&o, &p), -EINVAL);
    o.workers = IPCX_POOL_NO_WORKERS; /* none, and nowhere to listen */
    assert_int_equal(ipcx_pool_create(&o, &p), -EINVAL);
    o.workers = 1;
    o.order = 2;
    assert_int_equal(ipcx_pool_create(&o, &p), -EINVAL);
    o.order = 0;
    o.max_task = 64;
    o.max_result = 32;
    o.max_queued = 2;
    o.retries = 1;
    assert_null(p);
    assert_int_equal(ipcx_pool_create(&o, &p), 0);

    uint8_t big[65] = {0};
    assert_int_equal(ipcx_pool_submit(p, big, sizeof(big), NULL, SEC), -EMSGSIZE);
    assert_int_equal(ipcx_pool_submit(p, NULL, 3, NULL, SEC), -EINVAL);
    assert_int_equal(ipcx_pool_submit_ref(p, 0, 1, NULL, SEC), -ERANGE); /* no input */
    ipcx_pool_result r;
    assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, SEC), -ENOENT);
    assert_null(ipcx_pool_output(p, NULL));

    /* The function's error, and a result over max_result. */
    uint8_t e[1] = {0xEE}, c[1] = {0xCC};
    assert_int_equal(ipcx_pool_submit(p, e, 1, NULL, SEC), 0);
    assert_int_equal(ipcx_pool_submit(p, c, 1, NULL, SEC), 0);
    int saw_e = 0, saw_c = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 10 * SEC), 0);
        saw_e += r.status == -ENOTRECOVERABLE;
        saw_c += r.status == -EMSGSIZE;
    }
    assert_true(saw_e == 1 && saw_c == 1);

    /* One worker busy on slow tasks: one running, two queued fill
     * max_queued; the next submit waits and times out; wait NOWAIT says
     * -EAGAIN. */
    uint8_t slow[2] = {0xBB, 10}; /* 500 ms: none finishes before the checks below */
    o.depth = 1;
    ipcx_pool_destroy(p);
    p = NULL;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipcx_pool_submit(p, slow, 2, NULL, SEC), 0);
    assert_int_equal(ipcx_pool_submit(p, slow, 2, NULL, 0), -EAGAIN);
    assert_int_equal(ipcx_pool_submit(p, slow, 2, NULL, 1000000), -ETIMEDOUT);
    assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 0), -EAGAIN);
    /* A too small buffer keeps the result. */
    uint8_t t1[4] = {1, 2, 3, 4};
    ipcx_pool_destroy(p); /* drains the slow tasks */
    p = NULL;
    o.depth = 0;
    o.max_queued = 0;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    assert_int_equal(ipcx_pool_submit(p, t1, 4, NULL, SEC), 0);
    uint8_t tiny[4];
    assert_int_equal(ipcx_pool_wait(p, &r, tiny, sizeof(tiny), 10 * SEC), -EMSGSIZE);
    assert_int_equal(r.len, 24);
    uint64_t got[3];
    assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 10 * SEC), 0);
    assert_int_equal(r.len, 24);
    ipcx_pool_destroy(p);
    ipcx_pool_destroy(NULL);
    ipcx_pool_kill(NULL);
}

/* ------------------------------------------------------------ deaths */

static void test_poison_task_retry_limit(void **state)
{
    (void)state;
    ipcx_pool_opts o = {0};
    o.workers = 2;
    o.fn = job_fn;
    o.retries = 2;
    ipcx_pool *p = NULL;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    uint8_t poison[1] = {0xDD}, fine[3] = {1, 2, 3};
    uint64_t pid_id, ok_id;
    assert_int_equal(ipcx_pool_submit(p, poison, 1, &pid_id, SEC), 0);
    assert_int_equal(ipcx_pool_submit(p, fine, 3, &ok_id, SEC), 0);
    for (int i = 0; i < 2; i++) {
        ipcx_pool_result r;
        uint64_t got[3];
        assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 30 * SEC), 0);
        if (r.id == pid_id) {
            assert_int_equal(r.status, -EOWNERDEAD);
            assert_int_equal(r.signal, SIGKILL);
            assert_int_equal(r.attempts, 3);
        } else {
            assert_true(r.id == ok_id);
            assert_int_equal(r.status, 24);
        }
    }
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_true(st.deaths >= 3 && st.restarts >= 3 && st.retried == 2);
    assert_int_equal(st.local, 2);
    ipcx_pool_destroy(p);
    assert_int_equal(zombies(), 0);
}

static void test_sigkill_100_times(void **state)
{
    (void)state;
    int fds0 = tu_fd_count(), maps0 = memfd_maps();
    uint64_t rs = tu_seed() + 100;
    struct jobctx c = {.rounds = 2000};
    ipcx_pool_opts o = {0};
    o.workers = 3;
    o.fn = job_fn;
    o.ctx = &c;
    o.depth = 4;
    o.retries = 5;
    ipcx_pool *p = NULL;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    enum { MAXT = 4000 };
    static uint8_t tasks[MAXT][64];
    static size_t lens[MAXT];
    static int seen[MAXT];
    pid_t killed[100];
    memset(seen, 0, sizeof(seen));
    int submitted = 0, finished = 0, kills = 0, errors = 0;
    uint64_t last_done = 0;
    int64_t start = time(NULL);
    while (kills < 100 || finished < submitted) {
        assert_true(time(NULL) - start < 200);
        while (kills < 100 && submitted - finished < 40 && submitted < MAXT) {
            lens[submitted] = 8 + rand_task(&rs, tasks[submitted], 56);
            assert_int_equal(ipcx_pool_submit(p, tasks[submitted], lens[submitted], NULL, 10 * SEC),
                             0);
            submitted++;
        }
        ipcx_pool_result r;
        uint64_t got[3];
        int rc = ipcx_pool_wait(p, &r, got, sizeof(got), 2 * 1000000);
        if (rc == 0) {
            int i = (int)(r.id - 1);
            assert_true(i >= 0 && i < submitted && !seen[i]);
            seen[i] = 1;
            finished++;
            if (r.status == -EOWNERDEAD) {
                assert_int_equal(r.signal, SIGKILL);
                assert_int_equal(r.attempts, 6);
                errors++;
            } else {
                uint64_t want[3];
                assert_int_equal(r.status, 24);
                digest(tasks[i], lens[i], c.rounds, want);
                assert_memory_equal(got, want, sizeof(want));
            }
        } else {
            assert_int_equal(rc, -ETIMEDOUT);
        }
        /* Kill a worker that holds a task, once results flow again after
         * the previous kill (so the replacement is up). */
        ipcx_pool_stats st;
        assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
        if (kills < 100 && st.done > last_done) {
            for (uint32_t k = 0; k < st.nworker; k++) {
                uint32_t w = (uint32_t)((k + (uint32_t)kills) % st.nworker);
                int again = 0; /* killed already, its death not seen yet */
                for (int j = 0; j < kills; j++)
                    again |= killed[j] == st.worker[w].pid;
                if (st.worker[w].running > 0 && st.worker[w].pid > 0 && !again) {
                    killed[kills] = st.worker[w].pid;
                    assert_int_equal(kill(st.worker[w].pid, SIGKILL), 0);
                    kills++;
                    last_done = st.done;
                    break;
                }
            }
        }
    }
    /* The last kill may land after its worker's results: run one more
     * task until every death has been seen. */
    ipcx_pool_stats st;
    for (int tries = 0; tries < 100; tries++) {
        assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
        if (st.deaths >= 100)
            break;
        ipcx_pool_result r;
        uint64_t got[3];
        assert_int_equal(ipcx_pool_submit(p, "abc", 3, NULL, 10 * SEC), 0);
        assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 10 * SEC), 0);
    }
    assert_true(st.deaths >= 100);
    assert_true(st.restarts >= 100);
    assert_int_equal(st.local, 3);
    print_message("sigkill: %d tasks, %d kills, %llu retried, %d failed after the limit\n",
                  submitted, kills, (unsigned long long)st.retried, errors);
    ipcx_pool_destroy(p);
    assert_int_equal(zombies(), 0);
    assert_int_equal(tu_fd_count(), fds0);
    assert_int_equal(memfd_maps(), maps0);
}

/* A parent process made by fork: a pool with slow tasks; it writes its
 * workers' pids to @wfd and waits.  mode 1: it handles SIGINT itself with
 * ipcx_pool_kill. */
static ipcx_pool *g_pool;

static void on_sigint(int sig)
{
    (void)sig;
    ipcx_pool_kill(g_pool);
    _exit(3);
}

static pid_t start_parent(int mode, pid_t *wpids, int nw)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        ipcx_pool_opts o = {0};
        o.workers = (uint32_t)nw;
        o.fn = job_fn;
        o.depth = 1;
        if (ipcx_pool_create(&o, &g_pool) != 0)
            _exit(10);
        if (mode == 1)
            signal(SIGINT, on_sigint);
        uint8_t slow[1] = {0xBB};
        for (int i = 0; i < 1000; i++)
            ipcx_pool_submit(g_pool, slow, 1, NULL, SEC);
        ipcx_pool_stats st;
        ipcx_pool_stats_get(g_pool, &st);
        for (uint32_t i = 0; i < st.nworker; i++) {
            int32_t wp = st.worker[i].pid;
            if (write(pfd[1], &wp, sizeof(wp)) != sizeof(wp))
                _exit(11);
        }
        close(pfd[1]);
        ipcx_pool_result r;
        for (;;)
            ipcx_pool_wait(g_pool, &r, NULL, 0, IPCX_FOREVER);
    }
    close(pfd[1]);
    struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
    assert_true(poll(&pf, 1, 30000) == 1);
    for (int i = 0; i < nw; i++) {
        int32_t wp = 0;
        size_t got = 0;
        while (got < sizeof(wp)) {
            ssize_t n = read(pfd[0], (char *)&wp + got, sizeof(wp) - got);
            assert_true(n > 0);
            got += (size_t)n;
        }
        wpids[i] = wp;
        assert_true(alive(wp));
    }
    close(pfd[0]);
    return pid;
}

/* Every worker gone (reaped by us, their subreaper) within a second. */
static void expect_workers_gone(const pid_t *wpids, int nw)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int left = nw;
    while (left > 0) {
        left = 0;
        for (int i = 0; i < nw; i++) {
            if (wpids[i] == 0)
                continue;
            pid_t r = waitpid(wpids[i], NULL, WNOHANG);
            if (r == wpids[i] || (r < 0 && !alive(wpids[i])))
                ((pid_t *)wpids)[i] = 0;
            else
                left++;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        assert_true(ms < 1000);
        if (left > 0) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

static int count_regions_of(pid_t pid)
{
    int n = 0;
    ipcx_region_info info;
    DIR *d = opendir("/dev/shm");
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ipcx.", 5) != 0)
            continue;
        if (ipcx_region_stat(e->d_name + 5, &info) == 0 && info.creator_pid == pid)
            n++;
    }
    closedir(d);
    return n;
}

static void parent_signal_case(int mode, int sig, int want_status)
{
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pid_t w[2];
    pid_t parent = start_parent(mode, w, 2);
    assert_int_equal(kill(parent, sig), 0);
    int st;
    assert_int_equal(waitpid(parent, &st, 0), parent);
    if (want_status >= 0)
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == want_status);
    else
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == sig);
    expect_workers_gone(w, 2);
    assert_int_equal(count_regions_of(parent), 0);
    assert_int_equal(zombies(), 0);
}

static void test_sigint_parent(void **state)
{
    (void)state;
    parent_signal_case(0, SIGINT, -1);
}

static void test_sigterm_parent(void **state)
{
    (void)state;
    parent_signal_case(0, SIGTERM, -1);
}

static void test_parent_killed(void **state)
{
    (void)state;
    parent_signal_case(0, SIGKILL, -1);
}

static void test_sigint_handler_kill_helper(void **state)
{
    (void)state;
    parent_signal_case(1, SIGINT, 3);
}

/* A forked copy of the pool's process destroys its copy without touching
 * the parent's workers. */
static void test_fork_copy_destroy(void **state)
{
    (void)state;
    ipcx_pool *p = mkpool(2, IPCX_POOL_SUBMISSION, NULL);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        ipcx_pool_destroy(p);
        _exit(0);
    }
    assert_int_equal(tu_wait(c, 10000), 0);
    uint8_t t[3] = {1, 2, 3};
    assert_int_equal(ipcx_pool_submit(p, t, 3, NULL, SEC), 0);
    ipcx_pool_result r;
    uint64_t got[3];
    assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 10 * SEC), 0);
    assert_int_equal(r.status, 24);
    ipcx_pool_destroy(p);
}

/* Workers started with posix_spawn: this binary again, as "--spawned",
 * calling ipcx_pool_worker().  Results equal, with the shared input and
 * output regions; one spawned worker killed is replaced by another. */
static void test_spawned_workers(void **state)
{
    (void)state;
    uint64_t rs = tu_seed() + 21;
    enum { N = 200, IN = 65536 };
    static uint8_t in[IN];
    for (size_t i = 0; i < IN; i++)
        in[i] = (uint8_t)(tu_rand(&rs) % 0xA0);
    char *argv[] = {(char *)tu_self(), "--spawned", NULL};
    ipcx_pool_opts o = {0};
    o.workers = 2;
    o.exec_path = tu_self();
    o.exec_argv = argv;
    o.input = in;
    o.input_len = IN;
    o.output_size = 4096;
    o.order = IPCX_POOL_SUBMISSION;
    ipcx_pool *p = NULL;
    assert_int_equal(ipcx_pool_create(&o, &p), 0);
    uint64_t off[N], len[N];
    for (int i = 0; i < N; i++) {
        off[i] = tu_rand(&rs) % IN;
        len[i] = tu_rand(&rs) % (IN - off[i]);
        assert_int_equal(ipcx_pool_submit_ref(p, off[i], len[i], NULL, 10 * SEC), 0);
    }
    ipcx_pool_stats st;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_int_equal(st.local, 2);
    pid_t first = st.worker[0].pid;
    for (int i = 0; i < N; i++) {
        uint64_t got[3], want[3];
        ipcx_pool_result r;
        assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 30 * SEC), 0);
        assert_int_equal(r.status, 24);
        digest(in + off[i], len[i], 1, want);
        assert_memory_equal(got, want, sizeof(want));
        if (i == 20)
            kill(first, SIGKILL);
    }
    /* The shared output region, written by a spawned worker. */
    uint8_t t[2] = {0xAA, 3};
    uint64_t id;
    assert_int_equal(ipcx_pool_submit(p, t, 2, &id, SEC), 0);
    ipcx_pool_result r;
    assert_int_equal(ipcx_pool_wait(p, &r, NULL, 0, 30 * SEC), 0);
    assert_int_equal(r.status, 0);
    uint64_t *outp = ipcx_pool_output(p, NULL);
    assert_true(outp[3] == id * 3);
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0);
    assert_int_equal(st.local, 2);
    assert_true(st.deaths >= 1 && st.restarts >= 1);
    for (uint32_t i = 0; i < st.nworker; i++)
        assert_true(st.worker[i].pid != first);
    ipcx_pool_destroy(p);
    assert_int_equal(zombies(), 0);
}

/* ipcx_pool_worker outside a pool, and with a malformed variable. */
static void test_worker_entry_errors(void **state)
{
    (void)state;
    unsetenv("IPCX_POOL_WORKER");
    assert_int_equal(ipcx_pool_worker(job_fn, NULL), -ENOENT);
    assert_int_equal(ipcx_pool_worker(NULL, NULL), -EINVAL);
    const char *bad[] = {"",
                         "2:0:1:3:4:0:0:0:0:100",
                         "1:0:0:3:4:0:0:0:0:100",
                         "1:999:1:3:4:0:0:0:0:100",
                         "1:0:1:3:4:0:0:0:0:0",
                         "1:0:1:3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("IPCX_POOL_WORKER", bad[i], 1);
        assert_int_equal(ipcx_pool_worker(job_fn, NULL), -EPROTO);
    }
    /* Well formed, but the named parent is not ours. */
    setenv("IPCX_POOL_WORKER", "1:0:1:3:4:0:0:0:0:100", 1);
    assert_int_equal(ipcx_pool_worker(job_fn, NULL), -ECHILD);
    /* Our parent, but fds that are not sealed memfds. */
    char v[128];
    snprintf(v, sizeof(v), "1:0:%d:0:1:0:0:0:0:100", (int)getppid());
    setenv("IPCX_POOL_WORKER", v, 1);
    assert_int_equal(ipcx_pool_worker(job_fn, NULL), -EPROTO);
    unsetenv("IPCX_POOL_WORKER");
}

/* ipcx_pool_expose: the figures read back, `ipcx stat` and `ipcx ls` show
 * them, destroy removes the region. */
static void test_expose_stat_ls(void **state)
{
    (void)state;
    char name[96];
    tu_unique(name, sizeof(name), "pool");
    ipcx_pool *p = mkpool(2, IPCX_POOL_COMPLETION, NULL);
    assert_int_equal(ipcx_pool_expose(p, name), 0);
    assert_int_equal(ipcx_pool_expose(p, name), -EALREADY);
    for (int i = 0; i < 10; i++)
        assert_int_equal(ipcx_pool_submit(p, "abc", 3, NULL, SEC), 0);
    for (int i = 0; i < 10; i++) {
        ipcx_pool_result r;
        uint64_t got[3];
        assert_int_equal(ipcx_pool_wait(p, &r, got, sizeof(got), 10 * SEC), 0);
    }
    ipcx_pool_stats st, rd;
    assert_int_equal(ipcx_pool_stats_get(p, &st), 0); /* publishes */
    assert_int_equal(ipcx_pool_info_read(name, &rd), 0);
    assert_int_equal(rd.workers, 2);
    assert_int_equal(rd.local, 2);
    assert_true(rd.done == 10 && rd.submitted == 10 && rd.nworker == 2);
    assert_true(rd.worker[0].pid == st.worker[0].pid &&
                rd.worker[0].done + rd.worker[1].done == 10);
    char tool[4096], cmd[4300], out[8192];
    tu_build_path("tools/ipcx/ipcx", tool, sizeof(tool));
    snprintf(cmd, sizeof(cmd), "%s stat --json %s", tool, name);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"kind\":\"pool\""));
    assert_non_null(strstr(out, "\"done\":10"));
    assert_non_null(strstr(out, "\"workers\":2"));
    snprintf(cmd, sizeof(cmd), "%s stat %s", tool, name);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "10 done"));
    snprintf(cmd, sizeof(cmd), "%s ls | grep '^%s '", tool, name);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, " pool "));
    assert_non_null(strstr(out, "2 workers"));
    ipcx_region_info ri;
    assert_int_equal(ipcx_region_stat(name, &ri), 0);
    ipcx_pool_destroy(p);
    assert_int_equal(ipcx_region_stat(name, &ri), -ENOENT);
    assert_int_equal(ipcx_pool_info_read(name, &rd), -ENOENT);
    /* Another kind of region is not a pool. */
    ipcx_region *r;
    assert_int_equal(ipcx_region_create(name, 4096, NULL, &r), 0);
    assert_int_equal(ipcx_pool_info_read(name, &rd), -EMEDIUMTYPE);
    ipcx_region_close(r);
    ipcx_region_unlink(name);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--spawned") == 0)
        return ipcx_pool_worker(job_fn, NULL) == 0 ? 0 : 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_completion_order),
        cmocka_unit_test(test_random_submission_order),
        cmocka_unit_test(test_map_equals_single),
        cmocka_unit_test(test_shared_input_ref_and_output),
        cmocka_unit_test(test_input_file_mapped),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_poison_task_retry_limit),
        cmocka_unit_test(test_sigkill_100_times),
        cmocka_unit_test(test_sigint_parent),
        cmocka_unit_test(test_sigterm_parent),
        cmocka_unit_test(test_parent_killed),
        cmocka_unit_test(test_sigint_handler_kill_helper),
        cmocka_unit_test(test_fork_copy_destroy),
        cmocka_unit_test(test_spawned_workers),
        cmocka_unit_test(test_worker_entry_errors),
        cmocka_unit_test(test_expose_stat_ls),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
