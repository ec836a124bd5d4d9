# SPDX-License-Identifier: MIT
# ring: the bounded buffer.  Unit tests in one process (plus forked helpers
# for the blocking cases), and real-process integration tests: streams with
# checksums in every mode, the kill test, the hostile-peer test, idle cost.
ipcx_test(test_ring SOURCES unit/test_ring.c support/region_testutil.c LABELS unit TIMEOUT 60)
