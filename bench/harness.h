/* SPDX-License-Identifier: MIT */
/*
 * Two-process measuring machinery shared by the suites.
 *
 * A transport plugs in through struct bench_ops: it moves one message of the
 * case's size from one side to the other (send) and waits for one (recv).
 * The harness turns that into a pingpong (round-trip percentiles) or a
 * stream (messages and bytes per second) between two processes:
 *
 *   parent                 side A (cpu_a)            side B (cpu_b)
 *   ------                 --------------            --------------
 *   prepare(st)
 *   fork B, fork A  --->   pin, setup(st, A, ctl)    pin, setup(st, B, ctl)
 *   release(st)            ready handshake on ctl <-> ready handshake
 *   wait (deadline)        measure: send/recv        answer: recv/send
 *                          teardown(st, A)           teardown(st, B)
 *   cleanup(st)
 *   emit the row
 *
 * Both sides run in children, so the parent (the `ipcx` tool) never changes
 * its own affinity, never hosts a library's threads (libzmq and libnng start
 * threads: they are created in setup, after the fork) and can kill a case
 * that hangs: every case has a hard deadline.
 *
 * Messages carry a flag (BENCH_MORE, BENCH_SYNC, BENCH_LAST) so the answering
 * side knows when to stop; a transport puts it wherever it likes (byte
 * transports use the first byte, see bench_msg_flag()).
 *
 * Pingpong: A sends, B receives and sends the same flag back, A receives; A
 * times each round trip (one clock read per round trip) after a warm-up,
 * until the time budget is spent and at least min_count round trips were
 * recorded.  A final round trip carries BENCH_LAST.
 *
 * Stream: A is the producer and B the consumer.  A sends warm-up messages,
 * then one BENCH_SYNC, and waits for B's acknowledgement on the control
 * channel; then it starts the clock, sends until the budget is spent, sends
 * BENCH_LAST and stops the clock when B acknowledges it, so the time covers
 * delivery of every message, not just their hand-off.
 *
 * Adding a transport (a sketch; bench/kernel.c has complete ones):
 *
 *     struct ring_state { size_t size; ...; };         // copied into each side
 *     static int r_send(void *st, enum bench_flag f);   // one message, flag in it
 *     static int r_recv(void *st);                      // wait for one, return its flag
 *     static const bench_ops ring_ops = {.prepare = r_prepare, .setup = r_setup,
 *                                        .send = r_send, .recv = r_recv,
 *                                        .teardown = r_teardown};
 *     void bench_suite_ring(bench_ctx *ctx)
 *     {
 *         struct ring_state st = {.size = 64};
 *         bench_row extra = {.api = "zerocopy"};          // optional row fields
 *         bench_case c = {.transport = "ring", .size = 64, .wait = "spin", .row = &extra};
 *         bench_run_pingpong(ctx, &c, &ring_ops, &st);
 *         bench_run_stream(ctx, &c, &ring_ops, &st);
 *     }
 *
 * Every row of bench_run_pingpong/stream (but floor-cacheline's own)
 * carries the floor probed just before and after the case (bench.h,
 * bench_floor_before/after); a suite with its own driver calls those two
 * around its case itself.
 *
 * A spinning recv calls bench_spin_pause() in its poll loop.  Both sides are
 * single processes: cases with several producers or consumers need their own
 * driver (the row fields producers/consumers exist for them).
 */
#ifndef IPCX_BENCH_HARNESS_H
#define IPCX_BENCH_HARNESS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

enum bench_side { BENCH_SIDE_A = 0, BENCH_SIDE_B = 1 };

/* The flag a message carries. */
enum bench_flag { BENCH_MORE = 0, BENCH_SYNC = 1, BENCH_LAST = 2 };

/*
 * A transport.  send and recv are required, everything else is optional.
 * Each callback returns 0 (recv: the flag received) or a negative errno.
 * `st` is the transport's state: the parent fills it in prepare(), each side
 * gets its own copy at fork.
 */
typedef struct bench_ops {
    /* Parent, before the fork: create what both sides inherit (a mapping,
     * a socketpair, a listening socket, an opened message queue). */
    int (*prepare)(void *st);
    /* Parent, after both forks: drop the parent's copies (close fds) so a
     * side that dies shows as EOF on the other side. */
    void (*release)(void *st);
    /* Each side after fork and pinning: connect, close the other side's
     * ends, create library contexts.  `ctl` is a stream socket to the other
     * side for exchanging setup data (bench_ctl_send/recv), e.g. a port. */
    int (*setup)(void *st, enum bench_side side, int ctl);
    /* Send one message of the case's size carrying `flag`. */
    int (*send)(void *st, enum bench_flag flag);
    /* Wait for one message; returns its flag (>= 0) or a negative errno. */
    int (*recv)(void *st);
    /* Stream, side A, after it sent SYNC or LAST and before it waits for
     * B's acknowledgement on `ctl`: return once `ctl` is readable (0) or
     * -errno.  For caller-driven sockets, whose sends may leave messages
     * queued in the sender's process until it calls the library again:
     * wait on both and keep the socket's output moving.  NULL: the harness
     * waits on ctl alone. */
    int (*wait_ctl)(void *st, int ctl);
    /* Each side before it exits. */
    void (*teardown)(void *st, enum bench_side side);
    /* Parent, after both sides exited (also after a failure): remove names
     * (paths, queues) that a crashed side may have left behind. */
    void (*cleanup)(void *st);
} bench_ops;

/*
 * One measured case.  Zero fields mean the defaults:
 *   budget_ns  quick 0.25 s, full 2 s of measuring;
 *   warmup_ns  quick 0.03 s, full 0.2 s;
 *   min_count  1 (pingpong: round trips recorded even past the budget);
 *   max_count  pingpong: BENCH_MAX_SAMPLES; stream: no limit.
 * The row's kase is set by the run function; api/variant/producers/consumers
 * are copied from `row` (may be NULL).
 */
typedef struct bench_case {
    const char *transport;
    uint64_t size;
    const char *wait; /* "spin" or "block" */
    uint64_t budget_ns, warmup_ns, min_count, max_count;
    uint64_t deadline_ns; /* whole case incl. setup; 0 = warm-up + 2 budgets + 20 s */
    const bench_row *row; /* optional extra fields for the emitted row */
} bench_case;

#define BENCH_MAX_SAMPLES ((size_t)1 << 22)

/* Run a pingpong / stream case and emit its row.  Returns 0, 1 when the
 * transport is filtered out, or a negative errno after bench_fail(). */
int bench_run_pingpong(bench_ctx *ctx, const bench_case *c, const bench_ops *ops, void *st);
int bench_run_stream(bench_ctx *ctx, const bench_case *c, const bench_ops *ops, void *st);

/* Measure a pingpong case without emitting a row, filtering or probing the
 * floor (the floor probe itself): 0 and *out filled, or a negative errno
 * (nothing reported). */
int bench_measure_pingpong(bench_ctx *ctx, const bench_case *c, const bench_ops *ops, void *st,
                           bench_row *out);

/* A floor-cacheline round-trip p50 from a short pingpong between the two
 * CPUs (bench/floors.c): 0 and *p50_ns, or a negative errno. */
int bench_floor_probe(bench_ctx *ctx, double *p50_ns);

/* The default measuring budget and warm-up for this run. */
uint64_t bench_budget_ns(const bench_ctx *ctx);

/* Run @fn(@arg) in a child process (so that a library's threads never
 * start in the harness's process) and hand back the figure it returns:
 * 0 and *@out, or a negative errno (the child failed or took over 60 s). */
int bench_run_apart(double (*fn)(void *arg), void *arg, double *out);

/* A "handshakes" row for @transport ("variant":"curve"): @fn, run apart,
 * returns handshakes per second within the budget its bench_hs_arg names
 * (or a negative errno). */
typedef struct bench_hs_arg {
    uint64_t budget_ns;
} bench_hs_arg;
void bench_run_handshakes(bench_ctx *ctx, const char *transport, double (*fn)(void *arg));
uint64_t bench_warmup_ns(const bench_ctx *ctx);

/* Control channel: exactly len bytes, at most 30 s.  0 or -errno (-EPIPE when
 * the other side is gone, -ETIMEDOUT). */
int bench_ctl_send(int ctl, const void *buf, size_t len);
int bench_ctl_recv(int ctl, void *buf, size_t len);

/* Byte-stream helpers: all of len (short reads and writes, EINTR handled).
 * 0 or -errno; -EPIPE on end of file. */
int bench_write_full(int fd, const void *buf, size_t len);
int bench_read_full(int fd, void *buf, size_t len);

/* Busy-wait helper for spinning transports: call once per failed poll with a
 * counter that starts at 0; it pauses the CPU, and yields now and then so two
 * spinners sharing one CPU (pinning impossible) still make progress. */
void bench_spin_pause(unsigned *spins);

/* Message flag in the first byte of a byte message (case size >= 1). */
static inline void bench_msg_set_flag(void *buf, enum bench_flag flag)
{
    *(unsigned char *)buf = (unsigned char)('0' + (int)flag);
}
static inline int bench_msg_flag(const void *buf)
{
    int f = *(const unsigned char *)buf - '0';
    return f >= BENCH_MORE && f <= BENCH_LAST ? f : -EPROTO;
}

#endif /* IPCX_BENCH_HARNESS_H */
