"""Speed of the keyword engine: every inbound SMS passes through it inside the webhook.

    python -m bench.keywords [--mix 20000] [--repeat 5]

Classifies the whole case table (tests/compliance: the first table and keyword_cases.tsv)
and a realistic mix of replies (mostly STOP in its many spellings, then thanks, questions,
reactions quoting our message, Spanish, long rambles, emoji), and prints messages per
second, mean/p50/p99 microseconds a message and the peak memory Python allocated while
classifying. msg/s is the best of ``--repeat`` passes over the data; the microsecond
columns take each message's fastest of ``--repeat`` calls, so that on a shared machine
another process's time slice does not pass for the classifier's cost.

Two baselines run in the same process on the same data: the classifier as it was before
the intent engine (read from git, commit ``BASELINE_COMMIT``) and a bare normalisation
pass (fold and split into words, no rules). "vs base" is the throughput ratio to the old
classifier. The goal is under 50 microseconds a message; this prints, it never asserts.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import subprocess
import sys
import time
import tracemalloc
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Result, record, rss_mb
from core.compliance.keywords import classify
from core.compliance.keywords.normalise import fold, tokens
from core.compliance.keywords.vocabulary import SPELLABLE

BASELINE_COMMIT = "c8b68a3"
ROOT = Path(__file__).resolve().parent.parent


def case_table() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from tests.compliance.test_keyword_cases import ROWS
    from tests.compliance.test_keywords import CASES
    return [text for text, _ in CASES] + [text for text, *_ in ROWS]


_ORDINARY = [
    "ok", "Thanks!", "thank you", "who is this?", "Who is this", "lol", "👍", "😂", "❤️", "?",
    "Where is my order?", "What time does the sale end?", "Is this still available?",
    "How much is shipping", "Can I use the code twice?", "yes please", "No", "k",
    "I already bought one, thanks", "Does this work in Canada?", "sounds good",
    "Can you send the link again? It didn't open", "gracias", "¿Cuánto cuesta?",
    "I love this deal", "The link doesn't work", "call me later", "Nice", "😍😍😍",
    "I'll stop by the store tomorrow to pick it up, is it open on Sunday?",
]
_STOPS = ["STOP", "Stop", "stop", "STOP.", "Stop!", "stop please", "STOP STOP STOP", "Stopp",
          "STOP!!!", "Unsubscribe", "stop texting me", "Please stop", "ALTO", "END", "Quit",
          "cancel", "remove me", "STOPALL", "Stop 🛑", "st0p"]
_REACTIONS = [
    "Liked “Flash sale: 40% off everything today only. Reply STOP to opt out.”",
    "Loved “Your order has shipped! Reply STOP to opt out.”",
    "Reacted 😂 to “New drop tonight at 8. Reply STOP to end.”",
    "Laughed at “Last chance! Reply STOP to unsubscribe.”",
]
_RAMBLE = ("Hi, I got your message about the sale but I'm not sure I signed up for these, "
           "my daughter might have used my number. Anyway I don't really want them, can "
           "you take this number off your list? Thank you and have a good day.")


def realistic_mix(n: int, seed: int = 7) -> list[str]:
    """Weights from what replies to marketing SMS look like: most are a STOP."""
    rng = random.Random(seed)
    pools = [(_STOPS, 55), (_ORDINARY, 30), (_REACTIONS, 10), ([_RAMBLE], 2),
             (case_table(), 3)]
    choices = [pool for pool, _ in pools]
    weights = [weight for _, weight in pools]
    return [rng.choice(rng.choices(choices, weights)[0]) for _ in range(n)]


def old_classifier() -> Callable[[str], object] | None:
    """The classifier as it was at BASELINE_COMMIT, or None without git history."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:core/compliance/keywords.py"], cwd=ROOT,
            check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # The enum it imports has moved since (core.compliance.models held it then).
    source = source.replace("from core.compliance.models import InboundIntent",
                            "from core.compliance.keywords.intent import InboundIntent")
    module = types.ModuleType("baseline_keywords")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, "baseline_keywords.py", "exec"), module.__dict__)
    found: Callable[[str], object] = module.classify
    return found


def normalise_only(text: str) -> object:
    return tokens(fold(text[:1000]), SPELLABLE)


@dataclass
class Row:
    case: str
    candidate: str
    items: int
    seconds: float
    latencies_us: list[float]
    peak_kb: float
    baseline_rate: float | None = None

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def mean(self) -> float:
        return sum(self.latencies_us) / len(self.latencies_us)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_us)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(case: str, candidate: str, fn: Callable[[str], object], texts: Sequence[str],
            repeat: int) -> Row:
    for text in texts[:2000]:
        fn(text)  # warm caches (the fold table, regex internals)
    gc.collect()
    best = float("inf")
    for _ in range(repeat):  # throughput: best of `repeat` untimed passes
        started = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - started)
    latencies = []
    clock = time.perf_counter_ns
    for text in texts:  # latency: each message's fastest of `repeat` calls
        fastest = float("inf")
        for _ in range(repeat):
            began = clock()
            fn(text)
            fastest = min(fastest, clock() - began)
        latencies.append(fastest / 1000)
    tracemalloc.start()
    for text in texts:
        fn(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Row(case, candidate, len(texts), best, latencies, peak / 1024)


def print_table(rows: Sequence[Row]) -> None:
    header = (f"{'data':<18} {'classifier':<24} {'msgs':>7} {'msg/s':>10} {'mean us':>8} "
              f"{'p50 us':>8} {'p99 us':>8} {'max us':>8} {'peak KB':>8} {'vs base':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r.rate / r.baseline_rate:.2f}x" if r.baseline_rate else "-"
        print(f"{r.case:<18} {r.candidate:<24} {r.items:>7} {r.rate:>10,.0f} "
              f"{r.mean:>8.1f} {r.pct(0.5):>8.1f} {r.pct(0.99):>8.1f} "
              f"{max(r.latencies_us):>8.1f} {r.peak_kb:>8.0f} {ratio:>8}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mix", type=int, default=20_000, help="messages in the mix")
    parser.add_argument("--repeat", type=int, default=5,
                        help="passes for msg/s and calls per message for latency (best)")
    args = parser.parse_args(argv)
    datasets = [("case table", case_table()), ("realistic mix", realistic_mix(args.mix))]
    old = old_classifier()
    rows: list[Row] = []
    for name, texts in datasets:
        base = measure(name, f"old ({BASELINE_COMMIT})", old, texts, args.repeat) \
            if old is not None else None
        bare = measure(name, "normalise only", normalise_only, texts, args.repeat)
        new = measure(name, "intent engine", classify, texts, args.repeat)
        for row in (bare, new):
            row.baseline_rate = base.rate if base is not None else None
        rows += [r for r in (base, bare, new) if r is not None]
    print(f"\nKeyword classification (python {sys.version.split()[0]}, "
          f"RSS {rss_mb():.0f} MB after the run)")
    print_table(rows)
    record("Keyword classification", [
        Result("python", f"{r.case}: {r.candidate}", r.items, r.seconds,
               [us / 1000 for us in r.latencies_us], r.peak_kb / 1024, r.baseline_rate,
               extra={"mean_us": r.mean}) for r in rows], unit="msg/s")
    over = [r for r in rows if r.candidate == "intent engine" and r.mean > 50]
    print("goal: under 50 us a message (mean us) -> "
          + ("MISSED for " + ", ".join(r.case for r in over) if over else "met"))
    slow = sorted(((_time(classify, t), t) for t in set(datasets[1][1])), reverse=True)[:3]
    print("slowest in the mix: " + "; ".join(f"{us:.0f} us {_short(t)}" for us, t in slow))


def _time(fn: Callable[[str], object], text: str) -> float:
    """Microseconds for one call: the best of five runs of 20, so a busy machine's
    scheduling does not pass for a slow message."""
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter_ns()
        for _ in range(20):
            fn(text)
        best = min(best, (time.perf_counter_ns() - began) / 20_000)
    return best


def _short(text: str) -> str:
    return repr(re.sub(r"\s+", " ", text)[:40])


if __name__ == "__main__":
    main()
