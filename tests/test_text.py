"""The one text rule (core.text): what a client may send, what a provider's text becomes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from core.errors import ValidationError
from core.text import Text, TextJson, check_json_text, check_text, clean_text, text_problem


@pytest.mark.parametrize("value", ["plain", "tab\there", "two\nlines\r\n", "émoji 🎉",
                                   "", "ß中文", "\u200b zero width is text"])
def test_ordinary_text_passes(value: str) -> None:
    assert text_problem(value) is None
    assert check_text(value, field="name") == value
    assert clean_text(value) == value


@pytest.mark.parametrize(("value", "said"), [
    ("a\x00b", "NUL character (U+0000)"),
    ("a\ud800", "unpaired surrogate (U+D800)"),
    ("\udfffx", "unpaired surrogate (U+DFFF)"),
    ("bell\x07", "control character (U+0007)"),
    ("esc\x1b[31m", "control character (U+001B)"),
    ("del\x7f", "control character (U+007F)"),
    ("c1\x85", "control character (U+0085)"),
])
def test_unstorable_text_is_refused_with_the_reason(value: str, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_text(value, field="name")
    assert caught.value.code == "invalid_name"
    assert caught.value.field == "name"
    assert said in caught.value.message


def test_provider_text_is_cleaned_not_refused() -> None:
    assert clean_text("STOP\x00") == "STOP"
    assert clean_text("\x00S\ud83dTOP\x1b") == "STOP"
    assert clean_text("keep\nlines\tand\rtabs") == "keep\nlines\tand\rtabs"


@given(st.text())
def test_cleaned_text_always_passes(value: str) -> None:
    cleaned = clean_text(value)
    assert text_problem(cleaned) is None
    cleaned.encode("utf-8")  # storable as UTF-8, the property PostgreSQL needs


def test_json_text_names_the_path() -> None:
    ok = {"a": ["x", 1, None, True, {"b": "y"}]}
    assert check_json_text(ok, field="custom_fields") is ok
    with pytest.raises(ValidationError) as caught:
        check_json_text({"a": ["x", {"b": "y\x00"}]}, field="custom_fields")
    assert caught.value.code == "invalid_custom_fields"
    assert caught.value.field == "custom_fields.a[1].b"
    with pytest.raises(ValidationError) as caught:
        check_json_text({"k\ud800": 1}, field="custom_fields")
    assert "has a key that contains an unpaired surrogate" in caught.value.message


class _Body(BaseModel):
    name: Text
    note: Text | None = None
    fields: TextJson = None


def test_pydantic_types_refuse_with_the_reason() -> None:
    assert _Body(name="ok", note=None, fields={"a": "b"}).name == "ok"
    with pytest.raises(PydanticError, match="NUL character"):
        _Body(name="a\x00b")
    with pytest.raises(PydanticError, match="unpaired surrogate"):
        _Body(name="ok", note="\ud800")
    with pytest.raises(PydanticError, match=r"a\[0\] contains a control character"):
        _Body(name="ok", fields={"a": ["\x01"]})
