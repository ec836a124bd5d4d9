// SPDX-License-Identifier: MIT
/*
 * Waiting and waking for rings: spin, or a bounded spin then FUTEX_WAIT.
 *
 * Design note.  Each direction has a futex word (`data_seq`: consumers wait
 * for records, `space_seq`: producers wait for space) and a waiter count
 * beside it.  A side that is about to sleep increments the count (seq_cst
 * RMW), loads the futex word, re-checks its condition, and only then calls
 * FUTEX_WAIT with the word it loaded.  The other side publishes (a seq_cst
 * store of the commit tag or of the index) and then loads the count
 * (seq_cst); only when it is non-zero does it bump the word and call
 * FUTEX_WAKE.  The two seq_cst store->load pairs form a Dekker handshake:
 * in the single total order either the waker's load sees the registration
 * (and wakes; if the bump came before the sleeper's FUTEX_WAIT the kernel
 * sees the changed word and returns at once), or the registration comes
 * after the publication and the sleeper's re-check sees it.  With a weaker
 * order (release store, acquire load) both sides could read the old value
 * - the lost wake-up.  A busy stream therefore makes no system call at all:
 * the count stays 0 while nobody sleeps.
 *
 * A sleeper also never sleeps past its next liveness check, because a dead
 * peer never wakes anyone.
 */
#include "ring/ring_int.h"

#define SPIN_CHECK_EVERY 64u
#define BLOCK_SPIN_NS    (30 * 1000)

void ipcx__ring_wake(ipcx_atomic_u32 *seq, ipcx_atomic_u32 *waiters)
{
    /* Pairs with the fetch_add_seq_cst in ring_sleep(): see the note. */
    if (IPCX_LIKELY(load_seq_cst(waiters) == 0))
        return;
    fetch_add_seq_cst(seq, 1);
    ipcx__futex_wake(seq, INT32_MAX);
}

int ipcx__ring_check_due(ipcx_ring *r, ring_waiter *w)
{
    int64_t now = ipcx__now_ns();
    if (w->next_check_ns == 0) {
        /* First look: check soon after the initial spin. */
        w->next_check_ns = now + BLOCK_SPIN_NS;
        return 0;
    }
    if (now < w->next_check_ns)
        return 0;
    w->next_check_ns = now + r->liveness_ns;
    return 1;
}

/*
 * One step of waiting.  Returns 1 when the caller should re-check its
 * condition and call again, -ETIMEDOUT when the deadline passed, or 2 when
 * the caller should register and sleep (block mode after the spin).
 */
int ipcx__ring_wait_step(ipcx_ring *r, ring_waiter *w, ipcx__deadline d)
{
    if (ipcx__deadline_is_nowait(d))
        return -ETIMEDOUT;
    w->spins++;
    if ((w->spins % SPIN_CHECK_EVERY) != 0) {
        ipcx__cpu_relax();
        return 1;
    }
    int64_t now = ipcx__now_ns();
    if (!ipcx__deadline_is_forever(d) && now >= d.abs_ns)
        return -ETIMEDOUT;
    if (w->spin_until_ns == 0)
        w->spin_until_ns = now + BLOCK_SPIN_NS;
    if (r->wait_mode == IPCX_WAIT_SPIN || now < w->spin_until_ns)
        return 1;
    return 2;
}

int ipcx__ring_sleep(ipcx_ring *r, ipcx_atomic_u32 *seq, ipcx_atomic_u32 *waiters,
                     ring_waiter *w, ipcx__deadline d, int (*ready)(ipcx_ring *, void *),
                     void *arg)
{
    /* Registration: pairs with the load_seq_cst in ipcx__ring_wake(). */
    fetch_add_seq_cst(waiters, 1);
    uint32_t s = load_seq_cst(seq);
    int rc = ready(r, arg);
    if (rc == 0) {
        ipcx__deadline until = d;
        if (w->next_check_ns != 0 &&
            (ipcx__deadline_is_forever(d) || w->next_check_ns < d.abs_ns))
            until.abs_ns = w->next_check_ns;
        rc = ipcx__futex_wait(seq, s, until);
        if (rc == -ETIMEDOUT && until.abs_ns != d.abs_ns)
            rc = 0; /* only the liveness check is due */
    } else {
        rc = 0;
    }
    fetch_sub_seq_cst(waiters, 1);
    return rc;
}
