/* SPDX-License-Identifier: MIT */
/*
 * A ring over an anonymous MAP_SHARED mapping, for tests that drive the
 * ring core (ipcx__ring_format / ipcx__ring_attach) without a named region.
 * The mapping survives fork, so children get handles of their own with
 * ring_block_handle().  Include after testutil.h (cmocka).
 */
#ifndef IPCX_RING_BLOCK_H
#define IPCX_RING_BLOCK_H

#include <sys/mman.h>

#include "ring/ring_int.h"

struct ring_block {
    void *mem;
    size_t size;
};

/* Map and format a block for these options; returns a handle over it. */
static inline ipcx_ring *ring_block_new(struct ring_block *b, const ipcx_ring_opts *o)
{
    b->size = ipcx__ring_size_for(o);
    assert_true(b->size > 0);
    b->mem = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(b->mem != MAP_FAILED);
    assert_int_equal(ipcx__ring_format(b->mem, b->size, o), 0);
    ipcx_ring *r = NULL;
    assert_int_equal(ipcx__ring_attach(b->mem, b->size, &r), 0);
    return r;
}

/* Another handle over the same block. */
static inline ipcx_ring *ring_block_handle(struct ring_block *b)
{
    ipcx_ring *r = NULL;
    assert_int_equal(ipcx__ring_attach(b->mem, b->size, &r), 0);
    return r;
}

static inline void ring_block_free(struct ring_block *b)
{
    munmap(b->mem, b->size);
}

#endif /* IPCX_RING_BLOCK_H */
