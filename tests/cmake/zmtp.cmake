# SPDX-License-Identifier: MIT
# zmtp: the ZMTP 3.x codec.  Unit tests, the libzmq interop test (libzmq is
# linked into tests only, never into the library), the libFuzzer targets
# (clang + IPCX_FUZZ) and the replay of their committed corpus under ctest.
ipcx_test(test_zmtp SOURCES unit/test_zmtp.c unit/zmtp_vec.c LABELS unit TIMEOUT 120)
