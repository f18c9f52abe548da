"""Progress on stderr: a bar on a terminal, plain lines with counts elsewhere."""

from __future__ import annotations

import io

from trackly.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_a_line_every_tenth_with_count_and_percent():
    out = io.StringIO()
    with Progress(out, 1000) as progress:
        for done in range(0, 1001, 25):
            progress.update(done, done * 3)
        progress.finish(3000)
    lines = out.getvalue().splitlines()
    assert lines == [f"{p * 30:,} rows ({p}%)" for p in range(0, 101, 10)]


def test_off_a_terminal_a_slow_operation_still_reports_every_30_seconds():
    out, ticks = io.StringIO(), Ticks()
    with Progress(out, 1_000_000, monotonic=ticks) as progress:
        progress.update(10_000, 100)  # 1%: the first line
        for rows in (200, 300, 400):
            ticks.now += 31
            progress.update(rows * 100, rows)
        progress.update(40_500, 405)  # same tenth, under 30 s: quiet
        progress.finish(10_000)
    assert out.getvalue().splitlines() == [
        "100 rows (1%)", "200 rows (2%)", "300 rows (3%)", "400 rows (4%)",
        "10,000 rows (100%)"]


def test_a_small_file_done_in_one_step_reports_once():
    out = io.StringIO()
    with Progress(out, 125) as progress:
        progress.update(125, 4)
        progress.finish(4)
    assert out.getvalue() == "4 rows (100%)\n"


def test_on_a_terminal_a_bar_redrawn_in_place():
    out = Terminal()
    with Progress(out, 1000) as progress:
        progress.update(500, 1500)
        progress.finish(3000)
    text = out.getvalue()
    assert "\r" in text and "\n" not in text.rstrip("\n")  # redrawn, not scrolled
    last = text.rstrip().rsplit("\r", 1)[-1]
    assert "[####" in last and "100%" in last and "3,000 rows" in last
    assert "50%" in text and "1,500 rows" in text
