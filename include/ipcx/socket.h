/* SPDX-License-Identifier: MIT */
/*
 * ipcx sockets: message passing between processes, on this host or across
 * hosts, with the same calls whatever the transport.
 *
 * A socket has a pattern (PAIR, PUSH/PULL, PUB/SUB, REQ/REP, DEALER/ROUTER,
 * with ZeroMQ's semantics), any number of endpoints it listens on and any
 * number it dials, and exchanges messages of one or more parts with its
 * peers.  Transports are named by the URL:
 *
 *   tcp://host:port         IPv4 or IPv6 ("tcp://[::1]:5555"); a listener's
 *                           host may be "*" (every IPv4 interface) and its
 *                           port 0 (picked by the kernel, see
 *                           ipcx_socket_endpoint())
 *   unix:///path/to/sock    a Unix-domain stream socket (alias ipc://, as
 *                           libzmq names it); "unix://@name" is the abstract
 *                           namespace
 *   shm:///path/to/sock     shared memory between ipcx sockets of one host:
 *                           a Unix control socket at the path, messages
 *                           through rings in a sealed memfd (no system call
 *                           while both sides are busy; nothing named in
 *                           /dev/shm); only the listener's uid, or the
 *                           allow-list, may connect (docs/transports.md)
 *
 * tcp:// and unix:// speak ZMTP 3.1 (the ZeroMQ wire protocol, NULL mechanism, or
 * PLAIN or CURVE by option: docs/security.md), so any ZeroMQ peer - libzmq,
 * pyzmq, JeroMQ, ... - of a compatible socket type is a valid peer.
 * docs/sockets.md describes the patterns, docs/transports.md the URLs and
 * what differs from libzmq.
 *
 * I/O happens inside the caller's calls (ipcx_send, ipcx_recv,
 * ipcx_socket_events, ipcx_poll, ...): a message is written by the send
 * that queues it and read by the receive that takes it, with no thread in
 * between.  What must happen while the caller is not calling - accepting a
 * connection, finishing a handshake, writing out what the kernel did not
 * take at send time, answering a PUB's subscribers, heartbeats, reconnects
 * - is done by one I/O assistant thread per socket, started by the first
 * ipcx_listen() or ipcx_dial().  It never handles a message the caller
 * sends or receives in the normal course, so it costs nothing per message
 * (docs/sockets.md).  Signals are blocked in it.  A socket must not be used
 * in a child after fork(): open sockets after forking.
 *
 * An event loop waits on ipcx_socket_fd(), which becomes readable whenever
 * the socket has something for the caller: a message, input to decode, a
 * peer event, room to send once that was asked for.  It is
 * level-triggered: after any ipcx call on the socket returns, the fd is
 * readable exactly while ipcx_socket_events() would report something the
 * caller asked for, or new input arrived since.
 *
 * Thread safety: every call on one socket may be made from several threads
 * at once (for example, one thread sending while another receives).  A
 * socket holds one mutex; a call takes it while it works and drops it while
 * it sleeps, so a blocked ipcx_recv() never holds up an ipcx_send().  The
 * cost is one uncontended lock and unlock per call (about 20 ns).  Two rules
 * remain: a multipart message sent part by part (IPCX_MORE) must come from
 * one thread, and so must one received part by part - use ipcx_msg_send()
 * and ipcx_msg_recv(), which move whole messages, when several threads
 * share a socket.  ipcx_socket_close() must not race other calls.
 *
 * Errors are negative errno values (ipcx_strerror()):
 *   -EAGAIN     IPCX_DONTWAIT and nothing could be done now
 *   -ETIMEDOUT  the send or receive timeout passed
 *   -EINTR      a signal arrived while the call slept
 *   -EMSGSIZE   a message over IPCX_OPT_MAX_MSG_SIZE, or a receive buffer
 *               too small for the part (the part stays queued)
 *   -EBADFD     the pattern does not allow this now (REQ: recv before send,
 *               or a second send; REP: send before recv)
 *   -EPIPE      REQ: the peer the pending request went to is gone (send again)
 *   -ENOTSUP    the pattern never allows it (recv on PUSH, send on SUB)
 *   -EPROTONOSUPPORT  unknown URL scheme
 *   -EINVAL     malformed URL, option or argument
 *   -EADDRINUSE a live listener already holds the address
 *   -EHOSTUNREACH  ROUTER with IPCX_OPT_ROUTER_MANDATORY: no such peer
 *   -EBADF      the socket was closed
 */
#ifndef IPCX_SOCKET_H
#define IPCX_SOCKET_H

#include <ipcx/core.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Patterns.  The values are the ZMTP Socket-Type codes of ipcx_zmtp.h. */
typedef enum ipcx_pattern {
    IPCX_PAIR = 1,
    IPCX_PUB = 2,
    IPCX_SUB = 3,
    IPCX_REQ = 4,
    IPCX_REP = 5,
    IPCX_DEALER = 6,
    IPCX_ROUTER = 7,
    IPCX_PULL = 8,
    IPCX_PUSH = 9,
} ipcx_pattern;

/** Flags of ipcx_send(), ipcx_recv(), ipcx_msg_send(), ipcx_msg_recv(). */
#define IPCX_DONTWAIT 0x1 /**< never sleep: -EAGAIN when it would */
#define IPCX_MORE     0x2 /**< ipcx_send(): more parts of this message follow */
/** ipcx_send(), ipcx_msg_send(): more messages follow at once.  The message
 *  may wait in ipcx (up to 64 KiB of them per peer) and go out with the
 *  ones after it in one system call - like MSG_MORE of send(2) - at the
 *  latest when IPCX_OPT_SEND_BATCH has passed (or, with that option 0, at
 *  the next send without IPCX_BATCH, a call that sleeps,
 *  ipcx_socket_events() or close).  Streams of small messages go several
 *  times faster.  IPCX_OPT_SEND_BATCH batches streams without the flag. */
#define IPCX_BATCH 0x4

typedef struct ipcx_socket ipcx_socket;

/**
 * ipcx_socket_open - a new socket of @pattern, with no endpoints yet.
 * Returns 0, -EINVAL (unknown pattern, @out NULL), -ENOMEM, or -EMFILE /
 * -ENFILE (a socket holds eight fds: three epoll sets, three eventfds and two timerfds).
 */
IPCX_API int ipcx_socket_open(int pattern, ipcx_socket **out);

/**
 * ipcx_socket_close - close the socket.  Messages still queued for peers
 * are written out for up to IPCX_OPT_LINGER (default 1 s); what is left
 * then is dropped.  Listening unix:// socket files are removed.  Every fd
 * and byte of memory is released.  Accepts NULL.  No other call on @s may
 * run at the same time or after.
 */
IPCX_API void ipcx_socket_close(ipcx_socket *s);

/**
 * ipcx_listen - listen on @url; peers that dial it are accepted inside
 * later calls.  May be called several times (several endpoints).
 * unix://: the socket file is created 0600.  A file that is there already
 * is replaced only when no process listens on it (a connect is refused);
 * a live listener gives -EADDRINUSE.
 * Returns 0 or -errno (-EPROTONOSUPPORT, -EINVAL, -EADDRINUSE, -EACCES,
 * -ENAMETOOLONG, ...).
 */
IPCX_API int ipcx_listen(ipcx_socket *s, const char *url);

/**
 * ipcx_dial - connect to @url, now and again whenever the connection is
 * lost (after IPCX_OPT_RECONNECT_IVL, doubling up to _IVL_MAX).  Succeeds
 * even if nothing listens there yet: the socket keeps trying.  A tcp://
 * host name is resolved once, here.  Messages sent to a dialled peer that
 * is reconnecting queue up to its high-water mark.
 * Returns 0 or -errno (-EPROTONOSUPPORT, -EINVAL, -ENOENT for an
 * unresolvable host, -ENOMEM).
 */
IPCX_API int ipcx_dial(ipcx_socket *s, const char *url);

/**
 * ipcx_socket_endpoint - the address of the @index-th listening endpoint
 * (0 for the first), as a URL, with the port the kernel picked for
 * "tcp://...:0".  Writes a NUL-terminated string into @buf.
 * Returns its length, -ENOENT (no such endpoint) or -ENOSPC (@cap small).
 */
IPCX_API int ipcx_socket_endpoint(ipcx_socket *s, int index, char *buf, size_t cap);

/* ------------------------------------------------------------ messages */

/**
 * ipcx_send - send one part of a message: @len bytes of @buf (copied; the
 * buffer is the caller's again when the call returns).  IPCX_MORE: more
 * parts follow, and nothing of the message goes out before its last part.
 *
 * Where it goes: PAIR its peer; PUSH, DEALER, REQ round-robin over peers
 * with room; PUB every subscribed peer (a peer past its high-water mark
 * loses the message, counted in drops); ROUTER the peer whose identity is
 * the first part; REP the peer of the request being answered.
 * When no peer has room it waits (IPCX_OPT_SEND_TIMEOUT, IPCX_DONTWAIT);
 * PUB never waits, ROUTER drops (or -EHOSTUNREACH).
 *
 * Returns @len, or -EAGAIN, -ETIMEDOUT, -EINTR, -EMSGSIZE (the message,
 * all parts together, exceeds IPCX_OPT_MAX_MSG_SIZE: that message is
 * discarded whole), -EBADFD, -ENOTSUP, -ENOMEM.  After a failure the parts
 * sent before with IPCX_MORE are discarded too.
 */
IPCX_API int ipcx_send(ipcx_socket *s, const void *buf, size_t len, int flags);

/**
 * ipcx_recv - receive the next part into @buf.  Messages arrive whole: once
 * the first part was received the others are there, and
 * IPCX_OPT_RECV_MORE tells whether one follows.  Incoming messages are
 * fair-queued over peers.  SUB delivers messages matching a subscription;
 * REP strips (and keeps, for the reply) the routing envelope; ROUTER
 * prepends the sender's identity as a first part.
 *
 * Returns the part's length, or -EAGAIN, -ETIMEDOUT, -EINTR, -EBADFD, -EPIPE,
 * -ENOTSUP, or -EMSGSIZE when the part is longer than @cap: nothing is
 * lost then, the part stays first in line and ipcx_recv_size() gives its
 * length.
 */
IPCX_API int ipcx_recv(ipcx_socket *s, void *buf, size_t cap, int flags);

/**
 * ipcx_recv_size - the length of the part ipcx_recv() would return next,
 * without taking it.  Returns the length or what ipcx_recv() would fail
 * with (-EAGAIN with IPCX_DONTWAIT, -ETIMEDOUT, ...).
 */
IPCX_API int ipcx_recv_size(ipcx_socket *s, int flags);

/**
 * ipcx_msg - a whole message of one or more parts, owned by whoever holds
 * the pointer.  ipcx_msg_send() takes it on success; ipcx_msg_recv() hands
 * one out.  The parts' memory may belong to the transport (on shm:// it
 * will be a record in the ring); it stays valid until ipcx_msg_destroy().
 */
typedef struct ipcx_msg ipcx_msg;

/** A message with one part of @size bytes to be filled in
 *  (ipcx_msg_data()).  Returns 0, -ENOMEM or -EMSGSIZE (over 2^62). */
IPCX_API int ipcx_msg_create(size_t size, ipcx_msg **out);

/** Append a part: @len bytes copied from @data.  Returns the new number of
 *  parts or -ENOMEM. */
IPCX_API int ipcx_msg_append(ipcx_msg *m, const void *data, size_t len);

/** Number of parts (>= 1). */
IPCX_API size_t ipcx_msg_parts(const ipcx_msg *m);

/** Part @i's bytes (writable) and length (@len may be NULL); NULL when
 *  @i is out of range. */
IPCX_API void *ipcx_msg_data(ipcx_msg *m, size_t i, size_t *len);

/** Free a message.  Accepts NULL. */
IPCX_API void ipcx_msg_destroy(ipcx_msg *m);

/**
 * ipcx_msg_send - send a whole message.  On success the socket owns @m
 * (do not touch or destroy it); on failure the caller still does.
 * Returns 0 or what ipcx_send() fails with.  Thread-safe against other
 * senders: the parts of one message are never interleaved with another's.
 */
IPCX_API int ipcx_msg_send(ipcx_socket *s, ipcx_msg *m, int flags);

/**
 * ipcx_msg_recv - receive a whole message (all its parts); the caller owns
 * *@out and frees it with ipcx_msg_destroy().  Returns 0 or what
 * ipcx_recv() fails with (never -EMSGSIZE).
 */
IPCX_API int ipcx_msg_recv(ipcx_socket *s, ipcx_msg **out, int flags);

/* ------------------------------------------------------------ options */

/**
 * Options, set with ipcx_socket_set() (integers) or ipcx_socket_set_bytes()
 * and read with ipcx_socket_get().  Durations are nanoseconds; -1 means
 * "forever".  Each takes effect for calls and connections that start after
 * it is set.
 */
enum ipcx_socket_opt {
    /** Send timeout: -1 (default) waits as long as it takes, 0 never waits
     *  (like IPCX_DONTWAIT), > 0 then -ETIMEDOUT. */
    IPCX_OPT_SEND_TIMEOUT = 1,
    /** Receive timeout, the same way.  Default -1. */
    IPCX_OPT_RECV_TIMEOUT = 2,
    /** Most messages queued in ipcx for one peer (beyond what the kernel
     *  buffers).  Default 1000; 0 = no limit. */
    IPCX_OPT_SEND_HWM = 3,
    /** Most bytes queued in ipcx for one peer.  Default 64 MiB; 0 = no
     *  limit.  A message is accepted while the queue is under the mark. */
    IPCX_OPT_SEND_HWM_BYTES = 4,
    /** Receive buffering per peer.  ipcx decodes lazily: it reads ahead up
     *  to 256 KiB (or this many bytes, if more), and the rest waits in the
     *  kernel, whose buffer then pushes back on the sender (TCP flow
     *  control).  When not 0 it also sets SO_RCVBUF, for connections made
     *  after it is set (before the TCP handshake, as the kernel needs).
     *  Default 0: the kernel's SO_RCVBUF. */
    IPCX_OPT_RECV_BUFFER = 5,
    /** Largest message, all parts together, in either direction.  Default
     *  64 MiB.  A peer that sends a larger one is disconnected. */
    IPCX_OPT_MAX_MSG_SIZE = 6,
    /** How long close keeps writing queued messages.  Default 1 s; 0
     *  drops them at once; -1 waits until all are written or the peers go. */
    IPCX_OPT_LINGER = 7,
    /** First reconnect delay after a dialled connection fails or is lost.
     *  Default 100 ms. */
    IPCX_OPT_RECONNECT_IVL = 8,
    /** The delay doubles after each failure up to this.  Default 10 s. */
    IPCX_OPT_RECONNECT_IVL_MAX = 9,
    /** A connection whose ZMTP handshake has not completed this long after
     *  it was opened is dropped.  Default 30 s. */
    IPCX_OPT_HANDSHAKE_TIMEOUT = 10,
    /** Send a ZMTP PING when nothing was sent for this long.  Default 0:
     *  no heartbeats. */
    IPCX_OPT_HEARTBEAT_IVL = 11,
    /** Drop a connection that sent nothing (not even a PONG) for this long
     *  after a PING.  Default 0: the heartbeat interval. */
    IPCX_OPT_HEARTBEAT_TIMEOUT = 12,
    /** The TTL sent in PINGs, telling the peer when to give up on us
     *  (rounded to tenths of a second).  Default 0: none. */
    IPCX_OPT_HEARTBEAT_TTL = 13,
    /** Spin window: a call about to sleep first polls its connections for
     *  up to this long (no wake-up is paid while a conversation is hot).
     *  Default 0. */
    IPCX_OPT_SPIN = 14,
    /** ROUTER: a message for an unknown identity fails with -EHOSTUNREACH
     *  (1) instead of being dropped and counted (0, default). */
    IPCX_OPT_ROUTER_MANDATORY = 15,
    /** REQ: a new request may be sent before the reply came; the old reply
     *  is then discarded when it comes (1).  Default 0: strict. */
    IPCX_OPT_REQ_RELAXED = 16,
    /** REQ: requests carry a request id so that a late reply to an older
     *  request is never taken for the current one's (1).  Default 0. */
    IPCX_OPT_REQ_CORRELATE = 17,
    /** unix://, shm://: accept a peer of this uid (SO_PEERCRED), adding to the
     *  allow-list.  With an empty list (default) unix:// accepts every peer
     *  (the socket file is 0600 anyway) and shm:// only peers of the
     *  listener's effective uid. */
    IPCX_OPT_ALLOW_UID = 18,
    /** Which peer events to queue (IPCX_EV_* bits).  Default 0: none. */
    IPCX_OPT_EVENTS = 19,
    /** Automatic batching: a send that comes within this long of the
     *  previous send, with no other call between, is queued and goes out
     *  with the ones after it in one system call - after this long at most
     *  (plus a thread wake-up), or sooner when 64 KiB are queued or the
     *  caller calls anything but send.  A lone message, a request and a
     *  reply are always written at once.  Default 50 us; 0 turns it off
     *  (then only IPCX_BATCH batches).  At most 1 s. */
    IPCX_OPT_SEND_BATCH = 22,
    /** Read only: 1 when the part received last has more parts after it. */
    IPCX_OPT_RECV_MORE = 20,
    /** Read only: the pattern. */
    IPCX_OPT_PATTERN = 21,
    /** Bytes (ipcx_socket_set_bytes): SUB: receive messages starting with
     *  this prefix (the empty prefix: everything). */
    IPCX_OPT_SUBSCRIBE = 32,
    /** Bytes: SUB: drop one such subscription (-ENOENT when there is none). */
    IPCX_OPT_UNSUBSCRIBE = 33,
    /** Bytes: the routing identity sent to peers (1-255 bytes, not starting
     *  with a zero byte), for ROUTER peers.  Default: none. */
    IPCX_OPT_IDENTITY = 34,

    /* Security (docs/security.md).  Setting any of these replaces the NULL
     * mechanism for connections made afterwards; a socket has one
     * mechanism, the one set last, and a peer must use the same. */
    /** 1: PLAIN server (RFC 24: user name and password in clear text, for
     *  trusted networks).  Clients are decided by the ipcx_socket_set_auth()
     *  callback; without one every client is refused. */
    IPCX_OPT_PLAIN_SERVER = 40,
    /** Bytes (0-255): a PLAIN client's user name (makes the socket a PLAIN
     *  client). */
    IPCX_OPT_PLAIN_USERNAME = 41,
    /** Bytes (0-255): a PLAIN client's password. */
    IPCX_OPT_PLAIN_PASSWORD = 42,
    /** 1: CURVE server (RFC 26): needs IPCX_OPT_CURVE_SECRETKEY (or
     *  ipcx_socket_curve_keyfile()).  Clients are decided by the allow-list
     *  (IPCX_OPT_CURVE_ALLOW, ipcx_socket_curve_allow()) and the
     *  ipcx_socket_set_auth() callback; with neither, every client that
     *  proves its key is accepted (as libzmq without a ZAP handler). */
    IPCX_OPT_CURVE_SERVER = 43,
    /** Bytes: our long-term public key, 32 bytes or 40 of Z85.  Optional:
     *  derived from the secret key when not given. */
    IPCX_OPT_CURVE_PUBLICKEY = 44,
    /** Bytes: our long-term secret key, 32 bytes or 40 of Z85.  Wiped from
     *  memory when the socket closes. */
    IPCX_OPT_CURVE_SECRETKEY = 45,
    /** Bytes: a CURVE client's server key (32 or 40 of Z85); makes the
     *  socket a CURVE client (with a secret key set too). */
    IPCX_OPT_CURVE_SERVERKEY = 46,
    /** Bytes: a CURVE server: add a client's public key to the allow-list
     *  (32 or 40 of Z85). */
    IPCX_OPT_CURVE_ALLOW = 47,
    /** Read only: the mechanism, IPCX_MECH_NULL, _PLAIN or _CURVE. */
    IPCX_OPT_MECHANISM = 48,
};

/** Security mechanisms (IPCX_OPT_MECHANISM, ipcx_auth_request). */
#define IPCX_MECH_NULL  0
#define IPCX_MECH_PLAIN 1
#define IPCX_MECH_CURVE 2

/** What a server's authoriser is asked about one client. */
typedef struct ipcx_auth_request {
    int mechanism;             /**< IPCX_MECH_PLAIN or IPCX_MECH_CURVE */
    const uint8_t *public_key; /**< CURVE: the client's long-term key (32 bytes); else NULL */
    const uint8_t *username;   /**< PLAIN: the user name (not NUL-terminated); else NULL */
    size_t username_len;
    const uint8_t *password; /**< PLAIN: the password (not NUL-terminated); else NULL */
    size_t password_len;
    const char *peer; /**< the client's address ("127.0.0.1:41234", a path, "") */
} ipcx_auth_request;

/** An authoriser: return 0 to accept the client, anything else to refuse
 *  it (it gets a ZMTP ERROR "400" and is counted in auth_refused).  Called
 *  with the socket's lock held, from any thread that drives the socket:
 *  it must not call the socket, and should be quick. */
typedef int (*ipcx_auth_fn)(void *arg, const ipcx_auth_request *rq);

/** Install (or, with @fn NULL, remove) the authoriser of a PLAIN or CURVE
 *  server.  Under CURVE a client must also be on the allow-list when the
 *  list is not empty.  Returns 0 or -EINVAL. */
IPCX_API int ipcx_socket_set_auth(ipcx_socket *s, ipcx_auth_fn fn, void *arg);

/** Load our long-term key pair from a secret-key file
 *  (ipcx_curve_secret_file_read(): refused with -EACCES when group or
 *  others may read it).  Returns 0 or what that call fails with. */
IPCX_API int ipcx_socket_curve_keyfile(ipcx_socket *s, const char *path);

/** CURVE server: add every public key of @path, a file or a directory of
 *  files (ipcx/security.h), to the allow-list.  Returns 0, -ENOENT,
 *  -EINVAL (a malformed public-key line), or another -errno. */
IPCX_API int ipcx_socket_curve_allow(ipcx_socket *s, const char *path);

/** Set an integer option.  Returns 0, -EINVAL (unknown option or value out
 *  of range), -ENOTSUP (read-only, or not for this pattern). */
IPCX_API int ipcx_socket_set(ipcx_socket *s, int opt, int64_t value);

/** Set a byte-string option.  Returns 0, -EINVAL, -ENOTSUP, -ENOMEM. */
IPCX_API int ipcx_socket_set_bytes(ipcx_socket *s, int opt, const void *data, size_t len);

/** Read an integer option.  Returns 0 or -EINVAL. */
IPCX_API int ipcx_socket_get(ipcx_socket *s, int opt, int64_t *value);

/* ------------------------------------------------------------ polling */

/** Readiness bits of ipcx_socket_events() and ipcx_pollitem. */
#define IPCX_POLLIN    0x1 /**< a message can be received now */
#define IPCX_POLLOUT   0x2 /**< a message can be sent now */
#define IPCX_POLLEVENT 0x4 /**< a peer event is queued (ipcx_socket_event) */

/**
 * ipcx_socket_fd - the socket's pollable fd (an epoll fd; poll it for
 * POLLIN only, never read it).  It is readable while the socket has work
 * or news: a message, a queued peer event, unprocessed input, a timer due,
 * and - only after ipcx_socket_events() was asked about IPCX_POLLOUT and
 * said no - room to send again.  Call ipcx_socket_events() (or recv with
 * IPCX_DONTWAIT) when it is readable: that does the work, and the fd stays
 * readable only while something is still there.  The fd belongs to the
 * socket; do not close it.
 */
IPCX_API int ipcx_socket_fd(ipcx_socket *s);

/**
 * ipcx_socket_events - do whatever I/O is ready without waiting and report
 * IPCX_POLLIN / IPCX_POLLOUT / IPCX_POLLEVENT.  @want says which the
 * caller cares about (a want of IPCX_POLLOUT arms the fd for writability).
 * Returns the bits, or -EBADF.
 */
IPCX_API int ipcx_socket_events(ipcx_socket *s, int want);

/** An entry of ipcx_poll(): a socket, or a plain fd when @socket is NULL
 *  (@events/@revents then use POLLIN/POLLOUT of <poll.h>). */
typedef struct ipcx_pollitem {
    ipcx_socket *socket;
    int fd;
    short events;
    short revents;
} ipcx_pollitem;

/**
 * ipcx_poll - wait until one of @items is ready or @timeout_ns passes
 * (0: check once; -1: forever).  Returns the number of items with revents
 * set (0 after the timeout), -EINTR, or -EINVAL.
 */
IPCX_API int ipcx_poll(ipcx_pollitem *items, size_t n, int64_t timeout_ns);

/* ------------------------------------------------------------ peer events */

/** Peer events (IPCX_OPT_EVENTS bits and ipcx_event.type). */
#define IPCX_EV_CONNECTED    0x01 /**< a connection completed its handshake */
#define IPCX_EV_DISCONNECTED 0x02 /**< a connection that had completed its handshake ended */
#define IPCX_EV_HANDSHAKE_FAILED                                                                   \
    0x04                       /**< a connection was refused or dropped before its                 \
                                    handshake completed */
#define IPCX_EV_LISTENING 0x08 /**< ipcx_listen() succeeded */
#define IPCX_EV_RETRY     0x10 /**< a dial failed; the socket tries again later */

/** One peer event. */
typedef struct ipcx_event {
    int type;           /**< one IPCX_EV_* */
    int err;            /**< the cause, a negative errno, or 0 */
    int64_t peer_pid;   /**< unix://, shm://: the peer's pid (SO_PEERCRED), else -1 */
    int64_t peer_uid;   /**< unix://: the peer's uid, else -1 */
    char endpoint[256]; /**< the URL listened on or dialled */
    char peer[128];     /**< the peer's address ("127.0.0.1:41234", a path, "") */
    char reason[128];   /**< what went wrong, in words ("" when nothing) */
} ipcx_event;

/**
 * ipcx_socket_event - take the oldest queued peer event.  Events are queued
 * only for the types set in IPCX_OPT_EVENTS, at most 256 (older ones are
 * dropped and counted in ipcx_socket_stats.events_dropped).
 * Returns 0, or -EAGAIN when none is queued.
 */
IPCX_API int ipcx_socket_event(ipcx_socket *s, ipcx_event *ev);

/* ------------------------------------------------------------ statistics */

/** Per-socket counters since open. */
typedef struct ipcx_socket_stats {
    uint64_t msgs_sent;     /**< messages handed to a peer's queue */
    uint64_t msgs_received; /**< messages received by the caller */
    uint64_t bytes_sent;    /**< their payload bytes */
    uint64_t bytes_received;
    uint64_t drops;              /**< messages dropped: past a PUB peer's high-water mark,
                                      unroutable (ROUTER), or lost with a dead peer's queue */
    uint64_t filtered;           /**< SUB: messages no subscription matched */
    uint64_t connects;           /**< handshakes completed */
    uint64_t disconnects;        /**< connections lost after their handshake */
    uint64_t reconnects;         /**< dial attempts after the first */
    uint64_t handshake_failures; /**< connections dropped before or during the handshake */
    uint64_t events_dropped;     /**< peer events lost to a full event queue */
    uint64_t assistant_wakeups;  /**< times the I/O assistant thread woke to work */
    uint32_t peers;              /**< connections with a completed handshake now */
    uint32_t listeners;          /**< endpoints listened on */
    uint32_t dialers;            /**< endpoints dialled */
    uint32_t auth_refused;       /**< PLAIN/CURVE clients the server refused (also counted
                                      in handshake_failures) */
} ipcx_socket_stats;

/** Fill @st.  Returns 0 or -EINVAL. */
IPCX_API int ipcx_socket_stats_get(ipcx_socket *s, ipcx_socket_stats *st);

/* ------------------------------------------------------------ exposing */

/** Most endpoints ipcx_socket_info carries. */
#define IPCX_SOCKET_INFO_ENDPOINTS 8

/**
 * ipcx_socket_expose - publish the socket's endpoints (the first 8) and its
 * statistics in a named region (kind IPCX_REGION_SOCKET, mode 0600), so
 * that `ipcx ls` lists the socket and `ipcx stat NAME` shows it live.  The
 * figures are refreshed at the end of every call on the socket (a few
 * relaxed stores).  ipcx_socket_close() removes the region; a process that
 * crashes leaves it behind (`ipcx ls` shows its creator gone, `ipcx rm`
 * removes it).  Returns 0, -EALREADY (exposed already), or what
 * ipcx_region_create() fails with (-EEXIST, -EINVAL for a bad name, ...).
 */
IPCX_API int ipcx_socket_expose(ipcx_socket *s, const char *name);

/** What an exposed socket's region says (ipcx_socket_info_read()). */
typedef struct ipcx_socket_info {
    int pattern;
    int32_t creator_pid;
    int creator_alive; /**< 1 alive, 0 gone, -1 cannot tell */
    uint32_t n_endpoints;
    char endpoints[IPCX_SOCKET_INFO_ENDPOINTS][248];
    ipcx_socket_stats stats;
} ipcx_socket_info;

/**
 * ipcx_socket_info_read - read an exposed socket's region, from any
 * process that may open it.  The region is untrusted: a malformed one is
 * -EPROTO.  Returns 0, -ENOENT, -ENOTSUP (a region of another kind),
 * -EPROTO, or what ipcx_region_open() fails with.
 */
IPCX_API int ipcx_socket_info_read(const char *name, ipcx_socket_info *out);

/** Most connections an exposed socket's region lists. */
#define IPCX_SOCKET_INFO_CONNS 16

/** One connection of an exposed socket, as its region shows it
 *  (ipcx_socket_conns_read()).  The figures are a moment's, refreshed at
 *  the end of every call on the socket (the fill every 64th call). */
typedef struct ipcx_socket_conn {
    int64_t peer_pid;                  /**< -1: unknown (tcp://) */
    int64_t peer_uid;                  /**< -1: unknown */
    int transport;                     /**< 1 tcp://, 2 unix://, 3 shm:// (0: unknown) */
    char peer[48];                     /**< the peer's address as the socket saw it, or "" */
    uint64_t msgs_in, msgs_out, drops; /**< on this connection */
    /** Input waiting: shm://, bytes in the receive ring of rx_cap bytes;
     *  tcp:// and unix://, bytes read ahead and not yet decoded (cap 0). */
    uint64_t rx_used, rx_cap;
    /** Output the peer has not taken yet: shm://, bytes in the send ring
     *  of tx_cap bytes; others, bytes queued for the kernel (cap 0). */
    uint64_t tx_used, tx_cap;
} ipcx_socket_conn;

/**
 * ipcx_socket_conns_read - the connections of an exposed socket (its first
 * IPCX_SOCKET_INFO_CONNS active ones), read from its region by any process
 * that may open it.  Fills at most @max entries of @out and, when @total
 * is not NULL, sets it to the number of active connections (which may be
 * more than the region lists).  Returns the number of entries filled, or
 * -ENOENT, -ENOTSUP (a region of another kind), -EPROTO (malformed, or of
 * another layout), -EAGAIN (the table was being rewritten on every try),
 * or what ipcx_region_open() fails with.
 */
IPCX_API int ipcx_socket_conns_read(const char *name, ipcx_socket_conn *out, size_t max,
                                    size_t *total);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_SOCKET_H */
