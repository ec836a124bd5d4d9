#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The pyzmq side of test_socket_pyzmq (tests/interop/test_socket_pyzmq.c).

    pyzmq_peer.py push|rep|pub bind|connect URL

It talks to the ipcx socket of the test over URL and to the test itself
over stdin/stdout, one word a line:

  - bind: prints "ep <endpoint>" once it listens (the port picked for
    tcp://127.0.0.1:*);
  - pub: sends "S-sync" until the test says "synced" (its subscription has
    then reached this PUB), then the messages;
  - at the end, prints "fin" and waits for "fin" from the test.

Every message is the same as the C test expects, byte for byte (messages()
below and expected() there).  Any failure - a timeout, a wrong request -
raises, and the interpreter exits non-zero with the reason on stderr.
"""
import select
import sys

import zmq

WAIT_MS = 5000


def big():
    """16 MiB, every byte value in turn (the C side builds the same)."""
    return bytes(range(256)) * (64 * 1024)


def messages():
    return [
        [b"hello"],
        [b"first", b"", b"third"],
        [bytes(range(256))],
        [b""],
        [big()],
        [b"bye"],
    ]


def say(word):
    sys.stdout.write(word + "\n")
    sys.stdout.flush()


def heard(word, timeout_s):
    """True when the test sent `word` within timeout_s; raises on anything else."""
    r, _, _ = select.select([sys.stdin], [], [], timeout_s)
    if not r:
        return False
    line = sys.stdin.readline().strip()
    if line != word:
        raise RuntimeError("expected %r from the test, got %r" % (word, line))
    return True


def push(sock):
    for m in messages():
        sock.send_multipart(m)


def rep(sock):
    for want in messages():
        got = sock.recv_multipart()
        if got != want:
            raise RuntimeError("request %r..., expected %r..." % (got[:1], want[:1]))
        sock.send_multipart(got + [b"reply"])


def pub(sock):
    for _ in range(2 * WAIT_MS // 20):
        sock.send(b"S-sync")
        if heard("synced", 0.02):
            break
    else:
        raise RuntimeError("the subscriber never got S-sync")
    sock.send(b"A-one")
    sock.send(b"C-not")  # not subscribed: the SUB never sees it
    sock.send_multipart([b"B-two", b"", b"tail"])
    sock.send_multipart([b"B-big", big()])
    sock.send(b"S-end")


def main():
    kind, mode, url = sys.argv[1:4]
    ctx = zmq.Context()
    stype = {"push": zmq.PUSH, "rep": zmq.REP, "pub": zmq.PUB}[kind]
    sock = ctx.socket(stype)
    for opt in (zmq.RCVTIMEO, zmq.SNDTIMEO):
        sock.setsockopt(opt, WAIT_MS)
    if mode == "bind":
        sock.bind(url)
        say("ep " + sock.getsockopt_string(zmq.LAST_ENDPOINT))
    else:
        sock.connect(url)
    {"push": push, "rep": rep, "pub": pub}[kind](sock)
    say("fin")
    if not heard("fin", WAIT_MS / 1000):
        raise RuntimeError("no fin from the test")
    sock.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main()
