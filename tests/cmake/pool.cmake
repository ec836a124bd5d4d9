# SPDX-License-Identifier: MIT
# pool: co-operating worker processes.  Real forked workers: results equal
# the single-process ones, every error, 100 SIGKILLs mid-task, signals to
# and the death of the parent.
ipcx_test(test_pool SOURCES integration/test_pool.c LABELS integration TIMEOUT 300)
