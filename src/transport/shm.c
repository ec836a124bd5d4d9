// SPDX-License-Identifier: MIT
/*
 * The control socket of shm://: the hello each side sends once (encoding,
 * strict decoding, sending and receiving it with the connection's fds).
 * What the fds hold - the rings, the wake-up words - is the socket layer's
 * (src/socket/pipe_shm.c).  Everything received is untrusted: a hello is
 * checked byte by byte, and every fd that comes with a bad one is closed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"
#include "transport/transport.h"

static const uint8_t magic[4] = {'I', 'P', 'X', 'S'};

size_t ipcx__shm_hello_encode(const ipcx__shm_hello *h, uint8_t *buf)
{
    memcpy(buf, magic, 4);
    buf[4] = h->version;
    buf[5] = h->socket_type;
    buf[6] = h->status;
    buf[7] = h->ident_len;
    memcpy(buf + 8, h->ident, h->ident_len);
    return 8u + h->ident_len;
}

int ipcx__shm_hello_decode(const uint8_t *buf, size_t len, ipcx__shm_hello *h)
{
    if (len < 8 || memcmp(buf, magic, 4) != 0 || buf[4] != IPCX__SHM_VERSION)
        return -EPROTO;
    if (len != 8u + buf[7])
        return -EPROTO;
    memset(h, 0, sizeof(*h));
    h->version = buf[4];
    h->socket_type = buf[5];
    h->status = buf[6];
    h->ident_len = buf[7];
    memcpy(h->ident, buf + 8, h->ident_len);
    return 0;
}

int ipcx__shm_send_hello(int fd, const ipcx__shm_hello *h, const int *fds, size_t nfds)
{
    uint8_t buf[IPCX__SHM_HELLO_MAX];
    size_t n = ipcx__shm_hello_encode(h, buf);
    return ipcx__sys_send_fds(fd, buf, n, fds, nfds);
}

int ipcx__shm_recv_hello(int fd, ipcx__shm_hello *h, int *fds, size_t want, size_t *nfds)
{
    uint8_t buf[IPCX__SHM_HELLO_MAX + 1];
    int got[IPCX__SHM_FDS_MAX];
    size_t ngot = 0;
    *nfds = 0;
    /* One more byte than a hello can have: a longer message is caught. */
    int n = ipcx__sys_recv_fds(fd, buf, sizeof(buf), got, IPCX__SHM_FDS_MAX, &ngot);
    if (n < 0)
        return n == -EWOULDBLOCK ? -EAGAIN : n; /* extra fds were closed there */
    int rc = 0;
    if (n == 0 && ngot == 0) {
        rc = -EPIPE;
    } else if (ipcx__shm_hello_decode(buf, (size_t)n, h) != 0) {
        rc = -EPROTO;
    } else {
        size_t expect = h->status != IPCX__SHM_OK         ? 0
                        : h->socket_type == IPCX__SHM_PUB ? want + 1
                                                          : want;
        if (ngot != expect)
            rc = -EPROTO;
    }
    if (rc != 0) {
        for (size_t i = 0; i < ngot; i++)
            close(got[i]);
        return rc;
    }
    memcpy(fds, got, ngot * sizeof(int));
    *nfds = ngot;
    return 0;
}
