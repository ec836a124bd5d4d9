// SPDX-License-Identifier: MIT
/*
 * reqrep: request and reply.  A REQ sends a request and waits for its
 * reply; a REP receives a request and answers it, one at a time.
 *
 *   reqrep rep URL [COUNT]           listen on URL, answer each request
 *                                    with the same text in capitals
 *                                    (stop after COUNT requests)
 *   reqrep req URL TEXT...           dial URL, send each TEXT as a
 *                                    request, print each reply
 *
 * URL is any transport (tcp://, unix:// or ipc://, unix://@name).  The
 * calls alternate strictly: a REQ that sends twice without receiving, or
 * a REP that receives twice without answering, gets -EBADFD.  Several REQs
 * may talk to one REP: each reply goes back to whoever asked.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

static int usage(void)
{
    fprintf(stderr, "usage: reqrep rep URL [COUNT] | reqrep req URL TEXT...\n");
    return 2;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "reqrep: %s: %s\n", what, ipcx_strerror(rc));
    return 1;
}

static int serve(ipcx_socket *s, const char *url, long count)
{
    int rc = ipcx_listen(s, url);
    if (rc < 0)
        return fail(url, rc);
    char buf[4096];
    for (long n = 0; count == 0 || n < count; n++) {
        rc = ipcx_recv(s, buf, sizeof(buf), 0);
        if (rc < 0)
            return fail("recv", rc);
        for (int i = 0; i < rc; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        /* The reply goes to the peer the request came from. */
        rc = ipcx_send(s, buf, (size_t)rc, 0);
        if (rc < 0)
            return fail("send", rc);
    }
    return 0;
}

static int ask(ipcx_socket *s, const char *url, char **texts, int n)
{
    int rc = ipcx_dial(s, url);
    if (rc < 0)
        return fail(url, rc);
    /* Give up on a reply after 5 s rather than waiting forever. */
    ipcx_socket_set(s, IPCX_OPT_RECV_TIMEOUT, 5000000000LL);
    for (int i = 0; i < n; i++) {
        rc = ipcx_send(s, texts[i], strlen(texts[i]), 0); /* waits for a REP to connect */
        if (rc < 0)
            return fail("send", rc);
        char reply[4096];
        rc = ipcx_recv(s, reply, sizeof(reply), 0);
        if (rc < 0)
            return fail("recv", rc);
        printf("%.*s\n", rc, reply);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    bool is_rep = strcmp(argv[1], "rep") == 0;
    if ((is_rep && argc > 4) || (!is_rep && (strcmp(argv[1], "req") != 0 || argc < 4)))
        return usage();

    ipcx_socket *s;
    int rc = ipcx_socket_open(is_rep ? IPCX_REP : IPCX_REQ, &s);
    if (rc < 0)
        return fail("socket", rc);
    int status = is_rep ? serve(s, argv[2], argc > 3 ? strtol(argv[3], NULL, 10) : 0)
                        : ask(s, argv[2], argv + 3, argc - 3);
    ipcx_socket_close(s);
    return status;
}
