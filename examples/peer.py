#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""peer.py: another language talking to ipcx.  pyzmq (Debian python3-zmq,
or `pip install pyzmq`) is a ZeroMQ library, and ipcx speaks ZeroMQ's wire
protocol (ZMTP 3.1) on tcp:// and unix://, so this script is a full peer of
the C examples - in either role:

    peer.py push URL [COUNT]     dial URL, send COUNT work items (3)
    peer.py pull URL [COUNT]     listen on URL, print what arrives
    peer.py pub URL [COUNT]      listen on URL, publish "even N"/"odd N"
    peer.py sub URL [TOPIC [COUNT]]  dial URL, print what matches TOPIC
    peer.py req URL TEXT...      dial URL, send each TEXT, print the reply
    peer.py rep URL [COUNT]      listen on URL, answer in capitals

The same roles listen (pull, pub, rep) and dial (push, sub, req) as in the
C examples, so `./reqrep rep ipc:///tmp/x.sock` answers `peer.py req
ipc:///tmp/x.sock hello`, and the other way round.  libzmq spells unix://
as ipc://; ipcx understands both.
"""
import sys
import time

import zmq


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    role, url, args = argv[1], argv[2], argv[3:]
    kinds = {"push": zmq.PUSH, "pull": zmq.PULL, "pub": zmq.PUB,
             "sub": zmq.SUB, "req": zmq.REQ, "rep": zmq.REP}
    if role not in kinds:
        print(__doc__, file=sys.stderr)
        return 2
    ctx = zmq.Context()
    sock = ctx.socket(kinds[role])
    sock.linger = 1000  # like ipcx's default: 1 s to deliver what is queued
    if role in ("pull", "pub", "rep"):
        sock.bind(url)
    else:
        sock.connect(url)

    if role == "push":
        for n in range(1, int(args[0] if args else 3) + 1):
            sock.send_string("work item %d" % n)
    elif role == "pull":
        count = int(args[0]) if args else 0
        n = 0
        while count == 0 or n < count:
            print(sock.recv_string(), flush=True)
            n += 1
    elif role == "pub":
        count = int(args[0]) if args else 0
        n = 1
        while count == 0 or n <= count:
            sock.send_string("%s %d" % ("odd" if n % 2 else "even", n))
            time.sleep(0.1)  # the publisher's pace
            n += 1
    elif role == "sub":
        sock.setsockopt_string(zmq.SUBSCRIBE, args[0] if args else "")
        count = int(args[1]) if len(args) > 1 else 0
        n = 0
        while count == 0 or n < count:
            print(sock.recv_string(), flush=True)
            n += 1
    elif role == "req":
        sock.rcvtimeo = 5000  # give up on a reply after 5 s
        for text in args:
            sock.send_string(text)
            print(sock.recv_string(), flush=True)
    else:  # rep
        count = int(args[0]) if args else 0
        n = 0
        while count == 0 or n < count:
            sock.send(sock.recv().upper())
            n += 1
    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
