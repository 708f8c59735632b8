"""Browser uploads into the drop zone: checked before a byte is sent, then multipart.

The browser asks to upload a file (its name, size, options); we refuse what is not
footage, a name no bucket can hold, or a name already in the drop zone, before any bytes
move. Otherwise we start a multipart upload and hand back one URL per part: presigned S3
URLs (the bytes go straight to the bucket, and S3 takes only the length each URL was
signed for) or, for a folder bucket, signed URLs of this app, which streams each part to
disk and refuses one longer than it should be. Completing the upload checks the upload is
this key's, and every part is there at its length, before anything is written; then it
writes the sidecar, joins the parts, and claims the plate's job at once, as the webhook
would. A completion that fails takes its sidecar back, so a retry or a fresh upload of
the name is never blocked.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from handlers.admission import Admission, Gate
from handlers.dashboard.signing import UrlSigner
from handlers.dashboard.tickets import MAX_SIZE, Plan, Ticket, Tickets
from handlers.filtering import Kind, classify
from ingest_service.jobs.options import PlateOptions
from ingest_service.jobs.source import ObjectRef
from ingest_service.validation import describe
from storage import (
    InvalidKeyError,
    ObjectInfo,
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    UnsupportedError,
)
from storage.multipart import MAX_PARTS, Part, multipart_for

log = logging.getLogger(__name__)
MAX_NAME_BYTES = 255  # a file name on every common filesystem
MEDIA_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"


class UploadError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class UploadRequest(BaseModel):
    name: str = Field(min_length=1, max_length=4 * MAX_NAME_BYTES)  # bytes checked at start
    size: int = Field(ge=1, le=MAX_SIZE)
    content_type: str | None = Field(default=None, pattern=MEDIA_TYPE)
    options: dict[str, Any] | None = None  # the sidecar's fields: shot, mask_prompts, stages


class PartDone(BaseModel):
    number: int = Field(ge=1, le=MAX_PARTS)
    etag: str = Field(max_length=200)


class CompleteRequest(BaseModel):
    key: str = Field(max_length=2048)
    parts: list[PartDone] = Field(min_length=1, max_length=MAX_PARTS)
    options: dict[str, Any] | None = None  # the same options as at the start


def file_name(raw: str) -> str:
    """The file name the browser sent (a path's last part), if a bucket can hold it."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", ".."):
        raise UploadError(400, "name: no file name in it (empty, or a folder)")
    if any(unicodedata.category(c) == "Cs" for c in name):
        raise UploadError(400, "name: holds a lone surrogate, which is not text")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise UploadError(400, "name: holds a control character (NUL, line break, escape…)")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise UploadError(400, f"name: over {MAX_NAME_BYTES} bytes (UTF-8); shorten it")
    return name


def _says_longer(content_length: str | None, limit: int) -> bool:
    """Whether a Content-Length header says more than `limit` (a malformed one is left to
    the count of what arrives)."""
    if not content_length or not re.fullmatch(r"[0-9]{1,19}", content_length):
        return False
    return int(content_length) > limit


def _bytes(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"


class Uploads:
    def __init__(self, gate: Gate, signer: UrlSigner) -> None:
        self.gate = gate
        self.services = gate.services
        self.signer = signer
        self.tickets = Tickets(signer)
        self.multipart = multipart_for(self.services.store)

    def start(self, request: UploadRequest) -> dict[str, Any]:
        settings = self.services.settings
        name = file_name(request.name)
        key = settings.layout.dropped(name)
        kind = classify(key, settings)
        if kind is not Kind.PLATE:
            raise UploadError(400, f"{name}: {kind}; drop a video file (.mov, .mp4, .mxf, …)")
        options = self._options(request.options)  # checked now, written on completion
        for existing in (key, settings.layout.sidecar(key) if options else None):
            if existing and self._exists(existing):
                raise UploadError(
                    409,
                    f"{existing.rsplit('/', 1)[-1]} is already in the drop "
                    "zone; rename the file to upload it again",
                )
        try:
            upload_id = self.multipart.start(key, request.content_type)
        except InvalidKeyError as exc:
            raise UploadError(400, f"name: {exc}") from exc
        ticket = Ticket(upload_id, key, Plan(request.size))
        api_id = self.tickets.issue(ticket)
        urls = [self._part_url(ticket, api_id, n) for n in range(1, ticket.plan.count + 1)]
        return {
            "upload_id": api_id,
            "key": key,
            "part_size": ticket.plan.part_size,
            "part_urls": urls,
        }

    def complete(self, api_id: str, request: CompleteRequest) -> dict[str, Any]:
        ticket = self._ticket(api_id, request.key)
        options = self._options(request.options)
        parts = self._sent(ticket, request.parts)
        sidecar = self._write_sidecar(ticket.key, options)
        try:
            info = self.multipart.complete(
                ticket.key, ticket.upload_id, parts, size=ticket.plan.size
            )
        except StorageError:
            if sidecar is not None:
                self._take_back(sidecar)
            raise
        ref = ObjectRef.of(self.services.store.bucket, info)
        admission = Admission()
        self.gate.admit_ref(ref, admission)
        admitted = (admission.claimed or admission.duplicates)[0]
        return {"key": ticket.key, "job_id": admitted.job_id, "state": admitted.state.value}

    def abort(self, api_id: str, key: str) -> None:
        ticket = self._ticket(api_id, key)
        self.multipart.abort(ticket.key, ticket.upload_id)

    def put_local_part(
        self, api_id: str, number: int, content_length: str | None, chunks: Iterable[bytes]
    ) -> str:
        """Store a part sent to this app (its URL's signature checked by the caller),
        refusing it as soon as it is longer than its share of the declared size."""
        declared = self.tickets.declared(api_id)
        if declared is None or not 1 <= number <= Plan(declared[1]).count:
            raise UploadError(404, f"upload {api_id} has no part {number}")
        upload_id, plan = declared[0], Plan(declared[1])
        expected = plan.part_length(number)
        too_long = (
            f"part {number} may hold {_bytes(expected)} (the upload declared "
            f"{_bytes(plan.size)}); this one is longer"
        )
        if _says_longer(content_length, expected):
            raise UploadError(413, too_long)

        def bounded() -> Iterator[bytes]:
            received = 0
            for chunk in chunks:
                received += len(chunk)
                if received > expected:
                    raise UploadError(413, too_long)
                yield chunk
            if received < expected:
                raise UploadError(
                    400, f"part {number} is {_bytes(received)}, not {expected}: send it whole"
                )

        try:
            return self.multipart.put_part(upload_id, number, bounded())
        except (UnsupportedError, ObjectNotFoundError) as exc:
            raise UploadError(404, str(exc)) from exc

    def _ticket(self, api_id: str, key: str) -> Ticket:
        """The upload, if `key` is a plate in the drop zone and the upload was started for it."""
        kind = classify(key, self.services.settings)
        if kind is not Kind.PLATE:
            raise UploadError(400, f"key: not a plate in the drop zone ({kind})")
        ticket = self.tickets.check(api_id, key)
        if ticket is None:
            raise UploadError(404, f"no upload {api_id} for {key}")
        return ticket

    def _sent(self, ticket: Ticket, done: list[PartDone]) -> list[Part]:
        """The parts to join, once every part is there at its length with its ETag."""
        plan = ticket.plan
        if [p.number for p in done] != list(range(1, plan.count + 1)):
            raise UploadError(400, f"parts: list parts 1 to {plan.count}, in order, once each")
        try:
            sent = {p.number: p for p in self.multipart.parts(ticket.key, ticket.upload_id)}
        except ObjectNotFoundError as exc:
            raise UploadError(404, f"no upload for {ticket.key} (completed or aborted?)") from exc
        for part in done:
            have = sent.get(part.number)
            if have is None:
                raise UploadError(409, f"part {part.number} was never uploaded; send it again")
            expected = plan.part_length(part.number)
            if have.size != expected:
                raise UploadError(
                    413 if have.size > expected else 400,
                    f"part {part.number} is {_bytes(have.size)}, not {expected}: "
                    f"the upload declared {_bytes(plan.size)}",
                )
            if have.etag != part.etag.strip('"'):
                raise UploadError(
                    409, f"part {part.number} changed since it was sent (ETag mismatch)"
                )
        return [Part(p.number, p.etag) for p in done]

    def _write_sidecar(self, key: str, options: BaseModel | None) -> ObjectInfo | None:
        """Write the options before the plate (so its claim reads them); the info of what
        this call wrote, or None when it wrote nothing."""
        if options is None:
            return None
        store, sidecar = self.services.store, self.services.settings.layout.sidecar(key)
        data = options.model_dump_json(exclude_none=True).encode()
        try:
            return store.put(sidecar, data, content_type="application/json", if_none_match=True)
        except PreconditionFailedError:
            try:
                if store.get(sidecar).data == data:
                    return None  # a retry's: the same options are already in place
            except ObjectNotFoundError:
                pass
            raise UploadError(
                409, f"{sidecar.rsplit('/', 1)[-1]} is already in the drop zone with other options"
            ) from None

    def _take_back(self, written: ObjectInfo) -> None:
        """Remove the sidecar this completion wrote, unless it has been replaced since: the
        plate it was for never appeared, and it must not block the name."""
        store = self.services.store
        try:
            if store.head(written.key).etag == written.etag:
                store.delete(written.key)
        except StorageError as exc:
            log.warning("could not remove %s after a failed upload: %s", written.key, exc)

    def _part_url(self, ticket: Ticket, api_id: str, number: int) -> str:
        expires_s = ticket.plan.url_lifetime_s(number)
        size = ticket.plan.part_length(number)
        return self.multipart.part_url(
            ticket.key, ticket.upload_id, number, size=size, expires_s=expires_s
        ) or self.signer.url(f"/api/uploads/{api_id}/parts/{number}", expires_s=expires_s)

    def _options(self, raw: dict[str, Any] | None) -> BaseModel | None:
        cleaned = {k: v for k, v in (raw or {}).items() if v not in (None, "", [])}
        if not cleaned:
            return None
        try:
            return PlateOptions.model_validate(cleaned)
        except ValidationError as exc:
            raise UploadError(400, f"options: {describe(exc)}") from exc

    def _exists(self, key: str) -> bool:
        try:
            self.services.store.head(key)
        except ObjectNotFoundError:
            return False
        return True
