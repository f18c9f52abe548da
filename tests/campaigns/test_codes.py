"""Batch ids and codes look exactly like core.ids' own, with every character equally
likely."""

from __future__ import annotations

from collections import Counter

from core.campaigns.codes import public_ids, short_codes
from core.ids import UNAMBIGUOUS, looks_like_message_id


def test_batch_ids_and_codes_have_the_shape_of_single_ones():
    ids = public_ids(1000)
    assert len(ids) == 1000 and all(looks_like_message_id(i) for i in ids)
    codes = short_codes(1000)
    assert all(len(c) == 7 and set(c) <= set(UNAMBIGUOUS) for c in codes)
    assert len(set(codes)) == 1000


def test_every_character_is_as_likely():
    counts = Counter("".join(short_codes(20_000)))
    assert set(counts) == set(UNAMBIGUOUS)
    expected = 20_000 * 7 / len(UNAMBIGUOUS)  # 2,500 each
    assert all(abs(n - expected) < 300 for n in counts.values())  # about 6 sigma
