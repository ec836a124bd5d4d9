// SPDX-License-Identifier: MIT
/*
 * Passing regions between processes as file descriptors (SCM_RIGHTS).
 *
 * The message is 4 payload bytes, "IPXR", with exactly one fd.  The
 * receiver trusts nothing it gets: the fd must be a memfd sealed against
 * shrinking and growing (so the sender cannot truncate it under our mapping
 * and turn our reads into SIGBUS), or a regular file that passes the same
 * owner and mode checks as ipcx_region_open(); its header is validated like
 * open's; every fd that arrives is closed on every failure path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "region/region.h"

static const char wire_tag[4] = {'I', 'P', 'X', 'R'};

IPCX_API int ipcx_region_send(int sock, const ipcx_region *r)
{
    if (r == NULL)
        return -EINVAL;
    int fd = ipcx_region_fd(r);
    return ipcx__sys_send_fds(sock, wire_tag, sizeof(wire_tag), &fd, 1);
}

/* 1 if @fd is a memfd, 0 if not, -errno if it cannot be told. */
static int is_memfd(int fd)
{
    char link[64], target[256];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    return strncmp(target, "/memfd:", 7) == 0;
}

/* The checks a received fd must pass before it is mapped: sealed against
 * shrink and grow (any file that is, is safe to map: its size is fixed), or
 * else not a memfd and acceptable as a named region file. */
static int check_received(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return -errno;
    if (!S_ISREG(st->st_mode))
        return -EPROTO;
    const int need = F_SEAL_SHRINK | F_SEAL_GROW;
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals >= 0 && (seals & need) == need)
        return 0;
    int memfd = is_memfd(fd);
    if (memfd < 0)
        return memfd;
    if (memfd) {
        IPCX_LOGE("received region fd lacks the shrink/grow seals (seals 0x%x)", seals);
        return -EPROTO;
    }
    int rc = ipcx__region_stat_check(st);
    return rc == -EAGAIN ? -EPROTO : rc;
}

IPCX_API int ipcx_region_recv(int sock, ipcx_region **out)
{
    if (out == NULL)
        return -EINVAL;
    char tag[sizeof(wire_tag)];
    int fd = -1;
    size_t nfds = 0;
    int n = ipcx__sys_recv_fds(sock, tag, sizeof(tag), &fd, 1, &nfds);
    if (n < 0)
        return n; /* extra fds or a truncated control message: all closed */
    if (n == 0 && nfds == 0)
        return -EPIPE;
    if (nfds != 1 || n != (int)sizeof(tag) || memcmp(tag, wire_tag, sizeof(tag)) != 0) {
        if (nfds == 1)
            close(fd);
        return -EPROTO;
    }
    return ipcx__region_from_fd(fd, out);
}

int ipcx__region_from_fd(int fd, ipcx_region **out)
{
    struct stat st;
    int rc = check_received(fd, &st);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    /* A sender publishes before it sends: version 0 here is a bad message,
     * not "try again" (which would read like an empty O_NONBLOCK socket). */
    rc = ipcx__region_adopt(fd, NULL, &st, out);
    return rc == -EAGAIN ? -EPROTO : rc;
}
