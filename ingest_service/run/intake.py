"""Claiming a plate the same way whoever noticed it: webhook, poller or command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_service.errors import SidecarInvalidError
from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.ledger import ClaimResult
from ingest_service.jobs.options import JobOptions
from ingest_service.jobs.sidecar import parse_sidecar
from ingest_service.jobs.source import ObjectRef
from storage import ObjectNotFoundError

if TYPE_CHECKING:
    from ingest_service.services import Services


def options_for(services: Services, plate_key: str) -> JobOptions:
    """Settings, overridden by the plate's sidecar when there is one.

    An invalid sidecar does not stop the claim: the job records the problem and fails
    with it in plain words, so the artist hears about it like any other bad input.
    """
    base = services.job_options()
    key = services.settings.layout.sidecar(plate_key)
    try:
        data = services.store.get(key).data
    except ObjectNotFoundError:
        return base
    try:
        plate = parse_sidecar(data, key)
    except SidecarInvalidError as exc:
        return base.model_copy(update={"sidecar_key": key, "sidecar_error": str(exc)})
    return base.with_plate(plate, key)


def claim_plate(services: Services, ref: ObjectRef) -> ClaimResult:
    return services.ledger.claim(
        ref, options_for(services, ref.key), max_attempts=services.settings.max_attempts
    )


def apply_sidecar(services: Services, key: str) -> str:
    """A sidecar that arrives after its plate: applied if the plate's job has not started."""
    plate_key = services.settings.layout.plate_of_sidecar(key)
    try:
        info = services.store.head(plate_key)
    except ObjectNotFoundError:
        return "plate not here yet; its job will read this sidecar when it is claimed"
    ref = ObjectRef.of(services.store.bucket, info)
    options = options_for(services, plate_key)
    return services.ledger.amend_unstarted(job_id_for(ref), options)
