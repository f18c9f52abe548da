"""Phone numbers: any common form to one E.164, with the facts the number carries."""

from __future__ import annotations

import collections
import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.contacts.area_codes import AREA_CODE_STATES
from core.contacts.models import LineType
from core.contacts.phones import (
    PhoneError,
    PhoneInfo,
    candidate_zones,
    mask,
    normalize,
    normalize_sender,
    parse_phone,
)

TEN_FORMATS = [
    "(415) 555-0100",
    "415.555.0100",
    "415-555-0100",
    "4155550100",
    "+1 415 555 0100",
    "+14155550100",
    "14155550100",
    "1 (415) 555-0100",
    "001 415 555 0100",
    "011 1 415 555 0100",
    "415-555-0100 ext. 12",
    "415 555 0100 x12",
    "+1-415-555-0100",
    " (415)555 0100 ",
]


def test_ten_formats_one_e164():
    assert {normalize(raw) for raw in TEN_FORMATS} == {"+14155550100"}


def test_facts_of_a_us_number():
    info = parse_phone("(415) 555-0100")
    assert isinstance(info, PhoneInfo)
    assert (info.e164, info.country_code, info.line_type, info.timezone, info.state,
            info.area_code) == ("+14155550100", "US", LineType.CELL, "America/Los_Angeles",
                                "CA", "415")
    assert parse_phone("415-555-0100 ext. 12").extension == "12"


@pytest.mark.parametrize(("raw", "zone", "state"), [
    ("212 736 5000", "America/New_York", "NY"),
    ("305 555 1234", "America/New_York", "FL"),
    ("312 555 1234", "America/Chicago", "IL"),
    ("602 555 1234", "America/Phoenix", "AZ"),
    ("808 555 1234", "Pacific/Honolulu", "HI"),
    ("907 555 1234", "America/Anchorage", "AK"),
    ("416 555 1234", "America/Toronto", "ON"),
])
def test_timezone_and_state_from_the_area_code(raw, zone, state):
    info = parse_phone(raw)
    assert isinstance(info, PhoneInfo)
    assert (info.timezone, info.state) == (zone, state)


def test_other_countries_and_line_types():
    uk_mobile = parse_phone("+44 7911 123456")
    assert isinstance(uk_mobile, PhoneInfo) and uk_mobile.line_type == LineType.CELL
    uk_fixed = parse_phone("+44 20 7946 0958")
    assert isinstance(uk_fixed, PhoneInfo) and uk_fixed.line_type == LineType.LANDLINE
    assert uk_fixed.timezone == "Europe/London" and uk_fixed.state is None
    french = parse_phone("06 12 34 56 78", region="FR")
    assert isinstance(french, PhoneInfo) and french.e164 == "+33612345678"
    assert french.carrier  # the numbering data knows French mobile ranges
    toll_free = parse_phone("800 555 1234")
    assert isinstance(toll_free, PhoneInfo) and toll_free.line_type == LineType.UNKNOWN


def test_area_code_spanning_zones_lists_all():
    assert set(candidate_zones("+19075551234")) == {"America/Adak", "America/Anchorage"}
    assert candidate_zones("+14155550100") == ("America/Los_Angeles",)
    assert candidate_zones("+18005551234") == ()  # toll-free: no place


@pytest.mark.parametrize(("raw", "code"), [
    ("", "missing_phone"),
    (None, "missing_phone"),
    ("   ", "missing_phone"),
    ("123", "invalid_phone"),
    ("abc", "invalid_phone"),
    ("555-0100", "invalid_phone"),
    ("+1 555 555 0100", "invalid_phone"),
    ("(000) 555-0100", "invalid_phone"),
    ("+999 1234 5678", "invalid_phone"),
    ("1" * 80, "invalid_phone"),
    ("415555010", "invalid_phone"),
    ("41555501000", "invalid_phone"),
    ("+1 415 555 0100 +1", "invalid_phone"),
])
def test_invalid_input_returns_a_reason(raw, code):
    result = parse_phone(raw)
    assert isinstance(result, PhoneError)
    assert result.code == code and result.reason.endswith(".")


def test_sending_list_numbers():
    assert normalize_sender("12345") == "12345"
    assert normalize_sender("55 55 55") == "555555"
    assert normalize_sender("(415) 555-0100") == "+14155550100"
    assert normalize_sender("1234") is None
    assert normalize_sender("+12345") is None


def test_mask_hides_the_middle():
    assert mask("+14155550100") == "+14*******00"
    assert "5550" not in mask("+14155550100")
    assert mask(None) == "?"


STATE_NAMES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL",
    "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN",
    "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME",
    "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE",
    "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM",
    "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH",
    "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI",
    "south carolina": "SC", "south dakota": "SD", "tennessee": "TN", "texas": "TX",
    "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "washington d.c.": "DC", "washington, d.c.": "DC", "district of columbia": "DC",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "nova scotia": "NS", "ontario": "ON",
    "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK",
    "northwest territories": "NT", "nunavut": "NU", "yukon": "YT",
}


def test_area_code_table_matches_the_numbering_data():
    """The committed table is what the phonenumbers geocoding data says (rebuilt here)."""
    from phonenumbers.geodata import GEOCODE_DATA

    names = STATE_NAMES
    codes = set(names.values())

    def state_of(description: str) -> str | None:
        match = re.search(r",\s*([A-Z]{2})$", description)
        if match and match.group(1) in codes:
            return match.group(1)
        return names.get(description.strip().lower())

    exact: dict[str, str] = {}
    votes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for key, value in GEOCODE_DATA.items():
        if key.startswith("1") and len(key) >= 4 and "en" in value:
            state = state_of(value["en"])
            if state is None:
                continue
            if len(key) == 4:
                exact[key[1:]] = state
            else:
                votes[key[1:4]][state] += 1
    rebuilt = dict(exact)
    for npa, counter in votes.items():
        rebuilt.setdefault(npa, sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0][0])
    assert rebuilt == AREA_CODE_STATES


_NANP = st.builds(
    lambda npa, nxx, line: f"{npa}{nxx}{line:04d}",
    st.integers(200, 999).map(str), st.integers(200, 999).map(str), st.integers(0, 9999))
_SEPARATORS = st.sampled_from(["", " ", "-", ".", "  "])


@st.composite
def _formatted(draw: st.DrawFn) -> str:
    digits = draw(_NANP)
    sep = draw(_SEPARATORS)
    style = draw(st.integers(0, 5))
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [f"{a}{sep}{b}{sep}{c}", f"({a}){sep}{b}{sep}{c}", f"+1{sep}{a}{sep}{b}{sep}{c}",
            f"1{sep}{a}{sep}{b}{sep}{c}", f"001 {a} {b} {c}", f"+1 ({a}) {b}-{c}"][style]


_ANY = st.one_of(_formatted(), st.text(max_size=25),
                 st.text(alphabet="0123456789+()-. x#", max_size=20))


@settings(max_examples=500, deadline=None)
@given(_ANY)
def test_normalising_an_e164_again_gives_the_same(raw: str):
    first = parse_phone(raw)
    if isinstance(first, PhoneInfo):
        again = parse_phone(first.e164)
        assert isinstance(again, PhoneInfo)
        assert again.e164 == first.e164
        assert (again.line_type, again.timezone, again.state) == (
            first.line_type, first.timezone, first.state)
        assert parse_phone(first.e164, region="GB").e164 == first.e164  # type: ignore


@settings(max_examples=500, deadline=None)
@given(_ANY)
def test_agrees_with_the_library(raw: str):
    """The fast path for plain NANP shapes gives what phonenumbers itself would."""
    ours = parse_phone(raw)
    try:
        theirs = phonenumbers.parse(raw, "US")
        valid = phonenumbers.is_valid_number(theirs)
    except phonenumbers.NumberParseException:
        valid = False
    if valid and not raw.strip().startswith("00"):
        assert isinstance(ours, PhoneInfo), raw
        assert ours.e164 == phonenumbers.format_number(theirs,
                                                       phonenumbers.PhoneNumberFormat.E164)
    elif isinstance(ours, PhoneInfo) and not raw.strip().startswith("00"):
        pytest.fail(f"we accepted {raw!r}, phonenumbers does not")


@settings(max_examples=1000, deadline=None)
@given(st.integers(2_000_000_000, 9_999_999_999))
def test_one_pass_typing_agrees_with_the_library(national: int):
    """phones types +1 numbers in one pass over the US metadata; the public functions
    (which make three) must say the same: type, region, validity."""
    from core.contacts.phones import _type_and_region

    number = phonenumbers.PhoneNumber(country_code=1, national_number=national)
    assert _type_and_region(number) == (phonenumbers.number_type(number),
                                        phonenumbers.region_code_for_number(number))
