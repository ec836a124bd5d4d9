# SPDX-License-Identifier: MIT
# pool, remote workers: over tcp:// loopback, ipcx_pool_serve helpers (one
# killed and restarted mid-run), `ipcx worker`, the pyzmq example worker
# and hostile frames.  This fragment sorts after socket_interop.cmake, which
# finds the pyzmq interpreter (IPCX_PYZMQ_PYTHON) it uses.
ipcx_test(test_pool_remote SOURCES integration/test_pool_remote.c LABELS integration TIMEOUT 300)
add_dependencies(test_pool_remote ipcx_tool)
target_compile_definitions(test_pool_remote PRIVATE
  IPCX_PYZMQ_PYTHON="${IPCX_PYZMQ_PYTHON}"
  IPCX_WORKER_PY="${PROJECT_SOURCE_DIR}/examples/worker.py")
