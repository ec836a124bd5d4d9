/* SPDX-License-Identifier: MIT */
/*
 * What the libzmq interop tests share: checks that work in the test
 * process (cmocka) and in a libzmq helper process (print, exit 1),
 * messages to send and to expect, and a "side" - one end of a
 * conversation, an ipcx socket or a libzmq one, with the pipes to the
 * other process - so that one script runs on either end.
 */
#ifndef IPCX_TESTS_ZMQ_SIDE_H
#define IPCX_TESTS_ZMQ_SIDE_H

#include "testutil.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ipcx/ipcx.h>

#define WAIT_MS  5000
#define WAIT_NS  ((int64_t)WAIT_MS * 1000000)
#define BIG      (16u << 20)
#define MAXPARTS 64

/* Set in a helper process: a failed CHECK there prints and exits 1 (the
 * test process sees the exit status); in the test process it fails the
 * cmocka test. */
extern int zs_in_helper;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);                                  \
    } while (0)

typedef struct part {
    const uint8_t *data;
    size_t len;
} part;

/* A message to send or to expect. */
typedef struct msgv {
    size_t n;
    part p[MAXPARTS];
} msgv;

/* A received message (owned copies, each with a NUL after its bytes). */
typedef struct rmsg {
    size_t n;
    uint8_t *data[MAXPARTS];
    size_t len[MAXPARTS];
} rmsg;

/* BIG pseudo-random bytes, the same in every process; and 0..255. */
extern uint8_t *g_big;
extern uint8_t g_bin[256];

/* One end of a conversation: an ipcx socket (test process) or a libzmq one
 * (helper), plus the pipes to the other process. */
typedef struct side {
    ipcx_socket *is;
    void *zs;
    int ztype; /* libzmq socket type, for XPUB/XSUB */
    int rfd, wfd;
    unsigned nsent, nrecv; /* alternate ipcx's copy and ipcx_msg APIs */
} side;

#define SEND_BATCH 1 /* ipcx: IPCX_BATCH (more messages follow at once) */

void check_failed(const char *file, int line, const char *cond, const char *fmt, ...);
int64_t now_ns(void);
void payload_init(void);
part str_part(const char *s);
void mv_add(msgv *m, part p);
void mv_str(msgv *m, const char *s);
void rmsg_free(rmsg *r);
void rmsg_push(rmsg *r, const void *data, size_t len);
bool part_is(const rmsg *r, size_t i, const void *data, size_t len);
bool rmsg_is_str(const rmsg *r, const char *s);
void expect_msg(const rmsg *r, size_t skip, const msgv *m, const char *what);
void side_send(side *s, const msgv *m, int flags);
void side_recv(side *s, rmsg *r);
void side_sub(side *s, const char *topic, bool on);
void side_signal(side *s, const char *word);
int side_wait(side *s, const char *word, int timeout_ms);
void side_finish(side *s);

#endif /* IPCX_TESTS_ZMQ_SIDE_H */
