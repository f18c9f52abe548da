"""The second table: real-world replies by class, each with its source or reason, in
keyword_cases.tsv beside this file (one reply a line; ``\\uXXXX`` in a text stands for that
character, so invisible ones stay visible in review)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from core.compliance.keywords import classify
from core.compliance.keywords.intent import InboundIntent
from tests.compliance.test_keywords import CASES as FIRST_TABLE

CLASSES = {"revocation", "spanish", "optin_help", "scope", "reaction", "lookalike"}
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _load() -> list[tuple[str, InboundIntent, str, str]]:
    rows = []
    path = Path(__file__).with_name("keyword_cases.tsv")
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        text, intent, cls, source = line.split("\t")
        rows.append((_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text),
                     InboundIntent(intent), cls, source))
    return rows


ROWS = _load()


def test_the_table_covers_every_class_with_sources():
    assert len(ROWS) >= 150
    texts = [text for text, *_ in ROWS]
    assert len(set(texts)) == len(texts), "duplicate cases"
    assert not set(texts) & {text for text, _ in FIRST_TABLE}, "already in the first table"
    per_class = Counter(cls for _, _, cls, _ in ROWS)
    assert set(per_class) == CLASSES
    assert min(per_class.values()) >= 20, per_class
    assert all(source.strip() for *_, source in ROWS)


@pytest.mark.parametrize(("text", "intent", "cls", "source"), ROWS,
                         ids=[f"{cls}:{text!r}"[:60] for text, _, cls, _ in ROWS])
def test_classify(text: str, intent: InboundIntent, cls: str, source: str):
    match = classify(text)
    assert match.intent == intent, (text, match, source)
    assert match.rule
