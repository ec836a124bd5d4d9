#!/bin/sh
# SPDX-License-Identifier: MIT
# Run two example programs against each other, as the README's two-terminal
# recipes do, and check what one of them printed.
#
#   example_pair.sh TRANSPORT WHO LINES REGEX LISTENER... -- DIALER...
#
# TRANSPORT  tcp (a loopback port derived from this shell's pid), ipc or shm (a
#            socket path in /tmp); every @URL@ in the commands becomes it.
# WHO        whose stdout is checked: listener, dialer, or dialer+kill (the
#            dialer's, and the listener - a publisher that runs forever -
#            is then stopped).
# LINES      how many lines that output must have; REGEX (grep -E) must
#            match every one of them.
#
# The listener starts in the background and the dialer at once (a dialling
# socket retries until the listener is there: no sleep).  Each runs under
# timeout(1), so nothing outlives the test.
set -u
transport=$1 who=$2 lines=$3 regex=$4
shift 4
case "$transport" in
tcp) url="tcp://127.0.0.1:$((20000 + $$ % 30000))" ;;
ipc) url="ipc:///tmp/ipcx-ex-$$.sock" ;;
shm) url="shm:///tmp/ipcx-ex-$$.sock" ;;
*) echo "example_pair.sh: transport tcp, ipc or shm" >&2; exit 2 ;;
esac
tmp=${TMPDIR:-/tmp}/ipcx-ex-$$
trap 'rm -f "$tmp".listener "$tmp".dialer "/tmp/ipcx-ex-$$.sock"' EXIT

listener=""
dialer=""
side=listener
for a in "$@"; do
    if [ "$a" = "--" ]; then side=dialer; continue; fi
    [ "$a" = "@URL@" ] && a=$url
    # Quote each word for the eval below.
    q=$(printf "%s" "$a" | sed "s/'/'\\\\''/g")
    if [ $side = listener ]; then listener="$listener '$q'"; else dialer="$dialer '$q'"; fi
done

eval "exec timeout 20 $listener" >"$tmp".listener &
lpid=$!
eval "timeout 20 $dialer" >"$tmp".dialer
drc=$?
if [ "$who" = dialer+kill ]; then
    kill "$lpid" 2>/dev/null
    wait "$lpid"
    lrc=0
    who=dialer
else
    wait "$lpid"
    lrc=$?
fi
if [ $drc -ne 0 ] || [ $lrc -ne 0 ]; then
    echo "example_pair.sh: dialer exited $drc, listener $lrc" >&2
    cat "$tmp".listener "$tmp".dialer >&2
    exit 1
fi
out="$tmp.$who"
cat "$out"
n=$(wc -l <"$out")
good=$(grep -cE "$regex" "$out")
if [ "$n" -ne "$lines" ] || [ "$good" -ne "$lines" ]; then
    echo "example_pair.sh: the $who printed $n lines ($good matching '$regex'), expected $lines" >&2
    exit 1
fi
exit 0
