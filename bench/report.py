"""Run every benchmark in bench/ and write one report, bench/RESULTS.md: for each goal of
the issues, the workload, backend, throughput, latency percentiles, peak memory, the ratio
to its same-run baseline, the goal and whether it was met; then each benchmark's own
tables as it printed them, and the machine they ran on.

    python -m bench.report            # every benchmark at the sizes the goals name
    python -m bench.report --quick    # smaller sizes: minutes, for a smoke run
    python -m bench.report --only redirect,keywords

Each benchmark runs in its own process (they start servers, load generators and
databases of their own); rows reach this report through TRACKLY_BENCH_RECORD (see
bench/harness.py). Timings are read, never asserted: the machine is shared and noisy,
so ratios to a baseline measured in the same run are what to compare."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import RECORD_ENV

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str
    full: list[str]
    quick: list[str]
    timeout: float = 1800


@dataclass(frozen=True)
class Goal:
    """One goal of an issue, read off the recorded rows of one benchmark."""

    issue: int
    bench: str
    text: str
    row: Callable[[dict[str, Any]], bool]  # which row carries the figure
    met: Callable[[dict[str, Any]], bool]
    shown: Callable[[dict[str, Any]], str]


BENCHES: list[Bench] = [
    Bench("keywords", [], ["--mix", "5000", "--repeat", "2"]),
    Bench("webhooks", [], ["--seconds", "3"]),
    Bench("send_api", [], ["--seconds", "3"]),
    Bench("stop_burst", [], ["--subscribers", "1000"]),
    Bench("dispatch", ["--messages", "100000"], ["--messages", "20000"]),
    Bench("workers", ["--messages", "60000"], ["--messages", "20000"]),
    Bench("audience_count", ["--rows", "1000000"], ["--rows", "100000", "--runs", "3"]),
    Bench("launch", ["--rows", "1000000"], ["--rows", "100000", "--runs", "2"]),
    Bench("redirect", [], ["--seconds", "3"]),
    Bench("selection", [], ["--sends", "20000", "--seeds", "3"], timeout=3600),
    Bench("billing", [], ["--messages", "20000", "--runs", "2"]),
    Bench("charts", [], ["--charts", "6"]),
    Bench("import_csv", ["--sizes", "1000000"], ["--sizes", "100000"]),
    Bench("providers", [], ["--messages", "20000", "--http-messages", "5000"]),
]

GOALS: list[Goal] = [
    Goal(17, "workers", "N worker processes >= 0.8 N x one, up to the cores",
         row=lambda r: r["case"][0] in "23" and int(r["case"][0]) <= (os.cpu_count() or 1),
         met=lambda r: (r["ratio"] or 0) >= 0.8 * int(r["case"][0]),
         shown=lambda r: f"{r['rate']:,.0f} msg/s ({r['case']})"),
]


def _ratio(row: dict[str, Any]) -> str:
    return f"{row['ratio']:.2f}x" if row.get("ratio") else "-"


def _num(row: dict[str, Any], key: str, fmt: str = ".1f") -> str:
    return "-" if row.get(key) is None else format(row[key], fmt)


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        mem_kb = int(info.readline().split()[1])
    try:
        pg = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test",
                             "-Atc", "SHOW server_version"], capture_output=True, text=True,
                            timeout=10, check=False).stdout.strip() or "not reachable"
    except OSError:
        pg = "psql not installed"
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
            f"PostgreSQL {pg}; load average at the start {load[0]:.1f}")


def run(bench: Bench, args: list[str], record: Path) -> tuple[str, float, int]:
    began = time.monotonic()
    env = {**os.environ, RECORD_ENV: str(record)}
    try:
        done = subprocess.run([sys.executable, "-m", f"bench.{bench.name}", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=bench.timeout, check=False)
        output, code = done.stdout + done.stderr[-4000:], done.returncode
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") if isinstance(
            exc.stdout, bytes) else (exc.stdout or "")
        output += f"\n(stopped after {bench.timeout:.0f} s)"
        code = -1
    return output, time.monotonic() - began, code


def render(rows: list[dict[str, Any]], outputs: dict[str, tuple[str, float, int]],
           quick: bool) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m bench.report{' --quick' if quick else ''}` on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Machine: {machine()}.",
        "",
        "Ratios compare with a baseline measured in the same run on the same data; the "
        "absolute figures move with whatever else the machine is doing.",
        "",
        "## Goals",
        "",
        "| issue | goal | benchmark | backend | figure | ratio | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for goal in GOALS:
        found = [r for r in rows if r["bench"] == goal.bench and goal.row(r)]
        if not found:
            lines.append(f"| {goal.issue} | {goal.text} | {goal.bench} | - | not measured "
                         "| - | no |")
            continue
        for r in found:
            lines.append(f"| {goal.issue} | {goal.text} | {goal.bench} | {r['backend']} | "
                         f"{goal.shown(r)} | {_ratio(r)} | {'yes' if goal.met(r) else 'NO'} |")
    lines += ["", "## Every row", "",
              "| benchmark | backend | case | items | rate | p50 ms | p99 ms | peak MB | "
              "vs base |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['bench']} | {r['backend']} | {r['case']} | {r['items']:,} | "
                     f"{r['rate']:,.0f} {r['unit']} | {_num(r, 'p50')} | {_num(r, 'p99')} | "
                     f"{_num(r, 'peak_mb', '.0f')} | {_ratio(r)} |")
    lines += ["", "## Each benchmark's own output", ""]
    for name, (output, took, code) in outputs.items():
        status = "ok" if code == 0 else f"exit code {code}"
        lines += [f"### {name} ({took:.0f} s, {status})", "", "```", output.strip(), "```",
                  ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--rows", type=Path, help="also keep the recorded rows (JSON lines)")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only.split(",")]
    outputs: dict[str, tuple[str, float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="trackly-report-") as tmp:
        record = args.rows or Path(tmp) / "rows.jsonl"
        record.write_text("")
        for bench in chosen:
            print(f"running bench.{bench.name} ...", flush=True)
            outputs[bench.name] = run(bench, bench.quick if args.quick else bench.full,
                                      record)
            print(f"  {outputs[bench.name][1]:.0f} s, exit {outputs[bench.name][2]}",
                  flush=True)
        rows = [json.loads(line) for line in record.read_text().splitlines() if line]
    args.out.write_text(render(rows, outputs, args.quick), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
