// SPDX-License-Identifier: MIT
/*
 * The two-process measuring machinery behind every pingpong and stream case
 * (see harness.h for the protocol).  It forks both sides, pins them, runs
 * the ready handshake, measures, collects what the measuring side recorded
 * through a MAP_SHARED page, and reaps both children under a hard deadline so
 * a transport that hangs costs one failed row, not a hung `ipcx bench`.
 *
 * Design notes:
 *  - The shared result page is written by the children only and read by the
 *    parent only after it reaped both; waitpid() orders the children's
 *    stores before the parent's loads.  The one atomic, a side's report
 *    status, is stored last with release so that a side killed right after
 *    writing its report never shows a failed status with half a reason.
 *  - Children end with _exit(): no atexit handlers, no stdio flush of the
 *    parent's buffers, no library destructors of a half-torn-down context.
 *  - PR_SET_PDEATHSIG makes a side die with the parent.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NS_PER_S       1000000000ull
#define CTL_TIMEOUT_MS 30000
#define HARD_SLACK_NS  (20ull * NS_PER_S) /* per case, on top of its budget */
#define REAP_GRACE_NS  (5ull * NS_PER_S)  /* for B once A is done */
#define WARMUP_MIN     16                 /* round trips / messages */

struct side_report {
    _Atomic int32_t status; /* 0 or -errno; stored last */
    uint32_t pad;
    uint64_t when_ns; /* when the side failed */
    char why[112];
};

struct shared {
    struct side_report side[2];
    uint64_t count;      /* round trips recorded, or messages measured */
    uint64_t elapsed_ns; /* stream: the measured window */
    uint64_t samples[];  /* pingpong: round-trip times in ns */
};

enum mode { MODE_PINGPONG, MODE_STREAM };

struct run {
    bench_ctx *ctx;
    const bench_case *c;
    const bench_ops *ops;
    void *st;
    enum mode mode;
    struct shared *sh;
    size_t sh_len;
    uint64_t budget, warmup, min_count, max_count;
    const char *stage; /* what a side was doing when it failed */
    int wstatus[2];    /* parent: each side's wait status */
    bool killed[2];    /* parent: the side was killed by the parent */
    bench_row *out;    /* bench_measure_pingpong(): the row goes here, quietly */
};

int bench_run_apart(double (*fn)(void *arg), void *arg, double *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -errno;
    }
    if (pid == 0) {
        close(fds[0]);
        double v = fn(arg);
        _exit(bench_write_full(fds[1], &v, sizeof(v)) == 0 ? 0 : 1);
    }
    close(fds[1]);
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    int rc = poll(&p, 1, 60000) == 1 ? bench_read_full(fds[0], out, sizeof(*out)) : -ETIMEDOUT;
    close(fds[0]);
    if (rc != 0)
        kill(pid, SIGKILL);
    int status;
    (void)waitpid(pid, &status, 0);
    if (rc == 0 && *out < 0)
        rc = (int)*out;
    return rc;
}

void bench_run_handshakes(bench_ctx *ctx, const char *transport, double (*fn)(void *arg))
{
    if (!bench_want(ctx, transport))
        return;
    bench_hs_arg a = {.budget_ns = bench_budget_ns(ctx)};
    double v = 0;
    int rc = bench_run_apart(fn, &a, &v);
    if (rc != 0) {
        bench_fail(ctx, transport, "handshakes", strerror(-rc));
        return;
    }
    bench_row row = {.kase = "handshakes", .transport = transport, .variant = "curve"};
    row.handshakes_per_s = v;
    bench_emit(ctx, &row);
}

uint64_t bench_budget_ns(const bench_ctx *ctx)
{
    return ctx->quick ? NS_PER_S / 4 : 2 * NS_PER_S;
}

uint64_t bench_warmup_ns(const bench_ctx *ctx)
{
    return ctx->quick ? NS_PER_S / 33 : NS_PER_S / 5;
}

void bench_spin_pause(unsigned *spins)
{
    if (++*spins % 256 == 0) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ------------------------------------------------------------ byte helpers */

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

int bench_write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int bench_read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int bench_ctl_send(int ctl, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        int rc = wait_fd(ctl, POLLOUT, CTL_TIMEOUT_MS);
        if (rc < 0)
            return rc;
        ssize_t n = send(ctl, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int bench_ctl_recv(int ctl, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        int rc = wait_fd(ctl, POLLIN, CTL_TIMEOUT_MS);
        if (rc < 0)
            return rc;
        ssize_t n = recv(ctl, p, len, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int ctl_ack(int ctl)
{
    char b = 'K';
    return bench_ctl_send(ctl, &b, 1);
}

static int ctl_wait_ack(int ctl)
{
    char b;
    return bench_ctl_recv(ctl, &b, 1);
}

/* Side A of a stream: the acknowledgement, with the transport's wait_ctl
 * keeping its output moving meanwhile (harness.h). */
static int st_wait_ack(struct run *r, int ctl)
{
    int rc = r->ops->wait_ctl ? r->ops->wait_ctl(r->st, ctl) : 0;
    return rc < 0 ? rc : ctl_wait_ack(ctl);
}

/* -------------------------------------------------------------- pingpong */

static int pp_round(struct run *r, enum bench_flag flag)
{
    r->stage = "send";
    int rc = r->ops->send(r->st, flag);
    if (rc < 0)
        return rc;
    r->stage = "recv";
    rc = r->ops->recv(r->st);
    if (rc < 0)
        return rc;
    r->stage = "reply";
    return rc == (int)flag ? 0 : -EPROTO;
}

/* Touch the sample pages the budget will need at `rtt_ns` per round trip
 * (twice that, in case the rate improves), so page faults on the result
 * mapping do not land in the measured round trips. */
static void prefault(struct run *r, uint64_t rtt_ns)
{
    uint64_t need = r->budget / (rtt_ns ? rtt_ns : 1) * 2;
    if (need < r->min_count)
        need = r->min_count;
    if (need > r->max_count)
        need = r->max_count;
    for (uint64_t i = 0; i < need; i += 4096 / sizeof(uint64_t))
        r->sh->samples[i] = 0;
}

/* Side A: warm up, then one clock read per round trip until the budget is
 * spent and min_count round trips are recorded; a final BENCH_LAST round. */
static int pp_measure(struct run *r)
{
    uint64_t start = bench_now_ns(), end = start + r->warmup;
    unsigned warm = 0;
    int rc;
    do
        rc = pp_round(r, BENCH_MORE);
    while (rc == 0 && (++warm < WARMUP_MIN || bench_now_ns() < end));
    if (rc < 0)
        return rc;
    prefault(r, (bench_now_ns() - start) / warm);
    uint64_t prev = bench_now_ns(), stop = prev + r->budget;
    uint64_t i = 0;
    while (i < r->max_count) {
        rc = pp_round(r, BENCH_MORE);
        if (rc < 0)
            return rc;
        uint64_t now = bench_now_ns();
        r->sh->samples[i++] = now - prev;
        prev = now;
        if (now >= stop && i >= r->min_count)
            break;
    }
    r->sh->count = i;
    return pp_round(r, BENCH_LAST);
}

/* Side B: echo every message's flag back until BENCH_LAST. */
static int pp_answer(struct run *r)
{
    for (;;) {
        r->stage = "recv";
        int flag = r->ops->recv(r->st);
        if (flag < 0)
            return flag;
        r->stage = "send";
        int rc = r->ops->send(r->st, (enum bench_flag)flag);
        if (rc < 0)
            return rc;
        if (flag == BENCH_LAST)
            return 0;
    }
}

/* ---------------------------------------------------------------- stream */

/* Send MORE messages until `stop` (checked every `batch` messages) and at
 * least `min` of them; returns the count or a negative errno. */
static int64_t st_send_until(struct run *r, uint64_t stop, uint64_t min, unsigned batch)
{
    uint64_t n = 0;
    r->stage = "send";
    for (;;) {
        for (unsigned k = 0; k < batch; k++) {
            int rc = r->ops->send(r->st, BENCH_MORE);
            if (rc < 0)
                return rc;
        }
        n += batch;
        if (n >= r->max_count || (n >= min && bench_now_ns() >= stop))
            return (int64_t)n;
    }
}

/* Side A, the producer: warm-up, SYNC + ack, then the measured window from
 * the first send to the acknowledgement of the LAST message. */
static int st_produce(struct run *r, int ctl)
{
    unsigned batch = r->c->size >= 4096 ? 1 : 64;
    int64_t n = st_send_until(r, bench_now_ns() + r->warmup, WARMUP_MIN, batch);
    if (n < 0)
        return (int)n;
    r->stage = "sync";
    int rc = r->ops->send(r->st, BENCH_SYNC);
    if (rc < 0 || (rc = st_wait_ack(r, ctl)) < 0)
        return rc;
    uint64_t t0 = bench_now_ns();
    n = st_send_until(r, t0 + r->budget, r->min_count, batch);
    if (n < 0)
        return (int)n;
    r->stage = "final ack";
    rc = r->ops->send(r->st, BENCH_LAST);
    if (rc < 0 || (rc = st_wait_ack(r, ctl)) < 0)
        return rc;
    r->sh->elapsed_ns = bench_now_ns() - t0;
    r->sh->count = (uint64_t)n + 1;
    return 0;
}

/* Side B, the consumer: acknowledge SYNC and LAST on the control channel. */
static int st_consume(struct run *r, int ctl)
{
    for (;;) {
        r->stage = "recv";
        int flag = r->ops->recv(r->st);
        if (flag < 0)
            return flag;
        if (flag == BENCH_MORE)
            continue;
        r->stage = "ack";
        int rc = ctl_ack(ctl);
        if (rc < 0 || flag == BENCH_LAST)
            return rc;
    }
}

/* ------------------------------------------------------------------ sides */

static int side_body(struct run *r, enum bench_side side, int ctl)
{
    r->stage = "setup";
    int rc = r->ops->setup ? r->ops->setup(r->st, side, ctl) : 0;
    if (rc < 0)
        return rc;
    char b = 'R';
    r->stage = "ready handshake";
    if ((rc = bench_ctl_send(ctl, &b, 1)) < 0 || (rc = bench_ctl_recv(ctl, &b, 1)) < 0)
        return rc;
    if (r->mode == MODE_PINGPONG)
        return side == BENCH_SIDE_A ? pp_measure(r) : pp_answer(r);
    return side == BENCH_SIDE_A ? st_produce(r, ctl) : st_consume(r, ctl);
}

static _Noreturn void side_main(struct run *r, enum bench_side side, int ctl, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    signal(SIGPIPE, SIG_IGN);
    if (r->ctx->pinned)
        (void)bench_pin(side == BENCH_SIDE_A ? r->ctx->cpu_a : r->ctx->cpu_b);
    int rc = side_body(r, side, ctl);
    if (r->ops->teardown)
        r->ops->teardown(r->st, side);
    struct side_report *rep = &r->sh->side[side];
    if (rc < 0) {
        rep->when_ns = bench_now_ns();
        snprintf(rep->why, sizeof(rep->why), "side %c: %s: %s", side == BENCH_SIDE_A ? 'A' : 'B',
                 r->stage, strerror(-rc));
    }
    /* Release: a status the parent sees as failed comes with a complete
     * report even when this side is killed right after; pairs with the
     * acquire load in report_of(). */
    atomic_store_explicit(&rep->status, rc, memory_order_release);
    _exit(rc < 0 ? 1 : 0);
}

/* ----------------------------------------------------------------- parent */

static int pidfd_of(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

struct reaper {
    pid_t pid[2]; /* 0 once reaped */
    int fd[2];    /* pidfds; -1 when pidfd_open is unavailable */
    int bad;      /* 0, -ECHILD (a side failed) or -ETIMEDOUT */
    uint64_t deadline;
    struct run *r; /* gets each side's wait status and whether it was killed */
};

static void stop(struct reaper *rp, int i)
{
    if (rp->pid[i] > 0 && kill(rp->pid[i], SIGKILL) == 0)
        rp->r->killed[i] = true;
}

/* Collect side i.  A failure kills the other side at once; a success gives
 * the other side REAP_GRACE_NS to finish. */
static void reap_one(struct reaper *rp, int i)
{
    int status = 0;
    if (waitpid(rp->pid[i], &status, 0) < 0)
        status = SIGKILL; /* "killed": counts as a failure */
    rp->pid[i] = 0;
    rp->r->wstatus[i] = status;
    if (rp->fd[i] >= 0)
        close(rp->fd[i]);
    rp->fd[i] = -1;
    uint64_t grace = bench_now_ns() + REAP_GRACE_NS;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (rp->deadline > grace)
            rp->deadline = grace;
        return;
    }
    if (rp->bad == 0)
        rp->bad = -ECHILD;
    stop(rp, 1 - i);
}

/* Reap both sides before `deadline`; past it, kill what still runs.
 * Returns 0 when both exited with status 0. */
static int reap(const pid_t pid[2], uint64_t deadline, const char **why, struct run *r)
{
    struct reaper rp = {.pid = {pid[0], pid[1]}, .deadline = deadline, .r = r};
    for (int i = 0; i < 2; i++)
        rp.fd[i] = pid[i] > 0 ? pidfd_of(pid[i]) : -1;
    while (rp.pid[0] > 0 || rp.pid[1] > 0) {
        int blind = rp.pid[0] > 0 && rp.fd[0] < 0 ? 0 : rp.pid[1] > 0 && rp.fd[1] < 0 ? 1 : -1;
        if (blind >= 0) { /* no pidfd (old kernel): wait without a deadline */
            reap_one(&rp, blind);
            continue;
        }
        uint64_t now = bench_now_ns();
        int ms = now >= rp.deadline ? 0 : (int)((rp.deadline - now) / 1000000u + 1);
        struct pollfd p[2] = {{.fd = rp.fd[0], .events = POLLIN},
                              {.fd = rp.fd[1], .events = POLLIN}};
        int n = poll(p, 2, ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* past the deadline (or poll broke): stop both */
            stop(&rp, 0);
            stop(&rp, 1);
            *why = "timed out (killed)";
            rp.bad = -ETIMEDOUT;
            rp.deadline = UINT64_MAX; /* SIGKILL always lands: wait for it */
            continue;
        }
        for (int i = 0; i < 2; i++)
            if (rp.pid[i] > 0 && (p[i].revents & POLLIN))
                reap_one(&rp, i);
    }
    return rp.bad;
}

static pid_t spawn(struct run *r, enum bench_side side, int sv[2], pid_t parent)
{
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[side == BENCH_SIDE_A ? 1 : 0]);
        side_main(r, side, sv[side == BENCH_SIDE_A ? 0 : 1], parent);
    }
    return pid;
}

/* Fork B then A, release the parent's copies, reap under the deadline. */
static int fork_and_reap(struct run *r, const char **why)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        *why = "control socketpair failed";
        return -errno;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid[2] = {0, spawn(r, BENCH_SIDE_B, sv, parent)};
    if (pid[1] > 0)
        pid[0] = spawn(r, BENCH_SIDE_A, sv, parent);
    int err = pid[0] < 0 || pid[1] < 0 ? -errno : 0;
    close(sv[0]);
    close(sv[1]);
    if (r->ops->release)
        r->ops->release(r->st);
    if (err < 0) {
        *why = "fork failed";
        if (pid[1] > 0)
            kill(pid[1], SIGKILL);
        pid[0] = pid[0] < 0 ? 0 : pid[0];
        pid[1] = pid[1] < 0 ? 0 : pid[1];
    }
    uint64_t limit =
        r->c->deadline_ns ? r->c->deadline_ns : r->warmup + 2 * r->budget + HARD_SLACK_NS;
    uint64_t deadline = bench_now_ns() + limit;
    int rc = reap(pid, deadline, why, r);
    return err < 0 ? err : rc;
}

static void fill_defaults(struct run *r)
{
    const bench_case *c = r->c;
    r->budget = c->budget_ns ? c->budget_ns : bench_budget_ns(r->ctx);
    r->warmup = c->warmup_ns ? c->warmup_ns : bench_warmup_ns(r->ctx);
    r->min_count = c->min_count ? c->min_count : 1;
    r->max_count = c->max_count ? c->max_count : UINT64_MAX;
    if (r->mode == MODE_PINGPONG && r->max_count > BENCH_MAX_SAMPLES)
        r->max_count = BENCH_MAX_SAMPLES;
    if (r->min_count > r->max_count)
        r->min_count = r->max_count;
}

/* The floor beside every case but the floor's own row and the probe. */
static bool wants_floor(const struct run *r)
{
    return r->out == NULL && strcmp(r->c->transport, "floor-cacheline") != 0;
}

static void emit(struct run *r)
{
    bench_row row = {0};
    if (r->c->row)
        row = *r->c->row;
    row.transport = r->c->transport;
    row.size = r->c->size;
    row.wait = r->c->wait;
    if (r->mode == MODE_PINGPONG) {
        row.kase = "pingpong";
        bench_percentiles(&row, r->sh->samples, (size_t)r->sh->count);
    } else {
        row.kase = "stream";
        double secs = (double)r->sh->elapsed_ns / 1e9;
        row.msgs_per_s = (double)r->sh->count / secs;
        row.bytes_per_s = row.msgs_per_s * (double)r->c->size;
        row.samples = r->sh->count;
    }
    if (r->out != NULL) {
        *r->out = row;
        return;
    }
    if (wants_floor(r))
        bench_floor_after(r->ctx, &row);
    bench_emit(r->ctx, &row);
}

/* A side's failure report, or NULL when it wrote none. */
static const struct side_report *report_of(struct run *r, int side)
{
    const struct side_report *rep = &r->sh->side[side];
    /* Acquire: pairs with the release store in side_main(). */
    return atomic_load_explicit(&rep->status, memory_order_acquire) < 0 ? rep : NULL;
}

/* Why the case failed.  A side that ended abnormally on its own without a
 * report (a crash, an _exit) is the cause; otherwise the earlier report
 * wins (the other side usually just saw its peer go away). */
static const char *failure_why(struct run *r, char *buf, size_t cap)
{
    for (int i = 0; i < 2; i++) {
        int st = r->wstatus[i], side = i == BENCH_SIDE_A ? 'A' : 'B';
        /* kill() also "succeeds" on a zombie: only a SIGKILL death is ours. */
        bool ours = r->killed[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        if (ours || report_of(r, i) != NULL || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
            continue;
        if (WIFSIGNALED(st))
            snprintf(buf, cap, "side %c: killed by signal %d (%s)", side, WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
        else
            snprintf(buf, cap, "side %c: exited with status %d", side, WEXITSTATUS(st));
        return buf;
    }
    const struct side_report *a = report_of(r, BENCH_SIDE_A), *b = report_of(r, BENCH_SIDE_B);
    if (a != NULL && b != NULL)
        return a->when_ns <= b->when_ns ? a->why : b->why;
    return a ? a->why : b ? b->why : "a side died";
}

static int run_case(struct run *r)
{
    const char *kase = r->mode == MODE_PINGPONG ? "pingpong" : "stream";
    fill_defaults(r);
    r->sh_len = sizeof(struct shared);
    if (r->mode == MODE_PINGPONG)
        r->sh_len += (size_t)r->max_count * sizeof(uint64_t);
    r->sh = mmap(NULL, r->sh_len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r->sh == MAP_FAILED) {
        if (r->out == NULL)
            bench_fail(r->ctx, r->c->transport, kase, "cannot map the result page");
        return -ENOMEM;
    }
    const char *why = NULL;
    char buf[96];
    if (wants_floor(r))
        bench_floor_before(r->ctx);
    int rc = r->ops->prepare ? r->ops->prepare(r->st) : 0;
    if (rc < 0) {
        snprintf(buf, sizeof(buf), "prepare: %s", strerror(-rc));
        why = buf;
    } else
        rc = fork_and_reap(r, &why);
    if (r->ops->cleanup)
        r->ops->cleanup(r->st);
    /* The side that failed first explains the failure; the other one was
     * killed, perhaps halfway through writing its own report. */
    if (rc == -ECHILD)
        why = failure_why(r, buf, sizeof(buf));
    if (rc == 0 && r->sh->count == 0) {
        rc = -EPROTO;
        why = "nothing was measured";
    }
    if (rc == 0)
        emit(r);
    else if (r->out == NULL)
        bench_fail(r->ctx, r->c->transport, kase, why ? why : "a side died");
    munmap(r->sh, r->sh_len);
    return rc;
}

int bench_run_pingpong(bench_ctx *ctx, const bench_case *c, const bench_ops *ops, void *st)
{
    if (!bench_want(ctx, c->transport))
        return 1;
    struct run r = {.ctx = ctx, .c = c, .ops = ops, .st = st, .mode = MODE_PINGPONG};
    return run_case(&r);
}

int bench_measure_pingpong(bench_ctx *ctx, const bench_case *c, const bench_ops *ops, void *st,
                           bench_row *out)
{
    struct run r = {.ctx = ctx, .c = c, .ops = ops, .st = st, .mode = MODE_PINGPONG, .out = out};
    return run_case(&r);
}

int bench_run_stream(bench_ctx *ctx, const bench_case *c, const bench_ops *ops, void *st)
{
    if (!bench_want(ctx, c->transport))
        return 1;
    struct run r = {.ctx = ctx, .c = c, .ops = ops, .st = st, .mode = MODE_STREAM};
    return run_case(&r);
}
