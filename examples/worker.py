#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""worker.py: a remote worker of an ipcx pool, written with pyzmq (Debian
python3-zmq, or `pip install pyzmq`).

    worker.py URL [DEPTH]

Dials the pool's tcp:// (or ipc://) endpoint with a DEALER socket, says
READY with how many tasks it may hold (DEPTH, 4 by default), and answers
every TASK with a RESULT until the pool says STOP.  Each task's result is
the number of whitespace-separated words in its bytes, as a little-endian
64-bit integer.  The frames are described in docs/pool.md.
"""
import struct
import sys

import zmq


def work(task):
    return struct.pack("<Q", len(task.split()))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    depth = int(argv[2]) if len(argv) > 2 else 4
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.connect(argv[1])
    sock.send_multipart([b"READY", struct.pack("<I", depth)])
    while True:
        frames = sock.recv_multipart()
        if frames[0] == b"STOP":
            return 0
        if frames[0] != b"TASK":
            continue  # PING, or something newer: ignore
        task_id = frames[1][:8]  # id (u64) then attempt (u32)
        task = frames[2] if len(frames) > 2 else b""
        sock.send_multipart([b"RESULT", task_id + struct.pack("<i", 0), work(task)])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
