"""CSV imports: ``/api/v2/imports``. The upload streams to disk; the job runs in the
background and reports progress, counts and every bad row with its line number."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import IO, Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, Field

from core.contacts.models import ImportJob, ImportRowError
from core.errors import ValidationError
from core.permissions import Action
from core.text import check_text
from web.auth import require_actor
from web.bodies import flag, iso, page_params, paginated, paging, path_id
from web.errors import body_limit, json_error
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()

MAX_UPLOAD = 2 * 1024 ** 3
CHUNK = 1024 * 1024
MAX_ERRORS_PAGE = 1000

UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file", "list_number"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "The CSV (UTF-8 with or without BOM, Latin-1; , ; or tab)"},
        "list_number": {"type": "string", "description": "The sending list's number"},
        "dry_run": {"type": "boolean", "default": True,
                    "description": "Report what would happen without writing (default)"},
    },
}


class ImportAccepted(BaseModel):
    import_id: int
    status: str
    dry_run: bool
    list_number: str


class ImportOut(BaseModel):
    id: int
    status: str = Field(description="pending, running, completed, failed")
    dry_run: bool
    list_number: str
    filename: str
    file_size: int
    bytes_processed: int
    progress: float = Field(description="0 to 1")
    rows_processed: int
    created_count: int
    updated_count: int
    unchanged_count: int
    error_count: int
    failure: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    errors: list[dict[str, Any]] = Field(description="[{line, code, error, value}], a page")
    errors_pagination: dict[str, int]


def job_out(job: ImportJob) -> dict[str, Any]:
    size = job.file_size or 0
    return {
        "id": job.id, "status": job.status, "dry_run": job.dry_run,
        "list_number": job.sending_list.phone_number, "filename": job.filename,
        "file_size": size, "bytes_processed": job.bytes_processed,
        "progress": round(min(1.0, job.bytes_processed / size), 4) if size else 1.0,
        "rows_processed": job.rows_processed, "created_count": job.created_count,
        "updated_count": job.updated_count, "unchanged_count": job.unchanged_count,
        "error_count": job.error_count, "failure": job.failure,
        "created_at": iso(job.created_at), "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


def accepted_out(job: ImportJob) -> dict[str, Any]:
    return {"import_id": job.id, "status": job.status, "dry_run": job.dry_run,
            "list_number": job.sending_list.phone_number}


def error_out(row: ImportRowError) -> dict[str, Any]:
    return {"line": row.line, "code": row.code, "error": row.reason, "value": row.value}


@routes.post("/api/v2/imports")
@operation("Upload a CSV to import onto a list (dry run by default)", tag="imports",
           request=UPLOAD_SCHEMA, request_content_type="multipart/form-data",
           response=ImportAccepted, status=202,
           description="The file streams to disk (up to 2 GB) and imports in the "
                       "background; follow it with GET /imports/{id}.",
           errors={400: "`missing_file`, `empty_file`, `invalid_content_type`, "
                        "`invalid_multipart`, `invalid_list_number`, `invalid_dry_run`, "
                        "`invalid_filename`",
                   404: "`list_not_found`", 413: "File over 2 GB (`payload_too_large`)"})
@body_limit(MAX_UPLOAD)
async def create_import(request: web.Request) -> web.StreamResponse:
    actor = await require_actor(request)
    actor.require(Action.IMPORT)  # before reading a large body
    if not request.content_type.startswith("multipart/"):
        raise ValidationError("Send the file as multipart/form-data (field 'file').",
                              code="invalid_content_type")
    services = request.app[SERVICES]
    path = services.imports.new_upload_path()
    try:
        fields, filename, size = await _receive(request, path)
        if size is None:
            raise ValidationError("file is required.", code="missing_file", field="file")
        if size < 0:
            return json_error(413, "payload_too_large", "The file is larger than 2 GB.")
        if size == 0:
            raise ValidationError("The file is empty.", code="empty_file", field="file")
        dry_run = flag(fields.get("dry_run"), "dry_run", default=True)
        job = await services.imports.create_job(
            actor, list_number=fields.get("list_number"), path=path, filename=filename,
            dry_run=dry_run, start=True)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return respond(accepted_out(job), status=202)


@routes.get("/api/v2/imports")
@operation("Imports, newest first", tag="imports",
           query=paging())
async def list_imports(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    rows, total = await request.app[SERVICES].imports.list_jobs(actor, page=page,
                                                                per_page=per_page)
    return respond(paginated([job_out(r) for r in rows], page=page, per_page=per_page,
                             total=total))


@routes.get("/api/v2/imports/{import_id:\\d+}")
@operation("An import's progress, counts and bad rows (paged by line)", tag="imports",
           response=ImportOut,
           query=paging(MAX_ERRORS_PAGE, default=100, what="Page of bad rows"),
           errors={404: "`import_not_found`"})
async def get_import(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = _error_page(request)
    job, errors, total = await request.app[SERVICES].imports.report(
        actor, path_id(request, "import_id", "import"), page=page, per_page=per_page)
    page_info = paginated([], page=page, per_page=per_page, total=total)["pagination"]
    return respond({**job_out(job), "errors": [error_out(e) for e in errors],
                    "errors_pagination": page_info})


@routes.post("/api/v2/imports/{import_id:\\d+}/commit")
@operation("Import for real the file a dry run checked", tag="imports",
           response=ImportAccepted, status=202,
           errors={400: "`not_a_dry_run`, `dry_run_failed` (its file would fail again), "
                        "`missing_file` (stored 24 hours)",
                   404: "`import_not_found`",
                   409: "`already_committed` (names the import that did)"})
async def commit_import(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    job = await request.app[SERVICES].imports.commit(actor, path_id(request, "import_id", "import"))
    return respond(accepted_out(job), status=202)


# -- helpers --------------------------------------------------------------------------------


async def _receive(request: web.Request, path: Path
                   ) -> tuple[dict[str, str], str, int | None]:
    """Stream the ``file`` part to ``path``; small fields into a dict. Size -1: too big."""
    fields: dict[str, str] = {}
    filename = ""
    size: int | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ValidationError("Nested multipart bodies are not supported.",
                                      code="invalid_content_type")
            if part.name == "file" and size is None:
                # Stored with the job and shown back: text from the client like any other.
                filename = check_text((part.filename or "upload.csv")[:255],
                                      field="filename")
                size = await _save(part, path)
                if size < 0:
                    return fields, filename, size
            elif part.name in ("list_number", "dry_run"):
                fields[part.name] = await _small(part)
            else:
                await part.release()
    except (HttpProcessingError, ValueError) as exc:  # a part's headers or framing
        raise ValidationError("The multipart body is malformed: "
                              f"{getattr(exc, 'message', None) or exc}"[:200],
                              code="invalid_multipart") from None
    return fields, filename, size


async def _save(part: BodyPartReader, path: Path) -> int:
    size = 0
    handle: IO[bytes] = await asyncio.to_thread(open, path, "wb")
    try:
        buffer = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD:
                return -1
            buffer += chunk
            if len(buffer) >= 4 * CHUNK:
                await asyncio.to_thread(handle.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await asyncio.to_thread(handle.write, bytes(buffer))
    finally:
        await asyncio.to_thread(handle.close)
    return size


async def _small(part: BodyPartReader, limit: int = 200) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(1024):
        data += chunk
        if len(data) > limit:
            raise ValidationError(f"The field {part.name} is too long.",
                                  code=f"invalid_{part.name}", field=part.name)
    return check_text(data.decode("utf-8", errors="replace").strip(), field=str(part.name))


def _error_page(request: web.Request) -> tuple[int, int]:
    if "per_page" not in request.query:
        page, _ = page_params(request)
        return page, 100
    return page_params(request, max_per_page=MAX_ERRORS_PAGE)
