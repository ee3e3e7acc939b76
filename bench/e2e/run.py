#!/usr/bin/env python3
"""Driver of the end-to-end benchmark (`make bench-e2e`; see bench/e2e/README.md).

    run.py --bin-dir DIR [--python PY] [--node NODE]

Starts the blaster (DIR/blaster), runs every consumer and measurement against it one
after the other, and prints ONE table: events/s of each consumer and its share of the
raw socket reader's rate, request round trips against the raw socket's, the
many-sessions figures and the slow-consumer figures, then the machine and the commit.
Every ratio compares figures measured in this run. The C programs must find libcce
(the Makefile links them with an rpath to the release libcce).

Sizes (environment):
  BENCH_EVENTS          events per C consumer (default 500000)
  BENCH_RAW_EVENTS      events for the raw socket reader (default 4 x BENCH_EVENTS: it is fast)
  BENCH_BINDING_EVENTS  events per Python/Node consumer (default 200000)
  BENCH_REQUESTS        requests per round-trip measurement (default 10000)
  BENCH_SESSIONS        sessions of the scale measurement (default 10000)
  BENCH_SLOW_SECONDS    duration of each slow-consumer run (default 20)
  BENCH_JSON            also write every raw result to this file (default: none)

Every child runs with a timeout; the blaster exits when this script closes its stdin
(or dies), so no process outlives the run. Exits 1 if a measurement failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHILD_TIMEOUT_S = 600


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


class Blaster:
    """The blaster process; stops when its stdin is closed."""

    def __init__(self, exe: Path) -> None:
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the blaster did not start")
        self.info: dict[str, Any] = json.loads(line)
        self.port: int = self.info["port"]

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_json(cmd: list[str], what: str) -> dict[str, Any]:
    """Runs a measurement; returns its JSON result, or {"error": ...}."""
    print(f"bench-e2e: {what}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT_S} s"}
    except OSError as e:
        return {"error": str(e)}
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": f"exit status {p.returncode}"}
    result: dict[str, Any] = json.loads(lines[-1])
    print(f"bench-e2e:   {lines[-1]}", file=sys.stderr, flush=True)
    return result


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              timeout=10, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dirty = " (with uncommitted changes)" if sh(["git", "status", "--porcelain", "--untracked-files=no"]) else ""
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "kernel": f"{platform.system()} {platform.release()}",
        "commit": sh(["git", "rev-parse", "--short=12", "HEAD"]) + dirty,
        "branch": sh(["git", "rev-parse", "--abbrev-ref", "HEAD"]),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def fmt_rate(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"failed ({r['error']})"
    if "unavailable" in r:
        return "n/a"
    return f"{r['events_per_s']:,.0f}"


def share(r: dict[str, Any], raw: dict[str, Any]) -> str:
    if "events_per_s" not in r or not raw.get("events_per_s"):
        return "n/a" if "unavailable" in r else "—"
    return f"{100.0 * r['events_per_s'] / raw['events_per_s']:.2f} %"


def kb(v: float) -> str:
    return f"{v / 1024:,.1f} MB" if abs(v) >= 1024 else f"{v:,.0f} KB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", required=True, type=Path)
    ap.add_argument("--python", default="")
    ap.add_argument("--node", default="node")
    args = ap.parse_args()
    events = env_int("BENCH_EVENTS", 500_000)
    raw_events = env_int("BENCH_RAW_EVENTS", 4 * events)
    binding_events = env_int("BENCH_BINDING_EVENTS", 200_000)
    requests = env_int("BENCH_REQUESTS", 10_000)
    sessions = env_int("BENCH_SESSIONS", 10_000)
    slow_s = env_int("BENCH_SLOW_SECONDS", 20)
    b = args.bin_dir

    started = time.monotonic()
    m = machine()
    res: dict[str, Any] = {"machine": m, "sizes": {"events": events, "raw_events": raw_events, "binding_events": binding_events,
                                                   "requests": requests, "sessions": sessions,
                                                   "slow_seconds": slow_s}}
    blaster = Blaster(b / "blaster")
    try:
        res["stream"] = blaster.info
        port = str(blaster.port)
        consumers: list[tuple[str, str, dict[str, Any]]] = []

        def consumer(label: str, key: str, cmd: list[str]) -> None:
            r = run_json(cmd, label)
            res[key] = r
            consumers.append((label, key, r))

        consumer("raw C socket reader (same bytes, frames counted by header)", "raw",
                 [str(b / "consume"), "raw", port, str(raw_events)])
        consumer("C typed callback (`cti_open_typed`)", "typed", [str(b / "consume"), "typed", port, str(events)])
        consumer("C JSON callback (`cti_open` + callback)", "json", [str(b / "consume"), "json", port, str(events)])
        consumer("C batch poll (`cti_poll_events`, 256)", "poll", [str(b / "consume"), "poll", port, str(events)])
        if args.python:
            consumer("Python `session.events()`", "python",
                     [args.python, str(HERE / "consume.py"), port, str(binding_events)])
        consumer("Node `'event'` listener", "node",
                 [args.node, str(HERE / "consume.mjs"), port, str(binding_events)])

        rt = run_json([str(b / "request"), port, str(requests)], "round trips, raw socket and cti_request")
        res["req_raw"] = rt.get("raw", rt)
        res["req_lib"] = rt.get("lib", rt)
        res["scale"] = run_json([str(b / "scale"), port, str(sessions)], f"{sessions} sessions")
        res["slow_block"] = run_json([str(b / "slow"), port, str(slow_s), "block"], "slow consumer, block")
        res["slow_close"] = run_json([str(b / "slow"), port, str(slow_s), "close"], "slow consumer, close")
    finally:
        blaster.stop()
    m["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    res["elapsed_s"] = round(time.monotonic() - started, 1)

    out: list[str] = []
    raw = res["raw"]
    out.append(f"End to end (make bench-e2e): {res['stream'].get('bytes_per_event', '?')} bytes/event, "
               f"{events:,} events per C consumer ({raw_events:,} for the raw reader), {binding_events:,} per binding; "
               "ratios from this run")
    out.append("")
    out.append("| measurement | value | vs. raw socket |")
    out.append("|---|---:|---:|")
    for label, _key, r in consumers:
        out.append(f"| {label} | {fmt_rate(r)} events/s | {share(r, raw)} |"
                   if "events_per_s" in r else f"| {label} | {fmt_rate(r)} | {share(r, raw)} |")
    rr, rl = res["req_raw"], res["req_lib"]
    for p in ("p50", "p99"):
        k = f"{p}_us"
        if k in rr and k in rl:
            out.append(f"| request round trip {p}: `cti_request` / raw socket (alternated) | {rl[k]:,.1f} µs / {rr[k]:,.1f} µs "
                       f"| {rl[k] / rr[k]:.2f}× |")
        else:
            out.append(f"| request round trip {p} | failed ({rl.get('error') or rr.get('error')}) | — |")
    sc = res["scale"]
    if "skipped" in sc:
        out.append(f"| {sessions:,} sessions with callbacks | skipped: {sc['skipped']} | |")
    elif "error" in sc:
        out.append(f"| {sessions:,} sessions with callbacks | failed ({sc['error']}) | |")
    else:
        out.append(f"| {sessions:,} sessions with callbacks: threads in the process | {sc['threads']:,} | |")
        out.append(f"| … RSS per idle session | {sc['rss_per_session_kb']:,.1f} KB | |")
        out.append(f"| … time to open all (one after the other) / to close all | {sc['open_s']:.2f} s / "
                   f"{sc['close_s']:.2f} s | |")
    for key, what in (("slow_block", "block"), ("slow_close", "close")):
        s = res[key]
        if "error" in s:
            out.append(f"| slow consumer, overrun `{what}` | failed ({s['error']}) | |")
            continue
        q = s.get("queue_stats") or {}
        out.append(f"| slow consumer ({s['slow_ms_per_event']} ms/event), overrun `{what}`: max RSS growth over "
                   f"{s['seconds']} s | {kb(s['rss_growth_kb'])} | |")
        out.append(f"| … queue: high water events / bytes, dropped, delivered | "
                   f"{q.get('high_water_events', '?'):,} / {q.get('high_water_bytes', '?'):,}, "
                   f"{q.get('dropped', '?'):,}, {q.get('delivered', '?'):,} | |"
                   if q else "| … queue stats | unavailable | |")
        status = "ok" if s["close_status"] == 0 else f"status {s['close_status']}"
        out.append(f"| … `cti_close` (close timeout {s['close_timeout_ms']:,} ms) | {s['close_ms']:,.0f} ms ({status}) | |")
        out.append(f"| … SESSION_CLOSED reason | {s['closed_reason']} | |")
    out.append("")
    out.append(f"Machine: nproc {m['nproc']}, {m['cpu']}, {m['kernel']}; load average {m['load']} at the start, "
               f"{m['load_end']} at the end. Commit {m['commit']} (branch {m['branch']}); "
               f"the run took {res['elapsed_s']} s.")
    print("\n".join(out), flush=True)

    dest = os.environ.get("BENCH_JSON", "")
    if dest:
        Path(dest).write_text(json.dumps(res, indent=2) + "\n")
    failed = [k for k, v in res.items() if isinstance(v, dict) and "error" in v]
    if failed:
        print(f"bench-e2e: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
