#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every libFuzzer target built in a fuzz build for SECONDS each.
#   scripts/fuzz.sh BUILD_DIR SECONDS
# A target tests/fuzz/<name>.c is built as <BUILD_DIR>/tests/<name>; its
# committed seed corpus is tests/fuzz/corpus/<name>/.  New inputs go to a
# scratch corpus under BUILD_DIR so the committed one only grows by hand.
set -eu
build=${1:?build dir}
secs=${2:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
found=0
for bin in "$build"/tests/*_fuzz; do
    [ -x "$bin" ] || continue
    found=1
    name=$(basename "$bin")
    seeds="$root/tests/fuzz/corpus/$name"
    work="$build/corpus/$name"
    mkdir -p "$work"
    echo "fuzz: $name for ${secs}s"
    # -print_final_stats=1 gives the exec count; coverage shows as cov: in the log.
    log="$build/$name.log"
    rc=0
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/$name-" "$work" $( [ -d "$seeds" ] && echo "$seeds" ) \
        >"$log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|stat::peak_rss)' "$log" || true
    grep -E 'cov: [0-9]+' "$log" | tail -n 1 || true
    if [ "$rc" != 0 ]; then
        echo "fuzz: $name FAILED (exit $rc); the log ends:" >&2
        tail -n 60 "$log" >&2
        failed=1
    fi
done
[ "${failed:-0}" = 0 ] || exit 1
[ "$found" = 1 ] || { echo "fuzz: no fuzz targets in $build/tests" >&2; exit 1; }
