# SPDX-License-Identifier: MIT
# `ipcx send` and `ipcx recv`: the real binary in pairs of processes over
# unix://, tcp:// and shm:// (formats, patterns, limits, timeouts, usage errors,
# signals, peers that misbehave), and against real libzmq sockets when
# libzmq is installed (linked into this test only).
ipcx_test(test_cli_msg SOURCES integration/test_cli_msg.c LABELS integration TIMEOUT 240)
add_dependencies(test_cli_msg ipcx_tool)
pkg_check_modules(CLI_LIBZMQ IMPORTED_TARGET libzmq)
if(CLI_LIBZMQ_FOUND)
  target_link_libraries(test_cli_msg PRIVATE PkgConfig::CLI_LIBZMQ)
  target_compile_definitions(test_cli_msg PRIVATE TEST_CLI_HAVE_ZMQ=1)
  set_tests_properties(test_cli_msg PROPERTIES LABELS "integration;interop")
endif()
