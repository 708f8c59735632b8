"""Deterministic job ids: every trigger that sees the same upload computes the same id."""

from __future__ import annotations

import hashlib

from ingest_service.jobs.naming import slug
from ingest_service.jobs.source import ObjectRef


def job_id_for(ref: ObjectRef) -> str:
    """`<plate slug>-<16 hex>` from (bucket, key, etag).

    The etag, not the version id, names the content: S3 event notifications carry a
    version id but ListObjectsV2 (the poller) does not, and two ids for one upload
    would process it twice. An identical re-upload is the same content, hence the
    same job; new content gets a new etag and so a new job (and a new version folder).
    """
    identity = "\n".join((ref.bucket, ref.key, ref.etag))
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    return f"{slug(ref.key.rsplit('.', 1)[0])}-{digest}"
