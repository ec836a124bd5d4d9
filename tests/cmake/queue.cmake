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
ipcx_test(test_queue_fuzz_replay SOURCES fuzz/queue_fuzz.c LABELS unit TIMEOUT 60
          ARGS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/queue_fuzz)
if(IPCX_FUZZ)
  file(GLOB queue_fuzz_src CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/queue/*.c
       ${PROJECT_SOURCE_DIR}/src/region/*.c)
  add_executable(queue_fuzz fuzz/queue_fuzz.c ${queue_fuzz_src})
  target_compile_definitions(queue_fuzz PRIVATE IPCX_LIBFUZZER=1 IPCX_BUILDING=1)
  target_compile_options(queue_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(queue_fuzz PRIVATE -fsanitize=fuzzer)
  target_include_directories(queue_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(queue_fuzz PRIVATE ipcx_static)
endif()
