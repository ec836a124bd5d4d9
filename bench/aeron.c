// SPDX-License-Identifier: MIT
/*
 * Aeron as a peer (`transport` "aeron-ipc"): the best-known shared-memory
 * messaging system, measured in the same harness as libzmq and libnng, so
 * that the ring's lead over it is a figure of the same run.  Optional: the
 * rows exist only when the build was configured with AERON_DIR pointing at
 * an Aeron C build (its lib/ and binaries/aeronmd; docs/bench.md says how
 * to make one).  Without it the suite knows the name, so `--filter
 * aeron-ipc` says that this build has no Aeron instead of "unknown".
 *
 * Set-up, per case:
 *   parent   prepare(): a fresh Aeron directory under /dev/shm, and a media
 *            driver (aeronmd, exec'd: the parent never hosts Aeron's
 *            threads) with threading SHARED and the backoff idle strategy,
 *            the configuration Aeron's own IPC latency figures use on few
 *            cores.  The driver only administers an IPC stream (it moves
 *            the publication limit); the data path is the two clients'.
 *   sides    setup(): a client each (its conductor thread sleeps between
 *            duties), an exclusive publication on their outgoing stream
 *            (aeron:ipc, A->B 1001, B->A 1002) and a subscription on the
 *            other; each waits until its publication is connected.
 *   parent   cleanup(): SIGTERM to the driver, wait for it, remove the
 *            directory whatever the driver left.
 *
 * Messages are copied in with aeron_exclusive_publication_offer (retried
 * while back-pressured, as Aeron's samples do) and handed to the reader by
 * a fragment assembler (so 64 KiB messages, which Aeron fragments at its
 * MTU, arrive whole); the handler reads the flag byte, the way ipcx's copy
 * API hands over the message.  One poll takes up to 64 fragments (recv
 * returns their flags one by one), as an Aeron reader would: a poll per
 * message would charge Aeron its per-poll bookkeeping on every message.  Aeron has no blocking
 * receive: its rows are "wait":"spin" only (bench_spin_pause between empty polls, as the ring's
 * spinning rows do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "suites.h"

#ifdef IPCX_BENCH_HAVE_AERON
#include <aeronc.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AERON_TIMEOUT_NS 10000000000ull /* connect, offer: longer is a failure */
#define AERON_CHANNEL    "aeron:ipc"
#define AERON_STREAM_AB  1001
#define AERON_STREAM_BA  1002
#define AERON_BATCH      64 /* fragments per poll at most */

struct aeron_state {
    size_t size;
    char dir[96]; /* the Aeron directory, under /dev/shm */
    pid_t driver; /* aeronmd, started by prepare() */
    aeron_context_t *actx;
    aeron_t *client;
    aeron_exclusive_publication_t *pub;
    aeron_subscription_t *sub;
    aeron_fragment_assembler_t *asm_;
    /* Flags of messages polled but not yet returned by recv: one poll
     * takes up to AERON_BATCH fragments, as an Aeron reader would. */
    int flags[AERON_BATCH];
    unsigned nflags, next;
    unsigned char *buf;
};

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int a_prepare(void *arg)
{
    static unsigned counter;
    struct aeron_state *s = arg;
    s->driver = -1;
    snprintf(s->dir, sizeof(s->dir), "/dev/shm/ipcx-bench-aeron-%d-%u", (int)getpid(), counter++);
    rm_tree(s->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* The driver reads its configuration from the environment. */
        setenv("AERON_DIR", s->dir, 1);
        setenv("AERON_THREADING_MODE", "SHARED", 1);
        setenv("AERON_SHARED_IDLE_STRATEGY", "backoff", 1);
        setenv("AERON_DIR_DELETE_ON_START", "1", 1);
        setenv("AERON_DIR_DELETE_ON_SHUTDOWN", "1", 1);
        setenv("AERON_PRINT_CONFIGURATION", "0", 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            close(null);
        }
        execl(IPCX_BENCH_AERONMD, "aeronmd", (char *)NULL);
        _exit(127);
    }
    s->driver = pid;
    return 0;
}

static void a_cleanup(void *arg)
{
    struct aeron_state *s = arg;
    if (s->driver > 0) {
        kill(s->driver, SIGTERM);
        /* It shuts down in well under a second; a driver that does not is
         * killed so the run goes on. */
        for (int i = 0; i < 200; i++) {
            if (waitpid(s->driver, NULL, WNOHANG) == s->driver) {
                s->driver = -1;
                break;
            }
            nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
        }
        if (s->driver > 0) {
            kill(s->driver, SIGKILL);
            waitpid(s->driver, NULL, 0);
            s->driver = -1;
        }
    }
    rm_tree(s->dir);
}

static void on_message(void *clientd, const uint8_t *buf, size_t len, aeron_header_t *hdr)
{
    (void)hdr;
    struct aeron_state *s = clientd;
    if (s->nflags < AERON_BATCH)
        s->flags[s->nflags++] = len >= 1 ? bench_msg_flag(buf) : -EPROTO;
}

static int a_setup(void *arg, enum bench_side side, int ctl)
{
    (void)ctl;
    struct aeron_state *s = arg;
    s->actx = NULL;
    s->client = NULL;
    s->pub = NULL;
    s->sub = NULL;
    s->asm_ = NULL;
    s->nflags = s->next = 0;
    s->buf = calloc(1, s->size);
    if (s->buf == NULL)
        return -ENOMEM;
    if (aeron_context_init(&s->actx) < 0 || aeron_context_set_dir(s->actx, s->dir) < 0 ||
        aeron_init(&s->client, s->actx) < 0 || aeron_start(s->client) < 0)
        return -ECONNREFUSED; /* no driver came up in the client's timeout */
    int32_t out = side == BENCH_SIDE_A ? AERON_STREAM_AB : AERON_STREAM_BA;
    int32_t in = side == BENCH_SIDE_A ? AERON_STREAM_BA : AERON_STREAM_AB;
    aeron_async_add_exclusive_publication_t *ap = NULL;
    aeron_async_add_subscription_t *as = NULL;
    if (aeron_async_add_exclusive_publication(&ap, s->client, AERON_CHANNEL, out) < 0 ||
        aeron_async_add_subscription(&as, s->client, AERON_CHANNEL, in, NULL, NULL, NULL, NULL) <
            0 ||
        aeron_fragment_assembler_create(&s->asm_, on_message, s) < 0)
        return -EIO;
    uint64_t start = bench_now_ns();
    int pr = 0, sr = 0;
    while (pr == 0 || sr == 0 || !aeron_exclusive_publication_is_connected(s->pub)) {
        if (pr == 0 && (pr = aeron_async_add_exclusive_publication_poll(&s->pub, ap)) < 0)
            return -EIO;
        if (sr == 0 && (sr = aeron_async_add_subscription_poll(&s->sub, as)) < 0)
            return -EIO;
        if (bench_now_ns() - start > AERON_TIMEOUT_NS)
            return -ETIMEDOUT;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return 0;
}

static int a_send(void *arg, enum bench_flag flag)
{
    struct aeron_state *s = arg;
    bench_msg_set_flag(s->buf, flag);
    uint64_t start = 0;
    unsigned spins = 0;
    for (;;) {
        int64_t rc = aeron_exclusive_publication_offer(s->pub, s->buf, s->size, NULL, NULL);
        if (rc > 0)
            return 0;
        if (rc == AERON_PUBLICATION_CLOSED || rc == AERON_PUBLICATION_MAX_POSITION_EXCEEDED ||
            rc == AERON_PUBLICATION_ERROR)
            return -EPIPE;
        /* Back-pressured, an admin action, or not connected (yet or any
         * more): try again, for at most the timeout. */
        if (start == 0)
            start = bench_now_ns();
        else if (bench_now_ns() - start > AERON_TIMEOUT_NS)
            return rc == AERON_PUBLICATION_NOT_CONNECTED ? -EPIPE : -ETIMEDOUT;
        bench_spin_pause(&spins);
    }
}

static int a_recv(void *arg)
{
    struct aeron_state *s = arg;
    uint64_t start = 0;
    unsigned spins = 0;
    if (s->next < s->nflags)
        return s->flags[s->next++];
    s->nflags = s->next = 0;
    for (;;) {
        /* A fragment limit of AERON_BATCH: whole messages never exceed it
         * (the assembler calls on_message once per message, at most once
         * per fragment). */
        int n =
            aeron_subscription_poll(s->sub, aeron_fragment_assembler_handler, s->asm_, AERON_BATCH);
        if (n < 0)
            return -EIO;
        if (s->nflags > 0)
            return s->flags[s->next++];
        if (start == 0)
            start = bench_now_ns();
        else if ((spins & 1023) == 0 && bench_now_ns() - start > AERON_TIMEOUT_NS)
            return -ETIMEDOUT;
        bench_spin_pause(&spins);
    }
}

static void a_teardown(void *arg, enum bench_side side)
{
    (void)side;
    struct aeron_state *s = arg;
    if (s->pub != NULL)
        aeron_exclusive_publication_close(s->pub, NULL, NULL);
    if (s->sub != NULL)
        aeron_subscription_close(s->sub, NULL, NULL);
    if (s->client != NULL)
        aeron_close(s->client);
    if (s->actx != NULL)
        aeron_context_close(s->actx);
    if (s->asm_ != NULL)
        aeron_fragment_assembler_delete(s->asm_);
    free(s->buf);
    s->buf = NULL;
}

static const bench_ops aeron_ops = {
    .prepare = a_prepare,
    .setup = a_setup,
    .send = a_send,
    .recv = a_recv,
    .teardown = a_teardown,
    .cleanup = a_cleanup,
};
#endif /* IPCX_BENCH_HAVE_AERON */

void bench_suite_aeron(bench_ctx *ctx)
{
    if (!bench_want(ctx, "aeron-ipc"))
        return;
#ifdef IPCX_BENCH_HAVE_AERON
    static const bench_row copy = {.api = "copy"};
    static const size_t stream_sizes[] = {64, 65536};
    struct aeron_state st = {.size = 64};
    bench_case c = {.transport = "aeron-ipc", .size = 64, .wait = "spin", .row = &copy};
    bench_run_pingpong(ctx, &c, &aeron_ops, &st);
    for (size_t i = 0; i < 2; i++) {
        c.size = st.size = stream_sizes[i];
        bench_run_stream(ctx, &c, &aeron_ops, &st);
    }
#else
    /* Only a run that asks for it by name is told. */
    if (bench_named(ctx, "aeron-ipc"))
        bench_skip(ctx, "aeron-ipc", "pingpong",
                   "this build has no Aeron (configure with -DAERON_DIR=<an Aeron C build>, "
                   "docs/bench.md)");
#endif
}
