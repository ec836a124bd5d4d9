// SPDX-License-Identifier: MIT
/*
 * ipcx sockets: open and close, listen and dial, options, send and
 * receive, waiting, polling, peer events and statistics.  The patterns'
 * routing is in pattern.c, a connection's ZMTP engine in pipe.c; the
 * design notes (locking, the two epoll sets, lazy decoding, output) are at
 * the top of socket_int.h.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "socket/socket_int.h"

#define MS     ((int64_t)1000000)
#define SEC_NS ((int64_t)1000000000)

/* ------------------------------------------------------------ small helpers */

int ipcx__sk_epoll(ipcx_socket *s, int op, int fd, sk_ep *ep, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = ep};
    return epoll_ctl(s->iofd, op, fd, &ev) == 0 ? 0 : -errno;
}

/* Tags of the assistant's set: kind in the top byte; a pipe by its id
 * (a pipe may be freed while the assistant holds an event for it: the id
 * is then simply not found), listeners and dialers by address (they live
 * until close, which stops the assistant first). */
enum { BG_PIPE = 0, BG_LISTENER = 1, BG_DIALER = 2, BG_TIMER = 3, BG_STOP = 4, BG_BATCH = 5 };
#define BG_TAG(kind, v) (((uint64_t)(kind) << 56) | (uint64_t)(v))

int ipcx__sk_bg_epoll(ipcx_socket *s, int op, int fd, uint64_t tag, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    return epoll_ctl(s->bgfd, op, fd, &ev) == 0 ? 0 : -errno;
}

static void efd_set(int fd, bool *flag, bool on)
{
    if (*flag == on)
        return;
    uint64_t v = 1;
    ssize_t r = on ? write(fd, &v, sizeof(v)) : read(fd, &v, sizeof(v));
    (void)r;
    *flag = on;
}

void ipcx__sk_ready_sync(ipcx_socket *s)
{
    if (!s->fd_used)
        return; /* nobody polls pollfd (yet): see socket_int.h */
    bool want = s->nbuffered > 0 || s->view.active || s->ev_n > 0;
    efd_set(s->readyfd, &s->ready_set, want);
}

void ipcx__sk_timer_note(ipcx_socket *s, int64_t when)
{
    if (when <= 0 || (s->timer_armed != 0 && s->timer_armed <= when))
        return;
    struct itimerspec its = {
        .it_value = {.tv_sec = when / 1000000000, .tv_nsec = when % 1000000000}};
    if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        s->timer_armed = when;
}

void ipcx__sk_event(ipcx_socket *s, int type, int err, const sk_pipe *p, const char *endpoint,
                    const char *reason)
{
    if ((s->events_mask & (uint32_t)type) == 0)
        return;
    if (s->events == NULL) {
        s->events = calloc(IPCX__EVENTS_MAX, sizeof(*s->events));
        if (s->events == NULL) {
            s->st.events_dropped++;
            return;
        }
    }
    if (s->ev_n == IPCX__EVENTS_MAX) {
        s->ev_head = (s->ev_head + 1) % IPCX__EVENTS_MAX;
        s->ev_n--;
        s->st.events_dropped++;
    }
    ipcx_event *e = &s->events[(s->ev_head + s->ev_n) % IPCX__EVENTS_MAX];
    s->ev_n++;
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->err = err;
    e->peer_pid = p != NULL ? p->peer_pid : -1;
    e->peer_uid = p != NULL ? p->peer_uid : -1;
    if (endpoint == NULL && p != NULL)
        endpoint = p->dialer != NULL     ? p->dialer->addr.url
                   : p->listener != NULL ? p->listener->addr.url
                                         : "";
    snprintf(e->endpoint, sizeof(e->endpoint), "%s", endpoint != NULL ? endpoint : "");
    snprintf(e->peer, sizeof(e->peer), "%s", p != NULL ? p->peer_addr : "");
    snprintf(e->reason, sizeof(e->reason), "%s", reason != NULL ? reason : "");
    s->news = true;
}

/* ------------------------------------------------------------ lock */

/* Free the pipes that died.  Not while a thread sleeps in epoll_wait: the
 * events it will hand back may name them. */
static void sk_reap(ipcx_socket *s)
{
    if (s->leader || s->ndead == 0)
        return;
    sk_pipe *p = s->pipes;
    while (p != NULL) {
        sk_pipe *nx = p->next;
        if (p->state == P_DEAD && !p->busy) {
            ipcx__pipe_free(p);
            s->ndead--;
        }
        p = nx;
    }
}

static void sk_lock(ipcx_socket *s)
{
    pthread_mutex_lock(&s->mu);
}

/* Wake whoever sleeps for what changed: the leader through wakefd, the
 * followers through cv.  A wake-up signal nobody sleeps for any more is
 * taken back, so that the pollable fd does not stay readable for it. */
void ipcx__sk_deliver_news(ipcx_socket *s)
{
    if (s->news) {
        s->news = false;
        if (s->leader)
            efd_set(s->wakefd, &s->wakefd_set, true);
        if (s->followers > 0)
            pthread_cond_broadcast(&s->cv);
    }
    if (!s->leader && s->wakefd_set)
        efd_set(s->wakefd, &s->wakefd_set, false);
}

static void sk_unlock(ipcx_socket *s)
{
    sk_reap(s);
    ipcx__sk_ready_sync(s);
    if (s->pub != NULL)
        ipcx__sk_publish(s);
    ipcx__sk_deliver_news(s);
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ connections */

static bool uid_allowed(const ipcx_socket *s, int64_t uid)
{
    if (s->n_allow == 0)
        return true;
    for (size_t i = 0; i < s->n_allow; i++)
        if (s->allow_uids[i] == uid)
            return true;
    return false;
}

static void on_accept(ipcx_socket *s, sk_listener *l)
{
    for (int i = 0; i < 64; i++) {
        char peer[128];
        int fd = ipcx__tp_accept(l->fd, l->addr.kind, peer, sizeof(peer));
        if (fd < 0) {
            if (fd != -EAGAIN)
                IPCX_LOGW("socket: accept on %s: %s", l->addr.url, ipcx_strerror(fd));
            return;
        }
        int64_t pid = -1, uid = -1;
        if (l->addr.kind != IPCX__TP_TCP) {
            (void)ipcx__tp_peercred(fd, &pid, &uid);
            /* shm:// shares memory: without an allow-list, our own uid only. */
            bool same = uid == (int64_t)geteuid();
            if (!uid_allowed(s, uid) ||
                (l->addr.kind == IPCX__TP_SHM && s->n_allow == 0 && !same)) {
                char why[96];
                snprintf(why, sizeof(why), "peer uid %lld is not on the allow-list",
                         (long long)uid);
                sk_pipe tmp = {.peer_pid = pid, .peer_uid = uid};
                s->st.handshake_failures++;
                ipcx__sk_event(s, IPCX_EV_HANDSHAKE_FAILED, -EACCES, &tmp, l->addr.url, why);
                IPCX_LOGW("socket: %s: %s", l->addr.url, why);
                close(fd);
                continue;
            }
        }
        ipcx__tp_tune(fd, l->addr.kind);
        sk_pipe *p = ipcx__pipe_new(s);
        if (p == NULL) {
            close(fd);
            return;
        }
        p->listener = l;
        p->peer_pid = pid;
        p->peer_uid = uid;
        snprintf(p->peer_addr, sizeof(p->peer_addr), "%s", peer);
        if (ipcx__pipe_attach(p, fd, l->addr.kind) != 0 && p->state != P_DEAD) {
            if (p->fd < 0)
                close(fd);
            p->state = P_DEAD;
            s->ndead++;
        }
    }
}

static void dialer_try(ipcx_socket *s, sk_dialer *d);

static void dialer_retry(ipcx_socket *s, sk_dialer *d, int err)
{
    int64_t now = ipcx__now_ns();
    d->next_try = now + d->ivl;
    d->ivl = d->ivl * 2 > s->reconnect_max ? s->reconnect_max : d->ivl * 2;
    ipcx__sk_timer_note(s, d->next_try);
    char why[96];
    snprintf(why, sizeof(why), "connect failed: %s", ipcx_strerror(err));
    ipcx__sk_event(s, IPCX_EV_RETRY, err, NULL, d->addr.url, why);
}

static void dialer_connected(ipcx_socket *s, sk_dialer *d, int fd)
{
    sk_pipe *p = d->pipe;
    ipcx__tp_tune(fd, d->addr.kind);
    if (d->addr.kind != IPCX__TP_TCP)
        (void)ipcx__tp_peercred(fd, &p->peer_pid, &p->peer_uid);
    else
        snprintf(p->peer_addr, sizeof(p->peer_addr), "%s", d->addr.url + 6);
    if (d->attempts > 1 || p->was_active)
        s->st.reconnects++;
    int rc = ipcx__pipe_attach(p, fd, d->addr.kind);
    if (rc != 0 && p->fd < 0) {
        close(fd);
        dialer_retry(s, d, rc);
    }
}

static void dialer_try(ipcx_socket *s, sk_dialer *d)
{
    d->next_try = 0;
    d->attempts++;
    bool done = false;
    int fd = ipcx__tp_dial(&d->addr, &done, (int)s->recv_buffer);
    if (fd < 0) {
        dialer_retry(s, d, fd);
        return;
    }
    if (done) {
        dialer_connected(s, d, fd);
        return;
    }
    d->fd = fd;
    if (ipcx__sk_epoll(s, EPOLL_CTL_ADD, fd, &d->ep, EPOLLOUT) != 0) {
        close(fd);
        d->fd = -1;
        dialer_retry(s, d, -ENOMEM);
        return;
    }
    (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_ADD, fd, BG_TAG(BG_DIALER, (uintptr_t)d), EPOLLOUT);
}

static void on_dial_done(ipcx_socket *s, sk_dialer *d)
{
    int fd = d->fd;
    if (fd < 0)
        return; /* the caller and the assistant both saw it: done once */
    d->fd = -1;
    (void)ipcx__sk_epoll(s, EPOLL_CTL_DEL, fd, &d->ep, 0);
    (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_DEL, fd, 0, 0);
    int rc = ipcx__tp_connect_result(fd);
    if (rc != 0) {
        close(fd);
        dialer_retry(s, d, rc);
        return;
    }
    dialer_connected(s, d, fd);
}

static void run_timers(ipcx_socket *s)
{
    uint64_t v;
    ssize_t r = read(s->tfd, &v, sizeof(v));
    (void)r;
    s->timer_armed = 0;
    int64_t now = ipcx__now_ns();
    int64_t next = 0;
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next) {
        int64_t t = ipcx__pipe_timers(p, now);
        if (t != 0 && (next == 0 || t < next))
            next = t;
    }
    for (sk_dialer *d = s->dialers; d != NULL; d = d->next) {
        if (d->next_try != 0 && d->next_try <= now && d->fd < 0 && d->pipe->state == P_IDLE)
            dialer_try(s, d);
        if (d->next_try != 0 && (next == 0 || d->next_try < next))
            next = d->next_try;
    }
    if (next != 0)
        ipcx__sk_timer_note(s, next);
}

static void pipe_io(ipcx_socket *s, sk_pipe *p, uint32_t events)
{
    ipcx__pipe_on_io(p, events);
    if (s->drains_input) {
        /* These patterns take no messages: a peer's stray frames are read
         * and dropped so that its commands keep flowing. */
        while (ipcx__pipe_next(p) == 1) {
            s->st.drops++;
            ipcx__pipe_consume(p);
        }
    }
}

/* @leader: the caller is the thread that slept in epoll_wait (sk_wait).
 * Only it takes the wake-up signal: a thread that merely looks (sk_service)
 * and drained it would leave the sleeper sleeping with news for it. */
static void dispatch(ipcx_socket *s, const struct epoll_event *ev, int n, bool leader)
{
    for (int i = 0; i < n; i++) {
        sk_ep *ep = ev[i].data.ptr;
        switch (ep->kind) {
        case EP_PIPE:
            pipe_io(s, (sk_pipe *)ep, ev[i].events);
            break;
        case EP_LISTENER:
            on_accept(s, (sk_listener *)ep);
            break;
        case EP_DIALER:
            on_dial_done(s, (sk_dialer *)ep);
            break;
        case EP_TIMER:
            run_timers(s);
            break;
        case EP_WAKE:
            if (leader)
                efd_set(s->wakefd, &s->wakefd_set, false);
            break;
        default:
            break;
        }
    }
}

/* Do the I/O that is ready, without waiting.  Returns the number of
 * events handled. */
static int sk_service(ipcx_socket *s)
{
    struct epoll_event ev[64];
    int n = epoll_wait(s->iofd, ev, 64, 0);
    if (n > 0)
        dispatch(s, ev, n, false);
    return n > 0 ? n : 0;
}

/* Write out what is queued (and not waiting for EPOLLOUT).  Returns true
 * when anything was written: room may have been made. */
static bool flush_all(ipcx_socket *s)
{
    bool wrote = false;
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next) {
        if (p->state == P_ACTIVE && p->out_pos < p->out_len && !p->out_armed) {
            uint64_t before = p->out_base + p->out_pos;
            (void)ipcx__pipe_flush(p);
            wrote |= p->out_base + p->out_pos != before;
        }
    }
    return wrote;
}

static int epoll_sleep(int fd, struct epoll_event *ev, int max, ipcx__deadline d)
{
    if (ipcx__deadline_is_forever(d))
        return epoll_wait(fd, ev, max, -1);
    int64_t left = ipcx__deadline_left_ns(d);
    struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
    int n = epoll_pwait2(fd, ev, max, &ts, NULL);
    if (n < 0 && errno == ENOSYS)
        n = epoll_wait(fd, ev, max, (int)((left + MS - 1) / MS));
    return n;
}

static void batch_disarm(ipcx_socket *s);

/*
 * Sleep until I/O, news from another thread, or the deadline.  Called and
 * returns with the mutex held.  Returns 0 (something may have changed:
 * look again), -ETIMEDOUT or -EINTR.
 */
static int sk_wait(ipcx_socket *s, ipcx__deadline d)
{
    if (ipcx__deadline_expired(d))
        return -ETIMEDOUT;
    batch_disarm(s);
    /* A call that sleeps sends what was batched first; if that made room
     * (a send waiting at the high-water mark behind its own batch), look
     * again instead of sleeping: nobody else would wake us for it. */
    if (flush_all(s))
        return 0;
    if (s->leader) {
        s->followers++;
        int rc = 0;
        if (ipcx__deadline_is_forever(d)) {
            rc = pthread_cond_wait(&s->cv, &s->mu);
        } else {
            struct timespec ts = {.tv_sec = d.abs_ns / 1000000000,
                                  .tv_nsec = d.abs_ns % 1000000000};
            rc = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        s->followers--;
        return rc == ETIMEDOUT ? -ETIMEDOUT : 0;
    }
    sk_reap(s);
    s->leader = true;
    ipcx__sk_ready_sync(s);
    if (s->news) {
        s->news = false;
        if (s->followers > 0)
            pthread_cond_broadcast(&s->cv);
    }
    int64_t spin = s->spin_ns;
    ipcx__shm_spin sp;
    size_t nshm = spin > 0 || s->had_shm ? ipcx__shm_spin_begin(s, &sp) : 0;
    /* Without IPCX_OPT_SPIN: spin briefly before sleeping, on the shm://
     * rings only. */
    if (spin == 0 && nshm > 0 && !ipcx__deadline_is_nowait(d))
        spin = IPCX__SHM_BLOCK_SPIN_NS;
    bool shm_hit = false;
    pthread_mutex_unlock(&s->mu);
    struct epoll_event ev[64];
    int n = 0;
    if (spin > 0) {
        /* shm:// rings are watched in memory, the I/O set now and then. */
        int64_t until = ipcx__now_ns() + spin;
        if (!ipcx__deadline_is_forever(d) && d.abs_ns < until)
            until = d.abs_ns;
        for (unsigned k = 1; n == 0; k++) {
            if (nshm > 0 && ipcx__shm_spin_ready(&sp)) {
                shm_hit = true;
                break;
            }
            ipcx__cpu_relax();
            /* The I/O set costs a system call: with rings to watch, look
             * at it every 1024th turn only (a message arriving during the
             * call is seen that much later). */
            if (nshm == 0 || (k & 1023) == 0)
                n = epoll_wait(s->iofd, ev, 64, 0);
            if ((nshm == 0 || (k & 63) == 0) && ipcx__now_ns() >= until)
                break;
        }
        if (nshm > 0 && !shm_hit && n == 0)
            shm_hit = ipcx__shm_spin_end(&sp);
    } else if (nshm > 0) {
        shm_hit = ipcx__shm_spin_end(&sp);
    }
    int err = 0;
    if (n == 0 && !shm_hit) {
        n = epoll_sleep(s->iofd, ev, 64, d);
        err = n < 0 ? errno : 0;
    }
    pthread_mutex_lock(&s->mu);
    s->leader = false;
    if (s->followers > 0)
        s->news = true; /* let a follower lead, and look */
    if (n < 0)
        return err == EINTR ? -EINTR : -err;
    if (n > 0)
        dispatch(s, ev, n, true);
    return n == 0 && ipcx__deadline_expired(d) ? -ETIMEDOUT : 0;
}

/* ------------------------------------------------------------ the I/O assistant */

/*
 * One thread per socket with endpoints, started by the first listen or
 * dial, does what must happen while no caller is calling: it accepts
 * connections and completes handshakes, writes out what the kernel did not
 * take at send time, answers the commands of a PUB's or PUSH's peers, and
 * runs the timers (handshake timeouts, heartbeats, reconnects).  It never
 * touches the input of an established connection of a receiving pattern,
 * so a stream of messages to a caller never wakes it, and a send that the
 * kernel takes whole never involves it: it costs nothing per message.  It
 * sleeps in its own epoll set (bgfd) and works under the socket's mutex
 * like any caller.  All signals are blocked in it, so a signal reaches the
 * caller's threads (and interrupts their waits with -EINTR).
 */

static sk_pipe *pipe_by_id(ipcx_socket *s, uint32_t id)
{
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

static void bg_dispatch(ipcx_socket *s, const struct epoll_event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t tag = ev[i].data.u64;
        uint64_t v = tag & (((uint64_t)1 << 56) - 1);
        switch ((int)(tag >> 56)) {
        case BG_PIPE: {
            sk_pipe *p = pipe_by_id(s, (uint32_t)v);
            if (p != NULL)
                pipe_io(s, p, ev[i].events);
            break;
        }
        case BG_LISTENER:
            on_accept(s, (sk_listener *)(uintptr_t)v);
            break;
        case BG_DIALER:
            on_dial_done(s, (sk_dialer *)(uintptr_t)v);
            break;
        case BG_TIMER:
            run_timers(s);
            break;
        case BG_BATCH: {
            uint64_t x;
            ssize_t r = read(s->btfd, &x, sizeof(x));
            (void)r;
            /* The caller left a batch behind: it goes out now. */
            s->batch_open = false;
            (void)flush_all(s);
            break;
        }
        default:
            break;
        }
    }
}

static void *bg_main(void *arg)
{
    ipcx_socket *s = arg;
    struct epoll_event ev[64];
    for (;;) {
        int n = epoll_wait(s->bgfd, ev, 64, -1);
        if (n < 0 && errno != EINTR)
            break;
        sk_lock(s);
        if (s->bg_stop) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->st.assistant_wakeups++;
        if (n > 0)
            bg_dispatch(s, ev, n);
        sk_unlock(s);
    }
    return NULL;
}

/* Start the assistant (under the mutex).  A socket whose assistant cannot
 * start still works while its callers call it. */
static void bg_start(ipcx_socket *s)
{
    if (s->bg_started)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 * 1024);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->bg, &at, bg_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
    if (rc == 0)
        s->bg_started = true;
    else
        IPCX_LOGW("socket: the I/O assistant thread did not start: %s", ipcx_strerror(-rc));
}

static void bg_stop(ipcx_socket *s)
{
    if (!s->bg_started)
        return;
    s->bg_stop = true;
    uint64_t one = 1;
    ssize_t w = write(s->bgwake, &one, sizeof(one));
    (void)w;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->bg, NULL);
    pthread_mutex_lock(&s->mu);
    s->bg_started = false;
}

/* ------------------------------------------------------------ open, close */

static const int64_t default_linger = 1000 * MS;

IPCX_API int ipcx_socket_open(int pattern, ipcx_socket **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (pattern < IPCX_PAIR || pattern > IPCX_PUSH)
        return -EINVAL;
    ipcx_socket *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->iofd = s->pollfd = s->readyfd = s->wakefd = s->tfd = s->bgfd = s->bgwake = s->btfd = -1;
    s->pattern = pattern;
    s->drains_input = pattern == IPCX_PUB || pattern == IPCX_PUSH;
    s->zmtp_type = pattern; /* the values are the ZMTP Socket-Type codes */
    s->send_timeout = s->recv_timeout = -1;
    s->linger = default_linger;
    s->send_hwm = 1000;
    s->send_hwm_bytes = (uint64_t)64 << 20;
    s->max_msg = (uint64_t)64 << 20;
    s->reconnect_ivl = 100 * MS;
    s->reconnect_max = 10000 * MS;
    s->hs_timeout = 30000 * MS;
    s->batch_ns = 50 * 1000;
    s->rep_env = ipcx__msg_new();
    int rc = -ENOMEM;
    if (s->rep_env == NULL)
        goto fail;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->mu, NULL);
    s->iofd = epoll_create1(EPOLL_CLOEXEC);
    s->pollfd = epoll_create1(EPOLL_CLOEXEC);
    s->readyfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->bgfd = epoll_create1(EPOLL_CLOEXEC);
    s->bgwake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->btfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->iofd < 0 || s->pollfd < 0 || s->readyfd < 0 || s->wakefd < 0 || s->tfd < 0 ||
        s->bgfd < 0 || s->bgwake < 0 || s->btfd < 0) {
        rc = -errno;
        goto fail_sync;
    }
    static sk_ep timer_ep = {EP_TIMER}, wake_ep = {EP_WAKE};
    struct epoll_event e1 = {.events = EPOLLIN, .data.ptr = NULL};
    if (ipcx__sk_epoll(s, EPOLL_CTL_ADD, s->tfd, &timer_ep, EPOLLIN) != 0 ||
        ipcx__sk_epoll(s, EPOLL_CTL_ADD, s->wakefd, &wake_ep, EPOLLIN) != 0 ||
        epoll_ctl(s->pollfd, EPOLL_CTL_ADD, s->iofd, &e1) != 0 ||
        epoll_ctl(s->pollfd, EPOLL_CTL_ADD, s->readyfd, &e1) != 0 ||
        ipcx__sk_bg_epoll(s, EPOLL_CTL_ADD, s->tfd, BG_TAG(BG_TIMER, 0), EPOLLIN) != 0 ||
        ipcx__sk_bg_epoll(s, EPOLL_CTL_ADD, s->bgwake, BG_TAG(BG_STOP, 0), EPOLLIN) != 0 ||
        ipcx__sk_bg_epoll(s, EPOLL_CTL_ADD, s->btfd, BG_TAG(BG_BATCH, 0), EPOLLIN) != 0) {
        rc = -errno;
        goto fail_sync;
    }
    *out = s;
    return 0;
fail_sync:
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
fail:
    if (rc == 0)
        rc = -ENOMEM;
    for (int *fd = &s->iofd; fd <= &s->btfd; fd++)
        if (*fd >= 0)
            close(*fd);
    ipcx_msg_destroy(s->rep_env);
    free(s);
    return rc;
}

static bool output_pending(const ipcx_socket *s)
{
    for (const sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if ((p->state == P_ACTIVE && p->out_pos < p->out_len) ||
            (p->state == P_HANDSHAKE && p->out_pos < p->out_len) ||
            (p->state == P_ACTIVE && ipcx__mech_pending(p)))
            return true;
    return false;
}

IPCX_API void ipcx_socket_close(ipcx_socket *s)
{
    if (s == NULL)
        return;
    sk_lock(s);
    s->closing = true;
    (void)flush_all(s);
    if (s->linger != 0 && output_pending(s)) {
        ipcx__deadline d = ipcx__deadline_make(s->linger < 0 ? -1 : s->linger);
        while (output_pending(s) && sk_wait(s, d) != -ETIMEDOUT)
            (void)flush_all(s);
    }
    bg_stop(s);
    ipcx__sk_unexpose(s);
    while (s->pipes != NULL) {
        s->pipes->state = P_DEAD;
        ipcx__pipe_free(s->pipes);
    }
    ipcx__shm_socket_free(s);
    for (sk_listener *l = s->listeners, *nx; l != NULL; l = nx) {
        nx = l->next;
        ipcx__tp_unlisten(&l->addr, l->fd);
        free(l);
    }
    for (sk_dialer *d = s->dialers, *nx; d != NULL; d = nx) {
        nx = d->next;
        if (d->fd >= 0)
            close(d->fd);
        free(d);
    }
    pthread_mutex_unlock(&s->mu);
    for (int *fd = &s->iofd; fd <= &s->btfd; fd++)
        if (*fd >= 0)
            close(*fd);
    ipcx__topics_free(&s->subs);
    ipcx_msg_destroy(s->rep_env);
    ipcx_msg_destroy(s->sending);
    ipcx_msg_destroy(s->view.own);
    free(s->view.parts);
    free(s->events);
    free(s->allow_uids);
    ipcx__sec_free(s->sec); /* wipes the secret key */
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ------------------------------------------------------------ endpoints */

IPCX_API int ipcx_listen(ipcx_socket *s, const char *url)
{
    if (s == NULL || url == NULL)
        return -EINVAL;
    sk_listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l->ep.kind = EP_LISTENER;
    int rc = ipcx__addr_parse(url, true, &l->addr);
    if (rc == 0) {
        rc = ipcx__tp_listen(&l->addr, (int)s->recv_buffer);
        if (rc >= 0) {
            l->fd = rc;
            rc = 0;
        }
    }
    if (rc != 0) {
        free(l);
        return rc;
    }
    sk_lock(s);
    rc = ipcx__sk_epoll(s, EPOLL_CTL_ADD, l->fd, &l->ep, EPOLLIN);
    if (rc != 0) {
        sk_unlock(s);
        ipcx__tp_unlisten(&l->addr, l->fd);
        free(l);
        return rc;
    }
    (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_ADD, l->fd, BG_TAG(BG_LISTENER, (uintptr_t)l), EPOLLIN);
    bg_start(s);
    sk_listener **tail = &s->listeners;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = l;
    s->st.listeners++;
    char bound[300];
    if (ipcx__tp_endpoint(&l->addr, l->fd, bound, sizeof(bound)) > 0)
        ipcx__sk_publish_endpoint(s, bound);
    ipcx__sk_event(s, IPCX_EV_LISTENING, 0, NULL, url, "");
    sk_unlock(s);
    return 0;
}

IPCX_API int ipcx_dial(ipcx_socket *s, const char *url)
{
    if (s == NULL || url == NULL)
        return -EINVAL;
    sk_dialer *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    d->ep.kind = EP_DIALER;
    d->fd = -1;
    int rc = ipcx__addr_parse(url, false, &d->addr);
    if (rc != 0) {
        free(d);
        return rc;
    }
    sk_lock(s);
    d->pipe = ipcx__pipe_new(s);
    if (d->pipe == NULL) {
        sk_unlock(s);
        free(d);
        return -ENOMEM;
    }
    d->pipe->dialer = d;
    d->ivl = s->reconnect_ivl;
    sk_dialer **tail = &s->dialers;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = d;
    s->st.dialers++;
    ipcx__sk_publish_endpoint(s, d->addr.url);
    bg_start(s);
    dialer_try(s, d);
    sk_unlock(s);
    return 0;
}

IPCX_API int ipcx_socket_endpoint(ipcx_socket *s, int index, char *buf, size_t cap)
{
    if (s == NULL || buf == NULL)
        return -EINVAL;
    sk_lock(s);
    sk_listener *l = s->listeners;
    for (int i = 0; l != NULL && i < index; i++)
        l = l->next;
    int rc = l == NULL || index < 0 ? -ENOENT : ipcx__tp_endpoint(&l->addr, l->fd, buf, cap);
    sk_unlock(s);
    return rc;
}

/* ------------------------------------------------------------ sending */

static int64_t call_timeout(int64_t opt, int flags)
{
    return (flags & IPCX_DONTWAIT) ? 0 : opt;
}

/*
 * Automatic batching.  A send that follows another send of this socket
 * within IPCX_OPT_SEND_BATCH, with no other call between them, is part of a
 * stream: it is queued instead of written, and the batch goes out in one
 * system call when it reaches IPCX__BATCH_MAX, when the caller sleeps or
 * calls anything but send, when it is older than the batch time (checked by
 * the caller every 64 sends), or at the latest when the batch timer fires
 * in the I/O assistant.  The first two sends of a streak are written at
 * once, so a request, a reply or a lone message never waits; only a
 * stream's tail waits, for the batch time at most (plus a wake-up).  The
 * clock is read only inside a streak with no batch open, and once every 64
 * sends of an open batch.
 */
static void batch_arm(ipcx_socket *s, int64_t now)
{
    struct itimerspec its = {
        .it_value = {.tv_sec = s->batch_ns / 1000000000, .tv_nsec = s->batch_ns % 1000000000}};
    (void)timerfd_settime(s->btfd, 0, &its, NULL);
    s->batch_open = true;
    s->batch_start = now;
    s->batch_sends = 0;
}

static void batch_disarm(ipcx_socket *s)
{
    static const struct itimerspec off;
    if (s->batch_open)
        (void)timerfd_settime(s->btfd, 0, &off, NULL); /* no wake-up for nothing */
    s->batch_open = false;
}

static void batch_close(ipcx_socket *s)
{
    batch_disarm(s);
    (void)flush_all(s);
}

static bool batch_decide(ipcx_socket *s, int flags)
{
    if (s->batch_ns == 0)
        return (flags & IPCX_BATCH) != 0;
    if (s->batch_open) {
        if ((++s->batch_sends & 63) == 0 && ipcx__now_ns() - s->batch_start >= s->batch_ns / 2) {
            batch_close(s); /* old enough: out with it, and this one starts anew */
            s->last_send_ns = ipcx__now_ns();
            batch_arm(s, s->last_send_ns);
        }
        return true;
    }
    bool stream = false;
    if (s->streak || (flags & IPCX_BATCH)) {
        int64_t now = ipcx__now_ns();
        stream =
            (flags & IPCX_BATCH) || (s->last_send_ns != 0 && now - s->last_send_ns < s->batch_ns);
        s->last_send_ns = now;
        if (stream)
            batch_arm(s, now);
    } else {
        s->last_send_ns = 0;
    }
    return stream;
}

static int send_parts(ipcx_socket *s, const sk_part *parts, size_t n, int flags)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    if (total > s->max_msg)
        return -EMSGSIZE;
    /* Large messages are never batched automatically: their system call
     * is cheap beside the copy a batch would add (and they may go out in
     * place, below). */
    if (total < IPCX__AUTOBATCH_MAX ? batch_decide(s, flags) : (flags & IPCX_BATCH) != 0)
        flags |= IPCX_BATCH;
    ipcx__lazy_deadline ld = ipcx__lazy_make(call_timeout(s->send_timeout, flags));
    int rc;
    /* A large message to a single-peer pattern, from a caller that may
     * wait, is finished in place (pipe.c pipe_write_inplace). */
    bool inplace =
        total >= IPCX__INPLACE_MIN && !(flags & IPCX_BATCH) && !ipcx__lazy_is_nowait(&ld) &&
        (s->pattern == IPCX_PAIR || s->pattern == IPCX_PUSH || s->pattern == IPCX_DEALER);
    for (;;) {
        bool wait;
        if (inplace) {
            s->inplace = true;
            s->inplace_deadline = ipcx__lazy_get(&ld);
        }
        rc = ipcx__pat_send(s, parts, n, flags, &wait);
        s->inplace = false;
        if (!wait)
            break;
        /* A call that may wait goes straight to epoll_wait, which returns
         * at once when something is ready: one system call, not two. */
        if (ipcx__lazy_is_nowait(&ld)) {
            if (sk_service(s) > 0)
                continue;
            rc = -EAGAIN;
            break;
        }
        int w = sk_wait(s, ipcx__lazy_get(&ld));
        if (w < 0) {
            rc = w;
            break;
        }
    }
    if (rc == 0) {
        s->st.msgs_sent++;
        s->st.bytes_sent += total;
    }
    s->streak = true;
    return rc;
}

IPCX_API int ipcx_send(ipcx_socket *s, const void *buf, size_t len, int flags)
{
    if (s == NULL || (buf == NULL && len > 0))
        return -EINVAL;
    if (len > INT32_MAX)
        return -EMSGSIZE;
    sk_lock(s);
    int rc;
    if (s->closing) {
        rc = -EBADF;
    } else if (s->pattern == IPCX_SUB || s->pattern == IPCX_PULL) {
        rc = -ENOTSUP;
    } else if ((flags & IPCX_MORE) || s->sending != NULL) {
        if (s->sending == NULL && (s->sending = ipcx__msg_new()) == NULL) {
            rc = -ENOMEM;
        } else {
            rc = ipcx_msg_append(s->sending, buf, len);
            uint64_t total = 0;
            for (size_t i = 0; rc >= 0 && i < s->sending->n; i++)
                total += s->sending->parts[i].len;
            if (rc >= 0 && total > s->max_msg)
                rc = -EMSGSIZE;
            if (rc >= 0 && !(flags & IPCX_MORE))
                rc = send_parts(s, s->sending->parts, s->sending->n, flags);
            if (rc < 0 || !(flags & IPCX_MORE)) {
                ipcx_msg_destroy(s->sending);
                s->sending = NULL;
            }
        }
    } else {
        sk_part part = {(uint8_t *)buf, len};
        rc = send_parts(s, &part, 1, flags);
    }
    sk_unlock(s);
    return rc < 0 ? rc : (int)len;
}

IPCX_API int ipcx_msg_send(ipcx_socket *s, ipcx_msg *m, int flags)
{
    if (s == NULL || m == NULL || m->n == 0)
        return -EINVAL;
    sk_lock(s);
    int rc;
    if (s->closing)
        rc = -EBADF;
    else if (s->pattern == IPCX_SUB || s->pattern == IPCX_PULL)
        rc = -ENOTSUP;
    else
        rc = send_parts(s, m->parts, m->n, flags & ~IPCX_MORE);
    sk_unlock(s);
    if (rc == 0)
        ipcx_msg_destroy(m);
    return rc;
}

/* ------------------------------------------------------------ receiving */

/* Any call but a send ends a send streak and sends what was batched. */
static void streak_end(ipcx_socket *s)
{
    s->streak = false;
    if (s->batch_open)
        batch_close(s);
}

static void sink_end(ipcx_socket *s);

/* @buf/@cap: the ipcx_recv() buffer a large body may be read into, or
 * NULL.  It is offered only while this thread itself looks for a message
 * (ipcx__pat_recv): a body read into it then becomes the message this call
 * delivers, and one still incomplete moves to the pipe's own buffer before
 * anything else runs - no other thread, and no later call, ever sees the
 * caller's buffer. */
static int recv_prepare(ipcx_socket *s, int flags, void *buf, size_t cap)
{
    streak_end(s);
    if (s->view.active)
        return 0;
    ipcx__lazy_deadline ld = ipcx__lazy_make(call_timeout(s->recv_timeout, flags));
    for (;;) {
        bool wait;
        if (buf != NULL) {
            s->sink = buf;
            s->sink_cap = cap;
        }
        int rc = ipcx__pat_recv(s, &wait);
        if (buf != NULL)
            sink_end(s);
        if (!wait)
            return rc;
        if (ipcx__lazy_is_nowait(&ld)) {
            if (sk_service(s) > 0)
                continue;
            return -EAGAIN;
        }
        int w = sk_wait(s, ipcx__lazy_get(&ld));
        if (w < 0)
            return w;
    }
}

static void view_finish(ipcx_socket *s)
{
    sk_view *v = &s->view;
    uint64_t bytes = 0;
    for (size_t i = 0; i < v->n; i++)
        bytes += v->parts[i].len;
    s->st.msgs_received++;
    s->st.bytes_received += bytes;
    if (v->p != NULL)
        ipcx__pipe_consume(v->p);
    ipcx_msg_destroy(v->own);
    v->own = NULL;
    v->p = NULL;
    v->active = false;
}

/* Patterns whose messages reach the caller as they came (no envelope
 * taken off, no identity put on): a large single-part one may be read
 * straight into the caller's buffer (pipe.c, caller-read bodies). */
static bool sink_ok(const ipcx_socket *s)
{
    return s->pattern == IPCX_PAIR || s->pattern == IPCX_PULL || s->pattern == IPCX_DEALER;
}

static void sink_end(ipcx_socket *s)
{
    if (s->sink_pipe != NULL)
        ipcx__pipe_unsink(s->sink_pipe);
    s->sink_pipe = NULL;
    s->sink = NULL;
    s->sink_cap = 0;
}

IPCX_API int ipcx_recv(ipcx_socket *s, void *buf, size_t cap, int flags)
{
    if (s == NULL || (buf == NULL && cap > 0))
        return -EINVAL;
    sk_lock(s);
    bool sink = sink_ok(s) && cap >= IPCX__DIRECT_MIN;
    int rc = s->closing ? -EBADF : recv_prepare(s, flags, sink ? buf : NULL, cap);
    if (rc == 0) {
        sk_view *v = &s->view;
        sk_part part = v->parts[v->k];
        if (part.len > cap) {
            rc = -EMSGSIZE; /* nothing lost: the part stays first in line */
        } else {
            if (v->k == 0)
                ipcx__pat_view_start(s);
            if (part.len > 0 && part.data != buf) /* a body read into buf is there */
                ipcx__copy_msg(buf, part.data, part.len);
            v->k++;
            s->recv_more = v->k < v->n;
            if (v->k == v->n)
                view_finish(s);
            rc = (int)part.len;
        }
    }
    sk_unlock(s);
    return rc;
}

IPCX_API int ipcx_recv_size(ipcx_socket *s, int flags)
{
    if (s == NULL)
        return -EINVAL;
    sk_lock(s);
    int rc = s->closing ? -EBADF : recv_prepare(s, flags, NULL, 0);
    if (rc == 0)
        rc = (int)s->view.parts[s->view.k].len;
    sk_unlock(s);
    return rc;
}

IPCX_API int ipcx_msg_recv(ipcx_socket *s, ipcx_msg **out, int flags)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    *out = NULL;
    sk_lock(s);
    int rc = s->closing ? -EBADF : recv_prepare(s, flags, NULL, 0);
    if (rc == 0) {
        sk_view *v = &s->view;
        ipcx_msg *m = ipcx__msg_new();
        for (size_t i = v->k; m != NULL && i < v->n; i++) {
            if (ipcx_msg_append(m, v->parts[i].data, v->parts[i].len) < 0) {
                ipcx_msg_destroy(m);
                m = NULL;
            }
        }
        if (m == NULL) {
            rc = -ENOMEM;
        } else {
            if (v->k == 0)
                ipcx__pat_view_start(s);
            s->recv_more = 0;
            view_finish(s);
            *out = m;
        }
    }
    sk_unlock(s);
    return rc;
}

/* ------------------------------------------------------------ options */

static int set_dur(int64_t *field, int64_t v, bool allow_forever)
{
    if (v < 0 && !(allow_forever && v == -1))
        return -EINVAL;
    *field = v;
    return 0;
}

IPCX_API int ipcx_socket_set(ipcx_socket *s, int opt, int64_t v)
{
    if (s == NULL)
        return -EINVAL;
    int rc = 0;
    sk_lock(s);
    switch (opt) {
    case IPCX_OPT_SEND_TIMEOUT:
        rc = set_dur(&s->send_timeout, v, true);
        break;
    case IPCX_OPT_RECV_TIMEOUT:
        rc = set_dur(&s->recv_timeout, v, true);
        break;
    case IPCX_OPT_LINGER:
        rc = set_dur(&s->linger, v, true);
        break;
    case IPCX_OPT_SEND_HWM:
        if (v < 0)
            rc = -EINVAL;
        else
            s->send_hwm = (uint64_t)v;
        break;
    case IPCX_OPT_SEND_HWM_BYTES:
        if (v < 0)
            rc = -EINVAL;
        else
            s->send_hwm_bytes = (uint64_t)v;
        break;
    case IPCX_OPT_RECV_BUFFER:
        if (v < 0 || v > (1 << 30))
            rc = -EINVAL;
        else
            s->recv_buffer = v;
        break;
    case IPCX_OPT_MAX_MSG_SIZE:
        if (v < 0 || v > INT32_MAX)
            rc = -EINVAL;
        else
            s->max_msg = (uint64_t)v;
        break;
    case IPCX_OPT_RECONNECT_IVL:
        rc = v <= 0 ? -EINVAL : set_dur(&s->reconnect_ivl, v, false);
        break;
    case IPCX_OPT_RECONNECT_IVL_MAX:
        rc = v <= 0 ? -EINVAL : set_dur(&s->reconnect_max, v, false);
        break;
    case IPCX_OPT_HANDSHAKE_TIMEOUT:
        rc = v <= 0 ? -EINVAL : set_dur(&s->hs_timeout, v, false);
        break;
    case IPCX_OPT_HEARTBEAT_IVL:
        rc = set_dur(&s->hb_ivl, v, false);
        break;
    case IPCX_OPT_HEARTBEAT_TIMEOUT:
        rc = set_dur(&s->hb_timeout, v, false);
        break;
    case IPCX_OPT_HEARTBEAT_TTL:
        rc = v > (int64_t)6553 * 100 * MS ? -EINVAL : set_dur(&s->hb_ttl, v, false);
        break;
    case IPCX_OPT_SPIN:
        rc = set_dur(&s->spin_ns, v, false);
        break;
    case IPCX_OPT_ROUTER_MANDATORY:
        if (s->pattern != IPCX_ROUTER)
            rc = -ENOTSUP;
        else
            s->router_mandatory = v != 0;
        break;
    case IPCX_OPT_REQ_RELAXED:
    case IPCX_OPT_REQ_CORRELATE:
        if (s->pattern != IPCX_REQ)
            rc = -ENOTSUP;
        else if (opt == IPCX_OPT_REQ_RELAXED)
            s->req_relaxed = v != 0;
        else
            s->req_correlate = v != 0;
        break;
    case IPCX_OPT_ALLOW_UID: {
        if (v < 0 || v > UINT32_MAX) {
            rc = -EINVAL;
            break;
        }
        int64_t *n = realloc(s->allow_uids, (s->n_allow + 1) * sizeof(*n));
        if (n == NULL) {
            rc = -ENOMEM;
            break;
        }
        s->allow_uids = n;
        n[s->n_allow++] = v;
        break;
    }
    case IPCX_OPT_EVENTS:
        if (v < 0 || v > 0x1f)
            rc = -EINVAL;
        else
            s->events_mask = (uint32_t)v;
        break;
    case IPCX_OPT_RECV_MORE:
    case IPCX_OPT_PATTERN:
        rc = -ENOTSUP;
        break;
    case IPCX_OPT_PLAIN_SERVER:
    case IPCX_OPT_CURVE_SERVER:
        rc = ipcx__sec_set(s, opt, v);
        break;
    default:
        rc = -EINVAL;
        break;
    }
    sk_unlock(s);
    return rc;
}

IPCX_API int ipcx_socket_set_bytes(ipcx_socket *s, int opt, const void *data, size_t len)
{
    if (s == NULL || (data == NULL && len > 0))
        return -EINVAL;
    int rc = 0;
    sk_lock(s);
    switch (opt) {
    case IPCX_OPT_SUBSCRIBE:
    case IPCX_OPT_UNSUBSCRIBE: {
        if (s->pattern != IPCX_SUB) {
            rc = -ENOTSUP;
            break;
        }
        bool sub = opt == IPCX_OPT_SUBSCRIBE;
        if (sub)
            rc = ipcx__topics_add(&s->subs, data, len);
        else if (!ipcx__topics_del(&s->subs, data, len))
            rc = -ENOENT;
        if (rc != 0)
            break;
        for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
            if (p->state == P_ACTIVE)
                ipcx__pipe_send_sub(p, sub, data, len);
        break;
    }
    case IPCX_OPT_IDENTITY:
        if (len == 0 || len > 255 || ((const uint8_t *)data)[0] == 0) {
            rc = -EINVAL;
            break;
        }
        memcpy(s->identity, data, len);
        s->identity_len = len;
        break;
    case IPCX_OPT_PLAIN_USERNAME:
    case IPCX_OPT_PLAIN_PASSWORD:
    case IPCX_OPT_CURVE_PUBLICKEY:
    case IPCX_OPT_CURVE_SECRETKEY:
    case IPCX_OPT_CURVE_SERVERKEY:
    case IPCX_OPT_CURVE_ALLOW:
        rc = ipcx__sec_set_bytes(s, opt, data, len);
        break;
    default:
        rc = -EINVAL;
        break;
    }
    sk_unlock(s);
    return rc;
}

IPCX_API int ipcx_socket_get(ipcx_socket *s, int opt, int64_t *v)
{
    if (s == NULL || v == NULL)
        return -EINVAL;
    int rc = 0;
    sk_lock(s);
    switch (opt) {
    case IPCX_OPT_SEND_TIMEOUT:
        *v = s->send_timeout;
        break;
    case IPCX_OPT_RECV_TIMEOUT:
        *v = s->recv_timeout;
        break;
    case IPCX_OPT_SEND_HWM:
        *v = (int64_t)s->send_hwm;
        break;
    case IPCX_OPT_SEND_HWM_BYTES:
        *v = (int64_t)s->send_hwm_bytes;
        break;
    case IPCX_OPT_RECV_BUFFER:
        *v = s->recv_buffer;
        break;
    case IPCX_OPT_MAX_MSG_SIZE:
        *v = (int64_t)s->max_msg;
        break;
    case IPCX_OPT_LINGER:
        *v = s->linger;
        break;
    case IPCX_OPT_RECONNECT_IVL:
        *v = s->reconnect_ivl;
        break;
    case IPCX_OPT_RECONNECT_IVL_MAX:
        *v = s->reconnect_max;
        break;
    case IPCX_OPT_HANDSHAKE_TIMEOUT:
        *v = s->hs_timeout;
        break;
    case IPCX_OPT_HEARTBEAT_IVL:
        *v = s->hb_ivl;
        break;
    case IPCX_OPT_HEARTBEAT_TIMEOUT:
        *v = s->hb_timeout;
        break;
    case IPCX_OPT_HEARTBEAT_TTL:
        *v = s->hb_ttl;
        break;
    case IPCX_OPT_SPIN:
        *v = s->spin_ns;
        break;
    case IPCX_OPT_ROUTER_MANDATORY:
        *v = s->router_mandatory;
        break;
    case IPCX_OPT_REQ_RELAXED:
        *v = s->req_relaxed;
        break;
    case IPCX_OPT_REQ_CORRELATE:
        *v = s->req_correlate;
        break;
    case IPCX_OPT_EVENTS:
        *v = s->events_mask;
        break;
    case IPCX_OPT_RECV_MORE:
        *v = s->recv_more;
        break;
    case IPCX_OPT_MECHANISM:
        *v = ipcx__sec_mechanism(s);
        break;
    case IPCX_OPT_PATTERN:
        *v = s->pattern;
        break;
    default:
        rc = -EINVAL;
        break;
    }
    sk_unlock(s);
    return rc;
}

/* ------------------------------------------------------------ polling */

IPCX_API int ipcx_socket_fd(ipcx_socket *s)
{
    if (s == NULL)
        return -EINVAL;
    sk_lock(s);
    s->fd_used = true; /* from now on readyfd is kept true (sk_ready_sync) */
    int fd = s->pollfd;
    sk_unlock(s);
    return fd;
}

static int events_locked(ipcx_socket *s, int want)
{
    streak_end(s);
    (void)sk_service(s);
    (void)flush_all(s);
    int bits = 0;
    if (want & IPCX_POLLIN) {
        bool w;
        if (s->view.active) {
            bits |= IPCX_POLLIN;
        } else {
            int rc = ipcx__pat_recv(s, &w);
            if (rc == 0 && s->view.active)
                bits |= IPCX_POLLIN;
            if (rc == -EPIPE) {
                /* A REQ whose request's peer is gone: recv says so at once.
                 * Keep that news for it (pat_recv consumed it). */
                s->req_lost = true;
                s->req_waiting = true;
                bits |= IPCX_POLLIN;
            }
        }
    }
    if ((want & IPCX_POLLOUT) && ipcx__pat_writable(s))
        bits |= IPCX_POLLOUT;
    if (s->ev_n > 0)
        bits |= IPCX_POLLEVENT;
    return bits & (want | IPCX_POLLEVENT);
}

IPCX_API int ipcx_socket_events(ipcx_socket *s, int want)
{
    if (s == NULL)
        return -EINVAL;
    sk_lock(s);
    int rc = s->closing ? -EBADF : events_locked(s, want);
    sk_unlock(s);
    return rc;
}

/* The fd ipcx_poll() sleeps on for a socket whose wanted readiness is not
 * there: its pollable fd - unless that is readable already for something
 * not wanted (a message waits, the caller asked for events only), which
 * would make the sleep spin.  Then the I/O set alone, with the sleep
 * capped at 10 ms (*capped): news that another thread or the assistant
 * makes without I/O on this set is seen within that. */
static int poll_fd_for(ipcx_socket *s, bool *capped)
{
    sk_lock(s);
    s->fd_used = true;
    ipcx__sk_ready_sync(s);
    bool unwanted = s->ready_set;
    int fd = unwanted ? s->iofd : s->pollfd;
    sk_unlock(s);
    if (unwanted)
        *capped = true;
    return fd;
}

IPCX_API int ipcx_poll(ipcx_pollitem *items, size_t n, int64_t timeout_ns)
{
    if (items == NULL && n > 0)
        return -EINVAL;
    struct pollfd stack[16];
    struct pollfd *pf = n <= 16 ? stack : calloc(n, sizeof(*pf));
    if (pf == NULL)
        return -ENOMEM;
    ipcx__deadline d = ipcx__deadline_make(timeout_ns);
    int ready = 0;
    for (;;) {
        ready = 0;
        bool capped = false;
        for (size_t i = 0; i < n; i++) {
            items[i].revents = 0;
            if (items[i].socket != NULL) {
                int ev = ipcx_socket_events(items[i].socket, items[i].events);
                if (ev < 0) {
                    ready = ev;
                    goto out;
                }
                items[i].revents = (short)(ev & items[i].events);
                pf[i] =
                    (struct pollfd){.fd = poll_fd_for(items[i].socket, &capped), .events = POLLIN};
            } else {
                pf[i] = (struct pollfd){.fd = items[i].fd, .events = items[i].events};
            }
            if (items[i].revents != 0)
                ready++;
        }
        if (ready > 0 || ipcx__deadline_expired(d))
            break;
        struct timespec ts, *tsp = NULL;
        if (!ipcx__deadline_is_forever(d) || capped) {
            int64_t left = ipcx__deadline_is_forever(d) ? INT64_MAX : ipcx__deadline_left_ns(d);
            if (capped && left > 10 * MS)
                left = 10 * MS;
            ts = (struct timespec){.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
            tsp = &ts;
        }
        int r = ppoll(pf, n, tsp, NULL);
        if (r < 0) {
            ready = errno == EINTR ? -EINTR : -errno;
            break;
        }
        bool plain = false;
        for (size_t i = 0; i < n; i++) {
            if (items[i].socket == NULL && pf[i].revents != 0) {
                items[i].revents = pf[i].revents;
                plain = true;
            }
        }
        if (plain) {
            ready = 0;
            for (size_t i = 0; i < n; i++) {
                if (items[i].socket != NULL) {
                    int ev = ipcx_socket_events(items[i].socket, items[i].events);
                    items[i].revents = ev > 0 ? (short)(ev & items[i].events) : 0;
                }
                if (items[i].revents != 0)
                    ready++;
            }
            break;
        }
    }
out:
    if (pf != stack)
        free(pf);
    return ready;
}

/* ------------------------------------------------------------ events, stats */

IPCX_API int ipcx_socket_event(ipcx_socket *s, ipcx_event *ev)
{
    if (s == NULL || ev == NULL)
        return -EINVAL;
    sk_lock(s);
    int rc = -EAGAIN;
    if (s->ev_n == 0)
        (void)sk_service(s);
    if (s->ev_n > 0) {
        *ev = s->events[s->ev_head];
        s->ev_head = (s->ev_head + 1) % IPCX__EVENTS_MAX;
        s->ev_n--;
        rc = 0;
    }
    sk_unlock(s);
    return rc;
}

IPCX_API int ipcx_socket_stats_get(ipcx_socket *s, ipcx_socket_stats *st)
{
    if (s == NULL || st == NULL)
        return -EINVAL;
    sk_lock(s);
    *st = s->st;
    st->peers = s->nactive;
    sk_unlock(s);
    return 0;
}
