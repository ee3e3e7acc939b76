#!/usr/bin/env python3
"""Prints the codec benchmark figures in decimal MB/s as a Markdown table.

Run after `cargo bench -p libcce --bench codec`:

    python3 core/benches/summary.py [target/criterion]

Criterion prints binary units (MiB/s, GiB/s) of its regression ("slope")
estimate. This reads the same run from target/criterion/<group>/<bench>/new/
and prints, per benchmark, decimal MB/s of the slope estimate (what criterion
printed), of the median sample and of the fastest sample. On a busy machine the
fastest sample is the closest to what the code does on an idle core.
The goal lines check the stream paths against 1 GB/s (1000 MB/s) per core:
v*/view_stream (borrowed framing + validated borrowed views: the path the goal is
met on) and v*/decode_stream (framing + owned `Message`s, for reference).
"""

import json
import sys
from pathlib import Path

GOAL_MB_S = 1000.0


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    rows = []
    for bench in sorted(root.glob("*/*/new/benchmark.json")):
        meta = load(bench)
        nbytes = (meta.get("throughput") or {}).get("Bytes")
        if not nbytes:
            continue
        est = load(bench.with_name("estimates.json"))
        sample = load(bench.with_name("sample.json"))
        per_iter = [t / n for t, n in zip(sample["times"], sample["iters"])]
        slope = (est.get("slope") or est["mean"])["point_estimate"]
        median = est["median"]["point_estimate"]
        best = min(per_iter)
        rows.append((meta["full_id"], nbytes, slope, median, best))
    if not rows:
        sys.exit(f"no criterion results under {root}; run cargo bench -p libcce --bench codec")

    def mb_s(nbytes, ns):
        return nbytes / ns * 1e3  # bytes per ns = GB/s; x1000 = MB/s

    print("| benchmark | stream bytes | time/iter (slope) | MB/s (slope) | MB/s (median) | MB/s (fastest sample) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, nbytes, slope, median, best in rows:
        print(
            f"| {name} | {nbytes} | {slope / 1e6:.3f} ms | {mb_s(nbytes, slope):.0f} "
            f"| {mb_s(nbytes, median):.0f} | {mb_s(nbytes, best):.0f} |"
        )
    for name, nbytes, slope, _median, best in rows:
        if name.endswith("/view_stream") or name.endswith("/decode_stream"):
            rate = mb_s(nbytes, slope)
            verdict = "met" if rate >= GOAL_MB_S else "NOT met"
            print(
                f"\ngoal {name}: {rate:.0f} MB/s (fastest sample {mb_s(nbytes, best):.0f}) "
                f"vs {GOAL_MB_S:.0f} MB/s per core: {verdict}"
            )


if __name__ == "__main__":
    main()
