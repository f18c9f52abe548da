"""Reading a contacts CSV: streaming, row by row, never the whole file in memory.

No database here: the reader turns a file into batches of good rows (normalised, ready
to write) and bad rows (line number, code, reason). It finds the encoding (UTF-8 with or
without BOM, UTF-16 with BOM, else Windows-1252, the superset of Latin-1 that
spreadsheets write) and the separator (``,`` ``;`` tab ``|``); the csv module handles
quoted newlines and CRLF. Header names are matched through aliases; any other column
becomes a custom field.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from core.contacts.fields import (
    MAX_CUSTOM_VALUE,
    FieldError,
    clean_contact_email,
    custom_key_for,
    parse_date,
    parse_line_type,
)
from core.contacts.models import LineType
from core.contacts.phones import PhoneInfo, parse_phone
from core.contacts.rules import landline_refusal
from core.errors import ValidationError
from core.text import clean_text, text_problem

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
FIELD_LIMIT = 64 * 1024  # one cell; protects memory from an unterminated quote

ALIASES: dict[str, tuple[str, ...]] = {
    "phone_number": ("phone_number", "phone", "msisdn", "mobile", "cell", "phonenumber",
                     "mobile_number", "mobile_phone", "mobilephone", "cell_phone",
                     "cellphone", "cell_number", "phone_no", "telephone", "tel", "number"),
    "first_name": ("first_name", "firstname", "first", "fname", "given_name"),
    "last_name": ("last_name", "lastname", "last", "lname", "surname", "family_name"),
    "email": ("email", "email_address", "e_mail", "emailaddress", "mail"),
    "consent_date": ("consent_date", "consentdate", "consent", "opted_in_date",
                     "optin_date", "opt_in_date", "optindate", "opted_in", "optin", "opt_in"),
    "signup_date": ("signup_date", "signupdate", "sign_up_date", "subscribed_date",
                    "join_date", "joined"),
    "ad_network_source": ("ad_network_source", "adnetworksource", "ad_network",
                          "adnetwork"),
    "ad_network_id": ("ad_network_id", "adnetworkid"),
    "carrier": ("carrier",),
    "line_type": ("line_type", "linetype", "phone_type", "phonetype"),
}
_ALIAS_OF = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
_HEADER_JUNK = re.compile(r"[^a-z0-9]+")
_TEXT_LIMITS = (("first_name", 100), ("last_name", 100), ("ad_network_source", 100),
                ("ad_network_id", 100), ("carrier", 100))


def _escape_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Like ``surrogateescape`` (byte b becomes U+DC00+b), for every byte: UTF-16 cannot
    always decode ASCII-range bytes (an unpaired surrogate, a cut-off last byte), and
    surrogateescape refuses those, which ended the whole import. A lone surrogate in a
    cell makes its row ``invalid_encoding``."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    return "".join(chr(0xDC00 + b) for b in bad), exc.end


ESCAPE_BYTES = "trackly.escape_bytes"
codecs.register_error(ESCAPE_BYTES, _escape_bytes)


class ImportFileError(ValidationError):
    """The file as a whole cannot be imported (no phone column, empty, unreadable)."""


@dataclass(slots=True)
class GoodRow:
    line: int
    phone: PhoneInfo
    declared_line_type: LineType | None
    carrier: str
    first_name: str
    last_name: str
    email: str
    consent_date: dt.datetime | None
    signup_date: dt.datetime | None
    ad_network_source: str
    ad_network_id: str
    custom: dict[str, str]


@dataclass(slots=True)
class BadRow:
    line: int
    code: str
    reason: str
    value: str = ""

    def __post_init__(self) -> None:
        # Stored and shown: what the file held, without what text cannot hold.
        self.reason = clean_text(self.reason)
        self.value = clean_text(self.value)


@dataclass(slots=True)
class Batch:
    good: list[GoodRow] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0  # data rows read (good + bad; blank lines are not rows)
    bytes_read: int = 0  # how far into the file (for progress)


def header_key(text: str) -> str:
    return _HEADER_JUNK.sub("_", text.strip().lower()).strip("_")


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) == SAMPLE_BYTES:
            return "utf-8"  # the sample cut a character in two
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(text: str) -> str:
    """The separator that splits the header line most often (outside quotes)."""
    header = _first_record_text(text)
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_record_text(text: str) -> str:
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            if i:
                return text[:i]
    return text


class CsvReader:
    """Open, detect, read the header; then ``batches()`` streams the rows."""

    def __init__(self, path: str | Path, *, region: str, now: dt.datetime,
                 allow_landlines: bool) -> None:
        self.path = Path(path)
        self.region = region
        self.now = now
        self.allow_landlines = allow_landlines
        self.encoding = ""
        self.delimiter = ","
        self.columns: dict[str, int] = {}  # known field -> column index
        self.custom_columns: list[tuple[str, int]] = []  # (custom key, column index)
        self.stored_columns: list[tuple[str, int]] = []  # every column we read: name, index
        self.width = 0
        self.file_size = 0
        self._raw: IO[bytes] | None = None
        self._text: io.TextIOWrapper | None = None
        self._reader: Iterator[list[str]] | None = None
        self._last_line = 0
        self._index: dict[str, int] = {}

    # -- opening ---------------------------------------------------------------------

    def open(self) -> None:
        try:
            self.file_size = os.path.getsize(self.path)
            self._raw = open(self.path, "rb")  # closed by close()
        except OSError as exc:
            raise ImportFileError(f"The file cannot be read ({exc.strerror}).",
                                  code="unreadable_file") from None
        sample = self._raw.read(SAMPLE_BYTES)
        if not sample.strip():
            raise ImportFileError("The file is empty.", code="empty_file")
        self.encoding = detect_encoding(sample)
        decoded = sample.decode(self.encoding, errors="replace")
        self.delimiter = detect_delimiter(decoded.lstrip("\ufeff"))
        self._raw.seek(0)
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding,
                                      errors=ESCAPE_BYTES, newline="")
        csv.field_size_limit(FIELD_LIMIT)
        # strict: a broken quote is reported on its row instead of silently swallowing
        # the lines after it into one value.
        self._reader = csv.reader(self._text, delimiter=self.delimiter, quotechar='"',
                                  doublequote=True, strict=True)
        self._read_header()

    def _read_header(self) -> None:
        assert self._reader is not None
        for record in self._reader:
            if any(cell.strip() for cell in record):
                self._map_header(record)
                self._last_line = self._reader.line_num  # type: ignore[attr-defined]
                return
        raise ImportFileError("The file has no header row.", code="empty_file")

    def _map_header(self, header: list[str]) -> None:
        self.width = len(header)
        used_keys: set[str] = set()
        for index, cell in enumerate(header):
            key = header_key(cell.replace("\ufeff", ""))
            known = _ALIAS_OF.get(key)
            if known is not None and known not in self.columns:
                self.columns[known] = index
                continue
            custom = custom_key_for(cell.replace("\ufeff", ""))
            if custom is None:
                continue  # an unnamed column: nothing to call it by
            base, n = custom, 2
            while custom in used_keys:
                custom = f"{base}_{n}"[:64]
                n += 1
            used_keys.add(custom)
            self.custom_columns.append((custom, index))
        # Every known field -> its column, or the empty cell appended after the last one.
        self._index = {name: self.columns.get(name, self.width) for name in ALIASES}
        self.stored_columns = [*self.columns.items(), *self.custom_columns]
        if "phone_number" not in self.columns:
            names = ", ".join(ALIASES["phone_number"][:5])
            raise ImportFileError(
                f"No phone number column: name one of {names} (found "
                f"{', '.join(repr(c.strip()[:30]) for c in header[:8])}).",
                code="missing_phone_column")

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
        elif self._raw is not None:
            self._raw.close()
        self._text = self._raw = None

    @property
    def bytes_read(self) -> int:
        try:
            return self._raw.tell() if self._raw is not None else self.file_size
        except (OSError, ValueError):
            return self.file_size

    # -- rows ------------------------------------------------------------------------

    def batches(self, size: int = 5000) -> Iterator[Batch]:
        """Batches of about ``size`` rows; duplicates are tracked across the whole file."""
        assert self._reader is not None, "open() first"
        seen: set[int] = set()
        batch = Batch()
        while True:
            start = self._last_line + 1
            try:
                record = next(self._reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self._last_line = self._reader.line_num  # type: ignore[attr-defined]
                batch.rows += 1
                batch.bad.append(BadRow(start, "malformed_row", _csv_problem(exc)))
                continue
            self._last_line = self._reader.line_num  # type: ignore[attr-defined]
            if not any(cell.strip() for cell in record):
                continue
            batch.rows += 1
            row = self._row(start, record, seen)
            if isinstance(row, GoodRow):
                batch.good.append(row)
            else:
                batch.bad.append(row)
            if batch.rows >= size:
                batch.bytes_read = self.bytes_read
                yield batch
                batch = Batch()
        if batch.rows:
            batch.bytes_read = self.file_size
            yield batch

    def _row(self, line: int, record: list[str], seen: set[int]) -> GoodRow | BadRow:
        width = self.width
        if len(record) > width:
            if any(c.strip() for c in record[width:]):
                return BadRow(line, "malformed_row",
                              f"This row has {len(record)} columns; the header has {width}.")
        else:
            record = record + [""] * (width - len(record))
        if self.encoding.startswith("utf"):
            try:
                "".join(record).encode("utf-8")
            except UnicodeEncodeError:
                if self.encoding != "utf-8":  # the file said what it is (a BOM)
                    return BadRow(line, "invalid_encoding",
                                  "This row has bytes that are not valid UTF-8.")
                # UTF-8 was only a guess from the first 64 KB: a spreadsheet's
                # Windows-1252 file whose first accent comes later lands here.
                record = [_legacy_text(cell) for cell in record]
        for name, column in self.stored_columns:
            problem = text_problem(record[column])
            if problem is not None:
                # Refused, not cleaned: the row is reported with its line and the user
                # decides, as with every other bad value; the dry run says the same.
                return BadRow(line, "invalid_text", f"Column {name} {problem}.",
                              record[column].strip())
        record.append("")  # absent columns point here
        index = self._index
        raw_phone = record[index["phone_number"]].strip()
        phone = parse_phone(raw_phone, region=self.region)
        if not isinstance(phone, PhoneInfo):
            return BadRow(line, phone.code, phone.reason, raw_phone)
        key = int(phone.e164[1:])
        if key in seen:
            return BadRow(line, "duplicate_in_file",
                          f"{phone.e164} already appears on an earlier line.", raw_phone)
        try:
            declared = parse_line_type(record[index["line_type"]])
            refused = landline_refusal(phone.e164, declared or phone.line_type,
                                       allow_landlines=self.allow_landlines)
            if refused is not None:
                return BadRow(line, refused.code, refused.message, raw_phone)
            consent = self._date(record[index["consent_date"]].strip(), "consent date",
                                 "consent_date")
            signup = self._date(record[index["signup_date"]].strip(), "signup date",
                                "signup_date")
            email = clean_contact_email(record[index["email"]]) or ""
            texts = []
            for name, limit in _TEXT_LIMITS:
                value = record[index[name]].strip()
                if len(value) > limit:
                    raise FieldError("value_too_long",
                                     f"{name} is longer than {limit} characters.")
                texts.append(value)
            custom = {}
            for key_name, column in self.custom_columns:
                value = record[column].strip()
                if value:
                    if len(value) > MAX_CUSTOM_VALUE:
                        raise FieldError("value_too_long", f"Column {key_name} is longer "
                                         f"than {MAX_CUSTOM_VALUE} characters.")
                    custom[key_name] = value
        except FieldError as exc:
            return BadRow(line, exc.code, exc.reason, _culprit(exc, record, self))
        seen.add(key)
        first_name, last_name, ad_source, ad_id, carrier = texts
        return GoodRow(line, phone, declared, carrier, first_name, last_name, email, consent,
                       signup, ad_source, ad_id, custom)

    def _date(self, value: str, what: str, field_name: str) -> dt.datetime | None:
        if not value:
            return None
        try:
            return parse_date(value, now=self.now, what=what)
        except FieldError as exc:
            code = "future_" if exc.code == "future_date" else "invalid_"
            raise FieldError(code + field_name, exc.reason) from None


def _legacy_text(cell: str) -> str:
    """A cell read as UTF-8 whose bytes were not UTF-8, read again as Windows-1252."""
    raw = cell.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return "".join(_CP1252[byte] for byte in raw)


# Each byte as Windows-1252 reads it; the five bytes it leaves undefined as Latin-1 does
# (what browsers do with "windows-1252").
_CP1252 = tuple(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "A quoted value is never closed (a \" is missing); the file ends inside it."
    if "expected after" in text:
        return "Text follows a closing quote; put the whole value inside the quotes."
    if "field larger" in text:
        return f"A value is longer than {FIELD_LIMIT // 1024} KB (often a missing quote)."
    return f"This row cannot be read as CSV ({text})."


def _culprit(exc: FieldError, record: list[str], reader: CsvReader) -> str:
    """The cell that caused a row error, for the report."""
    for name in ("consent_date", "signup_date", "email", "line_type"):
        if name in exc.code:
            index = reader.columns.get(name)
            if index is not None and index < len(record):
                return record[index].strip()
    return ""
