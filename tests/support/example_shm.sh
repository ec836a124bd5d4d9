#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the shared-memory recipes of examples/README.md as a person would in
# two terminals, in a private region directory, and check what they print
# and that they leave nothing behind.
#
#   example_shm.sh RECIPE EXAMPLES_DIR IPCX_TOOL
#
# RECIPE is pingpong, slow_consumer, broadcast or durable_resume.  Every
# program runs under timeout(1), so nothing outlives the test.
set -u
recipe=$1 bin=$2 tool=$3
IPCX_SHM_DIR=$(mktemp -d -p /dev/shm ipcx-ex.XXXXXX 2>/dev/null || mktemp -d)
export IPCX_SHM_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$IPCX_SHM_DIR" "$tmp"' EXIT
fail() {
    echo "example_shm.sh: $recipe: $*" >&2
    for f in "$tmp"/*.out; do echo "--- $f" >&2; cat "$f" >&2; done
    exit 1
}
t() { timeout 60 "$@"; }
# expect FILE LINE...: FILE holds exactly these lines.
expect() {
    f=$1
    shift
    printf '%s\n' "$@" >"$tmp/want"
    cmp -s "$f" "$tmp/want" || fail "$(basename "$f") is not as expected"
}
empty_dir() {
    left=$(ls "$IPCX_SHM_DIR")
    [ -z "$left" ] || fail "left behind: $left"
}

case "$recipe" in
pingpong)
    # pong first: it waits for the rings to appear; ping creates and removes them.
    timeout 60 "$bin/ring_pingpong" pong pp >"$tmp/pong.out" &
    p=$!
    t "$bin/ring_pingpong" ping pp 3 >"$tmp/ping.out" || fail "ping failed"
    wait $p || fail "pong failed"
    expect "$tmp/ping.out" "pong 1" "pong 2" "pong 3"
    expect "$tmp/pong.out" "ping 1" "ping 2" "ping 3"
    empty_dir
    ;;
slow_consumer)
    # The producer finishes before the consumer starts: the queue holds it all.
    t "$bin/queue_slow_consumer" produce sc 20000 1000 >"$tmp/produce.out" || fail "produce failed"
    grep -q '^sent 20000: the queue holds' "$tmp/produce.out" || fail "no 'sent' line"
    t "$bin/queue_slow_consumer" consume sc 0 >"$tmp/consume.out" || fail "consume failed"
    grep -q '^memory came back: ' "$tmp/consume.out" || fail "memory did not come back"
    empty_dir
    ;;
broadcast)
    # One subscriber from the start, one that joins after the publisher
    # finished: both see every tick from the oldest.
    timeout 60 "$bin/broadcast" sub bc >"$tmp/early.out" &
    e=$!
    mkfifo "$tmp/pub.fifo"
    timeout 60 "$bin/broadcast" pub bc 5 20000 >"$tmp/pub.fifo" &
    p=$!
    read -r line <"$tmp/pub.fifo"
    [ "$line" = "published 5" ] || fail "publisher said '$line'"
    t "$bin/broadcast" sub bc >"$tmp/late.out" || fail "late subscriber failed"
    wait $e || fail "early subscriber failed"
    kill $p 2>/dev/null
    wait $p
    expect "$tmp/early.out" "tick 1" "tick 2" "tick 3" "tick 4" "tick 5"
    expect "$tmp/late.out" "tick 1" "tick 2" "tick 3" "tick 4" "tick 5"
    "$tool" rm bc || fail "ipcx rm bc"
    empty_dir
    ;;
durable_resume)
    d=$tmp/durable/q
    mkdir -p "$tmp/durable"
    t "$bin/durable_resume" produce "$d" 6 || fail "produce failed"
    t "$bin/durable_resume" consume "$d" 1 2 >"$tmp/first.out"
    rc=$?
    [ $rc -eq 137 ] || fail "the consumer should have died by SIGKILL (exit $rc)"
    t "$bin/durable_resume" consume "$d" 1 >"$tmp/second.out" || fail "resume failed"
    expect "$tmp/first.out" "record 1 (seq 0)" "record 2 (seq 1)"
    expect "$tmp/second.out" "record 3 (seq 2)" "record 4 (seq 3)" "record 5 (seq 4)" \
        "record 6 (seq 5)" "end of stream"
    "$tool" rm "$d" || fail "ipcx rm of the durable queue"
    [ ! -e "$d" ] || fail "ipcx rm left $d"
    ;;
*)
    echo "example_shm.sh: unknown recipe $recipe" >&2
    exit 2
    ;;
esac
exit 0
