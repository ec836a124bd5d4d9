// SPDX-License-Identifier: MIT
/* What the libzmq interop tests share; see zmq_side.h. */
#include "zmq_side.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

/* ------------------------------------------------------------ failing */

/* Set in the helper: a failed check there prints and exits 1 (the test
 * process sees the exit status); in the test process it fails the cmocka
 * test. */
int zs_in_helper;

void check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (zs_in_helper) {
        fprintf(stderr, "%s:%d: libzmq helper: %s (%s)\n", file, line, msg, cond);
        fflush(stderr);
        _exit(1);
    }
    print_error("%s (%s)\n", msg, cond);
    _fail(file, line);
}

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ messages */

uint8_t *g_big; /* BIG pseudo-random bytes, the same in both processes */
uint8_t g_bin[256];

void payload_init(void)
{
    if (g_big != NULL)
        return;
    g_big = malloc(BIG);
    if (g_big == NULL)
        abort();
    uint64_t st = 0x5eed1234abcdULL;
    for (size_t i = 0; i < BIG; i += 8) {
        uint64_t r = tu_rand(&st);
        memcpy(g_big + i, &r, 8);
    }
    for (int i = 0; i < 256; i++)
        g_bin[i] = (uint8_t)i;
}

part str_part(const char *s)
{
    return (part){(const uint8_t *)s, strlen(s)};
}

void mv_add(msgv *m, part p)
{
    CHECK(m->n < MAXPARTS, "too many parts");
    m->p[m->n++] = p;
}

void mv_str(msgv *m, const char *s)
{
    mv_add(m, str_part(s));
}

void rmsg_free(rmsg *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->data[i]);
    r->n = 0;
}

void rmsg_push(rmsg *r, const void *data, size_t len)
{
    CHECK(r->n < MAXPARTS, "received more than %d parts", MAXPARTS);
    r->data[r->n] = malloc(len + 1); /* NUL-terminated too, for the scripts' atoi */
    CHECK(r->data[r->n] != NULL, "out of memory");
    if (len)
        memcpy(r->data[r->n], data, len);
    r->data[r->n][len] = 0;
    r->len[r->n++] = len;
}

bool part_is(const rmsg *r, size_t i, const void *data, size_t len)
{
    return i < r->n && r->len[i] == len && (len == 0 || memcmp(r->data[i], data, len) == 0);
}

bool rmsg_is_str(const rmsg *r, const char *s)
{
    return r->n == 1 && part_is(r, 0, s, strlen(s));
}

/* @r, after its first @skip parts, is exactly @m, byte for byte. */
void expect_msg(const rmsg *r, size_t skip, const msgv *m, const char *what)
{
    CHECK(r->n == skip + m->n, "%s: %zu parts received, %zu expected", what, r->n, skip + m->n);
    for (size_t i = 0; i < m->n; i++) {
        size_t got = r->len[skip + i];
        CHECK(got == m->p[i].len, "%s: part %zu is %zu bytes, expected %zu", what, i, got,
              m->p[i].len);
        if (got > 0 && memcmp(r->data[skip + i], m->p[i].data, got) != 0) {
            size_t at = 0;
            while (r->data[skip + i][at] == m->p[i].data[at])
                at++;
            CHECK(0, "%s: part %zu differs first at byte %zu of %zu", what, i, at, got);
        }
    }
}

/* ------------------------------------------------------------ sides */

void side_send(side *s, const msgv *m, int flags)
{
    if (s->zs != NULL) {
        for (size_t i = 0; i < m->n; i++) {
            int rc = zmq_send(s->zs, m->p[i].len ? m->p[i].data : (const void *)"", m->p[i].len,
                              i + 1 < m->n ? ZMQ_SNDMORE : 0);
            CHECK(rc == (int)m->p[i].len, "zmq_send part %zu: %s", i, zmq_strerror(errno));
        }
        return;
    }
    int batch = (flags & SEND_BATCH) ? IPCX_BATCH : 0;
    if (s->nsent++ % 2 == 0) {
        for (size_t i = 0; i < m->n; i++) {
            int f = (i + 1 < m->n ? IPCX_MORE : 0) | batch;
            int rc =
                ipcx_send(s->is, m->p[i].len ? m->p[i].data : (const void *)"", m->p[i].len, f);
            CHECK(rc == (int)m->p[i].len, "ipcx_send part %zu of %zu: %s", i, m->n,
                  ipcx_strerror(rc));
        }
        return;
    }
    ipcx_msg *mm = NULL;
    int rc = ipcx_msg_create(m->p[0].len, &mm);
    CHECK(rc == 0, "ipcx_msg_create: %s", ipcx_strerror(rc));
    if (m->p[0].len)
        memcpy(ipcx_msg_data(mm, 0, NULL), m->p[0].data, m->p[0].len);
    for (size_t i = 1; i < m->n; i++) {
        rc = ipcx_msg_append(mm, m->p[i].data, m->p[i].len);
        CHECK(rc == (int)i + 1, "ipcx_msg_append: %s", ipcx_strerror(rc));
    }
    rc = ipcx_msg_send(s->is, mm, batch);
    if (rc != 0)
        ipcx_msg_destroy(mm);
    CHECK(rc == 0, "ipcx_msg_send (%zu parts): %s", m->n, ipcx_strerror(rc));
}

static void zmq_side_recv(side *s, rmsg *r)
{
    for (;;) {
        zmq_msg_t zm;
        zmq_msg_init(&zm);
        int rc = zmq_msg_recv(&zm, s->zs, 0);
        CHECK(rc >= 0, "zmq_msg_recv (part %zu): %s", r->n, zmq_strerror(errno));
        rmsg_push(r, zmq_msg_data(&zm), zmq_msg_size(&zm));
        int more = zmq_msg_more(&zm);
        zmq_msg_close(&zm);
        if (!more)
            return;
    }
}

/* ipcx's copy API: a 64 KiB buffer first; a longer part gives -EMSGSIZE
 * and stays queued, ipcx_recv_size() says how long it is. */
static void ipcx_side_recv_copy(side *s, rmsg *r)
{
    size_t cap = 64 << 10;
    uint8_t *buf = malloc(cap);
    CHECK(buf != NULL, "out of memory");
    for (;;) {
        int rc = ipcx_recv(s->is, buf, cap, 0);
        if (rc == -EMSGSIZE) {
            int sz = ipcx_recv_size(s->is, 0);
            CHECK(sz > (int)cap, "ipcx_recv_size after -EMSGSIZE: %d", sz);
            uint8_t *big = malloc((size_t)sz);
            CHECK(big != NULL, "out of memory");
            rc = ipcx_recv(s->is, big, (size_t)sz, 0);
            CHECK(rc == sz, "ipcx_recv of the %d-byte part: %s", sz, ipcx_strerror(rc));
            rmsg_push(r, big, (size_t)rc);
            free(big);
        } else {
            CHECK(rc >= 0, "ipcx_recv (part %zu): %s", r->n, ipcx_strerror(rc));
            rmsg_push(r, buf, (size_t)rc);
        }
        int64_t more = -1;
        CHECK(ipcx_socket_get(s->is, IPCX_OPT_RECV_MORE, &more) == 0, "get RECV_MORE");
        if (!more)
            break;
    }
    free(buf);
}

void side_recv(side *s, rmsg *r)
{
    r->n = 0;
    if (s->zs != NULL) {
        zmq_side_recv(s, r);
    } else if (s->nrecv++ % 2 == 0) {
        ipcx_side_recv_copy(s, r);
    } else {
        ipcx_msg *m = NULL;
        int rc = ipcx_msg_recv(s->is, &m, 0);
        CHECK(rc == 0, "ipcx_msg_recv: %s", ipcx_strerror(rc));
        for (size_t i = 0; i < ipcx_msg_parts(m); i++) {
            size_t len;
            void *d = ipcx_msg_data(m, i, &len);
            rmsg_push(r, d, len);
        }
        ipcx_msg_destroy(m);
    }
}

/* SUB subscriptions; a libzmq XSUB sends them as messages (1/0 + topic). */
void side_sub(side *s, const char *topic, bool on)
{
    if (s->zs != NULL && s->ztype == ZMQ_XSUB) {
        char buf[64];
        size_t n = strlen(topic);
        buf[0] = on ? 1 : 0;
        memcpy(buf + 1, topic, n);
        CHECK(zmq_send(s->zs, buf, n + 1, 0) == (int)n + 1, "xsub send: %s", zmq_strerror(errno));
    } else if (s->zs != NULL) {
        int rc = zmq_setsockopt(s->zs, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic, strlen(topic));
        CHECK(rc == 0, "zmq (un)subscribe: %s", zmq_strerror(errno));
    } else {
        int rc = ipcx_socket_set_bytes(s->is, on ? IPCX_OPT_SUBSCRIBE : IPCX_OPT_UNSUBSCRIBE, topic,
                                       strlen(topic));
        CHECK(rc == 0, "ipcx (un)subscribe %s: %s", topic, ipcx_strerror(rc));
    }
}

void side_signal(side *s, const char *word)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%s\n", word);
    CHECK(write(s->wfd, line, (size_t)n) == n, "pipe write: %s", strerror(errno));
}

/* Wait up to @timeout_ms for @word from the other process.  The ipcx side
 * keeps its socket going meanwhile (ipcx_poll does its I/O: output still
 * queued, subscriptions arriving).  Returns 1, or 0 after the timeout. */
int side_wait(side *s, const char *word, int timeout_ms)
{
    char line[64];
    if (s->is != NULL) {
        int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
        for (;;) {
            ipcx_pollitem it[2] = {{s->is, -1, 0, 0}, {NULL, s->rfd, POLLIN, 0}};
            int64_t left = end - now_ns();
            int rc = ipcx_poll(it, 2, left > 0 ? left : 0);
            CHECK(rc >= 0, "ipcx_poll: %s", ipcx_strerror(rc));
            if (it[1].revents != 0)
                break;
            if (left <= 0)
                return 0;
        }
        timeout_ms = WAIT_MS;
    }
    int n = tu_line_read(s->rfd, line, sizeof(line), timeout_ms);
    if (n < 0 && s->is == NULL)
        return 0; /* the helper's short waits (sync loops) */
    CHECK(n >= 0, "the libzmq helper closed its pipe (it failed: see its message above)");
    CHECK(strcmp(line, word) == 0, "got \"%s\" from the other process, expected \"%s\"", line,
          word);
    return 1;
}

/* The end: each side says it has everything, and waits for the other. */
void side_finish(side *s)
{
    side_signal(s, "fin");
    CHECK(side_wait(s, "fin", WAIT_MS) == 1, "no \"fin\" from the other process");
}
