"""Every operation of our OpenAPI document, fed generated requests (valid and invalid) by
schemathesis over real HTTP, against ``trackly run`` in its own process on the test
backend: no request may end in a server error. The regressions it found are pinned one
by one in test_api_bad_input.py; this keeps looking for new ones (fixed seed, so a run
is repeatable)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_helpers import http_json, migrated_sqlite, start_run, trackly_here
from tests.conftest import IS_POSTGRES, scratch_postgres
from tests.fuzz_hooks import LIST_NUMBER
from tests.helpers import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    key: str
    key_id: int

    def create(self, path: str, body: dict) -> dict:
        status, made = http_json("POST", self.base_url + path, body, {"X-Api-Key": self.key})
        assert status == 201, made
        return made


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Iterator[str]:
    """A database of its own, migrated (a copy of one migrated once per session): the
    server process writes to it for the whole module."""
    if not IS_POSTGRES:
        yield migrated_sqlite(tmp_path_factory.mktemp("fuzz") / "api.sqlite3")
        return
    with scratch_postgres("trackly_fuzz") as url:
        yield url


@pytest.fixture(scope="module")
def live_api(database, tmp_path_factory) -> Iterator[LiveApi]:
    workdir = tmp_path_factory.mktemp("fuzz-run")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {"TRACKLY_DATABASE_URL": database, "TRACKLY_PUBLIC_URL": base_url,
           "TRACKLY_DATA_DIR": str(workdir), "TRACKLY_LOG_LEVEL": "WARNING"}
    # The set-up commands run in this process; the server under fuzz has its own.
    for args in (["migrate"], ["account", "create", "Fuzz", "--owner-email", "f@fuzz.test"]):
        done = trackly_here(*args, cwd=workdir, env=env)
        assert done.returncode == 0, done.stderr
    made = trackly_here("apikey", "create", "--account", "1", "--role", "owner", cwd=workdir,
                        env=env)
    assert made.returncode == 0, made.stderr
    server = start_run(cwd=workdir, port=port, env=env)
    try:
        key = made.stdout.split()[0]
        _, me = http_json("GET", f"{base_url}/api/v2/account", headers={"X-Api-Key": key})
        api = LiveApi(base_url, key, me["api_key"]["id"])
        # Something for the generated requests to find: a list, an offer, a creative.
        api.create("/api/v2/lists", {"name": "Deals", "phone_number": LIST_NUMBER,
                                     "provider": "simulator"})
        offer = api.create("/api/v2/offers", {
            "name": "Solar", "tracking_url": "https://network.example/c?aff={click_id}",
            "payout": "12.50"})
        api.create("/api/v2/creatives", {
            "name": "Quote", "body": "Quote: {{link1}}",
            "link_bindings": {"link1": {"offer_id": offer["id"]}}})
        yield api
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
        # Whatever the checks saw, the server's own log must hold no unhandled error and
        # no traceback: a hostile request is the client's fault and must page nobody.
        for sign in ("unhandled error", "Traceback", " ERROR "):
            assert sign not in output, output[-5000:]


def test_no_generated_request_makes_a_server_error(live_api: LiveApi, tmp_path) -> None:
    """tests/fuzz_hooks.py makes the requests hostile (NUL, unpaired surrogates, control
    characters in bodies, queries, paths and uploads; over-long headers) and checks that
    every refusal has our error shape and a snake_case code."""
    cli = Path(sys.executable).with_name("schemathesis")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks",
           "TRACKLY_FUZZ_KEY_ID": str(live_api.key_id),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [str(cli), "run", f"{live_api.base_url}/api/v2/openapi.json",
         "--header", f"X-Api-Key: {live_api.key}",
         "--checks", "not_a_server_error,trackly_error_shape",
         "--max-examples", "25", "--seed", "20261122", "--no-color",
         "--request-timeout", "10"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    # It really ran: every operation, hundreds of requests, all answered without a 5xx.
    tested = re.search(r"Tested: (\d+)", done.stdout)
    counts = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert tested and counts, done.stdout[-3000:]
    assert int(tested.group(1)) >= 30
    assert int(counts.group(1)) == int(counts.group(2)) >= 500
    # With its key intact: a revoked key turns every later request into a 401.
    assert "Authentication failed" not in done.stdout, done.stdout[-3000:]
