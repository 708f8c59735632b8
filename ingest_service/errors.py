"""Every error the domain raises, under one base. `retryable` says whether a re-run may help."""

from __future__ import annotations

from storage.errors import PicklableError


class IngestError(PicklableError):
    """Base of the domain's errors; each one crosses a Modal call's boundary intact."""

    retryable: bool = False


class SettingsError(IngestError):
    """The configuration is incomplete or unsafe for the chosen environment."""


class SourceEmptyError(IngestError):
    """The source object has zero bytes."""


class SourceNotVideoError(IngestError):
    """The source object is not a video any decoder recognises."""


class SourceFrameTooLargeError(IngestError):
    """The source's frames are larger than this service decodes (`INGEST_MAX_FRAME_PIXELS`)."""

    def __init__(self, message: str, *, width: int, height: int) -> None:
        super().__init__(message)
        self.width = width
        self.height = height


class SourceChangedError(IngestError):
    """The source object was replaced while the job was reading it."""


class SourceNotFoundError(IngestError):
    """The source object no longer exists."""


class FramesDecodeError(IngestError):
    """Decoding stopped before the last frame: the file is truncated or corrupt."""


class FramesEncodeError(IngestError):
    """A decoded frame could not be encoded in the requested image format."""


class SidecarInvalidError(IngestError):
    """A plate's sidecar options file is not valid JSON of the expected shape."""


class CameraSolveError(IngestError):
    """The plate's camera could not be solved (too few frames, no texture, no parallax)."""


class DepthUnavailableError(IngestError):
    """Depth cannot be measured for this plate (no parallax, or no solved scene points)."""


class StageDependencyError(IngestError):
    """A stage needs the result of a stage that has not run."""


class StageUnknownError(IngestError):
    """A stage name that the stage table does not have."""


class JobNotFoundError(IngestError):
    """No job record has this id."""


class JobRecordUnreadableError(JobNotFoundError):
    """A job record exists but is not a job (bad JSON, wrong shape): no job has this id."""


class JobStateError(IngestError):
    """The job is in a state that does not allow what was asked."""

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        self.state = state


class JobLeaseHeldError(IngestError):
    """Another worker holds a live lease on the job."""

    retryable = True

    def __init__(self, message: str, *, owner: str) -> None:
        super().__init__(message)
        self.owner = owner


class JobLeaseLostError(IngestError):
    """Another worker took the job over; this worker must stop writing."""

    retryable = True


class JobBudgetExceededError(IngestError):
    """The job has used its compute budget (`INGEST_MAX_JOB_SECONDS`); it is not retried."""

    def __init__(self, message: str, *, spent_s: float, budget_s: float) -> None:
        super().__init__(message)
        self.spent_s = spent_s
        self.budget_s = budget_s


class StageTimeoutError(IngestError):
    """A stage ran past its function's time limit; not retried, for a re-run of the same
    work would most likely run past it again."""

    def __init__(self, message: str, *, stage: str, limit_s: float) -> None:
        super().__init__(message)
        self.stage = stage
        self.limit_s = limit_s


class JobInterruptedError(IngestError):
    """The process is shutting down; the job was handed back between stages."""

    retryable = True


class PlateInputError(IngestError):
    """A local plate given to the CLI cannot be ingested (missing, or its key is taken)."""


class NotifyDeliveryError(IngestError):
    """A notification could not be delivered after every retry."""

    retryable = True


class ModelUnavailableError(IngestError):
    """A neural backend was asked for, but its libraries or weights are not here."""


class MasksUnavailableError(IngestError):
    """Masks cannot be made for this plate with the chosen backend."""
