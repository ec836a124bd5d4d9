# SPDX-License-Identifier: MIT
# The life cycle of rings and queues as a new user meets it (issue 13):
# open-or-create and replace-if-stale after a kill -9, and the same verbs
# meaning the same on both.  Real processes: helpers killed by SIGKILL.
find_package(Threads REQUIRED)
ipcx_test(test_lifecycle SOURCES integration/test_lifecycle.c support/region_testutil.c
          LABELS integration TIMEOUT 120 LIBS Threads::Threads)
