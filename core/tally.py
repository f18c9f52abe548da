"""In-process figures for ``GET /metrics``, cheap enough for the hottest path (the
short-link redirect): plain integers and floats updated on the event loop's thread, with
no lock and no allocation per observation (prometheus_client's own metrics take a
``threading.Lock`` on every ``inc``/``observe``). The web face turns them into
Prometheus families at scrape time (web/metrics.py); core knows nothing of Prometheus.

Only ever updated from the event loop's thread: a reader on that thread (the scrape)
sees consistent values without a lock."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

# Seconds; suits a redirect (sub-millisecond when cached) up to a slow webhook receiver.
LATENCY_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    """Observations counted per bucket (``counts[i]``: values <= ``bounds[i]`` and above
    the bound before; the last slot is +Inf), with their sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> Iterator[tuple[str, int]]:
        """(upper bound as Prometheus writes it, observations at or below it)."""
        running = 0
        for bound, n in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            yield bound, running


class Tally:
    """Counts per key (a tuple of label values), with a cap on distinct keys so values
    that come from outside (a provider's error code) cannot grow it without bound: past
    ``max_keys`` new keys count under ``overflow``."""

    __slots__ = ("counts", "max_keys", "overflow")

    def __init__(self, *, max_keys: int, overflow: tuple[str, ...]) -> None:
        self.counts: dict[tuple[str, ...], int] = {}
        self.max_keys = max_keys
        self.overflow = overflow

    def add(self, key: tuple[str, ...], n: int = 1) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += n
        elif len(counts) < self.max_keys:
            counts[key] = n
        else:
            counts[self.overflow] = counts.get(self.overflow, 0) + n
