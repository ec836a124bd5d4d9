// SPDX-License-Identifier: MIT
/*
 * The kernel baselines: what plain system calls give two processes on one
 * host, measured exactly like ipcx's transports (harness.h).
 *
 *  pipe      two pipes (one per direction), read/write
 *  unix-raw  an AF_UNIX SOCK_STREAM socketpair
 *  tcp-raw   a loopback TCP connection with TCP_NODELAY on both ends
 *  posix-mq  two POSIX message queues (one per direction), mq_send/receive
 *
 * Each: pingpong 64 B, stream 64 B and 64 KiB, every side sleeping in the
 * kernel when it has nothing to do ("block").  The byte streams carry
 * fixed-size messages; bench_read_full()/bench_write_full() absorb short
 * reads and writes, so a 64 KiB message may arrive in many pieces.  A
 * message queue's message size is capped by /proc/sys/fs/mqueue/msgsize_max
 * (8 KiB by default) unless the process has CAP_SYS_RESOURCE: a larger
 * posix-mq message then travels as several queue messages and its row says
 * "variant":"chunked".
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"

enum fd_kind { KIND_PIPE, KIND_UNIX, KIND_TCP };

struct fd_state {
    enum fd_kind kind;
    size_t size;
    int fd[4];     /* pipe: a->b read, write, b->a read, write; unix: A, B; tcp: listener */
    uint16_t port; /* tcp: the listener's port */
    int rfd, wfd;  /* this side's ends after setup */
    unsigned char *buf;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void fd_release(void *arg)
{
    struct fd_state *s = arg;
    for (int i = 0; i < 4; i++)
        close_fd(&s->fd[i]);
}

static int tcp_listener(struct fd_state *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    s->fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd[0] < 0)
        return -errno;
    if (bind(s->fd[0], (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->fd[0], 1) < 0 ||
        getsockname(s->fd[0], (struct sockaddr *)&a, &len) < 0) {
        int err = -errno;
        close_fd(&s->fd[0]);
        return err;
    }
    s->port = ntohs(a.sin_port);
    return 0;
}

static int fd_prepare(void *arg)
{
    struct fd_state *s = arg;
    for (int i = 0; i < 4; i++)
        s->fd[i] = -1;
    s->rfd = s->wfd = -1;
    s->buf = NULL;
    int rc = 0;
    if (s->kind == KIND_PIPE) {
        if (pipe2(s->fd, O_CLOEXEC) < 0 || pipe2(s->fd + 2, O_CLOEXEC) < 0)
            rc = -errno;
    } else if (s->kind == KIND_UNIX) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->fd) < 0)
            rc = -errno;
    } else {
        rc = tcp_listener(s);
    }
    if (rc < 0)
        fd_release(s);
    return rc;
}

/* Side A accepts, side B connects; both turn Nagle off. */
static int tcp_setup(struct fd_state *s, enum bench_side side)
{
    int fd;
    if (side == BENCH_SIDE_A) {
        fd = accept4(s->fd[0], NULL, NULL, SOCK_CLOEXEC);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(s->port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            int err = errno;
            close(fd);
            fd = -1;
            errno = err;
        }
    }
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->rfd = s->wfd = fd;
    close_fd(&s->fd[0]);
    return 0;
}

static int fd_setup(void *arg, enum bench_side side, int ctl)
{
    struct fd_state *s = arg;
    (void)ctl;
    s->buf = calloc(1, s->size);
    if (s->buf == NULL)
        return -ENOMEM;
    int a = side == BENCH_SIDE_A;
    if (s->kind == KIND_PIPE) {
        s->wfd = a ? s->fd[1] : s->fd[3];
        s->rfd = a ? s->fd[2] : s->fd[0];
        close_fd(&s->fd[a ? 0 : 1]);
        close_fd(&s->fd[a ? 3 : 2]);
    } else if (s->kind == KIND_UNIX) {
        s->rfd = s->wfd = s->fd[a ? 0 : 1];
        close_fd(&s->fd[a ? 1 : 0]);
    } else {
        return tcp_setup(s, side);
    }
    return 0;
}

static int fd_send(void *arg, enum bench_flag flag)
{
    struct fd_state *s = arg;
    bench_msg_set_flag(s->buf, flag);
    return bench_write_full(s->wfd, s->buf, s->size);
}

static int fd_recv(void *arg)
{
    struct fd_state *s = arg;
    int rc = bench_read_full(s->rfd, s->buf, s->size);
    return rc < 0 ? rc : bench_msg_flag(s->buf);
}

static void fd_teardown(void *arg, enum bench_side side)
{
    struct fd_state *s = arg;
    (void)side;
    free(s->buf);
    s->buf = NULL;
    if (s->kind == KIND_TCP) /* pipe and unix ends live in fd[] */
        close_fd(&s->rfd);
    fd_release(s);
}

static const bench_ops fd_ops = {
    .prepare = fd_prepare,
    .release = fd_release,
    .setup = fd_setup,
    .send = fd_send,
    .recv = fd_recv,
    .teardown = fd_teardown,
};

/* --------------------------------------------------------------- posix-mq */

struct mq_state {
    size_t size;
    size_t chunk; /* queue message size: size, or msgsize_max when smaller */
    mqd_t q[2];   /* a->b, b->a */
    mqd_t in, out;
    unsigned char *buf;
};

static long read_proc_long(const char *path, long dflt)
{
    FILE *f = fopen(path, "r");
    long v = dflt;
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

/* Open an anonymous (already unlinked) queue of `size`-byte messages. */
static mqd_t mq_anon(size_t size)
{
    static unsigned counter;
    char name[64];
    snprintf(name, sizeof(name), "/ipcx-bench-%d-%u", (int)getpid(), counter++);
    long maxmsg = read_proc_long("/proc/sys/fs/mqueue/msg_max", 10);
    struct mq_attr attr = {.mq_maxmsg = maxmsg < 10 ? maxmsg : 10, .mq_msgsize = (long)size};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
    if (q != (mqd_t)-1) {
        int err = errno;
        mq_unlink(name);
        errno = err;
    }
    return q;
}

static void mq_release(void *arg)
{
    struct mq_state *s = arg;
    for (int i = 0; i < 2; i++) {
        if (s->q[i] != (mqd_t)-1)
            mq_close(s->q[i]);
        s->q[i] = (mqd_t)-1;
    }
}

static int mq_prepare(void *arg)
{
    struct mq_state *s = arg;
    s->buf = NULL;
    s->q[0] = mq_anon(s->chunk);
    s->q[1] = s->q[0] == (mqd_t)-1 ? (mqd_t)-1 : mq_anon(s->chunk);
    if (s->q[1] == (mqd_t)-1) {
        int err = -errno;
        mq_release(s);
        return err;
    }
    return 0;
}

static int mq_setup(void *arg, enum bench_side side, int ctl)
{
    struct mq_state *s = arg;
    (void)ctl;
    s->out = s->q[side == BENCH_SIDE_A ? 0 : 1];
    s->in = s->q[side == BENCH_SIDE_A ? 1 : 0];
    /* mq_receive() wants room for a whole queue message at every offset. */
    s->buf = calloc(1, s->size + s->chunk);
    return s->buf == NULL ? -ENOMEM : 0;
}

/* A message larger than the queue's message size goes as several queue
 * messages (the row then says variant "chunked"). */
static int mq_send_msg(void *arg, enum bench_flag flag)
{
    struct mq_state *s = arg;
    bench_msg_set_flag(s->buf, flag);
    for (size_t off = 0; off < s->size;) {
        size_t n = s->size - off < s->chunk ? s->size - off : s->chunk;
        if (mq_send(s->out, (const char *)s->buf + off, n, 0) < 0) {
            if (errno != EINTR)
                return -errno;
            continue;
        }
        off += n;
    }
    return 0;
}

static int mq_recv_msg(void *arg)
{
    struct mq_state *s = arg;
    for (size_t off = 0; off < s->size;) {
        ssize_t n = mq_receive(s->in, (char *)s->buf + off, s->chunk, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if ((size_t)n > s->size - off)
            return -EPROTO;
        off += (size_t)n;
    }
    return bench_msg_flag(s->buf);
}

static void mq_teardown(void *arg, enum bench_side side)
{
    struct mq_state *s = arg;
    (void)side;
    free(s->buf);
    s->buf = NULL;
    mq_release(s);
}

static const bench_ops mq_ops = {
    .prepare = mq_prepare,
    .release = mq_release,
    .setup = mq_setup,
    .send = mq_send_msg,
    .recv = mq_recv_msg,
    .teardown = mq_teardown,
};

/* Queue messages over msgsize_max need CAP_SYS_RESOURCE; without it a
 * larger message is sent in msgsize_max pieces.  Returns the chunk size,
 * or 0 (after bench_skip) when no queue can be opened at all. */
static size_t mq_chunk(bench_ctx *ctx, size_t size, const char *kase)
{
    long max = read_proc_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
    for (size_t chunk = size;; chunk = (size_t)max) {
        mqd_t q = mq_anon(chunk);
        if (q != (mqd_t)-1) {
            mq_close(q);
            return chunk;
        }
        if (errno != EINVAL || max <= 0 || chunk <= (size_t)max)
            break;
    }
    char why[128];
    snprintf(why, sizeof(why), "cannot open a queue: %s", strerror(errno));
    bench_skip(ctx, "posix-mq", kase, why);
    return 0;
}

static void mq_cases(bench_ctx *ctx)
{
    static const size_t sizes[] = {64, 64, 65536};
    static const bench_row chunked = {.variant = "chunked"};
    for (size_t i = 0; i < 3; i++) {
        const char *kase = i == 0 ? "pingpong" : "stream";
        struct mq_state mq = {.size = sizes[i], .chunk = mq_chunk(ctx, sizes[i], kase)};
        bench_case c = {.transport = "posix-mq", .size = sizes[i], .wait = "block"};
        if (mq.chunk == 0)
            continue;
        if (mq.chunk < mq.size)
            c.row = &chunked;
        if (i == 0)
            bench_run_pingpong(ctx, &c, &mq_ops, &mq);
        else
            bench_run_stream(ctx, &c, &mq_ops, &mq);
    }
}

/* ------------------------------------------------------------------ suite */

static void run_three(bench_ctx *ctx, const char *transport, const bench_ops *ops, void *st,
                      size_t *size)
{
    static const size_t stream_sizes[] = {64, 65536};
    bench_case c = {.transport = transport, .size = 64, .wait = "block"};
    *size = 64;
    bench_run_pingpong(ctx, &c, ops, st);
    for (size_t i = 0; i < 2; i++) {
        c.size = *size = stream_sizes[i];
        bench_run_stream(ctx, &c, ops, st);
    }
}

void bench_suite_kernel(bench_ctx *ctx)
{
    static const char *const names[] = {"pipe", "unix-raw", "tcp-raw"};
    static const enum fd_kind kinds[] = {KIND_PIPE, KIND_UNIX, KIND_TCP};
    for (int i = 0; i < 3; i++) {
        struct fd_state st = {.kind = kinds[i]};
        run_three(ctx, names[i], &fd_ops, &st, &st.size);
    }
    if (bench_want(ctx, "posix-mq"))
        mq_cases(ctx);
}
