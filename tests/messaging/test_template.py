from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ValidationError
from core.messaging.template import (
    RecipientFields,
    compile_template,
    link_keys,
    parse,
    render,
    validate_body,
)


def test_placeholders_render_with_defaults():
    body = ("Hi {{first_name|there}}, {{brand_name}} deal in {{ custom.city | your area }}: "
            "{{link1}} or {{link2}} ({{custom.visits}})")
    out = render(body, RecipientFields(first_name="", brand_name="Acme",
                                       custom={"city": "Tampa", "visits": 3.0}),
                 {"link1": "https://t.co/AAAAAAA", "link2": "https://t.co/BBBBBBB"})
    assert out == ("Hi there, Acme deal in Tampa: https://t.co/AAAAAAA or "
                   "https://t.co/BBBBBBB (3)")
    assert link_keys(body) == ["link1", "link2"]


@pytest.mark.parametrize(("body", "why"), [
    ("Hi {{firstname}}", "Unknown placeholder"),
    ("{{link0}}", "Unknown placeholder"),
    ("{{link11}}", "Unknown placeholder"),
    ("{{link1|x}}", "links take no default"),
    ("{{custom.bad key}}", "custom field keys"),
    ("{{custom.}}", "custom field keys"),
    ("Hi {{first_name", "unclosed"),
    ("Hi first_name}}", "unclosed"),
    ("{{}}", "Unknown placeholder"),
])
def test_unknown_or_broken_placeholders_are_rejected(body, why):
    with pytest.raises(ValidationError) as err:
        parse(body)
    assert why in err.value.message
    assert err.value.code == "invalid_body"


def test_body_limits():
    assert validate_body("x" * 1600)
    with pytest.raises(ValidationError) as err:
        validate_body("x" * 1601)
    assert "1601" in err.value.message
    with pytest.raises(ValidationError) as err:
        validate_body("   ")
    assert err.value.code == "missing_body"


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=300))
def test_text_without_braces_renders_unchanged(text):
    assert parse(text) == []
    assert render(text, RecipientFields()) == text


_PIECES = st.sampled_from(["Hi ", "{{first_name}}", "{{ first_name | there }}", "{{last_name|}}",
                           "{{brand_name}}", "{{custom.city|your area}}", "{{custom.n}}",
                           "{{link1}}", "{{link2}}", " € ", "{{ custom.flag|no }}", "x"])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded machine
@given(body=st.lists(_PIECES, max_size=12).map("".join),
       first=st.sampled_from(["", " ", "Ann", "Zoë"]),
       custom=st.dictionaries(st.sampled_from(["city", "n", "flag"]),
                              st.one_of(st.none(), st.booleans(), st.integers(), st.floats(
                                  allow_nan=False), st.text(max_size=5)), max_size=3))
def test_a_compiled_template_renders_what_render_does(body, first, custom):
    recipient = RecipientFields(first_name=first, last_name="Lee", brand_name="Acme",
                                custom=custom)
    links = {"link1": "https://t.co/AAAAAAA", "link2": "https://t.co/BBBBBBB"}
    assert compile_template(body).render(recipient, links) == render(body, recipient, links)
