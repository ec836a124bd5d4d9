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
ipcx_test(test_region_hdr_replay SOURCES fuzz/region_hdr_fuzz.c LABELS unit TIMEOUT 60
          ARGS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/region_hdr_fuzz)
if(IPCX_FUZZ)
  # The region sources are compiled into the target so libFuzzer's coverage
  # instrumentation sees them (the library itself is built without it).
  file(GLOB region_fuzz_src CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/region/*.c)
  add_executable(region_hdr_fuzz fuzz/region_hdr_fuzz.c ${region_fuzz_src})
  target_compile_definitions(region_hdr_fuzz PRIVATE IPCX_LIBFUZZER=1 IPCX_BUILDING=1)
  target_compile_options(region_hdr_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(region_hdr_fuzz PRIVATE -fsanitize=fuzzer)
  target_include_directories(region_hdr_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(region_hdr_fuzz PRIVATE ipcx_static)
endif()
