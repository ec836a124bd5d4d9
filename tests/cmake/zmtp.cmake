# SPDX-License-Identifier: MIT
# zmtp: the ZMTP 3.x codec.  Unit tests, the libzmq interop test (libzmq is
# linked into tests only, never into the library), the libFuzzer targets
# (clang + IPCX_FUZZ) and the replay of their committed corpus under ctest.
ipcx_test(test_zmtp SOURCES unit/test_zmtp.c unit/zmtp_vec.c unit/zmtp_faults.c LABELS unit TIMEOUT 120)

# Fuzz targets: each also runs its committed corpus as an ordinary test
# through the replay driver, so the corpus is replayed under ASan by
# `make test`.  The libFuzzer binaries themselves need clang.
foreach(fz zmtp_fuzz zmtp_roundtrip_fuzz)
  ipcx_test(${fz}_replay SOURCES fuzz/${fz}.c fuzz/replay_main.c LABELS unit TIMEOUT 120
            ARGS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${fz})
  if(IPCX_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    # The codec's sources are compiled into the target itself so that
    # libFuzzer's coverage instrumentation sees the decoder, not only the
    # harness (libipcx's objects are built without it).
    file(GLOB zmtp_src CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/zmtp/*.c)
    add_executable(${fz} fuzz/${fz}.c ${zmtp_src})
    target_include_directories(${fz} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
    target_compile_options(${fz} PRIVATE -fsanitize=fuzzer)
    target_link_options(${fz} PRIVATE -fsanitize=fuzzer)
  endif()
endforeach()

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
