// SPDX-License-Identifier: MIT
/*
 * broadcast: one publisher, any number of subscribers, each seeing every
 * record - including subscribers that join late.
 *
 *   broadcast pub NAME [N [LINGER_MS]]  create a broadcast ring, publish
 *                                       "tick 1".."tick N" (default 10), end
 *                                       the stream, keep the ring LINGER_MS
 *                                       (default 5000) for late subscribers,
 *                                       then remove it
 *   broadcast sub NAME [newest]         print every record from the oldest
 *                                       one still in the ring (or, with
 *                                       "newest", only those published after
 *                                       joining) to the end of the stream
 *
 * A broadcast ring keeps the last `capacity` bytes of records whether or
 * not anyone reads them: without subscribers the publisher never waits, it
 * moves the oldest-kept mark forward.  A subscriber that joins with
 * IPCX_RING_FROM_OLDEST starts at that mark, so one that arrives after the
 * publisher finished still sees everything that is kept (here all of it:
 * ten ticks fit the ring many times).  Once subscribers are attached, the
 * publisher waits for the slowest (IPCX_RING_BLOCK) instead of overwriting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ipcx/ipcx.h>

#define SECOND ((int64_t)1000000000)

static void sleep_ms(long ms)
{
    const struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int pub(const char *name, int n, long linger_ms)
{
    ipcx_ring_opts o = {.capacity = 64 << 10, .delivery = IPCX_RING_BROADCAST, .max_consumers = 8};
    ipcx_ring *r = NULL;
    int rc = ipcx_ring_create(name, &o, &r);
    if (rc < 0) {
        fprintf(stderr, "broadcast: create %s: %s\n", name, ipcx_strerror(rc));
        return 1;
    }
    char buf[64];
    for (int i = 1; i <= n && rc == 0; i++) {
        int len = snprintf(buf, sizeof(buf), "tick %d", i);
        rc = ipcx_ring_send(r, buf, (size_t)len, 5 * SECOND);
    }
    if (rc == 0)
        rc = ipcx_ring_send(r, "", 0, 5 * SECOND); /* end of stream */
    if (rc < 0) {
        fprintf(stderr, "broadcast: publish: %s\n", ipcx_strerror(rc));
    } else {
        printf("published %d\n", n);
        fflush(stdout);
        sleep_ms(linger_ms); /* late subscribers may still open it */
    }
    ipcx_ring_unlink(name); /* the creator removes it */
    ipcx_ring_close(r);
    return rc < 0 ? 1 : 0;
}

static int sub(const char *name, int newest)
{
    ipcx_ring *r = NULL;
    int rc;
    for (int i = 0; (rc = ipcx_ring_open(name, &r)) == -ENOENT || rc == -EAGAIN; i++) {
        if (i == 3000)
            break; /* 30 s: not created yet */
        sleep_ms(10);
    }
    if (rc == 0) /* take the consumer role now, at the oldest record kept */
        rc = ipcx_ring_join(r, IPCX_RING_CONSUMER | (newest ? 0 : IPCX_RING_FROM_OLDEST));
    if (rc < 0) {
        fprintf(stderr, "broadcast: subscribe %s: %s\n", name, ipcx_strerror(rc));
        ipcx_ring_close(r);
        return 1;
    }
    char buf[256];
    for (;;) {
        int len = ipcx_ring_recv(r, buf, sizeof(buf), 30 * SECOND);
        if (len == 0)
            break; /* end of stream */
        if (len < 0) {
            fprintf(stderr, "broadcast: recv: %s\n", ipcx_strerror(len));
            rc = len;
            break;
        }
        printf("%.*s\n", len, buf);
    }
    ipcx_ring_close(r);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "pub") == 0)
        return pub(argv[2], argc > 3 ? atoi(argv[3]) : 10, argc > 4 ? atol(argv[4]) : 5000);
    if (argc >= 3 && strcmp(argv[1], "sub") == 0)
        return sub(argv[2], argc > 3 && strcmp(argv[3], "newest") == 0);
    fprintf(stderr, "usage: broadcast pub NAME [N [LINGER_MS]] | sub NAME [newest]\n");
    return 2;
}
