"""Progress of a long command line operation (an import), on stderr.

On a terminal it is a bar redrawn in place. Anywhere else (a pipe, a log file, CI) a
redrawn bar is noise, so it is a plain line now and then: at each tenth of the work and
at least every 30 seconds while something moves, each with the count and the percentage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

import click

STEP_PERCENT = 10
EVERY_SECONDS = 30.0


class Progress:
    """``update(done, count)`` as the work moves (``done`` out of ``total`` units, e.g.
    bytes read; ``count`` what the user counts, e.g. rows), ``finish(count)`` at the end.
    Used as a context manager."""

    def __init__(self, stream: TextIO, total: int, *, noun: str = "rows",
                 tty: bool | None = None, monotonic: Callable[[], float] = time.monotonic,
                 step_percent: int = STEP_PERCENT, every: float = EVERY_SECONDS) -> None:
        self.stream = stream
        self.total = max(total, 1)
        self.noun = noun
        self.tty = stream.isatty() if tty is None else tty
        self._monotonic = monotonic
        self._step = step_percent
        self._every = every
        self._done = 0
        self._count = 0
        self._bar: Any = None
        self._printed: tuple[int, int] | None = None  # (percent, count) of the last line
        self._printed_at = monotonic()

    def __enter__(self) -> Progress:
        if self.tty:
            self._bar = click.progressbar(
                length=self.total, file=self.stream, show_percent=True, show_eta=True,
                item_show_func=lambda _: f"{self._count:,} {self.noun}").__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)

    def update(self, done: int, count: int) -> None:
        done = min(max(done, self._done), self.total)
        moved, self._done, self._count = done - self._done, done, count
        if self._bar is not None:
            self._bar.update(moved, count)
            return
        percent = self._percent()
        last_percent = self._printed[0] if self._printed else -self._step
        if (percent // self._step > last_percent // self._step
                or self._monotonic() - self._printed_at >= self._every):
            self._line(percent)

    def finish(self, count: int) -> None:
        """All the work is done: the bar is full, and the last plain line says 100%."""
        self.update(self.total, count)
        if self._bar is None and self._printed != (100, count):
            self._line(100)

    def _percent(self) -> int:
        return 100 if self._done >= self.total else self._done * 100 // self.total

    def _line(self, percent: int) -> None:
        if self._printed == (percent, self._count):
            return  # nothing moved since the last line
        click.echo(f"{self._count:,} {self.noun} ({percent}%)", file=self.stream)
        self._printed = (percent, self._count)
        self._printed_at = self._monotonic()
