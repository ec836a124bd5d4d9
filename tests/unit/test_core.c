// SPDX-License-Identifier: MIT
/*
 * core: error strings, deadlines, futex wait/wake (including a wake that
 * crosses a process boundary), and the log hook.
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "core/core.h"
#include "platform/platform.h"

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(ipcx_strerror(0), "success");
    assert_non_null(strstr(ipcx_strerror(-EPROTO), "protocol"));
    assert_non_null(strstr(ipcx_strerror(EPROTO), "protocol"));
    assert_non_null(strstr(ipcx_strerror(-EMSGSIZE), "too large"));
    /* The texts issue 13 asked for: a too-small buffer keeps the message,
     * an unpublished header is "not ready", -ENOENT names what is missing
     * (not endpoints that do not exist yet). */
    assert_non_null(strstr(ipcx_strerror(-EMSGSIZE), "receive buffer"));
    assert_non_null(strstr(ipcx_strerror(-EAGAIN), "not ready"));
    assert_non_null(strstr(ipcx_strerror(-ENOENT), "no region, ring, queue or file"));
    assert_non_null(strstr(ipcx_strerror(-EMEDIUMTYPE), "wrong kind of object"));
    assert_string_equal(ipcx_strerror(-99999), "unknown error");
    assert_non_null(ipcx_version());
    assert_true(strchr(ipcx_version(), '.') != NULL);
}

static void test_deadline(void **state)
{
    (void)state;
    ipcx__deadline now = ipcx__deadline_make(0);
    assert_true(ipcx__deadline_is_nowait(now));
    assert_true(ipcx__deadline_expired(now));
    ipcx__deadline never = ipcx__deadline_make(-1);
    assert_true(ipcx__deadline_is_forever(never));
    assert_false(ipcx__deadline_expired(never));
    assert_true(ipcx__deadline_left_ns(never) == INT64_MAX);
    ipcx__deadline soon = ipcx__deadline_make(1000000000);
    assert_false(ipcx__deadline_expired(soon));
    assert_true(ipcx__deadline_left_ns(soon) > 0);
    ipcx__deadline huge = ipcx__deadline_make(INT64_MAX);
    assert_true(huge.abs_ns == INT64_MAX); /* saturates, no overflow */
}

static void test_futex_timeout(void **state)
{
    (void)state;
    ipcx_atomic_u32 word = 7;
    /* Returns -ETIMEDOUT, and does so only after the deadline passed. */
    ipcx__deadline d = ipcx__deadline_make(20 * 1000000);
    int rc;
    do {
        rc = ipcx__futex_wait(&word, 7, d);
    } while (rc == 0);
    assert_int_equal(rc, -ETIMEDOUT);
    assert_true(ipcx__deadline_expired(d));
    /* NOWAIT never sleeps. */
    assert_int_equal(ipcx__futex_wait(&word, 7, ipcx__deadline_make(0)), -ETIMEDOUT);
    /* A value that already differs returns 0 at once. */
    assert_int_equal(ipcx__futex_wait(&word, 8, ipcx__deadline_make(-1)), 0);
}

static void test_futex_cross_process_wake(void **state)
{
    (void)state;
    ipcx_atomic_u32 *w =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(w != MAP_FAILED);
    store_relaxed(&w[0], 0); /* the flag the child waits on */
    store_relaxed(&w[1], 0); /* the child says it is about to sleep */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Pairs with the parent's store_release of w[1] below: nothing to
         * publish, the flag only tells the parent the child is running. */
        store_release(&w[1], 1);
        ipcx__deadline d = ipcx__deadline_make(10LL * 1000000000);
        while (load_acquire(&w[0]) == 0) { /* pairs with parent's store_release(&w[0]) */
            if (ipcx__futex_wait(&w[0], 0, d) == -ETIMEDOUT)
                _exit(2);
        }
        _exit(load_relaxed(&w[0]) == 42 ? 0 : 3);
    }
    while (load_acquire(&w[1]) == 0) /* pairs with the child's store_release(&w[1]) */
        ipcx__cpu_relax();
    store_release(&w[0], 42); /* publishes 42; pairs with the child's load_acquire */
    /* The child may not be asleep yet; wake until it has exited. */
    for (int i = 0; i < 100000; i++) {
        int rc = ipcx__futex_wake(&w[0], 1);
        assert_true(rc >= 0);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            assert_true(WIFEXITED(st));
            assert_int_equal(WEXITSTATUS(st), 0);
            munmap(w, 4096);
            return;
        }
        usleep(100);
    }
    kill(pid, SIGKILL);
    fail_msg("child never woke");
}

static void test_proc_alive(void **state)
{
    (void)state;
    int self = (int)getpid();
    uint64_t start = ipcx__proc_start_time(self);
    assert_true(start != 0);
    assert_int_equal(ipcx__proc_alive(self, 0), 1);
    assert_int_equal(ipcx__proc_alive(self, start), 1);
    assert_int_equal(ipcx__proc_alive(self, start + 1), 0); /* pid reused */
    assert_int_equal(ipcx__proc_alive(0, 0), 0);
    assert_int_equal(ipcx__proc_alive(-5, 0), 0);

    /* A child that exited but is not reaped yet (a zombie) is gone. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    /* WNOWAIT: wait until it has exited, but leave it a zombie. */
    assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    assert_int_equal(ipcx__proc_alive((int)pid, 0), 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_int_equal(ipcx__proc_alive((int)pid, 0), 0);
}

static int log_calls;
static char log_last[256];
static void hook(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    log_calls++;
    snprintf(log_last, sizeof(log_last), "%s", msg);
}

static void test_log_hook(void **state)
{
    (void)state;
    log_calls = 0;
    IPCX_LOGE("not delivered %d", 1);
    assert_int_equal(log_calls, 0);
    ipcx_log_set(hook, NULL, IPCX_LOG_WARN);
    IPCX_LOGE("hello %d", 2);
    IPCX_LOGD("filtered");
    assert_int_equal(log_calls, 1);
    assert_string_equal(log_last, "hello 2");
    ipcx_log_set(NULL, NULL, IPCX_LOG_ERROR);
    IPCX_LOGE("silent");
    assert_int_equal(log_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),      cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_futex_timeout), cmocka_unit_test(test_futex_cross_process_wake),
        cmocka_unit_test(test_log_hook),      cmocka_unit_test(test_proc_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
