// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the ring over hostile shared memory: a producer handle and
 * a consumer handle use a small ring while the input rewrites words of its
 * header, slots, indices and record headers between their calls.
 *
 * Input: byte 0 picks the ring (bits 0-1: single-producer queue, MPMC
 * queue, broadcast, broadcast with overwrite; bit 2: fixed slots; bit 4: a
 * lane ring of 2 lanes, the MPMC queue then with one consumer).  Then
 * 11-byte commands: op, a 16-bit offset and a 64-bit value.  Ops 0-3 write
 * the value (or flip one of its bits) at an 8-aligned offset of the block;
 * 4 send, 5 recv, 6 peek + release, 7 reserve + commit; ops 8-9 do a recv /
 * send with a 100 us timeout, so the liveness checks and recovery paths run
 * over the garbage too.  Every call must return (an error is fine), never
 * crash, hang or touch memory outside the block (ASan sees the block's
 * exact bounds: it is malloc'ed).  Finally a fresh attach must either
 * refuse the block or work.
 *
 * Bit 3 of byte 0 turns on the concurrent mode: the writes (ops 0-3) are
 * not applied between calls but handed to a second thread, which applies
 * them over and over while the calls run, so a field that a call reads
 * twice can change between the two reads (a double fetch reads garbage the
 * first check did not see).  The thread stops when the calls are done or
 * after IPCX_FUZZ_MUTATIONS writes, whichever comes first, so each input is
 * bounded.  This mode is not deterministic (it depends on the
 * interleaving); a crash it finds shows the double fetch in its stack.
 * Run under ASan, not TSan: the races are the point.
 *
 * Built as a libFuzzer target when IPCX_FUZZ is on; otherwise main() below
 * replays the committed corpus (tests/fuzz/corpus/ring_fuzz) under ctest.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "ring/ring_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void opts_for(uint8_t b, ipcx_ring_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->capacity = 4096;
    o->max_msg = 512;
    o->liveness_ms = 1;
    switch (b & 3) {
    case 1:
        o->max_producers = 2;
        o->max_consumers = 2;
        break;
    case 2:
        o->delivery = IPCX_RING_BROADCAST;
        o->max_producers = 2;
        o->max_consumers = 2;
        break;
    case 3:
        o->delivery = IPCX_RING_BROADCAST;
        o->full = IPCX_RING_OVERWRITE;
        o->max_consumers = 2;
        break;
    }
    if (b & 4) {
        o->slot_size = 48;
        o->max_msg = 0;
    }
    if (b & 16) {
        o->lanes = 1;
        o->max_producers = 2;
        if (o->delivery == IPCX_RING_QUEUE)
            o->max_consumers = 1;
    }
}

/* Concurrent mode: the writes the second thread applies. */
#define IPCX_FUZZ_WRITES    200
#define IPCX_FUZZ_MUTATIONS 20000u

struct mutator {
    uint8_t *mem;
    size_t n;
    struct {
        size_t off;
        uint64_t v;
        int flip;
    } w[IPCX_FUZZ_WRITES];
    atomic_int stop;
};

static void *mutate(void *arg)
{
    struct mutator *m = arg;
    unsigned done = 0;
    /* Relaxed: the flag only ends the loop early; pthread_join orders the rest. */
    while (m->n > 0 && done < IPCX_FUZZ_MUTATIONS &&
           !atomic_load_explicit(&m->stop, memory_order_relaxed)) {
        for (size_t i = 0; i < m->n; i++, done++) {
            uint64_t *word = (uint64_t *)(void *)(m->mem + m->w[i].off);
            if (m->w[i].flip)
                __atomic_fetch_xor(word, 1ull << (m->w[i].v % 64), __ATOMIC_RELAXED);
            else
                __atomic_store_n(word, m->w[i].v, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static void check_record(const ipcx_ring *r, const void *d, size_t len, uint8_t *mem, size_t size)
{
    const uint8_t *p = d;
    if (p < mem || p + len > mem + size || len > r->max_msg)
        abort();
}

static void one_op(ipcx_ring *p, ipcx_ring *c, uint8_t *mem, size_t size, const uint8_t *cmd,
                   struct mutator *m)
{
    uint8_t op = cmd[0] % 10;
    uint16_t off16;
    uint64_t v;
    memcpy(&off16, cmd + 1, 2);
    memcpy(&v, cmd + 3, 8);
    uint8_t buf[600];
    const void *d;
    void *w;
    size_t len;
    int rc;
    size_t off = ((size_t)off16 * 8) % (size - 8);
    if (m != NULL && op < 4) {
        if (m->n < IPCX_FUZZ_WRITES) {
            m->w[m->n].off = off;
            m->w[m->n].v = v;
            m->w[m->n].flip = op >= 2;
            m->n++;
        }
        return;
    }
    switch (op) {
    case 0:
    case 1:
        __atomic_store_n((uint64_t *)(void *)(mem + off), v, __ATOMIC_RELAXED);
        break;
    case 2:
    case 3:
        __atomic_fetch_xor((uint64_t *)(void *)(mem + off), 1ull << (v % 64), __ATOMIC_RELAXED);
        break;
    case 4:
    case 9:
        memset(buf, (int)v, sizeof(buf));
        ipcx_ring_send(p, buf, v % 520, op == 9 ? 100000 : 0);
        break;
    case 5:
    case 8:
        rc = ipcx_ring_recv(c, buf, (size_t)(v % 600), op == 8 ? 100000 : 0);
        if (rc > (int)(v % 600))
            abort();
        break;
    case 6:
        if (ipcx_ring_peek(c, &d, &len, 0) == 0) {
            check_record(c, d, len, mem, size);
            ipcx_ring_release(c, d);
        }
        break;
    case 7:
        if (ipcx_ring_reserve(p, v % 520, &w, 0) == 0) {
            check_record(p, w, v % 520, mem, size);
            memset(w, 0x77, v % 520);
            ipcx_ring_commit(p, w);
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ipcx_ring_opts o;
    opts_for(data[0], &o);
    size_t bsize = ipcx__ring_size_for(&o);
    uint8_t *mem = aligned_alloc(64, (bsize + 63) / 64 * 64);
    if (mem == NULL || ipcx__ring_format(mem, bsize, &o) != 0)
        abort();
    ipcx_ring *p = NULL, *c = NULL;
    if (ipcx__ring_attach(mem, bsize, &p) != 0 || ipcx__ring_attach(mem, bsize, &c) != 0)
        abort();
    ipcx_ring_join(c, IPCX_RING_CONSUMER);
    size_t end = size < 1 + 11 * 200 ? size : 1 + 11 * 200;
    if (data[0] & 8) {
        /* Concurrent mode: collect the writes, start the thread, then make
         * the calls while it rewrites the block. */
        static struct mutator m;
        memset(&m, 0, sizeof(m));
        m.mem = mem;
        for (size_t i = 1; i + 11 <= end; i += 11)
            if (data[i] % 10 < 4)
                one_op(p, c, mem, bsize, data + i, &m);
        pthread_t t;
        int started = pthread_create(&t, NULL, mutate, &m) == 0;
        for (size_t i = 1; i + 11 <= end; i += 11)
            if (data[i] % 10 >= 4)
                one_op(p, c, mem, bsize, data + i, &m);
        atomic_store_explicit(&m.stop, 1, memory_order_relaxed);
        if (started)
            pthread_join(t, NULL);
    } else {
        for (size_t i = 1; i + 11 <= end; i += 11)
            one_op(p, c, mem, bsize, data + i, NULL);
    }
    ipcx__ring_detach(c);
    ipcx__ring_detach(p);
    ipcx_ring *x = NULL;
    if (ipcx__ring_attach(mem, bsize, &x) == 0) {
        uint8_t buf[600];
        ipcx_ring_send(x, buf, 10, 0);
        ipcx_ring_recv(x, buf, sizeof(buf), 0);
        ipcx__ring_detach(x);
    }
    free(mem);
    return 0;
}
