"""``trackly run`` as a new user starts it: on SQLite with nothing configured."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.cli_helpers import http_json, migrated_already, start_run, trackly
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
    if stop_signal is signal.SIGINT:  # SIGTERM's run is the first start (see migrated_already)
        migrated_already(tmp_path)
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
    migrated_already(tmp_path)
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


def _account_key(tmp_path) -> dict[str, str]:
    account = trackly("account", "create", "Acme", "--owner-email", "o@acme.test",
                      cwd=tmp_path, secret=None).stdout.strip()
    return {"X-Api-Key": trackly("apikey", "create", "--account", account, "--role",
                                 "member", cwd=tmp_path, secret=None).stdout.strip()}


def test_links_follow_the_port_given_to_run(tmp_path):
    """Item 25: ``trackly run --port P`` with no TRACKLY_PUBLIC_URL builds short links
    (and tells clients it serves) on P, not on the default 8080."""
    migrated_already(tmp_path)
    port = free_port()
    proc = start_run(cwd=tmp_path, port=port, secret=None, port_option=True)
    base = f"http://127.0.0.1:{port}"
    try:
        key = _account_key(tmp_path)
        assert post(f"{base}/api/v2/lists", {"phone_number": "+14155550000"}, key)[0] == 201
        status, offer = post(f"{base}/api/v2/offers", {
            "name": "Solar", "tracking_url": "https://network.example/c?aff={click_id}"}, key)
        assert status == 201, offer
        status, creative = post(f"{base}/api/v2/creatives", {
            "name": "Quote", "body": "Your quote: {{link1}}",
            "link_bindings": {"link1": {"offer_id": offer["id"]}}}, key)
        assert status == 201, creative
        assert f" {base}/" in creative["preview"], creative["preview"]
        status, sent = post(f"{base}/api/v2/send", {
            "to": "(212) 555-0100", "creative_id": creative["id"],
            "list_number": "+14155550000", "transactional": True}, key)
        assert status == 201, sent
        message = get(f"{base}/api/v2/messages/{sent['message_id']}", key)[1]
        assert f"Your quote: {base}/" in message["body"], message["body"]
        assert get(f"{base}/api/v2/openapi.json")[1]["servers"] == [{"url": base}]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


def test_public_url_when_set_wins_over_the_port(tmp_path):
    migrated_already(tmp_path)
    port = free_port()
    proc = start_run(cwd=tmp_path, port=port, secret=None, port_option=True,
                     env={"TRACKLY_PUBLIC_URL": "https://sms.acme.test"})
    try:
        openapi = get(f"http://127.0.0.1:{port}/api/v2/openapi.json")[1]
        assert openapi["servers"] == [{"url": "https://sms.acme.test"}]
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    assert "Short links and webhook addresses use https://sms.acme.test." in output


def upload(url: str, csv: bytes, fields: dict[str, str], headers: dict[str, str]
           ) -> tuple[int, bytes]:
    """A multipart/form-data upload, as ``curl -F file=@x.csv`` sends it."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="c.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                 + csv + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(url, data=b"".join(parts), method="POST", headers={
        **headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status, resp.read()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_runtime_data_stays_in_the_data_directory(tmp_path):
    """Item 25: the database, the generated secret and uploaded CSVs (phone numbers) all
    land in one data directory, owner-only, that git ignores; nothing else is written."""
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    proc = start_run(cwd=work, port=port, secret=None)
    base = f"http://127.0.0.1:{port}"
    try:
        key = _account_key(work)
        assert post(f"{base}/api/v2/lists", {"phone_number": "+14155550000"}, key)[0] == 201
        status, _ = upload(f"{base}/api/v2/imports", b"phone\n4155550101\n",
                           {"list_number": "+14155550000"}, key)
        assert status == 202
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert [p.name for p in work.iterdir()] == ["trackly-data"]
    data = work / "trackly-data"
    assert oct(data.stat().st_mode & 0o777) == "0o700"
    written = _files(data)
    assert {"trackly.sqlite3", ".trackly-secret"} <= written
    assert [f for f in written if f.startswith("imports/")], written  # the dry run's upload
    repo = Path(__file__).resolve().parent.parent
    runtime = ["trackly-data/trackly.sqlite3", "trackly-data/imports/a.csv"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *runtime], cwd=repo,
                             capture_output=True, text=True, check=False)
    assert ignored.stdout.split() == runtime, f"git does not ignore trackly-data/: {ignored}"


def test_the_data_directory_is_a_setting(tmp_path):
    data = tmp_path / "elsewhere" / "data"
    env = {"TRACKLY_DATA_DIR": str(data)}
    made = trackly("account", "create", "Acme", "--owner-email", "o@acme.test",
                   cwd=tmp_path, env=env, secret=None)
    assert made.returncode == 0, made.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["elsewhere"]
    assert {"trackly.sqlite3", ".trackly-secret"} <= _files(data)
    shown = trackly("config", cwd=tmp_path, env=env).stdout
    assert f"TRACKLY_DATABASE_URL=sqlite://{data}/trackly.sqlite3" in shown
