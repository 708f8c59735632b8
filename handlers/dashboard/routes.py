"""The dashboard's routes: the page, its JSON API, live updates, uploads, signed files.

Everything but the static assets and signed URLs needs the webhook token, as HTTP basic
auth (any user name, the token as password), so a browser asks for it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from handlers.admission import Gate
from handlers.auth import check_token
from handlers.dashboard.body import chunks, json_body, refuse, store_status
from handlers.dashboard.models import FrameLinks, JobDetail, JobsPage, JobSummary
from handlers.dashboard.signing import UrlSigner
from handlers.dashboard.uploads import CompleteRequest, UploadError, UploadRequest, Uploads
from handlers.dashboard.views import detail, frame_links, summary
from handlers.errors import EventAuthError
from ingest_service.errors import IngestError, JobNotFoundError
from ingest_service.jobs.record import JobRecord
from ingest_service.run.intake import options_for
from storage import ObjectNotFoundError, StorageError

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
STREAM_INTERVAL_S = 1.0


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """Upload and store errors as the answers they stand for: a 503 only when the store
    is unavailable, never for what the caller sent."""
    try:
        yield
    except UploadError as exc:
        raise refuse(exc.status, str(exc)) from exc
    except ClientDisconnect as exc:  # mid-part: nothing of it was kept
        raise refuse(400, "the body stopped before its end") from exc
    except StorageError as exc:
        log.warning("upload refused by the store: %s", exc)
        raise refuse(store_status(exc), str(exc)) from exc


def _browser_authorised(request: Request) -> None:
    try:
        check_token(request.headers, request.app.state.services.settings.webhook_token)
    except EventAuthError as exc:
        raise HTTPException(
            401, str(exc), headers={"WWW-Authenticate": 'Basic realm="ingest-service"'}
        ) from exc


Browser = Annotated[None, Depends(_browser_authorised)]


def dashboard(gate: Gate) -> tuple[APIRouter, StaticFiles]:
    services = gate.services
    store, ledger = services.store, services.ledger
    signer = UrlSigner(services.settings.webhook_token)
    uploads = Uploads(gate, signer)
    router = APIRouter()

    def link(key: str) -> str:
        return store.presign(key, expires_s=3600) or signer.url(f"/files/{key}")

    def job(job_id: str) -> JobRecord:
        try:
            return ledger.get(job_id)
        except JobNotFoundError as exc:
            raise HTTPException(404, f"no job {job_id}") from exc

    @router.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @router.get("/ui/", include_in_schema=False)
    def page(_: Browser) -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @router.get("/api/defaults")
    def defaults(_: Browser) -> dict[str, Any]:
        """What a plate gets without a sidecar, so the upload form starts from it."""
        settings = services.settings
        return {
            "stages": list(settings.stages),
            "mask_prompts": list(settings.mask_prompts),
            "incoming_prefix": settings.incoming_prefix,
        }

    @router.get("/api/jobs")
    def jobs(
        _: Browser,
        state: Annotated[str | None, Query(max_length=20)] = None,
        shot: Annotated[str | None, Query(max_length=200)] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 25,
    ) -> JobsPage:
        ids = list(ledger.newest())
        if len(ids) != sum(1 for _ in ledger.ids()):
            ledger.ensure_index()
            ids = list(ledger.newest())
        start = (page - 1) * per_page
        if state is None and not shot:
            # A page of the newest: one listing, and a read of each job shown.
            shown = [_record(i) for i in ids[start : start + per_page]]
            return JobsPage(
                jobs=[summary(r) for r in shown if r], page=page, per_page=per_page, total=len(ids)
            )
        # Filters need each job's record: read them in order, newest first.
        matches = [
            r
            for r in map(_record, ids)
            if r
            and (state is None or r.state.value == state)
            and (not shot or shot.lower() in (r.shot or r.source.key).lower())
        ]
        return JobsPage(
            jobs=[summary(r) for r in matches[start : start + per_page]],
            page=page,
            per_page=per_page,
            total=len(matches),
        )

    def _record(job_id: str) -> JobRecord | None:
        try:
            return ledger.get(job_id)
        except JobNotFoundError:
            return None

    @router.get("/api/jobs/{job_id}")
    def job_detail(job_id: str, _: Browser) -> JobDetail:
        return detail(job(job_id), store, link)

    @router.get("/api/jobs/{job_id}/frames/{index}")
    def frame(job_id: str, index: int, _: Browser) -> FrameLinks:
        return frame_links(job(job_id), index, link)

    @router.post("/api/jobs/{job_id}/retry")
    def retry(job_id: str, _: Browser) -> JobSummary:
        record = job(job_id)
        if record.retry_allowed:
            raise HTTPException(409, "a retry is already queued for this job")
        try:
            record = ledger.allow_retry(job_id, options_for(services, record.source.key))
        except IngestError as exc:
            raise HTTPException(409, str(exc)) from exc
        gate.dispatcher.submit(job_id)
        return summary(record)

    @router.get("/api/stream")
    async def stream(request: Request, _: Browser) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            seen: dict[str, str] = {}
            watching: set[str] = set()
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                changed = await run_in_threadpool(_changes, seen, watching)
                for item in changed:
                    yield f"event: job\ndata: {item.model_dump_json()}\n\n"
                if not changed:
                    yield ": idle\n\n"  # keeps proxies from closing the stream
                await asyncio.sleep(STREAM_INTERVAL_S)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    def _changes(seen: dict[str, str], watching: set[str]) -> list[JobSummary]:
        """Jobs that changed since the last look: the unfinished ones, and any that
        just finished (read once more when they leave the unfinished index)."""
        active = set(ledger.unfinished())
        out = []
        for job_id in sorted(active | watching):
            try:
                record = ledger.get(job_id)
            except JobNotFoundError:
                continue
            stamp = record.updated_at.isoformat()
            if seen.get(job_id) != stamp:
                seen[job_id] = stamp
                out.append(summary(record))
        watching.clear()
        watching.update(active)
        return out

    @router.post("/api/uploads")
    def start_upload(body: Annotated[UploadRequest, json_body(UploadRequest)], _: Browser) -> Any:
        with _refusals():
            return uploads.start(body)

    @router.post("/api/uploads/{upload_id}/complete")
    def complete_upload(
        upload_id: str, body: Annotated[CompleteRequest, json_body(CompleteRequest)], _: Browser
    ) -> Any:
        with _refusals():
            return uploads.complete(upload_id, body)

    @router.delete("/api/uploads/{upload_id}")
    def abort_upload(
        upload_id: str, key: Annotated[str, Query(max_length=2048)], _: Browser
    ) -> Response:
        with _refusals(), contextlib.suppress(ObjectNotFoundError):  # already gone
            uploads.abort(upload_id, key)
        return Response(status_code=204)

    @router.put("/api/uploads/{upload_id}/parts/{number}")
    async def put_part(
        upload_id: str, number: int, request: Request, expires: int, sig: str
    ) -> Response:
        if not signer.valid(f"/api/uploads/{upload_id}/parts/{number}", expires, sig):
            raise HTTPException(403, "this part URL is not valid (expired or altered)")
        length = request.headers.get("content-length")
        with _refusals():
            etag = await run_in_threadpool(
                uploads.put_local_part, upload_id, number, length, chunks(request)
            )
        return Response(status_code=200, headers={"ETag": etag})

    @router.get("/files/{key:path}", include_in_schema=False)
    def file(key: str, expires: int, sig: str) -> FileResponse:
        if not signer.valid(f"/files/{key}", expires, sig):
            raise HTTPException(403, "this link is not valid (expired or altered)")
        try:
            path = store.local_path(key)
        except StorageError as exc:
            raise HTTPException(404, str(exc)) from exc
        if path is None:
            raise HTTPException(403, "this bucket's files are not served here")
        if not path.is_file():
            raise HTTPException(404, f"{key} is not in the bucket")
        return FileResponse(path, filename=path.name if key.endswith(".json") else None)

    return router, StaticFiles(directory=STATIC)
