#!/bin/sh
# SPDX-License-Identifier: MIT
# Run two example programs against each other, as the README's two-terminal
# recipes do, and check what one of them printed.
#
#   example_pair.sh TRANSPORT WHO LINES REGEX LISTENER... -- DIALER...
#
# TRANSPORT  tcp (a free loopback port below the kernel's ephemeral range), ipc
#            or shm (a socket path in /tmp); every @URL@ in the commands
#            becomes it.
# WHO        whose stdout is checked: listener, dialer, or dialer+kill (the
#            dialer's, and the listener - a publisher that runs forever -
#            is then stopped).
# LINES      how many lines that output must have; REGEX (grep -E) must
#            match every one of them.
#
# Both start in the background at once (a dialling socket retries until the
# listener is there: no sleep).  Each runs under timeout(1), so nothing
# outlives the test.  A listener that fails stops the dialer at once; one that
# failed because its tcp port was taken after we chose it (another test's
# ephemeral port, say) is run again on another port, up to three times.
set -u
transport=$1 who=$2 lines=$3 regex=$4
shift 4
tmp=${TMPDIR:-/tmp}/ipcx-ex-$$
sock=/tmp/ipcx-ex-$$.sock
trap 'rm -f "$tmp".listener "$tmp".dialer "$tmp".lerr "$tmp".lrc "$tmp".lpid \
    "$tmp".drc "$tmp".dpid "$sock"' EXIT

# A tcp port that nothing holds now, below the ephemeral range so that no
# connect() elsewhere on the machine is handed it while we run.
port_free() {
    hex=$(printf ':%04X ' "$1")
    ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex"
}
pick_port() {
    lo=32768
    [ -r /proc/sys/net/ipv4/ip_local_port_range ] &&
        read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
    [ "$lo" -gt 12000 ] || lo=32768 # a range that starts low: use the default
    span=$((lo - 10000))
    p=$((10000 + ($$ * 7 + $1 * 1009) % span))
    n=0
    while ! port_free "$p" && [ $n -lt 200 ]; do
        p=$((10000 + (p - 10000 + 1) % span))
        n=$((n + 1))
    done
    echo "$p"
}

# Quote each word for the evals below.
listener=""
dialer=""
side=listener
for a in "$@"; do
    if [ "$a" = "--" ]; then side=dialer; continue; fi
    q=$(printf "%s" "$a" | sed "s/'/'\\\\''/g")
    if [ $side = listener ]; then listener="$listener '$q'"; else dialer="$dialer '$q'"; fi
done

# Runs one command under timeout(1) in the background, recording the pid of
# timeout (which forwards a kill to the command) in $2.pid and the exit
# status in $2.rc when it ends.
spawn() {
    (
        eval "exec timeout 20 $1" &
        echo $! >"$2pid"
        wait $!
        echo $? >"$2rc.tmp"
        mv "$2rc.tmp" "$2rc"
    ) &
}

attempt=1
while :; do
    case "$transport" in
    tcp) url="tcp://127.0.0.1:$(pick_port $attempt)" ;;
    ipc) url="ipc://$sock" ;;
    shm) url="shm://$sock" ;;
    *) echo "example_pair.sh: transport tcp, ipc or shm" >&2; exit 2 ;;
    esac
    l=$(printf "%s" "$listener" | sed "s#@URL@#$url#g")
    d=$(printf "%s" "$dialer" | sed "s#@URL@#$url#g")
    rm -f "$tmp".lrc "$tmp".drc "$tmp".lpid "$tmp".dpid
    spawn "$l" "$tmp".l >"$tmp".listener 2>"$tmp".lerr
    spawn "$d" "$tmp".d >"$tmp".dialer
    # Wait for the dialer; a listener that fails first ends it.
    while [ ! -e "$tmp".drc ]; do
        if [ -e "$tmp".lrc ] && [ "$(cat "$tmp".lrc)" -ne 0 ] && [ -e "$tmp".dpid ]; then
            kill "$(cat "$tmp".dpid)" 2>/dev/null
        fi
        sleep 0.05
    done
    drc=$(cat "$tmp".drc)
    if [ "$who" = dialer+kill ]; then
        while [ ! -e "$tmp".lpid ]; do sleep 0.05; done
        kill "$(cat "$tmp".lpid)" 2>/dev/null
    fi
    while [ ! -e "$tmp".lrc ]; do sleep 0.05; done
    lrc=$(cat "$tmp".lrc)
    [ "$who" = dialer+kill ] && lrc=0 # stopped by us: its status is ours
    if [ "$lrc" -ne 0 ] && [ "$transport" = tcp ] && [ $attempt -lt 3 ] &&
        grep -qiE "address already in use|EADDRINUSE" "$tmp".lerr; then
        echo "example_pair.sh: $url was taken; trying another port" >&2
        attempt=$((attempt + 1))
        continue
    fi
    break
done
cat "$tmp".lerr >&2
wcheck=$who
[ "$who" = dialer+kill ] && wcheck=dialer
if [ "$drc" -ne 0 ] || [ "$lrc" -ne 0 ]; then
    echo "example_pair.sh: dialer exited $drc, listener $lrc ($url)" >&2
    cat "$tmp".listener "$tmp".dialer >&2
    exit 1
fi
out="$tmp.$wcheck"
cat "$out"
n=$(wc -l <"$out")
good=$(grep -cE "$regex" "$out")
if [ "$n" -ne "$lines" ] || [ "$good" -ne "$lines" ]; then
    echo "example_pair.sh: the $wcheck printed $n lines ($good matching '$regex'), expected $lines" >&2
    exit 1
fi
exit 0
