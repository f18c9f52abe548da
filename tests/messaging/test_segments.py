"""The segment counter against the published GSM-7 / UCS-2 rules (must show 1)."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from core.messaging.models import Encoding
from core.messaging.segments import (
    GSM_BASIC,
    GSM_EXTENSION,
    count,
    smart_encode,
    split,
)

G, U = "GSM-7", "UCS-2"
FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # 4 emoji + 3 joiners: 11 UTF-16 units
THUMB = "👍🏽"  # emoji + skin tone modifier: 4 units
FLAG = "🇺🇸"  # two regional indicators: 4 units
KEYCAP = "1\ufe0f\u20e3"  # 3 units
RAINBOW = "🏳\ufe0f\u200d🌈"  # 6 units
BASIC_ALL = "".join(sorted(GSM_BASIC))


def units(part: str, encoding: str) -> int:
    if encoding == G:
        return sum(2 if ch in GSM_EXTENSION else 1 for ch in part)
    return len(part.encode("utf-16-le")) // 2


# (text, encoding, segments, units per part or None when only the count matters)
CASES: list[tuple[str, str, str, int, list[int] | None]] = [
    ("empty", "", G, 0, []),
    ("one char", "a", G, 1, [1]),
    ("gsm 160", "a" * 160, G, 1, [160]),
    ("gsm 161", "a" * 161, G, 2, [153, 8]),
    ("gsm 153x2", "a" * 306, G, 2, [153, 153]),
    ("gsm 154x2", "a" * 307, G, 3, [153, 153, 1]),
    ("gsm 459", "a" * 459, G, 3, [153, 153, 153]),
    ("gsm 460", "a" * 460, G, 4, [153, 153, 153, 1]),
    ("gsm 1600", "a" * 1600, G, 11, None),
    ("euro x80 = 160 septets", "€" * 80, G, 1, [160]),
    ("euro x81 = 162 septets", "€" * 81, G, 2, [152, 10]),
    ("euro would straddle 153", "a" * 152 + "€" + "a" * 7, G, 2, [152, 9]),
    ("brace would straddle 153", "a" * 152 + "{" + "a" * 7, G, 2, [152, 9]),
    ("euro ends part exactly", "a" * 151 + "€" + "a" * 8, G, 2, [153, 8]),
    ("brace ends part exactly", "a" * 151 + "}" + "a" * 8, G, 2, [153, 8]),
    ("euro at 159+2", "a" * 159 + "€", G, 2, [153, 8]),
    ("euro at 158+2 fits", "a" * 158 + "€", G, 1, [160]),
    ("brace 160 fits", "a" * 158 + "{", G, 1, [160]),
    ("euro straddles 2nd boundary", "a" * 305 + "€", G, 3, [153, 152, 2]),
    ("euro ends 2nd part", "a" * 304 + "€", G, 2, [153, 153]),
    ("square brackets x80", "[]" * 40, G, 1, [160]),
    ("close bracket x81", "]" * 81, G, 2, [152, 10]),
    ("tilde x81", "~" * 81, G, 2, [152, 10]),
    ("backslash x80", "\\" * 80, G, 1, [160]),
    ("pipe and caret", "|^" * 40 + "a", G, 2, [152, 9]),
    ("form feed is extension", "a" * 159 + "\f", G, 2, [153, 8]),
    ("caret x76 + a", "^" * 76 + "a", G, 1, [153]),
    ("pound x160", "£" * 160, G, 1, [160]),
    ("umlaut x161", "Ä" * 161, G, 2, [153, 8]),
    ("greek capitals are gsm", "ΔΦΓΛΩΠΨΣΘΞ", G, 1, [10]),
    ("whole basic alphabet", BASIC_ALL, G, 1, [len(GSM_BASIC)]),
    ("newlines are gsm", "a\nb\r\nc", G, 1, [6]),
    ("greek lowercase is not", "α", U, 1, [1]),
    ("c cedilla lowercase is not", "ç", U, 1, [1]),
    ("backtick is not", "`", U, 1, [1]),
    ("tab is not", "\t", U, 1, [1]),
    ("escape is not a character", "\x1b", U, 1, [1]),
    ("curly quote is not", "it’s", U, 1, [4]),
    ("polish", "ą" * 70, U, 1, [70]),
    ("cyrillic 70", "Ж" * 70, U, 1, [70]),
    ("cyrillic 71", "Ж" * 71, U, 2, [67, 4]),
    ("cyrillic 67x2", "Ж" * 134, U, 2, [67, 67]),
    ("cyrillic 68x2", "Ж" * 135, U, 3, [67, 67, 1]),
    ("cyrillic 1600", "Ж" * 1600, U, 24, None),
    ("emoji x35 = 70 units", "😀" * 35, U, 1, [70]),
    ("emoji x36", "😀" * 36, U, 2, [66, 6]),
    ("emoji x67: pairs never straddle", "😀" * 67, U, 3, [66, 66, 2]),
    ("a + emoji x33 = 67", "a" + "😀" * 33, U, 1, [67]),
    ("a + emoji x35", "a" + "😀" * 35, U, 2, [67, 4]),
    ("emoji would straddle 67", "a" * 66 + "😀" + "a" * 4, U, 2, [66, 6]),
    ("emoji ends part exactly", "a" * 65 + "😀" + "a" * 5, U, 2, [67, 5]),
    ("zwj family not split", "a" * 60 + FAMILY + "a" * 10, U, 2, [60, 21]),
    ("families x7", FAMILY * 7, U, 2, [66, 11]),
    ("skin tone not split", "a" * 64 + THUMB + "a" * 5, U, 2, [64, 9]),
    ("flag not split", "a" * 65 + FLAG + "a" * 5, U, 2, [65, 9]),
    ("keycap not split", "a" * 65 + KEYCAP + "a" * 5, U, 2, [65, 8]),
    ("rainbow flag not split", "a" * 63 + RAINBOW + "a" * 5, U, 2, [63, 11]),
    ("combining accent not split", "a" * 66 + "e\u0301" + "a" * 4, U, 2, [66, 6]),
    ("crlf stays together in ucs-2", "Ж" * 66 + "\r\n" + "Ж" * 4, U, 2, [66, 6]),
    ("euro is one unit in ucs-2", "€" * 69 + "ą", U, 1, [70]),
    ("brace is one unit in ucs-2", "{" * 70 + "Ж", U, 2, [67, 4]),
    ("gsm text + one emoji", "a" * 160 + "😀", U, 3, [67, 67, 28]),
    ("cyrillic 67 + emoji fits", "Ж" * 67 + "😀", U, 1, [69]),
    ("cyrillic 69 + emoji", "Ж" * 69 + "😀", U, 2, [67, 4]),
    ("mixed scripts", "Hello Привет 你好 مرحبا", U, 1, None),
    ("mixed scripts long", ("Hi Привет 你好 ") * 8, U, 2, None),
    ("devanagari clusters", "नमस्ते " * 12, U, 2, None),
    ("hebrew with points", "שָׁלוֹם " * 10, U, 2, None),
    ("pathological cluster is cut", "e" + "\u0301" * 70, U, 2, [67, 4]),
]


@pytest.mark.parametrize(("text", "encoding", "segments", "part_units"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_published_rules(text: str, encoding: str, segments: int,
                         part_units: list[int] | None) -> None:
    info = count(text)
    assert info.encoding == encoding
    assert info.segments == segments == len(info.parts)
    assert "".join(info.parts) == text
    if part_units is not None:
        assert [units(p, encoding) for p in info.parts] == part_units
    assert info.units == units(text, encoding)
    assert info.characters == len(text)


def test_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60


def test_limits_and_remaining() -> None:
    one = count("a" * 100)
    assert (one.per_part_limit, one.remaining) == (160, 60)
    two = count("a" * 161)
    assert (two.per_part_limit, two.remaining) == (153, 145)
    ucs = count("Ж" * 71)
    assert (ucs.per_part_limit, ucs.remaining) == (67, 63)
    assert count("").remaining == 160


def test_encoding_values_match_the_model() -> None:
    assert Encoding(count("a").encoding) is Encoding.GSM7
    assert Encoding(count("Ж").encoding) is Encoding.UCS2


SMART_CASES = [
    ("It’s “great” — really…", "It's \"great\" - really..."),
    ("price\u00a010\u202f$", "price 10 $"),
    ("a–b‐c−d", "a-b-c-d"),
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("«quoted» ‹x›", '"quoted" <x>'),
    ("tab\there", "tab here"),
    ("façade", "faÇade"),
]


@pytest.mark.parametrize(("raw", "encoded"), SMART_CASES)
def test_smart_encoding_maps_typography_to_gsm(raw: str, encoded: str) -> None:
    assert smart_encode(raw) == encoded
    assert count(raw).encoding == "UCS-2"
    smart = count(raw, smart=True)
    assert (smart.encoding, smart.text) == ("GSM-7", encoded)


def test_smart_encoding_halves_the_cost_of_a_typographic_message() -> None:
    body = "Don’t miss it — 50% off today only… " * 3
    assert count(body).segments == 2  # 108 chars in UCS-2
    assert count(body, smart=True).segments == 1


def test_smart_encoding_keeps_what_has_no_lookalike() -> None:
    assert smart_encode("Привет 😀 👨\u200d👩\u200d👧") == "Привет 😀 👨\u200d👩\u200d👧"


def test_split_returns_the_parts() -> None:
    assert split("a" * 161) == ["a" * 153, "a" * 8]
    assert split("") == []


# --- properties ------------------------------------------------------------------------

ALPHABET = st.sampled_from(
    list("aZ0 @£€{}[]~^|\\\f\n") + list("Жąçŝ你") + ["😀", FAMILY, THUMB, FLAG, KEYCAP,
                                                   "e\u0301", "\r\n", "\u200d", "\ufe0f"]
)
TEXTS = st.one_of(
    st.text(max_size=400),
    st.lists(ALPHABET, max_size=250).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_parts_reassemble_and_fit(text: str) -> None:
    info = count(text)
    assert "".join(info.parts) == text
    assert info.segments == len(info.parts)
    limit = info.per_part_limit
    for part in info.parts:
        assert 0 < units(part, info.encoding) <= limit
    if info.segments > 1:
        assert limit in (153, 67)
        assert info.units > (160 if info.encoding == "GSM-7" else 70)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_ucs2_parts_end_on_grapheme_boundaries(text: str) -> None:
    info = count(text)
    if info.encoding != "UCS-2":
        return
    boundaries = {0}
    position = 0
    for cluster in regex.findall(r"\X", text):
        if len(cluster.encode("utf-16-le")) // 2 > 67:
            return  # the documented exception: a cluster longer than a part
        position += len(cluster)
        boundaries.add(position)
    position = 0
    for part in info.parts:
        position += len(part)
        assert position in boundaries


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_counting_is_deterministic(text: str) -> None:
    assert count(text) == count(text)
    assert count(text, smart=True) == count(text, smart=True)


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_smart_encoding_keeps_gsm_text_gsm(text: str) -> None:
    smart = count(text, smart=True)
    if count(text).encoding == "GSM-7":
        assert smart.encoding == "GSM-7"
    assert "".join(smart.parts) == smart_encode(text)
