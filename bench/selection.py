"""Creative selection against a simulated population: how much revenue each policy earns.

    python -m bench.selection [--sends 100000] [--seeds 10] [--refresh 2000]

Each seed builds a population whose human click rate and conversion rate depend on the
creative and on the contact: engagement recency, click history, carrier, line type and
the local hour each scale a creative's rates by its own lift (drawn per seed, so the best
creative differs between segments), plus a small effect of the full combination that no
per-trait model can see. Hour and recency act through smooth curves of the raw value, not
through the selector's buckets. Payout is per offer (two offers, three creatives each).

Four policies choose the creative for the same stream of contacts:

- uniform: a random creative (what an even blast split earns);
- per-creative: Thompson sampling with Beta(1, 1) priors per creative, no segments
  (what the bandit libraries on PyPI do);
- per-segment: ``core.selection.bandit.decide``, the selector Trackly runs;
- oracle: knows each contact's true expected revenue per creative and takes the best.

Learning policies see the outcomes only at each refresh (every ``--refresh`` sends), as
the scheduled statistics job would give them. Learners learn from simulated
outcomes (a click, then a conversion, then the payout) drawn from the same random stream
for every policy; the revenue printed is what the chosen creatives earn in expectation
(the sum of each contact's true click rate x conversion rate x payout), which takes the
luck of a few hundred conversions out of the comparison.
"captured" is (policy - uniform) / (oracle - uniform).
The goal: per-segment captures at least 80% and beats per-creative. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from bench.harness import Result, record, rss_mb
from core.selection.bandit import (
    DIMENSIONS,
    ArmStats,
    Beta,
    Candidate,
    Model,
    Sampler,
    Traits,
    decide,
    fit_segments,
    segments,
)

CARRIERS = ("verizon", "att", "tmobile", "other")
LINE_TYPES = ("cell", "voip")
CREATIVES = 6
OFFER_OF = {c: (1 if c < 3 else 2) for c in range(CREATIVES)}
PAYOUT = {1: 2.0, 2: 6.0}


@dataclass
class Population:
    seed: int
    base_click: list[float]
    base_conv: list[float]
    carrier_lift: list[dict[str, float]]
    line_lift: list[dict[str, float]]
    hour_peak: list[float]
    recency_pref: list[float]
    history_lift: list[float]
    cross_noise: dict[tuple[int, tuple[str, ...]], float]

    @classmethod
    def build(cls, seed: int) -> Population:
        rng = random.Random(seed)

        def lift(sigma: float = 0.45) -> float:
            return math.exp(rng.gauss(0, sigma))

        return cls(
            seed=seed,
            base_click=[rng.uniform(0.02, 0.05) for _ in range(CREATIVES)],
            base_conv=[rng.uniform(0.05, 0.15) * (1.0 if OFFER_OF[c] == 1 else 0.4)
                       for c in range(CREATIVES)],
            carrier_lift=[{k: lift() for k in CARRIERS} for _ in range(CREATIVES)],
            line_lift=[{k: lift(0.3) for k in LINE_TYPES} for _ in range(CREATIVES)],
            hour_peak=[rng.uniform(0, 24) for _ in range(CREATIVES)],
            recency_pref=[rng.uniform(-1, 1) for _ in range(CREATIVES)],
            history_lift=[rng.uniform(0.8, 1.6) for _ in range(CREATIVES)],
            cross_noise={},
        )

    def contact(self, rng: random.Random) -> Traits:
        never = rng.random() < 0.35
        return Traits(
            days_since_click=None if never else int(rng.expovariate(1 / 25)),
            clicks=0 if never else min(int(rng.expovariate(1 / 1.5)) + 1, 9),
            carrier=rng.choices(CARRIERS, weights=(35, 30, 25, 10))[0],
            line_type=rng.choices(LINE_TYPES, weights=(85, 15))[0],
            local_hour=rng.choices(range(24), weights=[1] * 8 + [4] * 14 + [2] * 2)[0],
        )

    def rates(self, c: int, t: Traits) -> tuple[float, float]:
        # Hour: a creative does best near its own peak hour (circular distance).
        gap = min(abs(t.local_hour - self.hour_peak[c]), 24 - abs(t.local_hour
                                                                  - self.hour_peak[c]))
        hour = math.exp(0.6 * math.cos(math.pi * gap / 12))
        # Recency: some creatives suit the recently engaged, others the dormant.
        fresh = 1.0 if t.days_since_click is None else math.exp(-t.days_since_click / 20)
        recency = math.exp(self.recency_pref[c] * (fresh - 0.5))
        history = self.history_lift[c] ** min(t.clicks, 3) / 1.3
        key = (c, t.days_since_click, t.clicks, t.carrier, t.line_type, t.local_hour)
        noise = self.cross_noise.get(key)
        if noise is None:
            # Seeded by the cell itself: the truth never depends on who asked first.
            cell = random.Random(f"{self.seed}:{key}")
            noise = self.cross_noise[key] = math.exp(cell.gauss(0, 0.1))
        click = (self.base_click[c] * self.carrier_lift[c][t.carrier or "other"] * hour
                 * recency * history * noise)
        conv = self.base_conv[c] * self.line_lift[c][t.line_type or "cell"]
        return min(click, 0.9), min(conv, 0.9)

    def value(self, c: int, t: Traits) -> float:
        click, conv = self.rates(c, t)
        return click * conv * PAYOUT[OFFER_OF[c]]


Policy = Callable[[Traits], int]


class Learner:
    """Outcomes are buffered and folded into the stats table at each refresh."""

    def __init__(self, per_segment: bool) -> None:
        self.per_segment = per_segment
        self.table: dict[tuple[int, str, str], ArmStats] = {}
        self.cells: dict[tuple[int, tuple[tuple[str, str], ...]], ArmStats] = {}
        self.pending: list[tuple[int, Traits, bool, bool, float]] = []
        self.rebuild()

    def rebuild(self) -> None:
        if self.per_segment:
            self.model = Model(self.table)
        else:
            self.sampler = Sampler(self.table, dimensions=(), click_prior=Beta(1, 1),
                                   conversion_prior=Beta(1, 1))

    def choose(self, t: Traits, rng: np.random.Generator) -> int:
        if self.per_segment:
            cands = [Candidate(c, OFFER_OF[c], PAYOUT[OFFER_OF[c]]) for c in range(CREATIVES)]
            return decide(cands, t, self.model, rng=rng).creative_id
        return self.sampler.choose([(c, None) for c in range(CREATIVES)], {}, rng).arm

    def observe(self, c: int, t: Traits, clicked: bool, converted: bool, revenue: float) -> None:
        self.pending.append((c, t, clicked, converted, revenue))

    def refresh(self) -> None:
        # What the scheduled job does: sum the sends into cells of the full cross of
        # segments (its GROUP BY), then fit the table from the cells.
        for c, t, clicked, converted, revenue in self.pending:
            obs = ArmStats(1, float(clicked), float(converted), revenue)
            seg = tuple((dim, value) for dim, value in segments(t).items()
                        if dim in DIMENSIONS) if self.per_segment else ()
            self.cells.setdefault((c, seg), ArmStats()).add(obs)
        self.pending.clear()
        self.table = fit_segments(self.cells)
        self.rebuild()


def run_seed(seed: int, sends: int, refresh: int) -> dict[str, float]:
    pop = Population.build(seed)
    stream = random.Random(seed * 7919 + 1)
    contacts = [pop.contact(stream) for _ in range(sends)]
    # One uniform pair per send: every policy meets the same luck for the same contact.
    luck = [(stream.random(), stream.random()) for _ in range(sends)]
    # The truth per contact and creative, computed once: every policy reads the same.
    truth = [[pop.rates(c, t) for c in range(CREATIVES)] for t in contacts]
    worth = [[click * conv * PAYOUT[OFFER_OF[c]] for c, (click, conv) in enumerate(row)]
             for row in truth]
    totals: dict[str, float] = {}
    learners = {"per-creative": Learner(False), "per-segment": Learner(True)}
    rngs = {name: np.random.default_rng(seed * 31 + i) for i, name in enumerate(
        ("uniform", "per-creative", "per-segment", "oracle"))}
    for name in ("uniform", "per-creative", "per-segment", "oracle"):
        rng = rngs[name]
        learner = learners.get(name)
        revenue = 0.0
        for i, t in enumerate(contacts):
            if name == "uniform":
                c = int(rng.integers(CREATIVES))
            elif name == "oracle":
                c = max(range(CREATIVES), key=worth[i].__getitem__)
            else:
                assert learner is not None
                c = learner.choose(t, rng)
            p_click, p_conv = truth[i][c]
            clicked = luck[i][0] < p_click
            converted = clicked and luck[i][1] < p_conv
            earned = PAYOUT[OFFER_OF[c]] if converted else 0.0
            revenue += worth[i][c]
            if learner is not None:
                learner.observe(c, t, clicked, converted, earned)
                if (i + 1) % refresh == 0:
                    learner.refresh()
        totals[name] = revenue
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sends", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--refresh", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1,
                        help="seeds run in this many processes (same results, sooner)")
    args = parser.parse_args()
    began = time.perf_counter()
    rows = []
    print(f"\nCreative selection: {args.sends:,} sends per policy, refresh every "
          f"{args.refresh:,} sends, {CREATIVES} creatives in 2 offers")
    header = (f"{'seed':>4} {'uniform $':>11} {'per-creative $':>15} {'per-segment $':>14} "
              f"{'oracle $':>11} {'creative capt':>13} {'segment capt':>13}")
    print(header)
    print("-" * len(header))
    seeds = range(1, args.seeds + 1)
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        results = list(pool.map(run_seed, seeds, [args.sends] * len(seeds),
                                [args.refresh] * len(seeds)))
    for seed, r in zip(seeds, results, strict=True):
        gain = r["oracle"] - r["uniform"]
        cap_c = (r["per-creative"] - r["uniform"]) / gain if gain else float("nan")
        cap_s = (r["per-segment"] - r["uniform"]) / gain if gain else float("nan")
        rows.append((r, cap_c, cap_s))
        print(f"{seed:>4} {r['uniform']:>11,.0f} {r['per-creative']:>15,.0f} "
              f"{r['per-segment']:>14,.0f} {r['oracle']:>11,.0f} {cap_c:>12.1%} "
              f"{cap_s:>12.1%}", flush=True)
    print("-" * len(header))
    mean = {k: statistics.mean(r[k] for r, _, _ in rows) for k in rows[0][0]}
    print(f"{'mean':>4} {mean['uniform']:>11,.0f} {mean['per-creative']:>15,.0f} "
          f"{mean['per-segment']:>14,.0f} {mean['oracle']:>11,.0f} "
          f"{statistics.mean(c for _, c, _ in rows):>12.1%} "
          f"{statistics.mean(s for _, _, s in rows):>12.1%}")
    wins = sum(r["per-segment"] > r["per-creative"] for r, _, _ in rows)
    print(f"\nper-segment beats per-creative on {wins}/{len(rows)} seeds; worst per-segment "
          f"capture {min(s for _, _, s in rows):.1%}; "
          f"{time.perf_counter() - began:.1f} s, RSS {rss_mb():.0f} MB")
    took = time.perf_counter() - began
    record("Creative selection", [Result(
        "-", f"per-segment sampler, {len(rows)} seeds", args.sends * 4 * len(rows), took,
        note=f"captures {statistics.mean(s for _, _, s in rows):.1%} of the oracle's gain",
        extra={"capture": statistics.mean(s for _, _, s in rows),
               "creative_capture": statistics.mean(c for _, c, _ in rows),
               "seeds_won": wins, "seeds": len(rows)})], unit="sends/s")


if __name__ == "__main__":
    main()
