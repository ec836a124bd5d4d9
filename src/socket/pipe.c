// SPDX-License-Identifier: MIT
/*
 * The ZMTP engine of one connection (a pipe): handshake, lazy decoding of
 * incoming messages, write-through and batched output, heartbeats.
 *
 * A pipe belongs to its socket and is used under the socket's mutex only
 * (socket_int.h has the design notes).  A pipe that fails is closed at once
 * (fd, decoder, input) but freed only by ipcx__sk_reap() at the end of the
 * public call, so no caller up the stack holds a dangling pointer.  A
 * dialled pipe is not freed at all: it keeps its queued output and waits
 * for its dialer to connect again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket/socket_int.h"

static int64_t pipe_now(const sk_pipe *p)
{
    (void)p;
    return ipcx__now_ns();
}

static bool hb_on(const ipcx_socket *s)
{
    return s->hb_ivl > 0;
}

sk_pipe *ipcx__pipe_new(ipcx_socket *s)
{
    sk_pipe *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->ep.kind = EP_PIPE;
    p->s = s;
    p->fd = -1;
    p->state = P_IDLE;
    p->id = ++s->next_id;
    p->peer_pid = -1;
    p->peer_uid = -1;
    p->next = s->pipes;
    if (s->pipes != NULL)
        s->pipes->prev = p;
    s->pipes = p;
    s->npipes++;
    return p;
}

/* ------------------------------------------------------------ epoll */

/* The fd's entry in the I/O set.  A paused pipe with nothing to write
 * leaves the set altogether: epoll reports a hang-up even to an entry
 * that asks for nothing, and a paused pipe must not wake anyone. */
static void pipe_epoll(sk_pipe *p)
{
    uint32_t ev =
        (p->in_paused ? 0u : (uint32_t)EPOLLIN) | (p->out_armed ? (uint32_t)EPOLLOUT : 0u);
    if (ev == 0) {
        if (p->registered)
            (void)ipcx__sk_epoll(p->s, EPOLL_CTL_DEL, p->fd, &p->ep, 0);
        p->registered = false;
        return;
    }
    int op = p->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (ipcx__sk_epoll(p->s, op, p->fd, &p->ep, ev) == 0)
        p->registered = true;
    ipcx__pipe_bg_sync(p);
}

/* The pipe's entry in the assistant's set (socket.c, the I/O assistant):
 * a handshake to finish, output the kernel did not take, and - for the
 * patterns that never receive - the peer's commands.  Never the input of
 * a receiving pattern's established connection: that is the caller's. */
void ipcx__pipe_bg_sync(sk_pipe *p)
{
    if (p->shm != NULL)
        return; /* its own sets (pipe_shm.c) */
    ipcx_socket *s = p->s;
    uint32_t ev = 0;
    if (p->fd >= 0) {
        if (p->state == P_HANDSHAKE || (p->state == P_ACTIVE && s->drains_input && !p->in_paused))
            ev |= EPOLLIN;
        if (p->out_armed)
            ev |= EPOLLOUT;
    }
    if (ev == p->bg_events)
        return;
    int op = p->bg_events == 0 ? EPOLL_CTL_ADD : ev == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (ipcx__sk_bg_epoll(s, op, p->fd, p->id, ev) == 0 || op == EPOLL_CTL_DEL)
        p->bg_events = ev;
}

static void pipe_bg_drop(sk_pipe *p)
{
    if (p->bg_events != 0)
        (void)ipcx__sk_bg_epoll(p->s, EPOLL_CTL_DEL, p->fd, 0, 0);
    p->bg_events = 0;
}

void ipcx__pipe_arm_out(sk_pipe *p, bool on)
{
    if (p->out_armed == on || p->fd < 0)
        return;
    p->out_armed = on;
    pipe_epoll(p);
}

static void pipe_pause_in(sk_pipe *p, bool on)
{
    if (p->in_paused == on || p->fd < 0)
        return;
    p->in_paused = on;
    pipe_epoll(p);
}

void ipcx__pipe_update_buffered(sk_pipe *p)
{
    bool has = p->head != H_NONE || p->in_pos < p->in_len;
    if (has != p->buffered_counted) {
        p->buffered_counted = has;
        if (has)
            p->s->nbuffered++;
        else
            p->s->nbuffered--;
    }
}

/* ------------------------------------------------------------ output */

static int out_reserve(sk_pipe *p, size_t more)
{
    if (p->out_pos > 0 && p->out_pos == p->out_len) {
        p->out_base += p->out_len;
        p->out_pos = p->out_len = 0;
    }
    if (p->out_len + more <= p->out_cap)
        return 0;
    if (p->out_pos > 0 && p->out_pos >= p->out_len / 2) {
        memmove(p->out, p->out + p->out_pos, p->out_len - p->out_pos);
        p->out_base += p->out_pos;
        p->out_len -= p->out_pos;
        p->out_pos = 0;
        if (p->out_len + more <= p->out_cap)
            return 0;
    }
    size_t ncap = p->out_cap ? p->out_cap : 16384;
    while (ncap < p->out_len + more)
        ncap *= 2;
    uint8_t *n = realloc(p->out, ncap);
    if (n == NULL)
        return -ENOMEM;
    p->out = n;
    p->out_cap = ncap;
    return 0;
}

static int ends_push(sk_pipe *p, uint64_t end)
{
    if (p->ends_n == p->ends_cap) {
        size_t ncap = p->ends_cap ? p->ends_cap * 2 : 64;
        uint64_t *n = malloc(ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < p->ends_n; i++)
            n[i] = p->ends[(p->ends_head + i) % p->ends_cap];
        free(p->ends);
        p->ends = n;
        p->ends_head = 0;
        p->ends_cap = ncap;
    }
    p->ends[(p->ends_head + p->ends_n) % p->ends_cap] = end;
    p->ends_n++;
    return 0;
}

/* Forget the messages wholly written. */
void ipcx__pipe_written(sk_pipe *p)
{
    uint64_t done = p->out_base + p->out_pos;
    bool was_full = !ipcx__pipe_room(p);
    while (p->ends_n > 0 && p->ends[p->ends_head] <= done) {
        p->done_end = p->ends[p->ends_head];
        p->ends_head = (p->ends_head + 1) % p->ends_cap;
        p->ends_n--;
    }
    if (was_full && ipcx__pipe_room(p))
        p->s->news = true;
}

size_t ipcx__pipe_queued(const sk_pipe *p)
{
    if (p->shm != NULL)
        return ipcx__shm_queued(p);
    return p->ends_n;
}

bool ipcx__pipe_room(const sk_pipe *p)
{
    if (p->shm != NULL)
        return ipcx__shm_room(p);
    const ipcx_socket *s = p->s;
    if (p->busy)
        return false;
    if (s->send_hwm != 0 && p->ends_n >= s->send_hwm)
        return false;
    if (s->send_hwm_bytes != 0 && p->out_len - p->out_pos >= s->send_hwm_bytes)
        return false;
    return true;
}

int (*ipcx__sk_fault)(int site);

/* A transfer of at most @cap bytes of @iov: the first iovecs, the last one
 * cut short.  Returns how many iovecs @out holds. */
static size_t iov_cap(const struct iovec *iov, size_t n, size_t cap, struct iovec *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n && cap > 0; i++) {
        out[k] = iov[i];
        if (out[k].iov_len > cap)
            out[k].iov_len = cap;
        cap -= out[k].iov_len;
        k++;
    }
    return k;
}

ssize_t ipcx__pipe_writev(sk_pipe *p, struct iovec *iov, size_t n)
{
    struct iovec capped[IPCX__IOV_MAX];
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
    ssize_t w;
    do {
        int f = ipcx__sk_fault != NULL ? ipcx__sk_fault(IPCX__SK_WRITE) : 0;
        if (f < 0) {
            errno = -f;
            w = -1;
            continue;
        }
        if (f > 0 && n <= IPCX__IOV_MAX) {
            mh.msg_iov = capped;
            mh.msg_iovlen = iov_cap(iov, n, (size_t)f, capped);
        }
        w = sendmsg(p->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    return w;
}

int ipcx__pipe_flush(sk_pipe *p)
{
    if (p->shm != NULL)
        return ipcx__shm_flush(p);
    if (p->fd < 0 || p->busy || (p->state != P_ACTIVE && p->state != P_HANDSHAKE))
        return 0;
    if (ipcx__mech_seals(p))
        return ipcx__mech_flush(p);
    for (;;) {
        struct iovec iov[2];
        size_t n = 0;
        size_t hs_left = p->hs_len - p->hs_pos;
        if (hs_left > 0)
            iov[n++] = (struct iovec){p->hs + p->hs_pos, hs_left};
        size_t out_left = p->state == P_ACTIVE ? p->out_len - p->out_pos : 0;
        if (out_left > 0)
            iov[n++] = (struct iovec){p->out + p->out_pos, out_left};
        if (n == 0) {
            p->batching = false;
            if (p->out_armed)
                p->s->news = true; /* drained: a lingering close waits for this */
            ipcx__pipe_arm_out(p, false);
            return 0;
        }
        ssize_t w = ipcx__pipe_writev(p, iov, n);
        if (w < 0) {
            ipcx__pipe_fail(p, (int)w, "write failed");
            return -EPIPE;
        }
        size_t uw = (size_t)w;
        size_t h = uw < hs_left ? uw : hs_left;
        p->hs_pos += h;
        uw -= h;
        p->out_pos += uw;
        if (uw > 0)
            ipcx__pipe_written(p);
        if (w > 0 && hb_on(p->s))
            p->last_tx = pipe_now(p);
        if ((size_t)w < hs_left + out_left) {
            ipcx__pipe_arm_out(p, true);
            return 0;
        }
    }
}

/* Append raw bytes as one unit of the stream (a message or a command). */
static int out_append(sk_pipe *p, const struct iovec *iov, size_t n, size_t skip)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    total -= skip;
    if (out_reserve(p, total) != 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t l = iov[i].iov_len;
        const uint8_t *b = iov[i].iov_base;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        memcpy(p->out + p->out_len, b + skip, l - skip);
        p->out_len += l - skip;
        skip = 0;
    }
    return 0;
}

/* Queue @iov less its first @skip bytes as one unit of the stream. */
static int out_queue(sk_pipe *p, const struct iovec *iov, size_t n, size_t skip)
{
    int rc = out_append(p, iov, n, skip);
    return rc != 0 ? rc : ends_push(p, p->out_base + p->out_len);
}

/*
 * In-place completion of a large message.  The kernel took part of a
 * message of at least IPCX__INPLACE_MIN bytes and the sender may wait
 * (send_parts set s->inplace): rather than copy the rest into `out`, wait
 * for the kernel to take more and write it straight from the caller's
 * memory, as a blocking write(2) would - one copy instead of two, and no
 * megabytes queued in cold memory.  The mutex is dropped while waiting;
 * meanwhile the pipe is `busy`: it has no room for other messages
 * (pipe_room), commands for it are skipped (pipe_command: PING and PONG are
 * best effort), its flushes do nothing, and it is not freed (sk_reap).  The
 * wait polls a dup of the fd, so a failure that closes the pipe's fd meanwhile
 * cannot leave it polling a closed or reused fd; such a failure shuts the
 * socket down first, which ends the poll.  If the kernel takes nothing for
 * IPCX__INPLACE_STALL_NS, or the deadline passes, or a signal comes, the
 * rest is queued as usual: the send has still succeeded.  (Two peers that
 * both write large messages and read only afterwards would otherwise wait
 * for each other for ever.)
 */
static int pipe_write_inplace(sk_pipe *p, struct iovec *iov, size_t n, size_t written, size_t total)
{
    ipcx_socket *s = p->s;
    ipcx__deadline d = s->inplace_deadline;
    s->inplace = false; /* this call's, not another thread's while we wait */
    uint32_t gen = p->conn_gen;
    p->busy = true;
    while (written < total && !ipcx__deadline_expired(d)) {
        int fd = dup(p->fd);
        if (fd < 0)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        /* At most 2 ms without progress: a peer that does not read (it may
         * be writing a large message to us just the same) gets the rest
         * queued, as any other send would, instead of a deadlock. */
        int64_t left = ipcx__deadline_is_forever(d) ? INT64_MAX : ipcx__deadline_left_ns(d);
        if (left > IPCX__INPLACE_STALL_NS)
            left = IPCX__INPLACE_STALL_NS;
        struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
        ipcx__sk_ready_sync(s);
        ipcx__sk_deliver_news(s); /* as any unlock does */
        pthread_mutex_unlock(&s->mu);
        int r = ppoll(&pf, 1, &ts, NULL);
        pthread_mutex_lock(&s->mu);
        close(fd);
        if (p->fd < 0 || p->state != P_ACTIVE || p->conn_gen != gen) {
            /* Lost with the connection; never the rest of it on a new one.
             * A reconnection's handshake waited for us: out with it. */
            p->busy = false;
            s->st.drops++;
            if (p->fd >= 0)
                (void)ipcx__pipe_flush(p);
            return 0;
        }
        if (r <= 0)
            break; /* stalled, or a signal: queue the rest */
        struct iovec rest[IPCX__IOV_MAX];
        size_t k = 0, skip = written;
        for (size_t i = 0; i < n; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            rest[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
            rest[k].iov_len = iov[i].iov_len - skip;
            skip = 0;
            k++;
        }
        ssize_t w = ipcx__pipe_writev(p, rest, k);
        if (w < 0) {
            p->busy = false;
            ipcx__pipe_fail(p, (int)w, "write failed");
            s->st.drops++;
            return 0;
        }
        written += (size_t)w;
    }
    p->busy = false;
    s->news = true;
    if (written == total) {
        p->out_base += total;
        p->done_end = p->out_base;
        return 0;
    }
    /* Nothing was queued while busy: the rest goes to the empty buffer. */
    p->out_base += written;
    int rc = out_queue(p, iov, n, written);
    if (rc != 0)
        return rc;
    ipcx__pipe_arm_out(p, true);
    return 0;
}

/* Queue @iov (one whole unit), writing through when nothing waits before it. */
static int pipe_emit(sk_pipe *p, struct iovec *iov, size_t n, bool batch)
{
    size_t written = 0;
    if (p->out_pos == p->out_len && p->out_len > 0) {
        p->out_base += p->out_len;
        p->out_pos = p->out_len = 0;
    }
    /* Under CURVE every frame is sealed by the flush: never written through. */
    bool direct = !batch && !ipcx__mech_seals(p) && p->state == P_ACTIVE && p->fd >= 0 &&
                  p->hs_pos == p->hs_len && p->out_pos == p->out_len;
    if (direct) {
        ssize_t w = ipcx__pipe_writev(p, iov, n);
        if (w < 0) {
            ipcx__pipe_fail(p, (int)w, "write failed");
            return -EPIPE;
        }
        written = (size_t)w;
        if (w > 0 && hb_on(p->s))
            p->last_tx = pipe_now(p);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (written == total) {
        /* All out (direct implies the buffer was empty): the stream offset
         * moves on without a queue entry. */
        p->out_base += total;
        p->done_end = p->out_base;
        return 0;
    }
    if (direct && p->s->inplace && total >= IPCX__INPLACE_MIN)
        return pipe_write_inplace(p, iov, n, written, total);
    if (direct) {
        /* The kernel took part of it: the out buffer is empty, so the rest
         * starts at offset out_base + written of the stream. */
        p->out_base += written;
    }
    int rc = out_queue(p, iov, n, written);
    if (rc != 0)
        return rc;
    if (batch) {
        p->batching = true;
        if (p->out_len - p->out_pos >= IPCX__BATCH_MAX)
            return ipcx__pipe_flush(p) == 0 ? 0 : -EPIPE;
        return 0;
    }
    if (direct)
        ipcx__pipe_arm_out(p, true);
    else
        return ipcx__pipe_flush(p) == 0 ? 0 : -EPIPE;
    return 0;
}

int ipcx__pipe_put(sk_pipe *p, const sk_part *parts, size_t n, bool batch)
{
    if (p->shm != NULL)
        return ipcx__shm_put(p, parts, n, batch);
    struct iovec iov[IPCX__IOV_MAX];
    uint8_t hdr[IPCX__IOV_MAX / 2][IPCX_ZMTP_HDR_MAX];
    if (n <= IPCX__IOV_MAX / 2) {
        for (size_t i = 0; i < n; i++) {
            size_t hl =
                ipcx_zmtp_encode_header(hdr[i], parts[i].len, i + 1 < n ? IPCX_ZMTP_FLAG_MORE : 0);
            iov[2 * i] = (struct iovec){hdr[i], hl};
            iov[2 * i + 1] = (struct iovec){parts[i].data, parts[i].len};
        }
        return pipe_emit(p, iov, 2 * n, batch);
    }
    /* Many parts: queue them one by one (never written through). */
    for (size_t i = 0; i < n; i++) {
        size_t hl =
            ipcx_zmtp_encode_header(hdr[0], parts[i].len, i + 1 < n ? IPCX_ZMTP_FLAG_MORE : 0);
        struct iovec two[2] = {{hdr[0], hl}, {parts[i].data, parts[i].len}};
        if (out_append(p, two, 2, 0) != 0)
            return -ENOMEM;
    }
    if (ends_push(p, p->out_base + p->out_len) != 0)
        return -ENOMEM;
    if (batch) {
        p->batching = true;
        return 0;
    }
    return ipcx__pipe_flush(p) == 0 ? 0 : -EPIPE;
}

/* A command frame: queued like a message, never inside one.  Skipped while
 * a message is being written in place (pipe_write_inplace). */
static void pipe_command(sk_pipe *p, const void *buf, size_t len)
{
    if (p->busy)
        return;
    struct iovec iov = {(void *)buf, len};
    (void)pipe_emit(p, &iov, 1, false);
}

void ipcx__pipe_send_sub(sk_pipe *p, bool subscribe, const void *topic, size_t len)
{
    if (p->shm != NULL) {
        ipcx__shm_send_sub(p, subscribe, topic, len);
        return;
    }
    uint8_t hdr[IPCX_ZMTP_SUB_HDR_MAX];
    size_t hl = ipcx_zmtp_encode_subscribe(hdr, subscribe, len, p->peer_minor);
    struct iovec iov[2] = {{hdr, hl}, {(void *)topic, len}};
    (void)pipe_emit(p, iov, 2, false);
}

/* ------------------------------------------------------------ life cycle */

static void input_reset(sk_pipe *p)
{
    if (p->body != NULL && !p->body_sink)
        free(p->body);
    if (p->s->sink_pipe == p)
        p->s->sink_pipe = NULL;
    p->body = NULL;
    p->body_sink = false;
    if (p->head == H_MSG)
        ipcx_msg_destroy(p->hm);
    p->hm = NULL;
    p->head = H_NONE;
    ipcx_msg_destroy(p->asm_msg);
    p->asm_msg = NULL;
    p->asm_bytes = 0;
    p->in_pos = p->in_len = 0;
    ipcx__pipe_update_buffered(p);
    ipcx_zmtp_decoder_destroy(p->dec);
    p->dec = NULL;
    ipcx__mech_reset(p);
}

/* A dialled pipe that lost its connection: drop the message the old
 * connection got the first bytes of, so the new one starts at a message
 * boundary (done_end is where the first queued unit starts). */
static void out_trim_partial(sk_pipe *p)
{
    uint64_t pos = p->out_base + p->out_pos;
    if (p->ends_n > 0 && pos > p->done_end) {
        uint64_t end = p->ends[p->ends_head];
        p->out_pos += (size_t)(end - pos);
        p->done_end = end;
        p->ends_head = (p->ends_head + 1) % p->ends_cap;
        p->ends_n--;
        p->s->st.drops++;
    }
    p->batching = false;
}

void ipcx__pipe_fail(sk_pipe *p, int err, const char *reason)
{
    if (p->shm != NULL) {
        ipcx__shm_fail(p, err, reason);
        return;
    }
    ipcx_socket *s = p->s;
    if (p->state == P_DEAD || p->state == P_IDLE)
        return;
    bool was_active = p->state == P_ACTIVE;
    char why[128]; /* @reason may live in the mechanism, which input_reset frees */
    snprintf(why, sizeof(why), "%s", reason);
    reason = why;
    ipcx__pat_pipe_gone(s, p); /* before input_reset: a view may point into the input */
    if (p->fd >= 0) {
        if (p->registered)
            (void)ipcx__sk_epoll(s, EPOLL_CTL_DEL, p->fd, &p->ep, 0);
        pipe_bg_drop(p);
        if (p->busy)
            (void)shutdown(p->fd, SHUT_RDWR); /* ends the in-place writer's poll */
        close(p->fd);
        p->fd = -1;
    }
    p->registered = p->in_paused = p->out_armed = p->readable = false;
    if (was_active)
        IPCX_LOGI("socket: %s: connection lost: %s", p->peer_addr, reason);
    else
        IPCX_LOGW("socket: %s: connection dropped during the handshake: %s", p->peer_addr, reason);
    input_reset(p);
    p->hs_pos = p->hs_len = 0;
    p->ping_sent = 0;
    ipcx__topics_free(&p->subs);
    if (was_active) {
        s->nactive--;
        s->st.disconnects++;
        ipcx__sk_event(s, IPCX_EV_DISCONNECTED, err, p, NULL, reason);
    } else {
        s->st.handshake_failures++;
        ipcx__sk_event(s, IPCX_EV_HANDSHAKE_FAILED, err, p, NULL, reason);
    }
    s->news = true;
    if (p->dialer != NULL) {
        p->state = P_IDLE;
        out_trim_partial(p);
        sk_dialer *d = p->dialer;
        int64_t now = ipcx__now_ns();
        d->next_try = now + d->ivl;
        d->ivl = d->ivl * 2 > s->reconnect_max ? s->reconnect_max : d->ivl * 2;
        ipcx__sk_timer_note(s, d->next_try);
        return;
    }
    /* Queued output dies with an accepted connection. */
    s->st.drops += p->ends_n;
    p->state = P_DEAD;
    s->ndead++;
}

void ipcx__pipe_free(sk_pipe *p)
{
    if (p->shm != NULL)
        ipcx__shm_free(p); /* its rings and fds; the rest as for any pipe */
    ipcx_socket *s = p->s;
    if (p->fd >= 0) {
        if (p->registered)
            (void)ipcx__sk_epoll(s, EPOLL_CTL_DEL, p->fd, &p->ep, 0);
        pipe_bg_drop(p);
        close(p->fd);
    }
    if (p->state == P_ACTIVE)
        s->nactive--;
    input_reset(p);
    ipcx__topics_free(&p->subs);
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        s->pipes = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    s->npipes--;
    if (s->rr_in == p)
        s->rr_in = NULL;
    if (s->rr_out == p)
        s->rr_out = NULL;
    free(p->in);
    free(p->out);
    free(p->ends);
    free(p);
}

int ipcx__pipe_attach(sk_pipe *p, int fd, int tp_kind)
{
    if (tp_kind == IPCX__TP_SHM)
        return ipcx__shm_attach(p, fd);
    ipcx_socket *s = p->s;
    ipcx_zmtp_limits lim = {.max_frame_size = s->max_msg, .max_message_size = s->max_msg};
    int rc = ipcx_zmtp_decoder_create(&lim, &p->dec);
    if (rc != 0)
        return rc;
    (void)ipcx_zmtp_decoder_direct(p->dec, IPCX__DIRECT_MIN);
    if (p->in == NULL) {
        /* Small at first (an idle connection holds little), doubled by
         * pipe_read while reads fill it, up to the read-ahead. */
        p->in_cap = IPCX__READ_FIRST;
        p->in = malloc(p->in_cap);
        if (p->in == NULL) {
            ipcx_zmtp_decoder_destroy(p->dec);
            p->dec = NULL;
            return -ENOMEM;
        }
    }
    p->fd = fd;
    p->tp_kind = tp_kind;
    p->conn_gen++;
    p->n_in = p->n_out = p->n_drops = 0;
    p->state = P_HANDSHAKE;
    p->at_boundary = false;
    p->peer_type = 0;
    p->peer_minor = -1;
    p->ident_len = 0;
    int64_t now = ipcx__now_ns();
    p->hs_deadline = now + s->hs_timeout;
    p->last_rx = p->last_tx = now;
    p->peer_ttl_ns = 0;
    ipcx__sk_timer_note(s, p->hs_deadline);
    if (ipcx__sec_mechanism(s) != 0) {
        /* PLAIN or CURVE: the greeting now, the rest as the peer answers. */
        int r = ipcx__mech_attach(p);
        if (r < 0)
            return r;
    } else {
        size_t g = ipcx_zmtp_encode_greeting(p->hs);
        int r =
            ipcx_zmtp_encode_ready(p->hs + g, sizeof(p->hs) - g, s->zmtp_type,
                                   s->identity_len ? s->identity : NULL, s->identity_len, NULL, 0);
        if (r < 0)
            return r;
        p->hs_pos = 0;
        p->hs_len = g + (size_t)r;
    }
    rc = ipcx__sk_epoll(s, EPOLL_CTL_ADD, fd, &p->ep, EPOLLIN);
    if (rc != 0) {
        p->fd = -1;
        return rc;
    }
    p->registered = true;
    ipcx__pipe_bg_sync(p);
    return ipcx__pipe_flush(p) == 0 ? 0 : -EPIPE;
}

/* ------------------------------------------------------------ input */

static size_t read_ahead(const ipcx_socket *s)
{
    return s->recv_buffer > 0 && (uint64_t)s->recv_buffer > IPCX__READ_AHEAD
               ? (size_t)s->recv_buffer
               : IPCX__READ_AHEAD;
}

/* read(2) with the test fault hook and EINTR retried: bytes, 0 at EOF, or
 * -errno. */
static ssize_t pipe_read_into(sk_pipe *p, uint8_t *buf, size_t cap)
{
    ssize_t n;
    do {
        size_t want = cap;
        int f = ipcx__sk_fault != NULL ? ipcx__sk_fault(IPCX__SK_READ) : 0;
        if (f < 0) {
            errno = -f;
            n = -1;
            continue;
        }
        if (f > 0 && (size_t)f < want)
            want = (size_t)f;
        n = p->mx != NULL ? ipcx__mech_read(p, buf, want) : read(p->fd, buf, want);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

static int pipe_read(sk_pipe *p)
{
    if (p->in_full && p->in_cap < read_ahead(p->s)) {
        uint8_t *n = malloc(p->in_cap * 2);
        if (n != NULL) {
            free(p->in);
            p->in = n;
            p->in_cap *= 2;
        }
    }
    ssize_t n = pipe_read_into(p, p->in, p->in_cap);
    if (n > 0) {
        p->in_pos = 0;
        p->in_len = (size_t)n;
        /* A short read drained the kernel: wait for epoll to say more came.
         * A full one may have left more behind: read again when it is used. */
        p->in_full = (size_t)n == p->in_cap;
        if (!p->in_full)
            p->readable = false;
        if (hb_on(p->s) || p->peer_ttl_ns > 0)
            p->last_rx = pipe_now(p);
        return 1;
    }
    if (n == 0) {
        ipcx__pipe_fail(p, -EPIPE, "peer closed the connection");
        return -EPIPE;
    }
    if (n == -EAGAIN || n == -EWOULDBLOCK) {
        p->readable = false;
        return 0;
    }
    ipcx__pipe_fail(p, (int)n, ipcx__mech_reason(p, "read failed"));
    return -EPIPE;
}

/*
 * The next frame starts at in_pos and does not lie whole in `in`.  When it
 * would fit in the read-ahead, move it to the front and read the rest now,
 * so that the decoder hands it out as a view into `in` (one copy, to the
 * caller) instead of assembling it in a buffer of its own (a malloc and a
 * second copy).  Frames under 1 KiB are left to the decoder: its copy is
 * cheap.  If the rest is not there yet, the decoder assembles as usual.
 */
static void pipe_complete_frame(sk_pipe *p)
{
    size_t rem = p->in_len - p->in_pos;
    const uint8_t *b = p->in + p->in_pos;
    size_t hl = (b[0] & IPCX_ZMTP_FLAG_LONG) ? 9 : 2;
    if (rem < hl)
        return;
    uint64_t size = b[1];
    if (hl == 9) {
        size = 0;
        for (int i = 1; i < 9; i++)
            size = size << 8 | b[i];
    }
    uint64_t total = hl + size;
    if (size < 1024 || total <= rem || total > read_ahead(p->s))
        return;
    if (size >= IPCX__DIRECT_MIN && p->s->sink != NULL && size <= p->s->sink_cap)
        return; /* better: the decoder hands it over and it is read into the sink */
    if (p->in_cap < total) {
        size_t cap = p->in_cap;
        while (cap < total)
            cap *= 2;
        uint8_t *n = malloc(cap);
        if (n == NULL)
            return;
        memcpy(n, b, rem);
        free(p->in);
        p->in = n;
        p->in_cap = cap;
    } else {
        memmove(p->in, b, rem);
    }
    p->in_pos = 0;
    p->in_len = rem;
    while (p->in_len < total) {
        ssize_t n = pipe_read_into(p, p->in + p->in_len, p->in_cap - p->in_len);
        if (n <= 0) {
            if (n == -EAGAIN || n == -EWOULDBLOCK)
                p->readable = false;
            return; /* EOF and errors show at the next read */
        }
        p->in_len += (size_t)n;
    }
    p->readable = true; /* more may follow what completed the frame */
}

static bool type_ok(const ipcx_socket *s, int peer)
{
    return ipcx_zmtp_socket_compatible(s->zmtp_type, peer) == 1;
}

static int on_ready(sk_pipe *p, const ipcx_zmtp_event *ev)
{
    ipcx_socket *s = p->s;
    if (!type_ok(s, ev->socket_type)) {
        char reason[96];
        snprintf(reason, sizeof(reason), "peer socket type %s cannot talk to %s",
                 ipcx_zmtp_socket_name(ev->socket_type) ? ipcx_zmtp_socket_name(ev->socket_type)
                                                        : "(none)",
                 ipcx_zmtp_socket_name(s->zmtp_type));
        uint8_t err[300];
        int n = ipcx_zmtp_encode_error(err, sizeof(err), "Invalid socket type");
        if (n > 0)
            (void)send(p->fd, err, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        ipcx__pipe_fail(p, -EPROTOTYPE, reason);
        return -EPIPE;
    }
    if (s->pattern == IPCX_PAIR && s->nactive > 0) {
        ipcx__pipe_fail(p, -EISCONN, "PAIR socket already has a peer");
        return -EPIPE;
    }
    p->peer_type = ev->socket_type;
    p->peer_minor = ipcx_zmtp_decoder_peer_minor(p->dec);
    if (ev->has_identity && ev->identity_len > 0) {
        memcpy(p->ident, ev->identity, ev->identity_len);
        p->ident_len = ev->identity_len;
    }
    p->state = P_ACTIVE;
    p->was_active = true;
    ipcx__pipe_bg_sync(p);
    s->nactive++;
    s->st.connects++;
    s->news = true;
    if (p->dialer != NULL) {
        p->dialer->ivl = s->reconnect_ivl;
        p->dialer->attempts = 0;
    }
    ipcx__sk_event(s, IPCX_EV_CONNECTED, 0, p, NULL, "");
    if (s->hb_ivl > 0)
        ipcx__sk_timer_note(s, ipcx__now_ns() + s->hb_ivl);
    ipcx__pat_pipe_ready(s, p);
    return ipcx__pipe_flush(p) == 0 ? 0 : -EPIPE;
}

static int on_frame(sk_pipe *p, const ipcx_zmtp_event *ev)
{
    if (!ev->more && p->asm_msg == NULL) {
        if (ev->owned == NULL) {
            p->head = H_VIEW;
            p->hv.data = (uint8_t *)ev->data;
            p->hv.len = ev->len;
            return 1;
        }
        ipcx_msg *m = ipcx__msg_new();
        if (m == NULL) {
            free(ev->owned);
            return -ENOMEM;
        }
        (void)ipcx__msg_push(m, ev->owned, ev->len);
        p->head = H_MSG;
        p->hm = m;
        return 1;
    }
    if (p->asm_msg == NULL) {
        p->asm_msg = ipcx__msg_new();
        if (p->asm_msg == NULL) {
            free(ev->owned);
            return -ENOMEM;
        }
    }
    if (ev->owned != NULL) {
        if (ipcx__msg_push(p->asm_msg, ev->owned, ev->len) < 0) {
            free(ev->owned);
            return -ENOMEM;
        }
    } else if (ipcx_msg_append(p->asm_msg, ev->data, ev->len) < 0) {
        /* A part still in the read buffer: copied into the message (its
         * arena when small: no allocation of its own). */
        return -ENOMEM;
    }
    if (ev->more)
        return 0;
    p->head = H_MSG;
    p->hm = p->asm_msg;
    p->asm_msg = NULL;
    return 1;
}

/*
 * Caller-read bodies (ipcx_zmtp_decoder_direct).  A frame body of at least
 * IPCX__DIRECT_MIN bytes that is not whole in `in` is read by the pipe
 * itself: into the buffer of the ipcx_recv() that wants it (the socket's
 * `sink`: one copy, from the kernel to the caller, as read(2) would), or
 * else into a buffer of its own.  A body read into a sink that is not
 * complete when that call returns moves to a buffer of its own
 * (ipcx__pipe_unsink).
 */
static int body_finish(sk_pipe *p)
{
    ipcx_socket *s = p->s;
    uint8_t *b = p->body;
    size_t size = p->body_size;
    bool more = p->body_more, sink = p->body_sink;
    p->body = NULL;
    p->body_sink = false;
    if (s->sink_pipe == p)
        s->sink_pipe = NULL;
    (void)ipcx_zmtp_decoder_body_done(p->dec);
    p->at_boundary = true;
    if (sink) {
        p->head = H_VIEW;
        p->hv.data = b;
        p->hv.len = size;
        s->sink_filled = true;
        return 1;
    }
    ipcx_zmtp_event ev = {
        .type = IPCX_ZMTP_EV_FRAME, .data = b, .len = size, .owned = b, .more = (uint8_t)more};
    return on_frame(p, &ev);
}

static int body_continue(sk_pipe *p)
{
    while (p->body_have < p->body_size) {
        if (!p->readable)
            return 0;
        ssize_t n = pipe_read_into(p, p->body + p->body_have, p->body_size - p->body_have);
        if (n > 0) {
            p->body_have += (size_t)n;
            if (hb_on(p->s) || p->peer_ttl_ns > 0)
                p->last_rx = pipe_now(p);
            continue;
        }
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            p->readable = false;
            return 0;
        }
        ipcx__pipe_fail(p, n == 0 ? -EPIPE : (int)n,
                        n == 0 ? "peer closed the connection"
                               : ipcx__mech_reason(p, "read failed"));
        return -EPIPE;
    }
    return body_finish(p);
}

static int body_start(sk_pipe *p, const ipcx_zmtp_event *ev)
{
    ipcx_socket *s = p->s;
    size_t size = ev->len;
    if (!ev->more && p->asm_msg == NULL && s->sink != NULL && size <= s->sink_cap &&
        s->sink_pipe == NULL) {
        p->body = s->sink;
        p->body_sink = true;
        s->sink_pipe = p;
        IPCX_LOGD("socket: %s: a %zu-byte body read into the caller's buffer", p->peer_addr, size);
    } else {
        p->body = malloc(size);
        if (p->body == NULL) {
            ipcx__pipe_fail(p, -ENOMEM, "out of memory for a message body");
            return -EPIPE;
        }
        p->body_sink = false;
    }
    p->body_size = size;
    p->body_more = ev->more != 0;
    size_t have = p->in_len - p->in_pos;
    if (have > size)
        have = size;
    memcpy(p->body, p->in + p->in_pos, have);
    p->in_pos += have;
    p->body_have = have;
    if (p->in_pos == p->in_len)
        p->readable = true; /* the rest is in the kernel, or on its way */
    return body_continue(p);
}

/* The ipcx_recv() whose buffer a body is being read into returns: move
 * what it got so far to a buffer of the pipe's own. */
void ipcx__pipe_unsink(sk_pipe *p)
{
    if (p->body == NULL || !p->body_sink)
        return;
    uint8_t *own = malloc(p->body_size);
    if (own == NULL) {
        ipcx__pipe_fail(p, -ENOMEM, "out of memory for a message body");
        return;
    }
    memcpy(own, p->body, p->body_have);
    p->body = own;
    p->body_sink = false;
    IPCX_LOGD("socket: %s: body moved from the caller's buffer (%zu of %zu bytes)", p->peer_addr,
              p->body_have, p->body_size);
}

static int on_event(sk_pipe *p, int type, const ipcx_zmtp_event *ev)
{
    ipcx_socket *s = p->s;
    switch (type) {
    case IPCX_ZMTP_EV_GREETING:
        return 0;
    case IPCX_ZMTP_EV_READY:
        return on_ready(p, ev);
    case IPCX_ZMTP_EV_FRAME:
        return on_frame(p, ev);
    case IPCX_ZMTP_EV_BODY:
        return body_start(p, ev);
    case IPCX_ZMTP_EV_PING: {
        IPCX_LOGD("socket: %s: PING received", p->peer_addr);
        uint8_t pong[32];
        int n = ipcx_zmtp_encode_pong(pong, sizeof(pong), ev->data, ev->len);
        if (n > 0)
            pipe_command(p, pong, (size_t)n);
        if (ev->ttl > 0) {
            p->peer_ttl_ns = (int64_t)ev->ttl * 100000000;
            p->last_rx = pipe_now(p);
            ipcx__sk_timer_note(s, p->last_rx + p->peer_ttl_ns);
        }
        return p->state == P_DEAD || p->fd < 0 ? -EPIPE : 0;
    }
    case IPCX_ZMTP_EV_PONG:
        p->ping_sent = 0;
        IPCX_LOGD("socket: %s: PONG", p->peer_addr);
        return 0;
    case IPCX_ZMTP_EV_SUBSCRIBE:
        /* Kept once per SUBSCRIBE, so that one CANCEL undoes one
         * SUBSCRIBE, as libzmq counts them. */
        if (s->pattern == IPCX_PUB && ipcx__topics_add(&p->subs, ev->data, ev->len) != 0)
            return -ENOMEM;
        return 0;
    case IPCX_ZMTP_EV_CANCEL:
        if (s->pattern == IPCX_PUB)
            (void)ipcx__topics_del(&p->subs, ev->data, ev->len);
        return 0;
    case IPCX_ZMTP_EV_ERROR: {
        char reason[128];
        snprintf(reason, sizeof(reason), "peer sent ERROR: %.*s",
                 (int)(ev->len > 100 ? 100 : ev->len), (const char *)ev->data);
        ipcx__pipe_fail(p, -ECONNRESET, reason);
        return -EPIPE;
    }
    default:
        return 0; /* other commands are ignored, as RFC 37 allows */
    }
}

int ipcx__pipe_next(sk_pipe *p)
{
    if (p->shm != NULL)
        return ipcx__shm_next(p);
    if (p->head != H_NONE)
        return 1;
    if (p->fd < 0 || (p->state != P_HANDSHAKE && p->state != P_ACTIVE))
        return 0;
    if (p->body != NULL) {
        if (p->in_paused)
            pipe_pause_in(p, false);
        int r = body_continue(p);
        if (r != 0) {
            if (r == 1) {
                ipcx__pipe_update_buffered(p);
                p->s->news = true;
            }
            return r;
        }
        if (p->body != NULL)
            return 0;
    }
    for (;;) {
        if (p->in_pos == p->in_len) {
            /* Everything read is decoded: listen for input again (a pipe
             * paused while input waited here must not stay deaf once the
             * last of it turns out to be a partial frame). */
            if (p->in_paused)
                pipe_pause_in(p, false);
            if (!p->readable)
                return 0; /* nothing known to be there: no speculative read */
            int r = pipe_read(p);
            if (r <= 0) {
                ipcx__pipe_update_buffered(p);
                return r;
            }
        }
        if (p->at_boundary && p->state == P_ACTIVE)
            pipe_complete_frame(p);
        size_t used = 0;
        ipcx_zmtp_event ev;
        int rc = ipcx_zmtp_decode(p->dec, p->in + p->in_pos, p->in_len - p->in_pos, &used, &ev);
        p->in_pos += used;
        p->at_boundary = rc > 0; /* an event ends exactly where its frame does */
        if (rc < 0) {
            if (rc == -ENOMEM)
                return rc;
            char reason[128];
            snprintf(reason, sizeof(reason), "%s", ipcx_zmtp_strerror(ev.err));
            ipcx__pipe_fail(p, rc, reason);
            return -EPIPE;
        }
        if (rc == IPCX_ZMTP_EV_NONE)
            continue;
        int r = on_event(p, rc, &ev);
        if (r == 1) {
            ipcx__pipe_update_buffered(p);
            p->s->news = true;
            return 1;
        }
        if (r < 0)
            return r;
    }
}

void ipcx__pipe_consume(sk_pipe *p)
{
    if (p->shm != NULL) {
        ipcx__shm_consume(p);
        return;
    }
    if (p->head == H_MSG)
        ipcx_msg_destroy(p->hm);
    p->hm = NULL;
    p->head = H_NONE;
    ipcx__pipe_update_buffered(p);
    if (p->in_paused && p->in_pos == p->in_len)
        pipe_pause_in(p, false);
}

void ipcx__pipe_on_io(sk_pipe *p, uint32_t events)
{
    if (p->shm != NULL) {
        ipcx__shm_on_io(p, events);
        return;
    }
    if (p->fd < 0)
        return;
    if (events & EPOLLOUT)
        (void)ipcx__pipe_flush(p);
    if (p->fd < 0)
        return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        p->readable = true;
        if (p->head != H_NONE || p->in_pos < p->in_len) {
            /* Input waits for the caller: stop listening until it is taken. */
            pipe_pause_in(p, true);
            return;
        }
        (void)ipcx__pipe_next(p);
    }
}

/* ------------------------------------------------------------ timers */

int64_t ipcx__pipe_timers(sk_pipe *p, int64_t now)
{
    if (p->shm != NULL)
        return ipcx__shm_timers(p, now);
    ipcx_socket *s = p->s;
    int64_t next = 0;
#define NOTE(t) (next = (next == 0 || (t) < next) ? (t) : next)
    if (p->fd < 0)
        return 0;
    if (p->state == P_HANDSHAKE) {
        if (now >= p->hs_deadline) {
            ipcx__pipe_fail(p, -ETIMEDOUT, "handshake timed out");
            return 0;
        }
        NOTE(p->hs_deadline);
        return next;
    }
    if (p->state != P_ACTIVE)
        return 0;
    if (s->hb_ivl > 0 || p->peer_ttl_ns > 0) {
        /* Heartbeats need input read even while the caller takes no
         * messages: a PONG (or any byte) proves the peer alive, and the
         * peer's PINGs want answers.  Decode up to the first message (which
         * then waits for the caller), once per timer tick.  Behind a message
         * the caller has not taken, unread bytes are proof enough. */
        if (p->head == H_NONE) {
            p->readable = true;
            (void)ipcx__pipe_next(p);
            if (p->fd < 0)
                return 0;
        }
        int pending = 0;
        if (p->head != H_NONE &&
            (p->in_pos < p->in_len || (ioctl(p->fd, FIONREAD, &pending) == 0 && pending > 0)))
            p->last_rx = now;
    }
    if (p->peer_ttl_ns > 0) {
        if (now - p->last_rx >= p->peer_ttl_ns) {
            ipcx__pipe_fail(p, -ETIMEDOUT, "peer's heartbeat TTL passed");
            return 0;
        }
        NOTE(p->last_rx + p->peer_ttl_ns);
    }
    if (s->hb_ivl > 0) {
        int64_t tmo = s->hb_timeout > 0 ? s->hb_timeout : s->hb_ivl;
        if (p->ping_sent != 0 && p->last_rx < p->ping_sent && now - p->ping_sent >= tmo) {
            ipcx__pipe_fail(p, -ETIMEDOUT, "heartbeat timed out (no answer to PING)");
            return 0;
        }
        if (p->ping_sent != 0 && p->last_rx >= p->ping_sent)
            p->ping_sent = 0;
        if (now - p->last_tx >= s->hb_ivl && p->ping_sent == 0) {
            uint8_t ping[32];
            uint16_t ttl = (uint16_t)(s->hb_ttl / 100000000 > 6553 ? 6553 : s->hb_ttl / 100000000);
            int n = ipcx_zmtp_encode_ping(ping, sizeof(ping), ttl, NULL, 0);
            if (n > 0)
                pipe_command(p, ping, (size_t)n);
            if (p->fd < 0)
                return 0;
            p->ping_sent = now;
            IPCX_LOGD("socket: %s: PING sent", p->peer_addr);
            p->last_tx = now;
        }
        if (p->ping_sent != 0)
            NOTE(p->ping_sent + tmo);
        NOTE(p->last_tx + s->hb_ivl);
    }
#undef NOTE
    return next;
}
