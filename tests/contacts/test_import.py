"""CSV import through the service: every awkward case, exact good rows, every bad row
with its line, and a second run that changes nothing."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

from core.contacts.import_jobs import BATCH_ROWS, INTERRUPTED, ImportProgress
from core.contacts.models import (
    Contact,
    ImportJob,
    ImportRowError,
    ImportStatus,
    ListContact,
    SubscriptionStatus,
)
from core.system.models import Heartbeat
from tests.contacts.helpers import LIST_NUMBER, make_list, subscribe
from tests.factories import make_tenant

DATA = Path(__file__).parent.parent / "data"
AWKWARD = DATA / "contacts_awkward.csv"

EXPECTED_ERRORS = [
    (6, "invalid_phone"),
    (7, "missing_phone"),
    (8, "future_consent_date"),
    (9, "invalid_consent_date"),
    (10, "duplicate_in_file"),
    (12, "landline_not_allowed"),
    (13, "landline_not_allowed"),
    (14, "invalid_email"),
    (15, "malformed_row"),
    (20, "invalid_line_type"),
]
GOOD = {"+14155550101", "+14155550102", "+14155550103", "+14155550109", "+14155550110",
        "+14155550111", "+14155550112"}


async def run_import(services, tenant, path: Path, *, dry_run: bool,
                     list_number: str = LIST_NUMBER) -> ImportJob:
    job = await services.imports.create_job(tenant.owner, list_number=list_number,
                                            path=path, dry_run=dry_run)
    return await services.imports.run(job.id)


async def errors_of(job: ImportJob) -> list[tuple[int, str]]:
    return [(e.line, e.code) for e in
            await ImportRowError.filter(job_id=job.id).order_by("line")]


async def snapshot() -> list[tuple]:
    return [tuple(r) for r in await ListContact.all().order_by("id").values_list(
        "id", "contact__phone_number", "status", "first_name", "last_name", "email",
        "consent_date", "custom_fields", "updated_at", "signup_date")]


async def test_dry_run_reports_everything_and_writes_nothing(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    job = await run_import(services, tenant, AWKWARD, dry_run=True)
    assert job.status == ImportStatus.COMPLETED, job.failure
    assert (job.rows_processed, job.created_count, job.updated_count, job.unchanged_count,
            job.error_count) == (17, 7, 0, 0, 10)
    assert await errors_of(job) == EXPECTED_ERRORS
    assert job.bytes_processed == job.file_size == AWKWARD.stat().st_size
    assert await Contact.all().count() == 0
    assert await ListContact.all().count() == 0


async def test_import_writes_exactly_the_good_rows_and_a_rerun_changes_nothing(
        services, clock):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    job = await run_import(services, tenant, AWKWARD, dry_run=False)
    assert job.status == ImportStatus.COMPLETED, job.failure
    assert (job.created_count, job.updated_count, job.unchanged_count, job.error_count) == (
        7, 0, 0, 10)
    assert await errors_of(job) == EXPECTED_ERRORS
    stored = {lc.contact.phone_number: lc for lc in
              await ListContact.all().prefetch_related("contact")}
    assert set(stored) == GOOD
    assert await Contact.all().count() == 7

    jose = stored["+14155550102"]
    assert (jose.first_name, jose.last_name) == ("José", "Núñez")
    assert jose.custom_fields == {"favorite_color": "Rot", "notes": "Line one\r\nline two"}
    assert jose.consent_date == dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    assert jose.signup_date == jose.consent_date and jose.signup_method == "import"
    assert stored["+14155550109"].custom_fields == {"favorite_color": "Green",
                                                    "notes": 'He said "hi"'}
    assert stored["+14155550103"].consent_date == dt.datetime(2026, 2, 1, 10, 30,
                                                              tzinfo=dt.UTC)
    assert stored["+14155550101"].email == "ann@example.com"
    assert stored["+14155550110"].signup_date == clock.now()  # no date: the import's
    assert all(lc.status == SubscriptionStatus.ACTIVE and lc.send_count == 0
               for lc in stored.values())
    voip = await Contact.get(phone_number="+14155550112")
    assert voip.line_type == "voip" and voip.timezone == "America/Los_Angeles"
    bad = await ImportRowError.get(job_id=job.id, line=8)
    assert bad.value == "2099-01-01" and "future" in bad.reason

    before = await snapshot()
    clock.advance(hours=1)
    again = await run_import(services, tenant, AWKWARD, dry_run=False)
    assert (again.created_count, again.updated_count, again.unchanged_count,
            again.error_count) == (0, 0, 7, 10)
    assert await snapshot() == before
    assert await Contact.all().count() == 7


async def test_changed_rows_update_and_empty_cells_keep_what_is_stored(services, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    first = tmp_path / "first.csv"
    first.write_text("phone,first_name,email,tier\n4155550401,Ann,ann@x.test,gold\n"
                     "4155550402,Bo,,\n")
    await run_import(services, tenant, first, dry_run=False)
    second = tmp_path / "second.csv"
    second.write_text("phone,first_name,email,tier,city\n4155550401,,,,Austin\n"
                      "4155550402,Bo,,,\n4155550403,Cy,,,\n")
    dry = await run_import(services, tenant, second, dry_run=True)
    assert (dry.created_count, dry.updated_count, dry.unchanged_count) == (1, 1, 1)
    job = await run_import(services, tenant, second, dry_run=False)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 1)
    ann = await ListContact.get(contact__phone_number="+14155550401")
    assert (ann.first_name, ann.email) == ("Ann", "ann@x.test")
    assert ann.custom_fields == {"tier": "gold", "city": "Austin"}


async def test_an_import_never_resubscribes_someone_who_opted_out(services, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, "+14155550501")
    await ListContact.all().update(status="unsubscribed", unsubscribe_reason="message")
    path = tmp_path / "again.csv"
    path.write_text("phone,first_name\n4155550501,Back\n")
    job = await run_import(services, tenant, path, dry_run=False)
    assert job.updated_count == 1
    lc = await ListContact.get()
    assert (lc.status, lc.first_name) == ("unsubscribed", "Back")


async def test_encodings_and_separators(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    latin = await run_import(services, tenant, DATA / "contacts_latin1_semicolon.csv",
                             dry_run=False)
    assert (latin.created_count, latin.error_count) == (2, 1)
    assert await errors_of(latin) == [(4, "invalid_phone")]
    zoe = await ListContact.get(contact__phone_number="+14155550201")
    assert zoe.first_name == "Zoë" and zoe.custom_fields == {"ciudad": "São Paulo"}
    assert (await ListContact.get(contact__phone_number="+14155550202")).custom_fields == {
        "ciudad": "Montréal"}

    tab = await run_import(services, tenant, DATA / "contacts_tab.tsv", dry_run=False)
    assert (tab.created_count, tab.error_count) == (2, 0)
    lc = await ListContact.get(contact__phone_number="+14155550301")
    assert (lc.first_name, lc.ad_network_source, lc.ad_network_id) == (
        "Tab", "facebook", "campaign-7")


async def test_broken_bytes_and_quotes_cost_only_their_rows(services, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    # Past the 64 KB sample the encoding was guessed from: one row with text after a
    # closing quote, one quote never closed at the end.
    lines = [b"phone,note"] + [b"415555%04d,fine" % i for i in range(200, 5200)]
    lines += [b"4155559002,ok", b'4155559003,"quoted"tail',
              b"4155559004,ok", b'4155559005,"never closed', b"4155559006,swallowed"]
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert path.stat().st_size > 64 * 1024
    job = await run_import(services, tenant, path, dry_run=False)
    assert job.status == ImportStatus.COMPLETED
    assert await errors_of(job) == [(5003, "malformed_row"), (5005, "malformed_row")]
    assert job.created_count == 5002
    bad = await ImportRowError.get(job_id=job.id, line=5005)
    assert "never closed" in bad.reason
    assert await ListContact.filter(contact__phone_number="+14155559004").exists()


async def test_windows_1252_accents_past_the_sample_import_correctly(services, tmp_path):
    # A spreadsheet's Windows-1252 export whose first accent comes after the 64 KB the
    # encoding is guessed from (so the guess is UTF-8): the accented rows still import.
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    lines = [b"phone,first_name,city"] + [b"415555%04d,Ann,Austin" % i
                                           for i in range(200, 5200)]
    # 0x81 is no character in Windows-1252 (a C1 control as Latin-1 reads it): that row
    # is a bad row, like any cell holding a control character.
    lines += [b"4155559001,Zo\xeb,S\xe3o Paulo", b"4155559002,Ren\xe9e,caf\xe9 \x80",
              b"4155559003,Ugo,\x81"]
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    assert path.stat().st_size > 64 * 1024
    job = await run_import(services, tenant, path, dry_run=False)
    assert (job.created_count, await errors_of(job)) == (5002, [(5004, "invalid_text")])
    zoe = await ListContact.get(contact__phone_number="+14155559001")
    assert (zoe.first_name, zoe.custom_fields) == ("Zoë", {"city": "São Paulo"})
    renee = await ListContact.get(contact__phone_number="+14155559002")
    assert (renee.first_name, renee.custom_fields) == ("Renée", {"city": "café €"})

    # A file that says it is UTF-8 (a BOM) keeps rejecting the rows that are not.
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbfphone,note\n4155559101,ok\n4155559102,caf\xe9\n")
    job = await run_import(services, tenant, marked, dry_run=False)
    assert (job.created_count, await errors_of(job)) == (1, [(3, "invalid_encoding")])


async def test_utf16_spreadsheet_export(services, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    path = tmp_path / "excel.txt"
    path.write_bytes("Phone\tFirst Name\r\n4155550601\tZoë\r\n".encode("utf-16"))
    job = await run_import(services, tenant, path, dry_run=False)
    assert (job.created_count, job.error_count) == (1, 0)
    assert (await ListContact.get()).first_name == "Zoë"


async def test_landlines_pass_where_the_list_allows_them(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant, allow_landlines=True)
    job = await run_import(services, tenant, AWKWARD, dry_run=True)
    assert [c for _, c in await errors_of(job)].count("landline_not_allowed") == 0
    assert job.created_count == 9


async def test_files_that_cannot_be_imported_fail_with_a_reason(services, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    job = await run_import(services, tenant, DATA / "contacts_no_phone_column.csv",
                           dry_run=True)
    assert job.status == ImportStatus.FAILED and "phone number column" in job.failure
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\r\n\r\n")
    job = await run_import(services, tenant, empty, dry_run=True)
    assert job.status == ImportStatus.FAILED and "empty" in job.failure
    assert await ListContact.all().count() == 0
    assert not await Heartbeat.filter(component__startswith="import:").exists()


async def test_big_file_across_batches_with_progress(services, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    path = tmp_path / "big.csv"
    lines = ["phone,first_name"]
    for i in range(12_000):
        lines.append(f"(212) 5{i // 10000:02d}-{i % 10000:04d},P{i}")
    lines.append("(212) 500-0007,dup")  # the 8th row again, two batches later
    path.write_text("\n".join(lines) + "\n")
    seen: list[ImportProgress] = []
    job = await services.imports.create_job(tenant.owner, list_number=LIST_NUMBER,
                                            path=path, dry_run=False)
    job = await services.imports.run(job.id, progress=seen.append)
    assert job.status == ImportStatus.COMPLETED
    assert (job.rows_processed, job.created_count, job.error_count) == (12_001, 12_000, 1)
    assert await errors_of(job) == [(12_002, "duplicate_in_file")]
    assert len(seen) == math.ceil(12_001 / BATCH_ROWS) >= 2
    assert seen[-1].rows_processed == 12_001
    assert [p.bytes_processed for p in seen] == sorted(p.bytes_processed for p in seen)
    assert await ListContact.all().count() == 12_000


async def test_an_interrupted_job_is_marked_failed(services, clock, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    path = tmp_path / "x.csv"
    shutil.copy(AWKWARD, path)
    job = await services.imports.create_job(tenant.owner, list_number=LIST_NUMBER,
                                            path=path, dry_run=False)
    await ImportJob.filter(id=job.id).update(status=ImportStatus.RUNNING,
                                             started_at=clock.now())
    await Heartbeat.create(component=f"import:{job.id}", beat_at=clock.now())
    assert (await services.imports.get_job(tenant.owner, job.id)).status == "running"
    clock.advance(minutes=6)  # the heartbeat is stale: that process is gone
    found = await services.imports.get_job(tenant.owner, job.id)
    assert found.status == ImportStatus.FAILED and found.failure == INTERRUPTED
    assert await services.imports.recover_interrupted() == 0


async def test_a_single_process_start_marks_every_unfinished_job(services, clock):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    job = await services.imports.create_job(tenant.owner, list_number=LIST_NUMBER,
                                            path=AWKWARD, dry_run=True)
    await ImportJob.filter(id=job.id).update(created_at=clock.now())
    assert await services.imports.recover_interrupted() == 0  # might still be starting
    assert await services.imports.recover_interrupted(stale_after=dt.timedelta(0)) == 1
    assert (await ImportJob.get(id=job.id)).status == ImportStatus.FAILED


async def test_unstorable_text_costs_only_its_row_on_dry_run_and_commit_alike(services,
                                                                             tmp_path):
    """A NUL in a cell: the dry run said "2 new, 0 bad" and the commit failed on
    PostgreSQL, importing nothing, the good row included. A cell with a NUL, another
    control character or an unpaired surrogate is now a bad row with its line (refused,
    not cleaned: an import must not change what the file says unnoticed), on both
    backends, in the dry run and the commit alike."""
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    path = tmp_path / "nul.csv"
    path.write_bytes(b"phone,first_name,note\n"
                     b"4155550401,A\x00nn,x\n"
                     b"4155550402,Bob,fine\n"
                     b"4155550403,Cy,bell\x07\n"
                     b"4155550404\x00,Di,x\n"
                     b"4155550405,Ed,esc\x1b[0m\n"
                     b"4155550406,Flo,\x7f\n"
                     b"4155550407,Gus,\"tab\tand\r\nlines are text\"\n")
    expected = [(2, "invalid_text"), (4, "invalid_text"), (5, "invalid_text"),
                (6, "invalid_text"), (7, "invalid_text")]
    dry = await run_import(services, tenant, path, dry_run=True)
    assert dry.status == ImportStatus.COMPLETED, dry.failure
    assert (dry.rows_processed, dry.created_count, dry.error_count) == (7, 2, 5)
    assert await errors_of(dry) == expected
    first = await ImportRowError.get(job_id=dry.id, line=2)
    assert first.reason == ("Column first_name contains a NUL character (U+0000), which "
                            "cannot be stored.")
    assert first.value == "Ann"  # what the cell holds, shown without the NUL

    job = await run_import(services, tenant, path, dry_run=False)
    assert job.status == ImportStatus.COMPLETED, job.failure
    assert (job.created_count, job.error_count) == (dry.created_count, dry.error_count)
    assert await errors_of(job) == expected
    stored = dict(await ListContact.all().values_list("contact__phone_number",
                                                      "first_name"))
    assert stored == {"+14155550402": "Bob", "+14155550407": "Gus"}


async def test_bytes_that_are_no_text_in_the_files_encoding_cost_their_row(services,
                                                                          tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    # UTF-16 with an unpaired surrogate in a cell; a UTF-8 file (BOM) with a C1 control.
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("phone,first_name\n4155550501,ok\n".encode("utf-16")
                      + "4155550502,".encode("utf-16-le") + b"\x00\xd8"
                      + "x\n4155550503,fine\n".encode("utf-16-le"))
    job = await run_import(services, tenant, utf16, dry_run=False)
    assert (job.created_count, await errors_of(job)) == (2, [(3, "invalid_encoding")])
    c1 = tmp_path / "c1.csv"
    c1.write_bytes(b"\xef\xbb\xbfphone,first_name\n4155550504,\xc2\x85x\n4155550505,ok\n")
    job = await run_import(services, tenant, c1, dry_run=False)
    assert (job.created_count, await errors_of(job)) == (1, [(2, "invalid_text")])
