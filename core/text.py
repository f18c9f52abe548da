"""Text from outside: the one rule every string obeys before it enters core.

JSON bodies, forms, CSV cells, webhook payloads and slash-command options can all carry
NUL, lone surrogates and control characters. PostgreSQL refuses NUL in text, a lone
surrogate cannot be encoded as UTF-8 at all, and control characters corrupt logs and
terminals. So text from a client is checked once, at the edge, and refused with a clear
error (:data:`Text` in body models, :func:`check_text` elsewhere); text a provider sends
us (an SMS a person wrote) is never refused, because refusing it would lose an opt-out:
it is cleaned (:func:`clean_text`) and processed. A request's header text that goes into
a row (a click's user agent) has its undecodable bytes replaced (:func:`header_text`).

Tab, line feed and carriage return are ordinary text and always allowed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from core.errors import ValidationError

# C0 controls but tab, LF and CR; DEL and the C1 controls; every surrogate code point
# (a str holds one only when it is unpaired: JSON's "\ud800", a bad decode).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    char = found.group()
    point = f"U+{ord(char):04X}"
    if char == "\x00":
        return f"contains a NUL character ({point}), which cannot be stored"
    if "\ud800" <= char <= "\udfff":
        return f"contains an unpaired surrogate ({point}), which is not valid Unicode"
    return f"contains a control character ({point})"


def check_text(value: str, *, field: str) -> str:
    """``value`` unchanged, or ``ValidationError`` ``invalid_<field>`` saying why."""
    problem = text_problem(value)
    if problem is not None:
        code = field.split(".", 1)[0].split("[", 1)[0]
        raise ValidationError(f"{field} {problem}.", code=f"invalid_{code}", field=field)
    return value


def clean_text(value: str) -> str:
    """``value`` with every forbidden character removed: for text we must process
    whatever it holds (an inbound SMS, a provider's error message)."""
    return _FORBIDDEN.sub("", value)


def header_text(value: str) -> str:
    """An HTTP header's text as a database takes it, never refused (a click must be
    recorded whatever its agent says). aiohttp decodes header bytes that are not UTF-8
    (Latin-1 from old clients and scanners) as surrogate escapes, which no database
    encodes: PostgreSQL refused a whole batch of clicks, every click behind it waiting,
    and SQLite stored bytes nothing could read back. Such bytes become U+FFFD."""
    if value.isascii():
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no decoder made: none should reach here
        raw = value.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def json_text_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string in a JSON value (object keys included) that cannot be stored:
    ``(path, why)``, the path relative to ``value`` (``"a.b[2]"``); None when all can."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(str(key))
            # a key that cannot be stored is shown escaped: the path goes into messages
            # that must themselves be storable and encodable
            shown = str(key) if problem is None else \
                str(key).encode("unicode_escape", "backslashreplace").decode("ascii")
            inner = f"{path}.{shown}" if path else shown
            if problem is not None:
                return inner, f"has a key that {problem}"
            found = json_text_problem(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = json_text_problem(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def check_json_text(value: Any, *, field: str) -> Any:
    """``value`` unchanged when every string in it passes :func:`check_text`."""
    found = json_text_problem(value)
    if found is not None:
        path, problem = found
        where = f"{field}{path}" if path.startswith("[") else f"{field}.{path}" if path \
            else field
        code = field.split(".", 1)[0].split("[", 1)[0]
        raise ValidationError(f"{where} {problem}.", code=f"invalid_{code}", field=where)
    return value


# The pydantic error type of text refused by the rule: a face that reads pydantic errors
# finds the path inside a JSON value in ``ctx["path"]`` and the reason in ``ctx["problem"]``.
TEXT_ERROR = "unstorable_text"


def _refuse(path: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError(TEXT_ERROR, "{where}{problem}", {
        "path": path, "problem": problem, "where": f"{path} " if path else ""})


def _pydantic_check(value: Any) -> Any:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise _refuse("", problem)
    return value


def _pydantic_check_json(value: Any) -> Any:
    found = json_text_problem(value)
    if found is not None:
        raise _refuse(*found)
    return value


# A string from a client, as a pydantic field type: ``name: Text``. A value with a NUL,
# an unpaired surrogate or a control character is refused with the reason.
Text = Annotated[str, AfterValidator(_pydantic_check)]
# Any JSON value whose strings (keys included) obey the same rule.
TextJson = Annotated[Any, AfterValidator(_pydantic_check_json)]
# A JSON object whose keys and values, however deep, obey it: custom fields, credentials.
TextObject = Annotated[dict[str, Any], AfterValidator(_pydantic_check_json)]
