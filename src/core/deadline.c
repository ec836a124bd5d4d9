// SPDX-License-Identifier: MIT
/*
 * Deadlines and futex waits against them.  A relative timeout is turned into
 * an absolute CLOCK_MONOTONIC deadline once, at the start of a public call;
 * every wait inside that call (spins, futex sleeps after EINTR or spurious
 * wake-ups) is measured against the same deadline, so retries never extend
 * the caller's timeout.
 */
#include <time.h>

#include "core/core.h"
#include "platform/platform.h"

int64_t ipcx__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

ipcx__deadline ipcx__deadline_make(int64_t timeout_ns)
{
    ipcx__deadline d;
    if (timeout_ns < 0) {
        d.abs_ns = -1;
    } else if (timeout_ns == 0) {
        d.abs_ns = 0;
    } else {
        int64_t now = ipcx__now_ns();
        /* Saturate rather than overflow for absurdly long timeouts. */
        d.abs_ns = (timeout_ns > INT64_MAX - now) ? INT64_MAX : now + timeout_ns;
    }
    return d;
}

bool ipcx__deadline_expired(ipcx__deadline d)
{
    if (d.abs_ns < 0)
        return false;
    if (d.abs_ns == 0)
        return true;
    return ipcx__now_ns() >= d.abs_ns;
}

int64_t ipcx__deadline_left_ns(ipcx__deadline d)
{
    if (d.abs_ns < 0)
        return INT64_MAX;
    int64_t left = d.abs_ns - ipcx__now_ns();
    return left > 0 ? left : 0;
}

int ipcx__futex_wait(ipcx_atomic_u32 *word, uint32_t expected, ipcx__deadline d)
{
    if (ipcx__deadline_is_nowait(d))
        return -ETIMEDOUT;
    struct timespec ts, *tsp = NULL;
    if (!ipcx__deadline_is_forever(d)) {
        if (ipcx__deadline_expired(d))
            return -ETIMEDOUT;
        ts.tv_sec = (time_t)(d.abs_ns / 1000000000);
        ts.tv_nsec = (long)(d.abs_ns % 1000000000);
        tsp = &ts;
    }
    int rc = ipcx__sys_futex_wait((void *)word, expected, tsp);
    if (rc == -ETIMEDOUT)
        return -ETIMEDOUT;
    /* 0 (woken) and -EAGAIN (value changed before we slept) mean "re-check
     * the condition"; the caller loops with the same deadline.  -EINTR (a
     * signal handler ran; timed waits are not restarted by the kernel
     * whatever SA_RESTART says) goes to the caller, who returns it, as
     * libzmq returns EINTR. */
    if (rc == 0 || rc == -EAGAIN)
        return 0;
    return rc;
}

int ipcx__futex_wake(ipcx_atomic_u32 *word, int n)
{
    return ipcx__sys_futex_wake((void *)word, n);
}
