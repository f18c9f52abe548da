"""CSV import over HTTP (multipart upload, background job) and from the command line."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import os
import sqlite3
from pathlib import Path

import aiohttp

from core.contacts.models import ImportJob, ListContact
from core.db import database
from core.permissions import Role
from tests.cli_helpers import migrated_sqlite
from tests.cli_helpers import trackly_here as trackly  # the click entry point
from tests.conftest import IS_POSTGRES, scratch_postgres
from tests.contacts.helpers import LIST_NUMBER, make_list
from tests.contacts.test_import import AWKWARD, EXPECTED_ERRORS
from tests.factories import make_tenant
from tests.helpers import eventually

NO_PHONE = Path(__file__).parent.parent / "data" / "contacts_no_phone_column.csv"


def form(path: Path | None = None, **fields: str) -> aiohttp.FormData:
    data = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        data.add_field(name, value)
    if path is not None:
        data.add_field("file", io.BytesIO(path.read_bytes()), filename=path.name,
                       content_type="text/csv")
    return data


async def finished(http, tenant, import_id: int, query: str = "") -> dict:
    for _ in range(500):
        resp = await http.get(f"/api/v2/imports/{import_id}{query}", headers=tenant.headers())
        body = await resp.json()
        if body["status"] in ("completed", "failed"):
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"import {import_id} did not finish: {body}")


async def test_upload_is_a_dry_run_by_default_then_commit(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/imports", headers=tenant.headers(Role.MEMBER),
                           data=form(AWKWARD, list_number="(415) 555-0000"))
    assert resp.status == 202, await resp.text()
    accepted = await resp.json()
    assert accepted["dry_run"] is True and accepted["list_number"] == LIST_NUMBER

    report = await finished(http, tenant, accepted["import_id"])
    assert report["status"] == "completed"
    assert (report["rows_processed"], report["created_count"], report["error_count"]) == (
        17, 7, 10)
    assert report["progress"] == 1.0 and report["filename"] == AWKWARD.name
    assert [(e["line"], e["code"]) for e in report["errors"]] == EXPECTED_ERRORS
    assert all(e["error"] for e in report["errors"])
    assert report["errors_pagination"]["total"] == 10
    assert await ListContact.all().count() == 0

    page = await finished(http, tenant, accepted["import_id"], "?page=2&per_page=4")
    assert [e["line"] for e in page["errors"]] == [10, 12, 13, 14]

    resp = await http.post(f"/api/v2/imports/{accepted['import_id']}/commit",
                           headers=tenant.headers())
    assert resp.status == 202
    committed = await finished(http, tenant, (await resp.json())["import_id"])
    assert (committed["dry_run"], committed["created_count"]) == (False, 7)
    assert await ListContact.all().count() == 7
    # The stored upload is removed once it has been imported for real (just after the job
    # is marked completed, which is what `finished` waits for).
    job = await ImportJob.get(id=committed["id"])

    async def removed() -> bool:
        return not await asyncio.to_thread(Path(job.file_path).exists)

    await eventually(removed, what="the stored upload removed")

    listing = await (await http.get("/api/v2/imports", headers=tenant.headers())).json()
    assert [j["id"] for j in listing["data"]] == [committed["id"], accepted["import_id"]]


async def test_a_dry_run_is_committed_once(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                           data=form(AWKWARD, list_number=LIST_NUMBER))
    dry = await finished(http, tenant, (await resp.json())["import_id"])
    commit = f"/api/v2/imports/{dry['id']}/commit"
    first = await http.post(commit, headers=tenant.headers())
    assert first.status == 202
    committed_id = (await first.json())["import_id"]
    again = await http.post(commit, headers=tenant.headers())  # while it runs
    body = await again.json()
    assert (again.status, body["code"]) == (409, "already_committed")
    assert f"import {committed_id}" in body["error"]
    await finished(http, tenant, committed_id)
    again = await http.post(commit, headers=tenant.headers())  # and once it is done
    assert (again.status, (await again.json())["code"]) == (409, "already_committed")
    assert await ImportJob.filter(dry_run=False).count() == 1
    assert await ListContact.all().count() == 7


async def test_a_commit_that_was_interrupted_may_be_committed_again(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                           data=form(AWKWARD, list_number=LIST_NUMBER))
    dry = await ImportJob.get(id=(await finished(http, tenant,
                                                (await resp.json())["import_id"]))["id"])
    # What a commit whose process stopped leaves behind (recover_interrupted marks it).
    await ImportJob.create(account_id=dry.account_id, sending_list_id=dry.sending_list_id,
                           filename=dry.filename, file_path=dry.file_path,
                           file_size=dry.file_size, dry_run=False, status="failed",
                           failure="The import was interrupted.")
    resp = await http.post(f"/api/v2/imports/{dry.id}/commit", headers=tenant.headers())
    assert resp.status == 202
    await finished(http, tenant, (await resp.json())["import_id"])
    assert await ListContact.all().count() == 7


async def test_a_dry_run_that_failed_cannot_be_committed(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                           data=form(NO_PHONE, list_number=LIST_NUMBER))
    dry = await finished(http, tenant, (await resp.json())["import_id"])
    assert dry["status"] == "failed"
    resp = await http.post(f"/api/v2/imports/{dry['id']}/commit", headers=tenant.headers())
    body = await resp.json()
    assert (resp.status, body["code"]) == (400, "dry_run_failed")
    assert "phone" in body["error"].lower()
    assert await ImportJob.filter(dry_run=False).count() == 0


async def test_stored_uploads_are_swept_a_day_after_their_last_use(services, http, clock,
                                                                   settings, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                           data=form(AWKWARD, list_number=LIST_NUMBER))
    dry = await finished(http, tenant, (await resp.json())["import_id"])
    upload = Path((await ImportJob.get(id=dry["id"])).file_path)
    # An upload whose job was never created (the process died in between), two days old.
    stray = settings.data_dir / "imports" / "stray.csv"
    stray.write_bytes(b"phone_number\n4155550100\n")
    two_days_ago = (clock.now() - dt.timedelta(days=2)).timestamp()
    os.utime(stray, (two_days_ago, two_days_ago))
    # The user's own file, imported from the command line, is theirs.
    own = tmp_path / "own.csv"
    own.write_bytes(AWKWARD.read_bytes())
    own_job = await services.imports.create_job(tenant.owner, list_number=LIST_NUMBER,
                                                path=own)
    await services.imports.run(own_job.id)

    assert await services.imports.sweep_uploads() == 1  # only the stray one
    assert await asyncio.to_thread(lambda: (upload.exists(), stray.exists())) == (True,
                                                                                 False)

    clock.advance(hours=23)
    assert await services.imports.sweep_uploads() == 0  # the dry run is still committable
    clock.advance(hours=2)
    assert await services.imports.sweep_uploads() == 1
    assert await asyncio.to_thread(lambda: (upload.exists(), own.exists())) == (False, True)
    resp = await http.post(f"/api/v2/imports/{dry['id']}/commit", headers=tenant.headers())
    assert (resp.status, (await resp.json())["code"]) == (400, "missing_file")
    assert await ListContact.all().count() == 0


async def test_a_running_import_keeps_its_upload_however_old(services, http, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    path = services.imports.new_upload_path()
    path.write_bytes(AWKWARD.read_bytes())
    job = await services.imports.create_job(tenant.owner, list_number=LIST_NUMBER,
                                            path=path, dry_run=False)
    clock.advance(days=3)
    assert await services.imports.sweep_uploads() == 0
    await services.imports.run(job.id)
    assert await ListContact.filter(sending_list_id=sending_list.id).count() == 7


async def test_explicit_commit_upload_and_a_second_upload_changes_nothing(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    for expected in ((7, 0), (0, 7)):
        resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                               data=form(AWKWARD, list_number=LIST_NUMBER, dry_run="false"))
        report = await finished(http, tenant, (await resp.json())["import_id"])
        assert (report["created_count"], report["unchanged_count"]) == expected


async def test_bad_uploads_are_refused_and_leave_nothing_behind(services, http, settings,
                                                                tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    cases = [
        (form(AWKWARD, list_number="+19995550000"), 404, "list_not_found"),
        (form(AWKWARD), 400, "missing_list_number"),
        (form(list_number=LIST_NUMBER), 400, "missing_file"),
        (form(empty, list_number=LIST_NUMBER), 400, "empty_file"),
        (form(AWKWARD, list_number=LIST_NUMBER, dry_run="perhaps"), 400, "invalid_dry_run"),
    ]
    for data, status, code in cases:
        resp = await http.post("/api/v2/imports", headers=tenant.headers(), data=data)
        assert (resp.status, (await resp.json())["code"]) == (status, code)
    resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                           json={"list_number": LIST_NUMBER})
    assert (await resp.json())["code"] == "invalid_content_type"
    resp = await http.post("/api/v2/imports", headers=tenant.headers(Role.VIEWER),
                           data=form(AWKWARD, list_number=LIST_NUMBER))
    assert resp.status == 403
    assert await ImportJob.all().count() == 0
    uploads = settings.data_dir / "imports"
    assert not uploads.exists() or list(uploads.iterdir()) == []


async def test_uploads_over_five_megabytes_are_accepted_on_this_route(services, http):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    rows = "\n".join(f"212555{i % 10_000:04d},{'x' * 420}" for i in range(13_000))
    data = aiohttp.FormData()
    data.add_field("list_number", LIST_NUMBER)
    data.add_field("file", io.BytesIO(("phone,note\n" + rows).encode()), filename="big.csv")
    resp = await http.post("/api/v2/imports", headers=tenant.headers(), data=data)
    assert resp.status == 202, await resp.text()
    report = await finished(http, tenant, (await resp.json())["import_id"])
    assert report["file_size"] > 5 * 1024 * 1024
    assert report["created_count"] == 10_000 and report["error_count"] == 3_000
    assert report["errors_pagination"]["total"] == 3_000 and len(report["errors"]) == 100


async def test_another_accounts_import_is_not_found(services, http):
    a = await make_tenant(services, "A", "a@a.test")
    b = await make_tenant(services, "B", "b@b.test")
    await make_list(services, a)
    resp = await http.post("/api/v2/imports", headers=a.headers(),
                           data=form(AWKWARD, list_number=LIST_NUMBER))
    import_id = (await resp.json())["import_id"]
    await finished(http, a, import_id)
    for method, path in (("get", f"/api/v2/imports/{import_id}"),
                         ("post", f"/api/v2/imports/{import_id}/commit")):
        resp = await getattr(http, method)(path, headers=b.headers())
        assert (resp.status, (await resp.json())["code"]) == (404, "import_not_found")


def _db_env(tmp_path: Path) -> dict[str, str]:
    return {"TRACKLY_DATABASE_URL": migrated_sqlite(tmp_path / "cli.sqlite3"),
            "TRACKLY_DATA_DIR": str(tmp_path)}


def test_cli_import_dry_run_then_commit(tmp_path):
    env = _db_env(tmp_path)
    assert trackly("account", "create", "Acme", "--owner-email", "o@acme.test", cwd=tmp_path,
                   env=env).returncode == 0
    conn = sqlite3.connect(tmp_path / "cli.sqlite3")
    conn.execute("INSERT INTO sending_list (account_id, name, phone_number, number_type, "
                 "country_code, provider, brand_name, webhook_token, status, "
                 "rate_limit_per_minute, allow_landlines, created_at, updated_at) VALUES "
                 "(1, 'Main', '+14155550000', 'long_code', 'US', 'simulator', '', 'tok', "
                 "'active', 17000, 0, '2026-01-01 00:00:00+00:00', "
                 "'2026-01-01 00:00:00+00:00')")
    conn.commit()

    dry = trackly("import", str(AWKWARD), "--list", "415-555-0000", cwd=tmp_path, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "Dry run" in dry.stdout and "7 new" in dry.stdout and "10 bad" in dry.stdout
    assert "line 6: invalid_phone" in dry.stdout
    assert conn.execute("SELECT COUNT(*) FROM list_contact").fetchone()[0] == 0

    done = trackly("import", str(AWKWARD), "--list", "+14155550000", "--commit",
                   cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "7 new" in done.stdout and "Dry run" not in done.stdout
    assert conn.execute("SELECT COUNT(*) FROM list_contact").fetchone()[0] == 7
    assert AWKWARD.exists()  # the user's own file is never removed

    again = trackly("import", str(AWKWARD), "--list", "+14155550000", "--commit",
                    cwd=tmp_path, env=env)
    assert "0 new" in again.stdout and "7 unchanged" in again.stdout

    missing = trackly("import", str(AWKWARD), "--list", "+19995550000", cwd=tmp_path,
                      env=env)
    assert missing.returncode == 1 and "No sending list" in missing.stderr
    failed = trackly("import", str(AWKWARD.parent / "contacts_no_phone_column.csv"),
                     "--list", "+14155550000", cwd=tmp_path, env=env)
    assert failed.returncode == 1 and "phone number column" in failed.stderr
    conn.close()


NUL_CSV = b"phone,first_name\n4155550401,A\x00nn\n4155550402,Bob\n"  # the file


async def test_an_upload_with_a_nul_byte_dry_runs_and_commits_alike(services, http,
                                                                    tmp_path):
    """The dry run said "2 new, 0 bad"; the commit then failed on PostgreSQL and imported
    nothing, the good row included."""
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    path = tmp_path / "nul.csv"
    path.write_bytes(NUL_CSV)
    resp = await http.post("/api/v2/imports", headers=tenant.headers(),
                           data=form(path, list_number=LIST_NUMBER))
    dry = await finished(http, tenant, (await resp.json())["import_id"])
    assert (dry["status"], dry["created_count"], dry["error_count"]) == ("completed", 1, 1)
    assert [(e["line"], e["code"], e["value"]) for e in dry["errors"]] == [
        (2, "invalid_text", "Ann")]
    resp = await http.post(f"/api/v2/imports/{dry['id']}/commit", headers=tenant.headers())
    done = await finished(http, tenant, (await resp.json())["import_id"])
    assert (done["status"], done["created_count"], done["error_count"]) == ("completed", 1, 1)
    assert await ListContact.all().values_list("first_name", flat=True) == ["Bob"]


def test_cli_import_of_a_file_with_a_nul_byte(tmp_path):
    """``trackly import`` reads files with the same reader: the same report, on the test
    backend."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch_postgres("trackly_cli_import")) if IS_POSTGRES \
            else migrated_sqlite(tmp_path / "cli.sqlite3")
        env = {"TRACKLY_DATABASE_URL": url, "TRACKLY_DATA_DIR": str(tmp_path)}
        for args in (["migrate"], ["account", "create", "Acme", "--owner-email", "o@a.test"]):
            assert trackly(*args, cwd=tmp_path, env=env).returncode == 0
        asyncio.run(_insert_list(url))
        path = tmp_path / "nul.csv"
        path.write_bytes(NUL_CSV)
        for extra in ([], ["--commit"]):
            run = trackly("import", str(path), "--list", LIST_NUMBER, *extra, cwd=tmp_path,
                          env=env)
            assert run.returncode == 0, run.stderr
            assert "1 new" in run.stdout and "1 bad" in run.stdout, run.stdout
            assert "line 2: invalid_text - Column first_name contains a NUL character" \
                in run.stdout
        assert asyncio.run(_first_names(url)) == ["Bob"]


async def _insert_list(url: str) -> None:
    async with database(url) as ctx:
        await ctx.db("default").execute_script(
            "INSERT INTO sending_list (account_id, name, phone_number, number_type, "
            "country_code, provider, brand_name, webhook_token, status, "
            "rate_limit_per_minute, allow_landlines, created_at, updated_at) VALUES "
            f"(1, 'Main', '{LIST_NUMBER}', 'long_code', 'US', 'simulator', '', 'tok', "
            "'active', 17000, FALSE, '2026-01-01 00:00:00+00:00', "
            "'2026-01-01 00:00:00+00:00')")


async def _first_names(url: str) -> list[str]:
    async with database(url):
        return list(await ListContact.all().values_list("first_name", flat=True))
