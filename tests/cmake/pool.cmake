# SPDX-License-Identifier: MIT
# pool: co-operating worker processes.  Real forked workers: results equal
# the single-process ones, every error, 100 SIGKILLs mid-task, signals to
# and the death of the parent.
ipcx_test(test_pool SOURCES integration/test_pool.c LABELS integration TIMEOUT 300)
# The checks on records and frames from other processes (src/pool/records.c)
# as a fuzz target: replayed over its committed corpus by ctest in every
# build, and built as a libFuzzer binary in the fuzz preset (make fuzz).
ipcx_fuzz_target(pool_fuzz PARTS pool)
add_dependencies(test_pool ipcx_tool) # test_expose_stat_ls runs `ipcx stat` and `ipcx ls`
