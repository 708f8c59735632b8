"""From notices to jobs: filter, order, claim, dispatch. Shared by the webhook and poller."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.events.notice import Notice, Skipped
from handlers.filtering import Kind, classify, is_create_event
from handlers.ordering import KeyOrder
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState
from ingest_service.run.dispatch import Dispatcher
from ingest_service.run.intake import apply_sidecar, claim_plate
from ingest_service.services import Services
from storage import InvalidKeyError
from storage.keys import check_key


@dataclass(frozen=True, slots=True)
class Admitted:
    key: str
    job_id: str
    state: JobState


@dataclass
class Admission:
    claimed: list[Admitted] = field(default_factory=list)
    duplicates: list[Admitted] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    sidecars: list[Skipped] = field(default_factory=list)  # key + what became of it


class Gate:
    """Decides, for each noticed object, whether it becomes a job (exactly once)."""

    def __init__(self, services: Services, dispatcher: Dispatcher) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.order = KeyOrder(services.store, services.settings.layout)

    def admit(self, notices: list[Notice], result: Admission | None = None) -> Admission:
        result = result or Admission()
        for notice in notices:
            self._admit_one(notice, result)
        return result

    def admit_ref(self, ref: ObjectRef, result: Admission) -> None:
        """Claim and dispatch one plate (already classified as footage)."""
        claim = claim_plate(self.services, ref)
        item = Admitted(ref.key, claim.record.job_id, claim.record.state)
        if claim.claimed:
            self.dispatcher.submit(claim.record.job_id)
            result.claimed.append(item)
        else:
            result.duplicates.append(item)

    def _admit_one(self, notice: Notice, result: Admission) -> None:
        ref = notice.ref
        if ref.bucket != self.services.store.bucket:
            result.skipped.append(Skipped(ref.key, f"bucket {ref.bucket} is not watched here"))
            return
        if not is_create_event(notice.event):
            result.skipped.append(Skipped(ref.key, f"not a create event ({notice.event})"))
            return
        try:
            self._check_storable(ref.key)
        except InvalidKeyError as exc:
            # Refused for good, not "try again": a sender that redelivers gets the same answer.
            result.skipped.append(Skipped(ref.key, f"key refused: {exc}"))
            return
        kind = classify(ref.key, self.services.settings)
        if kind is Kind.SIDECAR:
            result.sidecars.append(Skipped(ref.key, apply_sidecar(self.services, ref.key)))
            return
        if kind is not Kind.PLATE:
            result.skipped.append(Skipped(ref.key, kind))
            return
        if notice.source != "minio" and self.order.is_stale(ref):
            result.skipped.append(Skipped(ref.key, "older than an event already seen for this key"))
            return
        self.admit_ref(ref, result)

    def _check_storable(self, key: str) -> None:
        """Keys every store can hold, checked before anything is written for them: a plate
        and its sidecar sit side by side, so the sidecar's name must be valid too. The
        rule is the folder store's, applied to S3 as well, so a bucket behaves the same
        whichever backend serves it."""
        check_key(key)
        check_key(self.services.settings.layout.sidecar(key))
