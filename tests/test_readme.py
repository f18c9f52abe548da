"""Must-show 4: the README's walk-through runs exactly as written, from a fresh directory,
against a fresh ``trackly run``, and every ``# ->`` line in it holds."""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, start_run
from tests.readme_walk import (
    ANY,
    Statement,
    mismatch,
    parse_answer,
    section_blocks,
    statements,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HEADING = "Five-minute walk-through"
DEFAULT = "127.0.0.1:8080"  # where the README's commands reach trackly run


def _port_like_the_default() -> int:
    """A free port written with as many digits as 8080, so that answers whose length
    holds the address (a creative's character count) read as the README says."""
    for _ in range(200):
        port = random.randrange(2000, 10000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free four-digit port")


def _venv(into: Path) -> None:
    """``.venv`` as the README's install made it: this interpreter's environment."""
    prefix = Path(sys.prefix)
    if (prefix / "bin" / "activate").is_file():
        (into / ".venv").symlink_to(prefix, target_is_directory=True)
        return
    (into / ".venv" / "bin").mkdir(parents=True)  # no venv: one that only sets PATH
    (into / ".venv" / "bin" / "activate").write_text(
        f'PATH="{Path(sys.executable).parent}:$PATH"\n')


def _script(steps: list[Statement]) -> str:
    """The statements in order in one shell, as pasted, each between markers that give
    its output (stdout and stderr) and exit status."""
    parts = []
    for index, step in enumerate(steps):
        parts.append(f"printf '\\n@@walk {index}@@\\n'\n{{ {step.text}\n}} 2>&1\n"
                     f"printf '\\n@@rc {index} %d@@\\n' $?\n")
    return "".join(parts)


def _outputs(stdout: str, count: int) -> list[tuple[str, int | None]]:
    found: list[tuple[str, int | None]] = []
    for index in range(count):
        begin = f"\n@@walk {index}@@\n"
        if begin not in stdout:
            break
        body = stdout.split(begin, 1)[1]
        text, _, rest = body.partition(f"\n@@rc {index} ")
        found.append((text, int(rest.split("@@", 1)[0]) if rest else None))
    return found


def walkthrough() -> tuple[list[Statement], list[Statement]]:
    blocks = section_blocks(README.read_text(encoding="utf-8"), HEADING)
    assert len(blocks) == 2, "the walk-through is two ```sh blocks: start, then the steps"
    (run_line, run_block), (walk_line, walk_block) = blocks
    return statements(run_block, run_line), statements(walk_block, walk_line)


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_written(tmp_path):
    start, steps = walkthrough()
    assert [s.text for s in start] == [". .venv/bin/activate", "trackly run"], (
        "the test starts trackly run as the README's first block says; keep them equal")
    assert sum(len(s.answers) for s in steps) >= 20, "the walk-through shows its answers"

    # A fresh directory holding what a clone holds and the walk-through uses.
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    _venv(tmp_path)
    port = _port_like_the_default()
    server = start_run(cwd=tmp_path, port=port, secret=None)  # nothing configured
    try:
        script = _script(steps).replace(DEFAULT, f"127.0.0.1:{port}")
        done = subprocess.run(["bash", "--noprofile", "--norc"], input=script, cwd=tmp_path,
                              env=clean_env({"HOME": str(tmp_path)}, None),
                              capture_output=True, text=True, timeout=300, check=False)
    finally:
        server.send_signal(signal.SIGTERM)
        server_log, _ = server.communicate(timeout=10)

    outputs = _outputs(done.stdout, len(steps))
    for step, (output, status) in zip(steps, outputs, strict=False):
        where = f"README.md:{step.line}: {step.text.splitlines()[0]}"
        assert status == 0, f"{where}\nexited {status}:\n{output}"
        if step.answers:  # the README's address is this server's in answers too
            why = mismatch([a.replace(DEFAULT, f"127.0.0.1:{port}") for a in step.answers],
                           output)
            assert why is None, f"{where}\n{why}\nanswer:\n{output[:2000]}"
        else:
            assert output == "", f"{where}\nprints, but the README shows no answer:\n{output}"
    assert len(outputs) == len(steps), f"the walk-through stopped:\n{done.stderr}"
    assert "Traceback" not in server_log, server_log


def test_answer_lines_say_what_they_mean():
    """The ``# ->`` notation the walk-through test reads."""
    assert parse_answer('{"a": 1, ...}') == {"a": 1}
    assert parse_answer('{..., "a": {...}, "b": [...], "c": ...}') == {
        "a": {}, "b": [ANY], "c": ANY}
    assert mismatch(['{"a": 1, "b": "trk_..."}'], '{"a": 1, "b": "trk_x", "z": 2}') is None
    assert mismatch(['{"a": 1}'], '{"a": 2}') == "$.a: 2, expected 1"
    assert mismatch(['{"a": true}'], '{"a": 1}') is not None
    assert mismatch(['{"cost": "0.0045"}'], '{"cost": "0.004500"}') is None
    assert mismatch(['{"cost": "0.0045"}'], '{"cost": "0.0046"}') is not None
    assert mismatch(['{"d": [{"n": 1}, ...]}'], '{"d": [{"n": 1}, {"n": 2}]}') is None
    assert mismatch(['{"d": [{"n": 1}]}'], '{"d": [{"n": 1}, {"n": 2}]}') is not None
    assert mismatch(["5 rows: ...", "  line 6: ..."],
                    "Importing\n5 rows: 3 new\nBad rows:\n  line 6: invalid_phone") is None
    assert mismatch(["  line 6: ...", "5 rows: ..."],
                    "5 rows: 3 new\n  line 6: invalid_phone") is not None


def test_the_walkthrough_parses_into_commands_and_answers():
    _, steps = walkthrough()
    send = next(s for s in steps if s.text.startswith("SENT="))
    assert send.text.count("\n") == 3 and send.answers[0].startswith('{"success": true')
    helper = next(s for s in steps if s.text.startswith("wait_for()"))
    assert helper.text.endswith("}") and not helper.answers
