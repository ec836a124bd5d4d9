/* SPDX-License-Identifier: MIT */
/*
 * Transports: how a socket finds its peers.  A transport parses its URLs,
 * listens, dials and accepts; what flows over the connection is the
 * socket layer's business (src/socket/).
 *
 * Byte-stream transports (tcp://, unix://) hand the socket layer a
 * connected, non-blocking stream fd, over which it speaks ZMTP
 * (src/socket/pipe.c).  A message transport (shm://) hands out
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
    IPCX__TP_SHM = 3, /* a unix control socket; messages go through rings */
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

/* ------------------------------------------------------------ shm:// handshake (shm.c) */

/* The hello each side of an shm:// control socket sends once, in one
 * sendmsg(2) (docs/transports.md has it byte by byte):
 *
 *   0  "IPXS"   magic
 *   4  u8       version (IPCX__SHM_VERSION)
 *   5  u8       ZMTP socket type of the sender
 *   6  u8       status: 0 ok; the listener's refusal otherwise
 *   7  u8       identity length n (0..255)
 *   8  n bytes  identity
 *
 * The dialer's hello carries no fds; the listener's, when status is 0,
 * carries exactly IPCX__SHM_NFDS: the connection's memfd region, the
 * eventfd the listener sleeps on and the one the dialer sleeps on.  A
 * PUB's hello (status 0) carries one more, last: its broadcast region. */
#define IPCX__SHM_VERSION   1
#define IPCX__SHM_HELLO_MAX (8 + 255)
#define IPCX__SHM_NFDS      3
#define IPCX__SHM_FDS_MAX   (IPCX__SHM_NFDS + 1)
#define IPCX__SHM_PUB       2 /* IPCX_PUB: its hello carries the broadcast region */

enum {
    IPCX__SHM_OK = 0,
    IPCX__SHM_REFUSED_TYPE = 1,
    IPCX__SHM_REFUSED_BUSY = 2,
    IPCX__SHM_REFUSED_ERROR = 3
};

typedef struct ipcx__shm_hello {
    uint8_t version;
    uint8_t socket_type;
    uint8_t status;
    uint8_t ident_len;
    uint8_t ident[255];
} ipcx__shm_hello;

/* Encode @h into @buf (IPCX__SHM_HELLO_MAX bytes).  Returns the length. */
size_t ipcx__shm_hello_encode(const ipcx__shm_hello *h, uint8_t *buf);

/* Decode @len bytes.  Returns 0, or -EPROTO (bad magic or version, a
 * length that does not match). */
int ipcx__shm_hello_decode(const uint8_t *buf, size_t len, ipcx__shm_hello *h);

/* Send a hello with @nfds fds.  Returns 0 or -errno. */
int ipcx__shm_send_hello(int fd, const ipcx__shm_hello *h, const int *fds, size_t nfds);

/* Receive one hello (non-blocking) into @fds (IPCX__SHM_FDS_MAX).
 * Exactly @want fds must come with an accepting hello (one more from a
 * PUB), none with a refusal: any other number, or a hello that does not
 * decode, is -EPROTO and every fd that came is closed.  *@nfds: how many
 * came.  Returns 0, -EAGAIN (nothing yet), -EPIPE (the peer closed),
 * -EPROTO or -errno. */
int ipcx__shm_recv_hello(int fd, ipcx__shm_hello *h, int *fds, size_t want, size_t *nfds);

#endif /* IPCX_SRC_TRANSPORT_H */
