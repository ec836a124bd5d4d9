// SPDX-License-Identifier: MIT
/*
 * The life cycle of rings and queues: after a creator was killed with
 * SIGKILL, re-creating the name is -EEXIST, IPCX_CREATE_REPLACE_STALE
 * replaces the dead object, IPCX_CREATE_OPEN opens a live one (returning
 * 1), and a live object is never replaced.  Helpers are real processes
 * (tu_spawn) that die by SIGKILL.
 */
#include "testutil.h"
#include "region_testutil.h"

#include <errno.h>
#include <signal.h>
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
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
