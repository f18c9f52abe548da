"""Run the real ``trackly`` command in a subprocess, as a user would, and talk to a
``trackly run`` over HTTP from synchronous code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from tests.conftest import TEST_SECRET


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
            secret: str | None = TEST_SECRET, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackly", *args], cwd=cwd,
                          env=clean_env(env, secret), capture_output=True, text=True,
                          timeout=timeout, check=False)


def start_run(*, cwd: Path, port: int, env: dict[str, str] | None = None,
              secret: str | None = TEST_SECRET, port_option: bool = False,
              log: IO[str] | None = None) -> subprocess.Popen[str]:
    """``trackly run`` on ``port`` (given as TRACKLY_PORT, as a deployment would, or as
    ``--port`` with ``port_option``), once it answers ``/healthz``. Its output is stdout
    and stderr together, piped, or written to ``log`` (a file the test can read while
    the server runs)."""
    args = ["run", "--port", str(port)] if port_option else ["run"]
    port_env = {} if port_option else {"TRACKLY_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "trackly", *args], cwd=cwd,
                            env=clean_env({**(env or {}), **port_env}, secret),
                            stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http_json("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise AssertionError(f"trackly run exited early:\n{proc.communicate()[0]}")
    proc.kill()
    raise AssertionError(f"trackly run did not answer /healthz within 60 s:\n"
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
