"""The one worker thread that draws charts: matplotlib is not thread-safe, and drawing
on the event loop would stall the gateway heartbeat."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bot.render.charts import ChartData, render_png


class ChartWorker:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")

    async def png(self, data: ChartData) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(self._pool, render_png, data)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
