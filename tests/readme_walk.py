"""Reading the README's walk-through: its shell statements, and the ``# ->`` lines that
say what each one answers.

An answer line is JSON or plain text in which ``...`` stands for what varies or is left
out: a member left out of an object (``{"id": 1, ...}``), any value (``"history": [...]``,
``"message_id": "..."``), any run of characters inside a string (``"trk_..."``) or a
line. Objects match when they hold at least the members shown, so the README shows what
it promises (statuses, codes, key fields), and an answer that gains a member still
matches. Decimal strings match by value (``"12.50"`` is ``"12.5000"``).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

ANSWER = "# -> "
ANY = "\u2026any\u2026"  # what ``...`` in a value position becomes while parsing
DECIMAL = re.compile(r"-?\d+\.\d+")


@dataclass
class Statement:
    line: int  # in README.md, 1-based
    text: str
    answers: list[str] = field(default_factory=list)


def section_blocks(readme: str, heading: str) -> list[tuple[int, str]]:
    """The ```sh blocks of one ``## heading`` section: (first line number, text)."""
    lines = readme.splitlines()
    start = lines.index(f"## {heading}")
    blocks: list[tuple[int, str]] = []
    body: list[str] | None = None
    first = 0
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if body is None and line.startswith("## "):
            break
        if body is None and line.strip() == "```sh":
            body, first = [], number + 1
        elif body is not None and line.strip() == "```":
            blocks.append((first, "\n".join(body)))
            body = None
        elif body is not None:
            body.append(line)
    return blocks


def statements(block: str, first_line: int) -> list[Statement]:
    """The block's statements (a statement ends where bash can parse it whole), each with
    the ``# ->`` lines that follow it. Other comments are prose."""
    found: list[Statement] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(block.splitlines(), start=first_line):
        if not pending:
            if line.startswith(ANSWER):
                assert found, f"README.md:{number}: an answer with no command before it"
                found[-1].answers.append(line[len(ANSWER):])
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        pending.append(line)
        text = "\n".join(pending)
        if not line.endswith("\\") and _parses(text):
            found.append(Statement(start, text))
            pending = []
    assert not pending, f"README.md:{start}: a command that never ends"
    return found


def _parses(text: str) -> bool:
    return subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True,
                          check=False).returncode == 0


def mismatch(answers: list[str], output: str) -> str | None:
    """Why ``output`` is not what the answer lines say, or None when it is."""
    if len(answers) == 1 and answers[0].lstrip()[:1] in "{[":
        try:
            actual = json.loads(output)
        except ValueError:
            return f"not JSON: {output[:300]!r}"
        return _compare(parse_answer(answers[0]), actual, "$")
    lines = output.splitlines()
    at = 0
    for answer in answers:  # each in order, other lines between them allowed
        pattern = _glob(answer)
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            return f"no line like {answer!r} in:\n{output}"
        at += 1
    return None


def parse_answer(text: str) -> Any:
    """JSON with ``...``: members left out are dropped, ``...`` values become ANY."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
            continue
        if text.startswith("...", i):
            before = "".join(out).rstrip()
            if stack and stack[-1] == "{" and before[-1:] in "{,":
                i += 3  # a member left out: drop it with one comma
                after = text[i:].lstrip()
                if after.startswith(","):
                    i = text.index(",", i) + 1
                elif before.endswith(","):
                    out[:] = [before[:-1]]
                continue
            out.append(json.dumps(ANY))
            i += 3
            continue
        if char in "{[":
            stack.append(char)
        elif char in "}]":
            stack.pop()
        out.append(char)
        i += 1
    return json.loads("".join(out))


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("...")),
                      re.DOTALL)


def _compare(expected: Any, actual: Any, path: str) -> str | None:
    if expected == ANY:
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}: no member {key!r} in {sorted(actual)}"
            if (why := _compare(value, actual[key], f"{path}.{key}")) is not None:
                return why
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected a list, got {actual!r}"
        for index, value in enumerate(expected):
            if value == ANY:
                return None  # the rest of the list is left out
            if index >= len(actual):
                return f"{path}: {len(actual)} items, expected at least {index + 1}"
            if (why := _compare(value, actual[index], f"{path}[{index}]")) is not None:
                return why
        if len(actual) != len(expected):
            return f"{path}: {len(actual)} items, expected {len(expected)}"
        return None
    if isinstance(expected, str) and isinstance(actual, str):
        if DECIMAL.fullmatch(expected) and DECIMAL.fullmatch(actual):
            try:
                same = Decimal(expected) == Decimal(actual)
            except InvalidOperation:
                same = False
        else:
            same = bool(_glob(expected).fullmatch(actual))
        return None if same else f"{path}: {actual!r}, expected {expected!r}"
    if type(expected) is not type(actual) or expected != actual:
        return f"{path}: {actual!r}, expected {expected!r}"
    return None
