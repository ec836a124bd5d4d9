/* SPDX-License-Identifier: MIT */
/*
 * Transports: how a socket finds its peers.  A transport parses its URLs,
 * listens, dials and accepts; what flows over the connection is the
 * socket layer's business (src/socket/).
 *
 * Byte-stream transports (tcp://, unix://) hand the socket layer a
 * connected, non-blocking stream fd, over which it speaks ZMTP
 * (src/socket/pipe.c).  A message transport (shm://, to come) hands out
 * its own pipe engine instead: it gets a connected control fd here the same
 * way, and its ipcx__transport.pipe_ops then carry messages through
 * rings, allocating message buffers in shared memory, signalling through
 * an fd the socket polls, and seeing the peer's death as the control fd's
 * hang-up.  That is the one place the socket layer looks at the kind.
 *
 * Layering: transport calls core and platform only.
 */
#ifndef IPCX_SRC_TRANSPORT_H
#define IPCX_SRC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

enum {
    IPCX__TP_TCP = 1,
    IPCX__TP_UNIX = 2,
};

/* A parsed endpoint. */
typedef struct ipcx__addr {
    int kind;                   /* IPCX__TP_* */
    struct sockaddr_storage sa; /* resolved address */
    socklen_t salen;
    char url[256];  /* the URL as given (scheme normalised for ipc://) */
    char path[108]; /* unix: the path, or the abstract name after '@' */
    bool abstract;  /* unix: abstract namespace */
    dev_t dev;      /* unix listener: the socket file we created */
    ino_t ino;
} ipcx__addr;

/*
 * Parse @url.  @listening: the host "*" and port 0 are allowed.
 * Returns 0, -EPROTONOSUPPORT (unknown scheme), -EINVAL (malformed),
 * -ENAMETOOLONG (unix path over 107 bytes), -ENOENT (host not resolved).
 */
int ipcx__addr_parse(const char *url, bool listening, ipcx__addr *out);

/* Listen on @a (non-blocking, close-on-exec).  unix: replaces a stale
 * socket file, refuses a live one (-EADDRINUSE) or a file that is not a
 * socket (-EEXIST), creates the file 0600 before listen(2).  Returns the
 * fd or -errno. */
int ipcx__tp_listen(ipcx__addr *a, int rcvbuf);

/* Stop listening: close @fd; unix: remove the socket file if it is still
 * the one this listener created. */
void ipcx__tp_unlisten(ipcx__addr *a, int fd);

/* Start a non-blocking connect.  Returns the fd with *done = true when
 * connected at once, *done = false when in progress (wait for EPOLLOUT,
 * then ipcx__tp_connect_result()), or -errno. */
int ipcx__tp_dial(const ipcx__addr *a, bool *done, int rcvbuf);

/* 0 when the connect on @fd succeeded, else -errno (SO_ERROR). */
int ipcx__tp_connect_result(int fd);

/* Accept one connection (non-blocking, close-on-exec, TCP_NODELAY).
 * Writes the peer's address in words to @peer.  Returns the fd, -EAGAIN
 * when none is pending, or -errno. */
int ipcx__tp_accept(int lfd, int kind, char *peer, size_t cap);

/* Set per-connection options on a connected fd (TCP_NODELAY).  SO_RCVBUF
 * (@rcvbuf > 0) is given to listen and dial instead: it must be set before
 * the TCP handshake. */
void ipcx__tp_tune(int fd, int kind);

/* unix: the peer's pid and uid (SO_PEERCRED).  Returns 0 or -errno. */
int ipcx__tp_peercred(int fd, int64_t *pid, int64_t *uid);

/* The URL a listener is bound to (the kernel's port for tcp port 0).
 * Returns its length or -ENOSPC. */
int ipcx__tp_endpoint(const ipcx__addr *a, int fd, char *buf, size_t cap);

/* Describe a sockaddr ("127.0.0.1:5555", "[::1]:5555"). */
void ipcx__tp_sockaddr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap);

#endif /* IPCX_SRC_TRANSPORT_H */
