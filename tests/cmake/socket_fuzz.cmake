# SPDX-License-Identifier: MIT
# socket_fuzz: a real tcp:// (and unix://) listener fed raw byte streams by
# a plain client.  Replayed over its committed corpus by ctest in every
# build (under ASan+UBSan in make test), and built as a libFuzzer binary
# (tests/socket_fuzz, run by scripts/fuzz.sh) in the fuzz preset.
find_package(Threads REQUIRED)
ipcx_fuzz_target(socket_fuzz PARTS core platform zmtp transport socket)
target_link_libraries(socket_fuzz_replay PRIVATE Threads::Threads)
if(TARGET socket_fuzz)
  target_link_libraries(socket_fuzz PRIVATE Threads::Threads)
endif()

# Writes the seed corpus (run by hand; its output is committed).
add_executable(socket_corpus_gen EXCLUDE_FROM_ALL fuzz/socket_corpus_gen.c)
target_link_libraries(socket_corpus_gen PRIVATE ipcx_static)

# shm_hello_fuzz: the shm:// hello, received with fds over a real socketpair.
ipcx_fuzz_target(shm_hello_fuzz PARTS core platform transport)
# plain_fuzz, curve_fuzz: the PLAIN and CURVE handshake parsers
# (src/socket/mech*.c) fed a hostile peer's bytes, with no sockets
# (tests/fuzz/mech_fuzz.h).
ipcx_fuzz_target(plain_fuzz PARTS core platform zmtp transport socket)
ipcx_fuzz_target(curve_fuzz PARTS core platform zmtp transport socket)
