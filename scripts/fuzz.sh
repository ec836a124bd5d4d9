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
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/" "$work" $( [ -d "$seeds" ] && echo "$seeds" ) 2>&1 |
        tail -n 25
done
[ "$found" = 1 ] || { echo "fuzz: no fuzz targets in $build/tests" >&2; exit 1; }
