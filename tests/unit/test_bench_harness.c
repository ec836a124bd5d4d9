// SPDX-License-Identifier: MIT
/*
 * The bench harness (bench/harness.h) that every suite relies on: a working
 * transport yields a row; a side whose setup fails, a side that dies and a
 * side that hangs each yield a failure (not a hang, not a crash) within the
 * case's deadline; percentiles come from sorted samples; the byte helpers
 * survive one-byte reads and writes.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "harness.h"

enum fault { FAULT_NONE, FAULT_SETUP, FAULT_DIE, FAULT_HANG };

/* A socketpair transport with an injectable fault on side B. */
struct tstate {
    enum fault fault;
    size_t size;
    int sv[2];
    int fd;
    enum bench_side side;
    unsigned received;
    unsigned char buf[256];
};

static int t_prepare(void *arg)
{
    struct tstate *s = arg;
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->sv) < 0 ? -errno : 0;
}

static void t_release(void *arg)
{
    struct tstate *s = arg;
    close(s->sv[0]);
    close(s->sv[1]);
}

static int t_setup(void *arg, enum bench_side side, int ctl)
{
    struct tstate *s = arg;
    (void)ctl;
    s->side = side;
    s->fd = s->sv[side == BENCH_SIDE_A ? 0 : 1];
    close(s->sv[side == BENCH_SIDE_A ? 1 : 0]);
    return side == BENCH_SIDE_B && s->fault == FAULT_SETUP ? -ECONNREFUSED : 0;
}

static int t_send(void *arg, enum bench_flag flag)
{
    struct tstate *s = arg;
    bench_msg_set_flag(s->buf, flag);
    return bench_write_full(s->fd, s->buf, s->size);
}

static int t_recv(void *arg)
{
    struct tstate *s = arg;
    if (s->side == BENCH_SIDE_B && ++s->received > 50) {
        if (s->fault == FAULT_DIE)
            _exit(3);
        while (s->fault == FAULT_HANG) /* never answers; A blocks too */
            pause();
    }
    int rc = bench_read_full(s->fd, s->buf, s->size);
    return rc < 0 ? rc : bench_msg_flag(s->buf);
}

static const bench_ops t_ops = {
    .prepare = t_prepare,
    .release = t_release,
    .setup = t_setup,
    .send = t_send,
    .recv = t_recv,
};

/* A quick JSON context writing to a temporary file. */
static bench_ctx make_ctx(FILE *out)
{
    bench_ctx ctx = {.quick = true, .json = true, .cpu_a = 0, .cpu_b = 1, .out = out};
    ctx.pinned = sysconf(_SC_NPROCESSORS_ONLN) > 1;
    return ctx;
}

static void read_back(FILE *f, char *buf, size_t cap)
{
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

static void run_ok(int pingpong)
{
    FILE *out = tmpfile();
    assert_non_null(out);
    bench_ctx ctx = make_ctx(out);
    struct tstate st = {.size = pingpong ? 64 : 200};
    bench_case c = {.transport = "test-pair",
                    .size = st.size,
                    .wait = "block",
                    .budget_ns = 20000000,
                    .warmup_ns = 1000000,
                    .min_count = 1000};
    int rc = pingpong ? bench_run_pingpong(&ctx, &c, &t_ops, &st)
                      : bench_run_stream(&ctx, &c, &t_ops, &st);
    assert_int_equal(rc, 0);
    assert_int_equal(ctx.rows, 1);
    assert_int_equal(ctx.failures, 0);
    char text[1024];
    read_back(out, text, sizeof(text));
    assert_non_null(strstr(text, "\"transport\":\"test-pair\""));
    assert_non_null(strstr(text, pingpong ? "\"rtt_ns_p999\":" : "\"bytes_per_s\":"));
    unsigned long long samples = 0;
    const char *p = strstr(text, "\"samples\":");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\"samples\":%llu", &samples), 1);
    assert_true(samples >= 1000); /* min_count holds past the budget */
    /* The cache-line floor probed before and after the case, and their mean. */
    double before = 0, after = 0, mean = 0;
    assert_non_null(p = strstr(text, "\"floor_rtt_ns\":"));
    assert_int_equal(sscanf(p, "\"floor_rtt_ns\":%lf", &mean), 1);
    assert_non_null(p = strstr(text, "\"floor_rtt_ns_before\":"));
    assert_int_equal(sscanf(p, "\"floor_rtt_ns_before\":%lf", &before), 1);
    assert_non_null(p = strstr(text, "\"floor_rtt_ns_after\":"));
    assert_int_equal(sscanf(p, "\"floor_rtt_ns_after\":%lf", &after), 1);
    assert_true(before > 0 && after > 0 && mean >= (before + after) / 2 - 1 &&
                mean <= (before + after) / 2 + 1);
    assert_int_equal(ctx.failures, 0); /* the probes are not rows */
    fclose(out);
}

static void test_pingpong_ok(void **state)
{
    (void)state;
    run_ok(1);
}

static void test_stream_ok(void **state)
{
    (void)state;
    run_ok(0);
}

/* A faulty side: the case fails with a negative errno, emits no row, says
 * why on stderr, and returns within its deadline. */
static void run_fault(enum fault fault, int pingpong, const char *why)
{
    FILE *out = tmpfile(), *err = tmpfile();
    assert_true(out != NULL && err != NULL);
    bench_ctx ctx = make_ctx(out);
    struct tstate st = {.fault = fault, .size = 64};
    bench_case c = {.transport = "test-pair",
                    .size = 64,
                    .wait = "block",
                    .budget_ns = 50000000,
                    .warmup_ns = 1000000,
                    .deadline_ns = 2000000000};
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(err), 2);
    uint64_t t0 = bench_now_ns();
    int rc = pingpong ? bench_run_pingpong(&ctx, &c, &t_ops, &st)
                      : bench_run_stream(&ctx, &c, &t_ops, &st);
    uint64_t took = bench_now_ns() - t0;
    dup2(saved, 2);
    close(saved);
    char text[1024];
    read_back(err, text, sizeof(text));
    fprintf(stderr, "# %s", text);
    assert_true(rc < 0);
    assert_int_equal(ctx.rows, 0);
    assert_int_equal(ctx.failures, 1);
    assert_true(took < 30000000000ull); /* returned, not hung */
    if (strstr(text, why) == NULL)
        fail_msg("expected '%s' in '%s'", why, text);
    if (fault == FAULT_HANG)
        assert_int_equal(rc, -ETIMEDOUT);
    fclose(out);
    fclose(err);
}

static void test_faults(void **state)
{
    (void)state;
    for (int pp = 0; pp < 2; pp++) {
        run_fault(FAULT_SETUP, pp, "side B: setup: Connection refused");
        run_fault(FAULT_DIE, pp, "side B: exited with status 3");
        run_fault(FAULT_HANG, pp, "timed out");
    }
}

static void test_filter(void **state)
{
    (void)state;
    bench_ctx ctx = make_ctx(stdout);
    ctx.filter = "pipe,other";
    struct tstate st = {.size = 64};
    bench_case c = {.transport = "test-pair", .size = 64, .wait = "block"};
    assert_int_equal(bench_run_pingpong(&ctx, &c, &t_ops, &st), 1);
    assert_int_equal(ctx.rows + ctx.failures, 0);
}

static void test_percentiles(void **state)
{
    (void)state;
    uint64_t s[1000];
    for (unsigned i = 0; i < 1000; i++)
        s[i] = (i * 7919u) % 1000u + 1; /* 1..1000, shuffled */
    bench_row row = {0};
    bench_percentiles(&row, s, 1000);
    assert_true(row.rtt_ns_p50 == 500 && row.rtt_ns_p99 == 990 && row.rtt_ns_p999 == 999);
    assert_int_equal(row.samples, 1000);
    uint64_t one = 42;
    bench_percentiles(&row, &one, 1);
    assert_true(row.rtt_ns_p50 == 42 && row.rtt_ns_p999 == 42);
}

/* bench_read_full/bench_write_full across one-byte pieces and EOF. */
static void test_full_io(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        for (int i = 0; i < 300; i++) {
            unsigned char b = (unsigned char)i;
            if (bench_write_full(sv[1], &b, 1) < 0)
                _exit(1);
        }
        _exit(0);
    }
    close(sv[1]);
    unsigned char buf[300];
    assert_int_equal(bench_read_full(sv[0], buf, sizeof(buf)), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(buf[i], (unsigned char)i);
    assert_int_equal(bench_read_full(sv[0], buf, 1), -EPIPE);
    assert_int_equal(tu_wait(pid, 10000), 0);
    close(sv[0]);
    unsigned char m[4] = "9xyz";
    assert_int_equal(bench_msg_flag(m), -EPROTO);
    bench_msg_set_flag(m, BENCH_LAST);
    assert_int_equal(bench_msg_flag(m), BENCH_LAST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles), cmocka_unit_test(test_full_io),
        cmocka_unit_test(test_filter),      cmocka_unit_test(test_pingpong_ok),
        cmocka_unit_test(test_stream_ok),   cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
