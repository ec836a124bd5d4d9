/* SPDX-License-Identifier: MIT */
/*
 * The suites, in the order a run measures them.  Each is defined in its own
 * file; the declarations are weak so an absent suite is skipped.
 */
#ifndef IPCX_BENCH_SUITES_H
#define IPCX_BENCH_SUITES_H

#include "bench.h"

#define BENCH_SUITE(name) void name(bench_ctx *ctx) __attribute__((weak))

BENCH_SUITE(bench_suite_floors);  /* floor-cacheline, floor-futex, floor-memcpy */
BENCH_SUITE(bench_suite_kernel);  /* pipe, unix-raw, tcp-raw, posix-mq */
BENCH_SUITE(bench_suite_ring);    /* ring */
BENCH_SUITE(bench_suite_queue);   /* queue */
BENCH_SUITE(bench_suite_sockets); /* shm, unix, tcp */
BENCH_SUITE(bench_suite_zmtp);    /* zmtp decode/encode */
BENCH_SUITE(bench_suite_pool);    /* pool, pipe-pool */
BENCH_SUITE(bench_suite_peers);   /* zmq-ipc, zmq-tcp, nng-ipc, nng-tcp */
BENCH_SUITE(bench_suite_aeron);   /* aeron-ipc (a build with AERON_DIR only) */
BENCH_SUITE(bench_suite_idle);    /* --filter idle-conns: tcp, zmq-tcp idle connections */

#endif /* IPCX_BENCH_SUITES_H */
