"""Run the real ``trackly`` command in a subprocess, as a user would, or in this process
(same command, same arguments, environment and working directory, without starting and
importing a new Python), and talk to a ``trackly run`` over HTTP from synchronous code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from click.testing import CliRunner

from core.settings import DATABASE_FILE, DEFAULT_DATA_DIR
from tests.conftest import TEST_SECRET, sqlite_image, tortoise_caches_set_aside


def clean_env(env: dict[str, str] | None, secret: str | None = TEST_SECRET
              ) -> dict[str, str]:
    """This process's environment without our settings, plus ``env``. ``secret=None``
    leaves TRACKLY_SECRET_KEY unset (embedded mode generates one)."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("TRACKLY_", "DISCORD_"))}
    if secret is not None:
        full_env["TRACKLY_SECRET_KEY"] = secret
    full_env.update(env or {})
    return full_env


def trackly(*args: str, cwd: Path, env: dict[str, str] | None = None,
            secret: str | None = TEST_SECRET, timeout: float = 400
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackly", *args], cwd=cwd,
                          env=clean_env(env, secret), capture_output=True, text=True,
                          timeout=timeout, check=False)


def trackly_here(*args: str, cwd: Path, env: dict[str, str] | None = None,
                 secret: str | None = TEST_SECRET, input: str | None = None
                 ) -> subprocess.CompletedProcess[str]:
    """``trackly *args`` run in this process through the click entry point, with the
    environment ``trackly()`` would give the process (our settings removed, ``env`` added),
    ``cwd`` as the working directory and ``input`` typed on stdin. An uncaught exception
    is answered as the process would: exit code 1 and the traceback on stderr. For what
    does not need a process of its own (signals, a terminal, argv bytes and
    ``trackly run`` do: use ``trackly()``)."""
    from trackly import cli_billing  # noqa: F401  (adds team, billing and audit, as main() does)
    from trackly.cli import cli

    unset: dict[str, str | None] = {k: None for k in os.environ
                                    if k.startswith(("TRACKLY_", "DISCORD_"))}
    wanted = clean_env(env, secret)
    overlay = {**unset, **{k: v for k, v in wanted.items() if os.environ.get(k) != v}}
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with tortoise_caches_set_aside():
            result = CliRunner().invoke(cli, list(args), env=overlay, input=input)
    finally:
        os.chdir(here)
    stderr, code = result.stderr, result.exit_code
    if result.exc_info is not None and not isinstance(result.exc_info[1], SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
        code = 1
    return subprocess.CompletedProcess(["trackly", *args], code, result.stdout, stderr)


def migrated_sqlite(path: Path) -> str:
    """A SQLite database file at ``path`` with every committed migration applied (the bytes
    of one migrated once per session: a fresh migration costs seconds of CPU). Answers its
    TRACKLY_DATABASE_URL."""
    path.write_bytes(sqlite_image())
    return f"sqlite://{path}"


def migrated_already(workdir: Path) -> None:
    """The default data directory under ``workdir`` holding a migrated SQLite database, as
    a start after the first finds it: for tests about something other than the first
    start, whose migration costs up to a minute of CPU on a loaded machine (the secret is
    still generated when none is given). The first start itself (database and secret
    created, migrated, served) stays tested by test_run.py's SIGTERM run,
    test_runtime_data_stays_in_the_data_directory, test_the_data_directory_is_a_setting
    and the README walk."""
    data = workdir / DEFAULT_DATA_DIR
    data.mkdir(mode=0o700)
    migrated_sqlite(data / DATABASE_FILE)


def start_run(*, cwd: Path, port: int, env: dict[str, str] | None = None,
              secret: str | None = TEST_SECRET, port_option: bool = False,
              log: IO[str] | None = None, roles: Sequence[str] = ()
              ) -> subprocess.Popen[str]:
    """``trackly run`` on ``port`` (given as TRACKLY_PORT, as a deployment would, or as
    ``--port`` with ``port_option``), once it answers ``/healthz``. Its output is stdout
    and stderr together, piped, or written to ``log`` (a file the test can read while
    the server runs)."""
    args = ["run", "--port", str(port)] if port_option else ["run"]
    for role in roles:
        args += ["--role", role]
    port_env = {} if port_option else {"TRACKLY_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "trackly", *args], cwd=cwd,
                            env=clean_env({**(env or {}), **port_env}, secret),
                            stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Only bounds a failing start. A first start migrates a new SQLite file (tortoise replays
    # every migration, 20-50 s alone on 2 cores); with four test processes doing that at
    # once on a loaded machine 120 s was seen to run out (3 of 1,945 tests).
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if http_json("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise AssertionError(f"trackly run exited early:\n{proc.communicate()[0]}")
    proc.kill()
    raise AssertionError(f"trackly run did not answer /healthz within 300 s:\n"
                         f"{proc.communicate()[0]}")


def http_json(method: str, url: str, body: Any = None,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, decoded JSON) of one request; error statuses are answers, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        **(headers or {}), **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM a child still running, then SIGKILL it if it has not left in ``timeout``
    seconds (the clean-up of tests that start ``trackly`` processes)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
