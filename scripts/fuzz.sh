#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every libFuzzer target built in a fuzz build for SECONDS each,
# FUZZ_JOBS (default: the number of CPUs, at most 4) at a time.
#   scripts/fuzz.sh BUILD_DIR SECONDS
# A target tests/fuzz/<name>.c is built as <BUILD_DIR>/tests/<name>; its
# committed seed corpus is tests/fuzz/corpus/<name>/.  New inputs go to a
# scratch corpus under BUILD_DIR so the committed one only grows by hand.
set -eu
build=${1:?build dir}
secs=${2:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
[ "$jobs" -le 4 ] || jobs=4

# One target: its log in BUILD_DIR/<name>.log, its exit status in
# BUILD_DIR/<name>.rc.
run_one() {
    bin=$1
    name=$(basename "$bin")
    seeds="$root/tests/fuzz/corpus/$name"
    work="$build/corpus/$name"
    mkdir -p "$work"
    log="$build/$name.log"
    rc=0
    # -print_final_stats=1 gives the exec count; coverage shows as cov: in the log.
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/$name-" "$work" $( [ -d "$seeds" ] && echo "$seeds" ) \
        >"$log" 2>&1 || rc=$?
    echo "$rc" >"$build/$name.rc"
}

found=0
running=0
names=""
for bin in "$build"/tests/*_fuzz; do
    [ -x "$bin" ] || continue
    found=1
    name=$(basename "$bin")
    names="$names $name"
    rm -f "$build/$name.rc"
    echo "fuzz: $name for ${secs}s"
    run_one "$bin" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait
[ "$found" = 1 ] || { echo "fuzz: no fuzz targets in $build/tests" >&2; exit 1; }
for name in $names; do
    log="$build/$name.log"
    rc=$(cat "$build/$name.rc" 2>/dev/null || echo 1)
    echo "fuzz: $name:"
    grep -E '^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|stat::peak_rss)' "$log" || true
    grep -E 'cov: [0-9]+' "$log" | tail -n 1 || true
    if [ "$rc" != 0 ]; then
        echo "fuzz: $name FAILED (exit $rc); the log ends:" >&2
        tail -n 60 "$log" >&2
        failed=1
    fi
done
[ "${failed:-0}" = 0 ] || exit 1
