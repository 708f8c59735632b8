"""Browser uploads into the drop zone: checked before a byte is sent, then multipart.

The browser asks to upload a file (its name, size, options); we refuse what is not
footage, or a name already in the drop zone, before any bytes move. Otherwise we start a
multipart upload and hand back one URL per part: presigned S3 URLs (the bytes go
straight to the bucket) or, for a folder bucket, signed URLs of this app. Completing the
upload claims the plate's job at once, as the webhook would.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from handlers.admission import Admission, Gate
from handlers.dashboard.signing import UrlSigner
from handlers.filtering import Kind, classify
from ingest_service.jobs.options import PlateOptions
from ingest_service.jobs.source import ObjectRef
from ingest_service.validation import describe
from storage import ObjectNotFoundError, UnsupportedError
from storage.multipart import MAX_PARTS, Part, multipart_for

PART_SIZE = 8 * 1024 * 1024
MAX_SIZE = 5 * 1024**4  # S3's largest object


class UploadError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class UploadRequest(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=1, le=MAX_SIZE)
    content_type: str | None = Field(default=None, max_length=200)
    options: dict[str, Any] | None = None  # the sidecar's fields: shot, mask_prompts, stages


class PartDone(BaseModel):
    number: int
    etag: str


class CompleteRequest(BaseModel):
    key: str
    parts: list[PartDone] = Field(min_length=1, max_length=MAX_PARTS)
    options: dict[str, Any] | None = None  # the same options as at the start


class Uploads:
    def __init__(self, gate: Gate, signer: UrlSigner) -> None:
        self.gate = gate
        self.services = gate.services
        self.signer = signer
        self.multipart = multipart_for(self.services.store)

    def start(self, request: UploadRequest) -> dict[str, Any]:
        settings = self.services.settings
        name = request.name.replace("\\", "/").rsplit("/", 1)[-1].strip()
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
        part_size = max(PART_SIZE, math.ceil(request.size / MAX_PARTS / 2**20) * 2**20)
        count = max(1, math.ceil(request.size / part_size))
        upload_id = self.multipart.start(key, request.content_type)
        urls = [self._part_url(key, upload_id, n) for n in range(1, count + 1)]
        return {"upload_id": upload_id, "key": key, "part_size": part_size, "part_urls": urls}

    def complete(self, upload_id: str, request: CompleteRequest) -> dict[str, Any]:
        parts = [Part(p.number, p.etag) for p in request.parts]
        options = self._options(request.options)
        if options is not None:
            # Written only now (an abandoned upload leaves nothing behind in the drop zone,
            # where nothing is ever deleted), and before the plate, so its claim reads it.
            self.services.store.put(
                self.services.settings.layout.sidecar(request.key),
                options.model_dump_json(exclude_none=True).encode(),
                content_type="application/json",
                if_none_match=True,
            )
        info = self.multipart.complete(request.key, upload_id, parts)
        ref = ObjectRef.of(self.services.store.bucket, info)
        admission = Admission()
        self.gate.admit_ref(ref, admission)
        admitted = (admission.claimed or admission.duplicates)[0]
        return {"key": request.key, "job_id": admitted.job_id, "state": admitted.state.value}

    def abort(self, upload_id: str, key: str) -> None:
        self.multipart.abort(key, upload_id)

    def put_local_part(self, upload_id: str, number: int, data: bytes) -> str:
        try:
            return self.multipart.put_part(upload_id, number, data)
        except UnsupportedError as exc:
            raise UploadError(404, str(exc)) from exc

    def _part_url(self, key: str, upload_id: str, number: int) -> str:
        expires_s = 6 * 3600
        return self.multipart.part_url(
            key, upload_id, number, expires_s=expires_s
        ) or self.signer.url(f"/api/uploads/{upload_id}/parts/{number}", expires_s=expires_s)

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
