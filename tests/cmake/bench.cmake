# SPDX-License-Identifier: MIT
# The benchmark harness end to end: `ipcx bench --quick` (JSON contract, the
# reference transports, the table, usage errors).  Never asserts speed.  The
# whole --quick run happens once per build; the timeout is generous because
# the ASan build and a busy CI machine slow it down (240 s ran out once with
# two test suites beside it; 40-130 s is usual).
ipcx_test(test_bench SOURCES integration/test_bench.c LABELS integration TIMEOUT 600 LIBS m)
add_dependencies(test_bench ipcx_tool)

# Tell the test which peers the bench was built with (bench/CMakeLists.txt
# detects them and marks ipcx_bench).
get_target_property(_ipcx_bench_defs ipcx_bench COMPILE_DEFINITIONS)
if(_ipcx_bench_defs MATCHES "IPCX_BENCH_HAVE_ZMQ")
  target_compile_definitions(test_bench PRIVATE TEST_BENCH_HAVE_ZMQ=1)
endif()
if(_ipcx_bench_defs MATCHES "IPCX_BENCH_HAVE_NNG")
  target_compile_definitions(test_bench PRIVATE TEST_BENCH_HAVE_NNG=1)
endif()

# The harness itself (bench/harness.h): rows, failures, deadlines, helpers.
ipcx_test(test_bench_harness SOURCES unit/test_bench_harness.c LABELS unit TIMEOUT 60
          LIBS ipcx_bench)
