# SPDX-License-Identifier: MIT
# socket under ThreadSanitizer: threads sending, receiving and polling on
# one socket at once, in one process (make tsan); a plain unit test in the
# other builds.
find_package(Threads REQUIRED)
ipcx_test(test_socket_tsan SOURCES unit/test_socket_tsan.c LABELS unit tsan TIMEOUT 120
          LIBS Threads::Threads)
