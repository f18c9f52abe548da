"""``trackly run`` as a new user starts it: on SQLite with nothing configured."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.cli_helpers import http_json, start_run, trackly
from tests.helpers import free_port


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    return http_json("GET", url, headers=headers)


def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    return http_json("POST", url, body, headers)


def start(tmp_path, port: int) -> subprocess.Popen[str]:
    """With nothing configured: no secret key, the default SQLite file."""
    return start_run(cwd=tmp_path, port=port, secret=None)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_the_api_and_stops_cleanly(tmp_path, stop_signal):
    port = free_port()
    proc = start(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/healthz") == (200, {"status": "ok"})
        status, body = get(f"{base}/api/v2/account")
        assert (status, body["code"]) == (401, "missing_api_key")

        made = trackly("account", "create", "Acme", "--owner-email", "o@acme.test",
                       cwd=tmp_path, secret=None)
        assert made.returncode == 0, made.stderr
        key = trackly("apikey", "create", "--account", made.stdout.strip(), "--role",
                      "member", cwd=tmp_path, secret=None).stdout.strip()
        status, body = get(f"{base}/api/v2/account", {"X-Api-Key": key})
        assert status == 200
        assert body["account"]["name"] == "Acme" and body["role"] == "member"
    finally:
        began = time.monotonic()
        proc.send_signal(stop_signal)
        try:
            output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        took = time.monotonic() - began
    assert proc.returncode == 0, output
    assert took < 5, f"stopping took {took:.1f}s"
    assert "Discord bot is off: DISCORD_TOKEN is not set." in output
    assert "Stopped." in output
    assert key not in output


def test_a_message_sent_to_the_simulator_is_delivered(tmp_path):
    """Issue 4, must show 0: nothing configured, a simulator list, a key, one send."""
    port = free_port()
    proc = start(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        account = trackly("account", "create", "Acme", "--owner-email", "o@acme.test",
                          cwd=tmp_path, secret=None).stdout.strip()
        key = {"X-Api-Key": trackly("apikey", "create", "--account", account, "--role",
                                    "member", cwd=tmp_path, secret=None).stdout.strip()}
        status, _ = post(f"{base}/api/v2/lists", {"phone_number": "+14155550000"}, key)
        assert status == 201
        status, sent = post(f"{base}/api/v2/send", {
            "to": "(212) 555-0100", "body": "Hello!", "list_number": "+14155550000",
            "transactional": True}, key)
        assert status == 201, sent
        assert (sent["segments"], sent["encoding"]) == (1, "GSM-7")
        deadline = time.monotonic() + 30
        while True:
            status, message = get(f"{base}/api/v2/messages/{sent['message_id']}", key)
            if message["status"] == "delivered" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert message["status"] == "delivered", message
        assert message["provider"] == "simulator"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
