// SPDX-License-Identifier: MIT
/*
 * ring_pingpong: two processes talk over two rings, one each way.
 *
 *   ring_pingpong ping NAME [N]   create NAME.req and NAME.rep, send N pings
 *                                 (default 5), print each answer, end the
 *                                 stream, remove both rings
 *   ring_pingpong pong NAME       wait for the rings to appear, answer every
 *                                 ping until the end of the stream
 *
 * Start them in either order, in two terminals.  What it shows:
 *  - who creates and who unlinks: the ping side creates both rings and
 *    removes them when it is done (handles that are open keep working
 *    after an unlink; only the name goes);
 *  - waiting for a ring that does not exist yet: ipcx_ring_open() returns
 *    -ENOENT (no such name) or -EAGAIN (its creator has not finished), so
 *    the pong side retries for a while;
 *  - timeouts: every send and recv takes one (nanoseconds); -ETIMEDOUT says
 *    the other side did not answer in time, and nothing was lost;
 *  - end of stream: rings carry records, not connections, so the ping side
 *    sends an agreed marker, here an empty record;
 *  - crashes: if the ping side is killed, the rings stay (`ipcx ls` shows
 *    them stale); the next ping replaces them (IPCX_CREATE_REPLACE_STALE),
 *    or `ipcx rm --stale` clears them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ipcx/ipcx.h>

#define SECOND ((int64_t)1000000000)

static void names(const char *base, char *req, char *rep, size_t cap)
{
    snprintf(req, cap, "%s.req", base);
    snprintf(rep, cap, "%s.rep", base);
}

/* Open a ring that another process may not have created yet. */
static int open_when_there(const char *name, int seconds, ipcx_ring **out)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < seconds * 100; i++) {
        int rc = ipcx_ring_open(name, out);
        if (rc != -ENOENT && rc != -EAGAIN)
            return rc;
        nanosleep(&tick, NULL);
    }
    return -ETIMEDOUT;
}

static int ping(const char *base, int n)
{
    char req_name[256], rep_name[256], buf[256];
    names(base, req_name, rep_name, sizeof(req_name));
    /* REPLACE_STALE: rings left by a ping side that was killed (creator
     * and every peer dead) are replaced instead of failing with -EEXIST. */
    ipcx_ring_opts o = {.capacity = 4096, .max_msg = 256, .create = IPCX_CREATE_REPLACE_STALE};
    ipcx_ring *req = NULL, *rep = NULL;
    /* The answer ring first: once NAME.req exists, both do. */
    int rc = ipcx_ring_create(rep_name, &o, &rep);
    if (rc == 0)
        rc = ipcx_ring_create(req_name, &o, &req);
    if (rc < 0) {
        fprintf(stderr, "ring_pingpong: create %s: %s%s\n", base, ipcx_strerror(rc),
                rc == -EEXIST ? " (another ping is running)" : "");
        if (rep != NULL) /* ours: take it away again */
            ipcx_ring_unlink(rep_name);
        ipcx_ring_close(rep);
        return 1;
    }
    for (int i = 1; i <= n && rc >= 0; i++) {
        int len = snprintf(buf, sizeof(buf), "ping %d", i);
        rc = ipcx_ring_send(req, buf, (size_t)len, SECOND);
        if (rc == 0) /* the first answer may wait for pong to start */
            rc = ipcx_ring_recv(rep, buf, sizeof(buf), (i == 1 ? 30 : 5) * SECOND);
        if (rc >= 0)
            printf("%.*s\n", rc, buf);
    }
    if (rc >= 0)
        rc = ipcx_ring_send(req, "", 0, SECOND); /* end of stream */
    if (rc < 0)
        fprintf(stderr, "ring_pingpong: ping: %s%s\n", ipcx_strerror(rc),
                rc == -ETIMEDOUT ? " (is 'ring_pingpong pong' running?)" : "");
    /* The creator removes the names; pong's open handles keep working. */
    ipcx_ring_unlink(req_name);
    ipcx_ring_unlink(rep_name);
    ipcx_ring_close(req);
    ipcx_ring_close(rep);
    return rc < 0 ? 1 : 0;
}

static int pong(const char *base)
{
    char req_name[256], rep_name[256], buf[256];
    names(base, req_name, rep_name, sizeof(req_name));
    ipcx_ring *req = NULL, *rep = NULL;
    int rc = open_when_there(req_name, 30, &req);
    if (rc == 0)
        rc = ipcx_ring_open(rep_name, &rep);
    if (rc < 0) {
        fprintf(stderr, "ring_pingpong: open %s: %s\n", base, ipcx_strerror(rc));
        ipcx_ring_close(req);
        return 1;
    }
    for (;;) {
        int n = ipcx_ring_recv(req, buf, sizeof(buf), 10 * SECOND);
        if (n == 0)
            break; /* end of stream */
        if (n < 0) {
            fprintf(stderr, "ring_pingpong: pong: %s\n", ipcx_strerror(n));
            rc = n;
            break;
        }
        printf("%.*s\n", n, buf);
        buf[1] = 'o'; /* "ping 3" -> "pong 3" */
        rc = ipcx_ring_send(rep, buf, (size_t)n, 5 * SECOND);
        if (rc < 0) {
            fprintf(stderr, "ring_pingpong: pong: answer: %s\n", ipcx_strerror(rc));
            break;
        }
    }
    ipcx_ring_close(req);
    ipcx_ring_close(rep);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "ping") == 0)
        return ping(argv[2], argc > 3 ? atoi(argv[3]) : 5);
    if (argc == 3 && strcmp(argv[1], "pong") == 0)
        return pong(argv[2]);
    fprintf(stderr, "usage: ring_pingpong ping NAME [N] | pong NAME\n");
    return 2;
}
