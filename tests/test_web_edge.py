"""What reaches ``trackly run`` before any handler can help: over-long headers and clients
that hang up mid-body. Each answers in our JSON shape where an answer can be read, and
none leaves a traceback in the server's log (a client's mistake must not page anyone)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_helpers import http_json, migrated_sqlite, start_run, trackly_here
from tests.conftest import IS_POSTGRES, scratch_postgres
from tests.helpers import free_port

pytestmark = pytest.mark.slow
LIST_NUMBER = "+14155550000"


@dataclass(frozen=True)
class Live:
    base_url: str
    port: int
    key: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, within: float = 15.0) -> str:
        """The log once it holds ``text``: the server has finished with that request."""
        deadline = time.monotonic() + within
        while text not in (found := self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the log within {within}s:\n{found}")
            time.sleep(0.05)
        return found


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    workdir = tmp_path_factory.mktemp("edge-run")
    port = free_port()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch_postgres("trackly_edge")) if IS_POSTGRES else \
            migrated_sqlite(workdir / "edge.sqlite3")
        env = {"TRACKLY_DATABASE_URL": url, "TRACKLY_DATA_DIR": str(workdir),
               "TRACKLY_LOG_LEVEL": "INFO"}
        for args in (["migrate"], ["account", "create", "Edge", "--owner-email", "e@x.test"]):
            done = trackly_here(*args, cwd=workdir, env=env)  # set-up: in-process
            assert done.returncode == 0, done.stderr
        key = trackly_here("apikey", "create", "--account", "1", "--role", "owner",
                           cwd=workdir, env=env).stdout.split()[0]
        log_path = workdir / "server.log"
        with log_path.open("w") as log:
            server = start_run(cwd=workdir, port=port, env=env, log=log)
        try:
            api = Live(f"http://127.0.0.1:{port}", port, key, log_path)
            status, _ = http_json("POST", f"{api.base_url}/api/v2/lists", {
                "phone_number": LIST_NUMBER, "provider": "simulator"}, {"X-Api-Key": key})
            assert status == 201
            yield api
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _assert_no_traceback(log: str) -> None:
    assert "Traceback" not in log, log[-5000:]
    assert "unhandled error" not in log, log[-5000:]
    assert " ERROR " not in log, log[-5000:]


@pytest.mark.parametrize("size", [8 * 1024 + 1, 30_000])
def test_an_over_long_api_key_is_our_401(live: Live, size: int) -> None:
    """Over 8 KB it was aiohttp's plain-text 400 and a traceback in the log."""
    status, body = http_json("GET", f"{live.base_url}/api/v2/account",
                             headers={"X-Api-Key": "trk_" + "a" * size})
    assert (status, body["code"]) == (401, "invalid_api_key")
    _assert_no_traceback(live.log())


def test_a_header_past_any_limit_is_refused_in_one_log_line(live: Live) -> None:
    """aiohttp itself refuses a header larger than it will read, before our code runs:
    that answer stays aiohttp's, but it is the client's fault and logged as such."""
    request = urllib.request.Request(f"{live.base_url}/api/v2/account",
                                     headers={"X-Api-Key": "k" * 200_000})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 400
    log = live.wait_for_log("Bad request from")
    _assert_no_traceback(log)


def _hang_up(live: Live, path: str, headers: dict[str, str]) -> None:
    """Start a request whose body never arrives in full, then close the connection."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += "Content-Length: 100000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(head.encode() + b'{"to": "4155550100", "bo')
        time.sleep(0.2)  # let the handler start reading (the test only waits on the log)


@pytest.mark.parametrize(("path", "headers"), [
    ("/api/v2/send", {"X-Api-Key": "{key}"}),
    ("/api/v2/send", {"X-Api-Key": "{key}", "Idempotency-Key": "hang-1"}),
    ("/api/v2/contacts/bulk", {"X-Api-Key": "{key}"}),
    ("/api/webhook-feedbacks/infobip?account=1&token=x", {}),
])
def test_a_client_that_hangs_up_mid_body_is_not_our_error(live: Live, path: str,
                                                           headers: dict[str, str]) -> None:
    """It was an unhandled error with a ConnectionResetError traceback."""
    before = live.log().count("closed the connection")
    _hang_up(live, path, {k: v.format(key=live.key) for k, v in headers.items()})
    deadline = time.monotonic() + 15
    while live.log().count("closed the connection") == before:
        assert time.monotonic() < deadline, live.log()[-3000:]
        time.sleep(0.05)
    _assert_no_traceback(live.log())
    # The server is fine, and the idempotency key of the lost request is free again.
    status, sent = http_json("POST", f"{live.base_url}/api/v2/send", {
        "to": "4155550100", "body": "hi", "list_number": LIST_NUMBER},
        {"X-Api-Key": live.key, **({"Idempotency-Key": "hang-1"} if headers.get(
            "Idempotency-Key") else {})})
    assert status == 201, sent
