# SPDX-License-Identifier: MIT
# zmtp: the ZMTP 3.x codec.  Unit tests, the libzmq interop test (libzmq is
# linked into tests only, never into the library), the libFuzzer targets
# (clang + IPCX_FUZZ) and the replay of their committed corpus under ctest.
ipcx_test(test_zmtp SOURCES unit/test_zmtp.c unit/zmtp_vec.c unit/zmtp_faults.c LABELS unit TIMEOUT 120)

# Fuzz targets: each also runs its committed corpus as an ordinary test
# through the replay driver, so the corpus is replayed under ASan by
# `make test`.  The libFuzzer binaries themselves need clang.
ipcx_fuzz_target(zmtp_fuzz PARTS zmtp)
ipcx_fuzz_target(zmtp_roundtrip_fuzz PARTS zmtp)

# Writes the seed corpora (run by hand; its output is committed).
add_executable(zmtp_corpus_gen EXCLUDE_FROM_ALL fuzz/zmtp_corpus_gen.c)
target_link_libraries(zmtp_corpus_gen PRIVATE ipcx_static)

# Interop with a real libzmq peer (Debian libzmq3-dev): tests only.
pkg_check_modules(ZMTP_LIBZMQ IMPORTED_TARGET libzmq)
if(ZMTP_LIBZMQ_FOUND)
  ipcx_test(test_zmtp_interop SOURCES interop/test_zmtp_interop.c unit/zmtp_vec.c
            LABELS interop TIMEOUT 60 LIBS PkgConfig::ZMTP_LIBZMQ)
  target_include_directories(test_zmtp_interop PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
endif()
