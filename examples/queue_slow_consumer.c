// SPDX-License-Identifier: MIT
/*
 * queue_slow_consumer: a producer that never waits, a consumer that takes
 * its time, and the memory coming back.
 *
 *   queue_slow_consumer produce NAME [N [SIZE]]  queue N messages of SIZE
 *                                  bytes (default 20000 of 1000) at full
 *                                  speed, then an end-of-stream marker
 *   queue_slow_consumer consume NAME [DELAY_US]  read them, sleeping DELAY_US
 *                                  (default 100) after each, then remove
 *                                  the queue
 *
 * A ring would make the producer wait for the consumer (or drop).  A queue
 * grows instead: when its newest segment is full it links a new, larger
 * one, up to the memory limit (then -ENOSPC, nothing lost).  As the
 * consumer passes a segment the queue gives it back, so the memory held
 * falls while the consumer drains; both sides print it.  The producer may
 * finish and exit long before the consumer starts: the messages wait in
 * shared memory.  The consumer removes the queue (the last user unlinks).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ipcx/ipcx.h>

#define SECOND ((int64_t)1000000000)

static void show(const char *who, ipcx_queue *q, uint64_t count)
{
    ipcx_queue_info s;
    if (ipcx_queue_stats(q, &s) == 0)
        printf("%s %" PRIu64 ": the queue holds %" PRIu64 " KiB in %u segment%s\n", who, count,
               s.bytes_used / 1024, s.segments, s.segments == 1 ? "" : "s");
}

static int produce(const char *name, uint64_t n, size_t size)
{
    ipcx_queue_opts o = {.initial_segment = 64 << 10,
                         .max_segment = 4 << 20,
                         .memory_limit = 512 << 20,
                         .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *q = NULL;
    int rc = ipcx_queue_create(name, &o, &q);
    if (rc < 0) {
        fprintf(stderr, "queue_slow_consumer: create %s: %s\n", name, ipcx_strerror(rc));
        return 1;
    }
    char *msg = calloc(1, size + 32);
    for (uint64_t i = 1; i <= n && rc == 0 && msg != NULL; i++) {
        int len = snprintf(msg, size + 32, "message %" PRIu64, i);
        rc = ipcx_queue_send(q, msg, size > (size_t)len ? size : (size_t)len, NULL, SECOND);
    }
    if (rc == 0)
        rc = ipcx_queue_send(q, "", 0, NULL, SECOND); /* end of stream */
    if (rc < 0)
        fprintf(stderr, "queue_slow_consumer: send: %s\n", ipcx_strerror(rc));
    else
        show("sent", q, n);
    free(msg);
    ipcx_queue_close(q); /* the messages stay queued */
    return rc < 0 ? 1 : 0;
}

static int consume(const char *name, long delay_us)
{
    ipcx_queue_opts o = {.role = IPCX_QUEUE_CONSUMER};
    ipcx_queue *q = NULL;
    int rc;
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; (rc = ipcx_queue_open(name, &o, &q)) == -ENOENT && i < 3000; i++)
        nanosleep(&tick, NULL); /* the producer has not created it yet */
    if (rc < 0) {
        fprintf(stderr, "queue_slow_consumer: open %s: %s\n", name, ipcx_strerror(rc));
        return 1;
    }
    static char buf[1 << 20];
    const struct timespec nap = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    uint64_t got = 0;
    ipcx_queue_info first;
    ipcx_queue_stats(q, &first);
    show("received", q, got);
    for (;;) {
        int n = ipcx_queue_recv(q, buf, sizeof(buf), NULL, 10 * SECOND);
        if (n == 0)
            break; /* end of stream */
        if (n < 0) {
            fprintf(stderr, "queue_slow_consumer: recv: %s\n", ipcx_strerror(n));
            rc = n;
            break;
        }
        if (++got % 5000 == 0)
            show("received", q, got);
        if (delay_us > 0)
            nanosleep(&nap, NULL);
    }
    ipcx_queue_info last;
    ipcx_queue_stats(q, &last);
    show("received", q, got);
    if (rc == 0)
        printf("memory %s: %" PRIu64 " KiB -> %" PRIu64 " KiB\n",
               last.bytes_used < first.bytes_used ? "came back" : "did NOT come back",
               first.bytes_used / 1024, last.bytes_used / 1024);
    ipcx_queue_close(q);
    ipcx_queue_unlink(name); /* the last user removes it */
    return rc < 0 || last.bytes_used >= first.bytes_used ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 20000,
                       argc > 4 ? strtoul(argv[4], NULL, 10) : 1000);
    if (argc >= 3 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2], argc > 3 ? atol(argv[3]) : 100);
    fprintf(stderr,
            "usage: queue_slow_consumer produce NAME [N [SIZE]] | consume NAME [DELAY_US]\n");
    return 2;
}
