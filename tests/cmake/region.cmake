# SPDX-License-Identifier: MIT
# region: named/anonymous shared memory, its header checks, fd passing, and
# the `ipcx ls` / `ipcx rm` commands.
ipcx_test(test_region SOURCES unit/test_region.c support/region_testutil.c LABELS unit TIMEOUT 60)
ipcx_test(test_region_procs SOURCES integration/test_region_procs.c support/region_testutil.c
          LABELS integration TIMEOUT 60)
ipcx_test(test_cli SOURCES integration/test_cli.c support/region_testutil.c LABELS integration
          TIMEOUT 60)
add_dependencies(test_cli ipcx_tool)

# The region header fuzz target: replayed over its committed corpus by ctest
# in every build, and built as a libFuzzer binary (tests/region_hdr_fuzz)
# in the fuzz preset for scripts/fuzz.sh.
ipcx_fuzz_target(region_hdr_fuzz PARTS region)
