"""The command line, run as a user runs it: in this process through the click entry point
(``trackly_here``) unless the test needs a process of its own (``trackly``: exit codes
of a failed start, argv bytes, a terminal), on a SQLite file migrated once per session
unless the first run on a new database is the point."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator

import pytest

from core.contacts.lists import ListChanges
from core.db import database
from core.permissions import Actor
from core.settings import load_settings
from tests.cli_helpers import clean_env, migrated_sqlite, trackly, trackly_here
from tests.conftest import IS_POSTGRES, TEST_SECRET, scratch_postgres
from trackly.bootstrap import build_services


def _db_env(tmp_path) -> dict[str, str]:
    return {"TRACKLY_DATABASE_URL": migrated_sqlite(tmp_path / "cli.sqlite3")}


def _count(tmp_path, table: str) -> int:
    conn = sqlite3.connect(tmp_path / "cli.sqlite3")
    try:
        return conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    finally:
        conn.close()


def test_account_user_and_key_lifecycle(tmp_path):
    env = _db_env(tmp_path)
    made = trackly_here("account", "create", "Acme Deals", "--owner-email", "Ops@Acme.test",
                   cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    account_id = made.stdout.strip()
    assert account_id == "1"

    added = trackly_here("user", "add", "ann@acme.test", "--account", account_id, "--role",
                    "member", cwd=tmp_path, env=env)
    assert added.returncode == 0 and "as member" in added.stdout

    key = trackly_here("apikey", "create", "--account", account_id, "--role", "viewer",
                  "--name", "reporting", cwd=tmp_path, env=env)
    assert key.returncode == 0, key.stderr
    raw = key.stdout.strip()
    assert raw.startswith("trk_") and len(raw) == 36
    assert "will not be shown again" in key.stderr

    listed = trackly_here("apikey", "list", "--account", account_id, cwd=tmp_path, env=env)
    assert raw[:12] in listed.stdout and raw not in listed.stdout
    assert "active" in listed.stdout

    revoked = trackly_here("apikey", "revoke", raw[:12], "--account", account_id, cwd=tmp_path,
                      env=env)
    assert revoked.returncode == 0, revoked.stderr
    listed = trackly_here("apikey", "list", "--account", account_id, cwd=tmp_path, env=env)
    assert "revoked" in listed.stdout


def test_unknown_role_is_refused_and_changes_nothing(tmp_path):
    env = _db_env(tmp_path)
    trackly_here("account", "create", "Acme", "--owner-email", "o@acme.test", cwd=tmp_path, env=env)
    before = _count(tmp_path, "api_key")
    bad = trackly_here("apikey", "create", "--account", "1", "--role", "admin", cwd=tmp_path,
                  env=env)
    assert bad.returncode == 2
    assert "'admin' is not one of 'owner', 'member', 'viewer'" in bad.stderr
    assert _count(tmp_path, "api_key") == before


def test_unknown_account_and_bad_email(tmp_path):
    env = _db_env(tmp_path)
    missing = trackly_here("apikey", "create", "--account", "42", "--role", "owner", cwd=tmp_path,
                      env=env)
    assert missing.returncode == 1 and "error: No account 42." in missing.stderr
    bad = trackly_here("account", "create", "X", "--owner-email", "not-an-email", cwd=tmp_path,
                  env=env)
    assert bad.returncode == 1 and "not a valid email" in bad.stderr
    assert _count(tmp_path, "account") == 0


def test_bad_database_url_is_one_clear_line(tmp_path):
    for url, expected in [
        ("mysql://root@localhost/x", "TRACKLY_DATABASE_URL: must start with sqlite:// or "
                                     "postgres://"),
        ("postgres://postgres@127.0.0.1:1/nope", "TRACKLY_DATABASE_URL: cannot connect"),
        ("postgres://postgres@127.0.0.1:5432/no_such_database_here",
         "TRACKLY_DATABASE_URL: cannot connect"),
    ]:
        done = trackly("account", "create", "X", "--owner-email", "o@x.test", cwd=tmp_path,
                       env={"TRACKLY_DATABASE_URL": url})
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), done.stderr
        assert "Traceback" not in done.stderr


def test_other_bad_settings_name_the_variable(tmp_path):
    cases = [
        ({"TRACKLY_PORT": "eighty"}, "TRACKLY_PORT: Input should be a valid integer"),
        ({"TRACKLY_PORT": "70000"}, "TRACKLY_PORT: Input should be less than or equal"),
        ({"TRACKLY_PUBLIC_URL": "ftp://x"}, "TRACKLY_PUBLIC_URL: must be an http"),
        ({"TRACKLY_LOG_LEVEL": "loud"}, "TRACKLY_LOG_LEVEL: Input should be"),
        ({"TRACKLY_SECRET_KEY": "short"}, "TRACKLY_SECRET_KEY: must be at least 16"),
        ({"TRACKLY_DATABASE_URL": "postgres://postgres@127.0.0.1/test"},
         "TRACKLY_SECRET_KEY: required with PostgreSQL"),
    ]
    for env, expected in cases:
        done = trackly_here("account", "create", "X", "--owner-email", "o@x.test", cwd=tmp_path,
                       env=env, secret=None)
        assert done.returncode == 2, (env, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), done.stderr
    assert list(tmp_path.iterdir()) == []  # no data directory, no database, no secret


def test_config_masks_secrets(tmp_path):
    done = trackly_here("config", cwd=tmp_path, env={
        "TRACKLY_SECRET_KEY": "a-very-secret-value-1234",
        "DISCORD_TOKEN": "discord-token-secret-abcd",
        "TRACKLY_DATABASE_URL": "postgres://app:hunter2@db.internal/trackly",
    })
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "TRACKLY_SECRET_KEY=****1234" in out
    assert "DISCORD_TOKEN=****abcd" in out
    assert "postgres://app:****@db.internal/trackly" in out
    for secret in ("a-very-secret", "discord-token-secret", "hunter2"):
        assert secret not in out


def test_embedded_secret_key_is_generated_once_owner_only(tmp_path):
    env = {**_db_env(tmp_path), "TRACKLY_DATA_DIR": str(tmp_path)}
    first = trackly_here("account", "create", "A", "--owner-email", "a@a.test", cwd=tmp_path,
                    env=env, secret=None)
    assert first.returncode == 0, first.stderr
    secret_file = tmp_path / ".trackly-secret"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    key = secret_file.read_text()
    assert len(key.strip()) >= 32
    trackly_here("account", "create", "B", "--owner-email", "b@b.test", cwd=tmp_path, env=env,
            secret=None)
    assert secret_file.read_text() == key


def test_data_left_by_an_earlier_version_is_not_silently_replaced(tmp_path):
    """Earlier versions kept the database and secret in the working directory; starting
    beside them on a fresh database and secret would look like lost data."""
    old = {"TRACKLY_DATA_DIR": "."}
    # That earlier database, migrated (what is tested is the refusal beside it, not a
    # first migration, which costs up to a minute of CPU on a loaded machine).
    migrated_sqlite(tmp_path / "trackly.sqlite3")
    made = trackly_here("account", "create", "Acme", "--owner-email", "o@acme.test",
                   cwd=tmp_path, env=old, secret=None)
    assert made.returncode == 0, made.stderr
    assert {"trackly.sqlite3", ".trackly-secret"} <= {p.name for p in tmp_path.iterdir()}

    for command in (["account", "create", "B", "--owner-email", "b@b.test"], ["migrate"]):
        refused = trackly_here(*command, cwd=tmp_path, secret=None)
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "error: TRACKLY_DATA_DIR: trackly.sqlite3 and .trackly-secret in this directory "
            "are from an earlier Trackly"), refused.stderr
        assert not (tmp_path / "trackly-data").exists()

    kept = trackly_here("apikey", "list", "--account", "1", cwd=tmp_path, env=old, secret=None)
    assert kept.returncode == 0, kept.stderr  # account 1 lives in the earlier database


def _make_list(env: dict[str, str], tmp_path, *, account_id: int) -> None:
    """A simulator list +14155550000 (the command line has no command for it)."""
    async def make() -> None:
        settings = load_settings(database_url=env["TRACKLY_DATABASE_URL"], data_dir=tmp_path)
        services = build_services(settings, secret_key=TEST_SECRET)
        async with database(settings.database_url):
            await services.lists.create_list(Actor.system(account_id), ListChanges(
                name="Deals", phone_number="(415) 555-0000", provider="simulator"))

    asyncio.run(make())


@pytest.fixture
def backend_env(tmp_path) -> Iterator[dict[str, str]]:
    """The command line's database on the backend under test (TRACKLY_TEST_DATABASE_URL)."""
    if not IS_POSTGRES:
        yield _db_env(tmp_path)
        return
    with scratch_postgres("trackly_cli") as url:
        yield {"TRACKLY_DATABASE_URL": url}


def test_a_forgotten_account_id_and_list_number_can_be_found(tmp_path, backend_env):
    """Item 25: a new user who lost the account id or the list number finds them from the
    command line (account list, user list, list list)."""
    env = backend_env
    empty = trackly_here("account", "list", cwd=tmp_path, env=env)
    assert empty.returncode == 0 and empty.stdout == "" and "No accounts yet" in empty.stderr
    for name, email in (("Acme Deals", "ops@acme.test"), ("Beta", "b@beta.test")):
        assert trackly_here("account", "create", name, "--owner-email", email, cwd=tmp_path,
                       env=env).returncode == 0
    trackly_here("account", "suspend", "2", cwd=tmp_path, env=env)
    listed = trackly_here("account", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t") for line in listed.stdout.splitlines()] == [
        ["1", "active", "Acme Deals", "ops@acme.test"],
        ["2", "suspended", "Beta", "b@beta.test"]]

    trackly_here("user", "add", "ann@acme.test", "--account", "1", "--role", "member",
            cwd=tmp_path, env=env)
    team = [line.split("\t") for line in trackly_here("user", "list", "--account", "1",
                                                  cwd=tmp_path, env=env).stdout.splitlines()]
    assert [row[1:3] for row in team] == [["ops@acme.test", "owner"],
                                          ["ann@acme.test", "member"]]
    assert team[0][3] == "active" and team[1][3].startswith("invited")

    _make_list(env, tmp_path, account_id=1)
    lists = trackly_here("list", "list", "--account", "1", cwd=tmp_path, env=env)
    assert lists.returncode == 0, lists.stderr
    assert lists.stdout.split("\t")[1:4] == ["+14155550000", "simulator", "active"]
    none = trackly_here("list", "list", "--account", "2", cwd=tmp_path, env=env)
    assert none.stdout == "" and "No sending lists yet" in none.stderr
    missing = trackly_here("list", "list", "--account", "9", cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "error: No account 9." in missing.stderr


def test_import_progress_is_lines_in_a_log_and_a_bar_on_a_terminal(tmp_path, backend_env):
    """Item 25: with stderr not a terminal, progress was bare "rows" lines; now plain lines
    with counts and percentages. On a terminal it is a bar."""
    env = backend_env
    trackly_here("account", "create", "Acme", "--owner-email", "o@acme.test", cwd=tmp_path,
            env=env)
    _make_list(env, tmp_path, account_id=1)
    csv = tmp_path / "many.csv"
    csv.write_text("phone,first_name\n" + "".join(
        f"+1415{2_000_000 + i:07d},N{i}\n" for i in range(25_000)))  # three batches

    logged = trackly_here("import", str(csv), "--list", "+14155550000", cwd=tmp_path, env=env)
    assert logged.returncode == 0, logged.stderr
    lines = logged.stderr.splitlines()
    assert lines[0] == "Importing many.csv onto +14155550000 (dry run)"
    progress = [re.fullmatch(r"([\d,]+) rows \((\d+)%\)", line) for line in lines[1:]]
    assert all(progress) and len(progress) == 3, lines  # one line per batch of 10,000
    assert [m.group(1) for m in progress if m] == ["10,000", "20,000", "25,000"]
    percents = [int(m.group(2)) for m in progress if m]
    assert percents == sorted(percents) and 0 < percents[0] and percents[-1] == 100
    assert "25,000 rows: 25,000 new" in logged.stdout

    leader, follower = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "trackly", "import", str(csv), "--list",
                           "+14155550000"], cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=follower, env=clean_env(env)) as proc:
        os.close(follower)
        shown = b""
        while chunk := _read_pty(leader):
            shown += chunk
        proc.wait(timeout=60)
    os.close(leader)
    bar = shown.decode()
    assert proc.returncode == 0, bar
    assert "\r" in bar and "[####" in bar and "100%" in bar and "25,000 rows" in bar


def _read_pty(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the other end closed
        return b""


@pytest.mark.parametrize(("name", "said"), [
    (os.fsdecode(b"Acme\xff"), "is not valid UTF-8 text"),  # undecodable argv bytes
    ("Ac\x07me", "contains a control character (U+0007)"),
])
def test_text_arguments_follow_the_one_text_rule(tmp_path, name, said):
    """Bytes that are not UTF-8 crashed with a traceback; a control character was
    stored in the account's name."""
    env = _db_env(tmp_path)
    run = trackly if "\udcff" in name else trackly_here  # argv bytes need a real argv
    refused = run("account", "create", name, "--owner-email", "ops@acme.test",
                  cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert said in refused.stderr
    assert "Traceback" not in refused.stderr
    trackly_here("migrate", cwd=tmp_path, env=env)
    assert _count(tmp_path, "account") == 0
