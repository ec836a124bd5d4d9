// SPDX-License-Identifier: MIT
/*
 * File-descriptor passing over Unix-domain sockets (SCM_RIGHTS).  The
 * receiver is strict: every fd that arrives is either returned to the
 * caller or closed, a truncated control message is a protocol error, and
 * received fds are close-on-exec from the moment they exist.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "platform/platform.h"

#define IPCX_MAX_PASS_FDS 16

int ipcx__sys_send_fds(int sock, const void *data, size_t len, const int *fds, size_t nfds)
{
    if (len == 0 || nfds > IPCX_MAX_PASS_FDS)
        return -EINVAL;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * IPCX_MAX_PASS_FDS)];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return (size_t)n == len ? 0 : -EPROTO;
        if (errno != EINTR)
            return -errno;
    }
}

int ipcx__sys_recv_fds(int sock, void *data, size_t len, int *fds, size_t max_fds, size_t *nfds)
{
    union {
        struct cmsghdr align;
        /* Room for more fds than the caller wants, so that a peer sending
         * extra fds is detected (and the extras closed) rather than silently
         * truncated. */
        char buf[CMSG_SPACE(sizeof(int) * (IPCX_MAX_PASS_FDS + 1))];
    } ctl;
    struct iovec iov = {.iov_base = data, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t n;
    *nfds = 0;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;

    int got[IPCX_MAX_PASS_FDS + 1];
    size_t ngot = 0;
    bool bad = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            bad = true;
            continue;
        }
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (ngot < (IPCX_MAX_PASS_FDS + 1))
                got[ngot++] = fd;
            else
                close(fd);
        }
    }
    if (bad || ngot > max_fds) {
        for (size_t i = 0; i < ngot; i++)
            close(got[i]);
        return -EPROTO;
    }
    memcpy(fds, got, ngot * sizeof(int));
    *nfds = ngot;
    return (int)n;
}
