// SPDX-License-Identifier: MIT
/*
 * Fuzz target for everything a queue reads from files or shared memory
 * another process can write: the control block, the segment headers, the
 * record headers and the chain links.
 *
 * Each input rebuilds the same durable queue (three segments of records,
 * one consumer position saved), then writes the input's bytes into one of
 * its files through write() (never changing a file's size, so no SIGBUS):
 *
 *   byte 0      target: even = a segment file (byte 0 / 2 % 3 picks which),
 *               odd = the control file
 *   bytes 1-2   offset (little endian) within that file
 *   bytes 3..   the bytes to write there (the control file's lock word,
 *               bytes 128..143, is left alone: a live "owner" there stalls
 *               the slow paths by design, docs/queue.md)
 *
 * Then a consumer drains, the queue is dumped, a producer sends and a
 * second consumer resumes: every call must end in a result (a message,
 * -EAGAIN, -EPROTO, ...), never a crash, a hang or an access outside a
 * mapping (ASan).
 *
 * Built as a libFuzzer target when IPCX_FUZZ is on; otherwise main()
 * replays the committed corpus (tests/fuzz/corpus/queue_fuzz) under ctest.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[256];

static int build(void)
{
    ipcx_queue_unlink(g_dir);
    ipcx_queue_opts o = {.initial_segment = 4096,
                         .max_segment = 4096,
                         .delivery = IPCX_QUEUE_DELIVER_BROADCAST,
                         .role = IPCX_QUEUE_PRODUCER | IPCX_QUEUE_CONSUMER,
                         .consumer_id = 1};
    ipcx_queue *q = NULL;
    if (ipcx_queue_create(g_dir, &o, &q) != 0)
        return -1;
    char msg[200];
    for (int i = 0; i < 40; i++) {
        memset(msg, 'a' + i % 26, sizeof msg);
        ipcx_queue_send(q, msg, (size_t)(i * 37 % 200), NULL, 0);
    }
    for (int i = 0; i < 5; i++)
        ipcx_queue_recv(q, msg, sizeof msg, NULL, 0);
    ipcx_queue_close(q);
    return 0;
}

static void scribble(const uint8_t *data, size_t size)
{
    char path[300];
    if (data[0] & 1)
        snprintf(path, sizeof path, "%s/queue.ctl", g_dir);
    else
        snprintf(path, sizeof path, "%s/seg.%08x", g_dir, (unsigned)(data[0] / 2 % 3));
    size_t off = (size_t)data[1] | (size_t)data[2] << 8;
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    for (size_t i = 3; i < size && (off_t)(off + i - 3) < end; i++) {
        size_t at = off + i - 3;
        if ((data[0] & 1) && at >= 128 && at < 144)
            continue;
        if (pwrite(fd, &data[i], 1, (off_t)at) != 1)
            break;
    }
    close(fd);
}

static void exercise(void)
{
    static char buf[70000];
    ipcx_queue *q = NULL;
    ipcx_queue_opts c = {.role = IPCX_QUEUE_CONSUMER, .consumer_id = 1};
    if (ipcx_queue_open(g_dir, &c, &q) == 0) {
        for (int i = 0; i < 200 && ipcx_queue_recv(q, buf, sizeof buf, NULL, 0) >= 0; i++)
            ;
        ipcx_queue_info info;
        ipcx_queue_stats(q, &info);
        ipcx_queue_close(q);
    }
    ipcx_queue_info info;
    ipcx_queue_stat(g_dir, &info);
    if (ipcx_queue_open(g_dir, NULL, &q) == 0) {
        for (int i = 0; i < 60; i++)
            if (ipcx_queue_send(q, buf, (size_t)i * 11, NULL, 0) != 0)
                break;
        ipcx_queue_close(q);
    }
    c.consumer_id = 0;
    if (ipcx_queue_open(g_dir, &c, &q) == 0) {
        const void *d;
        size_t len;
        for (int i = 0; i < 200 && ipcx_queue_peek(q, &d, &len, NULL, 0) >= 0; i++) {
            if (len > 0)
                memcpy(buf, d, len < sizeof buf ? len : sizeof buf);
            ipcx_queue_release(q, d);
        }
        ipcx_queue_close(q);
    }
}

static int count_cb(void *ctx, uint64_t seq, const void *data, size_t len)
{
    (void)seq;
    if (len > 0)
        *(volatile uint8_t *)ctx = ((const uint8_t *)data)[len - 1];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_dir[0] == '\0')
        snprintf(g_dir, sizeof g_dir, "/tmp/ipcx-qfuzz-%d", (int)getpid());
    if (size < 3 || build() != 0)
        return 0;
    scribble(data, size);
    uint8_t last = 0;
    ipcx_queue_dump(g_dir, count_cb, &last);
    exercise();
    ipcx_queue_unlink(g_dir);
    return 0;
}
