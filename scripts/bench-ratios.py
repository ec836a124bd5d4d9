#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print the target ratios of `ipcx bench` over several alternating rounds:
per round, then the median, minimum and maximum of each.

A thin wrapper: `ipcx bench --quick --json --rounds N` measures the rounds
(every selected case once per round, so a mode flip of the machine lands
in one round, not in one case) and computes the ratios itself, each between
rows of one round (docs/bench.md, "Ratios over rounds"); this script only
lays its "ratio" rows out as a table.  Needs only python3 and a built
`ipcx`.

usage: scripts/bench-ratios.py [--runs N] [--ipcx PATH] [--filter LIST]
"""
import argparse
import json
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", "--rounds", dest="runs", type=int, default=5,
                    help="rounds (default 5)")
    ap.add_argument("--ipcx", default="build/release/tools/ipcx/ipcx")
    ap.add_argument("--filter", default="floor-cacheline,floor-memcpy,pipe,unix-raw,ring,queue")
    a = ap.parse_args()
    out = subprocess.run([a.ipcx, "bench", "--quick", "--json", "--rounds", str(a.runs),
                          "--filter", a.filter], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    ratios = [r for r in rows if r.get("case") == "ratio"]
    summary = [r for r in ratios if "median" in r]
    names = [r["name"] for r in summary]
    for k in range(1, a.runs + 1):
        got = {r["name"]: r["ratio"] for r in ratios if r.get("round") == k}
        print("run %d: %s" % (k, " ".join("%.2f" % got[n] if n in got else "-" for n in names)))
    print("\n%-46s %-8s %7s %7s %7s" % ("ratio", "target", "median", "min", "max"))
    for r in summary:
        print("%-46s %-8s %7.2f %7.2f %7.2f" % (r["name"], r["target"], r["median"], r["min"],
                                                 r["max"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
