#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Mutation check (issue 12): build the library with one named fault
# compiled in, run the tests (every label but "stress"), and call the
# mutant caught when at least one test fails.  One build directory per
# mutant: build/mutant-<name>.  Prints a table (markdown) at the end.
#
#   sh scripts/mutants.sh [name ...]     default: every mutant below
#   MUTANT_TESTS=regex                   only tests matching regex (ctest -R)
#   MUTANT_TIMEOUT=s                     per-test bound (default 120 s): a
#                                        mutant that makes a test hang fails it
#   JOBS=n                               build and ctest jobs (default 2)
#
# The faults are #ifdef blocks in the sources, off in every normal build:
#   no-sync             IPCX_MUTANT_NO_SYNC: msync and fsync are no-ops
#                       (src/queue/queue_store.c)
#   no-futex-wake       IPCX_MUTANT_NO_FUTEX_WAKE: FUTEX_WAKE removed
#                       (src/platform/futex.c)
#   always-dead         IPCX_MUTANT_ALWAYS_DEAD: the liveness check always
#                       says "dead" (src/platform/liveness.c)
#   no-overwrite-floor  IPCX_MUTANT_NO_OVERWRITE_FLOOR: the overwrite
#                       floor check after reading is gone (src/ring/ring_int.h)
# CI does not run this; docs/testing.md has the last table.
set -u
cd "$(dirname "$0")/.." || exit 2

ALL="no-sync no-futex-wake always-dead no-overwrite-floor"
JOBS=${JOBS:-2}
TIMEOUT=${MUTANT_TIMEOUT:-120}
FILTER=${MUTANT_TESTS:-}

macro() {
    case $1 in
    no-sync) echo IPCX_MUTANT_NO_SYNC ;;
    no-futex-wake) echo IPCX_MUTANT_NO_FUTEX_WAKE ;;
    always-dead) echo IPCX_MUTANT_ALWAYS_DEAD ;;
    no-overwrite-floor) echo IPCX_MUTANT_NO_OVERWRITE_FLOOR ;;
    *) return 1 ;;
    esac
}

[ $# -gt 0 ] || set -- $ALL
rows=""
status=0
for m in "$@"; do
    def=$(macro "$m") || { echo "mutants: unknown mutant '$m' (known: $ALL)" >&2; exit 2; }
    dir=build/mutant-$m
    log=$dir/mutant.log
    mkdir -p "$dir"
    echo "== $m ($def): building in $dir" >&2
    if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS=-D$def" >"$log" 2>&1 ||
        ! cmake --build "$dir" -j "$JOBS" >>"$log" 2>&1; then
        rows="$rows| $m | \`$def\` | build failed (see $log) | - |
"
        status=1
        continue
    fi
    echo "== $m: testing" >&2
    if [ -n "$FILTER" ]; then
        ctest --test-dir "$dir" -j "$JOBS" -LE stress --timeout "$TIMEOUT" -R "$FILTER" >>"$log" 2>&1
    else
        ctest --test-dir "$dir" -j "$JOBS" -LE stress --timeout "$TIMEOUT" >>"$log" 2>&1
    fi
    failed=$(sed -n '/tests FAILED:/,$s/^[[:space:]]*[0-9][0-9]* - \([A-Za-z0-9_]*\) .*/\1/p' "$log" |
        sort -u | tr '\n' ' ' | sed 's/ $//')
    total=$(sed -n 's/.* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
    if [ -n "$failed" ]; then
        verdict="caught"
    else
        verdict="**not caught**"
        status=1
    fi
    rows="$rows| $m | \`$def\` | $verdict | ${failed:-none} (of ${total:-?} run) |
"
    echo "== $m: $verdict: ${failed:-no test failed}" >&2
done

echo "| mutant | macro | verdict | tests that failed |"
echo "|---|---|---|---|"
printf '%s' "$rows"
exit $status
