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
#include "queue_testutil.h"

#define _GNU_SOURCE 1
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

/* ------------------------------------------------------------ power loss */

/* The model of a power loss (or kernel crash): exactly the bytes that were
 * synced survive - whole pages, as they were when the library synced them
 * (ipcx__qsync_hook) - and everything else reads as zeros; files and
 * directory entries are as they are at the crash (lenient to the library).
 * The producing side runs in a child, so that at "reboot" no process of the
 * run is alive; its hook writes each synced page into a "disk" directory,
 * and the parent builds a queue directory from it and reads what survived. */

#define PL_N    40  /* messages sent */
#define PL_LEN  300 /* bytes each: about a dozen to a 4096-byte segment */
#define PL_SEGS 64

enum { PL_PLAIN, PL_RELEASE, PL_RECYCLE_PEEK };

/* Shared with the parent: what the child did. */
struct pl_run {
    uint32_t released; /* messages received and released (in order, from 0) */
    int32_t peeked;    /* the message peeked and held at the crash, or -1 */
    uint32_t sent;     /* sends that returned 0 */
    uint32_t seg_of[PL_N + 64];
    uint32_t tail_seg;    /* the producer's segment at the crash */
    uint32_t synced_upto; /* INTERVAL: messages committed before the last sync */
    int err;
};

static char g_disk[200];
static struct pl_run *g_run;
static uint32_t g_committing; /* the child's message being sent */
static int g_sync_fail;       /* > 0: the g_sync_fail-th sync from now fails, -EIO */

/* The file and file offset of the shared mapping that holds addr. */
static int pl_where(const void *addr, char *path, size_t cap, uint64_t *off)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        return -1;
    char line[4352];
    int rc = -1;
    uintptr_t a = (uintptr_t)addr;
    while (rc != 0 && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi, fo, ino;
        char perms[8], dev[16];
        int n = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &lo, &hi, perms, &fo, dev, &ino, &n) < 6 ||
            n == 0 || a < lo || a >= hi)
            continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(path, cap, "%s", line + n);
        *off = fo + (a - lo);
        rc = 0;
    }
    fclose(f);
    return rc;
}

/* The hook: copy the synced pages onto the disk. */
static int pl_hook(const void *addr, size_t len, const char *dir)
{
    (void)dir; /* directory entries: lenient, always there */
    if (g_sync_fail > 0 && --g_sync_fail == 0)
        return -EIO;
    if (g_run != NULL && g_committing > 0)
        g_run->synced_upto = g_committing - 1;
    if (addr == NULL)
        return 0;
    char path[4096], dpath[4400];
    uint64_t off = 0;
    struct stat st;
    if (pl_where(addr, path, sizeof path, &off) != 0 || strrchr(path, '/') == NULL ||
        stat(path, &st) != 0)
        return 0;
    snprintf(dpath, sizeof dpath, "%s/%s", g_disk, strrchr(path, '/') + 1);
    int fd = open(dpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    uint64_t n = (len + 4095) & ~(uint64_t)4095; /* the kernel writes whole pages */
    if (off + n > (uint64_t)st.st_size)
        n = off < (uint64_t)st.st_size ? (uint64_t)st.st_size - off : 0;
    if (pwrite(fd, addr, (size_t)n, (off_t)off) != (ssize_t)n)
        g_run->err = 1;
    close(fd);
    return 0;
}

static void pl_mkdirs(char *base, size_t cap, char *q, char *disk, char *img)
{
    snprintf(base, cap, "/tmp/ipcx-pl-XXXXXX");
    assert_non_null(mkdtemp(base));
    assert_true(snprintf(q, cap, "%s/q", base) < (int)cap);
    assert_true(snprintf(disk, cap, "%s/disk", base) < (int)cap);
    assert_true(snprintf(img, cap, "%s/img", base) < (int)cap);
    assert_int_equal(mkdir(disk, 0700), 0);
    assert_int_equal(mkdir(img, 0700), 0);
}

static void pl_rmdirs(const char *base, const char *q, const char *disk, const char *img)
{
    const char *dirs[3] = {q, disk, img};
    for (int i = 0; i < 3; i++) {
        DIR *d = opendir(dirs[i]);
        struct dirent *e;
        char p[4400];
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", dirs[i], e->d_name);
            unlink(p);
        }
        if (d != NULL)
            closedir(d);
        rmdir(dirs[i]);
    }
    rmdir(base);
}

/* The child: the workload under @policy and @scenario, then a power loss
 * (_exit: nothing closed, nothing synced on the way out). */
static void pl_child(const char *qdir, uint32_t policy, int scenario)
{
    ipcx_queue_opts o = {
        .initial_segment = 4096, .fsync = policy, .fsync_ms = 1, .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *p = NULL, *c = NULL;
    ipcx__qsync_hook = pl_hook;
    if (ipcx_queue_create(qdir, &o, &p) != 0)
        _exit(2);
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER};
    if (scenario != PL_PLAIN && ipcx_queue_open(qdir, &oc, &c) != 0)
        _exit(3);
    static uint8_t buf[PL_LEN];
    for (uint32_t i = 0; i < PL_N; i++) {
        qt_fill(buf, 0, i, PL_LEN);
        g_committing = i + 1;
        if (ipcx_queue_send(p, buf, PL_LEN, NULL, 0) != 0)
            _exit(4);
        g_run->sent = i + 1;
        g_run->seg_of[i] = (uint32_t)p->pseg_id;
        if (scenario == PL_RELEASE && i == PL_N / 2) {
            /* One message received and released mid-run. */
            uint8_t in[PL_LEN];
            if (ipcx_queue_recv(c, in, sizeof in, NULL, 0) != PL_LEN)
                _exit(5);
            g_run->released = 1;
        }
        if (scenario == PL_RECYCLE_PEEK && i == PL_N / 2) {
            /* Drain all but the last, peek it and hold it: the segments
             * before are reclaimed and recycled by the sends that follow. */
            uint8_t in[PL_LEN];
            for (uint32_t k = 0; k < i; k++)
                if (ipcx_queue_recv(c, in, sizeof in, NULL, 0) != PL_LEN)
                    _exit(6);
            g_run->released = i;
            const void *d;
            size_t n;
            if (ipcx_queue_peek(c, &d, &n, NULL, 0) != PL_LEN)
                _exit(7);
            g_run->peeked = (int32_t)i;
        }
    }
    g_run->tail_seg = (uint32_t)p->pseg_id;
    g_committing = 0;
    _exit(g_run->err);
}

/* The queue directory the disk holds: every file of @qdir (as it is at
 * the crash: lenient) with the disk's bytes, zeros where nothing was synced. */
static void pl_image(const char *qdir, const char *disk, const char *img)
{
    DIR *d = opendir(qdir);
    assert_non_null(d);
    struct dirent *e;
    static uint8_t page[1 << 16];
    while ((e = readdir(d)) != NULL) {
        char src[4400], dsk[4400], dst[4400];
        struct stat st;
        snprintf(src, sizeof src, "%s/%s", qdir, e->d_name);
        if (e->d_name[0] == '.' || stat(src, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        snprintf(dsk, sizeof dsk, "%s/%s", disk, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", img, e->d_name);
        int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(out >= 0);
        int in = open(dsk, O_RDONLY | O_CLOEXEC);
        ssize_t n;
        while (in >= 0 && (n = read(in, page, sizeof page)) > 0)
            assert_int_equal(write(out, page, (size_t)n), n);
        if (in >= 0)
            close(in);
        assert_int_equal(ftruncate(out, st.st_size), 0);
        close(out);
    }
    closedir(d);
}

/* Read what survived: counters of the intact messages, in order, into
 * got[]; returns how many, or the error that ended the reading. */
static int pl_recover(const char *img, uint64_t *got, int cap, int *err)
{
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER};
    ipcx_queue *c = NULL;
    *err = ipcx_queue_open(img, &oc, &c);
    if (*err != 0)
        return 0;
    int n = 0;
    static uint8_t buf[1 << 16];
    for (;;) {
        int rc = ipcx_queue_recv(c, buf, sizeof buf, NULL, 0);
        if (rc < 0) {
            *err = rc == -EAGAIN ? 0 : rc;
            break;
        }
        uint32_t prod;
        uint64_t counter;
        if (qt_check(buf, (size_t)rc, &prod, &counter) != 0) {
            *err = -EBADMSG; /* torn */
            break;
        }
        if (n < cap)
            got[n] = counter;
        n++;
    }
    ipcx_queue_close(c);
    return n;
}

/* Run @scenario under @policy and check the policy's documented guarantee
 * (docs/queue.md, "fsync policies") against what survived.  0 when kept. */
static int pl_case(uint32_t policy, int scenario)
{
    static const char *pname[] = {"NEVER", "SEGMENT", "COMMIT", "INTERVAL"};
    static const char *sname[] = {"plain", "one release", "recycled under a peek"};
    char base[256], qdir[256], img[256];
    pl_mkdirs(base, sizeof base, qdir, g_disk, img);
    g_run = mmap(NULL, sizeof *g_run, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(g_run != MAP_FAILED);
    memset(g_run, 0, sizeof *g_run);
    g_run->peeked = -1;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        pl_child(qdir, policy, scenario);
    int st = tu_wait(pid, 30000);
    assert_int_equal(st, 0);
    assert_int_equal(g_run->sent, PL_N);
    pl_image(qdir, g_disk, img);
    uint64_t got[PL_N + 64];
    int err = 0;
    int n = pl_recover(img, got, PL_N + 64, &err);
    /* What must have survived: [from, upto). */
    uint32_t from = g_run->peeked >= 0 ? (uint32_t)g_run->peeked : g_run->released, upto = 0;
    if (policy == IPCX_QUEUE_FSYNC_COMMIT) {
        upto = PL_N;
    } else if (policy != IPCX_QUEUE_FSYNC_NEVER) {
        /* Every message of a segment closed before the crash; INTERVAL:
         * also everything committed before its last sync. */
        while (upto < PL_N && g_run->seg_of[upto] < g_run->tail_seg)
            upto++;
        if (policy == IPCX_QUEUE_FSYNC_INTERVAL && g_run->synced_upto > upto)
            upto = g_run->synced_upto;
        /* Positions are not synced by these policies: a consumer may resume
         * earlier (repeats), never later than the first unreleased. */
    }
    int ok = err == 0 || (policy == IPCX_QUEUE_FSYNC_NEVER && err != -EBADMSG);
    /* In order, no gap from the first recovered on, and [from, upto) covered. */
    uint64_t first = n > 0 ? got[0] : 0;
    for (int i = 0; ok && i < n && i < PL_N + 64; i++)
        ok = got[i] == first + (uint64_t)i;
    if (ok && upto > from) {
        if (policy == IPCX_QUEUE_FSYNC_COMMIT)
            ok = n > 0 && first == from && first + (uint64_t)n >= upto;
        else
            ok = n > 0 && first <= from && first + (uint64_t)n >= upto;
    }
    fprintf(stderr, "power loss, %s, %s: %d recovered (first %llu), must have [%u, %u): %s%s%s\n",
            pname[policy], sname[scenario], n, (unsigned long long)first, from, upto,
            ok ? "kept" : "BROKEN", err != 0 ? ", reading ended with " : "",
            err != 0 ? ipcx_strerror(err) : "");
    munmap(g_run, sizeof *g_run);
    g_run = NULL;
    pl_rmdirs(base, qdir, g_disk, img);
    return ok ? 0 : 1;
}

/* Each fsync policy's promise (docs/queue.md) under the power-loss model,
 * for a plain run, a run with one release, and a run whose consumer holds
 * a peek while segments are reclaimed and recycled.  Before the ordering
 * fixes COMMIT recovered 18 of 40, 17 after one release, and 0 (-EPROTO)
 * with the peek; and with msync turned into a no-op every durable test
 * still passed (scripts/mutants.sh no-sync now fails here). */
static void test_power_loss_model(void **state)
{
    (void)state;
    int bad = 0;
    for (uint32_t pol = IPCX_QUEUE_FSYNC_NEVER; pol <= IPCX_QUEUE_FSYNC_INTERVAL; pol++)
        for (int sc = PL_PLAIN; sc <= PL_RECYCLE_PEEK; sc++)
            bad += pl_case(pol, sc);
    assert_int_equal(bad, 0);
}

/* Fail the g_sync_fail-th sync from now with -EIO. */
static int eio_hook(const void *addr, size_t len, const char *dir)
{
    (void)addr, (void)len, (void)dir;
    return g_sync_fail > 0 && --g_sync_fail == 0 ? -EIO : 0;
}

/* One send (the first of a fresh queue, or one that links a new segment)
 * with its k-th sync failing.  Returns 1 when a sync failed in it. */
static int eio_send_case(uint32_t policy, int link, int k)
{
    char name[64];
    tu_unique(name, sizeof name, "/tmp/ipcx-eio");
    ipcx_queue_opts o = {
        .initial_segment = 4096, .fsync = policy, .fsync_ms = 1, .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *p = NULL;
    assert_int_equal(ipcx_queue_create(name, &o, &p), 0);
    static uint8_t buf[PL_LEN];
    qt_fill(buf, 0, 0, PL_LEN);
    uint64_t seg = p->pseg_id;
    for (int i = 0; link && p->pseg_id == seg; i++) {
        /* Up to the send that moves to a new segment, not included: stop
         * at the last one that fits (the claim word says). */
        uint64_t c = load_relaxed(&((struct ipcx__qseg *)p->pseg->base)->claim);
        if (ipcx__qclaim_off(c) + 2 * ipcx__qrec_size(PL_LEN) > p->pseg->size)
            break;
        assert_int_equal(ipcx_queue_send(p, buf, PL_LEN, NULL, 0), 0);
    }
    p->last_sync_ns = 0; /* INTERVAL: this send's sync is due */
    assert_int_equal(ipcx_queue_send(p, buf, PL_LEN, NULL, 0), 0);
    p->last_sync_ns = 0;
    g_sync_fail = k;
    int rc = ipcx_queue_send(p, buf, PL_LEN, NULL, 0);
    int failed = g_sync_fail == 0;
    g_sync_fail = 0;
    if (failed) {
        if (rc != -EIO)
            fprintf(stderr, "fsync %u, %s send, sync %d failed: send gave %d\n", policy,
                    link ? "linking" : "plain", k, rc);
        assert_int_equal(rc, -EIO);
        /* Broken for good, and says why. */
        assert_int_equal(ipcx_queue_send(p, buf, PL_LEN, NULL, 0), -EIO);
    } else {
        assert_int_equal(rc, 0);
    }
    ipcx_queue_close(p);
    ipcx_queue_unlink(name);
    return failed;
}

/* Every msync / fsync failure of a durable queue is -EIO, and the handle
 * stays broken (-EIO on every later call): each sync of a plain send and
 * of a send that links a segment, under SEGMENT, COMMIT and INTERVAL, and
 * the sync of a COMMIT release.  The return values used to be ignored:
 * the sends returned 0 over an EIO. */
static void test_sync_failure_is_eio(void **state)
{
    (void)state;
    ipcx__qsync_hook = eio_hook;
    int seen = 0;
    for (uint32_t pol = IPCX_QUEUE_FSYNC_SEGMENT; pol <= IPCX_QUEUE_FSYNC_INTERVAL; pol++)
        for (int link = 0; link < 2; link++)
            for (int k = 1; k < 10; k++)
                if (!eio_send_case(pol, link, k))
                    break; /* past the last sync of that send */
                else
                    seen++;
    fprintf(stderr, "sync failures injected in sends: %d\n", seen);
    assert_true(seen >= 6);
    /* A COMMIT release. */
    char name[64];
    tu_unique(name, sizeof name, "/tmp/ipcx-eio");
    ipcx_queue_opts o = {.initial_segment = 4096, .fsync = IPCX_QUEUE_FSYNC_COMMIT};
    ipcx_queue *p = NULL, *c = NULL;
    assert_int_equal(ipcx_queue_create(name, &o, &p), 0);
    ipcx_queue_opts oc = {.role = IPCX_QUEUE_CONSUMER};
    assert_int_equal(ipcx_queue_open(name, &oc, &c), 0);
    static uint8_t buf[PL_LEN];
    qt_fill(buf, 0, 0, PL_LEN);
    assert_int_equal(ipcx_queue_send(p, buf, PL_LEN, NULL, 0), 0);
    assert_int_equal(ipcx_queue_send(p, buf, PL_LEN, NULL, 0), 0);
    g_sync_fail = 1;
    assert_int_equal(ipcx_queue_recv(c, buf, sizeof buf, NULL, 0), -EIO);
    assert_int_equal(g_sync_fail, 0);
    assert_int_equal(ipcx_queue_recv(c, buf, sizeof buf, NULL, 0), -EIO);
    ipcx__qsync_hook = NULL;
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
        cmocka_unit_test(test_power_loss_model),
        cmocka_unit_test(test_sync_failure_is_eio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
