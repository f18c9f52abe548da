"""Thompson sampling over revenue per send, per contact segment. Pure: no database.

Revenue per send is ``click rate x conversion rate x payout``. Click rate (human clicks
per send) and conversion rate (conversions per counted click) each have a Beta posterior.

Hierarchy, per creative:

- the creative's overall posterior: a prior for new creatives (centred on the account's
  pooled rate, strength ``prior_strength``) updated with all its sends;
- one posterior per contact segment (a value of one trait: engagement recency, click
  history, carrier, line type, local hour), whose prior is a Beta of strength ``kappa``
  (clicks; conversions: empirical Bayes per trait) centred on the creative's overall
  mean. A thin segment thus reads as the creative's overall rate; a segment with data
  moves away from it. The prior strength is capped by the overall posterior's own
  strength, so a new creative's segments are as uncertain as the creative itself.

A contact belongs to one segment per trait. Its rate for a creative combines the segment
draws as lifts over the creative's mean (``m * prod(theta_d / m)``), the naive-Bayes way:
a full cross product of five traits would make hundreds of cells per creative, each too
thin to learn from, while each trait value alone is seen by a large share of sends.

Stats are plain numbers here (floats for revenue: it is an estimate, never stored money).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

OVERALL = "*"
DIMENSIONS = ("recency", "history", "carrier", "line_type", "hour")

# When the account has no data at all: about one human click in 25 sends, one
# conversion in 10 clicks, at the strength of this many pseudo-observations.
DEFAULT_CLICK_RATE = 0.04
DEFAULT_CONVERSION_RATE = 0.10
PRIOR_STRENGTH = 20.0
# The click segments' prior strength. bench/selection.py (30,000 sends, seeds 1-2, click
# kappa with conversions' empirical Bayes): 30 captured 73% of the oracle's gain, 80 69%,
# 200 50%: a contact's rate is a product of five shrunk lifts, so shrinking each one
# hard holds every contact near the creative's mean for thousands of sends.
KAPPA = 30.0
# The empirical-Bayes kappa's bounds: never so weak that a handful of sends decide a
# segment, never so strong that a real effect cannot show.
KAPPA_MIN = 50.0
KAPPA_MAX = 100_000.0
# Segment edges: days since the last click, hours of the local day per band.
RECENCY_DAYS = (3, 7, 14, 30, 60)
HOUR_BAND = 3
# Payout before the first conversion: the offer's stated payout, else this.
DEFAULT_PAYOUT = 1.0
PAYOUT_PRIOR_CONVERSIONS = 2.0


@dataclass(frozen=True)
class Traits:
    """What the selector knows of a contact at send time."""

    days_since_click: int | None = None  # None: never clicked
    clicks: int = 0  # counted clicks so far
    carrier: str | None = None
    line_type: str | None = None
    local_hour: int = 12  # 0-23 in the contact's timezone


def segments(traits: Traits) -> dict[str, str]:
    """The contact's segment in each dimension."""
    d = traits.days_since_click
    recency = "never" if d is None else next(
        (f"{top}d" for top in RECENCY_DAYS if d <= top), "old")
    history = str(traits.clicks) if 0 <= traits.clicks < 3 else "3+"
    carrier = (traits.carrier or "unknown").strip().lower()[:32] or "unknown"
    line_type = (traits.line_type or "unknown").strip().lower()[:16] or "unknown"
    start = (traits.local_hour % 24) // HOUR_BAND * HOUR_BAND
    hour = f"{start:02d}-{start + HOUR_BAND - 1:02d}"
    return {"recency": recency, "history": history, "carrier": carrier,
            "line_type": line_type, "hour": hour}


def segment_key(seg: Mapping[str, str]) -> str:
    return "|".join(f"{dim}={seg[dim]}" for dim in DIMENSIONS if dim in seg)


@dataclass
class ArmStats:
    """Counts of one arm in one segment. In a fitted segment row (:func:`fit_segments`)
    ``sends`` is the click exposure (sends weighted by the other traits' fitted lifts) and
    ``clicked`` the conversion exposure (clicks weighted likewise); raw rows leave
    ``clicked`` None: every click is one trial for a conversion."""

    sends: float = 0.0
    clicks: float = 0.0
    conversions: float = 0.0
    revenue: float = 0.0
    clicked: float | None = None

    @property
    def trials(self) -> float:
        """Conversion trials: the conversion exposure, else the clicks."""
        return self.clicks if self.clicked is None else self.clicked

    def add(self, other: ArmStats) -> None:
        if self.clicked is not None or other.clicked is not None:
            self.clicked = self.trials + other.trials
        self.sends += other.sends
        self.clicks += other.clicks
        self.conversions += other.conversions
        self.revenue += other.revenue


# (arm id, dimension, value) -> stats; dimension OVERALL with value OVERALL is the whole.
StatsTable = Mapping[tuple[int, str, str], ArmStats]


@dataclass(frozen=True)
class Candidate:
    creative_id: int
    offer_id: int | None = None
    payout: float | None = None  # the offer's stated payout, a prior for new creatives
    weight: float = 1.0  # share in the control split


@dataclass(frozen=True)
class Beta:
    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        return self.alpha + self.beta


@dataclass(frozen=True)
class Posterior:
    """What a draw for one arm and one contact was made from: the creative's overall
    posteriors, each segment's, and the contact's (what is drawn from)."""

    click: Beta
    conversion: Beta
    payout: float
    click_segments: dict[str, Beta] = field(default_factory=dict)
    conversion_segments: dict[str, Beta] = field(default_factory=dict)

    @property
    def contact_click(self) -> Beta:
        return _contact(self.click, self.click_segments.values())

    @property
    def contact_conversion(self) -> Beta:
        return _contact(self.conversion, self.conversion_segments.values())

    def as_json(self) -> dict[str, object]:
        def b(x: Beta) -> list[float]:
            return [round(x.alpha, 4), round(x.beta, 4)]
        return {"click": b(self.contact_click), "conversion": b(self.contact_conversion),
                "payout": round(self.payout, 4),
                "creative": {"click": b(self.click), "conversion": b(self.conversion)},
                "click_segments": {k: b(v) for k, v in self.click_segments.items()},
                "conversion_segments": {k: b(v) for k, v in self.conversion_segments.items()}}


def _contact(whole: Beta, segs: Iterable[Beta]) -> Beta:
    """One Beta for a contact in several segments: its mean combines the segments' means
    as lifts over the creative's (``m * prod(mean_d / m)``); its strength is the thinnest
    segment's, so the contact is as uncertain as its least-known trait. Drawing once from
    it, rather than once per segment and multiplying, keeps five noisy lifts from
    compounding into exploration that no single segment warrants."""
    segs = list(segs)
    if not segs:
        return whole
    m = whole.mean
    mean = m
    for s in segs:
        mean *= s.mean / m
    return _centred(min(mean, 1.0), min(s.strength for s in segs))


@dataclass(frozen=True)
class Draw:
    arm: int  # creative id (or offer id at the first of two steps)
    value: float  # sampled revenue per send
    posterior: Posterior


@dataclass
class _Arms:
    """The contact-level Beta parameters of a set of arms for one segment, as arrays:
    one row per arm, columns click and conversion."""

    arms: list[int]
    posteriors: list[Posterior]
    alpha: np.ndarray  # (arms, 2)
    beta: np.ndarray
    payout: np.ndarray  # (arms,)


@dataclass
class Sampler:
    """Thompson sampling over a stats table; ``dimensions=()`` is per-creative only.

    Posteriors depend only on the table, so they are computed once per (arms, segment)
    and each choice is one vectorised Beta draw."""

    stats: StatsTable
    dimensions: Sequence[str] = DIMENSIONS
    kappa: float = KAPPA
    # The click stage's kappa from the data per trait (empirical Bayes) instead of fixed.
    # Off by default: bench/selection.py measured it below the fixed kappa.
    adaptive: bool = False
    # The conversion stage's kappa: None is empirical Bayes per trait, the default.
    # Conversions are a few hundred where clicks are thousands, and most traits move
    # clicks but not conversions: with a fixed kappa each of five traits added its noise
    # to every contact's conversion rate (bench/selection.py, 30,000 sends, seeds 1-2:
    # 65% of the oracle's gain with kappa 80 on both stages, 69% with conversions from
    # empirical Bayes). A trait whose conversion spread is within binomial noise now
    # reads as the creative's rate; one that really separates contacts is let move.
    conversion_kappa: float | None = None
    prior_strength: float = PRIOR_STRENGTH
    click_prior: Beta | None = None  # None: centred on the account's pooled rates
    conversion_prior: Beta | None = None

    def __post_init__(self) -> None:
        pooled = ArmStats()
        for (_, dim, _), s in self.stats.items():
            if dim == OVERALL:
                pooled.add(s)
        if self.click_prior is None:
            rate = (pooled.clicks + DEFAULT_CLICK_RATE * self.prior_strength) / (
                pooled.sends + self.prior_strength)
            self.click_prior = _centred(rate, self.prior_strength)
        if self.conversion_prior is None:
            rate = (pooled.conversions + DEFAULT_CONVERSION_RATE * self.prior_strength) / (
                pooled.clicks + self.prior_strength)
            self.conversion_prior = _centred(rate, self.prior_strength)
        self._pooled_payout = (pooled.revenue / pooled.conversions
                               if pooled.conversions > 0 else None)
        self._cache: dict[tuple[object, ...], _Arms] = {}
        self._wholes: dict[tuple[int, float | None], tuple[Beta, Beta, float]] = {}
        self._segs: dict[tuple[int, str, str], tuple[Beta, Beta]] = {}
        self._kappas: dict[tuple[str, int], float] = {}

    def _stat(self, arm: int, dim: str, value: str) -> ArmStats:
        return self.stats.get((arm, dim, value)) or _EMPTY

    def _whole(self, arm: int, payout: float | None) -> tuple[Beta, Beta, float]:
        """The creative's overall click and conversion posteriors and expected payout."""
        key = (arm, payout)
        found = self._wholes.get(key)
        if found is not None:
            return found
        assert self.click_prior is not None and self.conversion_prior is not None
        whole = self._stat(arm, OVERALL, OVERALL)
        click = _update(self.click_prior, whole.clicks, whole.sends - whole.clicks)
        conv = _update(self.conversion_prior, whole.conversions,
                       whole.clicks - whole.conversions)
        prior_payout = payout if payout is not None else (self._pooled_payout or DEFAULT_PAYOUT)
        expected_payout = ((whole.revenue + prior_payout * PAYOUT_PRIOR_CONVERSIONS)
                           / (whole.conversions + PAYOUT_PRIOR_CONVERSIONS))
        found = self._wholes[key] = (click, conv, max(expected_payout, 0.0))
        return found

    def _segment(self, arm: int, dim: str, value: str, click: Beta, conv: Beta
                 ) -> tuple[Beta, Beta]:
        key = (arm, dim, value)
        found = self._segs.get(key)
        if found is not None:
            return found
        s = self._stat(arm, dim, value)
        found = self._segs[key] = (
            _update(_centred(click.mean, min(self._kappa(dim, 0), click.strength)),
                    s.clicks, s.sends - s.clicks),
            _update(_centred(conv.mean, min(self._kappa(dim, 1), conv.strength)),
                    s.conversions, s.trials - s.conversions))
        return found

    def _kappa(self, dim: str, stage: int) -> float:
        """The segment prior's strength for one trait and stage (0 click, 1 conversion):
        ``kappa`` (clicks) or ``conversion_kappa`` when fixed, else empirical Bayes from
        how much the trait's values differ beyond binomial noise, pooled over the arms:
        with true rates spread by tau^2 around the creative's mean m, a Beta prior of
        strength m(1-m)/tau^2 - 1 matches that spread. A trait that explains nothing gets
        a prior so strong its segments read as the creative's mean; one that matters is
        let move."""
        key = (dim, stage)
        found = self._kappas.get(key)
        if found is not None:
            return found
        fixed = (self.kappa if stage == 0 and not self.adaptive
                 else self.conversion_kappa if stage == 1 else None)
        if fixed is not None:
            self._kappas[key] = fixed
            return fixed
        spread = noise = weight = 0.0
        values = 0
        for (arm, d, _), s in self.stats.items():
            if d != dim:
                continue
            whole = self._stat(arm, OVERALL, OVERALL)
            if stage == 0:
                n, k, m_n, m_k = s.sends, s.clicks, whole.sends, whole.clicks
            else:
                n, k, m_n, m_k = s.trials, s.conversions, whole.trials, whole.conversions
            if n <= 0 or m_n <= 0:
                continue
            m = min(max(m_k / m_n, 1e-6), 1 - 1e-6)
            spread += n * (k / n - m) ** 2
            noise += m * (1 - m)  # each value's expected share of the spread
            weight += n
            values += 1
        # Noise alone makes the spread a chi-square of about ``values`` degrees of
        # freedom: only what exceeds two of its standard errors counts as a real spread
        # (rare conversions would otherwise read noise as effects, five traits over).
        margin = noise * (1 + 2 * (2 / max(values, 1)) ** 0.5)
        tau2 = (spread - margin) / weight if weight > 0 else 0.0
        if tau2 <= 0:
            found = KAPPA_MAX
        else:
            # The spread relative to the pooled mean of this stage.
            pooled = self._pooled_rate(stage)
            found = min(max(pooled * (1 - pooled) / tau2 - 1, KAPPA_MIN), KAPPA_MAX)
        self._kappas[key] = found
        return found

    def _pooled_rate(self, stage: int) -> float:
        assert self.click_prior is not None and self.conversion_prior is not None
        return (self.click_prior if stage == 0 else self.conversion_prior).mean

    def posterior(self, arm: int, seg: Mapping[str, str], payout: float | None) -> Posterior:
        click, conv, expected_payout = self._whole(arm, payout)
        click_segs: dict[str, Beta] = {}
        conv_segs: dict[str, Beta] = {}
        for dim in self.dimensions:
            value = seg.get(dim)
            if value is None:
                continue
            key = f"{dim}={value}"
            click_segs[key], conv_segs[key] = self._segment(arm, dim, value, click, conv)
        return Posterior(click, conv, expected_payout, click_segs, conv_segs)

    def _arms(self, arms: Sequence[tuple[int, float | None]], seg: Mapping[str, str]) -> _Arms:
        key = (tuple(arms), tuple(sorted(seg.items())))
        found = self._cache.get(key)
        if found is not None:
            return found
        posts = [self.posterior(arm, seg, payout) for arm, payout in arms]
        rows = [(p.contact_click, p.contact_conversion) for p in posts]
        built = _Arms(
            arms=[a for a, _ in arms], posteriors=posts,
            alpha=np.array([[c.alpha, v.alpha] for c, v in rows]),
            beta=np.array([[c.beta, v.beta] for c, v in rows]),
            payout=np.array([p.payout for p in posts]))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = built
        return built

    def choose(self, arms: Sequence[tuple[int, float | None]], seg: Mapping[str, str],
               rng: np.random.Generator) -> Draw:
        """The arm with the highest sampled revenue per send; ties go to the first."""
        if not arms:
            raise ValueError("no arms")
        a = self._arms(arms, seg)
        draws = rng.beta(a.alpha, a.beta)
        values = draws[:, 0] * draws[:, 1] * a.payout
        best = int(np.argmax(values))
        return Draw(a.arms[best], float(values[best]), a.posteriors[best])


_EMPTY = ArmStats()


def _centred(mean: float, strength: float) -> Beta:
    mean = min(max(mean, 1e-6), 1 - 1e-6)
    return Beta(mean * strength, (1 - mean) * strength)


def _update(prior: Beta, successes: float, failures: float) -> Beta:
    return Beta(prior.alpha + max(successes, 0.0), prior.beta + max(failures, 0.0))


# (arm, ((dimension, value), ...)): one cell of the full cross of a contact's segments.
Cells = Mapping[tuple[int, tuple[tuple[str, str], ...]], ArmStats]
FIT_ROUNDS = 12
FIT_PSEUDO = 1.0  # pseudo-events per segment value: a value with no click keeps a lift


def fit_segments(cells: Cells) -> dict[tuple[int, str, str], ArmStats]:
    """The stats table from the full cross of segments: each arm's overall row, and per
    segment value the counts with exposures that make the naive-Bayes product of lifts
    the maximum-likelihood multiplicative model (rate = m x prod of one lift per trait).

    Raw per-trait counts are confounded: a creative sent mostly in the evening (because
    the selector learned it does well then) shows an evening-inflated rate in every other
    trait's segments, and multiplying five such lifts counts the evening five times.
    Fitting the lifts jointly (iterative proportional fitting, per arm, on at most a few
    thousand cells) and storing each value's exposure under the *other* traits' lifts
    removes that: ``clicks / sends`` of a fitted row is ``m x lift``."""
    by_arm: dict[int, list[tuple[tuple[tuple[str, str], ...], ArmStats]]] = {}
    for (arm, seg), s in cells.items():
        by_arm.setdefault(arm, []).append((seg, s))
    out: dict[tuple[int, str, str], ArmStats] = {}
    for arm, rows in by_arm.items():
        whole = ArmStats()
        for _, s in rows:
            whole.add(s)
        out[(arm, OVERALL, OVERALL)] = whole
        dims = sorted({dim for seg, _ in rows for dim, _ in seg})
        if not dims or whole.sends <= 0:
            continue
        values = [sorted({dict(seg).get(dim, "") for seg, _ in rows}) for dim in dims]
        codes = np.array([[values[i].index(dict(seg).get(dim, ""))
                           for i, dim in enumerate(dims)] for seg, _ in rows])
        sends = np.array([s.sends for _, s in rows])
        clicks = np.array([s.clicks for _, s in rows])
        trials = np.array([s.trials for _, s in rows])
        convs = np.array([s.conversions for _, s in rows])
        revenue = np.array([s.revenue for _, s in rows])
        click_exp = _fit(codes, values, sends, clicks)
        conv_exp = _fit(codes, values, trials, convs)
        for i, dim in enumerate(dims):
            for k, value in enumerate(values[i]):
                if value == "":
                    continue
                here = codes[:, i] == k
                out[(arm, dim, value)] = ArmStats(
                    float(click_exp[i][k]), float(clicks[here].sum()),
                    float(convs[here].sum()), float(revenue[here].sum()),
                    float(conv_exp[i][k]))
    return out


def _fit(codes: np.ndarray, values: Sequence[Sequence[str]], exposure: np.ndarray,
         events: np.ndarray) -> list[np.ndarray]:
    """Per trait, each value's exposure under the other traits' fitted lifts."""
    total = exposure.sum()
    rate = events.sum() / total if total > 0 else 0.0
    lifts = [np.ones(len(v)) for v in values]
    observed = [np.bincount(codes[:, i], weights=events, minlength=len(v))
                for i, v in enumerate(values)]

    def others(i: int) -> np.ndarray:
        w = exposure.copy()
        for j, lift in enumerate(lifts):
            if j != i:
                w *= lift[codes[:, j]]
        return w

    if rate > 0:
        for _ in range(FIT_ROUNDS):
            for i, v in enumerate(values):
                base = np.bincount(codes[:, i], weights=others(i), minlength=len(v)) * rate
                lifts[i] = (observed[i] + FIT_PSEUDO) / (base + FIT_PSEUDO)
    return [np.bincount(codes[:, i], weights=others(i), minlength=len(v))
            for i, v in enumerate(values)]


def offer_stats(stats: StatsTable, offer_of: Mapping[int, int | None]) -> dict[
        tuple[int, str, str], ArmStats]:
    """The stats table summed from creatives to their offers (two-step selection)."""
    out: dict[tuple[int, str, str], ArmStats] = {}
    for (creative, dim, value), s in stats.items():
        offer = offer_of.get(creative)
        if offer is None:
            continue
        out.setdefault((offer, dim, value), ArmStats()).add(s)
    return out


@dataclass(frozen=True)
class Decision:
    """The chosen creative and how: ``mode`` is ``model`` or ``control``."""

    creative_id: int
    offer_id: int | None
    mode: str
    segment: str
    draw: float | None
    posterior: Posterior | None
    offer_draw: float | None = None


class Model:
    """A stats snapshot made ready to sample: built once per refresh or batch of sends,
    so choosing for each contact reads nothing and recomputes no pooled prior."""

    def __init__(self, stats: StatsTable, *, kappa: float = KAPPA,
                 dimensions: Sequence[str] = DIMENSIONS, adaptive: bool = False,
                 conversion_kappa: float | None = None) -> None:
        self.stats = stats
        self.kappa = kappa
        self.dimensions = dimensions
        self.adaptive = adaptive
        self.conversion_kappa = conversion_kappa
        self.creatives = Sampler(stats, dimensions=dimensions, kappa=kappa,
                                 adaptive=adaptive, conversion_kappa=conversion_kappa)
        self._offers: dict[frozenset[tuple[int, int | None]], Sampler] = {}

    def offers(self, offer_of: Mapping[int, int | None]) -> Sampler:
        key = frozenset(offer_of.items())
        if key not in self._offers:
            self._offers[key] = Sampler(offer_stats(self.stats, offer_of),
                                        dimensions=self.dimensions, kappa=self.kappa,
                                        adaptive=self.adaptive,
                                        conversion_kappa=self.conversion_kappa)
        return self._offers[key]


def decide(candidates: Sequence[Candidate], traits: Traits, model: Model, *,
           rng: np.random.Generator, automated_percent: float = 100.0,
           two_step: bool = False) -> Decision:
    """Choose a creative for one contact: the model for ``automated_percent`` of contacts,
    the control split (candidates' weights) for the rest."""
    if not candidates:
        raise ValueError("no candidates")
    seg = segments(traits)
    key = segment_key(seg)
    if rng.random() * 100 >= automated_percent:
        weights = np.array([max(c.weight, 0.0) for c in candidates])
        if weights.sum() <= 0:
            weights = np.ones(len(candidates))
        pick = candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]
        return Decision(pick.creative_id, pick.offer_id, "control", key, None, None)
    by_id = {c.creative_id: c for c in candidates}
    pool = list(candidates)
    offer_draw = None
    if two_step and len({c.offer_id for c in candidates}) > 1:
        offers: dict[int, float | None] = {}
        for c in candidates:
            if c.offer_id is not None:
                offers.setdefault(c.offer_id, c.payout)
        if offers:
            sampler = model.offers({c.creative_id: c.offer_id for c in candidates})
            chosen = sampler.choose(list(offers.items()), seg, rng)
            offer_draw = chosen.value
            pool = [c for c in candidates if c.offer_id == chosen.arm]
    best = model.creatives.choose([(c.creative_id, c.payout) for c in pool], seg, rng)
    pick = by_id[best.arm]
    return Decision(pick.creative_id, pick.offer_id, "model", key, best.value,
                    best.posterior, offer_draw)
