"""Phone numbers: any common form to E.164, plus what the number itself tells us.

Pure and offline. ``parse_phone`` never raises for bad input: it returns a
:class:`PhoneError` with a code and a human reason. Facts (line type, carrier,
timezone, state) come from the ``phonenumbers`` numbering data; a lookup provider may
refine them later.

Imports call this once per CSV row, so the common North American shapes take a fast
path that builds the number without ``phonenumbers.parse`` (the slowest step); validity
is still decided by the library's own metadata, and a property test checks that both
paths agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType
from phonenumbers.carrierdata import CARRIER_DATA, CARRIER_LONGEST_PREFIX
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from core.contacts.area_codes import AREA_CODE_STATES
from core.contacts.models import LineType

MAX_INPUT = 64
NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
_FAST_CHARS = re.compile(r"^[\d\s().+/-]+$")
_NON_DIGITS = re.compile(r"\D")
_SHORT_CODE = re.compile(r"^\d{5,6}$")

# When an area code spans zones, the zone most of its people live in.
_PREFERRED_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Toronto",
    "America/Winnipeg", "America/Edmonton", "America/Vancouver", "America/Halifax",
)

@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """A valid number and the facts derived from it."""

    e164: str
    country_code: str  # ISO region, e.g. "US"
    line_type: LineType
    carrier: str
    timezone: str | None
    state: str | None  # US state or Canadian province
    area_code: str | None
    extension: str | None = None

    ok = True


@dataclass(frozen=True, slots=True)
class PhoneError:
    code: str  # "missing_phone" or "invalid_phone"
    reason: str
    value: str = ""

    ok = False


PhoneResult = PhoneInfo | PhoneError


def parse_phone(raw: object, *, region: str = "US") -> PhoneResult:
    """Normalise ``raw`` (any common national or international form) to E.164."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return PhoneError("missing_phone", "No phone number was given.")
    shown = text[:40]
    if len(text) > MAX_INPUT:
        return PhoneError("invalid_phone", "This is too long to be a phone number.", shown)
    region = (region or "US").upper()
    national = _fast_nanp(text, region)
    if national is not None:
        info = _describe_us(national)
        if info is not None:
            return info
        number = PhoneNumber(country_code=1, national_number=int(national))
    else:
        parsed, error = _slow_parse(text, region)
        if parsed is None:
            return PhoneError("invalid_phone", error, shown)
        number = parsed
    return _describe(number, shown)


def normalize(raw: object, *, region: str = "US") -> str | None:
    """The E.164 form, or None when ``raw`` is not a valid number."""
    result = parse_phone(raw, region=region)
    return result.e164 if isinstance(result, PhoneInfo) else None


def normalize_sender(raw: object, *, region: str = "US") -> str | None:
    """A sending list's number: E.164 (long code, toll-free) or a 5-6 digit short code."""
    text = "" if raw is None else str(raw).strip()
    digits = _NON_DIGITS.sub("", text)
    if _SHORT_CODE.match(digits) and not text.startswith("+") and len(text) <= 12:
        return digits
    return normalize(text, region=region)


def candidate_zones(e164: str) -> tuple[str, ...]:
    """Every time zone the number's prefix may be in (one for most US area codes).

    Quiet hours use all of them when an area code spans zones (the Florida panhandle,
    Alaska, parts of Kansas...), so no candidate zone is messaged outside its window."""
    digits = e164.lstrip("+")
    if not digits.isdigit():
        return ()
    zones = _lookup_raw(TIMEZONE_DATA, digits[: _prefix_key_length(digits)],
                        TIMEZONE_LONGEST_PREFIX)
    if not isinstance(zones, tuple) or len(zones) > 4 or zones[0] == "Etc/Unknown":
        return ()
    return zones


def is_short_code(number: str) -> bool:
    return bool(_SHORT_CODE.match(number))


def is_toll_free(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) == PhoneNumberType.TOLL_FREE


def mask(number: str | None) -> str:
    """For logs: keep the country code and the last two digits, hide the rest."""
    if not number:
        return "?"
    if len(number) <= 4:
        return "*" * len(number)
    head = number[:3] if number.startswith("+") else ""
    return head + "*" * (len(number) - len(head) - 2) + number[-2:]


# -- internals ----------------------------------------------------------------------------


def _fast_nanp(text: str, region: str) -> str | None:
    """The 10 national digits of plain NANP shapes (10 digits, 1 + 10, +1 + 10), else None
    (let the library parse it)."""
    if region not in NANP_REGIONS or not _FAST_CHARS.match(text):
        return None
    digits = _NON_DIGITS.sub("", text)
    plus = text.count("+")
    if plus > 1 or (plus == 1 and not text.startswith("+")):
        return None
    if plus:
        if len(digits) != 11 or digits[0] != "1":
            return None
        national = digits[1:]
    elif len(digits) == 10:
        national = digits
    elif len(digits) == 11 and digits[0] == "1":
        national = digits[1:]
    else:
        return None
    if national[0] in "01":  # would not survive national-prefix stripping; let the library say
        return None
    return national


def _slow_parse(text: str, region: str) -> tuple[PhoneNumber | None, str]:
    number, error = _try_parse(text, region)
    if number is not None and phonenumbers.is_valid_number(number):
        return number, ""
    digits = _NON_DIGITS.sub("", text)
    # "00" is the international prefix in most of the world (the US uses 011):
    # "001 415 555 0100" means +1 415 555 0100.
    if text.lstrip().startswith("00") and digits.startswith("00"):
        retry, retry_error = _try_parse("+" + digits[2:], None)
        if retry is not None and phonenumbers.is_valid_number(retry):
            return retry, ""
        error = error or retry_error
    if number is not None and not error:
        error = _why_invalid(number)
    return None, error or "This is not a valid phone number."


def _try_parse(text: str, region: str | None) -> tuple[PhoneNumber | None, str]:
    try:
        return phonenumbers.parse(text, region), ""
    except NumberParseException as exc:
        return None, _PARSE_REASONS.get(exc.error_type, "This is not a phone number.")


_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "The country code is missing or unknown.",
    NumberParseException.NOT_A_NUMBER: "This is not a phone number.",
    NumberParseException.TOO_SHORT_AFTER_IDD: "Too few digits after the international prefix.",
    NumberParseException.TOO_SHORT_NSN: "Too few digits for a phone number.",
    NumberParseException.TOO_LONG: "Too many digits for a phone number.",
}


def _why_invalid(number: PhoneNumber) -> str:
    reason = phonenumbers.is_possible_number_with_reason(number)
    Reason = phonenumbers.ValidationResult
    if reason == Reason.TOO_SHORT:
        return "Too few digits for a phone number."
    if reason in (Reason.TOO_LONG, Reason.INVALID_LENGTH):
        return "Wrong number of digits for a phone number in this country."
    if reason == Reason.INVALID_COUNTRY_CODE:
        return "The country code is unknown."
    return "This number is not in use in its country's numbering plan."


# phonenumbers finds a number's region by typing it against each candidate region, then
# types it again for number_type(): three passes over the US patterns per US number, each
# pattern looked up in a cache by its text. For +1 numbers one pass over the US patterns,
# compiled once, answers both (US is the first region tried for +1 and has no
# leading-digits shortcut); anything else takes the public path. The order of the checks
# is the library's own (phonenumberutil._number_type_helper); tests check the two agree.
@dataclass(frozen=True, slots=True)
class _UsPatterns:
    general: re.Pattern[str]
    kinds: tuple[tuple[int, re.Pattern[str]], ...]  # checked in this order
    fixed: re.Pattern[str]
    mobile: re.Pattern[str]
    same_fixed_and_mobile: bool


def _compile_us() -> _UsPatterns:
    meta = phonenumbers.PhoneMetadata.metadata_for_region("US")
    assert meta is not None

    def pattern(desc: object) -> re.Pattern[str] | None:
        text = getattr(desc, "national_number_pattern", None)
        return re.compile(text) if text else None

    kinds = []
    for name, kind in (("premium_rate", PhoneNumberType.PREMIUM_RATE),
                       ("toll_free", PhoneNumberType.TOLL_FREE),
                       ("shared_cost", PhoneNumberType.SHARED_COST),
                       ("voip", PhoneNumberType.VOIP),
                       ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
                       ("pager", PhoneNumberType.PAGER), ("uan", PhoneNumberType.UAN),
                       ("voicemail", PhoneNumberType.VOICEMAIL)):
        compiled = pattern(getattr(meta, name))
        if compiled is not None:
            kinds.append((kind, compiled))
    never = re.compile(r"(?!)")
    return _UsPatterns(general=pattern(meta.general_desc) or never, kinds=tuple(kinds),
                       fixed=pattern(meta.fixed_line) or never,
                       mobile=pattern(meta.mobile) or never,
                       same_fixed_and_mobile=bool(meta.same_mobile_and_fixed_line_pattern))


_US = _compile_us()


def _us_type(national: str) -> int:
    """PhoneNumberType of a national number against the US patterns (UNKNOWN: not US)."""
    if len(national) != 10 or not _US.general.fullmatch(national):
        return PhoneNumberType.UNKNOWN
    for kind, pattern in _US.kinds:
        if pattern.fullmatch(national):
            return kind
    if _US.fixed.fullmatch(national):
        if _US.same_fixed_and_mobile or _US.mobile.fullmatch(national):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not _US.same_fixed_and_mobile and _US.mobile.fullmatch(national):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def _type_and_region(number: PhoneNumber) -> tuple[int, str | None]:
    if number.country_code == 1 and not number.italian_leading_zero:
        kind = _us_type(str(number.national_number))
        if kind != PhoneNumberType.UNKNOWN:
            return kind, "US"
    return phonenumbers.number_type(number), phonenumbers.region_code_for_number(number)


def _describe_us(national: str) -> PhoneInfo | None:
    """The fast path's answer for a US number, or None (not US, or not valid)."""
    kind = _us_type(national)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    digits = "1" + national
    carrier, timezone = _prefix_facts(digits[: _prefix_key_length(digits)])
    area_code = national[:3]
    return PhoneInfo(e164="+" + digits, country_code="US", line_type=_line_type(kind, True),
                     carrier=carrier, timezone=timezone, state=AREA_CODE_STATES.get(area_code),
                     area_code=area_code)


def _describe(number: PhoneNumber, shown: str) -> PhoneResult:
    kind, region = _type_and_region(number)  # UNKNOWN means no pattern matched: invalid
    if kind == PhoneNumberType.UNKNOWN or region is None or region == "ZZ":
        return PhoneError("invalid_phone", _why_invalid(number), shown)
    digits = f"{number.country_code}{number.national_number}"
    e164 = "+" + digits
    carrier, timezone = _prefix_facts(digits[: _prefix_key_length(digits)])
    nanp = number.country_code == 1
    area_code = str(number.national_number)[:3] if nanp else None
    state = AREA_CODE_STATES.get(area_code or "") if region in ("US", "CA") else None
    return PhoneInfo(
        e164=e164,
        country_code=region,
        line_type=_line_type(kind, nanp),
        carrier=carrier,
        timezone=timezone,
        state=state,
        area_code=area_code,
        extension=number.extension or None,
    )


def _line_type(kind: int, nanp: bool) -> LineType:
    if kind == PhoneNumberType.MOBILE:
        return LineType.CELL
    if kind == PhoneNumberType.FIXED_LINE_OR_MOBILE:
        # North American numbering does not tell mobile from fixed; PRODUCT.md counts
        # them as cell until a lookup provider says otherwise.
        return LineType.CELL if nanp else LineType.UNKNOWN
    if kind == PhoneNumberType.FIXED_LINE:
        return LineType.LANDLINE
    if kind == PhoneNumberType.VOIP:
        return LineType.VOIP
    return LineType.UNKNOWN


_KEY_LENGTHS: dict[str, int] = {}


def _prefix_key_length(digits: str) -> int:
    """How many leading digits the prefix data can tell apart for numbers starting so.

    Every key that can match a number either is at most 4 digits long or shares the
    number's first 4 digits, so the longest key under those 4 digits bounds it."""
    if not _KEY_LENGTHS:
        for data in (CARRIER_DATA, TIMEZONE_DATA):
            for key in data:
                head = key[:4]
                if len(key) > _KEY_LENGTHS.get(head, 4):
                    _KEY_LENGTHS[head] = len(key)
        _KEY_LENGTHS.setdefault("", 4)
    return _KEY_LENGTHS.get(digits[:4], 4)


@lru_cache(maxsize=65536)
def _prefix_facts(key: str) -> tuple[str, str | None]:
    """(carrier, timezone) for numbers whose E.164 digits start with ``key``.

    ``key`` is as long as the longest prefix the data holds for this range, so every
    number sharing it gets the same answer: the same longest-prefix lookup that
    ``phonenumbers.carrier`` and ``phonenumbers.timezone`` perform, done once per prefix."""
    carrier = _lookup(CARRIER_DATA, key, CARRIER_LONGEST_PREFIX)[:100]  # Contact.carrier
    zones = _lookup_raw(TIMEZONE_DATA, key, TIMEZONE_LONGEST_PREFIX)
    return carrier, _pick_zone(zones) if zones else None


def _lookup_raw(data: dict, key: str, longest: int) -> object | None:
    for length in range(min(longest, len(key)), 0, -1):
        value = data.get(key[:length])
        if value is not None:
            return value
    return None


def _lookup(data: dict, key: str, longest: int) -> str:
    for length in range(min(longest, len(key)), 0, -1):
        value = data.get(key[:length])
        if value is not None and "en" in value:
            return value["en"]
    return ""


def _pick_zone(zones: object) -> str | None:
    if not isinstance(zones, tuple) or not zones or zones[0] == "Etc/Unknown":
        return None
    if len(zones) == 1:
        return zones[0]
    if len(zones) > 4:
        return None  # non-geographic (toll-free and the like)
    for zone in _PREFERRED_ZONES:
        if zone in zones:
            return zone
    return zones[0]

