/* SPDX-License-Identifier: MIT */
/*
 * The socket layer's internals: the socket, its listeners, dialers and
 * pipes (one per connection), and the ZMTP engine that runs a pipe.
 *
 * Design notes.
 *
 * Locking.  Everything of a socket is covered by its mutex `mu`.  A call
 * holds it while it works and drops it only to sleep.  One thread at a time
 * sleeps in epoll_wait on the I/O set (`iofd`): the leader.  Others that
 * must wait sleep on the condition variable `cv` (followers).  Whoever
 * changes something another waiter may be waiting for (a message decoded,
 * room made, a peer lost) marks `news`; on unlock, news wakes the leader
 * (a write to `wakefd`, which is in the I/O set) and broadcasts `cv`.  A
 * single-threaded caller is always the leader and pays neither.
 *
 * Two epoll sets.  `iofd` holds the connections, listeners, the timerfd
 * and `wakefd`: it is what the socket itself waits on.  `pollfd`, the fd
 * users get from ipcx_socket_fd(), holds `iofd` and `readyfd`, an eventfd
 * kept readable exactly while a message is decoded and waiting, a peer
 * event is queued, or a wanted POLLOUT became possible (`sk_ready_sync`) -
 * once somebody asked for `pollfd` (ipcx_socket_fd(), ipcx_poll():
 * `fd_used`); before that nothing reads it, and keeping it would cost two
 * eventfd system calls per message.
 * A pipe whose decoded message waits for the caller stops asking for
 * EPOLLIN (`in_paused`), so neither set spins on input nobody takes.
 *
 * Lazy decoding.  A pipe reads up to its read-ahead into `in` and decodes
 * one message at a time, when the caller wants one: the rest stays in the
 * kernel, whose buffer pushes back on the sender.  The message at the head
 * of a pipe is a view into `in` (one part that arrived whole) or an
 * assembled ipcx_msg (several parts, or a part that straddled reads).
 *
 * Output.  A message to a pipe is written at once when nothing is queued
 * before it (write-through, one sendmsg of header and body); what the
 * kernel does not take is copied to `out`, flushed on EPOLLOUT.  With
 * IPCX_BATCH the message is only appended, and goes out with the next
 * send without the flag or when the batch reaches IPCX__BATCH_MAX.
 * `ends` lists where each queued message ends in the stream, for the
 * high-water mark and so that a dialer that reconnects drops a message
 * whose first bytes went to the old connection instead of sending its
 * tail to the new one.
 */
#ifndef IPCX_SRC_SOCKET_INT_H
#define IPCX_SRC_SOCKET_INT_H

#include <ipcx/region.h>
#include <ipcx/socket.h>
#include <ipcx/zmtp.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/core.h"
#include "transport/transport.h"

#define IPCX__READ_AHEAD       (256u << 10)
#define IPCX__INPLACE_MIN      (32u << 10)
#define IPCX__DIRECT_MIN       (32u << 10)
#define IPCX__AUTOBATCH_MAX    (16u << 10)
#define IPCX__INPLACE_STALL_NS ((int64_t)2000000)
#define IPCX__READ_FIRST       (4u << 10)
#define IPCX__BATCH_MAX        (64u << 10)
#define IPCX__EVENTS_MAX       256u
#define IPCX__IOV_MAX          64u

/* What an epoll entry points at. */
enum { EP_PIPE = 1, EP_LISTENER, EP_DIALER, EP_TIMER, EP_WAKE };

typedef struct sk_ep {
    int kind;
} sk_ep;

/* A part of a message: bytes owned by the message (or borrowed, in a
 * view). */
typedef struct sk_part {
    uint8_t *data;
    size_t len;
} sk_part;

/* A message: its parts, the first IPCX__MSG_INL_PARTS described in the
 * struct itself, and small parts' bytes in its arena (msg.c): a message
 * of a few small parts (a ROUTER's identity, a command word, a header)
 * costs one allocation, not one per part.  A part's bytes are the
 * message's own either way, valid until the message is destroyed or
 * cleared. */
#define IPCX__MSG_INL_PARTS 4
#define IPCX__MSG_ARENA     120
struct ipcx_msg {
    size_t n, cap;
    sk_part *parts;
    sk_part inl[IPCX__MSG_INL_PARTS];
    size_t arena_used;
    _Alignas(8) uint8_t arena[IPCX__MSG_ARENA];
};

/* A set of byte strings (subscriptions). */
typedef struct sk_topics {
    sk_part *v;
    size_t n, cap;
} sk_topics;

enum { P_IDLE = 0, P_CONNECTING, P_HANDSHAKE, P_ACTIVE, P_DEAD };

struct sk_dialer;
struct sk_listener;

typedef struct sk_pipe {
    sk_ep ep;
    struct ipcx_socket *s;
    struct sk_pipe *next, *prev;
    struct sk_dialer *dialer; /* a dialled pipe outlives its connections */
    struct sk_listener *listener;
    int fd;
    int state;
    bool was_active;
    bool in_paused;     /* EPOLLIN taken out of the set (head waiting) */
    bool out_armed;     /* EPOLLOUT in the set */
    bool readable;      /* the fd may have input (epoll said so, not yet drained) */
    bool registered;    /* the fd is in the I/O set */
    uint32_t bg_events; /* what the assistant's set asks of the fd */
    bool in_full;       /* the last read filled `in`: grow it */
    bool busy;          /* a message is being written in place (pipe.c) */
    uint32_t conn_gen;  /* connections this pipe has had (pipe_write_inplace) */
    uint8_t *body;      /* a large body being read by the pipe (pipe.c body_start) */
    size_t body_size, body_have;
    bool body_more, body_sink;
    bool at_boundary; /* the decoder stands between two frames */
    bool eof;
    uint32_t id;
    int tp_kind;
    ipcx_zmtp_decoder *dec;
    int peer_type;
    int peer_minor;
    uint8_t ident[256];
    size_t ident_len;
    /* input */
    uint8_t *in;
    size_t in_cap, in_pos, in_len;
    int head; /* H_NONE, H_VIEW (in `hv`), H_MSG (in `hm`) */
    sk_part hv;
    ipcx_msg *hm;
    ipcx_msg *asm_msg; /* parts of a message still arriving */
    uint64_t asm_bytes;
    bool buffered_counted;
    /* output: unsent bytes out[out_pos, out_len); out[0] is stream offset out_base */
    uint8_t *out;
    size_t out_cap, out_pos, out_len;
    uint64_t out_base;
    uint64_t done_end; /* stream offset where the first queued unit starts */
    uint64_t *ends;
    size_t ends_head, ends_n, ends_cap;
    bool batching; /* appended with IPCX_BATCH, not yet flushed */
    /* handshake bytes, written before anything in `out` */
    uint8_t hs[1024];
    size_t hs_pos, hs_len;
    /* PLAIN/CURVE: the connection's mechanism (mech.h), NULL under NULL */
    struct ipcx__mx *mx;
    /* PUB side: the peer's subscriptions */
    sk_topics subs;
    /* timers */
    int64_t hs_deadline;
    int64_t last_rx;
    int64_t last_tx;
    int64_t ping_sent;   /* 0: no PING awaiting an answer */
    int64_t peer_ttl_ns; /* the peer's PING TTL: give up after it */
    /* peer */
    int64_t peer_pid, peer_uid;
    char peer_addr[128];
    /* shm://: the ring engine's state (pipe_shm.c); NULL for a ZMTP pipe */
    struct sk_shm *shm;
    /* This connection's figures (pattern.c), for an exposed socket's
     * connection table (expose.c); a new connection starts them at 0. */
    uint64_t n_in, n_out, n_drops;
} sk_pipe;

enum { H_NONE = 0, H_VIEW, H_MSG };

typedef struct sk_listener {
    sk_ep ep;
    struct sk_listener *next;
    ipcx__addr addr;
    int fd;
} sk_listener;

typedef struct sk_dialer {
    sk_ep ep;
    struct sk_dialer *next;
    ipcx__addr addr;
    int fd; /* a connect in progress, else -1 */
    sk_pipe *pipe;
    int64_t next_try; /* 0: not waiting to retry */
    int64_t ivl;
    uint32_t attempts;
} sk_dialer;

/* What the caller is receiving part by part. */
typedef struct sk_view {
    bool active;
    sk_pipe *p;
    size_t n, k;
    sk_part *parts; /* the message as delivered (envelope stripped, identity added) */
    size_t cap;
    ipcx_msg *own; /* the parts' bytes, once their pipe went away */
} sk_view;

struct ipcx_socket {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pattern;
    int zmtp_type;
    int iofd, pollfd, readyfd, wakefd, tfd;
    int bgfd, bgwake; /* the I/O assistant's epoll set and its stop signal */
    int btfd;         /* the batch timer (socket.c, automatic batching) */
    pthread_t bg;
    bool bg_started, bg_stop;
    bool drains_input; /* PUB, PUSH: incoming frames are commands only */
    bool closing;
    bool leader;        /* a thread sleeps in epoll_wait(iofd) */
    uint32_t followers; /* threads sleeping on cv */
    bool news;
    bool ready_set; /* readyfd is readable */
    bool fd_used;   /* pollfd was handed out: keep readyfd true */
    bool wakefd_set;
    int64_t timer_armed; /* the tfd's deadline, 0 when disarmed */

    /* options */
    int64_t send_timeout, recv_timeout, linger;
    uint64_t send_hwm, send_hwm_bytes, max_msg;
    int64_t recv_buffer;
    int64_t reconnect_ivl, reconnect_max, hs_timeout;
    int64_t hb_ivl, hb_timeout, hb_ttl;
    int64_t spin_ns;
    bool router_mandatory, req_relaxed, req_correlate;
    uint32_t events_mask;
    int64_t *allow_uids;
    size_t n_allow;
    uint8_t identity[256];
    size_t identity_len;

    /* members */
    sk_pipe *pipes; /* every pipe, dialled ones included */
    uint32_t npipes, nactive;
    uint32_t ndead; /* pipes waiting for sk_reap */
    uint32_t next_id;
    sk_listener *listeners;
    sk_dialer *dialers;
    uint32_t nbuffered; /* pipes with a head or undecoded input */
    sk_pipe *rr_in, *rr_out;

    /* receiving */
    sk_view view;
    int recv_more;
    /* sending part by part */
    ipcx_msg *sending;
    /* SUB */
    sk_topics subs;
    /* REQ: the pipe the request went to, the request id, waiting? */
    sk_pipe *req_pipe;
    uint32_t req_id;
    bool req_waiting;
    bool req_lost; /* the peer of the pending request went away */
    /* REP: the request's envelope and pipe */
    sk_pipe *rep_pipe;
    ipcx_msg *rep_env;
    bool rep_replying;
    uint32_t router_next_id;
    uint32_t send_count;
    /* automatic batching (socket.c) */
    int64_t batch_ns;
    bool streak; /* the last call was a send */
    bool batch_open;
    /* the buffer of the ipcx_recv() that large bodies may be read into */
    uint8_t *sink;
    size_t sink_cap;
    struct sk_pipe *sink_pipe; /* reading a body into it */
    bool sink_filled;          /* a body completed into it */
    /* in-place completion of large messages (pipe.c) */
    bool inplace;
    ipcx__deadline inplace_deadline;
    int64_t batch_start, last_send_ns;
    uint32_t batch_sends;

    /* PLAIN/CURVE settings (mech_pipe.c); NULL: the NULL mechanism */
    struct ipcx__sec *sec;

    /* peer events */
    ipcx_event *events;
    size_t ev_head, ev_n;

    ipcx_socket_stats st;

    /* PUB over shm://: the one broadcast ring of its subscribers (pipe_shm.c) */
    struct sk_shm_bc *shm_bc;
    /* an shm:// pipe was ever attached: waits spin briefly on the rings first
     * (sk_wait, IPCX__SHM_BLOCK_SPIN_NS) */
    bool had_shm;

    /* ipcx_socket_expose (expose.c) */
    ipcx_region *pub_region;
    struct ipcx__sock_pub *pub;
    char pub_name[IPCX_REGION_NAME_MAX + 1];
    uint64_t pub_sig;  /* connects + disconnects at the last table rebuild, + 1 */
    uint32_t pub_tick; /* publishes since the last sample of buffer fill */
};

/* Fault injection for tests: called before every read and write of a
 * connection; returns 0 to go on, a negative errno (-EINTR, -EAGAIN) to
 * fail that call as the kernel would, or n > 0 to move at most n bytes.
 * NULL (always, outside tests). */
enum { IPCX__SK_READ = 1, IPCX__SK_WRITE = 2 };
extern int (*ipcx__sk_fault)(int site);

/* pipe_shm.c: an shm:// connection's ring fill, for the connection table */
void ipcx__shm_fill(const sk_pipe *p, uint64_t *rx_used, uint64_t *rx_cap, uint64_t *tx_used,
                    uint64_t *tx_cap);

/* expose.c */
void ipcx__sk_publish(ipcx_socket *s);
void ipcx__sk_publish_endpoint(ipcx_socket *s, const char *url);
void ipcx__sk_unexpose(ipcx_socket *s);

/* socket.c */
void ipcx__sk_event(ipcx_socket *s, int type, int err, const sk_pipe *p, const char *endpoint,
                    const char *reason);
void ipcx__sk_ready_sync(ipcx_socket *s);
void ipcx__sk_deliver_news(ipcx_socket *s);
int ipcx__sk_epoll(ipcx_socket *s, int op, int fd, sk_ep *ep, uint32_t events);
int ipcx__sk_bg_epoll(ipcx_socket *s, int op, int fd, uint64_t tag, uint32_t events);
void ipcx__pipe_bg_sync(sk_pipe *p);
void ipcx__sk_timer_note(ipcx_socket *s, int64_t when);

/* pipe.c: the ZMTP engine */
sk_pipe *ipcx__pipe_new(ipcx_socket *s);
int ipcx__pipe_attach(sk_pipe *p, int fd, int tp_kind);
void ipcx__pipe_fail(sk_pipe *p, int err, const char *reason);
void ipcx__pipe_free(sk_pipe *p);
void ipcx__pipe_on_io(sk_pipe *p, uint32_t events);
int ipcx__pipe_next(sk_pipe *p);
void ipcx__pipe_consume(sk_pipe *p);
int ipcx__pipe_put(sk_pipe *p, const sk_part *parts, size_t n, bool batch);
int ipcx__pipe_flush(sk_pipe *p);
bool ipcx__pipe_room(const sk_pipe *p);
size_t ipcx__pipe_queued(const sk_pipe *p);
void ipcx__pipe_send_sub(sk_pipe *p, bool subscribe, const void *topic, size_t len);
int64_t ipcx__pipe_timers(sk_pipe *p, int64_t now);
void ipcx__pipe_update_buffered(sk_pipe *p);
void ipcx__pipe_unsink(sk_pipe *p);

/* pipe.c, for the CURVE flush (mech_pipe.c) */
ssize_t ipcx__pipe_writev(sk_pipe *p, struct iovec *iov, size_t n);
void ipcx__pipe_written(sk_pipe *p);
void ipcx__pipe_arm_out(sk_pipe *p, bool on);

/* mech_pipe.c: PLAIN and CURVE (mech.h) */
int ipcx__sec_set(ipcx_socket *s, int opt, int64_t v);
int ipcx__sec_set_bytes(ipcx_socket *s, int opt, const void *data, size_t len);
int ipcx__sec_mechanism(const ipcx_socket *s);
struct ipcx__sec;
void ipcx__sec_free(struct ipcx__sec *sec);
int ipcx__mech_attach(sk_pipe *p);
ssize_t ipcx__mech_read(sk_pipe *p, uint8_t *buf, size_t cap);
bool ipcx__mech_seals(const sk_pipe *p);
bool ipcx__mech_pending(const sk_pipe *p);
int ipcx__mech_flush(sk_pipe *p);
void ipcx__mech_reset(sk_pipe *p);
const char *ipcx__mech_reason(const sk_pipe *p, const char *otherwise);

/*
 * pipe_shm.c and shm_conn.c: the ring engine of shm:// pipes (shm_int.h).  A pipe is either a ZMTP
 * byte stream (pipe.c) or, once attached to an shm:// control socket, a
 * pair of rings (p->shm != NULL).  The pipe calls above are the one
 * interface the patterns and the socket use; each of them hands an shm
 * pipe to its counterpart here on its first line, so nothing else needs
 * to know which engine a pipe runs.
 */
int ipcx__shm_attach(sk_pipe *p, int fd);
void ipcx__shm_fail(sk_pipe *p, int err, const char *reason);
void ipcx__shm_free(sk_pipe *p);
void ipcx__shm_on_io(sk_pipe *p, uint32_t events);
int ipcx__shm_next(sk_pipe *p);
void ipcx__shm_consume(sk_pipe *p);
int ipcx__shm_put(sk_pipe *p, const sk_part *parts, size_t n, bool batch);
int ipcx__shm_flush(sk_pipe *p);
bool ipcx__shm_room(const sk_pipe *p);
size_t ipcx__shm_queued(const sk_pipe *p);
void ipcx__shm_send_sub(sk_pipe *p, bool subscribe, const void *topic, size_t len);
int64_t ipcx__shm_timers(sk_pipe *p, int64_t now);
/* PUB: write a message once to the broadcast ring of the shm:// subscribers
 * (pattern.c); the socket's close frees that ring. */
int ipcx__shm_pub_send(ipcx_socket *s, const sk_part *parts, size_t n);
void ipcx__shm_socket_free(ipcx_socket *s);

/* Spinning on shm:// rings (socket.c sk_wait, IPCX_OPT_SPIN): begin takes,
 * under the mutex, the words to watch (the first IPCX__SHM_SPIN_MAX idle
 * shm pipes) and stops their peers from signalling while we spin; ready
 * (unlocked) says a record came; end (unlocked, before the real sleep)
 * registers asleep again and says whether one came meanwhile.  The
 * mappings stay while the socket has a leader (pipe_shm.c conn_close). */
#define IPCX__SHM_SPIN_MAX 8
/* Without IPCX_OPT_SPIN, a wait of a socket with shm:// pipes watches their
 * rings this long before it sleeps: a peer that answers at once (a round
 * trip, a stream the receiver caught up with) is then seen without a
 * wake-up, which costs 15-50 us here; an idle socket spins once per call. */
#define IPCX__SHM_BLOCK_SPIN_NS 20000
typedef struct ipcx__shm_spin {
    size_t n;
    struct {
        ipcx_atomic_u64 *posted;
        ipcx_atomic_u32 *sleep_in;
        uint64_t taken;
    } w[IPCX__SHM_SPIN_MAX];
} ipcx__shm_spin;
size_t ipcx__shm_spin_begin(ipcx_socket *s, ipcx__shm_spin *sp);
bool ipcx__shm_spin_ready(const ipcx__shm_spin *sp);
bool ipcx__shm_spin_end(const ipcx__shm_spin *sp);

/* pattern.c: routing */
int ipcx__pat_send(ipcx_socket *s, const sk_part *parts, size_t n, int flags, bool *wait);
int ipcx__pat_recv(ipcx_socket *s, bool *wait);
void ipcx__pat_pipe_gone(ipcx_socket *s, sk_pipe *p);
void ipcx__pat_pipe_ready(ipcx_socket *s, sk_pipe *p);
void ipcx__pat_view_start(ipcx_socket *s);
int ipcx__pat_writable(ipcx_socket *s);

/* msg.c */
ipcx_msg *ipcx__msg_new(void);
int ipcx__msg_push(ipcx_msg *m, uint8_t *data, size_t len);
void ipcx__msg_clear(ipcx_msg *m);
int ipcx__topics_add(sk_topics *t, const void *d, size_t len);
bool ipcx__topics_del(sk_topics *t, const void *d, size_t len);
bool ipcx__topics_match(const sk_topics *t, const void *d, size_t len);
void ipcx__topics_free(sk_topics *t);

/* The caller-visible message bytes of a pipe's head. */
static inline size_t ipcx__head_parts(const sk_pipe *p)
{
    return p->head == H_VIEW ? 1 : p->hm->n;
}

static inline sk_part ipcx__head_part(const sk_pipe *p, size_t i)
{
    return p->head == H_VIEW ? p->hv : p->hm->parts[i];
}

#endif /* IPCX_SRC_SOCKET_INT_H */
