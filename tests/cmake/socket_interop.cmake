# SPDX-License-Identifier: MIT
# socket interop: ipcx sockets against real libzmq sockets (Debian
# libzmq3-dev; linked into this test only, never into the library).  One
# binary, one ctest entry per pattern pair (the binary's argument), so that
# ctest -j runs the pairs side by side.
pkg_check_modules(SOCKET_LIBZMQ IMPORTED_TARGET libzmq)
if(SOCKET_LIBZMQ_FOUND)
  add_library(ipcx_zmq_side STATIC interop/zmq_side.c)
  target_include_directories(ipcx_zmq_side PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/interop)
  target_link_libraries(ipcx_zmq_side PUBLIC ipcx_testutil PkgConfig::SOCKET_LIBZMQ)
  add_executable(test_socket_interop interop/test_socket_interop.c)
  target_link_libraries(test_socket_interop PRIVATE ipcx_zmq_side)
  foreach(pair PAIR-PAIR PUSH-PULL PUB-SUB XPUB-SUB PUB-XSUB REQ-REP DEALER-ROUTER REQ-ROUTER
               DEALER-REP DEALER-DEALER)
    add_test(NAME test_socket_interop_${pair} COMMAND test_socket_interop ${pair})
    set_tests_properties(test_socket_interop_${pair} PROPERTIES LABELS interop TIMEOUT 180
      ENVIRONMENT "IPCX_TEST_BINDIR=${PROJECT_BINARY_DIR};IPCX_TEST_SRCDIR=${PROJECT_SOURCE_DIR}")
  endforeach()
  # The edges: heartbeats, size limits, type mismatches, several peers,
  # correlation, IPv6, reconnects, the pollable fd.
  add_executable(test_socket_interop_edge interop/test_socket_interop_edge.c)
  target_link_libraries(test_socket_interop_edge PRIVATE ipcx_zmq_side)
  add_test(NAME test_socket_interop_edge COMMAND test_socket_interop_edge)
  set_tests_properties(test_socket_interop_edge PROPERTIES LABELS interop TIMEOUT 240
    ENVIRONMENT "IPCX_TEST_BINDIR=${PROJECT_BINARY_DIR};IPCX_TEST_SRCDIR=${PROJECT_SOURCE_DIR}")
  # PLAIN and CURVE against libzmq, both roles, tcp:// and unix://.
  add_executable(test_socket_security interop/test_socket_security.c)
  target_link_libraries(test_socket_security PRIVATE ipcx_testutil PkgConfig::SOCKET_LIBZMQ)
  add_test(NAME test_socket_security COMMAND test_socket_security)
  set_tests_properties(test_socket_security PROPERTIES LABELS interop TIMEOUT 240
    ENVIRONMENT "IPCX_TEST_BINDIR=${PROJECT_BINARY_DIR};IPCX_TEST_SRCDIR=${PROJECT_SOURCE_DIR}")
else()
  message(STATUS "libzmq not found: test_socket_interop and _edge are not built")
endif()

# Interop with pyzmq (Debian python3-zmq): tests/interop/pyzmq_peer.py
# against ipcx, driven by a cmocka test.  The interpreter is the first that
# can `import zmq` - the Debian one first, since python3-zmq installs
# there, then whatever python3 is on PATH.  Without one the test is still
# built and registered, and skips every case, saying why.
find_program(IPCX_PATH_PYTHON3 NAMES python3)
set(IPCX_PYZMQ_PYTHON "")
foreach(py /usr/bin/python3 ${IPCX_PATH_PYTHON3})
  if(EXISTS "${py}" AND IPCX_PYZMQ_PYTHON STREQUAL "")
    execute_process(COMMAND "${py}" -c "import zmq" RESULT_VARIABLE py_rc OUTPUT_QUIET ERROR_QUIET)
    if(py_rc EQUAL 0)
      set(IPCX_PYZMQ_PYTHON "${py}")
    endif()
  endif()
endforeach()
if(IPCX_PYZMQ_PYTHON STREQUAL "")
  message(STATUS "python3-zmq not found: test_socket_pyzmq will skip its cases")
else()
  message(STATUS "pyzmq interop tests use ${IPCX_PYZMQ_PYTHON}")
endif()
ipcx_test(test_socket_pyzmq SOURCES interop/test_socket_pyzmq.c LABELS interop TIMEOUT 120)
set_tests_properties(test_socket_pyzmq PROPERTIES SKIP_RETURN_CODE 77)
target_compile_definitions(test_socket_pyzmq PRIVATE
  IPCX_PYZMQ_PYTHON="${IPCX_PYZMQ_PYTHON}"
  IPCX_PYZMQ_PEER="${CMAKE_CURRENT_SOURCE_DIR}/interop/pyzmq_peer.py")

# examples/peer.py against the C examples (tests/cmake/examples.cmake has
# ipcx_example_pair), both ways round.
if(NOT IPCX_PYZMQ_PYTHON STREQUAL "")
  set(peer ${IPCX_PYZMQ_PYTHON} ${PROJECT_SOURCE_DIR}/examples/peer.py)
  ipcx_example_pair(example_peer_py_push ipc listener 3 "^work item [1-3]$"
    $<TARGET_FILE:example_pushpull> pull @URL@ 3 -- ${peer} push @URL@ 3)
  ipcx_example_pair(example_peer_py_rep tcp dialer 2 "^(HELLO|IPCX)$"
    ${peer} rep @URL@ 2 -- $<TARGET_FILE:example_reqrep> req @URL@ hello ipcx)
  ipcx_example_pair(example_peer_py_pub ipc dialer+kill 3 "^odd [0-9]+$"
    ${peer} pub @URL@ -- $<TARGET_FILE:example_pubsub> sub @URL@ odd 3)
  ipcx_example_pair(example_peer_py_sub tcp dialer+kill 3 "^even [0-9]+$"
    $<TARGET_FILE:example_pubsub> pub @URL@ -- ${peer} sub @URL@ even 3)
  set_tests_properties(example_peer_py_push example_peer_py_rep example_peer_py_pub
    example_peer_py_sub PROPERTIES LABELS interop)
endif()
