/* SPDX-License-Identifier: MIT */
/*
 * The one place ipcx touches <stdatomic.h>.
 *
 * Rules (STYLE.md, "Atomics"):
 *  - ordering goes on the access, never on a free-standing fence, so that
 *    ThreadSanitizer can model it;
 *  - every acquire/release/seq_cst use carries a comment at the call site
 *    naming what it publishes or observes and the operation it pairs with;
 *  - relaxed accesses are for values whose staleness is harmless (statistics,
 *    hints, a cached copy of the other side's index that is re-read with
 *    acquire before it is trusted);
 *  - shared-memory structs use only the lock-free types checked below.
 *
 * The wrappers are macros so they work on every _Atomic integer width.
 */
#ifndef IPCX_CORE_ATOMICS_H
#define IPCX_CORE_ATOMICS_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint32_t ipcx_atomic_u32;
typedef _Atomic uint64_t ipcx_atomic_u64;

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(ipcx_atomic_u32) == 4, "atomic u32 must be 4 bytes");
_Static_assert(sizeof(ipcx_atomic_u64) == 8, "atomic u64 must be 8 bytes");

#define load_relaxed(p)         atomic_load_explicit((p), memory_order_relaxed)
#define load_acquire(p)         atomic_load_explicit((p), memory_order_acquire)
#define load_seq_cst(p)         atomic_load_explicit((p), memory_order_seq_cst)
#define store_relaxed(p, v)     atomic_store_explicit((p), (v), memory_order_relaxed)
#define store_release(p, v)     atomic_store_explicit((p), (v), memory_order_release)
#define store_seq_cst(p, v)     atomic_store_explicit((p), (v), memory_order_seq_cst)
#define fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define fetch_add_release(p, v) atomic_fetch_add_explicit((p), (v), memory_order_release)
#define fetch_add_seq_cst(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define fetch_sub_seq_cst(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
#define fetch_or_acq_rel(p, v)  atomic_fetch_or_explicit((p), (v), memory_order_acq_rel)
#define exchange_acq_rel(p, v)  atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define exchange_seq_cst(p, v)  atomic_exchange_explicit((p), (v), memory_order_seq_cst)
/* Compare-and-swap; *expected is updated with the current value on failure. */
#define cas_acq_rel(p, expected, desired)                                                          \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel,      \
                                            memory_order_acquire)
#define cas_weak_acq_rel(p, expected, desired)                                                     \
    atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_acq_rel,        \
                                          memory_order_acquire)
#define cas_seq_cst(p, expected, desired)                                                          \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_seq_cst,      \
                                            memory_order_seq_cst)
#define cas_relaxed(p, expected, desired)                                                          \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_relaxed,      \
                                            memory_order_relaxed)

/* A CPU hint for spin loops: lowers power and yields the pipeline to the
 * sibling hyper-thread.  Not a memory barrier. */
static inline void ipcx__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#define IPCX_CACHELINE 64

#endif /* IPCX_CORE_ATOMICS_H */
