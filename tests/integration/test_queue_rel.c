// SPDX-License-Identifier: MIT
/*
 * The queue: regressions of the reliability defects of issue 12.  A
 * hostile peer that never stops rewriting a segment's claim word, at the
 * claim CAS and at the closing CAS (the victim runs in a child process
 * under a bound, so that a spin for ever fails the test instead of hanging
 * it); a consumer in another pid namespace whose slot must not be taken;
 * a handle inherited across fork(), refused in the child.
 */
#include "testutil.h"

#define _GNU_SOURCE 1
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "queue/queue.h"

#define SEC INT64_C(1000000000)

static ipcx_queue *create_q(char *name, size_t cap, const ipcx_queue_opts *o)
{
    tu_unique(name, cap, "qrel");
    ipcx_queue *q = NULL;
    assert_int_equal(ipcx_queue_create(name, o, &q), 0);
    return q;
}

/* ------------------------------------------------------------ hostile claim */

static int g_fault_step;

/* The hostile peer: before each of the victim's CASes on the claim word,
 * change it - only its record count, so the end offset stays one an honest
 * producer could have written.  Every CAS fails, for ever. */
static void fault_bump_claim(int step, ipcx_atomic_u64 *claim)
{
    if (step == g_fault_step)
        store_relaxed(claim, load_relaxed(claim) + (UINT64_C(1) << 32));
}

/* In a child: send @n messages of @len bytes to a multi-producer queue with
 * the hostile hook at @step from the last one on.  Exit 0 when the last
 * send ends with -EPROTO, 1 on any other result, 2 on a setup failure; a
 * send that spins for ever is killed by the parent's bound. */
static void hostile_claim(int step, size_t len, int n)
{
    char name[64];
    ipcx_queue_opts o = {
        .initial_segment = 4096, .flags = IPCX_QUEUE_MULTI_PRODUCER, .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static uint8_t buf[4096];
        /* A handle of its own: the parent's is refused here (-ECHILD). */
        if (ipcx_queue_open(name, &o, &q) != 0)
            _exit(2);
        for (int i = 0; i < n - 1; i++)
            if (ipcx_queue_send(q, buf, len, NULL, 0) != 0)
                _exit(2);
        g_fault_step = step;
        ipcx__qfault = fault_bump_claim;
        int rc = ipcx_queue_send(q, buf, len, NULL, 50000000);
        ipcx__qfault = NULL;
        if (rc != -EPROTO)
            fprintf(stderr, "hostile claim (step %d): send gave %d\n", step, rc);
        _exit(rc == -EPROTO ? 0 : 1);
    }
    int st = tu_wait(pid, 10000);
    if (st == -1)
        fprintf(stderr, "hostile claim (step %d): send still spinning after 10 s\n", step);
    assert_int_equal(st, 0);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
}

/* A peer that keeps rewriting `claim` must not keep a multi-producer send
 * spinning in the claim CAS loop (try_claim) or the closing CAS loop
 * (seg_close) for as long as it goes on: honest producers cannot make more
 * CASes fail than a segment has record headers, so the victim gets
 * -EPROTO.  Both loops used to be unbounded: the child was killed at its
 * bound. */
static void test_hostile_claim_writer_bounded(void **state)
{
    (void)state;
    hostile_claim(IPCX__QFAULT_CLAIM_CAS, 16, 1);
    /* 3000 bytes: the second message does not fit, and closes the segment. */
    hostile_claim(IPCX__QFAULT_CLOSE_CAS, 3000, 2);
}

/* ------------------------------------------------------------ liveness */

/* In a child: a new pid namespace with its own /proc (unshare -p -f
 * --mount-proc), where a consumer opens @name, writes one byte to @ready
 * ('n' when its pid there is 1) and holds its slot until @w reaches EOF.
 * Exit 77 when the namespace cannot be made. */
static pid_t ns_consumer(const char *name, int ready, int w, int wclose)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    close(wclose);
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
        _exit(77);
    pid_t inner = fork();
    if (inner < 0)
        _exit(77);
    if (inner != 0) {
        int st;
        _exit(waitpid(inner, &st, 0) == inner && WIFEXITED(st) ? WEXITSTATUS(st) : 1);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        _exit(77);
    ipcx_queue_opts o = {.role = IPCX_QUEUE_CONSUMER};
    ipcx_queue *q = NULL;
    if (ipcx_queue_open(name, &o, &q) != 0)
        _exit(1);
    char c = getpid() == 1 ? 'n' : 'x';
    if (write(ready, &c, 1) != 1)
        _exit(1);
    while (read(w, &c, 1) > 0)
        ;
    ipcx_queue_close(q);
    _exit(0);
}

/* A consumer in another pid namespace (its pid there is 1) holds the only
 * consumer slot.  A process outside must get -EBUSY: pid 1 here is another
 * process with another start time, which used to count as "the owner is
 * gone", and the live consumer's slot (and position) was taken.  Needs
 * root (skipped otherwise). */
static void test_pidns_consumer_slot_kept(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char name[64];
    ipcx_queue_opts o = {.initial_segment = 4096, .max_consumers = 1};
    ipcx_queue *q = create_q(name, sizeof name, &o);
    int rd[2], go[2];
    assert_int_equal(pipe(rd), 0);
    assert_int_equal(pipe(go), 0);
    pid_t h = ns_consumer(name, rd[1], go[0], go[1]);
    close(go[0]);
    close(rd[1]);
    char c = 0;
    ssize_t n = read(rd[0], &c, 1);
    ipcx_queue *c2 = NULL;
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER};
    int rc = n == 1 ? ipcx_queue_open(name, &oc, &c2) : 0;
    if (rc == 0 && c2 != NULL)
        ipcx_queue_close(c2);
    close(go[1]);
    int st = tu_wait(h, 30000);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name);
    if (n != 1 && st == 77)
        skip();
    assert_int_equal(n, 1);
    assert_int_equal(c, 'n');
    assert_int_equal(st, 0);
    assert_int_equal(rc, -EBUSY);
}

/* ------------------------------------------------------------ fork */

/* A handle used in a child after fork(): its pid and slots are the
 * parent's.  Every call on it in the child must say -ECHILD (it used to
 * send and receive as the parent), and closing it there must not free the
 * parent's slots; a handle the child opens itself works. */
static void test_fork_inherited_handle_refused(void **state)
{
    (void)state;
    char name[64];
    ipcx_queue_opts o = {
        .initial_segment = 4096, .flags = IPCX_QUEUE_MULTI_PRODUCER, .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *p = create_q(name, sizeof name, &o);
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER};
    ipcx_queue *c = NULL;
    assert_int_equal(ipcx_queue_open(name, &oc, &c), 0);
    assert_int_equal(ipcx_queue_send(p, "p1", 2, NULL, 0), 0);
    void *rd = NULL;
    assert_int_equal(ipcx_queue_reserve(p, 8, &rd, 0), 0);
    int pslot = p->pslot, cslot = c->cslot;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[64];
        const void *d;
        size_t n;
        ipcx_queue_info qi;
        int bad = 0;
        int rc[6] = {
            ipcx_queue_send(p, "c1", 2, NULL, 0),
            ipcx_queue_commit(p, NULL),
            ipcx_queue_recv(c, buf, sizeof buf, NULL, 0),
            ipcx_queue_peek(c, &d, &n, NULL, 0),
            ipcx_queue_stats(p, &qi),
            ipcx_queue_reserve(p, 8, &rd, 0),
        };
        for (int i = 0; i < 6; i++) {
            if (rc[i] != -ECHILD) {
                fprintf(stderr, "child: call %d on an inherited handle gave %d\n", i, rc[i]);
                bad = 1;
            }
        }
        ipcx_queue_close(p); /* frees the copies, leaves the parent's slots */
        ipcx_queue_close(c);
        ipcx_queue *own = NULL;
        if (ipcx_queue_open(name, &o, &own) != 0 || ipcx_queue_send(own, "c2", 2, NULL, 0) != 0)
            bad = 1;
        ipcx_queue_close(own);
        _exit(bad);
    }
    assert_int_equal(tu_wait(pid, 10000), 0);
    assert_int_equal(load_relaxed(&p->slots[pslot].state), IPCX__QS_PRODUCER);
    assert_int_equal(load_relaxed(&c->slots[cslot].state), IPCX__QS_CONSUMER);
    memcpy(rd, "p2p2p2p2", 8);
    assert_int_equal(ipcx_queue_commit(p, NULL), 0);
    char buf[64];
    assert_int_equal(ipcx_queue_recv(c, buf, sizeof buf, NULL, 0), 2);
    assert_memory_equal(buf, "p1", 2);
    assert_int_equal(ipcx_queue_recv(c, buf, sizeof buf, NULL, 0), 8);
    assert_memory_equal(buf, "p2p2p2p2", 8);
    assert_int_equal(ipcx_queue_recv(c, buf, sizeof buf, NULL, 0), 2);
    assert_memory_equal(buf, "c2", 2);
    ipcx_queue_close(c);
    ipcx_queue_close(p);
    ipcx_queue_unlink(name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_claim_writer_bounded),
        cmocka_unit_test(test_pidns_consumer_slot_kept),
        cmocka_unit_test(test_fork_inherited_handle_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
