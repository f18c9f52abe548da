"""TRACKLY_LOG_FORMAT=json: one JSON object a line, exceptions included, API keys still
redacted; any other value is refused with the setting's name."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli_helpers import clean_env, trackly

PROGRAM = """
import logging
from core.settings import load_settings
from trackly.bootstrap import configure_logging
settings = load_settings()
configure_logging(settings.log_level, json_lines=settings.log_format == "json")
log = logging.getLogger("trackly.example")
log.info("started %s", "fine")
try:
    raise ValueError("key trk_" + "a" * 40)
except ValueError:
    log.exception("failed with %s", "trk_" + "b" * 40)
"""


def test_json_lines_with_exceptions_and_keys_redacted(tmp_path):
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=tmp_path, text=True,
                          capture_output=True, timeout=60, check=False,
                          env=clean_env({"TRACKLY_LOG_FORMAT": "json",
                                         "TRACKLY_DATA_DIR": str(tmp_path)}))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert [(r["level"], r["logger"], r["message"]) for r in lines][:1] == [
        ("INFO", "trackly.example", "started fine")]
    failed = lines[1]
    assert failed["level"] == "ERROR" and "ValueError" in failed["exc_info"]
    assert set(failed) >= {"time", "level", "logger", "message", "pid", "exc_info"}
    assert "a" * 40 not in done.stderr and "b" * 40 not in done.stderr


def test_an_unknown_log_format_is_refused(tmp_path):
    done = trackly("config", cwd=tmp_path, env={"TRACKLY_LOG_FORMAT": "xml"})
    assert done.returncode == 2
    assert "TRACKLY_LOG_FORMAT" in done.stderr
