"""The selector's arithmetic: segments, shrinkage, priors, the control split, two steps."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from core.selection.bandit import (
    OVERALL,
    ArmStats,
    Candidate,
    Model,
    Traits,
    decide,
    segments,
)

A, B = 1, 2


def whole(arm: int, sends: int, clicks: int, conversions: int = 0, revenue: float = 0.0
          ) -> tuple[tuple[int, str, str], ArmStats]:
    return (arm, OVERALL, OVERALL), ArmStats(sends, clicks, conversions, revenue)


def test_segments_bucket_each_trait() -> None:
    seg = segments(Traits(days_since_click=5, clicks=7, carrier=" AT&T ", line_type="cell",
                          local_hour=23))
    assert seg == {"recency": "7d", "history": "3+", "carrier": "at&t", "line_type": "cell",
                   "hour": "21-23"}
    assert segments(Traits())["recency"] == "never"
    assert segments(Traits(days_since_click=400))["recency"] == "old"


def test_a_thin_segment_reads_as_the_creative_and_a_full_one_as_itself() -> None:
    stats = dict([whole(A, 10_000, 500)])
    stats[(A, "carrier", "verizon")] = ArmStats(2, 1, 0, 0)  # two sends, one click
    stats[(A, "carrier", "att")] = ArmStats(5_000, 50, 0, 0)  # 1% where overall is 5%
    model = Model(stats)  # click kappa fixed at 30
    thin = model.creatives.posterior(A, {"carrier": "verizon"}, None)
    assert thin.click.mean == pytest.approx(0.05, rel=0.01)
    assert 0.05 < thin.contact_click.mean < 0.09  # 50% of two sends barely moves it
    full = model.creatives.posterior(A, {"carrier": "att"}, None)
    assert full.contact_click.mean == pytest.approx(0.01, rel=0.2)


def test_kappa_follows_how_much_a_trait_really_separates_contacts() -> None:
    """Empirical Bayes: carriers differ (1% vs 9%), line types only by binomial noise; the
    carrier's segments are let move, the line type's read as the creative's mean."""
    stats = dict([whole(A, 20_000, 1_000, 100, 200.0)])
    stats[(A, "carrier", "att")] = ArmStats(10_000, 100, 10, 20.0)
    stats[(A, "carrier", "verizon")] = ArmStats(10_000, 900, 90, 180.0)
    stats[(A, "line_type", "cell")] = ArmStats(10_000, 510, 51, 102.0)
    stats[(A, "line_type", "voip")] = ArmStats(10_000, 490, 49, 98.0)
    sampler = Model(stats, adaptive=True).creatives
    assert sampler._kappa("carrier", 0) < 100  # a real spread: a weak prior
    assert sampler._kappa("line_type", 0) >= 50_000  # noise only: a strong one
    cell = sampler.posterior(A, {"line_type": "cell"}, None)
    assert cell.contact_click.mean == pytest.approx(0.05, rel=0.01)
    att = sampler.posterior(A, {"carrier": "att"}, None)
    assert att.contact_click.mean == pytest.approx(0.01, rel=0.1)


def test_a_trait_that_moves_clicks_but_not_conversions_reads_as_the_creative() -> None:
    """Carriers differ in clicks (1% vs 9%) but convert alike up to binomial noise; line
    types convert at 2% vs 18%. By default a carrier's conversion rate is the creative's,
    while a line type's and a carrier's click rate follow their own data."""
    stats = dict([whole(A, 20_000, 1_000, 100, 200.0)])
    stats[(A, "carrier", "att")] = ArmStats(10_000, 100, 12, 24.0)  # 12% of 100 clicks
    stats[(A, "carrier", "verizon")] = ArmStats(10_000, 900, 88, 176.0)  # 9.8% of 900
    stats[(A, "line_type", "cell")] = ArmStats(10_000, 500, 90, 180.0)
    stats[(A, "line_type", "voip")] = ArmStats(10_000, 500, 10, 20.0)
    sampler = Model(stats).creatives
    att = sampler.posterior(A, {"carrier": "att"}, None)
    assert att.contact_click.mean == pytest.approx(0.01, rel=0.15)
    assert att.contact_conversion.mean == pytest.approx(0.10, rel=0.02)
    voip = sampler.posterior(A, {"line_type": "voip"}, None)
    assert voip.contact_conversion.mean < 0.04
    cell = sampler.posterior(A, {"line_type": "cell"}, None)
    assert cell.contact_conversion.mean > 0.15


def test_a_new_creative_starts_at_the_accounts_rate() -> None:
    stats = dict([whole(A, 10_000, 300, 30, 60.0)])
    post = Model(stats).creatives.posterior(B, {}, None)
    assert post.click.mean == pytest.approx(0.03, rel=0.05)
    assert post.conversion.mean == pytest.approx(0.10, rel=0.1)
    assert post.payout == pytest.approx(2.0)
    # with the offer's stated payout as its prior payout
    assert Model(stats).creatives.posterior(B, {}, 5.0).payout == pytest.approx(5.0)


def test_the_best_creative_differs_by_segment() -> None:
    # A is better overall; B is much better with T-Mobile contacts.
    stats = dict([whole(A, 20_000, 1_000, 100, 200.0), whole(B, 20_000, 600, 60, 120.0)])
    stats[(A, "carrier", "tmobile")] = ArmStats(4_000, 40, 4, 8.0)
    stats[(B, "carrier", "tmobile")] = ArmStats(4_000, 400, 40, 80.0)
    stats[(A, "carrier", "verizon")] = ArmStats(8_000, 480, 48, 96.0)
    stats[(B, "carrier", "verizon")] = ArmStats(8_000, 80, 8, 16.0)
    model = Model(stats)
    rng = np.random.default_rng(1)
    cands = [Candidate(A), Candidate(B)]
    tmobile = Counter(decide(cands, Traits(carrier="tmobile"), model, rng=rng).creative_id
                      for _ in range(500))
    verizon = Counter(decide(cands, Traits(carrier="verizon"), model, rng=rng).creative_id
                      for _ in range(500))
    assert tmobile[B] > 450
    assert verizon[A] > 450


def test_every_decision_says_what_it_drew_from() -> None:
    model = Model(dict([whole(A, 100, 5)]))
    d = decide([Candidate(A, offer_id=9, payout=3.0)], Traits(carrier="att"), model,
               rng=np.random.default_rng(2))
    assert (d.creative_id, d.offer_id, d.mode) == (A, 9, "model")
    assert d.draw is not None and d.draw > 0
    assert d.posterior is not None
    recorded = d.posterior.as_json()
    assert "carrier=att" in recorded["click_segments"]  # type: ignore[operator]
    assert "carrier=att" in d.segment


def test_the_control_share_follows_the_blast_split() -> None:
    model = Model({})
    rng = np.random.default_rng(3)
    cands = [Candidate(A, weight=75), Candidate(B, weight=25)]
    got = [decide(cands, Traits(), model, rng=rng, automated_percent=40) for _ in range(4000)]
    modes = Counter(d.mode for d in got)
    assert 1450 < modes["model"] < 1750  # 40%
    control = Counter(d.creative_id for d in got if d.mode == "control")
    assert 0.70 < control[A] / sum(control.values()) < 0.80
    assert all(d.draw is None for d in got if d.mode == "control")


def test_two_steps_choose_the_offer_first() -> None:
    # Offer 10 earns far more per send; within it, creative 3 beats creative 4.
    stats = dict([whole(1, 5_000, 100, 5, 5.0), whole(2, 5_000, 100, 5, 5.0),
                  whole(3, 5_000, 300, 60, 600.0), whole(4, 5_000, 150, 30, 300.0)])
    cands = [Candidate(1, 20), Candidate(2, 20), Candidate(3, 10), Candidate(4, 10)]
    rng = np.random.default_rng(4)
    model = Model(stats)
    got = Counter(decide(cands, Traits(), model, rng=rng, two_step=True).creative_id
                  for _ in range(300))
    # The offer: 0.09 a send against 0.001. A contact in segments never seen still
    # gives the weaker offer the odd try (a segment's prior is only kappa strong).
    assert got[1] + got[2] < 10
    # Within it, a contact in segments never seen is unsure how far it strays from the
    # creatives' rates, so the weaker creative still gets the odd try.
    assert got[3] > 2 * got[4]
    d = decide(cands, Traits(), model, rng=rng, two_step=True)
    assert d.offer_draw is not None
