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
 * The light variant (the default where the kernel has membarrier): the
 * waker's seq_cst store (an xchg, which also waits for the store buffer to
 * drain - per record, on the hot path) becomes a release store followed by
 * a relaxed load of the count, and the sleeper pays instead, once per
 * sleep: after registering it calls membarrier(GLOBAL_EXPEDITED), which
 * runs a full barrier on every CPU running a process that registered for
 * it (every light waker did, at attach).  If the waker's load of the count
 * came before that barrier on its CPU, so did its earlier publication,
 * which is then visible to the sleeper's re-check after membarrier
 * returns; if it came after, it sees the registration (made before
 * membarrier).  This is the asymmetric Dekker handshake of liburcu.  A
 * handle whose registration failed stays on the seq_cst variant; a sleeper
 * whose membarrier call fails sleeps in 1 ms slices, so a light waker's
 * missed wake-up costs at most that.
 *
 * A sleeper also never sleeps past its next liveness check, because a dead
 * peer never wakes anyone.
 */
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/ring_int.h"

#define SPIN_CHECK_EVERY 64u
#define SPIN_YIELD_EVERY 1024u /* a multiple of SPIN_CHECK_EVERY */
#define BLOCK_SPIN_NS    (30 * 1000)

int ipcx__ring_no_membarrier;
int64_t ipcx__ring_block_spin_ns = BLOCK_SPIN_NS;
static _Atomic int g_light_pid; /* pid that registered (registration is per process) */

int ipcx__ring_light_init(void)
{
    int pid = getpid();
    if (ipcx__ring_no_membarrier)
        return 0;
    if (atomic_load_explicit(&g_light_pid, memory_order_relaxed) == pid)
        return 1;
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) != 0)
        return 0;
    atomic_store_explicit(&g_light_pid, pid, memory_order_relaxed);
    return 1;
}

void ipcx__ring_wake_all(ipcx_atomic_u32 *seq)
{
    fetch_add_seq_cst(seq, 1);
    ipcx__futex_wake(seq, INT32_MAX);
}

int ipcx__ring_check_due(ipcx_ring *r, ring_waiter *w)
{
    /* Only right after wait_step read the clock (every SPIN_CHECK_EVERY
     * spins, and on every step that may sleep): a clock read on every poll
     * cost more than the poll itself, and where a virtual machine gives no
     * vDSO clock it is a system call that tripled the round trip. */
    int64_t now = w->now_ns;
    if (now == 0)
        return 0;
    w->now_ns = 0;
    if (w->next_check_ns == 0) {
        /* First look: check soon after the initial spin. */
        w->next_check_ns = now + ipcx__ring_block_spin_ns;
        return 0;
    }
    if (now < w->next_check_ns)
        return 0;
    w->next_check_ns = now + r->liveness_ns;
    return 1;
}

int ipcx__ring_nowait_check_due(ipcx_ring *r)
{
    int64_t now = ipcx__now_ns();
    if (r->nowait_check_ns != 0 && now - r->nowait_check_ns < r->liveness_ns)
        return 0;
    r->nowait_check_ns = now;
    return 1;
}

/*
 * One step of waiting.  Returns 1 when the caller should re-check its
 * condition and call again, -ETIMEDOUT when the deadline passed, or 2 when
 * the caller should register and sleep (block mode after the spin).
 */
int ipcx__ring_cancelled(const ipcx_ring *r)
{
    /* seq_cst: pairs with the store in ipcx_ring_interrupt(), ordered
     * after our load of the futex word (ipcx__ring_sleep): either we see
     * the flag, or the interrupter's bump of the word comes after our load
     * and FUTEX_WAIT returns at once. */
    return load_seq_cst((ipcx_atomic_u32 *)&r->interrupted) != 0 ? -ECANCELED : 0;
}

int ipcx_ring_interrupt(ipcx_ring *r)
{
    if (r == NULL || r->hdr == NULL)
        return -EINVAL;
    /* Async-signal-safe: lock-free atomics and the futex system call only.
     * seq_cst: the flag before the word bumps, pairs with
     * ipcx__ring_cancelled() after the sleeper's load of the word. */
    store_seq_cst(&r->interrupted, 1);
    /* seq_cst: a word change every sleeper on this ring sees; the others
     * (other handles, other processes) re-check and sleep again. */
    if (r->nlanes != 0)
        return ipcx__lanes_interrupt(r);
    fetch_add_seq_cst(r->dseq, 1);
    fetch_add_seq_cst(&r->hdr->space_seq, 1);
    ipcx__futex_wake(r->dseq, INT32_MAX);
    ipcx__futex_wake(&r->hdr->space_seq, INT32_MAX);
    return 0;
}

int ipcx__ring_wait_step(ipcx_ring *r, ring_waiter *w, ipcx__deadline *d)
{
    if (ipcx__deadline_is_nowait(*d))
        return -ETIMEDOUT;
    if ((w->spins % SPIN_CHECK_EVERY) == 0 && ipcx__ring_cancelled(r) != 0)
        return -ECANCELED;
    w->spins++;
    if ((w->spins % SPIN_CHECK_EVERY) != 0) {
        ipcx__cpu_relax();
        return 1;
    }
    /* Every SPIN_YIELD_EVERY spins (a few microseconds: never within a
     * round trip), give the CPU away if someone else wants it: with more
     * processes than cores (several producers, or a peer on a shared core)
     * a spinner would otherwise keep the side it waits for off the CPU for
     * a whole time slice.  Returns at once on an idle core. */
    if ((w->spins % SPIN_YIELD_EVERY) == 0)
        sched_yield();
    int64_t now = ipcx__now_ns();
    w->now_ns = now;
    if (w->lazy_timeout_ns > 0) { /* the first clock reading of this call */
        int64_t t = w->lazy_timeout_ns;
        d->abs_ns = t > INT64_MAX - now ? INT64_MAX : now + t;
        w->lazy_timeout_ns = 0;
    }
    if (!ipcx__deadline_is_forever(*d) && now >= d->abs_ns)
        return -ETIMEDOUT;
    if (w->spin_until_ns == 0)
        w->spin_until_ns = now + (r->nospin ? 0 : ipcx__ring_block_spin_ns);
    if (r->wait_mode == IPCX_WAIT_SPIN || now < w->spin_until_ns)
        return 1;
    return 2;
}

/* The slot of the side that sleeps on `waiters` (NULL: none). */
static struct ring_slot *sleeper_slot(ipcx_ring *r, ipcx_atomic_u32 *waiters)
{
    if (waiters == &r->hdr->space_waiters)
        return r->pidx >= 0 ? &r->pslots[r->pidx] : NULL;
    return r->cidx >= 0 ? &r->cslots[r->cidx] : NULL;
}

int ipcx__ring_sleep(ipcx_ring *r, ipcx_atomic_u32 *seq, ipcx_atomic_u32 *waiters, ring_waiter *w,
                     ipcx__deadline d, int (*ready)(ipcx_ring *, void *), void *arg)
{
    /* Registration: pairs with the load in ipcx__ring_wake(). */
    fetch_add_seq_cst(waiters, 1);
    /* Our slot remembers it, for whoever takes the slot over should we die
     * asleep (ring_int.h RING_SLOT_SLEEPING).  Relaxed: read only once we
     * are gone. */
    struct ring_slot *me = sleeper_slot(r, waiters);
    if (me != NULL)
        store_relaxed(&me->wait, load_relaxed(&me->wait) | RING_SLOT_SLEEPING);
    int sliced = !ipcx__ring_no_membarrier &&
                 syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0;
    uint32_t s = load_seq_cst(seq);
    int rc = ipcx__ring_cancelled(r); /* after the word: see there */
    if (rc == 0)
        rc = ready(r, arg);
    if (rc < 0) {
        /* interrupted: fall through to the unregistering below */
    } else if (rc == 0) {
        ipcx__deadline until = d;
        int64_t bound = w->next_check_ns;
        if (sliced) {
            int64_t slice = ipcx__now_ns() + 1000000;
            bound = bound == 0 || slice < bound ? slice : bound;
        }
        if (bound != 0 && (ipcx__deadline_is_forever(d) || bound < d.abs_ns))
            until.abs_ns = bound;
        rc = ipcx__futex_wait(seq, s, until);
        if (rc == -ETIMEDOUT && until.abs_ns != d.abs_ns)
            rc = 0; /* only the liveness check is due */
        if ((rc == 0 || rc == -EINTR) && ipcx__ring_cancelled(r) != 0)
            rc = -ECANCELED; /* the handler that interrupted us asked for it */
    } else {
        rc = 0;
    }
    if (me != NULL)
        store_relaxed(&me->wait, load_relaxed(&me->wait) & ~RING_SLOT_SLEEPING);
    fetch_sub_seq_cst(waiters, 1);
    return rc;
}
