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
    Bench("click_writes", [], ["--clicks", "20000"]),
    Bench("selection", [], ["--sends", "20000", "--seeds", "3"], timeout=3600),
    Bench("billing", [], ["--messages", "20000", "--runs", "2"]),
    Bench("charts", [], ["--charts", "6"]),
    Bench("import_csv", ["--sizes", "100000,1000000"], ["--sizes", "100000"]),
    Bench("providers", [], ["--messages", "20000", "--http-messages", "5000"]),
]

def _case(prefix: str, backend: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["case"].startswith(prefix) and backend in (None, r["backend"])


def _rate(unit: str = "/s") -> Callable[[dict[str, Any]], str]:
    return lambda r: f"{r['rate']:,.0f}{unit}"


def _rate_p99(r: dict[str, Any]) -> str:
    return f"{r['rate']:,.0f}/s, p99 {r['p99']:.0f} ms"


def _lag(r: dict[str, Any]) -> str:
    return f"loop lag max {r['loop_lag_max_ms']:.0f} ms"


_charts_inline: dict[str, float] = {}  # filled from the rows as render() reads them


def _remember_inline(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r["bench"] == "charts" and r["case"].startswith("inline"):
            _charts_inline["lag"] = r.get("loop_lag_max_ms", 0.0)


# Every benchmark goal the issues set (the issue that set it first; later issues that
# restated it say the same). Billing (issue 15) states no figure to meet: its rows are in
# "Every row". Each row selector names the case the benchmark prints.
GOALS: list[Goal] = [
    Goal(4, "dispatch", "executor -> simulator on PostgreSQL >= 2,000 msg/s",
         row=_case("executor -> simulator", "postgres"),
         met=lambda r: r["rate"] >= 2000, shown=_rate(" msg/s")),
    Goal(4, "dispatch", "executor -> simulator on PostgreSQL >= 0.5x the claim+update "
         "baseline", row=_case("executor -> simulator", "postgres"),
         met=lambda r: (r["ratio"] or 0) >= 0.5, shown=_rate(" msg/s")),
    Goal(11, "dispatch", "executor -> simulator >= 0.75x the claim+update floor",
         row=_case("executor -> simulator"),
         met=lambda r: (r["ratio"] or 0) >= 0.75, shown=_rate(" msg/s")),
    Goal(11, "dispatch", "outbox write (enqueue) >= 0.8x a COPY of the same rows",
         row=_case("enqueue (outbox write)", "postgres"),
         met=lambda r: (r["ratio"] or 0) >= 0.8, shown=_rate(" rows/s")),
    Goal(4, "providers", "each adapter alone above the pipeline's 2,000 msg/s",
         row=lambda r: True, met=lambda r: r["rate"] >= 2000, shown=_rate(" msg/s")),
    Goal(3, "import_csv", "CSV import of 100,000 rows on PostgreSQL >= 15,000 rows/s",
         row=_case("import 100,000 rows", "postgres"),
         met=lambda r: r["rate"] >= 15000, shown=_rate(" rows/s")),
    Goal(3, "import_csv", "CSV import of 1,000,000 rows under 400 MB peak",
         row=_case("import 1,000,000 rows"),
         met=lambda r: (r["peak_mb"] or 0) < 400,
         shown=lambda r: f"{r['peak_mb'] or 0:.0f} MB peak"),
    Goal(10, "keywords", "keyword classification under 50 us a message (mean)",
         row=lambda r: r["case"].endswith("intent engine"),
         met=lambda r: r["mean_us"] < 50, shown=lambda r: f"{r['mean_us']:.1f} us mean"),
    Goal(11, "webhooks", "Infobip delivery receipt >= 0.3x the bare handler, p99 <= 25 ms "
         "at 64 connections", row=_case("Infobip delivery receipt"),
         met=lambda r: (r["ratio"] or 0) >= 0.3 and r["p99"] <= 25, shown=_rate_p99),
    Goal(11, "webhooks", "Twilio delivery receipt >= 0.3x the bare handler, p99 <= 25 ms "
         "at 64 connections", row=_case("Twilio delivery receipt"),
         met=lambda r: (r["ratio"] or 0) >= 0.3 and r["p99"] <= 25, shown=_rate_p99),
    Goal(11, "stop_burst", "inbound STOP burst >= 1,000 unsubscribed a second (durable "
         "before each 200)", row=lambda r: "distinct STOPs" in r["case"],
         met=lambda r: r["rate"] >= 1000, shown=_rate(" unsubscribed/s")),
    Goal(11, "send_api", "POST /send >= 0.1x the bare JSON POST, p99 <= 50 ms at 32 "
         "connections", row=_case("POST /send + Idempotency-Key (32 conn)"),
         met=lambda r: (r["ratio"] or 0) >= 0.1 and r["p99"] <= 50, shown=_rate_p99),
    Goal(11, "send_api", "POST /send/bulk >= 30,000 messages a second",
         row=lambda r: r["case"].strip().startswith("= messages/s of /send/bulk"),
         met=lambda r: r["rate"] >= 30000, shown=_rate(" msg/s")),
    Goal(12, "launch", "4-condition audience count on PostgreSQL <= 3x the bare count "
         "and under 300 ms", row=_case("4-condition audience count", "postgres"),
         met=lambda r: (r["ratio"] or 0) >= 1 / 3 and r["seconds"] < 0.3,
         shown=lambda r: f"{r['seconds'] * 1000:.0f} ms"),
    Goal(12, "audience_count", "4 ANDed conditions on PostgreSQL <= 3x the bare count "
         "and under 300 ms", row=_case("4 ANDed conditions", "postgres"),
         met=lambda r: (r["ratio"] or 0) >= 1 / 3 and r["seconds"] < 0.3,
         shown=lambda r: f"{r['seconds'] * 1000:.0f} ms"),
    Goal(12, "launch", "100,000-recipient launch to queued >= 0.5x a COPY of the rows, "
         "peak under 500 MB", row=_case("launch to queued", "postgres"),
         met=lambda r: (r["ratio"] or 0) >= 0.5 and (r["peak_mb"] or 0) < 500,
         shown=lambda r: f"{r['rate']:,.0f} msg/s, {r['peak_mb'] or 0:.0f} MB peak"),
    Goal(13, "redirect", "redirect >= 0.8x the bare 302's throughput, p99 <= 2x its p99",
         row=_case("trackly redirect"),
         met=lambda r: (r["ratio"] or 0) >= 0.8 and r["p99_ratio"] <= 2,
         shown=lambda r: f"{r['rate']:,.0f} req/s, p99 {r['p99_ratio']:.1f}x the bare"),
    Goal(13, "redirect", "no database round trip on a cache hit; clicks stored == 302s "
         "answered (wrk misses up to one in-flight answer per connection and round)",
         row=_case("trackly redirect"),
         met=lambda r: r["waited"] == 0
         and r["answered"] <= r["stored"] <= r["answered"] + r["in_flight"],
         shown=lambda r: f"{r['waited']:.0f} requests waited for a SELECT; stored "
                         f"{r['stored']:.0f} of {r['answered']:.0f} answered"),
    Goal(14, "selection", "per-segment sampler captures >= 80% of the oracle's gain over "
         "uniform and beats the per-creative sampler", row=lambda r: True,
         met=lambda r: r["capture"] >= 0.8 and r["seeds_won"] == r["seeds"],
         shown=lambda r: f"{r['capture']:.1%} (per-creative {r['creative_capture']:.1%}); "
                         f"wins {r['seeds_won']:.0f}/{r['seeds']:.0f} seeds"),
    Goal(16, "charts", "charts drawn off the event loop: the loop lags less through "
         "ChartWorker than drawing inline", row=_case("ChartWorker"),
         met=lambda r: r["loop_lag_max_ms"] < _charts_inline.get("lag", 0.0), shown=_lag),
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
    _remember_inline(rows)
    for goal in GOALS:
        found = [r for r in rows if r["bench"] == goal.bench and goal.row(r)]
        if not found:
            lines.append(f"| {goal.issue} | {goal.text} | {goal.bench} | - | not measured "
                         "| - | no |")
            continue
        for r in found:
            try:
                shown, met = goal.shown(r), "yes" if goal.met(r) else "NO"
            except (KeyError, TypeError, ValueError) as exc:  # a figure the row lacks
                shown, met = f"figure missing ({exc})", "NO"
            lines.append(f"| {goal.issue} | {goal.text} | {goal.bench} | {r['backend']} | "
                         f"{shown} | {_ratio(r)} | {met} |")
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
