"""SQLite serves one process: a second ``trackly run`` on the same database file is
refused with an explanation, and the first keeps serving."""

from __future__ import annotations

import signal
import subprocess

from tests.cli_helpers import http_json, migrated_already, start_run, trackly
from tests.helpers import free_port


def test_a_second_run_on_the_same_sqlite_file_is_refused(tmp_path):
    migrated_already(tmp_path)  # the first start is not what this is about
    port = free_port()
    first = start_run(cwd=tmp_path, port=port)
    try:
        second = trackly("run", "--port", str(free_port()), cwd=tmp_path, timeout=60)
        assert second.returncode != 0
        assert "already used by a running Trackly" in second.stderr
        assert "PostgreSQL" in second.stderr
        assert http_json("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        first.send_signal(signal.SIGTERM)
        try:
            first.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            first.kill()
            first.communicate()
    assert first.returncode == 0
    # once the first has stopped, the database is free again
    again = start_run(cwd=tmp_path, port=port)
    again.send_signal(signal.SIGTERM)
    again.communicate(timeout=10)
    assert again.returncode == 0


def test_partial_roles_on_sqlite_are_refused(tmp_path):
    done = trackly("run", "--role", "web", "--role", "worker", cwd=tmp_path, timeout=60)
    assert done.returncode != 0
    assert "SQLite is single-process only" in done.stderr


