"""Several ``trackly run --role web`` processes on one machine share one port on
PostgreSQL (SO_REUSEPORT), so the web tier scales by processes, one a core; on SQLite a
second process is refused (tests/test_sole_process.py)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import IO

import pytest

from tests.cli_helpers import http_json, start_run, trackly_here
from tests.conftest import IS_POSTGRES, scratch_postgres
from tests.helpers import free_port

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="several processes need PostgreSQL")


@pytest.fixture
def database() -> Iterator[str]:
    with scratch_postgres("trackly_webprocs") as url:
        yield url


def test_two_web_processes_share_one_port_and_serve_the_same_data(database, tmp_path):
    port = free_port()
    env = {"TRACKLY_DATABASE_URL": database, "TRACKLY_DATA_DIR": str(tmp_path),
           "TRACKLY_LOG_LEVEL": "WARNING"}
    made = trackly_here("account", "create", "Acme", "--owner-email", "o@acme.test",
                        cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    key = trackly_here("apikey", "create", "--account", "1", "--role", "owner",
                       cwd=tmp_path, env=env)
    assert key.returncode == 0, key.stderr
    headers = {"X-Api-Key": key.stdout.split()[0]}
    with contextlib.ExitStack() as stack:  # each process: imports, migrations checked
        procs = []
        for n in range(2):
            log = stack.enter_context((tmp_path / f"web{n}.log").open("w+"))
            proc = start_run(cwd=tmp_path, port=port, port_option=True, env=env, log=log,
                             roles=["web"])
            stack.callback(_stop, proc)
            procs.append(proc)
            _wait_for(log, "Trackly is running", proc)  # its own socket, not the first's
        # Each new connection goes to one of them; every answer is the same account.
        for _ in range(20):
            status, body = http_json("GET", f"http://127.0.0.1:{port}/api/v2/account",
                                     headers=headers)
            assert (status, body["account"]["name"]) == (200, "Acme")
        # One stops; the port goes on answering through the other.
        _stop(procs[0])
        for _ in range(5):
            assert http_json("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200


def _wait_for(log: IO[str], text: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        log.seek(0)
        seen = log.read()
        if text in seen:
            return
        assert proc.poll() is None, f"trackly run exited:\n{seen}"
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} within 120 s")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.wait(30)
