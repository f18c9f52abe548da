"""`trackly audience ...` and `trackly campaign ...`, run as an operator runs them (the
click entry point in this process, with the answer typed on stdin)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest

from core.contacts.lists import ListChanges
from core.contacts.service import ContactInput
from core.db import database
from core.permissions import Actor
from core.settings import load_settings
from tests.cli_helpers import migrated_sqlite
from tests.cli_helpers import trackly_here as trackly
from tests.conftest import IS_POSTGRES, TEST_SECRET, scratch_postgres
from trackly.bootstrap import build_services


@pytest.fixture
def env(tmp_path) -> Iterator[dict[str, str]]:
    if not IS_POSTGRES:
        yield {"TRACKLY_DATABASE_URL": migrated_sqlite(tmp_path / "cli.sqlite3")}
        return
    with scratch_postgres("trackly_cli_campaigns") as url:
        yield {"TRACKLY_DATABASE_URL": url}


def _prepare(env: dict[str, str], tmp_path) -> tuple[int, int]:
    async def make() -> tuple[int, int]:
        settings = load_settings(database_url=env["TRACKLY_DATABASE_URL"], data_dir=tmp_path)
        services = build_services(settings, secret_key=TEST_SECRET)
        async with database(settings.database_url):
            actor = Actor.system(1)
            sending_list = await services.lists.create_list(actor, ListChanges(
                name="Deals", phone_number="(415) 555-0000", provider="simulator"))
            for i in range(3):
                await services.contacts.upsert_contact(actor, ContactInput(
                    phone_number=f"+1415555010{i}", list_number="+14155550000"))
            aud = await services.audiences.create(actor, name="Everyone",
                                                  list_ids=[sending_list.id])
            view = await services.schedules.create(actor, {
                "name": "Spring blast", "list_id": sending_list.id,
                "audience_ids": [aud.id], "send_date": "2026-03-03", "send_time": "10:00",
                "blasts": [{"message": "Hi", "percent_audience": 100}]})
            return aud.id, view.schedule.id

    return asyncio.run(make())


def _answer(args: list[str], env: dict[str, str], tmp_path, typed: str
            ) -> subprocess.CompletedProcess[str]:
    return trackly(*args, cwd=tmp_path, env=env, input=typed)


def test_list_show_and_launch_with_a_confirmation(tmp_path, env):
    assert trackly("account", "create", "Acme", "--owner-email", "o@acme.test",
                   cwd=tmp_path, env=env).returncode == 0
    aid, sid = _prepare(env, tmp_path)

    audiences = trackly("audience", "list", "--account", "1", cwd=tmp_path, env=env)
    assert audiences.returncode == 0, audiences.stderr
    assert audiences.stdout.split("\t")[:2] == [str(aid), "Everyone"]
    shown = trackly("audience", "show", str(aid), "--account", "1", cwd=tmp_path, env=env)
    assert "size: 3 " in shown.stdout
    campaigns = trackly("campaign", "list", "--account", "1", cwd=tmp_path, env=env)
    assert campaigns.stdout.split("\t")[:2] == [str(sid), "draft"]

    launch = ["campaign", "launch", str(sid), "--account", "1", "--now"]
    declined = _answer(launch, env, tmp_path, "n\n")
    assert declined.returncode == 1 and "Not launched" in declined.stderr
    assert "3 recipients; skipped: none; 3 segments; estimated cost $0.00" in \
        declined.stdout
    assert "draft" in trackly("campaign", "list", "--account", "1", cwd=tmp_path,
                              env=env).stdout

    accepted = _answer(launch, env, tmp_path, "y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "sending: 3 recipients" in accepted.stdout
    assert "3 queued (100%)" in accepted.stderr  # progress, as lines off a terminal
    show = trackly("campaign", "show", str(sid), "--account", "1", cwd=tmp_path, env=env)
    assert "completed" in show.stdout and "3/3 queued" in show.stdout
    assert "{'queued': 3}" in show.stdout

    other = trackly("campaign", "show", str(sid), "--account", "2", cwd=tmp_path, env=env)
    assert other.returncode == 1 and f"No schedule {sid}." in other.stderr
