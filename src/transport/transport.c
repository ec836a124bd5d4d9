// SPDX-License-Identifier: MIT
/*
 * tcp://, unix:// (alias ipc://) and the control socket of shm://: URL
 * parsing, listen, dial, accept.
 *
 * Everything is non-blocking and close-on-exec.  A unix:// listener's file
 * is created 0600: the mode is set between bind(2) and listen(2), so no
 * peer can connect while the file is still open to others (a connect
 * before listen(2) is refused).  A file already at the path is replaced
 * only when it is a socket nobody listens on (connect gives ECONNREFUSED):
 * a live listener is never displaced, and a file that is not a socket is
 * never removed.  Closing removes the file only if it is still the one this
 * listener bound (same device and inode), so a listener that took over the
 * path meanwhile keeps it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "transport/transport.h"

static int parse_unix(const char *rest, ipcx__addr *a)
{
    size_t n = strlen(rest);
    if (n == 0)
        return -EINVAL;
    struct sockaddr_un *un = (struct sockaddr_un *)&a->sa;
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    if (rest[0] == '@') {
        if (n - 1 == 0)
            return -EINVAL;
        if (n - 1 > sizeof(un->sun_path) - 1)
            return -ENAMETOOLONG;
        a->abstract = true;
        memcpy(a->path, rest + 1, n - 1);
        a->path[n - 1] = '\0';
        memcpy(un->sun_path + 1, rest + 1, n - 1);
        a->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        return 0;
    }
    if (n > sizeof(un->sun_path) - 1)
        return -ENAMETOOLONG;
    memcpy(a->path, rest, n + 1);
    memcpy(un->sun_path, rest, n + 1);
    a->salen = (socklen_t)sizeof(*un);
    return 0;
}

static int parse_tcp(const char *rest, bool listening, ipcx__addr *a)
{
    char host[256];
    const char *port;
    if (rest[0] == '[') {
        const char *end = strchr(rest, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - rest - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, rest + 1, (size_t)(end - rest - 1));
        host[end - rest - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(rest, ':');
        if (colon == NULL || (size_t)(colon - rest) >= sizeof(host))
            return -EINVAL;
        memcpy(host, rest, (size_t)(colon - rest));
        host[colon - rest] = '\0';
        port = colon + 1;
    }
    if (host[0] == '\0' || port[0] == '\0' || strlen(port) > 5)
        return -EINVAL;
    char *endp;
    long pnum = strtol(port, &endp, 10);
    if (*endp != '\0' || pnum < 0 || pnum > 65535 || (pnum == 0 && !listening))
        return -EINVAL;
    if (strcmp(host, "*") == 0) {
        if (!listening)
            return -EINVAL;
        struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;
        memset(in, 0, sizeof(*in));
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        in->sin_port = htons((uint16_t)pnum);
        a->salen = sizeof(*in);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    if (listening)
        hints.ai_flags |= AI_PASSIVE;
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL)
        return rc == EAI_MEMORY ? -ENOMEM : -ENOENT;
    memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
    a->salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int ipcx__addr_parse(const char *url, bool listening, ipcx__addr *out)
{
    if (url == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (strlen(url) >= sizeof(out->url))
        return -ENAMETOOLONG;
    const char *sep = strstr(url, "://");
    if (sep == NULL)
        return -EINVAL;
    size_t slen = (size_t)(sep - url);
    const char *rest = sep + 3;
    int rc;
    if (slen == 3 && strncmp(url, "tcp", 3) == 0) {
        out->kind = IPCX__TP_TCP;
        rc = parse_tcp(rest, listening, out);
    } else if ((slen == 4 && strncmp(url, "unix", 4) == 0) ||
               (slen == 3 && strncmp(url, "ipc", 3) == 0)) {
        out->kind = IPCX__TP_UNIX;
        rc = parse_unix(rest, out);
    } else if (slen == 3 && strncmp(url, "shm", 3) == 0) {
        /* shm:///path: a unix control socket at /path (src/transport/shm.c) */
        out->kind = IPCX__TP_SHM;
        rc = parse_unix(rest, out);
    } else {
        return -EPROTONOSUPPORT;
    }
    if (rc == 0)
        snprintf(out->url, sizeof(out->url), "%s", url);
    return rc;
}

static int new_socket(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd >= 0 ? fd : -errno;
}

/* A socket file at the path: is anybody listening on it? */
static int unix_path_live(const ipcx__addr *a)
{
    int fd = new_socket(AF_UNIX);
    if (fd < 0)
        return fd;
    /* Blocking connect is fine: on a local socket it answers at once. */
    int fl = fcntl(fd, F_GETFL);
    (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int rc = connect(fd, (const struct sockaddr *)&a->sa, a->salen);
    int err = errno;
    close(fd);
    if (rc == 0 || err == EAGAIN)
        return 1; /* accepted, or a full backlog: alive */
    return err == ECONNREFUSED ? 0 : -err;
}

static int unix_listen(ipcx__addr *a, int fd)
{
    const struct sockaddr *sa = (const struct sockaddr *)&a->sa;
    if (bind(fd, sa, a->salen) != 0) {
        int err = errno;
        if (err != EADDRINUSE || a->abstract)
            return -err;
        struct stat st;
        if (lstat(a->path, &st) != 0)
            return -EADDRINUSE;
        if (!S_ISSOCK(st.st_mode))
            return -EEXIST;
        int live = unix_path_live(a);
        if (live != 0)
            return live > 0 ? -EADDRINUSE : live;
        /* Stale: its listener is gone.  Another process may replace it at
         * the same moment; unlink + bind then fails for one of us with
         * EADDRINUSE, never displaces a live listener that bound after our
         * check (its file is the one we would unlink only if it had no
         * listener yet: bind and listen are separate steps, see below). */
        if (unlink(a->path) != 0 && errno != ENOENT)
            return -errno;
        if (bind(fd, sa, a->salen) != 0)
            return -errno;
    }
    if (!a->abstract) {
        if (chmod(a->path, 0600) != 0) {
            int err = -errno;
            unlink(a->path);
            return err;
        }
        struct stat st;
        if (stat(a->path, &st) == 0) {
            a->dev = st.st_dev;
            a->ino = st.st_ino;
        }
    }
    return 0;
}

/* SO_RCVBUF must be set before the connection exists: TCP chooses its
 * window scale in the handshake, and a buffer shrunk later makes the kernel
 * drop segments it already allowed.  Accepted sockets inherit it from the
 * listener. */
static void set_rcvbuf(int fd, int rcvbuf)
{
    if (rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
}

int ipcx__tp_listen(ipcx__addr *a, int rcvbuf)
{
    int family = a->kind != IPCX__TP_TCP ? AF_UNIX : a->sa.ss_family;
    int fd = new_socket(family);
    if (fd < 0)
        return fd;
    set_rcvbuf(fd, rcvbuf);
    int rc = 0;
    if (a->kind != IPCX__TP_TCP) {
        rc = unix_listen(a, fd);
    } else {
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *)&a->sa, a->salen) != 0)
            rc = -errno;
    }
    if (rc == 0 && listen(fd, 1024) != 0) {
        rc = -errno;
        if (a->kind != IPCX__TP_TCP && !a->abstract)
            unlink(a->path);
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

void ipcx__tp_unlisten(ipcx__addr *a, int fd)
{
    if (a->kind != IPCX__TP_TCP && !a->abstract && a->ino != 0) {
        struct stat st;
        if (stat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
            unlink(a->path);
    }
    if (fd >= 0)
        close(fd);
}

int ipcx__tp_dial(const ipcx__addr *a, bool *done, int rcvbuf)
{
    int family = a->kind != IPCX__TP_TCP ? AF_UNIX : a->sa.ss_family;
    int fd = new_socket(family);
    if (fd < 0)
        return fd;
    set_rcvbuf(fd, rcvbuf);
    int rc;
    do
        rc = connect(fd, (const struct sockaddr *)&a->sa, a->salen);
    while (rc != 0 && errno == EINTR);
    if (rc == 0) {
        *done = true;
        return fd;
    }
    /* A unix socket whose backlog is full answers EAGAIN: try again later
     * like any other failed attempt. */
    if (errno == EINPROGRESS) {
        *done = false;
        return fd;
    }
    rc = -errno;
    close(fd);
    return rc;
}

int ipcx__tp_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -errno;
    return -err;
}

void ipcx__tp_tune(int fd, int kind)
{
    if (kind == IPCX__TP_TCP) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
}

void ipcx__tp_sockaddr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, cap, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, cap, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, cap, "%s", "");
    }
}

int ipcx__tp_accept(int lfd, int kind, char *peer, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;
    do
        fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (kind == IPCX__TP_TCP)
        ipcx__tp_sockaddr_str((struct sockaddr *)&ss, len, peer, cap);
    else if (cap > 0)
        peer[0] = '\0';
    return fd;
}

int ipcx__tp_peercred(int fd, int64_t *pid, int64_t *uid)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return -errno;
    *pid = cr.pid;
    *uid = cr.uid;
    return 0;
}

int ipcx__tp_endpoint(const ipcx__addr *a, int fd, char *buf, size_t cap)
{
    int n;
    if (a->kind == IPCX__TP_TCP) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
            return -errno;
        char hp[INET6_ADDRSTRLEN + 16];
        ipcx__tp_sockaddr_str((struct sockaddr *)&ss, len, hp, sizeof(hp));
        n = snprintf(buf, cap, "tcp://%s", hp);
    } else {
        n = snprintf(buf, cap, "%s", a->url);
    }
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}
