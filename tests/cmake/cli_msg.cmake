# SPDX-License-Identifier: MIT
# `ipcx send` and `ipcx recv`: the real binary in pairs of processes over
# unix:// and tcp:// (formats, patterns, limits, timeouts, usage errors,
# signals, peers that misbehave).
ipcx_test(test_cli_msg SOURCES integration/test_cli_msg.c LABELS integration TIMEOUT 240)
add_dependencies(test_cli_msg ipcx_tool)
