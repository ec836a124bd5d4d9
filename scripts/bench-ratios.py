#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run `ipcx bench --quick --json` several times and print, for each run,
the ratios the ring and queue issues set targets for (each ratio between
rows of the same run), then the median, minimum and maximum of each.

This machine flips between a fast and a slow mode every few minutes, so a
single run can land a ratio anywhere; the spread over several runs says how
far one figure can be trusted.  Needs only python3 and a built `ipcx`.

usage: scripts/bench-ratios.py [--runs N] [--ipcx PATH] [--filter LIST]
"""
import argparse
import json
import statistics
import subprocess
import sys

# (label, target text, function of the run's rows -> ratio or None)
def row(rows, **want):
    for r in rows:
        if all(r.get(k) == v for k, v in want.items()):
            return r
    return None


def ratio(a, fa, b, fb):
    if a is None or b is None or not b.get(fb):
        return None
    return a[fa] / b[fb]


def checks():
    R = "ring"
    return [
        ("ring pingpong spin p50 / floor p50", "<= 1.15",
         lambda x: ratio(row(x, transport=R, case="pingpong", wait="spin"), "rtt_ns_p50",
                         row(x, transport="floor-cacheline", case="pingpong"), "rtt_ns_p50")),
        ("ring pingpong spin p99 / floor p99", "<= 2",
         lambda x: ratio(row(x, transport=R, case="pingpong", wait="spin"), "rtt_ns_p99",
                         row(x, transport="floor-cacheline", case="pingpong"), "rtt_ns_p99")),
        ("ring pingpong block p50 / spin p50", "<= 1.5",
         lambda x: ratio(row(x, transport=R, case="pingpong", wait="block"), "rtt_ns_p50",
                         row(x, transport=R, case="pingpong", wait="spin"), "rtt_ns_p50")),
        ("ring stream 64 B / pipe", ">= 15",
         lambda x: ratio(row(x, transport=R, case="stream", size=64, producers=1), "msgs_per_s",
                         row(x, transport="pipe", case="stream", size=64), "msgs_per_s")),
        ("ring stream 64 KiB copy / unix-raw", ">= 8",
         lambda x: ratio(row(x, transport=R, case="stream", size=65536, api="copy"), "bytes_per_s",
                         row(x, transport="unix-raw", case="stream", size=65536), "bytes_per_s")),
        ("ring zero-copy 1 KiB / 1 MiB msgs/s", "<= 1.5",
         lambda x: ratio(row(x, transport=R, case="stream", size=1024, api="zerocopy"), "msgs_per_s",
                         row(x, transport=R, case="stream", size=1 << 20, api="zerocopy"),
                         "msgs_per_s")),
        ("ring 4P1C / SPSC", ">= 0.5",
         lambda x: ratio(row(x, transport=R, case="stream", size=64, producers=4), "msgs_per_s",
                         row(x, transport=R, case="stream", size=64, producers=1), "msgs_per_s")),
        ("queue steady / ring 64 B", ">= 0.9",
         lambda x: ratio(row(x, transport="queue", variant="steady", wait="spin"), "msgs_per_s",
                         row(x, transport=R, case="stream", size=64, producers=1), "msgs_per_s")),
        ("queue growing / ring 64 B", ">= 0.5",
         lambda x: ratio(row(x, transport="queue", variant="growing"), "msgs_per_s",
                         row(x, transport=R, case="stream", size=64, producers=1), "msgs_per_s")),
        ("queue durable 64 B / ring 64 B", ">= 0.7",
         lambda x: ratio(row(x, transport="queue", variant="durable", size=64), "msgs_per_s",
                         row(x, transport=R, case="stream", size=64, producers=1), "msgs_per_s")),
        ("queue durable 64 KiB / ring 64 KiB", ">= 0.7",
         lambda x: ratio(row(x, transport="queue", variant="durable", size=65536), "bytes_per_s",
                         row(x, transport=R, case="stream", size=65536, api="copy"),
                         "bytes_per_s")),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ipcx", default="build/release/tools/ipcx/ipcx")
    ap.add_argument("--filter", default="floor-cacheline,pipe,unix-raw,ring,queue")
    a = ap.parse_args()
    cs = checks()
    got = [[] for _ in cs]
    for n in range(a.runs):
        out = subprocess.run([a.ipcx, "bench", "--quick", "--json", "--filter", a.filter],
                             capture_output=True, text=True, check=True).stdout
        rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        line = []
        for i, (_, _, f) in enumerate(cs):
            v = f(rows)
            if v is not None:
                got[i].append(v)
            line.append("-" if v is None else "%.2f" % v)
        print("run %d: %s" % (n + 1, " ".join(line)), flush=True)
    print("\n%-40s %-8s %7s %7s %7s" % ("ratio", "target", "median", "min", "max"))
    for (label, target, _), v in zip(cs, got):
        if v:
            print("%-40s %-8s %7.2f %7.2f %7.2f" % (label, target, statistics.median(v), min(v),
                                                     max(v)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
