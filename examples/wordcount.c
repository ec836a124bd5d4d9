// SPDX-License-Identifier: MIT
/*
 * wordcount - count the words of a file, once in this process and once
 * with an ipcx_pool, and print both times and the speed-up.
 *
 *   wordcount FILE [WORKERS]
 *
 * The file is mapped once (opts.input_fd): every worker maps it read-only
 * and no byte of it is copied.  Each task is a slice of it
 * (ipcx_pool_submit_ref: only offset and length travel), each result the
 * number of words that start in the slice.  A word is a run of bytes other
 * than space, tab, newline, CR, VT and FF, as for wc -w on ASCII text.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#define CHUNK (1u << 20)

static int is_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Words that start in base[off, off + len): a non-space byte whose
 * predecessor is a space or the start of the file. */
static uint64_t count_words(const uint8_t *base, size_t off, size_t len)
{
    uint64_t c = 0;
    int prev_space = off == 0 || is_space(base[off - 1]);
    for (size_t i = off; i < off + len; i++) {
        int sp = is_space(base[i]);
        c += (uint64_t)(!sp && prev_space);
        prev_space = sp;
    }
    return c;
}

static int wc_task(void *ctx, const ipcx_pool_task *t, void *result, size_t cap)
{
    (void)ctx;
    if (t->input == NULL || cap < sizeof(uint64_t))
        return -EINVAL;
    const uint8_t *base = t->input;
    size_t off = (size_t)((const uint8_t *)t->data - base); /* a slice of the input */
    uint64_t c = count_words(base, off, t->len);
    memcpy(result, &c, sizeof(c));
    return (int)sizeof(c);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        printf("usage: wordcount FILE [WORKERS]\n");
        return argc < 2 ? 2 : 0;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size <= 0) {
        fprintf(stderr, "wordcount: %s: cannot open, or empty\n", argv[1]);
        return 1;
    }
    size_t size = (size_t)sb.st_size;
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return 1;

    double t0 = now_s();
    uint64_t single = count_words(map, 0, size);
    double t_single = now_s() - t0;

    ipcx_pool_opts o = {0};
    o.workers = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
    o.fn = wc_task;
    o.input_fd = fd;
    o.input_len = size;
    o.order = IPCX_POOL_COMPLETION;
    ipcx_pool *pool;
    int rc = ipcx_pool_create(&o, &pool);
    if (rc != 0) {
        fprintf(stderr, "wordcount: pool: %s\n", ipcx_strerror(rc));
        return 1;
    }
    ipcx_pool_stats st;
    ipcx_pool_stats_get(pool, &st);
    t0 = now_s();
    size_t ntasks = 0;
    for (size_t off = 0; off < size; off += CHUNK, ntasks++) {
        size_t len = size - off < CHUNK ? size - off : CHUNK;
        if ((rc = ipcx_pool_submit_ref(pool, off, len, NULL, IPCX_FOREVER)) != 0)
            break;
    }
    uint64_t pooled = 0;
    int tty = isatty(STDERR_FILENO);
    for (size_t i = 0; rc == 0 && i < ntasks; i++) {
        ipcx_pool_result r;
        uint64_t c;
        rc = ipcx_pool_wait(pool, &r, &c, sizeof(c), IPCX_FOREVER);
        if (rc == 0 && r.status < 0)
            rc = r.status;
        if (rc == 0)
            pooled += c;
        if (tty && (i % 16 == 0 || i + 1 == ntasks))
            fprintf(stderr, "\r%zu/%zu slices", i + 1, ntasks);
    }
    double t_pool = now_s() - t0;
    if (tty)
        fprintf(stderr, "\n");
    ipcx_pool_destroy(pool);
    if (rc != 0) {
        fprintf(stderr, "wordcount: %s\n", ipcx_strerror(rc));
        return 1;
    }
    printf("words: %llu\n", (unsigned long long)pooled);
    printf("single process: %.3f s\n", t_single);
    printf("pool, %u workers: %.3f s\n", st.local, t_pool);
    printf("speed-up: %.2f\n", t_pool > 0 ? t_single / t_pool : 0.0);
    munmap((void *)map, size);
    close(fd);
    if (pooled != single) {
        fprintf(stderr, "wordcount: pooled %llu != single-process %llu\n",
                (unsigned long long)pooled, (unsigned long long)single);
        return 1;
    }
    return 0;
}
