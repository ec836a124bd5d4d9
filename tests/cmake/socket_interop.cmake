# SPDX-License-Identifier: MIT
# socket interop: ipcx sockets against real libzmq sockets (Debian
# libzmq3-dev; linked into this test only, never into the library).  One
# binary, one ctest entry per pattern pair (the binary's argument), so that
# ctest -j runs the pairs side by side.
pkg_check_modules(SOCKET_LIBZMQ IMPORTED_TARGET libzmq)
if(SOCKET_LIBZMQ_FOUND)
  add_executable(test_socket_interop interop/test_socket_interop.c)
  target_link_libraries(test_socket_interop PRIVATE ipcx_testutil PkgConfig::SOCKET_LIBZMQ)
  foreach(pair PAIR-PAIR PUSH-PULL PUB-SUB XPUB-SUB PUB-XSUB REQ-REP DEALER-ROUTER REQ-ROUTER
               DEALER-REP DEALER-DEALER)
    add_test(NAME test_socket_interop_${pair} COMMAND test_socket_interop ${pair})
    set_tests_properties(test_socket_interop_${pair} PROPERTIES LABELS interop TIMEOUT 180
      ENVIRONMENT "IPCX_TEST_BINDIR=${PROJECT_BINARY_DIR};IPCX_TEST_SRCDIR=${PROJECT_SOURCE_DIR}")
  endforeach()
else()
  message(STATUS "libzmq not found: test_socket_interop is not built")
endif()
