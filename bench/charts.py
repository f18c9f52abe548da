"""Report charts: what drawing costs, and what it costs the event loop.

    python -m bench.charts [--charts 20]

Draws the /report chart (30 days, and 10 creatives) ``--charts`` times two ways, in the
same run on the same data: inline on the event loop (the baseline: what the bot would
do without its worker thread) and through bot.charts.ChartWorker (one thread, as the bot
does). While it draws, a ticker on the loop asks to wake every 5 ms; "loop lag" is how
late it woke at worst: the gateway heartbeat and every other command wait that long.
Prints; never asserts a time."""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.harness import PeakRss, Result, print_table
from bot.charts import ChartWorker
from bot.render.charts import ChartData, render_png

TICK = 0.005


def samples() -> list[ChartData]:
    days = [f"2026-02-{d:02d}" for d in range(1, 29)] + ["2026-03-01", "2026-03-02"]
    by_day = ChartData(
        "Trackly · 30d", "Day", [d[5:] for d in days],
        sends=[20_000 + 1_500 * (i % 7) for i in range(30)],
        revenue=[1_800.0 + 90 * (i % 5) for i in range(30)],
        click_rate=[3.0 + (i % 4) * 0.4 for i in range(30)],
        conversion_rate=[9.0 + (i % 3) for i in range(30)])
    creatives = ChartData(
        "Trackly · 30d by creative", "Creative", [f"Creative {i}" for i in range(10)],
        sends=[60_000 - 5_000 * i for i in range(10)],
        revenue=[9_000.0 - 800 * i for i in range(10)],
        click_rate=[2.5 + 0.2 * i for i in range(10)],
        conversion_rate=[12.0 - 0.5 * i for i in range(10)])
    return [by_day, creatives]


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + TICK
        await asyncio.sleep(TICK)
        lags.append(max(0.0, loop.time() - due) * 1000)


async def run(case: str, count: int, draw) -> Result:
    data = samples()
    lags: list[float] = []
    stop = asyncio.Event()
    latencies: list[float] = []
    async with PeakRss() as rss:
        ticker = asyncio.create_task(_ticker(lags, stop))
        await asyncio.sleep(TICK * 2)
        started = time.perf_counter()
        for i in range(count):
            began = time.perf_counter()
            png = await draw(data[i % 2])
            latencies.append((time.perf_counter() - began) * 1000)
            assert png.startswith(b"\x89PNG")
            await asyncio.sleep(0)
        seconds = time.perf_counter() - started
        stop.set()
        await ticker
    return Result("-", case, count, seconds, latencies, rss.peak,
                  extra={"loop_lag_max_ms": max(lags)},
                  note=f"loop lag max {max(lags):.0f} ms, p95 "
                       f"{sorted(lags)[int(0.95 * (len(lags) - 1))]:.0f} ms")


async def main(count: int) -> None:
    render_png(samples()[0])  # fonts and caches, outside the measurement

    async def inline(data: ChartData) -> bytes:
        return render_png(data)

    worker = ChartWorker()
    try:
        base = await run("inline on the loop (baseline)", count, inline)
        threaded = await run("ChartWorker, one thread", count, worker.png)
    finally:
        worker.close()
    threaded.baseline_rate = base.rate
    base.baseline_rate = base.rate
    print_table("Report charts (1000x750 PNG, two panels)", [base, threaded],
                unit="charts/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=20)
    asyncio.run(main(parser.parse_args().charts))
