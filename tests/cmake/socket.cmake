# SPDX-License-Identifier: MIT
# socket: message passing over tcp:// and unix:// between real processes -
# every pattern, multipart and large messages, and the faults (kills,
# garbage, stalls, oversize, allow-list, heartbeats, injected short I/O).
find_package(Threads REQUIRED)
ipcx_test(test_socket SOURCES integration/test_socket.c LABELS integration TIMEOUT 240
          LIBS Threads::Threads)

# CURVE against a man-in-the-middle: flipped bytes, replayed and reordered
# frames, a replayed handshake (tests/integration/test_socket_tamper.c).
ipcx_test(test_socket_tamper SOURCES integration/test_socket_tamper.c LABELS integration
          TIMEOUT 240)
