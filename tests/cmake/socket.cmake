# SPDX-License-Identifier: MIT
# socket: message passing over tcp:// and unix:// between real processes -
# every pattern, multipart and large messages, and the faults (kills,
# garbage, stalls, oversize, allow-list, heartbeats, injected short I/O).
find_package(Threads REQUIRED)
ipcx_test(test_socket SOURCES integration/test_socket.c LABELS integration TIMEOUT 240
          LIBS Threads::Threads)
# shm://: kills of either side at random moments (IPCX_SHM_KILLS rounds,
# 100 by default), stale sockets and reconnects, another uid, bad control
# peers, a scribbled ring, the high-water mark, the level-triggered fd.
ipcx_test(test_socket_shm SOURCES integration/test_socket_shm.c LABELS integration TIMEOUT 300)

# CURVE against a man-in-the-middle: flipped bytes, replayed and reordered
# frames, a replayed handshake (tests/integration/test_socket_tamper.c).
ipcx_test(test_socket_tamper SOURCES integration/test_socket_tamper.c LABELS integration
          TIMEOUT 240)
