// SPDX-License-Identifier: MIT
/*
 * pushpull: a pipeline.  PUSH hands messages out round-robin to the PULL
 * sockets connected to it; a PULL takes them from every PUSH, fairly.
 *
 *   pushpull pull URL [COUNT]        listen on URL, print each message
 *                                    (stop after COUNT of them)
 *   pushpull push URL [COUNT]        dial URL, send COUNT messages (3)
 *
 * URL is any transport: tcp://127.0.0.1:5555, unix:///tmp/work.sock (or
 * ipc:///tmp/work.sock, as libzmq spells it), unix://@name (abstract).
 * Start them in either order: a dialling socket keeps trying until the
 * listener is there, and a PUSH waits for a peer before it sends.  The
 * other side may be any ZeroMQ program (see peer.py).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

static int usage(void)
{
    fprintf(stderr, "usage: pushpull push|pull URL [COUNT]\n");
    return 2;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pushpull: %s: %s\n", what, ipcx_strerror(rc));
    return 1;
}

static int pull(ipcx_socket *s, const char *url, long count)
{
    int rc = ipcx_listen(s, url);
    if (rc < 0)
        return fail(url, rc);
    char msg[4096];
    for (long n = 0; count == 0 || n < count; n++) {
        /* Blocks until a message comes (IPCX_OPT_RECV_TIMEOUT: forever). */
        rc = ipcx_recv(s, msg, sizeof(msg), 0);
        if (rc < 0)
            return fail("recv", rc);
        printf("%.*s\n", rc, msg);
        fflush(stdout);
    }
    return 0;
}

static int push(ipcx_socket *s, const char *url, long count)
{
    int rc = ipcx_dial(s, url); /* returns at once; connects in the background of our calls */
    if (rc < 0)
        return fail(url, rc);
    for (long n = 1; n <= count; n++) {
        char msg[64];
        int len = snprintf(msg, sizeof(msg), "work item %ld", n);
        /* The first send waits until a PULL is connected. */
        rc = ipcx_send(s, msg, (size_t)len, 0);
        if (rc < 0)
            return fail("send", rc);
    }
    return 0; /* ipcx_socket_close() below delivers what is still queued */
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4)
        return usage();
    bool is_push = strcmp(argv[1], "push") == 0;
    if (!is_push && strcmp(argv[1], "pull") != 0)
        return usage();
    long count = argc == 4 ? strtol(argv[3], NULL, 10) : (is_push ? 3 : 0);

    ipcx_socket *s;
    int rc = ipcx_socket_open(is_push ? IPCX_PUSH : IPCX_PULL, &s);
    if (rc < 0)
        return fail("socket", rc);
    int status = is_push ? push(s, argv[2], count) : pull(s, argv[2], count);
    /* Waits up to IPCX_OPT_LINGER (1 s) for queued messages to go out. */
    ipcx_socket_close(s);
    return status;
}
