// SPDX-License-Identifier: MIT
/*
 * durable_resume: a consumer killed mid-stream resumes where it stopped.
 *
 *   durable_resume produce DIR [N]          create a durable queue in DIR
 *                                           (a directory: the name has a
 *                                           '/') and append N records
 *                                           (default 10), then an end mark
 *   durable_resume consume DIR ID [KILL_AT] read as consumer ID, printing
 *                                           each record; with KILL_AT, the
 *                                           process SIGKILLs itself after
 *                                           that many (as kill -9 would)
 *
 * A durable queue's segments are files, and each named consumer's position
 * (consumer_id 1..max_consumers) is stored in the control file when it
 * releases a message (ipcx_queue_recv() releases before it returns).  So a
 * consumer that dies - even by SIGKILL, even after every other process
 * exited - and is started again with the same ID goes on at the first
 * record it had not received.  Broadcast delivery gives each ID its own
 * position: at-least-once, and only a record being received at the moment
 * of death can come twice.  Remove the queue with `ipcx rm DIR`.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#define SECOND ((int64_t)1000000000)

static int produce(const char *dir, int n)
{
    ipcx_queue_opts o = {.delivery = IPCX_QUEUE_DELIVER_BROADCAST,
                         .fsync = IPCX_QUEUE_FSYNC_SEGMENT,
                         .role = IPCX_QUEUE_PRODUCER};
    ipcx_queue *q = NULL;
    int rc = ipcx_queue_create(dir, &o, &q);
    if (rc < 0) {
        fprintf(stderr, "durable_resume: create %s: %s\n", dir, ipcx_strerror(rc));
        return 1;
    }
    char buf[64];
    for (int i = 1; i <= n && rc == 0; i++) {
        int len = snprintf(buf, sizeof(buf), "record %d", i);
        rc = ipcx_queue_send(q, buf, (size_t)len, NULL, SECOND);
    }
    if (rc == 0)
        rc = ipcx_queue_send(q, "", 0, NULL, SECOND); /* end of stream */
    if (rc < 0)
        fprintf(stderr, "durable_resume: send: %s\n", ipcx_strerror(rc));
    ipcx_queue_close(q);
    return rc < 0 ? 1 : 0;
}

static int consume(const char *dir, uint32_t id, long kill_at)
{
    ipcx_queue_opts o = {.role = IPCX_QUEUE_CONSUMER, .consumer_id = id};
    ipcx_queue *q = NULL;
    int rc = ipcx_queue_open(dir, &o, &q);
    if (rc < 0) {
        fprintf(stderr, "durable_resume: open %s as consumer %u: %s\n", dir, id, ipcx_strerror(rc));
        return 1;
    }
    char buf[256];
    for (long got = 0;;) {
        uint64_t seq = 0;
        int len = ipcx_queue_recv(q, buf, sizeof(buf), &seq, 10 * SECOND);
        if (len == 0) {
            printf("end of stream\n");
            break;
        }
        if (len < 0) {
            fprintf(stderr, "durable_resume: recv: %s\n", ipcx_strerror(len));
            rc = len;
            break;
        }
        printf("%.*s (seq %" PRIu64 ")\n", len, buf, seq);
        fflush(stdout);
        if (++got == kill_at)
            raise(SIGKILL); /* no close, no cleanup: a crash */
    }
    ipcx_queue_close(q); /* consumer ID keeps its position for next time */
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argc > 3 ? atoi(argv[3]) : 10);
    if (argc >= 4 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
                       argc > 4 ? atol(argv[4]) : -1);
    fprintf(stderr, "usage: durable_resume produce DIR [N] | consume DIR ID [KILL_AT]\n");
    return 2;
}
