// SPDX-License-Identifier: MIT
/*
 * Raw futex system calls.  Shared (not FUTEX_PRIVATE_FLAG) because the words
 * live in memory mapped by several processes.  FUTEX_WAIT_BITSET takes an
 * absolute CLOCK_MONOTONIC timeout, which is what ipcx deadlines are.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform/platform.h"

int ipcx__sys_futex_wait(void *word, uint32_t expected, const struct timespec *abs_mono)
{
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, abs_mono, NULL,
                      FUTEX_BITSET_MATCH_ANY);
    return rc == 0 ? 0 : -errno;
}

int ipcx__sys_futex_wake(void *word, int n)
{
#ifdef IPCX_MUTANT_NO_FUTEX_WAKE
    /* scripts/mutants.sh: every FUTEX_WAKE removed; some test must fail. */
    (void)word;
    (void)n;
    return 0;
#else
    long rc = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
    return rc >= 0 ? (int)rc : -errno;
#endif
}
