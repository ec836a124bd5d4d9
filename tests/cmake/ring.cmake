# SPDX-License-Identifier: MIT
# ring: the bounded buffer.  Unit tests in one process (plus forked helpers
# for the blocking cases), and real-process integration tests: streams with
# checksums in every mode, the kill test, the hostile-peer test, idle cost.
ipcx_test(test_ring SOURCES unit/test_ring.c support/region_testutil.c LABELS unit TIMEOUT 60)
add_dependencies(test_ring ipcx_tool) # test_stat_command runs `ipcx stat`
# Regressions of the recovery and validation paths, over hand-made state.
ipcx_test(test_ring_review SOURCES unit/test_ring_review.c LABELS unit TIMEOUT 60)
ipcx_test(test_ring_procs SOURCES integration/test_ring_procs.c support/region_testutil.c
          LABELS integration TIMEOUT 240)
add_test(NAME test_ring_procs_stress COMMAND test_ring_procs stress)
set_tests_properties(test_ring_procs_stress PROPERTIES LABELS stress TIMEOUT 7200
  ENVIRONMENT "IPCX_TEST_BINDIR=${PROJECT_BINARY_DIR};IPCX_TEST_SRCDIR=${PROJECT_SOURCE_DIR}")
# Threads over one mapping, for ThreadSanitizer (make tsan); a plain unit
# test in the other builds.
find_package(Threads REQUIRED)
ipcx_test(test_ring_tsan SOURCES unit/test_ring_tsan.c LABELS unit tsan TIMEOUT 120
          LIBS Threads::Threads)
# The one benign race of the multi-consumer helpers, explained in the file.
set_property(TEST test_ring_tsan APPEND PROPERTY ENVIRONMENT
  "TSAN_OPTIONS=halt_on_error=1:suppressions=${CMAKE_CURRENT_SOURCE_DIR}/ring_tsan.supp")

# The ring over hostile memory, as a fuzz target: replayed over its
# committed corpus by ctest in every build (under ASan+UBSan in make test),
# and built as a libFuzzer binary (tests/ring_fuzz) in the fuzz preset.
ipcx_fuzz_target(ring_fuzz PARTS ring)
# Regressions of the reliability defects of issue 12 (overwrite release,
# broken handles, liveness, fork, lost wake-ups).
ipcx_test(test_ring_rel SOURCES unit/test_ring_rel.c LABELS unit TIMEOUT 120)
# Lane rings (opts.lanes): roles, peek runs, broadcast, hostile layouts,
# wake-ups over the shared word, a consumer killed asleep, interrupt.
ipcx_test(test_ring_lanes SOURCES unit/test_ring_lanes.c LABELS unit TIMEOUT 60)
