"""What every adapter shares, on what providers really send."""

from __future__ import annotations

import pytest

from core.providers.common import clip, parts


@pytest.mark.parametrize(("given", "expected"), [
    (2, 2), ("3", 3), (" 1 ", 1), (255, 255),
    (0, None), (-1, None), (256, None), ("99999999999", None), (10**12, None),
    (True, None), (1.5, None), ("two", None), (None, None), ("", None),
])
def test_a_providers_segment_count_is_kept_only_when_an_sms_can_have_it(given, expected):
    assert parts(given) == expected


def test_clip_cleans_and_sizes_what_a_provider_sends():
    assert clip("Absent\x00 sub\x1bscriber", 300) == "Absent subscriber"
    assert clip("\x00", 10) is None
    assert clip("x" * 40, 32) == "x" * 31 + "…"
