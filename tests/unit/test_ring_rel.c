// SPDX-License-Identifier: MIT
/*
 * ring: regressions of the reliability defects of issue 12, each over
 * hand-made shared state (a MAP_SHARED block, forked children as peers):
 * several peeked records released under the OVERWRITE policy while the
 * producer overwrites the first of them (finished, and paused mid-copy);
 * the slots of a handle that went broken, given back on close; liveness
 * checks that cannot tell (out of fds, /proc hidden by hidepid, a peer in
 * another pid namespace) never count as "dead"; a handle inherited across
 * fork() refused in the child; block-mode waits with the safety net removed
 * (a lost wake-up hangs instead of costing latency); a producer holding
 * reservations that would wait for space; dead producers' claims in a row.
 */
#include "testutil.h"
#include "ring_testutil.h"

#define _GNU_SOURCE 1
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "ring/ring_int.h"
#include "ring_block.h"

/* ------------------------------------------------------------ overwrite */

/* 48-byte payloads: 64-byte records, 64 to a lap of a 4096-byte ring. */
#define OW_LEN 48

static void ow_send(ipcx_ring *p, uint32_t seq)
{
    uint8_t buf[OW_LEN];
    rtm_fill(buf, OW_LEN, 1, seq);
    assert_int_equal(ipcx_ring_send(p, buf, OW_LEN, IPCX_NOWAIT), 0);
}

/* An overwrite ring with record 0 sent and received (the consumer's
 * sequence is known), then records 1 (A, at 64) and 2 (B, at 128) sent and
 * peeked, and records 3..64 sent: one more record overwrites A, not B. */
static void ow_setup(struct ring_block *b, ipcx_ring **p, ipcx_ring **c, const void **da,
                     const void **db)
{
    ipcx_ring_opts o = {
        .capacity = 4096, .delivery = IPCX_RING_BROADCAST, .full = IPCX_RING_OVERWRITE};
    *p = ring_block_new(b, &o);
    *c = ring_block_handle(b);
    assert_int_equal(ipcx_ring_join(*c, IPCX_RING_CONSUMER), 0);
    uint8_t buf[64];
    uint32_t id, seq;
    ow_send(*p, 0);
    assert_int_equal(ipcx_ring_recv(*c, buf, sizeof(buf), IPCX_NOWAIT), OW_LEN);
    ow_send(*p, 1);
    ow_send(*p, 2);
    size_t n;
    assert_int_equal(ipcx_ring_peek(*c, da, &n, IPCX_NOWAIT), 0);
    assert_int_equal(rtm_check(*da, n, &id, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(ipcx_ring_peek(*c, db, &n, IPCX_NOWAIT), 0);
    assert_int_equal(rtm_check(*db, n, &id, &seq), 0);
    assert_int_equal(seq, 2);
    for (uint32_t i = 3; i <= 64; i++)
        ow_send(*p, i);
    assert_int_equal(load_relaxed(&(*p)->hdr->free), 64); /* A not yet passed */
}

/* After the -EOVERFLOW: one record (A) lost, then B and the rest in order,
 * and msgs_out counts what was delivered. */
static void ow_after(struct ring_block *b, ipcx_ring *p, ipcx_ring *c)
{
    assert_int_equal(ipcx_ring_overrun(c), 1);
    uint8_t buf[64];
    uint32_t id, seq;
    for (uint32_t want = 2; want <= 65; want++) {
        int n = ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT);
        assert_int_equal(n, OW_LEN);
        assert_int_equal(rtm_check(buf, (size_t)n, &id, &seq), 0);
        assert_int_equal(seq, want);
    }
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(c, &st), 0);
    assert_int_equal(st.msgs_out, 1 + 64); /* record 0, then 2..65 */
    assert_int_equal(st.overruns, 1);
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(b);
}

/* Peek A and B; the producer overwrites A only (B is intact), and has
 * finished.  Releasing B must report the overrun of A: it used to check
 * only B against the floor, find the walk from A broken, release nothing
 * and return 0 - a handle stuck with a peek count that only grew. */
static void test_overwrite_release_first_overwritten(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring *p, *c;
    const void *da, *db;
    ow_setup(&b, &p, &c, &da, &db);
    ow_send(p, 65); /* overwrites A */
    assert_int_equal(ipcx_ring_release(c, db), -EOVERFLOW);
    ow_after(&b, p, c);
}

static ipcx_ring *g_ow_c;
static const void *g_ow_db;
static int g_ow_rc;

static void fault_release_mid_copy(int step)
{
    if (step == RING_STEP_COPY_HALF && g_ow_c != NULL) {
        g_ow_rc = ipcx_ring_release(g_ow_c, g_ow_db);
        g_ow_c = NULL;
    }
}

/* The same, with the producer paused half-way through its copy over A
 * (the consumer releases from the fault hook, in the producer's call):
 * A's tag still reads COMMIT but its bytes are changing.  Release must say
 * -EOVERFLOW; it used to return 2, as if both records had been read
 * intact. */
static void test_overwrite_release_first_mid_copy(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring *p, *c;
    const void *da, *db;
    ow_setup(&b, &p, &c, &da, &db);
    g_ow_c = c;
    g_ow_db = db;
    g_ow_rc = 1;
    ipcx__ring_fault = fault_release_mid_copy;
    ow_send(p, 65); /* overwrites A; release runs half-way through */
    ipcx__ring_fault = NULL;
    assert_null(g_ow_c);
    assert_int_equal(g_ow_rc, -EOVERFLOW);
    ow_after(&b, p, c);
}

/* ------------------------------------------------------------ broken handles */

/* A transient scribble: a COMMIT tag with an impossible length at pos,
 * seen by c (-EPROTO, latched), then wiped. */
static void scribble_consumer(ipcx_ring *c, uint64_t pos, int peek)
{
    struct ring_rec *rec = ring_rec_at(c, pos);
    store_relaxed(&rec->len, 0xfffffff0u);
    store_release(&rec->tag, ring_tag(c, pos, REC_COMMIT, 0));
    uint8_t buf[64];
    const void *d;
    size_t n;
    int rc = peek ? ipcx_ring_peek(c, &d, &n, IPCX_NOWAIT)
                  : ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT);
    assert_int_equal(rc, -EPROTO);
    assert_true(c->broken);
    store_relaxed(&rec->tag, 0);
    store_relaxed(&rec->len, 0);
}

/* One scribble makes a handle broken; closing it must give its slots back,
 * so that the same process can open the ring again and join - a consumer
 * and a producer.  Both used to stay taken (-EBUSY) until the process
 * exited: close returned early for a broken handle. */
static void test_broken_close_frees_slots(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096};
    ipcx_ring *p = ring_block_new(&b, &o);
    ipcx_ring *c = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);
    scribble_consumer(c, 0, 0);
    ipcx__ring_detach(c);
    c = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c, IPCX_RING_CONSUMER), 0);

    /* The producer: a read position that is not 8-aligned, once. */
    assert_int_equal(ipcx_ring_join(p, IPCX_RING_PRODUCER), 0);
    store_relaxed(&p->hdr->head, 3);
    uint8_t buf[64] = {0};
    assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), -EPROTO);
    store_relaxed(&p->hdr->head, 0);
    ipcx__ring_detach(p);
    p = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(p, IPCX_RING_PRODUCER), 0);
    for (int i = 0; i < 300; i++) { /* several laps */
        assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), 0);
        assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), 32);
    }
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

/* Multi-consumer: a consumer holds a taken record when it goes broken, and
 * is closed.  Its record must be reclaimed (counted lost), or the release
 * frontier stops there and every producer blocks within a lap: its owner
 * (this process) is alive, so nothing else ever reclaimed it. */
static void test_broken_mc_close_reclaims_taken(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_consumers = 2, .liveness_ms = 1};
    ipcx_ring *p = ring_block_new(&b, &o);
    ipcx_ring *c1 = ring_block_handle(&b), *c2 = ring_block_handle(&b);
    assert_int_equal(ipcx_ring_join(c1, IPCX_RING_CONSUMER), 0);
    assert_int_equal(ipcx_ring_join(c2, IPCX_RING_CONSUMER), 0);
    uint8_t buf[64] = {0};
    assert_int_equal(ipcx_ring_send(p, buf, OW_LEN, IPCX_NOWAIT), 0);
    const void *d;
    size_t n;
    assert_int_equal(ipcx_ring_peek(c1, &d, &n, IPCX_NOWAIT), 0); /* TAKEN at 0 */
    scribble_consumer(c1, 64, 1);
    ipcx__ring_detach(c1);
    for (int i = 0; i < 200; i++) { /* three laps */
        assert_int_equal(ipcx_ring_send(p, buf, OW_LEN, 2 * 1000000000LL), 0);
        assert_int_equal(ipcx_ring_recv(c2, buf, sizeof(buf), 2 * 1000000000LL), OW_LEN);
    }
    ipcx_ring_stat st;
    assert_int_equal(ipcx_ring_stats(c2, &st), 0);
    assert_int_equal(st.lost, 1);
    ipcx__ring_detach(c2);
    ipcx__ring_detach(p);
    ring_block_free(&b);
}

/* ------------------------------------------------------------ liveness */

/* Exit codes of the checker children below. */
#define CHK_OK   0
#define CHK_BAD  1
#define CHK_SKIP 77 /* the environment cannot set the case up */

static void fault_stop(int step)
{
    if (step == RING_STEP_CLAIM_HDR)
        raise(SIGSTOP);
}

/* A two-producer queue ring (liveness_ms 1) with a child producer that is
 * alive but stopped (SIGSTOP) inside its claim at 0, and a record of the
 * other producer after it.  Returns the stopped child's pid. */
static pid_t live_claim_setup(struct ring_block *b)
{
    ipcx_ring_opts o = {.capacity = 4096, .max_producers = 2, .liveness_ms = 1};
    ipcx_ring *p = ring_block_new(b, &o);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t buf[40];
        ipcx_ring *q = ring_block_handle(b);
        ipcx__ring_fault = fault_stop;
        rtm_fill(buf, 40, 1, 0);
        _exit(ipcx_ring_send(q, buf, 40, IPCX_NOWAIT) == 0 ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
    assert_true(WIFSTOPPED(st));
    uint8_t buf[32];
    rtm_fill(buf, 32, 2, 0);
    assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), 0);
    ipcx__ring_detach(p);
    return pid;
}

/* The stopped producer goes on, commits and exits; both records are then
 * there, in order, none lost. */
static void live_claim_end(struct ring_block *b, pid_t pid)
{
    int st;
    kill(pid, SIGCONT);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ipcx_ring *c = ring_block_handle(b);
    uint8_t buf[64];
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), 5 * 1000000000LL), 40);
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), 5 * 1000000000LL), 32);
    ipcx_ring_stat rs;
    assert_int_equal(ipcx_ring_stats(c, &rs), 0);
    assert_int_equal(rs.lost, 0);
    ipcx__ring_detach(c);
    ring_block_free(b);
}

/* In a checker child: the consumer must wait for the live claim through
 * many liveness checks (-ETIMEDOUT), never skip it. */
static int check_claim_waited(ipcx_ring *c)
{
    uint8_t buf[64];
    int rc = ipcx_ring_recv(c, buf, sizeof(buf), 100 * 1000000LL);
    if (rc != -ETIMEDOUT) {
        fprintf(stderr, "checker: recv gave %d, lost %llu (the live claim was skipped)\n", rc,
                (unsigned long long)c->c_lost);
        return CHK_BAD;
    }
    return c->c_lost == 0 ? CHK_OK : CHK_BAD;
}

/* Leave the next free fd number as the limit: every open() fails, EMFILE. */
static int fd_limit_now(void)
{
    int fd = dup(0);
    if (fd < 0)
        return -1;
    close(fd);
    struct rlimit rl = {.rlim_cur = (rlim_t)fd, .rlim_max = (rlim_t)fd};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    return dup(0) < 0 && errno == EMFILE ? 0 : -1;
}

/* Wait for the checker child, let the stopped producer finish (so that
 * nothing is left behind whatever the checker said), then judge. */
static void end_checker(pid_t pid, struct ring_block *b, pid_t prod)
{
    int st = tu_wait(pid, 30000);
    live_claim_end(b, prod);
    if (st == CHK_SKIP)
        skip();
    assert_int_equal(st, CHK_OK);
}

/* A consumer at its fd limit (setrlimit RLIMIT_NOFILE in the child: every
 * open of /proc/<pid>/stat fails with EMFILE) meets a live producer's
 * claim.  It must wait for it: "cannot tell" is not "dead".  It used to
 * skip the claim (counted lost), hand its space on, and deliver what came
 * after. */
static void test_fd_limit_consumer_waits_for_live_claim(void **state)
{
    (void)state;
    struct ring_block b;
    pid_t prod = live_claim_setup(&b);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ipcx_ring *c = NULL;
        if (ipcx__ring_attach(b.mem, b.size, &c) != 0 || ipcx_ring_join(c, IPCX_RING_CONSUMER))
            _exit(CHK_SKIP);
        if (fd_limit_now() != 0)
            _exit(CHK_SKIP);
        _exit(check_claim_waited(c));
    }
    end_checker(pid, &b, prod);
}

/* A helper that holds the only producer slot of a one-producer ring while
 * it lives, and exits when fd w (a pipe) closes; it writes one byte to
 * ready once it holds the slot. */
static pid_t slot_holder(struct ring_block *b, int ready, int w, int wclose, int newns)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    close(wclose); /* the parent's end: its close is our signal */
    if (newns) {
        /* As a container shares /dev/shm: a new pid namespace with its own
         * /proc (unshare -p -f --mount-proc). */
        if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
            _exit(CHK_SKIP);
        pid_t inner = fork();
        if (inner < 0)
            _exit(CHK_SKIP);
        if (inner != 0) {
            int st;
            _exit(waitpid(inner, &st, 0) == inner && WIFEXITED(st) ? WEXITSTATUS(st) : CHK_BAD);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            _exit(CHK_SKIP);
    }
    ipcx_ring *h = NULL;
    if (ipcx__ring_attach(b->mem, b->size, &h) != 0 || ipcx_ring_join(h, IPCX_RING_PRODUCER) != 0)
        _exit(CHK_BAD);
    char c = newns ? (getpid() == 1 ? 'n' : 'x') : 'y';
    if (write(ready, &c, 1) != 1)
        _exit(CHK_BAD);
    while (read(w, &c, 1) > 0)
        ;
    ipcx__ring_detach(h);
    _exit(CHK_OK);
}

/* Under EMFILE, ipcx_ring_join used to take a live process's only producer
 * slot (its owner "could not be checked", so it counted as gone): two
 * single producers on one ring.  It must say -EBUSY. */
static void test_fd_limit_join_keeps_live_slot(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .liveness_ms = 1};
    ipcx__ring_detach(ring_block_new(&b, &o));
    int rd[2], go[2];
    assert_int_equal(pipe(rd), 0);
    assert_int_equal(pipe(go), 0);
    pid_t holder = slot_holder(&b, rd[1], go[0], go[1], 0);
    close(go[0]);
    char c;
    assert_int_equal(read(rd[0], &c, 1), 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ipcx_ring *r = NULL;
        if (ipcx__ring_attach(b.mem, b.size, &r) != 0 || fd_limit_now() != 0)
            _exit(CHK_SKIP);
        int rc = ipcx_ring_join(r, IPCX_RING_PRODUCER);
        if (rc != -EBUSY)
            fprintf(stderr, "checker: join at the fd limit gave %d (slot taken)\n", rc);
        _exit(rc == -EBUSY ? CHK_OK : CHK_BAD);
    }
    int st = tu_wait(pid, 30000);
    close(go[1]);
    assert_int_equal(tu_wait(holder, 30000), CHK_OK);
    if (st == CHK_SKIP)
        skip();
    assert_int_equal(st, CHK_OK);
    ring_block_free(&b);
}

/* /proc mounted with hidepid=2 (in the checker's own mount namespace) and
 * the checker another user: the live producer's /proc entry reads as
 * absent (ENOENT) although the process is there.  The consumer must wait
 * for its claim; it used to skip it.  Needs root (skipped otherwise). */
static void test_hidepid_consumer_waits_for_live_claim(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct ring_block b;
    pid_t prod = live_claim_setup(&b);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ipcx_ring *c = NULL;
        if (ipcx__ring_attach(b.mem, b.size, &c) != 0 || ipcx_ring_join(c, IPCX_RING_CONSUMER))
            _exit(CHK_SKIP);
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0 ||
            setgid(65534) != 0 || setuid(65534) != 0)
            _exit(CHK_SKIP);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)prod);
        if (access(path, F_OK) == 0)
            _exit(CHK_SKIP); /* not hidden: this kernel ignores hidepid here */
        _exit(check_claim_waited(c));
    }
    end_checker(pid, &b, prod);
}

/* A producer in another pid namespace (unshare -p -f --mount-proc: its pid
 * there is 1) holds the only producer slot.  A process outside must not
 * take it: pid 1 here is another process with another start time, which
 * used to count as "the owner is gone".  Needs root (skipped otherwise). */
static void test_pidns_join_keeps_live_slot(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .liveness_ms = 1};
    ipcx_ring *r = ring_block_new(&b, &o);
    int rd[2], go[2];
    assert_int_equal(pipe(rd), 0);
    assert_int_equal(pipe(go), 0);
    pid_t holder = slot_holder(&b, rd[1], go[0], go[1], 1);
    close(go[0]);
    close(rd[1]);
    char c = 0;
    ssize_t n = read(rd[0], &c, 1);
    int rc = n == 1 ? ipcx_ring_join(r, IPCX_RING_PRODUCER) : 0;
    close(go[1]);
    int st = tu_wait(holder, 30000);
    ipcx__ring_detach(r);
    ring_block_free(&b);
    if (n != 1 && st == CHK_SKIP)
        skip();
    assert_int_equal(n, 1);
    assert_int_equal(c, 'n'); /* pid 1 in its namespace */
    assert_int_equal(st, CHK_OK);
    assert_int_equal(rc, -EBUSY);
}

/* Named rings carry a kernel-held proof of life: a slot's owner holds an
 * OFD lock on the ring's file that the kernel drops when the owner dies
 * (platform.h ipcx__live_lock_*).  A producer in another pid namespace
 * holds the only producer slot: while it lives a join here is refused; once
 * it is killed (SIGKILL: no close ran) the join takes the slot.  Without the
 * lock its death could not be proven from here - its pid means nothing in
 * this namespace - and the slot stayed lost for ever (-EBUSY).  Needs root
 * (skipped otherwise). */
static void test_lock_proof_foreign_owner_reclaimed(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char name[64];
    snprintf(name, sizeof(name), "test-lockproof-%d", (int)getpid());
    ipcx_ring_unlink(name);
    ipcx_ring_opts o = {.capacity = 4096, .liveness_ms = 1};
    ipcx_ring *mine = NULL;
    assert_int_equal(ipcx_ring_create(name, &o, &mine), 0);
    int rd[2];
    assert_int_equal(pipe(rd), 0);
    pid_t outer = fork();
    assert_true(outer >= 0);
    if (outer == 0) {
        close(rd[0]);
        if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
            _exit(CHK_SKIP);
        pid_t inner = fork();
        if (inner < 0)
            _exit(CHK_SKIP);
        if (inner != 0) {
            /* Tell the test which process to kill (our pid space is its). */
            int32_t v = (int32_t)inner;
            if (write(rd[1], &v, sizeof(v)) != (ssize_t)sizeof(v))
                _exit(CHK_BAD);
            int st;
            _exit(waitpid(inner, &st, 0) == inner && WIFEXITED(st) ? WEXITSTATUS(st) : CHK_BAD);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            _exit(CHK_SKIP);
        ipcx_ring *h = NULL;
        if (ipcx_ring_open(name, &h) != 0 || ipcx_ring_send(h, "x", 1, IPCX_NOWAIT) != 0)
            _exit(CHK_BAD);
        char c = getpid() == 1 ? 'n' : 'x';
        if (write(rd[1], &c, 1) != 1)
            _exit(CHK_BAD);
        for (;;)
            pause(); /* until SIGKILL */
    }
    close(rd[1]);
    int32_t inner = 0;
    char c = 0;
    int got =
        read(rd[0], &inner, sizeof(inner)) == (ssize_t)sizeof(inner) && read(rd[0], &c, 1) == 1;
    close(rd[0]);
    if (!got) {
        int st = tu_wait(outer, 30000);
        ipcx_ring_close(mine);
        ipcx_ring_unlink(name);
        if (st == CHK_SKIP)
            skip();
        fail_msg("holder failed (status %d)", st);
    }
    assert_int_equal(c, 'n'); /* pid 1 in its namespace */
    /* Alive: no theft. */
    int busy = ipcx_ring_join(mine, IPCX_RING_PRODUCER);
    assert_int_equal(kill(inner, SIGKILL), 0);
    tu_wait(outer, 30000); /* reaps the inner one first: its files are closed */
    int after = ipcx_ring_join(mine, IPCX_RING_PRODUCER);
    char buf[8];
    int got_msg = ipcx_ring_recv(mine, buf, sizeof(buf), IPCX_NOWAIT);
    int sent = ipcx_ring_send(mine, "y", 1, IPCX_NOWAIT);
    ipcx_ring_close(mine);
    ipcx_ring_unlink(name);
    assert_int_equal(busy, -EBUSY);
    assert_int_equal(after, 0);
    assert_int_equal(got_msg, 1); /* the dead producer's committed record */
    assert_int_equal(sent, 0);
}

/* ------------------------------------------------------------ fork */

/* A handle used in a child after fork(): its identity and slots are the
 * parent's.  Every call on it in the child must say -ECHILD (it used to
 * send as the parent, in the parent's slot), and closing it there must not
 * give the parent's slots up; a handle the child makes itself works. */
static void test_fork_inherited_handle_refused(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_producers = 2};
    ipcx_ring *r = ring_block_new(&b, &o);
    assert_int_equal(ipcx_ring_send(r, "p1", 2, IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_join(r, IPCX_RING_CONSUMER), 0);
    const void *pd;
    size_t pn;
    assert_int_equal(ipcx_ring_peek(r, &pd, &pn, IPCX_NOWAIT), 0);
    void *rd;
    assert_int_equal(ipcx_ring_reserve(r, 8, &rd, IPCX_NOWAIT), 0);
    uint64_t me = r->ident;
    int pidx = r->pidx, cidx = r->cidx;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[64];
        ipcx_ring_stat rs;
        int bad = 0;
        int rc[8] = {
            ipcx_ring_send(r, "c1", 2, IPCX_NOWAIT),
            ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT),
            ipcx_ring_join(r, IPCX_RING_PRODUCER),
            ipcx_ring_commit(r, rd),
            ipcx_ring_release(r, pd),
            ipcx_ring_reserve(r, 8, &rd, IPCX_NOWAIT),
            ipcx_ring_stats(r, &rs),
            ipcx_ring_set_wait(r, IPCX_WAIT_SPIN),
        };
        for (int i = 0; i < 8; i++) {
            if (rc[i] != -ECHILD) {
                fprintf(stderr, "child: call %d on the inherited handle gave %d\n", i, rc[i]);
                bad = 1;
            }
        }
        ipcx__ring_detach(r); /* frees the copy, leaves the parent's slots */
        ipcx_ring *own = NULL;
        if (ipcx__ring_attach(b.mem, b.size, &own) != 0 ||
            ipcx_ring_send(own, "c2", 2, IPCX_NOWAIT) != 0)
            bad = 1;
        ipcx__ring_detach(own);
        _exit(bad);
    }
    assert_int_equal(tu_wait(pid, 10000), 0);
    /* The parent's slots, reservation and peek are as they were. */
    assert_int_equal(load_relaxed(&r->pslots[pidx].owner), me);
    assert_int_equal(load_relaxed(&r->cslots[cidx].owner), me);
    memcpy(rd, "p2p2p2p2", 8);
    assert_int_equal(ipcx_ring_commit(r, rd), 1);
    assert_int_equal(ipcx_ring_release(r, pd), 1);
    char buf[64];
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), 8);
    assert_memory_equal(buf, "p2p2p2p2", 8);
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), 2);
    assert_memory_equal(buf, "c2", 2);
    assert_int_equal(ipcx_ring_recv(r, buf, sizeof(buf), IPCX_NOWAIT), -EAGAIN);
    ipcx_ring_stat rs;
    assert_int_equal(ipcx_ring_stats(r, &rs), 0);
    assert_int_equal(rs.lost, 0);
    ipcx__ring_detach(r);
    ring_block_free(&b);
}

/* ------------------------------------------------------------ lost wake-ups */

/* An hour: no liveness check ends a sleep within the test. */
#define LW_LIVENESS_MS 3600000u
#define LW_TIMEOUT     (5 * 1000000000LL)
#define LW_ROUNDS      2000
#define LW_STREAM      2000
#define LW_BIG         1000 /* four records fill a 4096-byte ring */

/* The child of lost_wakeup_run(): echo LW_ROUNDS values from ping to pong,
 * then stream LW_STREAM big records into stream.  0 when all went well. */
static int lw_child(struct ring_block *ping, struct ring_block *pong, struct ring_block *stream)
{
    ipcx_ring *in = NULL, *out = NULL, *big = NULL;
    if (ipcx__ring_attach(ping->mem, ping->size, &in) != 0 ||
        ipcx__ring_attach(pong->mem, pong->size, &out) != 0 ||
        ipcx__ring_attach(stream->mem, stream->size, &big) != 0)
        return 2;
    uint64_t v = 0;
    for (uint64_t i = 0; i < LW_ROUNDS; i++) {
        if (ipcx_ring_recv(in, &v, sizeof(v), LW_TIMEOUT) != 8 || v != i)
            return 3;
        if (ipcx_ring_send(out, &v, sizeof(v), LW_TIMEOUT) != 0)
            return 4;
    }
    static uint8_t buf[LW_BIG];
    for (uint32_t i = 0; i < LW_STREAM; i++) {
        memcpy(buf, &i, sizeof(i));
        if (ipcx_ring_send(big, buf, LW_BIG, LW_TIMEOUT) != 0)
            return 5;
    }
    ipcx__ring_detach(in);
    ipcx__ring_detach(out);
    ipcx__ring_detach(big);
    return 0;
}

/* Block mode with the safety net removed: every wait sleeps at once
 * (ipcx__ring_block_spin_ns = 0) and no liveness check ends a sleep
 * (liveness_ms is an hour), so a wake-up that is lost hangs the waiter
 * until its 5 s timeout instead of costing a little latency.  A ping-pong
 * (consumers sleep for data on both sides), then a stream through a ring
 * that four records fill (the producer sleeps for space, the consumer for
 * data).  With FUTEX_WAKE removed (scripts/mutants.sh) this fails. */
static void lost_wakeup_run(int no_membarrier)
{
    int64_t spin = ipcx__ring_block_spin_ns;
    ipcx__ring_block_spin_ns = 0;
    ipcx__ring_no_membarrier = no_membarrier; /* read at attach */
    ipcx_ring_opts o = {.capacity = 4096, .liveness_ms = LW_LIVENESS_MS};
    struct ring_block ping, pong, stream;
    ipcx_ring *out = ring_block_new(&ping, &o);
    ipcx_ring *in = ring_block_new(&pong, &o);
    ipcx_ring *big = ring_block_new(&stream, &o);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(lw_child(&ping, &pong, &stream));
    uint64_t v = 0;
    int64_t t0 = ipcx__now_ns();
    for (uint64_t i = 0; i < LW_ROUNDS; i++) {
        assert_int_equal(ipcx_ring_send(out, &i, sizeof(i), IPCX_NOWAIT), 0);
        int rc = ipcx_ring_recv(in, &v, sizeof(v), LW_TIMEOUT);
        if (rc != 8)
            fprintf(stderr, "round %llu: recv gave %d (a lost wake-up?)\n", (unsigned long long)i,
                    rc);
        assert_int_equal(rc, 8);
        assert_int_equal(v, i);
    }
    static uint8_t buf[LW_BIG];
    for (uint32_t i = 0; i < LW_STREAM; i++) {
        int rc = ipcx_ring_recv(big, buf, sizeof(buf), LW_TIMEOUT);
        if (rc != LW_BIG)
            fprintf(stderr, "stream %u: recv gave %d (a lost wake-up?)\n", i, rc);
        assert_int_equal(rc, LW_BIG);
        uint32_t got;
        memcpy(&got, buf, sizeof(got));
        assert_int_equal(got, i);
    }
    assert_int_equal(tu_wait(pid, 10000), 0);
    fprintf(stderr, "block, no safety net (%s): %d round trips, %d big records, %lld ms\n",
            out->light ? "membarrier" : "seq_cst", LW_ROUNDS, LW_STREAM,
            (long long)((ipcx__now_ns() - t0) / 1000000));
    ipcx__ring_detach(out);
    ipcx__ring_detach(in);
    ipcx__ring_detach(big);
    ring_block_free(&ping);
    ring_block_free(&pong);
    ring_block_free(&stream);
    ipcx__ring_block_spin_ns = spin;
    ipcx__ring_no_membarrier = 0;
}

static void test_block_no_lost_wakeup(void **state)
{
    (void)state;
    lost_wakeup_run(0); /* light wake-ups where membarrier is there */
    lost_wakeup_run(1); /* the seq_cst variant */
}

/* ------------------------------------------------------------ reserve and wait */

/* A producer of a multi-producer ring holds a reservation (its claim stops
 * the consumer) and asks for more space than is free.  Waiting could only
 * stall every producer until its timeout (the space it waits for is
 * behind its own claim): it must get -EDEADLK at once.  It used to wait
 * out its timeout (-ETIMEDOUT after 1 s).  After it commits, everything
 * flows again.  A single producer whose own reservations fill the ring
 * gets -EDEADLK too (it got -EAGAIN). */
static void test_reserve_held_refuses_wait(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring_opts o = {.capacity = 4096, .max_producers = 2};
    ipcx_ring *a = ring_block_new(&b, &o);
    ipcx_ring *pb = ring_block_handle(&b);
    ipcx_ring *c = ring_block_handle(&b);
    static uint8_t big[1000];
    void *r0, *r1;
    assert_int_equal(ipcx_ring_reserve(a, 8, &r0, IPCX_NOWAIT), 0);
    int nb = 0;
    while (ipcx_ring_send(pb, big, sizeof(big), IPCX_NOWAIT) == 0)
        nb++;
    assert_true(nb >= 3);
    int64_t t0 = ipcx__now_ns();
    int rc = ipcx_ring_reserve(a, sizeof(big), &r1, 1000 * 1000000LL);
    int64_t ms = (ipcx__now_ns() - t0) / 1000000;
    if (rc != -EDEADLK)
        fprintf(stderr, "reserve holding a claim: %d after %lld ms\n", rc, (long long)ms);
    assert_int_equal(rc, -EDEADLK);
    assert_true(ms < 500);
    memcpy(r0, "held-one", 8);
    assert_int_equal(ipcx_ring_commit(a, r0), 1);
    uint8_t buf[1024];
    assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), 8);
    assert_memory_equal(buf, "held-one", 8);
    for (int i = 0; i < nb; i++)
        assert_int_equal(ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT), (int)sizeof(big));
    assert_int_equal(ipcx_ring_send(pb, big, sizeof(big), IPCX_NOWAIT), 0);
    assert_int_equal(ipcx_ring_reserve(a, 8, &r0, 1000 * 1000000LL), 0);
    assert_int_equal(ipcx_ring_commit(a, r0), 1);
    ipcx_ring_stat rs;
    assert_int_equal(ipcx_ring_stats(c, &rs), 0);
    assert_int_equal(rs.lost, 0);
    ipcx__ring_detach(c);
    ipcx__ring_detach(pb);
    ipcx__ring_detach(a);
    ring_block_free(&b);

    /* One producer: its own reservations fill the ring. */
    ipcx_ring_opts o1 = {.capacity = 4096};
    a = ring_block_new(&b, &o1);
    void *rs5[5];
    for (int i = 0; i < 4; i++) /* 4 x 1016 bytes of 4096 */
        assert_int_equal(ipcx_ring_reserve(a, sizeof(big), &rs5[i], IPCX_NOWAIT), 0);
    t0 = ipcx__now_ns();
    assert_int_equal(ipcx_ring_reserve(a, sizeof(big), &rs5[4], 1000 * 1000000LL), -EDEADLK);
    assert_true((ipcx__now_ns() - t0) / 1000000 < 500);
    assert_int_equal(ipcx_ring_commit(a, rs5[3]), 4);
    ipcx__ring_detach(a);
    ring_block_free(&b);
}

/* ------------------------------------------------------------ dead claims in a row */

#define DR_VICTIMS 3
#define DR_LIVE_MS 100
#define DR_GAP_US  2000 /* the kill harness's spacing */

/* A multi-producer ring (liveness_ms DR_LIVE_MS) with DR_VICTIMS child
 * producers each stopped inside a claim, and after each claim a record of
 * the surviving producer: V1 S1 V2 S2 V3 S3.  The victims' pids in v[]. */
static void dr_setup(struct ring_block *b, ipcx_ring **c, pid_t *v)
{
    ipcx_ring_opts o = {.capacity = 65536, .max_producers = 8, .liveness_ms = DR_LIVE_MS};
    ipcx_ring *p = ring_block_new(b, &o);
    *c = ring_block_handle(b);
    assert_int_equal(ipcx_ring_join(*c, IPCX_RING_CONSUMER), 0);
    for (uint32_t i = 0; i < DR_VICTIMS; i++) {
        fflush(NULL);
        v[i] = fork();
        assert_true(v[i] >= 0);
        if (v[i] == 0) {
            uint8_t buf[40];
            ipcx_ring *q = ring_block_handle(b);
            ipcx__ring_fault = fault_stop;
            rtm_fill(buf, 40, 10 + i, 0);
            _exit(ipcx_ring_send(q, buf, 40, IPCX_NOWAIT) == 0 ? 0 : 1);
        }
        int st;
        assert_int_equal(waitpid(v[i], &st, WUNTRACED), v[i]);
        assert_true(WIFSTOPPED(st));
        uint8_t buf[32];
        rtm_fill(buf, 32, 1, i);
        assert_int_equal(ipcx_ring_send(p, buf, 32, IPCX_NOWAIT), 0);
    }
    ipcx__ring_detach(p);
}

/* Receive the survivor's DR_VICTIMS records in order; all victims' claims
 * counted lost. */
static void dr_recv_all(ipcx_ring *c)
{
    for (uint32_t i = 0; i < DR_VICTIMS; i++) {
        uint8_t buf[64];
        uint32_t id, seq;
        int n = ipcx_ring_recv(c, buf, sizeof(buf), 5 * 1000000000LL);
        assert_int_equal(n, 32);
        assert_int_equal(rtm_check(buf, (size_t)n, &id, &seq), 0);
        assert_int_equal(id, 1);
        assert_int_equal(seq, i);
    }
    assert_int_equal(c->c_lost, DR_VICTIMS);
}

/* Producers killed back to back, each dead claim separated from the next
 * by a live record, so that a consumer meets them in separate calls.  A
 * survivor's stall must stay within one liveness period of the last death
 * (docs/ring.md "Dead claims in a row"): each dead claim used to cost a
 * whole period, because the liveness check that fell due was only acted
 * on after the sleep it bounded (3 victims: ~300 ms where one period is
 * 100 ms).  Phase 1: the victims are dead before the consumer comes (it
 * must skip each at once: within a period in all).  Phase 2: the consumer
 * already waits while they are killed DR_GAP_US apart (the harness). */
static void test_dead_claims_in_a_row(void **state)
{
    (void)state;
    struct ring_block b;
    ipcx_ring *c;
    pid_t v[DR_VICTIMS];
    dr_setup(&b, &c, v);
    for (int i = 0; i < DR_VICTIMS; i++) {
        kill(v[i], SIGKILL);
        assert_int_equal(waitpid(v[i], NULL, 0), v[i]);
    }
    int64_t t0 = ipcx__now_ns();
    dr_recv_all(c);
    int64_t ms = (ipcx__now_ns() - t0) / 1000000;
    fprintf(stderr, "dead claims in a row, dead before: %lld ms (liveness %d ms)\n", (long long)ms,
            DR_LIVE_MS);
    assert_true(ms < DR_LIVE_MS);
    ipcx__ring_detach(c);
    ring_block_free(&b);

    /* Phase 2: a killer child, while the consumer waits. */
    dr_setup(&b, &c, v);
    _Atomic int64_t *first =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(first != MAP_FAILED);
    atomic_store(first, 0);
    fflush(NULL);
    pid_t k = fork();
    assert_true(k >= 0);
    if (k == 0) {
        /* Not synchronisation: the consumer is meant to be waiting by
         * now, and would only be faster if it were not. */
        usleep(20000);
        atomic_store(first, ipcx__now_ns());
        for (int i = 0; i < DR_VICTIMS; i++) {
            kill(v[i], SIGKILL);
            if (i + 1 < DR_VICTIMS)
                usleep(DR_GAP_US);
        }
        _exit(0);
    }
    dr_recv_all(c);
    int64_t done = ipcx__now_ns();
    assert_int_equal(tu_wait(k, 10000), 0);
    for (int i = 0; i < DR_VICTIMS; i++)
        assert_int_equal(waitpid(v[i], NULL, 0), v[i]);
    ms = (done - atomic_load(first)) / 1000000;
    fprintf(stderr, "dead claims in a row, killed %d us apart while waiting: %lld ms\n", DR_GAP_US,
            (long long)ms);
    /* The bound: one period after the last death (4 ms after the first),
     * plus slack for a loaded machine - well under two periods. */
    assert_true(ms < DR_LIVE_MS + DR_LIVE_MS * 7 / 10);
    munmap((void *)first, 4096);
    ipcx__ring_detach(c);
    ring_block_free(&b);

    /* Phase 3: a consumer that never waits (IPCX_NOWAIT, polled): its
     * checks are rate-limited to one per period, but one that skipped a
     * dead claim allows the next at once. */
    dr_setup(&b, &c, v);
    for (int i = 0; i < DR_VICTIMS; i++) {
        kill(v[i], SIGKILL);
        assert_int_equal(waitpid(v[i], NULL, 0), v[i]);
    }
    t0 = ipcx__now_ns();
    for (uint32_t got = 0; got < DR_VICTIMS && ipcx__now_ns() - t0 < 5 * 1000000000LL;) {
        uint8_t buf[64];
        uint32_t id, seq;
        int n = ipcx_ring_recv(c, buf, sizeof(buf), IPCX_NOWAIT);
        if (n == -EAGAIN)
            continue;
        assert_int_equal(n, 32);
        assert_int_equal(rtm_check(buf, (size_t)n, &id, &seq), 0);
        assert_int_equal(seq, got++);
    }
    ms = (ipcx__now_ns() - t0) / 1000000;
    fprintf(stderr, "dead claims in a row, NOWAIT poller: %lld ms\n", (long long)ms);
    assert_int_equal(c->c_lost, DR_VICTIMS);
    assert_true(ms < DR_LIVE_MS);
    ipcx__ring_detach(c);
    ring_block_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overwrite_release_first_overwritten),
        cmocka_unit_test(test_overwrite_release_first_mid_copy),
        cmocka_unit_test(test_broken_close_frees_slots),
        cmocka_unit_test(test_broken_mc_close_reclaims_taken),
        cmocka_unit_test(test_fd_limit_consumer_waits_for_live_claim),
        cmocka_unit_test(test_fd_limit_join_keeps_live_slot),
        cmocka_unit_test(test_hidepid_consumer_waits_for_live_claim),
        cmocka_unit_test(test_pidns_join_keeps_live_slot),
        cmocka_unit_test(test_lock_proof_foreign_owner_reclaimed),
        cmocka_unit_test(test_fork_inherited_handle_refused),
        cmocka_unit_test(test_block_no_lost_wakeup),
        cmocka_unit_test(test_reserve_held_refuses_wait),
        cmocka_unit_test(test_dead_claims_in_a_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
