# SPDX-License-Identifier: MIT
# queue: the unbounded, growing shared-memory queue and its durable mode.
ipcx_test(test_queue SOURCES integration/test_queue.c support/region_testutil.c
          LABELS integration TIMEOUT 120)
ipcx_test(test_queue_stress SOURCES integration/test_queue.c support/region_testutil.c
          LABELS stress TIMEOUT 1800 ARGS --stress)
ipcx_test(test_queue_durable SOURCES integration/test_queue_durable.c LABELS integration
          TIMEOUT 120)
ipcx_test(test_queue_durable_stress SOURCES integration/test_queue_durable.c LABELS stress
          TIMEOUT 1800 ARGS --stress)
add_dependencies(test_queue_durable ipcx_tool)

# The queue fuzz target (control block, segment and record headers, links):
# replayed over its committed corpus in every build, and built as a
# libFuzzer binary (tests/queue_fuzz) in the fuzz preset for scripts/fuzz.sh.
ipcx_fuzz_target(queue_fuzz PARTS queue region)
# Regressions of the reliability defects of issue 12 (hostile claim words,
# liveness, fork).
ipcx_test(test_queue_rel SOURCES integration/test_queue_rel.c LABELS integration TIMEOUT 120)
