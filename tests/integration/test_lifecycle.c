// SPDX-License-Identifier: MIT
/*
 * The life cycle of rings and queues: after a creator was killed with
 * SIGKILL, re-creating the name is -EEXIST, IPCX_CREATE_REPLACE_STALE
 * replaces the dead object, IPCX_CREATE_OPEN opens a live one (returning
 * 1), and a live object is never replaced.  Helpers are real processes
 * (tu_spawn) that die by SIGKILL.  Signals and shutdown: a signal whose
 * handler has no SA_RESTART makes a blocked recv return -EINTR at once;
 * ipcx_*_interrupt() from a signal handler or another thread ends every
 * wait on the handle with -ECANCELED.
 */
#include "testutil.h"
#include "region_testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#define WAITMS 20000

static int run_helper(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "ring-killed") == 0) {
        ipcx_ring *r = NULL;
        if (ipcx_ring_create(argv[1], NULL, &r) != 0 || ipcx_ring_send(r, "old", 3, 0) != 0)
            return 1;
        raise(SIGKILL);
    }
    if (argc >= 2 && strcmp(argv[0], "queue-killed") == 0) {
        ipcx_queue *q = NULL;
        if (ipcx_queue_create(argv[1], NULL, &q) != 0 || ipcx_queue_send(q, "old", 3, NULL, 0) != 0)
            return 1;
        raise(SIGKILL);
    }
    if (argc >= 2 && strcmp(argv[0], "ring-consumer-killed") == 0) {
        /* Attach as a consumer of a ring whose creator is dead, and die. */
        ipcx_ring *r = NULL;
        if (ipcx_ring_open(argv[1], &r) != 0 || ipcx_ring_join(r, IPCX_RING_CONSUMER) != 0)
            return 1;
        raise(SIGKILL);
    }
    if (argc >= 2 && strcmp(argv[0], "ring-producer-killed") == 0) {
        ipcx_ring *r = NULL;
        if (ipcx_ring_open(argv[1], &r) != 0 || ipcx_ring_send(r, "a", 1, 0) != 0 ||
            ipcx_ring_send(r, "b", 1, 0) != 0)
            return 1;
        raise(SIGKILL);
    }
    if (argc >= 2 && strcmp(argv[0], "queue-producer-killed") == 0) {
        ipcx_queue *q = NULL;
        if (ipcx_queue_open(argv[1], NULL, &q) != 0 || ipcx_queue_send(q, "a", 1, NULL, 0) != 0)
            return 1;
        raise(SIGKILL);
    }
    return 99;
}

static void kill_helper(const char *what, const char *name)
{
    pid_t pid = tu_spawn("--helper", what, name, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 128 + SIGKILL);
}

static void test_ring_replace_stale(void **state)
{
    (void)state;
    char name[128];
    tu_unique(name, sizeof(name), "lc-ring");
    kill_helper("ring-killed", name);
    ipcx_ring *r = NULL;
    char b[16];
    assert_int_equal(ipcx_ring_create(name, NULL, &r), -EEXIST);
    /* OPEN alone opens the dead creator's ring: its record is there. */
    ipcx_ring_opts o = {.create = IPCX_CREATE_OPEN};
    assert_int_equal(ipcx_ring_create(name, &o, &r), 1);
    ipcx_ring_close(r);
    /* REPLACE_STALE: a new, empty ring under the name. */
    o.create = IPCX_CREATE_REPLACE_STALE;
    assert_int_equal(ipcx_ring_create(name, &o, &r), 0);
    assert_int_equal(ipcx_ring_send(r, "new", 3, 0), 0); /* the first record: "old" is gone */
    /* A live ring is never replaced: -EEXIST, or opened with OPEN too. */
    ipcx_ring *r2 = NULL;
    assert_int_equal(ipcx_ring_create(name, &o, &r2), -EEXIST);
    o.create = IPCX_CREATE_REPLACE_STALE | IPCX_CREATE_OPEN;
    assert_int_equal(ipcx_ring_create(name, &o, &r2), 1);
    assert_int_equal(ipcx_ring_recv(r2, b, sizeof(b), 0), 3);
    assert_memory_equal(b, "new", 3);
    ipcx_ring_close(r2);
    ipcx_ring_close(r);
    /* Bad bits are refused. */
    o.create = 8;
    assert_int_equal(ipcx_ring_create(name, &o, &r2), -EINVAL);
    ipcx_ring_unlink(name);
}

static void test_ring_dead_consumer_is_stale(void **state)
{
    (void)state;
    char name[128];
    tu_unique(name, sizeof(name), "lc-cons");
    kill_helper("ring-killed", name);
    /* A consumer attaches and dies too: still stale (every peer dead). */
    kill_helper("ring-consumer-killed", name);
    ipcx_ring_opts o = {.create = IPCX_CREATE_REPLACE_STALE, .capacity = 8192};
    ipcx_ring *r = NULL;
    assert_int_equal(ipcx_ring_create(name, &o, &r), 0);
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    assert_int_equal(st.capacity, 8192); /* ours, not the old one */
    assert_int_equal(st.consumers, 0);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
}

static void test_queue_replace_stale(void **state)
{
    (void)state;
    char name[128];
    tu_unique(name, sizeof(name), "lc-queue");
    kill_helper("queue-killed", name);
    ipcx_queue *q = NULL;
    char b[16];
    assert_int_equal(ipcx_queue_create(name, NULL, &q), -EEXIST);
    ipcx_queue_opts o = {.create = IPCX_CREATE_OPEN};
    assert_int_equal(ipcx_queue_create(name, &o, &q), 1);
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, 0), 3); /* the dead one's message */
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

static void test_queue_replace_stale_new(void **state)
{
    (void)state;
    char name[128];
    tu_unique(name, sizeof(name), "lc-queue2");
    kill_helper("queue-killed", name);
    ipcx_queue_opts o = {.create = IPCX_CREATE_REPLACE_STALE};
    ipcx_queue *q = NULL, *q2 = NULL;
    char b[16];
    assert_int_equal(ipcx_queue_create(name, &o, &q), 0);
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, 0), -EAGAIN); /* a new queue */
    assert_int_equal(ipcx_queue_create(name, &o, &q2), -EEXIST);          /* we are alive */
    o.create |= IPCX_CREATE_OPEN;
    assert_int_equal(ipcx_queue_create(name, &o, &q2), 1);
    ipcx_queue_close(q2);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
    o.create = 4;
    assert_int_equal(ipcx_queue_create(name, &o, &q), -EINVAL);
}

/* ------------------------------------------------------------ signals */

static ipcx_ring *g_ring;
static ipcx_queue *g_queue;

static void on_alarm_nothing(int sig)
{
    (void)sig;
}

static void on_alarm_interrupt(int sig)
{
    (void)sig;
    if (g_ring != NULL)
        ipcx_ring_interrupt(g_ring); /* async-signal-safe */
    if (g_queue != NULL)
        ipcx_queue_interrupt(g_queue);
}

static void arm(void (*fn)(int), int restart, long ms)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    /* Then every 20 ms: a signal that lands while the call is between two
     * sleeps (spinning, in membarrier) is not seen, the next one is. */
    struct itimerval it = {{0, 20000}, {ms / 1000, (ms % 1000) * 1000}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void disarm(void)
{
    struct itimerval it = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define SEC ((int64_t)1000000000)

static void test_ring_eintr_and_interrupt(void **state)
{
    (void)state;
    char name[128], b[16];
    tu_unique(name, sizeof(name), "lc-sig");
    ipcx_ring *r = NULL, *p = NULL;
    assert_int_equal(ipcx_ring_create(name, NULL, &r), 0);
    assert_int_equal(ipcx_ring_open(name, &p), 0);
    /* No SA_RESTART: -EINTR when the signal comes, long before the 20 s. */
    arm(on_alarm_nothing, 0, 200);
    int64_t t0 = now_ms();
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 20 * SEC), -EINTR);
    disarm();
    assert_true(now_ms() - t0 < 10000);
    /* SA_RESTART too: the wait is a timed one, which the kernel does not
     * restart. */
    arm(on_alarm_nothing, 1, 200);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 20 * SEC), -EINTR);
    disarm();
    /* ipcx_ring_interrupt() from the handler (SA_RESTART or not): the
     * blocked recv returns -ECANCELED, and so does every later wait. */
    g_ring = r;
    arm(on_alarm_interrupt, 1, 200);
    t0 = now_ms();
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 20 * SEC), -ECANCELED);
    disarm();
    assert_true(now_ms() - t0 < 10000);
    g_ring = NULL;
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), 20 * SEC), -ECANCELED);
    /* What is there at once is still delivered; other handles go on. */
    assert_int_equal(ipcx_ring_send(p, "x", 1, 0), 0);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), SEC), 1);
    assert_int_equal(ipcx_ring_send(p, "y", 1, 0), 0);
    assert_int_equal(ipcx_ring_interrupt(NULL), -EINVAL);
    signal(SIGALRM, SIG_DFL);
    ipcx_ring_close(p);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
}

static void *interrupt_later(void *arg)
{
    const struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ipcx_queue_interrupt(arg);
    return NULL;
}

static void test_queue_eintr_and_interrupt(void **state)
{
    (void)state;
    char name[128], b[16];
    tu_unique(name, sizeof(name), "lc-qsig");
    ipcx_queue *q = NULL;
    assert_int_equal(ipcx_queue_create(name, NULL, &q), 0);
    arm(on_alarm_nothing, 0, 200);
    int64_t t0 = now_ms();
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, 20 * SEC), -EINTR);
    disarm();
    assert_true(now_ms() - t0 < 10000);
    /* From another thread. */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, interrupt_later, q), 0);
    t0 = now_ms();
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, 20 * SEC), -ECANCELED);
    assert_true(now_ms() - t0 < 10000);
    pthread_join(t, NULL);
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, 20 * SEC), -ECANCELED);
    assert_int_equal(ipcx_queue_send(q, "x", 1, NULL, 0), 0);
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, SEC), 1);
    /* From a signal handler, on a fresh handle. */
    ipcx_queue *q2 = NULL;
    assert_int_equal(ipcx_queue_open(name, NULL, &q2), 0);
    g_queue = q2;
    arm(on_alarm_interrupt, 1, 200);
    assert_int_equal(ipcx_queue_recv(q2, b, sizeof(b), NULL, 20 * SEC), -ECANCELED);
    disarm();
    g_queue = NULL;
    signal(SIGALRM, SIG_DFL);
    ipcx_queue_close(q2);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

/* ------------------------------------------------------------ producers gone */

/* A consumer whose recv timed out tells "slow" from "nobody will ever send":
 * ipcx_ring_stat.producers_alive, ipcx_queue_info.producers. */
static void test_ring_every_producer_gone(void **state)
{
    (void)state;
    char name[128], b[8];
    tu_unique(name, sizeof(name), "lc-gone");
    ipcx_ring_opts o = {.max_producers = 2};
    ipcx_ring *r = NULL;
    assert_int_equal(ipcx_ring_create(name, &o, &r), 0);
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    assert_int_equal(st.producers_alive, 0); /* none joined yet */
    kill_helper("ring-producer-killed", name);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), SEC), 1);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), SEC), 1);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), SEC / 10), -ETIMEDOUT);
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    assert_int_equal(st.producers, 1); /* its slot, not yet taken over */
    assert_int_equal(st.producers_alive, 0);
    /* With a live producer, the same timeout means "slow". */
    ipcx_ring *p = NULL;
    assert_int_equal(ipcx_ring_open(name, &p), 0);
    assert_int_equal(ipcx_ring_join(p, IPCX_RING_PRODUCER), 0);
    assert_int_equal(ipcx_ring_recv(r, b, sizeof(b), SEC / 10), -ETIMEDOUT);
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    assert_int_equal(st.producers_alive, 1);
    ipcx_ring_close(p);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
}

static void test_queue_every_producer_gone(void **state)
{
    (void)state;
    char name[128], b[8];
    tu_unique(name, sizeof(name), "lc-qgone");
    ipcx_queue *q = NULL;
    ipcx_queue_opts o = {.role = IPCX_QUEUE_CONSUMER};
    assert_int_equal(ipcx_queue_create(name, &o, &q), 0);
    kill_helper("queue-producer-killed", name);
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, SEC), 1);
    assert_int_equal(ipcx_queue_recv(q, b, sizeof(b), NULL, SEC / 10), -ETIMEDOUT);
    ipcx_queue_info info;
    assert_int_equal(ipcx_queue_stats(q, &info), 0);
    assert_int_equal(info.producers, 0); /* live producers */
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

/* ------------------------------------------------------------ option errors */

static char g_log[4096];

static void keep_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof(g_log) - n, "%s\n", msg);
}

/* Every -EINVAL from an options struct says, through the log hook, which
 * field is wrong and what is allowed. */
static void test_option_errors_name_the_field(void **state)
{
    (void)state;
    char name[128];
    tu_unique(name, sizeof(name), "lc-opt");
    ipcx_log_set(keep_log, NULL, IPCX_LOG_ERROR);
    ipcx_ring *r = NULL;
    ipcx_ring_opts ro = {.capacity = 4096, .max_msg = 2033};
    g_log[0] = '\0';
    assert_int_equal(ipcx_ring_create(name, &ro, &r), -EINVAL);
    assert_non_null(strstr(g_log, "max_msg 2033 does not fit half of capacity 4096: at most 2032"));
    ro = (ipcx_ring_opts){.capacity = (uint64_t)1 << 31};
    g_log[0] = '\0';
    assert_int_equal(ipcx_ring_create(name, &ro, &r), -EINVAL);
    assert_non_null(strstr(g_log, "capacity 2147483648 is over the maximum"));
    ipcx_queue *q = NULL;
    ipcx_queue_opts qo = {.memory_limit = 1000};
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_create(name, &qo, &q), -EINVAL);
    assert_non_null(strstr(g_log, "memory_limit 1000: at least initial_segment (65536)"));
    qo = (ipcx_queue_opts){.max_segment = 4096, .initial_segment = 8192};
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_create(name, &qo, &q), -EINVAL);
    assert_non_null(strstr(g_log, "max_segment"));
    /* The handle's own options, and a consumer id past the table. */
    qo = (ipcx_queue_opts){.role = 8};
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_create(name, &qo, &q), -EINVAL);
    assert_non_null(strstr(g_log, "role 8: IPCX_QUEUE_PRODUCER and/or IPCX_QUEUE_CONSUMER"));
    qo = (ipcx_queue_opts){.wait = 5};
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_create(name, &qo, &q), -EINVAL);
    assert_non_null(strstr(g_log, "wait 5: IPCX_QUEUE_WAIT_BLOCK (0) or IPCX_QUEUE_WAIT_SPIN (1)"));
    qo = (ipcx_queue_opts){.start = 9};
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_create(name, &qo, &q), -EINVAL);
    assert_non_null(strstr(g_log, "start 9: IPCX_QUEUE_START_OLDEST"));
    qo = (ipcx_queue_opts){.reserved = {0, 3}};
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_create(name, &qo, &q), -EINVAL);
    assert_non_null(strstr(g_log, "reserved[1] is 3, must be 0"));
    qo = (ipcx_queue_opts){0};
    assert_int_equal(ipcx_queue_create(name, &qo, &q), 0);
    ipcx_queue *c = NULL;
    qo = (ipcx_queue_opts){.role = IPCX_QUEUE_CONSUMER, .consumer_id = 100000};
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_open(name, &qo, &c), -EINVAL);
    assert_non_null(strstr(g_log, "consumer_id 100000: 0 (any free slot) or 1 .. max_consumers"));
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
    /* A receive buffer smaller than the message: the log says how large
     * the message is (at info level), and the message stays. */
    ipcx_log_set(keep_log, NULL, IPCX_LOG_INFO);
    ipcx_ring_opts so = {.capacity = 4096};
    assert_int_equal(ipcx_ring_create(name, &so, &r), 0);
    char msg[100] = "0123456789", small[4], big[100];
    assert_int_equal(ipcx_ring_send(r, msg, 10, 0), 0);
    g_log[0] = '\0';
    assert_int_equal(ipcx_ring_recv(r, small, sizeof(small), 0), -EMSGSIZE);
    assert_non_null(strstr(g_log, "receive buffer too small (message is 10 bytes, buffer 4)"));
    assert_int_equal(ipcx_ring_recv(r, big, sizeof(big), 0), 10);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
    assert_int_equal(ipcx_queue_create(name, NULL, &q), 0);
    assert_int_equal(ipcx_queue_send(q, msg, 10, NULL, 0), 0);
    g_log[0] = '\0';
    assert_int_equal(ipcx_queue_recv(q, small, sizeof(small), NULL, 0), -EMSGSIZE);
    assert_non_null(strstr(g_log, "receive buffer too small (message is 10 bytes, buffer 4)"));
    assert_int_equal(ipcx_queue_recv(q, big, sizeof(big), NULL, 0), 10);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
    ipcx_log_set(NULL, NULL, 0);
    /* A capacity under the minimum is raised to it (documented). */
    ro = (ipcx_ring_opts){.capacity = 100};
    assert_int_equal(ipcx_ring_create(name, &ro, &r), 0);
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(r, &st), 0);
    assert_int_equal(st.capacity, IPCX_RING_MIN_CAPACITY);
    ipcx_ring_close(r);
    ipcx_ring_unlink(name);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    rt_private_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_replace_stale),
        cmocka_unit_test(test_ring_dead_consumer_is_stale),
        cmocka_unit_test(test_queue_replace_stale),
        cmocka_unit_test(test_queue_replace_stale_new),
        cmocka_unit_test(test_ring_eintr_and_interrupt),
        cmocka_unit_test(test_queue_eintr_and_interrupt),
        cmocka_unit_test(test_ring_every_producer_gone),
        cmocka_unit_test(test_queue_every_producer_gone),
        cmocka_unit_test(test_option_errors_name_the_field),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
